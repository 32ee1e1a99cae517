"""Measure the demo's one-object-per-pixel rule (demo/ownership.py) on held-out two-object frames.

Question: when a user marks two touching objects with clicks (the woman and her pram, the
paraglider and his wing), how good is the annotation the pass starts from, with the old rule
(each object's click-model mask stacked in the order the objects were added, the later one
winning overlaps) and with the new one (a click keeps what the other object holds unless it
lands on it)?

Frames: the DAVIS-345 instance masks of the holdout sequences with two objects (paragliding 7,
stroller 9), never trained on but click-model val objects (they choose click checkpoints and
rules), at 480p (the demo's CPU working size). A simulated user marks object after object, in
id order and again in reverse order; each object gets `--clicks` clicks, the first at the
interior point of the object farthest from its boundary (or, `--random-first N`, at N seeded
random points of the object at least 5 px inside it: where a person clicks, the pram's seat
rather than its centre), each later one on the largest error of that object *as the annotation
shows it* (the NoC rule: positive on a miss, negative on a spill). Score: IoU of each object in
the final annotation against its ground truth (void ignored), averaged over objects, frames and
both orders. The new rule runs through the app's own click handler.

    python scripts/measure_click_ownership.py --clicks 1
    python scripts/measure_click_ownership.py --clicks 3
    python scripts/measure_click_ownership.py --clicks 1 --random-first 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import gradio as gr
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo import clicks  # noqa: E402
from demo import handlers_annotate as annotate  # noqa: E402
from demo.state import DemoState  # noqa: E402
from srnet.data.davis import DEFAULT_HOLDOUT  # noqa: E402
from srnet.interactive.clicks import iou, next_click  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared/data"
VOID = 255


def _first_click(gt_obj: np.ndarray, ignore: np.ndarray, rng: np.random.Generator | None
                 ) -> tuple[float, float, bool] | None:
    """The NoC first click, or (with `rng`) a random point at least 5 px inside the object."""
    if rng is None:
        return next_click(np.zeros_like(gt_obj), gt_obj, ignore)
    inside = cv2.distanceTransform(np.pad(gt_obj, 1).astype(np.uint8), cv2.DIST_L2, 5)
    ys, xs = np.nonzero(inside[1:-1, 1:-1] >= 5)
    if not len(xs):
        return next_click(np.zeros_like(gt_obj), gt_obj, ignore)
    pick = int(rng.integers(len(xs)))
    return float(xs[pick]), float(ys[pick]), True


def _click_for(shown: np.ndarray, gt: np.ndarray, obj_id: int, first: bool,
               rng: np.random.Generator | None) -> tuple[float, float, bool] | None:
    if first:
        return _first_click(gt == obj_id, gt == VOID, rng)
    return next_click(shown, gt == obj_id, gt == VOID)


def _stacked(image: np.ndarray, gt: np.ndarray, order: list[int], num_clicks: int,
             rng: np.random.Generator | None) -> np.ndarray:
    """The old rule: each object's own click-model mask, later objects painted over."""
    own: dict[int, np.ndarray] = {}
    for obj_id in order:
        points: list[tuple[float, float, bool]] = []
        for step in range(num_clicks):
            shown = _stack(own, order, gt.shape) == obj_id
            click = _click_for(shown, gt, obj_id, step == 0, rng)
            if click is None:
                break
            points.append(click)
            own[obj_id] = clicks.apply_click(image, points, own.get(obj_id))
    return _stack(own, order, gt.shape)


def _stack(own: dict[int, np.ndarray], order: list[int], shape: tuple[int, ...]) -> np.ndarray:
    composed = np.zeros(shape, np.uint8)  # [H, W] ids
    for obj_id in order:
        if obj_id in own:
            composed[own[obj_id]] = obj_id
    return composed


def owned_annotation(image: np.ndarray, gt: np.ndarray, order: list[int], num_clicks: int,
                     rng: np.random.Generator | None) -> np.ndarray:
    """The new rule, through the demo's click handler."""
    with tempfile.TemporaryDirectory() as tmp:
        state = DemoState.create(Path(tmp), [image], 24.0, None, None)
        for obj_id in order:
            state.names[obj_id], state.selected = f"object {obj_id}", obj_id
            for step in range(num_clicks):
                shown = state.annotation(0)
                shown = np.zeros(gt.shape, bool) if shown is None else shown == obj_id
                click = _click_for(shown, gt, obj_id, step == 0, rng)
                if click is None:
                    break
                mode = "add (positive)" if click[2] else "remove (negative)"
                where = gr.SelectData(None, {"index": list(click[:2]), "value": None})
                annotate.on_click(state, mode, where)
        composed = state.annotation(0)
        return np.zeros(gt.shape, np.uint8) if composed is None else composed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=1, help="clicks per object")
    parser.add_argument("--random-first", type=int, default=0,
                        help="N seeded random first clicks per object (0: the NoC point)")
    parser.add_argument("--static", type=Path, default=SHARED / "static-masks")
    parser.add_argument("--davis", type=Path, default=SHARED / "davis2016-train")
    args = parser.parse_args()
    if clicks.load_learned(device="cpu") is not None:
        sys.exit("the learned click model did not load")
    rows = []
    for seq in DEFAULT_HOLDOUT:
        for mask_path in sorted((args.static / "davis345-train" / seq).glob("*.png")):
            gt = np.asarray(Image.open(mask_path))  # [H, W] palette ids, 255 void
            ids = [int(i) for i in np.unique(gt) if 0 < i < VOID]
            if len(ids) < 2:
                continue
            image_path = args.davis / "JPEGImages/480p" / seq / f"{mask_path.stem}.jpg"
            image = np.asarray(Image.open(image_path).convert("RGB"))
            trials = [None] if not args.random_first else range(args.random_first)
            for order in (ids, ids[::-1]):
                for trial in trials:
                    for rule, run in (("stacked", _stacked), ("owned", owned_annotation)):
                        rng = None if trial is None else np.random.default_rng(
                            [trial, int(mask_path.stem), *order])  # both rules: same clicks
                        composed = run(image, gt, order, args.clicks, rng)
                        for obj_id in ids:
                            score = iou(composed == obj_id, gt == obj_id, gt == VOID)
                            rows.append((seq, mask_path.stem, tuple(order), rule, obj_id, score))
            done = [r for r in rows if r[1] == mask_path.stem and r[0] == seq]
            print(seq, mask_path.stem, " ".join(f"{r[3]}{r[2]}:{r[4]}={r[5]:.3f}" for r in done),
                  flush=True)
    _report(rows, args.clicks)


def _report(rows: list[tuple], num_clicks: int) -> None:
    stacked = np.array([r[5] for r in rows if r[3] == "stacked"])
    owned = np.array([r[5] for r in rows if r[3] == "owned"])
    diff = owned - stacked  # the same (frame, order, object) in the same row order
    # rows of one frame (its objects, orders and seeds) are not independent: the standard
    # error is over the frames' mean differences (clustered), not over the rows
    frames = [(r[0], r[1]) for r in rows if r[3] == "stacked"]
    per_frame = np.array([diff[[f == key for f in frames]].mean() for key in sorted(set(frames))])
    error = per_frame.std(ddof=1) / np.sqrt(len(per_frame)) if len(per_frame) > 1 else float("nan")
    print(f"{len(stacked)} object annotations ({num_clicks} click(s) each) on {len(per_frame)} "
          f"frames, mean IoU: stacked {stacked.mean():.3f}, owned {owned.mean():.3f}, owned - "
          f"stacked {diff.mean():+.3f} ± {error:.3f} (paired SE over frames); "
          f"better {int((diff > 0.01).sum())}, worse {int((diff < -0.01).sum())}")
    seqs = np.array([r[0] for r in rows if r[3] == "stacked"])
    for seq in sorted(set(seqs)):
        pick = seqs == seq
        print(f"  {seq}: stacked {stacked[pick].mean():.3f}, owned {owned[pick].mean():.3f}")


if __name__ == "__main__":
    main()
