"""Frame sources and overlay video for the CLI and evaluation: read a folder of frames or a video
lazily, draw a palette overlay, write an H.264 mp4. Pure numpy/OpenCV/imageio (no torch)."""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from srnet.palette import davis_palette

log = logging.getLogger(__name__)
# imageio-ffmpeg starts ffmpeg with preexec_fn=os.setpgrp, so the forked child runs Python's
# at-fork hooks before exec. huggingface_hub's hook closes its HTTP client there: when another
# thread held OpenSSL's lock at the fork, the child spins forever in SSL_CTX_free and the load
# that spawned it never returns (caught in tests/test_sessions.py, read with gdb).
# imageio-ffmpeg's own switch drops the preexec_fn, so no Python runs in the child; the cost is
# that Ctrl-C in a terminal also reaches a running ffmpeg.
os.environ.setdefault("IMAGEIO_FFMPEG_NO_PREVENT_SIGINT", "1")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm")  # decoded by ffmpeg
ANIMATION_SUFFIXES = (".gif", ".png", ".webp")  # decoded by Pillow: GIF, APNG, animated WebP


def natural_key(name: str) -> list:
    """Sort key that orders numbers by value: 2.jpg before 10.jpg (text order puts 10 first).
    Numbers by position, not `isdigit`: that is true of '²', which `int` refuses."""
    return [int(part) if i % 2 else part.lower()
            for i, part in enumerate(re.split(r"(\d+)", name))]


class FrameFolder(Sequence):
    """A folder of frames, sorted by name, decoded on access (uint8 [H, W, 3] RGB)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"frame folder not found: {self.folder}")
        self.paths = sorted((p for p in self.folder.iterdir()
                             if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")),
                            key=lambda p: natural_key(p.name))
        if not self.paths:
            raise ValueError(f"no image frames ({', '.join(IMAGE_SUFFIXES)}) in {self.folder}")
        stems = [p.stem for p in self.paths]
        twins = sorted({stem for stem in stems if stems.count(stem) > 1}, key=natural_key)
        if twins:  # their results would share one output name
            raise ValueError(f"two frames named {twins[0]} (e.g. .jpg and .png) in {self.folder}")

    @property
    def names(self) -> list[str]:
        return [p.stem for p in self.paths]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, idx):  # type: ignore[override]
        if isinstance(idx, slice):
            return [self[i] for i in range(*idx.indices(len(self)))]
        image = cv2.imread(str(self.paths[idx]), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot decode frame {self.paths[idx]}")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _decoder_message(exc: BaseException) -> str:
    """A decoder error's own words: imageio appends ffmpeg's whole stderr (version banner,
    build flags) after '=== stderr ===', which buries the reason."""
    text = str(exc).split("=== stderr ===")[0].strip()
    return text.splitlines()[0] if text else type(exc).__name__


def iter_video(path: str | Path) -> tuple[Iterator[np.ndarray], float]:
    """Open a video for one pass of decoding: (RGB uint8 frames, decoded as consumed; fps).

    Nothing is held beyond the current frame, so clips of any length stream in flat memory.
    Decoding errors surface as ValueError when they happen.
    """
    import imageio.v3 as iio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video not found: {path}")
    try:
        meta = iio.immeta(path)
    except Exception as exc:  # imageio raises many types for broken files
        raise ValueError(f"cannot decode video {path}: {_decoder_message(exc)}") from exc
    duration = meta.get("duration")
    decoded, stream_fps = _each_frame_once(path)
    if path.suffix.lower() in ANIMATION_SUFFIXES:
        # an animation's (Pillow's) duration is each frame's, in ms: read as the clip's
        # seconds it gave a false "truncated" warning and 25 fps for a 10 fps clip
        frame_ms = _first_frame_ms(path)
        fps, expected = (1000.0 / frame_ms if frame_ms else 25.0), 0.0
    else:  # the rate of the frames as decoded, so the count below compares like with like
        fps = stream_fps or float(meta.get("fps", 25.0) or 25.0)
        expected = duration * fps if isinstance(duration, (int, float)) and duration > 0 else 0.0

    def frames() -> Iterator[np.ndarray]:
        count = 0
        try:
            for frame in decoded:
                count += 1
                if frame.ndim == 2:  # a grey image or GIF: [H, W]
                    frame = np.repeat(frame[..., None], 3, axis=2)  # [H, W, 3]
                yield np.ascontiguousarray(frame[..., :3])  # RGBA: alpha dropped
        except Exception as exc:
            raise ValueError(f"cannot decode video {path} after {count} frames: "
                             f"{_decoder_message(exc)}") from exc
        if count == 0:
            raise ValueError(f"video {path} has no frames")
        if count < 0.8 * expected - 1:  # a cut-off download decodes "fine" up to its end
            log.warning("video %s gave %d frames, but its header says %.1f s at %.3g fps "
                        "(about %d): the file may be truncated", path, count,
                        duration, fps, round(expected))

    return frames(), fps


def _first_frame_ms(path: Path) -> float | None:
    """An animation's first frame duration in ms (GIF, APNG, animated WebP), else None. WebP
    sets it only once a frame is decoded."""
    from PIL import Image

    try:
        with Image.open(path, formats=("GIF", "PNG", "WEBP")) as image:  # no other decoder
            if "duration" not in image.info:
                image.load()
            duration = image.info.get("duration")
    except Exception:  # Pillow raises many types; the decoder reports a bad file
        return None
    return float(duration) if isinstance(duration, (int, float)) and duration > 0 else None


def _each_frame_once(path: Path) -> tuple[Iterator[np.ndarray], float | None]:
    """(frames, the stream's rate or None) with each coded frame of a video decoded once. By
    default ffmpeg repeats the frames of a variable-rate video (most phone clips) to fill a
    constant rate: a 7-frame clip gave 36 PNGs, names that were not the video's frame numbers,
    and a 6x slow overlay (the demo reads the same way, `demo/video_io.py`). Images and GIFs,
    or an ffmpeg older than 5.1 (no `-fps_mode`), read as before."""
    import imageio.v2 as iio2
    import imageio.v3 as iio

    if path.suffix.lower() in VIDEO_SUFFIXES:
        try:
            reader = iio2.get_reader(str(path), format="FFMPEG",
                                     output_params=["-fps_mode", "passthrough"])
            rate = float(reader.get_meta_data().get("fps") or 0.0)
            return _closing(reader), rate if np.isfinite(rate) and rate > 0 else None
        except Exception as exc:  # imageio raises many types
            log.warning("video %s: reading every frame once failed (%s); frames of a "
                        "variable-rate video may repeat", path, _decoder_message(exc))
    return iio.imiter(path), None


def _closing(reader) -> Iterator[np.ndarray]:
    try:
        yield from reader
    finally:
        reader.close()


def read_video(path: str | Path, max_frames: int | None = None) -> tuple[list[np.ndarray], float]:
    """Decode a video file into a list of RGB frames (stops at `max_frames`). Returns
    (frames, fps). Holds every frame: use `iter_video` for long clips."""
    stream, fps = iter_video(path)
    return list(itertools.islice(stream, max_frames)), fps


def overlay(frame: np.ndarray, index_mask: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend DAVIS palette colours of the object ids over a frame. uint8 [H, W, 3] → same."""
    colours = davis_palette()[index_mask]  # [H, W, 3]
    blended = frame.astype(np.float32) * (1 - alpha) + colours.astype(np.float32) * alpha
    out = np.where(index_mask[..., None] > 0, blended, frame.astype(np.float32))
    return out.astype(np.uint8)


def write_mp4(path: str | Path, frames: Iterable[np.ndarray], fps: float = 24.0, *,
              crf: int = 23) -> Path:
    """Encode uint8 ``[H, W, 3]`` RGB frames as H.264 / yuv420p mp4 that browsers play.

    Odd sizes are padded to even by repeating the last row/column; every frame must share the
    first frame's size. Returns the path written.
    """
    import imageio.v2 as imageio

    path = Path(path)
    writer, shape = None, None
    try:
        for index, frame in enumerate(frames):
            if writer is None:
                shape = frame.shape
                writer = imageio.get_writer(
                    str(path), format="FFMPEG", fps=float(fps), codec="libx264",
                    pixelformat="yuv420p", macro_block_size=1, quality=None,
                    ffmpeg_log_level="error",
                    ffmpeg_params=["-crf", str(crf), "-movflags", "+faststart"])
            elif frame.shape != shape:
                raise ValueError(f"frame {index} has shape {frame.shape}, expected {shape}")
            pad = ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0))
            writer.append_data(np.pad(frame, pad, mode="edge") if any(pad[0] + pad[1]) else frame)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError("write_mp4 needs at least one frame")
    return path
