"""The options every segmentation loss takes, declared once, with their checks.

A loss's own options are a dataclass deriving from :class:`SegmentationOptions` (``TverskyOptions``
adds ``alpha``, ``beta``, ``gamma``); its arguments are the fields a class declares before those it
inherits (:mod:`lossopt_spec.losses.signature`), so an option added here is an argument of every
segmentation loss and of its gradient. Mirrored by ``lossopt.functional.segmentation.options``.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import numpy as np

from lossopt_spec.losses.reduction import Reduction

MODES = ("binary", "multilabel", "multiclass")


@dataclass(frozen=True)
class SegmentationOptions(Reduction):
    """The options of every segmentation loss (see ``dice_loss`` for their meaning), with their defaults."""

    smooth: float = 1e-6
    _: KW_ONLY
    mode: str = "binary"
    batch: bool = False
    ignore_index: int | None = None
    weight: np.ndarray | None = None
    include_background: bool = True


def check_options(
    mode: str,
    smooth: float,
    ignore_index: int | None,
    include_background: bool,
) -> None:
    """Validate the options shared by every segmentation loss (``ValueError`` naming the argument)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    if not smooth >= 0:
        raise ValueError(f"smooth must be >= 0; got {smooth!r}")
    if ignore_index is not None and mode != "multiclass":
        raise ValueError(
            f"ignore_index applies to integer targets (mode='multiclass'); got ignore_index={ignore_index!r} "
            f"with mode={mode!r}"
        )
    if not include_background and mode == "binary":
        raise ValueError("include_background=False needs a class axis; mode='binary' has one class")


def check_non_negative(name: str, value: float) -> None:
    """``ValueError`` naming ``name`` unless ``value >= 0``."""
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0; got {value!r}")
