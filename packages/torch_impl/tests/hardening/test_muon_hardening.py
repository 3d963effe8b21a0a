"""Muon under the hardening checks the other rules pass: skip_nonfinite, GradScaler, checkpoints.

Muon takes only the two kernels it has (``foreach=False`` and the batched default; it has no ``fused``) and
needs its 0-d/1-d parameters in AdamW groups, so it is run here on a matrix (Muon group) and a vector and a
scalar (AdamW group), with the checks of ``test_skip_nonfinite.py``, ``test_grad_scaler.py`` and
``test_checkpoints.py``: a skipped step leaves the trajectory of the run that never saw it, bit for bit, decided
without a host read; the scaler gives the unscaled trajectory; a checkpoint loaded with ``weights_only=True``
resumes bit for bit.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any

import pytest
import torch

from lossopt import Muon

_spec = importlib.util.spec_from_file_location("_skip_checks", Path(__file__).parent / "test_skip_nonfinite.py")
assert _spec is not None
assert _spec.loader is not None
_skip_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_skip_checks)
_HostReads, assert_same_state = _skip_checks._HostReads, _skip_checks.assert_same_state

KERNELS = {"single": {"foreach": False}, "batched": {}}
SHAPES = [(3, 4), (3, 4), (2, 3, 2), (5,), ()]  # two of one shape (a stack), a 3-d weight; the rest AdamW's
STEPS = 8
SKIPPED = {0: ("inf", 0), 4: ("nan", 3)}  # step -> (value, index of the parameter that gets it)


def make(kernel: str, **overrides: Any) -> tuple[Muon, list[torch.nn.Parameter]]:
    gen = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(shape, generator=gen)) for shape in SHAPES]
    groups = [{"params": params[:3]}, {"params": params[3:], "use_muon": False, "lr": 0.01}]
    hparams = {"lr": 0.05, "warmup_steps": 3, "max_grad_norm": 1.0, "ns_dtype": torch.float32, **overrides}
    return Muon(groups, **hparams, **KERNELS[kernel]), params


def gradients() -> list[list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(1)
    return [[torch.randn(s, generator=gen) * (1 + step) for s in SHAPES] for step in range(STEPS)]


def run_skipping(kernel: str, *, inject: bool, reads: list[int] | None = None) -> tuple[Muon, list[torch.Tensor]]:
    optimizer, params = make(kernel, skip_nonfinite=True)
    for step, grads in enumerate(gradients()):
        for param, grad in zip(params, grads, strict=True):
            param.grad = grad.clone()
        if step in SKIPPED:
            if not inject:
                continue  # the run that never saw this step
            value, index = SKIPPED[step]
            params[index].grad.view(-1)[0] = float(value)  # type: ignore[union-attr]
        with _HostReads() as mode:
            optimizer.step()
        if reads is not None:
            reads.append(mode.count)
    return optimizer, params


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_a_nonfinite_step_leaves_the_trajectory_of_the_run_that_never_saw_it(kernel):
    reads: list[int] = []
    skipping, params = run_skipping(kernel, inject=True, reads=reads)
    reference, expected = run_skipping(kernel, inject=False)
    for index, (got, want) in enumerate(zip(params, expected, strict=True)):
        assert torch.isfinite(got).all(), f"param {index} went non-finite: {got}"
        assert torch.equal(got, want), f"param {index}: {got} vs {want}"
    assert_same_state(skipping, reference)
    assert [float(g["skipped_steps"]) for g in skipping.param_groups] == [len(SKIPPED)] * 2
    assert reads == [0] * STEPS, "the skip is decided without reading a tensor back"


def run_scaled(kernel: str, mode: str) -> tuple[Muon, list[torch.nn.Parameter]]:
    """``mode``: "reference" (no scaler, the overflowing step never taken), "step" or "unscale"."""
    optimizer, params = make(kernel)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=2)
    overflow = 2
    for step, gs in enumerate(gradients()):
        optimizer.zero_grad()
        loss = sum((p * g).sum() for p, g in zip(params, gs, strict=True))  # d loss / d p = g
        if mode == "reference":
            loss.backward()  # type: ignore[union-attr]
            if step != overflow:
                optimizer.step()
            continue
        scaler.scale(loss).backward()  # type: ignore[arg-type]
        if step == overflow:
            params[0].grad.view(-1)[2] = torch.inf  # type: ignore[union-attr]
        if mode == "unscale":
            scaler.unscale_(optimizer)
        scaler.step(optimizer)
        scaler.update()
    return optimizer, params


@pytest.mark.parametrize("mode", ["step", "unscale"])
@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_the_scaler_gives_the_unscaled_trajectory_and_skips_the_overflow(kernel, mode):
    optimizer, params = run_scaled(kernel, mode)
    reference, expected = run_scaled(kernel, "reference")
    for got, want in zip(params, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert float(optimizer.state[params[3]]["step"]) == float(reference.state[expected[3]]["step"]) == STEPS - 1
    # Muon's and Adam's steps hardly see a gradient's scale (and clipping is on): the norm clipping saw does
    torch.testing.assert_close(optimizer.last_grad_norm, reference.last_grad_norm, rtol=1e-6, atol=0.0)


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_a_checkpoint_loaded_with_weights_only_resumes_bit_for_bit(kernel):
    optimizer, params = make(kernel)
    grads = gradients()
    for step in range(STEPS):
        if step == STEPS // 2:
            buffer = io.BytesIO()
            torch.save({"params": [p.detach().clone() for p in params], "optimizer": optimizer.state_dict()}, buffer)
        for param, grad in zip(params, grads[step], strict=True):
            param.grad = grad.clone()
        optimizer.step()
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    resumed, copies = make(kernel)
    with torch.no_grad():
        for copy, value in zip(copies, saved["params"], strict=True):
            copy.copy_(value)
    resumed.load_state_dict(saved["optimizer"])
    for step in range(STEPS // 2, STEPS):
        for param, grad in zip(copies, grads[step], strict=True):
            param.grad = grad.clone()
        resumed.step()
    for got, want in zip(copies, params, strict=True):
        assert torch.equal(got, want)
    assert_same_state(resumed, optimizer)
