"""The proxy as users run it (`hybrid serve` on 127.0.0.1): schemathesis against its OpenAPI schema,
and its search page driven in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hybrid.backends.opensearch.target import OpenSearchTarget
from hybrid.local_opensearch.node import free_port
from hybrid.proxy.probe import wait_until_ready
from tests.integration.helpers import ingest_sample

pytestmark = pytest.mark.opensearch


@pytest.fixture(scope="module")
def served(opensearch_client, opensearch_url: str, minilm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("served")
    index = f"test-served-{os.getpid()}"
    ingest_sample(OpenSearchTarget(opensearch_client), index, minilm, folder, limit=120)
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HYBRID_OPENSEARCH_URL": opensearch_url}
    server = subprocess.Popen([sys.executable, "-m", "hybrid", "serve", "--port", str(port), "--index", index,
                               "--log-level", "warning"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    if not wait_until_ready(url, timeout_s=120):
        server.kill()
        pytest.fail(f"proxy did not become ready: {server.stdout.read().decode()[-2000:] if server.stdout else ''}")
    yield url
    server.terminate()
    server.wait(timeout=30)
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


def test_search_page_in_headless_chromium(served: str, tmp_path: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    try:
        driver.get(served + "/")
        driver.find_element(By.ID, "query").send_keys("statin therapy lowers cholesterol")
        Select(driver.find_element(By.ID, "mode")).select_by_value("hybrid")
        driver.find_element(By.ID, "go").click()
        WebDriverWait(driver, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "li.hit")) == 10)
        first = driver.find_elements(By.CSS_SELECTOR, "li.hit")[0]
        assert first.find_element(By.CLASS_NAME, "title").text
        assert first.find_element(By.CLASS_NAME, "snippet").text
        sides = {e.text for hit in driver.find_elements(By.CSS_SELECTOR, "li.hit") for e in hit.find_elements(By.CLASS_NAME, "side")}
        assert sides <= {"bm25", "dense"} and sides
        assert "10 hits (hybrid)" in driver.find_element(By.ID, "status").text
        driver.save_screenshot(str(tmp_path / "search-page.png"))
    finally:
        driver.quit()
