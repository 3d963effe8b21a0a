"""The multi-tensor kernel in cache-sized blocks on a CPU gives the same bits as the whole list at once.

A CPU runs each ``torch._foreach_*`` op tensor by tensor, so splitting a group into blocks
(``lossopt.optim.kernels.execute.CPU_BLOCK_BYTES``) may change only the order of the work, never a bit:
the reference is the same optimizer with blocking off (``None``), the kernel every conformance test checks.
"""

from __future__ import annotations

import pytest
import torch

from lossopt.optim import (
    ADOPT,
    AdaBelief,
    AdvancedAdamW,
    AdvancedSGD,
    Lion,
    RAdam,
    ScheduleFreeAdamW,
    ScheduleFreeSGD,
)
from lossopt.optim.kernels import execute

RULES = {
    "adamw": (AdvancedAdamW, {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True}),
    "sgd": (AdvancedSGD, {"lr": 1e-2, "momentum": 0.9, "nesterov": True}),
    "adabelief": (AdaBelief, {"lr": 1e-2}),
    "radam": (RAdam, {"lr": 1e-2}),
    "lion": (Lion, {"lr": 1e-3, "weight_decay": 0.1}),
    "adopt": (ADOPT, {"lr": 1e-2, "weight_decay": 0.1}),
    "adopt-decouple": (ADOPT, {"lr": 1e-2, "weight_decay": 0.1, "decouple": True}),
    "schedule_free_adamw": (ScheduleFreeAdamW, {"lr": 1e-2, "weight_decay": 0.1, "warmup_steps": 2}),
    "schedule_free_sgd": (ScheduleFreeSGD, {"lr": 1e-2, "weight_decay": 0.1}),
}
EXTRAS = {"plain": {}, "clip-skip-maximize": {"max_grad_norm": 0.5, "skip_nonfinite": True, "maximize": True}}


def _run(cls, kwargs, block_bytes, monkeypatch) -> list[torch.Tensor]:
    monkeypatch.setattr(execute, "CPU_BLOCK_BYTES", block_bytes)
    generator = torch.Generator().manual_seed(0)
    shapes = [(7, 5), (300,), (1,), (2, 3, 4), (50,)]
    params = [torch.randn(shape, generator=generator, requires_grad=True) for shape in shapes]
    late = torch.randn(40, generator=generator, requires_grad=True)  # joins at step 3: a first step in a later one
    opt = cls([{"params": params}], foreach=True, **kwargs)
    if hasattr(opt, "train"):
        opt.train()
    for step in range(5):
        if step == 2:
            opt.add_param_group({"params": [late]})
        for p in opt.param_groups[0]["params"] + ([late] if step >= 2 else []):
            p.grad = torch.randn(p.shape, generator=generator)
        opt.step()
    state = [t for p in [*params, late] for t in opt.state[p].values() if isinstance(t, torch.Tensor)]
    return [p.detach().clone() for p in [*params, late]] + state


@pytest.mark.parametrize("extras", sorted(EXTRAS))
@pytest.mark.parametrize("rule", sorted(RULES))
def test_blocked_multi_tensor_kernel_equals_the_whole_list_bit_for_bit(rule, extras, monkeypatch):
    cls, kwargs = RULES[rule]
    kwargs = {**kwargs, **EXTRAS[extras]}
    whole = _run(cls, kwargs, None, monkeypatch)
    for block_bytes in (1, 1200):  # every tensor alone; a few tensors a block
        blocked = _run(cls, kwargs, block_bytes, monkeypatch)
        assert len(blocked) == len(whole)
        for a, b in zip(blocked, whole, strict=True):
            assert torch.equal(a, b), (rule, extras, block_bytes)


def test_blocks_hold_about_the_budget_of_parameter_bytes_each(monkeypatch):
    monkeypatch.setattr(execute, "CPU_BLOCK_BYTES", 1000)
    params = [torch.zeros(n) for n in (100, 100, 100, 50, 300, 10)]  # 400, 400, 400, 200, 1200, 40 bytes
    batch = execute.Batch(params, params, [])
    assert execute._blocks(batch, list(range(6)), torch.device("cpu")) == [[0, 1, 2], [3, 4], [5]]
    assert execute._blocks(batch, [0, 1], torch.device("meta")) == [[0, 1]]  # not a CPU: the whole list
    monkeypatch.setattr(execute, "CPU_BLOCK_BYTES", None)
    assert execute._blocks(batch, list(range(6)), torch.device("cpu")) == [list(range(6))]
