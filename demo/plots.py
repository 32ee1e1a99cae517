"""Plots with labelled axes for the demo: per-frame confidence and the memory timeline.

Pure numpy/OpenCV, uint8 ``[H, W, 3]`` RGB out, like `demo.render`."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from demo.render import FONT, MEMORY_RGB, NEGATIVE_RGB

TEXT = (40, 40, 40)
GRID = (225, 225, 225)


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float = 0.45,
          color: tuple[int, int, int] = TEXT) -> None:
    cv2.putText(image, text, (int(origin[0]), int(origin[1])), FONT, scale, color, 1,
                cv2.LINE_AA)


def frame_ticks(num_frames: int, max_ticks: int = 10) -> list[int]:
    """Round frame numbers for an axis: 0, step, 2·step, … and always the last frame."""
    last = max(num_frames - 1, 0)
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000, 10**9)
                if last / s <= max_ticks - 1)
    ticks = list(range(0, last + 1, step))
    if ticks[-1] != last and last - ticks[-1] >= step / 2:
        ticks.append(last)
    return ticks


def value_ticks(low: float, high: float, max_ticks: int = 6) -> np.ndarray:
    """Round tick values from `low` to `high`: multiples of the smallest step of 0.05, 0.1,
    0.2, 0.25, 0.5 or 1 that needs at most `max_ticks` (linspace gave 0.77 and 0.93, or 0.67
    and 1.33, which a reader must decode)."""
    step = next((s for s in (0.05, 0.1, 0.2, 0.25, 0.5, 1.0)
                 if (high - low) / s <= max_ticks - 1 + 1e-9), 1.0)
    first = np.ceil(low / step - 1e-9) * step
    return np.round(np.arange(first, high + step / 2, step), 6) + 0.0  # [n]; + 0.0: no "-0.0"


def _frame_axis(out: np.ndarray, x_of, num_frames: int, y: int, left: int, right: int) -> None:
    """Tick marks and numbers under a frame axis at row `y`, and the axis title."""
    cv2.line(out, (left, y), (right, y), (120, 120, 120), 1)
    for tick in frame_ticks(num_frames):
        x = int(round(x_of(tick)))
        cv2.line(out, (x, y), (x, y + 4), (120, 120, 120), 1)
        (w, _), _ = cv2.getTextSize(str(tick), FONT, 0.4, 1)
        _text(out, str(tick), (x - w // 2, y + 17), 0.4)
    _text(out, "frame", ((left + right) // 2 - 20, y + 34), 0.45)


def _y_axis(out: np.ndarray, title: str, ticks: np.ndarray, y_of,
            box: tuple[int, int, int, int], fmt: str = "{:.2f}") -> None:
    """Horizontal grid lines with tick labels, the axis line and its rotated title."""
    left, right, top, bottom = box
    for v in ticks:
        y = int(round(y_of(v)))
        cv2.line(out, (left, y), (right, y), GRID, 1)
        _text(out, fmt.format(v), (left - 40, y + 5), 0.4)
    cv2.line(out, (left, top), (left, bottom), (120, 120, 120), 1)
    label = np.full((18, 110, 3), 255, np.uint8)  # the y-axis title, written then rotated
    _text(label, title, (2, 13), 0.45)
    label = np.rot90(label)
    y0 = max(0, (top + bottom) // 2 - label.shape[0] // 2)
    out[y0:y0 + label.shape[0], 2:2 + label.shape[1]] = label[:out.shape[0] - y0]


# The frame axis of the confidence and size plots runs from PLOT_LEFT to width - PLOT_RIGHT;
# the timeline's from TIMELINE_LEFT (after its row names) to width - PLOT_RIGHT. A click on a
# plot is mapped back to a frame with these (`plot_frame_at`, `timeline_frame_at`).
PLOT_LEFT, PLOT_RIGHT, TIMELINE_LEFT = 62, 12, 96
PLOT_WIDTH = 900  # every plot's width in pixels (the page scales the image)


def plot_frame_at(x: float, num_frames: int, width: int = PLOT_WIDTH) -> int | None:
    """The frame under pixel column `x` of a confidence or size plot `width` wide (None left
    of the axis, on the y labels, or right of it)."""
    left, right = PLOT_LEFT, width - PLOT_RIGHT
    if num_frames < 1 or not left - 8 <= x <= right + 8:
        return None
    return int(np.clip(round((x - left) / (right - left) * max(num_frames - 1, 1)), 0,
                       num_frames - 1))


def timeline_frame_at(x: float, num_frames: int, width: int = PLOT_WIDTH) -> int | None:
    """The frame under pixel column `x` of a memory timeline `width` wide (None on the row
    names or past the axis)."""
    left, right = TIMELINE_LEFT, width - PLOT_RIGHT
    if num_frames < 1 or not left <= x < right:
        return None
    # Column x spans [x, x + 1) and the blocks start at int(left + f * cell): its right edge
    # decides. (Multiplying, not dividing by the cell, keeps 45 from reading 44.999.)
    return min(int((x + 1 - left) * num_frames / (right - left)), num_frames - 1)


def object_size_plot(ratios: dict[int, np.ndarray], colors: dict[int, tuple[int, int, int]],
                     names: dict[int, str], lost_share: float, highlight: int | None = None,
                     size: tuple[int, int] = (PLOT_WIDTH, 220),
                     lost_at: dict[int, int] | None = None) -> np.ndarray:
    """Each object's size per frame relative to its annotation (``ratios``: id → float
    ``[T]``, NaN = no result), one line per object in its colour, its name above the plot,
    a dashed line at `lost_share` ("lost below") and a dot on each lost object's frame:
    `lost_at` (id → frame, the one the advice names), else where it is first under the line.
    ``[H, W, 3]`` RGB, ``size = (W, H)``."""
    width, height = size
    out = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = PLOT_LEFT, width - PLOT_RIGHT, 30, height - 42
    num_frames = max((len(r) for r in ratios.values()), default=0)
    finite = [r[np.isfinite(r)] for r in ratios.values()]
    peak = max((float(f.max()) for f in finite if f.size), default=1.0)
    high = float(np.clip(np.ceil(peak * 2) / 2, 1.5, 3.0))  # 1.5 .. 3 in steps of 0.5

    def y_of(v):  # a number or an array; NaN stays NaN
        return bottom - (bottom - top) * np.minimum(v, high) / high

    def x_of(i: float) -> float:
        return left + (right - left) * i / max(num_frames - 1, 1)

    _y_axis(out, "size / annotated", value_ticks(0.0, high, 4), y_of,
            (left, right, top, bottom), "{:.1f}")
    if num_frames == 0:
        _text(out, "no data yet: annotate and propagate first", (left + 10, (top + bottom) // 2))
        return out
    _frame_axis(out, x_of, num_frames, bottom, left, right)
    y_lost = int(round(y_of(lost_share)))
    for x in range(left, right, 12):  # dashed "lost" line
        cv2.line(out, (x, y_lost), (min(x + 6, right), y_lost), NEGATIVE_RGB, 1)
    _text(out, f"lost below {lost_share:.0%}", (left + 6, y_lost - 5), 0.4, NEGATIVE_RGB)
    if highlight is not None and 0 <= highlight < num_frames:
        x = int(round(x_of(highlight)))
        cv2.line(out, (x, top), (x, bottom), (150, 150, 150), 1)
    legend_x = left
    for obj_id, ratio in ratios.items():
        color = colors[obj_id]
        xs, ys = x_of(np.arange(ratio.size)), y_of(ratio)
        for run in _finite_runs(ratio):  # NaN frames break the line
            points = np.stack([xs[run], ys[run]], axis=1).round().astype(np.int32)  # [n, 2]
            cv2.polylines(out, [points.reshape(-1, 1, 2)], False, color, 2, cv2.LINE_AA)
            if len(run) == 1:  # a lone frame: a line of one point draws nothing
                cv2.circle(out, tuple(int(v) for v in points[0]), 2, color, -1, cv2.LINE_AA)
        under = np.flatnonzero(np.nan_to_num(ratio, nan=np.inf) < lost_share)
        dot = under[0] if under.size else None
        if lost_at is not None:
            dot = lost_at.get(obj_id)
        if dot is not None:
            cv2.circle(out, (int(xs[dot]), int(ys[dot])), 5, color, -1, cv2.LINE_AA)
        name = names.get(obj_id, f"object {obj_id}")[:24]
        _text(out, name, (legend_x, 18), 0.45, color)
        legend_x += cv2.getTextSize(name, FONT, 0.45, 1)[0][0] + 18
    # a flat line along the top is a capped one, not a steady size: the note says how far
    _top_right_note(out, off_scale_note(ratios, names, high), right, top)
    return out


def _top_right_note(out: np.ndarray, note: str, right: int, top: int) -> None:
    """Grey text on white just under the plot's top-right corner (nothing when `note` is "")."""
    if not note:
        return
    x = right - cv2.getTextSize(note, FONT, 0.4, 1)[0][0] - 4
    cv2.rectangle(out, (x - 3, top + 4), (right - 1, top + 20), (255, 255, 255), -1)
    _text(out, note, (x, top + 16), 0.4, (90, 90, 90))


def off_scale_note(ratios: dict[int, np.ndarray], names: dict[int, str], high: float) -> str:
    """Names the largest object that grew past the plot's top `high` (the scale stops at 3x so
    that the "lost" line stays readable), with its peak and frame; "" when none did."""
    peaks = {obj_id: (float(np.nanmax(r)), int(np.nanargmax(r)))
             for obj_id, r in ratios.items() if np.isfinite(r).any() and np.nanmax(r) > high}
    if not peaks:
        return ""
    obj_id = max(peaks, key=lambda o: peaks[o][0])
    peak, frame_idx = peaks[obj_id]
    name = names.get(obj_id, f"object {obj_id}")[:24]
    more = f" (+{len(peaks) - 1} more)" if len(peaks) > 1 else ""
    return f"off the scale: {name} up to {peak:.1f}x at frame {frame_idx}{more}"


def _finite_runs(values: np.ndarray) -> list[np.ndarray]:
    """Index arrays of the maximal runs of finite values (each at least one long)."""
    idx = np.flatnonzero(np.isfinite(values))
    return np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1) if idx.size else []


def confidence_plot(values: Sequence[float], highlight: int | None = None,
                    size: tuple[int, int] = (PLOT_WIDTH, 220)) -> np.ndarray:
    """Per-frame confidence (``size = (W, H)``): y axis "confidence" from a round value below
    the lowest frame (0.1 steps) to 1, with grid lines,
    x axis "frame" with numbered ticks; the lowest frame is a red dot with its value, the
    current frame (`highlight`) a grey vertical line."""
    width, height = size
    out = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = PLOT_LEFT, width - PLOT_RIGHT, 30, height - 42  # top: a label
    values = np.asarray(values, dtype=np.float64)
    low, high = 0.0, 1.0
    if values.size and np.isfinite(values).any():  # zoom to the data, in steps of 0.1
        low = float(np.clip(np.floor((np.nanmin(values) - 0.05) * 10) / 10, 0.0, 0.9))
        low, high = min(low, np.nanmin(values)), max(1.0, np.nanmax(values))

    def y_of(v: float) -> float:
        return bottom - (bottom - top) * (v - low) / (high - low)

    def x_of(i: float) -> float:
        return left + (right - left) * i / max(values.size - 1, 1)

    _y_axis(out, "confidence", value_ticks(low, high), y_of, (left, right, top, bottom))
    if values.size == 0:
        _text(out, "no data yet: propagate first", (left + 10, (top + bottom) // 2))
        _frame_axis(out, lambda i: left + (right - left) * i, 2, bottom, left, right)
        return out
    _frame_axis(out, x_of, values.size, bottom, left, right)
    if highlight is not None and 0 <= highlight < values.size:
        x = int(round(x_of(highlight)))
        cv2.line(out, (x, top), (x, bottom), (150, 150, 150), 1)
    xs, ys = x_of(np.arange(values.size)), y_of(np.nan_to_num(values, nan=low))
    points = np.stack([xs, ys], axis=1).round().astype(np.int32)  # [N, 2] (x, y)
    cv2.polylines(out, [points.reshape(-1, 1, 2)], False, (30, 90, 200), 2, cv2.LINE_AA)
    worst = int(np.nanargmin(values)) if np.isfinite(values).any() else 0
    cv2.circle(out, tuple(int(v) for v in points[worst]), 5, NEGATIVE_RGB, -1, cv2.LINE_AA)
    text = f"lowest {values[worst]:.2f} at frame {worst}"
    text_x = int(np.clip(points[worst][0] + 8, left, right - 220))
    # below the dot: the curve never passes under its own minimum (above, it crossed the text)
    below = points[worst][1] + 18
    text_y = int(below if below < bottom - 2 else points[worst][1] - 8)
    _text(out, text, (text_x, text_y), 0.45, NEGATIVE_RGB)
    return out


def memory_timeline(num_frames: int, memory_frames: dict[str, Sequence[int]], current: int,
                    width: int = PLOT_WIDTH, row_height: int = 24) -> np.ndarray:
    """One row per memory kind (permanent / working / local) with a block at each frame held,
    a numbered frame axis below, and a black line + "now" at the `current` frame.
    ``[rows * row_height + 44, width, 3]`` RGB."""
    label_w, right = TIMELINE_LEFT, width - PLOT_RIGHT
    rows = max(1, len(memory_frames))
    out = np.full((rows * row_height + 44, width, 3), 255, np.uint8)
    span = max(num_frames, 1)
    cell = (right - label_w) / span

    def x_of(frame: float) -> float:
        return label_w + (frame + 0.5) * cell

    spare = [(120, 120, 120), (60, 160, 60), (160, 60, 60)]
    for row, (kind, frames) in enumerate(memory_frames.items()):
        top = row * row_height + 2
        color = MEMORY_RGB.get(kind, spare[row % len(spare)])
        _text(out, kind[:11], (4, top + row_height - 8), 0.45)
        out[top:top + row_height - 2, label_w:right] = 242
        for frame in frames:
            if 0 <= frame < span:
                x0 = int(label_w + frame * cell)
                x1 = max(x0 + 2, int(label_w + (frame + 1) * cell) - 1)
                out[top:top + row_height - 2, x0:x1] = color
    axis_y = rows * row_height + 4
    _frame_axis(out, x_of, span, axis_y, label_w, right)
    if 0 <= current < span:
        x = int(round(x_of(current)))
        out[:axis_y, max(label_w, x - 1):x + 1] = 0
        _text(out, "now", (min(x + 3, right - 30), axis_y - 4), 0.4, (0, 0, 0))
    return out
