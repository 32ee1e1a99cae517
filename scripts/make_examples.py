"""Build the demo's bundled example clips in ``assets/examples/<name>/`` from DAVIS-2016 train:
``clip.mp4`` (H.264, first N frames, short side 360) + ``first_mask.png`` (DAVIS-palette index
mask of frame 0 at the clip's size, object id 1) and ``assets/examples/CREDITS.md``.

    python scripts/make_examples.py --davis ../shared/data/davis2016-train
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

log = logging.getLogger("make_examples")
SEQUENCES = ("bear", "flamingo", "car-turn")
MAX_BYTES = 2**20  # keep each clip under 1 MB
CREDITS = """# Example clips: credits

The clips in this folder are the first {frames} frames of the DAVIS-2016 sequences
`{names}`, downscaled to a short side of {short} px and re-encoded as H.264 mp4;
`first_mask.png` is the matching first-frame annotation (a DAVIS-palette PNG, object id 1),
resized with nearest-neighbour sampling.

Source: DAVIS, *A Benchmark Dataset and Evaluation Methodology for Video Object Segmentation*,
F. Perazzi, J. Pont-Tuset, B. McWilliams, L. Van Gool, M. Gross, A. Sorkine-Hornung,
CVPR 2016. <https://graphics.ethz.ch/~perazzif/davis/index.html>

License: DAVIS is released under the Creative Commons Attribution-NonCommercial 4.0 license
(CC BY-NC 4.0, <http://creativecommons.org/licenses/by-nc/4.0>), as stated in the dataset's
README. These derived clips carry the same license: non-commercial use only, with attribution.

Regenerate with `python scripts/make_examples.py`.
"""


def make_example(davis: Path, name: str, out_root: Path, frames: int, short_side: int,
                 fps: float) -> Path:
    """Write ``out_root/name/{clip.mp4, first_mask.png}``; returns the folder."""
    clip = load_clip(davis / "JPEGImages" / "480p" / name, max_frames=frames,
                     short_side=short_side)
    height, width = clip.size
    mask = load_index_mask(davis / "Annotations" / "480p" / name / "00000.png")
    mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
    folder = out_root / name
    folder.mkdir(parents=True, exist_ok=True)
    for crf in (23, 28, 33):  # raise compression until the clip fits the size budget
        video = write_mp4(folder / "clip.mp4", clip.frames, fps, crf=crf)
        if video.stat().st_size < MAX_BYTES:
            break
    save_index_mask(folder / "first_mask.png", mask.astype(np.uint8))
    log.info("%s: %d frames %dx%d, %.0f kB, mask ids %s", name, len(clip.frames), width, height,
             video.stat().st_size / 1024, np.unique(mask).tolist())
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--davis", type=Path, default=SHARED_DAVIS)
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "examples")
    parser.add_argument("--seqs", default=",".join(SEQUENCES))
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--short-side", type=int, default=360)
    parser.add_argument("--fps", type=float, default=24.0, help="DAVIS is 24 fps")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    names = [name for name in args.seqs.split(",") if name]
    for name in names:
        make_example(args.davis, name, args.out, args.frames, args.short_side, args.fps)
    (args.out / "CREDITS.md").write_text(CREDITS.format(
        names="`, `".join(names), frames=args.frames, short=args.short_side), encoding="utf-8")


if __name__ == "__main__":
    main()
