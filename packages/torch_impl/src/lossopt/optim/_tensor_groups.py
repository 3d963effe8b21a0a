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
