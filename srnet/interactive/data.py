"""Training / validation objects for the click model: still images (static-masks train split)
plus DAVIS-2016 training frames (never the holdout sequences), preloaded into memory at the
working scale, and the random augmentation (scale, crop, flip, colour) of one training crop.

`object_view` is the second kind of training view: the object's box, enlarged, resized to the
crop, i.e. what the predictor's zoom-in shows the network (small objects magnified, large ones
whole), which random crops at the working scale rarely give.

An object is (image uint8 [H, W, 3], gt bool [H, W], ignore bool [H, W]). DAVIS-345 instance
masks give one object per id and their void label (255) becomes `ignore`; the other static
masks are 0/255 (> 127 = object). Evaluation PNGs with 128 = ignore are read by `evaluate.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from srnet.data.davis import DEFAULT_HOLDOUT
from srnet.data.static_masks import StaticSample

log = logging.getLogger(__name__)


@dataclass
class ClickObject:
    image: np.ndarray  # uint8 [H, W, 3] RGB
    gt: np.ndarray  # bool [H, W]
    ignore: np.ndarray  # bool [H, W]
    name: str


def resize_to_working(image: np.ndarray, short_side: int, max_long: int) -> tuple[int, int]:
    """(H', W') with the short side `short_side`, the long side capped at `max_long`."""
    height, width = image.shape[:2]
    scale = min(short_side / min(height, width), max_long / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _resized(image: np.ndarray, masks: list[np.ndarray], short_side: int | None
             ) -> tuple[np.ndarray, list[np.ndarray]]:
    if short_side is None:
        return image, masks
    height, width = resize_to_working(image, short_side, 10**6)
    image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    # NEAREST_EXACT samples pixel centres as INTER_AREA does; INTER_NEAREST's floor put every
    # mask 0.4-0.8 px below its image, and the shipped click model learned to answer low
    return image, [cv2.resize(m, (width, height), interpolation=cv2.INTER_NEAREST_EXACT)
                   for m in masks]


def objects_from_sample(sample: StaticSample, short_side: int | None = None) -> list[ClickObject]:
    """One object per mask id of a static sample (ids of DAVIS-345, or the 0/255 mask)."""
    image = np.asarray(Image.open(sample.image).convert("RGB"))
    raw = np.asarray(Image.open(sample.mask))
    if sample.multi_object:
        ids = [int(i) for i in np.unique(raw) if i not in (0, 255)]
        masks = [(raw == i).astype(np.uint8) for i in ids]
        void = (raw == 255).astype(np.uint8)
    else:
        raw = raw if raw.ndim == 2 else raw[..., 0]
        masks, void = [(raw > 127).astype(np.uint8)], np.zeros_like(raw, np.uint8)
    image, resized = _resized(image, masks + [void], short_side)
    name = f"{sample.source}/{sample.image_key}"
    return [ClickObject(image, m.astype(bool), resized[-1].astype(bool), f"{name}#{k}")
            for k, m in enumerate(resized[:-1]) if m.any()]


def davis_frames(davis_root: Path, every: int, short_side: int | None,
                 holdout: Sequence[str] = DEFAULT_HOLDOUT) -> list[ClickObject]:
    """Every `every`-th annotated frame of the DAVIS-2016 training sequences outside `holdout`."""
    objects = []
    for seq_dir in sorted((davis_root / "Annotations" / "480p").iterdir()):
        if seq_dir.name in holdout:
            continue
        for mask_path in sorted(seq_dir.glob("*.png"))[::every]:
            jpg = davis_root / "JPEGImages" / "480p" / seq_dir.name / f"{mask_path.stem}.jpg"
            raw = np.asarray(Image.open(mask_path).convert("L"))
            if not jpg.exists() or not (raw > 127).any():
                continue
            image, (mask,) = _resized(np.asarray(Image.open(jpg).convert("RGB")),
                                      [(raw > 127).astype(np.uint8)], short_side)
            objects.append(ClickObject(image, mask.astype(bool), np.zeros_like(mask, bool),
                                       f"davis2016/{seq_dir.name}/{mask_path.stem}"))
    return objects


def load_objects(samples: Sequence[StaticSample], short_side: int | None) -> list[ClickObject]:
    return [obj for s in samples for obj in objects_from_sample(s, short_side)]


def _jitter_colour(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast, saturation and a small per-channel gain."""
    img = image.astype(np.float32)
    grey = img.mean(axis=2, keepdims=True)  # [H, W, 1]
    img = grey + (img - grey) * rng.uniform(0.6, 1.4)
    img = (img - img.mean()) * rng.uniform(0.7, 1.3) + img.mean() + rng.uniform(-25, 25)
    img *= rng.uniform(0.9, 1.1, size=3)
    return np.clip(img, 0, 255).astype(np.uint8)


def augment(obj: ClickObject, crop: int, rng: np.random.Generator, min_pixels: int = 80
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A random crop×crop view of `obj` (scale 0.7-1.4 of the working size, flip, colour)
    holding ≥ `min_pixels` object pixels; None when the tries fail (tiny object)."""
    scale = rng.uniform(0.7, 1.4)
    height, width = (max(1, round(s * scale)) for s in obj.gt.shape)
    image = cv2.resize(obj.image, (width, height), interpolation=cv2.INTER_LINEAR)
    gt = cv2.resize(obj.gt.astype(np.uint8), (width, height),
                    interpolation=cv2.INTER_NEAREST_EXACT)  # centred as the image (`_resized`)
    ign = cv2.resize(obj.ignore.astype(np.uint8), (width, height),
                     interpolation=cv2.INTER_NEAREST_EXACT)
    pad_h, pad_w = max(0, crop - height), max(0, crop - width)
    if pad_h or pad_w:
        image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)))
        gt, ign = np.pad(gt, ((0, pad_h), (0, pad_w))), np.pad(ign, ((0, pad_h), (0, pad_w)))
    ys, xs = np.nonzero(gt)
    if len(ys) == 0:
        return None
    for _ in range(4):
        k = rng.integers(len(ys))  # crop around a random object pixel, jittered
        cy = int(np.clip(ys[k] + rng.integers(-crop // 4, crop // 4 + 1) - crop // 2, 0,
                         gt.shape[0] - crop))
        cx = int(np.clip(xs[k] + rng.integers(-crop // 4, crop // 4 + 1) - crop // 2, 0,
                         gt.shape[1] - crop))
        g = gt[cy:cy + crop, cx:cx + crop]
        if g.sum() >= min_pixels:
            break
    else:
        return None
    img, ig = image[cy:cy + crop, cx:cx + crop], ign[cy:cy + crop, cx:cx + crop]
    if rng.random() < 0.5:
        img, g, ig = img[:, ::-1], g[:, ::-1], ig[:, ::-1]
    return (_jitter_colour(np.ascontiguousarray(img), rng), np.ascontiguousarray(g).astype(bool),
            np.ascontiguousarray(ig).astype(bool))


def object_view(obj: ClickObject, crop: int, rng: np.random.Generator, min_side: float,
                expand: tuple[float, float] = (1.2, 2.0)
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A crop×crop view of the object's box enlarged by a random factor in `expand` (centre
    jittered, at least `min_side` of the image's short side: the predictor's zoom-in rule,
    `ClickPredictor.ZOOM_MIN_SIDE`),
    then flip and colour; None for an empty mask."""
    ys, xs = np.nonzero(obj.gt)
    if len(ys) == 0:
        return None
    height, width = obj.gt.shape
    box = max(ys.max() + 1 - ys.min(), xs.max() + 1 - xs.min())
    side = max(box * rng.uniform(*expand), min_side * min(height, width))
    side = min(side, max(height, width))  # a large object: the whole image, as it is shown
    jitter = rng.uniform(-0.15, 0.15, size=2) * side
    top = (ys.min() + ys.max() + 1) / 2 + jitter[0] - side / 2
    left = (xs.min() + xs.max() + 1) / 2 + jitter[1] - side / 2
    if side <= height:  # stay inside the image where it fits: padding is rare at inference
        top = float(np.clip(top, 0, height - side))
    if side <= width:
        left = float(np.clip(left, 0, width - side))
    scale = crop / side
    warp = np.float32([[scale, 0, -left * scale], [0, scale, -top * scale]])  # image → view
    img = cv2.warpAffine(obj.image, warp, (crop, crop), flags=cv2.INTER_LINEAR)
    gt, ign = (cv2.warpAffine(m.astype(np.uint8), warp, (crop, crop), flags=cv2.INTER_NEAREST)
               for m in (obj.gt, obj.ignore))
    # a large object's view holds the whole image with bars beside it: ignored, not trained
    # as background (61 % of object views had bars, a quarter of their pixels)
    beyond = cv2.warpAffine(np.ones_like(obj.gt, np.uint8), warp, (crop, crop),
                            flags=cv2.INTER_NEAREST) == 0  # [crop, crop]
    ign = (ign > 0) | beyond
    if not gt.any():
        return None
    if rng.random() < 0.5:
        img, gt, ign = img[:, ::-1], gt[:, ::-1], ign[:, ::-1]
    return (_jitter_colour(np.ascontiguousarray(img), rng), np.ascontiguousarray(gt).astype(bool),
            np.ascontiguousarray(ign).astype(bool))
