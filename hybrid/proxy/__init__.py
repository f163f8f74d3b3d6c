"""The search proxy: a thin FastAPI service over hybrid search (``create_app(settings)``)."""

from hybrid.proxy.app import create_app

__all__ = ["create_app"]
