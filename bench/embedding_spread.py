"""How spread out an encoder's embeddings are: the mean cosine between unrelated passages, and between a
query and its judged passage vs. a random one. A contrastive run that collapses drives every cosine
towards 1 while the loss sits at ln(candidates per query); this tells a collapsed model from a weak one.

    python bench/embedding_spread.py --models smollm2-135m runs/smollm2 [--data DIR] [--split train]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe, header  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def spread(model: str, data: Path, split: str, passages: int, seed: int = 13) -> dict[str, object]:
    from hybrid.beir import iter_corpus, load_qrels, load_queries
    from hybrid.encoders import load_encoder
    from hybrid.recipes import passage_text

    docs = {d.id: d for d in iter_corpus(data)}
    qrels = load_qrels(data, split)
    queries = load_queries(data)
    rng = random.Random(seed)
    sample = rng.sample(sorted(docs), min(passages, len(docs)))
    pairs = [(qid, next(iter(rels))) for qid, rels in sorted(qrels.items()) if rels and next(iter(rels)) in docs]
    pairs = rng.sample(pairs, min(passages, len(pairs)))
    encoder = load_encoder(model)
    text = {i: passage_text(docs[i].title, docs[i].text) for i in {*sample, *(d for _, d in pairs)}}
    p = encoder.encode_passages([text[i] for i in sample], show_progress=False)
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    cos = p @ p.T
    off = cos[~np.eye(len(sample), dtype=bool)]
    q = encoder.encode_queries([queries[qid] for qid, _ in pairs], instruction="scifact", show_progress=False)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    pos = encoder.encode_passages([text[d] for _, d in pairs], show_progress=False)
    pos /= np.linalg.norm(pos, axis=1, keepdims=True)
    return {"model": model, "passage_pairs_mean_cosine": float(off.mean()), "passage_pairs_std": float(off.std()),
            "query_positive_mean_cosine": float((q * pos).sum(1).mean()),
            "query_random_mean_cosine": float((q @ p.T).mean()), "queries": len(pairs), "passages": len(sample)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--split", default="train", help="qrels for the query/positive pairs (default train)")
    parser.add_argument("--passages", type=int, default=512)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "embedding_spread.json")
    args = parser.parse_args()
    rows = [spread(m, args.data, args.split, args.passages) for m in args.models]
    machine = describe()
    print(f"\n{header(machine)}")
    print(f"{'model':44}{'passage cos':>12}{'± std':>8}{'q->pos':>8}{'q->rand':>9}")
    for r in rows:
        print(f"{str(r['model'])[-43:]:44}{r['passage_pairs_mean_cosine']:12.3f}{r['passage_pairs_std']:8.3f}"
              f"{r['query_positive_mean_cosine']:8.3f}{r['query_random_mean_cosine']:9.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "split": args.split, "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
