"""Copy and DIS-flow baselines on a synthetic clip with a square moving 3 px per frame."""

from __future__ import annotations

import cv2
import numpy as np

from srnet.eval.baselines import copy_baseline, flow_baseline
from srnet.eval.metrics import jaccard


def moving_square(num_frames: int = 6, size: tuple[int, int] = (96, 128), side: int = 24,
                  step: int = 3) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Smoothly textured static background, a bright (lightly textured) square moving ``step``
    px/frame to the right. DIS is gradient-based: smooth texture gives it something to track."""
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 160, (size[0] // 4, size[1] // 4, 3), dtype=np.uint8)
    background = cv2.resize(coarse, size[::-1], interpolation=cv2.INTER_NEAREST)  # [H, W, 3]
    background = cv2.GaussianBlur(background, (0, 0), 1.0)
    patch = rng.integers(190, 256, (side // 4, side // 4, 3), dtype=np.uint8)
    patch = cv2.GaussianBlur(cv2.resize(patch, (side, side), interpolation=cv2.INTER_NEAREST),
                             (0, 0), 1.0)  # [side, side, 3]
    frames, masks = [], []
    for t in range(num_frames):
        frame, mask = background.copy(), np.zeros(size, np.uint8)
        top, left = 36, 10 + step * t
        frame[top:top + side, left:left + side] = patch
        mask[top:top + side, left:left + side] = 1
        frames.append(frame)
        masks.append(mask)
    return frames, masks


def test_baselines_yield_one_mask_per_frame() -> None:
    frames, masks = moving_square(num_frames=4)
    for method in (copy_baseline, flow_baseline):
        out = list(method(frames, masks[0]))
        assert len(out) == 4
        assert all(m.shape == masks[0].shape and m.dtype == np.uint8 for m in out)
        np.testing.assert_array_equal(out[0], masks[0])


def test_flow_follows_motion_copy_does_not() -> None:
    frames, masks = moving_square()
    copied = list(copy_baseline(frames, masks[0]))
    flowed = list(flow_baseline(frames, masks[0]))
    copy_iou = jaccard(copied[-1] == 1, masks[-1] == 1)
    flow_iou = jaccard(flowed[-1] == 1, masks[-1] == 1)
    assert copy_iou < 0.3  # 15 px of travel on a 24 px square: 9 / 39
    assert flow_iou > 0.8
    # The propagated mask moved right, as the object did.
    assert np.argwhere(flowed[-1])[:, 1].mean() > np.argwhere(masks[0])[:, 1].mean() + 10


def test_flow_baseline_keeps_object_ids() -> None:
    frames, masks = moving_square(num_frames=3)
    first = masks[0] * 3  # object id 3
    out = list(flow_baseline(frames, first))
    assert set(np.unique(out[-1])) == {0, 3}
