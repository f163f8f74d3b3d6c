"""BEIR-layout evaluation of bm25, dense and hybrid over one index, and a fusion-settings sweep.

Each query's two sides are retrieved once (queries embedded in batches, sub-queries sent in batches:
one ``_msearch`` per batch on OpenSearch); every mode's run is then ranked from those lists by the
search pipeline's own ``rank_hits``, so a run is exactly the ranked list `hybrid search` pages through
with the same windows and fusion, cut at ``EVAL_DEPTH``. Runs are scored by rank, so ties are ordered
as the search orders them. A sweep re-ranks without re-querying.
"""

from __future__ import annotations

import dataclasses
import itertools
import statistics
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from hybrid.beir import Qrels, load_qrels, load_queries
from hybrid.metrics import DEFAULT_MEASURES, evaluate
from hybrid.progress import progress
from hybrid.rerank.stage import rerank_depth, reranked
from hybrid.retrieval.fusion import RankedList
from hybrid.retrieval.pipeline import rank_hits, reliability_of, rerank_pairs, side_queries
from hybrid.retrieval.request import MODES, BadRequestError, FusionConfig, Mode
from hybrid.retrieval.searcher import Searcher
from hybrid.retrieval.types import SIDES, Side

EVAL_DEPTH = 100  # hits per query and mode that the metrics see (Recall@100 needs 100)
SWEEP_WINDOWS = (20, 50, 100)


@dataclass(frozen=True)
class SideLists:
    """Per query id: each side's ranked list, as deep as it was retrieved."""

    lists: dict[str, dict[Side, RankedList]]
    reliability: tuple[float, float] = (1.0, 1.0)  # the index's calibration weights (adaptive fusion)


def retrieval_windows(fusion: FusionConfig, *, sweep: bool) -> FusionConfig:
    """How deep to retrieve each side: the configured windows, or the sweep's deepest if larger."""
    deepest = max(SWEEP_WINDOWS) if sweep else 0
    return dataclasses.replace(fusion, bm25_window=max(fusion.bm25_window, deepest),
                               dense_window=max(fusion.dense_window, deepest))


def collect_lists(searcher: Searcher, queries: dict[str, str], *, instruction: str | None, windows: FusionConfig,
                  batch_size: int = 32, show_progress: bool = False, desc: str = "queries") -> SideLists:
    """Both sides' ranked lists for every query, ``windows`` deep."""
    problems = windows.problems()
    if problems:
        raise BadRequestError("; ".join(problems))
    out: dict[str, dict[Side, RankedList]] = {}
    qids = sorted(queries)
    bar = progress(len(qids), desc, "query", enabled=show_progress)
    try:
        for start in range(0, len(qids), batch_size):
            chunk = qids[start : start + batch_size]
            vectors = searcher.embed_queries([queries[q] for q in chunk], instruction)
            subqueries = [q for qid, vector in zip(chunk, vectors) for q in side_queries(queries[qid], vector, windows, SIDES)]
            answers = searcher.backend.retrieve(subqueries)
            for i, qid in enumerate(chunk):
                out[qid] = dict(zip(SIDES, answers[2 * i : 2 * i + 2]))
            bar.update(len(chunk))
    finally:
        bar.close()
    return SideLists(out, reliability_of(searcher.backend.index_meta()))


def mode_run(lists: SideLists, mode: Mode, fusion: FusionConfig, depth: int = EVAL_DEPTH) -> dict[str, dict[str, float]]:
    """``{query id: {doc id: score}}`` of one mode; the score is ``depth - rank + 1`` (order, not magnitude)."""
    out: dict[str, dict[str, float]] = {}
    for qid, sides in lists.lists.items():
        ranked = rank_hits(mode, sides, fusion, lists.reliability)[:depth]
        out[qid] = {hit.doc_id: float(depth - hit.rank + 1) for hit in ranked}
    return out


@dataclass(frozen=True)
class RerankRun:
    """A mode's run with its top ``depth`` hits reordered by the searcher's cross-encoder, and what the
    rerank stage cost per query (fetching the window's documents and scoring them)."""

    run: dict[str, dict[str, float]]
    depth: int
    reranker: str
    ms_per_query: dict[str, float]  # p50, p95, mean


def rerank_run(searcher: Searcher, lists: SideLists, queries: dict[str, str], mode: Mode, fusion: FusionConfig,
               depth: int, show_progress: bool = False) -> RerankRun:
    """What `hybrid search --rerank depth` ranks for each query, cut at ``EVAL_DEPTH``."""
    from hybrid.retrieval.searcher import NO_RERANKER, reranker_label

    if searcher.reranker is None:
        raise BadRequestError(NO_RERANKER)
    out: dict[str, dict[str, float]] = {}
    took = []
    bar = progress(len(lists.lists), "rerank", "query", enabled=show_progress)
    try:
        for qid, sides in lists.lists.items():
            ranked = rank_hits(mode, sides, fusion, lists.reliability)[:EVAL_DEPTH]
            started = time.perf_counter()
            window = rerank_depth(depth, 0, len(ranked))
            stored, _ = searcher.backend.fetch_page([h.doc_id for h in ranked[:window]], None)
            ids, passages = rerank_pairs(ranked[:window], stored)
            scores = searcher.reranker.score(queries[qid], passages)
            took.append((time.perf_counter() - started) * 1000)
            ranked = reranked(ranked, dict(zip(ids, map(float, scores))), window)
            out[qid] = {hit.doc_id: float(EVAL_DEPTH - hit.rank + 1) for hit in ranked}
            bar.update(1)
    finally:
        bar.close()
    cost = {"p50": statistics.median(took), "p95": _percentile(took, 95), "mean": statistics.fmean(took)} if took else {}
    return RerankRun(out, depth, reranker_label(searcher.reranker), cost)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@dataclass(frozen=True)
class EvalResult:
    split: str
    queries: int
    metrics: dict[str, dict[str, float]]  # mode (and "<mode>+rerank") -> measure -> value
    fusion: FusionConfig
    rerank: RerankRun | None = None


def evaluate_modes(lists: SideLists, qrels: Qrels, fusion: FusionConfig, split: str,
                   measures: Iterable[str] = DEFAULT_MEASURES, rerank: RerankRun | None = None) -> EvalResult:
    """Every mode's metrics, and the reranked hybrid run's as ``hybrid+rerank`` when there is one."""
    measures = list(measures)
    metrics = {mode: evaluate(mode_run(lists, mode, fusion), qrels, measures) for mode in MODES}
    if rerank is not None:
        metrics["hybrid+rerank"] = evaluate(rerank.run, qrels, measures)
    return EvalResult(split, len(qrels), metrics, fusion, rerank)


def sweep_grid() -> list[FusionConfig]:
    """RRF over rank constants, windows and weights; score fusion over the same weights."""
    weights = [(1.0, 1.0), (1.0, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 1.0)]
    grid = [FusionConfig("rrf", k, window, window, bw, dw)
            for k, window, (bw, dw) in itertools.product([10, 30, 60, 100], SWEEP_WINDOWS, weights)]
    grid += [FusionConfig(method, 60, window, window, bw, dw)
             for method, window, (bw, dw) in itertools.product(["minmax", "zscore", "dbsf"], SWEEP_WINDOWS[1:], weights)]
    grid += [FusionConfig("adaptive", 60, window, window, 1.0, 1.0) for window in SWEEP_WINDOWS[1:]]
    return grid


def sweep(lists: SideLists, qrels: Qrels, measure: str = "nDCG@10") -> list[tuple[FusionConfig, float]]:
    """Every grid setting with its hybrid ``measure`` on these qrels, best first."""
    scored = [(cfg, evaluate(mode_run(lists, "hybrid", cfg), qrels, [measure])[measure]) for cfg in sweep_grid()]
    return sorted(scored, key=lambda item: -item[1])


def load_split(dataset: Path, split: str) -> tuple[dict[str, str], Qrels]:
    qrels = load_qrels(dataset, split)
    queries = load_queries(dataset)
    missing = sorted(set(qrels) - set(queries))
    if missing:
        raise ValueError(f"{len(missing)} queries of qrels/{split}.tsv are not in queries.jsonl (e.g. {missing[:3]})")
    return {q: queries[q] for q in qrels}, qrels


def result_json(result: EvalResult, best: list[tuple[FusionConfig, float]] | None) -> dict[str, object]:
    data: dict[str, object] = {"split": result.split, "queries": result.queries, "metrics": result.metrics,
                               "fusion": asdict(result.fusion)}
    if result.rerank is not None:
        data["rerank"] = {"depth": result.rerank.depth, "reranker": result.rerank.reranker,
                          "ms_per_query": result.rerank.ms_per_query}
    if best is not None:
        data["sweep"] = [{"fusion": asdict(cfg), "nDCG@10": value} for cfg, value in best[:10]]
    return data


def write_chart(result: EvalResult, path: Path, title: str) -> None:
    """Grouped bars: one group per measure, one bar per mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(result.metrics)
    measures = list(next(iter(result.metrics.values())))
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=120)
    width = 0.8 / len(modes)
    for i, mode in enumerate(modes):
        xs = [m + (i - (len(modes) - 1) / 2) * width for m in range(len(measures))]
        values = [result.metrics[mode][m] for m in measures]
        bars = ax.bar(xs, values, width, label=mode)
        ax.bar_label(bars, labels=[f"{v:.3f}" for v in values], fontsize=7, padding=1)
    ax.set_xticks(range(len(measures)), measures)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
