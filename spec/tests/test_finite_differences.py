"""The finite-difference helper is itself checked on functions with known gradients."""

import numpy as np
from finite_differences import central_difference


def test_central_difference_of_a_cubic_matches_the_derivative():
    x = np.array([[-1.5, 0.0], [0.5, 2.0]])
    fd = central_difference(lambda v: float(np.sum(v**3)), x)
    np.testing.assert_allclose(fd, 3 * x**2, rtol=1e-7, atol=1e-7)


def test_central_difference_sees_each_coordinate_separately():
    fd = central_difference(lambda v: float(v[0] * 2.0 + v[2] * -3.0), np.zeros(3))
    np.testing.assert_allclose(fd, [2.0, 0.0, -3.0], atol=1e-9)
