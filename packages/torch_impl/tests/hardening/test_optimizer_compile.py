"""``torch.compile`` of each optimizer's ``step`` (CPU, the default inductor backend).

- 10 compiled steps match 10 eager steps (float32 ``assert_close`` defaults), with a tensor ``lr``
  that a ``torch.optim.lr_scheduler.LambdaLR`` changes at every step;
- the scheduler's changes do not recompile: the number of compiled frames stays bounded
  (``CompileCounterWithBackend``), where a Python-float ``lr`` recompiles at nearly every step (the
  control, counted with the cheaper ``aot_eager`` backend);
- ``optimizer.last_grad_norm`` after compiled steps is the eager run's (a logging value a compiled
  ``step()`` must keep, whichever kernel runs).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch._dynamo
from torch._dynamo.testing import CompileCounterWithBackend

from lossopt.optim import AdaBelief, AdvancedAdam, AdvancedAdamW, AdvancedSGD, RAdam

pytestmark = pytest.mark.slow

STEPS = 10
CASES: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "sgd": (AdvancedSGD, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    "sgd-fused": (AdvancedSGD, {"momentum": 0.9, "fused": True, "max_grad_norm": 1.0}),
    "adamw": (AdvancedAdamW, {"amsgrad": True}),
    "adamw-fused": (AdvancedAdamW, {"fused": True, "max_grad_norm": 1.0}),
    "adamw-clipped": (AdvancedAdamW, {"max_grad_norm": 1.0}),  # the default (foreach) kernel with clipping
    "adamw-forloop-extras": (
        AdvancedAdamW,
        {"foreach": False, "warmup_steps": 3, "max_grad_norm": 1.0, "skip_nonfinite": True},
    ),
    "adam": (AdvancedAdam, {"weight_decay": 0.01}),
    "radam": (RAdam, {"weight_decay": 0.01, "decoupled_weight_decay": True}),
    "adabelief": (AdaBelief, {"weight_decay": 0.01}),
}


def run(name: str, step_fn: Any = None, *, tensor_lr: bool = True) -> tuple[list[torch.Tensor], Any]:
    cls, extra = CASES[name]
    gen = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(shape, generator=gen)) for shape in [(8,), (3, 4)]]
    lr: float | torch.Tensor = torch.tensor(0.05) if tensor_lr else 0.05
    optimizer = cls(params, lr=lr, **extra)  # type: ignore[call-arg]
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0 / (1.0 + epoch))
    step = optimizer.step if step_fn is None else torch.compile(optimizer.step, backend=step_fn)
    for _ in range(STEPS):
        for param in params:
            param.grad = torch.randn(param.shape, generator=gen)
        step()
        scheduler.step()
    return [p.detach() for p in params], optimizer


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_step_matches_eager_and_a_scheduler_does_not_recompile(name: str) -> None:
    torch._dynamo.reset()
    counter = CompileCounterWithBackend("inductor")
    compiled, _ = run(name, counter)
    eager, _ = run(name)
    for got, want in zip(compiled, eager, strict=True):
        torch.testing.assert_close(got, want)  # float32: rtol 1.3e-6, atol 1e-5
    # the first call compiles (plus the frames around graph breaks: the scheduler's step wrapper,
    # the fused kernels that run eagerly); later learning rates reuse them
    assert 1 <= counter.frame_count <= 3, f"{name}: {counter.frame_count} compilations in {STEPS} steps"


def test_a_python_float_lr_would_recompile_at_every_step() -> None:
    # the control for the bound above: torch.optim's reason for a tensor lr. Counted with the
    # aot_eager backend (the same guards and recompilations as inductor, without code generation):
    # measured 9 compilations in 10 steps (inductor: 9 as well), 2 with a tensor lr.
    torch._dynamo.reset()
    counter = CompileCounterWithBackend("aot_eager")
    run("adamw", counter, tensor_lr=False)
    assert counter.frame_count >= 5


@pytest.mark.parametrize("name", ["sgd-fused", "adamw-fused", "adamw-clipped", "adamw-forloop-extras"])
def test_compiled_step_keeps_last_grad_norm(name: str) -> None:
    """The pre-clip norm of the last gradients, after 10 compiled steps, equals the eager run's (not ``None``)."""
    torch._dynamo.reset()
    _, compiled = run(name, "inductor")
    _, eager = run(name)
    assert eager.last_grad_norm is not None
    assert compiled.last_grad_norm is not None, f"{name}: the compiled step left last_grad_norm None"
    torch.testing.assert_close(compiled.last_grad_norm, eager.last_grad_norm)
