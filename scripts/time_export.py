"""Seconds the demo's Export takes at the working size and at the source resolution, on a
1080p clip made from a DAVIS sequence (its frames enlarged to 1920x1080) with the ground-truth
first mask on every frame (the export does not care where masks come from).

    python scripts/time_export.py [--seq lucia] [--frames 60]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import cv2
from davis_upload import first_mask, sequence_args, upload_sequence  # puts the repo on the path

from demo.handlers_export import export_all


def main() -> int:
    args = sequence_args(__doc__.splitlines()[0], "lucia")
    with tempfile.TemporaryDirectory() as tmp:
        _, state = upload_sequence(args.seq, args.frames, Path(tmp), size=(1920, 1080))
        mask = cv2.resize(first_mask(args.seq), state.size[::-1], interpolation=cv2.INTER_NEAREST)
        state.masks = {i: mask for i in range(state.num_frames)}
        for at_source in (False, True):  # the first call also writes the overlay video
            start = time.perf_counter()
            status = export_all(state, at_source)[-1]
            print(f"{time.perf_counter() - start:.1f} s  {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
