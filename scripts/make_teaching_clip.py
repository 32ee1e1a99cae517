"""Build the demo's synthetic *teaching* clip, where the true motion is known, and measure how
well FAM's offsets agree with it.

An object cut with its DAVIS mask from one held-out sequence (the car of `car-turn`) is pasted on
a still frame of another held-out sequence (`stroller`); the background pans by `BG_SHIFT` px
per frame and the object moves by `OBJ_SHIFT` px per frame on top of it. So, relative to the
background, the object moves by OBJ_SHIFT − BG_SHIFT per frame, and a FAM that follows the
motion would fetch each object pixel from −(OBJ_SHIFT − BG_SHIFT) in the previous frame.

    python scripts/make_teaching_clip.py            # writes assets/examples/teaching/
    python scripts/make_teaching_clip.py --measure  # + FAM offset on the object vs the truth
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED_DAVIS = ROOT.parent / "shared" / "data" / "davis2016-train"  # beside the checkout
sys.path.insert(0, str(ROOT))

from demo.video_io import load_clip, write_mp4  # noqa: E402
from srnet import load_index_mask, save_index_mask  # noqa: E402

log = logging.getLogger("make_teaching_clip")
SIZE = (360, 640)  # (H, W): the demo's CPU working size, so the model sees these pixels
FRAMES = 24
BG_SHIFT = (-2.0, 0.0)  # background content (dx, dy) per frame: a slow pan
OBJ_SHIFT = (8.0, 2.0)  # object (dx, dy) per frame in the frame's coordinates
OBJECT = ("car-turn", 0)  # (sequence, frame) the object is cut from
BACKGROUND = ("stroller", 0)
CREDITS = """# Teaching clip: credits

`clip.mp4` is synthetic, made by `scripts/make_teaching_clip.py`: the car of DAVIS-2016
`{obj}` (frame {obj_frame}, cut out with its ground-truth mask) pasted on frame {bg_frame} of
`{bg}`. The background pans by {bg_shift} px per frame and the car moves by {obj_shift} px per
frame, so the car's true motion relative to the background is {rel} px per frame.
`first_mask.png` is the car's mask on frame 0 (object id 1).

Source: DAVIS, *A Benchmark Dataset and Evaluation Methodology for Video Object Segmentation*,
F. Perazzi, J. Pont-Tuset, B. McWilliams, L. Van Gool, M. Gross, A. Sorkine-Hornung,
CVPR 2016, CC BY-NC 4.0 (non-commercial use only, with attribution).
"""


def _cut_object(davis: Path, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(RGB crop, bool mask) of the object, scaled to `height` px tall."""
    name, index = OBJECT
    image = cv2.imread(str(davis / "JPEGImages/480p" / name / f"{index:05d}.jpg"))[..., ::-1]
    mask = load_index_mask(davis / "Annotations/480p" / name / f"{index:05d}.png") > 0
    ys, xs = np.nonzero(mask)
    crop = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    scale = height / (ys.max() + 1 - ys.min())
    size = (int(round((xs.max() + 1 - xs.min()) * scale)), height)
    rgb = cv2.resize(np.ascontiguousarray(image[crop]), size, interpolation=cv2.INTER_AREA)
    cut = cv2.resize(mask[crop].astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    return rgb, cut


def make_frames(davis: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The clip's frames ``[H, W, 3]`` and true object masks ``[H, W]`` (0/1)."""
    height, width = SIZE
    name, index = BACKGROUND
    scene = cv2.imread(str(davis / "JPEGImages/480p" / name / f"{index:05d}.jpg"))[..., ::-1]
    pan = abs(BG_SHIFT[0]) * FRAMES
    scale = max(height / scene.shape[0], (width + pan + 2) / scene.shape[1])
    scene = cv2.resize(np.ascontiguousarray(scene), None, fx=scale, fy=scale,
                       interpolation=cv2.INTER_AREA)
    rgb, cut = _cut_object(davis, height // 3)
    frames, masks = [], []
    for t in range(FRAMES):
        left = -BG_SHIFT[0] * t  # window moves right → content moves left
        shift = np.float32([[1, 0, -left], [0, 1, -BG_SHIFT[1] * t]])
        frame = cv2.warpAffine(scene, shift, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        x0, y0 = 40 + OBJ_SHIFT[0] * t, height // 2 - cut.shape[0] // 2 + OBJ_SHIFT[1] * t
        place = np.float32([[1, 0, x0], [0, 1, y0]])
        obj = cv2.warpAffine(rgb, place, (width, height), flags=cv2.INTER_LINEAR)
        alpha = cv2.warpAffine(cut.astype(np.float32), place, (width, height),
                               flags=cv2.INTER_LINEAR)[..., None]  # [H, W, 1]
        frames.append((frame * (1 - alpha) + obj * alpha).round().astype(np.uint8))
        masks.append((alpha[..., 0] > 0.5).astype(np.uint8))
    return frames, masks


def write_clip(davis: Path, out: Path) -> list[np.ndarray]:
    frames, masks = make_frames(davis)
    out.mkdir(parents=True, exist_ok=True)
    video = write_mp4(out / "clip.mp4", frames, 24.0, crf=23)
    save_index_mask(out / "first_mask.png", masks[0])
    rel = (OBJ_SHIFT[0] - BG_SHIFT[0], OBJ_SHIFT[1] - BG_SHIFT[1])
    (out / "CREDITS.md").write_text(CREDITS.format(
        obj=OBJECT[0], obj_frame=OBJECT[1], bg=BACKGROUND[0], bg_frame=BACKGROUND[1],
        bg_shift=BG_SHIFT, obj_shift=OBJ_SHIFT, rel=rel), encoding="utf-8")
    log.info("wrote %s (%.0f kB, %d frames)", out, video.stat().st_size / 1024, len(frames))
    return masks


def _cells(mask: np.ndarray, grid: tuple[int, int], cell: tuple[float, float]) -> np.ndarray:
    """Share of each FAM grid cell covered by `mask`: ``[h_g, w_g]`` float."""
    full = (int(round(grid[1] * cell[1])), int(round(grid[0] * cell[0])))
    padded = np.zeros((full[1], full[0]), np.float32)
    height, width = min(mask.shape[0], full[1]), min(mask.shape[1], full[0])
    padded[:height, :width] = mask[:height, :width]
    return cv2.resize(padded, (grid[1], grid[0]), interpolation=cv2.INTER_AREA)


def measure(clip_path: Path, masks: list[np.ndarray], checkpoint: str | None) -> str:
    """Median over frames of FAM's offset on the object minus its offset on the background,
    against the truth −(OBJ_SHIFT − BG_SHIFT); returns the summary line (also logged)."""
    import torch

    from srnet import InferenceConfig, load_predictor

    torch.set_num_threads(max(1, torch.get_num_threads()))
    predictor, _ = load_predictor(checkpoint, device="cpu",
                                  config=InferenceConfig(short_side=SIZE[0]))
    frames = load_clip(clip_path, max_frames=FRAMES, short_side=SIZE[0]).frames
    session = predictor.new_session()
    predictor.step(session, 0, frames[0], masks[0])
    relative, to_median = [], []
    for out in predictor.propagate(session, frames, 1, return_visuals=True):
        vis = out.visuals
        flow = vis.fam_flow  # [h, w, 2] (dx, dy): where each cell samples the previous frame
        if flow is None:  # no previous frame in memory yet
            continue
        cover = _cells(masks[out.frame_idx], flow.shape[:2], vis.cell_size)
        obj, background = cover > 0.5, cover == 0
        if obj.sum() < 2 or background.sum() < 2:
            continue
        on = np.median(flow[obj], axis=0)  # [2]
        relative.append(on - np.median(flow[background], axis=0))
        to_median.append(on - np.median(flow.reshape(-1, 2), axis=0))
    truth = -np.subtract(OBJ_SHIFT, BG_SHIFT)
    measured, shown = np.median(relative, axis=0), np.median(to_median, axis=0)
    error = float(np.hypot(*(measured - truth)))
    cosine = float(measured @ truth / max(np.hypot(*measured) * np.hypot(*truth), 1e-9))
    line = (f"FAM offset on the object relative to the background: median ({measured[0]:+.1f}, "
            f"{measured[1]:+.1f}) px/frame vs true ({truth[0]:+.1f}, {truth[1]:+.1f}); error "
            f"{error:.1f} px, direction cosine {cosine:+.2f}; as the view draws it (minus the "
            f"frame's median): ({shown[0]:+.1f}, {shown[1]:+.1f}); {len(relative)} frames")
    log.info("%s", line)
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--davis", type=Path, default=SHARED_DAVIS)
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "examples" / "teaching")
    parser.add_argument("--measure", action="store_true",
                        help="run the model on the clip and compare FAM's offsets to the truth")
    parser.add_argument("--checkpoint", default=None, help="default: the bundled checkpoint")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    masks = write_clip(args.davis, args.out)
    if args.measure:
        print(measure(args.out / "clip.mp4", masks, args.checkpoint))


if __name__ == "__main__":
    main()
