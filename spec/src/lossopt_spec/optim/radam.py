"""RAdam: Adam with the variance of its adaptive learning rate rectified.

Liu, Jiang, He, Chen, Liu, Gao, Han 2020, "On the Variance of the Adaptive Learning Rate and
Beyond" (ICLR), https://arxiv.org/abs/1908.03265, Algorithm 2.

Symbols: parameters :math:`\\theta`, gradient :math:`g`, learning rate :math:`\\gamma`, moment
decays :math:`\\beta_1, \\beta_2`, :math:`\\epsilon`, weight decay :math:`\\lambda`, first and second
moments :math:`m, v`. At step :math:`t = 1, 2, \\ldots`:

.. math::

    g_t &\\leftarrow -g_t \\quad \\text{if maximize}                                          &(1)\\\\
    \\theta_{t-1} &\\leftarrow \\theta_{t-1} (1 - \\gamma \\lambda) \\ \\text{(decoupled)}, \\qquad
        g_t \\leftarrow g_t + \\lambda \\theta_{t-1} \\ \\text{(otherwise)}                      &(2)\\\\
    m_t &= \\beta_1 m_{t-1} + (1 - \\beta_1) g_t                                               &(3)\\\\
    v_t &= \\beta_2 v_{t-1} + (1 - \\beta_2) g_t^2                                             &(4)\\\\
    \\hat m_t &= m_t / (1 - \\beta_1^t)                                                        &(5)\\\\
    \\rho_\\infty &= \\frac{2}{1 - \\beta_2} - 1, \\qquad
        \\rho_t = \\rho_\\infty - \\frac{2 t \\beta_2^t}{1 - \\beta_2^t}                          &(6)\\\\
    r_t &= \\sqrt{\\frac{(\\rho_t - 4)(\\rho_t - 2)\\rho_\\infty}{(\\rho_\\infty - 4)(\\rho_\\infty - 2)\\rho_t}},
        \\qquad \\theta_t = \\theta_{t-1} - \\gamma \\hat m_t \\, r_t
        \\frac{\\sqrt{1 - \\beta_2^t}}{\\sqrt{v_t} + \\epsilon} \\quad \\text{if } \\rho_t > 5     &(7)\\\\
    \\theta_t &= \\theta_{t-1} - \\gamma \\hat m_t \\ \\text{(degenerated_to_sgd)}, \\qquad
        \\theta_t = \\theta_{t-1} \\ \\text{(otherwise)} \\quad \\text{if } \\rho_t \\le 5          &(8)

Step (2) only when :math:`\\lambda \\neq 0`. :math:`\\rho_t` grows with :math:`t` towards
:math:`\\rho_\\infty`; with :math:`\\beta_2 = 0.999` it first exceeds 5 at :math:`t = 6`
(:math:`\\rho_5 \\approx 4.99`, :math:`\\rho_6 \\approx 5.99`), so steps 1-5 take branch (8).
With :math:`\\rho_\\infty \\le 5` (:math:`\\beta_2 \\le 2/3`) the rule never rectifies.

Warmup and clipping (``lossopt_spec.optim.schedule``, ``lossopt_spec.optim.clip``, as for Adam and
SGD): (0) :math:`\\gamma` is :math:`\\gamma \\, w_t` with :math:`w_t = \\min(1, t / W)` for
``warmup_steps`` :math:`W > 0`; (c) with ``max_grad_norm`` :math:`M`, :math:`g_t` is first scaled by
:math:`\\min(1, M / (n + 10^{-6}))`, :math:`n` the global gradient norm over every group. Both are off
by default.

State: ``step`` (the number of updates taken, a float as torch keeps it), ``exp_avg``
(:math:`m`), ``exp_avg_sq`` (:math:`v`), as ``torch.optim.RAdam``.

Differs from torch (``torch.optim.RAdam``): torch has no ``degenerated_to_sgd``; it always takes
branch (8) as the un-adapted momentum step. With the defaults (``degenerated_to_sgd=True``) this
rule is torch's, step for step. With ``degenerated_to_sgd=False`` a step with
:math:`\\rho_t \\le 5` leaves the gradient step out but still updates :math:`m, v` and still
applies weight decay: L2 decay enters the moments through :math:`g_t` and decoupled decay
(``decoupled_weight_decay=True``) still shrinks :math:`\\theta` in (2), in torch's order (decay
before the moments). Torch's multi-tensor kernel branches on :math:`\\rho_t > 5` too.

Differs from the authors' code (github.com/LiyuanLucasLiu/RAdam, ``radam.py``): the threshold
there is :math:`\\rho_t \\ge 5` (here :math:`> 5`, as torch; the two differ only when
:math:`\\rho_t` is exactly 5); its weight decay is always decoupled and applied only inside the
two update branches, so with ``degenerated_to_sgd=False`` it skips the decay on the first
steps (here the decay is applied every step, see above); and it buffers the step sizes per
``step % 10`` across parameters, which changes nothing numerically.

Differs from the original design (its ``RAdam.step``): it used
:math:`\\rho_t / (\\rho_t - 4)` instead of :math:`r_t`, divided :math:`m` and :math:`v` by their bias
corrections and then divided the step by them a second time, and switched at
:math:`\\rho_t \\ge 5`. Here :math:`r_t` is the paper's and each bias correction is applied once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from lossopt_spec.optim.clip import CLIP_DEFAULTS, clipped_grads
from lossopt_spec.optim.rectify import rectification, rho
from lossopt_spec.optim.rule import HParams, Params, State, UpdateRule
from lossopt_spec.optim.schedule import SCHEDULE_DEFAULTS, scheduled_lr

RADAM_DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "betas": (0.9, 0.999),
    "eps": 1e-8,
    "weight_decay": 0.0,
    "degenerated_to_sgd": True,
    "decoupled_weight_decay": False,
    "maximize": False,
    "warmup_steps": SCHEDULE_DEFAULTS["warmup_steps"],
    "max_grad_norm": CLIP_DEFAULTS["max_grad_norm"],
}

RHO_THRESHOLD = 5.0


def radam_init(params: Params, hparams: Mapping[str, Any]) -> State:
    """Zero moments and a zero step count per parameter."""
    return [
        {"step": 0.0, "exp_avg": np.zeros_like(p, dtype=np.float64), "exp_avg_sq": np.zeros_like(p, dtype=np.float64)}
        for p in params
    ]


def radam_update(
    params: Params, grads: Params, state: State, step: int, hparams: HParams, *, grad_norm: float | None = None
) -> tuple[Params, State]:
    """One RAdam step on a parameter group (see the module docstring for the equations)."""
    lr = scheduled_lr(step, hparams)  # (0) lr_t = lr w c
    grads = clipped_grads(grads, hparams, grad_norm)  # (c) g <- kappa g
    beta1, beta2 = hparams["betas"]
    eps = hparams["eps"]
    weight_decay = hparams["weight_decay"]
    rho_inf, rho_t = rho(step, beta2)  # (6)
    bias_correction1 = 1.0 - beta1**step
    bias_correction2 = 1.0 - beta2**step
    new_params: Params = []
    new_state: State = []
    for param, grad, param_state in zip(params, grads, state, strict=True):
        param = np.asarray(param, dtype=np.float64)
        grad = np.asarray(grad, dtype=np.float64)
        if hparams["maximize"]:
            grad = -grad  # (1) g <- -g
        if weight_decay != 0:
            if hparams["decoupled_weight_decay"]:
                param = param * (1.0 - lr * weight_decay)  # (2) p <- p (1 - lr wd)
            else:
                grad = grad + weight_decay * param  # (2) g <- g + wd p
        exp_avg = beta1 * param_state["exp_avg"] + (1.0 - beta1) * grad  # (3) m <- b1 m + (1 - b1) g
        exp_avg_sq = beta2 * param_state["exp_avg_sq"] + (1.0 - beta2) * grad * grad  # (4) v <- b2 v + (1 - b2) g^2
        corrected_exp_avg = exp_avg / bias_correction1  # (5) m_hat = m / (1 - b1^t)
        if rho_t > RHO_THRESHOLD:
            rect = rectification(rho_t, rho_inf)  # (7) r_t
            param = param - lr * corrected_exp_avg * rect * math.sqrt(bias_correction2) / (
                np.sqrt(exp_avg_sq) + eps
            )  # (7)
        elif hparams["degenerated_to_sgd"]:
            param = param - lr * corrected_exp_avg  # (8) p <- p - lr m_hat
        new_params.append(param)
        new_state.append({"step": float(step), "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq})
    return new_params, new_state


RADAM_RULE = UpdateRule("radam", radam_init, radam_update, RADAM_DEFAULTS, state_keys=("step", "exp_avg", "exp_avg_sq"))
