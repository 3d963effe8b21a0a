"""Bad inputs: lossopt and the spec refuse them with the same ValueError, naming argument, value and range.

Each case: (entry, inputs as NumPy arrays, keyword arguments, a fragment the message must contain).
"""

import numpy as np
import pytest

from conformance.loss_harness import torch_inputs
from conformance.registry import LOSS_INFOS

Z2, Z23 = np.zeros(2), np.zeros((2, 3))
I2 = np.zeros(2, dtype=np.int64)

CASES = [
    ("cross_entropy", {"predictions": Z23, "targets": np.array([0, 3])}, {}, "got 3 at index (1,)"),
    ("cross_entropy", {"predictions": Z23, "targets": np.array([-1, 0])}, {}, "or ignore_index=-100; got -1"),
    ("cross_entropy", {"predictions": Z23, "targets": np.zeros(3, dtype=np.int64)}, {}, "got targets (3,)"),
    ("cross_entropy", {"predictions": Z23, "targets": np.full((2, 3), 1.5)}, {}, "in [0, 1]; got 1.5 at index (0, 0)"),
    ("cross_entropy", {"predictions": Z23, "targets": I2, "weight": Z2}, {}, "weight must have shape (C,) = (3,)"),
    ("cross_entropy", {"predictions": Z23, "targets": I2}, {"label_smoothing": -0.1}, "label_smoothing must be"),
    ("focal", {"predictions": Z23, "targets": np.array([0, 5])}, {}, "class indices in [0, 3)"),
    ("focal", {"predictions": Z23, "targets": I2}, {"gamma": -0.5}, "gamma must be a finite number >= 0; got -0.5"),
    ("focal", {"predictions": Z23, "targets": I2, "alpha": np.array([1.0, -2.0, 1.0])}, {}, "got -2.0 at index (1,)"),
    ("focal", {"predictions": Z23, "targets": I2}, {"alpha": -1.0}, "alpha must be a finite number >= 0"),
    ("focal", {"predictions": Z23, "targets": np.zeros(2)}, {}, "focal_loss takes class-index targets"),
    ("sigmoid_focal", {"predictions": Z2, "targets": np.array([0.0, 2.0])}, {}, "got 2.0 at index (1,)"),
    ("sigmoid_focal", {"predictions": Z2, "targets": Z2}, {"gamma": -1.0}, "gamma must be"),
    ("sigmoid_focal", {"predictions": Z2, "targets": Z2}, {"alpha": 1.5}, "alpha must be a number in [0, 1] or None"),
    ("sigmoid_focal", {"predictions": Z2, "targets": np.zeros(3)}, {}, "predictions (2,) and targets (3,)"),
    ("hinge", {"predictions": Z2, "targets": np.array([2.0, 1.0])}, {}, "in {-1, 1} or {0, 1}; got 2.0 at index (0,)"),
    ("hinge", {"predictions": Z23, "targets": np.array([0, 3])}, {}, "class indices in [0, 3); got 3"),
    ("hinge", {"predictions": Z2, "targets": Z2}, {"margin": -1.0}, "margin must be a finite number >= 0"),
    ("hinge", {"predictions": Z23, "targets": np.zeros(3)}, {}, "got predictions (2, 3) and targets (3,)"),
    ("mse", {"predictions": Z2, "targets": np.zeros(3)}, {}, "predictions (2,) and targets (3,)"),
    ("mae", {"predictions": Z23, "targets": Z2}, {}, "predictions (2, 3) and targets (2,)"),
    ("huber", {"predictions": Z2, "targets": Z2}, {"delta": 0.0}, "delta must be a finite number > 0; got 0.0"),
    ("huber", {"predictions": Z2, "targets": Z2}, {"delta": float("inf")}, "got inf"),
    ("log_cosh", {"predictions": Z2, "targets": np.zeros((2, 1))}, {}, "and targets (2, 1)"),
    ("quantile", {"predictions": Z2, "targets": Z2}, {"quantile": 1.0}, "in the open interval (0, 1); got 1.0"),
    ("quantile", {"predictions": Z23, "targets": Z2}, {"quantile": [0.1, 0.5, 0.0]}, "got 0.0 at index 2"),
    ("quantile", {"predictions": Z23, "targets": Z2}, {"quantile": [0.1, 0.9]}, "with 2 quantiles, predictions must"),
    *[
        (
            "linear_cross_entropy",
            {"input": Z23, "linear_weight": np.zeros((4, 3)), "target": I2, **arrays},
            kwargs,
            fragment,
        )
        for arrays, kwargs, fragment in [
            ({"input": np.zeros((2, 3, 1))}, {}, "got input (2, 3, 1)"),
            ({"linear_weight": np.zeros((4, 2))}, {}, "with D = 3 for input (2, 3); got linear_weight (4, 2)"),
            ({"linear_weight": np.zeros((0, 3))}, {}, "at least one row (class)"),
            ({"linear_bias": np.zeros(3)}, {}, "linear_bias must have shape (V,) = (4,) for linear_weight (4, 3)"),
            ({"weight": np.zeros(5)}, {}, "weight must have shape (V,) = (4,)"),
            ({"target": np.zeros(2)}, {}, "target must be class indices (an integer array;"),
            ({"target": np.zeros(3, dtype=np.int64)}, {}, "got target (3,)"),
            ({"target": np.array([0, 4])}, {}, "got 4 at index (1,)"),
            ({"target": np.array([-3, 0])}, {}, "or ignore_index=-100; got -3 at index (0,)"),
            ({}, {"label_smoothing": -0.1}, "label_smoothing must be"),
            ({}, {"softcap": -1.0}, "softcap must be None or a finite number > 0; got -1.0"),
            ({}, {"z_loss": float("nan")}, "z_loss must be a finite number >= 0; got nan"),
            ({}, {"chunk_size": 0}, "chunk_size must be None or an integer >= 1; got 0"),
            ({}, {"reduction": "avg"}, "'avg'"),
        ]
    ],
]


@pytest.mark.parametrize(("name", "inputs", "kwargs", "fragment"), CASES, ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_bad_input_is_the_same_value_error_on_both_sides(name, inputs, kwargs, fragment):
    info = LOSS_INFOS[name]
    with pytest.raises(ValueError) as spec_error:
        info.spec.value(**inputs, **kwargs)
    with pytest.raises(ValueError) as torch_error:
        info.torch_fn(**torch_inputs(info, inputs, "float64", "cpu"), **kwargs)
    assert fragment in str(spec_error.value), str(spec_error.value)
    assert str(torch_error.value) == str(spec_error.value)


def test_every_loss_has_a_bad_input_case():
    # the segmentation, embedding and multi-task entries keep their bad-input tables beside their invariants
    from conformance import test_embedding_invariants, test_segmentation_invariants

    elsewhere = {case[0] for case in test_segmentation_invariants.BAD_INPUTS + test_embedding_invariants.BAD_INPUTS}
    covered = {case[0] for case in CASES} | elsewhere | {"multi_task"}  # multi_task: test_multitask.py::BAD
    missing = sorted(set(LOSS_INFOS) - covered)
    assert not missing, f"no bad-input case for {missing}"
