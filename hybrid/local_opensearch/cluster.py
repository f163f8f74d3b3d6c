"""A named local instance: one node, or a cluster of up to three on 127.0.0.1, plain or secured.

Layout under ``home/instances/NAME``: ``cluster.json`` (node names, ports, secured or not); a single
node lives in that folder itself (as it always has), the nodes of a cluster in ``nodes/NAME-i``; a
secured instance's client-side secrets in ``credentials/``. A whole cluster starts with fresh ports
each time; one node stopped on its own restarts on its recorded ports (the others seed from them).
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
from dataclasses import asdict, dataclass
from pathlib import Path

from hybrid.local_opensearch import security
from hybrid.local_opensearch.assemble import SECURITY_DEFAULTS
from hybrid.local_opensearch.errors import ManagerError, PortInUseError
from hybrid.local_opensearch.java import JavaRuntime
from hybrid.local_opensearch.node import (
    PLAIN,
    Access,
    LocalNode,
    Membership,
    NodeInfo,
    NodeStatus,
    check_name,
    free_ports,
    port_is_free,
)

STATE = "cluster.json"
MAX_NODES = 3
PORT_RELEASE_S = 20.0


@dataclass(frozen=True)
class ClusterSpec:
    nodes: tuple[str, ...]
    http_ports: tuple[int, ...]
    transport_ports: tuple[int, ...]
    heap_mb: int
    secure: bool
    version: str


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    nodes: tuple[NodeStatus, ...]
    health: str | None  # the cluster's, as a running node reports it
    secure: bool

    @property
    def running(self) -> bool:
        return any(n.running for n in self.nodes)

    @property
    def urls(self) -> list[str]:
        return [n.info.url for n in self.nodes if n.running and n.info is not None]


class LocalCluster:
    def __init__(self, home: Path, name: str) -> None:
        self.home = home
        self.name = check_name(name)
        self.folder = home / "instances" / name

    # --- what the instance is -------------------------------------------------------------------------
    def spec(self) -> ClusterSpec | None:
        path = self.folder / STATE
        if not path.is_file():
            return None
        raw = json.loads(path.read_text())
        return ClusterSpec(tuple(raw["nodes"]), tuple(raw["http_ports"]), tuple(raw["transport_ports"]),
                           int(raw["heap_mb"]), bool(raw["secure"]), str(raw["version"]))

    def _save(self, spec: ClusterSpec) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / STATE).write_text(json.dumps(asdict(spec)))

    @property
    def secure(self) -> bool:
        return security.is_secured(self.folder)

    def credentials(self) -> security.Credentials:
        if not self.secure:
            raise ManagerError(f"instance '{self.name}' is not secured (start it with --secure)")
        return security.Credentials.load(self.folder / security.PRIVATE)

    def access(self) -> Access:
        return self.credentials().admin_access if self.secure else PLAIN

    def node_names(self) -> tuple[str, ...]:
        spec = self.spec()
        return spec.nodes if spec else (self.name,)

    def node(self, node_name: str) -> LocalNode:
        names = self.node_names()
        if node_name not in names:
            raise ManagerError(f"instance '{self.name}' has no node {node_name!r} (its nodes: {', '.join(names)})")
        folder = self.folder if names == (self.name,) else self.folder / "nodes" / node_name
        return LocalNode(self.home, node_name, folder=folder, access=self.access())

    # --- running it -----------------------------------------------------------------------------------
    def start(self, dist: Path, version: str, java: JavaRuntime, *, nodes: int = 1, secure: bool = False,
              port: int | None = None, heap_mb: int = 512, timeout_s: float = 120.0,
              index_patterns: tuple[str, ...] = ("*",)) -> list[NodeInfo]:
        """Start every node (fresh ports; ``port`` for the first node's HTTP) and wait until the cluster
        has them all and is green or yellow. A running instance is returned as it is."""
        if not 1 <= nodes <= MAX_NODES:
            raise ManagerError(f"--nodes {nodes}: choose 1..{MAX_NODES} on one machine")
        existing = self.spec()
        if existing is not None and (len(existing.nodes) != nodes or existing.secure != secure):
            raise ManagerError(
                f"instance '{self.name}' was made with {len(existing.nodes)} node(s), "
                f"{'secured' if existing.secure else 'not secured'}; start it that way, or "
                f"`hybrid opensearch stop --name {self.name} --purge` it first")
        status = self.status()
        if status.running:
            return [n.info for n in status.nodes if n.info is not None and n.running]
        if port is not None and not port_is_free(port):
            raise PortInUseError(f"port {port} on 127.0.0.1 is already in use; pick another with --port or omit it")
        names = (self.name,) if nodes == 1 else tuple(f"{self.name}-{i}" for i in range(1, nodes + 1))
        drawn = [p for p in free_ports(2 * len(names) + 1) if p != port][: 2 * len(names)]
        http = tuple([port if port is not None else drawn[0]] + drawn[1 : len(names)])
        spec = ClusterSpec(names, http, tuple(drawn[len(names):]), heap_mb, secure, version)
        self._save(spec)
        secured = self._secured(spec, dist, index_patterns) if secure else None
        launched = [self._launch(spec, i, dist, java, secured) for i in range(len(names))]
        try:
            for info in launched:
                self.node(info.name).wait_healthy(info, timeout_s, nodes=len(names))
        except Exception:  # a cluster that did not come up is not left running
            self.stop()
            raise
        return launched

    def _secured(self, spec: ClusterSpec, dist: Path, index_patterns: tuple[str, ...]) -> security.SecuredInstance:
        if security.is_secured(self.folder):
            return security.load(self.folder)
        secured = security.create(self.folder, index_patterns)
        defaults = dist / SECURITY_DEFAULTS
        for name in spec.nodes:
            security.write_security_config(secured, defaults, self.node(name).config_dir)
        return secured

    def _launch(self, spec: ClusterSpec, i: int, dist: Path, java: JavaRuntime,
                secured: security.SecuredInstance | None) -> NodeInfo:
        membership = None
        if len(spec.nodes) > 1:
            membership = Membership(f"hybrid-{self.name}", spec.transport_ports, spec.nodes)
        extra = security.opensearch_yml(secured) if secured else ""
        return self.node(spec.nodes[i]).launch(
            dist, spec.version, java, http_port=spec.http_ports[i], transport_port=spec.transport_ports[i],
            heap_mb=spec.heap_mb, membership=membership, extra=extra, scheme="https" if spec.secure else "http")

    def start_node(self, node_name: str, dist: Path, java: JavaRuntime, *, timeout_s: float = 120.0) -> NodeInfo:
        """Start one stopped node of the cluster again on its recorded ports; it rejoins the others."""
        spec = self.spec()
        if spec is None:
            raise ManagerError(f"instance '{self.name}' has never been started")
        node = self.node(node_name)
        status = node.status()
        if status.running and status.info is not None:
            return status.info
        i = spec.nodes.index(node_name)
        ports = (spec.http_ports[i], spec.transport_ports[i])
        # A node just killed may hold its sockets a moment longer than its launcher process lives.
        deadline = time.monotonic() + PORT_RELEASE_S
        while not all(port_is_free(p) for p in ports) and time.monotonic() < deadline:
            time.sleep(0.2)
        for port in ports:
            if not port_is_free(port):
                raise PortInUseError(f"port {port} of node {node_name} is taken; stop the whole instance and start it again")
        secured = security.load(self.folder) if spec.secure else None
        info = self._launch(spec, i, dist, java, secured)
        node.wait_healthy(info, timeout_s, nodes=1)
        return info

    def stop_node(self, node_name: str, *, kill: bool = False) -> bool:
        return self.node(node_name).stop(kill=kill)

    def stop(self) -> bool:
        """Stop every node; True if any was running."""
        return any([self.node(name).stop() for name in self.node_names()])

    def purge(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def status(self) -> ClusterStatus:
        access = self.access() if self.folder.is_dir() else PLAIN
        nodes = [self.node(name).status() for name in self.node_names()]
        running = [n for n in nodes if n.running and n.info is not None]
        health = next((n.health for n in running if n.health), None)
        roles = _roles(running[0].info.url, access) if running else {}  # type: ignore[union-attr]
        nodes = [NodeStatus(n.name, n.running, n.info, n.health, n.rss_bytes, roles.get(n.name)) for n in nodes]
        return ClusterStatus(self.name, tuple(nodes), health, self.secure)


def _roles(url: str, access: Access) -> dict[str, str]:
    """Each node's role letters as ``_cat/nodes`` gives them (d data, m cluster manager, i ingest, r remote)."""
    try:
        rows = access.get(f"{url}/_cat/nodes?format=json&h=name,node.role")
    except (urllib.error.URLError, OSError, ValueError):
        return {}
    return {str(r["name"]): str(r["node.role"]) for r in rows if isinstance(r, dict)}
