"""Copy and DIS-flow baselines on a synthetic clip with a square moving 3 px per frame."""

from __future__ import annotations

import cv2
import numpy as np

from srnet.eval.baselines import copy_baseline, flow_baseline, flow_propagate
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


def test_flow_propagate_runs_backward_from_a_later_frame() -> None:
    frames, masks = moving_square(num_frames=6)
    out = list(flow_propagate(frames, {5: masks[5]}, 5, 0))
    assert [idx for idx, _ in out] == [5, 4, 3, 2, 1, 0]
    # Followed leftwards back to where the square started (the uncovered background drags
    # some pixels along, as it does forwards, so the bound is looser than overlap-by-chance).
    assert jaccard(out[-1][1] > 0, masks[0] > 0) > 0.6
    assert np.argwhere(out[-1][1])[:, 1].mean() < np.argwhere(masks[5])[:, 1].mean() - 8


def test_flow_propagate_lets_a_later_annotation_take_over_its_objects() -> None:
    frames, masks = moving_square(num_frames=6)
    stale = np.zeros_like(masks[3])
    stale[:12, :12] = 1  # a deliberately wrong "correction" of object 1 on frame 3
    second = np.zeros_like(masks[3])
    second[70:90, 100:120] = 2  # object 2, first marked on frame 3
    correction = np.maximum(stale, second)
    out = dict(flow_propagate(frames, {0: masks[0], 3: correction}, 0, 5))
    assert jaccard(out[2] == 1, masks[2] > 0) > 0.8  # before the correction: followed
    # From frame 3 object 1 is the annotated box (the warped square is dropped) and object 2
    # joins; the background does not move, so both stay where they were marked.
    assert np.array_equal(out[3], correction)
    assert jaccard(out[5] == 1, stale > 0) > 0.8 and jaccard(out[5] == 2, second > 0) > 0.8
    assert not (out[5] == 1)[masks[5] > 0].any()


def test_flow_propagate_drops_an_object_marked_absent() -> None:
    """The ablation's flow variant kept warping an object the user had erased on frame 3."""
    frames, masks = moving_square(num_frames=6)
    nothing = np.zeros_like(masks[3])
    out = dict(flow_propagate(frames, {0: masks[0], 3: nothing}, 0, 5, absent={3: [1]}))
    assert (out[2] == 1).any() and not any((out[f] == 1).any() for f in (3, 4, 5))


def test_flow_propagate_needs_an_annotated_start() -> None:
    frames, masks = moving_square(num_frames=3)
    try:
        next(flow_propagate(frames, {1: masks[1]}, 0, 2))
    except ValueError as err:
        assert "annotated" in str(err)
    else:
        raise AssertionError("no error for an unannotated start")
