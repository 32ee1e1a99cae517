"""The static-masks train/val split: a fixed rule that never lets one photo straddle the split."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srnet.data.static_masks import DUPLICATES_OF_VAL, list_static_samples, static_split


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


def test_training_pairs_are_the_train_split(tiny_root: tuple[Path, Path]) -> None:
    from types import SimpleNamespace

    from srnet.train.config import TrainConfig
    from srnet.train.data import static_training_pairs

    root, davis = tiny_root
    cfg = TrainConfig(static_root=str(root), p_video=0.5, holdout=("bear",))
    pairs = static_training_pairs(cfg, [SimpleNamespace(root=davis)])
    names = {image.stem for image, _, _ in pairs}
    assert "cat00_000000000001" not in names and "dog01_000000000003" in names
    assert [multi for image, _, multi in pairs if image.parent.name == "bmx-bumps"] == [True]
    assert not any(image.parent.name == "bear" for image, _, _ in pairs)
    with pytest.raises(ValueError, match="static_root"):
        TrainConfig(p_video=0.5)


def test_train_fraction_keeps_a_nested_share_of_the_train_split(
        tiny_root: tuple[Path, Path]) -> None:
    from types import SimpleNamespace

    from srnet.train.config import TrainConfig
    from srnet.train.data import static_training_pairs

    root, davis = tiny_root
    datasets = [SimpleNamespace(root=davis)]

    def images(fraction: float) -> set[Path]:
        cfg = TrainConfig(static_root=str(root), p_video=0.5, holdout=("bear",),
                          train_fraction=fraction)
        return {image for image, _, _ in static_training_pairs(cfg, datasets)}

    everything, half, quarter = images(1.0), images(0.5), images(0.25)
    assert len(everything) == 12 and len(half) == 6 and len(quarter) == 3
    assert quarter < half < everything  # more data adds images, never swaps them
    with pytest.raises(ValueError, match="train_fraction"):
        TrainConfig(train_fraction=0.0)


HORSES = Path(__file__).resolve().parents[2] / "shared" / "data" / "static-masks"


def _thumb(path: Path) -> np.ndarray:
    """A 16x16 grey thumbnail, standardised: a resized or re-encoded copy of a photo keeps it."""
    grey = np.asarray(Image.open(path).convert("L").resize((16, 16)), np.float64).ravel()
    return (grey - grey.mean()) / (grey.std() + 1e-6)


def test_no_training_horse_repeats_a_validation_horse() -> None:
    """The horse set holds two validation photos again under other names (one resized, one
    re-encoded); both copies stay out of training, and no other train/val pair is that close."""
    if not (HORSES / "weizmann-horse").is_dir():
        pytest.skip("the static-masks collection is not next to the repository")
    samples = [s for s in list_static_samples(HORSES) if s.source == "horse"]
    train, val = static_split(samples)
    by_key = {s.image_key: s for s in samples}
    for (_, copy), original in DUPLICATES_OF_VAL.items():  # the pairs really are one photo
        assert float(_thumb(by_key[copy].image) @ _thumb(by_key[original].image)) / 256 > 0.95
        assert by_key[original] in val and by_key[copy] not in train
    train_t = np.stack([_thumb(s.image) for s in train])  # [N_train, 256]
    val_t = np.stack([_thumb(s.image) for s in val])  # [N_val, 256]
    assert (val_t @ train_t.T / 256).max() < 0.92
