"""Which optimizer kernels this torch gives each lossopt rule on CPU: the "paths" line of a run record.

A rule's ``kernels(group)`` is the chain a ``step()`` hands its tensors down, each kernel taking
those it can (``RuleOptimizer.kernels``): fused kernels first with ``fused=True``, then ``foreach``
or the per-tensor loop (where ``lossopt._torch_compat`` finds no foreach ops). A kernel of torch's
(``torch_fused.*``) takes tensors only where ``_torch_compat.fused_kernel`` found the kernel with
the arguments it needs, and passes the rest on.
"""

from __future__ import annotations

from typing import Any

import torch

from lossopt.optim import AdaBelief, AdvancedAdam, AdvancedAdamW, AdvancedSGD, RAdam

RULES: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": AdvancedSGD,
    "adam": AdvancedAdam,
    "adamw": AdvancedAdamW,
    "radam": RAdam,
    "adabelief": AdaBelief,
}


def kernel_name(kernel: Any) -> str:
    """``module.function`` of a kernel (``cpu.adam``: lossopt's C kernel; ``torch_fused.*``: torch's)."""
    return f"{kernel.__module__.rsplit('.', 1)[-1]}.{kernel.__name__}"


def kernel_paths() -> dict[str, dict[str, list[str]]]:
    """``{rule: {"default": [...], "fused": [...]}}``: the kernel chain of a float32 CPU parameter group."""
    paths: dict[str, dict[str, list[str]]] = {}
    for name, cls in RULES.items():
        paths[name] = {}
        for option, kwargs in (("default", {}), ("fused", {"fused": True})):
            optimizer = cls([torch.nn.Parameter(torch.zeros(2))], **kwargs)
            paths[name][option] = [kernel_name(k) for k in optimizer.kernels(optimizer.param_groups[0])]  # type: ignore[attr-defined]
    return paths
