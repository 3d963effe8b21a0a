"""PNG plots of the comparisons and training runs. Needs matplotlib (``pip install lossopt[plots]``);
it is imported here only, with the non-interactive Agg backend."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lossopt.examples.analysis import LossComparison, OptimizerComparison
    from lossopt.examples.training import TrainingResult


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise ImportError("plots need matplotlib: pip install 'lossopt[plots]'") from error
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def plot_optimizer_comparison(comparison: OptimizerComparison, out_dir: Path) -> list[Path]:
    """``optimizers_<problem>.png``: training loss (log scale) against step, one line per setting."""
    plt = _pyplot()
    paths = []
    for problem in comparison.problems:
        fig, ax = plt.subplots(figsize=(8, 5))
        for run in comparison.on(problem):
            ax.plot(range(len(run.losses)), run.losses, label=run.label, linewidth=1.4)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(f"training loss ({comparison.loss_names.get(problem, '')})")
        ax.set_title(f"{problem}: full-batch training loss per optimizer (fastest: {comparison.fastest(problem)})")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        paths.append(_save(fig, out_dir / f"optimizers_{_slug(problem)}.png"))
    return paths


def plot_loss_comparison(comparison: LossComparison, out_dir: Path) -> list[Path]:
    """``regression_losses.png`` (value and gradient against the residual) and ``focal_vs_ce.png``
    (loss against p_t), the latter only when a classification loss is registered."""
    plt = _pyplot()
    paths = []
    fig, (ax_value, ax_grad) = plt.subplots(1, 2, figsize=(11, 4.5))
    for label, values in comparison.regression_values.items():
        ax_value.plot(comparison.residuals, values, label=label)
        ax_grad.plot(comparison.residuals, comparison.regression_grads[label], label=label)
    ax_value.set_title("regression losses")
    ax_value.set_xlabel("residual (prediction - target)")
    ax_value.set_ylabel("loss")
    ax_value.set_ylim(-0.2, 8.0)
    ax_grad.set_title("gradient w.r.t. the prediction")
    ax_grad.set_xlabel("residual (prediction - target)")
    ax_grad.set_ylabel("d loss / d prediction")
    for ax in (ax_value, ax_grad):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    paths.append(_save(fig, out_dir / "regression_losses.png"))
    if comparison.classification_values:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for label, values in comparison.classification_values.items():
            ax.plot(comparison.p_t, values, label=label)
        ax.set_xlabel("p_t (probability of the true class)")
        ax.set_ylabel("loss")
        ax.set_ylim(0, 5)
        ax.set_title("focal loss vs cross-entropy")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        paths.append(_save(fig, out_dir / "focal_vs_ce.png"))
    return paths


def plot_training(results: Sequence[TrainingResult], out_dir: Path) -> list[Path]:
    """``training.png``: mean training loss per epoch of each training example."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.8), squeeze=False)
    for ax, result in zip(axes[0], results, strict=True):
        ax.plot(range(1, len(result.epoch_losses) + 1), result.epoch_losses, marker="o", markersize=3)
        ax.set_title(f"{result.task}\n{result.loss} / {result.optimizer}", fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("mean training loss")
        ax.grid(True, alpha=0.3)
    return [_save(fig, out_dir / "training.png")]
