"""The spec against independent implementations where the semantics coincide (torch's own).

These check the spec, not lossopt: ``torch.optim.SGD`` and ``torch.nn.functional.mse_loss`` are
separate implementations of the same rules, compared in float64.
"""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from conformance.strategies import parameter_groups, same_shape_pair, sgd_hparams, upstream_gradients
from lossopt_spec.losses import mse_loss, mse_loss_grad
from lossopt_spec.optim import SGD_RULE


@given(data=st.data(), reduction=st.sampled_from(["none", "mean", "sum"]))
def test_spec_mse_matches_torch_functional(data, reduction):
    pair = data.draw(same_shape_pair())
    predictions = torch.tensor(pair["predictions"], requires_grad=True)
    value = torch.nn.functional.mse_loss(predictions, torch.tensor(pair["targets"]), reduction=reduction)
    upstream = data.draw(upstream_gradients(tuple(value.shape)))
    (grad,) = torch.autograd.grad(value, predictions, torch.tensor(upstream))
    np.testing.assert_allclose(mse_loss(**pair, reduction=reduction), value.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        mse_loss_grad(**pair, reduction=reduction, grad_output=upstream), grad.numpy(), rtol=1e-12, atol=1e-12
    )


@given(group=parameter_groups(), hparams=sgd_hparams(), steps=st.integers(1, 4))
def test_spec_sgd_matches_torch_optim_sgd(group, hparams, steps):
    params_np, grads_np = group
    params = [torch.tensor(p, requires_grad=True) for p in params_np]
    optimizer = torch.optim.SGD(params, **hparams, foreach=False)
    state = SGD_RULE.init(params_np, hparams)
    for step in range(1, steps + 1):
        grads_t = [g * step for g in grads_np]  # a different gradient each step
        for p, g in zip(params, grads_t, strict=True):
            p.grad = torch.tensor(g)
        optimizer.step()
        params_np, state = SGD_RULE.update(params_np, grads_t, state, step, hparams)
    for p, want, st_ in zip(params, params_np, state, strict=True):
        np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-12, atol=1e-12)
        if hparams["momentum"] != 0:
            np.testing.assert_allclose(
                optimizer.state[p]["momentum_buffer"].numpy(), st_["momentum_buffer"], rtol=1e-12, atol=1e-12
            )
