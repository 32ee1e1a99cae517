"""The PTM and FAM views of "Look inside", drawn from one frame's StepOutput.

Each view shows an effect that can be named on the trained model, with its measured number in
the panel's caption (so a teacher can read what the picture claims):
- PTM: each layer's auxiliary mask against the final mask (agreement colours + IoU); eq 9's
  pixel-to-prototype assignment per layer (object share vs background share); the eq-8
  prototype attention per layer with the share of it that falls on the object.
- FAM: offsets relative to the frame's dominant motion (median), drawn on and around the object
  and where they are large; the same field as colours; the previous frame's difference to the
  current frame before and after warping it by the offsets; the DCN modulation.
Maps live on the stride-16 feature grid; `to_frame` stretches them over the frame's pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from demo import render
from srnet import StepOutput, mask_iou

HEIGHT = 240  # panel height in pixels (the page scales the whole image to its column)
ATTENTION_TOP = 8.0  # the attention maps' red: 8x an even spread over the frame's cells
BOTH_RGB, LAYER_ONLY_RGB, FINAL_ONLY_RGB = (40, 190, 70), (255, 140, 0), (40, 110, 255)


def to_frame(values: np.ndarray, cell_size: tuple[float, float],
             shape: tuple[int, ...]) -> np.ndarray:
    """A feature-grid map ``[h, w]`` (or ``[h, w, C]``) stretched bilinearly so that grid cell
    (i, j) covers frame pixels [i·dy, (i+1)·dy) × [j·dx, (j+1)·dx); cropped to ``shape[:2]``."""
    height, width = shape[:2]
    grid_h, grid_w = values.shape[:2]
    full = (int(round(grid_w * cell_size[1])), int(round(grid_h * cell_size[0])))
    big = cv2.resize(np.ascontiguousarray(values, np.float32), full,
                     interpolation=cv2.INTER_LINEAR)  # [~h·dy, ~w·dx(, C)]
    pad_y, pad_x = max(0, height - big.shape[0]), max(0, width - big.shape[1])
    if pad_y or pad_x:
        big = np.pad(big, [(0, pad_y), (0, pad_x)] + [(0, 0)] * (big.ndim - 2), mode="edge")
    return big[:height, :width]


def _outline(image: np.ndarray, mask: np.ndarray, color=(255, 255, 255)) -> np.ndarray:
    edges, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                cv2.CHAIN_APPROX_SIMPLE)
    return cv2.drawContours(image.copy(), edges, -1, color, 2, cv2.LINE_AA)


def agreement(frame: np.ndarray, layer: np.ndarray, final: np.ndarray) -> np.ndarray:
    """Frame tinted green where both masks hold the object, orange where only `layer` does,
    blue where only `final` does."""
    out = (frame.astype(np.float32) * 0.55).astype(np.uint8)
    for where, color in ((layer & final, BOTH_RGB), (layer & ~final, LAYER_ONLY_RGB),
                         (~layer & final, FINAL_ONLY_RGB)):
        out[where] = (0.35 * frame[where] + 0.65 * np.asarray(color)).astype(np.uint8)
    return out


def ptm_views(frame: np.ndarray, out: StepOutput, k: int) -> tuple:
    """(layer masks vs final, eq-9 assignment, eq-8 attention, summary text) for object index
    `k`; all None when the network has no PTM."""
    vis = out.visuals
    if vis.aux_masks is None:
        return None, None, None, "This network has no PTM."
    final = out.mask == out.obj_ids[k]  # [H, W]
    layers = range(vis.aux_masks.shape[0])
    aux = [to_frame(vis.aux_masks[i, k], vis.cell_size, frame.shape) > 0.5 for i in layers]
    ious = [mask_iou(a, final) for a in aux]
    masks = render.side_by_side(
        [agreement(frame, a, final) for a in aux] + [render.overlay_mask(frame, final)],
        [f"layer {i + 1}: IoU {iou:.2f} with final" for i, iou in enumerate(ious)]
        + ["final mask"], height=HEIGHT)
    assign_panels, assign_labels, attn_panels, attn_labels = [], [], [], []
    gaps, shares = [], []  # per layer: object − rest assignment, attention share on the object
    for i in layers:
        if vis.fg_assignment is not None:
            fg = to_frame(vis.fg_assignment[i, k], vis.cell_size, frame.shape)  # [H, W]
            on, off = (float(fg[final].mean()) if final.any() else 0.0,
                       float(fg[~final].mean()) if (~final).any() else 0.0)
            assign_panels.append(_outline(render.blend_heatmap(frame, fg, 0.6, vmin=0.0,
                                                               vmax=1.0), final))
            assign_labels.append(f"layer {i + 1}: object {on:.2f}, rest {off:.2f}")
            gaps.append(on - off)
        cells = vis.proto_attention[i, k]  # [h, w], sums to 1
        attn = to_frame(cells, vis.cell_size, frame.shape)
        share = float(attn[final].sum() / max(attn.sum(), 1e-12))
        # one fixed scale for every map, relative to an even spread (1 / cells): a map's own
        # min-max stretch painted near-uniform attention as hot spots
        even = to_frame(cells * cells.size, vis.cell_size, frame.shape)  # [H, W]
        attn_panels.append(_outline(render.blend_heatmap(frame, even, 0.6, vmin=0.0,
                                                         vmax=ATTENTION_TOP), final))
        attn_labels.append(f"layer {i + 1}: {share:.0%} on the object, peak "
                           f"{float(cells.max()) * cells.size:.0f}x even")
        shares.append(share)
    assign = (render.side_by_side(assign_panels, assign_labels, height=HEIGHT)
              if assign_panels else None)
    attention = render.side_by_side(attn_panels, attn_labels, height=HEIGHT)
    steps = ", ".join(f"{mask_iou(aux[i], aux[i + 1]):.2f}" for i in range(len(aux) - 1))
    text = (f"PTM layers against the final mask: IoU {', '.join(f'{v:.2f}' for v in ious)}; "
            f"consecutive layers agree at IoU {steps}. {ptm_roles(gaps, shares)}")
    return masks, assign, attention, text


def ptm_roles(gaps: list[float], shares: list[float], far: float = 0.4) -> str:
    """What each PTM layer does on this frame, read off its numbers (not a fixed claim about the
    checkpoint): prototype assignment gap object − rest ≥ `far` separates, ≤ −`far` separates
    with the prototypes' roles swapped, else mixed; attention mostly (≥ 50%) on the object."""
    def layers(idx: list[int]) -> str:
        return ", ".join(str(i + 1) for i in idx) or "none"

    parts = []
    if gaps:
        parts.append(f"Layers separating object from background here: "
                     f"{layers([i for i, g in enumerate(gaps) if g >= far])}; with the "
                     f"prototypes swapped: {layers([i for i, g in enumerate(gaps) if g <= -far])}; "
                     f"mixed: {layers([i for i, g in enumerate(gaps) if abs(g) < far])}.")
    parts.append(f"Attention mostly on the object: layer(s) "
                 f"{layers([i for i, s in enumerate(shares) if s >= 0.5])}.")
    return " ".join(parts)


def relative_flow(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(flow − its median over the grid, the median (dx, dy)): the frame's dominant motion
    (camera pan, or a constant bias of the offsets) removed."""
    median = np.median(flow.reshape(-1, 2), axis=0)  # [2]
    return flow - median, median


def _near_and_large(rel: np.ndarray, final: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid cells on or within ~2 cells of the object, and those among the largest tenth of
    the offsets: two bool ``[h, w]``."""
    height, width = rel.shape[:2]
    cells = cv2.resize(final.astype(np.float32), (width, height),
                       interpolation=cv2.INTER_AREA) if final.any() else np.zeros(
                           (height, width), np.float32)  # [h, w] object share per cell
    near = cv2.dilate((cells > 0.05).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    magnitude = np.hypot(rel[..., 0], rel[..., 1])  # [h, w]
    return near, magnitude >= max(2.0, float(np.percentile(magnitude, 90)))


def _focus(rel: np.ndarray, cell_size: tuple[float, float], final: np.ndarray) -> np.ndarray:
    """Grid cells worth an arrow: on or within ~2 cells of the object, and elsewhere every
    other cell among the largest tenth of the offsets. bool ``[h, w]``."""
    near, large = _near_and_large(rel, final)
    height, width = rel.shape[:2]
    rows, cols = np.arange(height)[:, None], np.arange(width)[None, :]
    checker = ((rows + cols) % 2) == 0
    sparse = (rows % 2 == 0) & (cols % 2 == 0)
    dense_enough = min(cell_size) >= 24  # else every other cell: arrows ~2 cells apart
    return (near & (checker if dense_enough else sparse)) | (large & sparse)


def arrow_view(frame: np.ndarray, rel: np.ndarray, cell_size: tuple[float, float],
               final: np.ndarray) -> np.ndarray:
    """Arrows (from each grid cell's centre to where FAM samples the previous frame, dominant
    motion removed) on and around the object, and elsewhere only where they are large."""
    out = _outline((frame * 0.7).astype(np.uint8), final, (255, 255, 255))
    focus = _focus(rel, cell_size, final)  # [h, w]
    magnitude = np.hypot(rel[..., 0], rel[..., 1])  # [h, w]
    thickness = max(1, int(round(min(frame.shape[:2]) / 240)))
    for i in range(rel.shape[0]):
        for j in range(rel.shape[1]):
            y, x = (i + 0.5) * cell_size[0], (j + 0.5) * cell_size[1]
            if y >= frame.shape[0] or x >= frame.shape[1] or magnitude[i, j] < 1.0:
                continue
            if not focus[i, j]:
                continue
            tip = (int(round(x + rel[i, j, 0])), int(round(y + rel[i, j, 1])))
            start = (int(round(x)), int(round(y)))
            cv2.arrowedLine(out, start, tip, (0, 0, 0), thickness + 2, cv2.LINE_AA,
                            tipLength=0.35)
            cv2.arrowedLine(out, start, tip, (255, 230, 0), thickness, cv2.LINE_AA,
                            tipLength=0.35)
    return out


def warp_previous(previous: np.ndarray, flow_px: np.ndarray) -> np.ndarray:
    """The previous frame sampled at p + Δp for every pixel p (what FAM does to its features;
    `flow_px` is ``[H, W, 2]`` (dx, dy) in frame pixels)."""
    height, width = previous.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)  # [H, W] each
    return cv2.remap(previous, xs + flow_px[..., 0], ys + flow_px[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def _difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.float32) - b.astype(np.float32)).mean(axis=2)  # [H, W]


def alignment_view(previous: np.ndarray, frame: np.ndarray, flow_px: np.ndarray,
                   final: np.ndarray, local_idx: int,
                   previous_mask: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """Local-memory frame | |it − current| | |it aligned − current| (dark = the frames
    match), and a sentence saying whether warping by FAM's offsets brought them closer. The
    first panel is outlined with its own mask (`previous_mask`, none without one), the
    differences with the current frame's: the current outline on the earlier frame made the
    object seem to have moved less than it did."""
    aligned = warp_previous(previous, flow_px)
    before, after = _difference(previous, frame), _difference(aligned, frame)
    obj = final if final.any() else np.ones_like(final)
    b_obj, a_obj = float(before[obj].mean()), float(after[obj].mean())
    panels = [previous, render.heatmap(before, vmin=0, vmax=80, cmap=cv2.COLORMAP_INFERNO),
              render.heatmap(after, vmin=0, vmax=80, cmap=cv2.COLORMAP_INFERNO)]
    labels = [f"local memory: frame {local_idx}", f"before: differs {before.mean():.0f} "
              f"(object {b_obj:.0f})", f"after warping: {after.mean():.0f} (object {a_obj:.0f})"]
    first = panels[0] if previous_mask is None else _outline(panels[0], previous_mask)
    image = render.side_by_side([first, *(_outline(p, final) for p in panels[1:])], labels,
                                height=HEIGHT)
    verdict = ("warping by FAM's offsets brings the local-memory frame closer to this one on the "
               "object" if a_obj < 0.95 * b_obj else
               "warping the *pixels* by FAM's offsets does not bring the frames closer on the "
               "object: on this model the offsets re-arrange *features* for the decoder rather "
               "than follow the visible motion")
    return image, (f"Mean colour difference to the current frame on the object: "
                   f"{b_obj:.0f} before, {a_obj:.0f} after: {verdict}.")


def fam_views(frames: list[np.ndarray], out: StepOutput, k: int,
              mask_of: Callable[[int], np.ndarray | None] = lambda _: None) -> tuple:
    """(arrows, flow colours + wheel, alignment, modulation, summary text); Nones without
    FAM or on a frame without a previous frame in memory. `mask_of`: a frame's id mask as
    shown (None without one), for the local-memory frame's own outline."""
    vis, frame = out.visuals, frames[out.frame_idx]
    if vis.fam_flow is None or vis.local_frame is None:
        return None, None, None, None, "No FAM on this frame (no previous frame in memory)."
    final = out.mask == out.obj_ids[k]  # [H, W]
    grid_cell = vis.cell_size  # `fam_flow` is per feature cell, also at r > 1
    rel, median = relative_flow(vis.fam_flow)  # [h, w, 2], [2]
    arrows = render.side_by_side(
        [arrow_view(frame, rel, grid_cell, final)],
        # Short: the image toolbar covers the caption's right end on a narrow page.
        [f"minus median ({median[0]:+.1f}, {median[1]:+.1f}) px"],
        height=max(HEIGHT, min(frame.shape[0], 360)))
    dense_rel = to_frame(rel, grid_cell, frame.shape)  # [H, W, 2]
    limit = max(2.0, float(np.percentile(np.hypot(dense_rel[..., 0], dense_rel[..., 1]), 98)))
    colours = render.flow_to_color(dense_rel, max_magnitude=limit)
    gray = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    # faint away from the object and its large offsets; not `_focus`, which thins out the
    # arrows and drew the colours as a grid of dots
    near, large = _near_and_large(rel, final)
    weight = to_frame((near | large).astype(np.float32), grid_cell,
                      frame.shape)[..., None] * 0.55 + 0.15  # [H, W, 1]
    colours = _outline((gray * (1 - weight) + colours * weight).astype(np.uint8), final)
    flow = render.side_by_side([colours, render.color_wheel(128)],
                               [f"direction and length (full colour = {limit:.0f} px)",
                                "colour key"], height=HEIGHT)
    flow_px = to_frame(vis.fam_flow, grid_cell, frame.shape)  # [H, W, 2] absolute offsets
    held = mask_of(vis.local_frame)  # [H, W] ids, or None
    aligned, verdict = alignment_view(frames[vis.local_frame], frame, flow_px, final,
                                      vis.local_frame,
                                      None if held is None else held == out.obj_ids[k])
    modulation, mod_text = None, ""
    if vis.dcn_modulation is not None:
        mean = to_frame(vis.dcn_modulation[k].mean(axis=0), vis.cell_size, frame.shape)
        on = float(mean[final].mean()) if final.any() else 0.0
        off = float(mean[~final].mean()) if (~final).any() else 0.0
        modulation = render.side_by_side(
            [_outline(render.blend_heatmap(frame, mean, 0.6, vmin=0.0, vmax=1.0), final)],
            [f"modulation: object {on:.2f}, rest {off:.2f}"], height=HEIGHT)
        # ΔM scales the deformable taps only; how F_L and F_M then mix (Φ) is not shown here,
        # so the text says no more than that
        where = ("less on the object than on the background: the aligned previous frame's "
                 "taps are damped there" if on < off - 0.05 else
                 "more on the object than on the background" if on > off + 0.05 else
                 "about as much on the object as elsewhere")
        mod_text = (f" Modulation (the weight of each deformable tap on the aligned previous "
                    f"frame): {on:.2f} on "
                    f"the object, {off:.2f} elsewhere, i.e. {where}.")
    return arrows, flow, aligned, modulation, verdict + mod_text
