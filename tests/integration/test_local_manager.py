"""The local manager against the real distribution: cache reuse, instances side by side, clear errors."""

from __future__ import annotations

import os
import socket
import urllib.request
from pathlib import Path

import pytest

from hybrid.cli import main
from hybrid.local_opensearch import JavaNotFoundError, Manager, PortInUseError, manager_for
from hybrid.settings import load_settings

pytestmark = pytest.mark.opensearch


@pytest.fixture(scope="module")
def manager() -> Manager:
    return manager_for(load_settings())


def test_second_install_uses_cache_without_maven(manager: Manager, monkeypatch: pytest.MonkeyPatch) -> None:
    first = manager.install()
    monkeypatch.setenv("PATH", "/nonexistent")  # no mvn: only the verified cache can satisfy this
    second = manager.install()
    assert second.downloaded is False
    assert second.version == first.version and second.dist == first.dist
    assert (second.dist / "plugins" / "opensearch-knn" / "plugin-descriptor.properties").is_file()


def test_instance_start_status_stop(manager: Manager, opensearch_url: str) -> None:
    name = f"pytest-extra-{os.getpid()}"
    node = manager.node(name)
    assert node.status().running is False  # status on a stopped node
    info = manager.start(name, heap_mb=256, timeout_s=180)
    try:
        assert info.url != opensearch_url  # runs beside the session node
        status = node.status()
        assert status.running and status.health in ("green", "yellow")
        assert status.rss_bytes and status.rss_bytes > 100 * 2**20
        with urllib.request.urlopen(f"{info.url}/") as resp:
            assert resp.status == 200
        assert manager.start(name).pid == info.pid  # starting a running instance is a no-op
    finally:
        assert node.stop() is True
    assert node.status().running is False
    assert node.stop() is False
    node.purge()
    assert not node.folder.exists()


def test_port_taken_is_a_clear_error(manager: Manager) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port}"):
            manager.start(f"pytest-port-{os.getpid()}", port=port)
        assert main(["opensearch", "start", "--name", f"pytest-port-{os.getpid()}", "--port", str(port)]) == 2


def test_missing_java_is_a_clear_error(manager: Manager, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(JavaNotFoundError, match="needs Java 11/17/21"):
        manager.start(f"pytest-java-{os.getpid()}", java_home=tmp_path)
    assert main(["opensearch", "start", "--name", f"pytest-java-{os.getpid()}", "--java-home", str(tmp_path)]) == 3
    assert "no java" in capsys.readouterr().err
