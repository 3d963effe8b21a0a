"""Schedule-Free AdamW: AdamW without a learning-rate schedule, its iterates averaged on the fly.

Defazio, Yang, Mehta, Mishchenko, Khaled, Cutkosky 2024, "The Road Less Scheduled" (NeurIPS),
https://arxiv.org/abs/2405.15682, as ``schedulefree.AdamWScheduleFree`` 1.4.1 (the authors' package,
``adamw_schedulefree.py``) computes it.

Symbols: the training point :math:`y` (the parameters while training), the base iterate :math:`z`, the
second moment :math:`v`, betas :math:`\\beta_1, \\beta_2`, :math:`\\epsilon`, weight decay :math:`\\lambda`,
the averaging weight :math:`c_t` (``schedule_free.py`` (a1)–(a4)). At step :math:`t = 1, 2, \\ldots`:

.. math::

    \\gamma_t &= \\gamma \\, w_t \\quad \\text{(schedule.py (s1), (s3): the warmup)}                 &(0)\\\\
    g_t &\\leftarrow \\kappa \\, g_t \\quad \\text{(clipping, clip.py (c1)–(c3))}                    &(c)\\\\
    g_t &\\leftarrow -g_t \\quad \\text{if maximize}                                              &(1)\\\\
    v_t &= \\beta_2 v_{t-1} + (1 - \\beta_2) g_t^2                                                &(2)\\\\
    d_t &= \\sqrt{v_t / (1 - \\beta_2^t)} + \\epsilon                                             &(3)\\\\
    u_t &= g_t / d_t + \\lambda y_{t-1}                                                          &(4)\\\\
    y_t &= \\operatorname{lerp}(y_{t-1}, z_{t-1}, c_t) + \\gamma_t (\\beta_1 (1 - c_t) - 1) \\, u_t  &(5)\\\\
    z_t &= z_{t-1} - \\gamma_t u_t                                                               &(6)

(5) and (6) are the paper's :math:`z_t = z_{t-1} - \\gamma_t u_t`, :math:`x_t = (1 - c_t) x_{t-1} + c_t z_t`,
:math:`y_t = \\beta_1 x_t + (1 - \\beta_1) z_t` written without :math:`x` (the authors' form). The
parameters to evaluate are :math:`x = \\operatorname{lerp}(y, z, 1 - 1/\\beta_1)` (``to_eval``, (m1)).

State, named as the authors' code: ``z`` (a copy of the parameter before its first step) and ``exp_avg_sq``
(:math:`v`), plus the group's ``lr_max`` and ``weight_sum`` (``schedule_free.py``). There is no ``step`` per
parameter: :math:`t` is the group's step count (the authors' ``k + 1``).

Differs from the paper: the decay :math:`\\lambda y` is taken at :math:`y` and added to the normalized gradient,
as the authors' code (the paper's Algorithm 1 decays at :math:`y` too). Additions: clipping (c) and
``maximize`` (1); the warmup (0) is the authors' ``warmup_steps`` (:math:`w_t = \\min(1, t / W)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lossopt_spec.optim.clip import CLIP_DEFAULTS, clipped_grads
from lossopt_spec.optim.lerp import lerp
from lossopt_spec.optim.rule import HParams, Params, State, UpdateRule
from lossopt_spec.optim.schedule import SCHEDULE_DEFAULTS, scheduled_lr
from lossopt_spec.optim.schedule_free import AVERAGING_DEFAULTS, averages_before, averaging_step, init_with_z, switched

SCHEDULE_FREE_ADAMW_DEFAULTS: dict[str, Any] = {
    "lr": 0.0025,
    "betas": (0.9, 0.999),
    "eps": 1e-8,
    "weight_decay": 0.0,
    "warmup_steps": SCHEDULE_DEFAULTS["warmup_steps"],
    **AVERAGING_DEFAULTS,
    "maximize": False,
    "max_grad_norm": CLIP_DEFAULTS["max_grad_norm"],
}


def schedule_free_adamw_init(params: Params, hparams: Mapping[str, Any]) -> State:
    """``z`` a copy of each parameter, ``exp_avg_sq`` zeros, no averages yet."""
    return init_with_z(params, ("exp_avg_sq",))


def schedule_free_adamw_update(
    params: Params, grads: Params, state: State, step: int, hparams: HParams, *, grad_norm: float | None = None
) -> tuple[Params, State]:
    """One step from the training point :math:`y` (the module docstring's equations)."""
    beta1, beta2 = hparams["betas"]
    eps, weight_decay = hparams["eps"], hparams["weight_decay"]
    lr = scheduled_lr(step, hparams)  # (0) lr_t = lr w
    grads = clipped_grads(grads, hparams, grad_norm)  # (c) g <- kappa g
    lr_max, weight_sum, ckp1 = averaging_step(step, lr, *averages_before(state, step, hparams), hparams)  # (a1)-(a4)
    bias_correction2 = 1 - beta2**step  # (3)
    new_params: Params = []
    new_state: State = []
    for y, grad, entries in zip(params, grads, state, strict=True):
        y = np.asarray(y, dtype=np.float64)
        if hparams["maximize"]:
            grad = -grad  # (1) g <- -g
        exp_avg_sq = beta2 * entries["exp_avg_sq"] + (1 - beta2) * grad * grad  # (2) v <- b2 v + (1 - b2) g^2
        denom = np.sqrt(exp_avg_sq / bias_correction2) + eps  # (3) d = sqrt(v / (1 - b2^t)) + eps
        normalized = grad / denom  # (4) u = g / d
        if weight_decay != 0:
            normalized = normalized + weight_decay * y  # (4) u <- u + wd y
        z = entries["z"]
        new_params.append(lerp(y, z, ckp1) + lr * (beta1 * (1 - ckp1) - 1) * normalized)  # (5)
        new_state.append(
            {"z": z - lr * normalized, "exp_avg_sq": exp_avg_sq, "lr_max": lr_max, "weight_sum": weight_sum}  # (6)
        )
    return new_params, new_state


def schedule_free_adamw_eval(params: Params, state: State, hparams: HParams) -> Params:
    """(m1) :math:`x = \\operatorname{lerp}(y, z, 1 - 1/\\beta_1)`: the parameters to evaluate."""
    return switched(params, state, 1 - 1 / hparams["betas"][0])


def schedule_free_adamw_train(params: Params, state: State, hparams: HParams) -> Params:
    """(m2) :math:`y = \\operatorname{lerp}(x, z, 1 - \\beta_1)`: back to the training point."""
    return switched(params, state, 1 - hparams["betas"][0])


SCHEDULE_FREE_ADAMW_RULE = UpdateRule(
    name="schedule_free_adamw",
    init=schedule_free_adamw_init,
    update=schedule_free_adamw_update,
    defaults=SCHEDULE_FREE_ADAMW_DEFAULTS,
    state_keys=("z", "exp_avg_sq"),
    to_eval=schedule_free_adamw_eval,
    to_train=schedule_free_adamw_train,
)
