"""lossopt.compat: the design document's namespaces resolve lossopt's functionals by name when called,
pass the design's defaults, and name what is missing; the optimizer classes resolve from lossopt.optim."""

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


def test_every_design_method_exists_with_a_registry_name():
    for qualname, entry in compat.DESIGN_LOSSES.items():
        namespace, method = qualname.split(".")
        assert callable(getattr(NAMESPACES[namespace], method)), qualname
        assert entry.functionals[0] == method


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


def test_missing_loss_raises_not_implemented_naming_it(monkeypatch):
    monkeypatch.delattr(lossopt.functional, "mse_loss")
    with pytest.raises(
        NotImplementedError,
        match=r"RegressionLosses.mse_loss needs the loss 'mse' \(lossopt.functional.mse_loss\), which this build of "
        r"lossopt does not have yet; functional losses available: ",
    ):
        RegressionLosses.mse_loss(torch.zeros(2), torch.zeros(2))


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


def test_functional_found_under_its_registry_name(monkeypatch):
    monkeypatch.delattr(lossopt.functional, "kl_divergence_loss", raising=False)
    monkeypatch.setattr(lossopt.functional, "kl_divergence", lambda i, t, reduction, log_target: i.sum(), raising=False)
    assert compat.find_functional("CustomLosses.kl_divergence_loss") is lossopt.functional.kl_divergence


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


def test_missing_optimizer_class_raises_not_implemented_naming_it(monkeypatch):
    monkeypatch.delattr(lossopt.optim, "AdaBelief", raising=False)
    cls = compat.optimizer_class("AdaBelief")
    assert issubclass(cls, torch.optim.Optimizer)
    assert cls.__name__ == "AdaBelief"
    with pytest.raises(
        NotImplementedError,
        match=r"AdaBelief \(lossopt.optim.AdaBelief, registry name 'adabelief'\) is not in this build of lossopt yet; "
        r"optimizers available: ",
    ):
        cls([torch.zeros(1, requires_grad=True)], lr=1e-3)


def test_optimizer_class_resolves_from_lossopt_optim_when_present(monkeypatch):
    class RAdam(torch.optim.RAdam):
        pass

    monkeypatch.setattr(lossopt.optim, "RAdam", RAdam, raising=False)
    assert compat.optimizer_class("RAdam") is RAdam
    assert compat.RAdam is RAdam


def test_design_names_import_from_lossopt():
    from lossopt import AdaBelief, AdvancedAdam, AdvancedAdamW, AdvancedSGD, LossFunctionExamples, RAdam

    assert all(
        issubclass(c, torch.optim.Optimizer) for c in (AdaBelief, AdvancedAdam, AdvancedAdamW, AdvancedSGD, RAdam)
    )
    assert LossFunctionExamples.__module__ == "lossopt.examples.losses"


def test_unknown_names_are_attribute_and_key_errors():
    with pytest.raises(AttributeError, match="module 'lossopt' has no attribute 'AdvancedLion'"):
        _ = lossopt.AdvancedLion
    with pytest.raises(AttributeError, match=r"module 'lossopt\.compat' has no attribute 'Lion'"):
        _ = compat.Lion
    with pytest.raises(KeyError, match="'Lion' is not one of the design document's optimizers"):
        compat.find_optimizer("Lion")
