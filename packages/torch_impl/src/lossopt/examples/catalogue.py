"""What the examples know about each registry name: its family, sample inputs, and how a training
example feeds it; and the hyperparameters the optimizer examples use.

Only names registered in :mod:`lossopt.factory` are ever used (:func:`registered_losses`); a
catalogued name that is not registered is listed by :func:`missing_losses`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from lossopt.factory import LOSSES, OPTIMIZERS

Inputs = tuple[Any, ...]


def _logits(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=g).requires_grad_()


def _class_inputs(g: torch.Generator) -> Inputs:
    return _logits(g, 16, 5), torch.randint(0, 5, (16,), generator=g)


def _binary_inputs(g: torch.Generator) -> Inputs:
    return _logits(g, 16, 3), (torch.rand(16, 3, generator=g) < 0.3).float()


def _hinge_inputs(g: torch.Generator) -> Inputs:
    return _logits(g, 16), torch.where(torch.rand(16, generator=g) < 0.5, -1.0, 1.0)


def _linear_inputs(g: torch.Generator) -> Inputs:
    """Hidden states (16, 8), an output projection (5, 8) and class indices: a language model's last layer."""
    return _logits(g, 16, 8), torch.randn(5, 8, generator=g), torch.randint(0, 5, (16,), generator=g)


def _regression_inputs(g: torch.Generator) -> Inputs:
    return _logits(g, 16, 4), torch.randn(16, 4, generator=g)


def _mask_inputs(g: torch.Generator) -> Inputs:
    return _logits(g, 4, 1, 8, 8), (torch.rand(4, 1, 8, 8, generator=g) < 0.4).float()


def _contrastive_inputs(g: torch.Generator) -> Inputs:
    return _logits(g, 16, 8), torch.arange(16) % 4


def _triplet_inputs(g: torch.Generator) -> Inputs:
    return _logits(g, 16, 8), torch.randn(16, 8, generator=g), torch.randn(16, 8, generator=g)


def _cosine_inputs(g: torch.Generator) -> Inputs:
    return _logits(g, 16, 8), torch.randn(16, 8, generator=g), torch.where(torch.rand(16, generator=g) < 0.5, -1, 1)


def _kl_inputs(g: torch.Generator) -> Inputs:
    log_probs = torch.log_softmax(torch.randn(16, 5, generator=g), dim=1).detach().requires_grad_()
    return log_probs, torch.softmax(torch.randn(16, 5, generator=g), dim=1)


def _multi_task_inputs(g: torch.Generator) -> Inputs:
    predictions = {"classification": _logits(g, 16, 5), "regression": _logits(g, 16, 3)}
    targets = {"classification": torch.randint(0, 5, (16,), generator=g), "regression": torch.randn(16, 3, generator=g)}
    return predictions, targets, {"classification": 1.0, "regression": 0.5}


@dataclass(frozen=True)
class LossCase:
    """A loss's family (``classification``, ``regression``, ``segmentation``, ``custom``, ``multi_task``)
    and a function drawing sample arguments for it from a generator (the first requires grad)."""

    family: str
    inputs: Callable[[torch.Generator], Inputs]
    # How a training example feeds model outputs to it: "index" (logits, class indices),
    # "dense" (logits, {0,1} targets of the same shape) or "value" (outputs, targets as they are,
    # with probabilities for classification and segmentation).
    feed: str = "value"


LOSS_CASES: dict[str, LossCase] = {
    "cross_entropy": LossCase("classification", _class_inputs, "index"),
    "focal": LossCase("classification", _class_inputs, "index"),
    "sigmoid_focal": LossCase("classification", _binary_inputs, "dense"),
    "hinge": LossCase("classification", _hinge_inputs, "hinge"),
    "linear_cross_entropy": LossCase("classification", _linear_inputs),
    "mse": LossCase("regression", _regression_inputs),
    "mae": LossCase("regression", _regression_inputs),
    "huber": LossCase("regression", _regression_inputs),
    "log_cosh": LossCase("regression", _regression_inputs),
    "quantile": LossCase("regression", _regression_inputs),
    "dice": LossCase("segmentation", _mask_inputs, "dense"),
    "iou": LossCase("segmentation", _mask_inputs, "dense"),
    "tversky": LossCase("segmentation", _mask_inputs, "dense"),
    "bce_dice": LossCase("segmentation", _mask_inputs, "dense"),
    "focal_dice": LossCase("segmentation", _mask_inputs, "dense"),
    "contrastive": LossCase("custom", _contrastive_inputs),
    "triplet": LossCase("custom", _triplet_inputs),
    "cosine_embedding": LossCase("custom", _cosine_inputs),
    "kl_divergence": LossCase("custom", _kl_inputs),
    "multi_task": LossCase("multi_task", _multi_task_inputs),
}

FAMILIES = ("classification", "regression", "segmentation", "custom", "multi_task")


def registered_losses(family: str) -> list[str]:
    """Registered loss names of ``family``, in catalogue order."""
    return [name for name, case in LOSS_CASES.items() if case.family == family and name in LOSSES]


def missing_losses(family: str) -> list[str]:
    """Catalogued names of ``family`` that this build of lossopt does not register (yet)."""
    return [name for name, case in LOSS_CASES.items() if case.family == family and name not in LOSSES]


def first_registered(preferred: tuple[str, ...], registry: dict[str, Any]) -> str:
    """The first of ``preferred`` that ``registry`` holds; ``LookupError`` naming them all otherwise."""
    for name in preferred:
        if name in registry:
            return name
    raise LookupError(f"none of {list(preferred)} is registered; registered: {sorted(registry)}")


@dataclass(frozen=True)
class OptimizerSetting:
    """A named optimizer configuration: registry name plus keyword arguments."""

    label: str
    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def supported(self) -> bool:
        """Registered, and its class accepts every keyword of :attr:`kwargs`."""
        if self.name not in OPTIMIZERS:
            return False
        parameters = inspect.signature(OPTIMIZERS[self.name].__init__).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return True
        return set(self.kwargs) <= set(parameters)

    def why_unsupported(self) -> str:
        """Why :meth:`supported` is false, in words."""
        if self.name not in OPTIMIZERS:
            return f"{self.label}: optimizer {self.name!r} is not registered in this build"
        parameters = set(inspect.signature(OPTIMIZERS[self.name].__init__).parameters)
        missing = sorted(set(self.kwargs) - parameters)
        return f"{self.label}: {OPTIMIZERS[self.name].__name__} does not accept {missing} yet"


# One plain setting per optimizer, tuned for the small example problems.
BASIC_OPTIMIZERS: tuple[OptimizerSetting, ...] = (
    OptimizerSetting("sgd", "sgd", {"lr": 0.05, "momentum": 0.9}),
    OptimizerSetting("adam", "adam", {"lr": 3e-3}),
    OptimizerSetting("adamw", "adamw", {"lr": 3e-3, "weight_decay": 1e-2}),
    OptimizerSetting("radam", "radam", {"lr": 3e-3}),
    OptimizerSetting("adabelief", "adabelief", {"lr": 3e-3}),
)

# The design document's settings (warmup, clipping, cyclical learning rate), as written there.
DESIGN_OPTIMIZERS: tuple[OptimizerSetting, ...] = (
    OptimizerSetting(
        "adamw (design: warmup 1000, clip 1.0)",
        "adamw",
        {
            "lr": 1e-3,
            "betas": (0.9, 0.999),
            "eps": 1e-8,
            "weight_decay": 1e-2,
            "warmup_steps": 1000,
            "max_grad_norm": 1.0,
        },
    ),
    OptimizerSetting(
        "sgd (design: warmup 500, cyclical 2000, clip 1.0)",
        "sgd",
        {
            "lr": 1e-2,
            "momentum": 0.9,
            "weight_decay": 1e-4,
            "nesterov": False,
            "warmup_steps": 500,
            "max_grad_norm": 1.0,
            "use_cyclical_lr": True,
            "cycle_length": 2000,
        },
    ),
    OptimizerSetting("radam (design)", "radam", {"lr": 1e-3, "weight_decay": 0, "degenerated_to_sgd": True}),
    OptimizerSetting(
        "adabelief (design)",
        "adabelief",
        {"lr": 1e-3, "eps": 1e-16, "weight_decouple": True, "fixed_decay": False, "rectify": True},
    ),
)
