"""Stochastic gradient descent (AdvancedSGD): momentum, dampening, Nesterov, weight decay, warmup, cycles, clipping.

Symbols: parameters :math:`\\theta`, gradient :math:`g`, learning rate :math:`\\gamma`, momentum
:math:`\\mu`, dampening :math:`\\tau`, weight decay :math:`\\lambda`, momentum buffer :math:`b`.
At step :math:`t = 1, 2, \\ldots`:

.. math::

    \\gamma_t &= \\gamma \\, w_t \\, c_t \\quad \\text{(schedule.py (s1)–(s3))}               &(0)\\\\
    g_t &\\leftarrow \\kappa \\, g_t \\quad \\text{(clipping, clip.py (c1)–(c3))}             &(c)\\\\
    g_t &\\leftarrow -g_t \\quad \\text{if maximize}                          &(1)\\\\
    g_t &\\leftarrow g_t + \\lambda \\theta_{t-1}                              &(2)\\\\
    b_t &= g_t \\ (t = 1), \\qquad b_t = \\mu b_{t-1} + (1 - \\tau) g_t \\ (t > 1) &(3)\\\\
    g_t &\\leftarrow g_t + \\mu b_t \\ \\text{(Nesterov)}, \\qquad g_t \\leftarrow b_t \\ \\text{otherwise} &(4)\\\\
    \\theta_t &= \\theta_{t-1} - \\gamma_t g_t                                    &(5)

Steps (3)–(4) only when :math:`\\mu \\neq 0`. This is the formulation of Sutskever et al. 2013,
"On the importance of initialization and momentum in deep learning" (ICML), as
``torch.optim.SGD`` implements it: the buffer is seeded with the first gradient, undamped, and the
learning rate multiplies the whole buffer (not the formulation :math:`v = \\mu v + \\gamma g`).

State: ``momentum_buffer`` (``None`` while momentum is 0 or before the first step), as torch.
The schedule scales the step, not the buffer, as torch's ``lr_scheduler`` does with ``SGD``.

Differs from torch: the schedule factor (0) and clipping (c) are additions; with
``warmup_steps=0``, ``use_cyclical_lr=False`` and ``max_grad_norm=None`` each step equals
``torch.optim.SGD``. Differs from the original design: see ``schedule.py`` (1-based warmup factor,
never written into the learning rate, the cycle starting after the warmup) and ``clip.py`` (one
norm over every group).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lossopt_spec.optim.clip import CLIP_DEFAULTS, clipped_grads
from lossopt_spec.optim.rule import HParams, Params, State, UpdateRule
from lossopt_spec.optim.schedule import SCHEDULE_DEFAULTS, scheduled_lr

SGD_DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "momentum": 0.0,
    "dampening": 0.0,
    "weight_decay": 0.0,
    "nesterov": False,
    "maximize": False,
    "warmup_steps": SCHEDULE_DEFAULTS["warmup_steps"],
    "max_grad_norm": CLIP_DEFAULTS["max_grad_norm"],
    "use_cyclical_lr": SCHEDULE_DEFAULTS["use_cyclical_lr"],
    "cycle_length": SCHEDULE_DEFAULTS["cycle_length"],
}


def sgd_init(params: Params, hparams: Mapping[str, Any]) -> State:
    """One empty state per parameter: no momentum buffer before the first step."""
    return [{"momentum_buffer": None} for _ in params]


def sgd_update(
    params: Params, grads: Params, state: State, step: int, hparams: HParams, *, grad_norm: float | None = None
) -> tuple[Params, State]:
    """One SGD step on a parameter group (see the module docstring for the equations).

    ``grad_norm``: the global gradient norm over every group, for clipping (see ``clip.py``).
    """
    lr = scheduled_lr(step, hparams)  # (0) lr_t = lr w c
    grads = clipped_grads(grads, hparams, grad_norm)  # (c) g <- kappa g
    momentum = hparams["momentum"]
    dampening = hparams["dampening"]
    weight_decay = hparams["weight_decay"]
    new_params: Params = []
    new_state: State = []
    for param, grad, param_state in zip(params, grads, state, strict=True):
        param = np.asarray(param, dtype=np.float64)
        grad = np.asarray(grad, dtype=np.float64)
        buf = param_state["momentum_buffer"]
        if hparams["maximize"]:
            grad = -grad  # (1) g <- -g
        if weight_decay != 0:
            grad = grad + weight_decay * param  # (2) g <- g + wd p
        if momentum != 0:
            if buf is None:
                buf = grad.copy()  # (3) b <- g on the first step
            else:
                buf = momentum * buf + (1 - dampening) * grad  # (3) b <- mu b + (1 - tau) g
            if hparams["nesterov"]:
                grad = grad + momentum * buf  # (4) g <- g + mu b
            else:
                grad = buf  # (4) g <- b
        new_params.append(param - lr * grad)  # (5) p <- p - lr_t g
        new_state.append({"momentum_buffer": buf})
    return new_params, new_state


SGD_RULE = UpdateRule("sgd", sgd_init, sgd_update, SGD_DEFAULTS, state_keys=("momentum_buffer",))
