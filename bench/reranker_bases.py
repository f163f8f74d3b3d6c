"""Which cross-encoder base is better per CPU-second: an encoder-only BERT fully trained, or a decoder LM
with LoRA read as a pointwise reranker — each trained by `hybrid train --cross-encoder` on the same mined
JSONL for about the same CPU time, then reranking the same hybrid top N.

Per base (``LABEL=MODEL:STEPS``, steps chosen so each trains for about the same time on this machine):
training time, pairs/s, parameters trained, final loss; then the rerank of the default hybrid list's top
--depth for the first --queries dev queries (by id): nDCG@10 with and without it, and the CPU cost per
pair and per query. The hybrid lists come from an embedded index of the corpus (built under --work, or
reused when it is there already). Dev qrels are read only to score.

    python bench/reranker_bases.py --train runs/mined-train.jsonl \\
        --base minilm=minilm:56 --base smollm2-lora=smollm2-135m:10
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.fusion_quality import build_index  # noqa: E402
from bench.machine import describe, header, write_report  # noqa: E402

INDEX = "bench"


class Counted:
    """A cross-encoder that counts the pairs it scores and the seconds it spends on them."""

    def __init__(self, reranker) -> None:  # type: ignore[no-untyped-def]
        self.reranker, self.name, self.fingerprint = reranker, reranker.name, reranker.fingerprint
        self.pairs, self.seconds = 0, 0.0

    def score(self, query: str, passages):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        scores = self.reranker.score(query, passages)
        self.seconds += time.perf_counter() - started
        self.pairs += len(passages)
        return scores


def searcher_over(work: Path, data: Path):  # type: ignore[no-untyped-def]
    """The default hybrid (MiniLM, passages) over the whole corpus, built once under ``work``."""
    from hybrid.backends.embedded.search import EmbeddedSearch
    from hybrid.encoders import load_encoder
    from hybrid.retrieval import Searcher

    encoder = load_encoder("minilm", device="cpu")
    folder = work / "index"
    if any(folder.glob(f"{INDEX}*")):
        return Searcher(EmbeddedSearch(folder, INDEX), encoder)
    print(f"ingesting {data.name} into {folder}", file=sys.stderr)
    return build_index(folder, data, INDEX, encoder, old_layout=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--train", type=Path, required=True, help="mined training JSONL (`hybrid mine --split train`)")
    parser.add_argument("--base", action="append", required=True, help="LABEL=MODEL:STEPS (repeatable)")
    parser.add_argument("--queries", type=int, default=100, help="dev queries reranked, the first by id (default 100)")
    parser.add_argument("--depth", type=int, default=20, help="hits reranked per query (default 20)")
    parser.add_argument("--work", type=Path, default=Path("bench-work/reranker-bases"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "reranker_bases.json")
    args = parser.parse_args()

    from hybrid.evaluation import collect_lists, load_split, mode_run, rerank_run
    from hybrid.metrics import evaluate
    from hybrid.rerank.cross_encoder import load_reranker
    from hybrid.retrieval import FusionConfig
    from hybrid.training.examples import read_examples
    from hybrid.training.reranker import RerankerConfig, train_reranker

    machine = describe()
    print(header(machine))
    queries, qrels = load_split(args.data, args.split)
    chosen = {q: queries[q] for q in sorted(queries)[: args.queries]}
    judged = {q: qrels[q] for q in chosen if q in qrels}
    examples = read_examples([args.train])
    searcher = searcher_over(args.work, args.data)
    fusion = FusionConfig.of_index(searcher.backend.index_meta().default_fusion)
    lists = collect_lists(searcher, chosen, instruction=None, windows=fusion)
    hybrid = evaluate(mode_run(lists, "hybrid", fusion), judged, ["nDCG@10"])["nDCG@10"]
    report: dict[str, object] = {"machine": machine, "data": str(args.data), "split": args.split,
                                 "queries": len(chosen), "depth": args.depth, "train": str(args.train),
                                 "train_queries": len(examples), "hybrid_ndcg10": hybrid, "bases": {}}
    for spec in args.base:
        label, _, rest = spec.partition("=")
        model, _, steps = rest.rpartition(":")
        out = args.work / label
        print(f"{label}: training from {model}, {steps} steps", file=sys.stderr)
        trained = train_reranker(model, examples, out, RerankerConfig(max_steps=int(steps)), device="cpu",
                                 overwrite=True, progress=False)
        reranker = Counted(load_reranker(str(out), device="cpu"))
        searcher.reranker = reranker
        run = rerank_run(searcher, lists, chosen, "hybrid", fusion, args.depth)
        record = json.loads((out / "hybrid-reranker.json").read_text())
        report["bases"][label] = {  # type: ignore[index]
            "model": model, "steps": trained.steps, "train_s": trained.seconds,
            "train_pairs_per_s": trained.pairs_per_second, "parameters": trained.parameters,
            "trained_parameters": trained.trained_parameters, "final_loss": trained.final_loss,
            "learning_rate": record["config"]["learning_rate"], "lora": record["lora"],
            "rerank_ndcg10": evaluate(run.run, judged, ["nDCG@10"])["nDCG@10"],
            "rerank_query_ms": run.ms_per_query, "rerank_pair_ms": 1000 * reranker.seconds / max(reranker.pairs, 1)}
    print(f"\n{args.data.name} {args.split}, first {len(chosen)} queries; hybrid (no rerank) nDCG@10 {hybrid:.4f}; "
          f"rerank of the top {args.depth}")
    print(f"{'base':16}{'params':>8}{'trained':>9}{'steps':>6}{'train s':>9}{'pairs/s':>8}{'loss':>7}"
          f"{'nDCG@10':>9}{'ms/pair':>8}{'ms/query p50':>13}")
    for label, row in report["bases"].items():  # type: ignore[attr-defined]
        print(f"{label:16}{row['parameters'] / 1e6:7.1f}M{row['trained_parameters'] / 1e6:8.1f}M{row['steps']:6d}"
              f"{row['train_s']:9.0f}{row['train_pairs_per_s']:8.2f}{row['final_loss'] or float('nan'):7.3f}"
              f"{row['rerank_ndcg10']:9.4f}{row['rerank_pair_ms']:8.0f}{row['rerank_query_ms']['p50']:13.0f}")
    write_report(args.out, report)


if __name__ == "__main__":
    main()
