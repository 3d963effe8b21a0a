"""The loss audit (``python -m lossopt_spec.audit CANDIDATE --loss NAME``): torch's losses conform, a bug is found."""

import json
import subprocess
import sys

import pytest
import torch

import lossopt
from conformance.audit_examples import mean_halved_huber
from lossopt_spec.audit import AuditError
from lossopt_spec.audit.loss_runner import audit_loss


@pytest.mark.parametrize(
    ("candidate", "loss", "config"),
    [
        (torch.nn.functional.huber_loss, "huber", {"delta": 2.0}),
        (torch.nn.HuberLoss, "huber", {"delta": 0.5}),
        (torch.nn.functional.mse_loss, "mse", {}),
        (torch.nn.functional.l1_loss, "mae", {}),
        (torch.nn.functional.cross_entropy, "cross_entropy", {"label_smoothing": 0.1}),
        (lossopt.functional.focal_loss, "focal", {"gamma": 2.0}),
        (lossopt.functional.dice_loss, "dice", {"mode": "multiclass"}),
    ],
    ids=["F.huber", "nn.HuberLoss", "F.mse", "F.l1", "F.cross_entropy", "lossopt.focal", "lossopt.dice"],
)
def test_torch_losses_conform(candidate, loss, config):
    result = audit_loss(candidate, loss, config, examples=40)
    assert result.conforms, result.render()
    assert result.phases[0].steps >= 3 * 40  # every reduction of every example


def test_the_cli_example_conforms():
    run = subprocess.run(
        [sys.executable, "-m", "lossopt_spec.audit", "torch.nn.functional:huber_loss", "--loss", "huber",
         "--config", '{"delta": 2.0}', "--examples", "30", "--json", "-"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["verdict"] == "conforms"
    assert document["kind"] == "loss"
    assert document["rule"] == "huber"


def test_a_planted_loss_bug_is_reported_with_shapes_index_and_both_values():
    result = audit_loss(mean_halved_huber, "huber", examples=60)
    first = result.first_divergence
    assert first is not None
    assert first.tensor in ("value", "gradient")
    assert first.candidate == pytest.approx(2 * first.spec)  # r^2 where the spec has r^2 / 2
    assert "reduction=" in first.detail
    assert "predictions of shape" in first.detail


def test_loss_audit_errors():
    with pytest.raises(AuditError, match="not \\(predictions, targets\\)"):
        audit_loss(torch.nn.functional.mse_loss, "contrastive")
    with pytest.raises(AuditError, match=r"huber: unknown hyperparameter\(s\) \['beta'\]"):
        audit_loss(torch.nn.functional.huber_loss, "huber", {"beta": 1.0})

    def no_reduction(predictions, targets):
        return ((predictions - targets) ** 2).mean()

    with pytest.raises(AuditError, match="takes no 'reduction'"):
        audit_loss(no_reduction, "mse")
    assert audit_loss(no_reduction, "mse", reductions=["mean"], examples=20).conforms
