"""What a clip file is before it is decoded: the accepted types, the size limit and a video's
container header (`check_file`), and `probe_clip` (frame count, frame rate and size, from the
container or the first image). Also what the decoder (`demo.video_io`) compares with it: a
range that would decode too much (`check_reach`), the frame cap's and a short video's notices.
No gradio, no torch."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from demo.frame_files import (
    IMAGE_EXTS,
    IMAGE_FORMATS,
    MAX_IMAGE_PIXELS,
    ClipError,
    decode_image,
    folder_files,
    read_member,
    too_large,
    zip_members,
)

# OpenCV's own FFmpeg (the probe and the fallback decoder) opens local files only, with the
# demuxers `video_io.FFMPEG_INPUT` names (set before any capture opens; a user's own setting
# is kept)
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS",
                      "protocol_whitelist;file|format_whitelist;"
                      "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts")
VIDEO_EXTS = (".mp4", ".webm", ".mov", ".avi", ".mkv", ".gif", ".m4v")
DEFAULT_FPS = 24.0  # used for image sequences and videos without usable metadata
MAX_DECODED_FRAMES = 30_000  # per load, skipped frames included: 16 minutes at 30 fps
UNREADABLE = "cannot open video (corrupt, cut short or an unsupported codec)"
# image types that may hold an animation (APNG, animated WebP): a clip of their frames
ANIMATED_IMAGE_EXTS = (".png", ".webp")
ANIMATED_IMAGE_FORMATS = ("PNG", "WEBP")  # Pillow's names for them


def check_file(path: Path, max_bytes: int) -> None:
    """A clip file the demo accepts: present, not empty, within `max_bytes`, of a known type;
    else ClipError with the reason."""
    if not path.exists():
        raise ClipError(f"file not found: {path.name}")
    if path.is_dir():
        return
    size = path.stat().st_size
    if size == 0:
        raise ClipError(f"{path.name}: file is empty")
    if size > max_bytes:
        raise ClipError(f"{path.name}: file is {size / 2**20:.0f} MB, over the "
                        f"{max_bytes / 2**20:.0f} MB limit")
    suffix = path.suffix.lower()
    if suffix not in VIDEO_EXTS + IMAGE_EXTS + (".zip",):
        raise ClipError(f"{path.name}: unsupported file type {suffix or '(none)'}; use "
                        f"{', '.join(e[1:] for e in VIDEO_EXTS)}, a zip of frames, or an image")
    if suffix in VIDEO_EXTS and not is_video_container(path):
        raise ClipError(f"{path.name}: not a video file (its first bytes are no mp4, mov, "
                        "webm, mkv, avi, MPEG-TS or gif header)")


# What the first bytes of each accepted container hold. ffmpeg picks a demuxer by content,
# not by name: a 450-byte DASH manifest named .mp4 made it read another media file of the
# server by path (a review, session 34), and playlists or concat lists do the like.
ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")  # mp4, mov, m4v


def is_video_container(path: Path) -> bool:
    """The file starts like an mp4/mov/m4v, webm/mkv, avi or gif (whatever its name says)."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    return (head[4:8] in ISO_BOXES or head.startswith(b"\x1a\x45\xdf\xa3")
            or (head.startswith(b"RIFF") and head[8:12] == b"AVI ")
            or head.startswith((b"GIF87a", b"GIF89a")) or _is_transport_stream(path))


def _is_transport_stream(path: Path) -> bool:
    """MPEG-TS (some screen recorders and downloaders name it .mp4): a 0x47 sync byte at the
    start of each of its first three 188-byte packets."""
    with open(path, "rb") as handle:
        head = handle.read(377)
    return len(head) == 377 and head[0] == head[188] == head[376] == 0x47


def video_fps(meta: dict) -> float:
    """Frames per second from container metadata (GIF: per-frame duration), else the default."""
    fps = meta.get("fps")
    if not fps and meta.get("duration"):  # GIF: per-frame duration in ms
        fps = 1000.0 / float(meta["duration"])
    return float(fps) if fps and np.isfinite(fps) and fps > 0 else DEFAULT_FPS


def probe_clip(path: str | Path) -> dict:
    """Cheap metadata without decoding the frames.

    Returns:
        ``{"num_frames": int | None, "fps": float, "height": int, "width": int}`` of the source
        (``num_frames`` is None when the container does not say).
    """
    path = Path(path)
    check_file(path, max_bytes=2**62)
    suffix = path.suffix.lower()
    if path.is_dir() or suffix == ".zip":
        if path.is_dir():
            files = folder_files(path, 2**62)
            first = decode_image(files[0], files[0].name) if files else None
        else:
            archive, files = zip_members(path, 2**62)
            with archive:
                first = read_member(archive, files[0]) if files else None
        if first is None:
            raise ClipError(f"{path.name}: no {'/'.join(IMAGE_EXTS)} frames found")
        return {"num_frames": len(files), "fps": DEFAULT_FPS, "height": first.shape[0],
                "width": first.shape[1]}
    if suffix in IMAGE_EXTS or suffix == ".gif":
        # a GIF's canvas and frames from its blocks: Pillow's `n_frames` seeks through every
        # frame (minutes for millions of tiny ones) and raised IndexError on a cut-off file
        *canvas, count = gif_canvas(path) if suffix == ".gif" else (0, 0, 1)
        if canvas[0] * canvas[1] > MAX_IMAGE_PIXELS:  # the load refuses it on this size
            return {"num_frames": None, "fps": DEFAULT_FPS, "height": canvas[1],
                    "width": canvas[0]}
        try:
            with Image.open(path, formats=[*IMAGE_FORMATS, "GIF"]) as image:
                if suffix in ANIMATED_IMAGE_EXTS:  # APNG, animated WebP: from its header
                    count = max(1, int(getattr(image, "n_frames", 1)))
                fps = animation_fps(image) if count != 1 else None
                width, height = image.width, image.height
        except Image.DecompressionBombError as exc:  # raised by open(), over 2x Pillow's cap
            raise too_large(path.name) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, IndexError,
                struct.error) as exc:  # Pillow's errors on damaged headers
            raise ClipError(f"{path.name}: cannot read image ({exc})") from exc
        width, height = max(width, canvas[0]), max(height, canvas[1])  # what frames grow to
        return {"num_frames": count, "fps": fps or DEFAULT_FPS, "height": height,
                "width": width}
    return _probe_video(path)


def animation_fps(image: Image.Image) -> float:
    """An animation's rate from its first frame's duration (GIF, WebP, APNG); WebP sets the
    duration only once a frame is decoded, so its first frame is (size checked by the caller,
    or by Pillow's bomb check on open)."""
    if "duration" not in image.info and image.width * image.height <= MAX_IMAGE_PIXELS:
        image.seek(0)
        image.load()
    return video_fps({"duration": image.info.get("duration")})


def _probe_video(path: Path) -> dict:
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ClipError(f"{path.name}: {UNREADABLE}")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        fps = video_fps({"fps": capture.get(cv2.CAP_PROP_FPS)})
    finally:
        capture.release()
    if height <= 0 or width <= 0:
        raise ClipError(f"{path.name}: cannot read video size (corrupt file?)")
    # Matroska (mkv, webm) stores no frame count: OpenCV's is duration x rate, 60 for a whole
    # 12-frame screen recording with a 4 s pause ("ends after 12 of the 60 frames its header
    # announces", and a trim step that left one frame)
    estimated = path.suffix.lower() in (".mkv", ".webm")
    return {"num_frames": count if count > 0 and not estimated else None, "fps": fps,
            "height": height, "width": width}


def announced_frames(path: Path) -> int | None:
    """The frame count the container (or the zip, folder or GIF) announces, else None: read
    once per load and handed to the three checks below."""
    try:
        return probe_clip(path)["num_frames"]
    except ClipError:
        return None


def check_reach(path: Path, total: int | None, start: int, stop: int, step: int,
                max_decoded: int) -> None:
    """Refuse, before decoding, a range whose frames lie past `max_decoded`: every frame
    before and between the kept ones is decoded too, and a start or step of 10^7 in the trim
    boxes decoded a whole video (a 200 MB file of static 4K frames holds ~8 million). Where the
    container says how long the video is (`total`), only frames it holds count."""
    if total and start >= total:
        raise ClipError(f"{path.name}: no frames in the selected range: the first one asked "
                        f"for ({start}) is past the end ({total} frames)")
    reach = min(stop, total) if total else stop
    if reach > max_decoded:
        raise ClipError(f"{path.name}: frames from {start} in steps of {step} would mean "
                        f"decoding {reach} frames; a load decodes at most "
                        f"{max_decoded}: pick a smaller start or step, or cut the video "
                        "first")


def trim_notice(total: int | None, max_frames: int, start: int, end: int | None,
                step: int) -> str:
    """What the frame cap cut, and the step that would span the whole selected range of a
    source of `total` frames: a 20 s phone clip otherwise just loses everything after its
    first seconds."""
    text = f"trimmed to {max_frames} frames (limit)"
    stop = min(end, total) if end and total else total
    if not stop or stop - start <= max_frames * step:
        return text
    last = start + (max_frames - 1) * step
    wide = -(-(stop - start) // max_frames)  # the smallest step that keeps ≤ max_frames
    return (f"{text}: source frames {start}-{last} of {total}; a step of {wide} (Trim and "
            f"subsample) spans frames {start}-{stop - 1}, or move the start to see a later part")


def cut_short_notice(path: Path, announced: int | None, count: int) -> list[str]:
    """A notice when decoding ended well before the frame count the container announces: a
    file cut short (an interrupted upload) kept what decoded and said nothing."""
    if path.suffix.lower() not in (*VIDEO_EXTS, *ANIMATED_IMAGE_EXTS) or not announced:
        return []
    if count >= announced - 1:  # containers may count one frame more than they hold
        return []
    return [f"the video ends after {count} of the {announced} frames its header announces "
            "(cut short or damaged?)"]


def gif_canvas(path: Path) -> tuple[int, int, int | None]:
    """(width, height, frames) a GIF's frames reach: the largest left + width and top + height
    over its image descriptors, read without decoding, and how many there are (None past
    MAX_DECODED_FRAMES, which no load decodes: the walk stops there). Pillow grows the canvas
    to hold a frame placed outside the declared screen, so a 620-byte GIF of 10x10 frames at
    (12990, 12990) decoded to 13000x13000 frames (2 GB each) past the size check of its first
    frame."""
    data = path.read_bytes()
    width, height = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    pos = 13 + (3 << ((data[10] & 7) + 1) if len(data) > 10 and data[10] & 0x80 else 0)
    frames: int | None = 0
    try:
        while pos < len(data) and data[pos] != 0x3B:  # 0x3B: the trailer
            if frames == MAX_DECODED_FRAMES:  # more than any load decodes
                frames = None
                break
            if data[pos] == 0x2C:  # an image descriptor: left, top, width, height, flags
                frames += 1
                left, top, w, h = (int.from_bytes(data[pos + 1 + 2 * k:pos + 3 + 2 * k],
                                                  "little") for k in range(4))
                width, height = max(width, left + w), max(height, top + h)
                flags = data[pos + 9]
                pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1  # + LZW size
            elif data[pos] == 0x21:  # an extension: its label, then sub-blocks
                pos += 2
            else:
                break  # not a GIF block: the decoder will say so
            while data[pos]:  # sub-blocks, each led by its length, up to a zero
                pos += data[pos] + 1
            pos += 1
    except IndexError:  # cut short: the frames read so far
        pass
    return width, height, frames
