"""Waiting for a proxy to be ready, from outside it (benchmarks, tests, deploy scripts)."""

from __future__ import annotations

import time
import urllib.request


def wait_until_ready(url: str, *, timeout_s: float = 120.0, poll_s: float = 0.5) -> bool:
    """Poll ``url/readyz`` until it answers 200; False if it did not within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(poll_s)
    return False
