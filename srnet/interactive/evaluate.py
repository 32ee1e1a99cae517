"""The NoC protocol: simulated clicks (`clicks.next_click`) on each object, the previous answer
fed back as `prev_mask`, IoU after every click; and the reading of an images/masks folder pair.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from srnet.interactive.clicks import Click, iou, next_click, next_click_ritm, summarize
from srnet.interactive.data import ClickObject
from srnet.palette import colour_index_mask

log = logging.getLogger(__name__)
PredictFn = Callable[[np.ndarray, list[Click], np.ndarray | None], np.ndarray]
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


STOP_IOU, STOP_AFTER = 0.90, 5  # past both, more clicks change none of the reported numbers


PROTOCOLS = ("largest", "ritm")  # which error the next click goes to: see `simulated_click`


def simulated_click(protocol: str, pred: np.ndarray, obj: ClickObject,
                    clicks: list[Click]) -> Click | None:
    """The next NoC click: "largest" = the deepest point of the largest error region
    (`next_click`, issue #8's wording), "ritm" = RITM's simulator (`next_click_ritm`)."""
    if protocol == "ritm":
        return next_click_ritm(pred, obj.gt, obj.ignore, clicks)
    if protocol != "largest":
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    return next_click(pred, obj.gt, obj.ignore)


def click_curve(predict: PredictFn, obj: ClickObject, max_clicks: int,
                protocol: str = "largest") -> tuple[list[float], list[float]]:
    """IoU after each of up to `max_clicks` simulated clicks, and the seconds of each click.
    Stops early when the prediction has no error left, or once IoU ≥ 0.90 after ≥ 5 clicks:
    NoC@85/90 and mIoU@1/3/5 are then fixed (the curve is padded with its last value)."""
    pred = np.zeros_like(obj.gt)
    clicks: list[Click] = []
    ious: list[float] = []
    seconds: list[float] = []
    for _ in range(max_clicks):
        click = simulated_click(protocol, pred, obj, clicks)
        if click is None:
            break
        clicks.append(click)
        start = time.perf_counter()
        pred = predict(obj.image, list(clicks), pred if pred.any() else None)
        seconds.append(time.perf_counter() - start)
        ious.append(iou(pred, obj.gt, obj.ignore))
        if len(ious) >= STOP_AFTER and ious[-1] >= STOP_IOU:
            break
    return (ious or [1.0]), seconds


def evaluate_objects(predict: PredictFn, objects: Sequence[ClickObject], max_clicks: int,
                     progress: bool = False, curves_file: Path | None = None,
                     protocol: str = "largest") -> dict[str, float]:
    """mIoU@1/3/5, NoC@85/90 and seconds per click over `objects`; `curves_file` receives one
    JSON line per object (name, IoU after each click, seconds per click)."""
    curves, seconds = [], []
    records = []
    iterator = objects
    if progress:
        from tqdm import tqdm

        iterator = tqdm(objects, desc="objects", mininterval=5)
    for obj in iterator:
        curve, secs = click_curve(predict, obj, max_clicks, protocol)
        curves.append(curve)
        seconds += secs
        records.append({"name": obj.name, "ious": curve, "seconds": secs})
    if curves_file is not None:
        Path(curves_file).write_text("".join(json.dumps(r) + "\n" for r in records))
    out = summarize(curves, max_clicks)
    out["sec_per_click"] = float(np.mean(seconds)) if seconds else 0.0
    out["objects"] = len(objects)
    return out


def curve_scores(curves_text: str, clicks: int) -> dict[str, float]:
    """Object name → IoU after `clicks` clicks, from a curves file (`evaluate_objects`'s
    `curves_file`); a curve that stopped early keeps its last value, as `summarize` pads it.
    A name seen again (objects of one image can share it) gets `~2`, `~3`, ... in file order."""
    scores: dict[str, float] = {}
    seen: dict[str, int] = {}
    for line in filter(str.strip, curves_text.splitlines()):
        record = json.loads(line)
        name, ious = record["name"], record["ious"]
        seen[name] = seen.get(name, 0) + 1
        key = name if seen[name] == 1 else f"{name}~{seen[name]}"
        scores[key] = ious[min(clicks, len(ious)) - 1]
    return scores


MAX_ID_INDEX = 20  # a grey palette using an index above this is a grey mask, not object ids


def read_eval_mask(path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(gt, ignore) per object: a palette PNG gives one object per id (255 = ignore); a
    grayscale PNG gives one object, > 128 foreground and exactly 128 ignored (0/1 masks:
    1 is the object); a colour PNG is read as `segment` reads it (DAVIS colours by id, else
    bright = one object). Colour and 0/1 masks had read as empty and were dropped silently."""
    img = Image.open(path)
    raw = np.asarray(img)
    if img.mode == "P" and not _grey_palette(img, raw):
        ignore = raw == 255
        return [(raw == i, ignore) for i in np.unique(raw) if i not in (0, 255)]
    if img.mode.startswith("I"):  # 16-bit grey: 0/32896/65535 is 0/128/255
        grey = np.round(raw.astype(np.float64) / (257 if raw.max() > 255 else 1))
        rgb = np.repeat(grey.clip(0, 255).astype(np.uint8)[..., None], 3, axis=2)
    else:
        rgb = np.asarray(img.convert("RGB"))  # [H, W, 3]
    if (rgb != rgb[..., :1]).any():  # not grey: colour labels
        ids = colour_index_mask(rgb, str(path))  # [H, W]
        return [(ids == i, ids == 255) for i in np.unique(ids) if i not in (0, 255)]
    grey = rgb[..., 0]  # [H, W]
    if grey.max() == 1:
        return [(grey == 1, np.zeros(grey.shape, bool))]
    return [(grey > 128, grey == 128)] if (grey > 128).any() else []


def _grey_palette(img: Image.Image, raw: np.ndarray) -> bool:
    """A palette PNG that is a grey mask stored as indices (PNG optimisers and quantisers write
    them): every used index shows a grey, and some shows one over the object ids' range. Read
    as ids, its 128 band became the object and the object the ignored pixels; a compact palette
    (0, 128, 255 at indices 0-2) or one with white at index 0 (PIL's adaptive one) also made
    the background an object (session 42's review)."""
    palette = img.getpalette() or []
    colours = [palette[3 * i:3 * i + 3] for i in np.unique(raw).tolist()]
    return (all(len(c) == 3 and c[0] == c[1] == c[2] for c in colours)
            and max(c[0] for c in colours) > MAX_ID_INDEX)


def _read_image(path: Path) -> np.ndarray:
    try:
        return np.asarray(Image.open(path).convert("RGB"))  # [H, W, 3]
    except OSError as exc:  # a truncated file, or not an image (UnidentifiedImageError)
        raise ValueError(f"cannot read {path}: {exc}") from None


def folder_objects(images: Path, masks: Path, limit: int | None = None) -> list[ClickObject]:
    """Objects of an images/ + masks/ folder pair (masks named `<image stem>.png`)."""
    if not images.is_dir() or not masks.is_dir():
        raise FileNotFoundError(f"no folder {images if not images.is_dir() else masks}")
    objects = []
    for path in sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        mask_path = masks / f"{path.stem}.png"
        if not mask_path.exists():
            log.warning("no mask for %s: skipped", path.name)
            continue
        image = _read_image(path)
        try:
            read = read_eval_mask(mask_path)
        except OSError as exc:
            raise ValueError(f"cannot read {mask_path}: {exc}") from None
        if not read:
            log.warning("%s marks no object: %s skipped", mask_path.name, path.name)
        for k, (gt, ignore) in enumerate(read):
            if gt.shape != image.shape[:2]:
                raise ValueError(f"{mask_path} is {gt.shape}, its image {image.shape[:2]}")
            objects.append(ClickObject(image, gt, ignore, f"{path.stem}#{k}"))
        if limit is not None and len(objects) >= limit:
            break
    if not objects:
        raise ValueError(f"no image with a non-empty mask in {images} / {masks}")
    return objects[:limit]
