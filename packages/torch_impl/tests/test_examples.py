"""lossopt.examples: results are tidy and right, cover exactly the registered names, and grow when
a loss or optimizer is registered (shown with stand-ins registered for the test)."""

import math

import pytest
import torch
from torch import nn

from lossopt import LOSSES, OPTIMIZERS
from lossopt.examples import (
    LossFunctionExamples,
    LossOptimizationAnalysis,
    OptimizationExamples,
    OptimizerComparison,
    OptimizerRun,
    TrainingExamples,
)
from lossopt.examples.catalogue import (
    BASIC_OPTIMIZERS,
    DESIGN_OPTIMIZERS,
    FAMILIES,
    LOSS_CASES,
    OptimizerSetting,
    first_registered,
    missing_losses,
    registered_losses,
)
from lossopt.examples.data import classification_data, multi_task_data, regression_data, segmentation_data


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class StandInCrossEntropy(nn.Module):
    """A stand-in for the 'cross_entropy' entry, to show the examples pick up what gets registered."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(logits, targets, reduction=self.reduction)


class StandInFocal(StandInCrossEntropy):
    def __init__(self, alpha: float = 1.0, gamma: float = 2.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        ce = nn.functional.cross_entropy(logits, targets, reduction="none")
        loss = (1 - torch.exp(-ce)) ** self.gamma * ce
        return loss if self.reduction == "none" else loss.mean()


class StandInAdamW(torch.optim.AdamW):
    def __init__(
        self, params, lr=1e-3, weight_decay=1e-2, betas=(0.9, 0.999), eps=1e-8, warmup_steps=0, max_grad_norm=None
    ):
        super().__init__(params, lr=lr, weight_decay=weight_decay, betas=betas, eps=eps)


def test_catalogue_knows_every_registered_loss():
    assert set(LOSSES) <= set(LOSS_CASES), f"add {sorted(set(LOSSES) - set(LOSS_CASES))} to LOSS_CASES"
    for family in FAMILIES:
        assert sorted(registered_losses(family) + missing_losses(family)) == sorted(
            name for name, case in LOSS_CASES.items() if case.family == family
        )


@pytest.mark.parametrize("family", FAMILIES)
def test_loss_examples_cover_the_registered_losses_of_each_family(family):
    method = {
        "classification": LossFunctionExamples.classification_loss_examples,
        "regression": LossFunctionExamples.regression_loss_examples,
        "segmentation": LossFunctionExamples.segmentation_loss_examples,
        "custom": LossFunctionExamples.custom_loss_examples,
        "multi_task": LossFunctionExamples.multi_task_loss_example,
    }[family]
    result = method()
    assert result.family == family
    assert sorted(result.values) == sorted(registered_losses(family))
    assert result.missing == missing_losses(family)
    assert result.all_finite()
    assert all(norm > 0 for norm in result.grad_norms.values())


def test_mse_example_value_is_the_hand_computed_mean_square():
    case = LOSS_CASES["mse"]
    predictions, targets = case.inputs(torch.Generator().manual_seed(0))
    expected = float(((predictions.detach() - targets) ** 2).mean())  # (1/n) sum (y_hat - y)^2
    assert LossFunctionExamples.regression_loss_examples().values["mse"] == pytest.approx(expected, rel=1e-6)


def test_examples_grow_when_a_loss_is_registered(monkeypatch):
    monkeypatch.setitem(LOSSES, "cross_entropy", StandInCrossEntropy)
    assert "cross_entropy" in LossFunctionExamples.classification_loss_examples().values
    result = TrainingExamples.classification_training_example(loss=None, epochs=2)
    expected = "focal" if "focal" in LOSSES else "cross_entropy"
    assert result.loss == expected
    assert result.decreased


def test_basic_optimization_example_unpacks_as_the_design_4_tuple():
    example = OptimizationExamples.basic_optimization_examples(steps=40)
    optimizers, model, x, y = example
    assert sorted(optimizers) == sorted(s.label for s in BASIC_OPTIMIZERS if s.supported())
    assert isinstance(model, nn.Module)
    assert x.shape == (256, 10)
    assert y.shape == (256, 1)
    for label, curve in example.losses.items():
        assert curve[-1] < curve[0], f"{label}: {curve[0]} -> {curve[-1]}"
    assert len(example.missing) == sum(not s.supported() for s in BASIC_OPTIMIZERS)


def test_advanced_example_reports_settings_this_build_cannot_run():
    example = OptimizationExamples.advanced_optimization_examples(steps=5)
    assert sorted(example.optimizers) == sorted(s.label for s in DESIGN_OPTIMIZERS if s.supported())
    for setting in DESIGN_OPTIMIZERS:
        if not setting.supported():
            assert setting.why_unsupported() in example.missing


def test_setting_support_and_reasons(monkeypatch):
    assert OptimizerSetting("x", "sgd", {"lr": 0.1}).supported()
    unknown = OptimizerSetting("x", "no_such_optimizer", {})
    assert not unknown.supported()
    assert unknown.why_unsupported() == "x: optimizer 'no_such_optimizer' is not registered in this build"
    extra = OptimizerSetting("y", "sgd", {"warp": 1})
    assert not extra.supported()
    assert extra.why_unsupported() == f"y: {OPTIMIZERS['sgd'].__name__} does not accept ['warp'] yet"
    assert first_registered(("no_such_optimizer", "sgd"), OPTIMIZERS) == "sgd"
    with pytest.raises(LookupError, match=r"none of \['no_such_optimizer'\] is registered"):
        first_registered(("no_such_optimizer",), OPTIMIZERS)


@pytest.mark.parametrize(
    "example",
    [
        TrainingExamples.classification_training_example,
        TrainingExamples.regression_training_example,
        TrainingExamples.segmentation_training_example,
        TrainingExamples.multi_task_training_example,
    ],
)
def test_training_examples_decrease_the_loss_and_are_deterministic(example):
    first = example(epochs=3, seed=5)
    assert first.decreased
    assert all(math.isfinite(v) for v in first.epoch_losses)
    assert first.loss
    assert first.optimizer in OPTIMIZERS
    assert example(epochs=3, seed=5).epoch_losses == first.epoch_losses
    assert example(epochs=3, seed=6).epoch_losses != first.epoch_losses
    assert all(math.isfinite(v) for v in first.metrics.values())


def test_regression_fit_is_good_and_classification_separates_the_blobs():
    assert TrainingExamples.regression_training_example(epochs=15).metrics["r2"] > 0.9
    assert TrainingExamples.classification_training_example(epochs=10).metrics["accuracy"] > 0.9


def test_synthetic_data_shapes_and_determinism():
    assert classification_data(16, 3, 4).x.shape == (16, 3)
    assert torch.equal(classification_data(16, seed=2).x, classification_data(16, seed=2).x)
    assert regression_data(16, 3, 2).y.shape == (16, 2)
    seg = segmentation_data(4, 12)
    assert seg.x.shape == seg.y.shape == (4, 1, 12, 12)
    assert set(seg.y.unique().tolist()) <= {0.0, 1.0}
    multi = multi_task_data(8)
    assert multi.y["classification"].shape == (8,)
    assert multi.y["regression"].shape == (8, 5)
    imbalanced = classification_data(2000, 2, 3, imbalance=4.0).y.bincount()
    assert imbalanced[0] > 3 * imbalanced[1] > 3 * imbalanced[2]


def test_compare_optimizers_every_run_decreases_and_fastest_is_a_run():
    result = LossOptimizationAnalysis.compare_optimizers(steps=30, problems=("regression", "segmentation"))
    assert result.problems == ["regression", "segmentation"]
    assert result.all_decreased()
    for problem in result.problems:
        assert result.fastest(problem) in [run.label for run in result.on(problem)]
        assert all(len(run.losses) == 31 for run in result.on(problem))


def test_runs_start_from_the_same_weights_on_each_problem(monkeypatch):
    monkeypatch.setitem(OPTIMIZERS, "adamw", StandInAdamW)
    result = LossOptimizationAnalysis.compare_optimizers(steps=3, problems=("classification",))
    initial = {run.initial for run in result.on("classification")}
    assert len(result.on("classification")) >= 3
    assert len(initial) == 1


def test_design_warmup_settings_train(monkeypatch):
    # the design's warmup leaves lr at 0 and the curve flat; a right warmup trains
    monkeypatch.setitem(OPTIMIZERS, "adamw", OPTIMIZERS.get("adamw", StandInAdamW))
    settings = tuple(s for s in DESIGN_OPTIMIZERS if s.name == "adamw")
    result = LossOptimizationAnalysis.compare_optimizers(steps=150, problems=("regression",), settings=settings)
    (run,) = result.runs
    assert run.final < 0.9 * run.initial, f"{run.label}: {run.initial} -> {run.final}"


def test_fastest_and_steps_to():
    run = OptimizerRun("p", "a", [4.0, 2.0, 0.3, 0.1], 0.0)
    assert run.steps_to(0.4) == 2
    assert run.steps_to(0.01) is None
    assert run.decreased
    flat = OptimizerRun("p", "flat", [4.0, 4.0, 4.0, 4.0], 0.0)
    assert not flat.decreased
    nan = OptimizerRun("p", "nan", [4.0, float("nan")], 0.0)
    assert not nan.decreased
    slow = OptimizerRun("p", "slow", [4.0, 3.0, 1.0, 0.2], 0.0)
    comparison = OptimizerComparison(steps=3, seed=0, runs=[flat, slow, run, nan])
    assert comparison.fastest("p") == "a"  # reaches 0.4 (0.1 x 4.0) at step 2; slow at step 3
    assert not comparison.all_decreased()


def test_compare_loss_functions_curves_are_the_formulas(monkeypatch):
    monkeypatch.setitem(LOSSES, "cross_entropy", StandInCrossEntropy)
    monkeypatch.setitem(LOSSES, "focal", StandInFocal)
    result = LossOptimizationAnalysis.compare_loss_functions(fit_steps=50, points=9)
    r = torch.tensor(result.residuals, dtype=torch.float64)
    assert r.tolist() == [-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0]
    # mse: l = r^2, dl/dprediction = 2 r
    torch.testing.assert_close(torch.tensor(result.regression_values["mse"], dtype=torch.float64), r**2)
    torch.testing.assert_close(torch.tensor(result.regression_grads["mse"], dtype=torch.float64), 2 * r)
    p = torch.tensor(result.p_t, dtype=torch.float64)
    torch.testing.assert_close(
        torch.tensor(result.classification_values["cross-entropy"], dtype=torch.float64), -p.log()
    )
    focal = torch.tensor(result.classification_values["focal (gamma=2)"], dtype=torch.float64)
    torch.testing.assert_close(focal, -((1 - p) ** 2) * p.log())
    assert set(result.robust_fit) == set(result.regression_values)
    assert "cross_entropy" not in result.missing


def test_plots_written_count_and_not_blank(tmp_path, monkeypatch):
    from png_checks import assert_not_blank

    monkeypatch.setitem(LOSSES, "focal", StandInFocal)
    losses = LossOptimizationAnalysis.compare_loss_functions(fit_steps=10)
    paths = losses.plot(tmp_path)
    assert [p.name for p in paths] == ["regression_losses.png", "focal_vs_ce.png"]
    optimizers = LossOptimizationAnalysis.compare_optimizers(steps=5, problems=("regression",))
    paths += optimizers.plot(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    for path in paths:
        assert_not_blank(path)


def test_summary_reports_the_design_warmup_settings(monkeypatch):
    from lossopt.examples.report import summary_markdown

    monkeypatch.setitem(OPTIMIZERS, "adamw", OPTIMIZERS.get("adamw", StandInAdamW))
    settings = tuple(s for s in (*BASIC_OPTIMIZERS, *DESIGN_OPTIMIZERS) if s.name in ("sgd", "adamw"))
    optimizers = LossOptimizationAnalysis.compare_optimizers(steps=20, problems=("regression",), settings=settings)
    losses = LossOptimizationAnalysis.compare_loss_functions(fit_steps=5, points=5)
    training = [TrainingExamples.regression_training_example(epochs=2)]
    text = summary_markdown(training, losses, optimizers, plots=[], settings={"seed": 0}, seconds=1.0)
    (warmup,) = [run for run in optimizers.runs if "warmup 1000" in run.label]
    assert f"| {warmup.label} | regression | {warmup.final / warmup.initial:.3g} |" in text
    assert f"Fastest to converge on regression: **{optimizers.fastest('regression')}**." in text
    assert "| regression | " in text  # the training table row
