"""The typed training batch both data paths produce (cached trunk features or raw frames).
Nothing here reads files or touches the model."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


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
    def num_clips(self) -> int:
        return int(self.masks.shape[0])

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

