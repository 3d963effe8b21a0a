"""AdaBelief (Zhuang et al. 2020, arXiv:2010.07468) as the authors' ``adabelief-pytorch`` 0.2.1 computes it.

Mirrors ``lossopt_spec.optim.adabelief``; the equations and their tags (0), (c), (1)–(8) are in
its docstring:

.. math::

    m_t &= \\beta_1 m_{t-1} + (1 - \\beta_1) g_t, \\qquad
    s_t = \\beta_2 s_{t-1} + (1 - \\beta_2)(g_t - m_t)^2 + \\epsilon \\\\
    \\theta_t &= \\theta_{t-1} - \\frac{\\gamma}{c_1} \\frac{m_t}{\\sqrt{\\hat s_t / c_2} + \\epsilon}
    \\ \\text{(not rectify)}, \\qquad
    \\theta_t = \\theta_{t-1} - \\gamma r_t \\frac{\\sqrt{c_2}}{c_1} \\frac{m_t}{\\sqrt{s_t} + \\epsilon}
    \\ \\text{(rectify}, \\rho_t \\ge 5)

Three kernels with one signature: :func:`_single_tensor_adabelief` (``foreach=False``),
:func:`_multi_tensor_adabelief` (``torch._foreach_*``, the default) and
:func:`_fused_adabelief` (``fused=True``, one pass per step: lossopt's C kernel on float32/float64 CPU
tensors, ``lossopt.optim._cpu_kernels``; elsewhere a ``torch.compile``-generated pass, 8 tensors a
call). The :math:`\\rho_t` branch is a per-tensor coefficient computed as a tensor, as in ``lossopt.optim.radam``.

Rounding: every kernel computes the belief residual of (4) as :math:`\\beta_1 (g_t - m_{t-1})`, equal to the
paper's :math:`g_t - m_t` but free of the rounding of :math:`m_t`, which dominates a small residual in float32
(:data:`RESIDUAL_NOTE`; the spec and the authors' code keep :math:`g_t - m_t`).

float16 / bfloat16 parameters: :math:`\\epsilon = 10^{-16}` is below float16's smallest subnormal
(about :math:`6 \\times 10^{-8}`), so in float16 it rounds to 0 and a coordinate whose gradient
has always been 0 gives :math:`0 / 0` = NaN. Here the state of a float16 or bfloat16 parameter is
kept in float32 and the update is computed in float32 (the authors' code does the same for
float16), then rounded once into the parameter: no NaN, and the update equals the float32
update up to that rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, overload

import torch
from torch.optim import Optimizer

from lossopt.optim import _cpu_kernels
from lossopt.optim._adaptive_step import (
    LOW_PRECISION,
    check_sparse,
    denominators,
    fused_chunked_call,
    fused_coefficients,
    host_counter_values,
    increment,
    new_step_counter,
    revert_skipped_steps,
    skip_flag,
    upcast,
    write_back,
)
from lossopt.optim._amp import grad_multiplier
from lossopt.optim._nonfinite import SKIP_NONFINITE, choose, on, repeat, set_back, zero_if
from lossopt.optim._schedule_clip import CLOCK, SCHEDULE_CLIP_DEFAULTS, ScheduleClipMixin
from lossopt.optim._tensor_groups import default_foreach, group_by_device_and_dtype, local_shards, local_value
from lossopt.optim.radam import _prepare_grads, _step_on_device, check_rectified_arguments, rectification, rho

_Tensors = list[torch.Tensor]

RHO_THRESHOLD = 5.0  # (7) rectify when rho_t >= 5, as the authors' code


def check_adabelief_flags(weight_decouple: bool, fixed_decay: bool) -> None:
    """``fixed_decay`` changes the decoupled decay only: it is an error without ``weight_decouple``."""
    if fixed_decay and not weight_decouple:
        raise ValueError(
            "fixed_decay=True requires weight_decouple=True (it sets the decoupled decay to p *= 1 - weight_decay); "
            "got weight_decouple=False"
        )


def adabelief_coefficients(
    steps: torch.Tensor,
    *,
    lr: float | torch.Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    rectify: bool,
    degenerated_to_sgd: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(6)–(8) as :math:`\\theta \\leftarrow \\theta - a \\, m / (k \\sqrt{x} + c)`: the per-tensor ``(k, c, a)``.

    (6): :math:`(1/\\sqrt{c_2}, \\epsilon, \\gamma / c_1)`; (7): :math:`(1, \\epsilon, \\gamma r_t \\sqrt{c_2} / c_1)`;
    (8): :math:`(0, 1, \\gamma / c_1)`, or :math:`a = 0` without ``degenerated_to_sgd``.
    """
    bias_correction1 = 1.0 - torch.pow(beta1, steps)
    bias_correction2 = 1.0 - torch.pow(beta2, steps)
    one = torch.ones_like(steps)
    if not rectify:
        return bias_correction2.rsqrt(), eps * one, lr / bias_correction1  # (6)
    rho_inf, rho_t = rho(steps, beta2)
    adaptive = rho_t >= RHO_THRESHOLD  # (7) when rho_t >= 5, else (8)
    k = torch.where(adaptive, one, 0.0 * one)
    c = torch.where(adaptive, eps * one, one)
    sgd_step = lr / bias_correction1 if degenerated_to_sgd else 0.0 * one  # (8)
    a = torch.where(adaptive, lr * rectification(rho_t, rho_inf) * bias_correction2.sqrt() / bias_correction1, sgd_step)
    return k, c, a


class AdaBelief(ScheduleClipMixin, Optimizer):
    """AdaBelief, step for step equal to ``adabelief_pytorch.AdaBelief`` 0.2.1 (the authors' code).

    Args:
        params: iterable of parameters or of parameter-group dicts.
        lr: learning rate :math:`\\gamma` (>= 0).
        betas: :math:`(\\beta_1, \\beta_2)`, each in [0, 1).
        eps: :math:`\\epsilon` (>= 0), added into :math:`s_t` every step and again outside the square root.
        weight_decay: :math:`\\lambda` (>= 0).
        amsgrad: keep the running maximum of :math:`s_t` and divide by it (only without ``rectify``,
            as the authors' code; with ``rectify`` the maximum is kept but unused).
        weight_decouple: decoupled decay :math:`\\theta \\leftarrow \\theta(1 - \\gamma\\lambda)` (default)
            instead of L2.
        fixed_decay: decoupled decay :math:`\\theta \\leftarrow \\theta(1 - \\lambda)`, independent of :math:`\\gamma`;
            needs ``weight_decouple=True`` (``ValueError`` otherwise; the authors' code ignores it).
        rectify: RAdam's rectification of the adaptive step (default).
        degenerated_to_sgd: with ``rectify``, while :math:`\\rho_t < 5` take the momentum step
            :math:`\\gamma m_t / c_1` (``True``) or no gradient step (``False``; weight decay still applies).
        maximize: ascend the objective.
        foreach: ``True`` for the ``torch._foreach_*`` kernel, ``False`` for the per-tensor loop,
            ``None`` (default) for the multi-tensor kernel on plain strided tensors.
        fused: ``True`` for one pass over every tensor: on float32/float64 CPU parameters lossopt's C
            kernel (built on the first step of a process in under a second, then cached; see
            ``lossopt.optim._cpu_kernels``), elsewhere (CUDA, float16/bfloat16, no C compiler) a
            ``torch.compile`` kernel, 8 tensors a call, which compiles on the first step of a process
            (tens of seconds on a small CPU; later processes reuse Inductor's on-disk cache, see
            ``lossopt.optim._adaptive_step``).
        warmup_steps: linear warmup :math:`\\gamma_t = \\gamma \\min(1, t / W)` (0: off).
        max_grad_norm: clip the update's gradients to this global L2 norm over every group
            (``None``: off); ``p.grad`` is left as it was.
        skip_nonfinite: default ``False``. ``True`` skips the whole step (every group) when the global
            L2 norm of the gradients is inf or NaN, decided on the device without a host sync:
            parameters, ``exp_avg``, ``exp_avg_var``, ``max_exp_avg_var``, the ``step`` counters and the
            warmup clock keep their values; ``group["skipped_steps"]`` (a tensor, in ``state_dict``)
            counts the skipped steps. The counters and the clock then live on the parameters' device.

    ``lr`` may be a tensor (as in ``torch.optim``). ``torch.amp.GradScaler``: the scaler unscales the
    gradients and skips ``step()`` itself (with ``fused=True``, once the fused kernel takes
    ``found_inf``, the optimizer consumes the scaler's scale and ``found_inf`` on the device).

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

    _state_keys = ("step", "exp_avg", "exp_avg_var")
    _float32_state_for_low_precision = True  # its moments of float16/bfloat16 parameters are float32

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
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
        betas = check_rectified_arguments(
            lr,
            betas,
            eps,
            weight_decay,
            warmup_steps,
            max_grad_norm,
            skip_nonfinite,
            amsgrad=amsgrad,
            weight_decouple=weight_decouple,
            fixed_decay=fixed_decay,
            rectify=rectify,
            degenerated_to_sgd=degenerated_to_sgd,
            maximize=maximize,
            foreach=foreach,
            fused=fused,
        )
        check_adabelief_flags(weight_decouple, fixed_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "weight_decouple": weight_decouple,
            "fixed_decay": fixed_decay,
            "rectify": rectify,
            "degenerated_to_sgd": degenerated_to_sgd,
            "maximize": maximize,
            "foreach": foreach,
            "fused": fused,
            **SCHEDULE_CLIP_DEFAULTS,
            "warmup_steps": warmup_steps,
            "max_grad_norm": max_grad_norm,
            SKIP_NONFINITE: skip_nonfinite,
        }
        super().__init__(params, defaults)
        self._default_group_keys()
        # Not ``_step_supports_amp_scaling``: the fused kernel picks the rho_t branch on the host from
        # the step counters, which a device-side found_inf would have to set back on the device (a
        # sync to read on a GPU). GradScaler unscales and skips for it, as for torch's non-fused ones.

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        check_adabelief_flags(
            param_group.get("weight_decouple", self.defaults["weight_decouple"]),
            param_group.get("fixed_decay", self.defaults["fixed_decay"]),
        )
        super().add_param_group(param_group)
        self.param_groups[-1].setdefault(CLOCK, 0)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            for key, value in (("maximize", False), ("foreach", None), ("fused", None)):
                group.setdefault(key, value)
        self._default_group_keys()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As ``torch.optim.Optimizer.load_state_dict``; keys the saved groups lack keep this optimizer's values."""
        current = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        super().load_state_dict(state_dict)
        self._restore_missing_group_keys(state_dict["param_groups"], current)

    def _group_tensors(
        self, group: dict[str, Any]
    ) -> tuple[_Tensors, _Tensors, _Tensors, _Tensors, _Tensors, _Tensors]:
        params, grads, exp_avgs, exp_avg_vars, max_exp_avg_vars, steps = [], [], [], [], [], []
        for p in group["params"]:
            if p.grad is None:
                continue
            check_sparse("AdaBelief", p)
            state = self.state[p]
            dtype = torch.float32 if p.dtype in LOW_PRECISION else p.dtype
            if len(state) == 0:
                state["step"] = new_step_counter()
                state["exp_avg"] = torch.zeros_like(p, dtype=dtype, memory_format=torch.preserve_format)
                state["exp_avg_var"] = torch.zeros_like(p, dtype=dtype, memory_format=torch.preserve_format)
            if group.get(SKIP_NONFINITE, False) and state["step"].device != p.device:
                state["step"] = state["step"].to(p.device)  # set back by found_inf on the device (also once loaded)
            if group["amsgrad"] and "max_exp_avg_var" not in state:
                state["max_exp_avg_var"] = torch.zeros_like(p, dtype=dtype, memory_format=torch.preserve_format)
            params.append(p)
            grads.append(p.grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_vars.append(state["exp_avg_var"])
            if group["amsgrad"]:
                max_exp_avg_vars.append(state["max_exp_avg_var"])
            steps.append(state["step"])
        return params, grads, exp_avgs, exp_avg_vars, max_exp_avg_vars, steps

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Perform one update; ``closure`` re-evaluates the model and returns the loss (it runs once)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        grad_norm, grad_scale, found_inf = self._begin_step()  # (c1) over every group, before any update
        for group in self.param_groups:
            lr = self._scheduled_lr(group, found_inf=found_inf)  # (0) lr_t = lr w (even without grads)
            params, grads, exp_avgs, exp_avg_vars, max_exp_avg_vars, steps = self._group_tensors(group)
            if not params:
                continue
            kernel: Callable[..., None]
            if group["fused"] and found_inf is None:
                kernel = _fused_adabelief  # skip_nonfinite: the foreach kernel (device-side branch)
            elif group["foreach"] if group["foreach"] is not None else default_foreach(params):
                kernel = _multi_tensor_adabelief
            else:
                kernel = _single_tensor_adabelief
            beta1, beta2 = group["betas"]
            clipping = group["max_grad_norm"] is not None
            clip = grad_multiplier(grad_norm if clipping else None, group["max_grad_norm"], grad_scale)  # (c2) kappa/S
            skip = {} if found_inf is None else {"found_inf": local_value(found_inf)}
            # FSDP2: the update is elementwise, so it runs on the local shards (the norm above is global)
            params, grads, exp_avgs, exp_avg_vars, max_exp_avg_vars = (
                local_shards(x) for x in (params, grads, exp_avgs, exp_avg_vars, max_exp_avg_vars)
            )
            clip = local_value(clip)
            kernel(
                params,
                grads,
                exp_avgs,
                exp_avg_vars,
                max_exp_avg_vars,
                steps,
                clip=clip,
                lr=lr,  # type: ignore[arg-type]  # a tensor lr: the fused kernel reads it on the host until it takes one
                beta1=beta1,
                beta2=beta2,
                eps=group["eps"],
                weight_decay=group["weight_decay"],
                amsgrad=group["amsgrad"],
                weight_decouple=group["weight_decouple"],
                fixed_decay=group["fixed_decay"],
                rectify=group["rectify"],
                degenerated_to_sgd=group["degenerated_to_sgd"],
                maximize=group["maximize"],
                **skip,
            )
        return loss


@overload
def _decay_factor(lr: float, weight_decay: float, weight_decouple: bool, fixed_decay: bool) -> float: ...
@overload
def _decay_factor(
    lr: float | torch.Tensor, weight_decay: float, weight_decouple: bool, fixed_decay: bool
) -> float | torch.Tensor: ...
def _decay_factor(
    lr: float | torch.Tensor, weight_decay: float, weight_decouple: bool, fixed_decay: bool
) -> float | torch.Tensor:
    """(2) the decoupled factor: 1 - wd with ``fixed_decay``, 1 - lr wd otherwise, 1 for L2."""
    if not weight_decouple:
        return 1.0
    return 1.0 - weight_decay if fixed_decay else 1.0 - lr * weight_decay


def _single_tensor_adabelief(
    params: _Tensors,
    grads: _Tensors,
    exp_avgs: _Tensors,
    exp_avg_vars: _Tensors,
    max_exp_avg_vars: _Tensors,
    steps: _Tensors,
    *,
    clip: torch.Tensor | None,
    lr: float | torch.Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    weight_decouple: bool,
    fixed_decay: bool,
    rectify: bool,
    degenerated_to_sgd: bool,
    maximize: bool,
    found_inf: torch.Tensor | None = None,
) -> None:
    """Per-tensor AdaBelief, statement for statement the spec's loop (float32 arithmetic for float16/bfloat16)."""
    decay = _decay_factor(lr, weight_decay, weight_decouple, fixed_decay)
    for i, stored_param in enumerate(params):
        param, grad = upcast([stored_param, grads[i]])
        exp_avg, exp_avg_var = exp_avgs[i], exp_avg_vars[i]
        t = increment([steps[i]])  # t <- t + 1
        k, c, a = adabelief_coefficients(
            t, lr=lr, beta1=beta1, beta2=beta2, eps=eps, rectify=rectify, degenerated_to_sgd=degenerated_to_sgd
        )  # (6)-(8)
        if clip is not None:
            grad = grad * clip.to(grad.device)  # (c3) g <- kappa g
        if maximize:
            grad = -grad  # (1) g <- -g
        skip = None if found_inf is None else on(found_inf, param)
        if weight_decouple:
            if weight_decay != 0:  # decay != 1 (a host test: lr may be a tensor)
                # (2) p <- p (1 - lr wd), or p (1 - wd) with fixed_decay
                param.mul_(decay if skip is None else choose(skip, 1.0, decay, param))
        elif weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)  # (2) g <- g + wd p
        if skip is None:
            residual = grad - exp_avg  # (4) g - m_t = b1 (g - m_{t-1}): see RESIDUAL_NOTE
            exp_avg.lerp_(grad, 1.0 - beta1)  # (3) m <- b1 m + (1 - b1) g
            exp_avg_var.mul_(beta2).addcmul_(residual, residual, value=_residual_weight(beta1, beta2))  # (4)
            exp_avg_var.add_(eps)  # (4) s <- s + eps, kept in the state
        else:  # the same with g - m = 0, beta = 1, eps = 0 on a skipped step: m and s keep their bits
            (grad,) = zero_if(skip, [grad])
            (residual,) = zero_if(skip, [grad - exp_avg])  # (4) b1 (g - m_{t-1})
            exp_avg.lerp_(grad, choose(skip, 0.0, 1.0 - beta1, exp_avg))  # (3)
            exp_avg_var.mul_(choose(skip, 1.0, beta2, exp_avg_var)).addcmul_(
                residual, residual, value=_residual_weight(beta1, beta2)
            )
            exp_avg_var.add_(choose(skip, 0.0, eps, exp_avg_var))  # (4)
        denom_var = exp_avg_var
        if amsgrad:
            torch.maximum(max_exp_avg_vars[i], exp_avg_var, out=max_exp_avg_vars[i])  # (5) s_hat <- max(s_hat, s)
            if not rectify:
                denom_var = max_exp_avg_vars[i]  # (6) divides by s_hat; (7) by s, as the authors' code
        (denom,) = denominators([denom_var], k, c)  # (6) sqrt(s)/sqrt(c2) + eps, (7) sqrt(s) + eps, (8) 1
        if found_inf is None and not torch.compiler.is_compiling():
            torch._foreach_addcdiv_([param], [exp_avg], [denom], -a)  # (6)-(8) p <- p - a m / denom
        else:
            _step_on_device([param], [exp_avg], [denom], a, found_inf)  # (6)-(8), a = 0 on a skipped step
        if found_inf is not None:
            set_back([steps[i]], found_inf)
        write_back([stored_param], [param])


def _multi_tensor_adabelief(
    params: _Tensors,
    grads: _Tensors,
    exp_avgs: _Tensors,
    exp_avg_vars: _Tensors,
    max_exp_avg_vars: _Tensors,
    steps: _Tensors,
    *,
    clip: torch.Tensor | None,
    lr: float | torch.Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    weight_decouple: bool,
    fixed_decay: bool,
    rectify: bool,
    degenerated_to_sgd: bool,
    maximize: bool,
    found_inf: torch.Tensor | None = None,
) -> None:
    """AdaBelief with ``torch._foreach_*`` kernels: one launch per (device, dtype) group and operation."""
    decay = _decay_factor(lr, weight_decay, weight_decouple, fixed_decay)
    for indices in group_by_device_and_dtype(params):
        stored_params = [params[i] for i in indices]
        group_params = upcast(stored_params)
        group_exp_avgs = [exp_avgs[i] for i in indices]
        group_exp_avg_vars = [exp_avg_vars[i] for i in indices]
        t = increment([steps[i] for i in indices])  # t <- t + 1
        k, c, a = adabelief_coefficients(
            t, lr=lr, beta1=beta1, beta2=beta2, eps=eps, rectify=rectify, degenerated_to_sgd=degenerated_to_sgd
        )  # (6)-(8)
        l2 = 0.0 if weight_decouple else weight_decay
        group_grads = _prepare_grads(upcast([grads[i] for i in indices]), group_params, clip, maximize, l2)  # (c)(1)(2)
        skip = None if found_inf is None else on(found_inf, group_params[0])
        if weight_decouple and weight_decay != 0:  # decay != 1 (a host test: lr may be a tensor)
            # (2) p <- p (1 - lr wd), or p (1 - wd) with fixed_decay
            torch._foreach_mul_(group_params, decay if skip is None else choose(skip, 1.0, decay, group_params[0]))
        if skip is None:
            residuals = list(torch._foreach_sub(group_grads, group_exp_avgs))  # (4) g - m_{t-1}: RESIDUAL_NOTE
            torch._foreach_lerp_(group_exp_avgs, group_grads, 1.0 - beta1)  # (3) m <- b1 m + (1 - b1) g
            torch._foreach_mul_(group_exp_avg_vars, beta2)  # (4) s <- b2 s
        else:  # the same with g - m = 0, beta = 1, eps = 0 on a skipped step: m and s keep their bits
            group_grads = zero_if(skip, group_grads)
            residuals = zero_if(skip, torch._foreach_sub(group_grads, group_exp_avgs))  # (4) g - m_{t-1}
            torch._foreach_lerp_(
                group_exp_avgs,
                group_grads,
                repeat(len(group_exp_avgs), choose(skip, 0.0, 1.0 - beta1, group_exp_avgs[0])),
            )  # (3)
            torch._foreach_mul_(group_exp_avg_vars, choose(skip, 1.0, beta2, group_exp_avg_vars[0]))  # (4) s <- b2 s
        weight = _residual_weight(beta1, beta2)
        torch._foreach_addcmul_(group_exp_avg_vars, residuals, residuals, value=weight)  # (4) + (1 - b2) b1^2 (g - m)^2
        if skip is None:
            torch._foreach_add_(group_exp_avg_vars, eps)  # (4) s <- s + eps, kept in the state
        else:
            eps_or_0 = choose(skip, 0.0, eps, group_exp_avg_vars[0])
            torch._foreach_add_(group_exp_avg_vars, repeat(len(group_exp_avg_vars), eps_or_0))  # (4) + eps
        denom_vars = group_exp_avg_vars
        if amsgrad:
            group_max = [max_exp_avg_vars[i] for i in indices]
            torch._foreach_maximum_(group_max, group_exp_avg_vars)  # (5) s_hat <- max(s_hat, s)
            if not rectify:
                denom_vars = group_max  # (6) divides by s_hat; (7) by s, as the authors' code
        denom = denominators(denom_vars, k, c)  # (6) sqrt(s)/sqrt(c2) + eps, (7) sqrt(s) + eps, (8) 1
        if found_inf is None and not torch.compiler.is_compiling():
            torch._foreach_addcdiv_(group_params, group_exp_avgs, denom, -a)  # (6)-(8) p <- p - a m / denom
        else:
            _step_on_device(group_params, group_exp_avgs, denom, a, found_inf)  # (6)-(8), a = 0 on a skipped step
        if found_inf is not None:
            set_back([steps[i] for i in indices], found_inf)
        write_back(stored_params, group_params)


RESIDUAL_NOTE = """The belief residual of (4) is :math:`g_t - m_{t-1}`, weighted by :math:`(1 - \\beta_2)\\beta_1^2`.

Mathematically :math:`g_t - m_t = \\beta_1 (g_t - m_{t-1})`, so :math:`(1 - \\beta_2)(g_t - m_t)^2` (the paper's and
the authors' form, which the spec keeps) equals :math:`(1 - \\beta_2)\\beta_1^2 (g_t - m_{t-1})^2`. In float32
the authors' form subtracts the freshly rounded :math:`m_t` from :math:`g_t`: where the gradient agrees with its
mean the residual is small and that rounding dominates it (g = -1, m = -1.0178: relative error 6.6e-6 in the
update, measured against the float64 spec; it grows as 1 / |g - m|). :math:`g_t - m_{t-1}` is a difference of
two stored numbers, exact to half an ulp of the result. Same memory traffic, same operation count."""


def _residual_weight(beta1: float, beta2: float) -> float:
    """:math:`(1 - \\beta_2) \\beta_1^2`, the weight of :math:`(g_t - m_{t-1})^2` in (4) (:data:`RESIDUAL_NOTE`)."""
    return (1.0 - beta2) * beta1 * beta1


def _store(targets: list[torch.Tensor], values: list[torch.Tensor], skip: torch.Tensor | None) -> None:
    """Write the step's results, or with ``skip`` set (a 0/1 flag) keep every target as it was.

    ``skip is None`` (no ``found_inf``) traces to a kernel without the selects.
    """
    for target, value in zip(targets, values, strict=True):
        target.copy_(value if skip is None else torch.where(skip != 0, target, value))


def _belief_moments(
    param: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_var: torch.Tensor,
    coefs: torch.Tensor,
    plain: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(c3), (1)-(4) of the fused updates: the decayed parameter and the new m and s, from ``coefs[:7]``."""
    scale, l2, decay, beta2, one_minus_beta1, residual_weight, eps = coefs[:7].unbind()
    if not plain:  # plain: no clipping, maximize, L2 or decay (scale 1, l2 0, decay 1): 4 operations fewer
        grad = grad * scale + l2 * param  # (c3) g <- kappa g, (1) g <- -g, (2) g <- g + wd p (l2 = 0 unless L2)
    new_param = param if plain else param * decay  # (2) decoupled decay (decay = 1 for L2)
    # (3) m <- b1 m + (1 - b1) g in this form: exact at beta1 = 0 and 1; 2 products and a sum
    new_exp_avg = exp_avg * (1.0 - one_minus_beta1) + grad * one_minus_beta1
    residual = grad - exp_avg  # (4) g - m_t = b1 (g - m_{t-1}); b1^2 is in residual_weight (RESIDUAL_NOTE)
    new_exp_avg_var = exp_avg_var * beta2 + residual * (residual * residual_weight) + eps  # (4) s, eps kept
    return new_param, new_exp_avg, new_exp_avg_var


def _adabelief_fused_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_var: torch.Tensor,
    coefs: torch.Tensor,
    skip: torch.Tensor | None,
    plain: bool = False,
) -> None:
    """The whole AdaBelief update of one (1-D) tensor; compiled into one pass by :func:`_fused_adabelief`.

    ``coefs`` packs every scalar as a tensor, so no value is baked into the compiled code:
    (kappa times -1 with maximize, L2 wd, decay factor, beta2, 1 - beta1, (1 - beta2) beta1^2, eps, k, c, a);
    ``1 - beta`` comes computed in float64 (in float32, 1 - float32(0.999) is off by 1.3e-5).
    ``skip`` (0-dim, 0 or 1, or ``None``): 1 keeps every tensor's value (a skipped step, found_inf).
    ``plain`` (a Python flag, one compiled kernel each way): the gradient and the parameter enter
    unscaled (no clipping, maximize, L2 or decoupled decay).
    """
    new_param, new_exp_avg, new_exp_avg_var = _belief_moments(param, grad, exp_avg, exp_avg_var, coefs, plain)
    k, c, a = coefs[7:].unbind()
    new_param = new_param - a * new_exp_avg / (k * new_exp_avg_var.sqrt() + c)  # (6)-(8) p <- p - a m / (k sqrt(s) + c)
    _store([param, exp_avg, exp_avg_var], [new_param, new_exp_avg, new_exp_avg_var], skip)


def _adabelief_amsgrad_fused_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_var: torch.Tensor,
    max_exp_avg_var: torch.Tensor,
    coefs: torch.Tensor,
    skip: torch.Tensor | None,
    plain: bool = False,
) -> None:
    """:func:`_adabelief_fused_update` with the running maximum (5); ``coefs`` adds ``use_max`` (1: divide by it)."""
    new_param, new_exp_avg, new_exp_avg_var = _belief_moments(param, grad, exp_avg, exp_avg_var, coefs, plain)
    k, c, a, use_max = coefs[7:].unbind()
    new_max = torch.maximum(max_exp_avg_var, new_exp_avg_var)  # (5) s_hat <- max(s_hat, s)
    denom_var = torch.where(use_max != 0, new_max, new_exp_avg_var)  # (6) s_hat; (7) s, as the authors' code
    new_param = new_param - a * new_exp_avg / (k * denom_var.sqrt() + c)  # (6)-(8) p <- p - a m / (k sqrt(s) + c)
    _store([param, exp_avg, exp_avg_var, max_exp_avg_var], [new_param, new_exp_avg, new_exp_avg_var, new_max], skip)


def _host_coefficients(
    t: float, beta1: float, beta2: float, eps: float, rectify: bool, degenerated_to_sgd: bool
) -> tuple[float, float, float]:
    """:func:`adabelief_coefficients` for one host step ``t`` and ``lr = 1``, in Python float64 arithmetic."""
    bias_correction1 = 1.0 - beta1**t
    bias_correction2 = 1.0 - beta2**t
    if not rectify:
        return 1.0 / math.sqrt(bias_correction2), eps, 1.0 / bias_correction1  # (6)
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * beta2**t / bias_correction2
    if rho_t >= RHO_THRESHOLD:  # (7)
        ratio = (rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
        return 1.0, eps, math.sqrt(max(ratio, 0.0)) * math.sqrt(bias_correction2) / bias_correction1
    return 0.0, 1.0, 1.0 / bias_correction1 if degenerated_to_sgd else 0.0  # (8)


def _fused_adabelief(
    params: _Tensors,
    grads: _Tensors,
    exp_avgs: _Tensors,
    exp_avg_vars: _Tensors,
    max_exp_avg_vars: _Tensors,
    steps: _Tensors,
    *,
    clip: torch.Tensor | None,
    lr: float | torch.Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    weight_decouple: bool,
    fixed_decay: bool,
    rectify: bool,
    degenerated_to_sgd: bool,
    maximize: bool,
    found_inf: torch.Tensor | None = None,
) -> None:
    """AdaBelief as one compiled pass per tensor (reads p, g, m, s once; writes p, m, s once).

    The compiled function takes :data:`~lossopt.optim._adaptive_step.CHUNK` tensors per call
    (:func:`~lossopt.optim._adaptive_step.fused_chunked_call`). ``lr`` is a float or a 0-dim tensor;
    ``found_inf`` (0-dim, on the parameters' device), when nonzero, skips the step: parameters,
    states and counters keep their values bit for bit, without a host sync on CPU parameters.
    """
    torch._foreach_add_(steps, 1.0)  # t <- t + 1
    host_steps = host_counter_values(steps)  # the counters live on the CPU: no device sync
    rows = {t: _host_coefficients(t, beta1, beta2, eps, rectify, degenerated_to_sgd) for t in set(host_steps)}
    # (6)-(8) (k, c, a) with a for lr = 1: the learning rate (a float or a tensor) enters in fused_coefficients
    k, c, a = torch.tensor([rows[t] for t in host_steps], dtype=torch.float64).unbind(1)
    l2 = 0.0 if weight_decouple else weight_decay
    use_max = torch.full_like(k, 1.0 if amsgrad and not rectify else 0.0)
    update = _adabelief_amsgrad_fused_update if amsgrad else _adabelief_fused_update
    skip = None
    for indices in group_by_device_and_dtype(params):
        skip = skip_flag(found_inf, params[indices[0]].device)
        columns = [k, c, a] + ([use_max] if amsgrad else [])
        if len(indices) < len(params):
            columns = [column[indices] for column in columns]
        if weight_decouple and not fixed_decay:  # (2) 1 - lr wd, from the learning rate below
            decay, decayed = weight_decay, [2]
        else:  # (2) 1 - wd with fixed_decay, 1 for L2
            decay, decayed = _decay_factor(1.0, weight_decay, weight_decouple, fixed_decay), []
        constants = [l2, decay, beta2, 1.0 - beta1, _residual_weight(beta1, beta2), eps]
        coefs = fused_coefficients(
            clip, maximize, constants, columns, exp_avgs[indices[0]], lr=lr, scaled=[9], decayed=decayed
        )
        lists = [params, grads, exp_avgs, exp_avg_vars] + ([max_exp_avg_vars] if amsgrad else [])
        plain = clip is None and not maximize and l2 == 0 and (decay == 0 if decayed else decay == 1)
        group_lists = [[tensors[i] for i in indices] for tensors in lists]
        taken, others = _cpu_kernels.partition(group_lists)  # CPU float32/float64: lossopt's kernel, no compiling
        if taken:
            _cpu_kernels.adabelief([[t[i] for i in taken] for t in group_lists], coefs[taken], skip, plain)
        if others:
            rest = [[t[i] for i in others] for t in group_lists]
            fused_chunked_call(update, rest, coefs if not taken else coefs[others], skip, plain)
    revert_skipped_steps(steps, skip)


__all__ = ["AdaBelief", "adabelief_coefficients"]
