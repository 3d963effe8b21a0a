"""The scalars of the Adam family's moment updates (Adam, AdamW, RAdam, AdaBelief), written once.

.. math::

    \\theta \\leftarrow \\theta (1 - \\gamma_t \\lambda) \\ \\text{(decoupled)}, \\qquad
    m \\leftarrow \\beta_1 m + (1 - \\beta_1) g, \\qquad v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2

(equations (2)–(4) of ``lossopt_spec.optim.adam``, ``radam`` and ``adabelief``). On a step that
``found_inf`` skips, their "no change" values: a decay of 1, :math:`1 - \\beta_1 = 0`, :math:`\\beta_2 = 1`
(the gradient is 0 then, so :math:`1 - \\beta_2` may stay).

:class:`AdamFamily`: what the rules of this family share besides those scalars: the checks of ``lr``,
``betas``, ``eps`` and ``weight_decay``, and L2 decay unless the group decouples it.
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
