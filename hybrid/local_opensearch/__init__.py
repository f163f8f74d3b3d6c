"""Local OpenSearch manager: install a 2.19 node with k-NN from Maven Central and run instances of it.

Usable from Python (tests, notebooks) and through ``hybrid opensearch ...``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hybrid.local_opensearch.artifacts import (
    MANIFEST,
    MAVEN_CENTRAL,
    Maven,
    add_neural_search,
    add_security,
    cached,
    cached_versions,
    download,
    newest_version,
)
from hybrid.local_opensearch.assemble import assemble
from hybrid.local_opensearch.cluster import MAX_NODES, ClusterStatus, LocalCluster
from hybrid.local_opensearch.errors import (
    ArtifactError,
    JavaNotFoundError,
    ManagerError,
    NodeStartError,
    NotInstalledError,
    PortInUseError,
)
from hybrid.local_opensearch.java import JavaRuntime, find_java
from hybrid.local_opensearch.node import LocalNode, NodeInfo, NodeStatus

if TYPE_CHECKING:
    from hybrid.settings import Settings

__all__ = [
    "MAX_NODES",
    "ArtifactError",
    "ClusterStatus",
    "LocalCluster",
    "Installation",
    "JavaNotFoundError",
    "JavaRuntime",
    "LocalNode",
    "Manager",
    "ManagerError",
    "NodeInfo",
    "NodeStartError",
    "NodeStatus",
    "NotInstalledError",
    "PortInUseError",
    "default_home",
    "find_java",
    "manager_for",
]


def default_home(cache_dir: Path) -> Path:
    """Where distributions and instances live.

    Under the user's cache for normal users; as root, a world-traversable folder, because the node
    then runs as ``nobody`` and could not enter ``/root``.
    """
    return Path("/var/lib/hybrid/opensearch") if os.geteuid() == 0 else cache_dir / "opensearch"


@dataclass(frozen=True)
class Installation:
    version: str
    dist: Path
    downloaded: bool
    neural_search: bool


class Manager:
    """Installs distributions under ``home`` from artifacts cached under ``cache_dir``."""

    def __init__(
        self, cache_dir: Path, home: Path | None = None, *, series: str = "2.19", repo_url: str = MAVEN_CENTRAL,
        maven_timeout_s: float = 900.0,
    ) -> None:
        self.artifacts_root = cache_dir / "opensearch" / "artifacts"
        self.maven_repo = cache_dir / "opensearch" / "m2"
        self.home = home or default_home(cache_dir)
        self.series = series
        self.repo_url = repo_url
        self.maven_timeout_s = maven_timeout_s

    def install(
        self, version: str | None = None, *, refresh: bool = False, with_neural_search: bool = False
    ) -> Installation:
        """Download (or reuse the verified cache) and assemble a distribution; make it the current one.

        Without ``version``, the newest cached release of the series is reused offline; ``refresh``
        (or an empty cache) asks Maven Central for the newest release that has a matching k-NN plugin.
        """
        if version is None:
            local = cached_versions(self.artifacts_root, self.series)
            version = local[-1] if local and not refresh else newest_version(self.series, self.repo_url)
        artifacts = cached(self.artifacts_root, version)
        downloaded = artifacts is None
        if artifacts is None:
            # A cache entry that exists but failed verification (damaged manifest or file) is fetched again.
            damaged = (self.artifacts_root / version / MANIFEST).is_file()
            try:
                artifacts = download(self.artifacts_root, version, self._maven())
            except ArtifactError as exc:
                if damaged:
                    raise ArtifactError(f"the cached OpenSearch {version} failed verification and fetching it again "
                                        f"failed: {exc}") from exc
                raise
        if with_neural_search:
            artifacts = add_neural_search(artifacts, self._maven())
        dist = assemble(artifacts, self.home / "dist" / f"opensearch-{version}")
        (self.home / "current").write_text(version)
        return Installation(version, dist, downloaded, artifacts.neural_search_zip is not None)

    def _maven(self) -> Maven:
        return Maven(self.maven_repo, timeout_s=self.maven_timeout_s)

    def installed(self) -> Installation:
        current = self.home / "current"
        if not current.is_file():
            raise NotInstalledError("OpenSearch is not installed yet: run `hybrid opensearch install` first.")
        version = current.read_text().strip()
        dist = self.home / "dist" / f"opensearch-{version}"
        if not (dist / "bin" / "opensearch").is_file():
            raise NotInstalledError(f"the installed distribution {dist} is missing: run `hybrid opensearch install`.")
        return Installation(version, dist, False, (dist / "plugins" / "opensearch-neural-search").is_dir())

    def secured_dist(self) -> Path:
        """The installed version assembled with the security plugin (fetched from Maven Central once)."""
        installation = self.installed()
        artifacts = cached(self.artifacts_root, installation.version)
        if artifacts is None:
            raise NotInstalledError("the cached OpenSearch artifacts are missing or damaged: run "
                                    "`hybrid opensearch install` again")
        artifacts = add_security(artifacts, self._maven())
        return assemble(artifacts, self.home / "dist" / f"opensearch-{installation.version}-secure", security=True)

    def cluster(self, name: str = "default") -> LocalCluster:
        return LocalCluster(self.home, name)

    def node(self, name: str = "default") -> LocalNode:
        """The node of a single-node instance."""
        return self.cluster(name).node(name)

    def start(
        self,
        name: str = "default",
        *,
        port: int | None = None,
        heap_mb: int = 512,
        java_home: Path | None = None,
        timeout_s: float = 120.0,
    ) -> NodeInfo:
        """Start a single-node, unsecured instance."""
        return self.start_cluster(name, port=port, heap_mb=heap_mb, java_home=java_home, timeout_s=timeout_s)[0]

    def start_cluster(
        self,
        name: str = "default",
        *,
        nodes: int = 1,
        secure: bool = False,
        port: int | None = None,
        heap_mb: int = 512,
        java_home: Path | None = None,
        timeout_s: float = 120.0,
    ) -> list[NodeInfo]:
        """Start an instance of ``nodes`` nodes, with TLS, users and roles when ``secure``."""
        installation = self.installed()
        java = find_java(java_home)
        dist = self.secured_dist() if secure else installation.dist
        return self.cluster(name).start(dist, installation.version, java, nodes=nodes, secure=secure, port=port,
                                        heap_mb=heap_mb, timeout_s=timeout_s)

    def start_node(self, name: str, node: str, *, java_home: Path | None = None, timeout_s: float = 120.0) -> NodeInfo:
        """Start one stopped node of instance ``name`` again."""
        cluster = self.cluster(name)
        dist = self.secured_dist() if cluster.secure else self.installed().dist
        return cluster.start_node(node, dist, find_java(java_home), timeout_s=timeout_s)


def manager_for(settings: Settings) -> Manager:
    """The manager the settings describe (cache, home, Maven repository)."""
    return Manager(settings.cache_dir, settings.opensearch_home, repo_url=settings.maven_repo_url,
                   maven_timeout_s=settings.maven_timeout_s)
