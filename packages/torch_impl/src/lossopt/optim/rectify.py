"""The rectification RAdam and AdaBelief share, :math:`\\rho_t` and :math:`r_t`: mirrors ``lossopt_spec.optim.rectify``.

.. math::

    \\rho_\\infty = \\frac{2}{1 - \\beta_2} - 1, \\qquad
    \\rho_t = \\rho_\\infty - \\frac{2 t \\beta_2^t}{1 - \\beta_2^t}, \\qquad
    r_t = \\sqrt{\\frac{(\\rho_t - 4)(\\rho_t - 2)\\rho_\\infty}{(\\rho_\\infty - 4)(\\rho_\\infty - 2)\\rho_t}}

Both functions take the step as a Python float (host counters) or a float64 tensor of steps (device
counters).
"""

from __future__ import annotations

import math
from typing import Any

import torch


def rho(step: Any, beta2: float) -> tuple[float, Any]:
    """(6): :math:`(\\rho_\\infty, \\rho_t)` for the 1-based ``step``."""
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    beta2_t = beta2**step
    return rho_inf, rho_inf - 2.0 * step * beta2_t / (1.0 - beta2_t)


def rectification(rho_t: Any, rho_inf: float) -> Any:
    """(7): :math:`r_t` where :math:`\\rho_t > 4`, 0 elsewhere (where the rules do not use it)."""
    if not isinstance(rho_t, torch.Tensor) and not rho_t > 4.0:
        return 0.0  # a float: not evaluated where undefined (rho_inf may be 4: a division by zero)
    ratio = (rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
    if isinstance(ratio, torch.Tensor):
        return torch.where(rho_t > 4.0, ratio, 0.0).clamp(min=0.0).sqrt()
    return math.sqrt(max(ratio, 0.0))
