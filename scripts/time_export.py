"""Seconds the demo's Export takes at the working size and at the source resolution, on a
1080p clip made from a DAVIS sequence (its frames enlarged to 1920x1080) with the ground-truth
first mask on every frame (the export does not care where masks come from).

    python scripts/time_export.py [--seq lucia] [--frames 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo.config import DemoConfig  # noqa: E402
from demo.handlers import DemoContext  # noqa: E402
from demo.handlers_export import export_all  # noqa: E402
from demo.handlers_load import load_upload  # noqa: E402
from demo.video_io import write_mp4  # noqa: E402
from srnet import load_index_mask, load_predictor  # noqa: E402

DAVIS = Path(__file__).resolve().parents[2] / "shared/data/davis2016-train"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq", default="lucia")
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    files = sorted((DAVIS / "JPEGImages/480p" / args.seq).glob("*.jpg"))[:args.frames]
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / f"{args.seq}_1080p.mp4"
        write_mp4(clip, (cv2.resize(np.asarray(Image.open(f).convert("RGB")), (1920, 1080),
                                    interpolation=cv2.INTER_CUBIC) for f in files), 24)
        predictor, _ = load_predictor(device="cpu")
        ctx = DemoContext(predictor, DemoConfig(temp_root=Path(tmp) / "sessions"))
        state = load_upload(ctx, str(clip), 0, 0, 1, None)[0]
        first = load_index_mask(DAVIS / "Annotations/480p" / args.seq / "00000.png")
        mask = cv2.resize(first, state.size[::-1], interpolation=cv2.INTER_NEAREST)
        state.masks = {i: mask for i in range(state.num_frames)}
        for at_source in (False, True):  # the first call also writes the overlay video
            start = time.perf_counter()
            status = export_all(state, at_source)[-1]
            print(f"{time.perf_counter() - start:.1f} s  {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
