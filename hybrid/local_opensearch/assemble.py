"""Assemble a runnable OpenSearch distribution from downloaded artifacts.

The integ-test zip carries only the transport module. Modules published as plain jars become
module directories: their jars plus a `plugin-descriptor.properties` (and, under the Java security
manager that 2.x runs with, a `plugin-security.policy` where the module needs permissions).
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from hybrid.local_opensearch.artifacts import MANIFEST, ArtifactSet

MARKER = ".hybrid-assembled"
# Where a secured distribution keeps the security plugin's own default config files (the plugin
# installer would move them into the config folder; each secured instance copies what it needs).
SECURITY_DEFAULTS = "security-defaults"


@dataclass(frozen=True)
class ModuleSpec:
    classname: str
    description: str
    extended_plugins: str = ""
    policy: str | None = None


# Descriptor fields as the OpenSearch 2.19 build writes them for these modules.
MODULE_SPECS: dict[str, ModuleSpec] = {
    "lang-painless": ModuleSpec(
        "org.opensearch.painless.PainlessPlugin",
        "An easy, safe and fast scripting language for OpenSearch",
        policy="lang-painless.policy",
    ),
    "analysis-common": ModuleSpec(
        "org.opensearch.analysis.common.CommonAnalysisPlugin",
        'Adds "built in" analyzers to OpenSearch.',
        extended_plugins="lang-painless",
    ),
}


def descriptor(name: str, spec: ModuleSpec, version: str) -> str:
    """The text of a module's ``plugin-descriptor.properties``."""
    return (
        f"description={spec.description}\n"
        f"version={version}\n"
        f"name={name}\n"
        f"classname={spec.classname}\n"
        "java.version=11\n"
        f"opensearch.version={version}\n"
        f"extended.plugins={spec.extended_plugins}\n"
        "has.native.controller=false\n"
    )


def _extract(archive: Path, dest: Path, *, strip_top: bool) -> None:
    """Unzip keeping the Unix permission bits (``bin/opensearch`` must stay executable)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            parts = Path(info.filename).parts[1:] if strip_top else Path(info.filename).parts
            if not parts:
                continue
            target = dest.joinpath(*parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out)
            mode = (info.external_attr >> 16) & 0o777
            target.chmod(mode | 0o444 if mode else 0o644)


def _make_world_readable(root: Path) -> None:
    # A root user runs the node as an unprivileged account, which must read the distribution.
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | (0o555 if path.is_dir() else 0o444))


def assembled_fingerprint(artifacts: ArtifactSet, *, security: bool = False) -> str:
    digest = hashlib.sha256((artifacts.root / MANIFEST).read_bytes())
    if security:
        digest.update(b"+security")
    return digest.hexdigest()


def assemble(artifacts: ArtifactSet, dist: Path, *, security: bool = False) -> Path:
    """Build (or reuse) the distribution at ``dist``, with the security plugin when ``security``; returns ``dist``.

    Reuse is decided by a marker holding the artifact manifest's hash, so a changed
    artifact set is always re-assembled. The build happens in a sibling folder and is renamed into
    place, so a crash never leaves a half-built distribution behind.
    """
    fingerprint = assembled_fingerprint(artifacts, security=security)
    marker = dist / MARKER
    if marker.is_file() and marker.read_text() == fingerprint:
        return dist
    staging = dist.with_name(dist.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _extract(artifacts.core_zip, staging, strip_top=True)
    for name, spec in MODULE_SPECS.items():
        module = staging / "modules" / name
        module.mkdir(parents=True)
        for jar in artifacts.module_dir(name).glob("*.jar"):
            shutil.copy2(jar, module / jar.name)
        (module / "plugin-descriptor.properties").write_text(descriptor(name, spec, artifacts.version))
        if spec.policy:
            policy = resources.files("hybrid.local_opensearch").joinpath("policies", spec.policy)
            (module / "plugin-security.policy").write_text(policy.read_text())
    _extract(artifacts.knn_zip, staging / "plugins" / "opensearch-knn", strip_top=False)
    if artifacts.neural_search_zip is not None:
        _extract(artifacts.neural_search_zip, staging / "plugins" / "opensearch-neural-search", strip_top=False)
    if security:
        if artifacts.security_zip is None:
            raise ValueError("a secured distribution needs the security plugin zip in the artifact set")
        plugin = staging / "plugins" / "opensearch-security"
        _extract(artifacts.security_zip, plugin, strip_top=False)
        (plugin / "config").rename(staging / SECURITY_DEFAULTS)
    _make_world_readable(staging)
    (staging / MARKER).write_text(fingerprint)
    shutil.rmtree(dist, ignore_errors=True)
    staging.rename(dist)
    return dist
