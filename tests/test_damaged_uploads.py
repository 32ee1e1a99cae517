"""Damaged uploads fail with a clear message, never another exception (Gradio shows only its
generic "Error" for those): a GIF cut short, a JPEG or WebP whose EXIF block is damaged, a
broken PNG mask, frame names with digits `int` refuses; and a GIF of a great many frames is
probed without walking them all."""

from __future__ import annotations

import contextlib
import io
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from demo import video_probe
from demo.frame_files import ClipError, decode_image
from demo.video_io import load_clip
from demo.video_probe import gif_canvas, probe_clip
from srnet import load_index_mask
from srnet.io import natural_key


def _gif(frames: int) -> bytes:
    rng = np.random.default_rng(0)
    images = [Image.fromarray((rng.random((24, 32, 3)) * 255).astype(np.uint8)).convert("P")
              for _ in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=100)
    return buffer.getvalue()


def test_a_gif_cut_anywhere_is_probed_or_refused_clearly(tmp_path: Path) -> None:
    data, path = _gif(6), tmp_path / "cut.gif"
    for length in range(20, len(data), 3):  # Pillow's frame count raised IndexError
        path.write_bytes(data[:length])
        with contextlib.suppress(ClipError):
            probe_clip(path)
    path.write_bytes(data[: len(data) * 2 // 3])
    assert 1 <= len(load_clip(path).frames) < 6  # what decoded, kept


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_a_damaged_exif_block_keeps_the_picture(fmt: str) -> None:
    pixels = (np.random.default_rng(0).random((40, 48, 3)) * 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112], exif[0x010F] = 6, "Phone"  # orientation: a quarter turn; the maker
    buffer = io.BytesIO()
    image.save(buffer, fmt, exif=exif.tobytes())
    data = buffer.getvalue()
    start = data.find(b"Exif\x00\x00")
    randomness = random.Random(2)
    for _ in range(600):  # ImageOps.exif_transpose raised struct.error on some
        damaged = bytearray(data)
        for _ in range(randomness.randint(1, 4)):
            damaged[start + randomness.randrange(8, 60)] = randomness.randrange(256)
        with contextlib.suppress(ClipError):
            assert decode_image(bytes(damaged), "frame.jpg").ndim == 3


def test_a_broken_png_mask_is_a_value_error(tmp_path: Path) -> None:
    mask = np.zeros((48, 64), np.uint8)
    mask[5:20, 5:30], mask[25:40, 30:60] = 100, 200
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, "PNG")
    damaged = bytearray(buffer.getvalue())
    at = damaged.find(b"IDAT")
    assert damaged[at - 4:at - 1] == b"\0\0\0" and damaged[at - 1] > 11
    damaged[at - 1] = 11  # IDAT's length cut: the next "chunk" is pixel data
    path = tmp_path / "mask.png"
    path.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="cannot read mask .*broken PNG"):
        load_index_mask(path)  # was a SyntaxError: Import mask and /segment had no message


def test_frame_names_sort_with_any_digits(tmp_path: Path) -> None:
    names = ["frame_1²10.png", "frame_1²2.png", "²1.png", "кадр_10.png", "кадр_2.png"]
    assert sorted(names, key=natural_key) == [
        "frame_1²2.png", "frame_1²10.png", "²1.png", "кадр_2.png", "кадр_10.png"]
    path = tmp_path / "frames.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for level, name in ((0, "f_1²1.png"), (90, "f_1²10.png"), (30, "f_1²2.png")):
            png = io.BytesIO()
            Image.fromarray(np.full((32, 48, 3), level, np.uint8)).save(png, "PNG")
            archive.writestr(name, png.getvalue())
    assert [int(f.mean()) for f in load_clip(path).frames] == [0, 30, 90]


def test_a_gif_of_very_many_frames_is_walked_only_as_far_as_a_load_decodes(
        tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "many.gif"
    path.write_bytes(_gif(12))
    assert gif_canvas(path) == (32, 24, 12) and probe_clip(path)["num_frames"] == 12
    monkeypatch.setattr(video_probe, "MAX_DECODED_FRAMES", 5)
    assert gif_canvas(path) == (32, 24, None)  # stopped: more than any load decodes


def test_a_matroska_frame_count_is_not_announced(tmp_path: Path) -> None:
    """Matroska stores no frame count; OpenCV's estimate (duration x rate) read a complete
    variable-rate recording as cut short."""
    from demo.video_io import write_mp4

    frames = [np.full((32, 48, 3), 20 * i, np.uint8) for i in range(4)]
    mkv = write_mp4(tmp_path / "clip.mp4", frames, fps=8).rename(tmp_path / "clip.mkv")
    assert probe_clip(mkv)["num_frames"] is None
    assert probe_clip(write_mp4(tmp_path / "b.mp4", frames, fps=8))["num_frames"] == 4
