"""What every backend is: the write-side protocol, the one object a backend choice yields, the
options an index is created with, the index-name rule and the backend errors."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from hybrid.documents import Document, Reject
from hybrid.index_meta import IndexMeta
from hybrid.passages import DocumentVectors
from hybrid.retrieval.backend import AsyncSearchBackend, SearchBackend

if TYPE_CHECKING:
    from hybrid.ingest.shares import WorkerShare

TITLE_FIELD = "title"
TEXT_FIELD = "text"
VECTOR_FIELD = "vector"
# An index of passages: one nested object per passage, its vector and its character span of the text.
PASSAGES_FIELD = "passages"
PASSAGE_START, PASSAGE_END = "start", "end"
# The document id again as a keyword with doc values: searches read ids from doc values and skip the
# stored-fields fetch (decompressing _source blocks), about 4x faster for 100-hit fusion windows.
ID_FIELD = "doc_id"

# Index (alias) names: OpenSearch's rules narrowed to what is also a safe folder name, with room for
# the "-<timestamp>" suffix of physical indices under OpenSearch's 255-byte limit.
INDEX_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.\-]{0,199}$"
_INDEX_NAME = re.compile(INDEX_NAME_PATTERN)


class BackendError(Exception):
    """A backend refused or failed an operation; the message says which index and why."""


class IndexNotFoundError(BackendError):
    """The named index (or alias) does not exist."""


class InvalidIndexNameError(BackendError, ValueError):
    """A name that cannot be an index."""


class BackendUnavailableError(BackendError):
    """The backend could not be reached or did not answer: refused connection, TLS failure, time-out,
    a server error. Retrying later may work."""


class AccessDeniedError(BackendError):
    """The backend refused the credentials (401) or the user's permissions (403)."""


def is_index_name(name: str) -> bool:
    return bool(_INDEX_NAME.match(name))


def check_index_name(name: str) -> str:
    """``name`` if it is a valid index name, else ``InvalidIndexNameError`` stating the rule."""
    if not is_index_name(name):
        raise InvalidIndexNameError(
            f"index name {name!r} is not valid: use lower-case letters, digits, '-', '_' and '.', starting "
            "with a letter or digit, at most 200 characters"
        )
    return name


VectorCompression = Literal["none", "sq", "fp16", "int8"]
VECTOR_COMPRESSIONS: tuple[VectorCompression, ...] = ("none", "sq", "fp16", "int8")
OPENSEARCH_COMPRESSIONS = ("none", "sq")
EMBEDDED_COMPRESSIONS = ("none", "fp16", "int8")


def check_compression(compression: str, offered: tuple[str, ...], backend: str) -> None:
    """Each backend stores vectors its own ways; asking one for another's is an error, not a silent fallback."""
    if compression not in offered:
        others = ", ".join(c for c in offered if c != "none")
        raise ValueError(f"vector compression {compression!r} is not offered by the {backend} index (it offers {others})")


@dataclass(frozen=True)
class IndexOptions:
    shards: int = 1
    replicas: int = 1
    refresh_interval: str = "1s"
    hnsw_m: int = 16
    hnsw_ef_construction: int = 100
    # "sq": OpenSearch's Lucene scalar quantisation (vectors held as 7-bit integers in the HNSW graph and
    # for scoring, about 4x smaller than float32); "fp16" / "int8": the embedded store's memory-mapped
    # matrix at 2 or 1 bytes per component. Fixed when the index is created.
    vector_compression: VectorCompression = "none"
    # Long documents as overlapping passages of the encoder's window, one vector each (an encoder without
    # a tokenizer embeds whole documents); ``passage_overlap`` tokens shared by neighbours (None: a quarter
    # of the window).
    passages: bool = True
    passage_overlap: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.shards <= 1024:
            raise ValueError("shards must be 1..1024")
        if not 0 <= self.replicas <= 16:
            raise ValueError("replicas must be 0..16")
        if not 2 <= self.hnsw_m <= 100 or not 2 <= self.hnsw_ef_construction <= 4096:
            raise ValueError("hnsw m must be 2..100 and ef_construction 2..4096")
        if self.vector_compression not in VECTOR_COMPRESSIONS:
            raise ValueError(f"vector compression must be one of {', '.join(VECTOR_COMPRESSIONS)}")


@dataclass(frozen=True)
class Finished:
    """How a load ended: live (this run published it), or waiting for the other workers of its split."""

    waiting_for: tuple[int, ...] = ()
    made_live: bool = True


class IngestTarget(Protocol):
    """Where ingest writes: an index that holds BM25 text fields and vectors side by side."""

    @property
    def description(self) -> str: ...

    def open(self, name: str, meta: IndexMeta, options: IndexOptions, *, reindex: bool,
             worker: WorkerShare | None = None) -> None:
        """Create or reopen the index with this record (encoder fingerprint, metadata fields); refuse one
        built with another encoder unless ``reindex``. With ``worker``, join the load that the other
        workers of the same split share (the index is created once)."""

    @property
    def meta(self) -> IndexMeta:
        """The record this load writes, once open: an existing index keeps its layouts (``IndexMeta.continuing``)."""

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are already stored (resume: they are skipped, not re-encoded)."""

    def write(self, docs: Sequence[Document], vectors: Sequence[DocumentVectors]) -> list[Reject]:
        """Store documents with their passages' vectors (idempotent by id); return the ones that failed."""

    def finish(self, *, force_merge: bool = False) -> Finished:
        """Make everything searchable, restore settings, publish (swap the alias on reindex); of a split
        load, only the last worker to finish does that."""

    def abort(self) -> None:
        """After a failure: restore settings, keep what was written so a rerun resumes."""

    def count(self) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class IndexEntry:
    """One index a backend holds, as listed for people and the proxy."""

    name: str
    documents: int
    meta: IndexMeta


class Backend(Protocol):
    """The backend the settings chose, once: every search, ingest and listing goes through it."""

    kind: str  # "opensearch" or "embedded"

    @property
    def description(self) -> str:
        """Where it is, for messages: ``OpenSearch at URL`` or ``embedded (DIR)``."""

    def search(self, index: str) -> SearchBackend: ...

    def async_search(self, index: str) -> AsyncSearchBackend: ...

    def ingest_target(self) -> IngestTarget: ...

    def update_record(self, index: str, changes: Mapping[str, object]) -> None:
        """Change fields of the index's record (``IndexMeta`` field names: ``default_fusion``, ``calibration``)."""

    def indices(self) -> list[IndexEntry]:
        """Every index built by hybrid, by the name users give (aliases)."""

    async def async_indices(self) -> list[IndexEntry]: ...

    async def problem(self) -> str | None:
        """Why the backend cannot serve now (readiness), or None."""

    def close(self) -> None: ...

    async def aclose(self) -> None: ...
