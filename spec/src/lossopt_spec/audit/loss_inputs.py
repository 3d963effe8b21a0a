"""The Hypothesis-drawn inputs of a loss audit: ``(predictions, targets)`` of each spec loss's domain.

One drawing per kind of loss (:data:`KIND_OF_LOSS` in :mod:`lossopt_spec.audit.loss_runner`):

- ``pair`` (mse, mae, huber, log_cosh, quantile): same-shape predictions and targets in
  [-100, 100]; quantile with a list of Q levels: predictions ``(*, Q)``, targets ``(*)``;
- ``binary`` (sigmoid_focal): logits in [-30, 30], targets hard 0/1 or soft in [0, 1];
- ``classes`` (cross_entropy, focal): logits ``(N, C[, d1[, d2]])`` in [-30, 30] with class indices
  ``(N[, d1[, d2]])`` (some ``ignore_index`` where the configuration sets one); cross_entropy also
  with class probabilities of the logits' shape;
- ``hinge``: scores with labels in {-1, 0, 1}, or multi-class scores with class indices;
- ``segmentation`` (dice, iou, tversky, bce_dice, focal_dice): logits in [-8, 8] in the
  configuration's ``mode`` (the spec's default, binary: ``(N, *spatial)``; multilabel: ``(N, C,
  *spatial)`` with masks; multiclass: ``(N, C, *spatial)`` with class indices);
- ``distributions`` (kl_divergence): log-probabilities ``(N, C)`` and a target distribution (its log
  with ``log_target``), some target entries exactly 0.

Small arrays (at most 32 elements) are drawn element by element so Hypothesis shrinks them;
larger ones (elementwise losses: up to 1,200 elements) from a drawn seed. ``min_dims``
(``--min-dims``) keeps the elementwise and segmentation inputs at that many dimensions or more,
for candidates that need ``(N, C, ...)``. The draw is the
spec's own (the conformance suite's strategies live in the repository, not in this package).

Imports Hypothesis: only a loss audit that runs imports this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

SMALL_LIMIT = 32
MIN_DIMS = "min_dims"  # the audit's option (not a spec hyperparameter) in the drawing's configuration


def _values(data: st.DataObject, shape: tuple[int, ...], bound: float, label: str) -> np.ndarray:
    """Floats in [-bound, bound]: element by element when small, from a drawn seed when large."""
    if int(np.prod(shape, dtype=np.int64)) <= SMALL_LIMIT:
        elements = st.floats(-bound, bound, allow_nan=False, allow_infinity=False, allow_subnormal=False)
        return data.draw(arrays(np.float64, shape, elements=elements), label=label)
    seed = data.draw(st.integers(0, 2**32 - 1), label=f"{label} seed")
    return np.random.default_rng(seed).uniform(-bound, bound, shape)


def _unit(data: st.DataObject, shape: tuple[int, ...], label: str) -> np.ndarray:
    """Targets in [0, 1]: hard 0/1 labels or soft ones."""
    if data.draw(st.booleans(), label=f"{label} hard"):
        return (_values(data, shape, 1.0, label) > 0).astype(np.float64)
    return np.asarray(np.abs(_values(data, shape, 1.0, label)))


def _indices(data: st.DataObject, shape: tuple[int, ...], classes: int, ignore: int | None, label: str) -> np.ndarray:
    elements = st.integers(0, classes - 1) if ignore is None else st.integers(0, classes - 1) | st.just(ignore)
    return data.draw(arrays(np.int64, shape, elements=elements), label=label)


def _elementwise_shape(data: st.DataObject, min_dims: int) -> tuple[int, ...]:
    if data.draw(st.booleans(), label="large") and min_dims <= 1:
        return (data.draw(st.integers(SMALL_LIMIT + 1, 1200), label="size"),)
    dims = max(min_dims, 0)
    return tuple(data.draw(array_shapes(min_dims=dims, max_dims=max(3, dims), min_side=1, max_side=4), label="shape"))


def _logits_shape(data: st.DataObject) -> tuple[int, ...]:
    batch, classes = data.draw(st.integers(1, 4), label="N"), data.draw(st.integers(1, 5), label="C")
    return (batch, classes, *data.draw(st.lists(st.integers(1, 3), max_size=2), label="spatial"))


def pair(data: st.DataObject, config: Mapping[str, Any]) -> dict[str, Any]:
    levels = config.get("quantile")
    if isinstance(levels, list | tuple | np.ndarray):
        shape = tuple(data.draw(array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4), label="shape"))
        return {
            "predictions": _values(data, (*shape, len(levels)), 100.0, "predictions"),
            "targets": _values(data, shape, 100.0, "targets"),
        }
    shape = _elementwise_shape(data, int(config.get(MIN_DIMS, 0)))
    return {
        "predictions": _values(data, shape, 100.0, "predictions"),
        "targets": _values(data, shape, 100.0, "targets"),
    }


def binary(data: st.DataObject, config: Mapping[str, Any]) -> dict[str, Any]:
    shape = _elementwise_shape(data, int(config.get(MIN_DIMS, 0)))
    return {"predictions": _values(data, shape, 30.0, "logits"), "targets": _unit(data, shape, "targets")}


def classes(data: st.DataObject, config: Mapping[str, Any], *, probabilities: bool) -> dict[str, Any]:
    shape = _logits_shape(data)
    logits = _values(data, shape, 30.0, "logits")
    if probabilities and data.draw(st.booleans(), label="probability targets"):
        raw = np.abs(_values(data, shape, 1.0, "targets")) + 1e-3
        return {"predictions": logits, "targets": raw / raw.sum(axis=1, keepdims=True)}
    ignore = config.get("ignore_index")
    ignore = int(ignore) if isinstance(ignore, int) and not isinstance(ignore, bool) and ignore < 0 else None
    return {"predictions": logits, "targets": _indices(data, shape[:1] + shape[2:], shape[1], ignore, "targets")}


def hinge(data: st.DataObject, config: Mapping[str, Any]) -> dict[str, Any]:
    eighths = st.integers(-64, 64).map(lambda k: k / 8)  # exact: the kink z = 0 is where the spec has it
    if data.draw(st.booleans(), label="binary"):
        shape = tuple(data.draw(array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4), label="shape"))
        labels = arrays(np.float64, shape, elements=st.sampled_from([-1.0, 0.0, 1.0]))
        return {"predictions": data.draw(arrays(np.float64, shape, elements=eighths)), "targets": data.draw(labels)}
    shape = _logits_shape(data)
    scores = data.draw(arrays(np.float64, shape, elements=eighths), label="scores")
    return {"predictions": scores, "targets": _indices(data, shape[:1] + shape[2:], shape[1], None, "targets")}


def segmentation(data: st.DataObject, config: Mapping[str, Any]) -> dict[str, Any]:
    mode = config.get("mode", "binary")
    n = data.draw(st.integers(1, 3), label="N")
    least = max(1, int(config.get(MIN_DIMS, 0)) - (1 if mode == "binary" else 2))
    spatial = tuple(
        data.draw(array_shapes(min_dims=least, max_dims=max(2, least), min_side=1, max_side=4), label="spatial")
    )
    if mode == "binary":
        shape: tuple[int, ...] = (n, *spatial)
    else:
        shape = (n, data.draw(st.integers(1, 4), label="C"), *spatial)
    logits = _values(data, shape, 8.0, "logits")
    if mode == "multiclass":
        ignore = config.get("ignore_index")
        return {"predictions": logits, "targets": _indices(data, (n, *spatial), shape[1], ignore, "targets")}
    return {"predictions": logits, "targets": _unit(data, shape, "targets")}


def distributions(data: st.DataObject, config: Mapping[str, Any]) -> dict[str, Any]:
    shape = (data.draw(st.integers(1, 3), label="N"), data.draw(st.integers(1, 5), label="C"))

    def log_softmax(x: np.ndarray) -> np.ndarray:
        shifted = x - x.max(axis=1, keepdims=True)
        return np.asarray(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))

    log_q = log_softmax(_values(data, shape, 5.0, "input"))
    log_t = log_softmax(_values(data, shape, 5.0, "target"))
    if config.get("log_target"):
        return {"predictions": log_q, "targets": log_t}
    zeros = data.draw(arrays(np.bool_, shape), label="zero targets")
    return {"predictions": log_q, "targets": np.where(zeros, 0.0, np.exp(log_t))}


def draw_inputs(kind: str, loss: str, data: st.DataObject, config: Mapping[str, Any]) -> dict[str, Any]:
    """``{"predictions": ..., "targets": ...}`` for a loss of ``kind`` (see the module docstring)."""
    if kind == "classes":
        return classes(data, config, probabilities=loss == "cross_entropy")
    drawings = {
        "pair": pair,
        "binary": binary,
        "hinge": hinge,
        "segmentation": segmentation,
        "distributions": distributions,
    }
    return drawings[kind](data, config)
