"""Optimizer update rules, one family per module, registered by name in :data:`OPTIMIZERS`."""

from lossopt_spec.optim.adabelief import ADABELIEF_RULE, adabelief_init, adabelief_update
from lossopt_spec.optim.adam import ADAM_RULE, ADAMW_RULE, adam_init, adam_update
from lossopt_spec.optim.adopt import ADOPT_RULE, adopt_init, adopt_update
from lossopt_spec.optim.clip import clip_coefficient, global_grad_norm, update_groups
from lossopt_spec.optim.lion import LION_RULE, lion_init, lion_update
from lossopt_spec.optim.muon import MUON_RULE, muon_init, muon_update, newton_schulz
from lossopt_spec.optim.radam import RADAM_RULE, radam_init, radam_update
from lossopt_spec.optim.rule import UpdateRule
from lossopt_spec.optim.schedule import lr_factor, scheduled_lr
from lossopt_spec.optim.schedule_free_adamw import SCHEDULE_FREE_ADAMW_RULE
from lossopt_spec.optim.schedule_free_sgd import SCHEDULE_FREE_SGD_RULE
from lossopt_spec.optim.sgd import SGD_RULE, sgd_init, sgd_update

OPTIMIZERS: dict[str, UpdateRule] = {
    "sgd": SGD_RULE,
    "adamw": ADAMW_RULE,
    "adam": ADAM_RULE,
    "radam": RADAM_RULE,
    "adabelief": ADABELIEF_RULE,
    "muon": MUON_RULE,
    "schedule_free_adamw": SCHEDULE_FREE_ADAMW_RULE,
    "schedule_free_sgd": SCHEDULE_FREE_SGD_RULE,
    "lion": LION_RULE,
    "adopt": ADOPT_RULE,
}

__all__ = [
    "ADABELIEF_RULE",
    "ADAMW_RULE",
    "ADAM_RULE",
    "ADOPT_RULE",
    "LION_RULE",
    "MUON_RULE",
    "OPTIMIZERS",
    "RADAM_RULE",
    "SCHEDULE_FREE_ADAMW_RULE",
    "SCHEDULE_FREE_SGD_RULE",
    "SGD_RULE",
    "UpdateRule",
    "adabelief_init",
    "adabelief_update",
    "adam_init",
    "adam_update",
    "adopt_init",
    "adopt_update",
    "clip_coefficient",
    "global_grad_norm",
    "lion_init",
    "lion_update",
    "lr_factor",
    "muon_init",
    "muon_update",
    "newton_schulz",
    "radam_init",
    "radam_update",
    "scheduled_lr",
    "sgd_init",
    "sgd_update",
    "update_groups",
]
