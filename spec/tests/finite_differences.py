"""Finite differences, the independent check of every analytic gradient in the spec."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def central_difference(fn: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """The gradient of a scalar ``fn`` at ``x`` by central differences, elementwise."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        grad[index] = (fn(plus) - fn(minus)) / (2 * h)
    return grad
