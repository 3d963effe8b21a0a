"""Cross-entropy of a linear projection, in chunks of tokens: the N x V logits never exist.

Mirrors ``lossopt_spec.losses.classification.linear_cross_entropy``; equation tags match. The chunked forward and
backward are :mod:`lossopt.functional.classification._linear_cross_entropy_chunks`; this module checks the
arguments and chooses the chunk size.
"""

from __future__ import annotations

import contextlib
import numbers

import torch

from lossopt.functional.arguments import check_index, check_real
from lossopt.functional.classification._linear_cross_entropy_chunks import LinearCrossEntropyFunction, Options
from lossopt.functional.classification.checks import check_class_indices
from lossopt.functional.classification.softmax import check_label_smoothing
from lossopt.functional.reduction import check_floating, check_reduction

CHUNK_ELEMENTS = 2**24  # logits per chunk by default (64 MiB in float32)
MIN_CHUNK_ROWS = 256  # each chunk reads and writes the whole weight gradient: amortise it over enough tokens


def check_linear_options(softcap: float | None, z_loss: float, chunk_size: int | None) -> None:
    """``softcap`` None or a finite number > 0; ``z_loss`` a finite number >= 0; ``chunk_size`` None or an int >= 1."""
    # range first (NaN fails it, with the spec's message), then the type gate for strings, tensors, bools
    if softcap is not None:
        if _is_real(softcap) and not 0 < softcap < float("inf"):
            raise ValueError(f"softcap must be None or a finite number > 0; got {softcap!r}")
        check_real("softcap", softcap)
    if _is_real(z_loss) and not 0 <= z_loss < float("inf"):
        raise ValueError(f"z_loss must be a finite number >= 0; got {z_loss!r}")
    check_real("z_loss", z_loss)
    if chunk_size is not None and not (
        isinstance(chunk_size, numbers.Integral) and not isinstance(chunk_size, bool) and chunk_size >= 1
    ):
        raise ValueError(f"chunk_size must be None or an integer >= 1; got {chunk_size!r}")


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def default_chunk_size(tokens: int, classes: int) -> int:
    """Tokens per chunk: the power of two nearest below :data:`CHUNK_ELEMENTS` / V logits, at least
    :data:`MIN_CHUNK_ROWS`, at most ``tokens`` (and at least 1).

    Measured at N=8192, D=512, V=32768 on a 2-core CPU (time ratio to the unfused reference, median
    of 5 interleaved rounds): 256 tokens 0.81, 512 0.73, 1024 0.68, 2048 0.69.
    """
    rows = max(MIN_CHUNK_ROWS, CHUNK_ELEMENTS // classes)
    return max(1, min(tokens, 1 << (rows.bit_length() - 1)))


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _check_tensors(
    input: torch.Tensor,
    linear_weight: torch.Tensor,
    target: torch.Tensor,
    linear_bias: torch.Tensor | None,
    weight: torch.Tensor | None,
    *,
    same_dtype: bool,
) -> None:
    """Shapes, dtypes (equal unless autocast casts them), devices; the messages are the spec's (``_check_arrays``)."""
    check_floating("input", input)
    check_floating("linear_weight", linear_weight)
    shape, w_shape = tuple(input.shape), tuple(linear_weight.shape)
    if input.ndim not in (1, 2):
        raise ValueError(f"input must have shape (N, D) or (D,); got input {shape}")
    d = shape[-1]
    if linear_weight.ndim != 2 or w_shape[1] != d:
        raise ValueError(
            f"linear_weight must have shape (V, D) with D = {d} for input {shape}; got linear_weight {w_shape}"
        )
    classes = w_shape[0]
    if classes == 0:
        raise ValueError(f"linear_weight must have at least one row (class); got linear_weight {w_shape}")
    if linear_bias is not None:
        check_floating("linear_bias", linear_bias)
        if tuple(linear_bias.shape) != (classes,):
            raise ValueError(
                f"linear_bias must have shape (V,) = ({classes},) for linear_weight {w_shape}; "
                f"got linear_bias {tuple(linear_bias.shape)}"
            )
    if weight is not None:
        check_floating("weight", weight)
        if tuple(weight.shape) != (classes,):
            raise ValueError(
                f"weight must have shape (V,) = ({classes},) for linear_weight {w_shape}; got {tuple(weight.shape)}"
            )
        if weight.requires_grad and torch.is_grad_enabled():
            raise ValueError("weight (the class weights) is not differentiated and cannot require grad: pass .detach()")
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be a torch.Tensor; got {type(target).__name__}")
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise ValueError(
            "target must be class indices (an integer array; probability targets would be an (N, V) array, "
            f"which this loss exists to avoid: use cross_entropy_loss); got dtype {_dtype_name(target.dtype)}"
        )
    expected = shape[:1] if input.ndim == 2 else ()
    if tuple(target.shape) != expected:
        raise ValueError(f"target must have shape {expected} for input {shape}; got target {tuple(target.shape)}")
    for name, other in (("linear_weight", linear_weight), ("linear_bias", linear_bias)):
        if same_dtype and other is not None and other.dtype != input.dtype:
            raise TypeError(f"{name} must have the dtype of input ({input.dtype}); got {other.dtype}")
    for name, other in (("linear_weight", linear_weight), ("target", target), ("linear_bias", linear_bias)):
        if other is not None and other.device != input.device:
            raise ValueError(f"{name} must be on the device of input ({input.device}); got {other.device}")


def linear_cross_entropy_loss(
    input: torch.Tensor,
    linear_weight: torch.Tensor,
    target: torch.Tensor,
    *,
    linear_bias: torch.Tensor | None = None,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    softcap: float | None = None,
    z_loss: float = 0.0,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """Cross-entropy of the logits ``input @ linear_weight.T + linear_bias``, without materialising them.

    .. math::

        s_i = c \\tanh\\big((W x_i + b) / c\\big), \\qquad
        \\ell_i = -\\sum_c a_{ic} \\log\\mathrm{softmax}(s_i)_c + \\alpha\\, \\mathrm{lse}(s_i)^2

    with :math:`a_i = (1 - \\varepsilon) w_{t_i} e_{t_i} + \\tfrac{\\varepsilon}{V} w` (0 for an ignored
    token), :math:`s_i = W x_i + b` when ``softcap`` is None; ``"mean"`` divides the cross-entropy by
    :math:`\\sum_{i \\text{ kept}} w_{t_i}` and the z-loss by the number of kept tokens. With
    ``softcap=None`` and ``z_loss=0`` it equals ``F.cross_entropy(input @ linear_weight.T + linear_bias,
    target, weight, ...)`` (value and the gradients of input, weight and bias). Equations (1)-(6) and
    the papers (Gemma 2 for the softcap, PaLM for the z-loss) are in ``lossopt_spec``.

    The work goes in chunks of ``chunk_size`` tokens (default: about 16M logits per chunk, see
    :func:`default_chunk_size`): peak extra memory is a few chunks of logits plus the gradients.
    With ``"mean"``/``"sum"`` the gradients are computed in the forward pass (three matrix products
    in all, as the unfused reference) and scaled by the upstream gradient in the backward; with
    ``"none"`` the backward recomputes the logits chunk by chunk (four products). float16/bfloat16
    inputs: logits rounded to that dtype as ``F.linear`` would, then softmax, loss and every sum
    (including the weight and bias gradients across chunks) in float32. No host synchronisation.

    Args:
        input: ``(N, D)`` hidden states, or one ``(D,)`` row.
        linear_weight: ``(V, D)``, the output projection; same dtype (outside autocast) and device as ``input``.
        target: class indices ``(N,)`` (``()`` for one row), an integer tensor.
        linear_bias: ``(V,)`` or None.
        weight: per-class weights ``(V,)`` or None (not differentiated).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        ignore_index: the target value that contributes nothing.
        label_smoothing: :math:`\\varepsilon \\in [0, 1]`.
        softcap: :math:`c > 0`, or None for no capping.
        z_loss: :math:`\\alpha \\ge 0`.
        chunk_size: tokens per chunk, or None for the default.

    Returns:
        ``(N,)`` (``()`` for one row) for ``"none"``, else 0-d, in ``input.dtype``. Under
        ``torch.autocast`` the three inputs are cast to autocast's dtype first (as ``F.linear``; they
        may then differ in dtype) and the loss is float32 (as ``F.cross_entropy``).

    Differs from ``torch.nn.functional.linear_cross_entropy``: class-index targets only, ``(V, D)``
    weights only, and ``softcap``/``z_loss``; a double backward (``create_graph=True``) is refused.

    Example:
        >>> import torch
        >>> from lossopt.functional import linear_cross_entropy_loss
        >>> # zero weights: equal logits over 4 classes, -log(1/4) = log 4 = 1.3863
        >>> linear_cross_entropy_loss(torch.ones(2, 3), torch.zeros(4, 3), torch.tensor([0, 3]))
        tensor(1.3863)
    """
    check_reduction(reduction)
    check_label_smoothing(label_smoothing)
    check_index("ignore_index", ignore_index)
    check_linear_options(softcap, z_loss, chunk_size)
    device = input.device.type
    autocast = device != "meta" and torch.is_autocast_enabled(device)  # meta: shape-only, no autocast
    _check_tensors(input, linear_weight, target, linear_bias, weight, same_dtype=not autocast)
    classes = linear_weight.shape[0]
    check_class_indices(target, classes, ignore_index, name="target")
    x, w_lin, b = input, linear_weight, linear_bias
    if autocast:  # the projection in autocast's dtype, as F.linear; the loss in float32, as F.cross_entropy
        dtype = torch.get_autocast_dtype(device)
        x, w_lin, b = x.to(dtype), w_lin.to(dtype), None if b is None else b.to(dtype)
    x, t = x.reshape(-1, x.shape[-1]), target.reshape(-1).long()  # any integer dtype; gather takes int64
    options = Options(
        reduction=reduction,
        ignore_index=int(ignore_index),
        label_smoothing=float(label_smoothing),
        softcap=None if softcap is None else float(softcap),
        z_loss=float(z_loss),
        chunk_size=chunk_size if chunk_size is not None else default_chunk_size(x.shape[0], classes),
        classes=classes,
    )
    w = None if weight is None else weight.detach()
    off = contextlib.nullcontext() if device == "meta" else torch.autocast(device, enabled=False)
    with off:  # the function picks its own dtypes
        value: torch.Tensor = LinearCrossEntropyFunction.apply(x, w_lin, b, t, w, options)  # type: ignore[no-untyped-call]
    value = value.to(torch.float32 if autocast else input.dtype)  # under autocast the float32 loss, unrounded
    return value.reshape(()) if reduction == "none" and input.ndim == 1 else value
