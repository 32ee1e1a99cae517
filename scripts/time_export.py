"""Seconds the demo's Export takes at the working size and at the source resolution, and the
size of each file it writes, on a 1080p clip made from a DAVIS sequence (its frames enlarged to
1920x1080, or 1080x1920 with `--portrait`) with the ground-truth first mask on every frame
(the export does not care where masks come from).

    python scripts/time_export.py [--seq lucia] [--frames 60] [--portrait]
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
    args = sequence_args(__doc__.splitlines()[0], "lucia", portrait=True)
    size = (1080, 1920) if args.portrait else (1920, 1080)  # cv2's (W, H)
    with tempfile.TemporaryDirectory() as tmp:
        _, state = upload_sequence(args.seq, args.frames, Path(tmp), size=size)
        mask = cv2.resize(first_mask(args.seq), state.size[::-1], interpolation=cv2.INTER_NEAREST)
        state.masks = {i: mask for i in range(state.num_frames)}
        for at_source in (False, True):  # the first call also writes the overlay video
            start = time.perf_counter()
            *files, status = export_all(state, at_source)
            print(f"{time.perf_counter() - start:.1f} s  {status}")
            for path in filter(None, files):
                print(f"    {Path(path).name}: {Path(path).stat().st_size / 2**20:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
