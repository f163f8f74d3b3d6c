"""Run OpenSearch node processes on 127.0.0.1, each in its own folder (config, data, logs).

A node is started alone (``discovery.type: single-node``) or as a member of a local cluster
(``cluster.py`` plans the ports and seeds); the manager reaches it through ``Access`` (plain HTTP, or
HTTPS with the instance's CA and admin credentials).

OpenSearch refuses to run as root; when the manager runs as root, the node runs as the
unprivileged `nobody` account (via util-linux `setpriv`) and owns only its instance folder.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from hybrid.local_opensearch.errors import ManagerError, NodeStartError
from hybrid.local_opensearch.java import JavaRuntime

UNPRIVILEGED_UID = 65534  # nobody
STATE = "instance.json"
MAX_HEAP_MB = 1024


@dataclass(frozen=True)
class NodeInfo:
    name: str
    pid: int
    http_port: int
    transport_port: int
    version: str
    folder: str
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.http_port}"


@dataclass(frozen=True)
class Access:
    """How the manager itself calls a node's REST API: nothing for a plain node; the instance's CA and
    its admin's password for a secured one."""

    ca_file: Path | None = None
    user: str | None = None
    password: str | None = None

    def get(self, url: str, timeout: float = 2.0) -> dict[str, object] | list[object]:
        """The JSON answer of a GET; raises ``urllib.error.URLError``/``OSError``/``ValueError`` on failure."""
        request = urllib.request.Request(url)
        if self.user is not None:
            token = base64.b64encode(f"{self.user}:{self.password or ''}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        context = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None
        with urllib.request.urlopen(request, timeout=timeout, context=context) as resp:
            return json.loads(resp.read())  # type: ignore[no-any-return]


PLAIN = Access()


@dataclass(frozen=True)
class Membership:
    """What a node of a multi-node cluster adds to its configuration; None for a node on its own."""

    cluster_name: str
    seeds: tuple[int, ...]  # transport ports of every node on 127.0.0.1
    initial_managers: tuple[str, ...]  # node names that bootstrap the first election

    def yml(self) -> str:
        seeds = ", ".join(f'"127.0.0.1:{port}"' for port in self.seeds)
        managers = ", ".join(f'"{name}"' for name in self.initial_managers)
        return (f"cluster.name: {self.cluster_name}\n"
                f"discovery.seed_hosts: [{seeds}]\n"
                f"cluster.initial_cluster_manager_nodes: [{managers}]\n")


@dataclass(frozen=True)
class NodeStatus:
    name: str
    running: bool
    info: NodeInfo | None = None
    health: str | None = None
    rss_bytes: int | None = None
    roles: str | None = None  # from _cat/nodes: "dimr" (cluster_manager, data, ingest, remote)


def port_is_free(port: int) -> bool:
    """True unless something listens on ``port``. Like the node's own socket, the probe sets
    SO_REUSEADDR, so connections of a just-stopped node lingering in TIME_WAIT do not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports on 127.0.0.1. The sockets stay bound until all are drawn: asked one at
    a time, the OS may hand the same port out twice, and a cluster whose HTTP port is another node's
    transport port never becomes healthy."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def cluster_health(url: str, timeout: float = 2.0, access: Access = PLAIN) -> dict[str, object] | None:
    """The node's ``/_cluster/health`` answer (``status`` green/yellow/red, ``number_of_nodes`` …), or
    None when it does not answer."""
    try:
        answer = access.get(f"{url}/_cluster/health", timeout=timeout)
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException):  # not (yet) an HTTP node
        return None
    return answer if isinstance(answer, dict) and "status" in answer else None


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _rss_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _log_tail(folder: Path, lines: int = 40) -> str:
    chunks: list[str] = []
    for log in (folder / "logs" / "stdout.log", folder / "logs" / "hybrid-node.log"):
        if log.is_file():
            text = log.read_text(errors="replace").splitlines()[-lines:]
            chunks.append(f"--- {log} (last {len(text)} lines)\n" + "\n".join(text))
    return "\n".join(chunks) or "(the node wrote no log)"


def check_name(name: str) -> str:
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise ManagerError(f"instance name {name!r}: use letters, digits, '-' and '_'")
    return name


class LocalNode:
    """One node: by default the single-node instance ``home/instances/NAME``; a cluster's nodes live in
    folders of their own under the cluster's."""

    def __init__(self, home: Path, name: str = "default", *, folder: Path | None = None,
                 access: Access = PLAIN) -> None:
        self.name = check_name(name)
        self.folder = folder or home / "instances" / name
        self.access = access
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def state_file(self) -> Path:
        return self.folder / STATE

    def info(self) -> NodeInfo | None:
        if not self.state_file.is_file():
            return None
        return NodeInfo(**json.loads(self.state_file.read_text()))

    def status(self) -> NodeStatus:
        info = self.info()
        if info is None or not _pid_alive(info.pid):
            return NodeStatus(self.name, running=False, info=info)
        health = cluster_health(info.url, access=self.access)
        return NodeStatus(self.name, True, info, str(health["status"]) if health else None, _rss_bytes(info.pid))

    @property
    def config_dir(self) -> Path:
        return self.folder / "config"

    def _write_config(self, dist: Path, http_port: int, transport_port: int, heap_mb: int,
                      membership: Membership | None, extra: str) -> Path:
        config = self.config_dir
        config.mkdir(parents=True, exist_ok=True)
        for sub in ("data", "logs", "tmp"):
            (self.folder / sub).mkdir(exist_ok=True)
        shutil.copy2(dist / "config" / "log4j2.properties", config / "log4j2.properties")
        joining = membership.yml() if membership else "cluster.name: hybrid-node\ndiscovery.type: single-node\n"
        (config / "opensearch.yml").write_text(
            f"node.name: {self.name}\n"
            "network.host: 127.0.0.1\n"
            f"http.port: {http_port}\n"
            f"transport.port: {transport_port}\n"
            f"{joining}"
            f"path.data: {self.folder / 'data'}\n"
            f"path.logs: {self.folder / 'logs'}\n"
            # A laptop disk at 90 % must not turn every new index read-only.
            "cluster.routing.allocation.disk.threshold_enabled: false\n"
            "action.auto_create_index: false\n"
            f"{extra}"
        )
        logs = self.folder / "logs"
        (config / "jvm.options").write_text(
            f"-Xms{heap_mb}m\n-Xmx{heap_mb}m\n-XX:+UseG1GC\n"
            "-Djava.io.tmpdir=${OPENSEARCH_TMPDIR}\n"
            f"-XX:HeapDumpPath={self.folder / 'data'}\n-XX:ErrorFile={logs}/hs_err_pid%p.log\n"
            f"-Xlog:gc*:file={logs}/gc.log:utctime,pid,tags:filecount=4,filesize=16m\n"
            "18-:-Djava.security.manager=allow\n"
            "20-:--add-modules=jdk.incubator.vector\n"
            "-Djava.util.concurrent.ForkJoinPool.common.threadFactory="
            "org.opensearch.secure_sm.SecuredForkJoinWorkerThreadFactory\n"
        )
        return config

    def launch(self, dist: Path, version: str, java: JavaRuntime, *, http_port: int, transport_port: int,
               heap_mb: int, membership: Membership | None = None, extra: str = "", scheme: str = "http") -> NodeInfo:
        """Write the node's configuration and start its process; returns at once (``wait_healthy`` waits).

        ``extra`` is appended to ``opensearch.yml`` (the security plugin's settings of a secured node).
        """
        if not 64 <= heap_mb <= MAX_HEAP_MB:
            raise ManagerError(f"heap {heap_mb} MiB: choose 64..{MAX_HEAP_MB} MiB")
        shutil.rmtree(self.folder / "logs", ignore_errors=True)
        config = self._write_config(dist, http_port, transport_port, heap_mb, membership, extra)
        env = {
            **os.environ,
            "OPENSEARCH_PATH_CONF": str(config),
            "OPENSEARCH_JAVA_HOME": str(java.home),
            "OPENSEARCH_TMPDIR": str(self.folder / "tmp"),
        }
        env.pop("OPENSEARCH_JAVA_OPTS", None)
        cmd = [str(dist / "bin" / "opensearch")]
        if os.geteuid() == 0:
            _chown_tree(self.folder, UNPRIVILEGED_UID)
            cmd = ["setpriv", f"--reuid={UNPRIVILEGED_UID}", f"--regid={UNPRIVILEGED_UID}", "--clear-groups", "--", *cmd]
        stdout = (self.folder / "logs" / "stdout.log").open("wb")
        self._process = subprocess.Popen(
            cmd, cwd=self.folder, env=env, stdout=stdout, stderr=subprocess.STDOUT, start_new_session=True
        )
        stdout.close()
        info = NodeInfo(self.name, self._process.pid, http_port, transport_port, version, str(self.folder), scheme)
        self.state_file.write_text(json.dumps(asdict(info)))
        return info

    def wait_healthy(self, info: NodeInfo, timeout_s: float, nodes: int = 1) -> None:
        """Wait until the node answers with health green or yellow in a cluster of ``nodes`` nodes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                self.state_file.unlink(missing_ok=True)
                raise NodeStartError(
                    f"OpenSearch exited with code {self._process.returncode} while starting.\n{_log_tail(self.folder)}"
                )
            health = cluster_health(info.url, access=self.access)
            if health and health["status"] in ("green", "yellow") and int(health["number_of_nodes"]) >= nodes:  # type: ignore[call-overload]
                return
            time.sleep(0.5)
        self.stop()
        raise NodeStartError(f"OpenSearch was not healthy after {timeout_s:.0f}s; stopped it.\n{_log_tail(self.folder)}")

    def stop(self, timeout_s: float = 30.0, *, kill: bool = False) -> bool:
        """Shut the node down (SIGTERM, then SIGKILL after ``timeout_s``; ``kill``: SIGKILL at once, as a
        crash would). False if it was not running."""
        info = self.info()
        if info is None or not _pid_alive(info.pid):
            self.state_file.unlink(missing_ok=True)
            return False
        os.killpg(info.pid, signal.SIGKILL if kill else signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _pid_alive(info.pid) and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.2)
        if _pid_alive(info.pid):
            os.killpg(info.pid, signal.SIGKILL)
            time.sleep(0.5)
        self._reap()
        self.state_file.unlink(missing_ok=True)
        return True

    def purge(self) -> None:
        """Stop the instance and delete its folder (config, data, logs)."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _reap(self) -> None:
        # The process that started the node is its parent; reap it so it does not linger as a zombie.
        if self._process is not None:
            self._process.poll()


# Client-side secrets of a secured instance (passwords, CA and client keys): the user's, never the node's.
PRIVATE = "credentials"


def _chown_tree(root: Path, uid: int) -> None:
    for path in [root, *root.rglob("*")]:
        if PRIVATE not in path.relative_to(root).parts:
            os.chown(path, uid, uid, follow_symlinks=False)
