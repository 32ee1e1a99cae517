"""The click model's training masks sit on their images: resized with INTER_NEAREST (which
samples pixel floor(i·scale), not its centre) every mask lay 0.4-0.8 px below and right of
the image resized with INTER_AREA / INTER_LINEAR, and the shipped model learned to answer
low (session 43's review)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from srnet.interactive.data import ClickObject, _resized, augment


def _rectangle(rng: np.random.Generator, size: tuple[int, int] = (480, 854)
               ) -> tuple[np.ndarray, np.ndarray]:
    """A white rectangle at a random place (image [H, W, 3]) and its mask [H, W]."""
    mask = np.zeros(size, np.uint8)
    (top, left), (height, width) = rng.integers(20, 200, 2), rng.integers(50, 200, 2)
    mask[top:top + height, left:left + width] = 1
    return np.repeat(mask[..., None] * 255, 3, axis=2), mask


def _offset(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(dy, dx) of the mask's centroid from the image's brightness centroid."""
    weights = image[..., 0].astype(np.float64)
    ys, xs = np.mgrid[:mask.shape[0], :mask.shape[1]]
    bright = np.array([(ys * weights).sum(), (xs * weights).sum()]) / weights.sum()
    return np.array([ys[mask > 0].mean(), xs[mask > 0].mean()]) - bright


def test_masks_resized_for_training_stay_on_their_image() -> None:
    """Averaged over rectangles: one edge's rounding moves a centroid by up to 1/4 px either
    way, the floor always the same way."""
    rng = np.random.default_rng(0)
    loaded, augmented = [], []
    for _ in range(40):
        image, mask = _rectangle(rng)
        small, (small_mask,) = _resized(image, [mask], 360)
        loaded.append(_offset(small, small_mask))
        obj = ClickObject(small, small_mask > 0, np.zeros_like(small_mask, bool), "box")
        view = augment(obj, 256, rng)
        if view is not None and 0 < view[1].sum() < view[1].size:
            grey = np.repeat((view[0].mean(axis=2) > 127)[..., None] * 255, 3, axis=2)
            augmented.append(_offset(grey, view[1])[0])  # vertical: flips do not cancel it
    assert np.abs(np.mean(loaded, axis=0)).max() < 0.1  # was (+0.34, +0.52)
    assert len(augmented) >= 20 and abs(float(np.mean(augmented))) < 0.15


@pytest.mark.parametrize("centred", [True, False])
def test_the_fed_back_mask_is_resized_as_its_weights_were_trained(centred: bool) -> None:
    """Weights trained on centred masks (`ClickConfig.centred_masks`, every run since session
    44) get the previous mask centred too; older weights keep the shift they learned."""
    import torch

    from srnet.interactive.model import ClickConfig
    from srnet.interactive.predictor import ClickPredictor, build_click_net

    torch.manual_seed(0)
    model = build_click_net(ClickConfig(short_side=90, max_long_side=160,
                                        centred_masks=centred)).eval()
    predictor = ClickPredictor(model, device="cpu", zoom=False)
    fed: list[np.ndarray] = []
    forward = model.forward_from_stem

    def spy(stem, maps, size):
        fed.append(maps[0, 2].numpy().copy())  # [h, w] the previous mask as fed
        return forward(stem, maps, size)

    model.forward_from_stem = spy
    rng = np.random.default_rng(1)
    offsets = []
    for _ in range(40):
        image, mask = _rectangle(rng)
        predictor.predict(image, [(int(np.argmax(mask.any(0))) + 5,
                                   int(np.argmax(mask.any(1))) + 5, True)], prev_mask=mask > 0)
        small = cv2.resize(image, fed[-1].shape[::-1], interpolation=cv2.INTER_AREA)
        offsets.append(_offset(small, fed[-1]))
    mean = np.abs(np.mean(offsets, axis=0))  # (dy, dx) working pixels
    assert (mean.max() < 0.15) if centred else (mean.min() > 0.3), mean
