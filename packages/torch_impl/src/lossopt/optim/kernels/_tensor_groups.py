"""Grouping of parameter lists for ``torch._foreach_*`` kernels, which need one device and dtype."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def group_by_device_and_dtype(tensors: Sequence[torch.Tensor]) -> list[list[int]]:
    """Indices of ``tensors`` split into runs sharing (device, dtype), in first-seen order."""
    groups: dict[tuple[torch.device, torch.dtype], list[int]] = {}
    for index, tensor in enumerate(tensors):
        groups.setdefault((tensor.device, tensor.dtype), []).append(index)
    return list(groups.values())


def default_foreach(params: Sequence[torch.Tensor]) -> bool:
    """The multi-tensor path is the default, as long as every tensor is a plain strided tensor."""
    return all(type(p) is torch.Tensor or isinstance(p, torch.nn.Parameter) for p in params) and all(
        p.layout == torch.strided for p in params
    )


def _is_dtensor(tensor: object) -> bool:
    if not torch.distributed.is_available():  # pragma: no cover - a torch build without torch.distributed
        return False
    from torch.distributed.tensor import DTensor

    return isinstance(tensor, DTensor)


def local_shards(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Every DTensor (FSDP2's sharded parameters, their gradients and states) as its local shard.

    An elementwise update of a shard needs nothing from the other ranks, so the kernels run on the
    local tensors (views: in-place updates land in the DTensors); the coefficients they mix in
    (per-tensor CPU scalars) are plain tensors, which ``torch._foreach_*`` refuses to mix with DTensors.
    """
    return [t.to_local() if _is_dtensor(t) else t for t in tensors]  # type: ignore[attr-defined]


def local_value(tensor: torch.Tensor | None) -> torch.Tensor | None:
    """A replicated DTensor scalar (the global gradient norm's clip coefficient, found_inf) as a plain tensor."""
    return tensor.to_local() if _is_dtensor(tensor) else tensor  # type: ignore[union-attr]


def real_views(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Complex tensors as their real views (``torch.view_as_real``: the last dimension holds the real and the
    imaginary part), the others as they are: every rule is elementwise, so a complex parameter is updated as
    the pair of real parameters it is, as ``torch.optim`` does. The views alias the tensors: in-place updates
    land in them."""
    views = list(tensors)
    for i, tensor in enumerate(views):  # a loop, not a comprehension: Dynamo traces it inside a resumed frame
        if tensor.is_complex():
            views[i] = torch.view_as_real(tensor)
    return views
