"""The audit tool (``python -m lossopt_spec.audit``): conforming optimizers, planted bugs, errors, output.

torch.optim's own optimizers are the candidates that must conform; ``conformance.audit_examples``
holds optimizers with a bug planted at a known step, group or tensor size, which the audit must
name, and one that is no bug (a step count kept per group).
"""

import json
import subprocess
import sys

import pytest
import torch

import lossopt
from conformance import audit_examples as planted
from conformance.audit_examples import BUG_STEP, DampenedFirstStepSGD, LateLrSGD
from conformance.tolerances import DEFAULT_TOLERANCES
from lossopt_spec.audit import AUDIT_TOLERANCES, AuditError, CandidateFailed, audit, main
from lossopt_spec.audit.search import _from_group
from lossopt_spec.tolerances import TOLERANCE_TABLE

SGD_CONFIG = {"lr": 5e-4, "momentum": 0.9}  # Rosenbrock stays finite for 50 steps at this lr


def test_the_tolerances_are_one_table_with_the_suites_column_unchanged():
    assert {k: (t.rtol, t.atol) for k, t in DEFAULT_TOLERANCES.items()} == {
        "float64": (1e-7, 1e-7),
        "float32": (1.3e-6, 1e-5),
        "float16": (1e-3, 1e-5),
        "bfloat16": (1.6e-2, 1e-5),
    }
    assert dict(AUDIT_TOLERANCES) == {k: row.audit for k, row in TOLERANCE_TABLE.items()}
    assert AUDIT_TOLERANCES["float64"] == (1e-10, 1e-12)
    assert all(AUDIT_TOLERANCES[d] == DEFAULT_TOLERANCES[d] for d in ("float32", "float16", "bfloat16"))


@pytest.mark.parametrize(
    ("candidate", "rule", "config"),
    [
        (torch.optim.SGD, "sgd", SGD_CONFIG),
        (torch.optim.SGD, "sgd", {"lr": 5e-4, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-2}),
        (torch.optim.SGD, "sgd", {"lr": 1e-3, "momentum": 0.5, "dampening": 0.3}),
        (torch.optim.SGD, "sgd", {}),
        (torch.optim.Adam, "adam", {}),
        (torch.optim.Adam, "adam", {"weight_decay": 1e-2, "amsgrad": True}),
        (torch.optim.AdamW, "adamw", {}),
        (torch.optim.AdamW, "adamw", {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True}),
        (torch.optim.RAdam, "radam", {}),
        (torch.optim.RAdam, "radam", {"weight_decay": 1e-2, "decoupled_weight_decay": True}),
    ],
    ids=["sgd-momentum", "sgd-nesterov-wd", "sgd-dampening", "sgd", "adam", "adam-l2-amsgrad", "adamw",
         "adamw-wd-amsgrad", "radam", "radam-decoupled"],
)  # fmt: skip
def test_every_torch_optim_rule_conforms_at_the_audits_default_tolerance(candidate, rule, config):
    result = audit(candidate, rule, config, examples=60)
    assert result.conforms, result.render()
    assert result.tolerance == (1e-10, 1e-12)
    assert [p.name for p in result.phases] == ["quadratic", "rosenbrock", "tiny_mlp", "hypothesis"]
    assert result.phases[3].examples >= 60
    assert result.largest.fraction < 0.05, result.render()  # rounding only: far inside the bound
    assert result.render().splitlines()[-1].startswith("conforms: largest error ")


def test_lossopt_sgd_conforms_in_float32_with_both_kernels():
    # Not Rosenbrock at the float32 default tolerance: its gradients reach ~800, so float32 rounding of
    # b = mu b + g is ~5e-5 absolute where b is small (measured 1.5e-5 at step 6); the suite's golden
    # Rosenbrock case overrides atol to 1e-3 for the same reason (conformance/registry.py).
    for foreach in (False, True):
        result = audit(
            lossopt.SGD,
            "sgd",
            SGD_CONFIG,
            candidate_kwargs={"foreach": foreach},
            dtype="float32",
            problems=["quadratic", "tiny_mlp"],
            examples=15,
        )
        assert result.conforms, result.render()
        assert result.tolerance == (1.3e-6, 1e-5)


def test_planted_lr_bug_diverges_at_its_step_in_the_parameter():
    result = audit(LateLrSGD, "sgd", SGD_CONFIG, examples=50)
    first = result.first_divergence
    assert (first.phase, first.step, first.group, first.parameter, first.tensor) == (
        "quadratic",
        BUG_STEP,
        0,
        0,
        "param",
    )
    for phase in result.phases:  # every problem, and the shrunk Hypothesis example, at the same step
        assert phase.divergences, phase
        assert phase.divergences[0].step == BUG_STEP, phase
        assert phase.divergences[0].tensor == "param", phase  # lr does not enter the momentum buffer
    assert first.candidate != pytest.approx(first.spec, rel=1e-7, abs=1e-7)
    assert len(result.divergences) > 3  # later divergences are kept too
    lines = result.render().splitlines()
    verdict = next(line for line in lines if line.startswith("DIVERGES: "))
    assert verdict.startswith(
        f"DIVERGES: first on quadratic at step {BUG_STEP}, group 0, parameter 0 (shape (3, 4)), param["
    )
    assert f"candidate {first.candidate!r} vs spec {first.spec!r}" in verdict
    assert "  then on quadratic at step" in lines[lines.index(verdict) + 1]


def test_planted_first_step_dampening_bug_diverges_at_step_1():
    result = audit(DampenedFirstStepSGD, "sgd", {**SGD_CONFIG, "dampening": 0.5}, examples=20)
    first = result.first_divergence
    assert (first.step, first.tensor) == (1, "param")
    # with dampening 0 the bug is invisible: b_1 = (1 - 0) g_1
    assert audit(DampenedFirstStepSGD, "sgd", SGD_CONFIG, examples=20).conforms


def test_weight_decay_after_the_update_is_caught_at_the_defaults():
    result = audit(planted.DecayAfterUpdateAdamW, "adamw", examples=20)
    first = result.first_divergence
    assert (first.phase, first.step, first.tensor) == ("quadratic", 1, "param")
    # ~1e-8 apart: inside the conformance suite's float64 tolerance, so only the audit's own finds it
    assert abs(first.candidate - first.spec) < DEFAULT_TOLERANCES["float64"].atol
    assert audit(planted.DecayAfterUpdateAdamW, "adamw", examples=0, rtol=1e-7, atol=1e-7).conforms
    assert result.precision == ""  # a bug, not rounding


def test_a_bug_only_in_the_second_group_is_found_and_named():
    result = audit(planted.SecondGroupLrAdam, "adam", examples=100)
    assert [p.name for p in result.phases if p.divergences] == ["hypothesis"]  # one group on the problems
    first = result.first_divergence
    assert (first.step, first.group, first.tensor) == (1, 1, "param")
    assert "group 1: shapes" in first.detail
    assert first.where.startswith("step 1, group 1, parameter 0 (shape ")


def test_a_bug_only_in_tensors_over_32_elements_is_found_in_such_a_tensor():
    result = audit(planted.LargeTensorSGD, "sgd", {"lr": 1e-3, "momentum": 0.9}, examples=100)
    assert [p.name for p in result.phases if p.divergences] == ["hypothesis"]  # problems: <= 12 elements
    first = result.first_divergence
    assert first.step == 1
    assert first.tensor == "param"
    size = 1
    for side in first.shape:
        size *= side
    assert size > planted.LARGE, first


def test_a_per_group_step_count_and_extra_state_are_notes_not_divergences():
    result = audit(planted.GroupStepAdam, "adam", examples=30)
    assert result.conforms, result.render()
    assert any("per parameter group" in note for note in result.notes)
    assert any("['step_count']" in note for note in result.notes)


def test_a_state_entry_the_spec_lacks_is_a_note():
    class BufferWithoutMomentum(torch.optim.SGD):
        @torch.no_grad()
        def step(self, closure=None):
            loss = super().step(closure)
            for p in self.param_groups[0]["params"]:
                self.state[p]["momentum_buffer"] = torch.zeros_like(p)
            return loss

    result = audit(BufferWithoutMomentum, "sgd", {"lr": 1e-3}, examples=0)
    assert result.conforms, result.render()
    assert "the candidate keeps 'momentum_buffer' where the spec has no such entry (not compared)" in result.notes


def test_float32_arithmetic_on_float64_parameters_is_named_lower_precision():
    result = audit(planted.Float32AdamW, "adamw", examples=10)
    assert not result.conforms
    assert result.first_divergence.step == 1
    assert result.precision == "float32"
    assert "the candidate computes in float32, lower than the float64 asked" in result.render()
    assert result.to_json()["precision"] == "float32"


def test_rename_maps_hyperparameters_and_state_entries():
    class RenamedAdam(torch.optim.Adam):
        def __init__(self, params, *, learning_rate=1e-3, **kwargs):  # its groups say learning_rate too
            params = [
                {**{k: v for k, v in g.items() if k != "learning_rate"}, "lr": g.get("learning_rate", learning_rate)}
                if isinstance(g, dict)
                else g
                for g in params
            ]
            super().__init__(params, lr=learning_rate, **kwargs)

        @torch.no_grad()
        def step(self, closure=None):
            for p in self.state:
                if "second" in self.state[p]:
                    self.state[p]["exp_avg_sq"] = self.state[p].pop("second")
            loss = super().step(closure)
            for p in self.state:
                self.state[p]["second"] = self.state[p].pop("exp_avg_sq")
            return loss

    renamed = audit(
        RenamedAdam, "adam", {"lr": 0.01}, rename={"lr": "learning_rate", "exp_avg_sq": "second"}, examples=20
    )
    assert renamed.conforms, renamed.render()
    assert renamed.passed["learning_rate"] == 0.01
    plain = audit(RenamedAdam, "adam", {"lr": 0.01}, rename={"lr": "learning_rate"}, examples=0)
    assert any("keeps no 'exp_avg_sq'" in note for note in plain.notes)  # not compared, said so
    with pytest.raises(AuditError, match=r"--rename \['learningrate'\]: not a name of the rule 'adam'"):
        audit(RenamedAdam, "adam", rename={"learningrate": "lr"})


def test_spec_only_extras_never_reach_a_kwargs_factory_and_differing_defaults_are_noted():
    seen = {}

    def factory(params, **kwargs):
        seen.update(kwargs)
        kwargs.pop("degenerated_to_sgd")  # torch's RAdam always takes the SGD-like steps: True
        return torch.optim.RAdam(params, **kwargs)

    result = audit(factory, "radam", {"lr": 1e-3}, examples=0, problems=["quadratic"], steps=2)
    assert result.conforms, result.render()
    assert not {"warmup_steps", "max_grad_norm"} & set(seen)
    assert "degenerated_to_sgd" in seen  # a hyperparameter of the rule, not a spec-only extra: sent
    with pytest.raises(AuditError, match="takes no"):
        audit(torch.optim.RAdam, "radam", {"degenerated_to_sgd": False})

    class OwnDefaults(torch.optim.Adam):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, **kwargs):
            super().__init__(params, lr=lr, betas=betas, eps=eps, **kwargs)

    noted = audit(OwnDefaults, "adam", examples=0, problems=["quadratic"], steps=1)
    assert any("default eps=1e-06 differs from the spec's 1e-08" in note for note in noted.notes)
    assert noted.passed["eps"] == 1e-8


def test_json_output_has_the_contract_fields(tmp_path):
    out = tmp_path / "late.json"
    code = main(["conformance.audit_examples:LateLrSGD", "--rule", "sgd", "--config", json.dumps(SGD_CONFIG),
                 "--examples", "0", "--json", str(out)])  # fmt: skip
    assert code == 1
    document = json.loads(out.read_text())
    assert document["verdict"] == "diverges"
    assert (document["rule"], document["candidate"]) == ("sgd", "conformance.audit_examples:LateLrSGD")
    assert document["config"] == SGD_CONFIG
    assert document["tolerance"] == {"rtol": 1e-10, "atol": 1e-12}
    first = document["first_divergence"]
    assert {k: first[k] for k in ("step", "group", "parameter", "tensor")} == {
        "step": BUG_STEP, "group": 0, "parameter": 0, "tensor": "param",
    }  # fmt: skip
    assert isinstance(first["index"], list)
    assert first["candidate"] != first["spec"]
    assert len(document["later_divergences"]) >= 3


def test_cli_conforms_and_diverges_with_exit_status():
    ok = _cli("torch.optim:SGD", "--rule", "sgd", "--config", '{"lr": 5e-4, "momentum": 0.9}', "--examples", "5")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[-1].startswith("conforms: largest error ")
    bad = _cli("conformance.audit_examples:LateLrSGD", "--rule", "sgd", "--config", '{"lr": 5e-4, "momentum": 0.9}',
               "--examples", "0")  # fmt: skip
    assert bad.returncode == 1, bad.stderr
    assert f"DIVERGES: first on quadratic at step {BUG_STEP}, group 0, parameter 0" in bad.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["torch.optim:SGD", "--rule", "adamax_v9"], "no rule 'adamax_v9' in lossopt_spec.OPTIMIZERS (available: "),
        (["torch.optim:SGD", "--rule", "sgd", "--config", '{"lrr": 1}'], "sgd: unknown hyperparameter(s) ['lrr']"),
        (["torch.optim:SGD", "--rule", "sgd", "--config", "[1]"], "--config: expected a JSON object"),
        (["torch.optim:SGD", "--rule", "sgd", "--config", "{bad"], "--config: not JSON"),
        (["torch.optim.SGD", "--rule", "sgd"], "expected 'package.module:ClassName'"),
        (["no_such_pkg.mod:X", "--rule", "sgd"], "cannot import 'no_such_pkg.mod'"),
        (["conformance.audit_examples:not_an_optimizer", "--rule", "sgd"], "returned object, not an Optimizer"),
        (["torch.optim:Adagrad", "--rule", "sgd", "--config", '{"momentum": 0.9}'], "takes no ['momentum']"),
        (["conformance.audit_examples:RaisingSGD", "--rule", "sgd"], "raised in step() at step 3 of quadratic"),
        (["torch.optim:SGD", "--rule", "sgd", "--problems", "", "--examples", "0"], "nothing to audit"),
        (["torch.optim:SGD", "--rule", "sgd", "--problems", "saddle"], "unknown problem(s) ['saddle']"),
        (["torch.optim:SGD", "--loss", "triplet"], "not (predictions, targets)"),
        (["torch.optim:SGD", "--rule", "sgd", "--rename", "lr"], "expected SPEC_NAME=CANDIDATE_NAME"),
    ],
)
def test_cli_usage_errors_exit_2_with_the_reason(args, message, capsys, tmp_path):
    out = tmp_path / "error.json"
    assert main([*args, "--steps", "5", "--json", str(out)]) == 2
    assert message in capsys.readouterr().err
    document = json.loads(out.read_text())
    assert document["verdict"] == "error"
    assert message in document["error"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: --device cuda runs there")
def test_device_cuda_without_a_gpu_exits_2_without_a_traceback():
    run = _cli("torch.optim:SGD", "--rule", "sgd", "--device", "cuda")
    assert run.returncode == 2
    assert "--device 'cuda'" in run.stderr
    assert "sees no CUDA device" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_candidate_raising_in_step_exits_2_without_a_traceback():
    run = _cli("conformance.audit_examples:RaisingSGD", "--rule", "sgd", "--examples", "0")
    assert run.returncode == 2
    assert "RuntimeError: kernel launch failed" in run.stderr
    assert "Traceback" not in run.stderr


def test_several_drawn_failures_report_the_divergence_and_note_the_error():
    result = audit(planted.RaisingOnLargeSGD, "sgd", problems=[], examples=100)
    assert result.first_divergence is not None
    assert result.first_divergence.step == 1
    run = _cli("conformance.audit_examples:RaisingOnLargeSGD", "--rule", "sgd", "--problems", "", "--examples", "100")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr


def test_an_exception_group_without_a_divergence_is_an_audit_error():
    group = ExceptionGroup("two bugs", [ValueError("first"), KeyError("second")])
    with pytest.raises(CandidateFailed, match="several examples failed; the first: ValueError: first"):
        _from_group(group, [])


def test_a_candidate_that_raises_on_construction_is_an_audit_error():
    with pytest.raises(CandidateFailed, match=r"Invalid learning rate: -1.0"):
        audit(torch.optim.SGD, "sgd", {"lr": -1.0}, examples=0)


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "lossopt_spec.audit", *args], capture_output=True, text=True, timeout=300, check=False
    )
