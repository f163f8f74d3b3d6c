"""Retrieval metrics through ir-measures (a maintained library), with BEIR's conventions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hybrid.beir import Qrels

# A run in TREC's sense: query id -> document id -> score (higher ranks first).
Run = Mapping[str, Mapping[str, float]]
DEFAULT_MEASURES = ("nDCG@10", "R@100", "RR@10", "AP")


def drop_self_hits(run: Run) -> dict[str, dict[str, float]]:
    """BEIR ignores a hit whose document id equals the query id (e.g. ArguAna, Quora)."""
    return {qid: {did: s for did, s in hits.items() if did != qid} for qid, hits in run.items()}


def evaluate(run: Run, qrels: Qrels, measures: Iterable[str] = DEFAULT_MEASURES) -> dict[str, float]:
    """Mean of each measure over the queries in ``qrels`` (a query missing from the run scores 0).

    Measure names are ir-measures' (``nDCG@10``, ``R@100``, ``RR@10`` = MRR@10, ``AP`` = MAP).
    """
    import ir_measures

    parsed = [ir_measures.parse_measure(m) for m in measures]
    cleaned = drop_self_hits(run)
    full_run = {qid: cleaned.get(qid, {}) for qid in qrels}
    scores = {str(k): float(v) for k, v in ir_measures.calc_aggregate(parsed, qrels, full_run).items()}
    return {m: scores.get(str(p), 0.0) for m, p in zip(measures, parsed)}
