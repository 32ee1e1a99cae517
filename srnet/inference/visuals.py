"""Turn the model's per-group ModelVisuals into one StepVisuals of CPU numpy arrays, cropped to
the feature cells that cover real pixels and scaled to the user's resolution."""

from __future__ import annotations

import numpy as np
import torch

from srnet.inference.outputs import MemoryRead, StepVisuals
from srnet.inference.preprocess import FrameGeometry


def _join_objects(maps: list[torch.Tensor | None], crop: tuple[int, int],
                  obj_dim: int) -> np.ndarray | None:
    """Concatenate per-group maps [1, ..., h, w] along the object dim and crop to real cells."""
    if any(m is None for m in maps):
        return None
    joined = torch.cat(maps, dim=obj_dim)[0]  # [..., K, ..., h, w]
    return joined[..., : crop[0], : crop[1]].float().cpu().numpy()


def fam_offsets_per_cell(grid_offset: torch.Tensor, feature_size: tuple[int, int],
                         grid_factor: int) -> torch.Tensor:
    """FAM's Δp (`FAMOutput.grid_offset`, [B, 2, h_g, w_g] in offset-grid cells, (dx, dy)) as
    the shift FAM applies to each stride-16 cell, in feature cells: [B, 2, H, W].

    At r > 1 FAM shrinks V_L to the offset grid, samples it there and enlarges the result, both
    with align_corners=True, so grid cell j sits on feature cell j·(H−1)/(h_g−1) and one grid
    cell spans (H−1)/(h_g−1) feature cells; for a V_L linear across the cells that is exactly
    a shift by Δp enlarged the same way. Drawing grid cell j at the centre of cells
    [j·r, (j+1)·r) instead put the offsets up to half a feature cell off (and ~3 % too short)."""
    if grid_factor == 1:
        return grid_offset.float()
    height, width = feature_size
    grid_h, grid_w = grid_offset.shape[-2:]
    dense = torch.nn.functional.interpolate(
        grid_offset.float(), size=(height, width), mode="bilinear",
        align_corners=True)  # [B, 2, H, W] in grid cells
    span = torch.tensor([(width - 1) / max(grid_w - 1, 1), (height - 1) / max(grid_h - 1, 1)],
                        device=dense.device)  # [2] feature cells per grid cell (x, y)
    return dense * span[None, :, None, None]  # [B, 2, H, W] in feature cells


def collect_visuals(group_outputs: list, obj_ids: list[int], geom: FrameGeometry,
                    grid_factor: int = 1) -> StepVisuals:
    """`group_outputs`: (ids, memory entries, local entry, SegmentOutput) per object group, with
    objects concatenated in group order; they are re-ordered here to `obj_ids` order.
    `grid_factor`: FAM's r (`FAMConfig.grid_factor`), one offset per r x r cells."""
    order = [obj for ids, *_ in group_outputs for obj in ids]
    perm = [order.index(obj) for obj in obj_ids]
    crop = geom.feature_size
    vis = [out.visuals for *_, out in group_outputs]
    _, _, local, first = group_outputs[0]
    scale_y = geom.orig_size[0] / geom.internal_size[0]
    scale_x = geom.orig_size[1] / geom.internal_size[1]

    def ordered(array: np.ndarray | None, axis: int) -> np.ndarray | None:
        return None if array is None else np.take(array, perm, axis=axis)

    fam_flow = None
    if first.visuals.grid_offset is not None:
        padded = (geom.padded_size[0] // 16, geom.padded_size[1] // 16)
        cells = fam_offsets_per_cell(first.visuals.grid_offset[:1], padded, grid_factor)
        cells = cells[0, :, : crop[0], : crop[1]].float().cpu().numpy()  # [2, h, w] (dx, dy)
        pixels = 16.0 * np.stack([cells[0] * scale_x, cells[1] * scale_y], axis=-1)
        fam_flow = pixels.astype(np.float32)  # [h, w, 2] (dx, dy) in original pixels
    quarter = (-(-geom.internal_size[0] // 4), -(-geom.internal_size[1] // 4))

    def held(entry) -> np.ndarray | None:
        return None if entry.held is None else entry.held[: quarter[0], : quarter[1]]

    dcn = _join_objects([v.dcn_offset for v in vis], crop, 1)  # [K, 18, h, w]
    if dcn is not None:
        dcn = dcn.reshape(dcn.shape[0], 9, 2, *dcn.shape[-2:])  # [K, 9, 2(dy, dx), h, w]
    return StepVisuals(
        cell_size=(16.0 * scale_y, 16.0 * scale_x),
        reads=tuple(MemoryRead(tuple(ids), tuple(e.frame_idx for e in group_entries),
                               out.visuals.read_indices[0].cpu().numpy(),  # [h*w, k]
                               out.visuals.read_weights[0].cpu().numpy(),  # [h*w, k]
                               tuple(held(e) for e in group_entries))
                    for ids, group_entries, _, out in group_outputs),
        local_frame=None if local is None or fam_flow is None else local.frame_idx,
        fam_flow=fam_flow,
        fam_grid_factor=grid_factor,
        dcn_offset=ordered(dcn, 0),
        dcn_modulation=ordered(_join_objects([v.dcn_modulation for v in vis], crop, 1), 0),
        aux_masks=ordered(_join_objects([v.aux_masks for v in vis], crop, 2), 1),
        proto_attention=ordered(_join_objects([v.proto_attention for v in vis], crop, 2), 1),
        fg_assignment=ordered(_join_objects([v.fg_assignment for v in vis], crop, 2), 1),
    )
