"""Hypothesis strategies for the multi-task loss: dicts of per-task predictions, targets, weights and losses."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conformance.strategies.common import float_arrays


@st.composite
def multi_task_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """Predictions, targets, weights and task losses for 1 to 4 tasks: the prefix rule and named losses."""
    n = draw(st.integers(1, 4))
    tasks = draw(
        st.lists(
            st.sampled_from(["classification", "regression_box", "segmentation", "depth", "mask"]),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    predictions: dict[str, np.ndarray] = {}
    targets: dict[str, np.ndarray] = {}
    for task in tasks:
        if task == "classification":
            c = draw(st.integers(1, 4))
            predictions[task] = draw(float_arrays((n, c), bound=5.0))
            targets[task] = draw(arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
        elif task in ("segmentation", "mask"):
            predictions[task] = draw(float_arrays((n, 3), bound=5.0))
            targets[task] = draw(arrays(np.float64, (n, 3), elements=st.sampled_from([0.0, 1.0])))
        else:
            predictions[task] = draw(float_arrays((n, 2), bound=5.0))
            targets[task] = draw(float_arrays((n, 2), bound=5.0))
    weights = {task: draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])) for task in tasks}
    named = {task: loss for task, loss in (("depth", "mse"), ("mask", "dice")) if task in tasks}
    return {"predictions": predictions, "targets": targets, "loss_weights": weights, "task_losses": named}
