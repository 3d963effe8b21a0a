"""linear_cross_entropy_loss: torch's unfused cross-entropy of x W^T + b, chunking, memory, half inputs, checks.

The reference for every option is plain autograd through torch's own ops (``naive`` below):
``F.cross_entropy`` of the (capped) logits plus the z-loss written out from ``torch.logsumexp``.
"""

import warnings

import pytest
import torch
from torch.nn import functional
from torch.utils._python_dispatch import TorchDispatchMode

from lossopt import LinearCrossEntropyLoss
from lossopt.functional import linear_cross_entropy_loss, value_checks
from lossopt.functional.classification import default_chunk_size

REDUCTIONS = ("none", "mean", "sum")
HAS_TORCH_FUSED = hasattr(functional, "linear_cross_entropy")


def naive(x, w, t, *, linear_bias=None, weight=None, reduction="mean", ignore_index=-100, label_smoothing=0.0,
          softcap=None, z_loss=0.0):  # fmt: skip
    """The unfused definition: logits, cap, torch's cross-entropy, plus alpha lse^2 per kept token."""
    z = x @ w.T if linear_bias is None else x @ w.T + linear_bias
    s = z if softcap is None else softcap * torch.tanh(z / softcap)
    ce = functional.cross_entropy(
        s, t, weight, ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing
    )
    if not z_loss:
        return ce
    kept = t != ignore_index
    zeta = torch.where(kept, z_loss * torch.logsumexp(s, dim=-1) ** 2, 0.0)
    if reduction == "none":
        return ce + zeta
    return ce + (zeta.sum() if reduction == "sum" else zeta.sum() / kept.sum())


def problem(n=37, d=6, v=11, *, dtype=torch.float64, seed=0, ignored=True, scale=1.0):
    """(x, W, b) requiring grad, targets with every fifth token ignored, positive class weights."""
    generator = torch.Generator().manual_seed(seed)
    x = (scale * torch.randn(n, d, generator=generator)).to(dtype).requires_grad_()
    w = (scale * torch.randn(v, d, generator=generator)).to(dtype).requires_grad_()
    b = torch.randn(v, generator=generator).to(dtype).requires_grad_()
    t = torch.randint(0, v, (n,), generator=generator)
    if ignored:
        t[::5] = -100
    return x, w, b, t, torch.rand(v, generator=generator, dtype=torch.float64).add(0.2).to(dtype)


def values_and_grads(fn, inputs, upstream_seed=1, **kwargs):
    """fn's value and its gradients w.r.t. (x, W, b) for a random upstream gradient."""
    x, w, b = inputs
    value = fn(x, w, kwargs.pop("target"), linear_bias=b, **kwargs)
    generator = torch.Generator().manual_seed(upstream_seed)
    upstream = torch.randn(value.shape, generator=generator, dtype=torch.float64).to(value.dtype)
    return value, torch.autograd.grad(value, (x, w, b), upstream)


def assert_same(ours, theirs, **tolerance):
    torch.testing.assert_close(ours[0], theirs[0], **tolerance)
    for got, want, name in zip(ours[1], theirs[1], ("input", "linear_weight", "linear_bias"), strict=True):
        torch.testing.assert_close(got, want, **tolerance, msg=lambda m, name=name: f"grad of {name}: {m}")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("chunk_size", [1, 7, 16, None])  # 7 and 16 do not divide N = 37
@pytest.mark.parametrize(("weighted", "smoothing"), [(False, 0.0), (True, 0.0), (False, 0.3), (True, 0.3)])
def test_equals_torch_cross_entropy_of_the_logits_value_and_three_gradients(reduction, chunk_size, weighted, smoothing):
    x, w, b, t, weight = problem()
    kwargs = {"target": t, "weight": weight if weighted else None, "reduction": reduction, "label_smoothing": smoothing}
    ours = values_and_grads(linear_cross_entropy_loss, (x, w, b), chunk_size=chunk_size, **kwargs)
    assert_same(ours, values_and_grads(naive, (x, w, b), **kwargs), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("softcap", [None, 2.5])
@pytest.mark.parametrize("z_loss", [0.0, 1e-2])
def test_softcap_and_z_loss_equal_their_unfused_definition(reduction, softcap, z_loss):
    x, w, b, t, weight = problem(scale=2.0)
    kwargs = {"target": t, "weight": weight, "reduction": reduction, "label_smoothing": 0.1}
    kwargs |= {"softcap": softcap, "z_loss": z_loss}
    ours = values_and_grads(linear_cross_entropy_loss, (x, w, b), chunk_size=8, **kwargs)
    assert_same(ours, values_and_grads(naive, (x, w, b), **kwargs), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_float32_within_float32_rounding_of_torch(reduction):
    x, w, b, t, weight = problem(n=300, d=32, v=257, dtype=torch.float32)
    kwargs = {"target": t, "weight": weight, "reduction": reduction, "label_smoothing": 0.1, "z_loss": 1e-3}
    ours = values_and_grads(linear_cross_entropy_loss, (x, w, b), chunk_size=64, **kwargs)
    assert_same(ours, values_and_grads(naive, (x, w, b), **kwargs))  # assert_close's float32 defaults


def test_a_vocabulary_above_250k_classes_in_float32():
    # 300k classes: float32 against float64 of the same inputs; the sums over V stay accurate
    x, w, b, t, weight = problem(n=8, d=4, v=300_000, dtype=torch.float32, ignored=False)
    kwargs = {"target": t, "weight": weight, "label_smoothing": 0.1, "z_loss": 1e-4, "softcap": 30.0}
    ours = values_and_grads(linear_cross_entropy_loss, (x, w, b), chunk_size=3, **kwargs)
    wide = [v.detach().double().requires_grad_() for v in (x, w, b)]
    truth = values_and_grads(naive, wide, **{**kwargs, "weight": weight.double()})
    torch.testing.assert_close(ours[0].double(), truth[0], rtol=1e-6, atol=0)
    for got, want in zip(ours[1], truth[1], strict=True):
        torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-6 * want.abs().max().item())


def _error(value, truth):
    return (value.double() - truth).abs().max().item()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_half_inputs_are_no_less_accurate_than_torchs_unfused_half_path(dtype, reduction):
    # Truth: float64 on the same (rounded) inputs. Both lossopt and torch's unfused path round the logits
    # to the half dtype (F.linear's output); lossopt then works in float32, so its error must not exceed
    # torch's (factor 1.5 for rounding luck) plus a floor of one half-precision unit of the result's scale.
    x, w, b, t, _ = problem(n=256, d=16, v=300, dtype=dtype)
    wide = [v.detach().double().requires_grad_() for v in (x, w, b)]
    kwargs = {"target": t, "reduction": reduction, "label_smoothing": 0.1}
    truth = values_and_grads(naive, wide, **kwargs)
    ours = values_and_grads(linear_cross_entropy_loss, (x, w, b), chunk_size=48, **kwargs)
    theirs = values_and_grads(naive, (x, w, b), **kwargs)
    unit = torch.finfo(dtype).eps
    for got, ref, want in zip((ours[0], *ours[1]), (theirs[0], *theirs[1]), (truth[0], *truth[1]), strict=True):
        assert got.dtype == dtype
        floor = unit * want.abs().max().item()
        assert _error(got, want) <= 1.5 * _error(ref, want) + floor, (_error(got, want), _error(ref, want), floor)


@pytest.mark.parametrize("input_dtype", [torch.float32, torch.bfloat16])
def test_under_autocast_the_projection_runs_in_bfloat16_as_f_linear_and_the_loss_in_float32(input_dtype):
    # float32 parameters; hidden states float32 or bfloat16 (a bfloat16 layer's output under autocast)
    x, w, b, t, _ = problem(n=128, d=16, v=200, dtype=torch.float32)
    x = x.detach().to(input_dtype).requires_grad_()
    rounded = [v.detach().to(torch.bfloat16).double().requires_grad_() for v in (x, w, b)]
    truth = values_and_grads(naive, rounded, target=t)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = values_and_grads(linear_cross_entropy_loss, (x, w, b), target=t, chunk_size=48)
        theirs = values_and_grads(naive, (x, w, b), target=t)
    assert ours[0].dtype == theirs[0].dtype == torch.float32
    for got, ref, want in zip((ours[0], *ours[1]), (theirs[0], *theirs[1]), (truth[0], *truth[1]), strict=True):
        assert got.dtype == ref.dtype
        floor = torch.finfo(torch.bfloat16).eps * want.abs().max().item()
        assert _error(got, want) <= 1.5 * _error(ref, want) + floor, (_error(got, want), _error(ref, want), floor)
    with pytest.raises(TypeError, match="linear_weight must have the dtype of input"):
        linear_cross_entropy_loss(x.detach().bfloat16(), w, t)  # outside autocast: no silent cast


def test_half_weight_gradient_is_summed_over_chunks_in_float32():
    # one chunk per token: a bfloat16 running sum over 512 chunks would lose ~2^-9 relative per addition
    x, w, b, t, _ = problem(n=512, d=4, v=8, dtype=torch.bfloat16, ignored=False)
    wide = [v.detach().double().requires_grad_() for v in (x, w, b)]
    truth = values_and_grads(naive, wide, target=t, reduction="sum")
    ours = values_and_grads(linear_cross_entropy_loss, (x, w, b), target=t, reduction="sum", chunk_size=1)
    for got, want in zip(ours[1][1:], truth[1][1:], strict=True):
        torch.testing.assert_close(got.double(), want, rtol=2e-2, atol=2e-2 * want.abs().max().item())


@pytest.mark.skipif(not HAS_TORCH_FUSED, reason=f"torch {torch.__version__} has no F.linear_cross_entropy (2.13+)")
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_equals_torchs_linear_cross_entropy(reduction):
    x, w, b, t, weight = problem()
    kwargs = {"weight": weight, "reduction": reduction}  # torch's chunked path takes no label smoothing
    ours = values_and_grads(linear_cross_entropy_loss, (x, w, b), target=t, chunk_size=8, **kwargs)

    def fused(x, w, t, *, linear_bias, **kw):
        options = torch.nn.LinearCrossEntropyOptions(batch_chunk_size=8)
        return functional.linear_cross_entropy(x, w, t, linear_bias=linear_bias, options=options, **kw)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns when it falls back to its unfused path: it must not here
        theirs = values_and_grads(fused, (x, w, b), target=t, **kwargs)
    assert_same(ours, theirs, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("z_loss", [0.0, 0.1])
def test_every_token_ignored_gives_what_torch_gives(reduction, z_loss):
    x, w, b, t, _ = problem(n=6)
    t[:] = -100
    value, grads = values_and_grads(linear_cross_entropy_loss, (x, w, b), target=t, reduction=reduction, z_loss=z_loss)
    reference = functional.cross_entropy(x @ w.T + b, t, reduction=reduction)
    torch.testing.assert_close(value, reference, equal_nan=True)  # NaN for "mean" (0 / 0), 0 otherwise
    for grad in grads:
        assert torch.equal(grad, torch.zeros_like(grad))


def test_one_token_unbatched_and_empty_batches():
    x, w, b, t, _ = problem(n=1, ignored=False)
    for reduction in REDUCTIONS:
        ours = linear_cross_entropy_loss(x[0], w, t[0], linear_bias=b, reduction=reduction)
        assert ours.shape == ()
        torch.testing.assert_close(ours, functional.cross_entropy(w @ x[0] + b, t[0], reduction=reduction))
    empty = x[:0].detach().requires_grad_()
    for reduction in REDUCTIONS:
        value = linear_cross_entropy_loss(empty, w, t[:0], linear_bias=b, reduction=reduction)
        reference = functional.cross_entropy(empty @ w.T + b, t[:0], reduction=reduction)
        torch.testing.assert_close(value, reference, equal_nan=True)
    grads = torch.autograd.grad(linear_cross_entropy_loss(empty, w, t[:0], reduction="sum"), (empty, w))
    assert grads[0].shape == (0, 6)
    assert torch.equal(grads[1], torch.zeros_like(w))


def test_strided_inputs_and_int32_targets():
    # hidden states of a (T, B, D) model read as (B T, D) through a transpose, a transposed (tied) weight;
    # int32 targets (the function takes them as int64: older torch's gather and scatter_add refuse int32)
    x, w, b, t, _ = problem(n=24, d=6, v=11)
    x_strided = x.detach().reshape(4, 6, 6).transpose(0, 1).reshape(24, 6).t().contiguous().t().requires_grad_()
    w_strided = w.detach().t().contiguous().t().requires_grad_()
    assert not x_strided.is_contiguous()
    assert not w_strided.is_contiguous()
    kwargs = {"target": t.int(), "reduction": "sum"}
    ours = values_and_grads(linear_cross_entropy_loss, (x_strided, w_strided, b), chunk_size=5, **kwargs)
    theirs = values_and_grads(naive, (x_strided, w_strided, b), target=t, reduction="sum")
    assert_same(ours, theirs, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_in_float64(reduction):
    x, w, b, t, weight = problem(n=5, d=3, v=4)
    kwargs = {"weight": weight, "reduction": reduction, "label_smoothing": 0.2, "softcap": 1.5, "z_loss": 0.3}

    def fn(x, w, b):
        return linear_cross_entropy_loss(x, w, t, linear_bias=b, chunk_size=2, **kwargs)

    assert torch.autograd.gradcheck(fn, (x, w, b))


def test_a_retained_graph_gives_the_same_gradients_twice_and_double_backward_is_refused():
    x, w, b, t, _ = problem()
    value = linear_cross_entropy_loss(x, w, t, linear_bias=b, chunk_size=8)
    first = torch.autograd.grad(value, (x, w, b), torch.tensor(2.0, dtype=torch.float64), retain_graph=True)
    second = torch.autograd.grad(value, (x, w, b), torch.tensor(-3.0, dtype=torch.float64))
    for a, c in zip(first, second, strict=True):
        torch.testing.assert_close(a * -1.5, c, rtol=1e-13, atol=1e-15)
    value = linear_cross_entropy_loss(x, w, t, linear_bias=b)
    # refused, not a gradient without a graph (a gradient penalty would silently lose its second-order term)
    with pytest.raises(RuntimeError, match=r"no double backward \(create_graph=True\)"):
        torch.autograd.grad(value, (x,), create_graph=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_inputs_and_existing_gradients_are_never_modified(reduction):
    x, w, b, t, weight = problem()
    for p in (x, w, b):
        p.grad = torch.ones_like(p)  # accumulated into, never overwritten in place by the loss's own buffers
    before = [v.detach().clone() for v in (x, w, b, t, weight)]
    value = linear_cross_entropy_loss(x, w, t, linear_bias=b, weight=weight, reduction=reduction, chunk_size=8)
    value.sum().backward()
    for kept, now in zip(before, (x, w, b, t, weight), strict=True):
        assert torch.equal(kept, now.detach())
    expected = torch.autograd.grad(naive(x, w, t, linear_bias=b, weight=weight, reduction=reduction).sum(), (x, w, b))
    for p, grad in zip((x, w, b), expected, strict=True):
        torch.testing.assert_close(p.grad, grad + 1.0, rtol=1e-12, atol=1e-13)


class LargestTensor(TorchDispatchMode):
    """Records the largest number of elements of any tensor an op returns."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in out if isinstance(out, tuple | list) else (out,):
            if isinstance(tensor, torch.Tensor):
                self.largest = max(self.largest, tensor.numel())
        return out


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("softcap", [None, 3.0])
def test_no_tensor_of_n_by_v_logits_is_ever_allocated(reduction, softcap):
    n, d, v, chunk = 96, 4, 50, 8
    x, w, b, t, weight = problem(n=n, d=d, v=v, dtype=torch.float32)
    with LargestTensor() as mode:
        value = linear_cross_entropy_loss(
            x, w, t, linear_bias=b, weight=weight, reduction=reduction, label_smoothing=0.1, softcap=softcap,
            z_loss=1e-3, chunk_size=chunk,
        )  # fmt: skip
        value.sum().backward()
    assert mode.largest <= max(chunk * v, n * d, v * d), (mode.largest, n * v)
    with LargestTensor() as mode:
        naive(x, w, t, linear_bias=b, reduction=reduction).sum().backward()
    assert mode.largest >= n * v  # the probe sees the unfused logits


def test_default_chunk_size():
    assert default_chunk_size(8192, 32768) == 512  # 2^24 logits
    assert default_chunk_size(8192, 128_256) == 256  # at least 256 tokens
    assert default_chunk_size(100, 32768) == 100  # never more than N
    assert default_chunk_size(0, 10) == 1


def test_compiles_with_fullgraph():
    x, w, b, t, weight = problem(n=10, d=4, v=7, dtype=torch.float32)
    kwargs = {"weight": weight, "label_smoothing": 0.1, "softcap": 2.0, "z_loss": 0.1, "chunk_size": 3}
    for reduction in ("mean", "none"):
        compiled = torch.compile(linear_cross_entropy_loss, fullgraph=True)
        ours = values_and_grads(compiled, (x, w, b), target=t, reduction=reduction, **kwargs)
        eager = values_and_grads(linear_cross_entropy_loss, (x, w, b), target=t, reduction=reduction, **kwargs)
        assert_same(ours, eager)


def test_module_matches_the_function_and_keeps_weight_as_a_buffer():
    x, w, b, t, weight = problem()
    module = LinearCrossEntropyLoss(weight, reduction="sum", label_smoothing=0.1, softcap=4.0, z_loss=1e-3)
    assert "weight" in dict(module.named_buffers())
    expected = linear_cross_entropy_loss(
        x, w, t, linear_bias=b, weight=weight, reduction="sum", label_smoothing=0.1, softcap=4.0, z_loss=1e-3
    )
    torch.testing.assert_close(module(x, w, t, b), expected)
    assert "softcap=4.0" in repr(module)
    with pytest.raises(ValueError, match="z_loss must be a finite number >= 0; got -1"):
        LinearCrossEntropyLoss(z_loss=-1)


X, W, T = torch.zeros(2, 3), torch.zeros(4, 3), torch.tensor([0, 1])
BAD = [
    ({"input": torch.zeros(2, 3, 1)}, ValueError, "input must have shape (N, D) or (D,); got input (2, 3, 1)"),
    ({"linear_weight": torch.zeros(4, 2)}, ValueError, "with D = 3 for input (2, 3); got linear_weight (4, 2)"),
    ({"linear_weight": torch.zeros(0, 3)}, ValueError, "at least one row (class); got linear_weight (0, 3)"),
    ({"linear_bias": torch.zeros(3)}, ValueError, "linear_bias must have shape (V,) = (4,) for linear_weight (4, 3)"),
    ({"weight": torch.zeros(5)}, ValueError, "weight must have shape (V,) = (4,) for linear_weight (4, 3); got (5,)"),
    ({"target": torch.zeros(2)}, ValueError, "target must be class indices (an integer array;"),
    ({"target": torch.zeros(3, dtype=torch.long)}, ValueError, "target must have shape (2,) for input (2, 3); got"),
    ({"target": torch.tensor([0, 4])}, ValueError, "in [0, 4) or ignore_index=-100; got 4 at index (1,)"),
    ({"target": torch.tensor([-1, 0])}, ValueError, "got -1 at index (0,)"),
    ({"target": [0, 1]}, TypeError, "target must be a torch.Tensor; got list"),
    ({"linear_weight": torch.zeros(4, 3, dtype=torch.float64)}, TypeError, "linear_weight must have the dtype"),
    ({"input": torch.zeros(2, 3, dtype=torch.long)}, TypeError, "input must be a floating-point tensor"),
    ({"weight": torch.ones(4, requires_grad=True)}, ValueError, "cannot require grad: pass .detach()"),
    ({"reduction": "batchmean"}, ValueError, "reduction must be one of"),
    ({"label_smoothing": 1.5}, ValueError, "label_smoothing must be a number in [0, 1]; got 1.5"),
    ({"ignore_index": 1.0}, TypeError, "ignore_index must be an integer; got 1.0"),
    ({"softcap": 0.0}, ValueError, "softcap must be None or a finite number > 0; got 0.0"),
    ({"softcap": float("inf")}, ValueError, "softcap must be None or a finite number > 0; got inf"),
    ({"softcap": "30"}, TypeError, "softcap must be a real number; got '30'"),
    ({"z_loss": -1e-4}, ValueError, "z_loss must be a finite number >= 0; got -0.0001"),
    ({"chunk_size": 0}, ValueError, "chunk_size must be None or an integer >= 1; got 0"),
    ({"chunk_size": 2.0}, ValueError, "chunk_size must be None or an integer >= 1; got 2.0"),
]


@pytest.mark.parametrize(("change", "error", "message"), BAD, ids=[m for _, _, m in BAD])
def test_bad_inputs_name_the_argument_and_both_shapes(change, error, message):
    arguments = {"input": X, "linear_weight": W, "target": T, **change}
    with pytest.raises(error) as raised:
        linear_cross_entropy_loss(**arguments)
    assert message in str(raised.value), str(raised.value)


def test_target_range_is_checked_on_cpu_by_default_and_not_when_checks_are_off():
    with pytest.raises(ValueError, match="got 9 at index"):
        linear_cross_entropy_loss(X, W, torch.tensor([9, 0]))
    with value_checks("never"), pytest.raises((IndexError, RuntimeError)):  # torch's gather refuses it
        linear_cross_entropy_loss(X, W, torch.tensor([9, 0]))
