"""One Adam / AdamW step of one tensor: equations (1)–(8) of :mod:`lossopt_spec.optim.adam`, shared by two rules.

:mod:`~lossopt_spec.optim.adam` runs it on every tensor of its groups; :mod:`~lossopt_spec.optim.muon` on the
tensors of its AdamW groups (``use_muon=False``, as Jordan's ``MuonWithAuxAdam``), with decoupled decay,
bias correction and no AMSGrad. The equations, their tags and the papers are in ``adam.py``'s docstring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def adam_tensor_step(
    param: np.ndarray,
    grad: np.ndarray,
    param_state: Mapping[str, Any],
    step: int,
    lr: float,
    hparams: Mapping[str, Any],
    *,
    decoupled_weight_decay: bool,
) -> tuple[np.ndarray, dict[str, Any]]:
    """(1)–(8) for one tensor at step ``step`` and rate ``lr`` (already scheduled); ``grad`` already clipped.

    ``hparams``: ``betas``, ``eps``, ``weight_decay``, ``maximize``, ``amsgrad``, ``use_bias_correction``
    (the last three default to off, off, on). Returns the new parameter and its state.
    """
    beta1, beta2 = hparams["betas"]
    weight_decay = hparams["weight_decay"]
    param = np.asarray(param, dtype=np.float64)
    if hparams.get("maximize", False):
        grad = -grad  # (1) g <- -g
    if weight_decay != 0:
        if decoupled_weight_decay:
            param = param * (1 - lr * weight_decay)  # (2) p <- p (1 - lr wd)
        else:
            grad = grad + weight_decay * param  # (2) g <- g + wd p
    exp_avg = beta1 * param_state["exp_avg"] + (1 - beta1) * grad  # (3) m <- b1 m + (1 - b1) g
    exp_avg_sq = beta2 * param_state["exp_avg_sq"] + (1 - beta2) * grad * grad  # (4) v <- b2 v + (1 - b2) g^2
    max_exp_avg_sq = None
    if hparams.get("amsgrad", False):
        max_exp_avg_sq = np.maximum(param_state["max_exp_avg_sq"], exp_avg_sq)  # (5) vmax <- max(vmax, v)
        second = max_exp_avg_sq
    else:
        second = exp_avg_sq  # (5) vhat = v
    if hparams.get("use_bias_correction", True):
        bias_correction1 = 1 - beta1**step  # (6) b1 = 1 - beta1^t
        bias_correction2 = 1 - beta2**step  # (6) b2 = 1 - beta2^t
    else:
        bias_correction1 = bias_correction2 = 1.0  # (6) b1 = b2 = 1
    denom = np.sqrt(second) / math.sqrt(bias_correction2) + hparams["eps"]  # (7) d = sqrt(vhat) / sqrt(b2) + eps
    new_param = param - (lr / bias_correction1) * exp_avg / denom  # (8) p <- p - lr / b1 m / d
    return new_param, {
        "step": float(step),
        "exp_avg": exp_avg,
        "exp_avg_sq": exp_avg_sq,
        "max_exp_avg_sq": max_exp_avg_sq,
    }
