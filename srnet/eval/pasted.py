"""A two-object benchmark made from single-object sequences: `host+donor` is the host sequence
with the donor's object pasted in (`srnet.data.paste`): placed by one random offset, scale and
rotation, it then moves as in its own video and occludes the host's object where they overlap.
DAVIS-2016 has one object per sequence; this measures what the demo relies on with several
objects: keeping two objects apart.

`PastedPairs` offers the slice of the `VOSDataset` interface that `evaluate_method` reads
(`frames`, `load_frame`, `load_mask`), so every method and the scoring are shared. The placement
is seeded per pair name: the same command gives the same clips.
"""

from __future__ import annotations

import functools
import zlib
from pathlib import Path

import cv2
import numpy as np

from srnet.data.clips import ClipInfo, VideoClip
from srnet.data.davis import VOSDataset
from srnet.data.paste import paste_object

SEPARATOR = "+"
PLACEMENT_SEEDS = 8  # fresh placements tried when the donor does not fit


def pair_names(seqs: list[str]) -> list[str]:
    """Each sequence hosts the next one's object (cyclically): ["a+b", "b+c", "c+a"]."""
    if len(seqs) < 2:
        raise ValueError("pasted pairs need at least two sequences")
    return [f"{host}{SEPARATOR}{seqs[(i + 1) % len(seqs)]}" for i, host in enumerate(seqs)]


class PastedPairs:
    """Host sequences with a donor object pasted in; ground truth: host = 1, donor = 2."""

    def __init__(self, base: VOSDataset) -> None:
        self.base = base

    def _split(self, name: str) -> tuple[str, str]:
        host, sep, donor = name.partition(SEPARATOR)
        if not sep or host not in self.base.sequences or donor not in self.base.sequences:
            raise ValueError(f"{name!r} is not 'host{SEPARATOR}donor' of known sequences")
        return host, donor

    def frames(self, name: str) -> list[Path]:
        return self.base.frames(self._split(name)[0])

    def load_frame(self, name: str, index: int) -> np.ndarray:
        return self._composite(name)[0][index]

    def load_mask(self, name: str, index: int) -> np.ndarray:
        return self._composite(name)[1][index]

    @functools.lru_cache(maxsize=1)  # noqa: B019 - one pair at a time; evaluation is sequential
    def _composite(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """uint8 frames [T, H, W, 3] and index masks [T, H, W] of the pair."""
        host, donor = self._split(name)
        clip = self._load_clip(host, len(self.frames(name)))
        donor_clip = self._load_clip(donor, clip.frames.shape[0], clip.frames.shape[2:])
        for attempt in range(PLACEMENT_SEEDS):
            rng = np.random.default_rng(zlib.crc32(f"{name}/{attempt}".encode()))
            pasted = paste_object(clip, donor_clip.frames, donor_clip.masks[:, 0], rng,
                                  donor_name=donor, drift=0.0)  # stays on screen
            if pasted is not clip:
                break
        else:
            raise ValueError(f"no placement of {donor}'s object fits into {host}")
        return pasted.as_arrays()  # [T, H, W, 3], [T, H, W]: host 1, donor 2

    def _load_clip(self, seq: str, length: int, size: tuple[int, int] | None = None
                   ) -> VideoClip:
        """`length` frames of `seq` (ping-pong when it is shorter), as a 2-slot clip."""
        count = len(self.base.frames(seq))
        cycle = list(range(count)) + list(range(count - 2, 0, -1)) or [0]
        indices = [cycle[t % len(cycle)] for t in range(length)]
        frames, masks = [], []
        for index in indices:
            frame, mask = self.base.load_frame(seq, index), self.base.load_mask(seq, index) > 0
            if size is not None and frame.shape[:2] != tuple(size):
                frame = cv2.resize(frame, (size[1], size[0]), interpolation=cv2.INTER_AREA)
                mask = cv2.resize(mask.astype(np.uint8), (size[1], size[0]),
                                  interpolation=cv2.INTER_NEAREST_EXACT) > 0
            frames.append(frame.transpose(2, 0, 1).astype(np.float32) / 255)  # [3, H, W]
            masks.append(np.stack([mask, np.zeros_like(mask)]).astype(np.float32))  # [2, H, W]
        return VideoClip(np.stack(frames), np.stack(masks), np.array([True, False]),
                         ClipInfo(seq, tuple(indices), "video"))
