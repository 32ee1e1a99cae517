"""DAVIS palette and index-mask PNG I/O, shared by the CLI, data readers, evaluation and the demo.

Index masks are ``[H, W]`` integer arrays whose values are object ids (0 = background).
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

MAX_MASK_PIXELS = 40_000_000  # 8K is 33 Mpx; a PNG of a few hundred kB can declare 400 Mpx
MASK_FORMATS = ("PNG", "BMP", "GIF", "TIFF", "JPEG", "WEBP")


def davis_palette(num_colors: int = 256) -> np.ndarray:
    """The DAVIS/PASCAL VOC colour map: bit-interleaved RGB per index.

    Returns:
        ``[num_colors, 3]`` uint8 array; index 0 is black, 1 red-ish (128, 0, 0), 2 green-ish...
    """
    palette = np.zeros((num_colors, 3), dtype=np.uint8)
    for idx in range(num_colors):
        value, red, green, blue = idx, 0, 0, 0
        for bit in range(8):
            red |= ((value >> 0) & 1) << (7 - bit)
            green |= ((value >> 1) & 1) << (7 - bit)
            blue |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        palette[idx] = (red, green, blue)
    return palette


def save_index_mask(path: str | Path, mask: np.ndarray) -> None:
    """Write an ``[H, W]`` index mask as a palette PNG (lossless, DAVIS colours)."""
    if mask.ndim != 2:
        raise ValueError(f"index mask must be [H, W], got shape {mask.shape}")
    if mask.max(initial=0) > 255 or mask.min(initial=0) < 0:
        raise ValueError("index mask values must lie in 0..255")
    image = Image.fromarray(mask.astype(np.uint8), mode="P")
    image.putpalette(davis_palette().reshape(-1).tolist())
    image.save(str(path), format="PNG")


def fit_index_mask(mask: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, str | None]:
    """Resize an index mask to `size` (H, W; nearest, so ids stay ids) when its aspect ratio
    matches within 2 % (a mask drawn on a smaller copy of the frames), with a note saying so;
    a ValueError with a user-facing message when the shapes differ."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"the mask must be a single-channel image, got shape {mask.shape}")
    (h, w), (H, W) = mask.shape, size
    if (h, w) == (H, W):
        return mask.astype(np.uint8), None
    if abs((h / w) / (H / W) - 1.0) > 0.02:
        raise ValueError(f"the mask is {w}x{h} but the clip is {W}x{H}: a different shape, "
                         "so it cannot belong to this clip")
    # NEAREST_EXACT samples each output pixel's centre; plain NEAREST takes the top-left
    # source pixel of its block, which moved objects ~1 px at 1080p, 2 px at 4K, and more
    # with every export-import round trip
    resized = cv2.resize(mask.astype(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST_EXACT)
    note = f"mask resized from {w}x{h} to {W}x{H}"
    lost = sorted(set(np.unique(mask).tolist()) - set(np.unique(resized).tolist()) - {0})
    if lost:  # else a mask left empty by it was only called empty
        note += f" (object {', '.join(map(str, lost))} too small to survive it)"
    return resized, note


def load_index_mask(path: str | Path, formats: tuple[str, ...] = MASK_FORMATS) -> np.ndarray:
    """Read a mask image as an ``[H, W]`` uint8 index mask (0 = background). `formats`:
    Pillow's names of the formats taken (the public demo leaves out TIFF and GIF).

    - Palette PNGs keep their indices (DAVIS-2017 / YouTube-VOS, several objects), unless
      index 0 is not black: tools that quantise a red-on-black mask often put the object's
      colour at index 0, so such a file is read by its colours.
    - Colour images: pixels of DAVIS palette colours (with at least one that is not gray) take
      those colours' indices; otherwise any pixel brighter than 127 in some channel is object 1
      (red (255, 0, 0) is as dark as 76 in gray). Where the alpha channel is not all opaque, the
      opaque pixels are object 1 (a cut-out).
    - Gray images (8 or 16 bit): a few distinct values up to `MAX_GRAY_IDS` are object ids
      (0/1/2 ...); a single foreground value is object 1 (0/255, 0/65535); anything else
      (JPEG noise, antialiased edges) is object 1 above half the maximum.
    """
    try:
        # the header only; raster formats only (Pillow would open any it knows, EPS through
        # Ghostscript, and the demo's /segment passes a stranger's file here)
        image = Image.open(str(path), formats=formats)
        if image.width * image.height > MAX_MASK_PIXELS:  # before decoding a PNG bomb
            raise ValueError(f"it is {image.width}x{image.height}, over the "
                             f"{MAX_MASK_PIXELS // 10**6} Mpx limit")
        image.load()
    except Image.DecompressionBombError as exc:  # raised by open(), before the check above
        raise ValueError(f"cannot read mask {path}: it is over the "
                         f"{MAX_MASK_PIXELS // 10**6} Mpx limit") from exc
    except UnidentifiedImageError as exc:  # (an OSError) another format, or not an image
        raise ValueError(f"cannot read mask {path}: not a {', '.join(formats)} image") from exc
    except (OSError, ValueError, SyntaxError, IndexError, EOFError, struct.error) as exc:
        # Pillow's errors on a damaged file ("broken PNG file" is a SyntaxError)
        raise ValueError(f"cannot read mask {path}: {exc}") from exc
    if image.mode == "P":
        palette = image.getpalette() or [0, 0, 0]
        if palette[:3] == [0, 0, 0]:
            return np.asarray(image, dtype=np.uint8).copy()
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA"):
        alpha = np.asarray(image.getchannel("A"))
        if alpha.min() < 255:
            return (alpha > 127).astype(np.uint8)
        image = image.convert("RGB")
    if image.mode in ("RGB", "CMYK", "YCbCr", "LAB", "HSV"):
        return colour_index_mask(np.asarray(image.convert("RGB")), str(path))
    return _gray_mask(np.asarray(image), str(path))


MAX_GRAY_IDS = 20  # gray values 1..20, a few of them: object ids, not intensities


def colour_index_mask(rgb: np.ndarray, source: str = "a colour mask") -> np.ndarray:
    """``[H, W, 3]`` uint8 → index mask: DAVIS colours by index, else bright = object 1.
    `source` names the file in the warning about a photo given as a mask."""
    codes = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) \
        | rgb[..., 2]  # [H, W] one int per colour
    palette = davis_palette().astype(np.int32)
    palette_codes = (palette[:, 0] << 16) | (palette[:, 1] << 8) | palette[:, 2]  # [256]
    used = np.unique(codes)
    index_of = {int(code): idx for idx, code in enumerate(palette_codes)}
    if all(int(code) in index_of for code in used):
        ids = np.array([index_of[int(code)] for code in used], np.uint8)  # [U], as `used`
        if any(len(set(palette[idx].tolist())) > 1 for idx in ids):  # a non-gray colour
            return ids[np.searchsorted(used, codes)]
    return _gray_mask(rgb.max(axis=2), source)


MANY_LEVELS = 64  # more distinct values than a mask's antialiased or JPEG edges give


def _gray_mask(gray: np.ndarray, source: str = "a mask") -> np.ndarray:
    """``[H, W]`` integer image → index mask (see `load_index_mask`)."""
    values = np.unique(gray)
    values = values[values > 0]
    if len(values) == 0:
        return np.zeros(gray.shape, np.uint8)
    ids = values[values != 255]  # 255 beside a few small ids is DAVIS's void, kept as 255
    if 0 < len(ids) <= MAX_GRAY_IDS and ids.max() <= MAX_GRAY_IDS:
        return gray.astype(np.uint8)
    if len(values) == 1:
        return (gray > 0).astype(np.uint8)
    if len(values) > MANY_LEVELS:  # a frame passed as the mask was taken without a word
        log.warning("%s has %d brightness levels, more like a photo than a mask: read as one "
                    "object where brighter than half its maximum", source, len(values))
    return (gray > values.max() / 2).astype(np.uint8)
