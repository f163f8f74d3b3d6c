"""A synthetic biomedical corpus of any size for scale work, in BEIR layout, with planted queries whose
relevant documents are known, so recall stays measurable at every size.

Documents draw their title and text lengths from SciFact's own (the bundled sample by default) and
their words from its unigram distribution (lower-cased, as BM25 sees them), so term statistics look
like PubMed abstracts': a Zipf head of function words and a long tail of rare terms. Each document
gets ``year``, ``journal`` (Zipf over 400 names) and 1–6 ``mesh`` terms (Zipf over 2,000). Each
planted query is 3 words that occur nowhere else (a made-up topic signature) plus 2 common ones; its
``--relevant`` documents each carry the 3 signature words inside their text. Written as a stream: memory
does not grow with ``--docs``.

    python bench/corpus_gen.py OUT --docs 100000 [--queries 200] [--relevant 3] [--seed 7]

Writes OUT/corpus.jsonl, OUT/queries.jsonl and OUT/qrels/planted.tsv.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_WORD = re.compile(r"[a-z][a-z0-9-]+")
JOURNALS, MESH_TERMS = 400, 2000
BATCH = 1000  # documents generated per numpy draw


def _zipf_weights(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()


class Vocabulary:
    """SciFact's word distribution and title/text lengths (in words)."""

    def __init__(self, corpus: Path) -> None:
        counts: Counter[str] = Counter()
        self.title_lengths: list[int] = []
        self.text_lengths: list[int] = []
        with corpus.open(encoding="utf-8") as lines:
            for line in lines:
                doc = json.loads(line)
                title, text = _WORD.findall(doc.get("title", "").lower()), _WORD.findall(doc["text"].lower())
                counts.update(title)
                counts.update(text)
                self.title_lengths.append(max(1, len(title)))
                self.text_lengths.append(max(1, len(text)))
        self.words = np.array([w for w, _ in counts.most_common()])
        frequencies = np.array([c for _, c in counts.most_common()], dtype=np.float64)
        self.p = frequencies / frequencies.sum()


def _signature(rng: np.random.Generator, taken: set[str]) -> list[str]:
    """Three pronounceable made-up terms no other query or document uses."""
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words: list[str] = []
    while len(words) < 3:
        word = "".join(rng.choice(list(consonants)) + rng.choice(list(vowels)) for _ in range(4)) + "ase"
        if word not in taken:
            taken.add(word)
            words.append(word)
    return words


def generate(out: Path, *, docs: int, queries: int, relevant: int, seed: int, source: Path) -> dict[str, int]:
    vocab = Vocabulary(source)
    rng = np.random.default_rng(seed)
    taken: set[str] = set(vocab.words.tolist())
    # Planted: query q's relevant documents are `relevant` distinct random positions in the corpus.
    if queries * relevant > docs:
        raise SystemExit(f"{queries} queries x {relevant} relevant documents need at least that many documents")
    positions = rng.choice(docs, size=queries * relevant, replace=False)
    plant: dict[int, int] = {int(p): i // relevant for i, p in enumerate(positions)}
    signatures = [_signature(rng, taken) for _ in range(queries)]
    journals = [f"J {' '.join(w.capitalize() for w in rng.choice(vocab.words[50:2000], 2))}" for _ in range(JOURNALS)]
    mesh = [" ".join(w.capitalize() for w in rng.choice(vocab.words[100:5000], 2)) for _ in range(MESH_TERMS)]
    journal_p, mesh_p = _zipf_weights(JOURNALS), _zipf_weights(MESH_TERMS)
    common = vocab.words[20:300]

    out.mkdir(parents=True, exist_ok=True)
    (out / "qrels").mkdir(exist_ok=True)
    words_written = 0
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as corpus:
        for start in range(0, docs, BATCH):
            n = min(BATCH, docs - start)
            title_len = rng.choice(vocab.title_lengths, n)
            text_len = rng.choice(vocab.text_lengths, n)
            drawn = rng.choice(vocab.words, size=int(title_len.sum() + text_len.sum()), p=vocab.p)
            years = rng.integers(1990, 2025, n)
            journal = rng.choice(JOURNALS, n, p=journal_p)
            at = 0
            for i in range(n):
                title = drawn[at : at + title_len[i]].tolist()
                at += title_len[i]
                text = drawn[at : at + text_len[i]].tolist()
                at += text_len[i]
                query = plant.get(start + i)
                if query is not None:
                    for word in signatures[query]:
                        text.insert(int(rng.integers(0, len(text) + 1)), word)
                terms = rng.choice(MESH_TERMS, int(rng.integers(1, 7)), replace=False, p=mesh_p)
                record = {"_id": f"G{start + i:09d}", "title": " ".join(title).capitalize() + ".",
                          "text": " ".join(text).capitalize() + ".", "year": int(years[i]),
                          "journal": journals[journal[i]], "mesh": [mesh[t] for t in terms]}
                corpus.write(json.dumps(record) + "\n")
                words_written += len(title) + len(text)
    with (out / "queries.jsonl").open("w", encoding="utf-8") as lines:
        for q, signature in enumerate(signatures):
            words = [*signature, *rng.choice(common, 2).tolist()]
            rng.shuffle(words)
            lines.write(json.dumps({"_id": f"P{q:05d}", "text": " ".join(words)}) + "\n")
    with (out / "qrels" / "planted.tsv").open("w", encoding="utf-8") as qrels:
        qrels.write("query-id\tcorpus-id\tscore\n")
        for position, q in sorted(plant.items(), key=lambda item: (item[1], item[0])):
            qrels.write(f"P{q:05d}\tG{position:09d}\t1\n")
    return {"docs": docs, "queries": queries, "relevant_per_query": relevant, "mean_words": words_written // docs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--docs", type=int, required=True)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--relevant", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--source", type=Path, default=None, help="a corpus.jsonl to take statistics from "
                        "(default: the bundled SciFact sample)")
    args = parser.parse_args()
    from hybrid.data import sample_dir

    source = args.source or sample_dir() / "corpus.jsonl"
    print(json.dumps(generate(args.out, docs=args.docs, queries=args.queries, relevant=args.relevant,
                              seed=args.seed, source=source)))


if __name__ == "__main__":
    main()
