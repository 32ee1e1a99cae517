"""Brush and eraser painting on top of the current mask, without Gradio's ImageEditor.

The page shows the frame with the selected object's current mask already tinted in (so what
is painted is aligned with what is kept); a transparent canvas laid exactly over that image
records strokes in image pixels and draws them live. Pressing "Use painted mask" sends the
strokes as JSON; `apply_strokes` then adds the brush strokes to the mask and removes the eraser
strokes from it, keeping everything else.

Readiness (no lost strokes): until the image of the current frame has loaded and the canvas
sits on it, the canvas takes no input and the line above it says "loading … painting disabled";
then it says "ready" and the box gets `data-ready="1"` (what the browser test waits for).
"""

from __future__ import annotations

import base64
import json
import logging

import cv2
import numpy as np

log = logging.getLogger(__name__)
MAX_POINTS = 20_000  # per apply, all strokes together
MODES = ("brush", "eraser")

PAINTER_JS = r"""
{
const api = window.srnetPainter = window.srnetPainter || { strokes: [], key: null };
api.take = () => { const s = JSON.stringify(api.strokes); api.clear(); return s; };
api.clear = () => { api.strokes = []; if (api.redraw) api.redraw(); };
const wired = new WeakSet();
const mode = () => {
  const on = document.querySelector('#paint-mode input:checked');
  return on && on.value.startsWith('eraser') ? 'eraser' : 'brush';
};
const size = () => {
  const input = document.querySelector('#paint-size input[type=number]');
  const value = input ? parseFloat(input.value) : 16;
  return Math.max(1, Math.min(200, isFinite(value) ? value : 16));
};
function draw(canvas) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  for (const s of api.strokes) {
    ctx.strokeStyle = s.mode === 'brush' ? 'rgba(255,47,160,0.65)' : 'rgba(10,10,10,0.7)';
    ctx.fillStyle = ctx.strokeStyle;
    ctx.lineWidth = s.size; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
    ctx.beginPath();
    s.points.forEach(([x, y], i) => i ? ctx.lineTo(x, y) : ctx.moveTo(x, y));
    if (s.points.length > 1) { ctx.stroke(); continue; }
    ctx.arc(s.points[0][0], s.points[0][1], s.size / 2, 0, 7); ctx.fill();
  }
}
function wire(box, canvas) {
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [Math.round((e.clientX - r.left) * canvas.width / r.width * 10) / 10,
            Math.round((e.clientY - r.top) * canvas.height / r.height * 10) / 10];
  };
  let current = null;
  canvas.addEventListener('pointerdown', (e) => {
    if (box.dataset.ready !== '1') return;
    canvas.setPointerCapture(e.pointerId);
    current = { mode: mode(), size: size(), points: [point(e)] };
    api.strokes.push(current); draw(canvas); e.preventDefault();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (current) { current.points.push(point(e)); draw(canvas); }
  });
  const end = () => { current = null; };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
}
function setup() {
  const box = element.querySelector('.painter-box');
  const status = element.querySelector('.painter-status');
  if (!box || !status) return;
  const img = box.querySelector('img'), canvas = box.querySelector('canvas');
  if (!wired.has(canvas)) { wired.add(canvas); wire(box, canvas); }
  api.redraw = () => draw(canvas);
  if (box.dataset.key === api.key && box.dataset.ready === '1') return;
  if (box.dataset.key !== api.key) { api.key = box.dataset.key; api.strokes = []; }
  box.dataset.ready = '0';
  canvas.style.pointerEvents = 'none';
  const ready = () => {
    if (box.dataset.key !== api.key) return;
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    canvas.style.pointerEvents = 'auto';
    box.dataset.ready = '1';
    status.textContent = 'Ready: drag on the frame to paint (brush adds, eraser removes), ' +
      'then press "Use painted mask".';
    draw(canvas);
  };
  if (img.complete && img.naturalWidth > 0) ready();
  else img.addEventListener('load', ready, { once: true });
}
new MutationObserver(setup).observe(element, { childList: true, subtree: true,
  attributes: true, attributeFilter: ['data-key', 'src'] });  // re-render, or in-place update
setup();
}
"""

READY_JS = r"""
{
// The click view (#annotate): data-ready="0" from the moment its image changes until the new
// image has loaded, "1" after; clicks made meanwhile would hit the old image, so the view
// ignores pointer input (and its caption says so) until it is ready.
const srnetWatchClicks = () => {
  const view = document.getElementById('annotate');
  const img = view && view.querySelector('img');
  if (!img) return;
  const mark = () => {
    const ok = img.complete && img.naturalWidth > 0;
    if (view.dataset.ready !== (ok ? '1' : '0')) view.dataset.ready = ok ? '1' : '0';
    img.style.pointerEvents = ok ? '' : 'none';
    const line = element.querySelector('.click-status');
    const text = ok ? 'Ready: click on the object.' :
      'Loading the frame… clicks are disabled until it is shown.';
    if (line && line.textContent !== text) line.textContent = text;  // no observer loop
  };
  if (img.dataset.watched !== '1') {
    img.dataset.watched = '1';
    img.addEventListener('load', mark);
    new MutationObserver(mark).observe(img, { attributes: true, attributeFilter: ['src'] });
  }
  mark();
};
new MutationObserver(srnetWatchClicks).observe(document.body, { childList: true, subtree: true });
srnetWatchClicks();
}
"""

PAINTER_CSS = """
.painter-box { position: relative; display: inline-block; width: 100%; line-height: 0; }
.painter-box img { width: 100%; height: auto; display: block; user-select: none; }
.painter-box canvas { position: absolute; left: 0; top: 0; width: 100%; height: 100%;
  pointer-events: none; cursor: crosshair; touch-action: none; }
.painter-status { font-size: 0.9em; margin: 4px 0; }
"""


def _fit_style(image: np.ndarray) -> str:
    """The box as wide as the column, but no taller than 75 % of the window: a portrait
    (phone) frame at full column width is taller than the screen, and strokes cannot be drawn
    on what is scrolled away. The canvas follows the box, so it stays aligned."""
    height, width = image.shape[:2]
    return f"width: min(100%, calc(75vh * {width / height:.4f}))"


def painter_html(image: np.ndarray | None, key: str) -> str:
    """The painter's HTML: a status line and the image (JPEG data URL) with a canvas on top.
    `key` changes with the frame / object / mask, so a stale stroke set is never applied."""
    if image is None:
        return '<div class="painter-status">Load a clip first.</div>'
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]),
                            [cv2.IMWRITE_JPEG_QUALITY, 90])
    src = "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode() if ok else ""
    return (f'<div class="painter-status" data-key="{key}">Loading the frame… painting is '
            f'disabled until it is shown.</div><div class="painter-box" data-key="{key}" '
            f'style="{_fit_style(image)}">'
            f'<img alt="frame to paint on" draggable="false" src="{src}">'
            f'<canvas></canvas></div>')


def parse_strokes(text: str | None) -> list[dict]:
    """Validated strokes from the page's JSON: [{mode, size, points [[x, y], …]}, …].
    Raises ValueError with a user-facing message."""
    try:
        strokes = json.loads(text or "[]")
    except (json.JSONDecodeError, RecursionError) as exc:  # RecursionError: deep nesting
        raise ValueError("the painted strokes could not be read") from exc
    if not isinstance(strokes, list):
        raise ValueError("the painted strokes could not be read")
    clean, total = [], 0
    for stroke in strokes:
        if not isinstance(stroke, dict) or stroke.get("mode") not in MODES:
            raise ValueError("a stroke has no valid tool (brush or eraser)")
        try:  # a client may send anything: a null size, points as a dict, NaN (JSON allows it)
            points = np.asarray(stroke.get("points") or [], dtype=np.float64).reshape(-1, 2)
            size = float(stroke.get("size", 16))
        except (TypeError, ValueError) as exc:
            raise ValueError("a stroke's points or size could not be read") from exc
        if not np.isfinite(size):
            raise ValueError("a stroke's size is not a number")
        total += len(points)
        if total > MAX_POINTS:
            raise ValueError(f"too many painted points (over {MAX_POINTS}): apply more often")
        size = float(np.clip(size, 1, 200))
        if len(points) and np.isfinite(points).all():
            clean.append({"mode": stroke["mode"], "size": size, "points": points})
    return clean


def apply_strokes(mask: np.ndarray | None, strokes: list[dict],
                  shape: tuple[int, int]) -> np.ndarray:
    """Brush strokes add to `mask` (bool ``[H, W]``, None = empty), eraser strokes remove from
    it, in the order painted; pixels no stroke touches keep their value."""
    out = np.zeros(shape, bool) if mask is None else mask.astype(bool).copy()
    for stroke in strokes:
        drawn = np.zeros(shape, np.uint8)
        points = np.rint(stroke["points"]).astype(np.int32)  # [P, 2] (x, y)
        thickness = max(1, int(round(stroke["size"])))
        if len(points) > 1:
            cv2.polylines(drawn, [points.reshape(-1, 1, 2)], False, 1, thickness, cv2.LINE_8)
        for x, y in points[[0, -1]]:
            cv2.circle(drawn, (int(x), int(y)), thickness // 2, 1, -1)
        if stroke["mode"] == "brush":
            out |= drawn > 0
        else:
            out &= drawn == 0
    return out
