"""The checkpoint cases ``test_checkpoints.py`` and ``make_checkpoint_fixtures.py`` share.

Every optimizer with every kernel, warmup and clipping on (clipping active: the gradients' global
norm is ~4, ``max_grad_norm`` 1), AMSGrad where the optimizer has it, so the saved state holds
every key a run can produce (``max_exp_avg_sq``, ``max_exp_avg_var``, momentum buffers, device
counters, the schedule clock).
"""

from __future__ import annotations

from typing import Any

import torch

from lossopt.optim import AdaBelief, AdvancedAdam, AdvancedAdamW, AdvancedSGD, RAdam

STEPS_BEFORE, STEPS_AFTER = 3, 3
COMMON = {"lr": 0.05, "warmup_steps": 2, "max_grad_norm": 1.0}
OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "sgd": (AdvancedSGD, {**COMMON, "momentum": 0.9, "use_cyclical_lr": True, "cycle_length": 3}),
    "adamw": (AdvancedAdamW, {**COMMON, "amsgrad": True, "weight_decay": 0.1}),
    "adam": (AdvancedAdam, {**COMMON, "amsgrad": True, "weight_decay": 0.01}),
    "radam": (RAdam, {**COMMON, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    "adabelief": (AdaBelief, {**COMMON, "amsgrad": True}),
}
KERNELS: dict[str, dict[str, dict[str, Any]]] = {
    "sgd": {"single": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}},
    "adamw": {
        "single": {"foreach": False},
        "foreach": {"foreach": True},
        "fused": {"fused": True},
        "capturable": {"capturable": True},
    },
    "adam": {
        "single": {"foreach": False},
        "foreach": {"foreach": True},
        "fused": {"fused": True},
        "capturable": {"capturable": True},
    },
    "radam": {"single": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}},
    "adabelief": {"single": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}},
}
CASES = [(name, kernel) for name in OPTIMIZERS for kernel in KERNELS[name]]
COMPILED = {("radam", "fused"), ("adabelief", "fused")}  # torch.compile'd kernels: the first step compiles


def make_optimizer(name: str, kernel: str, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    cls, hparams = OPTIMIZERS[name]
    return cls(params, **hparams, **KERNELS[name][kernel])


def start_and_grads(
    dtype: torch.dtype = torch.float32, device: str = "cpu"
) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
    """Two parameters (3x4, 5) and the gradients of ``STEPS_BEFORE + STEPS_AFTER`` steps."""
    generator = torch.Generator().manual_seed(3)
    start = [torch.randn(3, 4, generator=generator), torch.randn(5, generator=generator)]
    grads = [[torch.randn(p.shape, generator=generator) for p in start] for _ in range(STEPS_BEFORE + STEPS_AFTER)]
    return [p.to(device=device, dtype=dtype) for p in start], [
        [g.to(device=device, dtype=dtype) for g in step] for step in grads
    ]


def leaves(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    return [t.detach().clone().requires_grad_() for t in tensors]


def run(params: list[torch.Tensor], optimizer: torch.optim.Optimizer, grads: list[list[torch.Tensor]]) -> None:
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad = g.clone()
        optimizer.step()
