"""The typed training batch both data paths produce (cached trunk features or raw frames).
Nothing here reads files or touches the model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from srnet.train.losses import masks_to_index

if TYPE_CHECKING:
    from srnet.data.clips import VideoClip


@dataclass
class TrainBatch:
    """One batch of training clips. B clips, T frames, K object slots (padded; see `valid`).

    frames: [B, T, 3, H, W] RGB in [0, 1], or None when the trunk features are cached
    trunk_feats: cached (f16, f8, f4), each [B, T, C, H/s, W/s], or None (the model runs its trunk)
    masks: [B, T, K, H, W] float {0, 1} per-object ground truth (padded slots all zero)
    target: [B, T, H, W] int64 index map, 0 = background, k+1 = object slot k
    valid: [B, K] bool, which object slots are real
    """

    frames: Tensor | None
    trunk_feats: tuple[Tensor, Tensor, Tensor] | None
    masks: Tensor
    target: Tensor
    valid: Tensor

    @property
    def num_frames(self) -> int:
        return int(self.masks.shape[1])

    def to(self, device: torch.device) -> TrainBatch:
        def move(x: Tensor | None) -> Tensor | None:
            return None if x is None else x.to(device, non_blocking=True)

        feats = None if self.trunk_feats is None else tuple(move(x) for x in self.trunk_feats)
        return TrainBatch(move(self.frames), feats, move(self.masks), move(self.target),
                          move(self.valid))


def pad_objects(masks: Tensor, max_objects: int) -> tuple[Tensor, Tensor]:
    """Pad (or cut) the object axis to `max_objects` slots.

    Shapes: masks [T, K, H, W] → ([T, max_objects, H, W], valid [max_objects] bool).
    """
    num_obj = min(masks.shape[1], max_objects)
    out = masks.new_zeros(masks.shape[0], max_objects, *masks.shape[2:])  # [T, K_max, H, W]
    out[:, :num_obj] = masks[:, :num_obj]
    valid = torch.zeros(max_objects, dtype=torch.bool)
    valid[:num_obj] = True
    return out, valid


def stack_clips(clips: Sequence[VideoClip]) -> TrainBatch:
    """Raw-frame clips as one batch. Clips with fewer object slots than the largest are padded
    (`pad_objects`; the padded slots are not valid), so clips of one and of two objects can
    share a batch.

    Shapes: each clip's frames [T, 3, H, W], masks [T, K_i, H, W] → frames [B, T, 3, H, W],
    masks [B, T, K, H, W], target [B, T, H, W], valid [B, K] with K = max K_i.
    """
    slots = max(clip.masks.shape[1] for clip in clips)
    frames = torch.from_numpy(np.stack([clip.frames for clip in clips]))  # [B, T, 3, H, W]
    masks = torch.stack([pad_objects(torch.from_numpy(clip.masks), slots)[0]
                         for clip in clips])  # [B, T, K, H, W]
    valid = torch.zeros(len(clips), slots, dtype=torch.bool)  # [B, K]
    for row, clip in enumerate(clips):
        valid[row, :len(clip.valid_objects)] = torch.from_numpy(clip.valid_objects)
    return TrainBatch(frames, None, masks, masks_to_index(masks), valid)
