"""Clip decoding for the demo: upload (video, zip of frames, folder, image) → capped RGB frames,
and result frames → browser-playable H.264 mp4.

Owns the decoding limits (frame cap, decoded-frame and time budgets, working size, ffmpeg's
allowed demuxers). The accepted file types, the size limit, `probe_clip` and the notices that
compare a request or a decode with what the container announces are in `demo.video_probe`, the
image and zip limits in `demo.frame_files`. Pure numpy/OpenCV/imageio: no gradio, no torch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from demo.frame_files import (
    IMAGE_EXTS,
    MAX_IMAGE_PIXELS,
    ClipError,
    TooLargeError,
    decode_image,
    folder_files,
    to_rgb,
    too_large,
    zip_frames,
    zip_members,
)
from demo.video_probe import (
    ANIMATED_IMAGE_EXTS,
    ANIMATED_IMAGE_FORMATS,
    DEFAULT_FPS,
    MAX_DECODED_FRAMES,
    UNREADABLE,
    VIDEO_EXTS,
    animation_fps,
    announced_frames,
    check_file,
    check_reach,
    cut_short_notice,
    probe_clip,
    trim_notice,
    video_fps,
)
from srnet import write_mp4 as srnet_write_mp4

log = logging.getLogger(__name__)
# ffmpeg may open only these demuxers, and only local files: a manifest, playlist or concat
# list (which `check_file`'s header test refuses too) must never make it read other files of
# the server or a URL. The names cover every container VIDEO_EXTS stands for.
DECODE_BUDGET_S = 300.0  # per load
FFMPEG_INPUT = ["-format_whitelist", "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts",
                "-protocol_whitelist", "file"]


@dataclass
class LoadedClip:
    """Decoded frames at working size.

    Shapes:
        frames: list of uint8 ``[H, W, 3]`` RGB arrays, all the same size, H and W even.
        source_size: ``(H, W)`` of the first decoded frame before resizing.
    """

    frames: list[np.ndarray]
    fps: float
    source_size: tuple[int, int]
    notices: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        """Working ``(H, W)``."""
        return self.frames[0].shape[:2]


def _guarded(frames: Iterator[np.ndarray], close: Callable[[], object],
             name: str) -> Iterator[np.ndarray]:
    """RGB frames until the source ends or fails (a damaged tail keeps what decoded); then
    releases the decoder."""
    count = 0
    try:
        for frame in frames:
            yield to_rgb(frame)
            count += 1
    except Exception as exc:  # decoders raise many types
        log.warning("%s: decoding stopped after %d frames (%s)", name, count, exc)
    finally:
        close()


def _imageio_frames(path: Path) -> tuple[float, Iterator[np.ndarray]]:
    import imageio.v2 as iio

    if path.suffix.lower() == ".gif":
        reader = iio.get_reader(str(path))
    else:  # each decoded frame once: by default ffmpeg repeats the frames of a variable-rate
        # video (most phone clips) to fill a constant rate; a 6-frame clip came out as 27.
        # An ffmpeg older than 5.1 lacks the option, fails here, and OpenCV reads the file.
        reader = iio.get_reader(str(path), format="FFMPEG", input_params=FFMPEG_INPUT,
                                output_params=["-fps_mode", "passthrough"])
    return video_fps(reader.get_meta_data()), _guarded(iter(reader), reader.close, path.name)


def _image_frames(path: Path) -> tuple[float, Iterator[np.ndarray]]:
    """A still image as one frame; an animated WebP or PNG (APNG) frame by frame, as Pillow
    composes them (alpha dropped, as for a still). Until session 44 only the first frame of
    an animation was read, and the load then said the clip had a single frame."""
    image, count = None, 1
    try:
        if path.suffix.lower() in ANIMATED_IMAGE_EXTS:
            image = Image.open(path, formats=ANIMATED_IMAGE_FORMATS)
            count = int(getattr(image, "n_frames", 1))
    except Exception:  # not an animation Pillow can walk: decode_image says what is wrong
        pass
    if count <= 1:
        if image is not None:
            image.close()
        return DEFAULT_FPS, (frame for frame in [decode_image(path, path.name)])
    if image.width * image.height > MAX_IMAGE_PIXELS:
        image.close()
        raise too_large(path.name, image.width, image.height)
    try:
        fps = animation_fps(image)
    except Exception:  # a first frame that fails to decode: the frames below say so
        fps = DEFAULT_FPS

    def frames() -> Iterator[np.ndarray]:
        for index in range(count):
            image.seek(index)
            yield np.asarray(image.convert("RGB"))  # [H, W, 3] the composed canvas

    return fps, _guarded(frames(), image.close, path.name)


def _cv2_frames(path: Path) -> tuple[float, Iterator[np.ndarray]]:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ClipError(f"{path.name}: {UNREADABLE}")

    def read() -> Iterator[np.ndarray]:
        ok, bgr = capture.read()
        while ok:
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            ok, bgr = capture.read()

    fps = video_fps({"fps": capture.get(cv2.CAP_PROP_FPS)})
    return fps, _guarded(read(), capture.release, path.name)


def _check_frame_size(path: Path, height: int, width: int) -> None:
    """Video frames obey the image limit: a small file can hold huge frames (a 200 KB mp4 of
    8192x8192 frames took 1.6 GB to decode), and the decoder's buffers scale with them."""
    if height * width > MAX_IMAGE_PIXELS:
        raise too_large(path.name, width, height)


def _open_video(path: Path) -> tuple[float, Iterator[np.ndarray]]:
    try:  # the container's size, before anything is decoded
        probe = probe_clip(path)
    except TooLargeError:  # said as such (it read "cannot open video")
        raise
    except ClipError:  # no usable header: the first decoded frame is checked instead
        probe = None
    if probe is not None:
        _check_frame_size(path, probe["height"], probe["width"])
    try:
        fps, frames = _imageio_frames(path)
        first = next(frames)
    except StopIteration:
        first = None
    except Exception as exc:  # imageio raises many types for a bad file; OpenCV gets a turn
        log.info("imageio could not read %s (%s); trying OpenCV", path.name,
                 str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        first = None
    if first is None:
        fps, frames = _cv2_frames(path)
        first = next(frames, None)
    if first is None:
        raise ClipError(f"{path.name}: no frames could be decoded (corrupt or unsupported file)")
    try:
        _check_frame_size(path, *first.shape[:2])  # a container that did not say
    except ClipError:
        frames.close()
        raise

    def chained() -> Iterator[np.ndarray]:
        with closing(frames):
            yield first
            yield from frames

    return fps, chained()


def working_size(height: int, width: int, short_side: int, max_side: int) -> tuple[int, int]:
    """Largest ``(H, W)`` with the aspect ratio kept (to rounding), short side ≤ `short_side`,
    long side ≤ `max_side`, both even and ≥ 2; never upscales."""
    scale = min(1.0, short_side / min(height, width), max_side / max(height, width))

    def even(dim: int) -> int:
        return max(2, int(np.floor(dim * scale + 1e-6)) // 2 * 2)

    return even(height), even(width)


def _fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    height, width = frame.shape[:2]
    if (height, width) == size:
        return frame
    if height >= size[0] and width >= size[1] and height - size[0] < 2 and width - size[1] < 2:
        return np.ascontiguousarray(frame[: size[0], : size[1]])  # odd → even: crop, no blur
    shrink = height * width > size[0] * size[1]
    return cv2.resize(frame, (size[1], size[0]),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def load_clip(path: str | Path, *, max_frames: int = 300, short_side: int = 480,
              max_side: int = 1280, start: int = 0, end: int | None = None, step: int = 1,
              max_bytes: int = 200 * 2**20) -> LoadedClip:
    """Decode frames ``start:end:step`` (at most `max_frames`) of a video, a zip or folder of
    frames, or a single image, resized to the working size (see `working_size`).

    Decoding is lazy: frames are resized as they arrive and reading stops one frame past the cap,
    so a long video is never held in memory. Raises `ClipError` with a user-facing message.
    """
    path = Path(path)
    check_file(path, max_bytes)
    if max_frames < 1 or step < 1 or start < 0:
        raise ClipError("max_frames and step must be ≥ 1 and start ≥ 0")
    stop = start + max_frames * step + 1  # one frame past the cap tells us we trimmed
    stop = stop if end is None else min(end, stop)
    total = announced_frames(path)
    check_reach(path, total, start, stop, step, MAX_DECODED_FRAMES)
    fps, frames = _open_any(path, max_bytes)
    decoded = {"frames": 0, "ended": False}  # how far the source went, for cut_short_notice
    deadline = time.monotonic() + DECODE_BUDGET_S
    with closing(frames):
        clip = _collect(islice(_counted(frames, decoded, deadline, path.name), start,
                               max(start, stop), step), max_frames, short_side, max_side)
    short = cut_short_notice(path, total, decoded["frames"]) if decoded["ended"] else []
    if clip is not None:
        clip.notices = [trim_notice(total, max_frames, start, end, step)
                        if notice.startswith("trimmed to") else notice for notice in clip.notices]
    if clip is None:
        raise ClipError(f"{path.name}: no frames in the selected range"
                        + "".join(f"; {notice}" for notice in short))
    clip.fps = fps / step
    clip.notices += short
    return clip


def _counted(frames: Iterator[np.ndarray], decoded: dict, deadline: float = float("inf"),
             name: str = "") -> Iterator[np.ndarray]:
    """The frames, counted; a ClipError once decoding runs past `deadline` (a file made to
    decode slowly would hold one of the two load slots for hours)."""
    for frame in frames:
        decoded["frames"] += 1
        if time.monotonic() > deadline:
            raise ClipError(f"{name}: decoding took longer than {DECODE_BUDGET_S:.0f} s "
                            f"({decoded['frames']} frames): trim the video or cut it first")
        yield frame
    decoded["ended"] = True


def read_source_frames(path: str | Path, *, start: int, step: int, count: int,
                       size: tuple[int, int], max_bytes: int) -> Iterator[np.ndarray]:
    """The `count` frames ``start, start + step, …`` of a clip decoded again, resized to `size`
    (H, W), one at a time: exports at the source resolution, which the working-size frames
    kept in memory do not have. Raises `ClipError` when the file is gone or unreadable."""
    path = Path(path)
    check_file(path, max_bytes)
    _, frames = _open_any(path, max_bytes)
    with closing(frames):
        for frame in islice(frames, start, start + count * step, step):
            yield _fit(frame, size)


def _open_any(path: Path, max_bytes: int) -> tuple[float, Iterator[np.ndarray]]:
    suffix = path.suffix.lower()
    if path.is_dir():
        files = folder_files(path, max_bytes)
        frames, count = (decode_image(p, p.name) for p in files), len(files)
    elif suffix in VIDEO_EXTS:
        return _open_video(path)
    elif suffix in IMAGE_EXTS:
        return _image_frames(path)
    else:
        archive, members = zip_members(path, max_bytes)
        frames, count = zip_frames(archive, members), len(members)
    if not count:
        frames.close()
        raise ClipError(f"{path.name}: no {'/'.join(IMAGE_EXTS)} frames found")
    return DEFAULT_FPS, frames


def _collect(frames: Iterable[np.ndarray], max_frames: int, short_side: int,
             max_side: int) -> LoadedClip | None:
    out: list[np.ndarray] = []
    notices: list[str] = []
    source = size = None
    mixed = False
    for frame in frames:
        if len(out) == max_frames:
            notices.append(f"trimmed to {max_frames} frames (limit)")
            break
        if source is None:
            source = frame.shape[:2]
            size = working_size(*source, short_side, max_side)
        mixed = mixed or frame.shape[:2] != source
        out.append(_fit(frame, size))
    if not out:
        return None
    if mixed:
        notices.append("frames of different sizes were resized to match the first")
    if size != source:
        verb = "cropped to even size" if max(np.subtract(source, size)) < 2 else "resized"
        notices.insert(0, f"{verb} from {source[1]}x{source[0]} to {size[1]}x{size[0]}")
    return LoadedClip(frames=out, fps=DEFAULT_FPS, source_size=tuple(source), notices=notices)


def write_mp4(path: str | Path, frames: Iterable[np.ndarray], fps: float, *,
              crf: int = 23) -> Path:
    """H.264 mp4 of RGB frames (any uint8/float/gray input is converted first); the encoder is
    the package's single implementation, `srnet.write_mp4`."""
    return srnet_write_mp4(path, (to_rgb(frame) for frame in frames), fps, crf=crf)
