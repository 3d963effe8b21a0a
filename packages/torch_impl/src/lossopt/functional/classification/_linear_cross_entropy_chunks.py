"""The chunked forward and backward of ``linear_cross_entropy_loss`` (equations of ``lossopt_spec``).

One chunk of tokens at a time: logits (1) (2), log-sum-exp (3) and the loss (5) from one buffer of
``chunk x V`` values, which then becomes the logits' gradient (5') (2') in place and enters the two
products (1'). The per-token constants (kept mask, class weight of the target, sum of ``a``) are
computed once for all tokens, as tensors: nothing is read on the host.

Gradients are fresh buffers owned by this function: nothing is written into a tensor the caller
passed. ``"mean"`` / ``"sum"``: the forward computes the gradients for a unit upstream gradient
and the backward scales them in place (once; a second backward through a retained graph
recomputes them). ``"none"``: the backward recomputes each chunk with the per-token upstream.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from lossopt.functional.reduction import compute_dtype


class Options(NamedTuple):
    reduction: str
    ignore_index: int
    label_smoothing: float
    softcap: float | None
    z_loss: float
    chunk_size: int
    classes: int


class Tokens(NamedTuple):
    """Per-token constants, shape (N,): target made safe, kept mask, w_t (0 if ignored), sum_c a_c."""

    safe: torch.Tensor
    kept: torch.Tensor
    w_t: torch.Tensor
    a_sum: torch.Tensor


def tokens(target: torch.Tensor, weight: torch.Tensor | None, options: Options, dtype: torch.dtype) -> Tokens:
    """The per-token constants of (4) for every token at once."""
    classes = options.classes
    kept = target != options.ignore_index
    safe = torch.where(kept, target, 0)
    eps = options.label_smoothing
    if weight is None:
        w_t = kept.to(dtype)
        a_sum = w_t  # (4) sum_c a_c = (1 - eps) w_t + eps / V sum_c w_c = 1 - eps + eps for w = 1
    else:
        w_t = torch.where(kept, weight[safe], 0.0)
        a_sum = (1.0 - eps) * w_t + (eps / classes) * weight.sum() * kept
    return Tokens(safe, kept, w_t, a_sum)


def unit_scales(rows: Tokens, options: Options) -> tuple[torch.Tensor, torch.Tensor]:
    """(u_ce, u_z) per token for a unit upstream gradient of the reduction (6), 0 on ignored tokens."""
    kept = rows.kept.to(rows.w_t.dtype)
    if options.reduction != "mean":
        return kept, kept
    u_ce, u_z = kept / rows.w_t.sum(), kept / kept.sum()  # "mean": / sum w_t, / count
    return torch.where(rows.kept, u_ce, 0.0), torch.where(rows.kept, u_z, 0.0)  # not 0 / 0 where none is kept


class Chunk(NamedTuple):
    """A chunk's softmax numerator e = exp(s - max s) (in the logits' buffer), its sum, tanh(z / c), lse."""

    e: torch.Tensor
    total: torch.Tensor
    tanh: torch.Tensor | None
    lse: torch.Tensor


class Workspace(NamedTuple):
    """Chunk buffers, allocated once per pass and reused by every chunk (no allocator traffic per chunk).

    ``logits``: the products' output, in the input's dtype; ``values``: its float32 copy for
    float16/bfloat16 inputs; ``capped``: s = c tanh(z / c) (``tanh`` stays in the other buffer).
    """

    logits: torch.Tensor
    values: torch.Tensor | None
    capped: torch.Tensor | None


def workspace(x: torch.Tensor, options: Options, dtype: torch.dtype) -> Workspace:
    shape = (min(options.chunk_size, x.shape[0]), options.classes)
    return Workspace(
        x.new_empty(shape),
        x.new_empty(shape, dtype=dtype) if dtype != x.dtype else None,
        x.new_empty(shape, dtype=dtype) if options.softcap is not None else None,
    )


def chunk_logits(
    x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, options: Options, space: Workspace
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(s, tanh(z / c) or None) for the rows ``x``, in the compute dtype, in the workspace's buffers."""
    n = x.shape[0]
    z = space.logits[:n]
    if b is None:
        torch.mm(x, w.t(), out=z)  # (1) z = x W^T + b
    else:
        torch.addmm(b, x, w.t(), out=z)
    if space.values is not None:
        z = space.values[:n].copy_(z)
    if options.softcap is None or space.capped is None:
        return z, None
    tanh = z.div_(options.softcap).tanh_()
    return torch.mul(tanh, options.softcap, out=space.capped[:n]), tanh  # (2) s = c tanh(z / c)


def chunk_softmax(s: torch.Tensor, tanh: torch.Tensor | None) -> Chunk:
    """(3) lse = max + log sum exp(s - max), leaving exp(s - max) in ``s``'s buffer."""
    m = s.amax(dim=1)
    e = s.sub_(m[:, None]).exp_()
    total = e.sum(dim=1)
    return Chunk(e, total, tanh, m + total.log())


def logit_reads(s: torch.Tensor, rows: Tokens, weight: torch.Tensor | None, eps: float) -> tuple[torch.Tensor, ...]:
    """What the loss (5) reads of the logits before :func:`chunk_softmax` overwrites them: s_t, sum_c w_c s_c."""
    s_t = s.gather(1, rows.safe[:, None])[:, 0]
    if not eps:
        return (s_t,)
    return s_t, (s.sum(dim=1) if weight is None else s @ weight)


def token_losses(
    lse: torch.Tensor, reads: tuple[torch.Tensor, ...], rows: Tokens, weight: torch.Tensor | None, options: Options
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(5) the cross-entropy and the z-loss of each token of a chunk, 0 where ignored."""
    eps = options.label_smoothing
    ce = (1.0 - eps) * rows.w_t * (lse - reads[0])  # (5) -(1 - eps) w_t log p_t
    if eps:
        classes = options.classes
        w_all = float(classes) if weight is None else weight.sum()
        ce = ce + (eps / classes) * (w_all * lse - reads[1])  # (5) -eps / V sum_c w_c log p_c
    zeta = torch.where(rows.kept, options.z_loss * lse.square(), 0.0) if options.z_loss else None  # (5)
    return torch.where(rows.kept, ce, 0.0), zeta


def chunk_grad(
    chunk: Chunk,
    rows: Tokens,
    u_ce: torch.Tensor,
    u_z: torch.Tensor,
    weight: torch.Tensor | None,
    options: Options,
) -> torch.Tensor:
    """(5') (2'): the logits' gradient of a chunk, written over ``chunk.e``; exactly 0 on ignored tokens."""
    eps, classes = options.label_smoothing, options.classes
    coefficient = u_ce * rows.a_sum
    if options.z_loss:
        coefficient = coefficient + u_z * (2.0 * options.z_loss) * chunk.lse
    g = chunk.e.mul_((coefficient / chunk.total)[:, None])  # (5') (u sum a + 2 alpha u lse) p
    g.scatter_add_(1, rows.safe[:, None], (-(1.0 - eps) * u_ce * rows.w_t)[:, None])  # (5') - u (1 - eps) w_t e_t
    if eps:
        if weight is None:
            g.sub_((u_ce * (eps / classes))[:, None])  # (5') - u eps / V w
        else:
            g.addr_(u_ce, weight, alpha=-eps / classes)
    if chunk.tanh is not None:
        g.mul_(chunk.tanh.square_().neg_().add_(1.0))  # (2') ds/dz = 1 - tanh^2(z / c)
    return g


class Grads(NamedTuple):
    x: torch.Tensor | None
    w: torch.Tensor | None
    b: torch.Tensor | None


def new_grads(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, needs: tuple[bool, ...]) -> Grads:
    """Zeroed gradients; the weight's and bias's accumulate over chunks in the compute dtype (float32 for halves)."""
    dtype = compute_dtype(x.dtype)
    return Grads(
        torch.empty(x.shape, dtype=x.dtype, device=x.device) if needs[0] else None,  # contiguous: rows are out=
        torch.zeros(w.shape, dtype=dtype, device=w.device) if needs[1] else None,
        torch.zeros(b.shape, dtype=dtype, device=b.device) if b is not None and needs[2] else None,
    )


def accumulate(grads: Grads, g: torch.Tensor, x: torch.Tensor, w: torch.Tensor, start: int) -> None:
    """(1') x-bar = g W into the chunk's rows, W-bar += g^T x, b-bar += sum g."""
    if grads.b is not None:
        grads.b.add_(g.sum(dim=0))
    g_mm = g.to(x.dtype)
    if grads.x is not None:
        torch.mm(g_mm, w, out=grads.x[start : start + g.shape[0]])
    if grads.w is not None and grads.w.dtype == g_mm.dtype:
        grads.w.addmm_(g_mm.t(), x)
    elif grads.w is not None:
        grads.w.add_(torch.mm(g_mm.t(), x))  # half products, float32 sum over chunks


class Losses(NamedTuple):
    ce: torch.Tensor
    zeta: torch.Tensor | None


class Batch(NamedTuple):
    """The tensors of a call: hidden states ``(N, D)``, the projection and its bias, targets, class weights."""

    x: torch.Tensor
    w: torch.Tensor
    b: torch.Tensor | None
    target: torch.Tensor
    weight: torch.Tensor | None


def run_chunks(
    batch: Batch, options: Options, *, loss: bool, grads: Grads | None, upstream: torch.Tensor | None = None
) -> tuple[Losses | None, Tokens]:
    """One pass over the chunks: per-token losses (``loss=True``) and/or gradients into ``grads``.

    ``upstream``: the per-token upstream gradient ("none"; for "mean"/"sum" the scalar, when a
    retained graph runs its backward again); None: a unit upstream gradient.
    """
    x, w, b, target, weight = batch
    dtype = compute_dtype(x.dtype)
    weight = None if weight is None else weight.to(dtype)
    rows = tokens(target, weight, options, dtype)
    u_ce, u_z = unit_scales(rows, options)
    if upstream is not None:  # an ignored token's gradient is 0 whatever its upstream (NaN included), as torch
        u_ce, u_z = (torch.where(rows.kept, u * upstream, 0.0) for u in (u_ce, u_z))
    n = x.shape[0]
    losses = None
    if loss:
        losses = Losses(x.new_empty(n, dtype=dtype), x.new_empty(n, dtype=dtype) if options.z_loss else None)
    space = workspace(x, options, dtype)
    for start in range(0, n, options.chunk_size):
        end = min(start + options.chunk_size, n)
        part = Tokens(*(field[start:end] for field in rows))
        s, tanh = chunk_logits(x[start:end], w, b, options, space)
        reads = logit_reads(s, part, weight, options.label_smoothing) if losses is not None else ()
        chunk = chunk_softmax(s, tanh)  # (3); s is exp(s - max) from here on
        if losses is not None:
            ce, zeta = token_losses(chunk.lse, reads, part, weight, options)
            losses.ce[start:end] = ce
            if losses.zeta is not None and zeta is not None:
                losses.zeta[start:end] = zeta
        if grads is not None:
            g = chunk_grad(chunk, part, u_ce[start:end], u_z[start:end], weight, options)
            accumulate(grads, g, x[start:end], w, start)
    return losses, rows


def reduce_losses(losses: Losses, rows: Tokens, reduction: str) -> torch.Tensor:
    """(6): per token; summed; or the cross-entropy over sum w_t plus the z-loss over the kept count."""
    if reduction == "none":
        return losses.ce if losses.zeta is None else losses.ce + losses.zeta
    if reduction == "sum":
        return losses.ce.sum() if losses.zeta is None else losses.ce.sum() + losses.zeta.sum()
    weight_count = rows.w_t.sum()
    value = torch.where(weight_count != 0, losses.ce.sum() / weight_count, torch.nan)  # 0 / 0 -> NaN, as torch
    if losses.zeta is not None:
        value = value + losses.zeta.sum() / rows.kept.sum()
    return value


def _cast(grads: Grads, like: tuple[torch.Tensor | None, ...]) -> tuple[torch.Tensor | None, ...]:
    """The gradients in their inputs' dtypes (the weight's and bias's were summed in float32 for halves)."""
    return tuple(None if g is None or ref is None else g.to(ref.dtype) for g, ref in zip(grads, like, strict=True))


class LinearCrossEntropyFunction(torch.autograd.Function):
    """Forward: per-token losses reduced by (6), and for "mean" / "sum" the gradients of a unit upstream.

    Backward: those gradients scaled in place by the upstream scalar, or a recomputation chunk by
    chunk ("none", or a second backward through a retained graph).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: torch.Tensor,
        w: torch.Tensor,
        b: torch.Tensor | None,
        target: torch.Tensor,
        weight: torch.Tensor | None,
        options: Options,
    ) -> torch.Tensor:
        needs = tuple(ctx.needs_input_grad[:3])
        early = options.reduction != "none" and any(needs)
        grads = new_grads(x, w, b, needs) if early else None
        losses, rows = run_chunks(Batch(x, w, b, target, weight), options, loss=True, grads=grads)
        assert losses is not None
        ctx.save_for_backward(x, w, b, target, weight)
        ctx.options, ctx.needs, ctx.grads = options, needs, grads
        return reduce_losses(losses, rows, options.reduction)  # in the compute dtype: the caller casts it

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        if torch.is_grad_enabled():  # create_graph=True: refuse, rather than return gradients that have no graph
            raise RuntimeError(
                "linear_cross_entropy_loss has no double backward (create_graph=True); for higher-order "
                "gradients use F.cross_entropy(input @ linear_weight.T + linear_bias, target, ...)"
            )
        batch = Batch(*ctx.saved_tensors)
        x, w, b = batch.x, batch.w, batch.b
        grads, ctx.grads = ctx.grads, None  # scaled in place once: a second backward recomputes
        if grads is not None:
            grads = Grads(*(None if g is None else g.mul_(grad_output) for g in grads))
        else:
            grads = new_grads(x, w, b, ctx.needs)
            upstream = grad_output.to(compute_dtype(x.dtype)).expand(x.shape[0])
            with torch.autocast(x.device.type, enabled=False):  # a backward called inside autocast: as the forward
                run_chunks(batch, ctx.options, loss=False, grads=grads, upstream=upstream)
        return (*_cast(grads, (x, w, b)), None, None, None)
