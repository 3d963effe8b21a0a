"""lossopt's CPU kernels (``lossopt/optim/kernels/cpu_kernels.c``): built, equal to the paths they replace.

Expected values come from independent code: torch's fused Adam kernel (the kernels turned off), the
``foreach`` kernels, ``math.fsum`` in float64 for the norm, and bit-identical comparisons
(``torch.equal``) where the result must not change (thread count, a skipped step, float vs tensor lr).
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from lossopt import AdaBelief, AdvancedAdam, AdvancedAdamW, AdvancedSGD
from lossopt.optim import base, clip
from lossopt.optim.kernels import cpu
from lossopt.optim.kernels import cpu_build as _cpu_kernels
from lossopt.optim.kernels.execute import Batch, StepInputs

pytestmark = pytest.mark.skipif(
    _cpu_kernels.find_compiler() is None, reason="no C compiler here: the fallbacks are tested elsewhere"
)

# sizes around the kernel's block of 16384 elements, an empty tensor, a 0-dim one
SHAPES = [(16384,), (16385,), (3, 5461), (0,), (), (7,), (40000,)]


def make_params(dtype=torch.float32, seed=0, shapes=SHAPES):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=generator, dtype=dtype).requires_grad_() for s in shapes]


def set_grads(params, seed):
    generator = torch.Generator().manual_seed(seed)
    for p in params:
        p.grad = torch.randn(p.shape, generator=generator, dtype=p.dtype)


def run(cls, kwargs, dtype=torch.float32, steps=12, shapes=SHAPES):
    params = make_params(dtype, shapes=shapes)
    optimizer = cls(params, **kwargs)
    for s in range(steps):
        set_grads(params, seed=100 + s)
        optimizer.step()
    return params, optimizer


def with_kernels_off(monkeypatch, function):
    monkeypatch.setenv(_cpu_kernels.ENABLE_VARIABLE, "0")
    _cpu_kernels.reset()
    try:
        return function()
    finally:
        monkeypatch.delenv(_cpu_kernels.ENABLE_VARIABLE)
        _cpu_kernels.reset()


def test_the_kernels_are_built_where_a_compiler_is():
    _cpu_kernels.reset()
    assert _cpu_kernels.library() is not None, _cpu_kernels.unavailable_reason()
    assert _cpu_kernels.unavailable_reason() == ""


ADAM_CONFIGS = [
    {},
    {"amsgrad": True},
    {"maximize": True, "weight_decay": 0.1},
    {"use_bias_correction": False, "betas": (0.0, 0.99)},
    {"weight_decay": 0.0, "warmup_steps": 5, "betas": (0.6, 0.9)},
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("config", ADAM_CONFIGS, ids=lambda c: "-".join(c) or "defaults")
@pytest.mark.parametrize("cls", [AdvancedAdamW, AdvancedAdam])
def test_fused_adam_with_clipping_matches_torchs_fused_kernel(cls, config, dtype, monkeypatch):
    kwargs = {"lr": 0.05, "fused": True, "max_grad_norm": 0.5, **config}  # norm ~ 250: clipped every step
    ours, opt = run(cls, kwargs, dtype)
    grads = [p.grad.clone() for p in ours]
    theirs, ref = with_kernels_off(monkeypatch, lambda: run(cls, kwargs, dtype))
    # float32: a few ulp of |p| <= 4 after 12 steps (the multiplier is applied as a product here, a quotient
    # there, and the norm is summed in float64 here, in float32 there)
    tol = {"rtol": 1.3e-6, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-13, "atol": 1e-15}
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q, **tol)
        for key in opt.state[p]:
            torch.testing.assert_close(opt.state[p][key], ref.state[q][key], **tol)
    torch.testing.assert_close(opt.last_grad_norm, ref.last_grad_norm, rtol=1e-6, atol=0)
    for p, g in zip(ours, grads, strict=True):
        assert torch.equal(p.grad, g)  # the kernel only reads the gradients (torch's writes them back)


SGD_CONFIGS = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1},
    {"momentum": 0.8, "nesterov": True, "maximize": True},
    {"momentum": 0.9, "warmup_steps": 4, "use_cyclical_lr": True, "cycle_length": 5},
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("config", SGD_CONFIGS, ids=lambda c: "-".join(c) or "defaults")
def test_fused_sgd_with_clipping_matches_torchs_fused_kernel(config, dtype, monkeypatch):
    kwargs = {"lr": 0.05, "fused": True, "max_grad_norm": 0.5, **config}
    ours, opt = run(AdvancedSGD, kwargs, dtype)
    grads = [p.grad.clone() for p in ours]
    theirs, ref = with_kernels_off(monkeypatch, lambda: run(AdvancedSGD, kwargs, dtype))
    tol = {"rtol": 1.3e-6, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-13, "atol": 1e-15}
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q, **tol)
        if "momentum_buffer" in ref.state[q]:
            torch.testing.assert_close(opt.state[p]["momentum_buffer"], ref.state[q]["momentum_buffer"], **tol)
    for p, g in zip(ours, grads, strict=True):
        assert torch.equal(p.grad, g)  # read only (torch's kernel writes the clipped gradient back)


def test_a_noncontiguous_parameter_alone_takes_torchs_kernel(monkeypatch):
    def build():
        generator = torch.Generator().manual_seed(3)
        wide = torch.randn(6, 8, generator=generator)
        params = [wide[:, ::2].requires_grad_(), torch.randn(50, generator=generator).requires_grad_()]
        optimizer = AdvancedAdamW(params, lr=0.1, fused=True, max_grad_norm=1.0)
        for s in range(5):
            set_grads(params, seed=s)
            optimizer.step()
        return params

    assert not build()[0].is_contiguous()
    ours, theirs = build(), with_kernels_off(monkeypatch, build)
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q, rtol=2e-6, atol=2e-7)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("weight_decouple", [False, True])
@pytest.mark.parametrize("rectify", [False, True])
def test_fused_adabelief_matches_the_foreach_kernel(amsgrad, weight_decouple, rectify, monkeypatch):
    kwargs = {
        "lr": 0.01,
        "weight_decay": 0.1,
        "amsgrad": amsgrad,
        "weight_decouple": weight_decouple,
        "rectify": rectify,
        "max_grad_norm": 5.0,
    }
    ours, _ = run(AdaBelief, {**kwargs, "fused": True}, steps=8)  # rho_t crosses 5 at step 6
    with monkeypatch.context() as patch:  # the same clip coefficient: the fused path's float64 norm for both
        patch.setattr(base, "global_grad_norm", lambda grads, fused: clip.global_grad_norm(grads, fused=True))
        theirs, _ = run(AdaBelief, {**kwargs, "foreach": True}, steps=8)
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_sum_of_squares_matches_fsum_for_every_size():
    tensors = [t.detach() for t in make_params(torch.float32, seed=5)]
    reference = math.fsum(float(x) ** 2 for t in tensors for x in t.reshape(-1).tolist())
    assert cpu.sum_of_squares(tensors) == pytest.approx(reference, rel=1e-12)
    float64 = [t.double() for t in tensors]
    assert cpu.sum_of_squares(float64) == pytest.approx(reference, rel=1e-14)


@pytest.mark.parametrize("seed", range(8))
def test_the_fused_norm_and_torchs_agree_within_torchs_float32_rounding(seed):
    # fused=True sums the squares in float64 (the result rounded once to float32, within half an ulp of the
    # exact norm); the default kernels are clip_grad_norm_'s float32 sums, measured within 6.2e-7 of the exact
    # norm over 20 draws of these sizes: their difference is bounded by 1e-6 relative (documented in clip.py)
    generator = torch.Generator().manual_seed(seed)
    sizes = [(16384,), (16385,), (3, 5461), (7,), (40000,), (1000, 100)]
    tensors = [torch.randn(s, generator=generator) * 10.0 ** (seed % 7 - 3) for s in sizes]
    exact = math.sqrt(math.fsum(float(x) ** 2 for t in tensors for x in t.reshape(-1).tolist()))
    fused, default = clip.global_grad_norm(tensors, fused=True), clip.global_grad_norm(tensors)
    assert float(fused) == pytest.approx(exact, rel=2**-24)
    assert float(default) == pytest.approx(exact, rel=1e-6)
    assert torch.equal(default, torch.nn.utils.get_total_norm(tensors))  # the default is torch's, bit for bit


def test_results_do_not_depend_on_the_thread_count():
    threads = torch.get_num_threads()
    try:
        results = []
        for n in (1, 2):
            torch.set_num_threads(n)
            params, opt = run(AdvancedAdamW, {"lr": 0.05, "fused": True, "max_grad_norm": 0.5}, steps=4)
            results.append((cpu.sum_of_squares([p.grad for p in params]), params, opt.last_grad_norm))
    finally:
        torch.set_num_threads(threads)
    (norm1, params1, last1), (norm2, params2, last2) = results
    assert norm1 == norm2  # partial sums added in block order, whatever thread summed them
    assert torch.equal(last1, last2)
    assert all(torch.equal(p, q) for p, q in zip(params1, params2, strict=True))


@torch.no_grad()
def test_a_found_inf_step_changes_no_bit_and_a_tensor_lr_equals_the_float():
    params, opt = run(AdvancedAdamW, {"lr": 0.05, "fused": True, "max_grad_norm": 0.5}, steps=3)
    group = opt.param_groups[0]
    state = [opt.state[p] for p in params]

    def batch(tensors):
        return Batch(tensors[0], tensors[1], [tensors[2], tensors[3], [None] * len(params)], [s["step"] for s in state])

    lists = [params, [p.grad for p in params], [s["exp_avg"] for s in state], [s["exp_avg_sq"] for s in state]]
    before = [[t.clone() for t in tensors] for tensors in lists] + [[s["step"].clone() for s in state]]
    multiplier = torch.tensor(0.5)
    assert cpu.adam(opt, batch(lists), StepInputs(group, 0.05, multiplier, torch.tensor(1.0))) is None
    after = [*lists, [s["step"] for s in state]]
    assert all(torch.equal(x, y) for xs, ys in zip(before, after, strict=True) for x, y in zip(xs, ys, strict=True))
    copies = [[t.clone() for t in tensors] for tensors in lists]
    cpu.adam(opt, batch(lists), StepInputs(group, 0.05, multiplier, torch.tensor(0.0)))
    cpu.adam(opt, batch(copies), StepInputs(group, torch.tensor(0.05), multiplier, None))
    assert all(torch.equal(x, y) for xs, ys in zip(lists, copies, strict=True) for x, y in zip(xs, ys, strict=True))
    assert all(float(s["step"]) == 3.0 for s in state)  # the counters are the optimizer's: the kernel reads them


def test_a_failed_build_warns_once_and_the_optimizers_fall_back(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    monkeypatch.setenv(_cpu_kernels.CACHE_VARIABLE, str(tmp_path / "cache"))
    _cpu_kernels.reset()
    try:
        with pytest.warns(RuntimeWarning, match=r"CPU kernels of fused=True could not be built \(the C compiler"):
            assert _cpu_kernels.library() is None
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # once: no second warning
            assert _cpu_kernels.library() is None
            assert "no-such-compiler" in _cpu_kernels.unavailable_reason()
            fused, _ = run(AdvancedAdamW, {"lr": 0.05, "fused": True, "max_grad_norm": 0.5}, steps=4)
    finally:
        monkeypatch.delenv("CC")
        _cpu_kernels.reset()
    foreach, _ = run(AdvancedAdamW, {"lr": 0.05, "foreach": True, "max_grad_norm": 0.5}, steps=4)
    for p, q in zip(fused, foreach, strict=True):
        torch.testing.assert_close(p, q, rtol=2e-6, atol=2e-7)


def test_turned_off_by_the_environment_without_a_warning(monkeypatch):
    monkeypatch.setenv(_cpu_kernels.ENABLE_VARIABLE, "0")
    _cpu_kernels.reset()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert _cpu_kernels.library() is None
        assert _cpu_kernels.unavailable_reason() == "turned off by LOSSOPT_CPU_KERNELS=0"
    finally:
        monkeypatch.delenv(_cpu_kernels.ENABLE_VARIABLE)
        _cpu_kernels.reset()


def test_a_built_library_is_loaded_from_the_cache_without_compiling(monkeypatch, tmp_path):
    monkeypatch.setenv(_cpu_kernels.CACHE_VARIABLE, str(tmp_path))
    _cpu_kernels.reset()
    try:
        assert _cpu_kernels.library() is not None
        built = list(tmp_path.glob("cpu_kernels-*.so"))
        assert len(built) == 1
        assert not list(tmp_path.glob("tmp*"))  # no scratch left behind
        _cpu_kernels.reset()

        def refuse(*args):
            raise AssertionError("compiled again")

        monkeypatch.setattr(_cpu_kernels, "_compile", refuse)
        assert _cpu_kernels.library() is not None
    finally:
        _cpu_kernels.reset()


def test_channels_last_parameters_take_the_kernel(monkeypatch):
    def build():
        generator = torch.Generator().manual_seed(4)
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 1))
        for p in model.parameters():
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=generator))
        model = model.to(memory_format=torch.channels_last)
        optimizer = AdvancedAdamW(model.parameters(), lr=0.05, fused=True, max_grad_norm=0.5, amsgrad=True)
        data = torch.randn(2, 3, 6, 6, generator=generator).to(memory_format=torch.channels_last)
        grads = []
        for _ in range(4):
            optimizer.zero_grad()
            model(data).square().sum().backward()
            grads = [p.grad.clone() for p in model.parameters()]
            optimizer.step()
        return list(model.parameters()), grads

    (ours, grads), (theirs, _) = build(), with_kernels_off(monkeypatch, build)
    weight = ours[0]
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert not weight.is_contiguous()
    assert weight.grad.is_contiguous(memory_format=torch.channels_last)
    _, others = cpu.partition([[weight], [weight.grad]])
    assert others == []  # taken by the kernel, not sent to the fallback
    for p, q, g in zip(ours, theirs, grads, strict=True):
        torch.testing.assert_close(p, q, rtol=1.3e-6, atol=1e-6)
        assert torch.equal(p.grad, g)  # read only, also in channels-last order
    transposed = torch.randn(4, 6).t()
    assert cpu.partition([[transposed], [transposed.contiguous()]]) == ([], [0])  # memory orders differ
