"""Optimizer checkpoints: torch.save / torch.load(weights_only=True), devices, dtypes, torch versions, old layouts.

Every case of ``_checkpoint_cases`` (each optimizer x each kernel, warmup + active clipping + AMSGrad)
must resume bit for bit: run 3 steps, save, load into a fresh optimizer, run 3 more, and equal the
run that never stopped. ``data/checkpoints-torch-2.9.1.pt`` (written by ``make_checkpoint_fixtures.py``
under torch 2.9.1, the oldest supported) is resumed under whatever torch runs the test: every
release of the conformance matrix, in its cell. The ``legacy-*`` fixtures hold state dicts written by
older lossopt code (its first SGD) and by the original design's RAdam (a Python-int ``step``).
"""

from __future__ import annotations

import copy
import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from lossopt._torch_compat import cpu_sqrt_fingerprint
from lossopt.optim import AdaBelief, AdvancedAdamW, AdvancedSGD, RAdam

HERE = Path(__file__).parent
DATA = HERE / "data"
OLDEST_TORCH = "2.9.1"

_spec = importlib.util.spec_from_file_location("_checkpoint_cases", HERE / "_checkpoint_cases.py")
assert _spec is not None
assert _spec.loader is not None
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)

CASE_PARAMS = [
    pytest.param(
        name, kernel, id=f"{name}-{kernel}", marks=[pytest.mark.slow] if (name, kernel) in cases.COMPILED else []
    )
    for name, kernel in cases.CASES
]
needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason=f"no CUDA device for torch {torch.__version__} (torch.version.cuda={torch.version.cuda}): "
    "the CPU <-> CUDA checkpoint tests run where one is present",
)


def save_and_load(state_dict: dict[str, Any], **load_kwargs: Any) -> dict[str, Any]:
    """Through bytes, as a checkpoint file: ``torch.save`` then ``torch.load(weights_only=True)``."""
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    buffer.seek(0)
    loaded: dict[str, Any] = torch.load(buffer, weights_only=True, **load_kwargs)
    return loaded


def interrupted_run(
    name: str, kernel: str, *, dtype: torch.dtype = torch.float32, device: str = "cpu"
) -> tuple[list[torch.Tensor], dict[str, Any], list[list[torch.Tensor]], list[torch.Tensor]]:
    """(params after STEPS_BEFORE, the state dict then, the next grads, params of the straight run at the end)."""
    start, grads = cases.start_and_grads(dtype, device)
    straight = cases.leaves(start)
    cases.run(straight, cases.make_optimizer(name, kernel, straight), grads)
    params = cases.leaves(start)
    optimizer = cases.make_optimizer(name, kernel, params)
    cases.run(params, optimizer, grads[: cases.STEPS_BEFORE])
    return params, copy.deepcopy(optimizer.state_dict()), grads[cases.STEPS_BEFORE :], straight


def resume(
    name: str, kernel: str, params: list[torch.Tensor], state_dict: dict[str, Any], grads: list[list[torch.Tensor]]
) -> tuple[list[torch.Tensor], torch.optim.Optimizer]:
    resumed = cases.leaves(params)
    optimizer = cases.make_optimizer(name, kernel, resumed)
    optimizer.load_state_dict(state_dict)
    cases.run(resumed, optimizer, grads)
    return resumed, optimizer


def assert_equal_params(got: list[torch.Tensor], want: list[torch.Tensor], what: str) -> None:
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.dtype == w.dtype, f"{what}: param{i} dtype {g.dtype} vs {w.dtype}"
        assert torch.equal(g.detach(), w.detach()), (
            f"{what}: param{i} differs by {float((g.detach() - w.detach()).abs().max()):.3g}"
        )


# --- torch.save / torch.load(weights_only=True), every optimizer and kernel


@pytest.mark.parametrize(("name", "kernel"), CASE_PARAMS)
def test_resumes_bit_for_bit_through_weights_only_load(name, kernel):
    params, state_dict, grads, straight = interrupted_run(name, kernel)
    loaded = save_and_load(state_dict)
    assert loaded["param_groups"][0]["schedule_step"] == cases.STEPS_BEFORE
    resumed, optimizer = resume(name, kernel, params, loaded, grads)
    assert_equal_params(resumed, straight, f"{name}[{kernel}] resumed after torch.load(weights_only=True)")
    expected_keys = {  # every key a run with these options produces, AMSGrad's included
        "sgd": {"momentum_buffer"},
        "adam": {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
        "adamw": {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
        "adabelief": {"step", "exp_avg", "exp_avg_var", "max_exp_avg_var"},
        "radam": {"step", "exp_avg", "exp_avg_sq"},
    }[name]
    assert set(optimizer.state[resumed[0]]) == expected_keys


# --- across torch versions: written under the oldest, read under this one


def _fixture() -> dict[str, Any]:
    path = DATA / f"checkpoints-torch-{OLDEST_TORCH}.pt"
    fixture: dict[str, Any] = torch.load(path, weights_only=True)
    assert fixture["meta"]["torch"].startswith(OLDEST_TORCH), fixture["meta"]
    return fixture


def resumed_drift_bound(case: dict[str, Any]) -> float:
    """How far a resumed run may end from the fixture where the last bits of its arithmetic differ.

    Each step is ``p <- p - u``. Another machine's MKL ``sqrt`` (within 1 ulp: a relative 2**-23 in
    ``sqrt(v)``), or another torch's order of a sum, changes the update ``u`` by a few ulp: 4 ulp of
    ``|u|`` allowed (the square root's ulp, the division's rounding, two more for the clip norm's and the
    moments' association); the subtraction then rounds to at most 1 ulp of ``|p|`` apart. The recorded
    gradients do not depend on ``p``, so the moments do not either (up to L2 decay's 0.01 * dp) and the
    per-step differences add up, with decoupled decay only shrinking them. Adam's step is at most
    ``lr (1 - beta1) / sqrt(1 - beta2) = 3.2 lr`` per element (Kingma & Ba 2015, sec. 2.1), so after
    ``STEPS_AFTER`` steps: ``STEPS_AFTER * 2**-23 * (4 * 3.2 lr + max|p|)`` (7.4e-7 for these cases).
    """
    lr = cases.COMMON["lr"]
    largest = max(float(t.abs().max()) for t in [*case["params"], *case["final"]])
    return cases.STEPS_AFTER * 2.0**-23 * (4 * 3.2 * lr + largest)


@pytest.mark.parametrize(("name", "kernel"), CASE_PARAMS)
def test_checkpoint_written_under_the_oldest_torch_resumes_here(name, kernel):
    """Bit for bit where the fixture's torch and CPU square roots are this run's; else within the drift bound.

    The fixture's ``meta`` records torch's version and ``cpu_sqrt_fingerprint()`` of the machine that
    wrote it: torch's CPU ``sqrt`` is MKL's (within 1 ulp, its code path chosen from the CPU at run
    time), so the same torch on another x86 CPU may round 1 square root in ~200 another way
    (measured: adam/adamw single, foreach and capturable end 3.7e-9 apart under ``MKL_CBWR=COMPATIBLE``).
    """
    fixture = _fixture()
    case = fixture["cases"][f"{name}-{kernel}"]
    resumed, _ = resume(name, kernel, case["params"], case["state_dict"], case["grads"])
    what = f"{name}[{kernel}] saved under torch {OLDEST_TORCH}, resumed under {torch.__version__}"
    same_sqrt = fixture["meta"]["cpu_sqrt"] == cpu_sqrt_fingerprint()
    if torch.__version__.startswith(OLDEST_TORCH) and same_sqrt:
        assert_equal_params(resumed, case["final"], what)  # the same torch and CPU square roots: bit for bit
    else:
        what += f" (CPU sqrt fingerprint {cpu_sqrt_fingerprint()}, the fixture's {fixture['meta']['cpu_sqrt']})"
        bound = resumed_drift_bound(case)
        torch.testing.assert_close(resumed, case["final"], rtol=0.0, atol=bound, msg=lambda m: f"{what}: {m}")


def test_the_fixture_resumes_under_another_mkl_sqrt_path():
    """With ``MKL_CBWR=COMPATIBLE`` (MKL's SSE4.2-era path: ~20% of these square roots 1 ulp off, another
    fingerprint) adam and adamw single resume within the drift bound (in a fresh process: MKL reads it once)."""
    test = f"{__file__}::{test_checkpoint_written_under_the_oldest_torch_resumes_here.__name__}"
    selected = [f"{test}[adam-single]", f"{test}[adamw-single]"]
    env = {**os.environ, "MKL_CBWR": "COMPATIBLE"}
    command = [sys.executable, "-m", "pytest", *selected, "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout[-3000:] + done.stderr[-2000:]
    assert done.returncode == 0, output
    assert "2 passed" in done.stdout, output


# --- dtypes and devices (map_location)


@pytest.mark.parametrize("name", sorted(cases.OPTIMIZERS))
def test_float32_checkpoint_loads_into_float64_parameters(name):
    """``load_state_dict`` casts the moments to the parameters' dtype (torch's rule); ``step`` stays float32, CPU."""
    params, state_dict, grads, _ = interrupted_run(name, "foreach")
    params64 = [p.detach().double() for p in params]
    resumed, optimizer = resume(
        name, "foreach", params64, save_and_load(state_dict), [[g.double() for g in s] for s in grads]
    )
    for p in resumed:
        state = optimizer.state[p]
        if name != "sgd":  # SGD keeps no step count
            assert state["step"].dtype == torch.float32
            assert state["step"].device.type == "cpu"
        for key, value in state.items():
            if key != "step":
                assert value.dtype == torch.float64, (key, value.dtype)
    # continued in float64 from the float32 state: the float32 continuation to float32 precision
    resumed32, _ = resume(name, "foreach", params, save_and_load(state_dict), grads)
    torch.testing.assert_close([p.float() for p in resumed], resumed32, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(cases.OPTIMIZERS))
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
def test_low_precision_checkpoint_resumes_bit_for_bit(name, dtype):
    """AdaBelief keeps float32 moments for float16/bfloat16 parameters; they stay float32 through a checkpoint.

    Without the fix the moments came back in the parameters' dtype and the next step raised
    ``RuntimeError: expected dtype c10::BFloat16 for `end` but got dtype float``.
    """
    params, state_dict, grads, straight = interrupted_run(name, "foreach", dtype=dtype)
    resumed, optimizer = resume(name, "foreach", params, save_and_load(state_dict), grads)
    assert_equal_params(resumed, straight, f"{name} {dtype} resumed")
    moment_dtype = torch.float32 if name == "adabelief" else dtype
    moment = "momentum_buffer" if name == "sgd" else "exp_avg"
    assert optimizer.state[resumed[0]][moment].dtype == moment_dtype


def test_adabelief_float32_checkpoint_loaded_into_bfloat16_parameters_keeps_float32_moments():
    params, state_dict, grads, _ = interrupted_run("adabelief", "foreach")
    bf16 = [p.detach().bfloat16() for p in params]
    resumed, optimizer = resume(
        "adabelief", "foreach", bf16, save_and_load(state_dict), [[g.bfloat16() for g in s] for s in grads]
    )
    for p in resumed:
        for key in ("exp_avg", "exp_avg_var", "max_exp_avg_var"):
            assert optimizer.state[p][key].dtype == torch.float32, key
    assert all(torch.isfinite(p).all() for p in resumed)


@pytest.mark.parametrize(
    "map_location",
    ["cpu", torch.device("cpu"), {"cpu": "cpu"}, lambda storage, _: storage],
    ids=["str", "device", "dict", "callable"],
)
def test_map_location_forms_on_cpu(map_location):
    params, state_dict, grads, straight = interrupted_run("adamw", "fused")
    resumed, _ = resume("adamw", "fused", params, save_and_load(state_dict, map_location=map_location), grads)
    assert_equal_params(resumed, straight, f"adamw[fused] via map_location={map_location!r}")


@pytest.mark.parametrize(
    ("saved_with", "loaded_with"), [("capturable", "foreach"), ("foreach", "capturable"), ("fused", "single")]
)
def test_switching_kernels_when_resuming(saved_with, loaded_with):
    """The saved groups' kernel flags edited before loading (torch takes hyperparameters from the state dict).

    Device counters and the tensor schedule clock (capturable) convert to host ones and back; the
    trajectory is the same rule's, to float32 precision (the kernels order their arithmetic differently).
    """
    params, state_dict, grads, straight = interrupted_run("adamw", saved_with)
    loaded = save_and_load(state_dict)
    flags = {"foreach": None, "fused": None, "capturable": False, **cases.KERNELS["adamw"][loaded_with]}
    loaded["param_groups"] = [{**group, **flags} for group in loaded["param_groups"]]
    resumed, optimizer = resume("adamw", loaded_with, params, loaded, grads)
    group = optimizer.param_groups[0]
    assert {key: group[key] for key in flags} == flags
    assert isinstance(group["schedule_step"], torch.Tensor) == (loaded_with == "capturable")
    assert float(group["schedule_step"]) == cases.STEPS_BEFORE + cases.STEPS_AFTER
    torch.testing.assert_close(resumed, straight, rtol=1.3e-6, atol=1e-5)


@needs_cuda
@pytest.mark.parametrize(("name", "kernel"), CASE_PARAMS)
def test_cpu_checkpoint_resumes_on_cuda_and_back(name, kernel):
    """Saved on the CPU, ``torch.load(map_location='cuda')``, resumed on CUDA; and CUDA -> ``map_location='cpu'``."""
    params, state_dict, grads, straight = interrupted_run(name, kernel)
    on_cuda = save_and_load(state_dict, map_location="cuda")
    cuda_params = [p.detach().cuda() for p in params]
    resumed, optimizer = resume(name, kernel, cuda_params, on_cuda, [[g.cuda() for g in s] for s in grads])
    torch.testing.assert_close([p.cpu() for p in resumed], straight, rtol=1.3e-6, atol=1e-5)
    # counters where a fresh optimizer keeps them: Adam's fused/capturable on the device, the others on
    # the CPU (map_location put them all on CUDA; torch's load moves a fused group's to the device)
    on_device = name in ("adam", "adamw") and kernel in ("fused", "capturable")
    for p in resumed:
        state = optimizer.state[p]
        assert state["exp_avg" if name != "sgd" else "momentum_buffer"].device.type == "cuda"
        if name != "sgd":  # SGD keeps no step count
            assert state["step"].device.type == ("cuda" if on_device else "cpu"), (name, kernel)
    # back: a CUDA run's checkpoint onto CPU parameters
    cuda_params, cuda_state, cuda_grads, cuda_straight = interrupted_run(name, kernel, device="cuda")
    back = save_and_load(cuda_state, map_location="cpu")
    resumed_cpu, _ = resume(
        name, kernel, [p.detach().cpu() for p in cuda_params], back, [[g.cpu() for g in s] for s in cuda_grads]
    )
    torch.testing.assert_close(resumed_cpu, [p.detach().cpu() for p in cuda_straight], rtol=1.3e-6, atol=1e-5)


@needs_cuda
def test_cuda_checkpoint_loaded_without_map_location_into_cpu_parameters():
    """The loaded dict's tensors stay on CUDA; load_state_dict moves moments to the parameters, counters to the CPU."""
    cuda_params, cuda_state, grads, straight = interrupted_run("adamw", "capturable", device="cuda")
    cpu_params = [p.detach().cpu() for p in cuda_params]
    resumed, optimizer = resume(
        "adamw",
        "foreach",
        cpu_params,
        {**save_and_load(cuda_state), "param_groups": [{**g, "capturable": False} for g in cuda_state["param_groups"]]},
        [[g.cpu() for g in s] for s in grads],
    )
    assert all(optimizer.state[p]["step"].device.type == "cpu" for p in resumed)
    torch.testing.assert_close(resumed, [p.detach().cpu() for p in straight], rtol=1.3e-6, atol=1e-5)


# --- older layouts


def test_state_dict_of_lossopts_first_sgd_loads_and_resumes():
    """lossopt's first SGD (commit 8cfd443) saved no extras and no schedule clock: they take this optimizer's values."""
    legacy = torch.load(DATA / "legacy-sgd-foundation.pt", weights_only=True)
    assert "schedule_step" not in legacy["state_dict"]["param_groups"][0]
    params = cases.leaves(legacy["params"])
    optimizer = AdvancedSGD(params, **legacy["hparams"], max_grad_norm=100.0)
    optimizer.load_state_dict(legacy["state_dict"])
    group = optimizer.param_groups[0]
    assert group["schedule_step"] == 0  # no clock saved and SGD keeps no step count: a warmup would restart
    assert group["max_grad_norm"] == 100.0  # a key the old layout lacks keeps this optimizer's value
    cases.run(params, optimizer, legacy["grads"])  # the norm stays far below 100: the same rule as the old SGD
    torch.testing.assert_close(params, legacy["final"], rtol=1.3e-6, atol=1e-6)


def test_state_dict_of_the_original_designs_radam_with_integer_steps_loads():
    """The design's RAdam saved ``step`` as a Python int: it loads as this class's CPU float32 counter.

    The clock resumes at the largest step. Before the migration the next ``step()`` raised
    ``TypeError: expected Tensor as element 0 in argument 0, but got int``.
    """
    legacy = torch.load(DATA / "legacy-radam-design.pt", weights_only=True)
    saved = legacy["state_dict"]
    assert all(isinstance(s["step"], int) for s in saved["state"].values())
    # the same state written in the current layout (tensor steps), copied before loading (load_state_dict aliases)
    current = copy.deepcopy(saved)
    for s in current["state"].values():
        s["step"] = torch.tensor(float(s["step"]))
    params = cases.leaves(legacy["params"])
    optimizer = RAdam(params, **legacy["hparams"])
    optimizer.load_state_dict(saved)
    assert optimizer.param_groups[0]["schedule_step"] == 3
    for p in params:
        step = optimizer.state[p]["step"]
        assert isinstance(step, torch.Tensor)
        assert (step.dtype, step.device.type, float(step)) == (torch.float32, "cpu", 3.0)
    cases.run(params, optimizer, legacy["grads"])
    reference = cases.leaves(legacy["params"])
    reference_optimizer = RAdam(reference, **legacy["hparams"])
    reference_optimizer.load_state_dict(current)
    cases.run(reference, reference_optimizer, legacy["grads"])
    assert_equal_params(params, reference, "design RAdam state, integer steps vs tensor steps")


def test_state_dict_of_another_optimizer_fails_saying_what_to_do():
    """AdamW's state given to AdaBelief: a ValueError naming both rules, not a KeyError later (every pair of rules:
    ``test_optimizer_inputs.test_a_state_dict_of_another_rule_is_refused_naming_both``)."""
    params, state_dict, _, _ = interrupted_run("adamw", "foreach")
    target = AdaBelief(cases.leaves(params), lr=0.05)
    groups_before = [dict(g) for g in target.param_groups]
    message = (
        r"Invalid state_dict for AdaBelief: group 0 was saved by AdamW \(torch.optim.AdamW or lossopt's\), another "
        r"update rule .*its state \['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step'\]\)\. Load it into the "
        r"optimizer that saved it"
    )
    with pytest.raises(ValueError, match=message):
        target.load_state_dict(save_and_load(state_dict))
    assert len(target.state) == 0  # nothing was loaded
    assert [dict(g) for g in target.param_groups] == groups_before


def test_a_step_that_is_not_a_count_fails_naming_it():
    params, state_dict, _, _ = interrupted_run("radam", "foreach")
    state_dict["state"][1]["step"] = "3"
    with pytest.raises(
        ValueError, match=r"Invalid state_dict for RAdam: parameter 1 of group 0 has step='3' \(must be a number"
    ):
        RAdam(cases.leaves(params)).load_state_dict(state_dict)


def test_optimizer_pickled_with_integer_steps_unpickles_with_tensor_counters():
    """``__setstate__`` (unpickling, deepcopy) migrates too: the counters are tensors before any step."""
    p = torch.nn.Parameter(torch.ones(3))
    optimizer = AdvancedAdamW([p], lr=0.1)
    p.grad = torch.ones(3)
    optimizer.step()
    optimizer.state[p]["step"] = 1  # the torch < 1.12 layout
    clone = copy.deepcopy(optimizer)
    (q,) = clone.param_groups[0]["params"]
    assert isinstance(clone.state[q]["step"], torch.Tensor)
    q.grad = torch.ones(3)
    clone.step()
    assert float(clone.state[q]["step"]) == 2.0


def test_state_dict_of_the_authors_adabelief_with_integer_steps_loads_and_continues():
    """adabelief-pytorch 0.2.1 (the authors' code) saves ``step`` as an int and no lossopt extras.

    It loads (the counters migrate, the clock resumes at 3, the extras keep this optimizer's values)
    and continues as the authors' optimizer does; before the migration the first step raised a TypeError.
    """
    authors = pytest.importorskip("adabelief_pytorch", reason="the authors' package is a test-only reference")
    start, grads = cases.start_and_grads()
    theirs = cases.leaves(start)
    their_optimizer = authors.AdaBelief(theirs, lr=0.05, print_change_log=False)
    cases.run(theirs, their_optimizer, grads[: cases.STEPS_BEFORE])
    saved = save_and_load(copy.deepcopy(their_optimizer.state_dict()))
    assert all(isinstance(s["step"], int) for s in saved["state"].values())
    ours = cases.leaves(theirs)
    our_optimizer = AdaBelief(ours, lr=0.05)
    our_optimizer.load_state_dict(saved)
    assert our_optimizer.param_groups[0]["schedule_step"] == cases.STEPS_BEFORE
    cases.run(ours, our_optimizer, grads[cases.STEPS_BEFORE :])
    cases.run(theirs, their_optimizer, grads[cases.STEPS_BEFORE :])
    # the two implementations agree to float32 rounding (measured 3e-8; test_adabelief_optimizer.py compares them)
    torch.testing.assert_close(ours, theirs, rtol=1.3e-6, atol=1e-5)
