"""create_loss_function / create_optimizer: lookup by name, errors for unknown names and keywords."""

import pytest
import torch

from lossopt import SGD, MSELoss, create_loss_function, create_optimizer


def test_builds_registered_loss_and_optimizer():
    assert isinstance(create_loss_function("MSE", reduction="sum"), MSELoss)
    optimizer = create_optimizer("sgd", [torch.zeros(2, requires_grad=True)], lr=0.5, momentum=0.9)
    assert isinstance(optimizer, SGD)
    assert optimizer.param_groups[0]["lr"] == 0.5


def test_unknown_name_lists_valid_names_and_closest():
    with pytest.raises(ValueError, match=r"unknown loss 'mes'; valid names: mse; did you mean 'mse'\?"):
        create_loss_function("mes")
    with pytest.raises(
        ValueError,
        match=r"unknown optimizer 'sdg'; valid names: [a-z_, ]*sgd[a-z_, ]*; "
        r"did you mean 'sgd'\?",
    ):
        create_optimizer("sdg", [torch.zeros(1, requires_grad=True)])


def test_unknown_keyword_is_an_error_naming_it():
    with pytest.raises(TypeError, match=r"loss 'mse' got unknown keyword argument\(s\) \['delta'\]"):
        create_loss_function("mse", delta=1.0)
    with pytest.raises(TypeError, match=r"optimizer 'sgd' got unknown keyword argument\(s\) \['betas'\]"):
        create_optimizer("sgd", [torch.zeros(1, requires_grad=True)], betas=(0.9, 0.99))
