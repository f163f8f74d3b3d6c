"""Every command answers a broken environment with one line and a documented exit code, never a
traceback: an unreachable cluster, refused credentials or permissions, a TLS mismatch, a bad index
name, a missing or invalid config file, a damaged artifact cache, a Maven that hangs.

The 401/403 answers come from a small HTTP server on 127.0.0.1 that answers the way OpenSearch's
security plugin does (a secured cluster of our own is a separate piece of work); the TLS mismatch is a
real handshake against a plain-HTTP port.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hybrid.cli import main
from hybrid.cli.errors import NOT_FOUND, REFUSED, UNAVAILABLE, USAGE
from hybrid.local_opensearch.node import free_port


class _Secured(BaseHTTPRequestHandler):
    """401 without credentials, 403 with the reader's, as the security plugin answers."""

    def _answer(self) -> None:
        if self.headers.get("Authorization") is None:
            status, body = 401, b"Unauthorized"
            self.send_response(status)
            self.send_header("WWW-Authenticate", 'Basic realm="OpenSearch Security"')
        else:
            status = 403
            body = json.dumps({"error": {"root_cause": [{"type": "security_exception",
                                                          "reason": "no permissions for [indices:data/read/search]"}],
                                         "type": "security_exception"}, "status": 403}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = _answer  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def secured_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Secured)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


COMMANDS = [
    ["search", "q", "--mode", "bm25", "--index", "docs"],
    ["pairs", "--index", "docs", "--out", "pairs.jsonl"],
    ["mine", "--dataset", "sample", "--split", "dev", "--index", "docs", "--out", "mined.jsonl"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: a[0])
def test_unreachable_cluster(argv: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"http://127.0.0.1:{free_port()}"
    assert main([*argv, "--opensearch-url", url, "--timeout", "2"]) == UNAVAILABLE
    assert _one_line(capsys) == f"error: cannot reach OpenSearch at {url} (connection refused)"


def test_unreachable_cluster_on_ingest(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.unit.encoders.tiny_models import save_tiny_gpt_neox

    url = f"http://127.0.0.1:{free_port()}"
    argv = ["ingest", "sample", "--index", "docs", "--opensearch-url", url, "--limit", "3", "--quiet",
            "--model", str(save_tiny_gpt_neox(tmp_path / "m")), "--rejects", str(tmp_path / "r.jsonl")]
    assert main(argv) == UNAVAILABLE
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"error: cannot reach OpenSearch at {url} (connection refused)"


def test_credentials_refused(secured_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "q", "--mode", "bm25", "--index", "docs", "--opensearch-url", secured_url]) == REFUSED
    line = _one_line(capsys)
    assert line.startswith(f"error: OpenSearch at {secured_url} refused the credentials (401: Unauthorized)")
    assert "HYBRID_OPENSEARCH_PASSWORD" in line


def test_permission_denied(secured_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRID_OPENSEARCH_PASSWORD", "reader-password")
    assert main(["search", "q", "--mode", "bm25", "--index", "docs", "--opensearch-url", secured_url,
                 "--user", "reader"]) == REFUSED
    assert _one_line(capsys) == (f"error: OpenSearch at {secured_url} denied the request "
                                 "(403: no permissions for [indices:data/read/search]); the user needs the "
                                 "privileges named there")


def test_tls_to_a_plain_http_port(secured_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    https = secured_url.replace("http://", "https://")
    assert main(["search", "q", "--mode", "bm25", "--index", "docs", "--opensearch-url", https]) == UNAVAILABLE
    line = _one_line(capsys)
    assert line.startswith(f"error: TLS with OpenSearch at {https} failed (")
    assert "HYBRID_OPENSEARCH_CA_CERTS" in line and "--insecure" in line


def test_invalid_index_name_before_any_request(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: the name is refused first
    assert main(["search", "q", "--index", "PubMed", "--opensearch-url", url]) == USAGE
    assert _one_line(capsys).startswith("error: index name 'PubMed' is not valid: use lower-case letters")
    assert main(["ingest", "sample", "--index", "a b", "--embedded-dir", str(tmp_path), "--dry-run"]) == USAGE
    assert "index name 'a b' is not valid" in capsys.readouterr().err


def test_config_file_missing_or_invalid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert main(["--config", str(missing), "search", "q"]) == USAGE
    assert _one_line(capsys) == f"error: config file {missing} does not exist"
    bad = tmp_path / "bad.toml"
    bad.write_text('index = "x"\nopensearch_timeout_s = "soon"\nno_such_key = 1\n')
    assert main(["--config", str(bad), "search", "q"]) == USAGE
    line = _one_line(capsys)
    assert line.startswith("error: invalid settings: ") and "opensearch_timeout_s" in line and "no_such_key" in line
    broken = tmp_path / "broken.toml"
    broken.write_text("index = \n")
    assert main(["--config", str(broken), "search", "q"]) == USAGE
    assert _one_line(capsys).startswith("error: ")


def _fake_mvn(folder: Path, script: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    mvn = folder / "mvn"
    mvn.write_text("#!/bin/sh\n" + script + "\n")
    mvn.chmod(mvn.stat().st_mode | stat.S_IEXEC)
    return folder


@pytest.fixture
def manager_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache and home of their own, so the machine's real installation is never touched."""
    monkeypatch.setenv("HYBRID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HYBRID_OPENSEARCH_HOME", str(tmp_path / "home"))
    return tmp_path


def test_damaged_artifact_manifest(manager_home: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cached = manager_home / "cache" / "opensearch" / "artifacts" / "2.19.1"
    cached.mkdir(parents=True)
    (cached / "manifest.json").write_text('{"version": "2.19.1", "sha256": {"opensearch-2.19.1.zip": ')  # cut short
    bin_dir = _fake_mvn(manager_home / "bin", 'echo "[ERROR] Could not transfer artifact (network is unreachable)"; exit 1')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert main(["opensearch", "install"]) == UNAVAILABLE
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("error: the cached OpenSearch 2.19.1 failed verification and fetching it again failed: "
                               "Maven could not fetch org.opensearch.distribution.integ-test-zip:opensearch:2.19.1:zip")
    assert "Traceback" not in "\n".join(lines)


def test_maven_that_hangs_times_out(manager_home: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = _fake_mvn(manager_home / "bin", "sleep 30")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HYBRID_MAVEN_TIMEOUT_S", "1")
    assert main(["opensearch", "install", "--version", "2.19.1"]) == UNAVAILABLE
    assert _one_line(capsys) == (
        "error: Maven did not finish fetching org.opensearch.distribution.integ-test-zip:opensearch:2.19.1:zip "
        "within 1 s; check that Maven Central is reachable (or raise HYBRID_MAVEN_TIMEOUT_S) and run the install again")


def test_stopped_instance(manager_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["opensearch", "url", "--name", "nobody"]) == NOT_FOUND
    assert _one_line(capsys) == "error: instance 'nobody' is not running"
    assert main(["opensearch", "start", "--name", "x"]) == NOT_FOUND  # nothing installed in this home
    assert "not installed yet" in _one_line(capsys)
