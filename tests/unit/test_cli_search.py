"""`hybrid search` and `hybrid eval` end to end on the embedded backend, checked against the library and
against the definitions (RRF scores from the printed ranks, metrics from the search's own lists)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hybrid.backends.embedded.backend import EmbeddedBackend
from hybrid.cli import main
from hybrid.data import sample_dir
from hybrid.encoders import encoder_for_index
from hybrid.evaluation import EVAL_DEPTH, load_split
from hybrid.metrics import evaluate
from hybrid.retrieval import FusionConfig, Searcher, SearchRequest
from tests.unit.sample_index import cli_sample_index

QUERY = "statin therapy and cholesterol"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cli_sample_index(tmp_path_factory.mktemp("cli"), 150)


def _flags(root: Path) -> list[str]:
    return ["--index", "demo", "--embedded", "--embedded-dir", str(root)]


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_bm25_search_is_the_librarys(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, ["search", QUERY, *_flags(demo), "--mode", "bm25", "--k", "7"])
    backend = EmbeddedBackend(demo)
    try:
        expected = Searcher(backend.search("demo"), None).search(SearchRequest(QUERY, mode="bm25", k=7))
    finally:
        backend.close()
    assert [(h["doc_id"], h["rank"]) for h in out["hits"]] == [(h.doc_id, h.rank) for h in expected.hits]
    assert [h["score"] for h in out["hits"]] == pytest.approx([h.score for h in expected.hits])
    assert out["candidates"] == expected.candidates and out["hits"][0]["title"] == expected.hits[0].title


def test_hybrid_scores_are_rrf_of_the_shown_ranks(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, ["search", QUERY, *_flags(demo), "--k", "10", "--fusion", "rrf", "--rank-constant", "20", "--dense-weight", "2"])
    assert [h["rank"] for h in out["hits"]] == list(range(1, 11))
    for hit in out["hits"]:
        expected = 0.0
        if hit["bm25_rank"] is not None:
            expected += 1 / (20 + hit["bm25_rank"])
        if hit["dense_rank"] is not None:
            expected += 2 / (20 + hit["dense_rank"])
        assert hit["score"] == pytest.approx(expected)
        assert hit["found_by"] == [s for s in ("bm25", "dense") if hit[f"{s}_rank"] is not None]
    scores = [h["score"] for h in out["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_the_table_shows_what_json_returns(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, ["search", QUERY, *_flags(demo), "--k", "4", "--from", "2"])
    assert main(["search", QUERY, *_flags(demo), "--k", "4", "--from", "2", "--explain"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith(f"hybrid search on 'demo': hits 3-6 of {out['candidates']} ranked")
    fusion = out["fusion"]
    assert table[1].startswith(f"fusion: {fusion['method']}, weights bm25 {fusion['bm25_weight']:.3g} / "
                               f"dense {fusion['dense_weight']:.3g}")
    rows = [re.split(r"\s+", line.strip()) for line in table[3:]]
    assert [(int(r[0]), r[1], float(r[2])) for r in rows] == [
        (h["rank"], h["doc_id"], round(h["score"], 4)) for h in out["hits"]]

    def shown(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    for row, hit in zip(rows, out["hits"]):
        assert row[4] == str(hit["bm25_rank"] or "-") and row[6] == str(hit["dense_rank"] or "-")
        assert (row[8], row[9]) == (shown(hit["bm25_norm"]), shown(hit["dense_norm"]))
    # The sample is indexed as passages: the span of the passage the dense side found each hit by.
    assert table[2].split()[-2:] == ["passage", "title"]
    for row, hit in zip(rows, out["hits"]):
        assert row[10] == ("-" if hit["passage"] is None else f"{hit['passage'][0]}-{hit['passage'][1]}")
        assert (hit["passage"] is None) == (hit["dense_rank"] is None)


def test_paging_walks_one_list(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    windows = ["--window", "150"]
    whole = _json(capsys, ["search", QUERY, *_flags(demo), *windows, "--k", "150"])["hits"]
    pages = []
    for offset in range(0, 150, 25):
        pages += _json(capsys, ["search", QUERY, *_flags(demo), *windows, "--k", "25", "--from", str(offset)])["hits"]
    assert [h["doc_id"] for h in pages] == [h["doc_id"] for h in whole]
    assert len({h["doc_id"] for h in pages}) == 150 and [h["rank"] for h in pages] == list(range(1, 151))


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["search", " "], 2, "error: the query is empty"),
        (["search", "q", "--k", "0"], 2, "error: k=0 is out of range 1..1000"),
        (["search", "q", "--from", "95", "--mode", "dense"], 2, "raise the dense window to at least 105"),
        (["search", "q", "--window", "0"], 2, "bm25 window 0 is out of range 1..10000"),
        (["search", "q", "--filter", "year>=2015"], 2, "error: unknown filter field 'year'"),
        (["search", "q", "--instruction", " "], 2, "error: instruction is empty"),
        (["search", "q", "--index", "nope"], 3, "error: no embedded index 'nope'"),
        (["search", "q", "--index", "Upper"], 2, "error: index name 'Upper' is not valid"),
    ],
)
def test_search_errors_are_one_line_with_their_exit_code(demo: Path, capsys: pytest.CaptureFixture[str],
                                                         argv: list[str], code: int, message: str) -> None:
    flags = _flags(demo)[2:] if "--index" in argv else _flags(demo)
    capsys.readouterr()
    assert main([*argv, *flags]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def _run_of(searcher: Searcher, queries: dict[str, str], mode: str) -> dict[str, dict[str, float]]:
    """Each query's ranked list as `hybrid search` returns it, scored by rank."""
    run = {}
    for qid, text in queries.items():
        hits = searcher.search(SearchRequest(text, mode=mode, k=EVAL_DEPTH, fusion=FusionConfig())).hits  # type: ignore[arg-type]
        run[qid] = {h.doc_id: float(EVAL_DEPTH - h.rank + 1) for h in hits}
    return run


def test_eval_measures_the_lists_search_returns(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, chart = tmp_path / "eval.json", tmp_path / "eval.png"
    assert main(["eval", "--dataset", "sample", "--split", "dev", *_flags(demo), "--out", str(out),
                 "--chart", str(chart), "--sweep"]) == 0
    data = json.loads(out.read_text())
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and len(data["sweep"]) == 10
    assert "best fusion on dev" in capsys.readouterr().out
    queries, qrels = load_split(sample_dir(), "dev")
    backend = EmbeddedBackend(demo)
    try:
        search = backend.search("demo")
        searcher = Searcher(search, encoder_for_index(search.index_meta()))
        for mode in ("bm25", "dense", "hybrid"):
            expected = evaluate(_run_of(searcher, queries, mode), qrels)
            # Exact for BM25; the dense side embeds queries in batches in eval and one by one in search,
            # which under bf16 autocast (CPUs with native bf16) can swap near-tied neighbours.
            assert data["metrics"][mode] == pytest.approx(expected, abs=1e-9 if mode == "bm25" else 0.01), mode
    finally:
        backend.close()
    assert data["queries"] == 60 and 0 < data["metrics"]["hybrid"]["nDCG@10"] <= 1
    assert max(s["nDCG@10"] for s in data["sweep"]) == data["sweep"][0]["nDCG@10"]


@pytest.mark.parametrize("argv", [["--explain"], ["--mode", "bm25", "--k", "3"], ["--mode", "dense", "--from", "10"],
                                  ["--fusion", "rrf", "--k", "20"], ["--highlight", "--k", "5"]])
def test_json_output_follows_its_documented_schema(demo: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "search-json.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    out = _json(capsys, ["search", QUERY, *_flags(demo), *argv])
    jsonschema.validate(out, schema)
    assert out["hits"]  # a schema that an empty answer passes proves little


def test_the_table_prints_each_snippet_on_one_line_with_its_marks_in_place() -> None:
    from hybrid.cli.search_cmd import marked

    snippet = "BACKGROUND: Statins are prescribed.\nRESULTS: LDL fell\tby 38%."
    spans = [(snippet.index("Statins"), snippet.index("Statins") + 7), (snippet.index("LDL"), snippet.index("LDL") + 3)]
    assert marked(snippet, spans, False) == "BACKGROUND: [Statins] are prescribed. RESULTS: [LDL] fell by 38%."
