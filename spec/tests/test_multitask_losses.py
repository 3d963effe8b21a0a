"""The spec's multi-task losses: weighted sums, the prefix rule as a default only, errors, uncertainty weighting."""

import numpy as np
import pytest
from finite_differences import central_difference

from lossopt_spec.losses import (
    LOSSES,
    dice_loss,
    mse_loss,
    multi_task_loss,
    multi_task_loss_grad,
    uncertainty_weighted_loss,
    uncertainty_weighted_loss_grad,
)

RNG = np.random.default_rng(0)
PREDICTIONS = {
    "classification": RNG.standard_normal((4, 3)),
    "regression": RNG.standard_normal((4, 2)),
    "segmentation_mask": RNG.standard_normal((4, 5)),
    "depth": RNG.standard_normal((4, 5)),
}
TARGETS = {
    "classification": np.array([0, 2, 1, 2]),
    "regression": RNG.standard_normal((4, 2)),
    "segmentation_mask": (RNG.random((4, 5)) > 0.5).astype(float),
    "depth": (RNG.random((4, 5)) > 0.5).astype(float),
}
WEIGHTS = {"classification": 1.0, "regression": 0.5, "segmentation_mask": 2.0, "depth": 0.25}


def test_weighted_sum_of_the_prefix_rule_and_named_losses_by_hand():
    x, t = PREDICTIONS["classification"], TARGETS["classification"]
    ce = np.mean(np.log(np.exp(x).sum(axis=1)) - x[np.arange(4), t])
    xs, ts = PREDICTIONS["segmentation_mask"], TARGETS["segmentation_mask"]
    bce = np.mean(np.log1p(np.exp(xs)) - xs * ts)
    expected = (
        1.0 * ce
        + 0.5 * mse_loss(PREDICTIONS["regression"], TARGETS["regression"])
        + 2.0 * bce
        + 0.25 * dice_loss(PREDICTIONS["depth"], TARGETS["depth"])
    )
    got = multi_task_loss(PREDICTIONS, TARGETS, WEIGHTS, {"depth": "dice"})
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_explicit_mapping_overrides_the_prefix():
    # "regression" named as dice: the mapping wins over the name's prefix
    one = {"regression": PREDICTIONS["depth"]}, {"regression": TARGETS["depth"]}, {"regression": 1.0}
    np.testing.assert_allclose(
        multi_task_loss(*one, {"regression": "dice"}), dice_loss(PREDICTIONS["depth"], TARGETS["depth"])
    )
    np.testing.assert_allclose(
        multi_task_loss(*one, {"regression": LOSSES["dice"]}), multi_task_loss(*one, {"regression": "dice"})
    )


def test_gradient_per_task_matches_central_differences():
    grads = multi_task_loss_grad(PREDICTIONS, TARGETS, WEIGHTS, {"depth": "dice"}, grad_output=np.asarray(1.5))
    for task, prediction in PREDICTIONS.items():

        def along(value, task=task):
            return 1.5 * float(multi_task_loss({**PREDICTIONS, task: value}, TARGETS, WEIGHTS, {"depth": "dice"}))

        np.testing.assert_allclose(grads[task], central_difference(along, prediction), rtol=1e-6, atol=1e-8)


def test_a_bare_callable_has_a_value_but_no_spec_gradient():
    one = {"depth": PREDICTIONS["depth"]}, {"depth": TARGETS["depth"]}, {"depth": 2.0}
    np.testing.assert_allclose(multi_task_loss(*one, {"depth": lambda p, t: np.sum(p)}), 2 * PREDICTIONS["depth"].sum())
    with pytest.raises(TypeError, match=r"task 'depth': a bare callable has no spec gradient"):
        multi_task_loss_grad(*one, {"depth": lambda p, t: np.sum(p)})


@pytest.mark.parametrize(
    ("predictions", "targets", "weights", "task_losses", "message"),
    [
        # the design gives a task whose name has no known prefix ("seg_mask") the MSE loss silently
        (
            {"seg_mask": 1},
            {"seg_mask": 1},
            {"seg_mask": 1.0},
            None,
            r"no loss for task 'seg_mask': name it in task_losses",
        ),
        (
            {"regression": 1},
            {"regression": 1},
            {"regression": 1.0, "depth": 1.0},
            None,
            r"loss_weights has task\(s\) \['depth'\] with no prediction; tasks with predictions: \['regression'\]",
        ),
        (
            {"regression": 1, "depth": 1},
            {"regression": 1, "depth": 1},
            {"regression": 1.0},
            {"depth": "mse"},
            r"loss_weights has no weight for task\(s\) \['depth'\]",
        ),
        (
            {"regression": 1},
            {"regression_x": 1},
            {"regression": 1.0},
            None,
            r"targets must have the tasks of predictions",
        ),
        (
            {"regression": 1},
            {"regression": 1},
            {"regression": -1.0},
            None,
            r"loss_weights\['regression'\] must be >= 0; got -1.0",
        ),
        (
            {"depth": 1},
            {"depth": 1},
            {"depth": 1.0},
            {"depth": "l2"},
            r"unknown loss 'l2' for task 'depth'; valid names: ",
        ),
        (
            {"depth": 1},
            {"depth": 1},
            {"depth": 1.0},
            {"mask": "dice"},
            r"task_losses names task\(s\) \['mask'\] with no prediction",
        ),
        ({}, {}, {}, None, r"predictions must hold at least one task; got an empty dict"),
    ],
)
def test_unmatched_or_unknown_tasks_are_errors(predictions, targets, weights, task_losses, message):
    with pytest.raises(ValueError, match=message):
        multi_task_loss(predictions, targets, weights, task_losses)


def test_uncertainty_weighting_value_gradient_and_optimum():
    values, s = np.array([2.0, 0.5, 3.0]), np.array([0.0, -1.0, 0.7])
    np.testing.assert_allclose(uncertainty_weighted_loss(values, s), np.sum(0.5 * np.exp(-s) * values + 0.5 * s))
    g_values, g_s = uncertainty_weighted_loss_grad(values, s)
    np.testing.assert_allclose(
        g_s, central_difference(lambda v: float(uncertainty_weighted_loss(values, v)), s), rtol=1e-8
    )
    np.testing.assert_allclose(
        g_values, central_difference(lambda v: float(uncertainty_weighted_loss(v, s)), values), rtol=1e-8
    )
    # the minimum over s is at s = log L
    _, at_optimum = uncertainty_weighted_loss_grad(values, np.log(values))
    np.testing.assert_allclose(at_optimum, 0.0, atol=1e-15)
    with pytest.raises(ValueError, match=r"same shape; got \(3,\) and \(2,\)"):
        uncertainty_weighted_loss(values, s[:2])
