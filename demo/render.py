"""Display-side drawing for the demo: mask overlays, click markers, heatmaps, offset flow fields,
captioned panels and panel grids (plots with axes: `demo.plots`).

Pure numpy/OpenCV; every public function returns a new uint8 ``[H, W, 3]`` RGB image and never
modifies its inputs. No gradio, no torch: the handlers convert model outputs before calling here.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from srnet import davis_palette

FONT = cv2.FONT_HERSHEY_SIMPLEX
POSITIVE_RGB = (30, 200, 60)
NEGATIVE_RGB = (230, 40, 40)
# "working" is global memory's name in the timeline's legend
MEMORY_RGB = {"permanent": (200, 60, 200), "working": (240, 150, 20), "global": (240, 150, 20),
              "local": (20, 170, 230)}


def to_rgb_u8(image: np.ndarray) -> np.ndarray:
    """Any displayable array → uint8 ``[H, W, 3]``: bool → 0/255, float in [0, 1] → 0..255,
    gray → three channels, RGBA → RGB."""
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype != np.uint8:
        image = np.nan_to_num(image.astype(np.float32))
        image = image * 255.0 if image.max(initial=0) <= 1.0 else image
        image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def _resize_nearest(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if mask.shape[:2] == tuple(size):
        return mask
    return cv2.resize(mask, (size[1], size[0]), interpolation=cv2.INTER_NEAREST_EXACT)


def _thickness(shape: tuple[int, ...], frac: float = 1 / 400) -> int:
    return max(1, int(round(np.hypot(shape[0], shape[1]) * frac)))


def overlay_mask(frame: np.ndarray, index_mask: np.ndarray, alpha: float = 0.5,
                 palette: np.ndarray | None = None, contour: bool = True) -> np.ndarray:
    """Tint each object (mask value = obj id, 0 = background) with its palette colour.

    Args:
        frame: ``[H, W, 3]`` image. index_mask: ``[h, w]`` ids, resized (nearest) to the frame.
        alpha: colour weight inside objects (1 = solid palette colour).
        palette: ``[N, 3]`` uint8 colours by id; defaults to the DAVIS palette.
        contour: draw each object's outline in its colour at full strength.
    """
    out = to_rgb_u8(frame).copy()
    mask = _resize_nearest(np.asarray(index_mask).astype(np.uint8), out.shape[:2])
    colors = davis_palette() if palette is None else np.asarray(palette, np.uint8)
    inside = mask > 0
    tint = colors[mask[inside]].astype(np.float32)
    out[inside] = np.rint(out[inside] * (1.0 - alpha) + tint * alpha).astype(np.uint8)
    if contour:
        for obj_id in np.unique(mask[inside]):
            binary = (mask == obj_id).astype(np.uint8)
            edges, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            color = tuple(int(c) for c in colors[obj_id])
            cv2.drawContours(out, edges, -1, color, _thickness(out.shape))
    return out


def draw_clicks(frame: np.ndarray, clicks: Sequence[tuple[float, float, bool]],
                radius: int | None = None) -> np.ndarray:
    """Green (positive) / red (negative) rings, outlined in white, with a dot at the exact
    ``(x, y)`` pixel position. Hollow, so a small object stays visible under its own click
    (a filled disc hid a paraglider's pilot, 15 px tall at the working size)."""
    out = to_rgb_u8(frame).copy()
    radius = radius or max(5, int(round(np.hypot(*out.shape[:2]) * 0.012)))
    for x, y, positive in clicks:
        centre = (int(round(x)), int(round(y)))
        color = POSITIVE_RGB if positive else NEGATIVE_RGB
        for r in (radius - 3, radius + 3):  # thin white lines on both sides of the ring
            cv2.circle(out, centre, r, (255, 255, 255), 1)
        cv2.circle(out, centre, radius, color, 2, cv2.LINE_AA)
        cv2.circle(out, centre, 1, color, -1)
    return out


def heatmap(values: np.ndarray, size: tuple[int, int] | None = None,
            cmap: int = cv2.COLORMAP_JET, vmin: float | None = None,
            vmax: float | None = None) -> np.ndarray:
    """Colour-map a float ``[h, w]`` map, scaled to ``[vmin, vmax]`` (default: its own range),
    resized (bilinear) to ``size = (H, W)``. NaNs count as `vmin`."""
    values = np.asarray(values, dtype=np.float32)
    finite = values[np.isfinite(values)]
    low = float(vmin) if vmin is not None else float(finite.min()) if finite.size else 0.0
    high = float(vmax) if vmax is not None else float(finite.max()) if finite.size else 1.0
    scaled = np.nan_to_num((values - low) / max(high - low, 1e-12), nan=0.0)
    if size is not None and values.shape != tuple(size):
        scaled = cv2.resize(scaled, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    gray = np.clip(np.rint(scaled * 255.0), 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(gray, cmap), cv2.COLOR_BGR2RGB)


def blend_heatmap(frame: np.ndarray, values: np.ndarray, alpha: float = 0.5,
                  **heatmap_kwargs: object) -> np.ndarray:
    """`heatmap` of `values` at the frame's size, mixed over the frame with weight `alpha`."""
    base = to_rgb_u8(frame)
    color = heatmap(values, size=base.shape[:2], **heatmap_kwargs)
    return cv2.addWeighted(base, 1.0 - alpha, color, alpha, 0.0)


def flow_to_color(flow_xy: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Direction → hue, length → brightness (HSV, full saturation).

    Args:
        flow_xy: ``[h, w, 2]`` vectors as (dx, dy) in image axes (x right, y down).
        max_magnitude: length shown at full brightness; default the field's own maximum.

    Returns: ``[h, w, 3]`` RGB. Zero flow is black. Hue follows `color_wheel`: right (+x) is red,
    down (+y) yellow-green, left cyan, up violet (OpenCV hue = angle / 2, clockwise on screen).
    """
    flow_xy = np.nan_to_num(np.asarray(flow_xy, dtype=np.float32))
    magnitude, angle = cv2.cartToPolar(flow_xy[..., 0], flow_xy[..., 1], angleInDegrees=True)
    limit = float(magnitude.max(initial=0.0)) if max_magnitude is None else float(max_magnitude)
    hsv = np.empty(flow_xy.shape[:2] + (3,), np.uint8)
    hsv[..., 0] = np.rint(angle / 2.0).astype(np.int32) % 180
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(np.rint(magnitude / max(limit, 1e-12) * 255.0), 0, 255)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def color_wheel(size: int = 128) -> np.ndarray:
    """Legend for `flow_to_color`: a disc whose pixel (x, y) shows the flow (x − c, y − c) with
    the rim at full brightness; white outside the disc. ``[size, size, 3]`` RGB."""
    centre = (size - 1) / 2.0
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    flow = np.stack([xs - centre, ys - centre], axis=-1)
    wheel = flow_to_color(flow, max_magnitude=centre)
    wheel[np.hypot(flow[..., 0], flow[..., 1]) > centre] = 255
    return wheel


def _text_width(text: str, font_scale: float) -> int:
    return cv2.getTextSize(text, FONT, font_scale, 1)[0][0]


def _wrap(text: str, width: int, font_scale: float) -> list[str]:
    """`text` in lines at most `width` px wide, broken between words (a narrow portrait panel
    keeps its whole caption: the numbers are at the end); a word too wide alone is shortened."""
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and _text_width(trial, font_scale) > width:
            lines.append(line)
            trial = word
        line = trial
    lines.append(line)
    for i, line in enumerate(lines):
        while _text_width(line, font_scale) > width and len(line) > 2:
            line = line[:-2] + "."
        lines[i] = line
    return lines


def _caption(image: np.ndarray, lines: list[str], line_height: int, rows: int) -> np.ndarray:
    """`image` under a white bar of `rows` text lines (rows ≥ len(lines): a row of panels
    shares one bar height)."""
    canvas = np.full((line_height * rows + image.shape[0], image.shape[1], 3), 255, np.uint8)
    canvas[line_height * rows:] = image
    for i, line in enumerate(lines):
        cv2.putText(canvas, line, (2, int(line_height * (i + 0.72))), FONT, line_height / 40.0,
                    (20, 20, 20), 1, cv2.LINE_AA)
    return canvas


def side_by_side(images: Sequence[np.ndarray], labels: Sequence[str] | None = None,
                 height: int = 240, gap: int = 4) -> np.ndarray:
    """Panels scaled to a common height (aspect kept), each captioned (wrapped to its width),
    joined left to right with white gaps. The height is `height`, or more for portrait
    panels, so that each stays at least 3/4 of `height` wide (a phone clip's 9:16 frames would
    otherwise be 135 px wide). Bool / float / gray images are accepted (see `to_rgb_u8`)."""
    if not images:
        raise ValueError("side_by_side needs at least one image")
    labels = list(labels) if labels is not None else [""] * len(images)
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    line_height = max(16, height // 10)
    images = [to_rgb_u8(image) for image in images]
    tallest = max(image.shape[0] / image.shape[1] for image in images)  # height / width
    height = max(height, int(round(0.75 * height * tallest)))
    resized, wrapped = [], []
    for image, label in zip(images, labels):
        width = max(1, int(round(image.shape[1] * height / image.shape[0])))
        interp = cv2.INTER_AREA if image.shape[0] > height else cv2.INTER_NEAREST
        resized.append(cv2.resize(image, (width, height), interpolation=interp))
        wrapped.append(_wrap(label, width - 4, line_height / 40.0))
    rows = max(len(lines) for lines in wrapped)
    panels = []
    for image, lines in zip(resized, wrapped):
        panels.append(_caption(image, lines, line_height, rows))
        panels.append(np.full((line_height * rows + height, gap, 3), 255, np.uint8))
    return np.concatenate(panels[:-1], axis=1)


def grid(images: Sequence[np.ndarray], labels: Sequence[str], columns: int,
         height: int = 240, gap: int = 6) -> np.ndarray:
    """`side_by_side` rows of at most `columns` panels, stacked top to bottom (rows padded
    with white to the widest), so many panels stay large when the page scales the image."""
    rows = [side_by_side(images[i:i + columns], labels[i:i + columns], height=height)
            for i in range(0, len(images), columns)]
    width = max(row.shape[1] for row in rows)
    padded = []
    for row in rows:
        pad = np.full((row.shape[0], width - row.shape[1], 3), 255, np.uint8)
        padded += [np.concatenate([row, pad], axis=1), np.full((gap, width, 3), 255, np.uint8)]
    return np.concatenate(padded[:-1], axis=0)
