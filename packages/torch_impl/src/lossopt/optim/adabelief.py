"""AdaBelief (Zhuang et al. 2020, arXiv:2010.07468) as the authors' ``adabelief-pytorch`` 0.2.1 computes it.

Mirrors ``lossopt_spec.optim.adabelief``; the equations and their tags (0), (c), (1)–(8) are in
its docstring (:math:`\\rho_t`, :math:`r_t`: ``lossopt.optim.rectify``):

.. math::

    m_t &= \\beta_1 m_{t-1} + (1 - \\beta_1) g_t, \\qquad
    s_t = \\beta_2 s_{t-1} + (1 - \\beta_2)(g_t - m_t)^2 + \\epsilon \\\\
    \\theta_t &= \\theta_{t-1} - \\frac{\\gamma}{c_1} \\frac{m_t}{\\sqrt{\\hat s_t / c_2} + \\epsilon}
    \\ \\text{(not rectify)}, \\qquad
    \\theta_t = \\theta_{t-1} - \\gamma r_t \\frac{\\sqrt{c_2}}{c_1} \\frac{m_t}{\\sqrt{s_t} + \\epsilon}
    \\ \\text{(rectify}, \\rho_t \\ge 5)

:func:`adabelief_update` computes the residual of (4) as :math:`g_t - m_t = \\beta_1 (g_t - m_{t-1})`, as the
spec does (its docstring says why), and writes (6)–(8) as one statement
:math:`\\theta \\leftarrow \\theta - a \\, m / (k \\sqrt{x} + c)`: :math:`(1/\\sqrt{c_2}, \\epsilon, \\gamma / c_1)` in
(6), :math:`(1, \\epsilon, \\gamma r_t \\sqrt{c_2} / c_1)` in (7), :math:`(0, 1, \\gamma / c_1)` in (8).
``fused=True``: lossopt's C kernel on float32/float64 CPU tensors, elsewhere (CUDA, float16/bfloat16,
no C compiler) the update compiled by ``torch.compile`` (``lossopt.optim.kernels.compiled``).

float16 / bfloat16 parameters: :math:`\\epsilon = 10^{-16}` is below float16's smallest subnormal, so in
float16 a coordinate whose gradient has always been 0 would give :math:`0 / 0`. The state of a float16 or
bfloat16 parameter is kept in float32 and the update computed in float32 (the authors' code does the
same for float16), then rounded once into the parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import torch

from lossopt.optim.base import constructor_arguments
from lossopt.optim.kernels import compiled, cpu
from lossopt.optim.moments import AdamFamily, moment_scalars
from lossopt.optim.rectify import rectification, rho
from lossopt.optim.scalar_ops import sqrt, unless_skipped, where

RHO_THRESHOLD = 5.0  # (7) rectify when rho_t >= 5, as the authors' code


def adabelief_update(param: Any, grad: Any, exp_avg: Any, exp_avg_var: Any, max_exp_avg_var: Any, s: Any) -> None:
    """(2)–(8) for one tensor. ``grad`` arrives as (c) :math:`\\kappa g`, (1) negated with ``maximize``, (2) plus
    :math:`\\lambda \\theta` for L2; ``s`` holds this step's scalars (:meth:`AdaBelief.scalars`)."""
    if s.decay is not None:
        param.mul_(s.decay)  # (2) p <- p (1 - lr wd), or p (1 - wd) with fixed_decay
    residual = grad.sub(exp_avg)  # (4) g - m_{t-1}: g - m_t = b1 (g - m_{t-1}), b1^2 in the weight
    exp_avg.lerp_(grad, s.one_minus_beta1)  # (3) m <- b1 m + (1 - b1) g
    exp_avg_var.mul_(s.beta2).addcmul_(residual, residual, value=s.residual_weight)  # (4) s <- b2 s + w (g - m)^2
    exp_avg_var.add_(s.eps_in_state)  # (4) s <- s + eps, kept in the state
    second = exp_avg_var
    if max_exp_avg_var is not None:
        max_exp_avg_var.maximum_(exp_avg_var)  # (5) s_hat <- max(s_hat, s)
        if s.divide_by_max:
            second = max_exp_avg_var  # (6) divides by s_hat; (7) by s, as the authors' code
    denom = second.sqrt().mul_(s.k).add_(s.c)  # (6) sqrt(s)/sqrt(c2) + eps, (7) sqrt(s) + eps, (8) 1
    param.addcdiv_(exp_avg, denom, value=s.neg_a)  # (6)-(8) p <- p - a m / denom


def check_adabelief_flags(weight_decouple: object, fixed_decay: object) -> None:
    """``fixed_decay`` changes the decoupled decay only: it is an error without ``weight_decouple``."""
    if fixed_decay and not weight_decouple:
        raise ValueError(
            "fixed_decay=True requires weight_decouple=True (it sets the decoupled decay to p *= 1 - weight_decay); "
            "got weight_decouple=False"
        )


class AdaBelief(AdamFamily):
    """AdaBelief, step for step equal to ``adabelief_pytorch.AdaBelief`` 0.2.1 (the authors' code).

    Args:
        params: iterable of parameters or of parameter-group dicts.
        lr: learning rate :math:`\\gamma` (>= 0, a float or a tensor).
        betas: :math:`(\\beta_1, \\beta_2)`, each in [0, 1).
        eps: :math:`\\epsilon` (>= 0), added into :math:`s_t` every step and again outside the square root.
        weight_decay: :math:`\\lambda` (>= 0).
        amsgrad: keep the running maximum of :math:`s_t` and divide by it (only without ``rectify``,
            as the authors' code; with ``rectify`` the maximum is kept but unused).
        weight_decouple: decoupled decay :math:`\\theta \\leftarrow \\theta(1 - \\gamma\\lambda)` (default), not L2.
        fixed_decay: decoupled decay :math:`\\theta \\leftarrow \\theta(1 - \\lambda)`, independent of :math:`\\gamma`;
            needs ``weight_decouple=True`` (``ValueError`` otherwise; the authors' code ignores it).
        rectify: RAdam's rectification of the adaptive step (default).
        degenerated_to_sgd: with ``rectify``, while :math:`\\rho_t < 5` take the momentum step
            :math:`\\gamma m_t / c_1` (``True``) or no gradient step (``False``; weight decay still applies).
        maximize: ascend the objective.
        foreach: ``True`` for the ``torch._foreach_*`` kernel, ``False`` for the per-tensor loop,
            ``None`` (default) for the multi-tensor kernel on plain strided tensors.
        fused: one pass over every tensor (see the module docstring; the compiled kernel compiles on the
            first step of a process, tens of seconds on a small CPU, then Inductor's on-disk cache serves).
        warmup_steps: linear warmup :math:`\\gamma_t = \\gamma \\min(1, t / W)` (0: off).
        max_grad_norm: clip the update's gradients to this global L2 norm over every group
            (``None``: off); ``p.grad`` is left as it was.
        skip_nonfinite: default ``False``. ``True`` skips the whole step (every group) when the global L2 norm of the
            gradients is inf or NaN, decided on the device without a host sync: parameters, every state
            tensor, the ``step`` counters and the warmup clock keep their values; ``group["skipped_steps"]``
            counts the skipped steps. The counters and the clock then live on the parameters' device.

    ``torch.amp.GradScaler`` unscales the gradients and skips ``step()`` itself.

    State per parameter, named as the authors' code: ``step`` (0-dim float32 tensor on the CPU),
    ``exp_avg``, ``exp_avg_var`` and with ``amsgrad`` ``max_exp_avg_var`` (float32 for float16 and
    bfloat16 parameters, see the module docstring).

    Example:
        >>> import torch
        >>> from lossopt import AdaBelief
        >>> p = torch.tensor([1.0, -1.0], requires_grad=True)
        >>> opt = AdaBelief([p], lr=0.1)
        >>> p.grad = torch.tensor([0.5, 0.5])
        >>> _ = opt.step()  # rho_1 = 1 < 5: the momentum step p - lr m / (1 - b1) = p - 0.1 * 0.5
        >>> p.detach()
        tensor([ 0.9500, -1.0500])
    """

    flag_defaults: ClassVar[Mapping[str, Any]] = {
        "amsgrad": False,
        "weight_decouple": True,
        "fixed_decay": False,
        "rectify": True,
        "degenerated_to_sgd": True,
        "maximize": False,
        "foreach": None,
        "fused": None,
    }
    decoupled_flag = "weight_decouple"
    host_arithmetic = False
    group_keys = frozenset({"betas", "weight_decouple", "rectify"})
    required_state = ("step", "exp_avg", "exp_avg_var")
    float32_arithmetic = True
    foreach_ops = ("add_", "mul_", "addcmul_", "addcdiv_", "lerp_", "sqrt", "sub", "maximum_")
    fused_kernels = (cpu.adabelief, compiled.compiled)
    kept_when: ClassVar[Mapping[str, str]] = {"max_exp_avg_var": "amsgrad"}
    state_names = ("exp_avg", "exp_avg_var", "max_exp_avg_var")  # type: ignore[assignment]
    update = staticmethod(adabelief_update)

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float | torch.Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-16,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        weight_decouple: bool = True,
        fixed_decay: bool = False,
        rectify: bool = True,
        degenerated_to_sgd: bool = True,
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
        check_adabelief_flags(hyper["weight_decouple"], hyper["fixed_decay"])
        return super().validated(hyper)

    def scalars(self, group: Mapping[str, Any], t: Any, lr: Any, skip: torch.Tensor | None) -> dict[str, Any]:
        """(6)–(8) as :math:`(k, c, a)` (module docstring); a skipped step keeps every tensor."""
        beta1, beta2 = group["betas"]
        eps, weight_decay = group["eps"], group["weight_decay"]
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        if not group["rectify"]:
            k, c, a = 1 / sqrt(bias_correction2), eps, 1 / bias_correction1  # (6)
        else:
            rho_inf, rho_t = rho(t, beta2)
            adaptive = rho_t >= RHO_THRESHOLD  # (7) when rho_t >= 5, else (8)
            sgd_step = 1 / bias_correction1 if group["degenerated_to_sgd"] else 0.0 * bias_correction1  # (8)
            rect = rectification(rho_t, rho_inf) * sqrt(bias_correction2) / bias_correction1  # (7)
            k, c, a = where(adaptive, 1.0, 0.0), where(adaptive, eps, 1.0), where(adaptive, rect, sgd_step)
        decay = None
        if group["weight_decouple"] and weight_decay != 0:  # (2) 1 - lr wd, or 1 - wd with fixed_decay
            decay = 1 - (weight_decay if group["fixed_decay"] else lr * weight_decay)
        return {
            **moment_scalars(group["betas"], decay, skip),  # (2)-(4)
            "residual_weight": unless_skipped(skip, (1 - beta2) * beta1 * beta1, 0.0),  # (4) (1 - b2) b1^2
            "eps_in_state": unless_skipped(skip, eps, 0.0),  # (4)
            "divide_by_max": bool(group["amsgrad"]) and not group["rectify"],  # (5)-(6)
            "k": k,
            "c": c,
            "neg_a": unless_skipped(skip, -(lr * a), 0.0),  # (6)-(8) -a
        }


__all__ = ["AdaBelief", "adabelief_update", "check_adabelief_flags"]
