"""Hard-negative mining throughput (`hybrid mine`): queries/s on SciFact and on a ~50K-document corpus
(SciFact repeated with new ids), through the same `training.mining.mine` on three BM25 engines in one
run: OpenSearch (one `_msearch` per 32 queries), the embedded index (bm25s), and rank-bm25's
BM25Okapi as the reference (scores every document per query).

Mining reads only BM25, so the indices get vectors from a tiny random encoder to keep the 50K ingest
short. rank-bm25 indexes title + text as one field; the other two keep them apart (title boost 2).

    python bench/mining_bench.py [--data DIR] [--copies 10] [--queries 609]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe, header  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from bench.ingest_throughput import _node_url  # noqa: E402


class RankBM25Backend:
    """rank-bm25's BM25Okapi behind the two methods mining uses (retrieve with BM25 queries, fetch)."""

    def __init__(self, corpus_file: Path) -> None:
        from rank_bm25 import BM25Okapi

        from hybrid.analysis import analyze
        from hybrid.beir import iter_corpus
        from hybrid.retrieval.types import StoredDocument

        self._analyze = analyze
        docs = list(iter_corpus(corpus_file.parent))
        self.ids = [d.id for d in docs]
        self.docs = {d.id: StoredDocument(d.title, d.text, {}) for d in docs}
        self.bm25 = BM25Okapi([analyze(f"{d.title} {d.text}") for d in docs])

    def retrieve(self, queries) -> list[list[tuple[str, float]]]:  # type: ignore[no-untyped-def]
        ranked_lists = []
        for query in queries:
            scores = self.bm25.get_scores(self._analyze(query.text))
            top = np.argpartition(-scores, min(query.size, len(scores) - 1))[: query.size]
            top = top[np.argsort(-scores[top])]
            ranked_lists.append([(self.ids[i], float(scores[i])) for i in top if scores[i] > 0])
        return ranked_lists

    def fetch(self, ids: list[str]) -> dict[str, object]:
        return {i: self.docs[i] for i in ids if i in self.docs}


def _repeat_corpus(data: Path, folder: Path, copies: int) -> Path:
    """SciFact ``copies`` times; copy 0 keeps the original ids so the train qrels still resolve."""
    folder.mkdir(parents=True, exist_ok=True)
    with (data / "corpus.jsonl").open() as src, (folder / "corpus.jsonl").open("w") as out:
        rows = [json.loads(line) for line in src if line.strip()]
        for k in range(copies):
            for row in rows:
                out.write(json.dumps({**row, "_id": row["_id"] if k == 0 else f"{row['_id']}-r{k}"}) + "\n")
    return folder


def _ingest(target, folder: Path, index: str, encoder) -> float:  # type: ignore[no-untyped-def]
    from hybrid.backends.base import IndexOptions
    from hybrid.ingest.pipeline import IngestOptions, run_ingest
    from hybrid.ingest.sources import open_source

    started = time.perf_counter()
    run_ingest(open_source(folder, "beir"), index=index, encoder=encoder, target=target, rejects_path=Path(os.devnull),
               metadata_fields={}, index_options=IndexOptions(replicas=0), options=IngestOptions(batch_size=256))
    return time.perf_counter() - started


def _mine(backend, queries, qrels) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from hybrid.training.mining import MiningConfig, mine

    started = time.perf_counter()
    n = sum(1 for _ in mine(backend, queries, qrels, MiningConfig(depth=100, skip=2, negatives=8)))
    return time.perf_counter() - started, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--copies", type=int, default=10, help="corpus copies for the large corpus (10: 51,830 docs)")
    parser.add_argument("--queries", type=int, default=609, help="train queries to mine for (609: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "mining_bench.json")
    args = parser.parse_args()

    from hybrid.backends.embedded.search import EmbeddedSearch
    from hybrid.backends.embedded.target import EmbeddedTarget
    from hybrid.backends.opensearch.client import make_client
    from hybrid.backends.opensearch.search import OpenSearchSearch
    from hybrid.backends.opensearch.target import OpenSearchTarget
    from hybrid.encoders import load_encoder
    from hybrid.evaluation import load_split
    from hybrid.settings import load_settings
    from tests.unit.encoders.tiny_models import save_tiny_gpt_neox

    queries, qrels = load_split(args.data, "train")
    qrels = {q: qrels[q] for q in sorted(qrels)[: args.queries]}
    url, node = _node_url()
    client = make_client(load_settings(opensearch_url=url))
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            encoder = load_encoder(str(save_tiny_gpt_neox(Path(tmp) / "tiny")), device="cpu", max_length=32)
            corpora = {"scifact": args.data, f"scifact x{args.copies}": _repeat_corpus(args.data, Path(tmp) / "big",
                                                                                     args.copies)}
            for label, folder in corpora.items():
                index = f"bench-mine-{len(rows)}"
                embedded_root = Path(tmp) / f"emb-{index}"
                target = EmbeddedTarget(embedded_root)
                _ingest(target, folder, index, encoder)
                target.close()
                _ingest(OpenSearchTarget(client), folder, index, encoder)
                client.indices.refresh(index=index)
                started = time.perf_counter()
                reference = RankBM25Backend(folder / "corpus.jsonl")
                build = time.perf_counter() - started
                backends = {"opensearch _msearch": OpenSearchSearch(client, index),
                            "embedded (bm25s)": EmbeddedSearch(embedded_root, index),
                            "rank-bm25 BM25Okapi": reference}
                docs = len(reference.ids)
                for name, backend in backends.items():
                    _mine(backend, dict(list(queries.items())[:8]), {q: qrels[q] for q in list(qrels)[:8]})  # warm-up
                    seconds, n = _mine(backend, queries, qrels)
                    rows.append({"corpus": label, "documents": docs, "engine": name, "queries": n,
                                 "seconds": round(seconds, 2), "queries_per_s": round(n / seconds, 1),
                                 **({"index_build_s": round(build, 1)} if backend is reference else {})})
                    print(f"  {label:14} {name:22} {n / seconds:8.1f} queries/s", file=sys.stderr)
                client.indices.delete(index=f"{index}*", ignore_unavailable=True)
    finally:
        if node is not None:
            node.stop()
    for corpus in dict.fromkeys(r["corpus"] for r in rows):
        ref = next(r for r in rows if r["corpus"] == corpus and r["engine"].startswith("rank-bm25"))
        for r in rows:
            if r["corpus"] == corpus:
                r["speedup_vs_rank_bm25"] = round(r["queries_per_s"] / ref["queries_per_s"], 1)
    machine = describe()
    print(f"\n{header(machine)}")
    print(f"{'corpus':16}{'docs':>8}  {'engine':22}{'queries/s':>11}{'vs rank-bm25':>14}")
    for r in rows:
        print(f"{r['corpus']:16}{r['documents']:8d}  {r['engine']:22}{r['queries_per_s']:11.1f}{r['speedup_vs_rank_bm25']:13.1f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "depth": 100, "negatives": 8, "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
