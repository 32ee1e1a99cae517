"""The static-masks train/val split: a fixed rule that never lets one photo straddle the split."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srnet.data.static_masks import list_static_samples, static_split


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture()
def tiny_root(tmp_path: Path) -> tuple[Path, Path]:
    root, davis = tmp_path / "static", tmp_path / "davis"
    img, mask = np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8)
    for name in ["cat00_000000000001", "cat01_000000000001", "cat02_000000000002",
                 "dog00_000000000002", "dog01_000000000003"]:
        _write(root / "coco-mval" / "images" / f"{name}.jpg", img)
        _write(root / "coco-mval" / "masks" / f"{name}.png", mask)
    for i in range(12):
        _write(root / "bsds-sod" / "images" / f"{i:03d}.jpg", img)
        _write(root / "bsds-sod" / "masks" / f"{i:03d}.png", mask)
    for seq in ["bear", "bmx-bumps"]:
        _write(root / "davis345-train" / seq / "00003.png", mask)
        _write(davis / "JPEGImages" / "480p" / seq / "00003.jpg", img)
    return root, davis


def test_split_rule(tiny_root: tuple[Path, Path]) -> None:
    root, davis = tiny_root
    samples = list_static_samples(root, davis)
    assert len(samples) == 5 + 12 + 2
    train, val = static_split(samples, holdout_seqs=("bear",))
    assert len(train) + len(val) == len(samples)
    val_coco = sorted(s.image.stem for s in val if s.source == "coco")
    # cat's first object is on image 1 (both cat objects there go), dog's first on image 2, which
    # also takes cat02 with it: one photo never straddles the split
    assert val_coco == ["cat00_000000000001", "cat01_000000000001", "cat02_000000000002",
                        "dog00_000000000002"]
    assert sorted(s.image.stem for s in val if s.source == "bsds") == ["000", "010"]
    assert [s.group for s in val if s.source == "davis345"] == ["bear"]
    assert [s.group for s in train if s.source == "davis345"] == ["bmx-bumps"]


def test_davis345_needs_davis_images(tiny_root: tuple[Path, Path]) -> None:
    root, _ = tiny_root
    assert not [s for s in list_static_samples(root) if s.source == "davis345"]
    with pytest.raises(FileNotFoundError, match="static-masks folder not found"):
        list_static_samples(root / "missing")
