"""Clipping by one global L2 norm over every gradient of every parameter group.

Mirrors ``lossopt_spec.optim.clip``; the equations and their tags (c1)–(c3) are in its docstring:

.. math::

    n = \\Big(\\sum_k \\lVert g^{(k)} \\rVert_2^2\\Big)^{1/2}, \\qquad
    \\kappa = \\min\\left(1, \\frac{M}{n + 10^{-6}}\\right), \\qquad g^{(k)} \\leftarrow \\kappa g^{(k)}

as ``torch.nn.utils.clip_grad_norm_`` computes them (per (device, dtype) ``torch._foreach_norm``,
then the norm of those norms on the first gradient's device). Every result is a tensor on the
device: nothing is read back to the host, so clipping never synchronizes.

For torch's fused kernels the coefficient is passed as their ``grad_scale`` argument, by which
they *divide* the gradient: :func:`clip_grad_scale` gives :math:`1 / \\kappa` as a float32 tensor.

Non-finite norms behave as ``clip_grad_norm_(error_if_nonfinite=False)``: an ``inf`` norm gives
:math:`\\kappa = 0`, a NaN norm :math:`\\kappa =` NaN (see the spec module).

DTensor gradients (FSDP2's ``fully_shard``): the norm is taken over every shard of every rank (the
reduction across ranks is a collective, as in ``clip_grad_norm_``) and comes back as a replicated
0-dim DTensor, so ``float(norm)`` is the global norm on each rank. As in ``clip_grad_norm_``, the
gradients must be all DTensors or all plain tensors: a model sharded only in part fails in
``torch._foreach_norm`` ("got mixed torch.Tensor and DTensor").

Example:
    >>> import torch
    >>> from lossopt.optim.clip import clip_coefficient, global_grad_norm
    >>> norm = global_grad_norm([torch.tensor([3.0]), torch.tensor([[4.0]])])
    >>> norm
    tensor(5.)
    >>> clip_coefficient(norm, 1.0)
    tensor(0.2000)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from lossopt.optim.kernels import cpu
from lossopt.optim.kernels._tensor_groups import group_by_device_and_dtype

CLIP_EPS = 1e-6


def global_grad_norm(grads: Sequence[torch.Tensor], *, fused: bool = False) -> torch.Tensor:
    """(c1) the L2 norm of all ``grads`` together, a 0-dim tensor on the first gradient's device.

    ``grads`` may span devices and dtypes; an empty sequence gives ``tensor(0.)``. By default this is
    ``torch.nn.utils.clip_grad_norm_``'s recipe, bit for bit, whatever the machine. With ``fused`` (every
    group ``fused=True``), CPU float32/float64 gradients are summed by lossopt's C kernel in one parallel
    pass, in float64: it differs from torch's float32 sum by float32 rounding (and stays finite where a
    float32 sum of squares overflows, above about 1.8e19 per element).
    """
    if len(grads) == 0:
        return torch.tensor(0.0)
    first_device = grads[0].device
    norms: list[torch.Tensor] = []
    for indices in group_by_device_and_dtype(grads):
        group = [grads[i] for i in indices]
        compiling = torch.compiler.is_compiling()
        taken, others = ([], list(range(len(group)))) if compiling or not fused else cpu.partition([group])
        if taken:  # CPU float32/float64: one parallel pass, float64 sums
            sum_of_squares = cpu.sum_of_squares([group[i] for i in taken])
            norms.append(torch.tensor(math.sqrt(sum_of_squares), dtype=group[0].dtype))
        if others:
            norms.extend(torch._foreach_norm([group[i] for i in others], 2))
    total: torch.Tensor = torch.linalg.vector_norm(torch.stack([n.to(first_device) for n in norms]), 2)  # (c1)
    return replicated(total)


def replicated(norm: torch.Tensor) -> torch.Tensor:
    """A norm of DTensor shards as a replicated DTensor: every rank holds the global norm; plain tensors pass.

    torch 2.9 leaves the norm ``Partial`` (each rank's share, reduced only when needed): ``float(norm)``
    then reads the rank's own norm, and ``norm + eps`` adds eps to every rank's share before the
    reduction (a clip coefficient ~3e-7 relative off). torch 2.10+ returns it ``Replicate`` already.
    """
    placements = getattr(norm, "placements", None)
    if placements is None or not any(p.is_partial() for p in placements):
        return norm
    from torch.distributed.tensor import Replicate

    return norm.redistribute(placements=[Replicate()] * len(placements))  # type: ignore[attr-defined, no-any-return]


def clip_coefficient(norm: torch.Tensor, max_norm: float) -> torch.Tensor:
    """(c2) :math:`\\kappa = \\min(1, M / (n + 10^{-6}))` as a tensor (NaN stays NaN, inf gives 0)."""
    return torch.clamp(max_norm / (norm + CLIP_EPS), max=1.0)  # (c2) kappa = min(1, M / (n + eps))


def clip_grad_scale(norm: torch.Tensor, max_norm: float, device: torch.device) -> torch.Tensor:
    """:math:`1 / \\kappa` as a float32 tensor on ``device``: the ``grad_scale`` torch's fused kernels divide by."""
    return torch.reciprocal(clip_coefficient(norm, max_norm)).to(device=device, dtype=torch.float32, non_blocking=True)
