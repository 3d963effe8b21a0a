"""``LossOptimizationAnalysis``: compare the registered losses and optimizers; tidy dataclass results
that can draw themselves (:mod:`lossopt.examples.plots`, needs ``lossopt[plots]``)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lossopt.examples.catalogue import BASIC_OPTIMIZERS, DESIGN_OPTIMIZERS, OptimizerSetting, registered_losses
from lossopt.examples.data import linear_data_with_outliers
from lossopt.examples.problems import PROBLEMS
from lossopt.examples.progress import progress
from lossopt.factory import LOSSES, create_loss_function, create_optimizer

FOCAL_GAMMAS = (0.5, 1.0, 2.0, 5.0)


@dataclass
class OptimizerRun:
    """One optimizer setting on one problem: the full-batch training loss before each step."""

    problem: str
    label: str
    losses: list[float]
    seconds: float

    @property
    def initial(self) -> float:
        return self.losses[0]

    @property
    def final(self) -> float:
        return self.losses[-1]

    @property
    def decreased(self) -> bool:
        """Finite and strictly lower at the end than at the start."""
        return math.isfinite(self.final) and self.final < self.initial

    def steps_to(self, target: float) -> int | None:
        """The first step whose loss is <= ``target`` (``None``: never)."""
        return next((i for i, v in enumerate(self.losses) if v <= target), None)


@dataclass
class OptimizerComparison:
    """Every supported setting on every problem; ``missing`` lists the settings this build cannot run."""

    steps: int
    seed: int
    runs: list[OptimizerRun] = field(default_factory=list)
    loss_names: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    target_fraction: float = 0.1

    @property
    def problems(self) -> list[str]:
        return list(dict.fromkeys(run.problem for run in self.runs))

    def on(self, problem: str) -> list[OptimizerRun]:
        return [run for run in self.runs if run.problem == problem]

    def fastest(self, problem: str) -> str:
        """The setting reaching ``target_fraction`` x the initial loss in the fewest steps
        (ties and never-reached: the lowest final loss)."""
        runs = self.on(problem)
        target = self.target_fraction * runs[0].initial

        def key(run: OptimizerRun) -> tuple[float, float]:
            reached = run.steps_to(target)
            return (float("inf") if reached is None else reached, run.final if math.isfinite(run.final) else math.inf)

        return min(runs, key=key).label

    def all_decreased(self) -> bool:
        return bool(self.runs) and all(run.decreased for run in self.runs)

    def plot(self, out_dir: str | Path) -> list[Path]:
        """One PNG per problem (``optimizers_<problem>.png``): loss against step for every setting."""
        from lossopt.examples.plots import plot_optimizer_comparison

        return plot_optimizer_comparison(self, Path(out_dir))


@dataclass
class LossComparison:
    """Regression losses and their gradients against the residual; focal vs cross-entropy against
    p_t; and how far each regression loss's linear fit lands from the truth under outliers."""

    residuals: list[float]
    regression_values: dict[str, list[float]] = field(default_factory=dict)
    regression_grads: dict[str, list[float]] = field(default_factory=dict)
    p_t: list[float] = field(default_factory=list)
    classification_values: dict[str, list[float]] = field(default_factory=dict)
    robust_fit: dict[str, tuple[float, float]] = field(default_factory=dict)
    true_line: tuple[float, float] = (2.0, -1.0)
    missing: list[str] = field(default_factory=list)

    def fit_error(self, label: str) -> float:
        """Distance of the fitted (slope, intercept) from the true line."""
        slope, intercept = self.robust_fit[label]
        return math.hypot(slope - self.true_line[0], intercept - self.true_line[1])

    def plot(self, out_dir: str | Path) -> list[Path]:
        """``regression_losses.png`` and, when a classification loss is registered, ``focal_vs_ce.png``."""
        from lossopt.examples.plots import plot_loss_comparison

        return plot_loss_comparison(self, Path(out_dir))


def _regression_variants() -> dict[str, tuple[str, dict[str, float]]]:
    variants: dict[str, tuple[str, dict[str, float]]] = {name: (name, {}) for name in registered_losses("regression")}
    if "quantile" in variants:
        variants["quantile (q=0.5)"] = variants.pop("quantile")
        variants["quantile (q=0.9)"] = ("quantile", {"quantile": 0.9})
    return variants


def _fit_line(loss_name: str, kwargs: dict[str, float], *, steps: int, seed: int) -> tuple[float, float]:
    data = linear_data_with_outliers(seed=seed)
    torch.manual_seed(seed)
    model = torch.nn.Linear(1, 1)
    loss_fn = create_loss_function(loss_name, **kwargs)
    optimizer = create_optimizer("sgd", model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(model(data.x), data.y).backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    return float(model.weight.detach().squeeze()), float(model.bias.detach().squeeze())


class LossOptimizationAnalysis:
    """The design document's analysis tools.

    Example:
        >>> from lossopt.examples import LossOptimizationAnalysis
        >>> result = LossOptimizationAnalysis.compare_optimizers(steps=20, problems=("regression",))
        >>> result.all_decreased()
        True
    """

    @staticmethod
    def compare_loss_functions(*, fit_steps: int = 400, seed: int = 0, points: int = 201) -> LossComparison:
        """Every registered regression loss on a residual grid in [-4, 4] (value and d loss / d prediction),
        focal (gamma in 0.5, 1, 2, 5) and cross-entropy against the true class probability p_t, and a
        line fitted by each regression loss to data with 10% one-sided outliers."""
        residuals = torch.linspace(-4.0, 4.0, points, dtype=torch.float64)
        result = LossComparison(residuals=residuals.tolist())
        result.missing = [
            name for name in ("mae", "huber", "log_cosh", "quantile", "cross_entropy", "focal") if name not in LOSSES
        ]
        for label, (name, kwargs) in _regression_variants().items():
            predictions = residuals.clone().requires_grad_()
            values = create_loss_function(name, reduction="none", **kwargs)(predictions, torch.zeros_like(residuals))
            values.sum().backward()  # type: ignore[no-untyped-call]
            assert predictions.grad is not None
            result.regression_values[label] = values.detach().tolist()
            result.regression_grads[label] = predictions.grad.tolist()
            result.robust_fit[label] = _fit_line(name, kwargs, steps=fit_steps, seed=seed)
        p_t = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)
        result.p_t = p_t.tolist()
        # Two classes with softmax probability p_t for the true class 0: logits (log p_t, log(1 - p_t)).
        logits = torch.stack([p_t.log(), (1 - p_t).log()], dim=1)
        targets = torch.zeros(len(p_t), dtype=torch.long)
        if "cross_entropy" in LOSSES:
            ce = create_loss_function("cross_entropy", reduction="none")
            result.classification_values["cross-entropy"] = ce(logits, targets).tolist()
        if "focal" in LOSSES:
            for gamma in FOCAL_GAMMAS:
                focal = create_loss_function("focal", gamma=gamma, reduction="none")
                result.classification_values[f"focal (gamma={gamma:g})"] = focal(logits, targets).tolist()
        return result

    @staticmethod
    def compare_optimizers(
        *,
        steps: int = 150,
        seed: int = 0,
        device: str = "cpu",
        problems: tuple[str, ...] = tuple(PROBLEMS),
        settings: tuple[OptimizerSetting, ...] = BASIC_OPTIMIZERS + DESIGN_OPTIMIZERS,
        show_progress: bool | None = None,
    ) -> OptimizerComparison:
        """Train every supported setting (the plain ones and the design document's: warmup 1000 /
        500 steps, clipping, cyclical lr) from the same initial weights on each problem, full batch."""
        result = OptimizerComparison(steps=steps, seed=seed)
        result.missing = [s.why_unsupported() for s in settings if not s.supported()]
        for problem_name in problems:
            for setting in settings:
                if not setting.supported():
                    continue
                problem = PROBLEMS[problem_name](seed, device)
                result.loss_names[problem_name] = problem.loss_name
                optimizer = create_optimizer(setting.name, problem.model, **setting.kwargs)
                losses = []
                start = time.perf_counter()
                for _ in progress(range(steps), desc=f"{problem_name}: {setting.label}", enabled=show_progress):
                    optimizer.zero_grad()
                    loss = problem.loss()
                    loss.backward()  # type: ignore[no-untyped-call]
                    optimizer.step()
                    losses.append(loss.detach())
                with torch.no_grad():
                    losses.append(problem.loss())
                values = torch.stack(losses).tolist()  # one host sync per run, not per step
                result.runs.append(OptimizerRun(problem_name, setting.label, values, time.perf_counter() - start))
        return result
