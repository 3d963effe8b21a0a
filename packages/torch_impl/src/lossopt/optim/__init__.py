"""Optimizers; each module mirrors the spec module of the same name in ``lossopt_spec.optim``."""

from lossopt.optim.adam import AdvancedAdam, AdvancedAdamW
from lossopt.optim.sgd import SGD, AdvancedSGD

__all__ = ["SGD", "AdvancedAdam", "AdvancedAdamW", "AdvancedSGD"]
