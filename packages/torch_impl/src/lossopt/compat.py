"""The design document's API: ``ClassificationLosses``, ``RegressionLosses``, ``SegmentationLosses``,
``CustomLosses`` and the optimizer classes ``AdvancedAdamW``, ``AdvancedAdam``, ``AdvancedSGD``,
``RAdam``, ``AdaBelief``, so code written against ``loss_and_optim_design.md`` runs with only its
import changed (``from lossopt import ClassificationLosses, AdvancedAdamW``).

Each method has the design's name, arguments and defaults and forwards them, by keyword, to the
functional loss of the same project-wide name in :mod:`lossopt.functional`, looked up when it is
called. A loss this build of lossopt does not have raises ``NotImplementedError`` naming it; the
optimizer classes resolve from :mod:`lossopt.optim` the same way. The semantics are lossopt's
(see each functional's "Differs from the original design" notes), not the design snippets'.

Example:
    >>> import torch
    >>> from lossopt import RegressionLosses
    >>> RegressionLosses.mse_loss(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 2.0]))
    tensor(2.5000)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

import lossopt.functional
import lossopt.optim


@dataclass(frozen=True)
class DesignLoss:
    """Where a design-document method finds its implementation: the registry ``name`` and the
    functional names tried, in order."""

    qualname: str
    name: str
    functionals: tuple[str, ...]


def _loss(qualname: str, name: str, *extra: str) -> DesignLoss:
    method = qualname.rsplit(".", 1)[-1]
    candidates = tuple(dict.fromkeys((method, f"{name}_loss", name, *extra)))
    return DesignLoss(qualname, name, candidates)


DESIGN_LOSSES: dict[str, DesignLoss] = {
    d.qualname: d
    for d in (
        _loss("ClassificationLosses.cross_entropy_loss", "cross_entropy"),
        _loss("ClassificationLosses.focal_loss", "focal"),
        _loss("ClassificationLosses.dice_loss", "dice"),
        _loss("ClassificationLosses.iou_loss", "iou"),
        _loss("ClassificationLosses.hinge_loss", "hinge"),
        _loss("RegressionLosses.mse_loss", "mse"),
        _loss("RegressionLosses.mae_loss", "mae"),
        _loss("RegressionLosses.huber_loss", "huber"),
        _loss("RegressionLosses.log_cosh_loss", "log_cosh"),
        _loss("RegressionLosses.quantile_loss", "quantile"),
        _loss("SegmentationLosses.dice_loss", "dice"),
        _loss("SegmentationLosses.iou_loss", "iou"),
        _loss("SegmentationLosses.bce_dice_loss", "bce_dice"),
        _loss("SegmentationLosses.focal_dice_loss", "focal_dice"),
        _loss("SegmentationLosses.tversky_loss", "tversky"),
        _loss("CustomLosses.contrastive_loss", "contrastive"),
        _loss("CustomLosses.triplet_loss", "triplet"),
        _loss("CustomLosses.cosine_embedding_loss", "cosine_embedding"),
        _loss("CustomLosses.kl_divergence_loss", "kl_divergence", "kl_div"),
        _loss("CustomLosses.multi_task_loss", "multi_task"),
    )
}

# The design's optimizer classes and their registry names.
DESIGN_OPTIMIZERS: dict[str, str] = {
    "AdvancedAdamW": "adamw",
    "AdvancedAdam": "adam",
    "AdvancedSGD": "sgd",
    "RAdam": "radam",
    "AdaBelief": "adabelief",
}


def find_functional(qualname: str) -> Callable[..., torch.Tensor] | None:
    """The functional implementing the design method ``qualname``, or ``None`` when not in this build."""
    entry = DESIGN_LOSSES[qualname]
    for candidate in entry.functionals:
        found = getattr(lossopt.functional, candidate, None)
        if callable(found):
            return found  # type: ignore[no-any-return]
    return None


def resolve_loss(qualname: str) -> Callable[..., torch.Tensor]:
    """The functional for ``qualname`` (``"SegmentationLosses.tversky_loss"``); ``NotImplementedError`` naming
    the loss when this build of lossopt does not have it."""
    found = find_functional(qualname)
    if found is None:
        entry = DESIGN_LOSSES[qualname]
        functionals = lossopt.functional.__all__
        have = ", ".join(sorted(n for n in functionals if callable(getattr(lossopt.functional, n, None))))
        raise NotImplementedError(
            f"{qualname} needs the loss {entry.name!r} (lossopt.functional.{entry.functionals[0]}), which this "
            f"build of lossopt does not have yet; functional losses available: {have}"
        )
    return found


def _call(qualname: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor:
    function = resolve_loss(qualname)
    parameters: Mapping[str, inspect.Parameter]
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # builtins without a signature: let the call report
        parameters = {}
    if parameters and not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        unknown = sorted(set(kwargs) - set(parameters))
        if unknown:
            raise TypeError(
                f"{qualname} passes {unknown} to lossopt.functional.{function.__name__}, which does not accept "
                f"them; its arguments: {list(parameters)}"
            )
    return function(*args, **kwargs)


class ClassificationLosses:
    """The design document's classification losses (cross-entropy, focal, Dice, IoU, hinge)."""

    @staticmethod
    def cross_entropy_loss(
        predictions: torch.Tensor,
        targets: torch.Tensor,
        weight: torch.Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> torch.Tensor:
        """:func:`lossopt.functional` ``cross_entropy`` with the design's arguments."""
        kwargs: dict[str, Any] = {"weight": weight, "ignore_index": ignore_index, "reduction": reduction}
        kwargs["label_smoothing"] = label_smoothing
        return _call("ClassificationLosses.cross_entropy_loss", (predictions, targets), kwargs)

    @staticmethod
    def focal_loss(
        predictions: torch.Tensor,
        targets: torch.Tensor,
        alpha: float | torch.Tensor = 1.0,
        gamma: float = 2.0,
        reduction: str = "mean",
        **kwargs: Any,
    ) -> torch.Tensor:
        """Softmax focal loss (Lin et al. 2017) with the design's arguments."""
        kwargs.update(alpha=alpha, gamma=gamma, reduction=reduction)
        return _call("ClassificationLosses.focal_loss", (predictions, targets), kwargs)

    @staticmethod
    def dice_loss(
        predictions: torch.Tensor, targets: torch.Tensor, smooth: float = 1e-6, reduction: str = "mean", **kwargs: Any
    ) -> torch.Tensor:
        """Dice loss on logits with the design's arguments."""
        kwargs.update(smooth=smooth, reduction=reduction)
        return _call("ClassificationLosses.dice_loss", (predictions, targets), kwargs)

    @staticmethod
    def iou_loss(
        predictions: torch.Tensor, targets: torch.Tensor, smooth: float = 1e-6, reduction: str = "mean", **kwargs: Any
    ) -> torch.Tensor:
        """IoU (Jaccard) loss on logits."""
        kwargs.update(smooth=smooth, reduction=reduction)
        return _call("ClassificationLosses.iou_loss", (predictions, targets), kwargs)

    @staticmethod
    def hinge_loss(
        predictions: torch.Tensor, targets: torch.Tensor, margin: float = 1.0, reduction: str = "mean", **kwargs: Any
    ) -> torch.Tensor:
        """Hinge loss with a margin."""
        kwargs.update(margin=margin, reduction=reduction)
        return _call("ClassificationLosses.hinge_loss", (predictions, targets), kwargs)


class RegressionLosses:
    """The design document's regression losses (MSE, MAE, Huber, log-cosh, quantile)."""

    @staticmethod
    def mse_loss(predictions: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Mean squared error."""
        return _call("RegressionLosses.mse_loss", (predictions, targets), {"reduction": reduction})

    @staticmethod
    def mae_loss(predictions: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Mean absolute error."""
        return _call("RegressionLosses.mae_loss", (predictions, targets), {"reduction": reduction})

    @staticmethod
    def huber_loss(
        predictions: torch.Tensor, targets: torch.Tensor, delta: float = 1.0, reduction: str = "mean"
    ) -> torch.Tensor:
        """Huber loss (true Huber for every ``delta``; the design's smooth-L1 form is Huber / delta)."""
        return _call("RegressionLosses.huber_loss", (predictions, targets), {"delta": delta, "reduction": reduction})

    @staticmethod
    def log_cosh_loss(predictions: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """log(cosh(residual)), computed without overflow."""
        return _call("RegressionLosses.log_cosh_loss", (predictions, targets), {"reduction": reduction})

    @staticmethod
    def quantile_loss(
        predictions: torch.Tensor, targets: torch.Tensor, quantile: float = 0.5, reduction: str = "mean"
    ) -> torch.Tensor:
        """Pinball loss; ``quantile=0.9`` fits the 90th percentile (the design snippet fits the 10th)."""
        kwargs: dict[str, Any] = {"quantile": quantile, "reduction": reduction}
        return _call("RegressionLosses.quantile_loss", (predictions, targets), kwargs)


class SegmentationLosses:
    """The design document's segmentation losses (BCE+Dice, focal+Dice, Tversky, Dice, IoU)."""

    @staticmethod
    def bce_dice_loss(
        predictions: torch.Tensor,
        targets: torch.Tensor,
        bce_weight: float = 0.5,
        dice_weight: float = 0.5,
        smooth: float = 1e-6,
        **kwargs: Any,
    ) -> torch.Tensor:
        """``bce_weight * BCE + dice_weight * Dice`` on logits."""
        kwargs.update(bce_weight=bce_weight, dice_weight=dice_weight, smooth=smooth)
        return _call("SegmentationLosses.bce_dice_loss", (predictions, targets), kwargs)

    @staticmethod
    def focal_dice_loss(
        predictions: torch.Tensor,
        targets: torch.Tensor,
        alpha: float = 1.0,
        gamma: float = 2.0,
        smooth: float = 1e-6,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Sigmoid focal loss + Dice loss on logits."""
        kwargs.update(alpha=alpha, gamma=gamma, smooth=smooth)
        return _call("SegmentationLosses.focal_dice_loss", (predictions, targets), kwargs)

    @staticmethod
    def tversky_loss(
        predictions: torch.Tensor,
        targets: torch.Tensor,
        alpha: float = 0.3,
        beta: float = 0.7,
        smooth: float = 1e-6,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Tversky loss: ``alpha`` weights false positives, ``beta`` false negatives."""
        kwargs.update(alpha=alpha, beta=beta, smooth=smooth)
        return _call("SegmentationLosses.tversky_loss", (predictions, targets), kwargs)

    @staticmethod
    def dice_loss(
        predictions: torch.Tensor, targets: torch.Tensor, smooth: float = 1e-6, reduction: str = "mean", **kwargs: Any
    ) -> torch.Tensor:
        """Dice loss on logits."""
        kwargs.update(smooth=smooth, reduction=reduction)
        return _call("SegmentationLosses.dice_loss", (predictions, targets), kwargs)

    @staticmethod
    def iou_loss(
        predictions: torch.Tensor, targets: torch.Tensor, smooth: float = 1e-6, reduction: str = "mean", **kwargs: Any
    ) -> torch.Tensor:
        """IoU (Jaccard) loss on logits."""
        kwargs.update(smooth=smooth, reduction=reduction)
        return _call("SegmentationLosses.iou_loss", (predictions, targets), kwargs)


class CustomLosses:
    """The design document's embedding, divergence and multi-task losses."""

    @staticmethod
    def contrastive_loss(
        embeddings: torch.Tensor, labels: torch.Tensor, margin: float = 1.0, temperature: float = 0.1, **kwargs: Any
    ) -> torch.Tensor:
        """Contrastive loss over the pairs of a batch (see the functional for what each mode uses)."""
        kwargs.update(margin=margin, temperature=temperature)
        return _call("CustomLosses.contrastive_loss", (embeddings, labels), kwargs)

    @staticmethod
    def triplet_loss(
        anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float = 1.0, **kwargs: Any
    ) -> torch.Tensor:
        """Triplet margin loss."""
        kwargs.update(margin=margin)
        return _call("CustomLosses.triplet_loss", (anchor, positive, negative), kwargs)

    @staticmethod
    def cosine_embedding_loss(
        x1: torch.Tensor, x2: torch.Tensor, y: torch.Tensor, margin: float = 0.0, **kwargs: Any
    ) -> torch.Tensor:
        """Cosine embedding loss (torch's conventions)."""
        kwargs.update(margin=margin)
        return _call("CustomLosses.cosine_embedding_loss", (x1, x2, y), kwargs)

    @staticmethod
    def kl_divergence_loss(
        input: torch.Tensor,
        target: torch.Tensor,
        reduction: str = "batchmean",
        log_target: bool = False,
        **kwargs: Any,
    ) -> torch.Tensor:
        """KL divergence with ``input`` as log-probabilities (torch's conventions)."""
        kwargs.update(reduction=reduction, log_target=log_target)
        return _call("CustomLosses.kl_divergence_loss", (input, target), kwargs)

    @staticmethod
    def multi_task_loss(
        predictions: Mapping[str, torch.Tensor],
        targets: Mapping[str, torch.Tensor],
        loss_weights: Mapping[str, float],
        **kwargs: Any,
    ) -> torch.Tensor:
        """Weighted sum of per-task losses; tasks are matched to losses as the functional documents."""
        return _call("CustomLosses.multi_task_loss", (predictions, targets, loss_weights), kwargs)


class _MissingOptimizer(torch.optim.Optimizer):
    """Stands in for a design-document optimizer class this build of lossopt does not have."""

    design_name = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name = type(self).design_name
        raise NotImplementedError(
            f"{name} (lossopt.optim.{name}, registry name {DESIGN_OPTIMIZERS[name]!r}) is not in this build of "
            f"lossopt yet; optimizers available: {', '.join(sorted(lossopt.optim.__all__))}"
        )


def find_optimizer(name: str) -> type[torch.optim.Optimizer] | None:
    """The class ``lossopt.optim.<name>`` for a design-document optimizer name, or ``None``."""
    if name not in DESIGN_OPTIMIZERS:
        raise KeyError(f"{name!r} is not one of the design document's optimizers {sorted(DESIGN_OPTIMIZERS)}")
    found = getattr(lossopt.optim, name, None)
    return found if isinstance(found, type) and issubclass(found, torch.optim.Optimizer) else None


def optimizer_class(name: str) -> type[torch.optim.Optimizer]:
    """``lossopt.optim.<name>``, or a class whose construction raises ``NotImplementedError`` naming it."""
    found = find_optimizer(name)
    if found is not None:
        return found
    return type(name, (_MissingOptimizer,), {"design_name": name, "__module__": __name__})


def __getattr__(name: str) -> Any:
    if name in DESIGN_OPTIMIZERS:
        return optimizer_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DESIGN_LOSSES",
    "DESIGN_OPTIMIZERS",
    "ClassificationLosses",
    "CustomLosses",
    "RegressionLosses",
    "SegmentationLosses",
    "find_functional",
    "find_optimizer",
    "optimizer_class",
    "resolve_loss",
]
