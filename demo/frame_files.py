"""Frames from files for the demo's clip reader: single images, zips and folders of frames.

Owns the image-side limits (decoded pixels per frame, zip member count, safe member paths);
`demo.video_io` adds videos, the frame cap and the working size. No gradio, no torch of its
own (frame names sort with `srnet.natural_key`, as the CLI's frame folders do).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from srnet import natural_key

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP")  # Pillow's names for IMAGE_EXTS
MAX_ZIP_MEMBERS = 20_000
MAX_IMAGE_PIXELS = 40_000_000  # one decoded frame (e.g. 8K is 33 Mpx)


class ClipError(ValueError):
    """A clip cannot be loaded; the message is meant for the user."""


class TooLargeError(ClipError):
    """A clip's frames are over `MAX_IMAGE_PIXELS`: said as such, never retried another way."""


def too_large(label: str, width: int | None = None, height: int | None = None) -> TooLargeError:
    """The message of a frame over the limit, with its size where known."""
    size = f"are {width}x{height}, over" if width and height else "are over"
    return TooLargeError(f"{label}: its frames {size} the {MAX_IMAGE_PIXELS // 10**6} Mpx "
                         "limit (8K is 33 Mpx): export it at a smaller size")


def to_rgb(frame: np.ndarray) -> np.ndarray:
    """Any decoded array (gray, RGBA, 16-bit) → uint8 ``[H, W, 3]`` RGB."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:
        scale = 257.0 if frame.dtype == np.uint16 else 1.0
        frame = np.clip(frame / scale, 0, 255).astype(np.uint8)
    frame = frame[:, :, None] if frame.ndim == 2 else frame
    if frame.ndim != 3 or frame.shape[2] not in (1, 3, 4):
        raise ClipError(f"unexpected frame shape {frame.shape}")
    return np.ascontiguousarray(np.repeat(frame, 3, axis=2) if frame.shape[2] == 1
                                else frame[:, :, :3])


def decode_image(data: bytes | Path, label: str) -> np.ndarray:
    """uint8 [H, W, 3] RGB of a PNG, JPEG, WebP or BMP (whatever the name says; Pillow would
    open any format it knows, e.g. EPS through Ghostscript), upright as its EXIF orientation
    says (a phone photo's pixels are stored sideways), 16-bit grey scaled, not clipped."""
    try:
        source = io.BytesIO(data) if isinstance(data, bytes) else data
        with Image.open(source, formats=IMAGE_FORMATS) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise too_large(label, image.width, image.height)
            try:
                upright = ImageOps.exif_transpose(image)
            except (struct.error, TypeError, KeyError, IndexError, SyntaxError):
                upright = image  # a damaged EXIF block sank a whole zip: the pixels are fine
            if upright.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey (PNG)
                return to_rgb(np.clip(np.asarray(upright), 0, 65535).astype(np.uint16))
            return to_rgb(np.asarray(upright.convert("RGB")))
    except Image.DecompressionBombError as exc:  # raised by open(), before the check above
        raise too_large(label) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, ClipError):
            raise
        raise ClipError(f"{label}: cannot decode image ({exc})") from exc


def safe_member(name: str) -> bool:
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return False
    return ".." not in PurePosixPath(name.replace("\\", "/")).parts


def wanted(parts: tuple[str, ...]) -> bool:
    if any(part.startswith(".") or part == "__MACOSX" for part in parts):
        return False
    return bool(parts) and parts[-1].lower().endswith(IMAGE_EXTS)


def zip_members(path: Path, max_bytes: int) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open a frame zip after the safety checks; members in natural order (caller closes)."""
    declared = _declared_members(path)
    if declared is not None and declared > MAX_ZIP_MEMBERS:
        raise ClipError(f"{path.name}: too many files in the zip ({declared})")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ClipError(f"{path.name}: not a valid zip file ({exc})") from exc
    try:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise ClipError(f"{path.name}: too many files in the zip ({len(infos)})")
        bad = [info.filename for info in infos if not safe_member(info.filename)]
        if bad:
            raise ClipError(f"{path.name}: refusing unsafe path in zip: {bad[0]!r}")
        members = [info for info in infos if not info.is_dir()
                   and wanted(PurePosixPath(info.filename.replace("\\", "/")).parts)]
        total = sum(info.file_size for info in members)  # declared sizes; reads honour them
        if total > max_bytes:
            raise ClipError(f"{path.name}: frames unpack to {total / 2**20:.0f} MB, over the "
                            f"{max_bytes / 2**20:.0f} MB limit")
    except ClipError:
        archive.close()
        raise
    return archive, sorted(members, key=lambda info: natural_key(info.filename))


def _declared_members(path: Path) -> int | None:
    """The member count a zip's end record declares, read before its central directory is
    parsed (an 82 MB zip of a million empty members took 7 s and 470 MB to parse before the
    count was checked). None where the record cannot be read (ZipFile then says why)."""
    try:
        with open(path, "rb") as handle:
            record = zipfile._EndRecData(handle)  # noqa: SLF001 (the stdlib's own reader)
    except (OSError, AttributeError, zipfile.BadZipFile):
        return None
    return int(record[zipfile._ECD_ENTRIES_TOTAL]) if record else None  # noqa: SLF001


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    try:
        with archive.open(info) as handle:  # zipfile stops at the declared size (bomb-safe)
            data = handle.read(info.file_size + 1)
    # a damaged member (bad CRC), a password, or a compression zipfile lacks (deflate64)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
        raise ClipError(f"{info.filename}: cannot read it from the zip ({exc})") from exc
    return decode_image(data, info.filename)


def zip_frames(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> Iterator[np.ndarray]:
    with archive:
        for info in members:
            yield read_member(archive, info)


def folder_files(path: Path, max_bytes: int) -> list[Path]:
    files = sorted((p for p in path.iterdir() if p.is_file() and wanted((p.name,))),
                   key=lambda p: natural_key(p.name))
    total = sum(p.stat().st_size for p in files)
    if total > max_bytes:
        raise ClipError(f"{path.name}: frames take {total / 2**20:.0f} MB, over the "
                        f"{max_bytes / 2**20:.0f} MB limit")
    return files


def frame_file_names(path: Path) -> list[str] | None:
    """The file names of a zip's or a folder's frames in the order they decode (frame i of the
    source is name i); None for anything else (a video, a single image)."""
    if path.is_dir():
        return [p.name for p in folder_files(path, 2**62)]
    if path.suffix.lower() != ".zip":
        return None
    archive, members = zip_members(path, 2**62)
    archive.close()
    return [info.filename for info in members]
