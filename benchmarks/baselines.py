"""What each registry entry is timed against: torch's own implementation of the same rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.nn import functional

# name -> (torch's implementation, keyword arguments both sides take for the benchmark)
OPTIMIZER_BASELINES: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "sgd": (torch.optim.SGD, {"lr": 1e-3, "momentum": 0.9, "weight_decay": 1e-4}),
    "radam": (torch.optim.RAdam, {"lr": 1e-3}),
    # torch has no AdaBelief: AdamW moves the same bytes per parameter (p, g, m, s read; p, m, s written)
    "adabelief": (torch.optim.AdamW, {"lr": 1e-3, "weight_decay": 1e-2}),
}

# name -> (torch's implementation, extra keyword arguments)
LOSS_BASELINES: dict[str, tuple[Callable[..., torch.Tensor], dict[str, Any]]] = {
    "mse": (functional.mse_loss, {}),
}

# bytes moved per parameter by one fp32 step (reads + writes), for effective bandwidth
BYTES_PER_PARAM: dict[str, int] = {
    "sgd": 20,  # with momentum: read p, g, b; write p, b
    "radam": 28,  # read p, g, m, v; write p, m, v
    "adabelief": 28,  # read p, g, m, s; write p, m, s
}
