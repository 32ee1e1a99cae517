"""Pixels ↔ model tensors on the model side: resize to the internal size, pad to a multiple of 16,
and undo both; index masks ↔ per-object probability maps."""

from __future__ import annotations

import logging
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from srnet.config import MIN_SHORT_SIDE, InferenceConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameGeometry:
    """How one original frame maps to the padded internal tensor."""

    orig_size: tuple[int, int]  # (H, W) of the user's frame
    internal_size: tuple[int, int]  # (H', W') after resizing, before padding
    padded_size: tuple[int, int]  # (H'', W''), multiples of 16; padding is at the bottom/right

    @property
    def feature_size(self) -> tuple[int, int]:
        """Stride-16 cells that cover real pixels (the rest is padding)."""
        return (-(-self.internal_size[0] // 16), -(-self.internal_size[1] // 16))


MAX_ENLARGED_SIDE = 1024  # px: how long a small frame's long side may grow to reach that


def plan_geometry(orig_size: tuple[int, int], short_side: int | None,
                  upscale: float = 1.0) -> FrameGeometry:
    """Downscale so the short side is at most `short_side`, then multiply by `upscale` (a
    session's small-object factor, ≥ 1; see `small_object_upscale`), pad to 16. A frame whose
    short side ends up under `MIN_SHORT_SIDE` is enlarged to it (its long side to at most
    `MAX_ENLARGED_SIDE`): on 1-2 feature cells the objects of 17x33 or 32x57 frames were lost
    after the first frame, where the same frames enlarged 4x kept them (IoU about 0.8)."""
    height, width = orig_size
    scale = 1.0
    if short_side is not None and min(height, width) > short_side:
        scale = short_side / min(height, width)
    if min(height, width) * scale < MIN_SHORT_SIDE:  # before `upscale`, which measures after it
        scale = min(MIN_SHORT_SIDE / min(height, width),
                    max(scale, MAX_ENLARGED_SIDE / max(height, width)))
    scale *= upscale
    internal = (max(16, round(height * scale)), max(16, round(width * scale)))
    padded = (-(-internal[0] // 16) * 16, -(-internal[1] // 16) * 16)
    return FrameGeometry((height, width), internal, padded)


def small_object_upscale(mask: np.ndarray, short_side: int | None, min_cells: float,
                         max_upscale: float) -> float:
    """The factor (1 .. max_upscale) by which to enlarge the internal size so that the smallest
    object of `mask` ([H, W] ids at the original size) covers `min_cells` stride-16 cells.

    Why: keys, values and the memory read live at stride 16, so an object of one or two cells
    is one or two tokens in memory, which a neighbour's tokens outvote within a few frames."""
    counts = np.bincount(mask.ravel(), minlength=2)[1:]  # pixels per object id 1..max
    counts = counts[counts > 0]
    if counts.size == 0:
        return 1.0
    geom = plan_geometry(mask.shape, short_side)
    area_scale = (geom.internal_size[0] * geom.internal_size[1]) / (mask.shape[0] * mask.shape[1])
    cells = float(counts.min()) * area_scale / 256.0  # smallest object, in 16x16 cells
    if cells >= min_cells:
        return 1.0
    return float(min(max_upscale, np.sqrt(min_cells / cells)))


def image_to_tensor(image: np.ndarray, geom: FrameGeometry, device: torch.device) -> Tensor:
    """Shapes: image uint8 [H, W, 3] RGB → [1, 3, H'', W''] float in [0, 1], zero padded, in
    channels-last memory (the HWC image's own layout, so no transposing copy is made)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"frame must be uint8 [H, W, 3] RGB, got {image.dtype} {image.shape}")
    if geom.internal_size == geom.orig_size:  # pad the uint8 pixels: a quarter of the bytes
        pad_h, pad_w = geom.padded_size[0] - image.shape[0], geom.padded_size[1] - image.shape[1]
        image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)))  # [H'', W'', 3]
        tensor = torch.from_numpy(image).to(device)[None].permute(0, 3, 1, 2)  # [1, 3, H'', W'']
        return tensor.float().div_(255.0)  # .float() keeps the channels-last strides
    # a read-only frame (a decoder's buffer) is copied: torch warns on non-writable arrays
    tensor = torch.from_numpy(np.require(image, requirements=["C", "W"])).to(device)
    tensor = tensor.permute(2, 0, 1)[None].float() / 255.0  # [1, 3, H, W]
    tensor = F.interpolate(tensor, size=geom.internal_size, mode="bilinear",
                           align_corners=False, antialias=True)  # [1, 3, H', W']
    return pad_to_geometry(tensor, geom).contiguous(memory_format=torch.channels_last)


def pad_to_geometry(tensor: Tensor, geom: FrameGeometry) -> Tensor:
    """Zero-pad the bottom/right of a [..., H', W'] tensor to the padded size."""
    pad_h = geom.padded_size[0] - tensor.shape[-2]
    pad_w = geom.padded_size[1] - tensor.shape[-1]
    return F.pad(tensor, [0, pad_w, 0, pad_h])  # [..., H_pad, W_pad]


def masks_to_tensor(masks: Tensor, geom: FrameGeometry) -> Tensor:
    """Resize and pad per-object masks. Shapes: [1, K, H, W] → [1, K, H'', W'']."""
    if geom.internal_size != geom.orig_size:
        # antialias as for the image: without it a downscale samples the mask at sparse
        # points, and a thin or tiny object (a 1-px line at 1080p) could vanish from memory
        masks = F.interpolate(masks, size=geom.internal_size, mode="bilinear",
                              align_corners=False, antialias=True)  # [1, K, H', W']
    return pad_to_geometry(masks, geom)


def merge_user_mask(prob: Tensor | None, mask: np.ndarray | None, obj_ids: list[int],
                    geom: FrameGeometry, device: torch.device,
                    absent: Iterable[int] = ()) -> Tensor | None:
    """The frame's probabilities [1, K+1, H'', W''] with the user's mask merged in: objects in
    `mask` take the user's pixels exactly, objects in `absent` none; the others keep the
    prediction outside the user's pixels."""
    if mask is None:
        return prob
    user = masks_to_tensor(index_to_onehot(mask, obj_ids).to(device), geom)  # [1, K, H'', W'']
    fg = user if prob is None else prob[:, 1:].float()
    settled = set(np.unique(mask).tolist()) | set(absent)
    given = torch.as_tensor([o in settled for o in obj_ids], device=device)  # [K]
    painted = user.sum(dim=1, keepdim=True).clamp(0, 1)  # [1, 1, H'', W'']
    fg = torch.where(given[None, :, None, None], user, fg * (1 - painted))  # [1, K, H'', W'']
    background = (1 - fg.sum(dim=1, keepdim=True)).clamp(0, 1)  # [1, 1, H'', W'']
    return torch.cat([background, fg], dim=1)  # [1, K+1, H'', W'']


def flip_valid(prob: Tensor, geom: FrameGeometry) -> Tensor:
    """Mirror the real pixels of a padded [1, K+1, H'', W''] map left-right. The padding is at
    the bottom/right, so flipping the whole tensor would move the image off its origin."""
    height, width = geom.internal_size
    out = prob.clone()
    out[..., :height, :width] = prob[..., :height, :width].flip(-1)  # [1, K+1, H', W']
    return out


def restore_prob(prob: Tensor, geom: FrameGeometry) -> Tensor:
    """Crop the padding and resize back. Shapes: [1, K+1, H'', W''] → [K+1, H, W]."""
    prob = prob[:, :, : geom.internal_size[0], : geom.internal_size[1]]  # [1, K+1, H', W']
    if geom.internal_size != geom.orig_size:
        prob = F.interpolate(prob, size=geom.orig_size, mode="bilinear", align_corners=False)
    return prob[0]  # [K+1, H, W]


def index_to_onehot(index_mask: np.ndarray, obj_ids: list[int]) -> Tensor:
    """Shapes: index_mask [H, W] of object ids → float [1, K, H, W] in the order of `obj_ids`."""
    ids = torch.as_tensor(obj_ids, dtype=torch.int64)
    index = torch.from_numpy(index_mask.astype(np.int64))  # [H, W]
    return (index[None] == ids[:, None, None]).float()[None]  # [1, K, H, W]


def absent_ids(absent: Iterable[int], mask: np.ndarray | None) -> frozenset[int]:
    """The object ids a user marks absent on a frame, checked: ids 1..255, given with the
    frame's mask (which may then be all background)."""
    if isinstance(absent, (str, bytes)) or not isinstance(absent, Iterable):
        raise ValueError(f"absent must be a list of object ids, got {absent!r}")
    ids = list(absent)
    if not ids:
        return frozenset()
    if mask is None:
        raise ValueError("absent objects are marked with the frame's mask (all 0 is allowed)")
    if not all(isinstance(i, numbers.Integral) and not isinstance(i, bool) and 1 <= i <= 255
               for i in ids):
        raise ValueError(f"absent must hold object ids in 1..255, got {ids}")
    return frozenset(int(i) for i in ids)


def validate_frame(image: np.ndarray) -> tuple[int, int]:
    """A frame's (H, W), or a ValueError unless it is uint8 [H, W, 3] RGB."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"frame must be uint8 [H, W, 3] RGB, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or not image.size:
        raise ValueError(f"frame must be uint8 [H, W, 3] RGB, got {image.dtype} {image.shape}")
    return image.shape[:2]


def validate_annotation(mask: np.ndarray, size: tuple[int, int],
                        allow_empty: bool = False) -> np.ndarray:
    """A user's `[H, W]` index mask as uint8, or a ValueError that says what is wrong with it.
    A bool mask (the natural single-object input) is object 1; floats must be whole ids. An
    all-background mask only with `allow_empty` (objects marked absent)."""
    mask = np.asarray(mask)
    if mask.shape != size:
        raise ValueError(f"mask is {mask.shape} but the frame is {size}")
    if mask.dtype == bool:
        mask = mask.astype(np.uint8)
    elif np.issubdtype(mask.dtype, np.floating) and np.array_equal(mask, np.round(mask)):
        mask = mask.astype(np.int64)
    if not np.issubdtype(mask.dtype, np.integer) or mask.min() < 0 or mask.max() > 255:
        raise ValueError("mask must hold integer object ids in 0..255 (or be a bool mask)")
    if not mask.any() and not allow_empty:
        raise ValueError("the mask is empty: mark at least one object")
    if mask.max() == 255 and not mask[(mask != 0) & (mask != 255)].any():
        log.warning("the mask's only object id is 255 (a 0/255 image?): it is followed as "
                    "object 255; pass `mask > 0` for object 1")
    return mask.astype(np.uint8)


def channel_argmax(prob: Tensor) -> Tensor:
    """argmax over dim 0 of [C, H, W] by C−1 vectorised comparisons (torch's strided argmax over
    the leading dim is ~20x slower on the CPU). Ties go to the lower channel, as in argmax."""
    best, index = prob[0], torch.zeros(prob.shape[1:], dtype=torch.int64)
    for channel in range(1, prob.shape[0]):
        better = prob[channel] > best
        best = torch.where(better, prob[channel], best)
        index[better] = channel
    return index  # [H, W]


def needed_upscale(config: InferenceConfig, masks: Sequence[np.ndarray]) -> float:
    """The internal-size factor a session with `config` needs for the smallest object of all
    `masks` (index masks at the frame size); 1 when `min_object_cells` is off."""
    if not config.min_object_cells:
        return 1.0
    masks = [np.asarray(m) for m in masks]
    return max([1.0, *(small_object_upscale(validate_annotation(m, m.shape),  # bool, float
                                            config.short_side, config.min_object_cells,
                                            config.max_upscale) for m in masks if m.any())])
