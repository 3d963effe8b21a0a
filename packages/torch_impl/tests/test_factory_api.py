"""The factories as users call them: every registered name constructs, aliases, and model-aware
parameter groups that keep biases and normalization weights out of weight decay (timm's rule)."""

import pytest
import torch
from torch import nn

from lossopt import LOSSES, OPTIMIZERS, create_loss_function, create_optimizer
from lossopt.factory import LOSS_ALIASES, OPTIMIZER_ALIASES, canonical_name, default_no_decay, parameter_groups

# Constructor arguments for registered losses that have required ones (none of the others need any).
# a task name the prefix rule resolves ("classification" -> cross-entropy): an unmatched name is an error
REQUIRED_LOSS_KWARGS: dict[str, dict[str, object]] = {"multi_task": {"loss_weights": {"classification": 1.0}}}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.conv = nn.Conv1d(4, 4, 3)
        self.bn = nn.BatchNorm1d(4)
        self.fc = nn.Linear(4, 2)
        self.norm = nn.LayerNorm(2)
        self.scale = nn.Parameter(torch.ones(()))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_registered_loss_constructs(name):
    module = create_loss_function(name, **REQUIRED_LOSS_KWARGS.get(name, {}))
    assert isinstance(module, nn.Module)
    assert isinstance(module, LOSSES[name])


# a model's groups where they are not ["decay", "no_decay"]: Muon's hidden matrices (the convolution) and AdamW's
# rest (the embedding, the head; biases and norms without decay)
MODEL_GROUPS: dict[str, list[str]] = {"muon": ["muon", "adamw", "adamw_no_decay"]}
MATRIX_ONLY = {"muon"}  # given tensors, a vector must be in a group with use_muon=False


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_registered_optimizer_constructs_over_tensors_and_models(name):
    param = torch.zeros((3, 2) if name in MATRIX_ONLY else 3, requires_grad=True)
    assert isinstance(create_optimizer(name, [param]), OPTIMIZERS[name])
    if name in MATRIX_ONLY:
        with pytest.raises(ValueError, match=r"shape \(3,\) has 1 dim .*use_muon=False"):
            create_optimizer(name, [torch.zeros(3, requires_grad=True)])
    optimizer = create_optimizer(name, Net())
    assert isinstance(optimizer, OPTIMIZERS[name])
    assert [g["group_name"] for g in optimizer.param_groups] == MODEL_GROUPS.get(name, ["decay", "no_decay"])


def test_names_are_case_and_dash_insensitive_and_aliases_resolve():
    assert canonical_name(" BCE-Dice ") == "bce_dice"
    assert canonical_name("log cosh") == "log_cosh"
    assert canonical_name("KL", LOSS_ALIASES) == "kl_divergence"
    assert canonical_name("AdvancedAdamW", OPTIMIZER_ALIASES) == "adamw"
    assert canonical_name("Advanced-SGD", OPTIMIZER_ALIASES) == "sgd"
    assert type(create_loss_function("L2")) is LOSSES["mse"]
    assert type(create_loss_function("mean-squared-error")) is LOSSES["mse"]
    assert type(create_optimizer("AdvancedSGD", [torch.zeros(1, requires_grad=True)])) is OPTIMIZERS["sgd"]


def test_every_alias_points_at_a_name_some_part_of_lossopt_defines():
    # the losses and optimizers the loss/optimizer issues register; an alias to anything else is a typo
    planned_losses = {"cross_entropy", "focal", "sigmoid_focal", "hinge", "mse", "mae", "huber", "log_cosh"}
    planned_losses |= {"quantile", "dice", "iou", "tversky", "bce_dice", "focal_dice", "contrastive", "triplet"}
    planned_losses |= {"cosine_embedding", "kl_divergence", "multi_task"}
    assert set(LOSS_ALIASES.values()) <= planned_losses
    assert set(OPTIMIZER_ALIASES.values()) <= {"sgd", "adam", "adamw", "radam", "adabelief"}
    assert not set(LOSS_ALIASES) & set(LOSSES), "an alias shadows a registry name"


def test_alias_of_an_unregistered_name_says_what_it_means(monkeypatch):
    monkeypatch.setitem(LOSS_ALIASES, "zz", "not_a_loss")
    with pytest.raises(ValueError, match=r"unknown loss 'zz' \('zz' means 'not_a_loss', which this build of lossopt"):
        create_loss_function("zz")


def test_name_must_be_a_string():
    with pytest.raises(TypeError, match="loss name must be a string; got int"):
        create_loss_function(3)  # type: ignore[arg-type]


def test_unknown_keyword_is_named_when_params_is_a_model():
    with pytest.raises(TypeError, match=r"optimizer 'sgd' got unknown keyword argument\(s\) \['warmup'\]"):
        create_optimizer("sgd", Net(), warmup=10)


def test_default_rule_keeps_biases_norm_weights_and_1d_params_out_of_decay():
    model = Net()
    groups = {g["group_name"]: g for g in parameter_groups(model)}
    decay = {id(p) for p in groups["decay"]["params"]}
    plain = {id(p) for p in groups["no_decay"]["params"]}
    assert decay == {id(model.embed.weight), id(model.conv.weight), id(model.fc.weight)}
    expected = [model.conv.bias, model.bn.weight, model.bn.bias, model.fc.bias, model.norm.weight, model.norm.bias]
    assert plain == {id(p) for p in [*expected, model.scale]}
    assert groups["no_decay"]["weight_decay"] == 0.0
    assert "weight_decay" not in groups["decay"]  # takes the optimizer's


def test_norm_weight_skips_decay_whatever_its_shape():
    norm = nn.GroupNorm(2, 4)
    norm.weight = nn.Parameter(torch.ones(2, 2))  # unusual, but the rule is about the layer
    assert default_no_decay("weight", norm.weight, norm)
    assert not default_no_decay("weight", norm.weight, None)


def test_no_decay_group_really_is_not_decayed():
    model = nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3))
    optimizer = create_optimizer("sgd", model, lr=0.5, weight_decay=0.1)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    # with a zero gradient only decay moves a parameter: p <- p - lr * wd * p
    torch.testing.assert_close(model[0].weight, before["0.weight"] * (1 - 0.5 * 0.1))
    for name in ("0.bias", "1.weight", "1.bias"):
        assert torch.equal(dict(model.named_parameters())[name], before[name]), name


def test_no_decay_as_patterns_and_as_callable():
    model = Net()
    by_pattern = {g["group_name"]: g["params"] for g in parameter_groups(model, no_decay=["*.bias", "scale"])}
    expected = [model.scale, model.conv.bias, model.bn.bias, model.fc.bias, model.norm.bias]
    assert {id(p) for p in by_pattern["no_decay"]} == {id(p) for p in expected}  # bn/norm weights now decay
    opt = create_optimizer("sgd", model, no_decay=lambda name, p: name.startswith("embed"), weight_decay=1e-3)
    groups = {g["group_name"]: g for g in opt.param_groups}
    assert [id(p) for p in groups["no_decay"]["params"]] == [id(model.embed.weight)]
    assert groups["decay"]["weight_decay"] == 1e-3


def test_no_decay_false_keeps_one_group_and_frozen_params_are_left_out():
    model = Net()
    model.embed.weight.requires_grad_(False)
    opt = create_optimizer("sgd", model, no_decay=False)
    assert len(opt.param_groups) == 1
    assert len(opt.param_groups[0]["params"]) == len(list(model.parameters())) - 1
    groups = parameter_groups(model)
    assert all(p is not model.embed.weight for g in groups for p in g["params"])


def test_empty_groups_are_dropped():
    groups = parameter_groups(nn.Linear(2, 2, bias=False))
    assert [g["group_name"] for g in groups] == ["decay"]


def test_no_decay_errors():
    with pytest.raises(TypeError, match=r"no_decay needs a model: pass the nn.Module itself as params \(got list\)"):
        create_optimizer("sgd", [torch.zeros(1, requires_grad=True)], no_decay=["*.bias"])
    with pytest.raises(TypeError, match="no_decay must be a callable or an iterable of names/patterns; got the string"):
        parameter_groups(Net(), no_decay="*.bias")
    with pytest.raises(TypeError, match=r"no_decay patterns must be strings; got \[3\]"):
        parameter_groups(Net(), no_decay=[3])  # type: ignore[list-item]
