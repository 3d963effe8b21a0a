"""Hypothesis strategies for the segmentation losses (Dice, IoU, Tversky, BCE + Dice, focal + Dice).

The options that depend on the arrays (mode, number of classes, class weights, ``ignore_index``,
``include_background``) are drawn with them, into the ``inputs`` dict; ``loss_harness`` passes
non-array values through and keeps integer class indices integer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conformance.strategies.common import float_arrays, shapes

IGNORE = 255
SMOOTHS = (1e-6, 0.5, 1.0)  # > 0: an all-ignored class is 0/0 at smooth = 0 (tested on its own)


@st.composite
def segmentation_inputs(
    draw: st.DrawFn, *, modes: tuple[str, ...] = ("binary", "multilabel", "multiclass"), bound: float = 8.0
) -> dict[str, Any]:
    """Logits, targets and the shape-dependent options of a segmentation loss."""
    mode = draw(st.sampled_from(modes))
    n = draw(st.integers(1, 3))
    c = 1 if mode == "binary" else draw(st.integers(1, 4))
    spatial = draw(shapes(min_dims=1, max_dims=2, max_side=4))
    shape = (n, *spatial) if mode == "binary" else (n, c, *spatial)
    logits = draw(float_arrays(shape, bound=bound))
    options: dict[str, Any] = {"mode": mode, "smooth": draw(st.sampled_from(SMOOTHS)), "batch": draw(st.booleans())}
    if mode == "multiclass":
        ignore = draw(st.booleans())
        labels = st.integers(0, c - 1) | st.just(IGNORE) if ignore else st.integers(0, c - 1)
        targets = draw(arrays(np.int64, (n, *spatial), elements=labels))
        options["ignore_index"] = IGNORE if ignore else None
    else:
        hard = draw(st.booleans())
        elements = st.sampled_from([0.0, 1.0]) if hard else st.floats(0.0, 1.0)
        targets = draw(arrays(np.float64, shape, elements=elements))
    options["include_background"] = True if c < 2 else draw(st.booleans())
    if draw(st.booleans()):
        options["weight"] = draw(arrays(np.float64, (c,), elements=st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0])))
    return {"predictions": logits, "targets": targets, **options}


def tversky_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    values = st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0])
    return st.fixed_dictionaries({"alpha": values, "beta": values, "gamma": st.sampled_from([1.0, 0.75, 2.0])})


def bce_dice_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    weights = st.sampled_from([0.0, 0.5, 1.0])
    return st.fixed_dictionaries({"bce_weight": weights, "dice_weight": weights})


def focal_dice_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    weights = st.sampled_from([0.0, 0.5, 1.0])
    return st.fixed_dictionaries(
        {
            "alpha": st.sampled_from([None, 0.25, 0.75]),
            "gamma": st.sampled_from([0.0, 0.5, 2.0]),
            "focal_weight": weights,
            "dice_weight": weights,
        }
    )
