"""Contracts every optimizer of the registry keeps, checked against the spec where a value is involved.

- every kernel (per-tensor, foreach, fused, capturable) agrees with the others over several steps;
- several parameter groups with different learning rates and one global clip norm match the spec's
  :func:`~lossopt_spec.optim.clip.update_groups`;
- parameters whose ``grad`` is ``None`` (frozen layers) keep their values and get no state;
  0-dim and zero-size parameters step like the others;
- a ``torch.optim.lr_scheduler`` on top of the warmup multiplies it (the spec is given the
  scheduler's learning rate at each step);
- ``state_dict`` -> fresh optimizer -> continue gives bit-identical parameters on CPU;
- a non-finite gradient norm with clipping on gives what the spec gives (NaN where it has NaN).

The tensors go into the entry's groups (``OptimizerInfo.grouping``: one group, or Muon's matrices apart from
its AdamW group), stepped on the spec's side with one global norm (:mod:`conformance.grouping`).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.assertions import assert_matches_spec
from conformance.assertions import format_call as format_hparams  # hyperparameters as the constructor call
from conformance.grouping import SpecGroups, split, torch_groups
from conformance.registry import OPTIMIZER_INFOS
from conformance.strategies.common import float_arrays
from conformance.tolerances import tolerance_for
from lossopt_spec.audit.bridge import rounded, set_grads, to_tensors
from lossopt_spec.optim.clip import update_groups

NAMES = sorted(OPTIMIZER_INFOS)
MULTI_IMPL = [name for name in NAMES if len(OPTIMIZER_INFOS[name].impls) > 1]


def _extras(name: str) -> dict:
    """Warmup and clipping (and the cycle for SGD) switched on, with momentum for SGD."""
    hparams: dict = {"lr": 0.05, "warmup_steps": 3, "max_grad_norm": 1.0}
    if name == "sgd":
        hparams.update(momentum=0.9, use_cyclical_lr=True, cycle_length=2)
    return {k: v for k, v in hparams.items() if k in OPTIMIZER_INFOS[name].spec.defaults}


@pytest.mark.parametrize("name", MULTI_IMPL)
@settings(max_examples=10)
@given(data=st.data())
def test_every_kernel_agrees_with_the_per_tensor_loop(name, device, data):
    info = OPTIMIZER_INFOS[name]
    params_np, grads_np = data.draw(info.params, label="params, grads")
    hparams = data.draw(info.hparams, label="hparams")
    results = {}
    for impl, flags in info.impls.items():
        params = to_tensors(params_np, "float32", device)
        optimizer = info.build(params, **hparams, **flags)
        for step in range(1, 4):
            set_grads(params, [g * (1 + 0.5 * step) for g in grads_np])
            optimizer.step()
        results[impl] = params
    tol = tolerance_for("float32", "step", info.tolerance_overrides)
    reference = results["single"]
    for impl, params in results.items():
        for i, (got, want) in enumerate(zip(params, reference, strict=True)):
            assert_matches_spec(
                got,
                rounded([want])[0],
                entry=name,
                check=f"param{i} ({impl} vs single)",
                tolerance=tol,
                context={"step": 3, "impl": impl, "device": device},
                call=format_hparams(name, hparams),
            )


@pytest.mark.parametrize("name", NAMES)
def test_groups_with_their_own_lrs_and_one_global_clip_norm_match_the_spec(name, device):
    info = OPTIMIZER_INFOS[name]
    hparams = _extras(name)
    rng = np.random.default_rng(0)
    groups_np = [[rng.standard_normal((3, 2)), rng.standard_normal(4)], [rng.standard_normal(5)]]
    lrs = [hparams["lr"], hparams["lr"] / 10]
    grouping = split(info, groups_np, [{"lr": lr} for lr in lrs])
    flat_np = [a for g in groups_np for a in g]
    params = to_tensors(flat_np, "float64", device)
    others = {k: v for k, v in hparams.items() if k != "lr"}
    optimizer = info.build(torch_groups(params, grouping), **others, **info.flags)
    spec = SpecGroups(info, flat_np, grouping, hparams)
    for step in range(1, 6):
        grads_np = [3.0 * rng.standard_normal(p.shape) for p in flat_np]
        set_grads(params, grads_np)
        optimizer.step()
        spec.step(grads_np, step)
        spec.assert_matched(
            params,
            entry=name,
            tolerance=tolerance_for("float64", "step", info.tolerance_overrides),
            context={"step": step, "device": device},
            call=format_hparams(name, hparams) + f" with group lrs {lrs}",
        )
    all_grads = [p.grad for p in params]
    expected_norm = torch.linalg.vector_norm(torch.cat([g.flatten() for g in all_grads]))
    torch.testing.assert_close(optimizer.last_grad_norm, expected_norm)


@pytest.mark.parametrize("name", NAMES)
def test_frozen_params_are_untouched_and_0_dim_and_zero_size_params_step(name, device):
    info = OPTIMIZER_INFOS[name]
    hparams = _extras(name)
    for impl, flags in info.impls.items():
        shapes = [(), (0,), (3,), (2, 0), (2,), (2, 3)]
        rng = np.random.default_rng(1)
        params_np = [rng.standard_normal(s) for s in shapes]
        params = to_tensors(params_np, "float64", device)
        frozen = params[4]
        optimizer = info.build(torch_groups(params, info.grouping(shapes)), **hparams, **flags)
        live = [0, 1, 2, 3, 5]
        spec = SpecGroups(info, [params_np[i] for i in live], info.grouping([shapes[i] for i in live]), hparams)
        for step in range(1, 5):
            grads = [rng.standard_normal(shapes[i]) for i in live]
            for i, g in zip(live, grads, strict=True):
                params[i].grad = torch.tensor(g, dtype=torch.float64, device=device)
            frozen.grad = None
            optimizer.step()
            spec.step(grads, step)
        assert torch.equal(frozen.detach().cpu(), torch.tensor(params_np[4])), f"{name}[{impl}] moved a frozen param"
        assert len(optimizer.state[frozen]) == 0, f"{name}[{impl}] made state for a param with no grad"
        for i, want in zip(live, spec.flat(), strict=True):
            assert_matches_spec(
                params[i],
                want,
                entry=name,
                check=f"param{i} shape={shapes[i]}",
                tolerance=tolerance_for("float64", "step"),
                context={"impl": impl, "device": device},
                call=format_hparams(name, hparams),
            )


@pytest.mark.parametrize("name", NAMES)
def test_lr_scheduler_multiplies_the_warmup(name, device):
    info = OPTIMIZER_INFOS[name]
    hparams = _extras(name)
    rng = np.random.default_rng(2)
    params_np = [rng.standard_normal((2, 3)), rng.standard_normal(4)]
    params = to_tensors(params_np, "float64", device)
    grouping = info.grouping([p.shape for p in params_np])
    optimizer = info.build(torch_groups(params, grouping), **hparams, **info.flags)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    spec = SpecGroups(info, params_np, grouping, hparams)
    for step in range(1, 8):
        lr_now = optimizer.param_groups[0]["lr"]  # the scheduler's rate; the warmup applies on top
        assert lr_now == hparams["lr"] * 0.5 ** ((step - 1) // 2), "the optimizer wrote into group['lr']"
        grads = [rng.standard_normal(p.shape) for p in params_np]
        set_grads(params, grads)
        optimizer.step()
        scheduler.step()
        spec.hparams = [{**h, "lr": lr_now} for h in spec.hparams]
        spec.step(grads, step)
        spec.assert_matched(
            params,
            entry=name,
            tolerance=tolerance_for("float64", "step"),
            context={"step": step, "device": device},
            call=format_hparams(name, hparams) + " + StepLR(step_size=2, gamma=0.5)",
        )


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_continues_bit_identically(name):
    info = OPTIMIZER_INFOS[name]
    hparams = _extras(name)
    for impl, flags in info.impls.items():
        generator = torch.Generator().manual_seed(3)
        start = [torch.randn(3, 4, generator=generator), torch.randn(5, generator=generator)]
        grads = [[torch.randn(p.shape, generator=generator) for p in start] for _ in range(8)]
        grouping = info.grouping([tuple(p.shape) for p in start])

        def run(params, optimizer, steps):
            for step_grads in steps:
                for p, g in zip(params, step_grads, strict=True):
                    p.grad = g.clone()
                optimizer.step()

        def make(params):
            return info.build(torch_groups(params, grouping), **hparams, **flags)  # noqa: B023

        straight = [p.clone().requires_grad_() for p in start]
        run(straight, make(straight), grads)

        first = [p.clone().requires_grad_() for p in start]
        optimizer = make(first)
        run(first, optimizer, grads[:4])
        saved = copy.deepcopy(optimizer.state_dict())
        resumed = [p.detach().clone().requires_grad_() for p in first]
        fresh = make(resumed)
        fresh.load_state_dict(saved)
        run(resumed, fresh, grads[4:])
        for a, b in zip(resumed, straight, strict=True):
            assert torch.equal(a, b), f"{name}[{impl}]: resumed run differs from the straight run"


@pytest.mark.parametrize("name", NAMES)
def test_non_finite_gradient_norm_with_clipping_matches_the_spec(name, device):
    info = OPTIMIZER_INFOS[name]
    hparams = _extras(name)
    for bad in (math.inf, math.nan):
        for impl, flags in info.impls.items():
            params_np = [np.array([[1.0, -2.0, 0.5]]), np.array([0.25])]
            grads_np = [np.array([[bad, 1.0, -1.0]]), np.array([2.0])]
            params = to_tensors(params_np, "float64", device)
            set_grads(params, grads_np)
            grouping = info.grouping([p.shape for p in params_np])
            optimizer = info.build(torch_groups(params, grouping), **hparams, **flags)
            optimizer.step()
            spec = SpecGroups(info, params_np, grouping, hparams)
            with np.errstate(invalid="ignore"):
                spec.step(grads_np, 1)
            assert not torch.isfinite(optimizer.last_grad_norm).item()
            spec.assert_matched(
                params,
                label=f" (grad norm {bad})",
                entry=name,
                tolerance=tolerance_for("float64", "step"),
                context={"impl": impl, "device": device},
                call=format_hparams(name, hparams),
            )


@given(grads=st.lists(float_arrays((3,), bound=50.0), min_size=1, max_size=3))
def test_spec_update_groups_norm_is_the_norm_over_all_groups(grads):
    seen = []

    def update(params, grads, state, step, hparams, *, grad_norm=None):
        seen.append(grad_norm)
        return params, state

    update_groups(update, [[g] for g in grads], [[g] for g in grads], [[{}] for _ in grads], 1, [{} for _ in grads])
    expected = float(np.linalg.norm(np.concatenate(grads)))
    assert all(n == pytest.approx(expected, rel=1e-12, abs=1e-300) for n in seen)
