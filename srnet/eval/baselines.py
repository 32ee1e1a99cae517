"""Model-free reference methods with a predictor's output shape: one ``[H, W]`` uint8 index mask per
input frame, yielded as a generator (frame 0 gets the given first mask).

``copy_baseline`` repeats frame 0's mask; ``flow_baseline`` carries the previous mask forward with
OpenCV's DIS optical flow. They bound what "no learning" scores on a sequence. ``flow_propagate``
is the same flow carried from any annotated frame in either direction, with later annotations
taking over: the demo's "optical flow instead of memory" comparison.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

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
    """Propagate ``first_mask`` through ``frames`` by backward warping with DIS optical flow."""
    for _, mask in flow_propagate(frames, {0: first_mask}, 0, len(frames) - 1):
        yield mask


def flow_propagate(frames: Sequence[np.ndarray], annotations: Mapping[int, np.ndarray],
                   start: int, end: int, absent: Mapping[int, Iterable[int]] | None = None
                   ) -> Iterator[tuple[int, np.ndarray]]:
    """``(frame_idx, [H, W] uint8 index mask)`` from ``start`` to ``end`` (either direction):
    the mask is carried frame to frame by backward warping with DIS optical flow (preset
    MEDIUM). For frame t the flow from t to the previous frame gives, per pixel of t, where it
    was there; the previous mask is sampled at that point (nearest neighbour, 0 outside).

    ``annotations[start]`` seeds the mask. An annotated frame on the way takes over for the
    objects it contains (their warped pixels are dropped, the annotation painted in), as a
    user's correction does in the memory network; its other objects stay as warped, except
    those ``absent`` lists for that frame (objects the user marked absent there: dropped).
    """
    absent = absent or {}
    if start not in annotations:
        raise ValueError(f"flow propagation starts at an annotated frame, not {start}")
    step = 1 if end >= start else -1
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    mask = np.zeros(np.asarray(annotations[start]).shape[:2], np.uint8)  # [H, W]
    previous = grid = None
    for frame_idx in range(start, end + step, step):
        gray = _gray(frames[frame_idx])  # [H, W]
        if previous is not None:
            if grid is None:
                grid = np.mgrid[0:gray.shape[0], 0:gray.shape[1]].astype(np.float32)  # [2, H, W]
            flow = dis.calc(gray, previous, None)  # [H, W, 2] (dx, dy) to the previous frame
            mask = cv2.remap(mask, grid[1] + flow[..., 0], grid[0] + flow[..., 1],
                             cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if frame_idx in annotations:
            mask = _merge(mask, np.asarray(annotations[frame_idx], dtype=np.uint8))
            mask[np.isin(mask, list(absent.get(frame_idx, ())))] = 0
        previous = gray
        yield frame_idx, mask.copy()


def _merge(mask: np.ndarray, annotation: np.ndarray) -> np.ndarray:
    """``mask`` with the objects of ``annotation`` replaced by their annotated pixels."""
    out = np.where(np.isin(mask, np.unique(annotation[annotation > 0])), 0, mask)  # [H, W]
    out[annotation > 0] = annotation[annotation > 0]
    return out.astype(np.uint8)
