"""DAVIS / YouTube-VOS readers on tiny synthetic layouts (and the real DAVIS-2016 copy if any)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from srnet.data.davis import DEFAULT_HOLDOUT, VOSDataset, train_val_split, youtube_vos
from srnet.palette import save_index_mask

DAVIS_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "davis2016-train"
HW = (24, 32)


def write_sequence(images: Path, masks: Path, num_frames: int, palette: bool,
                   annotated: set[int] | None = None) -> None:
    """Frames with a red block on the left; a mask per annotated frame (palette: ids 1 and 2,
    else DAVIS-2016 grayscale 0/255 for one object)."""
    images.mkdir(parents=True)
    masks.mkdir(parents=True)
    for i in range(num_frames):
        frame = np.full((*HW, 3), 40, np.uint8)
        frame[:, :8] = (230, 20, 20)  # RGB red
        cv2.imwrite(str(images / f"{i:05d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        if annotated is not None and i not in annotated:
            continue
        mask = np.zeros(HW, np.uint8)
        mask[4:12, 4 + i:12 + i] = 1
        if palette:
            mask[14:20, 20:28] = 2
            save_index_mask(masks / f"{i:05d}.png", mask)
        else:
            Image.fromarray(mask * 255, mode="L").save(masks / f"{i:05d}.png")


def make_davis(root: Path, names: dict[str, bool], num_frames: int = 4) -> Path:
    """DAVIS layout under ``root``: {sequence: uses palette masks}."""
    for name, palette in names.items():
        write_sequence(root / "JPEGImages" / "480p" / name, root / "Annotations" / "480p" / name,
                       num_frames, palette)
    return root


def test_reads_frames_masks_and_objects(tmp_path: Path) -> None:
    dataset = VOSDataset(make_davis(tmp_path, {"multi": True, "gray": False}, num_frames=5))
    assert dataset.sequences == ["gray", "multi"]  # sorted
    assert [p.name for p in dataset.frames("gray")] == [f"{i:05d}.jpg" for i in range(5)]
    frame = dataset.load_frame("multi", 2)
    assert frame.shape == (*HW, 3) and frame.dtype == np.uint8
    assert frame[:, :6, 0].mean() > 200 > 50 > frame[:, :6, 2].mean()  # RGB, not BGR
    gray_mask = dataset.load_mask("gray", 3)
    assert gray_mask.dtype == np.uint8 and set(np.unique(gray_mask)) == {0, 1}
    assert gray_mask[4:12, 7:15].all() and gray_mask.sum() == 64  # the mask moved with i
    assert set(np.unique(dataset.load_mask("multi", 0))) == {0, 1, 2}
    assert dataset.num_objects("gray") == 1 and dataset.num_objects("multi") == 2
    assert dataset.annotated_indices("multi") == [0, 1, 2, 3, 4]
    with pytest.raises(KeyError):
        dataset.frames("nope")


def test_splits_and_sequence_selection(tmp_path: Path) -> None:
    root = make_davis(tmp_path, {"a": False, "b": False, "c": True})
    (root / "ImageSets" / "2017").mkdir(parents=True)
    (root / "ImageSets" / "2017" / "val.txt").write_text("c\na\n")
    (root / "ImageSets" / "480p").mkdir(parents=True)
    # DAVIS-2016 style: frame-path lines, repeated per frame.
    lines = [f"/JPEGImages/480p/b/{i:05d}.jpg /Annotations/480p/b/{i:05d}.png" for i in range(3)]
    (root / "ImageSets" / "480p" / "train.txt").write_text("\n".join(lines) + "\n")
    assert VOSDataset(root, split="val").sequences == ["c", "a"]
    assert VOSDataset(root, split="train").sequences == ["b"]
    assert VOSDataset(root, split="val", seqs=["b"]).sequences == ["b"]  # seqs overrides
    with pytest.raises(FileNotFoundError):
        VOSDataset(root, split="test-dev")
    with pytest.raises(ValueError):
        VOSDataset(root, seqs=["a", "zzz"])
    with pytest.raises(FileNotFoundError):
        VOSDataset(root, resolution="1080p")


def test_youtube_layout_with_sparse_annotations(tmp_path: Path) -> None:
    base = tmp_path / "yt" / "train"
    write_sequence(base / "JPEGImages" / "v1", base / "Annotations" / "v1", 6, palette=True,
                   annotated={0, 5})
    write_sequence(base / "JPEGImages" / "v2", base / "Annotations" / "v2", 3, palette=True)
    dataset = youtube_vos(tmp_path / "yt")
    assert dataset.sequences == ["v1", "v2"] and dataset.frame_step == 5
    assert len(dataset.frames("v1")) == 6
    assert dataset.annotated_indices("v1") == [0, 5]
    assert dataset.load_mask("v1", 5)[4:12, 9:17].all()
    with pytest.raises(FileNotFoundError):
        dataset.load_mask("v1", 2)
    assert youtube_vos(base).sequences == ["v1", "v2"]  # root may be the subset folder


def test_train_val_split_is_the_every_fifth_holdout() -> None:
    names = ["bear", "bmx-bumps", "boat", "breakdance-flare", "bus", "car-turn", "dance-jump",
             "dog-agility", "drift-turn", "elephant", "flamingo", "hike", "hockey",
             "horsejump-low", "kite-walk", "lucia", "mallard-fly", "mallard-water",
             "motocross-bumps", "motorbike", "paragliding", "rhino", "rollerblade",
             "scooter-gray", "soccerball", "stroller", "surf", "swing", "tennis", "train"]
    assert tuple(sorted(names)[::5]) == DEFAULT_HOLDOUT
    train, val = train_val_split(reversed(names))
    assert tuple(sorted(val)) == DEFAULT_HOLDOUT and len(train) == 24
    assert not set(train) & set(val)
    assert train[0] == "train"  # input order kept
    assert train_val_split(["x", "bear"], holdout=["x"]) == (["bear"], ["x"])


@pytest.mark.parametrize("source", ["real", "synthetic"])
def test_davis2016_layout(source: str, tmp_path: Path) -> None:
    """The real DAVIS-2016 train copy when present; otherwise the same checks on a fake one."""
    if source == "real":
        if not DAVIS_ROOT.exists():
            pytest.skip("DAVIS-2016 data not available")
        root, expected_hw = DAVIS_ROOT, (480, 854)
    else:
        root = make_davis(tmp_path, {name: False for name in DEFAULT_HOLDOUT}, num_frames=2)
        (root / "ImageSets" / "480p").mkdir(parents=True)
        (root / "ImageSets" / "480p" / "train.txt").write_text("\n".join(DEFAULT_HOLDOUT))
        expected_hw = HW
    dataset = VOSDataset(root, split="train")
    assert set(DEFAULT_HOLDOUT) <= set(dataset.sequences)
    _, val = train_val_split(dataset.sequences)
    assert tuple(val) == DEFAULT_HOLDOUT
    frame, mask = dataset.load_frame("bear", 0), dataset.load_mask("bear", 0)
    assert frame.shape == (*expected_hw, 3) and mask.shape == expected_hw
    assert set(np.unique(mask)) == {0, 1}  # grayscale 0/255 -> one object
    assert dataset.annotated_indices("bear") == list(range(len(dataset.frames("bear"))))
