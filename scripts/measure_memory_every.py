"""How far a mistake stored in memory spreads: the README walk-through's step 4 (session 40).

Propagates the bundled `teaching` clip from its first-frame mask twice, with the default
memory (a frame joins every 5 frames, at most 10 working frames) and with `--every` (1: every
frame joins, so the 10-frame cap spans only the last 10 frames and a mistake, once stored, is
matched against itself), and prints, per frame, the IoU between the two passes' masks and
their object areas.

    python scripts/measure_memory_every.py [--every 1] [--checkpoint PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from srnet import InferenceConfig, load_index_mask, load_predictor  # noqa: E402
from srnet.io import read_video  # noqa: E402

TEACHING = Path(__file__).resolve().parents[1] / "assets" / "examples" / "teaching"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--every", type=int, default=1, help="mem_every of the second pass")
    parser.add_argument("--checkpoint", default=None, help="default: assets/srnet_lite.pt")
    args = parser.parse_args()
    frames, _ = read_video(TEACHING / "clip.mp4")
    first_mask = load_index_mask(TEACHING / "first_mask.png")
    predictor, _ = load_predictor(args.checkpoint, device="cpu")
    masks = {}
    for every in (InferenceConfig().mem_every, args.every):
        session = predictor.new_session(InferenceConfig(mem_every=every))
        masks[every] = [out.mask > 0 for out in
                        predictor.propagate(session, frames, start=0, mask=first_mask)]
    default, other = masks[InferenceConfig().mem_every], masks[args.every]
    print(f"frame  IoU(default, mem_every={args.every})  px default  px mem_every={args.every}")
    for frame_idx, (a, b) in enumerate(zip(default, other)):
        iou = np.logical_and(a, b).sum() / max(np.logical_or(a, b).sum(), 1)
        print(f"{frame_idx:5d}  {iou:.3f}  {int(a.sum()):7d}  {int(b.sum()):7d}")


if __name__ == "__main__":
    main()
