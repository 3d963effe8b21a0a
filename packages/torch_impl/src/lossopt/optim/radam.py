"""RAdam (Liu et al. 2020, arXiv:1908.03265): Adam with its adaptive learning rate rectified.

Mirrors ``lossopt_spec.optim.radam``; the equations and their tags (0), (c), (1)–(8) are in its
docstring (:math:`\\rho_t`, :math:`r_t`: ``lossopt.optim.rectify``):

.. math::

    m_t &= \\beta_1 m_{t-1} + (1 - \\beta_1) g_t, \\qquad v_t = \\beta_2 v_{t-1} + (1 - \\beta_2) g_t^2 \\\\
    \\theta_t &= \\theta_{t-1} - \\gamma \\frac{m_t}{1 - \\beta_1^t}
        \\begin{cases} r_t \\sqrt{1 - \\beta_2^t} / (\\sqrt{v_t} + \\epsilon) & \\rho_t > 5 \\\\
        1 \\ \\text{(or 0 without degenerated\\_to\\_sgd)} & \\rho_t \\le 5 \\end{cases}

:func:`radam_update` writes both branches as one statement,
:math:`\\theta \\leftarrow \\theta - a \\, m / (k \\sqrt{v} + c)`, with per-tensor scalars
:math:`(k, c, a)`: :math:`(1, \\epsilon, \\gamma r_t \\sqrt{1 - \\beta_2^t} / (1 - \\beta_1^t))` in (7),
:math:`(0, 1, \\gamma / (1 - \\beta_1^t))` in (8) (:math:`a = 0` without ``degenerated_to_sgd``), so
the branch is data (no Python branch on a counter of the device path). ``fused=True``: the
rectified step (7) is Adam's with the learning rate :math:`\\gamma r_t \\sqrt{1 - \\beta_2^t} / (1 - \\beta_1^t)`
and bias corrections of 1, so it runs on ``torch._fused_adam(w)_``; the un-adapted steps (8) (the
first 5 with the default betas, every step when :math:`\\beta_2 \\le 2/3`) run on the multi-tensor kernel.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import torch

from lossopt.optim.base import constructor_arguments
from lossopt.optim.kernels import torch_fused
from lossopt.optim.moments import AdamFamily, moment_scalars
from lossopt.optim.rectify import rectification, rho
from lossopt.optim.scalar_ops import sqrt, unless_skipped, where

RHO_THRESHOLD = 5.0  # (7) rectify when rho_t > 5, as torch


def radam_update(param: Any, grad: Any, exp_avg: Any, exp_avg_sq: Any, s: Any) -> None:
    """(2)–(8) for one tensor. ``grad`` arrives as (c) :math:`\\kappa g`, (1) negated with ``maximize``, (2) plus
    :math:`\\lambda \\theta` for L2; ``s`` holds this step's scalars (:meth:`RAdam.scalars`)."""
    if s.decay is not None:
        param.mul_(s.decay)  # (2) p <- p (1 - lr wd) (decoupled)
    exp_avg.lerp_(grad, s.one_minus_beta1)  # (3) m <- b1 m + (1 - b1) g
    exp_avg_sq.mul_(s.beta2).addcmul_(grad, grad, value=s.one_minus_beta2)  # (4) v <- b2 v + (1 - b2) g^2
    denom = exp_avg_sq.sqrt().mul_(s.k).add_(s.c)  # (7) sqrt(v) + eps, or 1 in (8)
    param.addcdiv_(exp_avg, denom, value=s.neg_a)  # (7)/(8) p <- p - a m / denom


def rectified_factor(t: float, beta2: float) -> float | None:
    """:math:`r_t \\sqrt{1 - \\beta_2^t}` where the step is rectified (7), ``None`` in (8)."""
    rho_inf, rho_t = rho(t, beta2)  # (6)
    return rectification(rho_t, rho_inf) * math.sqrt(1 - beta2**t) if rho_t > RHO_THRESHOLD else None


def radam_fused_arguments(group: Mapping[str, Any], t: float | None, lr: Any) -> dict[str, Any] | None:
    """Adam's kernel arguments for the rectified step (7): lr scaled, bias corrections 1; ``None`` in (8)."""
    beta1, beta2 = group["betas"]
    factor = rectified_factor(t, beta2) if t is not None else None
    if factor is None:
        return None
    factor /= 1 - beta1**t  # type: ignore[operator]
    decoupled = group["decoupled_weight_decay"]
    rate = (lr.to(torch.float64) * factor) if isinstance(lr, torch.Tensor) else lr * factor
    # decoupled: the kernel's 1 - lr' wd' must be 1 - lr wd, so wd' = wd / factor
    weight_decay = group["weight_decay"] / factor if decoupled else group["weight_decay"]
    return {"lr": rate, "step": math.inf, "weight_decay": weight_decay, "amsgrad": False}


class RAdam(AdamFamily):
    """Rectified Adam, step for step equal to ``torch.optim.RAdam`` with the defaults.

    Args:
        params: iterable of parameters or of parameter-group dicts.
        lr: learning rate :math:`\\gamma` (>= 0, a float or a tensor).
        betas: :math:`(\\beta_1, \\beta_2)`, each in [0, 1).
        eps: :math:`\\epsilon` added to :math:`\\sqrt{v}` (>= 0).
        weight_decay: :math:`\\lambda` (>= 0): L2 added to the gradient, or decoupled (below).
        degenerated_to_sgd: while :math:`\\rho_t \\le 5` take the un-adapted momentum step
            :math:`\\gamma m_t / (1 - \\beta_1^t)` (``True``, torch's behaviour) or no gradient step at all
            (``False``; the moments still update and weight decay still applies, see the spec).
        decoupled_weight_decay: :math:`\\theta \\leftarrow \\theta (1 - \\gamma\\lambda)` instead of L2 (AdamW-style).
        maximize: ascend the objective.
        foreach: ``True`` for the ``torch._foreach_*`` kernel, ``False`` for the per-tensor loop,
            ``None`` (default) for the multi-tensor kernel whenever every parameter is a plain strided tensor.
        fused: one pass over p, g, m, v for the rectified step (see the module docstring); nothing is
            compiled. ``fused`` and ``foreach`` cannot both be ``True``.
        warmup_steps: linear warmup :math:`\\gamma_t = \\gamma \\min(1, t / W)` (0: off), as in AdamW.
        max_grad_norm: clip the update's gradients to this global L2 norm over every group
            (``None``: off); ``p.grad`` is left as it was.
        skip_nonfinite: default ``False``. ``True`` skips the whole step (every group) when the global L2 norm of the
            gradients is inf or NaN, decided on the device without a host sync: parameters, ``exp_avg``,
            ``exp_avg_sq``, the ``step`` counters and the warmup clock keep their values;
            ``group["skipped_steps"]`` counts the skipped steps. The counters and the clock then live on
            the parameters' device.

    ``torch.amp.GradScaler`` unscales the gradients and skips ``step()`` itself (the fused path picks the
    :math:`\\rho_t` branch on the host from the CPU step counters, which a device-side ``found_inf`` would
    have to set back on the device).

    State per parameter: ``step`` (0-dim float32 tensor on the CPU), ``exp_avg``, ``exp_avg_sq``, as
    ``torch.optim.RAdam``, so either optimizer's ``state_dict`` loads into the other.

    Differs from the original design: its ``RAdam.step`` scaled the step by :math:`\\rho_t / (\\rho_t - 4)`
    instead of :math:`r_t` and applied each bias correction twice; here the step is the paper's, as torch
    and the authors' code.

    Example:
        >>> import torch
        >>> from lossopt import RAdam
        >>> p = torch.tensor([1.0, -1.0], requires_grad=True)
        >>> opt = RAdam([p], lr=0.1)
        >>> p.grad = torch.tensor([0.5, 0.5])
        >>> _ = opt.step()  # rho_1 = 1 <= 5: the momentum step p - lr m / (1 - b1) = p - 0.1 * 0.5
        >>> p.detach()
        tensor([ 0.9500, -1.0500])
    """

    flag_defaults: ClassVar[Mapping[str, Any]] = {
        "degenerated_to_sgd": True,
        "decoupled_weight_decay": False,
        "maximize": False,
        "foreach": None,
        "fused": None,
    }
    host_arithmetic = False
    group_keys = frozenset({"betas", "decoupled_weight_decay"})
    foreign_keys = frozenset({"amsgrad", "weight_decouple", "rectify", "momentum"})
    required_state = ("step", "exp_avg", "exp_avg_sq")
    fused_kernels = (torch_fused.adam(radam_fused_arguments, host_step=True),)
    state_names = ("exp_avg", "exp_avg_sq")  # type: ignore[assignment]
    update = staticmethod(radam_update)

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float | torch.Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        degenerated_to_sgd: bool = True,
        *,
        decoupled_weight_decay: bool = False,
        maximize: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
        warmup_steps: int = 0,
        max_grad_norm: float | None = None,
        skip_nonfinite: bool = False,
    ) -> None:
        super().__init__(params, constructor_arguments(locals()))

    def scalars(self, group: Mapping[str, Any], t: Any, lr: Any, skip: torch.Tensor | None) -> dict[str, Any]:
        """(6)–(8) as :math:`(k, c, a)` (module docstring); a skipped step keeps every tensor."""
        beta1, beta2 = group["betas"]
        bias_correction1 = 1 - beta1**t
        rho_inf, rho_t = rho(t, beta2)  # (6)
        adaptive = rho_t > RHO_THRESHOLD  # (7) when rho_t > 5, else (8)
        rect = rectification(rho_t, rho_inf) * sqrt(1 - beta2**t) / bias_correction1  # (7) r_t sqrt(b2) / b1
        sgd_step = 1 / bias_correction1 if group["degenerated_to_sgd"] else 0.0 * bias_correction1  # (8)
        decoupled = group["decoupled_weight_decay"] and group["weight_decay"] != 0
        return {
            **moment_scalars(group["betas"], 1 - lr * group["weight_decay"] if decoupled else None, skip),  # (2)-(4)
            "k": where(adaptive, 1.0, 0.0),  # (7) sqrt(v) + eps, (8) 1
            "c": where(adaptive, group["eps"], 1.0),
            "neg_a": unless_skipped(skip, -(lr * where(adaptive, rect, sgd_step)), 0.0),  # (7)/(8) -a
        }


__all__ = ["RAdam", "radam_update", "rectified_factor"]
