"""Library errors mapped to exit codes and one-line messages once, here, for every command (as the
proxy maps them to HTTP statuses once). Most specific first."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

OK = 0
INCOMPLETE = 1  # an ingest stopped part-way (rerun resumes) or rejected every record; a node failed to start
USAGE = 2  # bad flags, values, files, config, index names, queries or models
NOT_FOUND = 3  # the index, local instance or installation does not exist (or is not running)
UNAVAILABLE = 4  # OpenSearch or Maven Central unreachable, TLS failed, timed out, or a server error
REFUSED = 5  # OpenSearch refused the credentials (401), the permissions (403) or the request
CONFLICT = 6  # the index was built with another encoder, or not by hybrid
INTERRUPTED = 130


@dataclass(frozen=True)
class Outcome:
    code: int
    hint: str = ""


def _table() -> list[tuple[type[BaseException], Outcome]]:
    """Imported on the error path only, so ``hybrid --help`` stays fast."""
    from pydantic import ValidationError

    from hybrid.backends.base import (
        AccessDeniedError,
        BackendError,
        BackendUnavailableError,
        IndexNotFoundError,
        InvalidIndexNameError,
    )
    from hybrid.index_meta import IndexMetaError
    from hybrid.ingest.pipeline import IngestError
    from hybrid.local_opensearch.errors import (
        ArtifactError,
        JavaNotFoundError,
        ManagerError,
        NodeStartError,
        NotInstalledError,
    )
    from hybrid.recipes.errors import EncoderError, FingerprintMismatchError
    from hybrid.retrieval.request import BadRequestError
    from hybrid.training.errors import ModelTooLargeError

    return [
        (KeyboardInterrupt, Outcome(INTERRUPTED, "what was written stays; rerunning an ingest resumes it")),
        (IngestError, Outcome(INCOMPLETE, "what was written stays; rerun the same command to resume")),
        (NodeStartError, Outcome(INCOMPLETE)),
        (InvalidIndexNameError, Outcome(USAGE)),
        (BadRequestError, Outcome(USAGE)),
        (IndexNotFoundError, Outcome(NOT_FOUND, "`hybrid ingest SOURCE --index NAME` builds an index")),
        (NotInstalledError, Outcome(NOT_FOUND)),
        (JavaNotFoundError, Outcome(NOT_FOUND)),
        (BackendUnavailableError, Outcome(UNAVAILABLE)),
        (ArtifactError, Outcome(UNAVAILABLE)),
        (AccessDeniedError, Outcome(REFUSED)),
        (FingerprintMismatchError, Outcome(CONFLICT)),
        (IndexMetaError, Outcome(CONFLICT)),
        (BackendError, Outcome(REFUSED)),  # the backend refused the operation (e.g. a 4xx answer)
        (EncoderError, Outcome(USAGE)),
        (ModelTooLargeError, Outcome(USAGE)),
        (ManagerError, Outcome(USAGE)),
        (ValidationError, Outcome(USAGE)),
        (FileNotFoundError, Outcome(USAGE)),
        (FileExistsError, Outcome(USAGE)),
        (ValueError, Outcome(USAGE)),
    ]


def message(exc: BaseException) -> str:
    """One line: the error's own words (a settings error as ``field: problem``)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return "invalid settings: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return str(exc).strip() or type(exc).__name__


def run_mapped(handler: Callable[[], int]) -> int:
    """Run a command; a known error becomes its exit code and ``error: …`` on stderr, anything else
    (a bug) propagates with its traceback."""
    try:
        return handler()
    except BaseException as exc:  # noqa: BLE001 - classified below, re-raised when unknown
        for kind, outcome in _table():
            if isinstance(exc, kind):
                lines = message(exc).splitlines() or [""]
                hint = f" ({outcome.hint})" if outcome.hint else ""
                print(f"error: {lines[0]}{hint}", file=sys.stderr)
                for detail in lines[1:]:  # e.g. the tail of a node's log: context, after the one line
                    print(f"  {detail}", file=sys.stderr)
                return outcome.code
        raise
