"""``hybrid opensearch install|start|stop|status``: the local node manager from the shell."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hybrid.cli.errors import NOT_FOUND, OK

if TYPE_CHECKING:
    from hybrid.local_opensearch import Manager


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "opensearch",
        help="install and run a local OpenSearch 2.19 node with k-NN",
        description="Install OpenSearch 2.19 + k-NN from Maven Central and run local single-node instances.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    install = actions.add_parser("install", help="download (or reuse the cache) and assemble the distribution")
    install.add_argument("--version", help="exact version, e.g. 2.19.1 (default: newest 2.19 with a k-NN release)")
    install.add_argument("--refresh", action="store_true", help="ask Maven Central for the newest release again")
    install.add_argument("--with-neural-search", action="store_true", help="also install the neural-search plugin")
    install.set_defaults(handler=_install)

    start = actions.add_parser("start", help="start an instance and wait until it is healthy")
    start.add_argument("--name", default="default", help="instance name (several can run side by side)")
    start.add_argument("--nodes", type=int, default=1, help="nodes in the instance's cluster (1..3, default 1)")
    start.add_argument("--secure", action="store_true",
                       help="TLS on HTTP and transport, users admin/writer/reader with generated passwords")
    start.add_argument("--node", help="start only this stopped node of the instance again (e.g. NAME-2)")
    start.add_argument("--port", type=int, help="HTTP port on 127.0.0.1 (default: a free one)")
    start.add_argument("--heap-mb", type=int, default=512, help="JVM heap in MiB (64..1024, default 512)")
    start.add_argument("--java-home", type=Path, help="JDK to use (default: search for Java 11/17/21)")
    start.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for health (default 120)")
    start.set_defaults(handler=_start)

    stop = actions.add_parser("stop", help="shut an instance down")
    stop.add_argument("--name", default="default")
    stop.add_argument("--node", help="stop only this node of the instance")
    stop.add_argument("--kill", action="store_true", help="with --node: SIGKILL, as a crash would")
    stop.add_argument("--purge", action="store_true", help="also delete the instance's data and logs")
    stop.set_defaults(handler=_stop)

    status = actions.add_parser("status", help="is the instance running, where, how healthy, how big")
    status.add_argument("--name", default="default")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=_status)

    url = actions.add_parser("url", help="print the instance's URLs, comma-separated (for HYBRID_OPENSEARCH_URL)")
    url.add_argument("--name", default="default")
    url.set_defaults(handler=_url)

    env = actions.add_parser("env", help="print shell exports that point hybrid at the instance as a user")
    env.add_argument("--name", default="default")
    env.add_argument("--user", choices=("admin", "writer", "reader"), default="writer",
                     help="secured instances: whose credentials (default writer)")
    env.set_defaults(handler=_env)


def _manager(args: argparse.Namespace) -> Manager:
    from hybrid.local_opensearch import manager_for
    from hybrid.settings import load_settings

    return manager_for(load_settings(Path(args.config) if args.config else None))


def _install(args: argparse.Namespace) -> int:
    started = time.monotonic()
    inst = _manager(args).install(args.version, refresh=args.refresh, with_neural_search=args.with_neural_search)
    source = "downloaded from Maven Central" if inst.downloaded else "from the verified cache"
    print(f"OpenSearch {inst.version} with k-NN {inst.version}.0 ({source}) at {inst.dist} "
          f"in {time.monotonic() - started:.1f}s")
    return 0


def _start(args: argparse.Namespace) -> int:
    started = time.monotonic()
    manager = _manager(args)
    if args.node:
        info = manager.start_node(args.name, args.node, java_home=args.java_home, timeout_s=args.timeout)
        print(f"node '{info.name}' of '{args.name}' running again at {info.url} (pid {info.pid}, "
              f"{time.monotonic() - started:.1f}s)")
        return 0
    infos = manager.start_cluster(args.name, nodes=args.nodes, secure=args.secure, port=args.port,
                                  heap_mb=args.heap_mb, java_home=args.java_home, timeout_s=args.timeout)
    where = ", ".join(i.url for i in infos)
    kind = f"{len(infos)} nodes" if len(infos) > 1 else f"pid {infos[0].pid}"
    print(f"OpenSearch {infos[0].version} '{args.name}' running at {where} ({kind}, "
          f"{time.monotonic() - started:.1f}s)")
    if manager.cluster(args.name).secure:
        print(f"secured: TLS with its own CA; users admin, writer, reader. "
              f"`eval \"$(hybrid opensearch env --name {args.name} --user writer)\"` points hybrid at it")
    return 0


def _stop(args: argparse.Namespace) -> int:
    cluster = _manager(args).cluster(args.name)
    if args.node:
        stopped = cluster.stop_node(args.node, kill=args.kill)
        print(f"node '{args.node}' {('killed' if args.kill else 'stopped') if stopped else 'was not running'}")
        return 0
    stopped = cluster.stop()
    if args.purge:
        cluster.purge()
    print(f"instance '{args.name}' {'stopped' if stopped else 'was not running'}{' and purged' if args.purge else ''}")
    return 0


def _status(args: argparse.Namespace) -> int:
    status = _manager(args).cluster(args.name).status()
    if args.json:
        print(json.dumps({
            "name": status.name, "running": status.running, "health": status.health, "secure": status.secure,
            "url": status.urls[0] if status.urls else None, "urls": status.urls,
            "nodes": [{"name": n.name, "running": n.running, "url": n.info.url if n.info and n.running else None,
                       "pid": n.info.pid if n.info and n.running else None, "roles": n.roles,
                       "rss_bytes": n.rss_bytes, "version": n.info.version if n.info else None}
                      for n in status.nodes],
        }))
        return OK if status.running else NOT_FOUND
    if not status.running:
        print(f"instance '{status.name}': stopped")
        return NOT_FOUND
    secured = ", secured" if status.secure else ""
    print(f"instance '{status.name}': health {status.health or 'not answering'}, "
          f"{sum(n.running for n in status.nodes)}/{len(status.nodes)} nodes running{secured}")
    for n in status.nodes:
        if n.running and n.info is not None:
            rss = f"{n.rss_bytes / 2**20:.0f} MiB" if n.rss_bytes else "?"
            print(f"  {n.name}: running at {n.info.url}, pid {n.info.pid}, roles {n.roles or '?'}, RSS {rss}, "
                  f"OpenSearch {n.info.version}")
        else:
            print(f"  {n.name}: stopped")
    return OK


def _running_urls(args: argparse.Namespace) -> list[str] | None:
    status = _manager(args).cluster(args.name).status()
    if not status.running:
        print(f"error: instance '{args.name}' is not running", file=sys.stderr)
        return None
    return status.urls


def _url(args: argparse.Namespace) -> int:
    urls = _running_urls(args)
    if urls is None:
        return NOT_FOUND
    print(",".join(urls))
    if _manager(args).cluster(args.name).secure:
        print(f"secured: authenticate as a user; `hybrid opensearch env --name {args.name} --user writer|reader` "
              "prints the settings", file=sys.stderr)
    return 0


def _env(args: argparse.Namespace) -> int:
    """``export`` lines for a POSIX shell; the password is quoted, never interpreted."""
    import shlex

    urls = _running_urls(args)
    if urls is None:
        return NOT_FOUND
    cluster = _manager(args).cluster(args.name)
    exports = {"HYBRID_OPENSEARCH_URL": ",".join(urls)}
    if cluster.secure:
        credentials = cluster.credentials()
        exports.update(HYBRID_OPENSEARCH_USER=args.user, HYBRID_OPENSEARCH_PASSWORD=credentials.passwords[args.user],
                       HYBRID_OPENSEARCH_CA_CERTS=str(credentials.ca))
    for key, value in exports.items():
        print(f"export {key}={shlex.quote(value)}")
    return 0
