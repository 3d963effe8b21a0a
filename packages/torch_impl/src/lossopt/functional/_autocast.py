"""Losses choose their own compute dtype; ``torch.autocast`` must not lower it.

A loss computes in its input's dtype, float32 for float16/bfloat16 inputs
(:func:`lossopt.functional.reduction.compute_dtype`). Under ``torch.autocast`` the ops on autocast's
lower-precision list (``mm``, ``bmm``, ``linalg.vecdot``, ...) would still run in bfloat16/float16: a
sum of 1e4-sized terms that cancel (the BCE of ``bce_dice`` as ``sum softplus(x) - x . t``) then loses
its last bits, 4.0 of a loss that is 0 (measured: ``bce_dice`` on logits of +-1e4, autocast bfloat16 on
CPU, before this decorator). torch's own losses sit on autocast's float32 list for the same reason.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch

F = TypeVar("F", bound=Callable[..., Any])


def autocast_off(fn: F) -> F:
    """Run ``fn`` with autocast disabled on the device of its first tensor argument (a no-op outside autocast).

    ``"meta"`` tensors (shape-only evaluation) have no autocast to disable (``torch.autocast("meta")`` raises)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        device = next((a.device.type for a in args if isinstance(a, torch.Tensor)), "cpu")
        if device == "meta":
            return fn(*args, **kwargs)
        with torch.autocast(device, enabled=False):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
