"""ADOPT (Taniguchi et al. 2024, arXiv:2411.02853): mirrors ``lossopt_spec.optim.adopt``.

The equations and their tags (0), (c), (1)–(9) are in the spec's docstring:

.. math::

    n_t = \\operatorname{clip}\\!\\left(\\frac{g_t}{\\max(\\sqrt{v_{t-1}}, \\epsilon)}, \\pm (t - 1)^{1/4}\\right),
    \\quad
    m_t = \\operatorname{lerp}(m_{t-1}, n_t, 1 - \\beta_1), \\quad \\theta_t = \\theta - \\gamma_t m_t, \\quad
    v_t = \\beta_2 v_{t-1} + (1 - \\beta_2) g_t^2

and at a parameter's first step only :math:`v_1 = v_0 + g_1^2`. :func:`adopt_update` is the per-tensor kernel,
with the authors' operations. A state created at this step (``s.first``) takes only (3); a loaded state at
step 0 takes the first step as data: its scalars make every other change nothing (a lerp weight of 0, a step
of 0, a divisor floor of 1). ``fused=True``: the update compiled by
``torch.compile`` into one pass per tensor (``lossopt.optim.kernels.compiled``; the multi-tensor kernel where
Inductor has no C++ compiler).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import torch

from lossopt.optim._validation import ArgumentTypeError, check_adam_family
from lossopt.optim.base import RuleOptimizer, constructor_arguments
from lossopt.optim.kernels import compiled
from lossopt.optim.scalar_ops import unless_skipped, where


def adopt_clip(steps_before: Any) -> Any:
    """(6) the authors' clip value after ``steps_before`` earlier steps of a parameter: :math:`s^{1/4}`."""
    return steps_before**0.25


def adopt_update(param: Any, grad: Any, exp_avg: Any, exp_avg_sq: Any, s: Any) -> None:
    """(3)–(9) for one tensor. ``grad`` arrives as (c) :math:`\\kappa g`, (1) negated with ``maximize``, (2) plus
    :math:`\\lambda \\theta` for L2; ``s`` holds this step's scalars (:meth:`ADOPT.scalars`)."""
    if s.first:  # (3) a state created at this step: v <- v + g^2 only, m and p untouched whatever g holds
        exp_avg_sq.addcmul_(grad, grad)
        return
    if s.neg_decay is not None:
        param.add_(param, alpha=s.neg_decay)  # (4) p <- p - lr wd p (decouple)
    denom = exp_avg_sq.sqrt().clamp_(min=s.floor)  # (5) max(sqrt(v), eps)
    normalized = grad.div(denom)  # (5) n = g / max(sqrt(v), eps)
    if s.clip is not None:
        normalized.clamp_(min=s.neg_clip, max=s.clip)  # (6) n <- clip(n, -c, c)
    exp_avg.lerp_(normalized, s.one_minus_beta1)  # (7) m <- lerp(m, n, 1 - b1)
    param.add_(exp_avg, alpha=s.neg_lr)  # (8) p <- p - lr m
    exp_avg_sq.mul_(s.beta2).addcmul_(grad, grad, value=s.one_minus_beta2)  # (3), (9) v <- b2 v + (1 - b2) g^2


class ADOPT(RuleOptimizer):
    """ADOPT, equal to the authors' ``adopt.ADOPT`` (``torch-adopt`` 0.1.0) step for step, to rounding.

    Args:
        params: iterable of parameters or of parameter-group dicts.
        lr: learning rate :math:`\\gamma` (>= 0, a float or a tensor).
        betas: :math:`(\\beta_1, \\beta_2)`, each in [0, 1).
        eps: :math:`\\epsilon` (>= 0), the floor of :math:`\\sqrt{v}`.
        clip_lambda: the clip value as a function of a parameter's earlier steps (default :math:`s^{1/4}`, the
            authors'); ``None``: no clipping. A callable, kept out of ``defaults`` and the state dict as the
            authors' code keeps it; with ``skip_nonfinite`` it is called with a tensor of steps.
        weight_decay: :math:`\\lambda` (>= 0): L2 added to the gradient, or with ``decouple``
            :math:`\\theta \\leftarrow \\theta - \\gamma_t \\lambda \\theta` (not at the first step, as the authors').
        decouple: decoupled weight decay.
        maximize: ascend the objective.
        foreach: ``True`` for the ``torch._foreach_*`` kernel, ``False`` for the per-tensor loop, ``None`` (default)
            for the multi-tensor kernel whenever every parameter is a plain strided tensor.
        fused: one pass per step (module docstring); at most one of ``fused`` and ``foreach``.
        warmup_steps: :math:`W`: the learning rate is :math:`\\gamma \\min(1, t / W)` at step :math:`t`.
        max_grad_norm: clip the update's gradients to this global L2 norm over every group (``None``: off).
        skip_nonfinite: ``True`` skips the whole step when the global gradient norm is inf or NaN, on the device:
            parameters, moments, the ``step`` counters and the warmup clock keep their values.

    A parameter's first step only records :math:`v = g^2`: the parameter moves from the second step on.
    ``torch.amp.GradScaler`` unscales the gradients and skips ``step()`` itself. State per parameter, named as
    the authors' code: ``step`` (0-dim float32 tensor on the CPU), ``exp_avg``, ``exp_avg_sq``.

    Example:
        >>> import torch
        >>> from lossopt import ADOPT
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> opt = ADOPT([w], lr=0.1)
        >>> for g in ([2.0, -1.0], [2.0, -1.0]):
        ...     w.grad = torch.tensor(g)
        ...     opt.step()  # step 1: v = g^2 only; step 2: n = g / |g| clipped to 1, m = 0.1 n
        >>> w.data
        tensor([-0.0100,  0.0100])
    """

    flag_defaults: ClassVar[Mapping[str, Any]] = {"decouple": False, "maximize": False, "foreach": None, "fused": None}
    first_step_differs = True  # a non-finite first gradient must not reach m and p through a weight of 0
    group_keys = frozenset({"betas", "decouple"})
    foreign_keys = frozenset({"amsgrad", "decoupled_weight_decay", "weight_decouple", "rectify", "momentum"})
    required_state = ("step", "exp_avg", "exp_avg_sq")
    foreach_ops = ("add_", "mul_", "addcmul_", "sqrt", "div", "lerp_", "clamp_min_", "clamp_max_")
    fused_kernels = (compiled.compiled,)
    state_names = ("exp_avg", "exp_avg_sq")  # type: ignore[assignment]
    update = staticmethod(adopt_update)

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float | torch.Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.9999),
        eps: float = 1e-6,
        clip_lambda: Callable[[Any], Any] | None = adopt_clip,
        weight_decay: float = 0.0,
        decouple: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        fused: bool | None = None,
        warmup_steps: int = 0,
        max_grad_norm: float | None = None,
        skip_nonfinite: bool = False,
    ) -> None:
        arguments = constructor_arguments(locals())
        if clip_lambda is not None and not callable(clip_lambda):
            raise ArgumentTypeError(
                f"Invalid clip_lambda: {clip_lambda!r} (must be a callable of a parameter's earlier steps, such as "
                f"lambda step: step ** 0.25, or None; got {type(clip_lambda).__name__})"
            )
        self.clip_lambda = arguments.pop("clip_lambda")  # not in defaults nor the state dict, as the authors'
        super().__init__(params, arguments)

    def validated(self, hyper: dict[str, Any]) -> dict[str, Any]:
        return {**hyper, **check_adam_family(hyper["lr"], hyper["betas"], hyper["eps"], hyper["weight_decay"])}

    def coupled_decay(self, group: Mapping[str, Any]) -> float:
        return 0.0 if group["decouple"] else float(group["weight_decay"])  # (2) g <- g + wd p

    def scalars(self, group: Mapping[str, Any], t: Any, lr: Any, skip: torch.Tensor | None) -> dict[str, Any]:
        """(3)–(9) for step ``t``; the first step and a skipped one keep every tensor but :math:`v` (first: + g^2)."""
        beta1, beta2 = group["betas"]
        first = t == 1  # (3) a parameter's first step only records v
        clip = None if self.clip_lambda is None else self.clip_lambda(t - 1)  # (6) c = clip(steps before)
        decoupled = group["decouple"] and group["weight_decay"] != 0
        neg_decay = unless_skipped(skip, where(first, 0.0, -lr * group["weight_decay"]), 0.0) if decoupled else None
        return {
            "neg_decay": neg_decay,  # (4)
            "floor": where(first, 1.0, group["eps"]),  # (5) (first: any floor > 0, its n has weight 0)
            "clip": clip,  # (6)
            "neg_clip": None if clip is None else -clip,
            "one_minus_beta1": unless_skipped(skip, where(first, 0.0, 1 - beta1), 0.0),  # (7)
            "neg_lr": unless_skipped(skip, where(first, 0.0, -lr), 0.0),  # (8)
            "beta2": unless_skipped(skip, where(first, 1.0, beta2), 1.0),  # (3), (9)
            "one_minus_beta2": where(first, 1.0, 1 - beta2),  # (3), (9) (a skipped step's g is 0)
        }


__all__ = ["ADOPT", "adopt_clip", "adopt_update"]
