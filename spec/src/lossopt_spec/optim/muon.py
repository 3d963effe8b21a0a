"""Muon: momentum orthogonalised by a Newton–Schulz iteration, with AdamW groups for what is not a matrix.

Symbols: parameters :math:`\\theta` of shape :math:`(A, d_2, \\ldots)` seen as the :math:`A \\times B` matrix
:math:`\\Theta` (:math:`B = d_2 d_3 \\cdots`, Jordan's ``(shape[0], -1)`` view of a convolution's weight), gradient
:math:`G`, momentum buffer :math:`M`, momentum :math:`\\mu`, learning rate :math:`\\gamma_t` (the group's rate times
the schedule factor, ``schedule.py`` (s1)–(s3)), weight decay :math:`\\lambda`, Newton–Schulz coefficients
:math:`(a, b, c)`, its steps :math:`k`, :math:`\\epsilon`. At step :math:`t` (per parameter of a Muon group):

.. math::

    \\gamma_t &= \\gamma \\, w_t \\, c_t                                                         &(0)\\\\
    G &\\leftarrow \\kappa \\, G \\ \\text{(clip.py)}, \\qquad G \\leftarrow -G \\ \\text{if maximize} &(1)\\\\
    M_t &= \\mu M_{t-1} + (1 - \\mu) G                                                          &(2)\\\\
    U &= (1 - \\mu) G + \\mu M_t \\ \\text{(Nesterov)}, \\qquad U = M_t \\ \\text{otherwise}         &(3)\\\\
    \\bar U &= U^\\top \\ (A > B), \\qquad \\bar U = U \\ (A \\le B)
        \\quad \\text{(} X X^\\top \\text{ is the smaller Gram matrix)}                           &(4)\\\\
    X_0 &= \\bar U / \\max(\\lVert U \\rVert_F, \\epsilon), \\qquad
        X_{j+1} = a X_j + \\big(b\\, X_j X_j^\\top + c\\, (X_j X_j^\\top)^2\\big) X_j, \\ j < k      &(5)\\\\
    s &= \\sqrt{\\max(1, A / B)} \\ (\\text{None, original}), \\qquad
        s = 0.2 \\sqrt{\\max(A, B)} \\ (\\text{match\\_rms\\_adamw})                              &(6)\\\\
    \\theta_t &= \\theta_{t-1} (1 - \\gamma_t \\lambda) - \\gamma_t \\, s \\, O, \\qquad
        O = X_k^\\top \\ (A > B), \\quad O = X_k \\ (A \\le B)                                     &(7)

:math:`X_k \\approx P Q^\\top` for the SVD :math:`U = P \\Sigma Q^\\top`: the quintic's coefficients push every singular
value of :math:`X_0` (at most 1 after (5)) into about [0.7, 1.2] in five steps, not to 1 exactly (Jordan).
Groups with ``use_muon=False`` take AdamW's step instead ((1)–(8) of ``adam.py``: ``betas``, ``eps``,
``weight_decay``, decoupled decay, bias correction; :mod:`lossopt_spec.optim.moments`), as Jordan's
``MuonWithAuxAdam``; every 0-d and 1-d parameter must be in such a group (a ``ValueError`` otherwise).

Papers: K. Jordan et al. 2024, "Muon: An optimizer for hidden layers in neural networks",
https://kellerjordan.github.io/posts/muon/; J. Liu et al. 2025, "Muon is Scalable for LLM Training",
arXiv:2502.16982 (the ``match_rms_adamw`` scale and decoupled decay); J. Bernstein & L. Newhouse 2024, "Old
Optimizer, New Norm: An Anthology", arXiv:2409.20325 (the orthogonalised update as steepest descent under the
spectral norm); Newton–Schulz: Z. Kovarik 1970 and Å. Björck & C. Bowie 1971 (SIAM J. Numer. Anal. 7 and 8).

State per parameter, named as ``torch.optim.Muon`` names it: ``momentum_buffer`` (:math:`M`); in AdamW groups
``step``, ``exp_avg``, ``exp_avg_sq`` as ``torch.optim.AdamW``. Entries a group does not keep are ``None``.

Differs from ``torch.optim.Muon`` (2.13): (4)–(5) run in float64 here; torch runs them in bfloat16 whatever the
parameter's dtype (lossopt's ``ns_dtype``). Otherwise the same statements: (2) as ``lerp_``, (3) as ``lerp``,
(4) with :math:`\\max(\\lVert U \\rVert_F, \\epsilon)`, (7) decaying with the unadjusted :math:`\\gamma_t`. Defined
where torch stops: parameters of more than 2 dims (torch refuses them), AdamW groups, ``maximize``, the schedule
and clipping extras; a matrix with a zero-size dim takes :math:`s = 1` in (6) (torch divides by zero for
:math:`B = 0`).

Differs from Jordan's ``muon.py``: (4) divides by :math:`\\lVert U \\rVert_F + \\epsilon`; (6) takes :math:`A, B`
from the last two dims (a 4-d convolution weight's kernel height and width) where here they are the
``(shape[0], -1)`` view's; its Nesterov form writes :math:`U` into ``p.grad``; parameters without a gradient get
a zero one (a step, decay included) where here they are skipped; its AdamW groups default to ``lr=3e-4``,
``eps=1e-10``, ``weight_decay=0`` (here the group's values, the optimizer's defaults unless set).

Differs from Moonlight (Moonshot AI's ``toy_train.py``): its momentum is :math:`M = \\mu M + G` and Nesterov
:math:`G + \\mu M` (no :math:`1 - \\mu`, so its update is :math:`1/(1-\\mu)` times larger before (4), which the
normalisation removes except through :math:`\\epsilon`); its AdamW adds :math:`\\epsilon` to :math:`\\sqrt{v}` before
the bias correction; it scales by ``0.2 sqrt(max(A, B))`` always (``match_rms_adamw`` here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from lossopt_spec.optim.clip import CLIP_DEFAULTS, clipped_grads
from lossopt_spec.optim.moments import adam_tensor_step
from lossopt_spec.optim.rule import Params, State, UpdateRule
from lossopt_spec.optim.schedule import SCHEDULE_DEFAULTS, scheduled_lr

MUON_DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "weight_decay": 0.1,
    "momentum": 0.95,
    "nesterov": True,
    "ns_coefficients": (3.4445, -4.775, 2.0315),
    "eps": 1e-7,
    "ns_steps": 5,
    "adjust_lr_fn": None,
    "use_muon": True,
    "betas": (0.9, 0.95),
    "maximize": False,
    "warmup_steps": SCHEDULE_DEFAULTS["warmup_steps"],
    "max_grad_norm": CLIP_DEFAULTS["max_grad_norm"],
}
ADJUST_LR_FNS = (None, "original", "match_rms_adamw")
_NO_ADAMW_STATE = {"step": None, "exp_avg": None, "exp_avg_sq": None}


def matmul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:math:`X Y` as a sum of elementwise products, not BLAS: the same bits on every machine (golden files)."""
    return np.asarray(np.sum(x[:, :, None] * y[None, :, :], axis=1))


def newton_schulz(update: np.ndarray, coefficients: tuple[float, float, float], steps: int, eps: float) -> np.ndarray:
    """(4)–(5): the orthogonalisation of a 2-d ``update`` in float64, the shape of ``update``."""
    a, b, c = coefficients
    x = np.asarray(update, dtype=np.float64)
    transposed = x.shape[0] > x.shape[1]
    if transposed:
        x = x.T  # (4) the smaller Gram matrix
    x = x / max(float(np.sqrt(np.sum(x * x))), eps)  # (4) X0 = U / max(|U|_F, eps)
    for _ in range(steps):
        gram = matmul(x, x.T)  # (5) X X^T
        x = a * x + matmul(b * gram + c * matmul(gram, gram), x)  # (5) X <- a X + (b XX^T + c (XX^T)^2) X
    return x.T if transposed else x


def update_scale(shape: tuple[int, ...], adjust_lr_fn: str | None) -> float:
    """(6) :math:`s` for a parameter of ``shape``, from its ``(shape[0], -1)`` view :math:`A \\times B`."""
    rows = shape[0]
    cols = math.prod(shape[1:])
    if adjust_lr_fn not in ADJUST_LR_FNS:
        raise ValueError(f"Invalid adjust_lr_fn: {adjust_lr_fn!r} (must be one of {ADJUST_LR_FNS})")
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, cols))  # (6) s = 0.2 sqrt(max(A, B))
    return math.sqrt(max(1.0, rows / cols)) if cols else 1.0  # (6) s = sqrt(max(1, A / B))


def check_matrix(shape: tuple[int, ...], index: int) -> None:
    """A Muon group's parameter has at least 2 dims (a ``ValueError`` naming it, its shape and the fix)."""
    if len(shape) < 2:
        raise ValueError(
            f"Invalid parameter {index} of a Muon group: shape {shape} has {len(shape)} dims (must have at least 2: "
            "Muon orthogonalises matrices); put 0-d and 1-d parameters in a group with use_muon=False (AdamW)"
        )


def muon_init(params: Params, hparams: Mapping[str, Any]) -> State:
    """A zero momentum buffer per parameter (Muon groups), or AdamW's zero moments and ``step`` 0."""
    if not hparams["use_muon"]:
        zeros = [np.zeros_like(p, dtype=np.float64) for p in params]
        return [{"step": 0.0, "exp_avg": z, "exp_avg_sq": z.copy(), "momentum_buffer": None} for z in zeros]
    for i, p in enumerate(params):
        check_matrix(np.shape(p), i)
    return [{"momentum_buffer": np.zeros_like(p, dtype=np.float64), **_NO_ADAMW_STATE} for p in params]


def muon_update(
    params: Params,
    grads: Params,
    state: State,
    step: int,
    hparams: Mapping[str, Any],
    *,
    grad_norm: float | None = None,
) -> tuple[Params, State]:
    """One step of a group: Muon's (0)–(7), or AdamW's where ``use_muon`` is off; ``grad_norm`` as in ``clip.py``."""
    lr = scheduled_lr(step, hparams)  # (0) lr_t = lr w c
    grads = clipped_grads(grads, hparams, grad_norm)  # (1) g <- kappa g
    new_params: Params = []
    new_state: State = []
    if not hparams["use_muon"]:
        for param, grad, param_state in zip(params, grads, state, strict=True):
            new_param, entries = adam_tensor_step(
                param, grad, param_state, step, lr, hparams, decoupled_weight_decay=True
            )
            new_params.append(new_param)
            new_state.append(
                {
                    "step": entries["step"],
                    "exp_avg": entries["exp_avg"],
                    "exp_avg_sq": entries["exp_avg_sq"],
                    "momentum_buffer": None,
                }
            )
        return new_params, new_state
    mu = hparams["momentum"]
    for i, (param, grad, param_state) in enumerate(zip(params, grads, state, strict=True)):
        param = np.asarray(param, dtype=np.float64)
        check_matrix(param.shape, i)
        if hparams["maximize"]:
            grad = -grad  # (1) g <- -g
        buffer = mu * param_state["momentum_buffer"] + (1 - mu) * grad  # (2) M <- mu M + (1 - mu) G
        update = (1 - mu) * grad + mu * buffer if hparams["nesterov"] else buffer  # (3) U
        matrix = update.reshape(param.shape[0], -1)  # the (shape[0], -1) view
        orthogonal = newton_schulz(matrix, hparams["ns_coefficients"], hparams["ns_steps"], hparams["eps"])  # (4)-(5)
        scale = update_scale(param.shape, hparams["adjust_lr_fn"])  # (6)
        param = param * (1 - lr * hparams["weight_decay"])  # (7) p <- p (1 - lr wd)
        new_params.append(param - lr * scale * orthogonal.reshape(param.shape))  # (7) p <- p - lr s O
        new_state.append({"momentum_buffer": buffer, **_NO_ADAMW_STATE})
    return new_params, new_state


MUON_RULE = UpdateRule(
    name="muon",
    init=muon_init,
    update=muon_update,
    defaults=MUON_DEFAULTS,
    state_keys=("momentum_buffer", "step", "exp_avg", "exp_avg_sq"),
    min_dims=2,
)
