"""Optimizer update rules, one family per module, registered by name in :data:`OPTIMIZERS`."""

from lossopt_spec.optim.adabelief import ADABELIEF_RULE, adabelief_init, adabelief_update
from lossopt_spec.optim.radam import RADAM_RULE, radam_init, radam_update
from lossopt_spec.optim.rule import UpdateRule
from lossopt_spec.optim.sgd import SGD_RULE, sgd_init, sgd_update

OPTIMIZERS: dict[str, UpdateRule] = {
    "sgd": SGD_RULE,
    "radam": RADAM_RULE,
    "adabelief": ADABELIEF_RULE,
}

__all__ = [
    "ADABELIEF_RULE",
    "OPTIMIZERS",
    "RADAM_RULE",
    "SGD_RULE",
    "UpdateRule",
    "adabelief_init",
    "adabelief_update",
    "radam_init",
    "radam_update",
    "sgd_init",
    "sgd_update",
]
