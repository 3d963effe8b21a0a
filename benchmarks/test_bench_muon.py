"""Muon's step on a transformer-shaped set of matrices: lossopt.Muon against torch.optim.Muon.

The set (:func:`transformer_matrices`): 8 blocks of four ``d x d`` matrices (attention), one ``d x 4d`` and one
``4d x d`` (the MLP), ``d = 512`` (25.2M parameters). torch.optim.Muon takes only these 2-d hidden matrices, so
both sides step exactly them, in float32, orthogonalising in bfloat16 (torch's dtype, lossopt's default).

Groups (``ratios.py`` divides the ``lossopt`` median by the ``torch`` median in each):

- ``muon-batched``: lossopt's default kernel (the matrices of one shape stacked, batched matmuls) vs torch;
- ``muon-single``: lossopt's ``foreach=False`` (one matrix at a time, torch's statements) vs torch;
- ``muon-model``: the whole model (plus an embedding, the head and 2 norms per block, in AdamW groups) with
  lossopt.Muon vs torch.optim.Muon on the matrices plus torch.optim.AdamW on the rest (two optimizers).

Measured ratios are printed by ``ratios.py``; nothing is asserted. ``interleaved_muon.py`` times the two sides
back to back, round by round (the robust ratio on a shared machine).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from lossopt import Muon

WIDTH = 512
BLOCKS = 8
VOCAB = 8192


def transformer_matrices(width: int = WIDTH, blocks: int = BLOCKS, device: str = "cpu") -> list[torch.Tensor]:
    """The hidden matrices of ``blocks`` transformer blocks, with gradients (standard normal, seed 0)."""
    generator = torch.Generator().manual_seed(0)
    shapes = [(width, width)] * 4 + [(4 * width, width), (width, 4 * width)]
    params = []
    for _ in range(blocks):
        for shape in shapes:
            p = torch.randn(shape, generator=generator).to(device).requires_grad_()
            p.grad = torch.randn(shape, generator=generator).to(device)
            params.append(p)
    return params


def the_rest(width: int = WIDTH, blocks: int = BLOCKS, device: str = "cpu") -> list[torch.Tensor]:
    """What a model has besides the hidden matrices: an embedding, the head, and two norm weights per block."""
    generator = torch.Generator().manual_seed(1)
    shapes = [(VOCAB, width), (VOCAB, width)] + [(width,)] * (2 * blocks)
    params = []
    for shape in shapes:
        p = torch.randn(shape, generator=generator).to(device).requires_grad_()
        p.grad = torch.randn(shape, generator=generator).to(device)
        params.append(p)
    return params


def sides(case: str, device: str = "cpu", width: int = WIDTH) -> tuple[Callable[[], None], Callable[[], None]]:
    """(lossopt's step, torch's step) for ``case`` (``batched``, ``single`` or ``model``), each on its own tensors
    (the same values), after one step that allocates the state."""
    flags = {"foreach": False} if case == "single" else {}
    ours, theirs = transformer_matrices(width, device=device), transformer_matrices(width, device=device)
    if case == "model":
        rest, their_rest = the_rest(width, device=device), the_rest(width, device=device)
        our_opt = Muon([{"params": ours}, {"params": rest, "use_muon": False}], lr=0.02)
        their_opts = [torch.optim.Muon(theirs, lr=0.02), torch.optim.AdamW(their_rest, lr=0.02, betas=(0.9, 0.95))]
    else:
        our_opt = Muon(ours, lr=0.02, **flags)
        their_opts = [torch.optim.Muon(theirs, lr=0.02)]

    def theirs_step() -> None:
        for opt in their_opts:
            opt.step()

    our_opt.step()
    theirs_step()
    return our_opt.step, theirs_step


@pytest.mark.parametrize("side", ["lossopt", "torch"])
@pytest.mark.parametrize("case", ["batched", "single", "model"])
def test_muon_step(benchmark, case, side, device):
    ours, theirs = sides(case, device)
    step = ours if side == "lossopt" else theirs

    def timed() -> None:
        step()
        if device == "cuda":
            torch.cuda.synchronize()

    benchmark.group = f"muon-{case}"
    benchmark.extra_info.update({"name": "muon", "impl": case, "side": side})
    benchmark.pedantic(timed, rounds=5, warmup_rounds=1)
