"""Deterministic optimization problems for trajectories: quadratic, Rosenbrock, tiny MLP, tiny convolution.

Each problem has several parameter arrays of different shapes (so optimizers are exercised on
a real parameter group), an analytic gradient in float64, and data drawn from a fixed seed with
``numpy.random.default_rng``. Only elementwise operations and ``numpy.sum`` are used (no BLAS),
so a trajectory is bit-for-bit reproducible on every machine with the same NumPy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Params = list[np.ndarray]


@dataclass(frozen=True)
class Problem:
    """A differentiable objective over a list of float64 parameter arrays.

    Attributes:
        name: the name used in golden file names (``"quadratic"``).
        initial_params: the starting point.
        loss: ``loss(params) -> float``.
        grad: ``grad(params) -> list of arrays`` of the parameters' shapes.
    """

    name: str
    initial_params: Params
    loss: Callable[[Params], float]
    grad: Callable[[Params], Params]


def quadratic(seed: int = 0) -> Problem:
    """An ill-conditioned separable quadratic over a (3, 4) matrix and a (5,) vector.

    .. math::

        f(\\theta) = \\tfrac12 \\sum_i a_i (\\theta_i - c_i)^2, \\qquad
        \\nabla f = a \\odot (\\theta - c)

    with curvatures :math:`a_i` log-uniform in [0.1, 10] (condition number up to 100).
    """
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (5,)]
    curvature = [np.exp(rng.uniform(np.log(0.1), np.log(10.0), size=s)) for s in shapes]
    center = [rng.standard_normal(s) for s in shapes]
    start = [rng.standard_normal(s) * 2.0 for s in shapes]

    def loss(params: Params) -> float:
        return float(sum(0.5 * np.sum(a * (p - c) ** 2) for p, a, c in zip(params, curvature, center, strict=True)))

    def grad(params: Params) -> Params:
        return [a * (p - c) for p, a, c in zip(params, curvature, center, strict=True)]

    return Problem("quadratic", start, loss, grad)


def rosenbrock(seed: int = 0) -> Problem:
    """The Rosenbrock function over two (3,) vectors read as one chain :math:`x \\in R^6`.

    .. math::

        f(x) = \\sum_{i=1}^{5} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2

    Rosenbrock 1960, "An automatic method for finding the greatest or least value of a function".
    The start is drawn near (-1, ..., -1), in the curved valley.
    """
    rng = np.random.default_rng(seed)
    start = [-1.0 + 0.1 * rng.standard_normal(3), -1.0 + 0.1 * rng.standard_normal(3)]

    def loss(params: Params) -> float:
        x = np.concatenate(params)
        return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))

    def grad(params: Params) -> Params:
        x = np.concatenate(params)
        g = np.zeros_like(x)
        inner = x[1:] - x[:-1] ** 2
        g[:-1] += -400.0 * x[:-1] * inner - 2.0 * (1.0 - x[:-1])
        g[1:] += 200.0 * inner
        return [g[:3], g[3:]]

    return Problem("rosenbrock", start, loss, grad)


def tiny_mlp(seed: int = 0) -> Problem:
    """A 3-4-1 tanh network fit by mean squared error to 16 fixed samples.

    .. math::

        h = \\tanh(W_1 x + b_1), \\quad \\hat y = W_2 h + b_2, \\quad
        f = \\frac{1}{n} \\sum_k (\\hat y_k - y_k)^2

    Parameters ``[W1 (4, 3), b1 (4,), W2 (1, 4), b2 (1,)]``; targets from a fixed smooth function
    of the inputs.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 3))
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2]
    start = [
        rng.standard_normal((4, 3)) * 0.5,
        np.zeros(4),
        rng.standard_normal((1, 4)) * 0.5,
        np.zeros(1),
    ]

    def forward(params: Params) -> tuple[np.ndarray, np.ndarray]:
        w1, b1, w2, b2 = params
        hidden = np.tanh(np.sum(w1[None, :, :] * x[:, None, :], axis=-1) + b1)  # (16, 4)
        out = np.sum(w2[None, :, :] * hidden[:, None, :], axis=-1) + b2  # (16, 1)
        return hidden, out[:, 0]

    def loss(params: Params) -> float:
        _, out = forward(params)
        return float(np.sum((out - y) ** 2) / y.size)

    def grad(params: Params) -> Params:
        w2 = params[2]
        hidden, out = forward(params)
        d_out = 2.0 * (out - y) / y.size  # (16,)
        g_w2 = np.sum(d_out[:, None] * hidden, axis=0)[None, :]
        g_b2 = np.array([np.sum(d_out)])
        d_hidden = d_out[:, None] * w2[0][None, :] * (1.0 - hidden**2)  # (16, 4)
        g_w1 = np.sum(d_hidden[:, :, None] * x[:, None, :], axis=0)
        g_b1 = np.sum(d_hidden, axis=0)
        return [g_w1, g_b1, g_w2, g_b2]

    return Problem("tiny_mlp", start, loss, grad)


def tiny_conv(seed: int = 0) -> Problem:
    """A 2-channel 3x3 convolution with 4 filters, a tanh and a linear readout, fit by mean squared error.

    .. math::

        h_{nf} = \\tanh\\Big(\\sum_{c,u,v} W_{fcuv}\\, x_{n,c,i+u,j+v} + b_f\\Big), \\quad
        \\hat y_n = \\sum_k V_{0k} h_{nk} + d, \\quad f = \\frac{1}{n} \\sum_n (\\hat y_n - y_n)^2

    over 6 fixed 4x4 images (``h`` flattened to 16 features). Parameters ``[W (4, 2, 3, 3), b (4,), V (1, 16),
    d (1,)]``: a 4-d weight, as Muon sees convolutions through their ``(shape[0], -1)`` view.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((6, 2, 4, 4))
    y = np.tanh(np.sum(x[:, 0, 1:3, 1:3], axis=(1, 2)) - np.sum(x[:, 1, :2, 2:], axis=(1, 2)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3))  # (6, 2, 2, 2, 3, 3)
    start = [rng.standard_normal((4, 2, 3, 3)) * 0.3, np.zeros(4), rng.standard_normal((1, 16)) * 0.3, np.zeros(1)]

    def forward(params: Params) -> tuple[np.ndarray, np.ndarray]:
        w, b, v, d = params
        conv = np.sum(w[None, :, :, None, None, :, :] * windows[:, None], axis=(2, 5, 6))  # (6, 4, 2, 2)
        hidden = np.tanh(conv + b[None, :, None, None])
        return hidden, np.sum(v[0][None, :] * hidden.reshape(6, 16), axis=-1) + d[0]

    def loss(params: Params) -> float:
        _, out = forward(params)
        return float(np.sum((out - y) ** 2) / y.size)

    def grad(params: Params) -> Params:
        v = params[2]
        hidden, out = forward(params)
        d_out = 2.0 * (out - y) / y.size  # (6,)
        g_v = np.sum(d_out[:, None] * hidden.reshape(6, 16), axis=0)[None, :]
        g_d = np.array([np.sum(d_out)])
        d_conv = (d_out[:, None] * v[0][None, :]).reshape(hidden.shape) * (1.0 - hidden**2)  # (6, 4, 2, 2)
        g_w = np.sum(d_conv[:, :, None, :, :, None, None] * windows[:, None], axis=(0, 3, 4))
        g_b = np.sum(d_conv, axis=(0, 2, 3))
        return [g_w, g_b, g_v, g_d]

    return Problem("tiny_conv", start, loss, grad)


PROBLEMS: dict[str, Callable[[int], Problem]] = {
    "quadratic": quadratic,
    "rosenbrock": rosenbrock,
    "tiny_mlp": tiny_mlp,
    "tiny_conv": tiny_conv,
}
