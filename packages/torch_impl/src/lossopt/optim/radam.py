"""RAdam (Liu et al. 2020, arXiv:1908.03265): Adam with its adaptive learning rate rectified.

Mirrors ``lossopt_spec.optim.radam``; the equations and their tags (0), (c), (1)–(8) are in its
docstring:

.. math::

    m_t &= \\beta_1 m_{t-1} + (1 - \\beta_1) g_t, \\qquad v_t = \\beta_2 v_{t-1} + (1 - \\beta_2) g_t^2 \\\\
    \\rho_t &= \\rho_\\infty - \\frac{2 t \\beta_2^t}{1 - \\beta_2^t}, \\qquad
    \\theta_t = \\theta_{t-1} - \\gamma \\frac{m_t}{1 - \\beta_1^t}
        \\begin{cases} r_t \\sqrt{1 - \\beta_2^t} / (\\sqrt{v_t} + \\epsilon) & \\rho_t > 5 \\\\
        1 \\ \\text{(or 0 without degenerated\\_to\\_sgd)} & \\rho_t \\le 5 \\end{cases}

Three kernels with one signature: :func:`_single_tensor_radam` (``foreach=False``, the readable
twin of the spec), :func:`_multi_tensor_radam` (``torch._foreach_*``, the default) and
:func:`_fused_radam` (``fused=True``: torch's fused Adam kernel carries the rectified step). The
:math:`\\rho_t` branch is a per-tensor coefficient computed as a tensor (see
``lossopt.optim._adaptive_step``): no ``.item()``, no Python branch on a tensor value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch.optim import Optimizer

from lossopt.optim._adaptive_step import (
    as_scalars,
    check_sparse,
    denominators,
    fused_coefficients,
    host_counter_values,
    increment,
    new_step_counter,
    revert_skipped_steps,
    skip_flag,
)
from lossopt.optim._amp import grad_multiplier
from lossopt.optim._nonfinite import SKIP_NONFINITE, check_skip_nonfinite, choose, on, set_back, zero_if
from lossopt.optim._schedule_clip import CLOCK, SCHEDULE_CLIP_DEFAULTS, ScheduleClipMixin, check_schedule_clip
from lossopt.optim._tensor_groups import default_foreach, group_by_device_and_dtype, local_shards, local_value
from lossopt.optim._validation import check_flags, check_in_unit_interval, check_non_negative
from lossopt.optim.adam import foreach_adam_moments

_Tensors = list[torch.Tensor]

RHO_THRESHOLD = 5.0


def check_betas(betas: object) -> tuple[float, float]:
    """``betas`` is a pair of numbers in [0, 1); the message names the index."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (must be a pair (beta1, beta2))")
    for index, beta in enumerate(betas):
        check_in_unit_interval(f"beta parameter at index {index}", beta)
    return float(betas[0]), float(betas[1])


def check_kernel_flags(foreach: object, fused: object) -> None:
    if fused and foreach:
        raise ValueError("foreach and fused cannot both be True; pick one kernel (fused=True is the single-pass one)")


def check_rectified_arguments(
    lr: object,
    betas: object,
    eps: object,
    weight_decay: object,
    warmup_steps: object,
    max_grad_norm: object,
    skip_nonfinite: object,
    **flags: object,
) -> tuple[float, float]:
    """The checks RAdam and AdaBelief share, in one order; returns ``betas`` as a checked pair.

    ``flags`` are the boolean arguments (``foreach`` and ``fused`` among them, which may be ``None``).
    """
    check_non_negative("learning rate", lr)
    checked_betas = check_betas(betas)
    check_non_negative("epsilon value", eps)
    check_non_negative("weight_decay value", weight_decay)
    check_flags(**flags)
    check_kernel_flags(flags["foreach"], flags["fused"])
    check_schedule_clip(warmup_steps, max_grad_norm, False, SCHEDULE_CLIP_DEFAULTS["cycle_length"])
    check_skip_nonfinite(skip_nonfinite)
    return checked_betas


def rho(steps: torch.Tensor, beta2: float) -> tuple[float, torch.Tensor]:
    """(6): :math:`(\\rho_\\infty, \\rho_t)` for a tensor of 1-based steps (float64)."""
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    beta2_t = torch.pow(beta2, steps)
    return rho_inf, rho_inf - 2.0 * steps * beta2_t / (1.0 - beta2_t)


def rectification(rho_t: torch.Tensor, rho_inf: float) -> torch.Tensor:
    """(7): :math:`r_t` where :math:`\\rho_t > 4`, 0 elsewhere (where the rule does not use it)."""
    ratio = (rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
    return torch.where(rho_t > 4.0, ratio, torch.zeros_like(ratio)).clamp(min=0.0).sqrt()


def radam_coefficients(
    steps: torch.Tensor, *, lr: float | torch.Tensor, beta1: float, beta2: float, eps: float, degenerated_to_sgd: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(5)–(8) as :math:`\\theta \\leftarrow \\theta - a \\, m / (k \\sqrt{v} + c)`: the per-tensor ``(k, c, a)``.

    Adaptive (7): :math:`(1, \\epsilon, \\gamma r_t \\sqrt{1 - \\beta_2^t} / (1 - \\beta_1^t))`; un-adapted (8):
    :math:`(0, 1, \\gamma / (1 - \\beta_1^t))`, or :math:`a = 0` without ``degenerated_to_sgd``.
    """
    bias_correction1 = 1.0 - torch.pow(beta1, steps)
    bias_correction2 = 1.0 - torch.pow(beta2, steps)
    rho_inf, rho_t = rho(steps, beta2)  # (6)
    adaptive = rho_t > RHO_THRESHOLD  # (7) when rho_t > 5, else (8)
    rect = rectification(rho_t, rho_inf)  # (7) r_t
    one = torch.ones_like(steps)
    k = torch.where(adaptive, one, 0.0 * one)
    c = torch.where(adaptive, eps * one, one)
    sgd_step = lr / bias_correction1 if degenerated_to_sgd else 0.0 * one  # (8)
    a = torch.where(adaptive, lr * rect * bias_correction2.sqrt() / bias_correction1, sgd_step)  # (7)
    return k, c, a


class RAdam(ScheduleClipMixin, Optimizer):
    """Rectified Adam, step for step equal to ``torch.optim.RAdam`` with the defaults.

    Args:
        params: iterable of parameters or of parameter-group dicts.
        lr: learning rate :math:`\\gamma` (>= 0).
        betas: :math:`(\\beta_1, \\beta_2)`, each in [0, 1).
        eps: :math:`\\epsilon` added to :math:`\\sqrt{v}` (>= 0).
        weight_decay: :math:`\\lambda` (>= 0): L2 added to the gradient, or decoupled (below).
        degenerated_to_sgd: while :math:`\\rho_t \\le 5` take the un-adapted momentum step
            :math:`\\gamma m_t / (1 - \\beta_1^t)` (``True``, torch's behaviour) or no gradient step at all
            (``False``; the moments still update and weight decay still applies, see the spec).
        decoupled_weight_decay: :math:`\\theta \\leftarrow \\theta (1 - \\gamma\\lambda)` instead of L2 (AdamW-style).
        maximize: ascend the objective.
        foreach: ``True`` for the ``torch._foreach_*`` kernel, ``False`` for the per-tensor loop,
            ``None`` (default) for the multi-tensor kernel whenever every parameter is a plain
            strided tensor.
        fused: ``True`` for one pass over p, g, m, v per step: the rectified step runs on torch's fused
            Adam kernel (nothing is compiled); the un-adapted steps (the first 5 with the default
            betas, every step when :math:`\\beta_2 \\le 2/3`) run eager per-tensor ops. ``fused`` and
            ``foreach`` cannot both be ``True``.
        warmup_steps: linear warmup :math:`\\gamma_t = \\gamma \\min(1, t / W)` (0: off), as ``AdvancedAdamW``.
        max_grad_norm: clip the update's gradients to this global L2 norm over every group
            (``None``: off); ``p.grad`` is left as it was.
        skip_nonfinite: default ``False``. ``True`` skips the whole step (every group) when the global
            L2 norm of the gradients is inf or NaN, decided on the device without a host sync:
            parameters, ``exp_avg``, ``exp_avg_sq``, the ``step`` counters and the warmup clock keep
            their values; ``group["skipped_steps"]`` (a tensor, in ``state_dict``) counts the skipped
            steps. The counters and the clock then live on the parameters' device.

    ``lr`` may be a tensor (as in ``torch.optim``). ``torch.amp.GradScaler``: the scaler unscales the
    gradients and skips ``step()`` itself (with ``fused=True``, once the fused kernel takes
    ``found_inf``, the optimizer consumes the scaler's scale and ``found_inf`` on the device).

    State per parameter: ``step`` (0-dim float32 tensor on the CPU), ``exp_avg``, ``exp_avg_sq``,
    as ``torch.optim.RAdam``, so either optimizer's ``state_dict`` loads into the other.

    Differs from the original design: its ``RAdam.step`` scaled the step by
    :math:`\\rho_t / (\\rho_t - 4)` instead of :math:`r_t` and applied each bias correction twice
    (``KNOWN_DEFECTS.md`` item 5); here the step is the paper's, as torch and the authors' code.

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

    _state_keys = ("step", "exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
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
        betas = check_rectified_arguments(
            lr,
            betas,
            eps,
            weight_decay,
            warmup_steps,
            max_grad_norm,
            skip_nonfinite,
            degenerated_to_sgd=degenerated_to_sgd,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
            foreach=foreach,
            fused=fused,
        )
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "degenerated_to_sgd": degenerated_to_sgd,
            "decoupled_weight_decay": decoupled_weight_decay,
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
        super().add_param_group(param_group)
        self.param_groups[-1].setdefault(CLOCK, 0)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            for key, value in (
                ("degenerated_to_sgd", True),
                ("decoupled_weight_decay", False),
                ("maximize", False),
                ("foreach", None),
                ("fused", None),
            ):
                group.setdefault(key, value)
        self._default_group_keys()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As ``torch.optim.Optimizer.load_state_dict``; also loads a ``torch.optim.RAdam`` state dict.

        Keys the saved groups lack (this class's extras) keep this optimizer's values; the warmup
        clock resumes at the largest per-parameter ``step`` held.
        """
        current = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        super().load_state_dict(state_dict)
        self._restore_missing_group_keys(state_dict["param_groups"], current)
        for group in self.param_groups:
            for key in ("degenerated_to_sgd", "fused"):
                group.setdefault(key, True if key == "degenerated_to_sgd" else None)

    def _group_tensors(self, group: dict[str, Any]) -> tuple[_Tensors, _Tensors, _Tensors, _Tensors, _Tensors]:
        params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
        for p in group["params"]:
            if p.grad is None:
                continue
            check_sparse("RAdam", p)
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step_counter()
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            if group.get(SKIP_NONFINITE, False) and state["step"].device != p.device:
                state["step"] = state["step"].to(p.device)  # set back by found_inf on the device (also once loaded)
            params.append(p)
            grads.append(p.grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(state["step"])
        return params, grads, exp_avgs, exp_avg_sqs, steps

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
            params, grads, exp_avgs, exp_avg_sqs, steps = self._group_tensors(group)
            if not params:
                continue
            kernel: Callable[..., None]
            if group["fused"] and found_inf is None:
                kernel = _fused_radam  # skip_nonfinite: the foreach kernel (device-side branch)
            elif group["foreach"] if group["foreach"] is not None else default_foreach(params):
                kernel = _multi_tensor_radam
            else:
                kernel = _single_tensor_radam
            beta1, beta2 = group["betas"]
            clipping = group["max_grad_norm"] is not None
            clip = grad_multiplier(grad_norm if clipping else None, group["max_grad_norm"], grad_scale)  # (c2) kappa/S
            skip = {} if found_inf is None else {"found_inf": local_value(found_inf)}
            # FSDP2: the update is elementwise, so it runs on the local shards (the norm above is global)
            params, grads, exp_avgs, exp_avg_sqs = (local_shards(x) for x in (params, grads, exp_avgs, exp_avg_sqs))
            clip = local_value(clip)
            kernel(
                params,
                grads,
                exp_avgs,
                exp_avg_sqs,
                steps,
                clip=clip,
                lr=lr,  # type: ignore[arg-type]  # a tensor lr: the fused kernel reads it on the host until it takes one
                beta1=beta1,
                beta2=beta2,
                eps=group["eps"],
                weight_decay=group["weight_decay"],
                degenerated_to_sgd=group["degenerated_to_sgd"],
                decoupled_weight_decay=group["decoupled_weight_decay"],
                maximize=group["maximize"],
                **skip,
            )
        return loss


def _single_tensor_radam(
    params: _Tensors,
    grads: _Tensors,
    exp_avgs: _Tensors,
    exp_avg_sqs: _Tensors,
    steps: _Tensors,
    *,
    clip: torch.Tensor | None,
    lr: float | torch.Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    degenerated_to_sgd: bool,
    decoupled_weight_decay: bool,
    maximize: bool,
    found_inf: torch.Tensor | None = None,
) -> None:
    """Per-tensor RAdam, statement for statement the spec's loop; ``found_inf`` skips on the device."""
    for i, param in enumerate(params):
        grad, exp_avg, exp_avg_sq = grads[i], exp_avgs[i], exp_avg_sqs[i]
        t = increment([steps[i]])  # t <- t + 1
        k, c, a = radam_coefficients(
            t, lr=lr, beta1=beta1, beta2=beta2, eps=eps, degenerated_to_sgd=degenerated_to_sgd
        )  # (5)-(8)
        if clip is not None:
            grad = grad * clip.to(grad.device)  # (c3) g <- kappa g
        if maximize:
            grad = -grad  # (1) g <- -g
        skip = None if found_inf is None else on(found_inf, param)
        if weight_decay != 0:
            if decoupled_weight_decay:
                decay = 1.0 - lr * weight_decay
                param.mul_(decay if skip is None else choose(skip, 1.0, decay, param))  # (2) p <- p (1 - lr wd)
            else:
                grad = grad.add(param, alpha=weight_decay)  # (2) g <- g + wd p
        if skip is None:
            exp_avg.lerp_(grad, 1.0 - beta1)  # (3) m <- b1 m + (1 - b1) g
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)  # (4) v <- b2 v + (1 - b2) g^2
        else:  # the same with g = 0, beta = 1 on a skipped step: m and v keep their bits
            (grad,) = zero_if(skip, [grad])
            exp_avg.lerp_(grad, choose(skip, 0.0, 1.0 - beta1, exp_avg))  # (3)
            exp_avg_sq.mul_(choose(skip, 1.0, beta2, exp_avg_sq)).addcmul_(grad, grad, value=1.0 - beta2)  # (4)
        (denom,) = denominators([exp_avg_sq], k, c)  # (7) sqrt(v) + eps, or 1 in (8)
        if skip is None and not torch.compiler.is_compiling():
            # (7)/(8) p <- p - a m / denom, with ``a`` a tensor (addcdiv_'s ``value`` would read it back)
            torch._foreach_addcdiv_([param], [exp_avg], [denom], -a)
        else:
            _step_on_device([param], [exp_avg], [denom], a, found_inf)
        if found_inf is not None:
            set_back([steps[i]], found_inf)


def _step_on_device(
    params: _Tensors, exp_avgs: _Tensors, denoms: _Tensors, a: torch.Tensor, found_inf: torch.Tensor | None
) -> None:
    r"""(7)/(8) :math:`p \leftarrow p - m / (d / a)` with ``a`` never read back (``addcdiv_``'s tensor scalars
    are read on the host, and cannot be traced by ``torch.compile``), and :math:`a = 0` on a skipped
    step: :math:`m / \infty = 0`."""
    if found_inf is not None:
        a = torch.where(on(found_inf, a), torch.zeros_like(a), a)
    torch._foreach_div_(denoms, as_scalars(a))
    torch._foreach_addcdiv_(params, exp_avgs, denoms, value=-1.0)


def _prepare_grads(
    grads: Sequence[torch.Tensor],
    params: Sequence[torch.Tensor],
    clip: torch.Tensor | None,
    maximize: bool,
    l2: float,
) -> _Tensors:
    """(c3), (1) and L2 (2) for one group, never writing into ``p.grad`` (new tensors only when needed)."""
    out = list(grads)
    owned = False
    if clip is not None:
        out = list(torch._foreach_mul(out, clip.to(out[0].device)))  # (c3) g <- kappa g
        owned = True
    if maximize:
        if owned:
            torch._foreach_neg_(out)  # (1) g <- -g
        else:
            out = list(torch._foreach_neg(out))  # (1) g <- -g
            owned = True
    if l2 != 0:
        if owned:
            torch._foreach_add_(out, list(params), alpha=l2)  # (2) g <- g + wd p
        else:
            out = list(torch._foreach_add(out, list(params), alpha=l2))  # (2) g <- g + wd p
    return out


def _multi_tensor_radam(
    params: _Tensors,
    grads: _Tensors,
    exp_avgs: _Tensors,
    exp_avg_sqs: _Tensors,
    steps: _Tensors,
    *,
    clip: torch.Tensor | None,
    lr: float | torch.Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    degenerated_to_sgd: bool,
    decoupled_weight_decay: bool,
    maximize: bool,
    found_inf: torch.Tensor | None = None,
) -> None:
    """RAdam with ``torch._foreach_*`` kernels: one launch per (device, dtype) group and operation."""
    for indices in group_by_device_and_dtype(params):
        group_params = [params[i] for i in indices]
        group_exp_avgs = [exp_avgs[i] for i in indices]
        group_exp_avg_sqs = [exp_avg_sqs[i] for i in indices]
        t = increment([steps[i] for i in indices])  # t <- t + 1
        k, c, a = radam_coefficients(
            t, lr=lr, beta1=beta1, beta2=beta2, eps=eps, degenerated_to_sgd=degenerated_to_sgd
        )  # (5)-(8)
        l2 = weight_decay if not decoupled_weight_decay else 0.0
        group_grads = _prepare_grads([grads[i] for i in indices], group_params, clip, maximize, l2)  # (c), (1), (2)
        skip = None if found_inf is None else on(found_inf, group_params[0])
        if weight_decay != 0 and decoupled_weight_decay:
            decay = 1.0 - lr * weight_decay
            # (2) p <- p (1 - lr wd)
            torch._foreach_mul_(group_params, decay if skip is None else choose(skip, 1.0, decay, group_params[0]))
        foreach_adam_moments(group_exp_avgs, group_exp_avg_sqs, group_grads, beta1, beta2, skip)  # (3), (4)
        denom = denominators(group_exp_avg_sqs, k, c)  # (7) sqrt(v) + eps, or 1 in (8)
        if skip is None and not torch.compiler.is_compiling():
            torch._foreach_addcdiv_(group_params, group_exp_avgs, denom, -a)  # (7)/(8) p <- p - a m / denom
        else:
            _step_on_device(group_params, group_exp_avgs, denom, a, found_inf)  # (7)/(8), a = 0 when skipped
        if found_inf is not None:
            set_back([steps[i] for i in indices], found_inf)


def _radam_eager_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    coefs: torch.Tensor,
    skip: torch.Tensor | None,
) -> None:
    """The whole RAdam update of one tensor in eager ops: the fused path's un-adapted branch (8).

    ``coefs`` packs every scalar as a tensor (so nothing is read back):
    (kappa times -1 with maximize, L2 wd, decoupled decay factor, beta2, 1 - beta1, 1 - beta2, k, c, a);
    ``1 - beta`` comes computed in float64 (in float32, 1 - float32(0.999) is off by 1.3e-5).
    With ``skip`` (a 0/1 flag) set, every tensor keeps its value.
    """
    scale, l2, decay, beta2, one_minus_beta1, one_minus_beta2, k, c, a = coefs.unbind()
    grad = grad * scale + l2 * param  # (c3) g <- kappa g, (1) g <- -g, (2) g <- g + wd p (l2 = 0 unless L2)
    new_param = param * decay  # (2) p <- p (1 - lr wd) (decay = 1 unless decoupled)
    new_exp_avg = exp_avg.lerp(grad, one_minus_beta1)  # (3) m <- b1 m + (1 - b1) g
    new_exp_avg_sq = (exp_avg_sq * beta2).addcmul(grad, grad * one_minus_beta2)  # (4) v <- b2 v + (1 - b2) g^2
    new_param = new_param - a * new_exp_avg / (k * new_exp_avg_sq.sqrt() + c)  # (7)/(8) p <- p - a m / (k sqrt(v) + c)
    for old, new in ((param, new_param), (exp_avg, new_exp_avg), (exp_avg_sq, new_exp_avg_sq)):
        old.copy_(new if skip is None else torch.where(skip != 0, old, new))


def _rectified_factors(t: float, beta1: float, beta2: float) -> tuple[bool, float, float]:
    """(5)-(8) for one host step ``t``: (rho_t > 5, f_7 = r_t sqrt(1 - b2^t) / (1 - b1^t), f_8 = 1 / (1 - b1^t)).

    The float64 arithmetic of :func:`rho`, :func:`rectification` and :func:`radam_coefficients`
    (which the other kernels run on tensors), on Python floats.
    """
    bias_correction1 = 1.0 - beta1**t
    bias_correction2 = 1.0 - beta2**t
    rho_inf = 2.0 / (1.0 - beta2) - 1.0  # (6)
    rho_t = rho_inf - 2.0 * t * beta2**t / bias_correction2  # (6)
    if not rho_t > RHO_THRESHOLD:  # (8)
        return False, 0.0, 1.0 / bias_correction1
    rect = math.sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))  # (7) r_t
    return True, rect * math.sqrt(bias_correction2) / bias_correction1, 1.0 / bias_correction1


def _kernel_takes(*tensors: torch.Tensor) -> bool:
    """torch's CPU fused kernels walk ``data_ptr`` linearly: every tensor must be contiguous."""
    return all(t.is_contiguous() for t in tensors)


def _fused_radam(
    params: _Tensors,
    grads: _Tensors,
    exp_avgs: _Tensors,
    exp_avg_sqs: _Tensors,
    steps: _Tensors,
    *,
    clip: torch.Tensor | None,
    lr: float | torch.Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    degenerated_to_sgd: bool,
    decoupled_weight_decay: bool,
    maximize: bool,
    found_inf: torch.Tensor | None = None,
) -> None:
    """RAdam on torch's fused Adam kernel: one pass over p, g, m, v for the rectified step (7).

    The rectified step is Adam's with the learning rate :math:`\\gamma r_t \\sqrt{1 - \\beta_2^t} / (1 - \\beta_1^t)`
    and both bias corrections 1: ``torch._fused_adam_`` (``_fused_adamw_`` for decoupled decay, its
    ``weight_decay`` divided by the same factor so that the kernel's :math:`1 - \\gamma' \\lambda'` is
    :math:`1 - \\gamma\\lambda`) is given step tensors of ``+inf`` (:math:`1 - \\beta^\\infty = 1`). The branch
    is chosen on the host from the step counters, which live on the CPU (no device sync), per run
    of tensors sharing a step. The un-adapted step (8) (the first 5 steps with the default betas;
    every step when :math:`\\beta_2 \\le 2/3`, where :math:`\\rho_\\infty \\le 5`), and tensors the kernel cannot
    take (non-contiguous ones), run :func:`_radam_eager_update`. Nothing is compiled. ``p.grad`` is
    never written (with clipping the kernel reads a scaled copy).

    ``lr`` is a float or a 0-dim tensor; ``found_inf`` (0-dim, on the parameters' device), when
    nonzero, skips the step: parameters, moments and counters keep their values bit for bit.
    """
    torch._foreach_add_(steps, 1.0)  # t <- t + 1
    runs: dict[tuple[torch.device, torch.dtype, float], list[int]] = {}
    for i, t in enumerate(host_counter_values(steps)):
        runs.setdefault((params[i].device, params[i].dtype, t), []).append(i)
    decoupled = weight_decay != 0 and decoupled_weight_decay
    l2 = weight_decay if not decoupled_weight_decay else 0.0
    skip = None
    for (device, _, t), indices in runs.items():
        skip = skip_flag(found_inf, device)
        adaptive, rectified_factor, sgd_factor = _rectified_factors(t, beta1, beta2)
        kernel_ready = [i for i in indices if _kernel_takes(params[i], grads[i], exp_avgs[i], exp_avg_sqs[i])]
        if not adaptive:
            kernel_ready = []
        if kernel_ready:
            kernel_grads = [grads[i] for i in kernel_ready]
            if clip is not None:  # (c3) g <- kappa g into a copy: the kernel's grad_scale would write p.grad
                kernel_grads = list(torch._foreach_mul(kernel_grads, clip.to(device)))
            kernel_lr: float | torch.Tensor = lr * rectified_factor  # (7) lr r_t sqrt(1 - b2^t) / (1 - b1^t)
            if isinstance(lr, torch.Tensor):  # in float64 as the float lr, then float32 (the CUDA kernels read float)
                kernel_lr = (lr.to(device=device, dtype=torch.float64) * rectified_factor).to(torch.float32)
            kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
            infinity = torch.full((), math.inf, dtype=torch.float32, device=steps[kernel_ready[0]].device)
            kernel(
                [params[i] for i in kernel_ready],
                kernel_grads,
                [exp_avgs[i] for i in kernel_ready],
                [exp_avg_sqs[i] for i in kernel_ready],
                [],
                [infinity] * len(kernel_ready),  # bias corrections 1 - b^inf = 1
                lr=kernel_lr,
                beta1=beta1,
                beta2=beta2,
                weight_decay=weight_decay / rectified_factor if decoupled else l2,  # (2)
                eps=eps,
                amsgrad=False,
                maximize=maximize,  # (1)
                grad_scale=None,
                found_inf=skip,
            )
        taken = set(kernel_ready)
        rest = [i for i in indices if i not in taken]
        if not rest:
            continue
        if adaptive:  # (7) as (k, c, a) = (1, eps, lr f_7)
            k, c, a = 1.0, eps, rectified_factor
        else:  # (8) as (0, 1, lr f_8), or no step without degenerated_to_sgd
            k, c, a = 0.0, 1.0, sgd_factor if degenerated_to_sgd else 0.0
        n = len(rest)
        columns = [torch.full((n,), v, dtype=torch.float64) for v in (k, c, a)]
        constants = [l2, weight_decay if decoupled else 0.0, beta2, 1.0 - beta1, 1.0 - beta2]
        coefs = fused_coefficients(clip, maximize, constants, columns, params[rest[0]], lr=lr, scaled=[8], decayed=[2])
        for j, i in enumerate(rest):
            _radam_eager_update(params[i], grads[i], exp_avgs[i], exp_avg_sqs[i], coefs[j], skip)
    revert_skipped_steps(steps, skip)


__all__ = ["RAdam", "radam_coefficients", "rectification", "rho"]
