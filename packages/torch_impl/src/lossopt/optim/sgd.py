"""SGD with momentum, dampening, Nesterov, weight decay, warmup, a cyclical learning rate and clipping.

Mirrors ``lossopt_spec.optim.sgd``; the equations and their tags (0), (c), (1)–(5) are in its docstring:

.. math::

    \\gamma_t &= \\gamma w_t c_t, \\qquad g_t \\leftarrow \\kappa g_t \\\\
    g_t &\\leftarrow -g_t \\ \\text{if maximize}, \\qquad g_t \\leftarrow g_t + \\lambda \\theta_{t-1} \\\\
    b_t &= g_t \\ (t = 1), \\qquad b_t = \\mu b_{t-1} + (1 - \\tau) g_t \\ (t > 1) \\\\
    g_t &\\leftarrow g_t + \\mu b_t \\ \\text{(Nesterov)} \\ \\text{or} \\ b_t, \\qquad
    \\theta_t = \\theta_{t-1} - \\gamma_t g_t

Sutskever et al. 2013, "On the importance of initialization and momentum in deep learning", as
``torch.optim.SGD`` implements it. :func:`sgd_update` is the per-tensor kernel; ``fused=True``:
lossopt's C kernel on float32/float64 CPU tensors when clipping or a ``GradScaler`` scales the
gradients (it only reads them), else ``torch._fused_sgd_``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import torch

from lossopt.optim._validation import check_in_closed_unit_interval, check_non_negative
from lossopt.optim.base import RuleOptimizer, constructor_arguments
from lossopt.optim.kernels import cpu, torch_fused
from lossopt.optim.scalar_ops import unless_skipped


def sgd_update(param: Any, grad: Any, momentum_buffer: Any, s: Any) -> None:
    """(3)–(5) for one tensor. ``grad`` arrives as (c) :math:`\\kappa g`, (1) negated with ``maximize``, (2) plus
    :math:`\\lambda \\theta`; ``momentum_buffer`` is ``None`` without momentum; ``s.first``: its first step."""
    if momentum_buffer is not None:
        if s.first:
            momentum_buffer.copy_(grad)  # (3) b <- g on the first step
        else:
            momentum_buffer.mul_(s.momentum).add_(grad, alpha=s.one_minus_dampening)  # (3) b <- mu b + (1 - tau) g
        if s.nesterov:
            grad = grad.add(momentum_buffer, alpha=s.nesterov_momentum)  # (4) g <- g + mu b
        else:
            grad = momentum_buffer  # (4) g <- b
    param.add_(grad, alpha=s.neg_lr)  # (5) p <- p - lr_t g


class SGD(RuleOptimizer):
    """SGD with momentum, linear warmup, a cosine cyclical learning rate and global-norm clipping.

    Args:
        params: iterable of parameters or of parameter-group dicts.
        lr: base learning rate :math:`\\gamma` (>= 0, a float or a tensor); read from ``group["lr"]`` at every
            step, never written.
        momentum: momentum factor :math:`\\mu` (>= 0).
        dampening: dampening :math:`\\tau` of the momentum, in [0, 1].
        weight_decay: L2 penalty :math:`\\lambda` added to the gradient (>= 0).
        nesterov: Nesterov momentum; needs momentum > 0 and dampening = 0.
        maximize: ascend the objective instead of descending it.
        foreach: ``True`` for the ``torch._foreach_*`` kernel, ``False`` for the per-tensor loop,
            ``None`` (default) for the multi-tensor kernel whenever every parameter is a plain strided tensor.
        differentiable: run the update under autograd (per-tensor kernel).
        warmup_steps: :math:`W`: the learning rate is scaled by :math:`\\min(1, t / W)` at step :math:`t`.
        max_grad_norm: clip the update's gradients to this global L2 norm over every group (``None``: off).
        use_cyclical_lr: after the warmup, scale the learning rate by the cosine factor
            :math:`\\tfrac12 (1 + \\cos(\\pi ((t - W - 1) \\bmod L) / L))`, restarting every ``cycle_length`` steps.
        cycle_length: :math:`L` (an integer >= 1).
        fused: one pass per step (see the module docstring); at most one of ``fused`` and ``foreach``.
        skip_nonfinite: default ``False``. ``True`` skips the whole step (every group) when the global L2 norm of the
            gradients is inf or NaN, decided on the device without a host sync: parameters, momentum
            buffers and the schedule clock keep their values (the clock then is a tensor on the
            parameters' device); ``group["skipped_steps"]`` counts the skipped steps. A parameter's first
            step, when skipped, leaves a zero momentum buffer: the next step then gives :math:`b = g`
            exactly when ``dampening = 0`` and :math:`b = (1 - \\tau) g` otherwise.

    ``torch.amp.GradScaler``: with ``fused=True`` the optimizer consumes the scaler's ``grad_scale`` and
    ``found_inf`` (the kernel unscales and skips on the device; ``max_grad_norm`` clips the unscaled
    gradients, once); otherwise the scaler unscales the gradients and skips ``step()`` itself.

    State per parameter: ``momentum_buffer`` (only when momentum != 0), as torch, so the ``state_dict``
    of either optimizer loads into the other; with the extras off each step equals ``torch.optim.SGD``.
    Clipping leaves ``p.grad`` untouched, except where ``fused=True`` runs torch's kernel (CUDA,
    float16/bfloat16, no C compiler), which writes the rescaled gradient back (see :class:`~lossopt.optim.Adam`,
    which also documents non-finite norms: the same here). Sparse gradients are refused (``ValueError``,
    also a ``RuntimeError``); torch's SGD accepts them.

    Differs from the original design: the warmup factor is :math:`\\min(1, t / W)` with 1-based
    :math:`t`, and neither it nor the cosine factor is written into ``group['lr']`` (the design reset
    every group to the constructor's lr, fighting schedulers and per-group rates); the clip norm covers
    every group; the closure runs once.

    Example:
        >>> import torch
        >>> from lossopt.optim import SGD
        >>> w = torch.nn.Parameter(torch.zeros(1))
        >>> opt = SGD([w], lr=1.0, warmup_steps=2, use_cyclical_lr=True, cycle_length=2)
        >>> for _ in range(4):
        ...     w.grad = torch.ones(1)
        ...     opt.step()
        ...     print(round(-w.item(), 3))  # cumulative lr: 0.5, 1.5, 2.5 (cycle start), 3.0 (cos(pi/2) half)
        0.5
        1.5
        2.5
        3.0
    """

    flag_defaults: ClassVar[Mapping[str, Any]] = {
        "nesterov": False,
        "maximize": False,
        "foreach": None,
        "differentiable": False,
        "fused": None,
    }
    counts_steps = False
    group_keys = frozenset({"momentum", "dampening", "nesterov"})
    fused_amp_scaling = True
    first_step_differs = True
    complex_as_real = False  # real scalars times complex tensors, as torch.optim.SGD
    foreach_ops = ("add_", "add", "mul_", "neg", "copy_")
    fused_kernels = (cpu.sgd, torch_fused.sgd)
    state_names = ("momentum_buffer",)  # type: ignore[assignment]
    update = staticmethod(sgd_update)

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float | torch.Tensor = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        warmup_steps: int = 0,
        max_grad_norm: float | None = None,
        use_cyclical_lr: bool = False,
        cycle_length: int = 1000,
        fused: bool | None = None,
        skip_nonfinite: bool = False,
    ) -> None:
        super().__init__(params, constructor_arguments(locals()))

    def new_state(self, name: str, param: torch.Tensor, group: Mapping[str, Any]) -> torch.Tensor | None:
        if group["momentum"] == 0:
            return None  # torch keeps no buffer without momentum
        grad = param.grad if param.grad is not None else param
        return torch.zeros_like(grad, memory_format=torch.preserve_format)  # seeded with g by the first step (3)

    def validated(self, hyper: dict[str, Any]) -> dict[str, Any]:
        checked = {
            "lr": check_non_negative("learning rate", hyper["lr"], tensor=True),
            "momentum": check_non_negative("momentum value", hyper["momentum"]),
            "dampening": check_in_closed_unit_interval("dampening value", hyper["dampening"]),
            "weight_decay": check_non_negative("weight_decay value", hyper["weight_decay"]),
        }
        if hyper["nesterov"] is True and (checked["momentum"] <= 0 or checked["dampening"] != 0):
            raise ValueError(
                f"Nesterov momentum requires a momentum > 0 and zero dampening; got momentum={checked['momentum']}, "
                f"dampening={checked['dampening']}"
            )
        return {**hyper, **checked}

    def coupled_decay(self, group: Mapping[str, Any]) -> float:
        return float(group["weight_decay"])  # (2) g <- g + wd p

    def scalars(self, group: Mapping[str, Any], t: Any, lr: Any, skip: torch.Tensor | None) -> dict[str, Any]:
        """(3)–(5): a skipped step keeps the buffer (mu = 1, g = 0) and the parameter (lr = 0)."""
        return {
            "momentum": unless_skipped(skip, group["momentum"], 1.0),  # (3)
            "one_minus_dampening": 1 - group["dampening"],  # (3)
            "nesterov": bool(group["nesterov"]),  # (4)
            "nesterov_momentum": group["momentum"],  # (4)
            "neg_lr": unless_skipped(skip, -lr, 0.0),  # (5)
        }


AdvancedSGD = SGD  # the design document's name

__all__ = ["SGD", "AdvancedSGD", "sgd_update"]
