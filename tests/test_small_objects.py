"""Small objects (`InferenceConfig.min_object_cells`): a video whose smallest first-frame object
covers too few stride-16 cells runs at a larger internal size, chosen once per memory.

The real-frame test is the case that motivated it: on the holdout clip `paragliding` at the
demo's CPU working size (short side 360) the pilot, about 1.5 cells, is lost by frame 12, and
kept when the video runs larger (DAVIS-345 instance masks, ../shared)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import make_clip

from srnet import (
    DEFAULT_CHECKPOINT,
    InferenceConfig,
    Predictor,
    load_index_mask,
    load_predictor,
    mask_iou,
)
from srnet.inference.preprocess import plan_geometry, small_object_upscale

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PARAGLIDING = SHARED / "davis2016-train" / "JPEGImages" / "480p" / "paragliding"
INSTANCES = SHARED / "static-masks" / "davis345-train" / "paragliding"


def _square_mask(height: int, width: int, side: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    mask[10:10 + side, 20:20 + side] = 1
    return mask


def test_upscale_brings_the_smallest_object_to_the_cell_target():
    # 24x24 px at the internal size = 2.25 cells; 3 asked -> sqrt(3 / 2.25)
    assert small_object_upscale(_square_mask(360, 640, 24), 360, 3.0, 1.5) == \
        pytest.approx(np.sqrt(3 / 2.25))
    assert small_object_upscale(_square_mask(360, 640, 32), 360, 3.0, 1.5) == 1.0  # 4 cells
    assert small_object_upscale(_square_mask(360, 640, 8), 360, 3.0, 1.5) == 1.5  # capped
    # the internal size counts: 32 px at 720p is 16 px once the video is run at 360
    assert small_object_upscale(_square_mask(720, 1280, 32), 360, 3.0, 2.0) == pytest.approx(
        np.sqrt(3))
    big_and_small = _square_mask(360, 640, 64)
    big_and_small[300:308, 300:308] = 2  # the smallest object decides
    assert small_object_upscale(big_and_small, 360, 3.0, 1.5) == 1.5


def test_geometry_applies_the_factor_after_the_short_side_cap():
    geom = plan_geometry((720, 1280), 360, upscale=1.5)
    assert geom.internal_size == (540, 960) and geom.padded_size == (544, 960)
    assert plan_geometry((720, 1280), 360).internal_size == (360, 640)


def test_session_chooses_its_size_once_from_the_first_annotation(tiny_model):
    frames, _ = make_clip(num_frames=4, size=(64, 96))
    tiny = np.zeros((64, 96), np.uint8)
    tiny[20:26, 30:36] = 1  # 36 px: 0.14 cells
    predictor = Predictor(tiny_model, InferenceConfig(short_side=None, min_object_cells=3.0), "cpu")
    session = predictor.new_session()
    first = predictor.step(session, 0, frames[0], tiny)
    assert session.upscale == 1.5 and first.padded_grid == (6, 9)  # 96x144 internal
    outs = list(predictor.propagate(session, frames, 0))
    assert all(o.mask.shape == (64, 96) for o in outs)
    later = np.zeros((64, 96), np.uint8)
    later[:, :48] = 2  # a large object added with memory present: the size stays
    predictor.step(session, 2, frames[2], later)
    assert session.upscale == 1.5
    plain = Predictor(tiny_model, InferenceConfig(short_side=None), "cpu")
    off = plain.new_session()
    assert plain.step(off, 0, frames[0], tiny).padded_grid == (4, 6) and off.upscale == 1.0


def _paragliding(num_frames: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Frames 0..num_frames-1 at the demo's CPU working size (640x360), the instance ids of
    frame 0 (pilot 1, wing 2) and of frame num_frames-1, at that size."""
    def small(image: np.ndarray, interp: int) -> np.ndarray:
        return cv2.resize(image, (640, 360), interpolation=interp)

    frames = [small(cv2.imread(str(PARAGLIDING / f"{i:05d}.jpg"))[:, :, ::-1].copy(),
                    cv2.INTER_AREA) for i in range(num_frames)]
    first, last = (small(np.where(m == 255, 0, m).astype(np.uint8), cv2.INTER_NEAREST)
                   for m in (load_index_mask(INSTANCES / f"{i:05d}.png")
                             for i in (0, num_frames - 1)))
    return frames, first, last


@pytest.mark.slow
@pytest.mark.skipif(not (INSTANCES / "00012.png").is_file(), reason="../shared data missing")
def test_small_pilot_is_kept_at_the_larger_size_and_lost_without_it():
    frames, first, truth = _paragliding(13)
    pilot = int(np.bincount(first.ravel())[1:].argmin()) + 1
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        scores = {}
        for cells in (None, 3.0):
            predictor, _ = load_predictor(DEFAULT_CHECKPOINT, device="cpu", config=InferenceConfig(
                short_side=360, min_object_cells=cells))
            session = predictor.new_session()
            predictor.step(session, 0, frames[0], first)
            last = list(predictor.propagate(session, frames, 0))[-1].mask
            scores[cells] = float(mask_iou(last == pilot, truth == pilot))
    finally:
        torch.set_num_threads(threads)
    # measured pilot IoU on frame 12 at 360 / at 1.42x: session-16 weights 0.011 / 0.784;
    # session-31 weights 0.545 / 0.715 (they lose the pilot less, and the larger size still helps);
    # session-35 weights 0.500 / 0.788
    print(f"pilot IoU on frame 12 at 360 / with min_object_cells 3: {scores}")
    assert scores[3.0] >= 0.5, scores
    assert scores[3.0] >= scores[None] + 0.1, scores  # the failure it fixes


@pytest.mark.slow
@pytest.mark.parametrize("size", [(24, 43), (17, 33)])
def test_the_shipped_model_keeps_the_object_in_tiny_frames(size: tuple[int, int]):
    """bear at 24x43 px (a thumbnail): the network ran on 2x3 feature cells and lost the bear
    after frame 0 (IoU 0.0); enlarged to a 64-px short side it follows it (session-35 weights:
    IoU 0.69-0.78 on the 7 later frames; 0.68-0.79 at 17x33)."""
    root = SHARED / "davis2016-train"
    predictor, _ = load_predictor(DEFAULT_CHECKPOINT, device="cpu")
    frames, masks = [], []
    for idx in range(0, 16, 2):
        image = cv2.imread(str(root / "JPEGImages" / "480p" / "bear" / f"{idx:05d}.jpg"))
        frames.append(cv2.resize(image[..., ::-1], size[::-1], interpolation=cv2.INTER_AREA))
        gt = load_index_mask(root / "Annotations" / "480p" / "bear" / f"{idx:05d}.png") > 0
        masks.append(cv2.resize(gt.astype(np.uint8), size[::-1],
                                interpolation=cv2.INTER_NEAREST))
    outs = list(predictor.propagate(predictor.new_session(), frames, 0, mask=masks[0]))
    ious = [mask_iou(out.mask > 0, masks[out.frame_idx] > 0) for out in outs[1:]]
    print(f"bear at {size[0]}x{size[1]}, IoU on frames 2-14 (every second): "
          f"{[round(i, 2) for i in ious]}")
    assert min(ious) > 0.5, ious
