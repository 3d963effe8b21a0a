"""Skipping a step on the device: ``skip_nonfinite=True`` and ``torch.amp.GradScaler``'s ``found_inf``.

A step is skipped when ``found_inf``, a 0-dim float32 tensor, is nonzero: either the global
gradient norm is not finite (``skip_nonfinite=True``, decided as ``~isfinite(norm)`` on the
gradients' device) or a ``GradScaler`` handed the optimizer its ``found_inf`` (the fused paths,
which set ``_step_supports_amp_scaling``). The value is never read back to the host: every kernel
turns it into factors that make the update an exact no-op,

- the gradient is replaced by 0 (``torch.where``, so an inf or NaN does not leak through ``0 * g``),
- every decay :math:`x \\leftarrow \\beta x` uses :math:`\\beta = 1` and every step size is 0,
- the step counters advance by one and are set back by ``found_inf`` (as ``torch.optim`` does
  after its fused kernels), so the step's coefficients are computed as usual and then discarded,

so parameters and every state tensor keep their bits. With ``found_inf`` absent (``None``, the
default) the kernels run exactly as before: the skip costs nothing when it is off.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lossopt.optim._validation import check_flags

SKIP_NONFINITE = "skip_nonfinite"
SKIPPED_STEPS = "skipped_steps"


def check_skip_nonfinite(value: object) -> None:
    """``skip_nonfinite`` is a ``bool``: ``TypeError`` naming the argument and the value, as every other flag."""
    check_flags(skip_nonfinite=value)


def nonfinite(norm: torch.Tensor) -> torch.Tensor:
    """1.0 where ``norm`` is inf or NaN, else 0.0: a float32 tensor on ``norm``'s device (no host read)."""
    return torch.logical_not(torch.isfinite(norm)).to(torch.float32)


def combine(first: torch.Tensor | None, second: torch.Tensor | None) -> torch.Tensor | None:
    """Skip when either says so; values normalised to 0.0 / 1.0 (torch's fused kernels test ``== 1``)."""
    if first is None and second is None:
        return None
    if first is None or second is None:
        only = first if first is not None else second
        assert only is not None
        return (only != 0).to(torch.float32)
    return torch.maximum((first != 0).to(torch.float32), (second != 0).to(second.device, torch.float32))


def on(found_inf: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``found_inf`` as a boolean on ``like``'s device (non-blocking copy between devices)."""
    return found_inf.to(like.device, non_blocking=True) != 0


def choose(skip: torch.Tensor, when_skipped: float, value: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``when_skipped`` if the step is skipped, else ``value``: a 0-dim tensor of ``like``'s dtype and device."""
    value_t = value.to(like.device) if isinstance(value, torch.Tensor) else torch.tensor(value, dtype=torch.float64)
    return torch.where(skip, torch.tensor(when_skipped, dtype=torch.float64), value_t.to(torch.float64)).to(
        device=like.device, dtype=like.dtype
    )


def zero_if(skip: torch.Tensor, grads: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The gradients, or zeros on a skipped step (inf and NaN replaced, never multiplied by 0)."""
    return [torch.where(skip, torch.zeros((), dtype=g.dtype, device=g.device), g) for g in grads]


def set_back(steps: Sequence[torch.Tensor], found_inf: torch.Tensor) -> None:
    """Undo this step's ``+1`` of the step counters when it was skipped (``steps -= found_inf``)."""
    if steps:
        torch._foreach_sub_(list(steps), [found_inf.to(s.device, non_blocking=True) for s in steps])


def repeat(n: int, value: torch.Tensor) -> list[torch.Tensor]:
    """``n`` references to one 0-dim tensor: the tensor-list overloads of ``torch._foreach_*`` (a single
    tensor where a ``Scalar`` is expected would be read back to the host)."""
    return [value] * n
