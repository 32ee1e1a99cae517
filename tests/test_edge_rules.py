"""Edge rules that a plausible change would break without any other test noticing: F's
boundary tolerance at DAVIS size, NoC at exactly the threshold, the RITM simulator's tie rule,
the click constraint on an empty mask, objects added out of id order, restoring probabilities,
the flip matrix and the training clips' minimum object area."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from conftest import make_clip

from srnet import Predictor
from srnet.data.augment import crop_matrix, warp_image
from srnet.data.clips import select_objects
from srnet.eval.metrics import f_measure
from srnet.inference.preprocess import FrameGeometry, restore_prob
from srnet.interactive.clicks import constrain, iou, next_click_ritm, noc, summarize

# ------------------------------------------------------------------------------ metrics: F


def _davis_rectangle() -> np.ndarray:
    gt = np.zeros((480, 854), bool)
    gt[100:300, 200:500] = True
    return gt


def test_f_tolerance_at_davis_size_is_eight_pixels() -> None:
    """At 480x854 the DAVIS radius is ceil(0.008 · hypot(480, 854)) = ceil(7.84) = 8 px: a
    mask shifted 8 px sideways scores F = 1, one shifted 9 px loses both vertical edges.
    A radius from the long side (ceil(6.83) = 7), floor() or a disk without its rim (x²+y² < r²)
    fail the first; a radius one larger passes the second."""
    assert math.ceil(0.008 * math.hypot(480, 854)) == 8
    gt = _davis_rectangle()
    for shift in (8, -8):
        assert f_measure(np.roll(gt, shift, axis=1), gt) == 1.0, shift
    # 9 px: the 1000 boundary pixels of either mask (DAVIS seg2bmap: 201 + 200 on the left and
    # right, 300 + 299 on top and bottom) keep the two horizontal edges (598 within 8 px) and
    # 18 left-edge pixels within 8 px of a corner: P = R = F = 616 / 1000
    for shift in (9, -9):
        assert f_measure(np.roll(gt, shift, axis=1), gt) == pytest.approx(0.616, abs=1e-12)


# ------------------------------------------------------------------------------ clicks


def test_noc_counts_an_iou_equal_to_the_threshold_as_reached() -> None:
    """NoC is the number of clicks to reach IoU ≥ 0.85: an IoU of exactly 0.85 (17 of 20
    pixels) counts, at the click where it happens, in `noc` and in `summarize`'s NoC@85."""
    gt = np.ones((4, 5), bool)
    pred = gt.copy()
    pred[0, :3] = False  # 17 / 20
    exact = iou(pred, gt)
    assert exact == 0.85
    assert noc([0.5, exact, 0.9], 0.85, 20) == 2
    assert summarize([[0.5, exact]], 20)["NoC@85"] == 2.0
    assert summarize([[0.5, exact]], 20)["NoC@90"] == 20.0


def test_ritm_click_on_equally_deep_errors_is_negative() -> None:
    """RITM's Clicker clicks positive only when the false negatives' depth is strictly larger:
    a 5x5 missed square and a 5x5 spurious square tie, so the click is negative, at the centre
    of the spurious one. `>=` instead of `>` flips the sign and the place."""
    gt = np.zeros((20, 20), bool)
    pred = np.zeros((20, 20), bool)
    gt[2:7, 2:7] = True  # false negative, centre (x=4, y=4)
    pred[10:15, 11:16] = True  # false positive, centre (x=13, y=12)
    assert next_click_ritm(pred, gt) == (13.0, 12.0, False)
    gt[2:9, 2:9] = True  # 7x7: one pixel deeper, now the false negative wins
    x, y, positive = next_click_ritm(pred, gt)
    assert positive and gt[int(y), int(x)]


def test_constrain_with_an_empty_previous_mask_keeps_the_new_mask() -> None:
    """The first correction on an empty mask has nothing to constrain: a negative click's
    prev ∧ new would wipe the new mask out, so an all-False previous mask counts as none."""
    new = np.zeros((6, 6), bool)
    new[1:4, 2:5] = True
    for positive in (True, False):
        for prev in (None, np.zeros((6, 6), bool), np.zeros((6, 6), np.uint8)):
            out = constrain(prev, new, positive)
            assert out.dtype == bool and np.array_equal(out, new), (positive, prev)
            assert out is not new


# ------------------------------------------------------------------ inference: object order


def test_object_added_out_of_id_order_takes_exactly_the_users_pixels(
        tiny_predictor: Predictor) -> None:
    """Object 5 is marked on frame 0, object 2 on frame 2 (the session's slots follow arrival,
    5 then 2, not the ids). Frame 2's result labels exactly the user's pixels 2, object 5 has
    zero probability there, and every pixel's probabilities sum to 1. A one-hot in sorted id
    order puts the user's pixels in object 5's slot; not clearing the prediction under the
    user's pixels leaves object 5's probability there and the sum above 1."""
    frames, masks = make_clip(num_frames=3, size=(64, 96), num_objects=2)
    session = tiny_predictor.new_session()
    tiny_predictor.step(session, 0, frames[0], np.where(masks[0] == 1, 5, 0).astype(np.uint8))
    # object 2's mask overlaps where object 5 is on frame 2 (so the prediction there is 5's)
    user = np.zeros(frames[0].shape[:2], bool)
    user[12:40, 14:40] = True
    assert (user & (masks[2] == 1)).sum() > 100
    out = tiny_predictor.step(session, 2, frames[2], np.where(user, 2, 0).astype(np.uint8))
    assert sorted(out.obj_ids) == [2, 5]
    five, two = 1 + out.obj_ids.index(5), 1 + out.obj_ids.index(2)  # prob channels
    assert np.array_equal(out.mask == 2, user)
    assert np.allclose(out.prob.sum(axis=0), 1.0, atol=1e-5)
    assert np.array_equal(out.prob[two][user], np.ones(user.sum(), np.float32))
    assert np.abs(out.prob[five][user]).max() == 0.0, "object 5 keeps no probability there"
    assert np.abs(out.prob[0][user]).max() == 0.0, "nor does the background"
    assert out.prob[five][~user].max() > 0.1, "object 5 is still predicted elsewhere"


def test_restore_prob_crops_the_padding_then_resizes_like_cv2_linear() -> None:
    """restore_prob = crop to the internal size, then the half-pixel bilinear resize that
    OpenCV's INTER_LINEAR does (align_corners=False, no antialias) — up and down."""
    torch.manual_seed(0)
    for orig, internal, padded in (((50, 70), (30, 42), (32, 48)),
                                   ((21, 27), (30, 40), (32, 48))):
        geom = FrameGeometry(orig, internal, padded)
        prob = torch.rand(1, 3, *padded)
        restored = restore_prob(prob, geom)
        assert restored.shape == (3, *orig)
        for channel in range(3):
            cropped = prob[0, channel, :internal[0], :internal[1]].numpy()
            expected = cv2.resize(cropped, (orig[1], orig[0]), interpolation=cv2.INTER_LINEAR)
            np.testing.assert_allclose(restored[channel].numpy(), expected, atol=1e-5)


# ------------------------------------------------------------------------------ training data


def test_flip_matrix_sends_column_zero_to_the_last_column() -> None:
    """A flipped crop mirrors about the output's centre: x ↦ W-1-x, so a horizontal ramp comes
    back exactly reversed (x ↦ W-x would shift it by one pixel and zero the first column)."""
    height, width = 4, 9
    matrix = crop_matrix((0, 0, height, width), (height, width), flip=True)
    np.testing.assert_allclose(matrix @ np.array([0.0, 0.0, 1.0]), [width - 1, 0.0, 1.0])
    ramp = np.repeat(np.arange(10, 10 + width, dtype=np.uint8)[None], height, axis=0)
    warped = warp_image(np.ascontiguousarray(ramp[..., None].repeat(3, axis=2)), matrix,
                        (height, width))
    np.testing.assert_array_equal(warped[..., 0], ramp[:, ::-1])


def test_select_objects_drops_objects_under_min_area() -> None:
    """Objects under `min_area` of the frame are not trained on: at 1 % of 20x20 = 4 px, an
    object of 3 px is dropped and one of exactly 4 px is kept."""
    mask = np.zeros((20, 20), np.uint8)
    mask[:10, :10] = 1  # 100 px
    mask[15, 15:18] = 2  # 3 px
    mask[18, 10:14] = 3  # 4 px
    for seed in range(3):
        chosen = select_objects(mask, np.random.default_rng(seed), max_objects=5, min_area=0.01)
        assert sorted(chosen) == [1, 3]
