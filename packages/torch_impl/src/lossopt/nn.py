"""``nn.Module`` wrappers of the functional losses, configured once and called like torch's losses."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from lossopt import functional as F
from lossopt.functional._arguments import as_tensor_argument, check_bool, check_index, check_real
from lossopt.functional._reduction import check_reduction
from lossopt.functional.classification import (
    _focal_alpha,
    check_gamma,
    check_label_smoothing,
    check_margin,
    check_sigmoid_alpha,
)
from lossopt.functional.embedding import KL_REDUCTIONS, _check_contrastive
from lossopt.functional.multitask import check_tasks, resolve_task_losses
from lossopt.functional.regression import _quantile_levels, check_delta
from lossopt.functional.segmentation import check_non_negative, check_options


class _ReducedLoss(nn.Module):
    """A loss module with a validated ``reduction``."""

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_ReducedLoss):
    """Mean squared error, :func:`lossopt.functional.mse_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import MSELoss
        >>> MSELoss(reduction="sum")(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 2.0]))
        tensor(5.)
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(predictions, targets, reduction=self.reduction)


class SigmoidFocalLoss(_ReducedLoss):
    """Sigmoid (binary / multi-label) focal loss, :func:`lossopt.functional.sigmoid_focal_loss` as a module.

    ``alpha`` weights the positive label (torchvision's convention); ``alpha=None`` disables it.

    Example:
        >>> import torch
        >>> from lossopt import SigmoidFocalLoss
        >>> SigmoidFocalLoss(alpha=None, gamma=0.0)(torch.tensor([0.0]), torch.tensor([1.0]))  # log 2
        tensor(0.6931)
    """

    def __init__(self, alpha: float | None = 0.25, gamma: float = 2.0, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        check_sigmoid_alpha(alpha)
        check_gamma(gamma)
        self.alpha = alpha
        self.gamma = gamma

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.sigmoid_focal_loss(predictions, targets, self.alpha, self.gamma, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha!r}, gamma={self.gamma!r}, reduction={self.reduction!r}"


class MAELoss(_ReducedLoss):
    """Mean absolute error, :func:`lossopt.functional.mae_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import MAELoss
        >>> MAELoss(reduction="sum")(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 2.0]))
        tensor(3.)
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mae_loss(predictions, targets, reduction=self.reduction)


class HuberLoss(_ReducedLoss):
    """Huber loss, :func:`lossopt.functional.huber_loss` as a module (the true Huber, as ``torch.nn.HuberLoss``).

    Example:
        >>> import torch
        >>> from lossopt import HuberLoss
        >>> HuberLoss(delta=2.0)(torch.tensor([3.0]), torch.tensor([0.0]))  # 2 * (3 - 1)
        tensor(4.)
    """

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        check_delta(delta)
        self.delta = delta

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.huber_loss(predictions, targets, self.delta, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"delta={self.delta!r}, reduction={self.reduction!r}"


class LogCoshLoss(_ReducedLoss):
    """Log-cosh loss, :func:`lossopt.functional.log_cosh_loss` as a module (finite for every finite input).

    Example:
        >>> import torch
        >>> from lossopt import LogCoshLoss
        >>> LogCoshLoss()(torch.tensor([90.0]), torch.tensor([0.0]))  # 90 - log 2, not inf
        tensor(89.3069)
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.log_cosh_loss(predictions, targets, reduction=self.reduction)


class QuantileLoss(_ReducedLoss):
    """Quantile (pinball) loss, :func:`lossopt.functional.quantile_loss` as a module.

    ``quantile`` is one level in (0, 1) or a sequence of levels (predictions then ``(*, Q)``).

    Example:
        >>> import torch
        >>> from lossopt import QuantileLoss
        >>> QuantileLoss(quantile=[0.1, 0.9], reduction="none")(torch.tensor([[0.0, 0.0]]), torch.tensor([1.0]))
        tensor([[0.1000, 0.9000]])
    """

    def __init__(self, quantile: float | Sequence[float] = 0.5, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        _quantile_levels(quantile)
        self.quantile = quantile

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.quantile_loss(predictions, targets, self.quantile, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"quantile={self.quantile!r}, reduction={self.reduction!r}"


class CrossEntropyLoss(_ReducedLoss):
    """Cross-entropy, :func:`lossopt.functional.cross_entropy_loss` as a module (``weight`` is a buffer).

    Example:
        >>> import torch
        >>> from lossopt import CrossEntropyLoss
        >>> CrossEntropyLoss(label_smoothing=0.1)(torch.zeros(2, 4), torch.tensor([0, 3]))  # log 4 either way
        tensor(1.3863)
    """

    weight: torch.Tensor | None

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction=reduction)
        check_label_smoothing(label_smoothing)
        check_index("ignore_index", ignore_index)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy_loss(
            predictions, targets, self.weight, self.ignore_index, self.reduction, self.label_smoothing
        )

    def extra_repr(self) -> str:
        return (
            f"ignore_index={self.ignore_index}, reduction={self.reduction!r}, label_smoothing={self.label_smoothing!r}"
        )


class FocalLoss(_ReducedLoss):
    """Softmax focal loss, :func:`lossopt.functional.focal_loss` as a module (a tensor ``alpha`` is a buffer).

    ``alpha`` is a per-class weight (a number for every class); for torchvision's binary alpha use
    :class:`SigmoidFocalLoss`.

    Example:
        >>> import torch
        >>> from lossopt import FocalLoss
        >>> FocalLoss(gamma=0.0)(torch.zeros(2, 4), torch.tensor([0, 3]))  # gamma = 0: cross-entropy, log 4
        tensor(1.3863)
    """

    def __init__(
        self,
        alpha: float | torch.Tensor = 1.0,
        gamma: float = 2.0,
        reduction: str = "mean",
        *,
        ignore_index: int = -100,
    ) -> None:
        super().__init__(reduction=reduction)
        check_gamma(gamma)
        check_index("ignore_index", ignore_index)
        if isinstance(alpha, torch.Tensor) and alpha.ndim > 0:
            _focal_alpha(alpha, alpha.shape[0], alpha)
            self.register_buffer("alpha", alpha)
        else:
            self.alpha = _focal_alpha(alpha, 1, torch.zeros(()))
        self.gamma = gamma
        self.ignore_index = ignore_index

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.focal_loss(
            predictions, targets, self.alpha, self.gamma, reduction=self.reduction, ignore_index=self.ignore_index
        )

    def extra_repr(self) -> str:
        alpha = "tensor" if isinstance(self.alpha, torch.Tensor) else repr(self.alpha)
        return f"alpha={alpha}, gamma={self.gamma!r}, reduction={self.reduction!r}, ignore_index={self.ignore_index}"


class HingeLoss(_ReducedLoss):
    """Hinge loss, :func:`lossopt.functional.hinge_loss` as a module: binary, or multi-class Crammer–Singer.

    Example:
        >>> import torch
        >>> from lossopt import HingeLoss
        >>> HingeLoss()(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0]))  # 1 + 0.5 - 2 < 0
        tensor(0.)
    """

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        check_margin(margin)
        self.margin = margin

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.hinge_loss(predictions, targets, self.margin, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"margin={self.margin!r}, reduction={self.reduction!r}"


# Losses II: segmentation, embedding and multi-task losses.


class _SegmentationLoss(_ReducedLoss):
    """Options shared by the segmentation losses; ``weight`` is a buffer so it follows ``.to()``."""

    weight: torch.Tensor | None

    def __init__(
        self,
        *,
        smooth: float,
        reduction: str,
        mode: str,
        batch: bool,
        ignore_index: int | None,
        weight: torch.Tensor | None,
        include_background: bool,
    ) -> None:
        super().__init__(reduction=reduction)
        check_options(mode, smooth, ignore_index, include_background)
        check_bool("batch", batch)
        self.smooth = smooth
        self.mode = mode
        self.batch = batch
        self.ignore_index = ignore_index
        self.include_background = include_background
        self.register_buffer("weight", None if weight is None else as_tensor_argument("weight", weight))

    def _options(self) -> dict[str, Any]:
        return {
            "smooth": self.smooth,
            "reduction": self.reduction,
            "mode": self.mode,
            "batch": self.batch,
            "weight": self.weight,
            "include_background": self.include_background,
        }

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, smooth={self.smooth!r}, batch={self.batch}, reduction={self.reduction!r}"


class DiceLoss(_SegmentationLoss):
    """Dice loss, :func:`lossopt.functional.dice_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import DiceLoss
        >>> loss = DiceLoss(mode="multiclass", ignore_index=255)
        >>> logits = torch.zeros(1, 2, 3)  # p = 0.5 everywhere; the third pixel is ignored
        >>> round(float(loss(logits, torch.tensor([[0, 1, 255]]))), 4)  # D = 2 * 0.5 / (1 + 1) per class
        0.5
    """

    def __init__(
        self,
        smooth: float = 1e-6,
        reduction: str = "mean",
        *,
        mode: str = "binary",
        batch: bool = False,
        ignore_index: int | None = None,
        weight: torch.Tensor | None = None,
        include_background: bool = True,
    ) -> None:
        super().__init__(
            smooth=smooth,
            reduction=reduction,
            mode=mode,
            batch=batch,
            ignore_index=ignore_index,
            weight=weight,
            include_background=include_background,
        )

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.dice_loss(predictions, targets, ignore_index=self.ignore_index, **self._options())


class IoULoss(DiceLoss):
    """IoU (Jaccard) loss, :func:`lossopt.functional.iou_loss` as a module (arguments as :class:`DiceLoss`)."""

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.iou_loss(predictions, targets, ignore_index=self.ignore_index, **self._options())


class TverskyLoss(_SegmentationLoss):
    """Tversky / focal Tversky loss, :func:`lossopt.functional.tversky_loss` as a module.

    Example:
        >>> from lossopt import TverskyLoss
        >>> TverskyLoss(alpha=0.3, beta=0.7, gamma=0.75)
        TverskyLoss(mode='binary', smooth=1e-06, batch=False, reduction='mean', alpha=0.3, beta=0.7, gamma=0.75)
    """

    def __init__(
        self,
        alpha: float = 0.3,
        beta: float = 0.7,
        smooth: float = 1e-6,
        reduction: str = "mean",
        *,
        gamma: float = 1.0,
        mode: str = "binary",
        batch: bool = False,
        ignore_index: int | None = None,
        weight: torch.Tensor | None = None,
        include_background: bool = True,
    ) -> None:
        super().__init__(
            smooth=smooth,
            reduction=reduction,
            mode=mode,
            batch=batch,
            ignore_index=ignore_index,
            weight=weight,
            include_background=include_background,
        )
        check_non_negative("alpha", alpha)
        check_non_negative("beta", beta)
        check_real("gamma", gamma)
        if not gamma > 0:
            raise ValueError(f"gamma must be > 0; got {gamma!r}")
        self.alpha, self.beta, self.gamma = alpha, beta, gamma

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.tversky_loss(
            predictions,
            targets,
            self.alpha,
            self.beta,
            gamma=self.gamma,
            ignore_index=self.ignore_index,
            **self._options(),
        )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, alpha={self.alpha!r}, beta={self.beta!r}, gamma={self.gamma!r}"


class BCEDiceLoss(_SegmentationLoss):
    """BCE with logits plus Dice, :func:`lossopt.functional.bce_dice_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import BCEDiceLoss
        >>> round(float(BCEDiceLoss(smooth=0.0)(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]))), 4)
        0.5966
    """

    def __init__(
        self,
        bce_weight: float = 0.5,
        dice_weight: float = 0.5,
        smooth: float = 1e-6,
        reduction: str = "mean",
        *,
        mode: str = "binary",
        batch: bool = False,
        weight: torch.Tensor | None = None,
        include_background: bool = True,
    ) -> None:
        super().__init__(
            smooth=smooth,
            reduction=reduction,
            mode=mode,
            batch=batch,
            ignore_index=None,
            weight=weight,
            include_background=include_background,
        )
        check_non_negative("bce_weight", bce_weight)
        check_non_negative("dice_weight", dice_weight)
        self.bce_weight, self.dice_weight = bce_weight, dice_weight

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.bce_dice_loss(predictions, targets, self.bce_weight, self.dice_weight, **self._options())


class FocalDiceLoss(_SegmentationLoss):
    """Sigmoid focal loss plus Dice, :func:`lossopt.functional.focal_dice_loss` as a module.

    Example:
        >>> import torch
        >>> from lossopt import FocalDiceLoss
        >>> round(float(FocalDiceLoss(smooth=0.0)(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]))), 4)
        0.6733
    """

    def __init__(
        self,
        alpha: float | None = None,
        gamma: float = 2.0,
        smooth: float = 1e-6,
        reduction: str = "mean",
        *,
        focal_weight: float = 1.0,
        dice_weight: float = 1.0,
        mode: str = "binary",
        batch: bool = False,
        weight: torch.Tensor | None = None,
        include_background: bool = True,
    ) -> None:
        super().__init__(
            smooth=smooth,
            reduction=reduction,
            mode=mode,
            batch=batch,
            ignore_index=None,
            weight=weight,
            include_background=include_background,
        )
        check_sigmoid_alpha(alpha)
        check_gamma(gamma)
        check_non_negative("focal_weight", focal_weight)
        check_non_negative("dice_weight", dice_weight)
        self.alpha, self.gamma = alpha, gamma
        self.focal_weight, self.dice_weight = focal_weight, dice_weight

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.focal_dice_loss(
            predictions,
            targets,
            self.alpha,
            self.gamma,
            focal_weight=self.focal_weight,
            dice_weight=self.dice_weight,
            **self._options(),
        )


class ContrastiveLoss(_ReducedLoss):
    """Contrastive loss (``mode="supcon"`` or ``"margin"``), :func:`lossopt.functional.contrastive_loss`.

    Example:
        >>> from lossopt import ContrastiveLoss
        >>> ContrastiveLoss(temperature=0.07)
        ContrastiveLoss(mode='supcon', margin=1.0, temperature=0.07, reduction='mean')
    """

    def __init__(
        self,
        margin: float = 1.0,
        temperature: float = 0.1,
        reduction: str = "mean",
        *,
        mode: str = "supcon",
        eps: float = 1e-8,
    ) -> None:
        super().__init__(reduction=reduction)
        _check_contrastive(mode, margin, temperature, eps)
        self.margin, self.temperature, self.mode, self.eps = margin, temperature, mode, eps

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.contrastive_loss(
            embeddings, labels, self.margin, self.temperature, self.reduction, mode=self.mode, eps=self.eps
        )

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, margin={self.margin!r}, temperature={self.temperature!r}, {super().extra_repr()}"


class TripletLoss(_ReducedLoss):
    """Triplet margin loss, :func:`lossopt.functional.triplet_loss` as a module."""

    def __init__(
        self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction=reduction)
        for name, value in (("margin", margin), ("eps", eps)):
            check_real(name, value)
        check_real("p", p, finite=False)  # p = inf: the max norm
        check_bool("swap", swap)
        if not margin >= 0:
            raise ValueError(f"margin must be >= 0; got {margin!r}")
        if not p >= 1:
            raise ValueError(f"p must be >= 1 (a norm); got {p!r}")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
        return F.triplet_loss(anchor, positive, negative, self.margin, self.p, self.eps, self.swap, self.reduction)


class CosineEmbeddingLoss(_ReducedLoss):
    """Cosine embedding loss, :func:`lossopt.functional.cosine_embedding_loss` as a module."""

    def __init__(self, margin: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        check_real("margin", margin)
        if not -1 <= margin <= 1:
            raise ValueError(f"margin must be in [-1, 1]; got {margin!r}")
        self.margin = margin

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cosine_embedding_loss(x1, x2, y, self.margin, self.reduction)


class KLDivergenceLoss(nn.Module):
    """KL divergence with log-probability inputs, :func:`lossopt.functional.kl_divergence_loss` as a module.

    Example:
        >>> from lossopt import KLDivergenceLoss
        >>> KLDivergenceLoss()
        KLDivergenceLoss(reduction='batchmean', log_target=False)
    """

    def __init__(self, reduction: str = "batchmean", log_target: bool = False) -> None:
        super().__init__()
        if reduction not in KL_REDUCTIONS:
            raise ValueError(f"reduction must be one of {KL_REDUCTIONS}; got {reduction!r}")
        check_bool("log_target", log_target)
        self.reduction, self.log_target = reduction, log_target

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.kl_divergence_loss(input, target, self.reduction, self.log_target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, log_target={self.log_target}"


class MultiTaskLoss(nn.Module):
    """Fixed weighted sum of per-task losses, :func:`lossopt.functional.multi_task_loss` as a module.

    Named task losses are built once here (``task_losses={"mask": "dice"}``) and kept as submodules.

    Example:
        >>> import torch
        >>> from lossopt import MultiTaskLoss
        >>> loss = MultiTaskLoss({"regression": 0.5, "depth": 1.0}, task_losses={"depth": "mse"})
        >>> loss({"regression": torch.tensor([2.0]), "depth": torch.tensor([1.0])},
        ...      {"regression": torch.tensor([0.0]), "depth": torch.tensor([0.0])})
        tensor(3.)
    """

    def __init__(
        self,
        loss_weights: Mapping[str, float],
        task_losses: Mapping[str, str | Callable[..., torch.Tensor]] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(loss_weights, Mapping):
            raise TypeError(f"loss_weights must be a dict task -> weight >= 0; got {loss_weights!r}")
        if not loss_weights:
            raise ValueError("loss_weights must name at least one task; got an empty dict")
        tasks = list(loss_weights)
        check_tasks(dict.fromkeys(tasks), dict.fromkeys(tasks), loss_weights)
        self.loss_weights = dict(loss_weights)
        resolved = resolve_task_losses(tasks, task_losses)
        self.task_modules = nn.ModuleDict({k: v for k, v in resolved.items() if isinstance(v, nn.Module)})
        self._task_losses = resolved

    def forward(self, predictions: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return F.multi_task_loss(predictions, targets, self.loss_weights, self._task_losses)

    def extra_repr(self) -> str:
        return f"loss_weights={self.loss_weights!r}"


class UncertaintyWeightedMultiTaskLoss(nn.Module):
    """Multi-task loss with learned log-variances (Kendall, Gal & Cipolla 2018, arXiv:1705.07115).

    .. math::

        L = \\sum_k \\tfrac12 e^{-s_k} L_k + \\tfrac12 s_k, \\qquad s_k = \\log \\sigma_k^2

    ``log_variances`` (one per task, in the order of ``tasks``) is a parameter: give it to the
    optimizer with the model's. Task losses as :class:`MultiTaskLoss` (names, callables, or the
    prefix rule). See :func:`lossopt_spec.losses.uncertainty_weighted_loss` for how the paper's
    classification form differs.

    Example:
        >>> import torch
        >>> from lossopt import UncertaintyWeightedMultiTaskLoss
        >>> loss = UncertaintyWeightedMultiTaskLoss(["regression"])
        >>> loss({"regression": torch.tensor([2.0])}, {"regression": torch.tensor([0.0])})  # 0.5 * 4 + 0
        tensor(2., grad_fn=<SumBackward0>)
    """

    def __init__(
        self,
        tasks: Sequence[str],
        task_losses: Mapping[str, str | Callable[..., torch.Tensor]] | None = None,
        init_log_variance: float = 0.0,
    ) -> None:
        super().__init__()
        self.tasks = list(tasks)
        ones = dict.fromkeys(self.tasks, 1.0)
        check_tasks(ones, ones, ones)
        resolved = resolve_task_losses(self.tasks, task_losses)
        self.task_modules = nn.ModuleDict({k: v for k, v in resolved.items() if isinstance(v, nn.Module)})
        self._task_losses = resolved
        self.log_variances = nn.Parameter(torch.full((len(self.tasks),), float(init_log_variance)))

    def forward(self, predictions: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
        check_tasks(predictions, targets, dict.fromkeys(self.tasks, 1.0))
        parts = [self._task_losses[t](predictions[t], targets[t]) for t in self.tasks]
        dtype = self.log_variances.dtype
        for part in parts:
            dtype = torch.promote_types(dtype, part.dtype)
        values = torch.stack([part.to(dtype) for part in parts])
        return F.uncertainty_weighted_loss(values, self.log_variances.to(dtype))

    def extra_repr(self) -> str:
        return f"tasks={self.tasks!r}"
