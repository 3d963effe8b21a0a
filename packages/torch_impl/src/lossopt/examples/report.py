"""The demo's report folder: PNG plots and ``summary.md`` with the tables."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

import lossopt
from lossopt.examples.analysis import LossComparison, OptimizerComparison
from lossopt.examples.training import TrainingResult
from lossopt.factory import LOSSES, OPTIMIZERS


@dataclass
class Report:
    """What the demo wrote: the summary's path, the plots, and whether every run decreased its loss."""

    folder: Path
    summary: Path
    plots: list[Path] = field(default_factory=list)
    all_decreased: bool = True


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}"


def summary_markdown(
    training: Sequence[TrainingResult],
    losses: LossComparison,
    optimizers: OptimizerComparison,
    *,
    plots: Sequence[Path],
    settings: dict[str, object],
    seconds: float,
) -> str:
    """The Markdown summary: setup, training examples, optimizer comparison (with the fastest per
    problem), loss comparison, what this build does not register yet, and the plots."""
    lines = [
        "# lossopt demo report",
        "",
        f"lossopt {lossopt.__version__}, torch {torch.__version__}, Python {platform.python_version()}; "
        + ", ".join(f"{k}={v}" for k, v in settings.items())
        + f"; wall time {seconds:.1f} s.",
        "",
        f"Registered losses: {', '.join(sorted(LOSSES))}. Registered optimizers: {', '.join(sorted(OPTIMIZERS))}.",
        "",
        "## Training examples",
        "",
        "| task | loss | optimizer | first epoch loss | last epoch loss | decreased | metrics | seconds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in training:
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in r.metrics.items())
        lines.append(
            f"| {r.task} | {r.loss} | {r.optimizer} | {_fmt(r.epoch_losses[0])} | {_fmt(r.epoch_losses[-1])} | "
            f"{'yes' if r.decreased else '**no**'} | {metrics} | {r.seconds:.1f} |"
        )
    lines += ["", f"## Optimizer comparison ({optimizers.steps} full-batch steps, same initial weights)", ""]
    for problem in optimizers.problems:
        target = optimizers.target_fraction
        lines += [
            f"### {problem} (loss: {optimizers.loss_names.get(problem, '?')})",
            "",
            f"| optimizer | initial loss | final loss | steps to {target:g} x initial | decreased | seconds |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for run in optimizers.on(problem):
            reached = run.steps_to(target * run.initial)
            lines.append(
                f"| {run.label} | {_fmt(run.initial)} | {_fmt(run.final)} | {_fmt(reached)} | "
                f"{'yes' if run.decreased else '**no**'} | {run.seconds:.1f} |"
            )
        lines += ["", f"Fastest to converge on {problem}: **{optimizers.fastest(problem)}**.", ""]
    verdict = "every optimizer setting decreased" if optimizers.all_decreased() else "NOT every setting decreased"
    lines += [f"Verdict: {verdict} the training loss on every problem.", ""]
    warmup = [run for run in optimizers.runs if "warmup" in run.label]
    if warmup:
        lines += [
            "The design document's warmup settings train (a warmup that leaves the learning rate at 0, the "
            "design snippet's defect, would show a final/initial ratio of exactly 1):",
            "",
            "| setting | problem | final / initial loss |",
            "| --- | --- | --- |",
            *(f"| {run.label} | {run.problem} | {run.final / run.initial:.3g} |" for run in warmup),
            "",
        ]
    lines += ["## Loss comparison", ""]
    if losses.robust_fit:
        slope, intercept = losses.true_line
        lines += [
            f"Line fit to data with 10% one-sided outliers (truth: slope {slope:g}, intercept {intercept:g}):",
            "",
            "| loss | slope | intercept | distance to truth |",
            "| --- | --- | --- | --- |",
        ]
        for label, (s, i) in losses.robust_fit.items():
            lines.append(f"| {label} | {s:.3f} | {i:.3f} | {losses.fit_error(label):.3f} |")
        lines.append("")
    missing = [*optimizers.missing, *(f"loss {name!r} is not registered in this build" for name in losses.missing)]
    if missing:
        lines += ["## Not in this build yet", "", *(f"- {m}" for m in missing), ""]
    if plots:
        lines += ["## Plots", "", *(f"![{p.stem}]({p.name})" for p in plots), ""]
    return "\n".join(lines)
