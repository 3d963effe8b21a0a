"""``nn.Module`` wrappers of the functional losses, configured once and called like torch's losses.

One module per family of :mod:`lossopt.functional`; every class is importable from here and from
:mod:`lossopt`.
"""

from lossopt.nn.classification import (
    CrossEntropyLoss,
    FocalLoss,
    HingeLoss,
    LinearCrossEntropyLoss,
    SigmoidFocalLoss,
)
from lossopt.nn.embedding import ContrastiveLoss, CosineEmbeddingLoss, KLDivergenceLoss, TripletLoss
from lossopt.nn.multitask import MultiTaskLoss, UncertaintyWeightedMultiTaskLoss
from lossopt.nn.regression import HuberLoss, LogCoshLoss, MAELoss, MSELoss, QuantileLoss
from lossopt.nn.segmentation import BCEDiceLoss, DiceLoss, FocalDiceLoss, IoULoss, TverskyLoss

__all__ = [
    "BCEDiceLoss",
    "ContrastiveLoss",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "DiceLoss",
    "FocalDiceLoss",
    "FocalLoss",
    "HingeLoss",
    "HuberLoss",
    "IoULoss",
    "KLDivergenceLoss",
    "LinearCrossEntropyLoss",
    "LogCoshLoss",
    "MAELoss",
    "MSELoss",
    "MultiTaskLoss",
    "QuantileLoss",
    "SigmoidFocalLoss",
    "TripletLoss",
    "TverskyLoss",
    "UncertaintyWeightedMultiTaskLoss",
]
