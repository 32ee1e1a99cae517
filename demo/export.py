"""Mask downloads for the demo: DAVIS-palette PNG zip, per-object binary PNGs, RGBA cutouts.

Owns file naming and archive layout of exports. Always PNG (lossless; webp/jpeg would alter
mask values). Writes only at the output path the caller gives (a folder it owns, e.g. Gradio's
temp dir) and returns what it wrote. No gradio, no torch.
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from srnet import save_index_mask

MAX_SIDE = 1920  # long-side cap of exports at the source resolution (a 4K source → 1920)
CUTOUT_CHOICES = ("the selected object", "all objects")  # what the RGBA cut-outs keep


def export_size(source_size: tuple[int, int]) -> tuple[int, int]:
    """(H, W) of masks exported "at the source resolution": the source's own (odd sizes too:
    PNGs need no even size, and rounding down cropped the re-read frame under a stretched
    mask), the long side capped at `MAX_SIDE`."""
    height, width = source_size
    scale = min(1.0, MAX_SIDE / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def source_names(source_frames: Sequence[int], file_names: Sequence[str] | None) -> list[str]:
    """Export names of the kept frames (their source frame numbers): the source's own file
    names when it was a zip or folder of frames and they are unique as stems, else the numbers
    zero-padded (a video's frames have no names)."""
    if file_names and max(source_frames, default=-1) < len(file_names):
        names = [file_names[n] for n in source_frames]
        stems = [frame_stem(i, names) for i in range(len(names))]
        if len(set(stems)) == len(stems):
            return names
    return [f"{n:05d}" for n in source_frames]


def frame_stem(index: int, frame_names: Sequence[str] | None) -> str:
    """File stem for frame `index`: the source frame's name without folder or extension (unsafe
    characters replaced), or the zero-padded index when no name is known."""
    if frame_names is not None and 0 <= index < len(frame_names) and frame_names[index]:
        stem = Path(str(frame_names[index]).replace("\\", "/")).stem
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip(".")
        if stem:
            return stem
    return f"{index:05d}"


def resize_index_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An index mask ``[h, w]`` at `size` (H, W) with smooth outlines: each label's indicator is
    resized bilinearly and each pixel takes the label scoring highest. (Nearest-neighbour would
    draw one staircase step per working-size pixel, 2-4 px at 1080p.) No new labels appear."""
    mask = np.asarray(mask, np.uint8)
    if mask.shape == tuple(size):
        return mask
    labels = np.unique(mask)
    out = np.full(size, labels[0], np.uint8)
    best = np.zeros(size, np.uint8)
    for label in labels:  # uint8 indicators: 3x faster than float32, the same labels
        score = cv2.resize((mask == label).astype(np.uint8) * 255, (size[1], size[0]),
                           interpolation=cv2.INTER_LINEAR)  # [H, W]
        take = score > best
        out[take] = label
        np.maximum(best, score, out=best)
    return out


class ResizedMasks(Mapping):
    """`masks` (frame → index mask) resized to `size` on access, the last one cached: an
    export at the source resolution holds one full-size mask at a time."""

    def __init__(self, masks: Mapping[int, np.ndarray], size: tuple[int, int]) -> None:
        self.masks, self.size = masks, tuple(size)
        self._last: tuple[int, np.ndarray] | None = None

    def __getitem__(self, index: int) -> np.ndarray:
        if self._last is None or self._last[0] != index:
            self._last = index, resize_index_mask(self.masks[index], self.size)
        return self._last[1]

    def __iter__(self) -> Iterator[int]:
        return iter(self.masks)

    def __len__(self) -> int:
        return len(self.masks)


class StreamedFrames(Sequence):
    """A clip's frames decoded again on demand, in order (`open_frames()` starts a decoder):
    exports read frames in ascending order, so one decoder pass serves them and only the
    current frame is in memory; asking for an earlier frame starts a new pass."""

    def __init__(self, open_frames: Callable[[], Iterator[np.ndarray]], count: int) -> None:
        self.open_frames, self.count = open_frames, count
        self._frames: Iterator[np.ndarray] | None = None
        self._next, self._current = 0, None

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):  # type: ignore[override]
        if not 0 <= index < self.count:
            raise IndexError(index)
        if self._frames is None or index < self._next - 1:
            self._frames, self._next = self.open_frames(), 0
        while self._next <= index:
            self._current = next(self._frames, None)
            self._next += 1
            if self._current is None:
                raise ValueError(f"the source ended before frame {index}")
        return self._current


def _png_bytes(array: np.ndarray) -> bytes:
    """uint8 ``[H, W]`` → 8-bit gray PNG, ``[H, W, 4]`` → RGBA PNG."""
    buffer = io.BytesIO()
    # zlib level 1: an RGBA 1080p frame in 0.18 s instead of 0.84 s, the file 18 % larger
    Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8)).save(buffer, format="PNG",
                                                                     compress_level=1)
    return buffer.getvalue()


def _prepare(out_path: str | Path) -> Path:
    """`out_path`, whose folder must exist: a folder removed meanwhile (a newer export, or
    another clip loaded) is not made again for files nobody will fetch."""
    out_path = Path(out_path)
    if not out_path.parent.is_dir():
        raise FileNotFoundError(f"the folder of {out_path.name} is gone (replaced meanwhile)")
    return out_path


def export_zip_palette(masks: Mapping[int, np.ndarray], frame_names: Sequence[str] | None,
                       out_path: str | Path) -> Path:
    """Zip of DAVIS-palette index PNGs, one per frame that has a mask (``<stem>.png``).

    Args:
        masks: frame index → ``[H, W]`` index mask (object ids 0..255).
        frame_names: source frame names by index (see `frame_stem`), or None.
        out_path: the zip to write.
    """
    out_path = _prepare(out_path)
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp, \
            zipfile.ZipFile(out_path, "w", zipfile.ZIP_STORED) as archive:
        for index in sorted(masks):
            name = f"{frame_stem(index, frame_names)}.png"
            save_index_mask(Path(tmp) / name, np.asarray(masks[index]))
            archive.write(Path(tmp) / name, arcname=name)
    return out_path


def export_binary_masks(masks: Mapping[int, np.ndarray], obj_ids: Sequence[int],
                        out_path: str | Path,
                        frame_names: Sequence[str] | None = None) -> Path:
    """One folder per object, ``object_<id>/<stem>.png`` with 0/255 grayscale PNGs.

    `out_path` ending in ``.zip`` gives one archive; otherwise it is the folder to fill.
    Returns `out_path`.
    """
    out_path = _prepare(out_path)
    as_zip = out_path.suffix.lower() == ".zip"
    archive = zipfile.ZipFile(out_path, "w", zipfile.ZIP_STORED) if as_zip else None
    try:
        for obj_id in obj_ids:
            folder = f"object_{int(obj_id)}"
            for index in sorted(masks):
                binary = (np.asarray(masks[index]) == int(obj_id)).astype(np.uint8) * 255
                name = f"{folder}/{frame_stem(index, frame_names)}.png"
                if archive is not None:
                    archive.writestr(name, _png_bytes(binary))
                else:
                    (out_path / folder).mkdir(parents=True, exist_ok=True)
                    (out_path / name).write_bytes(_png_bytes(binary))
    finally:
        if archive is not None:
            archive.close()
    return out_path


def export_rgba_cutouts(frames: Sequence[np.ndarray], masks: Mapping[int, np.ndarray],
                        obj_id: int | None, out_zip: str | Path,
                        frame_names: Sequence[str] | None = None) -> Path:
    """Zip of RGBA PNGs: the frame's colours with alpha 255 on object `obj_id` (None: on every
    object, e.g. a rider with the horse); elsewhere transparent black (0, 0, 0, 0): colours
    under alpha 0 made a 1080x1920 cut-out 2.4 MB instead of 0.34 MB, and 90 frames a 234 MB
    download.

    Shapes: frames uint8 ``[H, W, 3]``; masks index ``[H, W]`` at the same size.
    """
    out_zip = _prepare(out_zip)
    with zipfile.ZipFile(out_zip, "w", zipfile.ZIP_STORED) as archive:
        for index in sorted(masks):
            if not 0 <= index < len(frames):
                raise ValueError(f"mask for frame {index} but only {len(frames)} frames")
            frame, mask = np.asarray(frames[index]), np.asarray(masks[index])
            if frame.shape[:2] != mask.shape:
                raise ValueError(f"frame {index} is {frame.shape[:2]}, mask is {mask.shape}")
            keep = mask > 0 if obj_id is None else mask == int(obj_id)  # [H, W]
            alpha = keep.astype(np.uint8) * 255
            rgba = np.dstack([frame[:, :, :3].astype(np.uint8) * keep[:, :, None],
                              alpha])  # [H, W, 4]
            archive.writestr(f"{frame_stem(index, frame_names)}.png", _png_bytes(rgba))
    return out_zip
