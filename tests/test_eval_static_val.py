"""The checkpoint-selection set (`eval --static-val`): held-out still images only, the same clips
on every run, scored through the DAVIS protocol by the eval CLI."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srnet.eval.static_val import FRAMES, StaticValClips


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture()
def static_root(tmp_path: Path) -> Path:
    """coco: cat on image 1 (two objects: val), cat/dog on 2-3; bsds: 000 and 010 are val;
    a DAVIS-345 frame of a holdout sequence (val, but not part of this set)."""
    rng = np.random.default_rng(0)
    root = tmp_path / "static"

    def add(folder: str, name: str, boxes: list[tuple[int, int, int, int]]) -> None:
        image = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
        mask = np.zeros((60, 80), np.uint8)
        for y0, y1, x0, x1 in boxes:
            image[y0:y1, x0:x1] = (200, 40, 40)
            mask[y0:y1, x0:x1] = 255
        _write(root / folder / "images" / f"{name}.jpg", image)
        _write(root / folder / "masks" / f"{name}.png", mask)

    add("coco-mval", "cat00_000000000001", [(5, 30, 5, 30)])
    add("coco-mval", "cat01_000000000001", [(35, 55, 40, 75)])
    add("coco-mval", "cat02_000000000002", [(10, 40, 10, 50)])
    add("coco-mval", "dog00_000000000003", [(10, 40, 10, 50)])
    add("coco-mval", "dog01_000000000004", [(10, 40, 10, 50)])
    add("coco-mval", "cat03_000000000005", [(1, 2, 1, 2)])  # train anyway; tiny
    for i in range(11):
        add("bsds-sod", f"{i:03d}", [(20, 45, 20, 60)])
    _write(root / "davis345-train" / "bear" / "00000.png", np.ones((60, 80), np.uint8))
    return root


def test_only_held_out_images(static_root: Path) -> None:
    clips = StaticValClips(static_root)
    # COCO val = each category's first image: cat → image 1, dog → image 3; bsds 000 and 010
    assert clips.sequences == ["bsds-000", "bsds-010", "coco-000000000001", "coco-000000000003"]
    assert len(clips.frames("bsds-000")) == FRAMES


def test_clips_are_deterministic_and_keep_every_object(static_root: Path) -> None:
    first, second = StaticValClips(static_root), StaticValClips(static_root)
    name = "coco-000000000001"  # the image holding both cat objects
    for index in (0, FRAMES - 1):
        np.testing.assert_array_equal(first.load_frame(name, index),
                                      second.load_frame(name, index))
        np.testing.assert_array_equal(first.load_mask(name, index), second.load_mask(name, index))
    mask0 = first.load_mask(name, 0)
    assert set(np.unique(mask0)) == {0, 1, 2}
    assert first.load_frame(name, 0).shape == (*mask0.shape, 3)
    # the warps move the objects: a later frame is not a copy of the first
    assert (first.load_mask(name, FRAMES - 1) != mask0).mean() > 0.001


def test_the_set_keeps_its_frozen_warps_when_training_changes(static_root: Path,
                                                              monkeypatch) -> None:
    """Session 31 changed the training warps (shear along x only, as the spec; the best crop
    kept); the selection set keeps the recipe it was built with, or the shipped checkpoint's
    score would no longer compare with a candidate's."""
    from srnet.data import augment

    shears = []
    draw = augment.random_affine

    def spy(rng, out_hw, degrees=15.0, shear=10.0, *args, **kwargs):
        shears.append(shear)
        return draw(rng, out_hw, degrees, shear, *args, **kwargs)

    monkeypatch.setattr(augment, "random_affine", spy)
    StaticValClips(static_root).load_frame("bsds-000", 0)
    assert shears and all(s == (10.0, 10.0) for s in shears)


def test_no_held_out_images_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "bsds-sod" / "images" / "001.jpg", np.zeros((8, 8, 3), np.uint8))
    _write(tmp_path / "bsds-sod" / "masks" / "001.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="no held-out"):
        StaticValClips(tmp_path)


def test_eval_cli_scores_the_set(static_root: Path, capsys: pytest.CaptureFixture) -> None:
    from srnet.__main__ import main

    assert main(["eval", "--static-val", str(static_root), "--method", "copy"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("J&F ")
    assert sum(line.startswith(("bsds-", "coco-")) for line in lines) == 4
    copy_jf = float(lines[-1].split()[1])
    assert 0 < copy_jf < 100  # the warps move objects: copying frame 0 is far from perfect


def test_eval_cli_rejects_mixing(static_root: Path, capsys: pytest.CaptureFixture) -> None:
    from srnet.__main__ import main

    assert main(["eval", "--static-val", str(static_root), "--method", "copy", "--paste"]) == 2
    assert "argument --static-val" in capsys.readouterr().err
    assert main(["eval", "--method", "copy"]) == 2
    assert "argument --davis: required" in capsys.readouterr().err
