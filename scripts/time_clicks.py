"""Seconds per click of the learned click model on a frame at the app's CPU working size
(480x854 by default; the model resizes it to its own 360x640): the first click on a frame (stem
encoded) and the median of the next ones (stem cached).

    python scripts/time_clicks.py --threads 2 [--checkpoint assets/click_lite0.pt] [--no-mirror]
        [--height 360 --width 640]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from srnet import load_click_model  # noqa: E402

FRAME = Path(__file__).resolve().parents[2] / "shared/data/davis2016-train/JPEGImages/480p/bear"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--height", type=int, default=480, help="frame height (the demo's CPU "
                        "working size is short side 480; the model itself works at 360x640)")
    parser.add_argument("--width", type=int, default=854)
    parser.add_argument("--no-mirror", action="store_true",
                        help="first click without its mirror-image pass")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_click_model(args.checkpoint, "cpu")
    model.mirror_first = not args.no_mirror
    frame = np.asarray(Image.open(FRAME / "00000.jpg").convert("RGB"))
    frame = cv2.resize(frame, (args.width, args.height), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    model.predict(frame[::-1].copy(), [(10, 10, True)])  # warm-up on another image
    clicks, prev, times, cpu = [], None, [], []
    for _ in range(args.clicks + 1):
        clicks.append((float(rng.uniform(0.31, 0.69) * args.width),
                       float(rng.uniform(0.28, 0.72) * args.height),
                       bool(rng.random() < 0.7)))
        start, start_cpu = time.perf_counter(), time.process_time()
        prev = model.predict(frame, clicks, prev)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    print(f"first click (encodes the frame) {times[0]:.3f} s; next clicks median "
          f"{np.median(times[1:]):.3f} s (max {max(times[1:]):.3f}), {args.threads} threads; "
          f"CPU time (all threads) first {cpu[0]:.3f} s, next median {np.median(cpu[1:]):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
