"""Image/mask augmentation primitives for training clips (OpenCV + numpy, no torch).

Geometric transforms are 3x3 homogeneous matrices mapping source pixels to output pixels, so a
crop, a flip and a per-frame affine compose into one ``cv2.warpAffine`` per frame (a single
interpolation). Images warp with INTER_LINEAR, index masks with INTER_NEAREST; both fill with 0
outside the source. Every sampler takes a ``numpy.random.Generator`` and nothing else random.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # (top, left, height, width) in source pixels


def random_crop_box(rng: np.random.Generator, in_hw: tuple[int, int],
                    scale: tuple[float, float] = (0.36, 1.0),
                    ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> Box:
    """A RandomResizedCrop-style box: area fraction in ``scale``, width/height in ``ratio``.

    Falls back to the largest centred box with a ratio inside ``ratio`` after 10 failed draws.
    """
    height, width = in_hw
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return top, left, h, w
    aspect = min(max(width / height, ratio[0]), ratio[1])
    w, h = (int(round(height * aspect)), height) if width / height > aspect else \
        (width, int(round(width / aspect)))
    return (height - h) // 2, (width - w) // 2, h, w


def crop_matrix(box: Box, out_hw: tuple[int, int], flip: bool = False) -> np.ndarray:
    """``[3, 3]`` matrix sending the source ``box`` onto the whole output, optionally mirrored."""
    top, left, h, w = box
    out_h, out_w = out_hw
    sx, sy = out_w / w, out_h / h
    matrix = np.array([[sx, 0.0, -left * sx], [0.0, sy, -top * sy], [0.0, 0.0, 1.0]])
    if flip:
        mirror = np.array([[-1.0, 0.0, out_w - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        matrix = mirror @ matrix
    return matrix


def scale_translate_matrix(scale: float, offset: tuple[float, float]) -> np.ndarray:
    """``[3, 3]`` matrix: scale the source by ``scale`` then shift by ``offset`` = (dx, dy)."""
    return np.array([[scale, 0.0, offset[0]], [0.0, scale, offset[1]], [0.0, 0.0, 1.0]])


def affine_matrix(center: tuple[float, float], angle: float = 0.0, scale: float = 1.0,
                  shear: tuple[float, float] = (0.0, 0.0),
                  translate: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """``[3, 3]`` rotation (degrees) / shear (degrees, x and y) / scale about ``center`` = (x, y),
    followed by a translation (dx, dy) in pixels."""
    cx, cy = center
    rad = math.radians(angle)
    rotate = np.array([[math.cos(rad), -math.sin(rad), 0.0],
                       [math.sin(rad), math.cos(rad), 0.0], [0.0, 0.0, 1.0]])
    skew = np.array([[1.0, math.tan(math.radians(shear[0])), 0.0],
                     [math.tan(math.radians(shear[1])), 1.0, 0.0], [0.0, 0.0, 1.0]])
    to_origin = np.array([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]])
    back = np.array([[1.0, 0.0, cx + translate[0]], [0.0, 1.0, cy + translate[1]],
                     [0.0, 0.0, 1.0]])
    return back @ rotate @ skew @ np.diag([scale, scale, 1.0]) @ to_origin


def random_affine(rng: np.random.Generator, out_hw: tuple[int, int], degrees: float = 15.0,
                  shear: float | tuple[float, float] = 10.0,
                  scale: tuple[float, float] = (1.0, 1.0),
                  translate: float = 0.0) -> np.ndarray:
    """A random :func:`affine_matrix` about the output centre; ``translate`` is a fraction of
    the output size. ``shear``: a number shears along x only, as torchvision's
    RandomAffine(shear=10) that the spec names; a pair (x, y) shears both axes (the training
    recipe until session 31, which static-val's frozen clips keep)."""
    shear_x, shear_y = (shear, 0.0) if np.isscalar(shear) else shear
    out_h, out_w = out_hw
    shift = (rng.uniform(-translate, translate) * out_w, rng.uniform(-translate, translate) * out_h)
    return affine_matrix(((out_w - 1) / 2, (out_h - 1) / 2), angle=rng.uniform(-degrees, degrees),
                         scale=rng.uniform(*scale),
                         shear=(rng.uniform(-shear_x, shear_x),
                                rng.uniform(-shear_y, shear_y) if shear_y else 0.0),
                         translate=shift)


def warp_image(image: np.ndarray, matrix: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """Warp an ``[H, W, C]`` image (any dtype cv2 takes) with a ``[3, 3]`` matrix, bilinear."""
    return cv2.warpAffine(image, matrix[:2], (out_hw[1], out_hw[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def warp_mask(mask: np.ndarray, matrix: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """Warp an ``[H, W]`` uint8 index mask with a ``[3, 3]`` matrix, nearest neighbour."""
    return cv2.warpAffine(mask, matrix[:2], (out_hw[1], out_hw[0]), flags=cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def smooth_displacement(rng: np.random.Generator, hw: tuple[int, int], grid: int = 4,
                        magnitude: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random warp (thin-plate-like): random offsets on a ``grid x grid`` lattice,
    bicubically upsampled. ``magnitude`` is the offsets' std as a fraction of the short side.

    Returns:
        ``(map_x, map_y)``, each ``[H, W]`` float32, ready for ``cv2.remap``.
    """
    height, width = hw
    sigma = magnitude * min(hw)
    coarse = rng.normal(0.0, sigma, (grid, grid, 2)).astype(np.float32)  # [g, g, 2]
    dense = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)  # [H, W, 2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)  # [H, W] each
    return xs + dense[..., 0], ys + dense[..., 1]


def remap_pair(image: np.ndarray, mask: np.ndarray,
               maps: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Apply a dense backward map to an image (bilinear) and its index mask (nearest)."""
    map_x, map_y = maps
    warped = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                       borderValue=0)
    warped_mask = cv2.remap(mask, map_x, map_y, cv2.INTER_NEAREST,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return warped, warped_mask


def _gray(image: np.ndarray) -> np.ndarray:
    """Luma of a ``[H, W, 3]`` float RGB image, ``[H, W, 1]``."""
    return (image @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]  # [H, W, 1]


def color_jitter(image: np.ndarray, rng: np.random.Generator, brightness: float = 0.1,
                 contrast: float = 0.03, saturation: float = 0.03) -> np.ndarray:
    """Random brightness / contrast / saturation factors in ``[1 - x, 1 + x]``, applied in a
    random order to an ``[H, W, 3]`` float32 RGB image in 0..1; the result is clipped to 0..1."""
    factors = {"b": rng.uniform(1 - brightness, 1 + brightness),
               "c": rng.uniform(1 - contrast, 1 + contrast),
               "s": rng.uniform(1 - saturation, 1 + saturation)}
    out = image
    for key in rng.permutation(["b", "c", "s"]):
        factor = np.float32(factors[str(key)])
        if key == "b":
            out = out * factor
        elif key == "c":
            mean = np.float32(_gray(out).mean())
            out = (out - mean) * factor + mean
        else:
            gray = _gray(out)
            out = (out - gray) * factor + gray
        out = np.clip(out, 0.0, 1.0)
    return out.astype(np.float32)


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """``[H, W, 3]`` float RGB -> the same shape with all channels set to the luma."""
    return np.repeat(_gray(image), 3, axis=2)  # [H, W, 3]


def photometric(frames: list[np.ndarray], rng: np.random.Generator,
                gray_p: float = 0.05) -> np.ndarray:
    """uint8 ``[H, W, 3]`` RGB frames -> float32 ``[T, 3, H, W]`` in 0..1 with colour jitter.

    A clip-level jitter (brightness 0.1, contrast/saturation 0.03) shared by all frames, then a
    light per-frame jitter (0.01 each), then grayscale for the whole clip with probability
    ``gray_p``.
    """
    shared_seed = int(rng.integers(1 << 31))
    make_gray = rng.random() < gray_p
    out = []
    for frame in frames:
        image = frame.astype(np.float32) / 255.0  # [H, W, 3]
        image = color_jitter(image, np.random.default_rng(shared_seed))
        image = color_jitter(image, rng, 0.01, 0.01, 0.01)
        if make_gray:
            image = to_grayscale(image)
        out.append(image.transpose(2, 0, 1))  # [3, H, W]
    return np.stack(out).astype(np.float32)  # [T, 3, H, W]
