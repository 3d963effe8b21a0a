"""The spec's embedding and KL losses: finite differences, SciPy references, loops, invariants, errors."""

import numpy as np
import pytest
from finite_differences import central_difference
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import cosine as cosine_distance
from scipy.spatial.distance import minkowski
from scipy.stats import entropy

from lossopt_spec.losses import (
    contrastive_loss,
    contrastive_loss_grad,
    cosine_embedding_loss,
    cosine_embedding_loss_grad,
    kl_divergence_loss,
    kl_divergence_loss_grad,
    triplet_loss,
    triplet_loss_grad,
)

moderate = st.floats(0.3, 3.0) | st.floats(-3.0, -0.3)


def _check_fd(value, grad, arrays_, diff, reduction, seed, **kw):
    shape = np.shape(value(*arrays_, reduction=reduction, **kw))
    upstream = np.random.default_rng(seed).standard_normal(shape)
    analytic = grad(*arrays_, reduction=reduction, **kw, grad_output=upstream)
    analytic = analytic if isinstance(analytic, tuple) else (analytic,)
    for k, g in zip(diff, analytic, strict=True):

        def scalar(z, k=k):
            args = list(arrays_)
            args[k] = z
            return float(np.sum(upstream * value(*args, reduction=reduction, **kw)))

        np.testing.assert_allclose(g, central_difference(scalar, arrays_[k]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("mode", ["supcon", "margin"])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_contrastive_grad_matches_central_differences(reduction, mode, data, seed):
    n, d = data.draw(st.integers(2, 5)), data.draw(st.integers(1, 3))
    e = data.draw(arrays(np.float64, (n, d), elements=moderate))
    labels = data.draw(arrays(np.int64, (n,), elements=st.integers(0, 2)))
    kw = {"mode": mode, "margin": data.draw(st.sampled_from([0.5, 2.0])), "temperature": 0.5}
    _check_fd(contrastive_loss, contrastive_loss_grad, [e, labels], [0], reduction, seed, **kw)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_triplet_and_cosine_grads_match_central_differences(reduction, data, seed):
    shape = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    a, p, n = (data.draw(arrays(np.float64, shape, elements=moderate)) for _ in range(3))
    kw = {"p": data.draw(st.sampled_from([1.0, 2.0, 3.0])), "swap": data.draw(st.booleans()), "margin": 0.7}
    # central differences need smooth neighbourhoods: no coordinate of a difference within h of 0
    # (|.| and the norm), no hinge or swap tie within h
    for u, v in ((a, p), (a, n), (p, n)):
        assume(np.abs(u - v + 1e-6).min() > 1e-3)
    d = {
        k: np.sum(np.abs(u - v + 1e-6) ** kw["p"], axis=1) ** (1 / kw["p"])
        for k, (u, v) in {"ap": (a, p), "an": (a, n), "pn": (p, n)}.items()
    }
    d_neg = np.minimum(d["an"], d["pn"]) if kw["swap"] else d["an"]
    assume(np.abs(d["ap"] - d_neg + 0.7).min() > 1e-3 and np.abs(d["an"] - d["pn"]).min() > 1e-3)
    _check_fd(triplet_loss, triplet_loss_grad, [a, p, n], [0, 1, 2], reduction, seed, **kw)
    y = data.draw(arrays(np.int64, (shape[0],), elements=st.sampled_from([1, -1])))
    cos = np.sum(a * p, axis=1) / np.sqrt(np.sum(a * a, axis=1) * np.sum(p * p, axis=1))
    assume(np.abs(cos + 0.3).min() > 1e-3)  # the hinge at cos = margin
    _check_fd(cosine_embedding_loss, cosine_embedding_loss_grad, [a, p, y], [0, 1], reduction, seed, margin=-0.3)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_grad_matches_central_differences(reduction, log_target):
    rng = np.random.default_rng(3)
    x = np.log(rng.dirichlet(np.ones(4), 3))
    t = np.log(rng.dirichlet(np.ones(4), 3)) if log_target else rng.dirichlet(np.ones(4), 3)
    _check_fd(kl_divergence_loss, kl_divergence_loss_grad, [x, t], [0], reduction, 0, log_target=log_target)


def _supcon_by_loops(e, labels, tau):
    """Khosla et al. eq. (2) written out anchor by anchor, positive by positive."""
    z = [v / np.linalg.norm(v) for v in e]
    losses = []
    for i in range(len(z)):
        others = [a for a in range(len(z)) if a != i]
        positives = [p for p in others if labels[p] == labels[i]]
        if not positives:
            losses.append(0.0)
            continue
        denominator = sum(np.exp(z[i] @ z[a] / tau) for a in others)
        losses.append(-np.mean([np.log(np.exp(z[i] @ z[p] / tau) / denominator) for p in positives]))
    return np.array(losses)


def test_supcon_matches_a_loop_implementation_of_the_paper():
    rng = np.random.default_rng(0)
    e, labels = rng.standard_normal((7, 3)), np.array([0, 1, 0, 2, 1, 0, 3])
    np.testing.assert_allclose(
        contrastive_loss(e, labels, temperature=0.3, reduction="none"), _supcon_by_loops(e, labels, 0.3), rtol=1e-12
    )


def test_supcon_is_stable_at_small_temperature():
    # s = z.z / tau reaches 1000: exp overflows without the max subtracted
    e, labels = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), np.array([0, 0, 1])
    value = contrastive_loss(e, labels, temperature=1e-3, reduction="none")
    assert np.isfinite(value).all()
    # anchor 0: positive 1 at s = 1000, other at 0: -log(e^1000 / (e^1000 + 1)) = log1p(e^-1000) = 0
    np.testing.assert_allclose(value, [0.0, 0.0, 0.0], atol=1e-300)


def test_margin_hand_values_and_finite_gradient_at_distance_zero():
    # pairs (0, 1) same label, distance 5: 0.5 * 25; (0, 2) different labels at distance 0: 0.5 (m - sqrt(eps))^2
    e, labels = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]]), np.array([0, 0, 1])
    none = contrastive_loss(e, labels, margin=2.0, reduction="none", mode="margin")
    np.testing.assert_allclose(none[:2], [12.5, 0.5 * (2 - 1e-4) ** 2], rtol=1e-12)
    assert np.isfinite(contrastive_loss_grad(e, labels, margin=2.0, mode="margin")).all()


def test_permuting_the_batch_permutes_per_anchor_losses():
    rng = np.random.default_rng(2)
    e, labels, order = rng.standard_normal((6, 3)), rng.integers(0, 2, 6), rng.permutation(6)
    np.testing.assert_allclose(
        contrastive_loss(e[order], labels[order], reduction="none"),
        contrastive_loss(e, labels, reduction="none")[order],
    )
    np.testing.assert_allclose(
        contrastive_loss(e[order], labels[order], mode="margin"), contrastive_loss(e, labels, mode="margin")
    )


def test_triplet_distance_matches_scipy_minkowski():
    a, p, n = np.array([[0.5, -1.0]]), np.array([[2.0, 1.0]]), np.array([[1.0, 0.0]])
    for order in (1.0, 2.0, 3.0):
        # d(a, b) = ||a - b + eps||_p = minkowski(a + eps, b)
        expected = minkowski(a[0] + 1e-6, p[0], order) - minkowski(a[0] + 1e-6, n[0], order) + 1.0
        assert expected > 0
        np.testing.assert_allclose(triplet_loss(a, p, n, p=order), expected, rtol=1e-13)


def test_cosine_matches_scipy_cosine_distance():
    rng = np.random.default_rng(4)
    x1, x2 = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    expected = [cosine_distance(u, v) for u, v in zip(x1, x2, strict=True)]
    np.testing.assert_allclose(cosine_embedding_loss(x1, x2, np.ones(5, int), reduction="none"), expected, rtol=1e-10)


def test_kl_matches_scipy_entropy_and_is_zero_against_itself():
    rng = np.random.default_rng(5)
    t, q = rng.dirichlet(np.ones(5), 4), rng.dirichlet(np.ones(5), 4)
    t[0, 2] = 0.0
    t[0] /= t[0].sum()
    expected = np.mean([entropy(ti, qi) for ti, qi in zip(t, q, strict=True)])
    np.testing.assert_allclose(kl_divergence_loss(np.log(q), t), expected, rtol=1e-12)
    safe_log_t = np.log(np.where(t > 0, t, 1.0))  # any finite input where t = 0: 0 log 0 = 0
    assert kl_divergence_loss(safe_log_t, t, reduction="sum") == 0.0
    np.testing.assert_allclose(kl_divergence_loss(np.log(q), np.log(q), log_target=True), 0.0, atol=1e-15)
    # batchmean = sum / N, mean = sum / (N C)
    total = kl_divergence_loss(np.log(q), t, reduction="sum")
    np.testing.assert_allclose(kl_divergence_loss(np.log(q), t, reduction="mean"), total / 20, rtol=1e-14)
    np.testing.assert_allclose(kl_divergence_loss(np.log(q), t, reduction="batchmean"), total / 4, rtol=1e-14)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: contrastive_loss(np.zeros((3, 2)), np.zeros(3, int), temperature=0.0),
            r"temperature must be > 0; got 0.0",
        ),
        (lambda: contrastive_loss(np.zeros((3, 2)), np.zeros(3, int), margin=-1.0), r"margin must be >= 0; got -1.0"),
        (lambda: contrastive_loss(np.zeros((3, 2)), np.zeros(3, int), mode="npair"), r"mode must be one of"),
        (
            lambda: contrastive_loss(np.zeros((3, 2)), np.zeros(4, int)),
            r"labels must have shape \(N,\) = \(3,\) for embeddings \(3, 2\); got labels \(4,\)",
        ),
        (lambda: contrastive_loss(np.zeros((1, 2)), np.zeros(1, int)), r"at least 2 samples to form pairs; got N=1"),
        (
            lambda: triplet_loss(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 4))),
            r"same shape \(N, D\); got anchor \(2, 3\), positive \(2, 3\) and negative \(2, 4\)",
        ),
        (lambda: triplet_loss(*np.zeros((3, 2, 3)), margin=-0.5), r"margin must be >= 0; got -0.5"),
        (lambda: triplet_loss(*np.zeros((3, 2, 3)), p=0.5), r"p must be >= 1 \(a norm\); got 0.5"),
        (
            lambda: cosine_embedding_loss(np.zeros((2, 3)), np.zeros((2, 4)), np.ones(2)),
            r"x1 and x2 must have the same shape \(N, D\); got x1 \(2, 3\) and x2 \(2, 4\)",
        ),
        (
            lambda: cosine_embedding_loss(np.ones((2, 3)), np.ones((2, 3)), np.array([1, 0])),
            r"y must hold 1 or -1; got 0",
        ),
        (
            lambda: cosine_embedding_loss(np.ones((2, 3)), np.ones((2, 3)), np.ones(2), 1.5),
            r"margin must be in \[-1, 1\]",
        ),
        (lambda: kl_divergence_loss(np.zeros((2, 3)), np.zeros((2, 4))), r"got input \(2, 3\) and target \(2, 4\)"),
        (lambda: kl_divergence_loss(np.zeros(2), np.zeros(2), "avg"), r"reduction must be one of .*batchmean.*'avg'"),
    ],
)
def test_bad_input_names_argument_value_and_rule(call, message):
    with pytest.raises(ValueError, match=message):
        call()
