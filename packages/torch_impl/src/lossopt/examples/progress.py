"""Progress bars for the training loops: tqdm when it is installed and stderr is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress_enabled(requested: bool | None = None) -> bool:
    """``requested`` when given; otherwise on exactly when stderr is a terminal."""
    if requested is not None:
        return requested
    return sys.stderr.isatty()


def progress(iterable: Iterable[T], *, desc: str, total: int | None = None, enabled: bool | None = None) -> Iterator[T]:
    """``iterable`` wrapped in a tqdm bar when enabled and tqdm is installed (``lossopt[plots]``), else as is."""
    if progress_enabled(enabled):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return iter(iterable)
        return iter(tqdm(iterable, desc=desc, total=total, leave=False, file=sys.stderr))
    return iter(iterable)
