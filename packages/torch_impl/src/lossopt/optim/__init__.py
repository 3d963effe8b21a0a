"""Optimizers; each module mirrors the spec module of the same name in ``lossopt_spec.optim``."""

from lossopt.optim.adabelief import AdaBelief
from lossopt.optim.adam import AdvancedAdam, AdvancedAdamW
from lossopt.optim.radam import RAdam
from lossopt.optim.sgd import SGD, AdvancedSGD

__all__ = ["SGD", "AdaBelief", "AdvancedAdam", "AdvancedAdamW", "AdvancedSGD", "RAdam"]
