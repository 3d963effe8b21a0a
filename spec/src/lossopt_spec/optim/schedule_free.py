"""Schedule-Free's averaging weight and its train / eval mode switch: what ``schedule_free_adamw`` and
``schedule_free_sgd`` share.

Defazio, Yang, Mehta, Mishchenko, Khaled, Cutkosky 2024, "The Road Less Scheduled" (NeurIPS),
https://arxiv.org/abs/2405.15682, as the authors' ``schedulefree`` 1.4.1 computes it.

Three sequences: :math:`z` (the base optimizer's iterate), :math:`x` (the average of the :math:`z`, the
point to evaluate) and :math:`y = \\beta x + (1 - \\beta) z` (the point where gradients are taken, the
parameters while training). With the step's learning rate :math:`\\gamma_t` (``schedule.py`` (s3): the
group's rate times the warmup factor), :math:`r` (``r``) and :math:`p` (``weight_lr_power``), at step
:math:`t = 1, 2, \\ldots`:

.. math::

    \\gamma^{\\max}_t &= \\max(\\gamma^{\\max}_{t-1}, \\gamma_t), \\qquad \\gamma^{\\max}_0 = -1       &(a1)\\\\
    \\omega_t &= t^r \\, (\\gamma^{\\max}_t)^p                                                       &(a2)\\\\
    W_t &= W_{t-1} + \\omega_t, \\qquad W_0 = 0                                                   &(a3)\\\\
    c_t &= \\omega_t / W_t \\quad (0 \\text{ when } W_t = 0)                                       &(a4)

:math:`x_t = (1 - c_t) x_{t-1} + c_t z_t` is the weighted average of :math:`z_1, \\ldots, z_t` with weights
:math:`\\omega`, so with :math:`p = 2` the steps of a warmup count less. The mode switch (the authors'
``optimizer.eval()`` / ``optimizer.train()``) moves the parameters between :math:`y` and :math:`x`:

.. math::

    x &= \\operatorname{lerp}(y, z, 1 - 1/\\beta) \\quad \\text{(eval)}                             &(m1)\\\\
    y &= \\operatorname{lerp}(x, z, 1 - \\beta) \\quad \\text{(train)}                               &(m2)

(:math:`\\operatorname{lerp}` as ``torch.lerp``: ``lerp.py``). A parameter with no :math:`z` yet keeps its value.

The group-level values :math:`\\gamma^{\\max}` and :math:`W` are kept in each parameter's state under the
group keys the authors use (``lr_max``, ``weight_sum``), so the rule stays a pure function; a state that
holds ``None`` there (a fresh state, or one drawn for a single step) gets them by replaying (a1)–(a3) over
steps :math:`1, \\ldots, t - 1` at the rule's own schedule.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lossopt_spec.optim.lerp import lerp
from lossopt_spec.optim.rule import HParams, Params, State
from lossopt_spec.optim.schedule import scheduled_lr

AVERAGING_DEFAULTS: dict[str, Any] = {"r": 0.0, "weight_lr_power": 2.0}
GROUP_KEYS = ("lr_max", "weight_sum")  # the group-level values, in every parameter's state (module docstring)


def averaging_step(step: int, lr: float, lr_max: float, weight_sum: float, hparams: HParams) -> tuple[float, ...]:
    """(a1)–(a4) at step ``step`` with this step's rate ``lr``: ``(lr_max, weight_sum, c)``."""
    lr_max = max(lr, lr_max)  # (a1)
    weight = (step ** hparams["r"]) * (lr_max ** hparams["weight_lr_power"])  # (a2)
    weight_sum = weight_sum + weight  # (a3)
    return lr_max, weight_sum, (weight / weight_sum if weight_sum != 0 else 0.0)  # (a4)


def averages_before(state: State, step: int, hparams: HParams) -> tuple[float, float]:
    """:math:`(\\gamma^{\\max}_{t-1}, W_{t-1})` from the state, or replayed (module docstring)."""
    held = state[0] if state else {}
    if held.get("lr_max") is not None:
        return float(held["lr_max"]), float(held["weight_sum"])
    lr_max, weight_sum = -1.0, 0.0
    for s in range(1, step):
        lr_max, weight_sum, _ = averaging_step(s, scheduled_lr(s, hparams), lr_max, weight_sum, hparams)
    return lr_max, weight_sum


def init_with_z(params: Params, extra: tuple[str, ...]) -> State:
    """:math:`z` a copy of each parameter (as the authors' first step makes it), zeros for ``extra``, no averages."""
    return [
        {
            "z": np.array(p, dtype=np.float64),
            **{key: np.zeros_like(p, dtype=np.float64) for key in extra},
            **dict.fromkeys(GROUP_KEYS),
        }
        for p in params
    ]


def switched(params: Params, state: State, weight: float) -> Params:
    """Every parameter moved to :math:`\\operatorname{lerp}(\\theta, z, w)` (one with no :math:`z` kept)."""
    out = []
    for p, entries in zip(params, state, strict=True):
        z = entries.get("z")
        out.append(np.array(p, dtype=np.float64) if z is None else lerp(p, z, weight))
    return out
