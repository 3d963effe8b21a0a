"""Lion (Chen et al. 2023, arXiv:2302.06675, Algorithm 2): mirrors ``lossopt_spec.optim.lion``.

The equations and their tags (0), (c), (1)–(5) are in the spec's docstring:

.. math::

    \\theta \\leftarrow \\theta (1 - \\gamma_t \\lambda), \\quad
    \\theta \\leftarrow \\theta - \\gamma_t \\operatorname{sign}(\\beta_1 m + (1 - \\beta_1) g), \\quad
    m \\leftarrow \\beta_2 m + (1 - \\beta_2) g

:func:`lion_update` is the per-tensor kernel, with ``lion-pytorch``'s operations (its results bit for bit on
the per-tensor and multi-tensor kernels). It reads p, g, m and writes p, m: 20 bytes per float32 parameter
against AdamW's 28. ``fused=True``: the update compiled by ``torch.compile`` into one pass per tensor
(``lossopt.optim.kernels.compiled``; the multi-tensor kernel where Inductor has no C++ compiler).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import torch

from lossopt.optim._validation import check_betas, check_non_negative
from lossopt.optim.base import RuleOptimizer, constructor_arguments
from lossopt.optim.kernels import compiled
from lossopt.optim.scalar_ops import unless_skipped


def lion_update(param: Any, grad: Any, exp_avg: Any, s: Any) -> None:
    """(2)–(5) for one tensor. ``grad`` arrives as (c) :math:`\\kappa g`, (1) negated with ``maximize``; ``s`` holds
    this step's scalars (:meth:`Lion.scalars`)."""
    if s.decay is not None:
        param.mul_(s.decay)  # (2) p <- p (1 - lr wd)
    update = exp_avg.mul(s.beta1).add_(grad, alpha=s.one_minus_beta1).sign_()  # (3) sign(b1 m + (1 - b1) g)
    param.add_(update, alpha=s.neg_lr)  # (4) p <- p - lr sign(c)
    exp_avg.mul_(s.beta2).add_(grad, alpha=s.one_minus_beta2)  # (5) m <- b2 m + (1 - b2) g


class Lion(RuleOptimizer):
    """Lion, equal to ``lion_pytorch.Lion`` 0.2.5 (the authors' package), with warmup, clipping and ``maximize``.

    Args:
        params: iterable of parameters or of parameter-group dicts.
        lr: learning rate :math:`\\gamma` (>= 0, a float or a tensor): every coordinate moves by :math:`\\gamma`, so
            it is typically 3 to 10 times smaller than AdamW's.
        betas: :math:`(\\beta_1, \\beta_2)`, each in [0, 1): the interpolation whose sign is the step, and the
            momentum's decay.
        weight_decay: :math:`\\lambda` (>= 0), decoupled: :math:`\\theta \\leftarrow \\theta (1 - \\gamma_t \\lambda)`.
        maximize: ascend the objective.
        foreach: ``True`` for the ``torch._foreach_*`` kernel, ``False`` for the per-tensor loop, ``None`` (default)
            for the multi-tensor kernel whenever every parameter is a plain strided tensor.
        fused: one pass per step (module docstring); at most one of ``fused`` and ``foreach``.
        warmup_steps: :math:`W`: the learning rate is :math:`\\gamma \\min(1, t / W)` at step :math:`t`.
        max_grad_norm: clip the update's gradients to this global L2 norm over every group (``None``: off); the
            sign makes the step independent of the gradient's scale, the momentum is not.
        skip_nonfinite: ``True`` skips the whole step when the global gradient norm is inf or NaN, on the device.

    A NaN gradient gives a NaN momentum, whose sign torch takes as 0: the parameter then stops moving, silently
    (as the authors' code); ``skip_nonfinite=True`` keeps such a step out. ``torch.amp.GradScaler`` unscales the
    gradients and skips ``step()`` itself. State per parameter: ``exp_avg``, as the authors' code (no ``step``).

    Example:
        >>> import torch
        >>> from lossopt import Lion
        >>> w = torch.nn.Parameter(torch.zeros(3))
        >>> opt = Lion([w], lr=0.01)
        >>> w.grad = torch.tensor([0.5, -3.0, 0.0])
        >>> opt.step()  # the sign of (1 - b1) g: every coordinate moves by lr
        >>> w.data
        tensor([-0.0100,  0.0100,  0.0000])
    """

    flag_defaults: ClassVar[Mapping[str, Any]] = {"maximize": False, "foreach": None, "fused": None}
    counts_steps = False
    group_keys = frozenset({"betas"})
    foreign_keys = frozenset({"eps", "momentum", "weight_decouple"})
    required_state = ("exp_avg",)
    foreach_ops = ("add_", "mul_", "mul", "sign_")
    fused_kernels = (compiled.compiled,)
    state_names = ("exp_avg",)  # type: ignore[assignment]
    update = staticmethod(lion_update)

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float | torch.Tensor = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
        warmup_steps: int = 0,
        max_grad_norm: float | None = None,
        skip_nonfinite: bool = False,
    ) -> None:
        super().__init__(params, constructor_arguments(locals()))

    def validated(self, hyper: dict[str, Any]) -> dict[str, Any]:
        return {
            **hyper,
            "lr": check_non_negative("learning rate", hyper["lr"], tensor=True),
            "betas": check_betas(hyper["betas"]),
            "weight_decay": check_non_negative("weight_decay value", hyper["weight_decay"]),
        }

    def scalars(self, group: Mapping[str, Any], t: Any, lr: Any, skip: torch.Tensor | None) -> dict[str, Any]:
        """(2)–(5): a skipped step keeps every tensor (no decay, a step of 0, the momentum's decay 1)."""
        beta1, beta2 = group["betas"]
        decay = None if group["weight_decay"] == 0 else unless_skipped(skip, 1 - lr * group["weight_decay"], 1.0)
        return {
            "decay": decay,  # (2) p <- p (1 - lr wd)
            "beta1": beta1,  # (3)
            "one_minus_beta1": 1 - beta1,  # (3)
            "neg_lr": unless_skipped(skip, -lr, 0.0),  # (4)
            "beta2": unless_skipped(skip, beta2, 1.0),  # (5)
            "one_minus_beta2": 1 - beta2,  # (5) (a skipped step's g is 0)
        }


__all__ = ["Lion", "lion_update"]
