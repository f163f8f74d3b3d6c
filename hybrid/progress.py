"""Progress for long commands: a bar with rate and ETA on stderr when it is a terminal, nothing otherwise
(pipes, CI logs, ``--json`` output), so machine-read output stays clean."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")


class Progress(Protocol):
    def update(self, n: int = 1) -> object: ...

    def close(self) -> None: ...


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def on_terminal(*, json_output: bool = False) -> bool:
    """Whether a command should show progress: stderr is a terminal and its output is not JSON."""
    return not json_output and sys.stderr.isatty()


def progress(total: int | None, desc: str, unit: str, *, enabled: bool) -> Progress:
    """A bar to ``update`` by hand (rate in ``unit``/s; an ETA when ``total`` is known)."""
    if not enabled:
        return _Silent()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, smoothing=0.1, file=sys.stderr, dynamic_ncols=True)  # type: ignore[no-any-return]


def track(items: Iterable[T], total: int | None, desc: str, unit: str, *, enabled: bool) -> Iterator[T]:
    """``items`` unchanged, ticking a bar per item taken."""
    bar = progress(total, desc, unit, enabled=enabled)
    try:
        for item in items:
            yield item
            bar.update(1)
    finally:
        bar.close()
