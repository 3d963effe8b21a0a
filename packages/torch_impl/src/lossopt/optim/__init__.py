"""Optimizers: each rule's module mirrors the spec module of the same name in ``lossopt_spec.optim``.

The rules (:mod:`~lossopt.optim.adam`, :mod:`~lossopt.optim.sgd`, :mod:`~lossopt.optim.radam`,
:mod:`~lossopt.optim.adabelief`, :mod:`~lossopt.optim.muon`, :mod:`~lossopt.optim.schedule_free_adamw`,
:mod:`~lossopt.optim.schedule_free_sgd`, :mod:`~lossopt.optim.lion`, :mod:`~lossopt.optim.adopt`) hold their
hyperparameters, per-step scalars and
per-tensor update;
:mod:`lossopt.optim.base` the torch.optim glue they share; :mod:`lossopt.optim.kernels` the ways an
update runs (per tensor, ``torch._foreach_*``, torch's fused kernels, lossopt's CPU kernels, compiled).
"""

from lossopt.optim.adabelief import AdaBelief
from lossopt.optim.adam import Adam, AdamW, AdvancedAdam, AdvancedAdamW
from lossopt.optim.adopt import ADOPT
from lossopt.optim.lion import Lion
from lossopt.optim.muon import Muon
from lossopt.optim.radam import RAdam
from lossopt.optim.schedule_free_adamw import ScheduleFreeAdamW
from lossopt.optim.schedule_free_sgd import ScheduleFreeSGD
from lossopt.optim.sgd import SGD, AdvancedSGD

__all__ = [
    "ADOPT",
    "SGD",
    "AdaBelief",
    "Adam",
    "AdamW",
    "AdvancedAdam",
    "AdvancedAdamW",
    "AdvancedSGD",
    "Lion",
    "Muon",
    "RAdam",
    "ScheduleFreeAdamW",
    "ScheduleFreeSGD",
]
