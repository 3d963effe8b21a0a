"""torch's fused optimizer kernels, ``torch._fused_adam(w)_`` and ``torch._fused_sgd_``, as lossopt kernels.

Each kernel has the signature of :mod:`lossopt.optim.kernels.execute` and takes the tensors
``lossopt._torch_compat.fused_kernel(...).usable(device, needs=...)`` allows: the operator exists on
this torch, runs on the device, and takes what the step needs (``grad_scale`` / ``found_inf`` for
clipping, a ``GradScaler`` or a skip; the ``tensor_lr`` overload for a tensor learning rate). The rest
goes back to :class:`~lossopt.optim.base.RuleOptimizer`, which runs it on the multi-tensor kernel.

The clip coefficient times ``GradScaler``'s :math:`1/S` enters as ``grad_scale`` :math:`= S / \\kappa`, by
which the kernels divide the gradient, writing the result back into ``p.grad``; for float64
parameters (the kernels read ``grad_scale`` as float32, too coarse) and where ``grad_scale`` is not
taken, a scaled copy of the gradients is passed instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from lossopt._torch_compat import fused_kernel
from lossopt.optim.kernels._tensor_groups import group_by_device_and_dtype
from lossopt.optim.kernels.execute import Batch, StepInputs

AdamArguments = Callable[[Mapping[str, Any], float | None, Any], Mapping[str, Any] | None]


def _needs(inputs: StepInputs) -> tuple[str, ...]:
    needs = ("grad_scale", "found_inf") if inputs.found_inf is not None else ()
    return needs


def _kernel_lr(lr: float | torch.Tensor, device: torch.device) -> float | torch.Tensor:
    """A tensor lr as float32 on the device (the CUDA kernels read it as float)."""
    return lr.to(device=device, dtype=torch.float32) if isinstance(lr, torch.Tensor) else lr


def _scaled(grads: list[torch.Tensor], inputs: StepInputs, device: torch.device, takes_scale: bool) -> Any:
    """``(grads, grad_scale)`` for the kernel: ``grad_scale = S / kappa``, or a scaled copy of the gradients."""
    if inputs.multiplier is None:
        return grads, None
    if takes_scale and grads[0].dtype != torch.float64:
        return grads, torch.reciprocal(inputs.multiplier).to(device=device, dtype=torch.float32, non_blocking=True)
    return list(torch._foreach_mul(grads, inputs.multiplier.to(device))), None


def adam_arguments(group: Mapping[str, Any], t: float | None, lr: Any) -> dict[str, Any]:
    """Adam's own arguments: the group's, with steps of ``inf`` (bias corrections 1) without bias correction."""
    step = None if group.get("use_bias_correction", True) else float("inf")
    return {"lr": lr, "step": step, "weight_decay": group["weight_decay"]}


def adam(
    arguments: AdamArguments = adam_arguments, *, host_step: bool = False
) -> Callable[[Any, Batch, StepInputs], Batch | None]:
    """A kernel for a rule whose step is Adam's with the arguments ``arguments(group, t, lr)`` gives.

    ``arguments`` returns the kernel's ``lr``, ``weight_decay`` and ``step`` (``None``: the counters
    themselves, read by the kernel on the device; a number: that step for every tensor, ``inf`` for
    bias corrections of 1), optionally ``amsgrad``; or ``None`` where Adam's kernel cannot carry the
    step (those tensors are the rest). With ``host_step`` it is called once per distinct step ``t`` of
    the tensors, read from their CPU counters (no device sync); else with ``t = None``.
    """

    def torch_fused_adam(rule: Any, batch: Batch, inputs: StepInputs) -> Batch | None:
        group = inputs.group
        decoupled = bool(group.get("decoupled_weight_decay", False))
        info = fused_kernel("adamw" if decoupled else "adam")
        if host_step and not batch.host_counters:
            return batch  # counters on the device (skip_nonfinite): the host branch would need a sync
        runs: dict[tuple[Any, ...], list[int]] = {}
        for i, p in enumerate(batch.params):
            tensors = (p, batch.grads[i], *(state[i] for state in batch.states[:2]))
            if all(t.is_contiguous() for t in tensors):  # type: ignore[union-attr]
                runs.setdefault((p.device, p.dtype, float(batch.steps[i]) if host_step else None), []).append(i)
        rest = sorted(set(range(len(batch.params))) - {i for indices in runs.values() for i in indices})
        for (device, _, t), indices in runs.items():
            args = arguments(group, t, inputs.lr)
            lr_taken = not isinstance(inputs.lr, torch.Tensor) or info.tensor_lr
            if args is None or not lr_taken or not info.usable(device.type, needs=_needs(inputs)):
                rest.extend(indices)
                continue
            part = batch.subset(indices)
            amsgrad = bool(args.get("amsgrad", group.get("amsgrad", False)))
            grads, grad_scale = _scaled(part.grads, inputs, device, info.accepts_grad_scale)
            steps = part.steps
            if args["step"] is not None:
                steps = [torch.full((), args["step"], dtype=torch.float32, device=device)] * len(indices)
            beta1, beta2 = group["betas"]
            kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
            kernel(
                part.params,
                grads,
                part.states[0],  # type: ignore[arg-type]  # exp_avg, exp_avg_sq: never None
                part.states[1],  # type: ignore[arg-type]
                part.states[2] if amsgrad else [],  # type: ignore[arg-type]
                steps,
                lr=_kernel_lr(args["lr"], device),  # type: ignore[arg-type]  # the float and the tensor_lr overloads
                beta1=beta1,
                beta2=beta2,
                weight_decay=args["weight_decay"],
                eps=group["eps"],
                amsgrad=amsgrad,
                maximize=bool(group.get("maximize", False)),
                grad_scale=grad_scale,
                found_inf=None if inputs.found_inf is None else inputs.found_inf.to(device, non_blocking=True),
            )
        return batch.subset(sorted(rest)) if rest else None

    return torch.compiler.disable(torch_fused_adam)  # type: ignore[no-any-return,no-untyped-call]  # as torch.optim


@torch.compiler.disable  # type: ignore[untyped-decorator]  # as torch.optim: no fake (meta) kernel with a tensor lr
def sgd(rule: Any, batch: Batch, inputs: StepInputs) -> Batch | None:
    """``torch._fused_sgd_`` per (device, dtype) and per first-step / later-step split.

    The kernel takes one ``is_first_step`` flag for all its tensors, so tensors whose buffer is new
    (3, :math:`b \\leftarrow g`) and the others go to separate launches.
    """
    group = inputs.group
    kernel_info = fused_kernel("sgd")
    momentum = group["momentum"]
    rest: list[int] = []
    for indices in group_by_device_and_dtype(batch.params):
        device = batch.params[indices[0]].device
        lr_ok = not isinstance(inputs.lr, torch.Tensor) or kernel_info.tensor_lr
        if not (kernel_info.usable(device.type, needs=_needs(inputs)) and lr_ok):
            rest.extend(indices)
            continue
        if batch.params[indices[0]].is_complex():  # torch's fused kernels take real tensors only
            rest.extend(indices)
            continue
        first_steps = [i for i in indices if batch.fresh[i]]  # momentum buffers created at this step
        later_steps = [i for i in indices if not batch.fresh[i]]
        for first, subset in ((True, first_steps), (False, later_steps)):
            if not subset:
                continue
            part = batch.subset(subset)
            grads, grad_scale = _scaled(part.grads, inputs, device, kernel_info.accepts_grad_scale)
            torch._fused_sgd_(
                part.params,
                grads,
                [] if momentum == 0 else part.states[0],  # type: ignore[arg-type]
                weight_decay=group["weight_decay"],
                momentum=momentum,
                lr=_kernel_lr(inputs.lr, device),  # type: ignore[arg-type]  # the float and the tensor_lr overloads
                dampening=group["dampening"],
                nesterov=group["nesterov"],
                maximize=group["maximize"],
                is_first_step=first,
                grad_scale=grad_scale,
                found_inf=None if inputs.found_inf is None else inputs.found_inf.to(device, non_blocking=True),
            )
    return batch.subset(rest) if rest else None
