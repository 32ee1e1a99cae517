""""Look inside" handlers: for one processed frame and the selected object, render the PTM
layers, the FAM alignment, the memory reads of a clicked pixel, the memory timeline and the
per-frame confidence. Reads StepOutputs stored in the DemoState; draws with demo.render."""

from __future__ import annotations

import math

import cv2
import gradio as gr
import numpy as np

from demo import render
from demo.clicks import validate_click
from demo.handlers import NO_CLIP, warn
from demo.handlers_ablation import compare_view
from demo.state import DemoState
from srnet import StepOutput

PANEL_HEIGHT = 180
MAX_READ_PANELS = 8  # memory frames shown for a clicked pixel (the most-read first)


def _object_index(out: StepOutput, obj_id: int) -> int:
    return out.obj_ids.index(obj_id) if obj_id in out.obj_ids else 0


def ptm_views(frame: np.ndarray, out: StepOutput, obj_id: int) -> tuple:
    """Aux mask of each PTM layer (1 → L) beside the final mask; prototype attention per layer."""
    vis, k = out.visuals, _object_index(out, obj_id)
    if vis.aux_masks is None:
        return None, None
    aux = [render.blend_heatmap(frame, vis.aux_masks[layer, k], vmin=0.0, vmax=1.0)
           for layer in range(vis.aux_masks.shape[0])]
    final = render.overlay_mask(frame, (out.mask == out.obj_ids[k]).astype(np.uint8))
    labels = [f"layer {i + 1} aux mask" for i in range(len(aux))] + ["final mask"]
    masks = render.side_by_side([*aux, final], labels, height=PANEL_HEIGHT)
    attention = [render.blend_heatmap(frame, vis.proto_attention[layer, k], alpha=0.6)
                 for layer in range(vis.proto_attention.shape[0])]
    attn = render.side_by_side(attention, [f"layer {i + 1} attention" for i in
                                           range(len(attention))], height=PANEL_HEIGHT)
    return masks, attn


def _dense_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(flow.astype(np.float32), (size[1], size[0]),
                      interpolation=cv2.INTER_LINEAR)  # [H, W, 2] (dx, dy)


def aligned_frame(local: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """The local-memory frame resampled at p + Δp (what FAM does to its features)."""
    height, width = local.shape[:2]
    dense = _dense_flow(flow, (height, width))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return cv2.remap(local, xs + dense[..., 0], ys + dense[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def fam_views(frames: list[np.ndarray], out: StepOutput, obj_id: int) -> tuple:
    """(arrows over the frame, flow colours + wheel, local | aligned | current, modulation)."""
    vis, frame = out.visuals, frames[out.frame_idx]
    if vis.fam_flow is None or vis.local_frame is None:
        return None, None, None, None
    step = max(12, frame.shape[1] // 32)
    arrows = render.draw_offset_arrows(frame, vis.fam_flow, step=step, min_magnitude=0.5)
    colors = cv2.resize(render.flow_to_color(vis.fam_flow), (frame.shape[1], frame.shape[0]),
                        interpolation=cv2.INTER_NEAREST)
    flow = render.side_by_side([colors, render.color_wheel(128)],
                               ["offset direction / length", "colour key"], height=PANEL_HEIGHT)
    local = frames[vis.local_frame]
    aligned = render.side_by_side(
        [local, aligned_frame(local, vis.fam_flow), frame],
        [f"local memory: frame {vis.local_frame}", "aligned auxiliary frame",
         f"current: frame {out.frame_idx}"], height=PANEL_HEIGHT)
    modulation = None
    if vis.dcn_modulation is not None:
        mean = vis.dcn_modulation[_object_index(out, obj_id)].mean(axis=0)  # [h, w]
        modulation = render.blend_heatmap(frame, mean, vmin=0.0, vmax=1.0)
    return arrows, flow, aligned, modulation


def _real_cells(frame: np.ndarray, out: StepOutput) -> tuple[int, int]:
    cell_y, cell_x = out.visuals.cell_size
    grid = out.padded_grid or (1, 1)
    return (min(grid[0], math.ceil(frame.shape[0] / cell_y)),
            min(grid[1], math.ceil(frame.shape[1] / cell_x)))


def memory_views(frames: list[np.ndarray], out: StepOutput, x: float, y: float) -> tuple:
    """(query frame with the point marked, heat maps of where that pixel reads in memory)."""
    vis, frame = out.visuals, frames[out.frame_idx]
    height, width = _real_cells(frame, out)
    cell_y = min(int(y / vis.cell_size[0]), height - 1)
    cell_x = min(int(x / vis.cell_size[1]), width - 1)
    maps = vis.read_map(cell_y, cell_x, out.padded_grid)[:, :height, :width]  # [T, h, w]
    order = np.argsort(-maps.reshape(len(maps), -1).sum(axis=1))[:MAX_READ_PANELS]
    top = float(maps.max()) or 1.0
    panels = [render.blend_heatmap(frames[vis.memory_frames[t]], maps[t], alpha=0.6,
                                   vmin=0.0, vmax=top) for t in order]
    labels = [f"frame {vis.memory_frames[t]}: {maps[t].sum():.0%}" for t in order]
    query = render.draw_clicks(frame, [(x, y, True)])
    return query, render.side_by_side(panels, labels, height=PANEL_HEIGHT)


def _object_centre(out: StepOutput, obj_id: int) -> tuple[float, float]:
    ys, xs = np.nonzero(out.mask == obj_id)
    if not len(xs):
        return out.mask.shape[1] / 2, out.mask.shape[0] / 2
    return float(np.median(xs)), float(np.median(ys))


def confidence_view(state: DemoState, frame_idx: int) -> tuple[np.ndarray, str]:
    values = [state.confidence.get(i, np.nan) for i in range(state.num_frames)]
    values = values if state.confidence else []  # all-NaN: the plot says "no data"
    plot = render.confidence_plot(values, highlight=frame_idx, size=(640, 140))
    scored = {i: c for i, c in state.confidence.items() if i not in state.annotated_frames()}
    if not scored:
        return plot, "Propagate to see how sure the model is on each frame."
    worst = min(scored, key=scored.get)
    return plot, (f"Frame {worst} has the lowest confidence ({scored[worst]:.2f}): the frame "
                  "most worth correcting (click or paint it, then propagate from there).")


def inspect_frame(state: DemoState | None, frame_idx: float) -> tuple:
    """All views for one frame: (PTM masks, PTM attention, FAM arrows, FAM flow, FAM aligned,
    DCN modulation, memory query, memory reads, timeline, confidence, ablation, status)."""
    if state is None:
        return (*(None,) * 11, warn(NO_CLIP))
    frame_idx = state.clamp_frame(frame_idx)
    state.frame_idx = frame_idx
    timeline = render.memory_timeline(state.num_frames, state.timelines.get(frame_idx, {}),
                                      frame_idx) if frame_idx in state.timelines else None
    plot, advice = confidence_view(state, frame_idx)
    ablation, ablation_text = compare_view(state, frame_idx)
    out = state.outputs.get(frame_idx)
    if out is None or out.visuals is None:
        why = ("it is your annotation: the model copies your mask there"
               if frame_idx in state.annotated_frames() or out is not None else
               "its internals were dropped to save memory (only the last "
               f"{len(state.outputs)} processed frames keep them): propagate over it again"
               if frame_idx in state.masks else "it has not been propagated yet")
        return (*(None,) * 8, timeline, plot, ablation,
                f"No internals for frame {frame_idx}: {why}. {advice} {ablation_text}")
    obj_id = state.selected if state.selected in out.obj_ids else out.obj_ids[0]
    views = (*ptm_views(state.frames[frame_idx], out, obj_id),
             *fam_views(state.frames, out, obj_id),
             *memory_views(state.frames, out, *_object_centre(out, obj_id)))
    name = state.names.get(obj_id, f"object {obj_id}")
    return (*views, timeline, plot, ablation,
            f"Frame {frame_idx}, {name}. {advice} {ablation_text}")


def memory_click(state: DemoState | None, frame_idx: float, evt: gr.SelectData) -> tuple:
    """A click on the memory view's frame picks the query pixel (evt.index = [x, y])."""
    if state is None:
        return None, None, warn(NO_CLIP)
    out = state.outputs.get(state.clamp_frame(frame_idx))
    if out is None or out.visuals is None:
        return gr.skip(), gr.skip(), warn("This frame has no internals: propagate over it.")
    index = evt.index if isinstance(evt.index, list | tuple) and len(evt.index) == 2 else None
    if index is None or not validate_click(index[0], index[1], out.mask.shape):
        return gr.skip(), gr.skip(), warn("Click inside the frame to pick a pixel.")
    query, reads = memory_views(state.frames, out, float(index[0]), float(index[1]))
    return query, reads, f"Pixel ({int(index[0])}, {int(index[1])}) of frame {out.frame_idx}."


def set_inspect_open(state: DemoState | None, is_open: bool) -> None:
    """Tab switches: the internals are re-rendered on frame changes only while shown."""
    if state is not None:
        state.inspect_open = bool(is_open)


def inspect_if_open(state: DemoState | None, frame_idx: float) -> tuple:
    """Frame slider released: refresh the internals only when their tab is open."""
    if state is None or not state.inspect_open:
        return (gr.skip(),) * 12
    return inspect_frame(state, frame_idx)
