"""What each registry entry is timed against: torch's own implementation of the same rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.nn import functional

# name -> (torch's implementation, keyword arguments both sides take for the benchmark)
OPTIMIZER_BASELINES: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "sgd": (torch.optim.SGD, {"lr": 1e-3, "momentum": 0.9, "weight_decay": 1e-4}),
}

# name -> (torch's implementation, extra keyword arguments)
LOSS_BASELINES: dict[str, tuple[Callable[..., torch.Tensor], dict[str, Any]]] = {
    "mse": (functional.mse_loss, {}),
    "sigmoid_focal": (functional.binary_cross_entropy_with_logits, {}),  # torch has none: what focal adds to BCE
    "mae": (functional.l1_loss, {}),
    # the target for these three: within 1.5x of F.mse_loss forward+backward on 10M elements
    "huber": (functional.mse_loss, {}),
    "log_cosh": (functional.mse_loss, {}),  # torch has no log-cosh
    "quantile": (functional.mse_loss, {}),  # torch has no pinball loss
}


def randn_pair(device: str, shape: tuple[int, ...] = (1024, 1024)) -> tuple[torch.Tensor, torch.Tensor]:
    """The default benchmark inputs: standard normal predictions (requiring grad) and targets."""
    generator = torch.Generator().manual_seed(0)
    predictions = torch.randn(shape, generator=generator).to(device).requires_grad_()
    return predictions, torch.randn(shape, generator=generator).to(device)


def logits_and_labels(device: str, shape: tuple[int, ...] = (1024, 1024)) -> tuple[torch.Tensor, torch.Tensor]:
    """Standard normal logits (requiring grad) and 0/1 labels of the same shape."""
    generator = torch.Generator().manual_seed(0)
    predictions = torch.randn(shape, generator=generator).to(device).requires_grad_()
    return predictions, torch.randint(0, 2, shape, generator=generator).float().to(device)


# name -> inputs(device) for entries not timed on the default ``randn_pair``
LOSS_INPUTS: dict[str, Callable[[str], tuple[torch.Tensor, torch.Tensor]]] = {
    "sigmoid_focal": logits_and_labels,
    "huber": lambda device: randn_pair(device, (10_000_000,)),
    "log_cosh": lambda device: randn_pair(device, (10_000_000,)),
    "quantile": lambda device: randn_pair(device, (10_000_000,)),
}

# bytes moved per parameter by one fp32 step (reads + writes), for effective bandwidth
BYTES_PER_PARAM: dict[str, int] = {
    "sgd": 20,  # with momentum: read p, g, b; write p, b
}
