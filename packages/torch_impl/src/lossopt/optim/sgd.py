"""AdvancedSGD: SGD with momentum, dampening, Nesterov, weight decay, warmup, a cyclical learning rate, clipping.

Mirrors ``lossopt_spec.optim.sgd``; the equations and their tags (0), (c), (1)–(5) are in its docstring:

.. math::

    \\gamma_t &= \\gamma w_t c_t, \\qquad g_t \\leftarrow \\kappa g_t \\\\
    g_t &\\leftarrow -g_t \\ \\text{if maximize}, \\qquad g_t \\leftarrow g_t + \\lambda \\theta_{t-1} \\\\
    b_t &= g_t \\ (t = 1), \\qquad b_t = \\mu b_{t-1} + (1 - \\tau) g_t \\ (t > 1) \\\\
    g_t &\\leftarrow g_t + \\mu b_t \\ \\text{(Nesterov)} \\ \\text{or} \\ b_t, \\qquad
    \\theta_t = \\theta_{t-1} - \\gamma_t g_t

Three kernels with one signature: :func:`_single_tensor_sgd` (``foreach=False``, the readable twin
of the spec), :func:`_multi_tensor_sgd` (``torch._foreach_*``, the default) and :func:`_fused_sgd`
(``fused=True``: ``torch._fused_sgd_``, the clip coefficient passed as its ``grad_scale``; with clipping
or a ``GradScaler`` on float32/float64 CPU tensors, lossopt's C kernel, ``lossopt.optim._cpu_kernels``). None
reads a tensor back to the host: the schedule factor comes from the host clock (a device clock
with ``skip_nonfinite``), the clip coefficient stays a device tensor, a tensor ``lr`` is applied
as a tensor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

from lossopt._torch_compat import has_foreach_ops
from lossopt.optim import _cpu_kernels
from lossopt.optim._amp import fused_grad_scale, grad_multiplier
from lossopt.optim._nonfinite import SKIP_NONFINITE, check_skip_nonfinite, choose, on, zero_if
from lossopt.optim._schedule_clip import CLOCK, ScheduleClipMixin, check_schedule_clip
from lossopt.optim._tensor_groups import default_foreach, group_by_device_and_dtype
from lossopt.optim._validation import (
    SparseGradientError,
    check_flags,
    check_in_closed_unit_interval,
    check_non_negative,
)

_Buffers = list[torch.Tensor | None]
_MULTI_TENSOR_OPS = ("neg", "add", "add_", "mul_")  # the torch._foreach_* ops _multi_tensor_sgd calls
_FUSED_DEVICES = ("cpu", "cuda", "mps", "xpu")
FUSED_SGD_HAS_GRAD_SCALE = getattr(torch.ops.aten, "_fused_sgd_", None) is not None and "grad_scale" in str(
    torch.ops.aten._fused_sgd_.default._schema
)


class AdvancedSGD(ScheduleClipMixin, Optimizer):
    """SGD with momentum, linear warmup, a cosine cyclical learning rate and global-norm clipping.

    Args:
        params: iterable of parameters or of parameter-group dicts.
        lr: base learning rate :math:`\\gamma` (>= 0); read from ``group["lr"]`` at every step, never written.
        momentum: momentum factor :math:`\\mu` (>= 0).
        dampening: dampening :math:`\\tau` of the momentum, in [0, 1].
        weight_decay: L2 penalty :math:`\\lambda` added to the gradient (>= 0).
        nesterov: Nesterov momentum (Sutskever et al. 2013); needs momentum > 0 and dampening = 0.
        maximize: ascend the objective instead of descending it.
        foreach: ``True`` for the ``torch._foreach_*`` kernel, ``False`` for the per-tensor loop,
            ``None`` (default) for the multi-tensor kernel whenever every parameter is a plain
            strided tensor.
        differentiable: run the update under autograd (per-tensor kernel).
        warmup_steps: :math:`W`: the learning rate is scaled by :math:`\\min(1, t / W)` at step :math:`t`.
        max_grad_norm: clip the update's gradients to this global L2 norm over every group (``None``: off).
        use_cyclical_lr: after the warmup, scale the learning rate by the cosine factor
            :math:`\\tfrac12 (1 + \\cos(\\pi ((t - W - 1) \\bmod L) / L))`, restarting every ``cycle_length`` steps.
        cycle_length: :math:`L` (an integer >= 1).
        fused: ``True`` for ``torch._fused_sgd_`` (CPU, CUDA); at most one of ``fused`` and ``foreach``.
        skip_nonfinite: default ``False``. ``True`` skips the whole step (every group) when the global
            L2 norm of the gradients is inf or NaN, decided on the device without a host sync:
            parameters, momentum buffers and the schedule clock keep their values (the clock then is a
            tensor on the parameters' device); ``group["skipped_steps"]`` (a tensor, in ``state_dict``)
            counts the skipped steps. A parameter's first step, when skipped, leaves a zero momentum
            buffer (no buffer would need a host read): the next step then gives :math:`b = g` exactly
            when ``dampening = 0`` and :math:`b = (1 - \tau) g` otherwise.

    ``lr`` may be a tensor (as in ``torch.optim``; a scheduler then changes it in place, and
    ``torch.compile`` of ``step`` does not recompile when it changes). ``torch.amp.GradScaler``: with
    ``fused=True`` the optimizer consumes the scaler's ``grad_scale`` and ``found_inf`` (the kernel
    unscales and skips on the device; ``max_grad_norm`` clips the unscaled gradients, once); otherwise
    the scaler unscales the gradients and skips ``step()`` itself.

    State per parameter: ``momentum_buffer`` (only when momentum != 0), as torch, so the
    ``state_dict`` of either optimizer loads into the other; with the extras off each step equals
    ``torch.optim.SGD``. The schedule clock is ``group["schedule_step"]``; the last pre-clip
    gradient norm is ``optimizer.last_grad_norm`` (a tensor). Clipping leaves ``p.grad`` untouched,
    except where ``fused=True`` runs torch's kernel (CUDA, float16/bfloat16, no C compiler), which
    writes the rescaled gradient back (see :class:`~lossopt.optim.AdvancedAdamW`, which also documents
    non-finite norms: the same here).

    Sparse gradients are refused (``ValueError``, also a ``RuntimeError``); torch's SGD accepts them.

    Differs from the original design: the warmup factor is :math:`\\min(1, t / W)` with 1-based
    :math:`t`, and neither it nor the cosine factor is written into ``group['lr']`` (the design reset
    every group to the constructor's lr, fighting schedulers and per-group rates); the clip norm covers
    every group; the closure runs once.

    Example:
        >>> import torch
        >>> from lossopt.optim import AdvancedSGD
        >>> w = torch.nn.Parameter(torch.zeros(1))
        >>> opt = AdvancedSGD([w], lr=1.0, warmup_steps=2, use_cyclical_lr=True, cycle_length=2)
        >>> for _ in range(4):
        ...     w.grad = torch.ones(1)
        ...     opt.step()
        ...     print(round(-w.item(), 3))  # cumulative lr: 0.5, 1.5, 2.5 (cycle start), 3.0 (cos(pi/2) half)
        0.5
        1.5
        2.5
        3.0
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
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
        check_non_negative("learning rate", lr)
        check_non_negative("momentum value", momentum)
        check_in_closed_unit_interval("dampening value", dampening)
        check_non_negative("weight_decay value", weight_decay)
        check_flags(nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"Nesterov momentum requires a momentum > 0 and zero dampening; got momentum={momentum}, "
                f"dampening={dampening}"
            )
        check_schedule_clip(warmup_steps, max_grad_norm, use_cyclical_lr, cycle_length)
        check_skip_nonfinite(skip_nonfinite)
        if fused and foreach:
            raise ValueError(
                f"Invalid fused/foreach: fused={fused}, foreach={foreach} (at most one of them may be True; "
                "fused=True already is the multi-tensor kernel)"
            )
        if fused and differentiable:
            raise ValueError("Invalid fused: True with differentiable=True (the fused kernel has no autograd; use one)")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
            "warmup_steps": warmup_steps,
            "max_grad_norm": max_grad_norm,
            "use_cyclical_lr": use_cyclical_lr,
            "cycle_length": cycle_length,
            SKIP_NONFINITE: skip_nonfinite,
        }
        super().__init__(params, defaults)
        self._default_group_keys()
        if fused:  # torch._fused_sgd_ takes GradScaler's grad_scale and found_inf (see step())
            self._step_supports_amp_scaling = True

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        self.param_groups[-1].setdefault(CLOCK, 0)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", None)
        self._default_group_keys()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As ``torch.optim.Optimizer.load_state_dict``; also loads ``torch.optim.SGD`` state dicts.

        Hyperparameters come from ``state_dict``; the ones it lacks (this class's extras, when it
        comes from torch) keep this optimizer's values; a missing schedule clock starts at 0
        (torch's SGD keeps no step count).
        """
        current = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        super().load_state_dict(state_dict)
        self._restore_missing_group_keys(state_dict["param_groups"], current)

    def _collect(self, group: dict[str, Any]) -> tuple[list[torch.Tensor], list[torch.Tensor], _Buffers]:
        params, grads, buffers = [], [], []
        for param in group["params"]:
            if param.grad is None:
                continue
            if param.grad.is_sparse:
                raise SparseGradientError(
                    f"Invalid gradient: a sparse gradient for a parameter of shape {tuple(param.shape)} "
                    "(AdvancedSGD needs dense gradients)"
                )
            if group["fused"] and (param.device.type not in _FUSED_DEVICES or not param.is_floating_point()):
                raise RuntimeError(
                    f"fused=True needs floating-point parameters on one of {_FUSED_DEVICES}; "
                    f"got {param.dtype} on {param.device}"
                )
            params.append(param)
            grads.append(param.grad)
            buffers.append(self.state[param].get("momentum_buffer"))
        return params, grads, buffers

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
                lr = self._scheduled_lr(group, found_inf=found_inf)  # (0) lr_t = lr w c (a tensor with a tensor clock)
                params, grads, buffers = self._collect(group)
                if not params:
                    continue
                kernel: Callable[..., None]
                if group["fused"]:
                    kernel = _fused_sgd
                elif (
                    group["foreach"] if group["foreach"] is not None else default_foreach(params)
                ) and has_foreach_ops(
                    *_MULTI_TENSOR_OPS
                ):  # a torch without these ops gets the per-tensor loop: the same result
                    kernel = _single_tensor_sgd if group["differentiable"] else _multi_tensor_sgd
                else:
                    kernel = _single_tensor_sgd
                kernel(
                    params,
                    grads,
                    buffers,
                    grad_norm=grad_norm if group["max_grad_norm"] is not None else None,
                    max_grad_norm=group["max_grad_norm"],
                    lr=lr,
                    momentum=group["momentum"],
                    dampening=group["dampening"],
                    weight_decay=group["weight_decay"],
                    nesterov=group["nesterov"],
                    maximize=group["maximize"],
                    grad_scale=grad_scale,
                    found_inf=found_inf,
                )
                if group["momentum"] != 0:
                    for param, buffer in zip(params, buffers, strict=True):
                        self.state[param]["momentum_buffer"] = buffer
        return loss


SGD = AdvancedSGD  # the foundation's name, kept importable


def _single_tensor_sgd(
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    buffers: _Buffers,
    *,
    grad_norm: torch.Tensor | None,
    max_grad_norm: float | None,
    lr: float | torch.Tensor,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
    grad_scale: torch.Tensor | None = None,
    found_inf: torch.Tensor | None = None,
) -> None:
    """Per-tensor SGD; fills ``buffers`` in place (new buffers on the first step).

    ``grad_scale``: the ``GradScaler`` scale the gradients still carry; ``found_inf``: skip this step
    on the device (``lossopt.optim._nonfinite``); ``lr`` may be a tensor.
    """
    coefficient = grad_multiplier(grad_norm, max_grad_norm, grad_scale)  # (c2) kappa (/ S), a device tensor
    for i, param in enumerate(params):
        grad = grads[i]
        buffer = buffers[i]
        skip = None if found_inf is None else on(found_inf, param)
        if coefficient is not None:
            grad = grad * coefficient.to(grad.device)  # (c) g <- kappa g (p.grad untouched)
        if maximize:
            grad = -grad  # (1) g <- -g
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)  # (2) g <- g + wd p
        if skip is not None:
            (grad,) = zero_if(skip, [grad])  # a skipped step: g = 0, mu = 1, lr = 0
        if momentum != 0:
            if buffer is None:
                buffer = torch.clone(grad).detach()  # (3) b <- g on the first step
            elif skip is not None:
                buffer.mul_(choose(skip, 1.0, momentum, buffer)).add_(grad, alpha=1 - dampening)  # (3)
            else:
                buffer.mul_(momentum).add_(grad, alpha=1 - dampening)  # (3) b <- mu b + (1 - tau) g
            buffers[i] = buffer
            if nesterov:
                grad = grad.add(buffer, alpha=momentum)  # (4) g <- g + mu b
            else:
                grad = buffer  # (4) g <- b
        if skip is None and not isinstance(lr, torch.Tensor):
            param.add_(grad, alpha=-lr)  # (5) p <- p - lr_t g
        else:  # a tensor learning rate, never read back (0 on a skipped step)
            param.add_(grad * _negated_lr(lr, skip, param))  # (5) p <- p - lr_t g


def _multi_tensor_sgd(
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    buffers: _Buffers,
    *,
    grad_norm: torch.Tensor | None,
    max_grad_norm: float | None,
    lr: float | torch.Tensor,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
    grad_scale: torch.Tensor | None = None,
    found_inf: torch.Tensor | None = None,
) -> None:
    """SGD with ``torch._foreach_*`` kernels, one launch per (device, dtype) group and operation."""
    coefficient = grad_multiplier(grad_norm, max_grad_norm, grad_scale)  # (c2) kappa (/ S), a device tensor
    for indices in group_by_device_and_dtype(params):
        group_params = [params[i] for i in indices]
        group_grads: list[torch.Tensor] = [grads[i] for i in indices]
        skip = None if found_inf is None else on(found_inf, group_params[0])
        owned = False  # whether group_grads are temporaries we may overwrite (never p.grad)
        if coefficient is not None:
            group_grads = list(torch._foreach_mul(group_grads, coefficient.to(group_params[0].device)))  # (c)
            owned = True
        if maximize:
            if owned:
                torch._foreach_neg_(group_grads)  # (1) g <- -g
            else:
                group_grads = list(torch._foreach_neg(group_grads))  # (1) g <- -g
                owned = True
        if weight_decay != 0:
            if owned:
                torch._foreach_add_(group_grads, group_params, alpha=weight_decay)  # (2) g <- g + wd p
            else:
                group_grads = list(torch._foreach_add(group_grads, group_params, alpha=weight_decay))  # (2)
                owned = True
        if skip is not None:
            group_grads = zero_if(skip, group_grads)  # a skipped step: g = 0, mu = 1, lr = 0
            owned = True
        if momentum != 0:
            mu = momentum if skip is None else choose(skip, 1.0, momentum, group_params[0])
            group_buffers = _momentum_buffers(buffers, indices, group_grads, mu, dampening)  # (3)
            if nesterov:
                if owned:
                    torch._foreach_add_(group_grads, group_buffers, alpha=momentum)  # (4) g <- g + mu b
                else:
                    group_grads = list(torch._foreach_add(group_grads, group_buffers, alpha=momentum))  # (4)
            else:
                group_grads = group_buffers  # (4) g <- b
        if skip is None and not isinstance(lr, torch.Tensor):
            torch._foreach_add_(group_params, group_grads, alpha=-lr)  # (5) p <- p - lr_t g
        else:  # a tensor learning rate, never read back (0 on a skipped step)
            steps = torch._foreach_mul(group_grads, _negated_lr(lr, skip, group_params[0]))
            torch._foreach_add_(group_params, steps)  # (5) p <- p - lr_t g


def _negated_lr(lr: float | torch.Tensor, skip: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    r""":math:`-\gamma_t` as a 0-dim tensor of ``like``'s dtype and device; 0 on a skipped step."""
    if skip is None:
        return torch.as_tensor(lr).to(device=like.device, dtype=like.dtype).neg()
    return choose(skip, 0.0, lr, like).neg()


def _momentum_buffers(
    buffers: _Buffers,
    indices: list[int],
    grads: list[torch.Tensor],
    momentum: float | torch.Tensor,
    dampening: float,
) -> list[torch.Tensor]:
    """Step (3) for one group: seed missing buffers with the gradient, update the others in one launch."""
    old: list[torch.Tensor] = []
    old_grads: list[torch.Tensor] = []
    group_buffers: list[torch.Tensor] = []
    for j, i in enumerate(indices):
        buffer = buffers[i]
        if buffer is None:
            buffer = buffers[i] = torch.clone(grads[j]).detach()  # (3) b <- g on the first step
        else:
            old.append(buffer)
            old_grads.append(grads[j])
        group_buffers.append(buffer)
    if old:
        torch._foreach_mul_(old, momentum)  # (3) b <- mu b
        torch._foreach_add_(old, old_grads, alpha=1 - dampening)  # (3) b += (1 - tau) g
    return group_buffers


def _cpu_sgd(
    subset: list[int],
    is_first_step: bool,
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    buffers: _Buffers,
    *,
    multiplier_of: Callable[[], torch.Tensor | None],
    momentum: float,
    **options: Any,
) -> list[int]:
    """Step the ``subset`` positions that lossopt's CPU kernel takes; return the others (for torch's kernel)."""
    lists = [[params[i] for i in subset], [grads[i] for i in subset]]
    if momentum != 0:
        lists.append([buffers[i] for i in subset])  # type: ignore[misc]  # seeded above
    taken, others = _cpu_kernels.partition(lists) if subset else ([], [])
    if taken:
        chosen = [[tensors[j] for j in taken] for tensors in lists]
        _cpu_kernels.sgd(
            chosen[0],
            chosen[1],
            chosen[2] if momentum != 0 else [],
            momentum=momentum,
            is_first_step=is_first_step,
            multiplier=multiplier_of(),
            **options,
        )
    return [subset[j] for j in others]


@torch.compiler.disable  # type: ignore[untyped-decorator]  # as torch.optim: the fused kernel has no fake (meta) implementation with a tensor lr
def _fused_sgd(
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    buffers: _Buffers,
    *,
    grad_norm: torch.Tensor | None,
    max_grad_norm: float | None,
    lr: float | torch.Tensor,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
    grad_scale: torch.Tensor | None = None,
    found_inf: torch.Tensor | None = None,
) -> None:
    """``torch._fused_sgd_`` per (device, dtype) group and per first-step / later-step split.

    The kernel takes one ``is_first_step`` flag for all its tensors, so parameters whose buffer is
    not yet seeded (3, t = 1) and the others go to separate launches (torch's own ``_fused_sgd``
    treats a mix as "not first" and fails on the missing buffers). With clipping or a ``GradScaler``
    scale, CPU float32/float64 tensors go to lossopt's kernel (:func:`lossopt.optim._cpu_kernels.sgd`),
    which multiplies the gradient by :math:`\\kappa / S` as it reads it and never writes it. On torch's
    kernel the clip coefficient enters as ``grad_scale = 1 / kappa`` and the kernel writes the
    rescaled gradient back into ``grads``.
    """
    scaled = (grad_norm is not None and max_grad_norm is not None) or grad_scale is not None
    for indices in group_by_device_and_dtype(params):
        device = params[indices[0]].device
        first = [i for i in indices if momentum != 0 and buffers[i] is None]
        later = [i for i in indices if not (momentum != 0 and buffers[i] is None)]
        for i in first:  # (3) seeded by the kernel: b <- g; zeros if the kernel may skip (found_inf)
            buffers[i] = torch.empty_like(grads[i]) if found_inf is None else torch.zeros_like(grads[i])
        splits = [(first, True), (later, False)]
        if scaled:  # clipping / GradScaler on CPU float32/float64: lossopt's kernel, which only reads the gradients
            splits = [
                (
                    _cpu_sgd(
                        subset,
                        is_first_step,
                        params,
                        grads,
                        buffers,
                        lr=lr,
                        momentum=momentum,
                        dampening=dampening,
                        weight_decay=weight_decay,
                        nesterov=nesterov,
                        maximize=maximize,
                        multiplier_of=lambda: grad_multiplier(grad_norm, max_grad_norm, grad_scale),
                        found_inf=found_inf,
                    ),
                    is_first_step,
                )
                for subset, is_first_step in splits
            ]
        rest = [i for subset, _ in splits for i in subset]
        if not rest:
            continue
        kernel_scale = None
        scaled_grads: dict[int, torch.Tensor] = {}
        if scaled:
            if FUSED_SGD_HAS_GRAD_SCALE and params[indices[0]].dtype != torch.float64:
                kernel_scale = fused_grad_scale(grad_norm, max_grad_norm, grad_scale, device)  # (c) g / (S / kappa)
            else:  # the kernel reads grad_scale as float32, too coarse for float64 (or no grad_scale): scale a copy
                coefficient = grad_multiplier(grad_norm, max_grad_norm, grad_scale)
                assert coefficient is not None
                products = torch._foreach_mul([grads[i] for i in rest], coefficient.to(device))
                scaled_grads = dict(zip(rest, products, strict=True))
        device_found_inf = None if found_inf is None else found_inf.to(device, non_blocking=True)
        kernel_lr = lr.to(device=device, dtype=torch.float32) if isinstance(lr, torch.Tensor) else lr
        for subset, is_first_step in splits:
            if not subset:
                continue
            torch._fused_sgd_(
                [params[i] for i in subset],
                [scaled_grads.get(i, grads[i]) for i in subset],
                [] if momentum == 0 else [buffers[i] for i in subset],  # type: ignore[misc]
                weight_decay=weight_decay,
                momentum=momentum,
                lr=kernel_lr,  # type: ignore[arg-type]  # the float and the tensor_lr overloads
                dampening=dampening,
                nesterov=nesterov,
                maximize=maximize,
                is_first_step=is_first_step,
                grad_scale=kernel_scale,
                found_inf=device_found_inf,
            )
