"""The BEIR-layout readers: what other collections' files look like, and clear refusals of what is unreadable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybrid.beir import DatasetError, iter_corpus, load_qrels, load_queries
from hybrid.cli import main
from hybrid.cli.errors import USAGE


def _dataset(root: Path, *, corpus: str = "", queries: str = "", qrels: str = "", split: str = "dev") -> Path:
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text(corpus, encoding="utf-8")
    (root / "queries.jsonl").write_text(queries, encoding="utf-8")
    (root / "qrels" / f"{split}.tsv").write_text(qrels, encoding="utf-8")
    return root


def test_qrels_with_header_without_it_and_in_trec_columns_read_the_same(tmp_path: Path) -> None:
    expected = {"1": {"d1": 1, "d2": 0}, "2": {"d3": 2}}
    forms = {
        "beir": "query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\t0\n2\td3\t2\n",
        "headless": "1\td1\t1\r\n1\td2\t0\r\n\r\n2\td3\t2\r\n",  # CRLF and a blank line
        "trec": "1 0 d1 1\n1 0 d2 0\n2 0 d3 2\n",  # TREC's four space-separated columns
        "trec-tabs": "1\tQ0\td1\t1\n1\tQ0\td2\t0\n2\tQ0\td3\t2\n",
    }
    for name, text in forms.items():
        folder = _dataset(tmp_path / name, qrels=text)
        assert load_qrels(folder, "dev") == expected, name


def test_a_negative_relevance_on_the_first_line_is_a_judgement_not_a_header(tmp_path: Path) -> None:
    folder = _dataset(tmp_path, qrels="1\td1\t-1\n1\td2\t2\n")
    assert load_qrels(folder, "dev") == {"1": {"d1": -1, "d2": 2}}


@pytest.mark.parametrize(("text", "problem"), [
    ("query-id\tcorpus-id\tscore\n1\td1\t1.5\n", ":2: relevance '1.5' is not a whole number"),
    ("1\td1\n", ":1: 2 columns"),
    ("query-id\tcorpus-id\tscore\n", ": no judgements"),
])
def test_unreadable_qrels_are_refused_with_file_and_line(tmp_path: Path, text: str, problem: str) -> None:
    folder = _dataset(tmp_path, qrels=text)
    with pytest.raises(DatasetError) as caught:
        load_qrels(folder, "dev")
    assert str(caught.value).startswith(f"{folder / 'qrels' / 'dev.tsv'}{problem}")


def test_queries_and_corpus_take_a_byte_order_mark_numeric_ids_and_missing_titles(tmp_path: Path) -> None:
    corpus = "\ufeff" + json.dumps({"_id": 7, "text": "body"}) + "\n\n" + json.dumps(
        {"_id": "d2", "title": None, "text": "more", "metadata": {}}) + "\n"
    queries = "\ufeff" + json.dumps({"_id": 1, "text": "statins", "metadata": {"query": "x"}}) + "\n"
    folder = _dataset(tmp_path, corpus=corpus, queries=queries)
    assert [(d.id, d.title, d.text) for d in iter_corpus(folder)] == [("7", "", "body"), ("d2", "", "more")]
    assert load_queries(folder) == {"1": "statins"}


@pytest.mark.parametrize(("line", "problem"), [
    ('{"_id": "1", "text": "ok"', "not a JSON object"),
    ('["1", "text"]', "not a JSON object (a list)"),
    ('{"_id": "1"}', "no 'text'"),
    ('{"text": "no id"}', "no '_id'"),
])
def test_unreadable_queries_are_refused_with_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    folder = _dataset(tmp_path, queries='{"_id": "0", "text": "fine"}\n' + line + "\n")
    with pytest.raises(DatasetError, match="^" + str(folder / "queries.jsonl").replace(".", r"\.") + ":2: ") as caught:
        load_queries(folder)
    assert problem in str(caught.value)


def test_eval_on_a_broken_dataset_exits_as_a_usage_error_naming_the_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _dataset(tmp_path / "set", queries='{"_id": "1", "text": "a"}\n{"_id": "2"}\n', qrels="1\td1\t1\n")
    assert main(["eval", "--dataset", str(folder), "--split", "dev", "--index", "x",
                 "--embedded", "--embedded-dir", str(tmp_path / "data")]) == USAGE
    err = capsys.readouterr().err
    assert f"error: {folder / 'queries.jsonl'}:2: no 'text'" in err
