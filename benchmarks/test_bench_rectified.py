"""RAdam and AdaBelief at the issue's size: 20M float32 parameters in 200 tensors.

Groups (``ratios.py`` divides lossopt's median by torch's within each):

- ``optim-radam-foreach-20M``: ``RAdam(foreach=True)`` vs ``torch.optim.RAdam(foreach=True)``;
- ``optim-radam-fused-20M`` / ``optim-adabelief-fused-20M``: the fused single pass (RAdam: torch's fused
  Adam kernel; AdaBelief: compiled, 8 tensors a call) vs ``torch.optim.AdamW(fused=True)``, which moves
  the same bytes per parameter;
- ``optim-adabelief-foreach-20M``: ``AdaBelief(foreach=True)`` vs ``torch.optim.AdamW(foreach=True)``.

The fused optimizers' first step (which compiles, or loads Inductor's on-disk cache) is timed
separately and stored as ``compile_s``; it is not part of the statistics.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import torch

from lossopt import AdaBelief, RAdam

N_TENSORS = 200
TENSOR_NUMEL = 100_000  # 200 x 100k = 20M float32 parameters, 80 MB per state array

CASES: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any], type[torch.optim.Optimizer], dict[str, Any]]] = {
    "optim-radam-foreach-20M": (RAdam, {"foreach": True}, torch.optim.RAdam, {"foreach": True}),
    "optim-radam-fused-20M": (RAdam, {"fused": True}, torch.optim.AdamW, {"fused": True, "weight_decay": 0.0}),
    "optim-adabelief-fused-20M": (AdaBelief, {"fused": True}, torch.optim.AdamW, {"fused": True}),
    "optim-adabelief-foreach-20M": (AdaBelief, {"foreach": True}, torch.optim.AdamW, {"foreach": True}),
}


def make_params(device: str) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    params = [torch.randn(TENSOR_NUMEL, generator=generator).to(device).requires_grad_() for _ in range(N_TENSORS)]
    for p in params:
        p.grad = torch.randn(TENSOR_NUMEL, generator=generator).to(device)
    return params


@pytest.mark.parametrize("side", ["lossopt", "torch"])
@pytest.mark.parametrize("group", sorted(CASES))
def test_rectified_step_20m(benchmark, group, side, device):
    ours, our_kwargs, theirs, their_kwargs = CASES[group]
    cls, kwargs = (ours, our_kwargs) if side == "lossopt" else (theirs, their_kwargs)
    params = make_params(device)
    optimizer = cls(params, lr=1e-3, **kwargs)
    start = time.perf_counter()
    optimizer.step()  # state allocated (and, fused, compiled) outside the timing
    if device == "cuda":
        torch.cuda.synchronize()
    first_step_s = time.perf_counter() - start
    for _ in range(6):  # past RAdam's un-adapted steps: time the rectified branch, as in training
        optimizer.step()

    def step() -> None:
        optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()

    benchmark.group = group
    name = "radam" if "radam" in group else "adabelief"
    benchmark.extra_info.update({"name": name, "side": side, "numel": N_TENSORS * TENSOR_NUMEL})
    if side == "lossopt" and kwargs.get("fused"):
        benchmark.extra_info["compile_s"] = first_step_s
    benchmark.pedantic(step, rounds=10, warmup_rounds=1)
