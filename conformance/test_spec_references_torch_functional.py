"""The spec's losses against torch.nn.functional where the semantics coincide (the spec's audit, in float64).

These check the spec, not lossopt: ``F.cross_entropy``, ``F.huber_loss`` and ``F.l1_loss`` are
independent implementations of the same definitions.
"""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn import functional

from conformance.strategies.classification import cross_entropy_inputs, focal_inputs
from conformance.strategies.common import same_shape_pair, upstream_gradients
from lossopt_spec.losses import (
    cross_entropy_loss,
    cross_entropy_loss_grad,
    focal_loss,
    huber_loss,
    huber_loss_grad,
    mae_loss,
    mae_loss_grad,
)

REDUCTIONS = st.sampled_from(["none", "mean", "sum"])


def _torch_value_and_grad(fn, predictions, upstream_strategy, data):
    x = torch.tensor(predictions, requires_grad=True)
    value = fn(x)
    upstream = data.draw(upstream_strategy(tuple(value.shape)))
    if not torch.isfinite(value).all():
        return value.detach().numpy(), None, upstream
    (grad,) = torch.autograd.grad(value, x, torch.tensor(upstream))
    return value.detach().numpy(), grad.numpy(), upstream


@given(data=st.data(), reduction=REDUCTIONS, smoothing=st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_spec_cross_entropy_matches_torch_functional(data, reduction, smoothing):
    inputs = data.draw(cross_entropy_inputs())
    x, t, w = inputs["predictions"], inputs["targets"], inputs.get("weight")
    torch_t = torch.tensor(t)
    torch_w = None if w is None else torch.tensor(w)

    def fn(tensor):
        return functional.cross_entropy(tensor, torch_t, torch_w, reduction=reduction, label_smoothing=smoothing)

    value, grad, upstream = _torch_value_and_grad(fn, x, upstream_gradients, data)
    np.testing.assert_allclose(cross_entropy_loss(x, t, w, -100, reduction, smoothing), value, rtol=1e-10, atol=1e-10)
    if grad is not None:
        spec_grad = cross_entropy_loss_grad(x, t, w, -100, reduction, smoothing, grad_output=upstream)
        np.testing.assert_allclose(spec_grad, grad, rtol=1e-10, atol=1e-10)


@given(data=st.data(), reduction=REDUCTIONS)
def test_spec_focal_at_gamma_zero_matches_torch_cross_entropy(data, reduction):
    inputs = data.draw(focal_inputs())
    x, t = inputs["predictions"], inputs["targets"]
    expected = functional.cross_entropy(torch.tensor(x), torch.tensor(t), reduction=reduction).numpy()
    np.testing.assert_allclose(focal_loss(x, t, 1.0, 0.0, reduction), expected, rtol=1e-10, atol=1e-10)


@given(data=st.data(), reduction=REDUCTIONS, delta=st.sampled_from([1e-3, 0.5, 1.0, 3.0]))
def test_spec_huber_and_mae_match_torch_functional(data, reduction, delta):
    pair = data.draw(same_shape_pair())
    targets = torch.tensor(pair["targets"])
    for fn, spec, spec_grad, kwargs in [
        (lambda x: functional.huber_loss(x, targets, reduction, delta), huber_loss, huber_loss_grad, {"delta": delta}),
        (lambda x: functional.l1_loss(x, targets, reduction=reduction), mae_loss, mae_loss_grad, {}),
    ]:
        value, grad, upstream = _torch_value_and_grad(fn, pair["predictions"], upstream_gradients, data)
        np.testing.assert_allclose(spec(**pair, **kwargs, reduction=reduction), value, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            spec_grad(**pair, **kwargs, reduction=reduction, grad_output=upstream), grad, rtol=1e-12, atol=1e-12
        )
