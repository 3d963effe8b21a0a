"""The scalars of the Adam family's moment updates (Adam, AdamW, RAdam, AdaBelief), and Adam's step, written once.

.. math::

    \\theta \\leftarrow \\theta (1 - \\gamma_t \\lambda) \\ \\text{(decoupled)}, \\qquad
    m \\leftarrow \\beta_1 m + (1 - \\beta_1) g, \\qquad v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2

(equations (2)–(4) of ``lossopt_spec.optim.adam``, ``radam`` and ``adabelief``). On a step that
``found_inf`` skips, their "no change" values: a decay of 1, :math:`1 - \\beta_1 = 0`, :math:`\\beta_2 = 1`
(the gradient is 0 then, so :math:`1 - \\beta_2` may stay).

:class:`AdamFamily`: what the rules of this family share besides those scalars: the checks of ``lr``,
``betas``, ``eps`` and ``weight_decay``, and L2 decay unless the group decouples it.

:func:`adam_update` and :func:`adam_scalars`: Adam's per-tensor step (2)–(8) and its scalars, mirroring
``lossopt_spec.optim.moments``: :class:`~lossopt.optim.adam.Adam` runs them on every group, Muon on its AdamW
groups (``use_muon=False``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from lossopt.optim._validation import check_adam_family
from lossopt.optim.base import RuleOptimizer
from lossopt.optim.scalar_ops import unless_skipped


class AdamFamily(RuleOptimizer):
    """A rule with Adam's ``lr``, ``betas``, ``eps`` and ``weight_decay``: their checks, and L2 decay (2) unless the
    group's :attr:`decoupled_flag` says the rule decays the parameter itself."""

    decoupled_flag: ClassVar[str] = "decoupled_weight_decay"

    def validated(self, hyper: dict[str, Any]) -> dict[str, Any]:
        return {**hyper, **check_adam_family(hyper["lr"], hyper["betas"], hyper["eps"], hyper["weight_decay"])}

    def coupled_decay(self, group: Mapping[str, Any]) -> float:
        return 0.0 if group[self.decoupled_flag] else float(group["weight_decay"])  # (2) g <- g + wd p


def moment_scalars(betas: tuple[float, float], decay: Any, skip: torch.Tensor | None) -> dict[str, Any]:
    """``decay`` (the decoupled factor, ``None`` for none), ``one_minus_beta1``, ``beta2``, ``one_minus_beta2``."""
    beta1, beta2 = betas
    return {
        "decay": None if decay is None else unless_skipped(skip, decay, 1.0),  # (2) p <- p (1 - lr wd)
        "one_minus_beta1": unless_skipped(skip, 1 - beta1, 0.0),  # (3) m <- b1 m + (1 - b1) g
        "beta2": unless_skipped(skip, beta2, 1.0),  # (4) v <- b2 v + (1 - b2) g^2
        "one_minus_beta2": 1 - beta2,  # (4) (a skipped step's g is 0)
    }


def adam_update(param: Any, grad: Any, exp_avg: Any, exp_avg_sq: Any, max_exp_avg_sq: Any, s: Any) -> None:
    """(2)–(8) for one tensor. ``grad`` arrives as (c) :math:`\\kappa g`, (1) negated with ``maximize``, (2) plus
    :math:`\\lambda \\theta` for Adam's L2 decay; ``s`` holds this step's scalars (:func:`adam_scalars`)."""
    if s.decay is not None:
        param.mul_(s.decay)  # (2) p <- p (1 - lr wd) (AdamW)
    exp_avg.lerp_(grad, s.one_minus_beta1)  # (3) m <- b1 m + (1 - b1) g
    exp_avg_sq.mul_(s.beta2).addcmul_(grad, grad, value=s.one_minus_beta2)  # (4) v <- b2 v + (1 - b2) g^2
    if max_exp_avg_sq is not None:
        max_exp_avg_sq.maximum_(exp_avg_sq)  # (5) vmax <- max(vmax, v)
        exp_avg_sq = max_exp_avg_sq  # (5) vhat = vmax; vhat = v otherwise
    denom = exp_avg_sq.sqrt().div_(s.bias_correction2_sqrt).add_(s.eps)  # (7) d = sqrt(vhat) / sqrt(b2) + eps
    param.addcdiv_(exp_avg, denom, value=s.neg_step_size)  # (8) p <- p - lr / b1 m / d


def adam_scalars(
    group: Mapping[str, Any], t: Any, lr: Any, skip: torch.Tensor | None, *, decoupled: bool, bias_correction: bool
) -> dict[str, Any]:
    """(6)–(8) for step ``t`` from the group's ``betas``, ``eps`` and ``weight_decay`` (``decoupled``: AdamW's (2));
    a skipped step keeps every tensor (betas 1, no decay, a step of 0)."""
    beta1, beta2 = group["betas"]
    bias_correction1 = 1 - beta1**t if bias_correction else 1.0  # (6) b1 = 1 - beta1^t
    bias_correction2 = 1 - beta2**t if bias_correction else 1.0  # (6) b2 = 1 - beta2^t
    return {
        **moment_scalars(group["betas"], 1 - lr * group["weight_decay"] if decoupled else None, skip),  # (2)-(4)
        "bias_correction2_sqrt": bias_correction2**0.5,  # (7)
        "eps": group["eps"],  # (7)
        "neg_step_size": unless_skipped(skip, -(lr / bias_correction1), 0.0),  # (8) -lr / b1
    }
