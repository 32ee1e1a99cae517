"""demo.clicks: click validation and GrabCut click-to-mask on synthetic images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from demo.clicks import mask_from_clicks, validate_click


def _textured(height: int = 240, width: int = 320, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 70, (height // 8, width // 8, 3)).astype(np.uint8)
    image = cv2.resize(blocks, (width, height), interpolation=cv2.INTER_NEAREST)
    return np.clip(image + rng.integers(0, 40, (height, width, 3)), 0, 255).astype(np.uint8)


def _disc(shape: tuple[int, int], centre: tuple[int, int], radius: int) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.circle(mask, centre, radius, 1, -1)
    return mask.astype(bool)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize(("x", "y", "ok"), [
    (0, 0, True), (319.5, 239.5, True), (320, 10, False), (10, -1, False),
    (float("nan"), 3, False), ("a", 3, False), (None, 3, False),
])
def test_validate_click(x: object, y: object, ok: bool) -> None:
    assert validate_click(x, y, (240, 320, 3)) is ok


def test_no_valid_positive_click_gives_an_empty_mask() -> None:
    image = _textured()
    assert not mask_from_clicks(image, []).any()
    assert not mask_from_clicks(image, [(50, 50, False)]).any()
    outside = mask_from_clicks(image, [(500, 50, True), (-3, 9, True)])
    assert outside.shape == (240, 320) and outside.dtype == bool and not outside.any()


def test_one_click_segments_a_disc() -> None:
    image = _textured()
    disc = _disc((240, 320), (150, 120), 45)
    image[disc] = (220, 40, 40)
    mask = mask_from_clicks(image, [(150, 120, True), (900, 900, False)])  # bad click ignored
    assert _iou(mask, disc) > 0.8


def test_negative_click_removes_a_second_blob() -> None:
    image = _textured()
    disc = _disc((240, 320), (110, 120), 45)
    blob = _disc((240, 320), (240, 120), 30)
    bridge = np.zeros((240, 320), bool)
    bridge[115:126, 150:216] = True  # same colour, touching: one click grabs both
    image[disc | blob | bridge] = (220, 40, 40)
    first = mask_from_clicks(image, [(110, 120, True)])
    assert (first & blob).sum() > 0.5 * blob.sum()
    second = mask_from_clicks(image, [(110, 120, True), (240, 120, False)])
    assert (second & blob).sum() < 0.05 * blob.sum()
    assert _iou(second, disc) > 0.8


def test_large_frame_is_processed_small_and_upsampled() -> None:
    image = cv2.resize(_textured(seed=1), (960, 720), interpolation=cv2.INTER_NEAREST)
    disc = _disc((720, 960), (480, 360), 120)
    image[disc] = (40, 60, 230)
    prior = _disc((720, 960), (470, 350), 100)
    mask = mask_from_clicks(image, [(480, 360, True)], prior=prior)
    assert mask.shape == (720, 960) and _iou(mask, disc) > 0.8
    with pytest.raises(ValueError):
        mask_from_clicks(image[:, :, 0], [(1, 1, True)])


def test_grabcut_and_apply_click_refuse_malformed_input() -> None:
    """A float frame or a prior of another size would give a silently wrong mask; an empty
    click list has no last click to constrain by."""
    from demo.clicks import apply_click

    image = np.zeros((40, 60, 3), np.uint8)
    with pytest.raises(ValueError, match="uint8"):
        mask_from_clicks(image.astype(np.float32) / 255, [(10, 10, True)])
    with pytest.raises(ValueError, match="prior"):
        mask_from_clicks(image, [(10, 10, True)], prior=np.ones((20, 30), bool))
    with pytest.raises(ValueError, match="at least one click"):
        apply_click(image, [], None, "classic")
