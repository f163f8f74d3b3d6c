"""`hybrid tune` on the embedded backend: it refuses a test split, stores the best fusion of its grid as the
index's default, and search and eval then use that default unless flags override it field by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybrid.backends.embedded.backend import EmbeddedBackend
from hybrid.cli import main
from hybrid.retrieval import FusionConfig
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample (60 claims with dev qrels) indexed with a random tiny encoder: a weak dense side."""
    folder = tmp_path_factory.mktemp("tune")
    model = save_tiny_gpt_neox(folder / "m")
    argv = ["ingest", "sample", "--index", "t", "--embedded-dir", str(folder / "idx"), "--model", str(model),
            "--quiet", "--rejects", str(folder / "r.jsonl")]
    assert main(argv) == 0
    return folder


def _meta(folder: Path):  # type: ignore[no-untyped-def]
    backend = EmbeddedBackend(folder / "idx")
    try:
        return backend.search("t").index_meta()
    finally:
        backend.close()


def _eval(folder: Path, *flags: str) -> float:
    out = folder / "e.json"
    assert main(["eval", "--dataset", "sample", "--index", "t", "--embedded-dir", str(folder / "idx"),
                 "--out", str(out), "--chart", str(folder / "e.png"), *flags]) == 0
    return float(json.loads(out.read_text())["metrics"]["hybrid"]["nDCG@10"])


def _flags(cfg: FusionConfig) -> list[str]:
    return ["--fusion", cfg.method, "--rank-constant", str(cfg.rank_constant), "--bm25-window", str(cfg.bm25_window),
            "--dense-window", str(cfg.dense_window), "--bm25-weight", str(cfg.bm25_weight),
            "--dense-weight", str(cfg.dense_weight)]


def test_a_test_split_is_refused(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["tune", "--dataset", "sample", "--split", "test", "--embedded"]) == 2
    assert "refusing to tune on a split named 'test'" in capsys.readouterr().err


RRF = FusionConfig("rrf")


def test_tune_stores_the_best_fusion_and_search_and_eval_use_it(sample_index: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = sample_index
    backend = EmbeddedBackend(folder / "idx")  # an earlier choice of plain RRF, which tune should improve on
    try:
        backend.update_record("t", {"default_fusion": {"config": RRF.to_record(), "chosen_by": "by hand"}})
    finally:
        backend.close()
    report_path = folder / "tune.json"
    assert main(["tune", "--dataset", "sample", "--index", "t", "--embedded-dir", str(folder / "idx"),
                 "--out", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    before, best = report["before"], report["best"]
    assert before["fusion"] == RRF.to_record()  # the stored default is what tune starts from
    grid = [row["nDCG@10"] for row in report["grid"]]
    assert best["nDCG@10"] == max(grid) and grid == sorted(grid, reverse=True)
    # With a random dense side equal-weight RRF is not the best the grid holds.
    assert best["nDCG@10"] > before["nDCG@10"] and report["stored"]
    assert "stored as the index's default" in capsys.readouterr().out
    meta = _meta(folder)
    assert meta.default_fusion is not None and meta.default_fusion["config"] == best["fusion"]
    assert "hybrid tune on scifact_sample dev" in str(meta.default_fusion["chosen_by"])
    tuned = FusionConfig.from_record(best["fusion"])

    # eval without flags runs the stored fusion (the value tune measured); flags bring back the old one.
    assert _eval(folder) == pytest.approx(best["nDCG@10"])
    assert _eval(folder, *_flags(RRF)) == pytest.approx(before["nDCG@10"])

    # search without flags == search with the stored settings spelled out; one flag changes one field.
    def hits(*flags: str) -> list[tuple[str, float]]:
        assert main(["search", "statin cholesterol", "--index", "t", "--embedded-dir", str(folder / "idx"),
                     "--json", *flags]) == 0
        answer = capsys.readouterr().out.strip().splitlines()[-1]  # the JSON line, after earlier commands' output
        return [(h["doc_id"], h["score"]) for h in json.loads(answer)["hits"]]

    assert hits() == hits(*_flags(tuned))
    other_k = "7" if tuned.rank_constant != 7 else "8"
    changed = FusionConfig(tuned.method, float(other_k), tuned.bm25_window, tuned.dense_window, tuned.bm25_weight,
                           tuned.dense_weight)
    assert hits("--rank-constant", other_k) == hits(*_flags(changed))

    # A resumed ingest keeps the default; --reset removes it.
    assert main(["ingest", "sample", "--index", "t", "--embedded-dir", str(folder / "idx"), "--model",
                 str(folder / "m"), "--quiet", "--rejects", str(folder / "r.jsonl")]) == 0
    assert _meta(folder).default_fusion == meta.default_fusion
    assert main(["tune", "--dataset", "sample", "--index", "t", "--embedded-dir", str(folder / "idx"), "--reset"]) == 0
    assert _meta(folder).default_fusion is None
    assert _eval(folder) == pytest.approx(_eval(folder, *_flags(FusionConfig())))  # the built-in default again


def test_ingest_calibrates_and_adaptive_fusion_follows_bm25_when_the_encoder_finds_nothing(sample_index: Path) -> None:
    """The random encoder finds almost no document from its own title; BM25 finds nearly all. Adaptive
    fusion then ranks within 0.01 nDCG@10 of BM25 alone, where equal-weight RRF falls far below it."""
    from hybrid.retrieval.calibration import Calibration

    calibration = Calibration.from_record(_meta(sample_index).calibration)
    assert calibration is not None and calibration.queries >= 100
    assert calibration.bm25 > 0.9 and calibration.dense < 0.2
    out = sample_index / "modes.json"
    assert main(["eval", "--dataset", "sample", "--index", "t", "--embedded-dir", str(sample_index / "idx"), "--fusion",
                 "adaptive", "--out", str(out), "--chart", str(sample_index / "m.png")]) == 0
    metrics = json.loads(out.read_text())["metrics"]
    assert metrics["hybrid"]["nDCG@10"] >= metrics["bm25"]["nDCG@10"] - 0.01
    assert _eval(sample_index, *_flags(RRF)) < metrics["bm25"]["nDCG@10"] - 0.1  # plain RRF


def test_explain_shows_the_weights_and_each_sides_normalised_value(sample_index: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from hybrid.retrieval.calibration import Calibration
    from hybrid.retrieval.fusion import dbsf_normalize

    common = ["--index", "t", "--embedded-dir", str(sample_index / "idx"), "--json"]
    assert main(["search", "statin cholesterol", "--mode", "bm25", "--k", "100", *common]) == 0
    bm25 = dbsf_normalize([(h["doc_id"], h["score"]) for h in json.loads(capsys.readouterr().out)["hits"]])
    assert main(["search", "statin cholesterol", "--fusion", "adaptive", "--explain", *common]) == 0
    answer = json.loads(capsys.readouterr().out)
    weights = Calibration.from_record(_meta(sample_index).calibration).weights()  # type: ignore[union-attr]
    assert answer["fusion"] == {"method": "adaptive (dbsf)", "bm25_weight": pytest.approx(weights[0]),
                                "dense_weight": pytest.approx(weights[1])}
    for hit in answer["hits"]:
        if hit["bm25_rank"] is not None:
            assert hit["bm25_norm"] == pytest.approx(bm25[hit["doc_id"]])
        assert hit["score"] == pytest.approx(weights[0] * (hit["bm25_norm"] or 0) + weights[1] * (hit["dense_norm"] or 0))
    assert main(["search", "statin cholesterol", "--fusion", "adaptive", "--explain", *common[:-1]]) == 0
    assert "fusion: adaptive (dbsf), weights bm25 1 / dense" in capsys.readouterr().out


def test_a_rebuild_keeps_the_default_only_with_the_same_encoder(sample_index: Path) -> None:
    folder = sample_index
    stored = {"config": FusionConfig("zscore", 60, 50, 50, 1.0, 0.5).to_record(), "chosen_by": "test"}
    backend = EmbeddedBackend(folder / "idx")
    try:
        backend.update_record("t", {"default_fusion": stored})
    finally:
        backend.close()

    def reindex(model: Path) -> None:
        assert main(["ingest", "sample", "--index", "t", "--embedded-dir", str(folder / "idx"), "--model", str(model),
                     "--reindex", "--quiet", "--rejects", str(folder / "r.jsonl")]) == 0

    reindex(folder / "m")
    assert _meta(folder).default_fusion == stored  # same encoder: the tuned fusion still applies
    reindex(save_tiny_gpt_neox(folder / "other", seed=1))
    assert _meta(folder).default_fusion is None  # another encoder: tune again
