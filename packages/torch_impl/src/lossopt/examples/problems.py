"""The example problems the optimizer comparisons train on: a model, its full-batch data and its loss.

Each is built from a seed alone (data and initial weights), so every optimizer starts from the
same point and two runs with the same seed are identical.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from lossopt.examples.catalogue import first_registered
from lossopt.examples.data import classification_data, multi_task_data, regression_data, segmentation_data
from lossopt.examples.training import MultiTaskModel, segmentation_model, task_objective
from lossopt.factory import LOSSES


@dataclass
class Problem:
    """``loss()`` evaluates ``model`` on the whole data set with the problem's loss."""

    name: str
    model: nn.Module
    loss: Callable[[], torch.Tensor]
    loss_name: str


def _mlp(inputs: int, outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(inputs, 32), nn.Tanh(), nn.Linear(32, outputs))


def regression_problem(seed: int = 0, device: str = "cpu") -> Problem:
    """A 1-hidden-layer tanh MLP fitting ``sin(x w1) + 0.5 x w2`` (256 samples, 10-d)."""
    loss_name = first_registered(("mse", "huber"), LOSSES)
    data = regression_data(256, 10, 1, seed=seed, device=device)
    torch.manual_seed(seed)
    model = _mlp(10, 1).to(device)
    objective = task_objective("regression", loss_name)
    return Problem("regression", model, lambda: objective(model(data.x), data.y), loss_name)


def classification_problem(seed: int = 0, device: str = "cpu") -> Problem:
    """A 1-hidden-layer tanh MLP on 5 Gaussian blobs in 20-d (256 samples)."""
    loss_name = first_registered(("cross_entropy", "focal", "mse"), LOSSES)
    data = classification_data(256, 20, 5, seed=seed, device=device)
    torch.manual_seed(seed)
    model = _mlp(20, 5).to(device)
    objective = task_objective("classification", loss_name, 5)
    return Problem("classification", model, lambda: objective(model(data.x), data.y), loss_name)


def segmentation_problem(seed: int = 0, device: str = "cpu") -> Problem:
    """The design's conv net on 16 noisy 16x16 disks."""
    loss_name = first_registered(("bce_dice", "dice", "mse"), LOSSES)
    data = segmentation_data(16, 16, seed=seed, device=device)
    torch.manual_seed(seed)
    model = segmentation_model().to(device)
    objective = task_objective("segmentation", loss_name)
    return Problem("segmentation", model, lambda: objective(model(data.x), data.y), loss_name)


def multi_task_problem(seed: int = 0, device: str = "cpu") -> Problem:
    """The design's multi-task model; loss 1.0 classification + 0.5 regression (registered losses)."""
    cls_name = first_registered(("cross_entropy", "focal", "mse"), LOSSES)
    reg_name = first_registered(("mse", "huber"), LOSSES)
    data = multi_task_data(256, seed=seed, device=device)
    assert isinstance(data.y, dict)
    y = data.y
    torch.manual_seed(seed)
    model = MultiTaskModel().to(device)
    cls_loss, reg_loss = task_objective("classification", cls_name, 10), task_objective("regression", reg_name)

    def loss() -> torch.Tensor:
        out = model(data.x)
        return cls_loss(out["classification"], y["classification"]) + 0.5 * reg_loss(out["regression"], y["regression"])

    return Problem("multi_task", model, loss, f"{cls_name} + 0.5 {reg_name}")


PROBLEMS: dict[str, Callable[[int, str], Problem]] = {
    "regression": regression_problem,
    "classification": classification_problem,
    "segmentation": segmentation_problem,
    "multi_task": multi_task_problem,
}
