"""webm and mov uploads through the demo's video reader (`demo.video_io.load_clip`): tiny clips
written here with imageio's bundled ffmpeg decode to the right number of frames, size, fps and
colours."""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest

from demo.video_io import load_clip, probe_clip

COLOURS = [(220, 30, 30), (30, 220, 30), (30, 30, 220), (220, 220, 30), (30, 220, 220),
           (220, 30, 220)]
SIZE = (64, 96)  # H, W: multiples of 16, so no encoder padding


def _write(path: Path, codec: str) -> Path:
    writer = imageio.get_writer(str(path), fps=10, codec=codec, macro_block_size=16,
                                pixelformat="yuv420p", quality=None, bitrate="2M")
    with writer:
        for colour in COLOURS:
            writer.append_data(np.full((*SIZE, 3), colour, np.uint8))
    return path


@pytest.mark.parametrize("name,codec", [("clip.webm", "libvpx"), ("clip.mov", "libx264"),
                                        ("clip_mpeg4.mov", "mpeg4")])
def test_upload_decodes_every_frame(tmp_path, name, codec):
    path = _write(tmp_path / name, codec)
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
