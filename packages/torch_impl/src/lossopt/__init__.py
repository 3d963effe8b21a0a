"""lossopt: PyTorch losses and optimizers that match an executable NumPy specification.

Functional losses live in :mod:`lossopt.functional`, their ``nn.Module`` wrappers in
:mod:`lossopt.nn`, optimizers in :mod:`lossopt.optim`; :func:`create_loss_function` and
:func:`create_optimizer` build any of them by its project-wide name.
"""

from typing import Any

from lossopt import functional
from lossopt.compat import ClassificationLosses, CustomLosses, RegressionLosses, SegmentationLosses
from lossopt.factory import LOSSES, OPTIMIZERS, create_loss_function, create_optimizer
from lossopt.nn import (
    BCEDiceLoss,
    ContrastiveLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    DiceLoss,
    FocalDiceLoss,
    FocalLoss,
    HingeLoss,
    HuberLoss,
    IoULoss,
    KLDivergenceLoss,
    LogCoshLoss,
    MAELoss,
    MSELoss,
    MultiTaskLoss,
    QuantileLoss,
    SigmoidFocalLoss,
    TripletLoss,
    TverskyLoss,
    UncertaintyWeightedMultiTaskLoss,
)
from lossopt.optim import (
    ADOPT,
    SGD,
    AdaBelief,
    Adam,
    AdamW,
    AdvancedAdam,
    AdvancedAdamW,
    AdvancedSGD,
    Lion,
    RAdam,
    ScheduleFreeAdamW,
    ScheduleFreeSGD,
)

__version__ = "0.1.0"

__all__ = [
    "ADOPT",
    "LOSSES",
    "OPTIMIZERS",
    "SGD",
    "AdaBelief",
    "Adam",
    "AdamW",
    "AdvancedAdam",
    "AdvancedAdamW",
    "AdvancedSGD",
    "BCEDiceLoss",
    "ClassificationLosses",
    "ContrastiveLoss",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "CustomLosses",
    "DiceLoss",
    "FocalDiceLoss",
    "FocalLoss",
    "HingeLoss",
    "HuberLoss",
    "IoULoss",
    "KLDivergenceLoss",
    "Lion",
    "LogCoshLoss",
    "MAELoss",
    "MSELoss",
    "MultiTaskLoss",
    "QuantileLoss",
    "RAdam",
    "RegressionLosses",
    "ScheduleFreeAdamW",
    "ScheduleFreeSGD",
    "SegmentationLosses",
    "SigmoidFocalLoss",
    "TripletLoss",
    "TverskyLoss",
    "UncertaintyWeightedMultiTaskLoss",
    "__version__",
    "create_loss_function",
    "create_optimizer",
    "functional",
]

_EXAMPLES = ("LossFunctionExamples", "OptimizationExamples", "TrainingExamples", "LossOptimizationAnalysis")


def __getattr__(name: str) -> Any:
    # The design document's example classes load on first use, so `import lossopt` stays light.
    if name in _EXAMPLES:
        from lossopt import examples

        return getattr(examples, name)
    raise AttributeError(f"module 'lossopt' has no attribute {name!r}")
