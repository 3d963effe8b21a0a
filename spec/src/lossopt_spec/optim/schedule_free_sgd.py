"""Schedule-Free SGD: SGD with momentum replaced by averaging and interpolation, no learning-rate schedule.

Defazio, Yang, Mehta, Mishchenko, Khaled, Cutkosky 2024, "The Road Less Scheduled" (NeurIPS),
https://arxiv.org/abs/2405.15682, as ``schedulefree.SGDScheduleFree`` 1.4.1 (the authors' package,
``sgd_schedulefree.py``) computes it.

Symbols: the training point :math:`y` (the parameters while training), the base iterate :math:`z`, the
interpolation :math:`\\beta` (``momentum``, in :math:`(0, 1)`), weight decay :math:`\\lambda`, the averaging
weight :math:`c_t` (``schedule_free.py`` (a1)–(a4)). At step :math:`t = 1, 2, \\ldots`:

.. math::

    \\gamma_t &= \\gamma \\, w_t \\quad \\text{(schedule.py (s1), (s3): the warmup)}                 &(0)\\\\
    g_t &\\leftarrow \\kappa \\, g_t \\quad \\text{(clipping, clip.py (c1)–(c3))}                    &(c)\\\\
    g_t &\\leftarrow -g_t \\quad \\text{if maximize}                                              &(1)\\\\
    u_t &= g_t + \\lambda y_{t-1}                                                                &(2)\\\\
    y_t &= \\operatorname{lerp}(y_{t-1}, z_{t-1}, c_t) + \\gamma_t (\\beta (1 - c_t) - 1) \\, u_t    &(3)\\\\
    z_t &= z_{t-1} - \\gamma_t u_t                                                               &(4)

(3) and (4) are :math:`z_t = z_{t-1} - \\gamma_t u_t`, :math:`x_t = (1 - c_t) x_{t-1} + c_t z_t`,
:math:`y_t = \\beta x_t + (1 - \\beta) z_t` written without :math:`x`, as the authors' code. The parameters to
evaluate are :math:`x = \\operatorname{lerp}(y, z, 1 - 1/\\beta)` (``to_eval``, (m1)).

State: ``z`` (a copy of the parameter before its first step), plus the group's ``lr_max`` and ``weight_sum``.

Differs from the authors' code: clipping (c) and ``maximize`` (1) are additions; the authors add the decay
into ``p.grad`` in place, here the gradient is not written.
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

SCHEDULE_FREE_SGD_DEFAULTS: dict[str, Any] = {
    "lr": 1.0,
    "momentum": 0.9,
    "weight_decay": 0.0,
    "warmup_steps": SCHEDULE_DEFAULTS["warmup_steps"],
    **AVERAGING_DEFAULTS,
    "maximize": False,
    "max_grad_norm": CLIP_DEFAULTS["max_grad_norm"],
}


def schedule_free_sgd_init(params: Params, hparams: Mapping[str, Any]) -> State:
    """``z`` a copy of each parameter, no averages yet."""
    return init_with_z(params, ())


def schedule_free_sgd_update(
    params: Params, grads: Params, state: State, step: int, hparams: HParams, *, grad_norm: float | None = None
) -> tuple[Params, State]:
    """One step from the training point :math:`y` (the module docstring's equations)."""
    momentum, weight_decay = hparams["momentum"], hparams["weight_decay"]
    lr = scheduled_lr(step, hparams)  # (0) lr_t = lr w
    grads = clipped_grads(grads, hparams, grad_norm)  # (c) g <- kappa g
    lr_max, weight_sum, ckp1 = averaging_step(step, lr, *averages_before(state, step, hparams), hparams)  # (a1)-(a4)
    new_params: Params = []
    new_state: State = []
    for y, grad, entries in zip(params, grads, state, strict=True):
        y = np.asarray(y, dtype=np.float64)
        if hparams["maximize"]:
            grad = -grad  # (1) g <- -g
        if weight_decay != 0:
            grad = grad + weight_decay * y  # (2) u = g + wd y
        z = entries["z"]
        new_params.append(lerp(y, z, ckp1) + lr * (momentum * (1 - ckp1) - 1) * grad)  # (3)
        new_state.append({"z": z - lr * grad, "lr_max": lr_max, "weight_sum": weight_sum})  # (4)
    return new_params, new_state


def schedule_free_sgd_eval(params: Params, state: State, hparams: HParams) -> Params:
    """(m1) :math:`x = \\operatorname{lerp}(y, z, 1 - 1/\\beta)`: the parameters to evaluate."""
    return switched(params, state, 1 - 1 / hparams["momentum"])


def schedule_free_sgd_train(params: Params, state: State, hparams: HParams) -> Params:
    """(m2) :math:`y = \\operatorname{lerp}(x, z, 1 - \\beta)`: back to the training point."""
    return switched(params, state, 1 - hparams["momentum"])


SCHEDULE_FREE_SGD_RULE = UpdateRule(
    name="schedule_free_sgd",
    init=schedule_free_sgd_init,
    update=schedule_free_sgd_update,
    defaults=SCHEDULE_FREE_SGD_DEFAULTS,
    state_keys=("z",),
    to_eval=schedule_free_sgd_eval,
    to_train=schedule_free_sgd_train,
)
