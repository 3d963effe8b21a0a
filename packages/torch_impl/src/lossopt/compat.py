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
from lossopt._signatures import Namespace, Parameter, declared, keyword
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


def _design(doc: str, *inputs: str, extra: bool = True, **defaults: Any) -> Callable[..., torch.Tensor]:
    """The design method named as its functional, taking ``inputs`` (``predictions, targets`` unless
    given), then ``defaults`` (the design's arguments and defaults) and, with ``extra``, ``**kwargs``;
    each called by keyword, the inputs by position. Annotations are the functional's."""
    inputs = inputs or ("predictions", "targets")

    def signature(name: str) -> inspect.Signature:
        functional = inspect.signature(getattr(F, name))
        typed = {p.name: p.annotation for p in functional.parameters.values()}
        parameters = [keyword(n, annotation=typed.get(n, Parameter.empty)) for n in inputs]
        parameters += [keyword(n, default, typed.get(n, Parameter.empty)) for n, default in defaults.items()]
        if extra:
            parameters.append(Parameter("kwargs", Parameter.VAR_KEYWORD, annotation="Any"))
        return inspect.Signature(parameters, return_annotation=functional.return_annotation)

    def call(qualname: str, arguments: dict[str, Any]) -> torch.Tensor:
        given = tuple(arguments.pop(n) for n in inputs)
        kwargs = {**arguments.pop("kwargs", {}), **arguments}
        return _call(qualname, getattr(F, qualname.rpartition(".")[2]), given, kwargs)

    return declared(doc, signature, call)


class ClassificationLosses(Namespace):
    """The design document's classification losses (cross-entropy, focal, Dice, IoU, hinge)."""

    cross_entropy_loss = _design(
        ":func:`lossopt.functional` ``cross_entropy`` with the design's arguments.",
        extra=False,
        weight=None,
        ignore_index=-100,
        reduction="mean",
        label_smoothing=0.0,
    )
    focal_loss = _design(
        "Softmax focal loss (Lin et al. 2017) with the design's arguments.", alpha=1.0, gamma=2.0, reduction="mean"
    )
    dice_loss = _design("Dice loss on logits with the design's arguments.", smooth=1e-6, reduction="mean")
    iou_loss = _design("IoU (Jaccard) loss on logits.", smooth=1e-6, reduction="mean")
    hinge_loss = _design("Hinge loss with a margin.", margin=1.0, reduction="mean")


class RegressionLosses(Namespace):
    """The design document's regression losses (MSE, MAE, Huber, log-cosh, quantile)."""

    mse_loss = _design("Mean squared error.", extra=False, reduction="mean")
    mae_loss = _design("Mean absolute error.", extra=False, reduction="mean")
    huber_loss = _design(
        "Huber loss (true Huber for every ``delta``; the design's smooth-L1 form is Huber / delta).",
        extra=False,
        delta=1.0,
        reduction="mean",
    )
    log_cosh_loss = _design("log(cosh(residual)), computed without overflow.", extra=False, reduction="mean")
    quantile_loss = _design(
        "Pinball loss; ``quantile=0.9`` fits the 90th percentile (the design snippet fits the 10th).",
        extra=False,
        quantile=0.5,
        reduction="mean",
    )


class SegmentationLosses(Namespace):
    """The design document's segmentation losses (BCE+Dice, focal+Dice, Tversky, Dice, IoU)."""

    bce_dice_loss = _design(
        "``bce_weight * BCE + dice_weight * Dice`` on logits.", bce_weight=0.5, dice_weight=0.5, smooth=1e-6
    )
    focal_dice_loss = _design("Sigmoid focal loss + Dice loss on logits.", alpha=1.0, gamma=2.0, smooth=1e-6)
    tversky_loss = _design(
        "Tversky loss: ``alpha`` weights false positives, ``beta`` false negatives.", alpha=0.3, beta=0.7, smooth=1e-6
    )
    dice_loss = _design("Dice loss on logits.", smooth=1e-6, reduction="mean")
    iou_loss = _design("IoU (Jaccard) loss on logits.", smooth=1e-6, reduction="mean")


class CustomLosses(Namespace):
    """The design document's embedding, divergence and multi-task losses."""

    contrastive_loss = _design(
        "Contrastive loss over the pairs of a batch (see the functional for what each mode uses).",
        "embeddings",
        "labels",
        margin=1.0,
        temperature=0.1,
    )
    triplet_loss = _design("Triplet margin loss.", "anchor", "positive", "negative", margin=1.0)
    cosine_embedding_loss = _design("Cosine embedding loss (torch's conventions).", "x1", "x2", "y", margin=0.0)
    kl_divergence_loss = _design(
        "KL divergence with ``input`` as log-probabilities (torch's conventions).",
        "input",
        "target",
        reduction="batchmean",
        log_target=False,
    )
    multi_task_loss = _design(
        "Weighted sum of per-task losses; tasks are matched to losses as the functional documents.",
        "predictions",
        "targets",
        "loss_weights",
    )


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
