"""AdaBelief: Adam whose second moment tracks the "belief" :math:`(g - m)^2` instead of :math:`g^2`.

Zhuang, Tang, Ding, Tatikonda, Dvornek, Papademetris, Duncan 2020, "AdaBelief Optimizer:
Adapting Stepsizes by the Belief in Observed Gradients" (NeurIPS),
https://arxiv.org/abs/2010.07468, Algorithm 2; as the authors' package ``adabelief-pytorch``
0.2.1 computes it (``AdaBelief.step``), which this rule equals step for step.

Symbols: parameters :math:`\\theta`, gradient :math:`g`, learning rate :math:`\\gamma`, moment
decays :math:`\\beta_1, \\beta_2`, :math:`\\epsilon`, weight decay :math:`\\lambda`, first moment
:math:`m`, belief :math:`s`, bias corrections :math:`c_1 = 1 - \\beta_1^t`, :math:`c_2 = 1 - \\beta_2^t`.
At step :math:`t = 1, 2, \\ldots`:

.. math::

    g_t &\\leftarrow -g_t \\quad \\text{if maximize}                                          &(1)\\\\
    \\theta_{t-1} &\\leftarrow \\theta_{t-1}(1 - \\gamma\\lambda) \\ \\text{(weight_decouple)}, \\quad
        \\theta_{t-1} \\leftarrow \\theta_{t-1}(1 - \\lambda) \\ \\text{(and fixed_decay)}, \\quad
        g_t \\leftarrow g_t + \\lambda\\theta_{t-1} \\ \\text{(otherwise)}                       &(2)\\\\
    m_t &= \\beta_1 m_{t-1} + (1 - \\beta_1) g_t                                               &(3)\\\\
    s_t &= \\beta_2 s_{t-1} + (1 - \\beta_2)(g_t - m_t)^2 + \\epsilon                          &(4)\\\\
    \\hat s_t &= \\max(\\hat s_{t-1}, s_t) \\ \\text{(amsgrad)}, \\qquad \\hat s_t = s_t \\ \\text{(otherwise)} &(5)\\\\
    \\theta_t &= \\theta_{t-1} - \\frac{\\gamma}{c_1} \\frac{m_t}{\\sqrt{\\hat s_t}/\\sqrt{c_2} + \\epsilon}
        \\quad \\text{(not rectify)}                                                         &(6)\\\\
    \\theta_t &= \\theta_{t-1} - \\gamma \\, r_t \\frac{\\sqrt{c_2}}{c_1} \\frac{m_t}{\\sqrt{s_t} + \\epsilon}
        \\quad \\text{(rectify, } \\rho_t \\ge 5\\text{)}                                       &(7)\\\\
    \\theta_t &= \\theta_{t-1} - \\frac{\\gamma}{c_1} m_t \\ \\text{(degenerated_to_sgd)}, \\qquad
        \\theta_t = \\theta_{t-1} \\ \\text{(otherwise)} \\quad \\text{(rectify, } \\rho_t < 5\\text{)} &(8)

with :math:`\\rho_t, \\rho_\\infty, r_t` RAdam's (``lossopt_spec.optim.rectify``, equations (6)-(7)).
:math:`m_t` in (4) is the moment just updated in (3). The rule (and every kernel of ``lossopt.AdaBelief``)
computes its residual as :math:`g_t - m_t = \\beta_1 (g_t - m_{t-1})`, weighted by :math:`(1 - \\beta_2)\\beta_1^2`:
the same number, but a difference of two stored values, where :math:`g_t - m_t` subtracts the freshly
rounded :math:`m_t`, which dominates a small residual in float32 (g = -1, m = -1.0178, :math:`\\beta_1` = 0.5,
:math:`\\beta_2` = 0: relative error 6.6e-6 in the update against float64; it grows as the inverse of the residual).
Weight decay (2) is applied every step,
also when (8) leaves the gradient step out.

Warmup and clipping (``lossopt_spec.optim.schedule``, ``lossopt_spec.optim.clip``, as for Adam and
SGD): (0) :math:`\\gamma` is :math:`\\gamma \\, w_t` with :math:`w_t = \\min(1, t / W)` for
``warmup_steps`` :math:`W > 0`; (c) with ``max_grad_norm`` :math:`M`, :math:`g_t` is first scaled by
:math:`\\min(1, M / (n + 10^{-6}))`, :math:`n` the global gradient norm over every group. Both are off
by default.

State: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_var`` (:math:`s`, :math:`\\epsilon` included) and,
with ``amsgrad``, ``max_exp_avg_var`` (:math:`\\hat s`; ``None`` without it), as the authors' code names them.

Notes on the authors' code, followed here:

- :math:`\\epsilon` enters twice: it is added into the state :math:`s_t` every step (so it
  accumulates, :math:`s_t \\ge \\epsilon / (1 - \\beta_2)` in the limit) and again outside the
  square root. The paper's Algorithm 2 writes the first addition too.
- With ``rectify`` and ``amsgrad`` together the maximum :math:`\\hat s` is maintained but the
  rectified step (7) divides by :math:`\\sqrt{s_t}`, not :math:`\\sqrt{\\hat s_t}`: ``amsgrad`` changes
  the trajectory only with ``rectify=False``.
- (7) switches at :math:`\\rho_t \\ge 5` (RAdam in torch uses :math:`> 5`); the two differ only when
  :math:`\\rho_t` is exactly 5. Bias correction of :math:`s` in (7) sits in the step size, so
  :math:`\\epsilon` is not scaled by :math:`\\sqrt{c_2}` there, unlike (6).

Differs from the authors' code: ``maximize`` is new (the default, False, is theirs); with
``weight_decouple=False`` the authors add the L2 term into ``p.grad`` in place, leaving the
caller's gradient changed, while this rule (and ``lossopt.AdaBelief``) leaves gradients alone;
``fixed_decay=True`` with ``weight_decouple=False`` is silently ignored by the authors and an error
here (it names a decoupled decay that is not used).

Differs from other libraries (there is no AdaBelief in torch.optim):

- optax (``optax.adabelief``): adds ``eps_root`` (default 1e-16) into :math:`s` like here but
  does not carry it in the state, bias-corrects :math:`s` before the square root, has no
  rectification, no amsgrad and no weight decay (compose ``add_decayed_weights``); eps defaults
  to 1e-16 outside the root as here.
- timm (``timm.optim.AdaBelief``): follows the authors' code but computes the rectified branch
  with the bias-corrected :math:`s` and :math:`\\epsilon` outside it (so (7)'s :math:`\\epsilon` is scaled
  like (6)'s), and takes ``decoupled_decay`` / ``fixed_decay`` under other names.
- The paper's Algorithm 2 has no weight decay, amsgrad or rectification; they come from the
  authors' code.
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

ADABELIEF_DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "betas": (0.9, 0.999),
    "eps": 1e-16,
    "weight_decay": 0.0,
    "amsgrad": False,
    "weight_decouple": True,
    "fixed_decay": False,
    "rectify": True,
    "degenerated_to_sgd": True,
    "maximize": False,
    "warmup_steps": SCHEDULE_DEFAULTS["warmup_steps"],
    "max_grad_norm": CLIP_DEFAULTS["max_grad_norm"],
}

RHO_THRESHOLD = 5.0  # (7) rectify when rho_t >= 5, as the authors' code


def check_adabelief_flags(hparams: Mapping[str, Any]) -> None:
    """``fixed_decay`` changes the decoupled decay only: it is an error without ``weight_decouple``."""
    if hparams["fixed_decay"] and not hparams["weight_decouple"]:
        raise ValueError(
            "fixed_decay=True requires weight_decouple=True (it sets the decoupled decay to p *= 1 - weight_decay); "
            "got weight_decouple=False"
        )


def adabelief_init(params: Params, hparams: Mapping[str, Any]) -> State:
    """Zero moments (and the zero running maximum with ``amsgrad``) per parameter."""
    check_adabelief_flags(hparams)
    state: State = []
    for p in params:
        entry: dict[str, Any] = {
            "step": 0.0,
            "exp_avg": np.zeros_like(p, dtype=np.float64),
            "exp_avg_var": np.zeros_like(p, dtype=np.float64),
            "max_exp_avg_var": np.zeros_like(p, dtype=np.float64) if hparams["amsgrad"] else None,
        }
        state.append(entry)
    return state


def adabelief_update(
    params: Params, grads: Params, state: State, step: int, hparams: HParams, *, grad_norm: float | None = None
) -> tuple[Params, State]:
    """One AdaBelief step on a parameter group (see the module docstring for the equations)."""
    check_adabelief_flags(hparams)
    lr = scheduled_lr(step, hparams)  # (0) lr_t = lr w c
    grads = clipped_grads(grads, hparams, grad_norm)  # (c) g <- kappa g
    beta1, beta2 = hparams["betas"]
    eps = hparams["eps"]
    weight_decay = hparams["weight_decay"]
    bias_correction1 = 1.0 - beta1**step
    bias_correction2 = 1.0 - beta2**step
    rho_inf, rho_t = rho(step, beta2)
    new_params: Params = []
    new_state: State = []
    for param, grad, param_state in zip(params, grads, state, strict=True):
        param = np.asarray(param, dtype=np.float64)
        grad = np.asarray(grad, dtype=np.float64)
        if hparams["maximize"]:
            grad = -grad  # (1) g <- -g
        if hparams["weight_decouple"]:
            if hparams["fixed_decay"]:
                param = param * (1.0 - weight_decay)  # (2) p <- p (1 - wd)
            else:
                param = param * (1.0 - lr * weight_decay)  # (2) p <- p (1 - lr wd)
        elif weight_decay != 0:
            grad = grad + weight_decay * param  # (2) g <- g + wd p
        residual = grad - param_state["exp_avg"]  # (4) g - m_{t-1}, with b1^2 below: g - m_t = b1 (g - m_{t-1})
        exp_avg = beta1 * param_state["exp_avg"] + (1.0 - beta1) * grad  # (3) m <- b1 m + (1 - b1) g
        weight = (1.0 - beta2) * beta1 * beta1
        exp_avg_var = beta2 * param_state["exp_avg_var"] + weight * residual * residual  # (4) s <- b2 s + w (g - m)^2
        exp_avg_var = exp_avg_var + eps  # (4) s <- s + eps, kept in the state
        entry: dict[str, Any] = {
            "step": float(step),
            "exp_avg": exp_avg,
            "exp_avg_var": exp_avg_var,
            "max_exp_avg_var": None,
        }
        denom_var = exp_avg_var
        if hparams["amsgrad"]:
            denom_var = np.maximum(param_state["max_exp_avg_var"], exp_avg_var)  # (5) s_hat <- max(s_hat, s)
            entry["max_exp_avg_var"] = denom_var
        if not hparams["rectify"]:
            denom = np.sqrt(denom_var) / math.sqrt(bias_correction2) + eps  # (6)
            param = param - lr / bias_correction1 * exp_avg / denom  # (6)
        elif rho_t >= RHO_THRESHOLD:
            step_size = rectification(rho_t, rho_inf) * math.sqrt(bias_correction2) / bias_correction1  # (7)
            param = param - lr * step_size * exp_avg / (np.sqrt(exp_avg_var) + eps)  # (7) s, not s_hat
        elif hparams["degenerated_to_sgd"]:
            param = param - lr / bias_correction1 * exp_avg  # (8) p <- p - lr m / c1
        new_params.append(param)
        new_state.append(entry)
    return new_params, new_state


_STATE_KEYS = ("step", "exp_avg", "exp_avg_var", "max_exp_avg_var")
ADABELIEF_RULE = UpdateRule("adabelief", adabelief_init, adabelief_update, ADABELIEF_DEFAULTS, state_keys=_STATE_KEYS)
