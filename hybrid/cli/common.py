"""Flags shared by the commands that talk to an index, and building the backend they choose."""

from __future__ import annotations

import argparse
from pathlib import Path

from hybrid.settings import Settings, load_settings


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("backend (default: embedded unless an OpenSearch URL is configured)")
    group.add_argument("--opensearch-url", help="OpenSearch URL (env HYBRID_OPENSEARCH_URL)")
    group.add_argument("--embedded-dir", type=Path, help="folder of embedded indices (env HYBRID_EMBEDDED_DIR)")
    group.add_argument("--embedded", action="store_true", help="use the embedded backend even if a URL is configured")
    group.add_argument("--user", dest="opensearch_user", help="basic-auth user; password from HYBRID_OPENSEARCH_PASSWORD")
    group.add_argument("--ca-certs", dest="opensearch_ca_certs", type=Path, help="CA bundle for TLS")
    group.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    group.add_argument("--timeout", dest="opensearch_timeout_s", type=float, help="request timeout in seconds")


def settings_from(args: argparse.Namespace, **extra: object) -> Settings:
    overrides: dict[str, object] = {
        "opensearch_url": getattr(args, "opensearch_url", None),
        "embedded_dir": getattr(args, "embedded_dir", None),
        "opensearch_user": getattr(args, "opensearch_user", None),
        "opensearch_ca_certs": getattr(args, "opensearch_ca_certs", None),
        "opensearch_timeout_s": getattr(args, "opensearch_timeout_s", None),
        "opensearch_verify_certs": False if getattr(args, "insecure", False) else None,
        **extra,
    }
    settings = load_settings(Path(args.config) if getattr(args, "config", None) else None, **overrides)
    if getattr(args, "embedded", False):
        settings = settings.model_copy(update={"opensearch_url": None})
    return settings


def backend_name(settings: Settings) -> str:
    return f"OpenSearch at {settings.opensearch_url}" if settings.opensearch_url else f"embedded ({settings.embedded_dir})"
