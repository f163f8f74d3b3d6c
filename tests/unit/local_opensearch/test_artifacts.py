from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hybrid.local_opensearch.artifacts import ArtifactError, _write_manifest, cached, cached_versions, newest_version

CORE_META = "<metadata><versioning><versions>" + "".join(
    f"<version>{v}</version>" for v in ("2.18.0", "2.19.0", "2.19.1", "2.19.6", "3.0.0")
) + "</versions></versioning></metadata>"
KNN_META = "<metadata><versioning><versions><version>2.19.0.0</version><version>2.19.1.0</version>" \
    "<version>3.0.0.0</version></versions></versioning></metadata>"


@pytest.fixture
def fake_repo() -> Iterator[str]:
    """A Maven-layout HTTP repository on 127.0.0.1 serving two maven-metadata.xml files."""
    pages = {
        "/org/opensearch/distribution/integ-test-zip/opensearch/maven-metadata.xml": CORE_META,
        "/org/opensearch/plugin/opensearch-knn/maven-metadata.xml": KNN_META,
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write((body or "").encode())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_newest_version_is_bounded_by_knn_releases(fake_repo: str) -> None:
    # 2.19.6 exists for core but k-NN stops at 2.19.1.0; 3.0.0 is another series.
    assert newest_version("2.19", fake_repo) == "2.19.1"


def test_no_matching_series_is_an_error(fake_repo: str) -> None:
    with pytest.raises(ArtifactError, match="no OpenSearch 2.17.x release"):
        newest_version("2.17", fake_repo)


def test_unreachable_repository_is_an_error() -> None:
    with pytest.raises(ArtifactError, match="cannot read"):
        newest_version("2.19", "http://127.0.0.1:9")


def test_cache_is_verified_by_sha256(tmp_path: Path) -> None:
    root = tmp_path / "2.19.1"
    (root / "modules" / "lang-painless").mkdir(parents=True)
    (root / "opensearch-2.19.1.zip").write_bytes(b"core")
    (root / "modules" / "lang-painless" / "x.jar").write_bytes(b"jar")
    assert cached(tmp_path, "2.19.1") is None  # no manifest yet
    _write_manifest(root, "2.19.1")
    assert cached(tmp_path, "2.19.1") is not None
    assert cached_versions(tmp_path, "2.19") == ["2.19.1"]
    (root / "modules" / "lang-painless" / "x.jar").write_bytes(b"jaR")
    assert cached(tmp_path, "2.19.1") is None  # a corrupted file invalidates the cache
