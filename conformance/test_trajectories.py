"""Golden trajectories: the spec reproduces them exactly; torch follows them within tolerance."""

import json

import numpy as np
import pytest

from conformance.assertions import assert_matches_spec
from conformance.assertions import format_call as format_hparams  # hyperparameters as the constructor call
from conformance.golden_files import all_cases, case_id, compute, load
from conformance.grouping import torch_groups
from conformance.tolerances import tolerance_for
from lossopt_spec.audit.bridge import rounded, set_grads, to_tensors
from lossopt_spec.problems import PROBLEMS

CASES = all_cases()
IDS = [case_id(info, case) for info, case in CASES]


@pytest.mark.parametrize(("info", "case"), CASES, ids=IDS)
def test_spec_reproduces_golden_file_exactly(info, case):
    stored, sidecar = load(info, case)
    record, fresh_sidecar = compute(info, case)
    # compared as JSON holds them (tuples such as betas come back as lists)
    assert sidecar["hparams"] == json.loads(json.dumps(fresh_sidecar["hparams"])), (
        f"{case_id(info, case)}: the registry's hyperparameters changed since the file was written; run `nox -s golden`"
    )
    assert sidecar.get("groups") == json.loads(json.dumps(fresh_sidecar.get("groups"))), (
        f"{case_id(info, case)}: the parameters' groups changed since the file was written; run `nox -s golden`"
    )
    assert sorted(stored) == sorted(record), (
        f"{case_id(info, case)}: arrays {sorted(stored)} stored vs {sorted(record)} now"
    )
    for key in stored:
        if not np.array_equal(stored[key], record[key]):
            where = np.argwhere(stored[key] != record[key])[0]
            raise AssertionError(
                f"{case_id(info, case)}: spec no longer reproduces {key}{list(where)}: "
                f"{record[key][tuple(where)]!r} now vs {stored[key][tuple(where)]!r} stored "
                f"(written with {sidecar['generated_with']})"
            )


TORCH_CASES = [(info, case, impl, dtype) for info, case in CASES for impl in info.impls for dtype in info.dtypes]


@pytest.mark.parametrize(
    ("info", "case", "impl", "dtype"), TORCH_CASES, ids=[f"{case_id(i, c)}-{m}-{d}" for i, c, m, d in TORCH_CASES]
)
def test_torch_follows_golden_trajectory(info, case, impl, dtype, device):
    stored, sidecar = load(info, case)
    problem = PROBLEMS[case.problem](case.seed)
    params = to_tensors(problem.initial_params, dtype, device)
    groups = info.groups_of(case, [p.shape for p in problem.initial_params])
    optimizer = info.build(torch_groups(params, groups), **sidecar["hparams"], **info.impls[impl])
    tol = tolerance_for(dtype, "trajectory", {**info.tolerance_overrides, **case.tolerance_overrides})
    call = format_hparams(info.name, sidecar["hparams"]) + f" on {case.problem}(seed={case.seed})"
    switches = list(sidecar.get("mode_switches", []))
    for step in range(1, case.steps + 1):
        # gradients from the spec's problem at the parameters torch holds: only the optimizer is under test
        set_grads(params, problem.grad(rounded(params)))
        optimizer.step()
        context = {"step": step, "impl": impl, "dtype": dtype, "device": device}
        for i, param in enumerate(params):
            assert_matches_spec(
                param,
                stored[f"param{i}"][step],
                entry=info.name,
                check=f"param{i}",
                tolerance=tol,
                context=context,
                call=call,
            )
            for key in info.spec.state_keys:
                name = f"{key}{i}"
                if name in stored:
                    assert_matches_spec(
                        optimizer.state[param][key],
                        stored[name][step - 1],
                        entry=info.name,
                        check=name,
                        tolerance=tol,
                        context=context,
                        call=call,
                    )
        if step in switches:  # to eval mode and back, as a training loop that evaluates (the spec's record)
            optimizer.eval()
            for i, param in enumerate(params):
                assert_matches_spec(
                    param,
                    stored[f"eval_param{i}"][switches.index(step)],
                    entry=info.name,
                    check=f"eval_param{i}",
                    tolerance=tol,
                    context=context,
                    call=call,
                )
            optimizer.train()
