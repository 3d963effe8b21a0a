"""Fit a linear regression on synthetic data with ``create_loss_function("mse")`` and ``create_optimizer("sgd")``."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lossopt.factory import create_loss_function, create_optimizer


@dataclass(frozen=True)
class QuickstartResult:
    """Loss per epoch and the distance of the fitted weights to the true ones."""

    losses: list[float]
    weight_error: float


def run_quickstart(*, epochs: int = 30, seed: int = 0) -> QuickstartResult:
    """Train ``nn.Linear(8, 1)`` by mini-batch SGD with momentum on ``y = x w + 0.5 + noise``."""
    generator = torch.Generator().manual_seed(seed)
    true_weight = torch.randn(8, 1, generator=generator)
    inputs = torch.randn(512, 8, generator=generator)
    targets = inputs @ true_weight + 0.5 + 0.01 * torch.randn(512, 1, generator=generator)
    torch.manual_seed(seed)
    model = torch.nn.Linear(8, 1)
    loss_fn = create_loss_function("mse")
    optimizer = create_optimizer("sgd", model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    losses = []
    for _ in range(epochs):
        total = torch.zeros(())
        for start in range(0, len(inputs), 64):
            batch_x, batch_y = inputs[start : start + 64], targets[start : start + 64]
            optimizer.zero_grad()
            loss = loss_fn(model(batch_x), batch_y)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(batch_x)
        losses.append(float(total) / len(inputs))
    weight_error = float((model.weight.detach().T - true_weight).norm())
    return QuickstartResult(losses=losses, weight_error=weight_error)
