"""webm, mov, 10-bit HEVC, animated WebP and APNG uploads through the demo's video reader
(`demo.video_io.load_clip`): tiny clips written here with imageio's bundled ffmpeg decode to
the right number of frames, size, fps and colours; a phone's portrait clip decodes upright."""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest

from demo.video_io import load_clip, probe_clip

COLOURS = [(220, 30, 30), (30, 220, 30), (30, 30, 220), (220, 220, 30), (30, 220, 220),
           (220, 30, 220)]
SIZE = (64, 96)  # H, W: multiples of 16, so no encoder padding


def _write(path: Path, codec: str, pixelformat: str = "yuv420p") -> Path:
    writer = imageio.get_writer(str(path), fps=10, codec=codec, macro_block_size=16,
                                pixelformat=pixelformat, quality=None, bitrate="2M")
    with writer:
        for colour in COLOURS:
            writer.append_data(np.full((*SIZE, 3), colour, np.uint8))
    return path


@pytest.mark.parametrize("name,codec,pixelformat", [
    ("clip.webm", "libvpx", "yuv420p"), ("clip.mov", "libx264", "yuv420p"),
    ("clip_mpeg4.mov", "mpeg4", "yuv420p"),
    ("clip_hevc10.mov", "libx265", "yuv420p10le")])  # 10-bit HEVC: an iPhone's default
def test_upload_decodes_every_frame(tmp_path, name, codec, pixelformat):
    path = _write(tmp_path / name, codec, pixelformat)
    clip = load_clip(path, max_frames=90, short_side=64)
    assert len(clip.frames) == len(COLOURS) and not clip.notices  # no false "ends after"
    assert clip.frames[0].shape == (*SIZE, 3) and clip.frames[0].dtype == np.uint8
    assert abs(clip.fps - 10) < 0.5
    for frame, colour in zip(clip.frames, COLOURS, strict=True):
        mean = frame.reshape(-1, 3).mean(axis=0)
        assert np.abs(mean - colour).max() < 25, (mean, colour)
    info = probe_clip(path)  # what the page shows before decoding
    assert (info["height"], info["width"]) == SIZE and abs(info["fps"] - 10) < 0.5
    assert info["num_frames"] in (None, len(COLOURS))


def test_webm_is_trimmed_and_subsampled_like_mp4(tmp_path):
    path = _write(tmp_path / "clip.webm", "libvpx")
    clip = load_clip(path, max_frames=2, short_side=64, start=1, step=2)
    assert len(clip.frames) == 2  # frames 1 and 3
    for frame, colour in zip(clip.frames, (COLOURS[1], COLOURS[3]), strict=True):
        assert np.abs(frame.reshape(-1, 3).mean(axis=0) - colour).max() < 25


def test_a_phone_portrait_clip_decodes_upright(tmp_path):
    """Phones store a portrait video as landscape frames plus a display-rotation matrix. The
    reader, the page's probe and the source-resolution export must all apply it, or a user's
    clip shows sideways (and masks made on one would not fit the other)."""
    import subprocess

    import imageio_ffmpeg

    from demo.video_io import read_source_frames

    stored = np.zeros((*SIZE, 3), np.uint8)  # [H, W, 3] landscape as stored
    stored[:, : SIZE[1] // 3] = (220, 30, 30)  # a red left third: where it ends up shows the turn
    stored[:, SIZE[1] // 3:] = (30, 30, 220)
    plain = tmp_path / "stored.mp4"
    with imageio.get_writer(str(plain), fps=10, codec="libx264", macro_block_size=16,
                            pixelformat="yuv420p", quality=None, bitrate="2M") as writer:
        for _ in range(4):
            writer.append_data(stored)
    rotated = tmp_path / "portrait.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error",
                    "-display_rotation", "90", "-i", str(plain), "-c", "copy", str(rotated)],
                   check=True)
    upright = np.rot90(stored, 1)  # [W, H, 3]: display rotation 90 = a quarter turn
    clip = load_clip(rotated, max_frames=90, short_side=64)
    assert len(clip.frames) == 4 and clip.frames[0].shape == upright.shape
    assert np.abs(clip.frames[2].astype(int) - upright).mean() < 12  # the red third on the bottom
    info = probe_clip(rotated)
    assert (info["height"], info["width"]) == upright.shape[:2]
    again = next(read_source_frames(rotated, start=1, step=1, count=1,
                                    size=clip.source_size, max_bytes=10**8))
    assert again.shape == upright.shape and np.abs(again.astype(int) - upright).mean() < 12


@pytest.mark.parametrize("name", ["clip.webp", "clip.png"])
def test_an_animated_webp_or_png_is_a_clip(tmp_path, name):
    """An animated WebP or PNG (APNG; GIPHY and phones share short clips so) loads every
    frame in order at its rate; until session 44 only its first frame was read and the load
    said the clip had a single frame. A still PNG stays one frame."""
    from PIL import Image

    pictures = [Image.fromarray(np.full((*SIZE, 3), colour, np.uint8)) for colour in COLOURS]
    path = tmp_path / name
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=125,
                     lossless=True)
    info = probe_clip(path)  # what the page shows before decoding
    assert info["num_frames"] == len(COLOURS) and abs(info["fps"] - 8) < 0.1
    clip = load_clip(path, max_frames=90, short_side=64)
    assert len(clip.frames) == len(COLOURS) and abs(clip.fps - 8) < 0.1 and not clip.notices
    for frame, colour in zip(clip.frames, COLOURS, strict=True):
        assert np.abs(frame.reshape(-1, 3).mean(axis=0) - colour).max() < 3, colour
    trimmed = load_clip(path, max_frames=2, short_side=64, start=1, step=2)  # frames 1 and 3
    assert [tuple(f[0, 0]) for f in trimmed.frames] == [COLOURS[1], COLOURS[3]]
    if name.endswith(".png"):  # a cut-off APNG keeps what decodes and says so
        data = path.read_bytes()
        (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
        cut = load_clip(tmp_path / "cut.png", max_frames=90, short_side=64)
        assert 1 <= len(cut.frames) < len(COLOURS)
        assert any(f"of the {len(COLOURS)} frames" in notice for notice in cut.notices)
    pictures[2].save(tmp_path / "still.png")
    still = load_clip(tmp_path / "still.png", max_frames=90, short_side=64)
    assert len(still.frames) == 1 and probe_clip(tmp_path / "still.png")["num_frames"] == 1
    # a two-picture JPEG (MPO, from stereo cameras) is a still: the page said 2 frames
    pictures[0].save(tmp_path / "two.jpg", format="MPO", save_all=True,
                     append_images=pictures[1:2])
    assert probe_clip(tmp_path / "two.jpg")["num_frames"] == 1
    assert len(load_clip(tmp_path / "two.jpg", max_frames=90, short_side=64).frames) == 1
