"""Checks on written PNG files, shared by the CLI and examples tests."""

from pathlib import Path


def assert_not_blank(path: Path) -> None:
    """The image has a plot's size, more than 1% drawn (non-white) pixels, and several colours."""
    from matplotlib import image

    pixels = image.imread(path)[..., :3]
    assert pixels.shape[0] > 200, f"{path.name}: {pixels.shape}"
    assert pixels.shape[1] > 300, f"{path.name}: {pixels.shape}"
    ink = (pixels < 0.9).any(axis=-1).mean()  # fraction of pixels that are not (near) white
    assert ink > 0.01, f"{path.name} is blank: {ink:.4f} of its pixels are drawn"
    assert len({tuple(c) for c in pixels.reshape(-1, 3)[::97].round(2).tolist()}) > 3, f"{path.name} has no colours"
