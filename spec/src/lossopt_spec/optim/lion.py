"""Lion (EvoLved Sign Momentum): the sign of an interpolation of momentum and gradient.

Chen, Liang, Huang, Real, Wang, Pham, Dong, Luong, Hsieh, Lu, Le 2023, "Symbolic Discovery of
Optimization Algorithms" (NeurIPS), https://arxiv.org/abs/2302.06675, Algorithm 2, as ``lion-pytorch``
0.2.5 (``lion_pytorch.Lion``) computes it.

Symbols: parameters :math:`\\theta`, gradient :math:`g`, momentum :math:`m`, betas :math:`\\beta_1, \\beta_2`,
weight decay :math:`\\lambda`. At step :math:`t = 1, 2, \\ldots`:

.. math::

    \\gamma_t &= \\gamma \\, w_t \\quad \\text{(schedule.py (s1), (s3): the warmup)}         &(0)\\\\
    g_t &\\leftarrow \\kappa \\, g_t \\quad \\text{(clipping, clip.py (c1)–(c3))}            &(c)\\\\
    g_t &\\leftarrow -g_t \\quad \\text{if maximize}                                      &(1)\\\\
    \\theta &\\leftarrow \\theta (1 - \\gamma_t \\lambda)                                   &(2)\\\\
    c_t &= \\beta_1 m_{t-1} + (1 - \\beta_1) g_t                                          &(3)\\\\
    \\theta_t &= \\theta - \\gamma_t \\operatorname{sign}(c_t)                               &(4)\\\\
    m_t &= \\beta_2 m_{t-1} + (1 - \\beta_2) g_t                                          &(5)

:math:`\\operatorname{sign}` is ``torch.sign``'s: 0 at 0 and at NaN. Every coordinate moves by exactly :math:`\\gamma_t`
(or 0 where :math:`c_t = 0`), so Lion's learning rate is typically 3 to 10 times smaller than AdamW's and its decay
correspondingly larger.

State: ``exp_avg`` (:math:`m`), as the authors' code; no step counter.

Differs from the paper: nothing in the update (decoupled decay first, the sign of the interpolation, then
the momentum, Algorithm 2). Additions: warmup (0), clipping (c) and ``maximize`` (1). The authors'
``decoupled_weight_decay`` (decay :math:`\\lambda \\gamma_t / \\gamma_0`) and ``use_triton`` are not taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lossopt_spec.optim.clip import CLIP_DEFAULTS, clipped_grads
from lossopt_spec.optim.rule import HParams, Params, State, UpdateRule
from lossopt_spec.optim.schedule import SCHEDULE_DEFAULTS, scheduled_lr

LION_DEFAULTS: dict[str, Any] = {
    "lr": 1e-4,
    "betas": (0.9, 0.99),
    "weight_decay": 0.0,
    "maximize": False,
    "warmup_steps": SCHEDULE_DEFAULTS["warmup_steps"],
    "max_grad_norm": CLIP_DEFAULTS["max_grad_norm"],
}


def lion_init(params: Params, hparams: Mapping[str, Any]) -> State:
    """A zero momentum per parameter."""
    return [{"exp_avg": np.zeros_like(p, dtype=np.float64)} for p in params]


def lion_update(
    params: Params, grads: Params, state: State, step: int, hparams: HParams, *, grad_norm: float | None = None
) -> tuple[Params, State]:
    """One Lion step on a group (the module docstring's equations)."""
    beta1, beta2 = hparams["betas"]
    lr = scheduled_lr(step, hparams)  # (0) lr_t = lr w
    grads = clipped_grads(grads, hparams, grad_norm)  # (c) g <- kappa g
    new_params: Params = []
    new_state: State = []
    for param, grad, entries in zip(params, grads, state, strict=True):
        param = np.asarray(param, dtype=np.float64)
        if hparams["maximize"]:
            grad = -grad  # (1) g <- -g
        param = param * (1 - lr * hparams["weight_decay"])  # (2) p <- p (1 - lr wd)
        exp_avg = entries["exp_avg"]
        interpolation = beta1 * exp_avg + (1 - beta1) * grad  # (3) c = b1 m + (1 - b1) g
        update = np.sign(np.where(np.isnan(interpolation), 0.0, interpolation))  # (4) sign(c), sign(NaN) = 0 as torch
        new_params.append(param - lr * update)  # (4) p <- p - lr sign(c)
        new_state.append({"exp_avg": beta2 * exp_avg + (1 - beta2) * grad})  # (5) m <- b2 m + (1 - b2) g
    return new_params, new_state


LION_RULE = UpdateRule("lion", lion_init, lion_update, LION_DEFAULTS, state_keys=("exp_avg",))
