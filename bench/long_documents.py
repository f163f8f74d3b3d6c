"""Long documents as passages: what splitting documents longer than the encoder's window costs and buys.

Per dense encoder, the same corpus ingested twice into embedded indices (calibrated, as `hybrid ingest`
leaves them), one vector per document (``--no-passages``) and passages (the default), side by side in
one run:

- the BEIR dev split: bm25 / dense / hybrid nDCG@10 and Recall@100 with the default fusion (dev qrels
  only measure; nothing is fitted to them), ingest seconds, vectors stored, dense search p50;
- needles (``bench/needles.py``): --needles queries whose relevant abstract sits after 2,000+ words of
  other abstracts, among --distractors other abstracts; dense and hybrid Recall@10 and MRR@10 of the
  needle, and how often the matched passage holds the relevant abstract.

    python bench/long_documents.py --encoder minilm
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.fusion_quality import MEASURES, build_index, labelled_encoders  # noqa: E402
from bench.machine import write_report  # noqa: E402
from bench.needles import build_needles  # noqa: E402

LAYOUTS = {"one vector": False, "passages": True}


def dev_rows(searcher, queries, qrels) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    from hybrid.evaluation import collect_lists, mode_run
    from hybrid.metrics import evaluate
    from hybrid.retrieval import FusionConfig

    fusion = FusionConfig.of_index(searcher.backend.index_meta().default_fusion)
    lists = collect_lists(searcher, queries, instruction=None, windows=fusion)
    return {mode: evaluate(mode_run(lists, mode, fusion), qrels, list(MEASURES))  # type: ignore[arg-type]
            for mode in ("bm25", "dense", "hybrid")}


def dense_p50_ms(searcher, texts: list[str]) -> float:  # type: ignore[no-untyped-def]
    from hybrid.retrieval import SearchRequest

    took = []
    for text in texts:
        started = time.perf_counter()
        searcher.search(SearchRequest(text, mode="dense"))
        took.append(time.perf_counter() - started)
    return statistics.median(took) * 1000


def needle_rows(searcher, queries: dict[str, str], offsets: dict[str, int]) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    from hybrid.retrieval import SearchRequest

    out = {}
    for mode in ("dense", "hybrid"):
        found = reciprocal = held = 0.0
        for query, text in queries.items():
            needle = f"needle-{query}"
            hits = searcher.search(SearchRequest(text, mode=mode, k=10)).hits
            rank = next((h.rank for h in hits if h.doc_id == needle), None)
            if rank is not None:
                found, reciprocal = found + 1, reciprocal + 1 / rank
                passage = next(h.passage for h in hits if h.doc_id == needle)
                held += passage is not None and passage[1] > offsets[needle]
        out[mode] = {"R@10": found / len(queries), "MRR@10": reciprocal / len(queries),
                     "passage holds it": held / max(found, 1)}
    return out


def main() -> int:
    from hybrid.beir import load_qrels, load_queries

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--encoder", action="append", default=[], help="LABEL=MODEL or a preset (repeatable)")
    parser.add_argument("--needles", type=int, default=50)
    parser.add_argument("--distractors", type=int, default=1000)
    parser.add_argument("--timed", type=int, default=100, help="dev queries timed for the dense p50")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "long_documents.json")
    args = parser.parse_args()
    if args.split == "test":
        raise SystemExit("refusing the test split")
    work = args.work or Path(tempfile.mkdtemp(prefix="long-docs-"))
    queries, qrels = load_queries(args.data), load_qrels(args.data, args.split)
    queries = {q: queries[q] for q in sorted(qrels) if q in queries}
    needles_dir = work / "needles"
    offsets = build_needles(args.data, needles_dir, split=args.split, needles=args.needles,
                            distractors=args.distractors)
    needle_queries = load_queries(needles_dir)
    report: dict[str, object] = {"data": str(args.data), "split": args.split, "queries": len(queries),
                                 "needles": len(needle_queries), "distractors": args.distractors, "encoders": {}}
    for label, model, encoder in labelled_encoders(args.encoder or ["minilm"], report):
        rows = {}
        for name, passages in LAYOUTS.items():
            print(f"{label}, {name}: ingesting {args.data.name}", file=sys.stderr)
            started = time.perf_counter()
            searcher = build_index(work / label / name / "dev", args.data, "bench", encoder, old_layout=False,
                                   passages=passages)
            ingest_s = time.perf_counter() - started
            vectors = len(searcher.backend.vectors)
            row = {"ingest_s": ingest_s, "vectors": vectors, "dev": dev_rows(searcher, queries, qrels),
                   "dense_p50_ms": dense_p50_ms(searcher, list(queries.values())[: args.timed])}
            searcher.backend.close()
            print(f"{label}, {name}: ingesting the needles", file=sys.stderr)
            needle_searcher = build_index(work / label / name / "needles", needles_dir, "bench", encoder,
                                          old_layout=False, passages=passages)
            row["needles"] = needle_rows(needle_searcher, needle_queries, offsets)
            needle_searcher.backend.close()
            rows[name] = row
        report["encoders"][label] = {"model": model, "window": encoder.window_tokens, "rows": rows}  # type: ignore[index]
        print(f"\n{label} ({model}, window {encoder.window_tokens} tokens), {args.data.name} {args.split} "
              f"({len(queries)} queries), needles: {len(needle_queries)} among {args.distractors} abstracts")
        print(f"{'layout':11} {'vectors':>8} {'ingest s':>9} {'dense ms':>9}"
              + "".join(f" {mode + ' ' + m:>15}" for mode in ("bm25", "dense", "hybrid") for m in MEASURES)
              + f" {'needle dense R@10':>18} {'needle hybrid R@10':>19}")
        for name, row in rows.items():
            print(f"{name:11} {row['vectors']:>8} {row['ingest_s']:>9.0f} {row['dense_p50_ms']:>9.1f}"
                  + "".join(f" {row['dev'][mode][m]:>15.4f}" for mode in ("bm25", "dense", "hybrid") for m in MEASURES)
                  + f" {row['needles']['dense']['R@10']:>18.2f} {row['needles']['hybrid']['R@10']:>19.2f}")
    write_report(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
