"""multi_task: dict inputs, so its own value and gradient tests (the entry opts out of the generic ones)."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conformance.assertions import assert_matches_spec, to_numpy
from conformance.registry import LOSS_INFOS
from conformance.tolerances import tolerance_for
from lossopt import MultiTaskLoss, UncertaintyWeightedMultiTaskLoss, create_loss_function
from lossopt import functional as F
from lossopt_spec import losses as spec
from lossopt_spec.audit.bridge import TORCH_DTYPES

INFO = LOSS_INFOS["multi_task"]


def _tensors(arrays, dtype, device, grad):
    out = {}
    for task, value in arrays.items():
        if np.issubdtype(value.dtype, np.integer):
            out[task] = torch.tensor(value, device=device)
        else:
            out[task] = torch.tensor(value, dtype=TORCH_DTYPES[dtype], device=device).requires_grad_(grad)
    return out


def _numpy(tensors):
    return {k: to_numpy(v) if v.is_floating_point() else v.cpu().numpy() for k, v in tensors.items()}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@given(data=st.data())
def test_value_and_gradient_match_spec(dtype, device, data):
    drawn = data.draw(INFO.inputs, label="inputs")
    predictions = _tensors(drawn["predictions"], dtype, device, grad=True)
    targets = _tensors(drawn["targets"], dtype, device, grad=False)
    value = INFO.torch_fn(predictions, targets, drawn["loss_weights"], drawn["task_losses"])
    spec_args = (_numpy(predictions), _numpy(targets), drawn["loss_weights"], drawn["task_losses"])
    call = (
        f"multi_task_loss(tasks={list(predictions)}, loss_weights={drawn['loss_weights']}, "
        f"task_losses={drawn['task_losses']})"
    )
    context = {"dtype": dtype, "device": device}
    tolerance = tolerance_for(dtype, "value", INFO.tolerance_overrides)
    assert_matches_spec(
        value,
        INFO.spec.value(*spec_args),
        entry="multi_task",
        check="value",
        tolerance=tolerance,
        context=context,
        call=call,
    )
    grads = torch.autograd.grad(value, list(predictions.values()), allow_unused=True)
    expected = INFO.spec.grad(*spec_args)
    for (task, prediction), got in zip(predictions.items(), grads, strict=True):
        assert_matches_spec(
            torch.zeros_like(prediction) if got is None else got,
            expected[task],
            entry="multi_task",
            check=f"grad[{task}]",
            tolerance=tolerance_for(dtype, "grad", INFO.tolerance_overrides),
            context=context,
            call=call,
        )


@given(data=st.data())
def test_equals_the_weighted_sum_of_its_parts(data):
    drawn = data.draw(INFO.inputs, label="inputs")
    predictions = _tensors(drawn["predictions"], "float64", "cpu", grad=False)
    targets = _tensors(drawn["targets"], "float64", "cpu", grad=False)
    parts = {
        "classification": torch.nn.functional.cross_entropy,
        "regression_box": torch.nn.functional.mse_loss,
        "segmentation": torch.nn.functional.binary_cross_entropy_with_logits,
        "depth": torch.nn.functional.mse_loss,
        "mask": F.dice_loss,
    }
    expected = sum(drawn["loss_weights"][t] * parts[t](predictions[t], targets[t]) for t in predictions)
    value = F.multi_task_loss(predictions, targets, drawn["loss_weights"], drawn["task_losses"])
    torch.testing.assert_close(value, torch.as_tensor(expected, dtype=torch.float64), rtol=1e-12, atol=1e-12)
    module = MultiTaskLoss(drawn["loss_weights"], drawn["task_losses"])
    torch.testing.assert_close(module(predictions, targets), value)


BAD = [
    ({"seg_mask": 0}, {"seg_mask": 0}, {"seg_mask": 1.0}, None),
    ({"regression": 0}, {"regression": 0}, {"regression": 1.0, "depth": 1.0}, None),
    ({"regression": 0, "depth": 0}, {"regression": 0, "depth": 0}, {"regression": 1.0}, {"depth": "mse"}),
    ({"regression": 0}, {"regression_x": 0}, {"regression": 1.0}, None),
    ({"regression": 0}, {"regression": 0}, {"regression": -1.0}, None),
    ({"depth": 0}, {"depth": 0}, {"depth": 1.0}, {"depth": "not_a_loss"}),
    ({"depth": 0}, {"depth": 0}, {"depth": 1.0}, {"mask": "dice"}),
    ({}, {}, {}, None),
]


@pytest.mark.parametrize(("predictions", "targets", "weights", "task_losses"), BAD)
def test_bad_tasks_give_the_same_value_error_on_both_sides(predictions, targets, weights, task_losses):
    with pytest.raises(ValueError) as spec_error:
        spec.multi_task_loss(predictions, targets, weights, task_losses)
    with pytest.raises(ValueError) as torch_error:
        F.multi_task_loss(predictions, targets, weights, task_losses)
    if "valid names" in str(spec_error.value):  # the two registries list the same names (test_registry)
        assert str(torch_error.value).split(";")[0] == str(spec_error.value).split(";")[0]
    else:
        assert str(torch_error.value) == str(spec_error.value)


def test_uncertainty_weighting_matches_spec_and_learns_log_variances():
    loss = UncertaintyWeightedMultiTaskLoss(
        ["regression", "depth"], task_losses={"depth": "mse"}, init_log_variance=0.3
    )
    predictions = {"regression": torch.tensor([[2.0, 1.0]]), "depth": torch.tensor([[0.5, -0.5]])}
    targets = {"regression": torch.zeros(1, 2), "depth": torch.zeros(1, 2)}
    value = loss(predictions, targets)
    value.backward()
    task_values = np.array([2.5, 0.25])  # MSE: (4 + 1) / 2, (0.25 + 0.25) / 2
    s = np.full(2, 0.3)
    np.testing.assert_allclose(float(value.detach()), spec.uncertainty_weighted_loss(task_values, s), rtol=1e-6)
    np.testing.assert_allclose(
        loss.log_variances.grad.numpy(), spec.uncertainty_weighted_loss_grad(task_values, s)[1], rtol=1e-6
    )
    assert [name for name, _ in loss.named_parameters()] == ["log_variances"]
    optimizer = torch.optim.SGD(loss.parameters(), lr=0.5)
    for _ in range(200):
        optimizer.zero_grad()
        loss(predictions, targets).backward()
        optimizer.step()
    np.testing.assert_allclose(loss.log_variances.detach().numpy(), np.log(task_values), atol=1e-3)  # optimum s = log L


def test_factory_builds_multi_task_with_named_losses():
    module = create_loss_function("multi_task", loss_weights={"mask": 1.0}, task_losses={"mask": "dice"})
    assert isinstance(module, MultiTaskLoss)
    assert "mask" in module.task_modules
