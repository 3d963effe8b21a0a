"""Learning-rate warmup and cyclical (cosine) factors, applied on top of a group's learning rate.

Mirrors ``lossopt_spec.optim.schedule``; the equations and their tags (s1)–(s3) are in its
docstring:

.. math::

    w_t = \\min(1, t / W), \\qquad
    c_t = \\tfrac12 \\left(1 + \\cos\\left(\\pi \\frac{(t - W - 1) \\bmod L}{L}\\right)\\right) \\ (t > W), \\qquad
    \\gamma_t = \\gamma \\, w_t \\, c_t

Two forms with the same equations: host functions of a Python ``int`` step (used when the step
counter lives on the host, the default), and :func:`warmup_cyclical_factor` of a step *tensor*,
computed on the tensor's device with tensor operations only (no host read), for
``capturable=True`` optimizers and CUDA graphs.

Example:
    >>> from lossopt.optim.schedule import lr_factor
    >>> [lr_factor(t, warmup_steps=4, use_cyclical_lr=False, cycle_length=1) for t in (1, 2, 4, 9)]
    [0.25, 0.5, 1.0, 1.0]
"""

from __future__ import annotations

import math

import torch


def warmup_factor(step: int, warmup_steps: int) -> float:
    """(s1) :math:`w_t = \\min(1, t / W)`, and 1 when ``warmup_steps`` is 0."""
    if warmup_steps == 0:
        return 1.0
    return min(1.0, step / warmup_steps)  # (s1) w = min(1, t / W)


def cyclical_factor(step: int, warmup_steps: int, cycle_length: int) -> float:
    """(s2) the cosine factor :math:`c_t`: 1 during the warmup, then restarting every ``cycle_length`` steps."""
    if step <= warmup_steps:
        return 1.0
    phase = ((step - warmup_steps - 1) % cycle_length) / cycle_length
    return 0.5 * (1.0 + math.cos(math.pi * phase))  # (s2) c = (1 + cos(pi phase)) / 2


def lr_factor(step: int, *, warmup_steps: int, use_cyclical_lr: bool, cycle_length: int) -> float:
    """:math:`w_t c_t` at step ``step`` (1-based), on the host."""
    factor = warmup_factor(step, warmup_steps)
    if use_cyclical_lr:
        factor = factor * cyclical_factor(step, warmup_steps, cycle_length)
    return factor


def warmup_cyclical_factor(
    step: torch.Tensor, warmup_steps: int, use_cyclical_lr: bool, cycle_length: int
) -> torch.Tensor:
    """:math:`w_t c_t` for a step tensor (1-based), on ``step``'s device and in its floating dtype.

    Only tensor operations: no ``.item()``, no branch on a value, so it can be captured in a
    CUDA graph.
    """
    t = step if step.is_floating_point() else step.to(torch.float32)
    if warmup_steps == 0:
        factor = torch.ones_like(t)
    else:
        factor = torch.clamp(t / warmup_steps, max=1.0)  # (s1) w = min(1, t / W)
    if use_cyclical_lr:
        phase = torch.remainder(t - (warmup_steps + 1), cycle_length) / cycle_length
        cosine = 0.5 * (1.0 + torch.cos(math.pi * phase))  # (s2) c = (1 + cos(pi phase)) / 2
        factor = factor * torch.where(t > warmup_steps, cosine, torch.ones_like(t))
    return factor
