"""Resolve and download the OpenSearch artifacts from Maven Central, with a verified local cache.

What a node needs: the core integ-test zip (lib/ and the transport module only),
the k-NN plugin zip, and the jars of the `lang-painless` module (k-NN extends it) and the
`analysis-common` module (English analyzer, stemmers). Maven does the downloading with strict
checksum checking (`-C`, against the `.sha1` files Central publishes); the cache keeps a SHA-256
manifest so a second install is offline, instant, and still verified. An artifact with a digest pinned
here (``PINNED_SHA256``) is checked against it as well — and is still installable from a repository
that serves the file without its checksum files (a partial mirror), since the pin is the stronger check.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hybrid.local_opensearch.errors import ArtifactError

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
CORE = ("org.opensearch.distribution.integ-test-zip", "opensearch")
KNN = ("org.opensearch.plugin", "opensearch-knn")
# TLS, users and roles for `hybrid opensearch start --secure`; fetched the first time one is asked for.
SECURITY = ("org.opensearch.plugin", "opensearch-security")
MODULES: dict[str, tuple[str, str]] = {
    "lang-painless": ("org.opensearch.plugin", "lang-painless"),
    "analysis-common": ("org.opensearch.plugin", "analysis-common"),
}
# Where the neural-search plugin zip would be; neither is on Central for 2.x (checked 2026-11).
NEURAL_SEARCH = (("org.opensearch.plugin", "opensearch-neural-search"), ("org.opensearch.plugin", "neural-search"))
NEURAL_SEARCH_NEEDS = (
    "neural-search extends opensearch-knn and needs ml-commons "
    "(org.opensearch.plugin:opensearch-ml-plugin, also not on Maven Central) at run time"
)
MANIFEST = "manifest.json"
# SHA-256 of artifacts, by Maven coordinate. The security plugin's was recorded from Maven Central on
# 2026-11-24, from a download whose plugin descriptor names version 2.19.1.0 for OpenSearch 2.19.1, at a
# time Central's mirror served that zip without its .sha1 (so Maven's strict check alone could not pass).
PINNED_SHA256 = {
    "org.opensearch.plugin:opensearch-security:2.19.1.0:zip":
        "94a04f12ac6033902209fac1e4e512618d45beee604bbf0e42c3ed79c55220cf",
}
NO_CHECKSUMS = "no checksums available"  # Maven's words when a repository has no checksum file for an artifact


@dataclass(frozen=True)
class ArtifactSet:
    """A verified set of downloaded artifacts for one OpenSearch version."""

    version: str
    root: Path

    @property
    def core_zip(self) -> Path:
        return self.root / f"opensearch-{self.version}.zip"

    @property
    def knn_zip(self) -> Path:
        return self.root / f"opensearch-knn-{self.version}.0.zip"

    @property
    def neural_search_zip(self) -> Path | None:
        path = self.root / f"opensearch-neural-search-{self.version}.0.zip"
        return path if path.is_file() else None

    @property
    def security_zip(self) -> Path | None:
        path = self.root / f"opensearch-security-{self.version}.0.zip"
        return path if path.is_file() else None

    def module_dir(self, name: str) -> Path:
        return self.root / "modules" / name


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _metadata_versions(group: str, artifact: str, repo_url: str) -> list[str]:
    url = f"{repo_url}/{group.replace('.', '/')}/{artifact}/maven-metadata.xml"
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            text = resp.read().decode()
    except (urllib.error.URLError, TimeoutError) as exc:
        raise ArtifactError(f"cannot read {url}: {exc}") from exc
    return re.findall(r"<version>([^<]+)</version>", text)


def newest_version(series: str = "2.19", repo_url: str = MAVEN_CENTRAL) -> str:
    """Newest ``series.x`` core release for which a matching k-NN plugin (``series.x.0``) is published.

    k-NN pins ``opensearch.version`` exactly, so the core version is bounded by the plugin's releases.
    """
    pattern = re.compile(rf"^{re.escape(series)}\.\d+$")
    core = [v for v in _metadata_versions(*CORE, repo_url) if pattern.match(v)]
    knn = set(_metadata_versions(*KNN, repo_url))
    usable = sorted((v for v in core if f"{v}.0" in knn), key=_version_key)
    if not usable:
        raise ArtifactError(
            f"no OpenSearch {series}.x release on {repo_url} has a matching k-NN plugin "
            f"(core: {sorted(core, key=_version_key)}, k-NN: {sorted(knn)})"
        )
    return usable[-1]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _recorded_digests(manifest: Path) -> dict[str, str] | None:
    """The manifest's ``{relative path: sha256}``, or None when it is unreadable (a damaged cache)."""
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))["sha256"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        return None
    if not isinstance(recorded, dict) or not recorded:
        return None
    return {str(k): str(v) for k, v in recorded.items()}


def cached(cache_root: Path, version: str) -> ArtifactSet | None:
    """The cached artifacts for ``version`` if the manifest is readable and every file matches its
    recorded SHA-256, else None (the caller downloads again)."""
    root = cache_root / version
    manifest = root / MANIFEST
    if not manifest.is_file():
        return None
    recorded = _recorded_digests(manifest)
    if recorded is None:
        return None
    for rel, digest in recorded.items():
        path = root / rel
        if not path.is_file() or _sha256(path) != digest:
            return None
    return ArtifactSet(version, root)


def cached_versions(cache_root: Path, series: str) -> list[str]:
    """Versions of ``series`` with a manifest in the cache, oldest first."""
    if not cache_root.is_dir():
        return []
    found = [p.name for p in cache_root.iterdir() if (p / MANIFEST).is_file() and p.name.startswith(series + ".")]
    return sorted(found, key=_version_key)


class Maven:
    """Runs Maven with a private local repository and strict checksum checking."""

    def __init__(self, local_repo: Path, executable: str = "mvn", *, timeout_s: float = 900.0) -> None:
        self.local_repo = local_repo
        self.timeout_s = timeout_s
        self.executable = shutil.which(executable) or ""
        if not self.executable:
            raise ArtifactError(
                "Maven (mvn) is not on PATH; install it (Debian: apt-get install maven) to download OpenSearch."
            )

    def _run(self, args: list[str], cwd: Path, what: str, *, strict: bool = True) -> subprocess.CompletedProcess[str]:
        checksums = ["-C"] if strict else []  # without -C Maven only warns about a missing checksum
        cmd = [self.executable, "-B", *checksums, "-ntp", f"-Dmaven.repo.local={self.local_repo}", *args]
        try:
            return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            raise ArtifactError(
                f"Maven did not finish fetching {what} within {self.timeout_s:g} s; check that Maven Central is "
                "reachable (or raise HYBRID_MAVEN_TIMEOUT_S) and run the install again"
            ) from None

    def copy(self, coordinate: str, dest: Path) -> None:
        """Download one artifact (``group:artifact:version:packaging``) into ``dest``; a pinned one is
        checked against its pin, and fetched without Maven's checksum check where the repository has none."""
        pin = PINNED_SHA256.get(coordinate)
        with tempfile.TemporaryDirectory() as tmp:
            args = [f"{DEPENDENCY_PLUGIN}:copy", f"-Dartifact={coordinate}", f"-DoutputDirectory={dest}"]
            proc = self._run(args, Path(tmp), coordinate)
            if proc.returncode != 0 and pin and NO_CHECKSUMS in proc.stdout:
                proc = self._run(args, Path(tmp), coordinate, strict=False)
        if proc.returncode != 0:
            raise ArtifactError(f"Maven could not fetch {coordinate}:\n{_maven_errors(proc.stdout)}")
        if pin:
            check_pin(dest / artifact_file(coordinate), pin)

    def copy_with_dependencies(self, coordinate: str, dest: Path) -> None:
        """Download a jar and its runtime dependencies into ``dest`` (via a throw-away pom)."""
        group, artifact, version = coordinate.split(":")[:3]
        pom = (
            '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
            "<groupId>local.hybrid</groupId><artifactId>fetch</artifactId><version>0</version>"
            "<packaging>pom</packaging><dependencies><dependency>"
            f"<groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version>"
            "</dependency></dependencies></project>"
        )
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "pom.xml").write_text(pom)
            proc = self._run(
                [f"{DEPENDENCY_PLUGIN}:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={dest}"],
                Path(tmp), coordinate,
            )
        if proc.returncode != 0:
            raise ArtifactError(f"Maven could not fetch {coordinate} and its dependencies:\n{_maven_errors(proc.stdout)}")


def artifact_file(coordinate: str) -> str:
    """The file name Maven copies ``group:artifact:version:packaging`` to."""
    _, artifact, version, packaging = coordinate.split(":")
    return f"{artifact}-{version}.{packaging}"


def check_pin(path: Path, expected_sha256: str) -> None:
    """Raise (and delete the file) unless ``path``'s SHA-256 is the pinned one."""
    actual = _sha256(path)
    if actual != expected_sha256:
        path.unlink(missing_ok=True)
        raise ArtifactError(f"{path.name} is not the pinned artifact: its SHA-256 is {actual}, "
                            f"expected {expected_sha256}; it was deleted (a corrupt download, or not the "
                            "file that was published)")


def _maven_errors(output: str) -> str:
    lines = [line for line in output.splitlines() if "[ERROR]" in line]
    return "\n".join(lines[:8]) or output[-2000:]


def _core_lib_jars(core_zip: Path) -> set[str]:
    with zipfile.ZipFile(core_zip) as zf:
        return {Path(n).name for n in zf.namelist() if "/lib/" in n and n.endswith(".jar")}


def download(cache_root: Path, version: str, maven: Maven) -> ArtifactSet:
    """Fetch every artifact for ``version`` into ``cache_root/version`` and write its manifest.

    Module directories keep only the jars that are not already in the core's ``lib/``
    (a jar on both class paths is "jar hell" and the node refuses to start).
    """
    root = cache_root / version
    staging = cache_root / f".{version}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    maven.copy(f"{CORE[0]}:{CORE[1]}:{version}:zip", staging)
    maven.copy(f"{KNN[0]}:{KNN[1]}:{version}.0:zip", staging)
    core_jars = _core_lib_jars(staging / f"opensearch-{version}.zip")
    for name, (group, artifact) in MODULES.items():
        resolved = staging / "resolved" / name
        maven.copy_with_dependencies(f"{group}:{artifact}:{version}", resolved)
        module = staging / "modules" / name
        module.mkdir(parents=True)
        for jar in sorted(resolved.glob("*.jar")):
            if jar.name not in core_jars:
                shutil.copy2(jar, module / jar.name)
    shutil.rmtree(staging / "resolved")
    _write_manifest(staging, version)
    shutil.rmtree(root, ignore_errors=True)
    staging.rename(root)
    return ArtifactSet(version, root)


def _write_manifest(root: Path, version: str) -> None:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = {"version": version, "sha256": {str(p.relative_to(root)): _sha256(p) for p in files}}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1))


def add_security(artifacts: ArtifactSet, maven: Maven) -> ArtifactSet:
    """Add the security plugin zip (same version as the core, ``.0`` suffix) to a cached set."""
    if artifacts.security_zip is None:
        maven.copy(f"{SECURITY[0]}:{SECURITY[1]}:{artifacts.version}.0:zip", artifacts.root)
        _write_manifest(artifacts.root, artifacts.version)
    return artifacts


def add_neural_search(artifacts: ArtifactSet, maven: Maven) -> ArtifactSet:
    """Try to add the neural-search plugin zip to a cached set; explain what it needs when it can't."""
    if artifacts.neural_search_zip is not None:
        return artifacts
    tried: list[str] = []
    for group, artifact in NEURAL_SEARCH:
        coordinate = f"{group}:{artifact}:{artifacts.version}.0:zip"
        try:
            maven.copy(coordinate, artifacts.root)
        except ArtifactError:
            tried.append(coordinate)
            continue
        fetched = artifacts.root / f"{artifact}-{artifacts.version}.0.zip"
        fetched.rename(artifacts.root / f"opensearch-neural-search-{artifacts.version}.0.zip")
        _write_manifest(artifacts.root, artifacts.version)
        return artifacts
    raise ArtifactError(
        f"--with-neural-search: the plugin is not on Maven Central (tried {', '.join(tried)}); "
        f"{NEURAL_SEARCH_NEEDS}. Use compose/docker-compose.yml (the official image bundles both) "
        "for server-side hybrid search; client-side fusion needs neither."
    )
