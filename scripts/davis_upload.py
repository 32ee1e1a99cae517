"""Shared by the demo timing scripts (`time_export.py`, `time_views.py`): a DAVIS-2016 training
sequence written as an mp4 and loaded through the demo's own upload path, so the timings see
what a user's upload goes through."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo.config import DemoConfig  # noqa: E402
from demo.handlers import DemoContext  # noqa: E402
from demo.handlers_load import load_upload  # noqa: E402
from demo.state import DemoState  # noqa: E402
from demo.video_io import write_mp4  # noqa: E402
from srnet import load_index_mask, load_predictor  # noqa: E402

DAVIS = Path(__file__).resolve().parents[2] / "shared/data/davis2016-train"


def sequence_args(description: str, seq: str, portrait: bool = False) -> argparse.Namespace:
    """`--seq` (default `seq`), `--frames` (default 60) and `--threads` (default 1, applied:
    the README's timings are on one thread; torch would take every core); `--portrait` too
    when asked for."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seq", default=seq)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    if portrait:
        parser.add_argument("--portrait", action="store_true",
                            help="a 1080x1920 (portrait) clip instead of 1920x1080")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    return args


def upload_sequence(seq: str, frames: int, tmp: Path,
                    size: tuple[int, int] | None = None) -> tuple[DemoContext, DemoState]:
    """The first `frames` frames of `seq` (resized to `size` = (W, H) when given) as an mp4 in
    `tmp`, loaded by the demo with the shipped checkpoint on the CPU."""
    files = sorted((DAVIS / "JPEGImages/480p" / seq).glob("*.jpg"))[:frames]
    clip = tmp / f"{seq}.mp4"
    images = (np.asarray(Image.open(f).convert("RGB")) for f in files)
    if size is not None:
        images = (cv2.resize(image, size, interpolation=cv2.INTER_CUBIC) for image in images)
    write_mp4(clip, images, 24)
    predictor, _ = load_predictor(device="cpu")
    ctx = DemoContext(predictor, DemoConfig(temp_root=tmp / "sessions"))
    return ctx, load_upload(ctx, str(clip), 0, 0, 1, None)[0]


def first_mask(seq: str) -> np.ndarray:
    """The sequence's ground-truth first-frame mask (0/255 PNG as an index mask)."""
    return load_index_mask(DAVIS / "Annotations/480p" / seq / "00000.png")
