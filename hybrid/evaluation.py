"""BEIR-layout evaluation of bm25, dense and hybrid over one index, and a fusion-settings sweep.

Each query is answered once per backend round trip (both sides together); the three modes are
derived from those two runs, exactly as the retrievers would produce them, so the comparison is
like for like and a sweep re-fuses without re-querying.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from hybrid.beir import Qrels, load_qrels, load_queries
from hybrid.metrics import DEFAULT_MEASURES, evaluate
from hybrid.retrieval.fusion import Run, fuse
from hybrid.retrieval.request import FusionConfig, SearchRequest
from hybrid.retrieval.searcher import Searcher

EVAL_DEPTH = 100  # hits per query and mode that the metrics see (Recall@100 needs 100)


@dataclass(frozen=True)
class SideRuns:
    """Per query: the BM25 and dense runs, each ``depth`` deep."""

    lexical: dict[str, Run]
    dense: dict[str, Run]


def collect_runs(
    searcher: Searcher, queries: dict[str, str], *, instruction: str | None, depth: int, batch_size: int = 64
) -> SideRuns:
    """Both sides' runs for every query (query embeddings computed in batches, once)."""
    lexical: dict[str, Run] = {}
    dense: dict[str, Run] = {}
    qids = sorted(queries)
    for start in range(0, len(qids), batch_size):
        chunk = qids[start : start + batch_size]
        vectors = searcher.embed([queries[q] for q in chunk], instruction)
        for qid, vector in zip(chunk, vectors):
            request = SearchRequest(queries[qid], mode="hybrid", k=min(depth, 1000),
                                    fusion=FusionConfig(window=depth))
            request.validate(searcher.backend.filterable_fields())
            lexical[qid], dense[qid] = searcher.backend.both(queries[qid], vector, depth, ())
    return SideRuns(lexical, dense)


def fused_runs(runs: SideRuns, fusion: FusionConfig, depth: int = EVAL_DEPTH) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for qid in runs.lexical:
        fused = fuse([runs.lexical[qid], runs.dense[qid]], method=fusion.method, k=fusion.rank_constant,
                     weights=[fusion.bm25_weight, fusion.dense_weight], window=fusion.window)
        out[qid] = {h.doc_id: h.score for h in fused[:depth]}
    return out


def _as_run(side: dict[str, Run], depth: int) -> dict[str, dict[str, float]]:
    return {qid: dict(run[:depth]) for qid, run in side.items()}


@dataclass(frozen=True)
class EvalResult:
    split: str
    queries: int
    metrics: dict[str, dict[str, float]]  # mode -> measure -> value
    fusion: FusionConfig


def evaluate_modes(runs: SideRuns, qrels: Qrels, fusion: FusionConfig, split: str,
                   measures: Iterable[str] = DEFAULT_MEASURES) -> EvalResult:
    measures = list(measures)
    metrics = {
        "bm25": evaluate(_as_run(runs.lexical, EVAL_DEPTH), qrels, measures),
        "dense": evaluate(_as_run(runs.dense, EVAL_DEPTH), qrels, measures),
        "hybrid": evaluate(fused_runs(runs, fusion), qrels, measures),
    }
    return EvalResult(split, len(qrels), metrics, fusion)


def sweep_grid() -> list[FusionConfig]:
    """RRF over rank constants, windows and weights; score fusion over the same weights."""
    weights = [(1.0, 1.0), (1.0, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 1.0)]
    grid = [FusionConfig("rrf", k, window, bw, dw)
            for k, window, (bw, dw) in itertools.product([10, 30, 60, 100], [20, 50, 100], weights)]
    grid += [FusionConfig(method, 60, window, bw, dw)
             for method, window, (bw, dw) in itertools.product(["minmax", "zscore"], [50, 100], weights)]
    return grid


def sweep(runs: SideRuns, qrels: Qrels, measure: str = "nDCG@10") -> list[tuple[FusionConfig, float]]:
    """Every grid setting with its ``measure`` on these qrels, best first."""
    scored = [(cfg, evaluate(fused_runs(runs, cfg), qrels, [measure])[measure]) for cfg in sweep_grid()]
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
