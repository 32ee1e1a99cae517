"""The start-up speed probe: how fast the demo propagates on this machine, for the header's
speed hint before any user has run a pass."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from demo.handlers import probe_size
from srnet import Predictor


def measure_fps(predictor: Predictor, short_side: int, frames: int = 6,
                warmup: int = 3) -> float:
    """Frames per second of propagation as the demo runs it (internals returned) on a synthetic
    textured clip at the working size, after `warmup` propagated frames (first-call setup,
    memory building) that are not counted. `scripts/measure_speed_hint.py` checks it against a
    real propagation."""
    height, width = probe_size(short_side)
    rng = np.random.default_rng(0)
    background = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    clip, mask = [], np.zeros((height, width), np.uint8)
    for t in range(frames + warmup + 1):  # a square moving over a fixed texture
        frame = background.copy()
        top, left = height // 4, width // 4 + 4 * t
        frame[top:top + height // 3, left:left + width // 4] = (220, 60, 40)
        clip.append(frame)
    mask[height // 4: height // 4 + height // 3, width // 4: width // 4 + width // 4] = 1
    # memory every 2nd frame: by the timed frames it holds as many frames as midway through
    # a typical clip (the read's cost grows with memory), not the near-empty memory of frame 1
    session = predictor.new_session(dataclasses.replace(predictor.config, short_side=short_side,
                                                        mem_every=2))
    predictor.step(session, 0, clip[0], mask)
    started = None
    for out in predictor.propagate(session, clip, 1, return_visuals=True):
        if out.frame_idx == warmup:
            started = time.perf_counter()
    return frames / max(time.perf_counter() - started, 1e-6)
