"""The main job: the training examples and both comparisons, written to a report folder."""

from __future__ import annotations

import time
from pathlib import Path

from lossopt.examples.analysis import LossOptimizationAnalysis
from lossopt.examples.report import Report, summary_markdown
from lossopt.examples.training import TrainingExamples, TrainingResult


def plots_available() -> bool:
    """matplotlib is importable (``lossopt[plots]``)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def run_training_examples(
    *, epochs: int, seed: int, device: str, show_progress: bool | None = None
) -> list[TrainingResult]:
    """The four training pipelines of :class:`TrainingExamples`."""
    common = {"epochs": epochs, "seed": seed, "device": device, "show_progress": show_progress}
    return [
        TrainingExamples.classification_training_example(**common),  # type: ignore[arg-type]
        TrainingExamples.regression_training_example(**common),  # type: ignore[arg-type]
        TrainingExamples.segmentation_training_example(**common),  # type: ignore[arg-type]
        TrainingExamples.multi_task_training_example(**common),  # type: ignore[arg-type]
    ]


def run_demo(
    output: str | Path,
    *,
    steps: int = 1500,
    epochs: int = 15,
    seed: int = 0,
    device: str = "cpu",
    plots: bool = True,
    show_progress: bool | None = None,
) -> Report:
    """Run everything and write ``output``/summary.md plus the PNG plots; returns what was written."""
    start = time.perf_counter()
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    training = run_training_examples(epochs=epochs, seed=seed, device=device, show_progress=show_progress)
    losses = LossOptimizationAnalysis.compare_loss_functions(seed=seed)
    optimizers = LossOptimizationAnalysis.compare_optimizers(
        steps=steps, seed=seed, device=device, show_progress=show_progress
    )
    written: list[Path] = []
    if plots:
        from lossopt.examples.plots import plot_training

        written += plot_training(training, folder)
        written += optimizers.plot(folder)
        written += losses.plot(folder)
    settings: dict[str, object] = {"seed": seed, "steps": steps, "epochs": epochs, "device": device}
    summary = folder / "summary.md"
    text = summary_markdown(
        training, losses, optimizers, plots=written, settings=settings, seconds=time.perf_counter() - start
    )
    summary.write_text(text + "\n", encoding="utf-8")
    decreased = optimizers.all_decreased() and all(r.decreased for r in training)
    return Report(folder, summary, written, decreased)
