"""Workaround for a race in Gradio's image cache (seen with Gradio 6.31).

Gradio names a cached image by the hash of its bytes and writes it with `Path.write_bytes` every
time the same image is sent again, which truncates the file first. The demo sends the same frame
many times (view, paint editor, each click), so a browser still downloading the previous copy
could receive a truncated file: uvicorn logs "Too little data for declared Content-Length" and the
paint editor keeps an empty frame. Same hash means same bytes, so an existing file is left alone,
and a new one is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gradio import processing_utils


def _save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    data = processing_utils.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / f"{name}.{format}").resolve()
    if path.exists():  # touched, so `delete_cache` (which ages files by ctime) keeps it
        os.utime(path)
        return str(path)
    fd, staging = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(staging, path)
    finally:  # a failed write (disk full) leaves no staging file behind
        Path(staging).unlink(missing_ok=True)
    return str(path)


def install() -> None:
    """Route Gradio's image caching through the race-free writer (idempotent)."""
    processing_utils.save_pil_to_cache = _save_pil_to_cache
