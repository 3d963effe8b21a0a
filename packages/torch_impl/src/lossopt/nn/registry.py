"""The loss modules a task of :class:`~lossopt.MultiTaskLoss` can name: every loss but the multi-task one.

Keys are :data:`lossopt.names.LOSS_NAMES` but ``"multi_task"``, in that order; ``lossopt.LOSSES`` is
this table plus the multi-task loss. It sits below :mod:`lossopt.nn.multitask`, which builds its
tasks' named losses from it.
"""

from __future__ import annotations

from torch import nn

from lossopt.nn.classification import (
    CrossEntropyLoss,
    FocalLoss,
    HingeLoss,
    LinearCrossEntropyLoss,
    SigmoidFocalLoss,
)
from lossopt.nn.embedding import ContrastiveLoss, CosineEmbeddingLoss, KLDivergenceLoss, TripletLoss
from lossopt.nn.regression import HuberLoss, LogCoshLoss, MAELoss, MSELoss, QuantileLoss
from lossopt.nn.segmentation import BCEDiceLoss, DiceLoss, FocalDiceLoss, IoULoss, TverskyLoss

TASK_LOSSES: dict[str, type[nn.Module]] = {
    "mse": MSELoss,
    "sigmoid_focal": SigmoidFocalLoss,
    "mae": MAELoss,
    "huber": HuberLoss,
    "log_cosh": LogCoshLoss,
    "quantile": QuantileLoss,
    "cross_entropy": CrossEntropyLoss,
    "focal": FocalLoss,
    "hinge": HingeLoss,
    "dice": DiceLoss,
    "iou": IoULoss,
    "tversky": TverskyLoss,
    "bce_dice": BCEDiceLoss,
    "focal_dice": FocalDiceLoss,
    "contrastive": ContrastiveLoss,
    "triplet": TripletLoss,
    "cosine_embedding": CosineEmbeddingLoss,
    "kl_divergence": KLDivergenceLoss,
    "linear_cross_entropy": LinearCrossEntropyLoss,
}
