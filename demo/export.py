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
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from srnet import save_index_mask


def frame_stem(index: int, frame_names: Sequence[str] | None) -> str:
    """File stem for frame `index`: the source frame's name without folder or extension (unsafe
    characters replaced), or the zero-padded index when no name is known."""
    if frame_names is not None and 0 <= index < len(frame_names) and frame_names[index]:
        stem = Path(str(frame_names[index]).replace("\\", "/")).stem
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip(".")
        if stem:
            return stem
    return f"{index:05d}"


def _png_bytes(array: np.ndarray) -> bytes:
    """uint8 ``[H, W]`` → 8-bit gray PNG, ``[H, W, 4]`` → RGBA PNG."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _prepare(out_path: str | Path) -> Path:
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
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
                        obj_id: int, out_zip: str | Path,
                        frame_names: Sequence[str] | None = None) -> Path:
    """Zip of RGBA PNGs: the frame's colours with alpha 255 on object `obj_id`, 0 elsewhere.

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
            alpha = (mask == int(obj_id)).astype(np.uint8) * 255
            rgba = np.dstack([frame[:, :, :3].astype(np.uint8), alpha])
            archive.writestr(f"{frame_stem(index, frame_names)}.png", _png_bytes(rgba))
    return out_zip
