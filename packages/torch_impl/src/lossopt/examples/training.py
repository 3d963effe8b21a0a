"""``TrainingExamples``: complete training pipelines on the synthetic data of :mod:`lossopt.examples.data`.

Each pipeline picks the first registered loss of its preference list (the design document's
choice first) and the first registered optimizer of ``("adamw", "adam", "sgd")``, unless told
which; the result names what it used.
"""

from __future__ import annotations

import copy
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from lossopt._signatures import Namespace, declared
from lossopt.compat import CustomLosses
from lossopt.examples.catalogue import BASIC_OPTIMIZERS, LOSS_CASES, first_registered
from lossopt.examples.data import (
    Dataset,
    classification_data,
    multi_task_data,
    regression_data,
    segmentation_data,
)
from lossopt.examples.progress import progress
from lossopt.factory import LOSSES, OPTIMIZERS, create_loss_function, create_optimizer

PREFERRED_OPTIMIZERS = ("adamw", "adam", "sgd")
Objective = Callable[[Any, Any], torch.Tensor]


@dataclass(frozen=True)
class TrainingResult:
    """One training run: what it used, the mean training loss per epoch, and held-in metrics."""

    task: str
    loss: str
    optimizer: str
    epoch_losses: list[float]
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def decreased(self) -> bool:
        """The last epoch's loss is below the first's."""
        return self.epoch_losses[-1] < self.epoch_losses[0]


def optimizer_kwargs(name: str) -> dict[str, Any]:
    """The basic example setting for a registered optimizer (class defaults for an unknown one)."""
    for setting in BASIC_OPTIMIZERS:
        if setting.name == name:
            return dict(setting.kwargs)
    return {}


def _train(
    model: nn.Module,
    objective: Objective,
    opt_name: str,
    data: Dataset,
    epochs: int,
    batch_size: int,
    desc: str,
    show_progress: bool | None,
) -> tuple[list[float], float]:
    """:func:`fit` with the example setting of ``opt_name``: (epoch losses, when it started)."""
    start = time.perf_counter()
    opt = create_optimizer(opt_name, model, **optimizer_kwargs(opt_name))
    losses = fit(
        model, objective, opt, data, epochs=epochs, batch_size=batch_size, desc=desc, show_progress=show_progress
    )
    return losses, start


def fit(
    model: nn.Module,
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    data: Dataset,
    *,
    epochs: int,
    batch_size: int,
    desc: str,
    show_progress: bool | None = None,
) -> list[float]:
    """Mini-batch training; returns the sample-weighted mean loss of each epoch."""
    batches = data.batches(batch_size)
    losses = []
    model.train()
    for _ in progress(range(epochs), desc=desc, total=epochs, enabled=show_progress):
        total = torch.zeros((), device=data.x.device)
        for batch_x, batch_y in batches:
            optimizer.zero_grad()
            loss = objective(model(batch_x), batch_y)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            total += loss.detach() * len(batch_x)
        losses.append(float(total) / len(data.x))
    return losses


def task_objective(task: str, loss_name: str, classes: int = 0) -> Objective:
    """How ``task``'s model outputs meet the loss ``loss_name`` (see ``LossCase.feed``)."""
    loss_fn = create_loss_function(loss_name)
    feed = LOSS_CASES[loss_name].feed if loss_name in LOSS_CASES else "value"
    if task == "classification" and feed == "index":
        return lambda out, y: loss_fn(out, y)
    if task == "classification" and feed == "dense":
        return lambda out, y: loss_fn(out, nn.functional.one_hot(y, classes).to(out.dtype))
    if task == "classification":  # a regression loss on probabilities against one-hot targets (Brier score)
        return lambda out, y: loss_fn(out.softmax(dim=1), nn.functional.one_hot(y, classes).to(out.dtype))
    if task == "segmentation" and feed != "dense":
        return lambda out, y: loss_fn(out.sigmoid(), y)
    return lambda out, y: loss_fn(out, y)


def _mlp(inputs: int, hidden: int, outputs: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, outputs)
    )


class MultiTaskModel(nn.Module):
    """The design document's multi-task model: a shared trunk, a 10-way classifier and a 5-d regressor."""

    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Sequential(nn.Linear(100, 200), nn.ReLU(), nn.Linear(200, 100))
        self.classification_head = nn.Linear(100, 10)
        self.regression_head = nn.Linear(100, 5)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        shared = self.shared(x)
        return {"classification": self.classification_head(shared), "regression": self.regression_head(shared)}


def segmentation_model() -> nn.Module:
    """The design document's segmentation model, narrower (16 channels) for the CPU."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 1, 1)
    )


MULTI_TASK_WEIGHTS = {"classification": 1.0, "regression": 0.5}


def _multi_task_objective(loss: str | None) -> tuple[str, Objective]:
    """``multi_task`` when registered; otherwise the same weighted sum built from the registered
    per-task losses (cross-entropy or MSE on probabilities; MSE)."""
    weights = MULTI_TASK_WEIGHTS
    if "multi_task" in LOSSES:

        def objective(out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> torch.Tensor:
            return CustomLosses.multi_task_loss(out, y, weights)

        return "multi_task", objective
    cls_name = first_registered(("cross_entropy", "focal", "mse"), LOSSES)
    reg_name = first_registered(("mse", "huber"), LOSSES)
    cls_loss, reg_loss = task_objective("classification", cls_name, 10), task_objective("regression", reg_name)

    def weighted(out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> torch.Tensor:
        return weights["classification"] * cls_loss(out["classification"], y["classification"]) + weights[
            "regression"
        ] * reg_loss(out["regression"], y["regression"])

    return f"{weights['classification']} {cls_name} + {weights['regression']} {reg_name}", weighted


def _accuracy(model: nn.Module, data: Dataset) -> dict[str, float]:
    return {"accuracy": float((model(data.x).argmax(dim=1) == data.y).float().mean())}


def _r2(model: nn.Module, data: Dataset) -> dict[str, float]:
    assert isinstance(data.y, torch.Tensor)
    residual = ((model(data.x) - data.y) ** 2).sum()
    return {"r2": 1.0 - float(residual / ((data.y - data.y.mean()) ** 2).sum())}


def _iou(model: nn.Module, data: Dataset) -> dict[str, float]:
    assert isinstance(data.y, torch.Tensor)
    predicted = (model(data.x) > 0).float()
    return {"iou": float((predicted * data.y).sum() / ((predicted + data.y) > 0).float().sum().clamp_min(1))}


def _multi_task_metrics(model: nn.Module, data: Dataset) -> dict[str, float]:
    assert isinstance(data.y, dict)
    out = model(data.x)
    accuracy = float((out["classification"].argmax(dim=1) == data.y["classification"]).float().mean())
    return {"accuracy": accuracy, "regression_mse": float(((out["regression"] - data.y["regression"]) ** 2).mean())}


@dataclass(frozen=True)
class Pipeline:
    """One of the design's training pipelines: its data and model, and how it picks its loss and scores the fit.

    ``losses`` (a single-task pipeline) is its preference list, the design document's choice first;
    the multi-task pipeline has its own ``objective`` and takes no ``loss`` argument.
    """

    task: str
    data: Callable[[int, str], Dataset]  # (seed, device)
    model: Callable[[], nn.Module]
    batch_size: int
    metrics: Callable[[nn.Module, Dataset], dict[str, float]]
    losses: tuple[str, ...] = ()
    classes: int = 0
    objective: Callable[[str | None], tuple[str, Objective]] | None = None

    def loss_and_objective(self, loss: str | None) -> tuple[str, Objective]:
        if self.objective is not None:
            return self.objective(loss)
        name = loss or first_registered(self.losses, LOSSES)
        return name, task_objective(self.task, name, self.classes)


PIPELINES = {
    "classification": Pipeline(
        "classification",
        lambda seed, device: classification_data(512, 20, 5, seed=seed, device=device),
        lambda: _mlp(20, 64, 5),
        64,
        _accuracy,
        ("focal", "cross_entropy", "mse"),
        classes=5,
    ),
    "regression": Pipeline(
        "regression",
        lambda seed, device: regression_data(512, 10, 1, seed=seed, device=device),
        lambda: _mlp(10, 64, 1),
        64,
        _r2,
        ("huber", "log_cosh", "mse"),
    ),
    "segmentation": Pipeline(
        "segmentation",
        lambda seed, device: segmentation_data(64, 24, seed=seed, device=device),
        segmentation_model,
        16,
        _iou,
        ("bce_dice", "dice", "mse"),
    ),
    "multi_task": Pipeline(
        "multi_task",
        lambda seed, device: multi_task_data(512, seed=seed, device=device),
        MultiTaskModel,
        64,
        _multi_task_metrics,
        objective=_multi_task_objective,
    ),
}


def run_pipeline(
    pipeline: Pipeline,
    *,
    loss: str | None = None,
    optimizer: str | None = None,
    epochs: int = 15,
    seed: int = 0,
    device: str = "cpu",
    show_progress: bool | None = None,
) -> TrainingResult:
    """Train ``pipeline``'s model with ``loss`` (or its first registered preference) and ``optimizer``
    (or the first registered of :data:`PREFERRED_OPTIMIZERS`), seeded; the metrics on the training data."""
    torch.manual_seed(seed)
    opt_name = optimizer or first_registered(PREFERRED_OPTIMIZERS, OPTIMIZERS)
    data = pipeline.data(seed, device)
    model = pipeline.model().to(device)
    loss_name, objective = pipeline.loss_and_objective(loss)
    desc = f"multi-task {opt_name}" if pipeline.objective else f"{pipeline.task} {loss_name}/{opt_name}"
    losses, start = _train(model, objective, opt_name, data, epochs, pipeline.batch_size, desc, show_progress)
    with torch.no_grad():
        metrics = pipeline.metrics(model, data)
    return TrainingResult(pipeline.task, loss_name, opt_name, losses, metrics, time.perf_counter() - start)


def _example(task: str, doc: str) -> Callable[..., TrainingResult]:
    """The design's method training the pipeline of ``task``: :func:`run_pipeline`'s arguments (no
    ``loss`` for the multi-task pipeline, whose loss is the multi-task loss)."""
    signature = inspect.signature(run_pipeline)
    parameters = [p for p in list(signature.parameters.values())[1:] if task != "multi_task" or p.name != "loss"]
    return declared(
        doc, signature.replace(parameters=parameters), lambda _, kwargs: run_pipeline(PIPELINES[task], **kwargs)
    )


class TrainingExamples(Namespace):
    """The design document's training pipelines; each returns a :class:`TrainingResult`.

    Example:
        >>> from lossopt.examples import TrainingExamples
        >>> result = TrainingExamples.regression_training_example(epochs=3)
        >>> result.task, result.decreased
        ('regression', True)
    """

    classification_training_example = _example(
        "classification",
        "A 3-layer MLP on 5 Gaussian blobs in 20-d (512 samples); loss focal, else cross-entropy, else MSE.",
    )
    regression_training_example = _example(
        "regression",
        "A 3-layer MLP on ``sin(x w1) + 0.5 x w2`` (512 samples, 10-d); loss Huber, else log-cosh, else MSE.",
    )
    segmentation_training_example = _example(
        "segmentation",
        "The design's small conv net on noisy disks (64 images, 24x24); loss BCE+Dice, else Dice, else MSE.",
    )
    multi_task_training_example = _example(
        "multi_task",
        """The design's multi-task model and weights {classification: 1.0, regression: 0.5}.

        The loss is ``multi_task`` when registered; otherwise the same weighted sum built from the
        registered per-task losses (cross-entropy or MSE on probabilities; MSE).
        """,
    )


def copy_model(model: nn.Module) -> nn.Module:
    """A deep copy (fresh parameters with the same values)."""
    return copy.deepcopy(model)
