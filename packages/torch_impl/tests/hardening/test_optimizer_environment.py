"""Results that must not depend on the machine: a C compiler present or not, ``-W error``, an LR scheduler.

- The default kernels (``foreach``, per tensor) never use lossopt's C kernels: their steps, the clip norm
  included, are bit for bit ``torch.optim`` + ``torch.nn.utils.clip_grad_norm_`` + ``LambdaLR``, with or
  without a compiler; only ``fused=True`` uses the C kernels (whose norm is summed in float64: documented).
- Without any C or C++ compiler, ``fused=True`` still runs: lossopt's C kernels and Inductor both unusable,
  the multi-tensor kernel takes the step (a subprocess whose ``PATH`` holds no compiler).
- A step that raises changes nothing: under ``-W error`` the warning of a failed kernel build is raised
  before any clock, counter or tensor moved, and the retried step keeps every group's warmup in step.
- ``skip_nonfinite`` with a ``torch.optim.lr_scheduler`` stepped every iteration: the skipped run equals the
  run that leaves the bad batch's ``optimizer.step()`` out but still steps the scheduler.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import lossopt
from lossopt.optim.kernels import cpu_build

W, M, LR, STEPS = 10, 0.5, 0.05, 400


def _params(seed: int = 0) -> list[torch.nn.Parameter]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(shape, generator=generator)) for shape in [(33, 17), (100,), (7,)]]


def _gradients(step: int, params: list[torch.nn.Parameter]) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(1000 + step)
    return [3.0 * torch.randn(p.shape, generator=generator) for p in params]


def _ours(steps: int = STEPS) -> list[torch.Tensor]:
    params = _params()
    optimizer = lossopt.AdamW(params, lr=LR, warmup_steps=W, max_grad_norm=M)
    for step in range(steps):
        for p, g in zip(params, _gradients(step, params), strict=True):
            p.grad = g
        optimizer.step()
    return [p.detach() for p in params]


def _torchs(steps: int = STEPS) -> list[torch.Tensor]:
    params = _params()
    optimizer = torch.optim.AdamW(params, lr=LR)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: min(1.0, (epoch + 1) / W))
    for step in range(steps):
        for p, g in zip(params, _gradients(step, params), strict=True):
            p.grad = g
        torch.nn.utils.clip_grad_norm_(params, M)
        optimizer.step()
        scheduler.step()
    return [p.detach() for p in params]


def test_the_default_kernels_are_torchs_recipe_bit_for_bit_with_the_c_kernels_on_or_off(monkeypatch) -> None:
    reference = _torchs()
    with_kernels = _ours()
    monkeypatch.setenv(cpu_build.ENABLE_VARIABLE, "0")
    cpu_build.reset()
    try:
        without_kernels = _ours()
    finally:
        monkeypatch.delenv(cpu_build.ENABLE_VARIABLE)
        cpu_build.reset()
    for ours_on, ours_off, theirs in zip(with_kernels, without_kernels, reference, strict=True):
        assert torch.equal(ours_on, theirs), (ours_on - theirs).abs().max()
        assert torch.equal(ours_off, theirs)


def test_a_norm_that_overflows_float32_is_skipped_by_the_default_kernels_and_not_by_fused() -> None:
    # sixteen gradients of 1e20: the float32 sum of squares overflows (1.6e41 > 3.4e38), as in
    # clip_grad_norm_, so skip_nonfinite skips; fused=True sums in float64 (documented in clip.py): it clips
    for kernel in ({"foreach": True}, {"foreach": False}):
        param = torch.nn.Parameter(torch.zeros(16))
        optimizer = lossopt.AdamW([param], lr=0.1, max_grad_norm=1.0, skip_nonfinite=True, **kernel)
        param.grad = torch.full((16,), 1e20)
        optimizer.step()
        assert float(optimizer.param_groups[0]["skipped_steps"]) == 1.0, kernel
        assert torch.equal(param.detach(), torch.zeros(16))
    if cpu_build.library() is None:
        pytest.skip(f"lossopt's CPU kernels are not built here ({cpu_build.unavailable_reason()})")
    param = torch.nn.Parameter(torch.zeros(16))
    optimizer = lossopt.AdamW([param], lr=0.1, max_grad_norm=1.0, skip_nonfinite=True, fused=True)
    param.grad = torch.full((16,), 1e20)
    optimizer.step()
    assert float(optimizer.param_groups[0]["skipped_steps"]) == 0.0
    assert float(optimizer.last_grad_norm) == pytest.approx(4e20)
    assert "float64" in (lossopt.optim.clip.global_grad_norm.__doc__ or "")


def _run(script: str, tmp_path: Path, **environment: str) -> dict[str, object]:
    """``script`` in a fresh interpreter whose PATH holds no compiler; it prints one JSON line."""
    env = {k: v for k, v in os.environ.items() if k not in ("CC", "CXX")}
    env.update(
        PATH=str(tmp_path), LOSSOPT_CACHE_DIR=str(tmp_path / "cache"), TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "ind")
    )
    env.update(environment)
    script = textwrap.dedent(SETUP) + textwrap.dedent(script)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


SETUP = """
import json, warnings
import torch
import lossopt

def params():
    g = torch.Generator().manual_seed(0)
    return [torch.nn.Parameter(torch.randn(shape, generator=g)) for shape in [(4, 5), (9,)]]

def grads(step, ps):
    g = torch.Generator().manual_seed(step)
    return [torch.randn(p.shape, generator=g) for p in ps]
"""


def test_without_any_compiler_fused_adabelief_runs_the_multi_tensor_kernel(tmp_path: Path) -> None:
    script = """
    runs = {}
    caught = []
    for kernel in ({"fused": True}, {"foreach": True}):
        ps = params()
        opt = lossopt.AdaBelief(ps, lr=0.1, weight_decay=0.01, **kernel)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            for step in range(8):
                for p, g in zip(ps, grads(step, ps)):
                    p.grad = g
                opt.step()
        caught += [str(w.message) for w in seen]
        runs[str(kernel)] = [p.detach().tolist() for p in ps]
    print(json.dumps({"equal": runs["{'fused': True}"] == runs["{'foreach': True}"], "warnings": caught}))
    """
    result = _run(script, tmp_path)
    assert result["equal"], "fused=True without a compiler must take the multi-tensor kernel's steps"
    messages = " ".join(result["warnings"])  # type: ignore[arg-type]
    assert "no C compiler found" in messages, messages
    assert "multi-tensor" in messages, messages


def test_a_step_that_raises_changes_nothing_and_the_retry_keeps_the_groups_in_step(tmp_path: Path) -> None:
    script = """
    ps = params()
    opt = lossopt.AdaBelief([{"params": ps[:1]}, {"params": ps[1:]}], lr=0.1, warmup_steps=5, fused=True)
    for p, g in zip(ps, grads(0, ps)):
        p.grad = g
    before = [p.detach().clone() for p in ps]
    warnings.simplefilter("error")
    try:
        opt.step()
        raised = False
    except RuntimeWarning:
        raised = True
    unchanged = all(torch.equal(a, p.detach()) for a, p in zip(before, ps)) and len(opt.state) == 0
    clocks_before = [g["schedule_step"] for g in opt.param_groups]
    opt.step()  # the warning is given once: the retry runs
    clocks_after = [g["schedule_step"] for g in opt.param_groups]
    print(json.dumps({"raised": raised, "unchanged": unchanged, "before": clocks_before, "after": clocks_after}))
    """
    result = _run(script, tmp_path)
    assert result["raised"], "under -W error the failed build's RuntimeWarning is an error"
    assert result["unchanged"], "the step that raised changed a parameter or created state"
    assert result["before"] == [0, 0]
    assert result["after"] == [1, 1]


@pytest.mark.parametrize("name", ["adamw", "sgd", "radam", "adabelief"])
def test_skip_nonfinite_with_a_scheduler_equals_the_run_without_that_optimizer_step(name: str) -> None:
    cls = {"adamw": lossopt.AdamW, "sgd": lossopt.SGD, "radam": lossopt.RAdam, "adabelief": lossopt.AdaBelief}[name]
    bad = 3

    def run(inject: bool) -> list[torch.Tensor]:
        params = _params()
        optimizer = cls(params, lr=0.05, skip_nonfinite=True, warmup_steps=4)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
        for step in range(8):
            gradients = _gradients(step, params)
            if inject and step == bad:
                gradients[1] = torch.full_like(gradients[1], float("nan"))
            for p, g in zip(params, gradients, strict=True):
                p.grad = g
            if inject or step != bad:
                optimizer.step()  # skipped on the device at step `bad` when the NaN is injected
            scheduler.step()  # the scheduler counts the bad batch either way
        return [p.detach() for p in params]

    for skipped, left_out in zip(run(True), run(False), strict=True):
        torch.testing.assert_close(skipped, left_out, rtol=0, atol=0)
