"""Feature detection of private torch APIs (lossopt._torch_compat), on the installed torch and on stand-ins.

The matrix (`nox -s conformance`, `nox -s tests`) runs this file on every supported torch, so the
assertions about the installed torch are checked per version.
"""

from types import SimpleNamespace

import pytest
import torch

import lossopt
from lossopt import _torch_compat as compat
from lossopt.optim import base as base_module
from lossopt.optim.kernels import execute

ADAM_ARGUMENTS = (
    "self",
    "grads",
    "exp_avgs",
    "exp_avg_sqs",
    "max_exp_avg_sqs",
    "state_steps",
    "lr",
    "beta1",
    "beta2",
    "weight_decay",
    "eps",
    "amsgrad",
    "maximize",
    "grad_scale",
    "found_inf",
)


@pytest.mark.parametrize(
    ("text", "version"),
    [("2.13.0", (2, 13, 0)), ("2.14.1+cu130", (2, 14, 1)), ("2.15.0a0+git1234", (2, 15, 0)), ("3.0", (3, 0, 0))],
)
def test_parse_version(text, version):
    assert compat.parse_version(text) == version


def test_parse_version_refuses_what_is_not_a_version():
    with pytest.raises(ValueError, match=r"not a torch version: 'nightly' \(expected 'MAJOR.MINOR\[.PATCH\]...'\)"):
        compat.parse_version("nightly")


def test_supported_range_starts_at_2_9():
    assert compat.MIN_TORCH == (2, 9)
    assert not compat.is_supported((2, 8, 0))
    assert compat.is_supported((2, 9, 1))
    assert compat.is_supported((2, 15, 0))
    assert compat.is_supported((3, 0, 0))
    assert compat.is_supported(), f"the installed torch {torch.__version__} is outside the supported range"


def test_installed_torch_has_the_foreach_ops_the_kernels_use():
    for cls in lossopt.OPTIMIZERS.values():
        assert compat.has_foreach_ops(*cls.foreach_ops), cls.__name__
    assert compat.has_foreach_ops("add_", "mul_", "addcmul_", "addcdiv_", "lerp_", "sqrt", "maximum_")
    assert not compat.has_foreach_ops("add_", "no_such_op_")


def test_missing_foreach_ops_are_named():
    namespace = SimpleNamespace(_foreach_add_=lambda *a: None, _foreach_mul_=None)
    assert compat.missing_foreach_ops(["add_", "mul_", "lerp_"], namespace) == ("mul_", "lerp_")


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_installed_fused_adam_kernels_take_grad_scale_and_tensor_lr(name):
    kernel = compat.fused_kernel(name)
    assert kernel.available, kernel.reason
    assert kernel.arguments == ADAM_ARGUMENTS
    assert kernel.accepts_grad_scale
    assert kernel.tensor_lr
    assert {"cpu", "cuda"} <= set(kernel.devices)
    assert kernel.usable("cpu", needs=("grad_scale", "found_inf"))
    assert kernel.why_not("cpu") == ""


def _fake_ops(**ops):
    def op(arguments, overloads=("default",)):
        schema = SimpleNamespace(arguments=[SimpleNamespace(name=a) for a in arguments])
        return SimpleNamespace(overloads=lambda: list(overloads), default=SimpleNamespace(_schema=schema))

    return SimpleNamespace(**{f"_fused_{name}_": op(*args) for name, args in ops.items()})


def test_a_missing_fused_kernel_is_unavailable_with_the_reason():
    kernel = compat.inspect_fused_kernel("adamw", _fake_ops(), ["cuda"])
    assert not kernel.available
    assert not kernel.usable("cuda")
    assert kernel.reason.startswith(f"torch {torch.__version__} has no usable _fused_adamw_: ")
    assert kernel.why_not("cuda") == kernel.reason


def test_an_older_signature_without_grad_scale_turns_the_fused_path_off():
    old = ADAM_ARGUMENTS[:-2]
    kernel = compat.inspect_fused_kernel("adamw", _fake_ops(adamw=(old,)), ["cuda"])
    assert kernel.available
    assert not kernel.tensor_lr
    assert not kernel.accepts_grad_scale
    assert kernel.usable("cuda")
    assert not kernel.usable("cuda", needs=("grad_scale",))
    assert not kernel.usable("cpu")
    assert kernel.why_not("cpu") == (
        f"torch {torch.__version__}: _fused_adamw_ does not run on cpu (runs on ('cuda',))"
    )
    assert kernel.why_not("cuda", needs=("found_inf", "grad_scale")).endswith(
        f"_fused_adamw_ takes no ['found_inf', 'grad_scale'] (arguments: {old})"
    )


def test_fused_sgd_called_as_detected_matches_torch_sgd_on_unscaled_gradients():
    kernel = compat.fused_kernel("sgd")
    if not kernel.usable("cpu", needs=("grad_scale", "found_inf", "is_first_step")):
        pytest.skip(kernel.why_not("cpu", needs=("grad_scale", "found_inf", "is_first_step")))
    param, grad = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.4, 0.2, -1.0])
    fused = param.clone()
    torch._fused_sgd_(
        [fused],
        [grad * 4.0],  # scaled gradient: the kernel divides by grad_scale
        [],
        weight_decay=0.0,
        momentum=0.0,
        lr=0.1,
        dampening=0.0,
        nesterov=False,
        maximize=False,
        is_first_step=True,
        grad_scale=torch.tensor(4.0),
        found_inf=torch.tensor(0.0),
    )
    torch.testing.assert_close(fused, param - 0.1 * grad, rtol=0, atol=1e-7)  # p - lr g, by hand


def test_fused_adamw_called_with_the_detected_arguments_matches_torch_adamw():
    kernel = compat.fused_kernel("adamw")
    if not kernel.usable("cpu", needs=("grad_scale", "found_inf")):
        pytest.skip(kernel.why_not("cpu", needs=("grad_scale", "found_inf")))
    param, grad = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.4, 0.2, -1.0])
    reference = param.clone().requires_grad_()
    reference.grad = grad.clone()
    torch.optim.AdamW([reference], lr=0.1, weight_decay=0.01, foreach=False).step()
    # the caller counts steps (torch.optim increments state_steps before the kernel): this is step 1
    fused, m, v, step = param.clone(), torch.zeros(3), torch.zeros(3), torch.tensor(1.0)
    torch._fused_adamw_(
        [fused], [grad * 8.0], [m], [v], [], [step],
        lr=0.1, beta1=0.9, beta2=0.999, weight_decay=0.01, eps=1e-8, amsgrad=False, maximize=False,
        grad_scale=torch.tensor(8.0), found_inf=torch.tensor(0.0),
    )  # fmt: skip
    torch.testing.assert_close(fused, reference.detach())
    assert step.item() == 1.0


def test_sgd_falls_back_to_the_per_tensor_loop_without_the_foreach_ops(monkeypatch):
    def unavailable(*args, **kwargs):
        raise AssertionError("the multi-tensor kernel ran although its ops are missing")

    monkeypatch.setattr(base_module, "_has_foreach_ops", lambda names: False)
    monkeypatch.setattr(execute, "foreach", unavailable)
    ours = [torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([[0.5]], requires_grad=True)]
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    opt_ours = lossopt.SGD(ours, lr=0.1, momentum=0.9, foreach=True)
    opt_theirs = torch.optim.SGD(theirs, lr=0.1, momentum=0.9, foreach=False)
    for _ in range(3):
        for a, b in zip(ours, theirs, strict=True):
            a.grad = torch.full_like(a, 0.3)
            b.grad = torch.full_like(b, 0.3)
        opt_ours.step()
        opt_theirs.step()
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_describe_reports_the_installed_torch():
    info = compat.describe()
    assert info["torch"] == torch.__version__
    assert info["supported"] is True
    assert info["foreach"] is True
    assert info["fused"]["adamw"] == {"available": True, "grad_scale": True, "tensor_lr": True}
    assert info["linear_cross_entropy"] is (compat.TORCH_VERSION[:2] >= (2, 13))
    assert info["cpu_math"] == compat.cpu_math()


def test_linear_cross_entropy_is_torchs_from_2_13_and_none_before():
    found = compat.linear_cross_entropy()
    if compat.TORCH_VERSION[:2] >= (2, 13):  # the release that added torch.nn.functional.linear_cross_entropy
        assert found is torch.nn.functional.linear_cross_entropy
    else:
        assert found is None


def test_cpu_math_names_the_vector_isa_mkl_and_its_mode(monkeypatch):
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    math = compat.cpu_math()
    assert math["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert math["mkl"] is torch.backends.mkl.is_available()
    assert math["mkl_cbwr"] == "COMPATIBLE"
    monkeypatch.delenv("MKL_CBWR")
    assert compat.cpu_math()["mkl_cbwr"] is None


def test_cpu_sqrt_fingerprint_is_ieee_sqrts_exactly_where_torch_rounds_every_value_correctly():
    """The fingerprint hashes torch's CPU square roots; NumPy's are IEEE (correctly rounded): the reference."""
    import hashlib

    import numpy as np

    values = torch.logspace(-9, -1, 4096, dtype=torch.float64).to(torch.float32).numpy()  # the docstring's inputs
    ieee = np.sqrt(values)
    ours = torch.sqrt(torch.from_numpy(values)).numpy()
    ieee_fingerprint = hashlib.sha256(ieee.tobytes()).hexdigest()[:16]
    assert len(compat.cpu_sqrt_fingerprint()) == 16
    assert (compat.cpu_sqrt_fingerprint() == ieee_fingerprint) is bool(np.array_equal(ours, ieee))
    ulps = np.abs(ours.view(np.int32).astype(np.int64) - ieee.view(np.int32).astype(np.int64))
    assert ulps.max() <= 1, f"torch.sqrt is {ulps.max()} ulp from IEEE sqrt (MKL's VML_HA promises 1)"


def test_declared_torch_floor_is_the_supported_minimum():
    from importlib.metadata import metadata, requires

    assert "torch>=2.9" in [r.replace(" ", "") for r in requires("lossopt") or []]
    assert compat.MIN_TORCH == (2, 9)
    assert "Programming Language :: Python :: 3.11" in metadata("lossopt").get_all("Classifier")
