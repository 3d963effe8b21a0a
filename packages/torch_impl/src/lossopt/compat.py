"""The design document's API: ``ClassificationLosses``, ``RegressionLosses``, ``SegmentationLosses``,
``CustomLosses`` and the optimizer classes ``AdvancedAdamW``, ``AdvancedAdam``, ``AdvancedSGD``,
``RAdam``, ``AdaBelief``, so code written against ``loss_and_optim_design.md`` runs with only its
import changed (``from lossopt import ClassificationLosses, AdvancedAdamW``).

Each method has the design's name, arguments and defaults and forwards them, by keyword, to the
functional loss of the same project-wide name in :mod:`lossopt.functional` (read from there when
called); a keyword the functional does not take is a ``TypeError`` naming the method. The
semantics are lossopt's (see each functional's "Differs from the original design" notes), not the
design snippets'.

Example:
    >>> import torch
    >>> from lossopt import RegressionLosses
    >>> RegressionLosses.mse_loss(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 2.0]))
    tensor(2.5000)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch

from lossopt import functional as F
from lossopt.optim import AdaBelief, AdvancedAdam, AdvancedAdamW, AdvancedSGD, RAdam

# The design's optimizer classes and their registry names.
DESIGN_OPTIMIZERS: dict[str, str] = {
    "AdvancedAdamW": "adamw",
    "AdvancedAdam": "adam",
    "AdvancedSGD": "sgd",
    "RAdam": "radam",
    "AdaBelief": "adabelief",
}


def _call(
    qualname: str, function: Callable[..., torch.Tensor], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> torch.Tensor:
    """``function(*args, **kwargs)``; ``TypeError`` naming the design method ``qualname`` for a keyword it refuses."""
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
        return _call("ClassificationLosses.cross_entropy_loss", F.cross_entropy_loss, (predictions, targets), kwargs)

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
        return _call("ClassificationLosses.focal_loss", F.focal_loss, (predictions, targets), kwargs)

    @staticmethod
    def dice_loss(
        predictions: torch.Tensor, targets: torch.Tensor, smooth: float = 1e-6, reduction: str = "mean", **kwargs: Any
    ) -> torch.Tensor:
        """Dice loss on logits with the design's arguments."""
        kwargs.update(smooth=smooth, reduction=reduction)
        return _call("ClassificationLosses.dice_loss", F.dice_loss, (predictions, targets), kwargs)

    @staticmethod
    def iou_loss(
        predictions: torch.Tensor, targets: torch.Tensor, smooth: float = 1e-6, reduction: str = "mean", **kwargs: Any
    ) -> torch.Tensor:
        """IoU (Jaccard) loss on logits."""
        kwargs.update(smooth=smooth, reduction=reduction)
        return _call("ClassificationLosses.iou_loss", F.iou_loss, (predictions, targets), kwargs)

    @staticmethod
    def hinge_loss(
        predictions: torch.Tensor, targets: torch.Tensor, margin: float = 1.0, reduction: str = "mean", **kwargs: Any
    ) -> torch.Tensor:
        """Hinge loss with a margin."""
        kwargs.update(margin=margin, reduction=reduction)
        return _call("ClassificationLosses.hinge_loss", F.hinge_loss, (predictions, targets), kwargs)


class RegressionLosses:
    """The design document's regression losses (MSE, MAE, Huber, log-cosh, quantile)."""

    @staticmethod
    def mse_loss(predictions: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Mean squared error."""
        return _call("RegressionLosses.mse_loss", F.mse_loss, (predictions, targets), {"reduction": reduction})

    @staticmethod
    def mae_loss(predictions: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Mean absolute error."""
        return _call("RegressionLosses.mae_loss", F.mae_loss, (predictions, targets), {"reduction": reduction})

    @staticmethod
    def huber_loss(
        predictions: torch.Tensor, targets: torch.Tensor, delta: float = 1.0, reduction: str = "mean"
    ) -> torch.Tensor:
        """Huber loss (true Huber for every ``delta``; the design's smooth-L1 form is Huber / delta)."""
        return _call(
            "RegressionLosses.huber_loss",
            F.huber_loss,
            (predictions, targets),
            {"delta": delta, "reduction": reduction},
        )

    @staticmethod
    def log_cosh_loss(predictions: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """log(cosh(residual)), computed without overflow."""
        return _call(
            "RegressionLosses.log_cosh_loss", F.log_cosh_loss, (predictions, targets), {"reduction": reduction}
        )

    @staticmethod
    def quantile_loss(
        predictions: torch.Tensor, targets: torch.Tensor, quantile: float = 0.5, reduction: str = "mean"
    ) -> torch.Tensor:
        """Pinball loss; ``quantile=0.9`` fits the 90th percentile (the design snippet fits the 10th)."""
        kwargs: dict[str, Any] = {"quantile": quantile, "reduction": reduction}
        return _call("RegressionLosses.quantile_loss", F.quantile_loss, (predictions, targets), kwargs)


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
        return _call("SegmentationLosses.bce_dice_loss", F.bce_dice_loss, (predictions, targets), kwargs)

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
        return _call("SegmentationLosses.focal_dice_loss", F.focal_dice_loss, (predictions, targets), kwargs)

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
        return _call("SegmentationLosses.tversky_loss", F.tversky_loss, (predictions, targets), kwargs)

    @staticmethod
    def dice_loss(
        predictions: torch.Tensor, targets: torch.Tensor, smooth: float = 1e-6, reduction: str = "mean", **kwargs: Any
    ) -> torch.Tensor:
        """Dice loss on logits."""
        kwargs.update(smooth=smooth, reduction=reduction)
        return _call("SegmentationLosses.dice_loss", F.dice_loss, (predictions, targets), kwargs)

    @staticmethod
    def iou_loss(
        predictions: torch.Tensor, targets: torch.Tensor, smooth: float = 1e-6, reduction: str = "mean", **kwargs: Any
    ) -> torch.Tensor:
        """IoU (Jaccard) loss on logits."""
        kwargs.update(smooth=smooth, reduction=reduction)
        return _call("SegmentationLosses.iou_loss", F.iou_loss, (predictions, targets), kwargs)


class CustomLosses:
    """The design document's embedding, divergence and multi-task losses."""

    @staticmethod
    def contrastive_loss(
        embeddings: torch.Tensor, labels: torch.Tensor, margin: float = 1.0, temperature: float = 0.1, **kwargs: Any
    ) -> torch.Tensor:
        """Contrastive loss over the pairs of a batch (see the functional for what each mode uses)."""
        kwargs.update(margin=margin, temperature=temperature)
        return _call("CustomLosses.contrastive_loss", F.contrastive_loss, (embeddings, labels), kwargs)

    @staticmethod
    def triplet_loss(
        anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float = 1.0, **kwargs: Any
    ) -> torch.Tensor:
        """Triplet margin loss."""
        kwargs.update(margin=margin)
        return _call("CustomLosses.triplet_loss", F.triplet_loss, (anchor, positive, negative), kwargs)

    @staticmethod
    def cosine_embedding_loss(
        x1: torch.Tensor, x2: torch.Tensor, y: torch.Tensor, margin: float = 0.0, **kwargs: Any
    ) -> torch.Tensor:
        """Cosine embedding loss (torch's conventions)."""
        kwargs.update(margin=margin)
        return _call("CustomLosses.cosine_embedding_loss", F.cosine_embedding_loss, (x1, x2, y), kwargs)

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
        return _call("CustomLosses.kl_divergence_loss", F.kl_divergence_loss, (input, target), kwargs)

    @staticmethod
    def multi_task_loss(
        predictions: Mapping[str, torch.Tensor],
        targets: Mapping[str, torch.Tensor],
        loss_weights: Mapping[str, float],
        **kwargs: Any,
    ) -> torch.Tensor:
        """Weighted sum of per-task losses; tasks are matched to losses as the functional documents."""
        return _call("CustomLosses.multi_task_loss", F.multi_task_loss, (predictions, targets, loss_weights), kwargs)


__all__ = [
    "DESIGN_OPTIMIZERS",
    "AdaBelief",
    "AdvancedAdam",
    "AdvancedAdamW",
    "AdvancedSGD",
    "ClassificationLosses",
    "CustomLosses",
    "RAdam",
    "RegressionLosses",
    "SegmentationLosses",
]
