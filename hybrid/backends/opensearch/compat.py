"""Is the cluster one the product works with: OpenSearch (not Elasticsearch) from 2.11 on, with the
k-NN plugin on every node. Checked once per client, so the failure is one clear sentence rather than
an obscure mapping error halfway through an ingest."""

from __future__ import annotations

import re
from collections.abc import Mapping

from hybrid.backends.base import BackendError

MIN_VERSION = (2, 11)
KNN_PLUGIN = "opensearch-knn"
# The node-info request of the check: every node's name and plugins, nothing else.
PLUGINS_FILTER = "nodes.*.name,nodes.*.plugins.name"


def _version(number: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", number)[:3])


def check_server(info: Mapping[str, object], nodes: Mapping[str, object], where: str) -> None:
    """Raise ``BackendError`` unless ``info`` (``GET /``) and ``nodes`` (``GET _nodes/plugins``) describe
    a supported OpenSearch with k-NN on every node."""
    version = info.get("version") if isinstance(info.get("version"), Mapping) else {}
    number = str(version.get("number", "?"))  # type: ignore[union-attr]
    distribution = version.get("distribution")  # type: ignore[union-attr]
    if distribution != "opensearch":
        raise BackendError(f"{where} is not OpenSearch (it reports version {number}, distribution "
                           f"{distribution or 'none'}); hybrid needs OpenSearch {'.'.join(map(str, MIN_VERSION))} "
                           "or later with the k-NN plugin")
    if _version(number) < MIN_VERSION:
        raise BackendError(f"{where} runs OpenSearch {number}; hybrid supports {'.'.join(map(str, MIN_VERSION))} "
                           "and later (tested on 2.19): upgrade the cluster")
    listed = nodes.get("nodes") if isinstance(nodes.get("nodes"), Mapping) else {}
    without = sorted(str(node.get("name", node_id)) for node_id, node in listed.items()  # type: ignore[union-attr]
                     if isinstance(node, Mapping)
                     and KNN_PLUGIN not in {p.get("name") for p in node.get("plugins") or [] if isinstance(p, Mapping)})
    if without:
        raise BackendError(f"{where}: node(s) {', '.join(without)} have no k-NN plugin ({KNN_PLUGIN}); "
                           "hybrid's indices need it on every node")
