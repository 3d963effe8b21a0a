"""``LinearCrossEntropyLoss``: :func:`lossopt.functional.linear_cross_entropy.linear_cross_entropy_loss` as a module."""

from __future__ import annotations

import torch
from torch import nn

from lossopt.functional._arguments import check_index
from lossopt.functional._reduction import check_reduction
from lossopt.functional.classification import check_label_smoothing
from lossopt.functional.linear_cross_entropy import check_linear_options, linear_cross_entropy_loss


class LinearCrossEntropyLoss(nn.Module):
    """Cross-entropy of ``input @ linear_weight.T + linear_bias`` computed in chunks (``weight`` is a buffer).

    The projection is an argument of ``forward``, so the output layer's parameters stay where they
    are (``lm_head.weight``) and only the loss is fused with it.

    Example:
        >>> import torch
        >>> from lossopt._linear_cross_entropy_module import LinearCrossEntropyLoss
        >>> head = torch.nn.Linear(3, 4, bias=False)
        >>> _ = torch.nn.init.zeros_(head.weight)  # equal logits over 4 classes: log 4
        >>> LinearCrossEntropyLoss(z_loss=1e-4)(torch.ones(2, 3), head.weight, torch.tensor([0, 3]))
        tensor(1.3865, grad_fn=<LinearCrossEntropyFunctionBackward>)
    """

    weight: torch.Tensor | None

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        *,
        reduction: str = "mean",
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        softcap: float | None = None,
        z_loss: float = 0.0,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        check_label_smoothing(label_smoothing)
        check_index("ignore_index", ignore_index)
        check_linear_options(softcap, z_loss, chunk_size)
        self.register_buffer("weight", weight)
        self.reduction = reduction
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.softcap = softcap
        self.z_loss = z_loss
        self.chunk_size = chunk_size

    def forward(
        self,
        input: torch.Tensor,
        linear_weight: torch.Tensor,
        target: torch.Tensor,
        linear_bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return linear_cross_entropy_loss(
            input,
            linear_weight,
            target,
            linear_bias=linear_bias,
            weight=self.weight,
            reduction=self.reduction,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            softcap=self.softcap,
            z_loss=self.z_loss,
            chunk_size=self.chunk_size,
        )

    def extra_repr(self) -> str:
        return (
            f"reduction={self.reduction!r}, ignore_index={self.ignore_index}, "
            f"label_smoothing={self.label_smoothing!r}, softcap={self.softcap!r}, z_loss={self.z_loss!r}, "
            f"chunk_size={self.chunk_size!r}"
        )
