"""BM25 on whole documents vs. BM25 per passage (a document scored by its best passage), on a BEIR
split: nDCG@10 and Recall@100 side by side, both through the embedded backend's BM25.

The passages are the ones ingest embeds: the encoder's token windows (MiniLM by default), each indexed
as its own BM25 document with the title. The dense side is not involved (a stand-in encoder fills the
vectors), so only the lexical ranking is compared.

    python bench/bm25_passages.py [--data DIR] [--split dev] [--model minilm]
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
PASSAGE_MARK = "#p"
DEPTH = 1000


def passage_corpus(data: Path, model: str, out: Path) -> tuple[int, int]:
    """``out/corpus.jsonl``: one record per passage (id ``<doc>#p<k>``, the document's title, the passage)."""
    from hybrid.beir import iter_corpus
    from hybrid.encoders import load_encoder
    from hybrid.passages import PassageSplitter, encoder_layout

    encoder = load_encoder(model, device="cpu")
    splitter = PassageSplitter(encoder, encoder_layout(encoder))  # type: ignore[arg-type]
    docs = list(iter_corpus(data))
    out.mkdir(parents=True, exist_ok=True)
    passages = 0
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as fh:
        for doc, spans in zip(docs, splitter.split(docs)):
            for k, (start, end) in enumerate(spans):
                fh.write(json.dumps({"_id": f"{doc.id}{PASSAGE_MARK}{k}", "title": doc.title,
                                     "text": doc.text[start:end]}) + "\n")
                passages += 1
    return len(docs), passages


def bm25_index(corpus: Path, folder: Path, standin: Path) -> object:
    from hybrid.backends.base import IndexOptions
    from hybrid.backends.embedded.search import EmbeddedSearch
    from hybrid.backends.embedded.target import EmbeddedTarget
    from hybrid.encoders import load_encoder
    from hybrid.ingest.pipeline import IngestOptions, run_ingest
    from hybrid.ingest.sources import open_source

    encoder = load_encoder(str(standin), device="cpu", precision="fp32")
    target = EmbeddedTarget(folder)
    run_ingest(open_source(corpus, "beir"), index="b", encoder=encoder, target=target,
               rejects_path=folder / "rejects.jsonl", metadata_fields={},
               index_options=IndexOptions(passages=False), options=IngestOptions())
    target.close()
    return EmbeddedSearch(folder, "b")


def run_of(search: object, queries: dict[str, str], by_passage: bool) -> dict[str, dict[str, float]]:
    """Each query's BM25 list; per passage, a document keeps its best passage's score."""
    from hybrid.retrieval.types import BM25Query

    run: dict[str, dict[str, float]] = {}
    qids = sorted(queries)
    for start in range(0, len(qids), 32):
        chunk = qids[start : start + 32]
        for qid, ranked in zip(chunk, search.retrieve([BM25Query(queries[q], DEPTH) for q in chunk])):  # type: ignore[attr-defined]
            scores: dict[str, float] = {}
            for hit_id, score in ranked:
                doc = hit_id.rsplit(PASSAGE_MARK, 1)[0] if by_passage else hit_id
                scores[doc] = max(scores.get(doc, float("-inf")), float(score))
            run[qid] = scores
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--model", default="minilm", help="encoder whose token windows make the passages")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "bm25_passages.json")
    args = parser.parse_args()

    from bench.standin import corpus_words, save_standin
    from hybrid.beir import load_qrels, load_queries
    from hybrid.metrics import evaluate

    qrels = load_qrels(args.data, args.split)
    queries = {q: t for q, t in load_queries(args.data).items() if q in qrels}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        standin = save_standin(work / "standin", corpus_words(args.data / "corpus.jsonl"))
        documents, passages = passage_corpus(args.data, args.model, work / "passages")
        for label, corpus, by_passage in (("whole document", args.data, False),
                                          ("best passage", work / "passages", True)):
            search = bm25_index(corpus, work / label.replace(" ", "-"), standin)
            started = time.perf_counter()
            run = run_of(search, queries, by_passage)
            seconds = time.perf_counter() - started
            search.close()  # type: ignore[attr-defined]
            metrics = evaluate(run, qrels, ["nDCG@10", "R@100"])
            results[label] = {**metrics, "ms_per_query": 1000 * seconds / len(queries)}
    machine = describe()
    print(f"\n{header(machine)}")
    print(f"{args.split} split, {len(queries)} queries; {documents} documents, {passages} passages "
          f"({args.model} windows); BM25 top {DEPTH}")
    print(f"{'BM25 over':18}{'nDCG@10':>9}{'R@100':>9}{'ms/query':>10}")
    for label, r in results.items():
        print(f"{label:18}{r['nDCG@10']:9.4f}{r['R@100']:9.4f}{r['ms_per_query']:10.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "split": args.split, "documents": documents,
                                    "passages": passages, "model": args.model, "results": results}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
