"""Write the checkpoint fixtures of ``test_checkpoints.py`` into ``data/``; run it once, under the oldest torch.

    python packages/torch_impl/tests/hardening/make_checkpoint_fixtures.py     # with torch 2.9.1 installed
    python packages/torch_impl/tests/hardening/make_checkpoint_fixtures.py --legacy   # also the legacy-* files

``data/checkpoints-torch-<version>.pt``: for every optimizer and kernel of ``_checkpoint_cases``,
the parameters and ``state_dict()`` after ``STEPS_BEFORE`` steps, the next gradients, and the
parameters after ``STEPS_AFTER`` more steps of the same run. A test under a newer torch loads it with
``weights_only=True``, resumes, and compares. Its ``meta`` records the torch version and the CPU's
square-root fingerprint (``lossopt._torch_compat.cpu_sqrt_fingerprint``): the two together say
where the resumed run must equal it bit for bit.

The older lossopt layouts, produced by the code that wrote them (read from git and from the design
document, run here; only with ``--legacy``: they are written once, and the first SGD's source imports
lossopt helpers that have since been renamed):

- ``data/legacy-sgd-foundation.pt``: lossopt's first ``SGD`` (commit 8cfd443): no warmup, clipping,
  cycle, ``fused``, ``differentiable`` or schedule-clock keys in its groups.
- ``data/legacy-radam-design.pt``: the original design document's ``RAdam``: ``step`` a Python int,
  groups with only lr, betas, eps, weight_decay and degenerated_to_sgd.
"""

from __future__ import annotations

import copy
import importlib.util
import math
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import torch

import lossopt
from lossopt._torch_compat import cpu_sqrt_fingerprint

HERE = Path(__file__).parent
ROOT = HERE.parents[3]
DATA = HERE / "data"
FOUNDATION_COMMIT = "8cfd443"  # "Spec and torch packages: mse loss, SGD, factories, demo, their own tests"
DESIGN = ROOT / "packages" / "torch_impl" / "tests" / "data" / "loss_and_optim_design.md"  # the seed, as committed


def _cases_module() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("_checkpoint_cases", HERE / "_checkpoint_cases.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _meta(written_by: str) -> dict[str, str]:
    return {
        "torch": str(torch.__version__),
        "lossopt": lossopt.__version__,
        "written_by": written_by,
        "cpu_sqrt": cpu_sqrt_fingerprint(),  # with "torch": where a resumed run reproduces it bit for bit
    }


def current_layout() -> dict[str, Any]:
    cases = _cases_module()
    out: dict[str, Any] = {"meta": _meta("make_checkpoint_fixtures.current_layout"), "cases": {}}
    for name, kernel in cases.CASES:
        start, grads = cases.start_and_grads()
        params = cases.leaves(start)
        optimizer = cases.make_optimizer(name, kernel, params)
        cases.run(params, optimizer, grads[: cases.STEPS_BEFORE])
        saved_params = [p.detach().clone() for p in params]
        state_dict = copy.deepcopy(optimizer.state_dict())  # state_dict() holds references
        cases.run(params, optimizer, grads[cases.STEPS_BEFORE :])
        out["cases"][f"{name}-{kernel}"] = {
            "params": saved_params,
            "state_dict": state_dict,
            "grads": grads[cases.STEPS_BEFORE :],
            "final": [p.detach().clone() for p in params],
        }
    return out


def _run_legacy(optimizer: torch.optim.Optimizer, params: list[torch.Tensor], grads: list[list[torch.Tensor]]) -> None:
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad = g.clone()
        optimizer.step()


def legacy_sgd_foundation() -> dict[str, Any]:
    """lossopt's first SGD, its source read from git and run under the current lossopt helpers."""
    source = subprocess.run(
        ["git", "show", f"{FOUNDATION_COMMIT}:packages/torch_impl/src/lossopt/optim/sgd.py"],
        cwd=ROOT if (ROOT / ".git").exists() else HERE,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("lossopt_foundation_sgd")
    exec(compile(source, "foundation_sgd.py", "exec"), module.__dict__)
    hparams = {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}
    generator = torch.Generator().manual_seed(5)
    params = [torch.randn(4, generator=generator).requires_grad_(), torch.randn(2, 3, generator=generator)]
    params[1].requires_grad_()
    grads = [[torch.randn(p.shape, generator=generator) for p in params] for _ in range(6)]
    optimizer = module.SGD(params, **hparams)
    _run_legacy(optimizer, params, grads[:3])
    saved = {"params": [p.detach().clone() for p in params], "state_dict": copy.deepcopy(optimizer.state_dict())}
    _run_legacy(optimizer, params, grads[3:])
    return {
        "meta": _meta(f"lossopt SGD at commit {FOUNDATION_COMMIT}"),
        "hparams": hparams,
        **saved,
        "grads": grads[3:],
        "final": [p.detach().clone() for p in params],
    }


def legacy_radam_design() -> dict[str, Any]:
    """The design document's RAdam (its ``step`` is a Python int), run for its state dict only."""
    text = DESIGN.read_text()
    match = re.search(r"```python\n(class RAdam\(optim\.Optimizer\):.*?)```", text, re.S)
    if match is None:
        raise SystemExit(f"no RAdam class in {DESIGN}")
    module = types.ModuleType("design_radam")
    module.__dict__.update({"torch": torch, "optim": torch.optim, "math": math})
    exec(compile(match.group(1), "design_radam.py", "exec"), module.__dict__)
    hparams = {"lr": 0.05, "weight_decay": 0.01}
    generator = torch.Generator().manual_seed(6)
    params = [torch.randn(4, generator=generator).requires_grad_(), torch.randn(3, generator=generator)]
    params[1].requires_grad_()
    grads = [[torch.randn(p.shape, generator=generator) for p in params] for _ in range(6)]
    optimizer = module.RAdam(params, **hparams)
    with torch.no_grad():
        _run_legacy(optimizer, params, grads[:3])
    return {
        "meta": _meta("the RAdam class of the original design document"),
        "hparams": hparams,
        "params": [p.detach().clone() for p in params],
        "state_dict": optimizer.state_dict(),
        "grads": grads[3:],
    }


def main(argv: list[str]) -> int:
    DATA.mkdir(exist_ok=True)
    version = str(torch.__version__).split("+")[0]
    written = {DATA / f"checkpoints-torch-{version}.pt": current_layout()}
    if "--legacy" in argv:
        written[DATA / "legacy-sgd-foundation.pt"] = legacy_sgd_foundation()
        written[DATA / "legacy-radam-design.pt"] = legacy_radam_design()
    for path, content in written.items():
        torch.save(content, path)
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
