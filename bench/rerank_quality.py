"""The rerank stage on a BEIR dev split: what a cross-encoder over the top N adds, and what it costs.

Per dense encoder, one embedded index of the corpus (calibrated, as `hybrid ingest` leaves it), the
default fusion (no flags), then the ablation, one stage per row:

    bm25 → dense → hybrid → bm25 + rerank N → hybrid + rerank N   (N = each --depth)

with nDCG@10 and Recall@100 on the dev qrels (never used to fit anything here), and the CPU cost per
query: a whole `Searcher.search` (embedding, retrieval, fusion, fetch, rerank) timed on the first
--timed queries (first encoder) with and without each --timed-depth, side by side in one run, plus the proxy's p50 with
and without the rerank stage (in-process ASGI client, the same app `hybrid serve` runs).

Quality runs score each (query, document) pair once and reuse the score for every depth and encoder
(the cross-encoder is deterministic); latency runs never use that cache.

    python bench/rerank_quality.py --reranker runs/scifact-reranker \\
        --encoder minilm --encoder fine-tuned=runs/minilm-scifact
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.fusion_quality import MEASURES, build_index, labelled_encoders  # noqa: E402
from bench.machine import p50_p95_ms, write_report  # noqa: E402


class ScoreCache:
    """The cross-encoder behind a (query, passage) → score memo, for the quality runs only."""

    def __init__(self, reranker) -> None:  # type: ignore[no-untyped-def]
        self.reranker = reranker
        self.name, self.fingerprint = reranker.name, reranker.fingerprint
        self.scores: dict[tuple[str, str], float] = {}

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(p for p in passages if (query, p) not in self.scores))
        if missing:
            for passage, value in zip(missing, self.reranker.score(query, missing)):
                self.scores[(query, passage)] = float(value)
        return np.array([self.scores[(query, p)] for p in passages], dtype=np.float32)


def _ms(values: list[float]) -> dict[str, float]:
    p50, p95 = p50_p95_ms(values)
    return {"p50": p50, "p95": p95}


def quality(searcher, queries, qrels, depths: list[int], bm25_depth: int) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    from hybrid.evaluation import collect_lists, mode_run, rerank_run
    from hybrid.metrics import evaluate
    from hybrid.retrieval import FusionConfig

    fusion = FusionConfig.of_index(searcher.backend.index_meta().default_fusion)
    lists = collect_lists(searcher, queries, instruction=None, windows=fusion)
    rows = [{"stage": mode, "metrics": evaluate(mode_run(lists, mode, fusion), qrels, list(MEASURES))}  # type: ignore[arg-type]
            for mode in ("bm25", "dense", "hybrid")]
    for mode, mode_depths in (("bm25", [bm25_depth]), ("hybrid", depths)):
        for depth in mode_depths:
            run = rerank_run(searcher, lists, queries, mode, fusion, depth)  # type: ignore[arg-type]
            rows.append({"stage": f"{mode} + rerank {depth}", "metrics": evaluate(run.run, qrels, list(MEASURES))})
    return rows


def latency(searcher, reranker, queries: list[str], depths: list[int]) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    """Whole searches (hybrid, page of 10), each depth over the same queries, interleaved so that every
    setting sees the same machine state."""
    from hybrid.retrieval import SearchRequest

    searcher.reranker = reranker
    for text in queries[:3]:  # warm-up
        searcher.search(SearchRequest(text, rerank=max(depths)))
    took: dict[int, list[float]] = {d: [] for d in [0, *depths]}
    for text in queries:
        for depth in took:
            started = time.perf_counter()
            searcher.search(SearchRequest(text, rerank=depth))
            took[depth].append(time.perf_counter() - started)
    return {str(d): _ms(v) for d, v in took.items()}


def proxy_latency(folder: Path, index: str, reranker, queries: list[str], depth: int) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from hybrid.proxy import create_app
    from hybrid.settings import load_settings

    settings = load_settings(embedded_dir=folder, index=index, proxy_access_log=False)
    took: dict[int, list[float]] = {0: [], depth: []}
    with TestClient(create_app(settings, reranker=reranker)) as client:
        for text in queries[:3]:
            client.post("/v1/search", json={"query": text, "rerank": depth})
        for text in queries:
            for d in took:
                started = time.perf_counter()
                response = client.post("/v1/search", json={"query": text, "rerank": d})
                took[d].append(time.perf_counter() - started)
                response.raise_for_status()
    return {str(d): _ms(v) for d, v in took.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--encoder", action="append", required=True,
                        help="LABEL=MODEL or a preset name (repeatable), e.g. fine-tuned=runs/minilm-scifact")
    parser.add_argument("--reranker", required=True, help="cross-encoder folder or hub name")
    parser.add_argument("--depth", type=int, action="append", help="rerank windows scored for quality (default 20, 50)")
    parser.add_argument("--bm25-depth", type=int, default=50, help="rerank window over BM25 alone (default 50)")
    parser.add_argument("--timed-depth", type=int, action="append", help="rerank windows timed (default 20, 50, 100)")
    parser.add_argument("--timed", type=int, default=20,
                        help="queries timed per setting, with the first encoder only (default 20)")
    parser.add_argument("--work", type=Path, help="keep the indices here and reuse them (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "rerank_quality.json")
    args = parser.parse_args()

    import torch

    from hybrid.evaluation import load_split
    from hybrid.rerank.cross_encoder import load_reranker

    depths = args.depth or [20, 50]
    queries, qrels = load_split(args.data, args.split)
    reranker = load_reranker(args.reranker, device="cpu")
    cached = ScoreCache(reranker)
    timed = [queries[q] for q in sorted(queries)[: args.timed]]
    report: dict[str, object] = {"data": str(args.data), "split": args.split, "queries": len(queries),
                                 "reranker": f"{reranker.name} ({reranker.fingerprint})", "max_length": reranker.max_length,
                                 "reranker_parameters": sum(p.numel() for p in reranker.model.parameters()),
                                 "torch_threads": torch.get_num_threads(), "encoders": {}}
    for label, model, encoder in labelled_encoders(args.encoder, report):
        with tempfile.TemporaryDirectory() as tmp:
            folder = (args.work / label) if args.work else Path(tmp)
            print(f"{label}: ingesting {args.data.name}", file=sys.stderr)
            searcher = build_index(folder, args.data, "bench", encoder, old_layout=False)
            searcher.reranker = cached
            rows = quality(searcher, queries, qrels, depths, args.bm25_depth)
            if "search_ms" not in report:  # the stage's cost hardly depends on the dense encoder
                print(f"{label}: timing", file=sys.stderr)
                report["timed_with"] = label
                report["search_ms"] = latency(searcher, reranker, timed, args.timed_depth or [20, 50, 100])
                report["proxy_ms"] = proxy_latency(folder, "bench", reranker, timed, 50)
            searcher.backend.close()
        report["encoders"][label] = {"model": model, "rows": rows}  # type: ignore[index]
        print(f"\n{label} ({model}), {args.data.name} {args.split} ({len(queries)} queries); reranker {report['reranker']}")
        print(f"{'stage':22}" + "".join(f"{m:>10}" for m in MEASURES))
        for row in rows:
            print(f"{row['stage']:22}" + "".join(f"{row['metrics'][m]:10.4f}" for m in MEASURES))  # type: ignore[index]
    print(f"\nwhole hybrid search ({report['timed_with']}), {len(timed)} queries, p50 / p95 ms: "
          + ", ".join(f"rerank {d}: {v['p50']:.0f} / {v['p95']:.0f}" for d, v in report["search_ms"].items()))  # type: ignore[attr-defined]
    print("proxy /v1/search p50 / p95 ms: "
          + ", ".join(f"rerank {d}: {v['p50']:.0f} / {v['p95']:.0f}" for d, v in report["proxy_ms"].items()))  # type: ignore[attr-defined]
    write_report(args.out, report)


if __name__ == "__main__":
    main()
