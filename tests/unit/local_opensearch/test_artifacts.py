from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hybrid.local_opensearch.artifacts import (
    PINNED_SHA256,
    ArtifactError,
    Maven,
    _write_manifest,
    cached,
    cached_versions,
    newest_version,
)

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


def _fake_maven(tmp_path: Path, payload: bytes, *, checksums_published: bool) -> Maven:
    """An ``mvn`` that copies ``payload`` as the asked-for artifact, and under ``-C`` (strict checksums)
    fails as Maven does when the repository publishes no checksum files — unless ``checksums_published``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "payload").write_bytes(payload)
    script = tmp_path / "mvn"
    script.write_text(f"""#!/bin/sh
echo "$@" >> {tmp_path}/calls
for a in "$@"; do case "$a" in -DoutputDirectory=*) out="${{a#-DoutputDirectory=}}";; -Dartifact=*) art="${{a#-Dartifact=}}";; esac; done
case " $* " in *" -C "*) if [ {int(checksums_published)} = 0 ]; then
  echo "[ERROR] Could not transfer artifact $art from/to central: Checksum validation failed, no checksums available"; exit 1; fi;; esac
name=$(echo "$art" | awk -F: '{{print $2"-"$3"."$4}}')
mkdir -p "$out" && cp {tmp_path}/payload "$out/$name"
""")
    script.chmod(0o755)
    return Maven(tmp_path / "repo", executable=str(script))


COORD = "org.example:plugin:1.0.0:zip"


def test_a_pinned_artifact_without_published_checksums_is_fetched_and_checked_against_its_pin(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = b"the published plugin"
    monkeypatch.setitem(PINNED_SHA256, COORD, hashlib.sha256(payload).hexdigest())
    maven = _fake_maven(tmp_path, payload, checksums_published=False)
    maven.copy(COORD, tmp_path / "out")
    assert (tmp_path / "out" / "plugin-1.0.0.zip").read_bytes() == payload
    calls = (tmp_path / "calls").read_text().splitlines()
    assert [" -C " in f" {c} " for c in calls] == [True, False]  # strict first, unchecked only after Maven's "no checksums"


def test_a_download_that_is_not_the_pinned_file_is_refused_and_deleted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PINNED_SHA256, COORD, hashlib.sha256(b"the published plugin").hexdigest())
    for published in (False, True):  # the pin is checked whether or not Maven could check a checksum
        maven = _fake_maven(tmp_path / str(published), b"something else", checksums_published=published)
        with pytest.raises(ArtifactError, match="plugin-1.0.0.zip is not the pinned artifact"):
            maven.copy(COORD, tmp_path / "out")
        assert not (tmp_path / "out" / "plugin-1.0.0.zip").exists()


def test_an_unpinned_artifact_without_checksums_stays_refused(tmp_path: Path) -> None:
    maven = _fake_maven(tmp_path, b"anything", checksums_published=False)
    with pytest.raises(ArtifactError, match="no checksums available"):
        maven.copy(COORD, tmp_path / "out")
    assert len((tmp_path / "calls").read_text().splitlines()) == 1  # never retried without the check
