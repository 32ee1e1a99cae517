"""What `Predictor.step` returns: typed, detached CPU numpy arrays, at the user's resolution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from srnet.inference.preprocess import (
    FrameGeometry,
    channel_argmax,
    index_to_onehot,
    restore_prob,
)


@dataclass(frozen=True)
class MemoryRead:
    """The global-memory read of one object group. Objects first marked on different frames
    are held by different memory frames, so each group reads its own memory (and its own
    affinity); most videos have one group."""

    obj_ids: tuple[int, ...]  # the objects of this group
    memory_frames: tuple[int, ...]  # frame index of each memory block T
    read_indices: np.ndarray  # int64 [h*w, k]: memory token t*h*w + y*w + x of each top-k read
    read_weights: np.ndarray  # float32 [h*w, k]: the matching softmax weights
    # per memory frame, uint8 [ceil(H'/4), ceil(W'/4)] object ids of the mask it encoded
    # (every 4th internal pixel, padding cropped; None where unknown)
    memory_masks: tuple[np.ndarray | None, ...] = ()

    def read_map(self, y: int, x: int, grid: tuple[int, int]) -> np.ndarray:
        """Where feature cell (y, x) reads from: weights [T, h, w] over every memory frame.

        `grid` is the padded feature grid (H''/16, W''/16) the indices refer to.
        """
        height, width = grid
        dense = np.zeros(len(self.memory_frames) * height * width, dtype=np.float32)
        row = y * width + x
        np.add.at(dense, self.read_indices[row], self.read_weights[row])
        return dense.reshape(len(self.memory_frames), height, width)  # [T, h, w]


@dataclass(frozen=True)
class StepVisuals:
    """SRNet internals for one frame (spec §10). Maps are on the stride-16 grid that covers the
    frame (h, w = ceil(H'/16), ceil(W'/16) of the internal size); one cell spans `cell_size`
    pixels of the original frame. K follows `StepOutput.obj_ids`; L = PTM layers."""

    cell_size: tuple[float, float]  # (dy, dx) original pixels per feature cell
    reads: tuple[MemoryRead, ...]  # one per object group (usually one), in group order
    local_frame: int | None  # the frame FAM aligned (t − s); None when FAM is off
    # float32 [h, w, 2]: Δp as (dx, dy) in original pixels, per cell; at r > 1 the offset grid
    # spread over the cells as FAM applies it (`visuals.fam_offsets_per_cell`)
    fam_flow: np.ndarray | None
    dcn_offset: np.ndarray | None  # float32 [K, 9, 2, h, w]: ΔP per tap, (dy, dx) feature px
    dcn_modulation: np.ndarray | None  # float32 [K, 9, h, w]: ΔM in [0, 1]
    aux_masks: np.ndarray | None  # float32 [L, K, h, w]: σ(M_l), per PTM layer
    proto_attention: np.ndarray | None  # float32 [L, K, h, w]: eq-8 attention (sums to 1)
    fg_assignment: np.ndarray | None  # float32 [L, K, h, w]: eq-9 weight on the prototype
    fam_grid_factor: int = 1  # r of FAMConfig: FAM predicts one offset per r x r cells

    @property
    def feature_size(self) -> tuple[int, int]:
        return self.aux_masks.shape[-2:] if self.aux_masks is not None else self._grid_size()

    def _grid_size(self) -> tuple[int, int]:
        if self.dcn_modulation is not None:  # FAM's maps are on the full grid, its flow not
            return self.dcn_modulation.shape[-2:]
        raise ValueError("no spatial visual to infer the grid size from")

    def read_of(self, obj_id: int | None = None) -> MemoryRead:
        """The memory read of the group that holds `obj_id` (the first group for None or an
        id no group holds)."""
        return next((r for r in self.reads if obj_id in r.obj_ids), self.reads[0])


@dataclass(frozen=True)
class StepOutput:
    """Result for one frame."""

    frame_idx: int
    obj_ids: tuple[int, ...]  # user ids; prob channel i+1 belongs to obj_ids[i]
    prob: np.ndarray  # float32 [K+1, H, W], channel 0 = background, sums to 1
    mask: np.ndarray  # uint8 [H, W] holding user obj ids (0 = background)
    confidence: float  # 1 − uncertain probability mass / (objects' area + 1), in [0, 1]
    from_user: bool  # True when this frame's mask came from the user's annotation
    visuals: StepVisuals | None = None
    padded_grid: tuple[int, int] | None = None  # (H''/16, W''/16), for `StepVisuals.read_map`
    # Frames in memory when this frame was read, by kind (permanent / working / local): the
    # state before this frame itself was memorised.
    memory_held: dict[str, list[int]] | None = None


def step_output(frame_idx: int, obj_ids: tuple[int, ...], prob: torch.Tensor | None,
                mask: np.ndarray | None, geom: FrameGeometry, *, visuals: StepVisuals | None,
                memory_held: dict[str, list[int]] | None, from_user: bool) -> StepOutput:
    """A frame's StepOutput at the user's resolution: from `mask` (user ids [H, W]) exactly
    when the user's annotation settles every object, else from `prob` [1, K+1, H'', W'']."""
    if mask is not None:
        full = index_to_onehot(mask, [0, *obj_ids])[0]  # exact user mask, [K+1, H, W]
    else:
        full = restore_prob(prob.float(), geom).cpu()  # [K+1, H, W]
    lookup = np.array([0, *obj_ids], dtype=np.uint8)
    index_mask = lookup[channel_argmax(full).numpy()]  # [H, W]
    # Uncertain probability mass relative to the objects' area: 1 = crisp, 0 = mostly doubt.
    doubt = float((1 - full.max(dim=0).values).sum())
    confidence = max(0.0, 1.0 - doubt / (float(full[1:].sum()) + 1.0))
    prob_maps = np.ascontiguousarray(full.numpy(), np.float32)  # copies only if strided
    return StepOutput(frame_idx, obj_ids, prob_maps, index_mask, confidence,
                      from_user=from_user, visuals=visuals,
                      padded_grid=(geom.padded_size[0] // 16, geom.padded_size[1] // 16),
                      memory_held=memory_held)
