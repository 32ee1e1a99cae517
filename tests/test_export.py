"""demo.export: palette zip, per-object binary PNGs and RGBA cutouts round-trip losslessly."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from demo.export import (
    export_binary_masks,
    export_rgba_cutouts,
    export_zip_palette,
    frame_stem,
)
from srnet import load_index_mask


@pytest.fixture()
def masks() -> dict[int, np.ndarray]:
    first = np.zeros((12, 16), np.uint8)
    first[2:6, 2:6], first[7:11, 9:15] = 1, 3
    second = np.zeros((12, 16), np.uint8)
    second[3:8, 4:9] = 3
    return {0: first, 2: second}


def test_frame_stem_is_safe_and_falls_back_to_the_index() -> None:
    names = ["../../etc/passwd", "clip/00001.jpg", "", "a b?.png"]
    assert [frame_stem(i, names) for i in range(5)] == ["passwd", "00001", "00002", "a_b_",
                                                        "00004"]
    assert frame_stem(7, None) == "00007"


def test_palette_zip_round_trip(tmp_path: Path, masks: dict[int, np.ndarray]) -> None:
    with pytest.raises(FileNotFoundError, match="is gone"):  # a folder removed meanwhile
        export_zip_palette(masks, None, tmp_path / "out" / "m.zip")  # is not made again
    (tmp_path / "out").mkdir()
    out = export_zip_palette(masks, ["f0.jpg", "f1.jpg", "f2.jpg"], tmp_path / "out" / "m.zip")
    assert out == tmp_path / "out" / "m.zip"
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["f0.png", "f2.png"]
        archive.extractall(tmp_path / "x")
    for index, name in ((0, "f0.png"), (2, "f2.png")):
        with Image.open(tmp_path / "x" / name) as image:
            assert image.format == "PNG" and image.mode == "P"
        assert np.array_equal(load_index_mask(tmp_path / "x" / name), masks[index])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["m.zip"]  # no temp left


def _read_png(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return np.asarray(image)


def test_binary_masks_zip_and_folder(tmp_path: Path, masks: dict[int, np.ndarray]) -> None:
    out = export_binary_masks(masks, [1, 3], tmp_path / "bin.zip")
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["object_1/00000.png", "object_1/00002.png",
                                              "object_3/00000.png", "object_3/00002.png"]
        binary = _read_png(archive.read("object_3/00000.png"))
    assert set(np.unique(binary)) == {0, 255}
    assert np.array_equal(binary == 255, masks[0] == 3)
    folder = export_binary_masks(masks, [1], tmp_path / "bin_dir")
    empty = _read_png((folder / "object_1" / "00002.png").read_bytes())
    assert not empty.any()


def test_rgba_cutouts(tmp_path: Path, masks: dict[int, np.ndarray]) -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (12, 16, 3), dtype=np.uint8) for _ in range(3)]
    out = export_rgba_cutouts(frames, masks, 3, tmp_path / "cut.zip", ["a", "b", "c"])
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["a.png", "c.png"]
        rgba = _read_png(archive.read("c.png"))
    assert rgba.shape == (12, 16, 4)
    assert np.array_equal(rgba[..., 3] == 255, masks[2] == 3) and set(np.unique(rgba[..., 3])) \
        == {0, 255}
    inside = masks[2] == 3
    assert np.array_equal(rgba[inside, :3], frames[2][inside])  # the object's own colours
    assert not rgba[~inside].any()  # transparent black outside: small files
    every = export_rgba_cutouts(frames, masks, None, tmp_path / "all.zip", ["a", "b", "c"])
    with zipfile.ZipFile(every) as archive:
        alpha = _read_png(archive.read("a.png"))[..., 3]
    assert set(np.unique(masks[0])) >= {1, 3}, "the fixture must hold two objects here"
    assert np.array_equal(alpha == 255, masks[0] > 0)  # both objects kept, background cut
    with pytest.raises(ValueError):
        export_rgba_cutouts(frames[:1], masks, 3, tmp_path / "bad.zip")
