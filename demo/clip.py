"""A tab's clip as the state holds it: its frames (`Frames`, which pickle as a file in the
tab's folder, so shipping a state to a ZeroGPU worker costs kilobytes) and where they came
from (`ClipSource`, what Reload re-reads)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FRAMES_FILE = "frames.npy"


def _load_frames(path: str) -> Frames:
    stack = np.load(path, mmap_mode="r")  # [T, H, W, 3] uint8, paged in as frames are read
    return Frames([np.asarray(frame) for frame in stack], Path(path))


class Frames(list):
    """The clip's frames (uint8 [H, W, 3] each, all one size); pickles as its file, written
    on the first pickle, so shipping a state costs kilobytes, not the whole clip."""

    def __init__(self, frames: list[np.ndarray], file: Path) -> None:
        super().__init__(frames)
        self.file = Path(file)

    def __reduce__(self) -> tuple:
        if not self.file.is_file():
            partial = self.file.with_suffix(".part.npy")  # never a half-written file
            np.save(partial, np.stack(self))
            partial.replace(self.file)
        return _load_frames, (str(self.file),)


@dataclass(frozen=True)
class ClipSource:
    """Where a tab's frames came from, so Reload re-reads that clip (not whatever the upload
    box holds): an upload's file on the server (never shown) or a bundled example's name, and
    the trim that picked the frames (frame i is source frame start + i * step)."""

    kind: str  # "upload" | "example"
    ref: str  # the uploaded file's server path, or the example's name
    start: int = 0
    step: int = 1
    path: str = ""  # the file decoded (an upload's `ref`; an example's clip.mp4)
    size: tuple[int, int] = (0, 0)  # (H, W) of the source frames, before resizing

    def source_frame(self, frame_idx: int) -> int:
        return self.start + frame_idx * self.step

    def frame_of(self, source_idx: int, num_frames: int) -> int | None:
        """This clip's frame showing source frame `source_idx`, or None when it has none."""
        offset = source_idx - self.start
        if offset < 0 or offset % self.step:
            return None
        frame_idx = offset // self.step
        return frame_idx if frame_idx < num_frames else None
