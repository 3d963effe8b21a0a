"""Linear interpolation as ``torch.lerp`` computes it, for the rules whose reference code calls it.

.. math::

    \\operatorname{lerp}(a, b, w) = a + w (b - a) \\quad (|w| < \\tfrac12), \\qquad
    \\operatorname{lerp}(a, b, w) = b - (b - a)(1 - w) \\quad \\text{otherwise}

Both forms are :math:`(1 - w) a + w b`; torch switches at :math:`|w| = \\tfrac12` so the result is exact
at :math:`w = 0` and :math:`w = 1`. Used by Schedule-Free's averaging and mode switch and by ADOPT's
first moment (their authors' code calls ``lerp_``).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def lerp(start: Any, end: Any, weight: float) -> np.ndarray:
    """:math:`(1 - w)\\,\\text{start} + w\\,\\text{end}` in ``torch.lerp``'s two forms (module docstring)."""
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    diff = end - start
    if abs(weight) < 0.5:
        return start + weight * diff  # type: ignore[no-any-return]
    return end - diff * (1 - weight)  # type: ignore[no-any-return]
