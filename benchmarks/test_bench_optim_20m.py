"""The issue's performance cases: 20M float32 parameters in 200 and in 2,000 tensors.

Groups (``ratios.py`` divides the ``lossopt`` median by the ``torch`` median in each):

- ``adamw-fused-clip-vs-clipgradnorm-<n>``: ``AdvancedAdamW(fused=True, max_grad_norm=1.0, warmup_steps=100)``
  vs ``torch.nn.utils.clip_grad_norm_(foreach=True)`` + ``torch.optim.AdamW(fused=True).step()`` (target <= 0.85);
- ``adamw-fused-clip-vs-fused-<n>``: the same lossopt step vs ``torch.optim.AdamW(fused=True).step()`` without
  clipping (target <= 1.25);
- ``adamw-foreach-<n>`` / ``sgd-foreach-<n>``: the default paths vs torch's foreach AdamW / SGD (target <= 1.05);
- ``<rule>-foreach-<n>`` / ``<rule>-fused-<n>`` for ``schedule_free_adamw``, ``schedule_free_sgd``, ``lion``, ``adopt``:
  the default and the fused path vs ``torch.optim.AdamW(foreach=True)`` / ``(fused=True)`` (targets <= 1.05 and
  <= 1.3; Lion and Schedule-Free SGD move 20 bytes per parameter, below AdamW's 28);
- ``copy-<n>``: ``torch._foreach_copy_`` over the parameters, for the effective bandwidth of the fused step
  (28 bytes per parameter / time) next to a copy's (8 bytes per parameter / time) measured in the same run.

Each benchmark owns its tensors (320 MB for p, g, m, v), freed when it returns. The 2,000-tensor layout runs
fewer rounds (it is the launch-bound case, and the machine is small).
"""

from __future__ import annotations

import pytest
import torch

from lossopt import ADOPT, AdvancedAdamW, AdvancedSGD, Lion, ScheduleFreeAdamW, ScheduleFreeSGD

TOTAL = 20_000_000
LAYOUTS = {200: 12, 2000: 6}  # tensors -> rounds


def _params(n_tensors: int, device: str) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    numel = TOTAL // n_tensors
    params = [torch.randn(numel, generator=generator).to(device).requires_grad_() for _ in range(n_tensors)]
    for p in params:
        p.grad = torch.randn(numel, generator=generator).to(device)
    return params


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _ours_fused_clip(params):
    opt = AdvancedAdamW(params, lr=1e-3, fused=True, max_grad_norm=1.0, warmup_steps=100)
    return opt.step


def _torch_clip_then_fused(params):
    opt = torch.optim.AdamW(params, lr=1e-3, fused=True)

    def step() -> None:
        torch.nn.utils.clip_grad_norm_(params, 1.0, foreach=True)
        opt.step()

    return step


def _torch_fused(params):
    return torch.optim.AdamW(params, lr=1e-3, fused=True).step


def _training(cls, **kwargs):
    """A step factory of ``cls`` in train mode (Schedule-Free starts in eval mode; the others have a no-op train())."""

    def factory(params):
        opt = cls(params, lr=1e-3, **kwargs)
        opt.train()
        return opt.step

    return factory


def _torch_adamw(**flags):
    return lambda ps: torch.optim.AdamW(ps, lr=1e-3, **flags).step


# the rules torch does not have, against AdamW: (class, bytes per parameter of its step)
_NEW_RULES = {"schedule_free_adamw": (ScheduleFreeAdamW, 28), "schedule_free_sgd": (ScheduleFreeSGD, 20)}
_NEW_RULES.update({"lion": (Lion, 20), "adopt": (ADOPT, 28)})

CASES = {
    # group stem: (lossopt step factory, torch step factory, bytes per parameter of the lossopt step)
    "adamw-fused-clip-vs-clipgradnorm": (_ours_fused_clip, _torch_clip_then_fused, 28),
    "adamw-fused-clip-vs-fused": (_ours_fused_clip, _torch_fused, 28),
    # foreach=True on torch's side: torch.optim defaults to its per-tensor loop on CPU
    "adamw-foreach": (
        lambda ps: AdvancedAdamW(ps, lr=1e-3).step,
        lambda ps: torch.optim.AdamW(ps, lr=1e-3, foreach=True).step,
        28,
    ),
    "sgd-foreach": (
        lambda ps: AdvancedSGD(ps, lr=1e-3, momentum=0.9).step,
        lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9, foreach=True).step,
        20,
    ),
    **{f"{name}-foreach": (_training(cls), _torch_adamw(foreach=True), b) for name, (cls, b) in _NEW_RULES.items()},
    **{
        f"{name}-fused": (_training(cls, fused=True), _torch_adamw(fused=True), b)
        for name, (cls, b) in _NEW_RULES.items()
    },
}


@pytest.mark.parametrize("side", ["lossopt", "torch"])
@pytest.mark.parametrize("stem", sorted(CASES))
@pytest.mark.parametrize("n_tensors", sorted(LAYOUTS))
def test_optimizer_step_20m(benchmark, stem, n_tensors, side, device):
    ours, theirs, bytes_per_param = CASES[stem]
    params = _params(n_tensors, device)
    step = (ours if side == "lossopt" else theirs)(params)
    step()  # state allocated outside the timing

    def run() -> None:
        step()
        _sync(device)

    benchmark.group = f"{stem}-{n_tensors}"
    benchmark.extra_info.update(
        {
            "side": side,
            "numel": TOTAL,
            "bytes_per_param": bytes_per_param,
            "copy_group": f"copy-{n_tensors}",
        }
    )
    benchmark.pedantic(run, rounds=LAYOUTS[n_tensors], warmup_rounds=1)


@pytest.mark.parametrize("n_tensors", sorted(LAYOUTS))
def test_copy_bandwidth_20m(benchmark, n_tensors, device):
    source = [p.detach() for p in _params(n_tensors, device)]
    target = [torch.empty_like(p) for p in source]

    def copy() -> None:
        torch._foreach_copy_(target, source)
        _sync(device)

    benchmark.group = f"copy-{n_tensors}"
    benchmark.extra_info.update({"side": "copy", "bytes": 2 * 4 * TOTAL})
    benchmark.pedantic(copy, rounds=LAYOUTS[n_tensors], warmup_rounds=1)
