"""Training clips drawn directly in trunk-feature space from the feature cache (lite config).

Per clip: a sequence and a cached scale, T frames under the max-skip curriculum with time reversal,
a crop aligned to whole f16 cells (f8/f4/mask crops are the same window at 2×/4×/16× the cells),
then optional feature-space augmentations. Each one approximates an image-space augmentation:

- [D] horizontal flip flips the feature maps; a flipped map is not exactly the feature of a flipped
  image (convolutions are not mirror-symmetric), but close for ImageNet trunks.
- [D] multi-object pasting blends another sequence's object in *feature* space at every level
  through its area-downsampled mask (feature = (1 − m)·f + m·f_donor), instead of pasting pixels and
  re-running the trunk; receptive fields across the object border are thereby not recomputed.
- [D] per-frame random affine warps resample features and masks with `F.grid_sample` (border
  padding); a warped feature map is not the feature of a warped image.
- [D] features at crop borders saw context outside the crop (they were computed on the whole frame),
  unlike a trunk run on the cropped image; this is closer to test time, where frames are whole.

The sampler owns a numpy Generator; `state_dict()` lets a resumed run draw the same clips.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from srnet.data.clips import choose_frame_indices
from srnet.data.dataset import CurriculumSchedule
from srnet.train.batch import TrainBatch, pad_objects
from srnet.train.feature_cache import CachedSequence
from srnet.train.losses import masks_to_index

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureAugment:
    """Probabilities and ranges of the feature-space augmentations."""

    flip_prob: float = 0.5
    reverse_prob: float = 0.5  # time reversal of the clip (spec §7)
    paste_prob: float = 0.5  # add another sequence's object when the clip has < max_objects
    paste_drift: float = 0.08  # pasted object's per-frame shift, fraction of the crop
    affine_prob: float = 0.5  # per-frame warp of features + masks
    max_rotate_deg: float = 10.0
    max_scale: float = 0.1  # scale in [1 − s, 1 + s]
    max_translate: float = 0.05  # fraction of the crop
    min_object_frac: float = 0.005  # crops must show this much of an object in frame 0


@dataclass
class _Clip:
    feats: list[Tensor]  # f16, f8, f4: [T, C, s·h, s·w]
    masks: Tensor  # [T, K, H, W] float per-object masks


def affine_theta(rotate_deg: float, scale: float, tx: float, ty: float) -> Tensor:
    """2x3 matrix for `F.affine_grid` (normalised coordinates) of a rotation+scale+shift."""
    rad = math.radians(rotate_deg)
    cos, sin = math.cos(rad) / scale, math.sin(rad) / scale
    return torch.tensor([[cos, -sin, tx], [sin, cos, ty]], dtype=torch.float32)  # [2, 3]


def warp(x: Tensor, theta: Tensor) -> Tensor:
    """Resample with an affine map; identical normalised geometry at every resolution, so the
    f16/f8/f4/mask levels stay aligned. Shapes: x [N, C, H, W], theta [N, 2, 3] → [N, C, H, W]."""
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # [N, H, W, 2]
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class CachedClipSampler:
    """Draws `TrainBatch`es (trunk_feats, masks, target, valid; frames=None) from cache files."""

    def __init__(self, files: dict[str, list[Path]], crop: int, num_frames: int = 3,
                 max_objects: int = 2, augment: FeatureAugment | None = None, seed: int = 0,
                 schedule: CurriculumSchedule | None = None) -> None:
        """Args:
            files: sequence key → its cache files (one per scale).
            crop: square crop side in pixels, a multiple of 16 (clamped to the smallest frame).
        """
        if crop % 16:
            raise ValueError("crop must be a multiple of 16")
        if not files:
            raise ValueError("no cached sequences")
        self.keys = sorted(files)
        self.seqs = {k: [CachedSequence(p) for p in files[k]] for k in self.keys}
        self.crop, self.num_frames, self.max_objects = crop, num_frames, max_objects
        self.augment = augment or FeatureAugment()
        self.schedule = schedule or CurriculumSchedule()
        self.rng = np.random.default_rng(seed)

    # ----------------------------------------------------------------------------- state
    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]

    # ----------------------------------------------------------------------------- sampling
    def sample_batch(self, batch_size: int, progress: float) -> TrainBatch:
        """`batch_size` clips; `progress` (fraction of training done) sets the max skip."""
        max_skip = self.schedule.max_skip_at(progress)
        clips = [self.sample_clip(max_skip) for _ in range(batch_size)]
        feats = tuple(torch.stack([c[0][i] for c in clips]) for i in range(3))  # [B, T, C, h, w]
        masks = torch.stack([c[1] for c in clips])  # [B, T, K, H, W]
        valid = torch.stack([c[2] for c in clips])  # [B, K]
        return TrainBatch(None, feats, masks, masks_to_index(masks), valid)

    def sample_clip(self, max_skip: int) -> tuple[list[Tensor], Tensor, Tensor]:
        """One clip: ([f16, f8, f4] each [T, C, s·h, s·w], masks [T, K, H, W], valid [K])."""
        aug, rng = self.augment, self.rng
        clip, key, seq = self._draw(max_skip)
        if clip.masks.shape[1] < self.max_objects and rng.random() < aug.paste_prob:
            self._paste(clip, key, seq)
        if rng.random() < aug.flip_prob:
            clip.feats = [f.flip(-1) for f in clip.feats]
            clip.masks = clip.masks.flip(-1)
        if rng.random() < aug.affine_prob:
            self._affine(clip)
        # hard, mutually exclusive masks after the (soft) warps; the index map decides overlaps
        num_obj = clip.masks.shape[1]
        if num_obj:
            index = masks_to_index(clip.masks)  # [T, H, W]
            clip.masks = torch.stack([index == k + 1 for k in range(num_obj)], dim=1).float()
        masks, valid = pad_objects(clip.masks, self.max_objects)  # [T, K_max, H, W], [K_max]
        return clip.feats, masks, valid

    def _draw(self, max_skip: int, tries: int = 5) -> tuple[_Clip, str, CachedSequence]:
        """Sequence, frames (max-skip gaps, maybe reversed) and a crop showing an object in frame
        0; a few redraws when none does (the last draw is kept regardless)."""
        rng = self.rng
        for _ in range(tries):
            key = self.keys[int(rng.integers(len(self.keys)))]
            seq = self.seqs[key][int(rng.integers(len(self.seqs[key])))]
            skip = max(1, max_skip // seq.frame_step)
            frames = choose_frame_indices(list(range(len(seq))), rng, self.num_frames, skip)
            if rng.random() < self.augment.reverse_prob:
                frames = frames[::-1]
            clip, ids = self._crop_with_objects(seq, frames)
            if ids:
                break
        return clip, key, seq

    @functools.cached_property
    def cells(self) -> tuple[int, int]:
        """Crop size in f16 cells: `crop`, shrunk to the smallest cached frame so every clip of a
        batch has the same size."""
        sides = [min(seq.size) for seqs in self.seqs.values() for seq in seqs]
        side = min(self.crop, min(sides) // 16 * 16) // 16
        if side * 16 < self.crop:
            log.warning("crop %d shrunk to %d: a cached frame is smaller", self.crop, side * 16)
        return side, side

    def _crop_with_objects(self, seq: CachedSequence, frames: list[int], tries: int = 10
                           ) -> tuple[_Clip, list[int]]:
        """Random aligned crop in which frame 0 shows an object (best of `tries`)."""
        cells = self.cells
        grid_h, grid_w = seq.size[0] // 16, seq.size[1] // 16
        best, best_area = None, -1.0
        for _ in range(tries):
            top = int(self.rng.integers(0, grid_h - cells[0] + 1))
            left = int(self.rng.integers(0, grid_w - cells[1] + 1))
            first = seq.data["masks"][frames[0]][16 * top:16 * (top + cells[0]),
                                                 16 * left:16 * (left + cells[1])]  # [H, W]
            area = float((first > 0).float().mean())
            if area > best_area:
                best, best_area = (top, left), area
            if area >= self.augment.min_object_frac:
                break
        feats, index = seq.crop(frames, best[0], best[1], cells)
        counts = torch.bincount(index[0].flatten().long(), minlength=1)  # [max id + 1]
        big = counts >= self.augment.min_object_frac * index[0].numel()
        present = [int(v) for v in (big if big[1:].any() else counts > 0).nonzero().flatten()
                   if v > 0]
        if len(present) > self.max_objects:
            present = sorted(self.rng.choice(present, self.max_objects, replace=False).tolist())
        masks = torch.stack([(index == i).float() for i in present], dim=1) if present else \
            torch.zeros(len(frames), 0, *index.shape[-2:])  # [T, K, H, W]
        return _Clip(list(feats), masks), present

    def _paste(self, clip: _Clip, key: str, seq: CachedSequence) -> None:
        """[D] Blend an object of another sequence (same cached scale when it exists) into every
        frame at all feature levels, drifting linearly over time; it occludes the clip's objects."""
        others = [k for k in self.keys if k != key]
        if not others:
            return
        donor_key = others[int(self.rng.integers(len(others)))]
        donors = self.seqs[donor_key]
        donor = next((d for d in donors if d.scale == seq.scale), donors[0])
        frame = int(self.rng.integers(len(donor)))
        donor_clip, ids = self._crop_with_objects(donor, [frame])
        if not ids:
            return
        obj = int(self.rng.integers(len(ids)))
        num_frames = clip.masks.shape[0]
        drift = self.rng.uniform(-1, 1, size=2) * self.augment.paste_drift * 2  # normalised
        thetas = torch.stack([affine_theta(0.0, 1.0, drift[0] * t, drift[1] * t)
                              for t in range(num_frames)])  # [T, 2, 3]
        mask = warp(donor_clip.masks[:, obj:obj + 1].expand(num_frames, -1, -1, -1),
                    thetas)  # [T, 1, H, W]
        for level, feat in enumerate(clip.feats):
            src = warp(donor_clip.feats[level].expand(num_frames, -1, -1, -1), thetas)
            alpha = F.adaptive_avg_pool2d(mask, feat.shape[-2:])  # [T, 1, s·h, s·w]
            clip.feats[level] = feat * (1 - alpha) + src * alpha  # [T, C, s·h, s·w]
        clip.masks = torch.cat([clip.masks * (1 - mask), mask], dim=1)  # [T, K+1, H, W]

    def _affine(self, clip: _Clip) -> None:
        """[D] Independent small affine warp of each frame's features and masks."""
        aug, rng = self.augment, self.rng
        thetas = torch.stack([affine_theta(
            rng.uniform(-aug.max_rotate_deg, aug.max_rotate_deg),
            1.0 + rng.uniform(-aug.max_scale, aug.max_scale),
            2 * rng.uniform(-aug.max_translate, aug.max_translate),
            2 * rng.uniform(-aug.max_translate, aug.max_translate))
            for _ in range(clip.masks.shape[0])])  # [T, 2, 3]
        clip.feats = [warp(f, thetas) for f in clip.feats]
        if clip.masks.shape[1]:
            clip.masks = warp(clip.masks, thetas)


def sampler_from_paths(paths: dict[tuple[str, int], Path], crop: int, num_frames: int,
                       max_objects: int, augment: FeatureAugment | None, seed: int,
                       schedule: CurriculumSchedule | None = None) -> CachedClipSampler:
    """Group `build_feature_cache`'s {(seq key, scale): path} by sequence."""
    files: dict[str, list[Path]] = {}
    for (key, _scale), path in sorted(paths.items()):
        files.setdefault(key, []).append(path)
    return CachedClipSampler(files, crop, num_frames, max_objects, augment, seed, schedule)

