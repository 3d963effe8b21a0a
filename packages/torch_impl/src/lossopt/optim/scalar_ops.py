"""Arithmetic of the per-step scalars that works on Python floats and on tensors alike.

A rule's :meth:`~lossopt.optim.base.RuleOptimizer.scalars` is one formula for both cases: host step
counters give Python floats (``torch.optim``'s host arithmetic, bit for bit), device counters give
float64 tensors, one entry per parameter tensor, computed without reading anything back. ``+``, ``*``,
``/`` and ``**`` already work on both; these are the rest.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import torch

T = TypeVar("T", float, torch.Tensor)


def sqrt(x: T) -> T:
    """:math:`\\sqrt{x}`: ``math.sqrt`` for a float, ``torch.sqrt`` for a tensor."""
    return x.sqrt() if isinstance(x, torch.Tensor) else math.sqrt(x)  # type: ignore[return-value]


def maximum(a: Any, b: Any) -> Any:
    """:math:`\\max(a, b)`: Python's ``max`` of two floats, else ``torch.maximum`` in float64 on the tensor's device."""
    if not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
        return max(a, b)
    device = next(v for v in (a, b) if isinstance(v, torch.Tensor)).device
    return torch.maximum(*(torch.as_tensor(v, device=device).to(torch.float64) for v in (a, b)))


def where(condition: bool | torch.Tensor, value: Any, otherwise: Any) -> Any:
    """``value`` where ``condition`` holds, else ``otherwise`` (a Python ``if`` for a bool, else ``torch.where``)."""
    if isinstance(condition, torch.Tensor):
        like = next((v for v in (value, otherwise) if isinstance(v, torch.Tensor)), None)
        dtype = like.dtype if like is not None else torch.float64
        as_tensor = [torch.as_tensor(v, dtype=dtype, device=condition.device) for v in (value, otherwise)]
        return torch.where(condition, *as_tensor)
    return value if condition else otherwise


def unless_skipped(skip: torch.Tensor | None, value: Any, when_skipped: float) -> Any:
    """``value``, or ``when_skipped`` on a step that ``found_inf`` skips (``skip``: a bool tensor or ``None``)."""
    return value if skip is None else where(skip, when_skipped, value)
