"""Run single-node OpenSearch instances on 127.0.0.1, each in its own folder (config, data, logs).

OpenSearch refuses to run as root; when the manager runs as root, the node runs as the
unprivileged `nobody` account (via util-linux `setpriv`) and owns only its instance folder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from hybrid.local_opensearch.errors import ManagerError, NodeStartError, PortInUseError
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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


@dataclass(frozen=True)
class NodeStatus:
    name: str
    running: bool
    info: NodeInfo | None = None
    health: str | None = None
    rss_bytes: int | None = None


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
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cluster_health(url: str, timeout: float = 2.0) -> str | None:
    """``green``/``yellow``/``red`` from ``/_cluster/health``, or None when the node does not answer."""
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=timeout) as resp:
            return str(json.loads(resp.read())["status"])
    except (urllib.error.URLError, OSError, ValueError, KeyError):
        return None


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


class LocalNode:
    """One named instance under ``home/instances/NAME``."""

    def __init__(self, home: Path, name: str = "default") -> None:
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            raise ManagerError(f"instance name {name!r}: use letters, digits, '-' and '_'")
        self.name = name
        self.folder = home / "instances" / name
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
        return NodeStatus(self.name, True, info, cluster_health(info.url), _rss_bytes(info.pid))

    def _write_config(self, dist: Path, http_port: int, transport_port: int, heap_mb: int) -> Path:
        config = self.folder / "config"
        config.mkdir(parents=True, exist_ok=True)
        for sub in ("data", "logs", "tmp"):
            (self.folder / sub).mkdir(exist_ok=True)
        shutil.copy2(dist / "config" / "log4j2.properties", config / "log4j2.properties")
        (config / "opensearch.yml").write_text(
            "cluster.name: hybrid-node\n"
            f"node.name: {self.name}\n"
            "network.host: 127.0.0.1\n"
            f"http.port: {http_port}\n"
            f"transport.port: {transport_port}\n"
            "discovery.type: single-node\n"
            f"path.data: {self.folder / 'data'}\n"
            f"path.logs: {self.folder / 'logs'}\n"
            # A laptop disk at 90 % must not turn every new index read-only.
            "cluster.routing.allocation.disk.threshold_enabled: false\n"
            "action.auto_create_index: false\n"
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

    def start(
        self,
        dist: Path,
        version: str,
        java: JavaRuntime,
        *,
        port: int | None = None,
        heap_mb: int = 512,
        timeout_s: float = 120.0,
    ) -> NodeInfo:
        """Start the node and wait until its cluster health is green or yellow.

        Raises:
            PortInUseError: ``port`` is bound by something else.
            NodeStartError: the node exited, or was not healthy within ``timeout_s`` (log tail included).
        """
        status = self.status()
        if status.running and status.info is not None:
            return status.info
        if not 64 <= heap_mb <= MAX_HEAP_MB:
            raise ManagerError(f"heap {heap_mb} MiB: choose 64..{MAX_HEAP_MB} MiB")
        if port is not None and not port_is_free(port):
            raise PortInUseError(f"port {port} on 127.0.0.1 is already in use; pick another with --port or omit it")
        http_port = port if port is not None else free_port()
        transport_port = free_port()
        shutil.rmtree(self.folder / "logs", ignore_errors=True)
        config = self._write_config(dist, http_port, transport_port, heap_mb)
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
        info = NodeInfo(self.name, self._process.pid, http_port, transport_port, version, str(self.folder))
        self.state_file.write_text(json.dumps(asdict(info)))
        self._wait_healthy(info, timeout_s)
        return info

    def _wait_healthy(self, info: NodeInfo, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                self.state_file.unlink(missing_ok=True)
                raise NodeStartError(
                    f"OpenSearch exited with code {self._process.returncode} while starting.\n{_log_tail(self.folder)}"
                )
            if cluster_health(info.url) in ("green", "yellow"):
                return
            time.sleep(0.5)
        self.stop()
        raise NodeStartError(f"OpenSearch was not healthy after {timeout_s:.0f}s; stopped it.\n{_log_tail(self.folder)}")

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Shut the node down (SIGTERM, then SIGKILL after ``timeout_s``). False if it was not running."""
        info = self.info()
        if info is None or not _pid_alive(info.pid):
            self.state_file.unlink(missing_ok=True)
            return False
        os.killpg(info.pid, signal.SIGTERM)
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


def _chown_tree(root: Path, uid: int) -> None:
    for path in [root, *root.rglob("*")]:
        os.chown(path, uid, uid, follow_symlinks=False)
