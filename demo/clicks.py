"""Clicks → mask for the demo: the learned click model (default) or classic GrabCut, both under
the monotonic click rule (issue #10), and the per-click undo history.

The learned model is loaded once (`load_learned`, at app start, on the torch thread) and
shared; it caches the last frame's stem, so every click after the first on a frame runs only
the click-dependent part. When its checkpoint is missing or broken, `learned_note()` says why
and the classic path is used. Pure numpy/OpenCV + the srnet public API: no gradio here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from demo import torch_thread
from srnet import (
    CheckpointError,
    ClickPredictor,
    constrain_click_mask,
    grabcut_mask_from_clicks,
    load_click_model,
    restore_far_removals,
    validate_click,
)

log = logging.getLogger(__name__)
LEARNED, CLASSIC = "learned", "classic"
CLICK_METHODS = (LEARNED, CLASSIC)
Click = tuple[float, float, bool]
mask_from_clicks = grabcut_mask_from_clicks  # the classic path, kept under its old name
_learned: dict[str, object] = {"model": None, "note": "not loaded yet"}
SAME_SPOT = 0.02  # a later click of the other sign this close (share of the long side) replaces

__all__ = ["CLASSIC", "CLICK_METHODS", "LEARNED", "apply_click", "counting_clicks",
           "learned_available", "learned_note", "load_learned", "mask_from_clicks", "segment",
           "validate_click"]


def load_learned(path: str | Path | None = None, device: str | None = None) -> str | None:
    """Load the click model once (on the torch thread); None when it loaded, else the reason
    (shown in the UI) why clicks fall back to classic GrabCut. Loads only once per process
    unless another `path` is given."""
    if learned_available() and path is None:
        return None
    try:
        model = torch_thread.call(load_click_model, path, device)
    except (CheckpointError, OSError, RuntimeError) as exc:
        log.warning("learned clicks unavailable, using classic GrabCut: %s", exc)
        _learned.update(model=None, note=str(exc))
        return str(exc)
    _learned.update(model=model, note=None)
    return None


def learned_available() -> bool:
    return isinstance(_learned["model"], ClickPredictor)


def learned_note() -> str | None:
    """Why the learned path is unavailable (None when it is)."""
    return None if learned_available() else str(_learned["note"])


def counting_clicks(clicks: Sequence[Click], shape: Sequence[int]) -> list[Click]:
    """The clicks that still count, in order: a click is replaced by any later click of the
    other sign on its spot (within `SAME_SPOT` of the long side), so "Remove" on the spot of
    an earlier positive click removes there instead of being outweighed by it (both networks
    and GrabCut see a positive and a negative seed on one spot otherwise). Undo of the later
    click brings the earlier one back: the stored list keeps every click."""
    radius = max(4.0, SAME_SPOT * max(shape[:2]))
    return [(x, y, positive) for i, (x, y, positive) in enumerate(clicks)
            if not any(later != positive and (x - lx) ** 2 + (y - ly) ** 2 <= radius ** 2
                       for lx, ly, later in clicks[i + 1:])]


def segment(frame: np.ndarray, clicks: Sequence[Click], prior: np.ndarray | None,
            method: str = LEARNED) -> np.ndarray:
    """Raw mask of the clicked object (bool [H, W]) with the chosen method; the learned path
    falls back to classic when the model is unavailable. `prior`: the mask being corrected.
    Only `counting_clicks` reach either method."""
    valid = counting_clicks([c for c in clicks if validate_click(c[0], c[1], frame.shape)],
                            frame.shape)
    if (prior is None or not prior.any()) and not any(c[2] for c in valid):
        return np.zeros(frame.shape[:2], bool)  # only remove-clicks and nothing to remove from
    if method == LEARNED and learned_available() and valid:
        model = _learned["model"]
        return torch_thread.call(model.predict, frame, valid, prior)
    if prior is not None and prior.any() and not any(c[2] for c in valid):
        valid = [_inside_point(prior, valid), *valid]  # GrabCut needs a foreground seed
    return mask_from_clicks(frame, valid, prior=prior)


def _inside_point(prior: np.ndarray, negatives: Sequence[Click]) -> Click:
    """A positive seed for GrabCut when only negative clicks correct `prior`: the prior's point
    farthest from its boundary and from the negative clicks."""
    inside = prior.astype(np.uint8)
    for x, y, _ in negatives:
        cv2.circle(inside, (int(x), int(y)), max(3, int(0.03 * max(prior.shape))), 0, -1)
    if not inside.any():
        inside = prior.astype(np.uint8)
    dist = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(x), float(y), True


def apply_click(frame: np.ndarray, clicks: Sequence[Click], prior: np.ndarray | None,
                method: str = LEARNED) -> np.ndarray:
    """The mask after the last of `clicks`, correcting `prior` (the object's mask before it):
    a negative click only removes pixels of `prior`, and only pieces that reach the click
    (GrabCut dropped every piece of `prior` without a positive click), a positive one only
    adds to it. The learned predictor already applies both rules; GrabCut does not."""
    if not clicks:
        raise ValueError("apply_click needs at least one click")
    new = segment(frame, clicks, prior, method)
    positive = bool(clicks[-1][2])
    mask = constrain_click_mask(prior, new, positive)
    if positive or prior is None or not prior.any():
        return mask
    return restore_far_removals(mask, prior > 0, counting_clicks(clicks, frame.shape))
