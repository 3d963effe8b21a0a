"""Every optimizer under ``torch.amp.GradScaler`` (on the CPU: ``GradScaler("cpu")``).

The reference is the same optimizer without a scaler, given the unscaled gradients, with
``step()`` not called at the step whose gradient overflows. Under the scaler:

- an inf gradient skips the step: the scaler skips ``step()`` for the per-tensor and foreach
  kernels; the fused kernels (which set ``_step_supports_amp_scaling``) are called with the
  scaler's ``found_inf`` and skip on the device, their step counters and schedule clock set back;
- ``max_grad_norm`` clips the unscaled gradients, once: ``last_grad_norm`` is the reference's, also
  when the user calls ``scaler.unscale_(optimizer)`` before ``scaler.step`` (no double unscale).

Scales are powers of two, so unscaling is exact; the fused kernels divide by :math:`S / \\kappa`
where the reference multiplies by :math:`\\kappa`, equal up to float32 rounding.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from lossopt.optim import AdaBelief, AdvancedAdam, AdvancedAdamW, AdvancedSGD, RAdam

OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "sgd": (AdvancedSGD, {"momentum": 0.9, "weight_decay": 0.01}),
    "adamw": (AdvancedAdamW, {"weight_decay": 0.01, "amsgrad": True}),
    # L2 decay and a large eps make Adam sensitive to the gradients' scale (a missed or double
    # unscale changes the trajectory); the norm check below does not depend on that
    "adam": (AdvancedAdam, {"weight_decay": 0.1, "eps": 1e-2}),
    "radam": (RAdam, {"weight_decay": 0.1, "eps": 1e-2}),
    "adabelief": (AdaBelief, {"weight_decay": 0.1, "weight_decouple": False, "eps": 1e-2}),
}
KERNELS = {"forloop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}
CONSUMES_SCALER = {("sgd", "fused"), ("adamw", "fused"), ("adam", "fused")}
STEPS = 6
OVERFLOW = 2  # the step whose scaled gradient is inf


def make(name: str, kernel: str) -> tuple[torch.optim.Optimizer, list[torch.nn.Parameter]]:
    cls, extra = OPTIMIZERS[name]
    gen = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(shape, generator=gen)) for shape in [(5,), (2, 3)]]
    hparams = {"lr": 0.05, "warmup_steps": 2, "max_grad_norm": 1.0, **extra, **KERNELS[kernel]}
    return cls(params, **hparams), params  # type: ignore[call-arg]


def targets() -> list[list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(1)
    return [[torch.randn(s, generator=gen) * (1 + step) for s in [(5,), (2, 3)]] for step in range(STEPS)]


def run(name: str, kernel: str, mode: str) -> tuple[torch.optim.Optimizer, list[torch.nn.Parameter], list[float]]:
    """``mode``: "reference" (no scaler), "step" (``scaler.step``) or "unscale" (``unscale_`` first)."""
    optimizer, params = make(name, kernel)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=2)
    calls: list[int] = []
    optimizer.register_step_post_hook(lambda *_: calls.append(1))
    norms = []
    for step, gs in enumerate(targets()):
        optimizer.zero_grad()
        loss = sum((p * g).sum() for p, g in zip(params, gs, strict=True))  # d loss / d p = g
        if mode == "reference":
            loss.backward()  # type: ignore[union-attr]
            if step == OVERFLOW:
                continue  # the run that never saw the overflowing step
            optimizer.step()
        else:
            scaler.scale(loss).backward()  # type: ignore[arg-type]
            if step == OVERFLOW:
                params[1].grad.view(-1)[2] = torch.inf  # type: ignore[union-attr]
            if mode == "unscale":
                scaler.unscale_(optimizer)
            scaler.step(optimizer)
            scaler.update()
        norms.append(float(optimizer.last_grad_norm))  # type: ignore[attr-defined]
    assert len(calls) == STEPS - (0 if (name, kernel) in CONSUMES_SCALER and mode != "reference" else 1)
    return optimizer, params, norms


def cases() -> list[Any]:
    return [pytest.param(name, kernel, id=f"{name}-{kernel}") for name in OPTIMIZERS for kernel in KERNELS]


@pytest.mark.parametrize("mode", ["step", "unscale"])
@pytest.mark.parametrize(("name", "kernel"), cases())
def test_the_scaler_gives_the_unscaled_trajectory_and_skips_the_overflow(name: str, kernel: str, mode: str) -> None:
    optimizer, params, norms = run(name, kernel, mode)
    reference, expected, reference_norms = run(name, kernel, "reference")
    for got, want in zip(params, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    # clipping saw the unscaled gradients exactly once (the overflowing step's norm is not compared)
    del norms[OVERFLOW]
    torch.testing.assert_close(torch.tensor(norms), torch.tensor(reference_norms), rtol=1e-6, atol=0.0)
    for param, ref_param in zip(params, expected, strict=True):
        state, ref_state = optimizer.state[param], reference.state[ref_param]
        if "step" in state:  # the skipped step's counters were set back (fused) or never advanced
            assert float(state["step"]) == float(ref_state["step"]) == STEPS - 1
    assert float(optimizer.param_groups[0]["schedule_step"]) == STEPS - 1


@pytest.mark.parametrize(("name", "kernel"), sorted(CONSUMES_SCALER))
def test_the_fused_kernels_consume_grad_scale_and_found_inf(name: str, kernel: str) -> None:
    optimizer, _ = make(name, kernel)
    assert optimizer._step_supports_amp_scaling  # type: ignore[attr-defined]
    _, _, _ = run(name, kernel, "step")  # step() ran at every step, the overflow skipped on the device


@pytest.mark.parametrize("cls", [RAdam, AdaBelief])
def test_fused_radam_and_adabelief_leave_the_scaler_to_unscale_and_skip(cls: type[torch.optim.Optimizer]) -> None:
    # their fused kernels choose the rho_t branch on the host from the step counters, so a found_inf
    # on the device is not theirs to take: the scaler unscales and skips, as for torch's non-fused ones
    optimizer = cls([torch.nn.Parameter(torch.ones(2))], fused=True)  # type: ignore[call-arg]
    assert not getattr(optimizer, "_step_supports_amp_scaling", False)


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_only_the_fused_kernels_take_the_scaler_on_themselves(name: str) -> None:
    for kernel in ("forloop", "foreach"):
        optimizer, _ = make(name, kernel)
        assert not getattr(optimizer, "_step_supports_amp_scaling", False)
