"""The proxy as users run it (`hybrid serve` on 127.0.0.1): schemathesis against its OpenAPI schema,
and its search page driven in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load import served_proxy
from hybrid.backends.base import IndexOptions
from hybrid.backends.opensearch.target import OpenSearchTarget
from hybrid.ingest.pipeline import IngestOptions, run_ingest
from hybrid.ingest.sources import open_source
from tests.integration.helpers import META_FIELDS, ingest_sample

pytestmark = pytest.mark.opensearch


@pytest.fixture(scope="module")
def served(opensearch_client, opensearch_url: str, minilm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("served")
    index = f"test-served-{os.getpid()}"
    ingest_sample(OpenSearchTarget(opensearch_client), index, minilm, folder, limit=120, passages=False)
    injected = folder / "injected.jsonl"
    injected.write_text(json.dumps(INJECTED) + "\n")
    run_ingest(open_source(injected, "jsonl", META_FIELDS), index=index, encoder=minilm,
               target=OpenSearchTarget(opensearch_client), rejects_path=folder / "rejects-injected.jsonl",
               metadata_fields=dict(META_FIELDS.metadata), index_options=IndexOptions(replicas=0, passages=False), options=IngestOptions())
    try:
        with served_proxy(opensearch_url, index, folder / "serve.log") as url:
            yield url
    finally:
        opensearch_client.indices.delete(index=f"{index}*", ignore_unavailable=True)


def test_schemathesis_finds_no_server_errors(served: str, tmp_path: Path) -> None:
    cli = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    proc = subprocess.run(
        [cli, "run", f"{served}/openapi.json", "--checks", "not_a_server_error", "--max-examples", "40",
         "--request-timeout", "20", "--seed", "20261122"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    summary = re.search(r"(\d+) generated, (\d+) passed", proc.stdout)
    assert summary and summary.group(1) == summary.group(2) and int(summary.group(1)) >= 100, proc.stdout[-2000:]


INJECTED = {"id": "99999999", "title": '<img src=x onerror="window.pwned=1">Statin <b>trial</b>',
            "text": "<script>window.pwned=2</script> Statin therapy lowers cholesterol, says this injected abstract.",
            "year": 2019, "journal": "<i>J9</i>"}
ARTIFACTS = Path(os.environ.get("HYBRID_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


def test_search_page_in_headless_chromium(served: str, tmp_path: Path) -> None:
    """Every state of the page, driven by keyboard and clicks, each saved as a screenshot."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    shots = ARTIFACTS / "search-page"
    shots.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,1000", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    wait = WebDriverWait(driver, 60)

    def hits():  # type: ignore[no-untyped-def]
        return driver.find_elements(By.CSS_SELECTOR, "li.hit")

    def status() -> str:
        return driver.find_element(By.ID, "status").text

    def settled(expected: str):  # type: ignore[no-untyped-def]
        wait.until(lambda d: expected in status())

    try:
        driver.get(served + "/")
        driver.save_screenshot(str(shots / "1-empty.png"))
        body = driver.find_element(By.TAG_NAME, "body")
        body.send_keys("/")  # the keyboard shortcut focuses the query box
        assert driver.switch_to.active_element.get_attribute("id") == "query"
        driver.switch_to.active_element.send_keys("statin therapy lowers cholesterol", Keys.ENTER)
        settled("hits 1–10 of")
        assert len(hits()) == 10
        assert driver.find_elements(By.CSS_SELECTOR, "#results mark"), "no query word highlighted"
        assert {m.text.lower() for m in driver.find_elements(By.CSS_SELECTOR, "#results mark")} <= {
            "statin", "statins", "therapy", "therapies", "lowers", "lower", "lowered", "lowering", "cholesterol"}
        facets = {e.text for e in driver.find_elements(By.CSS_SELECTOR, "#facets h2")}
        assert facets == {"year", "journal"}
        # The injected document is shown as text: its markup is visible, nothing of it runs or renders.
        injected = [h for h in hits() if "99999999" in h.text]
        assert injected and '<img src=x onerror="window.pwned=1">Statin <b>trial</b>' in injected[0].text
        assert "<script>window.pwned=2</script>" in injected[0].text
        assert driver.execute_script("return window.pwned === undefined")
        assert not driver.find_elements(By.CSS_SELECTOR, "#results img, #results script, #results b, #facets i")
        driver.save_screenshot(str(shots / "2-results.png"))

        journal = next(b for b in driver.find_elements(By.CSS_SELECTOR, "#facets button.facet")
                       if b.get_attribute("data-field") == "journal")
        name = journal.find_elements(By.TAG_NAME, "span")[0].text
        journal.send_keys(Keys.ENTER)  # facets are buttons: the keyboard selects them
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#chips button"))
        settled("hits 1–")
        assert all(f"journal {name}" in h.find_element(By.CLASS_NAME, "meta").text for h in hits())
        driver.save_screenshot(str(shots / "3-facet-filter.png"))
        driver.find_element(By.CSS_SELECTOR, "#chips button").click()  # remove the filter
        settled("hits 1–10 of")

        driver.find_element(By.ID, "next").click()
        settled("hits 11–20 of")
        assert "page 2 of" in driver.find_element(By.ID, "page").text
        assert driver.find_element(By.ID, "results").get_attribute("start") == "11"
        driver.save_screenshot(str(shots / "4-page-2.png"))

        Select(driver.find_element(By.ID, "fusion")).select_by_value("rrf")
        driver.find_element(By.ID, "explain").click()
        driver.find_element(By.ID, "go").click()
        settled("hits 1–10 of")
        first = hits()[0]
        first.find_element(By.TAG_NAME, "summary").click()
        table = first.find_element(By.CSS_SELECTOR, "table.explain").text
        assert "bm25" in table and "dense" in table and "fusion rrf" in first.find_element(By.TAG_NAME, "details").text
        driver.save_screenshot(str(shots / "5-explain.png"))

        title = first.find_element(By.CLASS_NAME, "title")
        title.send_keys(Keys.ENTER)
        wait.until(lambda d: d.find_element(By.ID, "document").is_displayed())
        assert driver.find_element(By.ID, "doc-title").text == title.text and driver.find_element(By.ID, "doc-text").text
        assert driver.switch_to.active_element.get_attribute("id") == "close"
        driver.save_screenshot(str(shots / "6-document.png"))
        driver.switch_to.active_element.send_keys(Keys.ESCAPE)
        wait.until(lambda d: not d.find_element(By.ID, "document").is_displayed())
        assert driver.switch_to.active_element == title  # focus goes back where it was

        Select(driver.find_element(By.ID, "mode")).select_by_value("dense")
        driver.find_element(By.ID, "go").click()
        settled("(dense)")
        assert {s.text for h in hits() for s in h.find_elements(By.CLASS_NAME, "side")} == {"dense"}
        driver.save_screenshot(str(shots / "7-dense.png"))

        query = driver.find_element(By.ID, "query")
        query.clear()
        query.send_keys("x" * 4100, Keys.ENTER)  # past the query limit: the proxy says why
        wait.until(lambda d: "422" in status())
        assert not hits()
        driver.save_screenshot(str(shots / "8-error.png"))
    finally:
        driver.quit()
    assert len(list(shots.glob("*.png"))) == 8
