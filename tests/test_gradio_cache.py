"""demo.gradio_cache: an image Gradio has cached is never rewritten in place (a browser may be
reading it), and a new one appears whole."""

import os
from pathlib import Path

import numpy as np
from gradio import processing_utils
from PIL import Image

from demo import gradio_cache


def test_same_image_is_written_once_and_served_from_the_same_file(tmp_path, monkeypatch):
    monkeypatch.setattr(processing_utils, "save_pil_to_cache",
                        processing_utils.save_pil_to_cache)  # undone after the test
    gradio_cache.install()
    frame = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    first = processing_utils.save_img_array_to_cache(frame, str(tmp_path), format="png")
    writes, rewrites = [], []
    real_replace, real_write_bytes = os.replace, Path.write_bytes
    monkeypatch.setattr(os, "replace", lambda *a: (writes.append(a), real_replace(*a)))
    monkeypatch.setattr(Path, "write_bytes",  # Gradio's own writer truncates in place
                        lambda self, data: (rewrites.append(self), real_write_bytes(self, data)))
    again = processing_utils.save_img_array_to_cache(frame.copy(), str(tmp_path), format="png")
    assert again == first and not writes and not rewrites
    assert np.array_equal(np.asarray(Image.open(again)), frame)
    other = processing_utils.save_img_array_to_cache(255 - frame, str(tmp_path), format="png")
    assert other != first and len(writes) == 1 and not rewrites  # staged, renamed into place
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no staging file left behind


def test_a_failed_write_leaves_no_staging_file(tmp_path, monkeypatch):
    """A disk-full write left its hidden staging file in the cache for good."""
    import pytest

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    frame = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(OSError, match="No space"):
        gradio_cache._save_pil_to_cache(Image.fromarray(frame), str(tmp_path), format="png")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
