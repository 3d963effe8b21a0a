"""Contrastive / triplet / cosine / KL: invariants, stability, memory, errors on both sides, references in torch."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conformance.assertions import to_numpy
from conformance.loss_harness import torch_inputs
from conformance.registry import LOSS_INFOS
from conformance.strategies.embedding import labelled_embeddings, triplets
from lossopt import functional as F
from lossopt_spec import losses as spec


@pytest.mark.parametrize("mode", ["supcon", "margin"])
@given(data=st.data())
def test_contrastive_is_invariant_to_a_batch_permutation(mode, data):
    inputs = data.draw(labelled_embeddings())
    order = data.draw(st.permutations(range(len(inputs["labels"]))))
    tensors = torch_inputs(LOSS_INFOS["contrastive"], inputs, "float64", "cpu")
    permuted = {key: value[list(order)] for key, value in tensors.items()}
    for reduction in ("mean", "sum"):
        torch.testing.assert_close(
            F.contrastive_loss(**permuted, mode=mode, reduction=reduction),
            F.contrastive_loss(**tensors, mode=mode, reduction=reduction),
            rtol=1e-12,
            atol=1e-12,
        )
    if mode == "supcon":  # per anchor: permuted along
        torch.testing.assert_close(
            F.contrastive_loss(**permuted, reduction="none"),
            F.contrastive_loss(**tensors, reduction="none")[list(order)],
        )


@given(data=st.data())
def test_triplet_is_invariant_to_a_batch_permutation(data):
    inputs = data.draw(triplets())
    order = list(data.draw(st.permutations(range(inputs["anchor"].shape[0]))))
    tensors = {key: torch.tensor(value) for key, value in inputs.items()}
    permuted = {key: value[order] for key, value in tensors.items()}
    torch.testing.assert_close(F.triplet_loss(**permuted), F.triplet_loss(**tensors), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        F.triplet_loss(**permuted, reduction="none"), F.triplet_loss(**tensors, reduction="none")[order]
    )


@given(data=st.data(), log_target=st.booleans())
def test_kl_of_a_distribution_with_itself_is_zero(data, log_target):
    rows, cols = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 6))
    logits = torch.tensor(data.draw(st.lists(st.floats(-5, 5), min_size=rows * cols, max_size=rows * cols)))
    log_p = torch.log_softmax(logits.reshape(rows, cols).double(), dim=1)
    target = log_p if log_target else log_p.exp()
    for reduction in ("none", "batchmean", "sum", "mean"):
        value = F.kl_divergence_loss(log_p, target, reduction=reduction, log_target=log_target)
        torch.testing.assert_close(value, torch.zeros_like(value), atol=1e-15, rtol=0)


def test_kl_zero_target_terms_are_zero_and_batchmean_is_sum_over_batch():
    log_q = torch.log_softmax(torch.tensor([[0.0, 1.0, -30.0], [2.0, 0.0, 1.0]], dtype=torch.float64), dim=1)
    target = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]], dtype=torch.float64)
    none = F.kl_divergence_loss(log_q, target, reduction="none")
    assert none[0, 2] == 0.0  # 0 log 0 - 0 * x = 0
    total = none.sum()
    torch.testing.assert_close(F.kl_divergence_loss(log_q, target), total / 2)  # batchmean: over the 2 rows
    torch.testing.assert_close(F.kl_divergence_loss(log_q, target, reduction="mean"), total / 6)
    torch.testing.assert_close(
        F.kl_divergence_loss(log_q, target), torch.nn.functional.kl_div(log_q, target, reduction="batchmean")
    )


def test_supcon_is_stable_at_small_temperature_in_float32():
    # similarities reach 1 / 0.005 = 200: exp(200) overflows float32 (max 3.4e38) unless the max is subtracted
    generator = torch.Generator().manual_seed(0)
    e = torch.randn(16, 4, generator=generator, requires_grad=True)
    labels = torch.arange(16) % 4
    value = F.contrastive_loss(e, labels, temperature=0.005)
    (grad,) = torch.autograd.grad(value, e)
    assert torch.isfinite(value)
    assert torch.isfinite(grad).all()
    expected = spec.contrastive_loss(to_numpy(e), labels.numpy(), temperature=0.005)
    np.testing.assert_allclose(float(value.detach()), expected, rtol=1e-4)


def test_gradients_stay_finite_at_distance_zero_and_zero_embeddings():
    e = torch.zeros(3, 2, requires_grad=True)  # every distance 0, every norm 0
    labels = torch.tensor([0, 1, 0])
    for mode in ("margin", "supcon"):
        (grad,) = torch.autograd.grad(F.contrastive_loss(e, labels, mode=mode), e)
        assert torch.isfinite(grad).all(), mode
    (g_anchor,) = torch.autograd.grad(F.triplet_loss(e, e, e), e)
    assert torch.isfinite(g_anchor).all()


def test_supcon_keeps_only_the_similarity_matrix_for_backward():
    n, d = 64, 8
    e = torch.randn(n, d, requires_grad=True)
    labels = torch.arange(n) % 5
    saved = []

    def pack(tensor):
        saved.append(tuple(tensor.shape))
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        value = F.contrastive_loss(e, labels)
    square = [shape for shape in saved if shape == (n, n)]
    assert square == [(n, n)], saved
    value.backward()


def test_references_triplet_cosine_kl_match_torch_functional():
    generator = torch.Generator().manual_seed(3)
    a, p, n = (torch.randn(6, 5, generator=generator, dtype=torch.float64) for _ in range(3))
    for kwargs in ({}, {"swap": True}, {"p": 1.0, "margin": 2.0}, {"p": 3.0, "margin": 0.1}):
        torch.testing.assert_close(
            F.triplet_loss(a, p, n, **kwargs), torch.nn.functional.triplet_margin_loss(a, p, n, **kwargs)
        )
        np.testing.assert_allclose(
            spec.triplet_loss(a.numpy(), p.numpy(), n.numpy(), **kwargs),
            torch.nn.functional.triplet_margin_loss(a, p, n, **kwargs).numpy(),
            rtol=1e-12,
        )
    y = torch.tensor([1, -1, 1, -1, -1, 1])
    for margin in (-0.5, 0.0, 0.3):
        reference = torch.nn.functional.cosine_embedding_loss(a, p, y, margin=margin, reduction="none")
        torch.testing.assert_close(F.cosine_embedding_loss(a, p, y, margin, reduction="none"), reference)
        np.testing.assert_allclose(
            spec.cosine_embedding_loss(a.numpy(), p.numpy(), y.numpy(), margin, "none"), reference.numpy(), rtol=1e-12
        )
    log_q = torch.log_softmax(a, dim=1)
    for log_target, target in ((False, torch.softmax(p, dim=1)), (True, torch.log_softmax(p, dim=1))):
        for reduction in ("none", "batchmean", "sum", "mean"):
            with warnings.catch_warnings():  # torch warns that its "mean" is not the KL divergence (documented)
                warnings.simplefilter("ignore", UserWarning)
                reference = torch.nn.functional.kl_div(log_q, target, reduction=reduction, log_target=log_target)
            np.testing.assert_allclose(
                spec.kl_divergence_loss(log_q.numpy(), target.numpy(), reduction, log_target),
                reference.numpy(),
                rtol=1e-12,
            )


BAD_INPUTS = [
    ("contrastive", {"embeddings": np.zeros((3, 2)), "labels": np.zeros(3, np.int64)}, {"temperature": 0.0}),
    ("contrastive", {"embeddings": np.zeros((3, 2)), "labels": np.zeros(3, np.int64)}, {"temperature": -1.0}),
    ("contrastive", {"embeddings": np.zeros((3, 2)), "labels": np.zeros(3, np.int64)}, {"margin": -0.1}),
    ("contrastive", {"embeddings": np.zeros((3, 2)), "labels": np.zeros(4, np.int64)}, {}),
    ("contrastive", {"embeddings": np.zeros((3,)), "labels": np.zeros(3, np.int64)}, {}),
    ("contrastive", {"embeddings": np.zeros((3, 2)), "labels": np.zeros(3, np.int64)}, {"mode": "npair"}),
    ("triplet", {"anchor": np.zeros((2, 3)), "positive": np.zeros((2, 3)), "negative": np.zeros((2, 4))}, {}),
    (
        "triplet",
        {"anchor": np.zeros((2, 3)), "positive": np.zeros((2, 3)), "negative": np.zeros((2, 3))},
        {"margin": -1.0},
    ),
    ("triplet", {"anchor": np.zeros((2, 3)), "positive": np.zeros((2, 3)), "negative": np.zeros((2, 3))}, {"p": 0.0}),
    ("cosine_embedding", {"x1": np.ones((2, 3)), "x2": np.ones((2, 4)), "y": np.ones(2, np.int64)}, {}),
    ("cosine_embedding", {"x1": np.ones((2, 3)), "x2": np.ones((2, 3)), "y": np.array([1, 2])}, {}),
    ("cosine_embedding", {"x1": np.ones((2, 3)), "x2": np.ones((2, 3)), "y": np.ones(3, np.int64)}, {}),
    ("cosine_embedding", {"x1": np.ones((2, 3)), "x2": np.ones((2, 3)), "y": np.ones(2, np.int64)}, {"margin": -2.0}),
    ("kl_divergence", {"input": np.zeros((2, 3)), "target": np.zeros((3, 2))}, {}),
    ("kl_divergence", {"input": np.zeros((2, 3)), "target": np.zeros((2, 3))}, {"reduction": "avg"}),
]


@pytest.mark.parametrize(
    ("name", "inputs", "kwargs"), BAD_INPUTS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(BAD_INPUTS)]
)
def test_bad_input_gives_the_same_value_error_on_both_sides(name, inputs, kwargs):
    tensors = torch_inputs(LOSS_INFOS[name], inputs, "float64", "cpu")
    with pytest.raises(ValueError) as spec_error:
        LOSS_INFOS[name].spec.value(**inputs, **kwargs)
    with pytest.raises(ValueError) as torch_error:
        LOSS_INFOS[name].torch_fn(**tensors, **kwargs)
    assert str(torch_error.value) == str(spec_error.value)


def test_triplet_hinge_exactly_at_zero_has_zero_gradient_on_both_sides():
    # eps = 0: d(a, p) = 1, d(a, n) = 2, margin 1: the hinge is exactly 0; relu's convention is gradient 0
    a, p, n = (torch.tensor([[v]], dtype=torch.float64, requires_grad=True) for v in (0.0, 1.0, 2.0))
    value = F.triplet_loss(a, p, n, margin=1.0, eps=0.0)
    grads = torch.autograd.grad(value, [a, p, n])
    assert float(value.detach()) == 0.0
    assert all((g == 0.0).all() for g in grads)
    spec_grads = spec.triplet_loss_grad(np.zeros((1, 1)), np.ones((1, 1)), np.full((1, 1), 2.0), margin=1.0, eps=0.0)
    assert all((g == 0.0).all() for g in spec_grads)
