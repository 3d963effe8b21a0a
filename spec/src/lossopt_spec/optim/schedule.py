"""Learning-rate warmup and cyclical (cosine) factors, applied on top of a group's learning rate.

Symbols: step :math:`t = 1, 2, \\ldots` (the 1-based index of the update being computed), warmup
length :math:`W \\ge 0` (``warmup_steps``), cycle length :math:`L \\ge 1` (``cycle_length``),
base learning rate :math:`\\gamma` (the group's ``lr``, whatever a scheduler left there).

.. math::

    w_t &= \\min(1, t / W) \\quad (W > 0), \\qquad w_t = 1 \\quad (W = 0)              &(s1)\\\\
    c_t &= \\tfrac12 \\left(1 + \\cos\\left(\\pi \\frac{(t - W - 1) \\bmod L}{L}\\right)\\right)
          \\quad (t > W), \\qquad c_t = 1 \\quad (t \\le W \\text{ or cyclical off})      &(s2)\\\\
    \\gamma_t &= \\gamma \\, w_t \\, c_t                                                  &(s3)

The warmup is linear (Goyal et al. 2017, "Accurate, Large Minibatch SGD: Training ImageNet in 1
Hour", arXiv:1706.02677); the cycle is cosine annealing with warm restarts and no cycle growth
(Loshchilov & Hutter 2017, "SGDR: Stochastic Gradient Descent with Warm Restarts",
arXiv:1608.03983), restarting at :math:`\\gamma` every :math:`L` steps after the warmup. The factor
is never 0 at :math:`t = 1` and :math:`c_t > 0` for every :math:`t` (its minimum is
:math:`\\tfrac12 (1 + \\cos(\\pi (L - 1) / L))`).

Differs from the original design: the design document's snippet computes
``step_count / warmup_steps`` with a 0-based count (0 on the first step) and writes the product
back into ``group['lr']``, so the learning rate compounds to 0 and stays there, every group gets
group 0's rate, and any ``torch.optim.lr_scheduler`` is overwritten. Here the factor uses the
1-based step, multiplies the learning rate at use time and is never stored: :math:`\\gamma` is read
fresh at every step, so schedulers and per-group learning rates compose with it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

SCHEDULE_DEFAULTS: dict[str, Any] = {
    "warmup_steps": 0,
    "use_cyclical_lr": False,
    "cycle_length": 1000,
}


def warmup_factor(step: int, warmup_steps: int) -> float:
    """(s1) :math:`w_t = \\min(1, t / W)`, and 1 when ``warmup_steps`` is 0."""
    if warmup_steps == 0:
        return 1.0
    return min(1.0, step / warmup_steps)  # (s1) w = min(1, t / W)


def cyclical_factor(step: int, warmup_steps: int, cycle_length: int) -> float:
    """(s2) the cosine factor :math:`c_t`: 1 during the warmup, then restarting every ``cycle_length`` steps."""
    if step <= warmup_steps:
        return 1.0
    phase = ((step - warmup_steps - 1) % cycle_length) / cycle_length
    return 0.5 * (1.0 + math.cos(math.pi * phase))  # (s2) c = (1 + cos(pi phase)) / 2


def lr_factor(step: int, *, warmup_steps: int, use_cyclical_lr: bool, cycle_length: int) -> float:
    """:math:`w_t c_t`: the factor (s1)·(s2) the learning rate is multiplied by at step ``step`` (1-based)."""
    factor = warmup_factor(step, warmup_steps)
    if use_cyclical_lr:
        factor = factor * cyclical_factor(step, warmup_steps, cycle_length)
    return factor


def scheduled_lr(step: int, hparams: Mapping[str, Any]) -> float:
    """(s3) :math:`\\gamma_t = \\gamma w_t c_t` from a rule's hyperparameters (schedule keys default to off).

    Computed as ``lr * (w * c)``, the order the torch side uses, so both round the same way.
    """
    factor = lr_factor(
        step,
        warmup_steps=hparams.get("warmup_steps", 0),
        use_cyclical_lr=hparams.get("use_cyclical_lr", False),
        cycle_length=hparams.get("cycle_length", 1000),
    )
    return float(hparams["lr"] * factor)  # (s3) lr_t = lr w c
