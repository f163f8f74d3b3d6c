"""Hard negatives mined from BM25 for contrastive training (`hybrid mine`).

For each training query: BM25's top ``depth`` from the index (one batched ``_msearch`` per batch of
queries on OpenSearch), positives removed, the first ``skip`` ranks left out (unjudged documents that
high are often relevant), an optional false-negative guard (drop candidates the dense model scores
within ``margin`` of the weakest positive), then ``negatives`` drawn at random from what is left —
reproducibly, from ``seed`` and the query id. BMRetriever samples hard negatives from a retriever's
top 100 the same way (Xu et al., EMNLP 2024).

Output, one JSON object per line::

    {"query_id": "...", "query": "...", "instruction": "..." | null,
     "positives": [{"id": "...", "title": "...", "text": "..."}],
     "negatives": [{"id": "...", "title": "...", "text": "...", "bm25_rank": 7, "bm25_score": 12.3}]}
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from hybrid.beir import Qrels
from hybrid.encoders import Encoder
from hybrid.recipes import passage_text
from hybrid.retrieval.backend import SearchBackend
from hybrid.retrieval.fusion import RankedList
from hybrid.retrieval.types import BM25Query, StoredDocument
from hybrid.training.examples import example_record


@dataclass(frozen=True)
class MiningConfig:
    depth: int = 100
    skip: int = 2
    negatives: int = 8
    seed: int = 13
    margin: float | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.depth <= 1000:
            raise ValueError("depth must be 1..1000")
        if not 0 <= self.skip < self.depth:
            raise ValueError("skip must be 0..depth-1")
        if self.negatives < 1:
            raise ValueError("negatives must be >= 1")


@dataclass
class MiningReport:
    """What was skipped and why; filled in while the examples are produced."""

    examples: int = 0
    missing_documents: dict[str, list[str]] = field(default_factory=dict)  # query id -> qrels ids not in the index
    without_positives: list[str] = field(default_factory=list)
    guarded: int = 0  # candidates dropped by the false-negative guard


def _doc(doc_id: str, stored: StoredDocument) -> dict[str, object]:
    return {"id": doc_id, "title": stored.title, "text": stored.text}


def _guard(encoder: Encoder, query: str, instruction: str | None, positives: list[StoredDocument],
           candidates: list[tuple[str, float, int]], stored: Mapping[str, StoredDocument], margin: float
           ) -> list[tuple[str, float, int]]:
    """Drop candidates whose dense score is within ``margin`` of the weakest positive's."""
    q = encoder.encode_queries([query], instruction=instruction)
    p = encoder.encode_passages([passage_text(d.title, d.text) for d in positives])
    c = encoder.encode_passages([passage_text(stored[i].title, stored[i].text) for i, _, _ in candidates])
    floor = float(np.min(encoder.score(q, p))) - margin
    scores = encoder.score(q, c)[0]
    return [cand for cand, score in zip(candidates, scores) if score < floor]


def mine(
    backend: SearchBackend,
    queries: Mapping[str, str],
    qrels: Qrels,
    config: MiningConfig,
    *,
    instruction: str | None = None,
    encoder: Encoder | None = None,
    batch_size: int = 32,
    report: MiningReport | None = None,
) -> Iterator[dict[str, object]]:
    """Training examples for the queries in ``qrels`` (see the module docstring for the format)."""
    if config.margin is not None and encoder is None:
        raise ValueError("the false-negative guard (margin) needs an encoder")
    report = report if report is not None else MiningReport()
    qids = sorted(q for q in qrels if q in queries)
    for start in range(0, len(qids), batch_size):
        chunk = qids[start : start + batch_size]
        ranked_lists = bm25_lists(backend, [queries[q] for q in chunk], config.depth)
        wanted = {d for q in chunk for d, rel in qrels[q].items() if rel > 0} | {d for ranked in ranked_lists for d, _ in ranked}
        stored = backend.fetch(sorted(wanted))
        for qid, ranked in zip(chunk, ranked_lists):
            judged = {d for d, rel in qrels[qid].items() if rel > 0}
            missing = sorted(judged - set(stored))
            if missing:
                report.missing_documents[qid] = missing
            positives = sorted(judged & set(stored))
            if not positives:
                report.without_positives.append(qid)
                continue
            candidates = candidate_negatives(ranked, judged, config, stored)
            if config.margin is not None and candidates:
                kept = _guard(encoder, queries[qid], instruction, [stored[p] for p in positives],  # type: ignore[arg-type]
                              candidates, stored, config.margin)
                report.guarded += len(candidates) - len(kept)
                candidates = kept
            report.examples += 1
            yield example_record(qid, queries[qid], instruction, [_doc(p, stored[p]) for p in positives],
                                 negative_records(candidates, stored, config, qid))


def bm25_lists(backend: SearchBackend, queries: list[str], depth: int) -> list[RankedList]:
    """BM25's top ``depth`` for each query, in one round trip (one ``_msearch`` on OpenSearch)."""
    return backend.retrieve([BM25Query(q, depth) for q in queries])


def candidate_negatives(ranked: RankedList, exclude: set[str], config: MiningConfig,
                        stored: Mapping[str, StoredDocument]) -> list[tuple[str, float, int]]:
    """``(id, score, rank)`` of the list's ranks after ``skip``, without ``exclude`` or unfetchable ids."""
    return [(d, s, rank) for rank, (d, s) in enumerate(ranked, start=1)
            if rank > config.skip and d not in exclude and d in stored]


def negative_records(candidates: list[tuple[str, float, int]], stored: Mapping[str, StoredDocument],
                     config: MiningConfig, key: str) -> list[dict[str, object]]:
    """``negatives`` of the candidates, drawn reproducibly from the seed and ``key``, in rank order."""
    rng = random.Random(f"{config.seed}:{key}")
    picked = sorted(rng.sample(candidates, min(config.negatives, len(candidates))), key=lambda c: c[2])
    return [{**_doc(d, stored[d]), "bm25_rank": rank, "bm25_score": score} for d, score, rank in picked]
