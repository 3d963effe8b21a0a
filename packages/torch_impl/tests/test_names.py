"""lossopt.names and the tables built on it: one name per loss, read loosely (case, ``-``, aliases) by the
factory and by the multi-task losses alike."""

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


@pytest.mark.parametrize("name", ["not_a_loss", "l3", "bce_dic", ""])
def test_a_task_refuses_a_name_the_factory_refuses(name):
    with pytest.raises(ValueError, match=rf"unknown loss '{name}' for task 'depth'; valid names: bce_dice, "):
        task_loss_name("depth", name)
    with pytest.raises(ValueError, match=rf"unknown loss '{name}'"):
        lossopt.create_loss_function(name)


@pytest.mark.parametrize(("name", "key"), [("l2", "mse"), ("MSE", "mse"), ("l1", "mae"), ("bce-dice", "bce_dice")])
def test_a_task_reads_a_loss_name_as_the_factory_does(name, key):
    assert task_loss_name("depth", name) == key
    assert type(lossopt.create_loss_function(name)) is lossopt.LOSSES[key]
    predictions, targets = {"depth": torch.tensor([0.0, 3.0])}, {"depth": torch.tensor([1.0, 1.0])}
    value = F.multi_task_loss(predictions, targets, {"depth": 1.0}, {"depth": name})
    expected = F.mse_loss if key == "mse" else F.mae_loss if key == "mae" else None
    if expected is not None:  # by hand: mse (1 + 4) / 2 = 2.5, mae (1 + 2) / 2 = 1.5
        assert float(value) == {"mse": 2.5, "mae": 1.5}[key]
        assert float(lossopt.MultiTaskLoss({"depth": 1.0}, {"depth": name})(predictions, targets)) == float(value)


def test_the_multi_task_loss_is_no_tasks_loss():
    message = r"task 'depth' names the loss 'multi_task', which combines tasks with loss_weights of its own"
    with pytest.raises(TypeError, match=message):
        task_loss_name("depth", "multi_task")
    with pytest.raises(TypeError, match=message.replace("multi_task", "MultiTask")):
        task_loss_name("depth", "MultiTask")
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
