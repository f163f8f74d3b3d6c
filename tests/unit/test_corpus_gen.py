"""The scale benchmarks' corpus generator: planted queries whose relevant documents are exactly the
ones that carry their signature words, reproducible by seed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bench.corpus_gen import generate
from hybrid.beir import load_qrels, load_queries
from hybrid.data import sample_dir


def test_planted_queries_find_exactly_their_documents(tmp_path: Path) -> None:
    stats = generate(tmp_path / "a", docs=600, queries=20, relevant=3, seed=3, source=sample_dir() / "corpus.jsonl")
    docs = [json.loads(line) for line in (tmp_path / "a" / "corpus.jsonl").read_text().splitlines()]
    assert stats["docs"] == len(docs) == len({d["_id"] for d in docs}) == 600
    assert all(isinstance(d["year"], int) and d["journal"] and 1 <= len(d["mesh"]) <= 6 for d in docs)
    queries, qrels = load_queries(tmp_path / "a"), load_qrels(tmp_path / "a", "planted")
    assert len(queries) == len(qrels) == 20
    for qid, relevant in qrels.items():
        signature = [w for w in queries[qid].split() if w.endswith("ase") and len(w) == 11]
        assert len(signature) == 3
        carrying = {d["_id"] for d in docs if set(signature) <= set(re.findall(r"[a-z]+", d["text"].lower()))}
        touching = {d["_id"] for d in docs if any(w in (d["title"] + " " + d["text"]).lower() for w in signature)}
        assert carrying == touching == set(relevant), qid
    generate(tmp_path / "b", docs=600, queries=20, relevant=3, seed=3, source=sample_dir() / "corpus.jsonl")
    assert (tmp_path / "a" / "corpus.jsonl").read_bytes() == (tmp_path / "b" / "corpus.jsonl").read_bytes()
