"""Synthetic data sets made in the package, deterministic given a seed (no downloads).

Every function takes ``seed`` and ``device`` and draws from its own ``torch.Generator``, so the
same seed gives the same tensors whatever else ran before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class Dataset:
    """Inputs ``x`` and targets ``y`` (a tensor, or a dict of tensors for multi-task data)."""

    x: torch.Tensor
    y: torch.Tensor | dict[str, torch.Tensor]

    def batches(self, batch_size: int) -> list[tuple[torch.Tensor, torch.Tensor | dict[str, torch.Tensor]]]:
        """Consecutive mini-batches (the data are already shuffled)."""
        out = []
        for start in range(0, len(self.x), batch_size):
            part = slice(start, start + batch_size)
            y = {k: v[part] for k, v in self.y.items()} if isinstance(self.y, dict) else self.y[part]
            out.append((self.x[part], y))
        return out


def classification_data(
    n: int = 512, features: int = 20, classes: int = 5, *, imbalance: float = 1.0, seed: int = 0, device: str = "cpu"
) -> Dataset:
    """Gaussian blobs: ``x`` (n, features) float32, ``y`` (n,) int64 in [0, classes).

    ``imbalance`` > 1 makes class ``k`` about ``imbalance**k`` times rarer than class 0.

    Example:
        >>> data = classification_data(8, 3, 2)
        >>> tuple(data.x.shape), data.y.dtype
        ((8, 3), torch.int64)
    """
    g = _generator(seed)
    prior = torch.tensor([imbalance ** (-k) for k in range(classes)])
    y = torch.multinomial(prior / prior.sum(), n, replacement=True, generator=g)
    centers = 2.0 * torch.randn(classes, features, generator=g)
    x = centers[y] + torch.randn(n, features, generator=g)
    return Dataset(x.to(device), y.to(device))


def regression_data(
    n: int = 512,
    features: int = 10,
    outputs: int = 1,
    *,
    outlier_fraction: float = 0.0,
    seed: int = 0,
    device: str = "cpu",
) -> Dataset:
    """``y = sin(x w1) + 0.5 x w2 + noise``; a fraction of targets replaced by outliers (+-10).

    ``x`` is (n, features), ``y`` (n, outputs), both float32.
    """
    g = _generator(seed)
    x = torch.randn(n, features, generator=g)
    w1 = torch.randn(features, outputs, generator=g) / math.sqrt(features)
    w2 = torch.randn(features, outputs, generator=g) / math.sqrt(features)
    y = torch.sin(2.0 * x @ w1) + 0.5 * x @ w2 + 0.05 * torch.randn(n, outputs, generator=g)
    if outlier_fraction > 0:
        mask = torch.rand(n, outputs, generator=g) < outlier_fraction
        signs = torch.where(torch.rand(n, outputs, generator=g) < 0.5, -1.0, 1.0)
        y = torch.where(mask, 10.0 * signs, y)
    return Dataset(x.to(device), y.to(device))


def linear_data_with_outliers(
    n: int = 256, *, slope: float = 2.0, intercept: float = -1.0, outlier_fraction: float = 0.1, seed: int = 0
) -> Dataset:
    """1-d ``y = slope x + intercept + noise`` with a fraction of targets shifted up by 20 (one-sided outliers).

    A robust loss recovers ``slope`` and ``intercept``; squared error is pulled towards the outliers.
    """
    g = _generator(seed)
    x = torch.rand(n, 1, generator=g) * 4.0 - 2.0
    y = slope * x + intercept + 0.1 * torch.randn(n, 1, generator=g)
    outliers = torch.rand(n, 1, generator=g) < outlier_fraction
    return Dataset(x, torch.where(outliers, y + 20.0, y))


def segmentation_data(n: int = 64, size: int = 24, *, seed: int = 0, device: str = "cpu") -> Dataset:
    """Noisy images of one bright disk each: ``x`` (n, 1, size, size), ``y`` the disk's mask in {0, 1}, same shape."""
    g = _generator(seed)
    coords = torch.arange(size, dtype=torch.float32)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    cy = torch.rand(n, 1, 1, generator=g) * (size * 0.6) + size * 0.2
    cx = torch.rand(n, 1, 1, generator=g) * (size * 0.6) + size * 0.2
    radius = torch.rand(n, 1, 1, generator=g) * (size * 0.15) + size * 0.1
    mask = (((yy - cy) ** 2 + (xx - cx) ** 2) <= radius**2).float().unsqueeze(1)
    x = mask + 0.5 * torch.randn(n, 1, size, size, generator=g)
    return Dataset(x.to(device), mask.to(device))


def multi_task_data(
    n: int = 512, features: int = 100, classes: int = 10, outputs: int = 5, *, seed: int = 0, device: str = "cpu"
) -> Dataset:
    """The design document's multi-task setting: ``x`` (n, 100); ``y`` a dict with ``"classification"``
    (n,) int64 in [0, 10) and ``"regression"`` (n, 5) float32, both functions of ``x``."""
    g = _generator(seed)
    x = torch.randn(n, features, generator=g)
    w_cls = torch.randn(features, classes, generator=g)
    w_reg = torch.randn(features, outputs, generator=g) / math.sqrt(features)
    y = {"classification": (x @ w_cls).argmax(dim=1).to(device), "regression": (x @ w_reg).to(device)}
    return Dataset(x.to(device), y)


def embedding_data(n: int = 32, dim: int = 16, classes: int = 4, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings (n, dim) clustered by label, and the labels (n,) int64."""
    g = _generator(seed)
    labels = torch.arange(n) % classes
    centers = torch.randn(classes, dim, generator=g)
    return centers[labels] + 0.3 * torch.randn(n, dim, generator=g), labels
