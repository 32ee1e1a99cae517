"""Exports at the source resolution: masks interpolated from the working size (smooth outlines,
no new labels), the frames decoded again from the clip's file in one forward pass, files named
by source frame, and a clear fallback when the file is gone."""

from __future__ import annotations

import zipfile
from pathlib import Path

import cv2
import imageio.v2 as iio
import numpy as np
import pytest
from PIL import Image

from demo import export
from demo import handlers_export as exporting
from demo import handlers_load as loading
from demo.handlers import DemoContext
from demo.state import DemoState
from demo.video_io import write_mp4
from srnet import mask_iou
from tests.conftest import lite_demo_context, make_clip


def _disk(size: int, radius: float) -> np.ndarray:
    ys, xs = np.mgrid[:size, :size]
    return ((ys - size / 2 + 0.5) ** 2 + (xs - size / 2 + 0.5) ** 2) <= radius ** 2


def _outline_length(mask: np.ndarray) -> float:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    return cv2.arcLength(max(contours, key=len), True)


def test_resized_index_mask_has_smooth_outlines_and_only_its_labels() -> None:
    """A 4x enlargement of a working-size disk follows the true full-size disk: no more pixels
    wrong than nearest-neighbour and an outline without its staircase (nearest-neighbour's
    outline is about a sixth longer than the disk's, 4-px steps); no label appears that the
    mask did not have."""
    truth = _disk(400, 150)  # [400, 400] the object at full size
    small = cv2.resize(truth.astype(np.float32), (100, 100), interpolation=cv2.INTER_AREA)
    small = np.where(small > 0.5, 3, 0).astype(np.uint8)  # [100, 100] at working size
    smooth = export.resize_index_mask(small, (400, 400))
    blocky = cv2.resize(small, (400, 400), interpolation=cv2.INTER_NEAREST)
    assert np.sum((smooth > 0) != truth) <= np.sum((blocky > 0) != truth)
    excess = _outline_length(smooth > 0) - _outline_length(truth)
    assert excess < 0.5 * (_outline_length(blocky > 0) - _outline_length(truth))
    small[45:55, 45:55] = 1  # a second object inside the first
    assert set(np.unique(export.resize_index_mask(small, (400, 400)))) == {0, 1, 3}
    assert np.array_equal(export.resize_index_mask(small, (100, 100)), small)


def test_streamed_frames_decode_once_forward_and_again_backward() -> None:
    opened = []

    def open_frames():
        opened.append(1)
        return (np.full((2, 2, 3), i, np.uint8) for i in range(5))

    frames = export.StreamedFrames(open_frames, 5)
    assert [int(frames[i][0, 0, 0]) for i in (0, 2, 2, 4)] == [0, 2, 2, 4] and len(opened) == 1
    assert int(frames[1][0, 0, 0]) == 1 and len(opened) == 2  # backwards: a new pass
    with pytest.raises(IndexError):
        frames[5]
    short = export.StreamedFrames(lambda: iter([np.zeros((2, 2, 3), np.uint8)]), 3)
    with pytest.raises(ValueError, match="ended before frame 2"):
        short[2]


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> DemoContext:
    return lite_demo_context(tmp_path_factory.mktemp("sessions"))


def _loaded_with_masks(ctx: DemoContext, path: Path) -> DemoState:
    """Source frames 2, 4, 6, 8 at short side 96, each 'propagated' with a disk mask."""
    out = loading.load_upload(ctx, str(path), 2, 0, 2, None)
    state = out[0]
    assert isinstance(state, DemoState), out[-1]
    assert state.size == (96, 160) and state.num_frames == 4
    disk = _disk(160, 30)[32:128]  # [96, 160]
    state.masks = {i: disk.astype(np.uint8) for i in range(state.num_frames)}
    return state


def test_export_at_the_source_size_names_files_by_source_frame(ctx, tmp_path: Path) -> None:
    frames, _ = make_clip(10, (192, 320), num_objects=1)
    path = tmp_path / "walk.mp4"
    write_mp4(path, frames, 24)
    state = _loaded_with_masks(ctx, path)
    _, palette, binary, rgba, status = exporting.export_all(state, True)
    assert "at 320x192 (the source size)" in status
    decoded = iio.mimread(path)  # what the source looks like through the same decoder
    with zipfile.ZipFile(palette) as archive:
        assert sorted(archive.namelist()) == ["00002.png", "00004.png", "00006.png", "00008.png"]
        with archive.open("00004.png") as handle:
            mask = np.asarray(Image.open(handle))
    assert mask.shape == (192, 320)
    assert mask_iou(mask > 0, _disk(320, 60)[64:256]) > 0.97  # the disk, enlarged
    with zipfile.ZipFile(binary) as archive:
        assert "object_1/00008.png" in archive.namelist()
    with zipfile.ZipFile(rgba) as archive, archive.open("00006.png") as handle:
        cutout = np.asarray(Image.open(handle))
    assert cutout.shape == (192, 320, 4)
    inside = cutout[..., 3] > 0
    assert np.abs(cutout[inside, :3].astype(int) - decoded[6][inside, :3]).max() == 0  # source
    assert np.array_equal(cutout[..., 3] > 0, mask > 0)
    small = exporting.export_all(state, False)
    assert "at 160x96" in small[-1]
    with zipfile.ZipFile(small[1]) as archive, archive.open("00002.png") as handle:
        assert np.asarray(Image.open(handle)).shape == (96, 160)
    path.unlink()  # the upload was cleaned from the server: the working size, and why
    gone = exporting.export_all(state, True)
    assert "at 160x96 (the working size: the source file is no longer on the server)" in gone[-1]
