"""``OptimizationExamples``: every registered optimizer, plainly configured or with the design
document's extras, training one small regression problem."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from lossopt.examples.catalogue import BASIC_OPTIMIZERS, DESIGN_OPTIMIZERS, OptimizerSetting
from lossopt.examples.problems import regression_problem
from lossopt.factory import create_optimizer


@dataclass
class OptimizationExample:
    """Optimizers by label (each over its own copy of the model, trained ``steps`` full-batch
    steps), the untrained model, the data, each optimizer's loss per step, and the settings this
    build could not run (``missing``, with the reason).

    Unpacks as the design document's 4-tuple: ``optimizers, model, x, y = example``.
    """

    optimizers: dict[str, torch.optim.Optimizer]
    model: nn.Module
    x: torch.Tensor
    y: torch.Tensor
    losses: dict[str, list[float]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.optimizers, self.model, self.x, self.y))


def run_settings(settings: tuple[OptimizerSetting, ...], *, steps: int, seed: int) -> OptimizationExample:
    """Train a copy of the regression problem's model with each supported setting."""
    from lossopt.examples.data import regression_data

    data = regression_data(256, 10, 1, seed=seed)
    assert isinstance(data.y, torch.Tensor)
    template = regression_problem(seed).model
    example = OptimizationExample({}, template, data.x, data.y)
    for setting in settings:
        if not setting.supported():
            example.missing.append(setting.why_unsupported())
            continue
        problem = regression_problem(seed)
        optimizer = create_optimizer(setting.name, problem.model, **setting.kwargs)
        curve = []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = problem.loss()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            curve.append(float(loss.detach()))
        example.optimizers[setting.label] = optimizer
        example.losses[setting.label] = curve
    return example


class OptimizationExamples:
    """The design document's optimizer examples.

    Example:
        >>> from lossopt.examples import OptimizationExamples
        >>> optimizers, model, x, y = OptimizationExamples.basic_optimization_examples(steps=5)
        >>> "sgd" in optimizers, tuple(x.shape)
        (True, (256, 10))
    """

    @staticmethod
    def basic_optimization_examples(*, steps: int = 100, seed: int = 0) -> OptimizationExample:
        """Every registered optimizer with a plain setting (lr, momentum or weight decay only)."""
        return run_settings(BASIC_OPTIMIZERS, steps=steps, seed=seed)

    @staticmethod
    def advanced_optimization_examples(*, steps: int = 100, seed: int = 0) -> OptimizationExample:
        """The design document's settings: warmup, gradient clipping, cyclical lr, RAdam, AdaBelief."""
        return run_settings(DESIGN_OPTIMIZERS, steps=steps, seed=seed)
