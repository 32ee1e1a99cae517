"""DAVIS metrics on hand-made masks whose J / F values are counted by hand."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from srnet.eval.metrics import (
    boundary_map,
    evaluate_sequence,
    f_measure,
    jaccard,
    scored_frames,
)


def box(top: int, left: int, bottom: int, right: int, size: int = 20) -> np.ndarray:
    """Boolean [size, size] mask, True on rows top..bottom and cols left..right (inclusive)."""
    mask = np.zeros((size, size), bool)
    mask[top:bottom + 1, left:right + 1] = True
    return mask


def test_jaccard_exact_fraction_and_empty_cases() -> None:
    a = box(0, 0, 3, 4, size=10)  # 4 x 5 = 20 px
    b = box(2, 2, 5, 7, size=10)  # 4 x 6 = 24 px; overlap rows 2-3 x cols 2-4 = 6 px
    assert jaccard(a, b) == pytest.approx(6 / 38)
    assert jaccard(a, a) == 1.0
    empty = np.zeros((10, 10), bool)
    assert jaccard(empty, empty) == 1.0
    assert jaccard(a, empty) == 0.0
    with pytest.raises(ValueError):
        jaccard(a, np.zeros((10, 11), bool))


def test_boundary_map_matches_hand_drawn_ring() -> None:
    seg = np.zeros((6, 6), bool)
    seg[1:4, 1:4] = True  # 3x3 square
    # Pixels differing from their right / bottom / bottom-right neighbour: a 4x4 ring whose
    # top-left corner is (0, 0) (the outside pixels up/left of the square, the square's own
    # bottom row and right column).
    expected = np.zeros((6, 6), bool)
    expected[0, 0:4] = expected[3, 0:4] = True
    expected[0:4, 0] = expected[0:4, 3] = True
    np.testing.assert_array_equal(boundary_map(seg), expected)
    assert boundary_map(seg).sum() == 12


def test_f_measure_identical_within_and_beyond_tolerance() -> None:
    # 20x20: diagonal 28.3 -> radius ceil(0.008 * 28.3) = 1 (a 3x3 cross).
    square = box(5, 2, 9, 6)
    assert f_measure(square, square) == 1.0
    assert f_measure(square, np.roll(square, 1, axis=1)) == 1.0  # 1 px shift: within radius
    assert f_measure(square, np.roll(square, 8, axis=1)) == 0.0  # rings 3+ px apart
    assert f_measure(square, np.roll(square, 2, axis=1)) < 1.0
    # A looser tolerance (radius 3 px given directly) accepts the 2 px shift.
    assert f_measure(square, np.roll(square, 2, axis=1), bound_th=3) == 1.0


def test_f_measure_tolerance_is_the_davis_disk() -> None:
    """The toolkit's skimage disk(2), by hand: x² + y² ≤ 4 (no (±1, ±2) corners)."""
    from srnet.eval.metrics import tolerance_disk

    expected = np.array([[0, 0, 1, 0, 0],
                         [0, 1, 1, 1, 0],
                         [1, 1, 1, 1, 1],
                         [0, 1, 1, 1, 0],
                         [0, 0, 1, 0, 0]], np.uint8)
    assert (tolerance_disk(2) == expected).all()
    assert tolerance_disk(8).sum() == 197  # lattice points in a radius-8 disk (Gauss circle)


def test_f_measure_hand_counted_precision_recall() -> None:
    gt = box(5, 5, 9, 9)  # boundary ring rows 4..9 x cols 4..9: 20 px
    pred = box(5, 5, 9, 11)  # boundary ring rows 4..9 x cols 4..11: 24 px
    # Pred ring: top/bottom rows match on cols 4..10 (7 + 7; col 10 touches gt's (4|9, 9)),
    # left column matches (4), right column (col 11) is 2 px from gt (0) -> P = 18 / 24.
    # GT ring: top/bottom/left coincide (6 + 6 + 4), right column (col 9) only at rows 5 and 8,
    # whose vertical neighbours lie on pred's top/bottom rows (2) -> R = 18 / 20.
    precision, recall = 18 / 24, 18 / 20
    expected = 2 * precision * recall / (precision + recall)
    assert f_measure(pred, gt) == pytest.approx(expected)
    assert f_measure(gt, pred) == pytest.approx(expected)  # P and R swap, F is symmetric


def test_f_measure_empty_boundaries() -> None:
    empty = np.zeros((20, 20), bool)
    assert f_measure(empty, empty) == 1.0
    assert f_measure(box(3, 3, 8, 8), empty) == 0.0
    assert f_measure(empty, box(3, 3, 8, 8)) == 0.0


def test_evaluate_sequence_excludes_first_and_last_frames() -> None:
    gt = [box(4, 4, 11, 11).astype(np.uint8) for _ in range(5)]
    wrong = np.zeros((20, 20), np.uint8)
    pred = [wrong, gt[1], gt[2], gt[3], wrong]  # only frames 0 and 4 are wrong
    scores = evaluate_sequence(pred, gt)
    assert scores["J"] == 1.0 and scores["F"] == 1.0 and scores["JF"] == 1.0
    pred[2] = wrong  # a scored frame: J = mean(1, 0, 1)
    scores = evaluate_sequence(pred, gt)
    assert scores["J"] == pytest.approx(2 / 3)
    assert scores["F"] == pytest.approx(2 / 3)
    assert scored_frames(5) == [1, 2, 3]
    assert scored_frames(2) == [1]


def test_evaluate_sequence_means_over_objects() -> None:
    gt = np.zeros((20, 20), np.uint8)
    gt[0:4, 0:5] = 1  # object 1: 20 px
    gt[10:14, 10:15] = 2  # object 2: 20 px
    pred = gt.copy()
    pred[10:14, 10:15] = 0
    pred[10:14, 10:13] = 2  # object 2 predicted on 12 of its 20 px -> J = 0.6
    scores = evaluate_sequence([gt, pred, gt], [gt, gt, gt])
    assert scores["per_object"][1][0] == 1.0
    assert scores["per_object"][2][0] == pytest.approx(0.6)
    assert scores["J"] == pytest.approx(0.8)
    only_one = evaluate_sequence([gt, pred, gt], [gt, gt, gt], obj_ids=[1])
    assert only_one["J"] == 1.0
    with pytest.raises(ValueError):
        evaluate_sequence([gt], [gt, gt])


def test_void_pixels_are_no_object_and_do_not_count() -> None:
    """DAVIS marks void pixels 255 (the official evaluation drops them): they are no "object
    255", and a prediction of object 1 spilling onto them costs nothing."""
    gt = np.zeros((20, 20), np.uint8)
    gt[2:8, 2:8] = 1  # 36 px
    gt[10:14, :] = 255  # void band
    pred = np.where(gt == 255, 1, gt).astype(np.uint8)  # object 1 also covers the void band
    scores = evaluate_sequence([pred] * 3, [gt] * 3)
    assert list(scores["per_object"]) == [1]
    assert scores["J"] == 1.0 and scores["F"] == 1.0
    pred[2:8, 2:5] = 0  # half of the object missed: J = 18 / 36
    assert evaluate_sequence([pred] * 3, [gt] * 3)["J"] == pytest.approx(0.5)


def test_f_measure_matches_euclidean_distances_on_random_blobs() -> None:
    """f_measure's matching, against exact Euclidean distances (cv2.distanceTransform, no
    dilation): a boundary pixel is matched when the other boundary lies within r. An ellipse
    kernel or a square one would match pixels up to about r·√2 away and fail here."""
    from srnet.eval.metrics import boundary_map, f_measure

    rng = np.random.default_rng(7)
    for trial in range(12):
        blobs = []
        for _ in range(2):
            mask = np.zeros((72, 96), np.uint8)  # [H, W]
            for _ in range(3):
                center = (int(rng.integers(20, 76)), int(rng.integers(16, 56)))
                axes = (int(rng.integers(6, 20)), int(rng.integers(6, 16)))
                cv2.ellipse(mask, center, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
            blobs.append(mask.astype(bool))
        pred, gt = blobs
        radius = 3 + trial % 6

        def matched_share(a: np.ndarray, b: np.ndarray, radius: int = radius) -> float:
            far = cv2.distanceTransform((~boundary_map(b)).astype(np.uint8), cv2.DIST_L2,
                                        cv2.DIST_MASK_PRECISE)  # [H, W] px to b's boundary
            edge = boundary_map(a)
            return float((far[edge] <= radius + 1e-6).mean())

        precision, recall = matched_share(pred, gt), matched_share(gt, pred)
        expected = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision
                                                                                 + recall)
        assert f_measure(pred, gt, bound_th=radius) == pytest.approx(expected, abs=1e-9)
