"""What installing the package puts into a user's environment, and what importing it costs."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_installed_under_hybrid() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = config["package-dir"]
    assert mapping == {"hybrid": "hybrid", "hybrid.ingest": "ingest", "hybrid.training": "training"}
    found = set()
    for name, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *relative.parts]))
    # Subpackages mapped elsewhere are listed under their mapping, not under hybrid/ itself. Data folders
    # (no Python in them) are listed too, so setuptools ships their files without warning.
    def folder(package: str) -> Path:
        prefix = max((m for m in mapping if package == m or package.startswith(m + ".")), key=len)
        return ROOT / mapping[prefix] / Path(*package[len(prefix):].split(".")[1:])

    data = {p for p in config["packages"] if not (folder(p) / "__init__.py").exists()}
    assert set(config["packages"]) - data == found
    assert data and all(folder(p).is_dir() and not list(folder(p).glob("*.py")) for p in data)
    assert all(p == "hybrid" or p.startswith("hybrid.") for p in config["packages"])  # no top-level ingest/training


def test_the_installed_names_import_and_the_generic_ones_do_not(tmp_path: Path) -> None:
    code = ("import importlib.util, hybrid.ingest.sources, hybrid.training.examples; "
            "print(importlib.util.find_spec('ingest'), importlib.util.find_spec('training'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", "None"]


def test_light_imports_do_not_load_torch(tmp_path: Path) -> None:
    code = ("import sys, hybrid, hybrid.cli, hybrid.retrieval, hybrid.retrieval.fusion, hybrid.proxy.schemas, "
            "hybrid.recipes, hybrid.backends, hybrid.ingest.pipeline; from hybrid.cli.errors import _table; _table(); "
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    helped = subprocess.run([sys.executable, "-X", "importtime", "-m", "hybrid", "--help"], cwd=tmp_path,
                            capture_output=True, text=True, check=True)
    assert "usage: hybrid" in helped.stdout
    assert not any(line.rstrip().endswith(("| torch", "| transformers")) for line in helped.stderr.splitlines())
