"""Adam and AdamW, with optional AMSGrad, bias correction, learning-rate warmup / cycles and global-norm clipping.

Symbols: parameters :math:`\\theta`, gradient :math:`g`, learning rate :math:`\\gamma_t` (the group's
rate times the schedule factor, ``schedule.py`` (s1)–(s3)), betas :math:`\\beta_1, \\beta_2`,
:math:`\\epsilon`, weight decay :math:`\\lambda`, first and second moments :math:`m, v`, the running
maximum :math:`\\hat v^{\\max}` (AMSGrad). At step :math:`t = 1, 2, \\ldots` (per parameter):

.. math::

    \\gamma_t &= \\gamma \\, w_t \\, c_t                                                 &(0)\\\\
    g_t &\\leftarrow \\kappa \\, g_t \\quad \\text{(clipping, clip.py (c1)–(c3))}           &(c)\\\\
    g_t &\\leftarrow -g_t \\quad \\text{if maximize}                                      &(1)\\\\
    \\theta &\\leftarrow \\theta (1 - \\gamma_t \\lambda) \\ \\text{(AdamW)}, \\qquad
    g_t \\leftarrow g_t + \\lambda \\theta \\ \\text{(Adam)}                                &(2)\\\\
    m_t &= \\beta_1 m_{t-1} + (1 - \\beta_1) g_t                                         &(3)\\\\
    v_t &= \\beta_2 v_{t-1} + (1 - \\beta_2) g_t^2                                       &(4)\\\\
    \\hat v_t &= \\max(\\hat v_{t-1}, v_t) \\ \\text{(AMSGrad)}, \\qquad \\hat v_t = v_t \\ \\text{otherwise} &(5)\\\\
    b_1 &= 1 - \\beta_1^t, \\quad b_2 = 1 - \\beta_2^t \\quad (b_1 = b_2 = 1 \\text{ without bias correction}) &(6)\\\\
    d_t &= \\sqrt{\\hat v_t} / \\sqrt{b_2} + \\epsilon                                   &(7)\\\\
    \\theta_t &= \\theta - \\frac{\\gamma_t}{b_1} \\frac{m_t}{d_t}                           &(8)

Papers: Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization", arXiv:1412.6980;
Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization", arXiv:1711.05101 (AdamW);
Reddi et al. 2018, "On the Convergence of Adam and Beyond", arXiv:1904.09237 (AMSGrad).

State per parameter, named as ``torch.optim.Adam`` names it: ``step`` (the number of updates
applied, a float), ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`), ``max_exp_avg_sq``
(:math:`\\hat v^{\\max}`, ``None`` unless ``amsgrad``). The ``step`` argument of :func:`adam_update`
is the :math:`t` of both the bias correction and the schedule.

Differs from the papers: AMSGrad keeps the maximum of the *uncorrected* :math:`v` and divides it
by :math:`b_2`, as torch does (Reddi et al. have no bias correction). AdamW multiplies the decay by the full
learning rate :math:`\\gamma_t` (as torch); Loshchilov & Hutter multiply it by the schedule
multiplier :math:`\\eta_t` only, without the base rate :math:`\\alpha`.

Differs from torch: ``use_bias_correction=False`` (b1 = b2 = 1), the schedule factor in (0) and
the clipping (c) are additions; with ``warmup_steps=0``, ``use_cyclical_lr=False``,
``max_grad_norm=None`` and bias correction on, each step equals ``torch.optim.Adam`` /
``torch.optim.AdamW``.

Differs from the original design: see ``schedule.py`` (the warmup factor is 1-based and never
written into the learning rate) and ``clip.py`` (the norm covers every group). Its
``AdvancedAdamW.step`` also ran the closure twice; the rule here takes the gradient once per step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lossopt_spec.optim.clip import CLIP_DEFAULTS, clipped_grads
from lossopt_spec.optim.moments import adam_tensor_step
from lossopt_spec.optim.rule import HParams, Params, State, UpdateRule
from lossopt_spec.optim.schedule import SCHEDULE_DEFAULTS, scheduled_lr

_COMMON_DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "betas": (0.9, 0.999),
    "eps": 1e-8,
    "amsgrad": False,
    "maximize": False,
    "use_bias_correction": True,
    "warmup_steps": SCHEDULE_DEFAULTS["warmup_steps"],
    "max_grad_norm": CLIP_DEFAULTS["max_grad_norm"],
}

ADAMW_DEFAULTS: dict[str, Any] = {**_COMMON_DEFAULTS, "weight_decay": 1e-2}
ADAM_DEFAULTS: dict[str, Any] = {**_COMMON_DEFAULTS, "weight_decay": 0.0}


def adam_init(params: Params, hparams: Mapping[str, Any]) -> State:
    """Zero moments and ``step`` 0 per parameter; ``max_exp_avg_sq`` only with ``amsgrad``."""
    return [
        {
            "step": 0.0,
            "exp_avg": np.zeros_like(p, dtype=np.float64),
            "exp_avg_sq": np.zeros_like(p, dtype=np.float64),
            "max_exp_avg_sq": np.zeros_like(p, dtype=np.float64) if hparams["amsgrad"] else None,
        }
        for p in params
    ]


def adam_update(
    params: Params,
    grads: Params,
    state: State,
    step: int,
    hparams: Mapping[str, Any],
    *,
    decoupled_weight_decay: bool = False,
    grad_norm: float | None = None,
) -> tuple[Params, State]:
    """One Adam (or, with ``decoupled_weight_decay``, AdamW) step on a group; equations in the module docstring.

    ``grad_norm``: the global gradient norm over every group, for clipping (see ``clip.py``).
    """
    lr = scheduled_lr(step, hparams)  # (0) lr_t = lr w c
    grads = clipped_grads(grads, hparams, grad_norm)  # (c) g <- kappa g
    new_params: Params = []
    new_state: State = []
    for param, grad, param_state in zip(params, grads, state, strict=True):
        new_param, param_state = adam_tensor_step(  # (1)-(8), lossopt_spec.optim.moments
            param, grad, param_state, step, lr, hparams, decoupled_weight_decay=decoupled_weight_decay
        )
        new_params.append(new_param)
        new_state.append(param_state)
    return new_params, new_state


def adamw_update(
    params: Params, grads: Params, state: State, step: int, hparams: HParams, *, grad_norm: float | None = None
) -> tuple[Params, State]:
    """AdamW: :func:`adam_update` with decoupled weight decay, eq. (2) left."""
    return adam_update(params, grads, state, step, hparams, decoupled_weight_decay=True, grad_norm=grad_norm)


def adam_coupled_update(
    params: Params, grads: Params, state: State, step: int, hparams: HParams, *, grad_norm: float | None = None
) -> tuple[Params, State]:
    """Adam: :func:`adam_update` with L2 weight decay added to the gradient, eq. (2) right."""
    return adam_update(params, grads, state, step, hparams, decoupled_weight_decay=False, grad_norm=grad_norm)


_STATE_KEYS = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")

ADAMW_RULE = UpdateRule(
    name="adamw", init=adam_init, update=adamw_update, defaults=ADAMW_DEFAULTS, state_keys=_STATE_KEYS
)
ADAM_RULE = UpdateRule(
    name="adam", init=adam_init, update=adam_coupled_update, defaults=ADAM_DEFAULTS, state_keys=_STATE_KEYS
)
