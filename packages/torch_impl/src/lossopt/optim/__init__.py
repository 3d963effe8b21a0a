"""Optimizers; each module mirrors the spec module of the same name in ``lossopt_spec.optim``."""

from lossopt.optim.adabelief import AdaBelief
from lossopt.optim.radam import RAdam
from lossopt.optim.sgd import SGD

__all__ = ["SGD", "AdaBelief", "RAdam"]
