"""Needle documents: a collection where each query's relevant abstract is buried at the end of a long
document, after 2,000+ words of unrelated abstracts (words: every subword tokenizer makes at least as
many tokens). An encoder reading only a document's start cannot find them; passages can.

From a BEIR folder with qrels: for each chosen query, its first relevant abstract is removed from the
corpus and appended to a filler of abstracts relevant to none of the chosen queries; the needle
document (no title) is then the query's only relevant document. ``needles.json`` records where each
relevant abstract starts in its needle's text.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from hybrid.beir import iter_corpus, load_qrels, load_queries
from hybrid.recipes import passage_text

FILLER_WORDS = 2000


def build_needles(source: Path, out: Path, *, split: str = "dev", needles: int = 10, seed: int = 0,
                  filler_words: int = FILLER_WORDS, distractors: int | None = None) -> dict[str, int]:
    """Write ``out/{corpus.jsonl, queries.jsonl, qrels/<split>.tsv, needles.json}``; returns
    ``{needle id: character offset of the relevant abstract}``. The corpus keeps ``distractors`` of the
    other abstracts (None: all) beside the needles."""
    queries, qrels = load_queries(source), load_qrels(source, split)
    docs = {d.id: d for d in iter_corpus(source)}
    judged = sorted(q for q in qrels if q in queries and any(d in docs for d in qrels[q]))
    rng = random.Random(seed)
    chosen = sorted(rng.sample(judged, min(needles, len(judged))))
    relevant = {q: sorted(d for d in qrels[q] if d in docs)[0] for q in chosen}
    cited = {d for q in chosen for d in qrels[q]}
    fillers = sorted(d for d in docs if d not in cited)
    out.mkdir(parents=True, exist_ok=True)
    (out / "qrels").mkdir(exist_ok=True)
    offsets: dict[str, int] = {}
    others = [d for d in docs if d not in relevant.values()]
    kept = set(others if distractors is None else others[:distractors])
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as corpus:
        for doc_id, doc in docs.items():
            if doc_id in kept:
                corpus.write(json.dumps({"_id": doc_id, "title": doc.title, "text": doc.text}) + "\n")
        for q in chosen:
            parts, words = [], 0
            for filler in rng.sample(fillers, len(fillers)):
                if words >= filler_words:
                    break
                text = passage_text(docs[filler].title, docs[filler].text)
                parts.append(text)
                words += len(text.split())
            head = " ".join(parts) + " "
            needle = docs[relevant[q]]
            offsets[f"needle-{q}"] = len(head)
            corpus.write(json.dumps({"_id": f"needle-{q}", "title": "",
                                     "text": head + passage_text(needle.title, needle.text)}) + "\n")
    with (out / "queries.jsonl").open("w", encoding="utf-8") as fh:
        for q in chosen:
            fh.write(json.dumps({"_id": q, "text": queries[q]}) + "\n")
    (out / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\n"
                                                + "".join(f"{q}\tneedle-{q}\t1\n" for q in chosen))
    (out / "needles.json").write_text(json.dumps(offsets, indent=1) + "\n")
    return offsets
