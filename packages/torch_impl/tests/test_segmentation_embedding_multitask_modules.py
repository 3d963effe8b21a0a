"""The segmentation, embedding and multi-task loss modules: built by name, configured once, refuse bad
hyperparameters at construction."""

import pytest
import torch

import lossopt
from lossopt import (
    BCEDiceLoss,
    ContrastiveLoss,
    CosineEmbeddingLoss,
    DiceLoss,
    FocalDiceLoss,
    IoULoss,
    KLDivergenceLoss,
    MultiTaskLoss,
    TripletLoss,
    TverskyLoss,
    UncertaintyWeightedMultiTaskLoss,
    create_loss_function,
)
from lossopt import functional as F

NAMES = {
    "dice": DiceLoss,
    "iou": IoULoss,
    "tversky": TverskyLoss,
    "bce_dice": BCEDiceLoss,
    "focal_dice": FocalDiceLoss,
    "contrastive": ContrastiveLoss,
    "triplet": TripletLoss,
    "cosine_embedding": CosineEmbeddingLoss,
    "kl_divergence": KLDivergenceLoss,
}


@pytest.mark.parametrize(("name", "cls"), NAMES.items())
def test_factory_builds_each_loss_by_name(name, cls):
    assert isinstance(create_loss_function(name), cls)
    assert lossopt.LOSSES[name] is cls


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DiceLoss(smooth=-1.0), r"smooth must be >= 0; got -1.0"),
        (
            lambda: DiceLoss(mode="softmax"),
            r"mode must be one of \('binary', 'multilabel', 'multiclass'\); got 'softmax'",
        ),
        (lambda: DiceLoss(reduction="avg"), r"reduction must be one of .*; got 'avg'"),
        (lambda: IoULoss(ignore_index=255), r"ignore_index applies to integer targets"),
        (lambda: TverskyLoss(alpha=-0.3), r"alpha must be >= 0; got -0.3"),
        (lambda: TverskyLoss(beta=-0.7), r"beta must be >= 0; got -0.7"),
        (lambda: TverskyLoss(gamma=0.0), r"gamma must be > 0; got 0.0"),
        (lambda: BCEDiceLoss(bce_weight=-0.5), r"bce_weight must be >= 0; got -0.5"),
        (lambda: FocalDiceLoss(alpha=2.0), r"alpha must be a number in \[0, 1\]"),
        (lambda: ContrastiveLoss(temperature=0.0), r"temperature must be > 0; got 0.0"),
        (lambda: ContrastiveLoss(margin=-1.0), r"margin must be >= 0; got -1.0"),
        (lambda: TripletLoss(margin=-0.1), r"margin must be >= 0; got -0.1"),
        (lambda: TripletLoss(p=0.5), r"p must be >= 1 \(a norm\); got 0.5"),
        (lambda: CosineEmbeddingLoss(margin=1.5), r"margin must be in \[-1, 1\]; got 1.5"),
        (lambda: KLDivergenceLoss(reduction="avg"), r"reduction must be one of .*batchmean.*; got 'avg'"),
        (lambda: MultiTaskLoss({"seg_mask": 1.0}), r"no loss for task 'seg_mask'"),
        (lambda: MultiTaskLoss({"regression": -1.0}), r"loss_weights\['regression'\] must be >= 0; got -1.0"),
        (lambda: MultiTaskLoss({"depth": 1.0}, {"depth": "l3"}), r"unknown loss 'l3' for task 'depth'"),
        (lambda: UncertaintyWeightedMultiTaskLoss(["mask"]), r"no loss for task 'mask'"),
    ],
)
def test_bad_hyperparameters_are_refused_at_construction(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_class_weights_are_a_buffer_that_follows_the_module():
    loss = DiceLoss(mode="multiclass", weight=torch.tensor([1.0, 2.0]))
    assert [name for name, _ in loss.named_buffers()] == ["weight"]
    assert loss.to(torch.float64).weight.dtype == torch.float64
    logits, labels = torch.randn(2, 2, 5), torch.randint(0, 2, (2, 5))
    torch.testing.assert_close(
        loss(logits, labels), F.dice_loss(logits, labels, mode="multiclass", weight=torch.tensor([1.0, 2.0]))
    )


def test_multi_task_module_keeps_named_losses_as_submodules_and_checks_tasks_per_call():
    loss = MultiTaskLoss({"mask": 1.0, "regression": 0.5}, task_losses={"mask": "dice"})
    assert isinstance(loss.task_modules["mask"], DiceLoss)
    with pytest.raises(ValueError, match=r"targets must have the tasks of predictions"):
        loss({"mask": torch.zeros(1, 2), "regression": torch.zeros(1)}, {"mask": torch.zeros(1, 2)})


def test_reprs_show_the_configuration():
    assert repr(KLDivergenceLoss()) == "KLDivergenceLoss(reduction='batchmean', log_target=False)"
    assert (
        repr(DiceLoss(mode="multiclass")) == "DiceLoss(mode='multiclass', smooth=1e-06, batch=False, reduction='mean')"
    )
    assert "tasks=['a']" in repr(UncertaintyWeightedMultiTaskLoss(["a"], task_losses={"a": "mse"}))


def test_integer_targets_of_the_wrong_kind_and_float_predictions_only():
    with pytest.raises(ValueError, match=r"targets must hold integer class indices in mode 'multiclass'; got dtype"):
        F.dice_loss(torch.zeros(1, 2, 3), torch.zeros(1, 3), mode="multiclass")
    with pytest.raises(TypeError, match=r"predictions must be a floating-point tensor"):
        F.dice_loss(torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3))
    with pytest.raises(TypeError, match=r"embeddings must be a floating-point tensor"):
        F.contrastive_loss(torch.zeros(3, 2, dtype=torch.long), torch.zeros(3, dtype=torch.long))


def test_value_checks_policy_skips_host_reads_when_off():
    # class index 5 of 3: refused on CPU by default, not read at all with checks off (it then fails in
    # the kernel, which is what the policy trades for no host synchronisation on GPUs)
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\)"):
        F.dice_loss(torch.zeros(1, 3, 2), torch.tensor([[0, 5]]), mode="multiclass")
    with F.value_checks("never"), pytest.raises(RuntimeError):
        F.dice_loss(torch.zeros(1, 3, 2), torch.tensor([[0, 5]]), mode="multiclass")
