"""Multi-object clips by pasting: put another sequence's object into a free mask slot.

The donor object moves along its own per-frame affine path (a drift plus a small rotation), is
alpha-composited over the clip, and occludes the clip's objects where they overlap (its region is
subtracted from their masks), so slots stay disjoint.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from srnet.data import augment
from srnet.data.clips import ClipInfo, VideoClip

log = logging.getLogger(__name__)
PASTE_TRIES = 5


def _donor_path(rng: np.random.Generator, hw: tuple[int, int], num_frames: int,
                drift: float = 1.0) -> list[np.ndarray]:
    """Per-frame ``[3, 3]`` matrices: a random start offset/scale/angle, then a constant
    velocity (up to 5% of the size per frame) and angular drift (up to 5 deg per frame), both
    scaled by `drift` (0 = the donor keeps only its own motion)."""
    height, width = hw
    start = np.array([rng.uniform(-0.3, 0.3) * width, rng.uniform(-0.3, 0.3) * height])
    velocity = drift * np.array([rng.uniform(-0.05, 0.05) * width,
                                 rng.uniform(-0.05, 0.05) * height])
    angle0, spin = rng.uniform(-15, 15), drift * rng.uniform(-5, 5)
    scale = rng.uniform(0.6, 1.0)
    center = ((width - 1) / 2, (height - 1) / 2)
    return [augment.affine_matrix(center, angle0 + t * spin, scale,
                                  translate=tuple(start + t * velocity))
            for t in range(num_frames)]


def _warp_donor(donor_frames: np.ndarray, donor_masks: np.ndarray,
                path: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Move the donor: ``[T, 3, H, W]`` frames and ``[T, H, W]`` masks along ``path``."""
    hw = donor_frames.shape[2:]
    frames, masks = [], []
    for frame, mask, matrix in zip(donor_frames, donor_masks, path):
        channels_last = np.ascontiguousarray(frame.transpose(1, 2, 0))  # [H, W, 3]
        image = augment.warp_image(channels_last, matrix, hw)  # [H, W, 3]
        frames.append(image.transpose(2, 0, 1))  # [3, H, W]
        masks.append(augment.warp_mask((mask > 0).astype(np.uint8), matrix, hw))  # [H, W]
    return np.stack(frames), np.stack(masks).astype(np.float32)  # [T, 3, H, W], [T, H, W]


def paste_object(clip: VideoClip, donor_frames: np.ndarray, donor_masks: np.ndarray,
                 rng: np.random.Generator, donor_name: str = "donor",
                 min_area: float = 0.01, min_kept: float = 0.5, drift: float = 1.0
                 ) -> VideoClip:
    """Paste the donor object into the first free slot of ``clip`` (object 2 of a 1-object clip).

    Args:
        clip: the clip to extend (not modified).
        donor_frames: float32 ``[T, 3, H, W]`` in 0..1, same T, H, W as the clip.
        donor_masks: ``[T, H, W]``, nonzero where the donor object is.
        rng: randomness for the donor's motion.
        donor_name: recorded in ``info.pasted_from``.
        min_area: the pasted object must cover this fraction of frame 0.
        min_kept: the clip's existing objects must keep this fraction of their frame-0 area.
        drift: scale of the added motion (1 for short training clips; 0 keeps a long clip's
            donor on screen, moving only as in its own video).

    Returns:
        A new clip, or ``clip`` itself when no slot is free or no donor placement satisfies the
        area constraints in a few tries.
    """
    free = np.flatnonzero(~clip.valid_objects)
    if donor_frames.shape[0] != clip.frames.shape[0] or donor_frames.shape[2:] != \
            clip.frames.shape[2:]:
        raise ValueError(f"donor {donor_frames.shape} does not match clip {clip.frames.shape}")
    if free.size == 0 or not np.any(donor_masks[0]):
        return clip
    slot = int(free[0])
    area_before = clip.masks[0].sum(axis=(1, 2))  # [K]
    for _ in range(PASTE_TRIES):
        path = _donor_path(rng, clip.frames.shape[2:], clip.frames.shape[0], drift)
        moved_frames, moved_masks = _warp_donor(donor_frames, donor_masks, path)
        alpha = moved_masks[:, None]  # [T, 1, H, W]
        kept = (clip.masks[0] * (1.0 - alpha[0])).sum(axis=(1, 2))  # [K]
        if moved_masks[0].mean() >= min_area and np.all(kept >= min_kept * area_before):
            break
    else:
        log.debug("paste from %s rejected: no placement fits", donor_name)
        return clip
    frames = clip.frames * (1.0 - alpha) + moved_frames * alpha  # [T, 3, H, W]
    masks = clip.masks * (1.0 - alpha)  # [T, K, H, W]
    masks[:, slot] = moved_masks  # [T, H, W]
    valid = clip.valid_objects.copy()
    valid[slot] = True
    info: ClipInfo = replace(clip.info, kind=clip.info.kind + "+paste", pasted_from=donor_name)
    return VideoClip(frames.astype(np.float32), masks.astype(np.float32), valid, info)
