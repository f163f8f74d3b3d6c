"""The indices a proxy can serve: every index built by hybrid on its backend."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from hybrid.backends.opensearch.mapping import META_KEY
from hybrid.proxy.schemas import IndexInfo

if TYPE_CHECKING:
    from hybrid.proxy.app import ProxyState


async def list_indices(state: ProxyState) -> list[IndexInfo]:
    if state.client is None:
        return await asyncio.to_thread(_embedded_indices, state)
    client = state.client
    mappings = await client.indices.get_mapping(index="*")  # type: ignore[attr-defined]
    aliases = await client.indices.get_alias(index="*")  # type: ignore[attr-defined]
    out = []
    for physical, body in sorted(mappings.items()):
        block = (body["mappings"].get("_meta") or {}).get(META_KEY)
        if not block:
            continue
        names = sorted(aliases.get(physical, {}).get("aliases", {})) or [physical]
        count = (await client.count(index=physical))["count"]  # type: ignore[attr-defined]
        out += [IndexInfo(name=name, documents=count, fingerprint=block["fingerprint"]) for name in names]
    return out


def _embedded_indices(state: ProxyState) -> list[IndexInfo]:
    from hybrid.backends.embedded.store import CURRENT, EmbeddedRoot, Generation

    root = state.settings.embedded_dir
    out = []
    for folder in sorted(p for p in root.iterdir() if (p / CURRENT).is_file()) if root.is_dir() else []:
        current = EmbeddedRoot(root).current(folder.name)
        if current is None:
            continue
        generation = Generation(current)
        try:
            fingerprint = generation.get_meta("fingerprint") or {}
            out.append(IndexInfo(name=folder.name, documents=generation.count(), fingerprint=fingerprint))  # type: ignore[arg-type]
        finally:
            generation.close()
    return out
