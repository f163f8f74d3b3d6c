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
    start.add_argument("--port", type=int, help="HTTP port on 127.0.0.1 (default: a free one)")
    start.add_argument("--heap-mb", type=int, default=512, help="JVM heap in MiB (64..1024, default 512)")
    start.add_argument("--java-home", type=Path, help="JDK to use (default: search for Java 11/17/21)")
    start.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for health (default 120)")
    start.set_defaults(handler=_start)

    stop = actions.add_parser("stop", help="shut an instance down")
    stop.add_argument("--name", default="default")
    stop.add_argument("--purge", action="store_true", help="also delete the instance's data and logs")
    stop.set_defaults(handler=_stop)

    status = actions.add_parser("status", help="is the instance running, where, how healthy, how big")
    status.add_argument("--name", default="default")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=_status)

    url = actions.add_parser("url", help="print the instance's URL (for HYBRID_OPENSEARCH_URL)")
    url.add_argument("--name", default="default")
    url.set_defaults(handler=_url)


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
    info = _manager(args).start(args.name, port=args.port, heap_mb=args.heap_mb, java_home=args.java_home,
                                timeout_s=args.timeout)
    print(f"OpenSearch {info.version} '{info.name}' running at {info.url} (pid {info.pid}, "
          f"{time.monotonic() - started:.1f}s)")
    return 0


def _stop(args: argparse.Namespace) -> int:
    node = _manager(args).node(args.name)
    stopped = node.stop()
    if args.purge:
        node.purge()
    print(f"instance '{args.name}' {'stopped' if stopped else 'was not running'}{' and purged' if args.purge else ''}")
    return 0


def _status(args: argparse.Namespace) -> int:
    status = _manager(args).node(args.name).status()
    if args.json:
        info = status.info
        print(json.dumps({
            "name": status.name, "running": status.running, "url": info.url if info and status.running else None,
            "pid": info.pid if info and status.running else None, "version": info.version if info else None,
            "health": status.health, "rss_bytes": status.rss_bytes,
        }))
    elif status.running and status.info is not None:
        rss = f"{status.rss_bytes / 2**20:.0f} MiB" if status.rss_bytes else "?"
        print(f"instance '{status.name}': running at {status.info.url}, pid {status.info.pid}, "
              f"health {status.health or 'not answering'}, RSS {rss}, OpenSearch {status.info.version}")
    else:
        print(f"instance '{status.name}': stopped")
    return OK if status.running else NOT_FOUND


def _url(args: argparse.Namespace) -> int:
    status = _manager(args).node(args.name).status()
    if not status.running or status.info is None:
        print(f"error: instance '{args.name}' is not running", file=sys.stderr)
        return NOT_FOUND
    print(status.info.url)
    return 0
