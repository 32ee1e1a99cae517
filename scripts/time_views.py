"""Seconds the demo's Look inside takes to draw every view of one frame (what a frame change
waits for), before and after an ablation rerun, on a DAVIS sequence loaded as an mp4 upload at
the CPU working size, propagated from its ground-truth first mask. Also the ablation rerun.

    python scripts/time_views.py [--seq flamingo] [--frames 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo.config import DemoConfig  # noqa: E402
from demo.handlers import DemoContext  # noqa: E402
from demo.handlers_ablation import run_ablation  # noqa: E402
from demo.handlers_inspect import inspect_frame  # noqa: E402
from demo.handlers_load import load_upload  # noqa: E402
from demo.handlers_propagate import propagate  # noqa: E402
from demo.video_io import write_mp4  # noqa: E402
from srnet import load_index_mask, load_predictor  # noqa: E402

DAVIS = Path(__file__).resolve().parents[2] / "shared/data/davis2016-train"


def _median_view_seconds(state, frames: list[int]) -> float:
    times = []
    for frame_idx in frames:
        start = time.perf_counter()
        inspect_frame(state, frame_idx)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq", default="flamingo")
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    files = sorted((DAVIS / "JPEGImages/480p" / args.seq).glob("*.jpg"))[:args.frames]
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / f"{args.seq}.mp4"
        write_mp4(clip, (np.asarray(Image.open(f).convert("RGB")) for f in files), 24)
        predictor, _ = load_predictor(device="cpu")
        ctx = DemoContext(predictor, DemoConfig(temp_root=Path(tmp) / "sessions"))
        state = load_upload(ctx, str(clip), 0, 0, 1, None)[0]
        first = load_index_mask(DAVIS / "Annotations/480p" / args.seq / "00000.png")
        state.set_object_mask(0, 1, first > 0)
        for item in propagate(ctx, state, "forward", 0):
            state = item[0]
        kept = sorted(f for f, out in state.outputs.items() if out.visuals is not None)
        print(f"{args.seq}: {state.num_frames} frames at {state.size[1]}x{state.size[0]}, "
              f"{len(kept)} keep their internals")
        print(f"views of one frame: {_median_view_seconds(state, kept[-10:]):.2f} s "
              "(median of the last 10 processed frames)")
        start = time.perf_counter()
        for item in run_ablation(ctx, state, 0):
            state = item[0]
        print(f"ablation rerun: {time.perf_counter() - start:.1f} s")
        print(f"views of one frame after it: {_median_view_seconds(state, kept[-10:]):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
