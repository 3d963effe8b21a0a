"""The guide tables: which loss for which task (``choosing_a_loss``), what each optimizer is (``optimizer_guide``).

The one-line descriptions are written here; the rows come from the registries, so a registered
entry without a line still gets a row ("See its page.") and the tables never lag a new entry.
"""

from __future__ import annotations

from docs.generate.common import list_table, registered_names

# name -> (task, when to choose it). Rows for names not registered in this build say so; a
# registered name missing here still gets a row ("see its page"), so the table never lags.
LOSS_GUIDE: dict[str, tuple[str, str]] = {
    "mse": ("regression", "Gaussian noise, no outliers; penalizes large residuals quadratically."),
    "mae": ("regression", "Median regression, robust to outliers; gradient is the sign of the residual."),
    "huber": ("regression", "Quadratic near zero, linear beyond ``delta``: MSE's smoothness with MAE's robustness."),
    "log_cosh": ("regression", "A smooth MAE: ~x²/2 near 0, ~|x| - log 2 far out; finite for every finite input."),
    "quantile": ("regression", "Predict a quantile (or several at once): prediction intervals, asymmetric costs."),
    "cross_entropy": (
        "classification",
        "The default for C classes: weights, ignore_index, label smoothing, soft targets.",
    ),
    "focal": ("classification", "Many easy examples drowning a few hard ones (dense detection, imbalance)."),
    "sigmoid_focal": ("classification", "Binary / multi-label focal loss, torchvision's alpha convention."),
    "hinge": ("classification", "Margin classifiers (SVM-style), binary or multi-class."),
    "linear_cross_entropy": (
        "classification",
        "A language model's output layer and its loss in one call: large vocabularies without the N x V logits; "
        "softcap, z-loss.",
    ),
    "dice": ("segmentation", "Overlap of masks, insensitive to the background's size; per sample and class."),
    "iou": ("segmentation", "Jaccard: like Dice, penalizes partial overlap more."),
    "tversky": ("segmentation", "Dice with separate weights on false positives (alpha) and negatives (beta)."),
    "bce_dice": ("segmentation", "Pixel-wise BCE for stable early gradients plus Dice for overlap."),
    "focal_dice": ("segmentation", "Sigmoid focal plus Dice, for masks with very rare foreground."),
    "contrastive": ("embedding", "Pairs (margin) or supervised contrastive (temperature) over a batch."),
    "triplet": ("embedding", "Anchor, positive, negative with a margin."),
    "cosine_embedding": ("embedding", "Pairs labelled similar / dissimilar by cosine similarity."),
    "kl_divergence": ("distributions", "Distillation, matching a target distribution (log-probability inputs)."),
    "multi_task": ("multi-task", "A weighted sum of named task losses (and learned uncertainty weighting)."),
}

OPTIMIZER_GUIDE: dict[str, str] = {
    "sgd": "Momentum SGD (Nesterov optional), plus warmup, clipping and a cyclical lr.",
    "adam": "Adam with L2 (coupled) weight decay, plus warmup, clipping, bias correction switch.",
    "adamw": "Adam with decoupled weight decay: the default for transformers; warmup and clipping built in.",
    "radam": "Adam whose adaptive step is rectified while the variance estimate is young.",
    "adabelief": "Adam with the variance of the gradient around its mean (the 'belief') in place of g².",
}


def loss_guide_rst() -> str:
    """The "which loss" table: every guide row and every registered loss, linked where registered."""
    registered = set(registered_names()["losses"])
    rows = []
    for name in list(LOSS_GUIDE) + sorted(registered - set(LOSS_GUIDE)):
        task, why = LOSS_GUIDE.get(name, ("", "See its page."))
        shown = f":ref:`{name} <api-loss-{name}>`" if name in registered else f"``{name}`` (not in this build)"
        rows.append((shown, task, why))
    return list_table(("loss", "task", "choose it for"), rows, "26 14 60")


def optimizer_guide_rst() -> str:
    """The optimizers table: every guide row and every registered optimizer, linked where registered."""
    registered = set(registered_names()["optimizers"])
    rows = []
    for name in list(OPTIMIZER_GUIDE) + sorted(registered - set(OPTIMIZER_GUIDE)):
        shown = f":ref:`{name} <api-optimizer-{name}>`" if name in registered else f"``{name}`` (not in this build)"
        rows.append((shown, OPTIMIZER_GUIDE.get(name, "See its page.")))
    return list_table(("optimizer", "what it is"), rows, "18 82")
