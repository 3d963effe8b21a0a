"""lossopt_spec.losses.registry: the loss names, each found as <name>_loss / <name>_loss_grad, and the
exact names a task of the multi-task loss can use."""

import numpy as np
import pytest

import lossopt_spec
from lossopt_spec import losses
from lossopt_spec.losses import classification, regression
from lossopt_spec.losses.registry import LOSS_NAMES, TASK_LOSSES, find_loss, task_loss, task_loss_name


def test_the_registry_holds_the_names_in_their_order():
    assert tuple(lossopt_spec.LOSSES) == LOSS_NAMES
    assert tuple(TASK_LOSSES) == LOSS_NAMES[:-1]


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_a_name_is_its_value_and_gradient(name):
    spec = lossopt_spec.LOSSES[name]
    assert spec.value is getattr(losses, f"{name}_loss")
    assert spec.grad is getattr(losses, f"{name}_loss_grad")


def test_find_loss_searches_the_families_in_order_and_names_what_is_missing():
    assert find_loss("hinge", (regression, classification)).value is classification.hinge_loss
    with pytest.raises(LookupError, match="defines tversky_loss"):
        find_loss("tversky", (regression, classification))


@pytest.mark.parametrize("name", ["l2", "MSE", "bce-dice"])
def test_a_task_names_its_loss_exactly(name):
    with pytest.raises(ValueError, match=rf"unknown loss '{name}' for task 'depth'; valid names: bce_dice, "):
        task_loss_name("depth", name)


def test_the_multi_task_loss_is_no_tasks_loss():
    message = r"task 'depth' names the loss 'multi_task', which combines tasks with loss_weights of its own"
    with pytest.raises(TypeError, match=message):
        task_loss("depth", "multi_task")
    one = {"depth": np.zeros(2)}
    with pytest.raises(TypeError, match=message):
        losses.multi_task_loss(one, one, {"depth": 1.0}, {"depth": "multi_task"})
    with pytest.raises(TypeError, match=message):
        losses.multi_task_loss_grad(one, one, {"depth": 1.0}, {"depth": "multi_task"})
