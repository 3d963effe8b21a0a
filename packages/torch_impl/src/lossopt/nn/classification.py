"""Classification losses as modules: :mod:`lossopt.functional.classification` configured once."""

from __future__ import annotations

from typing import Any

import torch

from lossopt import functional as F
from lossopt.functional.arguments import check_index
from lossopt.functional.classification import (
    check_focal_alpha,
    check_gamma,
    check_label_smoothing,
    check_linear_options,
    check_margin,
    check_sigmoid_alpha,
)
from lossopt.nn._base import _ReducedLoss


class SigmoidFocalLoss(_ReducedLoss, functional=F.sigmoid_focal_loss):
    """Sigmoid (binary / multi-label) focal loss, :func:`lossopt.functional.sigmoid_focal_loss` as a module.

    ``alpha`` weights the positive label (torchvision's convention); ``alpha=None`` disables it.

    Example:
        >>> import torch
        >>> from lossopt import SigmoidFocalLoss
        >>> SigmoidFocalLoss(alpha=None, gamma=0.0)(torch.tensor([0.0]), torch.tensor([1.0]))  # log 2
        tensor(0.6931)
    """

    _repr = ("alpha", "gamma", "reduction")

    def check(self, options: Any) -> None:
        super().check(options)
        check_sigmoid_alpha(options.alpha)
        check_gamma(options.gamma)


class CrossEntropyLoss(_ReducedLoss, functional=F.cross_entropy_loss):
    """Cross-entropy, :func:`lossopt.functional.cross_entropy_loss` as a module (``weight`` is a buffer).

    Example:
        >>> import torch
        >>> from lossopt import CrossEntropyLoss
        >>> CrossEntropyLoss(label_smoothing=0.1)(torch.zeros(2, 4), torch.tensor([0, 3]))  # log 4 either way
        tensor(1.3863)
    """

    weight: torch.Tensor | None

    def check(self, options: Any) -> None:
        super().check(options)
        check_label_smoothing(options.label_smoothing)
        check_index("ignore_index", options.ignore_index)
        self.register_buffer("weight", options.weight)

    def extra_repr(self) -> str:
        return (
            f"ignore_index={self.ignore_index}, reduction={self.reduction!r}, label_smoothing={self.label_smoothing!r}"
        )


class FocalLoss(_ReducedLoss, functional=F.focal_loss):
    """Softmax focal loss, :func:`lossopt.functional.focal_loss` as a module (a tensor ``alpha`` is a buffer).

    ``alpha`` is a per-class weight (a number for every class); for torchvision's binary alpha use
    :class:`SigmoidFocalLoss`.

    Example:
        >>> import torch
        >>> from lossopt import FocalLoss
        >>> FocalLoss(gamma=0.0)(torch.zeros(2, 4), torch.tensor([0, 3]))  # gamma = 0: cross-entropy, log 4
        tensor(1.3863)
    """

    def check(self, options: Any) -> None:
        super().check(options)
        check_gamma(options.gamma)
        check_index("ignore_index", options.ignore_index)
        alpha = options.alpha
        if isinstance(alpha, torch.Tensor) and alpha.ndim > 0:
            check_focal_alpha(alpha, alpha.shape[0], alpha)
            self.register_buffer("alpha", alpha)
        else:
            options.alpha = check_focal_alpha(alpha, 1, torch.zeros(()))

    def extra_repr(self) -> str:
        alpha = "tensor" if isinstance(self.alpha, torch.Tensor) else repr(self.alpha)
        return f"alpha={alpha}, gamma={self.gamma!r}, reduction={self.reduction!r}, ignore_index={self.ignore_index}"


class HingeLoss(_ReducedLoss, functional=F.hinge_loss):
    """Hinge loss, :func:`lossopt.functional.hinge_loss` as a module: binary, or multi-class Crammer–Singer.

    Example:
        >>> import torch
        >>> from lossopt import HingeLoss
        >>> HingeLoss()(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0]))  # 1 + 0.5 - 2 < 0
        tensor(0.)
    """

    _repr = ("margin", "reduction")

    def check(self, options: Any) -> None:
        super().check(options)
        check_margin(options.margin)


class LinearCrossEntropyLoss(
    _ReducedLoss,
    functional=F.linear_cross_entropy_loss,
    inputs=3,
    forward_keywords=("linear_bias",),
    positional=("weight",),
):
    """Cross-entropy of ``input @ linear_weight.T + linear_bias`` computed in chunks, as
    :func:`lossopt.functional.linear_cross_entropy_loss` (``weight`` is a buffer).

    The projection is an argument of ``forward(input, linear_weight, target, linear_bias=None)``, so
    the output layer's parameters stay where they are (``lm_head.weight``) and only the loss is fused
    with it.

    Example:
        >>> import torch
        >>> from lossopt import LinearCrossEntropyLoss
        >>> head = torch.nn.Linear(3, 4, bias=False)
        >>> _ = torch.nn.init.zeros_(head.weight)  # equal logits over 4 classes: log 4
        >>> LinearCrossEntropyLoss(z_loss=1e-4)(torch.ones(2, 3), head.weight, torch.tensor([0, 3]))
        tensor(1.3865, grad_fn=<LinearCrossEntropyFunctionBackward>)
    """

    weight: torch.Tensor | None
    _repr = ("reduction", "ignore_index", "label_smoothing", "softcap", "z_loss", "chunk_size")

    def check(self, options: Any) -> None:
        super().check(options)
        check_label_smoothing(options.label_smoothing)
        check_index("ignore_index", options.ignore_index)
        check_linear_options(options.softcap, options.z_loss, options.chunk_size)
        self.register_buffer("weight", options.weight)
