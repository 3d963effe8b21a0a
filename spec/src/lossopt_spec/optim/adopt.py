"""ADOPT: Adam whose step is normalized by the second moment of the *previous* gradients.

Taniguchi, Harada, Minegishi, Oshima, Jeong, Nagahara, Iiyama, Suzuki, Iwasawa, Matsuo 2024, "ADOPT:
Modified Adam Can Converge with Any :math:`\\beta_2` with the Optimal Rate" (NeurIPS),
https://arxiv.org/abs/2411.02853, as the authors' ``torch-adopt`` 0.1.0 (``adopt.ADOPT``) computes it:
the paper's clipped variant (its v2), clip value :math:`\\sqrt[4]{s}` after :math:`s` earlier steps.

Symbols: parameters :math:`\\theta`, gradient :math:`g`, moments :math:`m, v`, betas
:math:`\\beta_1, \\beta_2`, :math:`\\epsilon`, weight decay :math:`\\lambda`, the clip function
:math:`\\operatorname{clip}(s)` (``clip_lambda``, default :math:`s^{1/4}`; ``None``: no clipping). At step
:math:`t = 1, 2, \\ldots` of a parameter (:math:`s = t - 1` steps before it):

.. math::

    \\gamma_t &= \\gamma \\, w_t \\quad \\text{(schedule.py (s1), (s3): the warmup)}             &(0)\\\\
    g_t &\\leftarrow \\kappa \\, g_t \\ \\text{(clip.py (c1)–(c3))}, \\qquad
        g_t \\leftarrow -g_t \\ \\text{if maximize}                                             &(1)\\\\
    g_t &\\leftarrow g_t + \\lambda \\theta \\quad \\text{(L2, unless decouple)}                &(2)\\\\
    v_1 &= v_0 + g_1^2 \\quad \\text{and nothing else at } t = 1                               &(3)\\\\
    \\theta &\\leftarrow \\theta - \\gamma_t \\lambda \\theta \\quad \\text{(decouple, } t > 1)  &(4)\\\\
    n_t &= g_t / \\max(\\sqrt{v_{t-1}}, \\epsilon)                                           &(5)\\\\
    n_t &\\leftarrow \\min(\\max(n_t, -\\operatorname{clip}(t - 1)), \\operatorname{clip}(t - 1)) &(6)\\\\
    m_t &= \\operatorname{lerp}(m_{t-1}, n_t, 1 - \\beta_1)                                    &(7)\\\\
    \\theta_t &= \\theta - \\gamma_t m_t                                                        &(8)\\\\
    v_t &= \\beta_2 v_{t-1} + (1 - \\beta_2) g_t^2                                             &(9)

The step is normalized by :math:`v_{t-1}`, which does not hold :math:`g_t`, and the momentum is taken after the
normalization: the two changes from Adam that make it converge for any :math:`\\beta_2`.

State, named as the authors' code: ``step`` (the parameter's steps taken, a float), ``exp_avg`` (:math:`m`),
``exp_avg_sq`` (:math:`v`). ``clip_lambda`` is not a default and not in the state: as the authors' code, it
is a callable held apart (here read from ``hparams.get("clip_lambda", adopt_clip)``).

Differs from the paper: the first step only records :math:`v_1 = g_1^2` (no parameter step, as the paper's
:math:`v_0 = g_0^2` initialisation), and the decay options ``weight_decay`` / ``decouple`` are the authors'.
Additions: warmup (0), clipping (c) and ``maximize`` (1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lossopt_spec.optim.clip import CLIP_DEFAULTS, clipped_grads
from lossopt_spec.optim.lerp import lerp
from lossopt_spec.optim.rule import HParams, Params, State, UpdateRule
from lossopt_spec.optim.schedule import SCHEDULE_DEFAULTS, scheduled_lr

ADOPT_DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "betas": (0.9, 0.9999),
    "eps": 1e-6,
    "weight_decay": 0.0,
    "decouple": False,
    "maximize": False,
    "warmup_steps": SCHEDULE_DEFAULTS["warmup_steps"],
    "max_grad_norm": CLIP_DEFAULTS["max_grad_norm"],
}


def adopt_clip(steps_before: float) -> float:
    """(6) the authors' clip value after ``steps_before`` earlier steps: :math:`s^{1/4}`."""
    return steps_before**0.25  # type: ignore[no-any-return]


def adopt_init(params: Params, hparams: Mapping[str, Any]) -> State:
    """Zero moments and ``step`` 0 per parameter."""
    return [
        {"step": 0.0, "exp_avg": np.zeros_like(p, dtype=np.float64), "exp_avg_sq": np.zeros_like(p, dtype=np.float64)}
        for p in params
    ]


def adopt_update(
    params: Params, grads: Params, state: State, step: int, hparams: HParams, *, grad_norm: float | None = None
) -> tuple[Params, State]:
    """One ADOPT step on a group (the module docstring's equations); ``step`` is :math:`t`."""
    beta1, beta2 = hparams["betas"]
    eps, weight_decay, decouple = hparams["eps"], hparams["weight_decay"], hparams["decouple"]
    clip = hparams.get("clip_lambda", adopt_clip)
    lr = scheduled_lr(step, hparams)  # (0) lr_t = lr w
    grads = clipped_grads(grads, hparams, grad_norm)  # (c) g <- kappa g
    new_params: Params = []
    new_state: State = []
    for param, grad, entries in zip(params, grads, state, strict=True):
        param = np.asarray(param, dtype=np.float64)
        exp_avg, exp_avg_sq = entries["exp_avg"], entries["exp_avg_sq"]
        if hparams["maximize"]:
            grad = -grad  # (1) g <- -g
        if weight_decay != 0 and not decouple:
            grad = grad + weight_decay * param  # (2) g <- g + wd p
        if step == 1:
            new_params.append(param)
            new_state.append({"step": 1.0, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq + grad * grad})  # (3)
            continue
        if weight_decay != 0 and decouple:
            param = param + (-lr * weight_decay) * param  # (4) p <- p - lr wd p
        normalized = grad / np.maximum(np.sqrt(exp_avg_sq), eps)  # (5) n = g / max(sqrt(v), eps)
        if clip is not None:
            bound = clip(step - 1)
            normalized = np.clip(normalized, -bound, bound)  # (6) clip(n, -c, c), c = clip(t - 1)
        exp_avg = lerp(exp_avg, normalized, 1 - beta1)  # (7) m <- lerp(m, n, 1 - b1)
        new_params.append(param - lr * exp_avg)  # (8) p <- p - lr m
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad  # (9) v <- b2 v + (1 - b2) g^2
        new_state.append({"step": float(step), "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq})
    return new_params, new_state


ADOPT_RULE = UpdateRule("adopt", adopt_init, adopt_update, ADOPT_DEFAULTS, state_keys=("step", "exp_avg", "exp_avg_sq"))
