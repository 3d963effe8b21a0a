"""The fused RAdam / AdaBelief kernels' interface: ``found_inf`` (skip a step), a tensor ``lr``, chunking.

The group's update is called as ``step()`` calls it, on state an optimizer built, with the learning
rate and ``found_inf`` given.
Expected values: a skipped step leaves every tensor bit-identical (compared with ``torch.equal``);
the other results come from the same kernel without the option, or from the ``foreach`` kernel.
"""

from __future__ import annotations

import pytest
import torch

from lossopt import AdaBelief, RAdam
from lossopt.optim.kernels import compiled

# every test twice: with lossopt's CPU kernel (fused AdaBelief on CPU) and with it off (the torch.compile
# kernel, which CUDA and machines without a C compiler run)
pytestmark = pytest.mark.usefixtures("cpu_kernels")

# one 1-element tensor (eager path), a non-contiguous one (per-tensor path), the rest chunked: more
# tensors than one chunk, so the last chunk is filled with scratch tensors
SHAPES = [(3, 4), (5,), (1,), (2, 2, 2), (7,), (6,), (2, 3), (9,), (4,), (3,), (8,), (2,)]


def make_params(dtype=torch.float32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=generator, dtype=dtype).requires_grad_() for s in SHAPES]
    wide = torch.randn(4, 6, generator=generator, dtype=dtype)
    params.append(wide[:, ::2].requires_grad_())  # a non-contiguous leaf
    return params


def set_grads(params, seed):
    generator = torch.Generator().manual_seed(seed)
    for p in params:
        p.grad = torch.randn(p.shape, generator=generator, dtype=p.dtype)


def prepared(cls, kwargs, steps):
    """An optimizer after ``steps`` steps, with fresh gradients set for the next one."""
    params = make_params()
    optimizer = cls(params, fused=True, **kwargs)
    for s in range(steps):
        set_grads(params, seed=100 + s)
        optimizer.step()
    set_grads(params, seed=999)
    return optimizer


@torch.no_grad()
def kernel_call(optimizer, lr=None, found_inf=None):
    """Update the group as ``step()`` does (fused kernels first), at rate ``lr`` (default: the group's)."""
    group = optimizer.param_groups[0]
    optimizer._update_group(group, group["lr"] if lr is None else lr, None, found_inf)


def snapshot(optimizer):
    tensors = []
    for p in optimizer.param_groups[0]["params"]:
        tensors.append(p.detach().clone())
        tensors.extend(v.clone() for v in optimizer.state[p].values())
    return tensors


def assert_identical(before, after):
    assert len(before) == len(after)
    for index, (a, b) in enumerate(zip(before, after, strict=True)):
        assert torch.equal(a, b), f"tensor {index} changed: {a} vs {b}"


CASES = [
    (RAdam, {"lr": 0.1}, 2),  # t = 3: the un-adapted step (8)
    (RAdam, {"lr": 0.1}, 6),  # t = 7: the rectified step (7) on torch's fused Adam kernel
    (RAdam, {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}, 6),
    (RAdam, {"lr": 0.1, "weight_decay": 0.1, "maximize": True}, 6),
    (AdaBelief, {"lr": 0.1}, 2),
    (AdaBelief, {"lr": 0.1, "weight_decay": 0.1}, 6),
    (AdaBelief, {"lr": 0.1, "amsgrad": True, "rectify": False, "weight_decouple": False, "weight_decay": 0.1}, 6),
]
IDS = [f"{cls.__name__}-{steps}steps-{'-'.join(sorted(kwargs))}" for cls, kwargs, steps in CASES]


@pytest.mark.parametrize(("cls", "kwargs", "steps"), CASES, ids=IDS)
@pytest.mark.parametrize("flag", [1.0, 2.0])
def test_found_inf_skips_the_step_bit_for_bit(cls, kwargs, steps, flag):
    optimizer = prepared(cls, kwargs, steps)
    for p in optimizer.param_groups[0]["params"]:
        p.grad[..., 0] = float("inf")  # what found_inf reports
    before = snapshot(optimizer)
    kernel_call(optimizer, found_inf=torch.tensor(flag))  # any nonzero value skips
    assert_identical(before, snapshot(optimizer))  # parameters, moments and step counters


@pytest.mark.parametrize(("cls", "kwargs", "steps"), CASES, ids=IDS)
def test_found_inf_zero_equals_no_found_inf_and_a_tensor_lr_equals_the_float(cls, kwargs, steps):
    reference = prepared(cls, kwargs, steps)
    kernel_call(reference)
    expected = snapshot(reference)
    assert any(not torch.equal(a, b) for a, b in zip(expected, snapshot(prepared(cls, kwargs, steps)), strict=True))
    for overrides in (
        {"found_inf": torch.tensor(0.0)},
        {"lr": torch.tensor(kwargs["lr"], dtype=torch.float64)},
        {"lr": torch.tensor(kwargs["lr"], dtype=torch.float64), "found_inf": torch.tensor(0.0)},
    ):
        optimizer = prepared(cls, kwargs, steps)
        kernel_call(optimizer, **overrides)
        assert_identical(expected, snapshot(optimizer))


@pytest.mark.parametrize(("cls", "kwargs", "steps"), CASES, ids=IDS)
def test_a_float32_tensor_lr_takes_the_float_step(cls, kwargs, steps):
    # lr = 0.125 is exact in float32, so the float and the float32 tensor are the same number
    kwargs = {**kwargs, "lr": 0.125}
    reference = prepared(cls, kwargs, steps)
    kernel_call(reference)
    optimizer = prepared(cls, kwargs, steps)
    kernel_call(optimizer, lr=torch.tensor(0.125))
    assert_identical(snapshot(reference), snapshot(optimizer))


@pytest.mark.parametrize("cls", [RAdam, AdaBelief])
def test_fused_equals_foreach_across_chunks_and_both_branches(cls):
    # 13 tensors (more than one chunk of 8, padded), a 1-element and a non-contiguous one, t = 1..8
    kwargs = {"lr": 0.05, "weight_decay": 0.01}
    runs = []
    for kernel in ({"fused": True}, {"foreach": True}):
        params = make_params()
        optimizer = cls(params, **kwargs, **kernel)
        for s in range(8):
            set_grads(params, seed=200 + s)
            optimizer.step()
        runs.append(snapshot(optimizer))
    assert len(SHAPES) + 1 > compiled.CHUNK  # the padded last chunk is exercised
    for a, b in zip(*runs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [RAdam, AdaBelief])
def test_fused_step_reads_nothing_back_but_the_cpu_step_counters(cls, monkeypatch):
    optimizer = prepared(cls, {"lr": 0.1, "max_grad_norm": 1.0, "warmup_steps": 3}, steps=2)
    counters = {id(optimizer.state[p]["step"]) for p in optimizer.param_groups[0]["params"]}

    def guarded(name):
        original = getattr(torch.Tensor, name)

        def read(self, *args, **kwargs):
            if id(self) not in counters:
                raise AssertionError(f"Tensor.{name} read a tensor other than a step counter inside step()")
            return original(self, *args, **kwargs)

        return read

    for name in ("item", "__bool__", "__float__", "tolist"):
        monkeypatch.setattr(torch.Tensor, name, guarded(name))
    for _ in range(6):  # t = 3..8: both branches
        optimizer.step()


def test_radam_fused_rectified_step_compiles_nothing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("fused RAdam called torch.compile")

    monkeypatch.setattr(torch, "compile", refuse)
    prepared(RAdam, {"lr": 0.1}, steps=8)
