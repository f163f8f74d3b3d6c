from __future__ import annotations

import dataclasses

import pytest

from hybrid.recipes import Fingerprint, FingerprintMismatchError, bmretriever_spec, check_fingerprint

BASE = Fingerprint.of(bmretriever_spec("BMRetriever/BMRetriever-410M"), weights="hub:abc", dimension=1024)

CHANGES = {
    "model_id": "BMRetriever/BMRetriever-1B",
    "weights": "hub:def",
    "dimension": 2048,
    "kind": "sentence-transformers",
    "pooling": "mean",
    "normalize": True,
    "similarity": "cosine",
    "query_template": "{instruction}\nquery: {query}",
    "passage_template": "passage: {passage}",
    "max_length": 256,
    "quantize": "int8",
}


def test_every_field_is_covered() -> None:
    assert set(CHANGES) == {f.name for f in dataclasses.fields(Fingerprint)}


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_any_recipe_change_changes_the_fingerprint(field: str) -> None:
    changed = dataclasses.replace(BASE, **{field: CHANGES[field]})
    assert changed.id != BASE.id
    assert changed.differences(BASE) == [field]


def test_round_trip_through_index_meta() -> None:
    meta = BASE.to_meta()
    assert meta["id"] == BASE.id
    assert Fingerprint.from_meta(meta) == BASE


def test_mismatch_message_names_the_differences() -> None:
    other = dataclasses.replace(BASE, max_length=256)
    with pytest.raises(FingerprintMismatchError, match="max_length: index has 512, encoder has 256"):
        check_fingerprint(BASE, other, index="pubmed")
    check_fingerprint(BASE, BASE, index="pubmed")


def test_weights_identity_is_the_folder_digest_or_the_resolved_hub_commit(tmp_path, minilm) -> None:  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    from hybrid.recipes import weights_digest, weights_identity

    # Any model loaded by hub name, sentence-transformers or decoder: the commit transformers resolved.
    resolved = SimpleNamespace(_commit_hash="0123abcd")
    assert weights_identity("sentence-transformers/all-MiniLM-L6-v2", resolved) == "hub:0123abcd"
    assert weights_identity("owner/model", SimpleNamespace(), "v2") == "hub:v2"
    assert weights_identity("owner/model", None) == "hub:unknown-revision"
    # A local folder: its sampled digest, which the loaded MiniLM reports too.
    assert minilm.fingerprint.weights == weights_digest(__import__("pathlib").Path(minilm.spec.source))
