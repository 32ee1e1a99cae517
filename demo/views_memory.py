"""The memory view of "Look inside": where one pixel of the current frame reads from.

The clicked pixel's feature cell reads the top-k most similar memory cells (eq 1). Each memory
frame that receives reads is shown as a large thumbnail (≥ 240 px wide) with its frame number,
its share of the reads, and the cells read marked by circles whose size grows with the weight.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import cv2
import numpy as np

from demo import render
from demo.views_ptm_fam import to_frame
from srnet import MemoryRead, StepOutput

THUMB_HEIGHT = 240
MAX_PANELS = 6  # memory frames shown (the most-read first)
COLUMNS = 3
READ_RGB = (0, 255, 120)
# A read point or memory frame under this share of the read weight counts as unread: the
# trained read is nearly one-hot (1.0, then 1e-19 and less), and a panel or circle for a
# 1e-40 weight reads as a real contribution.
WEIGHTLESS = 0.005


def real_cells(frame: np.ndarray, out: StepOutput) -> tuple[int, int]:
    """Feature cells that cover the frame (the padded grid may hold extra cells)."""
    cell_y, cell_x = out.visuals.cell_size
    grid = out.padded_grid or (1, 1)
    return (min(grid[0], math.ceil(frame.shape[0] / cell_y)),
            min(grid[1], math.ceil(frame.shape[1] / cell_x)))


def read_points(read: MemoryRead, grid: tuple[int, int],
                cell: tuple[int, int]) -> list[tuple[int, int, int, float]]:
    """The top-k reads of feature cell (y, x) on the padded feature `grid`: (memory slot t, y,
    x, weight), heaviest first."""
    height, width = grid
    row = cell[0] * width + cell[1]
    points = []
    for index, weight in zip(read.read_indices[row], read.read_weights[row]):
        t, rest = divmod(int(index), height * width)
        points.append((t, *divmod(rest, width), float(weight)))
    return sorted(points, key=lambda p: -p[3])


def _mark(image: np.ndarray, points: list, cell_size: tuple[float, float],
          top: float) -> np.ndarray:
    out = image.copy()
    scale = max(2.0, min(image.shape[:2]) / 60)
    for _, y, x, weight in points:  # the weightless are filtered out by the caller
        centre = (int((x + 0.5) * cell_size[1]), int((y + 0.5) * cell_size[0]))
        radius = int(round(scale * (0.5 + math.sqrt(weight / max(top, 1e-12)))))
        cv2.circle(out, centre, radius + 2, (0, 0, 0), 2, cv2.LINE_AA)
        cv2.circle(out, centre, radius, READ_RGB, 2, cv2.LINE_AA)
    return out


def panel_order(shares: np.ndarray, memory_frames: tuple[int, ...]) -> list[int]:
    """Memory slots to draw: those holding at least `WEIGHTLESS` of the read weight, largest
    share first (ties in frame order)."""
    read = [t for t in range(len(shares)) if shares[t] >= WEIGHTLESS]
    return sorted(read, key=lambda t: (-round(float(shares[t]), 2),
                                       memory_frames[t]))[:MAX_PANELS]


def label_shares(points: list[tuple[int, int, int, float]], labels: Sequence[np.ndarray | None],
                 cell_size: tuple[float, float]) -> dict[int, float]:
    """Share of the read weight that lands on each id (0 = background) of the masks the memory
    frames hold: `labels[t]` is slot t's uint8 [H, W] id mask (None: unknown, left out). A
    point reads its whole feature cell, so a cell on an outline splits its weight."""
    totals: dict[int, float] = {}
    for t, y, x, weight in points:
        mask = labels[t] if t < len(labels) else None
        if mask is None:
            continue
        top, left = int(y * cell_size[0]), int(x * cell_size[1])
        block = mask[top:max(top + 1, int((y + 1) * cell_size[0])),
                     left:max(left + 1, int((x + 1) * cell_size[1]))]  # [ch, cw] ids
        ids, counts = np.unique(block, return_counts=True)
        for obj_id, count in zip(ids.tolist(), counts.tolist()):
            totals[obj_id] = totals.get(obj_id, 0.0) + weight * count / block.size
    whole = sum(totals.values())
    return {k: v / whole for k, v in sorted(totals.items())} if whole > 0 else {}


def _labels_sentence(shares: dict[int, float], names: Mapping[int, str]) -> str:
    if not shares:
        return ""
    parts = [f"{share:.0%} on {names.get(k, f'object {k}') if k else 'background'}"
             for k, share in sorted(shares.items(), key=lambda item: -item[1])
             if share >= 0.005]
    return (" Where that weight lands, in the masks those memory frames hold (outlined): "
            + ", ".join(parts) + ". The pixel reads the memory features of those points, "
            "which carry these labels in these shares; FAM, the prototype transformer and the "
            "decoder then decide its label.")


def _held(read: MemoryRead, slot: int, shape: tuple[int, int],
          held_mask: Callable[[int], np.ndarray | None] | None) -> np.ndarray | None:
    """uint8 [H, W] ids of the mask memory slot `slot` encoded (the engine's record, so a
    frame re-annotated since shows what memory still holds); `held_mask` only for reads
    without that record."""
    if slot < len(read.memory_masks) and read.memory_masks[slot] is not None:
        return cv2.resize(read.memory_masks[slot], shape[::-1],
                          interpolation=cv2.INTER_NEAREST_EXACT)
    return held_mask(read.memory_frames[slot]) if held_mask else None


def memory_views(frames: list[np.ndarray], out: StepOutput, x: float, y: float,
                 held_mask: Callable[[int], np.ndarray | None] | None = None,
                 names: Mapping[int, str] | None = None,
                 obj_id: int | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """(current frame with the query pixel, grid of memory frames with the reads marked over
    the read-weight heat map, a sentence summarising where the pixel reads). With `held_mask`
    (frame → the uint8 [H, W] ids memory holds for it, or None; the demo's
    `DemoState.shown_mask`) the panels outline what each memory frame holds as object, and
    the sentence says how much read weight lands on each object (the engine's record of each
    memory frame's mask, `MemoryRead.memory_masks`, comes first: memory may hold an older mask
    than the frame shows after a re-annotation). `obj_id`: whose memory read
    to show when objects first marked on different frames read separate memories."""
    vis, frame = out.visuals, frames[out.frame_idx]
    read = vis.read_of(obj_id)
    held = [_held(read, t, frames[f].shape[:2], held_mask)
            for t, f in enumerate(read.memory_frames)]  # by memory slot
    height, width = real_cells(frame, out)
    cell = (min(int(y / vis.cell_size[0]), height - 1), min(int(x / vis.cell_size[1]), width - 1))
    maps = read.read_map(*cell, out.padded_grid)[:, :height, :width]  # [T, h, w]
    shares = maps.reshape(len(maps), -1).sum(axis=1)  # [T]
    order = panel_order(shares, read.memory_frames)
    points = read_points(read, out.padded_grid, cell)
    top = max((p[3] for p in points), default=1.0)
    panels, labels = [], []
    for t in order:
        memory = frames[read.memory_frames[t]]
        spread = to_frame(maps[t], vis.cell_size, memory.shape)  # [H, W]
        heat = render.blend_heatmap(memory, spread, alpha=0.45, vmin=0.0, vmax=top)
        if held[t] is not None:  # outline only: the heat map must stay readable
            heat = render.overlay_mask(heat, held[t], alpha=0.0)
        mine = [p for p in points if p[0] == t and p[3] >= WEIGHTLESS]
        panels.append(_mark(heat, mine, vis.cell_size, top))
        share = f"{shares[t]:.0%}" if shares[t] >= 0.01 else "<1%"
        labels.append(f"frame {read.memory_frames[t]}: {share} of the read weight "
                      f"({len(mine)} of {len(points)} points)")
    if not panels:
        panels, labels = [np.full((THUMB_HEIGHT, THUMB_HEIGHT, 3), 255, np.uint8)], ["no reads"]
    query = render.draw_clicks(render.overlay_mask(frame, out.mask, alpha=0.0), [(x, y, True)])
    cv2.rectangle(query, (int(cell[1] * vis.cell_size[1]), int(cell[0] * vis.cell_size[0])),
                  (int((cell[1] + 1) * vis.cell_size[1]), int((cell[0] + 1) * vis.cell_size[0])),
                  READ_RGB, 2)
    reads = render.grid(panels, labels, columns=COLUMNS, height=THUMB_HEIGHT)
    best = read.memory_frames[order[0]] if order else None
    text = (f"Pixel ({int(x)}, {int(y)}) of frame {out.frame_idx} reads its {len(points)} most "
            f"similar memory points; frame {best} carries {shares[order[0]]:.0%} of their "
            "weight." if order else f"Pixel ({int(x)}, {int(y)}) of frame {out.frame_idx}: no "
            "reads.")
    unseen = sum(1 for p in points if p[3] < WEIGHTLESS)
    if order and unseen:  # the softmax left them (almost) nothing: not drawn, said here
        text += (f" {unseen} of the {len(points)} points get under {WEIGHTLESS:.1%} of the "
                 "weight each after the softmax and are not drawn.")
    if order and any(h is not None for h in held):
        text += _labels_sentence(label_shares(points, held, vis.cell_size), names or {})
    if len(vis.reads) > 1:  # which memory this is: another object's read differs
        who = ", ".join((names or {}).get(o, f"object {o}") for o in read.obj_ids)
        text += (f" These are the reads of {who}: objects first marked on different frames "
                 "are held by different memory frames, so each reads its own memory (here "
                 f"frames {', '.join(map(str, read.memory_frames))}); select another object "
                 "to see its reads.")
    return query, reads, text
