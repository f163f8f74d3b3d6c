"""`hybrid ingest` and `hybrid eval --ingest` through the CLI on the embedded backend: field flags adjust a
format's field map, a run that rejects everything ends cleanly, counts are checked, eval ingests with its
own settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybrid.backends.embedded.backend import EmbeddedBackend
from hybrid.beir import iter_corpus
from hybrid.cli import main
from hybrid.cli.errors import OK, REFUSED, USAGE
from hybrid.data import sample_dir
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_tiny_gpt_neox(tmp_path_factory.mktemp("tiny") / "m"))


def _beir_with_metadata(folder: Path, n: int) -> Path:
    """A BEIR corpus.jsonl (ids in ``_id``) whose records also carry a year and a journal."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w") as fh:
        for doc in list(iter_corpus(sample_dir()))[:n]:
            fh.write(json.dumps({"_id": doc.id, "title": doc.title, "text": doc.text,
                                 "year": 2000 + int(doc.id) % 20, "journal": f"J{int(doc.id) % 3}"}) + "\n")
    return folder


def test_field_flags_adjust_the_beir_field_map(tmp_path: Path, tiny_model: str, capsys) -> None:  # type: ignore[no-untyped-def]
    corpus = _beir_with_metadata(tmp_path / "beir", 30)
    argv = ["ingest", str(corpus), "--index", "meta", "--embedded-dir", str(tmp_path / "idx"), "--model", tiny_model,
            "--metadata", "year:int", "--metadata", "journal", "--title-field", "title", "--quiet", "--json",
            "--rejects", str(tmp_path / "rejects.jsonl")]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["indexed"], summary["rejected"]) == (30, 0)  # the ids still come from BEIR's _id
    backend = EmbeddedBackend(tmp_path / "idx")
    try:
        search = backend.search("meta")
        assert search.index_meta().metadata_fields == {"year": "integer", "journal": "keyword"}
        first = next(iter(iter_corpus(sample_dir())))
        assert search.fetch([first.id])[first.id].metadata == {"year": 2000 + int(first.id) % 20,
                                                               "journal": f"J{int(first.id) % 3}"}
    finally:
        backend.close()


def test_a_run_that_rejects_every_record_ends_with_status_1(tmp_path: Path, tiny_model: str, capsys) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "bad.jsonl"
    source.write_text("".join(json.dumps({"id": str(i), "body": "text in the wrong field"}) + "\n" for i in range(5)))
    rejects = tmp_path / "rejects.jsonl"
    argv = ["ingest", str(source), "--index", "bad", "--embedded-dir", str(tmp_path / "idx"), "--model", tiny_model,
            "--quiet", "--rejects", str(rejects)]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("indexed 0, skipped 0 (already present), rejected 5")
    assert "every one of the 5 records read was rejected" in captured.err and "Traceback" not in captured.err
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [r["position"] for r in lines] == [f"bad.jsonl:{n}" for n in range(1, 6)]
    assert all(r["reason"] == "missing text (field 'text')" for r in lines)
    # The empty index exists and answers with no hits.
    assert main(["search", "anything", "--index", "bad", "--embedded-dir", str(tmp_path / "idx"), "--mode", "bm25",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hits"] == []


@pytest.mark.parametrize("flag", ["--batch-size", "--limit", "--shards"])
@pytest.mark.parametrize("value", ["0", "-3", "x"])
def test_counts_must_be_positive(flag: str, value: str, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as done:
        main(["ingest", "sample", flag, value])
    assert done.value.code == 2
    assert f"argument {flag}" in capsys.readouterr().err


def test_eval_ingest_uses_the_same_settings(tmp_path: Path, tiny_model: str, capsys) -> None:  # type: ignore[no-untyped-def]
    """The corpus is ingested with the evaluation's own settings: here the encoder named only in --config."""
    config = tmp_path / "hybrid.toml"
    config.write_text(f'model = "{tiny_model}"\nembedded_dir = "{tmp_path / "idx"}"\n')
    dataset = _beir_with_metadata(tmp_path / "ds", 40)
    (dataset / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "statin cholesterol"}) + "\n")
    (dataset / "qrels").mkdir()
    first = next(iter(iter_corpus(dataset)))
    (dataset / "qrels" / "dev.tsv").write_text(f"query-id\tcorpus-id\tscore\nq1\t{first.id}\t1\n")
    argv = ["--config", str(config), "eval", "--dataset", str(dataset), "--index", "evald", "--ingest", "--embedded",
            "--out", str(tmp_path / "e.json"), "--chart", str(tmp_path / "e.png")]
    assert main(argv) == 0, capsys.readouterr().err
    backend = EmbeddedBackend(tmp_path / "idx")
    try:
        meta = backend.search("evald").index_meta()
    finally:
        backend.close()
    assert meta.encoder_source == tiny_model and meta.fingerprint.model_id == "m"
    assert json.loads((tmp_path / "e.json").read_text())["queries"] == 1
    assert main(argv) == 0  # a second run resumes: everything already present
    assert "skipped 40 (already present)" in capsys.readouterr().err


def test_the_precision_setting_reaches_the_encoder(tmp_path: Path, tiny_model: str, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """HYBRID_PRECISION chooses the arithmetic; the index record says which ran, the fingerprint does not change."""
    runtimes, fingerprints = {}, {}
    for precision in ("fp32", "bf16"):
        monkeypatch.setenv("HYBRID_PRECISION", precision)
        argv = ["ingest", str(_beir_with_metadata(tmp_path / "ds", 5)), "--index", precision, "--embedded-dir",
                str(tmp_path / "idx"), "--model", tiny_model, "--quiet", "--rejects", str(tmp_path / "r.jsonl")]
        assert main(argv) == 0
        backend = EmbeddedBackend(tmp_path / "idx")
        try:
            meta = backend.search(precision).index_meta()
        finally:
            backend.close()
        runtimes[precision], fingerprints[precision] = meta.encoder_runtime, meta.fingerprint.id
    assert runtimes == {"fp32": "torch float32 on cpu", "bf16": "torch float32 on cpu, bf16 autocast"}
    assert fingerprints["fp32"] == fingerprints["bf16"]
    monkeypatch.setenv("HYBRID_PRECISION", "fp8")
    assert main(["ingest", "sample", "--index", "x", "--embedded-dir", str(tmp_path / "idx")]) == 2
    assert "precision" in capsys.readouterr().err


def test_passage_flags_reach_the_index_record(tmp_path: Path, tiny_model: str, capsys) -> None:  # type: ignore[no-untyped-def]
    from hybrid.backends.embedded.store import EmbeddedRoot, Generation

    base = ["ingest", "sample", "--embedded-dir", str(tmp_path / "idx"), "--model", tiny_model, "--limit", "5",
            "--quiet", "--rejects", str(tmp_path / "r.jsonl")]
    assert main([*base, "--index", "bad", "--passage-overlap", "9999"]) == USAGE
    assert "passage overlap 9999: it must be 0..255 (half the window)" in capsys.readouterr().err
    assert main([*base, "--index", "whole", "--no-passages"]) == 0
    assert main([*base, "--index", "split", "--passage-overlap", "100"]) == 0
    records = {}
    for name in ("whole", "split"):
        generation = Generation(EmbeddedRoot(tmp_path / "idx").require(name))
        records[name] = generation.index_meta(name).passages
        generation.close()
    assert records["whole"] is None and records["split"] is not None and records["split"].overlap == 100


def test_each_backend_refuses_the_others_vector_compression(tmp_path: Path, tiny_model: str, capsys) -> None:  # type: ignore[no-untyped-def]
    argv = ["ingest", "sample", "--index", "sq", "--embedded-dir", str(tmp_path / "idx"), "--model", tiny_model,
            "--limit", "5", "--vector-compression", "sq", "--quiet", "--rejects", str(tmp_path / "r.jsonl")]
    assert main(argv) == USAGE
    assert "vector compression 'sq' is not offered by the embedded index (it offers fp16, int8)" in capsys.readouterr().err
    from hybrid.backends.base import IndexOptions
    from hybrid.backends.opensearch.target import OpenSearchTarget
    from hybrid.index_meta import IndexMeta
    from hybrid.recipes.fingerprint import Fingerprint

    fingerprint = Fingerprint("m", "w", 4, "sentence", "mean", True, "cosine", "{text}", "{text}", 64, None)
    with pytest.raises(ValueError, match="'int8' is not offered by the OpenSearch index \\(it offers sq\\)"):
        OpenSearchTarget(None).open("x", IndexMeta(fingerprint), IndexOptions(vector_compression="int8"), reindex=False)  # type: ignore[arg-type]


def test_compressed_embedded_vectors_are_kept_on_resume_and_change_only_with_reindex(  # type: ignore[no-untyped-def]
        tmp_path: Path, tiny_model: str, capsys) -> None:
    from hybrid.backends.embedded.store import EmbeddedRoot
    from hybrid.backends.embedded.vectors import VectorMatrix

    base = ["ingest", "sample", "--index", "c", "--embedded-dir", str(tmp_path / "idx"), "--model", tiny_model,
            "--quiet", "--rejects", str(tmp_path / "r.jsonl")]

    def storage() -> str:
        return VectorMatrix(EmbeddedRoot(tmp_path / "idx").require("c"), cosine=False).storage

    assert main([*base, "--limit", "20", "--vector-compression", "int8"]) == OK
    assert storage() == "int8"
    assert main([*base, "--limit", "40"]) == OK  # a resume without the flag keeps the index's storage
    assert storage() == "int8"
    assert main([*base, "--limit", "40", "--vector-compression", "fp16"]) == REFUSED
    assert "stores int8 vectors, not fp16; re-ingest with --reindex" in capsys.readouterr().err
    assert main([*base, "--limit", "40", "--vector-compression", "fp16", "--reindex"]) == OK
    assert storage() == "fp16"


def test_a_document_with_a_title_and_no_text_is_indexed_and_found_by_its_title(
        tmp_path: Path, tiny_model: str, capsys) -> None:  # type: ignore[no-untyped-def]
    """A PubMed citation without an abstract, a CORD-19 entry with an empty one: the title is the document."""
    corpus = _beir_with_metadata(tmp_path / "beir", 20)
    title = "Zebrafish fin regeneration requires osteoblast dedifferentiation"
    with (corpus / "corpus.jsonl").open("a") as fh:
        fh.write(json.dumps({"_id": "title-only", "title": title, "text": ""}) + "\n")
        fh.write(json.dumps({"_id": "nothing", "title": " ", "text": ""}) + "\n")
    rejects = tmp_path / "rejects.jsonl"
    root = ["--index", "t", "--embedded-dir", str(tmp_path / "idx")]
    assert main(["ingest", str(corpus), *root, "--model", tiny_model, "--quiet", "--json", "--rejects", str(rejects)]) == OK
    summary = json.loads(capsys.readouterr().out)
    assert (summary["indexed"], summary["rejected"]) == (21, 1)
    assert [json.loads(line)["reason"] for line in rejects.read_text().splitlines()] == ["empty text and no title"]
    assert main(["search", "zebrafish fin regeneration", *root, "--mode", "bm25", "--json"]) == OK
    top = json.loads(capsys.readouterr().out)["hits"][0]
    assert (top["doc_id"], top["title"]) == ("title-only", title)
    assert main(["search", title, *root, "--mode", "dense", "--k", "21", "--json"]) == OK
    assert "title-only" in [h["doc_id"] for h in json.loads(capsys.readouterr().out)["hits"]]  # it has a vector
