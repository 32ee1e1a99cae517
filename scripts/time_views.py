"""Seconds the demo's Look inside takes to draw every view of one frame (what a frame change
waits for), before and after an ablation rerun, on a DAVIS sequence loaded as an mp4 upload at
the CPU working size, propagated from its ground-truth first mask. Also the ablation rerun.

    python scripts/time_views.py [--seq flamingo] [--frames 60]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from davis_upload import first_mask, sequence_args, upload_sequence  # puts the repo on the path

from demo.handlers_ablation import run_ablation
from demo.handlers_inspect import inspect_frame
from demo.handlers_propagate import propagate


def _median_view_seconds(state, frames: list[int]) -> float:
    times = []
    for frame_idx in frames:
        start = time.perf_counter()
        inspect_frame(state, frame_idx)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    args = sequence_args(__doc__.splitlines()[0], "flamingo")
    with tempfile.TemporaryDirectory() as tmp:
        ctx, state = upload_sequence(args.seq, args.frames, Path(tmp))
        state.set_object_mask(0, 1, first_mask(args.seq) > 0)
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
