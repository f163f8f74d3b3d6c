"""Real weights that install offline: MiniLM (a trained retriever) and SmolLM2 (an instruct LM)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest

from hybrid.recipes import passage_text


def _dev_pairs(scifact_dir: Path, n: int) -> list[tuple[str, str, str]]:
    """(claim, a relevant abstract, a random other abstract) for the first n dev qrels."""
    corpus = {}
    with (scifact_dir / "corpus.jsonl").open() as fh:
        for line in fh:
            row = json.loads(line)
            corpus[row["_id"]] = passage_text(row["title"], row["text"])
    with (scifact_dir / "queries.jsonl").open() as fh:
        queries = {row["_id"]: row["text"] for row in map(json.loads, fh)}
    with (scifact_dir / "qrels" / "dev.tsv").open() as fh:
        qrels = list(csv.reader(fh, delimiter="\t"))[1:]
    rng = random.Random(7)
    ids = sorted(corpus)
    pairs = []
    for qid, did, _ in qrels[:n]:
        other = rng.choice([i for i in rng.sample(ids, 5) if i != did])
        pairs.append((queries[qid], corpus[did], corpus[other]))
    return pairs


def test_minilm_loads_offline_with_its_recipe(minilm) -> None:
    assert minilm.dimension == 384
    assert minilm.spec.normalize and minilm.spec.similarity == "cosine"
    vectors = minilm.encode_passages(["A protein.", "Mice."])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_minilm_relevant_beats_unrelated(minilm, scifact_dir: Path) -> None:
    pairs = _dev_pairs(scifact_dir, 30)
    q = minilm.encode_queries([p[0] for p in pairs], instruction="scifact")
    pos = minilm.encode_passages([p[1] for p in pairs])
    neg = minilm.encode_passages([p[2] for p in pairs])
    wins = ((q * pos).sum(1) > (q * neg).sum(1)).mean()
    assert wins >= 0.9, f"relevant abstract scored higher for only {wins:.0%} of 30 dev claims"


@pytest.mark.parametrize("fixture", ["minilm", "smollm2"])
def test_batch_equals_one_by_one(fixture: str, request: pytest.FixtureRequest, scifact_dir: Path) -> None:
    encoder = request.getfixturevalue(fixture)
    texts = [p[1][: 200 + 150 * i] for i, p in enumerate(_dev_pairs(scifact_dir, 5))]
    batched = encoder.encode_passages(texts, batch_size=3)
    single = np.concatenate([encoder.encode_passages([t]) for t in texts])
    np.testing.assert_allclose(batched, single, rtol=2e-3, atol=2e-3 * float(np.abs(single).max()))


def test_smollm2_loads_offline_with_bmretriever_recipe(smollm2) -> None:
    assert smollm2.dimension == 576
    assert smollm2.spec.similarity == "dot" and not smollm2.spec.normalize
    batch = smollm2.tokenize([smollm2.spec.format_passage("Statins lower LDL cholesterol.")])
    assert batch["input_ids"][0, -1].item() == smollm2.tokenizer.eos_token_id
    q = smollm2.encode_queries(["Statins lower LDL."], instruction="scifact")
    assert q.shape == (1, 576) and np.isfinite(q).all()
    assert smollm2.fingerprint.weights.startswith("sha256-sampled:")


def test_minilm_bf16_matches_fp32(minilm, scifact_dir: Path) -> None:
    from hybrid.encoders import load_encoder

    texts = [p[1] for p in _dev_pairs(scifact_dir, 4)]
    fast = load_encoder("minilm", device="cpu", precision="bf16").encode_passages(texts)
    exact = minilm.encode_passages(texts)
    assert ((fast * exact).sum(1) > 0.999).all()  # both are unit vectors: this is their cosine
