"""The kernels of a rule that orthogonalises each parameter's update as a matrix (Muon): not elementwise.

A rule's step is three parts, each supplied by the rule (:class:`MatrixRule`): ``momentum(grad, buffer, s)``
(elementwise, run through :mod:`.lanes`), the Newton–Schulz orthogonalisation :func:`newton_schulz` of the
matrix it returns (the parameter's ``(shape[0], -1)`` view, in the rule's ``ns_dtype(group, param)``), then
``apply(param, orthogonal, s, scale)`` (elementwise, ``scale`` from ``update_scale(shape, group)``).

- :func:`per_tensor` (``foreach=False``): one matrix at a time, the statements of ``torch.optim.Muon``;
- :func:`batched` (the default): the matrices of one shape, dtype and device stacked into one tensor and
  orthogonalised by batched matmuls (``torch.baddbmm``: per slice the same products as ``torch.addmm``),
  the elementwise parts as ``torch._foreach_*`` launches. No host read: the norms stay tensors.

FSDP2: a parameter held as a DTensor (``Batch.sources``) is sharded by rows; Newton–Schulz of a shard is not
that of the matrix, so its update is gathered (:func:`whole_matrix`: one all-gather of the update, already in
``ns_dtype``), every rank orthogonalises the whole matrix, and keeps its own rows (:func:`local_part`: no
communication). Per step and matrix each rank receives :math:`(W - 1) / W` of the matrix in ``ns_dtype``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch

from lossopt.optim.kernels._tensor_groups import _is_dtensor
from lossopt.optim.kernels.execute import Batch, Group, Rule, StepInputs, prepared_grads, step_scalars
from lossopt.optim.kernels.lanes import Lane, Lanes


class MatrixRule(Rule, Protocol):
    """What these kernels need of a rule besides :class:`~.execute.Rule`'s ``scalars``."""

    momentum: Callable[..., Any]
    apply: Callable[..., None]

    def ns_dtype(self, group: Group, param: torch.Tensor) -> torch.dtype: ...

    def update_scale(self, shape: Sequence[int], group: Group) -> float: ...


def matrix_shape(shape: Sequence[int]) -> tuple[int, int]:
    """The ``(shape[0], -1)`` view's shape (Jordan's convention for convolution weights)."""
    rows = int(shape[0])
    cols = 1
    for size in shape[1:]:
        cols *= int(size)
    return rows, cols


SMALL_PRODUCT = 400
"""ATen's CPU ``bmm`` / ``baddbmm`` multiply matrices whose product has fewer multiply-adds than this in a loop of
their own, which rounds otherwise than ``mm`` / ``addmm``: such products are taken slice by slice (they cost
nothing), so that a stack gives torch's bits."""


def _baddbmm(c: torch.Tensor | None, x: torch.Tensor, y: torch.Tensor, beta: float, alpha: float = 1.0) -> torch.Tensor:
    """:math:`\\beta C + \\alpha X Y` per slice (:math:`X Y` without ``c``): ``torch.addmm``'s products."""
    if x.dim() == 2:  # one matrix (foreach=False): torch.optim.Muon's own calls (a batch of one is slower on CPUs)
        return x @ y if c is None else torch.addmm(c, x, y, beta=beta, alpha=alpha)
    if x.size(-2) * x.size(-1) * y.size(-1) < SMALL_PRODUCT and x.device.type == "cpu":
        if c is None:
            return torch.stack([xi @ yi for xi, yi in zip(x, y, strict=True)])
        return torch.stack([torch.addmm(*args, beta=beta, alpha=alpha) for args in zip(c, x, y, strict=True)])
    return x @ y if c is None else torch.baddbmm(c, x, y, beta=beta, alpha=alpha)


def newton_schulz(x: torch.Tensor, coefficients: Sequence[float], steps: int, eps: float) -> torch.Tensor:
    """(4)–(5) of ``lossopt_spec.optim.muon`` on a matrix ``(A, B)`` or a stack ``(n, A, B)``, in ``x``'s dtype; a new
    tensor."""
    a, b, c = coefficients
    tall = x.size(-2) > x.size(-1)
    if tall:
        x = x.mT  # (4) the smaller Gram matrix
    x = x / torch.linalg.vector_norm(x, dim=(-2, -1), keepdim=True).clamp(min=eps)  # (5) X0 = U / max(|U|, eps)
    for _ in range(steps):
        gram = _baddbmm(None, x, x.mT, 0.0)  # (5) A = X X^T
        gram = _baddbmm(gram, gram, gram, beta=b, alpha=c)  # (5) b A + c A A
        x = _baddbmm(x, gram, x, beta=a)  # (5) X <- a X + (b A + c A^2) X
    return x.mT if tall else x


def whole_matrix(update: torch.Tensor, source: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``update`` (of the parameter ``source``) as its ``(shape[0], -1)`` matrix in ``dtype``, gathered from every
    rank where ``source`` is a DTensor (converted first: the all-gather moves ``dtype``'s bytes)."""
    x = update.to(dtype)
    if _is_dtensor(source):
        from torch.distributed.tensor import DTensor

        mesh, placements = source.device_mesh, source.placements  # type: ignore[attr-defined]
        x = DTensor.from_local(
            x, mesh, placements, run_check=False, shape=source.shape, stride=source.stride()
        ).full_tensor()
    return x.reshape(matrix_shape(source.shape))


def local_part(full: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """The part of the whole parameter-shaped ``full`` that this rank holds of ``source`` (all of it, unsharded)."""
    full = full.reshape(source.shape)
    if not _is_dtensor(source):
        return full
    from torch.distributed.tensor import DTensor, Replicate

    mesh = source.device_mesh  # type: ignore[attr-defined]
    replicated = DTensor.from_local(full, mesh, [Replicate()] * mesh.ndim, run_check=False)
    return replicated.redistribute(mesh, source.placements).to_local()  # type: ignore[attr-defined]  # a slice


def _sources(batch: Batch) -> list[torch.Tensor]:
    return batch.sources or batch.params


def per_tensor(rule: MatrixRule, batch: Batch, inputs: StepInputs) -> None:
    """``foreach=False``: each parameter's momentum, orthogonalisation and update in turn."""
    group = inputs.group
    grads = prepared_grads(batch.grads, batch.params, inputs, 0.0, per_tensor=True)  # (1) kappa g, -g
    s = step_scalars(rule, batch, inputs, batch.params[0]).for_tensor(0)
    for i, (param, source) in enumerate(zip(batch.params, _sources(batch), strict=True)):
        update = rule.momentum(Lane(grads[i]), Lane(batch.states[0][i]), s).t  # type: ignore[arg-type]
        matrix = whole_matrix(update, source, rule.ns_dtype(group, param))
        orthogonal = newton_schulz(matrix, group["ns_coefficients"], group["ns_steps"], group["eps"])
        mine = local_part(orthogonal, source).to(param.dtype)  # exact: bfloat16 into float32
        rule.apply(Lane(param), Lane(mine), s, rule.update_scale(source.shape, group))


def batched(rule: MatrixRule, batch: Batch, inputs: StepInputs) -> None:
    """The default kernel: the matrices of one (shape, dtype, device) orthogonalised together."""
    group = inputs.group
    runs: dict[tuple[Any, ...], list[int]] = {}
    for i, (param, source) in enumerate(zip(batch.params, _sources(batch), strict=True)):
        runs.setdefault((matrix_shape(source.shape), param.dtype, param.device), []).append(i)
    for (shape, dtype, device), indices in runs.items():
        part = batch if len(indices) == len(batch.params) else batch.subset(indices)
        sources = _sources(part)
        grads = prepared_grads(part.grads, part.params, inputs, 0.0, per_tensor=False)  # (1) kappa g, -g
        s = step_scalars(rule, part, inputs, part.params[0]).for_tensors(range(len(indices)))
        updates = rule.momentum(Lanes(grads), Lanes(part.states[0]), s).t  # type: ignore[arg-type]
        ns_dtype = rule.ns_dtype(group, part.params[0])
        if any(_is_dtensor(source) for source in sources):
            stack = torch.stack([whole_matrix(u, src, ns_dtype) for u, src in zip(updates, sources, strict=True)])
        else:  # one pass: the conversion to ns_dtype writes the stack
            stack = torch.empty((len(indices), *shape), dtype=ns_dtype, device=device)
            torch._foreach_copy_(list(stack.unbind(0)), [u.reshape(shape) for u in updates])
        orthogonal = newton_schulz(stack, group["ns_coefficients"], group["ns_steps"], group["eps"]).to(dtype)
        mine = [local_part(o, src) for o, src in zip(orthogonal.unbind(0), sources, strict=True)]
        rule.apply(Lanes(part.params), Lanes(mine), s, rule.update_scale(sources[0].shape, group))


__all__ = ["MatrixRule", "batched", "local_part", "matrix_shape", "newton_schulz", "per_tensor", "whole_matrix"]
