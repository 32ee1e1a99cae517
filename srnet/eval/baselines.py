"""Model-free reference methods with a predictor's output shape: one ``[H, W]`` uint8 index mask per
input frame, yielded as a generator (frame 0 gets the given first mask).

``copy_baseline`` repeats frame 0's mask; ``flow_baseline`` carries the previous mask forward with
OpenCV's DIS optical flow. They bound what "no learning" scores on a sequence.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import cv2
import numpy as np


def copy_baseline(frames: Sequence[np.ndarray], first_mask: np.ndarray) -> Iterator[np.ndarray]:
    """Frame 0's ``[H, W]`` index mask for every one of ``frames``."""
    mask = np.asarray(first_mask, dtype=np.uint8)
    for _ in frames:
        yield mask.copy()


def _gray(frame: np.ndarray) -> np.ndarray:
    """``[H, W, 3]`` RGB (or ``[H, W]`` gray) uint8 -> ``[H, W]`` uint8 gray."""
    frame = np.asarray(frame, dtype=np.uint8)
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)  # [H, W]


def flow_baseline(frames: Sequence[np.ndarray], first_mask: np.ndarray) -> Iterator[np.ndarray]:
    """Propagate ``first_mask`` by backward warping with DIS optical flow (preset MEDIUM).

    For frame t the flow from t to t-1 gives, per pixel of t, where it was in t-1; the mask of
    t-1 is sampled there (nearest neighbour, 0 outside the image).
    """
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    mask = np.asarray(first_mask, dtype=np.uint8)
    previous = None
    grid = None
    for frame in frames:
        gray = _gray(frame)
        if previous is not None:
            if grid is None:
                grid = np.mgrid[0:gray.shape[0], 0:gray.shape[1]].astype(np.float32)  # [2, H, W]
            flow = dis.calc(gray, previous, None)  # [H, W, 2] (dx, dy) from t to t-1
            mask = cv2.remap(mask, grid[1] + flow[..., 0], grid[0] + flow[..., 1],
                             cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        previous = gray
        yield mask.copy()
