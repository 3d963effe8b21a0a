"""Steps of an optimizer on random gradients from a fixed seed: the same run for lossopt's and a reference class."""

import torch

SHAPES = [(3, 4), (5,), (2, 2, 2)]


def run(optimizer_cls, kwargs, steps=20, dtype=torch.float64):
    """``steps`` steps of ``optimizer_cls(params, **kwargs)`` over :data:`SHAPES`; (params, optimizer)."""
    generator = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=generator, dtype=dtype).requires_grad_() for s in SHAPES]
    optimizer = optimizer_cls(params, **kwargs)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator, dtype=dtype)
        optimizer.step()
    return params, optimizer
