"""The multiplier a kernel applies to the gradients: the clip coefficient and ``GradScaler``'s ``1 / S``.

An optimizer whose fused path consumes ``torch.amp.GradScaler``'s ``grad_scale`` (it sets
``_step_supports_amp_scaling``) receives gradients still multiplied by the scale :math:`S`. The
global norm (c1) is then divided by :math:`S` before the clip coefficient (c2) is formed, so
clipping sees the unscaled gradients exactly once, and the kernels multiply the gradients by
:math:`\\kappa / S` (per-tensor and foreach kernels) or divide them by :math:`S / \\kappa` (torch's
fused kernels' ``grad_scale``). When the user already called ``scaler.unscale_(optimizer)`` the
scaler hands ``grad_scale = None`` and nothing is divided twice.
"""

from __future__ import annotations

import torch

from lossopt.optim.clip import clip_coefficient


def grad_multiplier(
    grad_norm: torch.Tensor | None, max_grad_norm: float | None, grad_scale: torch.Tensor | None
) -> torch.Tensor | None:
    """:math:`\\kappa / S` as a tensor (either factor absent counts as 1); ``None`` when both are absent.

    ``grad_norm`` is the norm of the unscaled gradients (``RuleOptimizer._begin_step`` divides it by :math:`S`).
    """
    coefficient = None
    if grad_norm is not None and max_grad_norm is not None:
        coefficient = clip_coefficient(grad_norm, max_grad_norm)  # (c2) kappa, a device tensor
    if grad_scale is not None:
        inverse = torch.reciprocal(grad_scale.to(torch.float32))
        coefficient = inverse if coefficient is None else coefficient * inverse.to(coefficient.device)
    return coefficient
