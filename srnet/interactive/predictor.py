"""Click checkpoints (one file = ClickConfig + fp16 weights, strict loading) and the
`ClickPredictor` behind `srnet.load_click_model`.

The predictor resizes the image to the working size (short side `ClickConfig.short_side`),
computes the stem (the first conv) once per image and keeps it while the same image gets more
clicks; each click runs the map injection, the trunk blocks and the decoder, so the cache saves
the resize and the stem, not most of the compute. Zoomed answers (small objects) run on a crop
whose stem is computed per click.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from srnet.checkpoint import (
    CheckpointError,
    checked_weights,
    load_payload,
    save_atomic,
    storage_state,
)
from srnet.interactive.clicks import Click, check_clicks, constrain, disk_maps
from srnet.interactive.data import resize_to_working
from srnet.interactive.model import ClickConfig, ClickNet, drop_unused_trunk
from srnet.interactive.pieces import (
    clicked_pieces,
    drop_clicked_piece,
    drop_far_additions,
    drop_strays,
    restore_far_removals,
)

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
KIND = "click-to-mask"
DEFAULT_CLICK_CHECKPOINT = Path(__file__).resolve().parents[2] / "assets" / "click_lite0.pt"


def build_click_net(cfg: ClickConfig | None = None) -> ClickNet:
    """The network as stored in checkpoints (Lite0 without its unused stride-32 stages)."""
    model = ClickNet(cfg)
    drop_unused_trunk(model)
    return model


def save_click_checkpoint(path: str | Path, model: ClickNet, meta: dict[str, Any] | None = None
                          ) -> Path:
    """Write config + fp16 weights atomically."""
    payload = {"format_version": FORMAT_VERSION, "kind": KIND, "click_config": model.cfg.to_dict(),
               "state_dict": storage_state(model), "meta": meta or {}}
    return save_atomic(payload, path)


def load_click_checkpoint(path: str | Path) -> tuple[ClickNet, dict[str, Any]]:
    """Model (eval mode, CPU, fp32) and meta; CheckpointError on any mismatch."""
    payload = load_payload(path, "click checkpoint")
    if not isinstance(payload, dict) or payload.get("kind") != KIND:
        raise CheckpointError(f"{path} is not a click-model checkpoint")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has format {payload.get('format_version')}, this code "
                              f"reads {FORMAT_VERSION}")
    try:  # missing, renamed or invalid fields, or a value of the wrong type (e.g. "64")
        cfg = ClickConfig.from_dict(payload["click_config"])
        model = build_click_net(cfg)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{path}: stored config does not match this code: {exc}") from exc
    state, meta = checked_weights(payload, path, "click-model")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # missing, unexpected or misshapen weights
        raise CheckpointError(f"{path}: weights do not fit the click model: {exc}") from exc
    return model.eval(), meta


class ClickPredictor:
    """`predict(image, clicks, prev_mask)` → bool mask; caches the stem of the last image.

    Zoom-in (RITM's ZoomIn, `zoom=True`): small objects are where a network at a 360-px working
    size fails (its masks overshoot them several times), so when the object (the previous mask,
    or the first answer, plus the clicks; only the mask components holding a positive click)
    fills less than `ZOOM_MAX_AREA` of the image, the clicks are answered again inside its box
    enlarged by `ZOOM_EXPAND` and resized to the working size; outside that box the answer is
    background. The first click then costs two passes; every later click one pass, on the crop.
    On 30 val objects (step-900 weights) zoom raised mIoU@1/5 from 0.41/0.48 to 0.52/0.76.

    The first answer (no previous mask) is the mean of the logits on the image and on its
    mirror image (`mirror_first`): one click says least about the object, and on the 219 val
    objects (the selection split; `scripts/click_val5.py [--no-mirror]`) the average
    raised mIoU@1 from 0.661 to 0.673 (@5 0.844 -> 0.846; session 13's weights); the first
    click on a 360x640 frame then takes 0.7 s instead of 0.4 s on one CPU thread
    (`scripts/time_clicks.py`).
    Later clicks, held to 0.3 s, run once.

    Every answer then loses its stray pieces (`drop_strays`): blobs that hold no positive click
    and are under `STRAY_MIN_SHARE` of the clicked pieces' area (one click gave ~10 pieces on
    DAVIS frames, most of them specks on similar texture).

    A correction follows the monotonic click rule (`monotonic`, `clicks.constrain`): with a
    previous mask, a positive last click only adds pixels to it and a negative one only removes
    them, as the app always did. On the 219 val objects, paired per object, it raised mIoU@3
    by 0.010 ± 0.002 and @5 by 0.006 ± 0.003 (`scripts/click_val5.py [--free]`). Then the
    piece rules of corrections (`srnet.interactive.pieces`): a positive click keeps only added
    pieces it holds or that touch the mask, a negative click on a detached piece drops it.
    """

    ZOOM_EXPAND = 1.4  # crop = object box × 1.4 (at least ZOOM_MIN_SIDE of the short side)
    ZOOM_MIN_SIDE = 0.2
    ZOOM_MAX_AREA = 0.5  # zoom only when the crop is below half of the image
    STRAY_MIN_SHARE = 0.2  # pieces without a positive click and smaller than this are dropped
    STRAY_FAR = 0.5  # ... and smaller pieces farther than this x sqrt(clicked area) (session 38)

    def __init__(self, model: ClickNet, device: str | None = None, zoom: bool = True) -> None:
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.eval().to(self.device)
        self.cfg = model.cfg
        self.zoom = zoom
        self.zoom_first = True  # with `zoom`, also zoom the first answer (no previous mask)
        self.mirror_first = True  # the first answer averages the image and its mirror image
        # remove small pieces holding no positive click from every answer: on the 219 val
        # objects (scripts/click_val5.py [--keep-strays]) mIoU@1/5 0.610/0.820 -> 0.616/0.834
        self.drop_strays = True
        # ... and pieces far from the clicked ones (`STRAY_FAR`); rule: scripts/click_val5.py
        self.drop_far_strays = True
        self.monotonic = True  # a positive click only adds to prev_mask, a negative one removes
        # a correction keeps only the added pieces that hold a positive click or touch
        # prev_mask (`drop_far_additions`); rule and result: scripts/click_val5.py
        self.near_additions = True
        # a remove-click on a detached piece of prev_mask drops the whole piece
        # (`drop_clicked_piece`); rule and result: scripts/click_val5.py
        self.whole_pieces = True
        # a remove-click takes back only the removed pieces that reach it
        # (`restore_far_removals`); rule and result: scripts/click_val5.py
        self.near_removals = True
        self.stem_computations = 0  # how often a whole image was encoded (tests check the cache)
        # (key, stem, working size) as ONE tuple, replaced whole: two threads clicking at once
        # can then never pair one image's key with another image's stem
        self._cached: tuple[bytes, torch.Tensor, tuple[int, int]] | None = None

    def _encode(self, image: np.ndarray) -> tuple[torch.Tensor, tuple[int, int]]:
        """Stem [S, 32, h/2, w/2] of the whole image at the working size (S = 2 with
        `mirror_first`: the image and its mirror), cached for the same pixels."""
        key = hashlib.blake2b(image.tobytes(), digest_size=16).digest() + bytes(
            f"{image.shape}{self.mirror_first}", "ascii")
        cached = self._cached
        if cached is None or cached[0] != key:
            cached = (key, *self._stem_of(image, self.mirror_first))
            self._cached = cached
            self.stem_computations += 1
        return cached[1], cached[2]

    def _stem_of(self, image: np.ndarray, mirror: bool = False
                 ) -> tuple[torch.Tensor, tuple[int, int]]:
        """Stem [1, 32, h/2, w/2] at the working size (h, w); [2, ...] with `mirror`."""
        height, width = resize_to_working(image, self.cfg.short_side, self.cfg.max_long_side)
        small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        x = torch.from_numpy(small).to(self.device).permute(2, 0, 1)[None]  # [1, 3, h, w]
        if mirror:
            x = torch.cat([x, x.flip(-1)])  # [2, 3, h, w]: the image, then its mirror image
        with torch.inference_mode():
            return self.model.encode_stem(x.float() / 255.0), (height, width)  # [S, 32, h/2, w/2]

    def _logits(self, stem: torch.Tensor, work: tuple[int, int], size: tuple[int, int],
                clicks: list[Click], prev: np.ndarray | None) -> np.ndarray:
        """Logits [H, W] of a region of `size` (H, W) whose stem at working size `work` is given;
        clicks and prev in the region's pixels. A stem of two (the region, then its mirror
        image) gives the mean of both answers, the second mirrored back."""
        (h, w), (height, width) = work, size
        scaled = [((x + 0.5) * w / width - 0.5, (y + 0.5) * h / height - 0.5, p)
                  for x, y, p in clicks]
        maps = np.zeros((3, h, w), np.float32)  # pos, neg, prev
        maps[:2] = disk_maps(scaled, (h, w), self.cfg.disk_radius)
        if prev is not None:
            # as the weights were trained: INTER_NEAREST moves it ~0.5 px down and right, as
            # it did the training masks until session 44 (centring it for those weights read
            # @5 0.8732 vs 0.8759 on the 219 val objects)
            resize = cv2.INTER_NEAREST_EXACT if self.cfg.centred_masks else cv2.INTER_NEAREST
            maps[2] = cv2.resize(prev.astype(np.uint8), (w, h),
                                 interpolation=resize)  # [h, w]
        batch = torch.from_numpy(maps)[None]  # [1, 3, h, w]
        if stem.shape[0] == 2:  # a mirrored disk is the disk of the mirrored click
            batch = torch.cat([batch, batch.flip(-1)])  # [2, 3, h, w]
        with torch.inference_mode():
            logits = self.model.forward_from_stem(
                stem, batch.to(self.device), (h, w))  # [S, 1, h, w]
            if stem.shape[0] == 2:
                logits = (logits[:1] + logits[1:].flip(-1)) / 2  # [1, 1, h, w]
        logits = logits[0, 0].float().cpu().numpy()  # [h, w]
        if (h, w) != (height, width):
            logits = cv2.resize(logits, (width, height),
                                interpolation=cv2.INTER_LINEAR)  # [height, width]
        return logits

    def _zoom_box(self, mask: np.ndarray, clicks: list[Click]) -> tuple[int, int, int, int] | None:
        """(top, left, bottom, right) around the object and the clicks, or None (no zoom)."""
        height, width = mask.shape
        count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        held = clicked_pieces(labels, clicks)
        if held:  # stray blobs far from the positive clicks would only widen the box
            mask = np.isin(labels, sorted(held))
        ys, xs = np.nonzero(mask)
        ys = np.concatenate([ys, [int(c[1]) for c in clicks]])
        xs = np.concatenate([xs, [int(c[0]) for c in clicks]])
        min_side = self.ZOOM_MIN_SIDE * min(height, width)
        cy, cx = (ys.min() + ys.max() + 1) / 2, (xs.min() + xs.max() + 1) / 2
        half_h = max((ys.max() + 1 - ys.min()) * self.ZOOM_EXPAND, min_side) / 2
        half_w = max((xs.max() + 1 - xs.min()) * self.ZOOM_EXPAND, min_side) / 2
        box = (max(0, int(cy - half_h)), max(0, int(cx - half_w)),
               min(height, int(np.ceil(cy + half_h))), min(width, int(np.ceil(cx + half_w))))
        area = (box[2] - box[0]) * (box[3] - box[1])
        return box if area < self.ZOOM_MAX_AREA * height * width else None

    def _zoomed(self, image: np.ndarray, clicks: list[Click], prev: np.ndarray | None,
                box: tuple[int, int, int, int]) -> np.ndarray:
        top, left, bottom, right = box
        crop = np.ascontiguousarray(image[top:bottom, left:right])
        stem, work = self._stem_of(crop, self.mirror_first and prev is None)
        local = [(x - left, y - top, p) for x, y, p in clicks]
        region = None if prev is None else prev[top:bottom, left:right]
        # outside the box the previous mask stands: a click never changes what it cannot see
        # (another piece of an occluded object, say)
        mask = np.zeros(image.shape[:2], bool) if prev is None else prev > 0
        mask[top:bottom, left:right] = self._logits(stem, work, crop.shape[:2], local, region) > 0
        return mask

    def predict(self, image: np.ndarray, clicks: Sequence[Click],
                prev_mask: np.ndarray | None = None) -> np.ndarray:
        """Mask of the clicked object.

        Args:
            image: uint8 [H, W, 3] RGB.
            clicks: (x, y, is_positive) in image pixels, in click order; at least one.
            prev_mask: optional [H, W] mask (bool or > 0) the clicks correct; with
                `monotonic`, a positive last click only adds to it, a negative one removes.
        Returns:
            bool [H, W].
        Raises:
            ValueError: empty click list, a click outside the image, only negative clicks
                without a `prev_mask`, or a malformed input.
        """
        clicks = list(clicks)  # any iterable: the rules below read it again
        mask = self._predict(image, clicks, prev_mask)
        clicks = check_clicks(clicks, mask.shape)  # as floats: ("10.5", "20", True) failed
        prev = None if prev_mask is None else np.asarray(prev_mask) > 0
        if self.drop_strays:
            mask = drop_strays(mask, list(clicks), self.STRAY_MIN_SHARE, prev,
                               self.STRAY_FAR if self.drop_far_strays else None)
        if self.monotonic:
            mask = constrain(prev, mask, bool(clicks[-1][2]))
        if prev is not None and prev.any():  # a correction: the piece rules
            if self.near_additions and clicks[-1][2]:
                mask = drop_far_additions(mask, prev, list(clicks))
            if self.whole_pieces and not clicks[-1][2]:
                mask = drop_clicked_piece(mask, prev, list(clicks))
            if self.near_removals and not clicks[-1][2]:
                mask = restore_far_removals(mask, prev, list(clicks))
        return mask

    def clear_cache(self) -> None:
        """Forget the cached stem (the next click encodes its image again)."""
        self._cached = None

    def _predict(self, image: np.ndarray, clicks: Sequence[Click],
                 prev_mask: np.ndarray | None = None) -> np.ndarray:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be uint8 [H, W, 3], got {image.dtype} {image.shape}")
        clicks = check_clicks(clicks, image.shape)
        if prev_mask is not None and np.asarray(prev_mask).shape != image.shape[:2]:
            raise ValueError(f"prev_mask is {np.asarray(prev_mask).shape}, the image is "
                             f"{image.shape[:2]}")
        prev = None if prev_mask is None or not np.asarray(prev_mask).any() else \
            np.asarray(prev_mask) > 0
        if prev is None and not any(positive for _, _, positive in clicks):
            # with nothing to remove from, the network answered "some object" (others')
            raise ValueError("remove-clicks need a prev_mask to correct: give a positive "
                             "click first")
        if self.zoom and prev is not None:
            box = self._zoom_box(prev, clicks)
            if box is not None:
                return self._zoomed(image, clicks, prev, box)
        stem, work = self._encode(np.ascontiguousarray(image))  # [S, 32, h/2, w/2]
        if prev is not None:
            stem = stem[:1]  # later clicks answer once: they are held to 0.3 s
        mask = self._logits(stem, work, image.shape[:2], clicks, prev) > 0
        if self.zoom and self.zoom_first and prev is None and mask.any():
            box = self._zoom_box(mask, clicks)
            if box is not None:  # first answer: small object, answer again zoomed in
                return self._zoomed(image, clicks, None, box)
        return mask


def load_click_model(path: str | Path | None = None, device: str | None = None,
                     zoom: bool = True) -> ClickPredictor:
    """ClickPredictor from a click checkpoint (default: the one in `assets/`)."""
    path = DEFAULT_CLICK_CHECKPOINT if path is None else path  # "" is a missing file, as in
    model, meta = load_click_checkpoint(path)  # `load_predictor`, not the default
    log.info("loaded click model %s (%s)", path,
             meta.get("summary", model.cfg.name))
    return ClickPredictor(model, device, zoom)
