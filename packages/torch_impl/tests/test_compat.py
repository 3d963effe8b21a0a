"""lossopt.compat: the design document's namespaces call lossopt's functionals with the design's
defaults and name the keywords a functional refuses; the optimizer classes are lossopt.optim's."""

import ast
import inspect

import pytest
import torch
from test_design_document import code_blocks

import lossopt
import lossopt.functional
import lossopt.optim
from lossopt import ClassificationLosses, CustomLosses, RegressionLosses, SegmentationLosses, compat

NAMESPACES = {
    "ClassificationLosses": ClassificationLosses,
    "RegressionLosses": RegressionLosses,
    "SegmentationLosses": SegmentationLosses,
    "CustomLosses": CustomLosses,
}


def test_method_defaults_are_the_design_documents():
    (features,) = [code for heading, code in code_blocks() if heading == "Loss Function Features"]
    checked = 0
    for node in ast.walk(ast.parse(features)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert isinstance(node.func.value, ast.Name)
            method = getattr(NAMESPACES[node.func.value.id], node.func.attr)
            parameters = inspect.signature(method).parameters
            for keyword in node.keywords:
                assert parameters[keyword.arg].default == ast.literal_eval(keyword.value), (
                    f"{node.func.value.id}.{node.func.attr}: {keyword.arg}"
                )
                checked += 1
    assert (
        checked == 25
    )  # the keyword arguments written in the document's calls (4 + 3 + 2 + 1 + 1 + 1 + 1 + 3 + 3 + 3 + 2 + 1)


def test_mse_through_the_namespace_equals_the_functional():
    predictions, targets = torch.tensor([2.0, 0.0, 1.0]), torch.tensor([1.0, 2.0, 1.0])
    for reduction in ("none", "mean", "sum"):
        expected = lossopt.functional.mse_loss(predictions, targets, reduction=reduction)
        assert torch.equal(RegressionLosses.mse_loss(predictions, targets, reduction=reduction), expected)


def test_functional_is_found_when_called_with_the_design_defaults(monkeypatch):
    calls = []

    def tversky_loss(predictions, targets, alpha=0.5, beta=0.5, smooth=1.0, mode="binary"):
        calls.append({"alpha": alpha, "beta": beta, "smooth": smooth, "mode": mode})
        return predictions.sum()

    monkeypatch.setattr(lossopt.functional, "tversky_loss", tversky_loss, raising=False)
    SegmentationLosses.tversky_loss(torch.ones(2), torch.ones(2))
    SegmentationLosses.tversky_loss(torch.ones(2), torch.ones(2), alpha=0.1, mode="multilabel")
    assert calls == [
        {"alpha": 0.3, "beta": 0.7, "smooth": 1e-6, "mode": "binary"},  # the design's defaults, not the functional's
        {"alpha": 0.1, "beta": 0.7, "smooth": 1e-6, "mode": "multilabel"},
    ]


def test_functional_without_a_design_argument_is_a_type_error(monkeypatch):
    monkeypatch.setattr(
        lossopt.functional, "bce_dice_loss", lambda p, t, bce_weight, dice_weight: p.sum(), raising=False
    )
    with pytest.raises(
        TypeError,
        match=r"SegmentationLosses.bce_dice_loss passes \['smooth'\] to lossopt.functional.<lambda>, which does not "
        r"accept them; its arguments: \['p', 't', 'bce_weight', 'dice_weight'\]",
    ):
        SegmentationLosses.bce_dice_loss(torch.ones(2), torch.ones(2))


def test_design_optimizer_classes_are_lossopt_optims():
    for name in compat.DESIGN_OPTIMIZERS:
        assert getattr(compat, name) is getattr(lossopt.optim, name) is getattr(lossopt, name)


def test_design_names_import_from_lossopt():
    from lossopt import AdaBelief, AdvancedAdam, AdvancedAdamW, AdvancedSGD, LossFunctionExamples, RAdam

    assert all(
        issubclass(c, torch.optim.Optimizer) for c in (AdaBelief, AdvancedAdam, AdvancedAdamW, AdvancedSGD, RAdam)
    )
    assert LossFunctionExamples.__module__ == "lossopt.examples.losses"


def test_unknown_names_are_attribute_errors():
    with pytest.raises(AttributeError, match="module 'lossopt' has no attribute 'AdvancedLion'"):
        _ = lossopt.AdvancedLion
    with pytest.raises(AttributeError, match=r"module 'lossopt\.compat' has no attribute 'Lion'"):
        _ = compat.Lion
