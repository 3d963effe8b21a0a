"""The rectification RAdam and AdaBelief share: :math:`\\rho_t` and :math:`r_t` (Liu et al. 2020, arXiv:1908.03265).

.. math::

    \\rho_\\infty = \\frac{2}{1 - \\beta_2} - 1, \\qquad
    \\rho_t = \\rho_\\infty - \\frac{2 t \\beta_2^t}{1 - \\beta_2^t}                                    &(6)\\\\
    r_t = \\sqrt{\\frac{(\\rho_t - 4)(\\rho_t - 2)\\rho_\\infty}{(\\rho_\\infty - 4)(\\rho_\\infty - 2)\\rho_t}}   &(7)

:math:`\\rho_t` approximates the length of the simple moving average that Adam's exponential average of
:math:`g^2` stands for at step :math:`t`; the variance of the adaptive rate is tractable once it exceeds 4,
and the rules switch to the rectified step above a threshold (RAdam :math:`\\rho_t > 5`, as torch;
AdaBelief :math:`\\rho_t \\ge 5`, as its authors' code).
"""

from __future__ import annotations

import math


def rho(step: float, beta2: float) -> tuple[float, float]:
    """(6): :math:`(\\rho_\\infty, \\rho_t)` for the 1-based ``step``."""
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    beta2_t = beta2**step
    return rho_inf, rho_inf - 2.0 * step * beta2_t / (1.0 - beta2_t)


def rectification(rho_t: float, rho_inf: float) -> float:
    """(7): :math:`r_t`, defined for :math:`\\rho_t > 4` (the rules use it only above their threshold)."""
    return math.sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
