"""Skipping a step on the device: ``skip_nonfinite=True`` and ``torch.amp.GradScaler``'s ``found_inf``.

A step is skipped when ``found_inf``, a 0-dim float32 tensor, is nonzero: either the global
gradient norm is not finite (``skip_nonfinite=True``, decided as ``~isfinite(norm)`` on the
gradients' device) or a ``GradScaler`` handed the optimizer its ``found_inf`` (the fused paths,
which set ``_step_supports_amp_scaling``). The value is never read back to the host: every kernel
turns it into factors that make the update an exact no-op,

- the gradient is replaced by 0 (``torch.where``, so an inf or NaN does not leak through ``0 * g``:
  :func:`lossopt.optim.kernels.execute.prepared_grads`),
- every decay :math:`x \\leftarrow \\beta x` uses :math:`\\beta = 1` and every step size is 0 (the rule's
  scalars, through :func:`lossopt.optim.scalar_ops.unless_skipped`),
- the step counters advance by one and are set back by ``found_inf`` (as ``torch.optim`` does
  after its fused kernels), so the step's coefficients are computed as usual and then discarded,

so parameters and every state tensor keep their bits. With ``found_inf`` absent (``None``, the
default) the kernels run exactly as before: the skip costs nothing when it is off.
"""

from __future__ import annotations

import torch


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
