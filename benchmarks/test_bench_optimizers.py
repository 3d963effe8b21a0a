"""One optimizer step of lossopt vs torch.optim on the same parameters, per kernel.

Ids are ``<side>`` inside the group ``optim-<name>-<impl>``; ``ratios.py`` divides lossopt's median
by torch's in each group. A ``copy`` group times ``torch._foreach_copy_`` over the same bytes for
effective bandwidth.
"""

from __future__ import annotations

import inspect

import pytest
import torch

from benchmarks.baselines import OPTIMIZER_BASELINES
from benchmarks.conftest import make_params
from conformance.registry import OPTIMIZER_INFOS


def _baseline_takes(name: str, impl: str) -> bool:
    """Whether torch's baseline accepts the impl's flags (torch.optim.RAdam has no ``fused``)."""
    parameters = inspect.signature(OPTIMIZER_BASELINES[name][0].__init__).parameters
    return all(flag in parameters for flag in OPTIMIZER_INFOS[name].impls[impl])


CASES = [
    (name, impl) for name in OPTIMIZER_INFOS for impl in OPTIMIZER_INFOS[name].impls if _baseline_takes(name, impl)
]


def _synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


@pytest.mark.parametrize("side", ["lossopt", "torch"])
@pytest.mark.parametrize(("name", "impl"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_optimizer_step(benchmark, name, impl, side, device):
    torch_cls, kwargs = OPTIMIZER_BASELINES[name]
    info = OPTIMIZER_INFOS[name]
    build = info.build if side == "lossopt" else torch_cls  # build: in train mode (Schedule-Free starts in eval)
    params = make_params(device)
    try:
        optimizer = build(params, **kwargs, **info.impls[impl])
        optimizer.step()  # state allocated outside the timing
    except (AssertionError, RuntimeError) as error:
        if side == "lossopt":
            raise
        pytest.skip(f"torch's {torch_cls.__name__} has no {impl!r} kernel on {device}: {error}")

    def step() -> None:
        optimizer.step()
        _synchronize(device)

    benchmark.group = f"optim-{name}-{impl}"
    benchmark.extra_info.update({"name": name, "impl": impl, "side": side, "numel": sum(p.numel() for p in params)})
    benchmark.pedantic(step, rounds=20, warmup_rounds=2)


def test_copy_bandwidth(benchmark, device):
    source = make_params(device)
    target = [torch.empty_like(p) for p in source]

    def copy() -> None:
        torch._foreach_copy_(target, source)
        _synchronize(device)

    benchmark.group = "copy"
    benchmark.extra_info.update({"side": "copy", "bytes": 2 * 4 * sum(p.numel() for p in source)})
    benchmark.pedantic(copy, rounds=20, warmup_rounds=2)


def test_every_optimizer_has_a_baseline():
    missing = sorted(set(OPTIMIZER_INFOS) - set(OPTIMIZER_BASELINES))
    assert not missing, f"benchmarks/baselines.py has no torch baseline for {missing}"
