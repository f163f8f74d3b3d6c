"""Assertions shared by the mining tests of both backends: the definition of a mined example."""

from __future__ import annotations

from hybrid.beir import Qrels
from hybrid.retrieval.fusion import RankedList


def check_examples(examples: list[dict], qrels: Qrels, runs: dict[str, RankedList], *, skip: int, depth: int,  # type: ignore[type-arg]
                   negatives: int) -> None:
    assert examples
    for ex in examples:
        judged = {d for d, rel in qrels[ex["query_id"]].items() if rel > 0}
        assert {p["id"] for p in ex["positives"]} <= judged and ex["positives"]
        ranks = {d: r for r, (d, _) in enumerate(runs[ex["query_id"]], start=1)}
        available = [d for d, r in ranks.items() if skip < r <= depth and d not in judged]
        assert len(ex["negatives"]) == min(negatives, len(available))
        for neg in ex["negatives"]:
            assert neg["id"] not in judged  # never a positive
            assert skip < neg["bm25_rank"] <= depth  # inside the rank window
            assert ranks[neg["id"]] == neg["bm25_rank"]
            assert neg["text"]
        assert [n["bm25_rank"] for n in ex["negatives"]] == sorted(n["bm25_rank"] for n in ex["negatives"])


def sample_missing_some_positives():  # type: ignore[no-untyped-def]
    """The bundled sample without five judged documents (real corpora miss some qrels ids too)."""
    from hybrid.data import sample_dir
    from hybrid.evaluation import load_split
    from hybrid.ingest.sources import Source, open_source

    _, qrels = load_split(sample_dir(), "dev")
    dropped = set(sorted({d for q in sorted(qrels)[:5] for d in qrels[q]})[:5])
    source = open_source(sample_dir())
    records = (r for r in source.records if r.fields is None or r.fields.get("_id") not in dropped)
    return Source(records, source.fields, source.format), dropped
