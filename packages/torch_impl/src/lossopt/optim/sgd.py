"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay.

Mirrors ``lossopt_spec.optim.sgd``; the equations and their tags (1)–(5) are in its docstring:

.. math::

    g_t &\\leftarrow -g_t \\ \\text{if maximize}, \\qquad g_t \\leftarrow g_t + \\lambda \\theta_{t-1} \\\\
    b_t &= g_t \\ (t = 1), \\qquad b_t = \\mu b_{t-1} + (1 - \\tau) g_t \\ (t > 1) \\\\
    g_t &\\leftarrow g_t + \\mu b_t \\ \\text{(Nesterov)} \\ \\text{or} \\ b_t, \\qquad
    \\theta_t = \\theta_{t-1} - \\gamma g_t

Two kernels with one signature: :func:`_single_tensor_sgd` (``foreach=False``, the readable twin
of the spec) and :func:`_multi_tensor_sgd` (``torch._foreach_*``, the default). Neither reads a
tensor back to the host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

from lossopt._torch_compat import has_foreach_ops
from lossopt.optim._tensor_groups import default_foreach, group_by_device_and_dtype
from lossopt.optim._validation import check_in_closed_unit_interval, check_non_negative

_Buffers = list[torch.Tensor | None]
_MULTI_TENSOR_OPS = ("neg", "add", "add_", "mul_")  # the torch._foreach_* ops _multi_tensor_sgd calls


class SGD(Optimizer):
    """Stochastic gradient descent, step for step equal to ``torch.optim.SGD``.

    Args:
        params: iterable of parameters or of parameter-group dicts.
        lr: learning rate :math:`\\gamma` (>= 0).
        momentum: momentum factor :math:`\\mu` (>= 0).
        dampening: dampening :math:`\\tau` of the momentum, in [0, 1].
        weight_decay: L2 penalty :math:`\\lambda` added to the gradient (>= 0).
        nesterov: Nesterov momentum (Sutskever et al. 2013); needs momentum > 0 and dampening = 0.
        maximize: ascend the objective instead of descending it.
        foreach: ``True`` for the ``torch._foreach_*`` kernel, ``False`` for the per-tensor loop,
            ``None`` (default) for the multi-tensor kernel whenever every parameter is a plain
            strided tensor. A torch without the ``torch._foreach_*`` ops it needs gets the
            per-tensor loop (see :mod:`lossopt._torch_compat`).

    State per parameter: ``momentum_buffer`` (only when momentum != 0), as torch, so the
    ``state_dict`` of either optimizer loads into the other.

    Sparse gradients are not supported (an error names the parameter); torch's SGD accepts them.
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
    ) -> None:
        check_non_negative("learning rate", lr)
        check_non_negative("momentum value", momentum)
        check_in_closed_unit_interval("dampening value", dampening)
        check_non_negative("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"Nesterov momentum requires a momentum > 0 and zero dampening; got momentum={momentum}, "
                f"dampening={dampening}"
            )
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)

    def _collect(self, group: dict[str, Any]) -> tuple[list[torch.Tensor], list[torch.Tensor], _Buffers]:
        params, grads, buffers = [], [], []
        for param in group["params"]:
            if param.grad is None:
                continue
            if param.grad.is_sparse:
                raise RuntimeError(
                    f"SGD does not support sparse gradients; got one for a parameter of shape {tuple(param.shape)}"
                )
            params.append(param)
            grads.append(param.grad)
            buffers.append(self.state[param].get("momentum_buffer"))
        return params, grads, buffers

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Perform one update; ``closure`` re-evaluates the model and returns the loss (run once)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params, grads, buffers = self._collect(group)
            if not params:
                continue
            foreach = group["foreach"] if group["foreach"] is not None else default_foreach(params)
            foreach = foreach and has_foreach_ops(*_MULTI_TENSOR_OPS)  # else the per-tensor loop: same result
            kernel = _multi_tensor_sgd if foreach else _single_tensor_sgd
            kernel(
                params,
                grads,
                buffers,
                lr=group["lr"],
                momentum=group["momentum"],
                dampening=group["dampening"],
                weight_decay=group["weight_decay"],
                nesterov=group["nesterov"],
                maximize=group["maximize"],
            )
            if group["momentum"] != 0:
                for param, buffer in zip(params, buffers, strict=True):
                    self.state[param]["momentum_buffer"] = buffer
        return loss


def _single_tensor_sgd(
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    buffers: _Buffers,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> None:
    """Per-tensor SGD; fills ``buffers`` in place (new buffers on the first step)."""
    for i, param in enumerate(params):
        grad = grads[i]
        buffer = buffers[i]
        if maximize:
            grad = -grad  # (1) g <- -g
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)  # (2) g <- g + wd p
        if momentum != 0:
            if buffer is None:
                buffer = torch.clone(grad).detach()  # (3) b <- g on the first step
            else:
                buffer.mul_(momentum).add_(grad, alpha=1 - dampening)  # (3) b <- mu b + (1 - tau) g
            buffers[i] = buffer
            if nesterov:
                grad = grad.add(buffer, alpha=momentum)  # (4) g <- g + mu b
            else:
                grad = buffer  # (4) g <- b
        param.add_(grad, alpha=-lr)  # (5) p <- p - lr g


def _multi_tensor_sgd(
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    buffers: _Buffers,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> None:
    """SGD with ``torch._foreach_*`` kernels, one launch per (device, dtype) group and operation."""
    for indices in group_by_device_and_dtype(params):
        group_params = [params[i] for i in indices]
        group_grads: list[torch.Tensor] = [grads[i] for i in indices]
        owned = False  # whether group_grads are temporaries we may overwrite (never p.grad)
        if maximize:
            group_grads = list(torch._foreach_neg(group_grads))  # (1) g <- -g
            owned = True
        if weight_decay != 0:
            if owned:
                torch._foreach_add_(group_grads, group_params, alpha=weight_decay)  # (2) g <- g + wd p
            else:
                group_grads = list(torch._foreach_add(group_grads, group_params, alpha=weight_decay))  # (2)
                owned = True
        if momentum != 0:
            group_buffers = _momentum_buffers(buffers, indices, group_grads, momentum, dampening)  # (3)
            if nesterov:
                if owned:
                    torch._foreach_add_(group_grads, group_buffers, alpha=momentum)  # (4) g <- g + mu b
                else:
                    group_grads = list(torch._foreach_add(group_grads, group_buffers, alpha=momentum))  # (4)
            else:
                group_grads = group_buffers  # (4) g <- b
        torch._foreach_add_(group_params, group_grads, alpha=-lr)  # (5) p <- p - lr g


def _momentum_buffers(
    buffers: _Buffers, indices: list[int], grads: list[torch.Tensor], momentum: float, dampening: float
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
