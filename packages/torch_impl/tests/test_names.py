"""lossopt.names and the tables built on it: one name per loss, read loosely by the factory and exactly by
the multi-task losses."""

import pytest
import torch

import lossopt
import lossopt.factory
from lossopt import functional as F
from lossopt.functional import registry as functional_registry
from lossopt.names import LOSS_ALIASES, LOSS_NAMES, canonical_name, lookup, task_loss_name
from lossopt.nn import registry as nn_registry


def test_the_registries_hold_the_names_in_their_order():
    assert tuple(lossopt.LOSSES) == LOSS_NAMES
    assert tuple(functional_registry.TASK_LOSSES) == tuple(nn_registry.TASK_LOSSES) == LOSS_NAMES[:-1]
    assert LOSS_NAMES[-1] == "multi_task"


@pytest.mark.parametrize("name", LOSS_NAMES[:-1])
def test_a_name_is_its_functional_and_its_module(name):
    assert functional_registry.TASK_LOSSES[name] is getattr(F, f"{name}_loss")
    assert lossopt.LOSSES[name] is nn_registry.TASK_LOSSES[name]


def test_the_factory_reads_names_through_lossopt_names():
    assert lossopt.factory.LOSS_ALIASES is LOSS_ALIASES
    assert lossopt.factory.canonical_name is canonical_name
    assert lookup("loss", "BCE-Dice", lossopt.LOSSES, LOSS_ALIASES) is lossopt.BCEDiceLoss
    assert lookup("loss", "kl", lossopt.LOSSES, LOSS_ALIASES) is lossopt.KLDivergenceLoss


@pytest.mark.parametrize("name", ["l2", "MSE", "bce-dice", "not_a_loss"])
def test_a_task_names_its_loss_exactly(name):
    with pytest.raises(ValueError, match=rf"unknown loss '{name}' for task 'depth'; valid names: bce_dice, "):
        task_loss_name("depth", name)


def test_the_multi_task_loss_is_no_tasks_loss():
    message = r"task 'depth' names the loss 'multi_task', which combines tasks with loss_weights of its own"
    with pytest.raises(TypeError, match=message):
        task_loss_name("depth", "multi_task")
    predictions, targets = {"depth": torch.zeros(2)}, {"depth": torch.zeros(2)}
    with pytest.raises(TypeError, match=message):
        F.multi_task_loss(predictions, targets, {"depth": 1.0}, {"depth": "multi_task"})
    with pytest.raises(TypeError, match=message):
        lossopt.MultiTaskLoss({"depth": 1.0}, {"depth": "multi_task"})


def test_a_named_task_loss_is_the_functional_with_its_defaults():
    predictions, targets = {"mask": torch.randn(2, 1, 4, 4)}, {"mask": (torch.rand(2, 1, 4, 4) > 0.5).float()}
    value = F.multi_task_loss(predictions, targets, {"mask": 2.0}, {"mask": "dice"})
    torch.testing.assert_close(value, 2.0 * F.dice_loss(predictions["mask"], targets["mask"]), rtol=0, atol=0)
    module = lossopt.MultiTaskLoss({"mask": 2.0}, {"mask": "dice"})
    assert isinstance(module.task_modules["mask"], lossopt.DiceLoss)
    torch.testing.assert_close(module(predictions, targets), value, rtol=0, atol=0)
