"""DAVIS palette and index-mask PNG I/O, shared by the CLI, data readers, evaluation and the demo.

Index masks are ``[H, W]`` integer arrays whose values are object ids (0 = background).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

MAX_MASK_PIXELS = 40_000_000  # 8K is 33 Mpx; a PNG of a few hundred kB can declare 400 Mpx


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


def load_index_mask(path: str | Path) -> np.ndarray:
    """Read a DAVIS-style mask PNG as an ``[H, W]`` uint8 index mask.

    Palette PNGs keep their indices (DAVIS-2017 / YouTube-VOS, several objects). Grayscale or RGB
    masks (DAVIS-2016, 0/255) become a single object: any pixel above 127 is object 1 (in a
    0/1 mask, every 1).
    """
    try:
        image = Image.open(str(path))  # reads the header only
        if image.width * image.height > MAX_MASK_PIXELS:  # before decoding a PNG bomb
            raise ValueError(f"it is {image.width}x{image.height}, over the "
                             f"{MAX_MASK_PIXELS // 10**6} Mpx limit")
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"cannot read mask {path}: {exc}") from exc
    if image.mode == "P":
        return np.asarray(image, dtype=np.uint8).copy()
    gray = np.asarray(image.convert("L"))
    # 0/1 masks (what many tools save) would be all background at the 0/255 threshold
    return (gray > (0 if gray.max() == 1 else 127)).astype(np.uint8)
