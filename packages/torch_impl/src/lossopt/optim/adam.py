"""AdvancedAdamW and AdvancedAdam: Adam / AdamW with AMSGrad, optional bias correction, warmup, cycles, clipping.

Mirrors ``lossopt_spec.optim.adam``; the equations and their tags (0), (c), (1)–(8) are in its docstring:

.. math::

    \\gamma_t = \\gamma w_t c_t, \\quad g \\leftarrow \\kappa g, \\quad
    m_t = \\beta_1 m + (1 - \\beta_1) g, \\quad v_t = \\beta_2 v + (1 - \\beta_2) g^2, \\\\
    \\theta_t = \\theta - \\tfrac{\\gamma_t}{1 - \\beta_1^t} \\tfrac{m_t}{\\sqrt{\\hat v_t/(1-\\beta_2^t)}+\\epsilon}

Three kernels with one signature: :func:`_single_tensor_adam` (``foreach=False``, the readable
twin of the spec), :func:`_multi_tensor_adam` (``torch._foreach_*``, the default) and
:func:`_fused_adam` (``fused=True``: ``torch._fused_adamw_`` / ``torch._fused_adam_``, one pass
over p, g, m, v, with the clip coefficient passed as the kernels' ``grad_scale``).

No host-device synchronisation in ``step()``: the clip coefficient stays a device tensor; the
schedule factor is computed on the host from the host clock (or on the device when
``capturable=True``); per-parameter ``step`` counters live on the CPU unless ``capturable`` or
``fused``, as in ``torch.optim.Adam``, and are read there (a CPU read, not a device sync).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

from lossopt.optim import _cpu_kernels
from lossopt.optim._amp import fused_grad_scale, grad_multiplier
from lossopt.optim._nonfinite import SKIP_NONFINITE, check_skip_nonfinite, choose, on, repeat, set_back, zero_if
from lossopt.optim._schedule_clip import CLOCK, SCHEDULE_CLIP_DEFAULTS, ScheduleClipMixin, check_schedule_clip
from lossopt.optim._tensor_groups import default_foreach, group_by_device_and_dtype
from lossopt.optim._validation import (
    SparseGradientError,
    check_flags,
    check_in_unit_interval,
    check_non_negative,
    host_value,
)

_Tensors = list[torch.Tensor]
_FUSED_DEVICES = ("cpu", "cuda", "mps", "xpu")


def _fused_kernel_takes_grad_scale(name: str) -> bool:
    """Whether ``torch.<name>`` exists and takes ``grad_scale`` (torch 2.13 and 2.14 do; checked, not assumed)."""
    op = getattr(torch.ops.aten, name, None)
    if op is None:
        return False
    try:
        return "grad_scale" in str(op.default._schema)
    except AttributeError:  # pragma: no cover - schema layout of a future torch
        return False


FUSED_ADAM_HAS_GRAD_SCALE = _fused_kernel_takes_grad_scale("_fused_adam_") and _fused_kernel_takes_grad_scale(
    "_fused_adamw_"
)


def check_adam_arguments(
    lr: Any, betas: Any, eps: Any, weight_decay: Any, foreach: bool | None, fused: bool | None, differentiable: bool
) -> None:
    """The checks both Adam classes share; messages name the argument, the value and the allowed range."""
    check_non_negative("learning rate", lr)
    check_non_negative("epsilon value", eps)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (must be a pair (beta1, beta2), each in [0, 1))")
    for index, beta in enumerate(betas):
        check_in_unit_interval(f"beta parameter at index {index}", beta)
    check_non_negative("weight_decay value", weight_decay)
    if fused and foreach:
        raise ValueError(
            f"Invalid fused/foreach: fused={fused}, foreach={foreach} (at most one of them may be True; "
            "fused=True already is the multi-tensor kernel)"
        )
    if fused and differentiable:
        raise ValueError("Invalid fused: True with differentiable=True (the fused kernels have no autograd; use one)")


class _AdamBase(ScheduleClipMixin, Optimizer):
    """Shared body of :class:`AdvancedAdamW` and :class:`AdvancedAdam` (they differ in eq. (2))."""

    _decoupled_weight_decay = True
    _state_keys = ("step", "exp_avg", "exp_avg_sq")
    _device_counters = True  # capturable / fused: ``step`` on the parameter's device, as torch.optim.Adam

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float,
        betas: tuple[float, float],
        eps: float,
        weight_decay: float,
        amsgrad: bool,
        *,
        maximize: bool,
        foreach: bool | None,
        capturable: bool,
        differentiable: bool,
        fused: bool | None,
        use_bias_correction: bool,
        warmup_steps: int,
        max_grad_norm: float | None,
        skip_nonfinite: bool = False,
    ) -> None:
        check_flags(
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            use_bias_correction=use_bias_correction,
        )
        check_adam_arguments(lr, betas, eps, weight_decay, foreach, fused, differentiable)
        check_skip_nonfinite(skip_nonfinite)
        check_schedule_clip(warmup_steps, max_grad_norm, False, SCHEDULE_CLIP_DEFAULTS["cycle_length"])
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "use_bias_correction": use_bias_correction,
            **SCHEDULE_CLIP_DEFAULTS,
            "warmup_steps": warmup_steps,
            "max_grad_norm": max_grad_norm,
            SKIP_NONFINITE: skip_nonfinite,
        }
        super().__init__(params, defaults)
        self._default_group_keys()
        if fused:  # the fused kernels take GradScaler's grad_scale and found_inf (see step())
            self._step_supports_amp_scaling = True

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        group.setdefault(CLOCK, 0)
        self._place_clock(group, bool(group.get("capturable", False)))

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            for key, value in (
                ("amsgrad", False),
                ("maximize", False),
                ("foreach", None),
                ("capturable", False),
                ("differentiable", False),
                ("fused", None),
                ("use_bias_correction", True),
            ):
                group.setdefault(key, value)
        self._default_group_keys()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As ``torch.optim.Optimizer.load_state_dict``; also loads ``torch.optim.Adam`` / ``AdamW`` state dicts.

        Hyperparameters come from ``state_dict`` (as in torch); the ones it lacks (this class's
        extras, when it comes from torch) keep this optimizer's values, and the schedule clock
        resumes at the largest per-parameter ``step`` it holds.
        """
        current = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        super().load_state_dict(state_dict)
        self._restore_missing_group_keys(state_dict["param_groups"], current)

    def _group_tensors(
        self, group: dict[str, Any]
    ) -> tuple[_Tensors, _Tensors, _Tensors, _Tensors, _Tensors, _Tensors]:
        params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = [], [], [], [], [], []
        on_device = group["capturable"] or bool(group["fused"]) or group.get(SKIP_NONFINITE, False)
        for p in group["params"]:
            if p.grad is None:
                continue
            if p.grad.is_sparse:
                raise SparseGradientError(
                    f"Invalid gradient: a sparse gradient for a parameter of shape {tuple(p.shape)} "
                    f"({type(self).__name__} needs dense gradients; torch.optim.SparseAdam takes sparse ones)"
                )
            if group["fused"] and (p.device.type not in _FUSED_DEVICES or not p.is_floating_point()):
                raise RuntimeError(
                    f"fused=True needs floating-point parameters on one of {_FUSED_DEVICES}; "
                    f"got {p.dtype} on {p.device}"
                )
            state = self.state[p]
            if len(state) == 0:
                state["step"] = (
                    torch.zeros((), dtype=torch.float32, device=p.device)
                    if on_device
                    else torch.tensor(0.0, dtype=torch.float32)
                )
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            if on_device and state["step"].device != p.device:  # a state saved with the counters on the CPU
                state["step"] = state["step"].to(p.device)
            if group["amsgrad"] and "max_exp_avg_sq" not in state:  # a state saved without amsgrad
                state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            params.append(p)
            grads.append(p.grad)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            if group["amsgrad"]:
                max_exp_avg_sqs.append(state["max_exp_avg_sq"])
            steps.append(state["step"])
        return params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Perform one update; ``closure`` re-evaluates the model and returns the loss (it runs once)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        differentiable = any(group["differentiable"] for group in self.param_groups)
        with torch.set_grad_enabled(differentiable):
            grad_norm, grad_scale, found_inf = self._begin_step()  # (c1) over every group, before any update
            for group in self.param_groups:
                lr = self._scheduled_lr(group, found_inf=found_inf)  # (0) lr_t = lr w c (even without grads)
                params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = self._group_tensors(group)
                if not params:
                    continue
                if group["fused"]:
                    kernel = _fused_adam
                elif group["foreach"] if group["foreach"] is not None else default_foreach(params):
                    kernel = _single_tensor_adam if group["differentiable"] else _multi_tensor_adam
                else:
                    kernel = _single_tensor_adam
                beta1, beta2 = group["betas"]
                kernel(
                    params,
                    grads,
                    exp_avgs,
                    exp_avg_sqs,
                    max_exp_avg_sqs,
                    steps,
                    grad_norm=grad_norm if group["max_grad_norm"] is not None else None,
                    max_grad_norm=group["max_grad_norm"],
                    lr=lr,
                    beta1=beta1,
                    beta2=beta2,
                    eps=group["eps"],
                    weight_decay=group["weight_decay"],
                    amsgrad=group["amsgrad"],
                    maximize=group["maximize"],
                    capturable=group["capturable"],
                    use_bias_correction=group["use_bias_correction"],
                    decoupled_weight_decay=self._decoupled_weight_decay,
                    grad_scale=grad_scale,
                    found_inf=found_inf,
                )
        return loss


class AdvancedAdamW(_AdamBase):
    """AdamW (decoupled weight decay) with AMSGrad, optional bias correction, linear warmup and global-norm clipping.

    Args:
        params: iterable of parameters or of parameter-group dicts.
        lr: base learning rate :math:`\\gamma` (>= 0); read from ``group["lr"]`` at every step, never written.
        betas: :math:`(\\beta_1, \\beta_2)`, each in [0, 1).
        eps: :math:`\\epsilon` (>= 0).
        weight_decay: decoupled decay :math:`\\lambda` (>= 0):
            :math:`\\theta \\leftarrow \\theta (1 - \\gamma_t \\lambda)`.
        amsgrad: use the running maximum of :math:`v` (Reddi et al. 2018).
        maximize: ascend the objective.
        foreach: ``True`` for the ``torch._foreach_*`` kernel, ``False`` for the per-tensor loop, ``None``
            (default) for the multi-tensor kernel whenever every parameter is a plain strided tensor.
        capturable: keep every counter and the learning rate on the parameters' device, so ``step()`` can
            be captured in a CUDA graph.
        differentiable: run the update under autograd (per-tensor kernel only).
        fused: ``True`` for torch's fused kernel (CPU, CUDA); at most one of ``fused`` and ``foreach``.
        use_bias_correction: divide by :math:`1 - \\beta_1^t` and :math:`\\sqrt{1 - \\beta_2^t}` (default), or not.
        warmup_steps: :math:`W`: the learning rate is scaled by :math:`\\min(1, t / W)` at step :math:`t`.
        max_grad_norm: clip the update's gradients to this global L2 norm over every group (``None``: off).
        skip_nonfinite: default ``False``. ``True`` skips the whole step (every group) when the global
            L2 norm of the gradients is inf or NaN, decided on the device without a host sync:
            parameters, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``, the ``step`` counters and the
            schedule clock keep their values; ``group["skipped_steps"]`` (a tensor, in ``state_dict``)
            counts the skipped steps. The ``step`` counters and the clock then live on the parameters'
            device (as with ``capturable``) and the learning rate is computed there.

    ``torch.amp.GradScaler``: with ``fused=True`` the optimizer consumes the scaler's ``grad_scale`` and
    ``found_inf`` (``_step_supports_amp_scaling``): the kernel divides the gradients by the scale and
    skips the step on ``found_inf``, and ``max_grad_norm`` clips the unscaled gradients (once, also when
    ``scaler.unscale_(optimizer)`` was called first). Otherwise the scaler unscales the gradients and
    skips ``step()`` itself.

    With the extras off it is step for step ``torch.optim.AdamW`` and their ``state_dict`` s load into
    each other (state ``step``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``). The schedule clock is
    ``group["schedule_step"]``; the last pre-clip gradient norm is ``optimizer.last_grad_norm`` (a tensor).

    Clipping never modifies ``p.grad`` on the per-tensor and foreach paths, nor with ``fused=True`` on
    float32/float64 CPU parameters, where lossopt's own kernel runs the clipped (or ``GradScaler``-scaled)
    step in one pass that only reads the gradients (``lossopt.optim._cpu_kernels``; built on first use
    with the system's C compiler, else torch's kernel runs). torch's fused kernels (CUDA, float16 /
    bfloat16, or without a compiler) write the rescaled gradient back into ``p.grad`` (they do so for
    ``grad_scale``); ``p.grad`` then holds the clipped gradient, as after
    ``torch.nn.utils.clip_grad_norm_``. Without clipping or a scaler, ``fused=True`` is torch's kernel:
    bit-identical to ``torch.optim.AdamW(fused=True)``.

    A non-finite gradient norm with clipping on is not an error: as ``clip_grad_norm_`` with
    ``error_if_nonfinite=False`` the coefficient is 0 (norm inf) or NaN (norm NaN), so parameters whose
    gradient holds inf/NaN become NaN and the others take a step with a zero (or NaN) gradient. Check
    ``torch.isfinite(optimizer.last_grad_norm)`` in the training loop to skip such batches.

    Differs from the original design: the warmup factor is :math:`\\min(1, t / W)` with 1-based :math:`t`
    (the design's factor was 0 on the first step and compounded into ``group['lr']``, freezing training),
    the learning rate is never overwritten (schedulers and per-group rates compose), the clip norm covers
    every group (not group 0 only) and the closure runs once per step (not twice).

    Example:
        >>> import torch
        >>> from lossopt.optim import AdvancedAdamW
        >>> w = torch.nn.Parameter(torch.ones(3))
        >>> opt = AdvancedAdamW([w], lr=0.1, warmup_steps=10, max_grad_norm=1.0)
        >>> w.grad = torch.full((3,), 5.0)
        >>> opt.step()
        >>> opt.last_grad_norm
        tensor(8.6603)
        >>> w.data  # lr_1 = 0.1 * 1/10; the first Adam step moves by lr_1; decay 1 - 0.01 * 0.01
        tensor([0.9899, 0.9899, 0.9899])
    """

    _decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        use_bias_correction: bool = True,
        warmup_steps: int = 0,
        max_grad_norm: float | None = None,
        skip_nonfinite: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            use_bias_correction=use_bias_correction,
            warmup_steps=warmup_steps,
            max_grad_norm=max_grad_norm,
            skip_nonfinite=skip_nonfinite,
        )


class AdvancedAdam(_AdamBase):
    """Adam with L2 weight decay added to the gradient; otherwise as :class:`AdvancedAdamW` (same arguments).

    ``skip_nonfinite`` (default ``False``) and ``torch.amp.GradScaler`` behave as in :class:`AdvancedAdamW`.

    ``weight_decay`` (default 0) is coupled: :math:`g \\leftarrow g + \\lambda \\theta` before the moments.
    With the extras off it is step for step ``torch.optim.Adam`` and their ``state_dict`` s load into each other.

    Example:
        >>> import torch
        >>> from lossopt.optim import AdvancedAdam
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> opt = AdvancedAdam([w], lr=0.5)
        >>> w.grad = torch.tensor([1.0, -3.0])
        >>> opt.step()
        >>> w.data  # the first bias-corrected Adam step is lr * sign(g)
        tensor([-0.5000,  0.5000])
    """

    _decoupled_weight_decay = False

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        use_bias_correction: bool = True,
        warmup_steps: int = 0,
        max_grad_norm: float | None = None,
        skip_nonfinite: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            use_bias_correction=use_bias_correction,
            warmup_steps=warmup_steps,
            max_grad_norm=max_grad_norm,
            skip_nonfinite=skip_nonfinite,
        )


def _single_tensor_adam(
    params: _Tensors,
    grads: _Tensors,
    exp_avgs: _Tensors,
    exp_avg_sqs: _Tensors,
    max_exp_avg_sqs: _Tensors,
    state_steps: _Tensors,
    *,
    grad_norm: torch.Tensor | None,
    max_grad_norm: float | None,
    lr: float | torch.Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    maximize: bool,
    capturable: bool,
    use_bias_correction: bool,
    decoupled_weight_decay: bool,
    grad_scale: torch.Tensor | None = None,
    found_inf: torch.Tensor | None = None,
) -> None:
    """Per-tensor Adam / AdamW, statement for statement the spec's ``adam_update``.

    ``grad_scale``: the ``GradScaler`` scale the gradients still carry (divided out with the clip
    coefficient); ``found_inf``: skip this step on the device (``lossopt.optim._nonfinite``).
    """
    coefficient = grad_multiplier(grad_norm, max_grad_norm, grad_scale)  # (c2) kappa (/ S), a device tensor
    for i, param in enumerate(params):
        grad = grads[i]
        skip = None if found_inf is None else on(found_inf, param)
        if coefficient is not None:
            grad = grad * coefficient.to(grad.device)  # (c) g <- kappa g (p.grad untouched)
        if maximize:
            grad = -grad  # (1) g <- -g
        exp_avg = exp_avgs[i]
        exp_avg_sq = exp_avg_sqs[i]
        step_t = state_steps[i]
        step_t += 1
        if weight_decay != 0:
            if decoupled_weight_decay:
                decay = 1 - lr * weight_decay
                param.mul_(decay if skip is None else choose(skip, 1.0, decay, param))  # (2) p <- p (1 - lr wd)
            else:
                grad = grad.add(param, alpha=weight_decay)  # (2) g <- g + wd p
        if skip is None:
            exp_avg.lerp_(grad, 1 - beta1)  # (3) m <- b1 m + (1 - b1) g
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # (4) v <- b2 v + (1 - b2) g^2
        else:  # the same with g = 0, beta = 1 on a skipped step: m and v keep their bits
            (grad,) = zero_if(skip, [grad])
            exp_avg.lerp_(grad, choose(skip, 0.0, 1 - beta1, exp_avg))  # (3)
            exp_avg_sq.mul_(choose(skip, 1.0, beta2, exp_avg_sq)).addcmul_(grad, grad, value=1 - beta2)  # (4)
        if capturable or torch.is_grad_enabled() or isinstance(lr, torch.Tensor) or skip is not None:
            # counters as tensors (CUDA graphs, autograd): no host read
            # in float64: 1 - beta2^t cancels catastrophically in float32 (rel. error 3e-5 at t = 2)
            step_tensor = (
                step_t.to(torch.float64)
                if use_bias_correction
                else torch.full((), math.inf, dtype=torch.float64, device=param.device)
            )
            bias_correction1_t = 1 - beta1**step_tensor  # (6) b1 = 1 - beta1^t (1 when the step is inf)
            bias_correction2_t = 1 - beta2**step_tensor  # (6) b2 = 1 - beta2^t
            step_size_neg = (lr / bias_correction1_t).neg().to(param.dtype)
            bias_correction2_sqrt = bias_correction2_t.sqrt().to(param.dtype)
            if amsgrad:
                max_exp_avg_sqs[i].copy_(torch.maximum(max_exp_avg_sqs[i], exp_avg_sq))  # (5) vmax <- max(vmax, v)
                second = max_exp_avg_sqs[i]
            else:
                second = exp_avg_sq  # (5) vhat = v
            # (7)-(8) folded as torch's capturable Adam: p += m / ((sqrt(vhat) / sqrt(b2) + eps) / (-lr / b1))
            denom = (second.sqrt() / (bias_correction2_sqrt * step_size_neg)).add_(eps / step_size_neg)
            if skip is not None:
                denom.div_(choose(skip, 0.0, 1.0, denom))  # skipped: m / inf = 0
                set_back([step_t], found_inf)  # type: ignore[arg-type]
            param.addcdiv_(exp_avg, denom)
            continue
        step = host_value(step_t)  # (6) t
        if use_bias_correction:
            bias_correction1 = 1 - beta1**step  # (6) b1 = 1 - beta1^t
            bias_correction2 = 1 - beta2**step  # (6) b2 = 1 - beta2^t
        else:
            bias_correction1 = bias_correction2 = 1.0  # (6) b1 = b2 = 1
        if amsgrad:
            torch.maximum(max_exp_avg_sqs[i], exp_avg_sq, out=max_exp_avg_sqs[i])  # (5) vmax <- max(vmax, v)
            second = max_exp_avg_sqs[i]
        else:
            second = exp_avg_sq  # (5) vhat = v
        denom = (second.sqrt() / bias_correction2**0.5).add_(eps)  # (7) d = sqrt(vhat) / sqrt(b2) + eps
        param.addcdiv_(exp_avg, denom, value=-(lr / bias_correction1))  # type: ignore[arg-type]  # (8) p <- p - lr / b1 m / d


def _multi_tensor_adam(
    params: _Tensors,
    grads: _Tensors,
    exp_avgs: _Tensors,
    exp_avg_sqs: _Tensors,
    max_exp_avg_sqs: _Tensors,
    state_steps: _Tensors,
    *,
    grad_norm: torch.Tensor | None,
    max_grad_norm: float | None,
    lr: float | torch.Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    maximize: bool,
    capturable: bool,
    use_bias_correction: bool,
    decoupled_weight_decay: bool,
    grad_scale: torch.Tensor | None = None,
    found_inf: torch.Tensor | None = None,
) -> None:
    """Adam / AdamW with ``torch._foreach_*`` kernels, one launch per (device, dtype) group and operation."""
    coefficient = grad_multiplier(grad_norm, max_grad_norm, grad_scale)  # (c2) kappa (/ S), a device tensor
    for indices in group_by_device_and_dtype(params):
        device_params = [params[i] for i in indices]
        device_grads = [grads[i] for i in indices]
        device_exp_avgs = [exp_avgs[i] for i in indices]
        device_exp_avg_sqs = [exp_avg_sqs[i] for i in indices]
        device_max = [max_exp_avg_sqs[i] for i in indices] if amsgrad else []
        device_steps = [state_steps[i] for i in indices]
        skip = None if found_inf is None else on(found_inf, device_params[0])
        owned = False  # whether device_grads are temporaries we may overwrite (never p.grad)
        if coefficient is not None:
            device_grads = list(torch._foreach_mul(device_grads, coefficient.to(device_params[0].device)))  # (c)
            owned = True
        if maximize:
            if owned:
                torch._foreach_neg_(device_grads)  # (1) g <- -g
            else:
                device_grads = list(torch._foreach_neg(device_grads))  # (1) g <- -g
                owned = True
        if device_steps[0].is_cpu:
            torch._foreach_add_(device_steps, torch.tensor(1.0, device="cpu"), alpha=1.0)
        else:
            torch._foreach_add_(device_steps, 1)
        if weight_decay != 0:
            if decoupled_weight_decay:
                decay = 1 - lr * weight_decay
                # (2) p <- p (1 - lr wd)
                torch._foreach_mul_(
                    device_params, decay if skip is None else choose(skip, 1.0, decay, device_params[0])
                )
            elif owned:
                torch._foreach_add_(device_grads, device_params, alpha=weight_decay)  # (2) g <- g + wd p
            else:
                device_grads = list(torch._foreach_add(device_grads, device_params, alpha=weight_decay))  # (2)
        foreach_adam_moments(device_exp_avgs, device_exp_avg_sqs, device_grads, beta1, beta2, skip)  # (3), (4)
        del device_grads
        if amsgrad:
            torch._foreach_maximum_(device_max, device_exp_avg_sqs)  # (5) vmax <- max(vmax, v)
            exp_avg_sq_sqrt = torch._foreach_sqrt(device_max)
        else:
            exp_avg_sq_sqrt = torch._foreach_sqrt(device_exp_avg_sqs)  # (5) vhat = v
        if capturable or isinstance(lr, torch.Tensor) or skip is not None:
            # every counter stays a tensor on the device (as torch's capturable Adam)
            # in float64: 1 - beta2^t cancels catastrophically in float32 (rel. error 3e-5 at t = 2);
            # rounded to the parameters' dtype once, at the end
            dtype = device_params[0].dtype
            if use_bias_correction:
                steps = [s.to(torch.float64) for s in device_steps]
            else:
                steps = [torch.full((), math.inf, dtype=torch.float64, device=s.device) for s in device_steps]
            bias_correction1 = list(torch._foreach_pow(beta1, steps))  # (6) beta1^t
            bias_correction2 = list(torch._foreach_pow(beta2, steps))  # (6) beta2^t
            torch._foreach_sub_(bias_correction1, 1)
            torch._foreach_sub_(bias_correction2, 1)
            torch._foreach_neg_(bias_correction2)  # (6) b2 = 1 - beta2^t
            torch._foreach_div_(bias_correction1, lr)  # -b1 / lr
            torch._foreach_reciprocal_(bias_correction1)  # step size -lr / b1
            torch._foreach_sqrt_(bias_correction2)
            bias_correction1 = [b.to(dtype) for b in bias_correction1]
            bias_correction2 = [b.to(dtype) for b in bias_correction2]
            torch._foreach_div_(exp_avg_sq_sqrt, bias_correction2)  # (7) sqrt(vhat) / sqrt(b2)
            torch._foreach_add_(exp_avg_sq_sqrt, eps)  # (7) + eps
            torch._foreach_div_(exp_avg_sq_sqrt, bias_correction1)
            if skip is not None:
                torch._foreach_div_(exp_avg_sq_sqrt, choose(skip, 0.0, 1.0, device_params[0]))  # skipped: m / inf = 0
                set_back(device_steps, found_inf)  # type: ignore[arg-type]
            torch._foreach_addcdiv_(device_params, device_exp_avgs, exp_avg_sq_sqrt)  # (8)
            continue
        if use_bias_correction:
            step_values = [host_value(s) for s in device_steps]  # (6) t per parameter
            bias_correction1_host = [1 - beta1**s for s in step_values]  # (6) b1 = 1 - beta1^t
            bias_correction2_sqrt = [(1 - beta2**s) ** 0.5 for s in step_values]  # (6) sqrt(b2)
        else:
            bias_correction1_host = [1.0] * len(device_steps)  # (6) b1 = 1
            bias_correction2_sqrt = [1.0] * len(device_steps)  # (6) b2 = 1
        step_size = [(lr / bc) * -1 for bc in bias_correction1_host]
        torch._foreach_div_(exp_avg_sq_sqrt, bias_correction2_sqrt)  # (7) sqrt(vhat) / sqrt(b2)
        torch._foreach_add_(exp_avg_sq_sqrt, eps)  # (7) d = ... + eps
        torch._foreach_addcdiv_(device_params, device_exp_avgs, exp_avg_sq_sqrt, step_size)  # (8) p -= lr / b1 m / d


def foreach_adam_moments(
    exp_avgs: _Tensors,
    exp_avg_sqs: _Tensors,
    grads: _Tensors,
    beta1: float,
    beta2: float,
    skip: torch.Tensor | None,
) -> None:
    """(3) m <- b1 m + (1 - b1) g and (4) v <- b2 v + (1 - b2) g^2 with ``torch._foreach_*`` (Adam, RAdam).

    With ``skip`` (a 0/1 device flag) set, g = 0 and beta = 1: m and v keep their bits, no host sync.
    """
    if skip is None:
        torch._foreach_lerp_(exp_avgs, grads, 1.0 - beta1)  # (3) m <- b1 m + (1 - b1) g
        torch._foreach_mul_(exp_avg_sqs, beta2)  # (4) v <- b2 v
    else:  # the same with g = 0, beta = 1 on a skipped step: m and v keep their bits
        grads = zero_if(skip, grads)
        torch._foreach_lerp_(exp_avgs, grads, repeat(len(exp_avgs), choose(skip, 0.0, 1.0 - beta1, exp_avgs[0])))  # (3)
        torch._foreach_mul_(exp_avg_sqs, choose(skip, 1.0, beta2, exp_avg_sqs[0]))  # (4) v <- b2 v
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1.0 - beta2)  # (4) v += (1 - b2) g^2


@torch.compiler.disable  # type: ignore[untyped-decorator]  # as torch.optim: the fused kernels have no fake (meta) implementation with a tensor lr
def _fused_adam(
    params: _Tensors,
    grads: _Tensors,
    exp_avgs: _Tensors,
    exp_avg_sqs: _Tensors,
    max_exp_avg_sqs: _Tensors,
    state_steps: _Tensors,
    *,
    grad_norm: torch.Tensor | None,
    max_grad_norm: float | None,
    lr: float | torch.Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    maximize: bool,
    capturable: bool,
    use_bias_correction: bool,
    decoupled_weight_decay: bool,
    grad_scale: torch.Tensor | None = None,
    found_inf: torch.Tensor | None = None,
) -> None:
    """A fused Adam / AdamW kernel per (device, dtype) group: (1)–(8) in one pass over p, g, m, v.

    With clipping or a ``GradScaler`` scale, CPU float32/float64 tensors go to lossopt's kernel
    (:func:`lossopt.optim._cpu_kernels.adam`): it multiplies the gradient by
    :math:`\\kappa / S` as it reads it and never writes it, so clipping costs the norm's one read of
    the gradients. Everything else runs torch's ``_fused_adam(w)_``: the clip coefficient enters as
    ``grad_scale = 1 / kappa`` (the kernel divides the gradient by it) and the kernel writes the
    rescaled gradient back into ``grads``. Without bias correction torch's kernel is given steps of
    ``inf``: :math:`1 - \\beta^{\\infty} = 1` exactly for every :math:`\\beta \\in [0, 1)`.
    """
    kernel = torch._fused_adamw_ if decoupled_weight_decay else torch._fused_adam_
    scaled = (grad_norm is not None and max_grad_norm is not None) or grad_scale is not None
    for indices in group_by_device_and_dtype(params):
        device_params = [params[i] for i in indices]
        device_grads = [grads[i] for i in indices]
        device_steps = [state_steps[i] for i in indices]
        device_exp_avgs = [exp_avgs[i] for i in indices]
        device_exp_avg_sqs = [exp_avg_sqs[i] for i in indices]
        device_max_exp_avg_sqs = [max_exp_avg_sqs[i] for i in indices] if amsgrad else []
        device = device_params[0].device
        # clipping / GradScaler on CPU float32/float64: lossopt's kernel, which only reads the gradients
        tensors = [device_params, device_grads, device_exp_avgs, device_exp_avg_sqs]
        if scaled and _cpu_kernels.float32_counters(device_steps):
            taken, others = _cpu_kernels.partition(tensors + ([device_max_exp_avg_sqs] if amsgrad else []))
        else:
            taken, others = [], []
        if taken:
            _cpu_kernels.adam(
                [device_params[i] for i in taken],
                [device_grads[i] for i in taken],
                [device_exp_avgs[i] for i in taken],
                [device_exp_avg_sqs[i] for i in taken],
                [device_max_exp_avg_sqs[i] for i in taken] if amsgrad else [],
                [device_steps[i] for i in taken],
                lr=lr,
                beta1=beta1,
                beta2=beta2,
                eps=eps,
                weight_decay=weight_decay,
                decoupled=decoupled_weight_decay,
                amsgrad=amsgrad,
                maximize=maximize,
                bias_correction=use_bias_correction,
                multiplier=grad_multiplier(grad_norm, max_grad_norm, grad_scale),
                found_inf=found_inf,
            )
            if not others:
                continue
            device_params, device_grads, device_exp_avgs, device_exp_avg_sqs, device_steps = (
                [t[i] for i in others] for t in [*tensors, device_steps]
            )
            device_max_exp_avg_sqs = [device_max_exp_avg_sqs[i] for i in others] if amsgrad else []
        torch._foreach_add_(device_steps, 1)
        kernel_scale = None
        if scaled:
            if FUSED_ADAM_HAS_GRAD_SCALE and device_params[0].dtype != torch.float64:
                kernel_scale = fused_grad_scale(grad_norm, max_grad_norm, grad_scale, device)  # (c) g / (S / kappa)
            else:  # the kernels read grad_scale as float32, too coarse for float64 (or no grad_scale): scale a copy
                coefficient = grad_multiplier(grad_norm, max_grad_norm, grad_scale)
                assert coefficient is not None
                device_grads = list(torch._foreach_mul(device_grads, coefficient.to(device)))
        device_found_inf = None if found_inf is None else found_inf.to(device, non_blocking=True)
        kernel_steps = device_steps
        if not use_bias_correction:
            infinity = torch.full((), math.inf, dtype=device_steps[0].dtype, device=device_steps[0].device)
            kernel_steps = [infinity] * len(device_steps)
        # a tensor lr (capturable) must be float32: the CUDA kernels read it as float
        kernel_lr = lr.to(device=device, dtype=torch.float32) if isinstance(lr, torch.Tensor) else lr
        kernel(
            device_params,
            device_grads,
            device_exp_avgs,
            device_exp_avg_sqs,
            device_max_exp_avg_sqs,
            kernel_steps,
            lr=kernel_lr,
            beta1=beta1,
            beta2=beta2,
            weight_decay=weight_decay,
            eps=eps,
            amsgrad=amsgrad,
            maximize=maximize,
            grad_scale=kernel_scale,
            found_inf=device_found_inf,
        )
        if device_found_inf is not None:
            set_back(device_steps, device_found_inf)  # as torch.optim: the skipped step's counters go back
