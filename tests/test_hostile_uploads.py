"""Uploads built to attack a public server (a review, session 34): a DASH manifest named .mp4
made ffmpeg read another media file of the server by path; huge start or step values made a
load decode a whole long video; a zip's member count was checked only after its whole
central directory was parsed; a TIFF named .png decoded."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from demo import video_io, video_probe
from demo.frame_files import ClipError, decode_image, zip_members
from demo.video_io import load_clip
from srnet.io import write_mp4

MANIFEST = """<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT2S"
 minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
<Period><AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="1000"
 width="64" height="48"><BaseURL>{target}</BaseURL></Representation></AdaptationSet></Period>
</MPD>"""


@pytest.fixture()
def secret(tmp_path: Path) -> Path:
    """A video elsewhere on the server, which no upload may reach."""
    frames = [np.full((48, 64, 3), 40 * i, np.uint8) for i in range(6)]
    (tmp_path / "private").mkdir()
    return write_mp4(tmp_path / "private" / "secret.mp4", frames, 24)


def test_a_dash_manifest_named_mp4_reads_no_other_file(tmp_path, secret, monkeypatch):
    upload = tmp_path / "upload" / "innocent.mp4"
    upload.parent.mkdir()
    upload.write_text(MANIFEST.format(target=secret))
    with pytest.raises(ClipError, match="not a video file"):
        load_clip(upload)
    # the second guard alone: ffmpeg may open only the listed demuxers and local files
    monkeypatch.setattr(video_probe, "is_video_container", lambda path: True)
    with pytest.raises(ClipError):
        load_clip(upload)
    assert len(load_clip(secret).frames) == 6  # a real mp4 still loads


def test_starts_and_steps_that_would_decode_a_whole_video_are_refused(tmp_path, monkeypatch):
    decoded = []

    def endless():
        while True:
            decoded.append(1)
            yield np.zeros((8, 8, 3), np.uint8)

    monkeypatch.setattr(video_io, "_open_any", lambda path, max_bytes: (30.0, endless()))
    clip = tmp_path / "long.mp4"
    clip.write_bytes(b"\0\0\0\x18ftypisom")  # an mp4 header; decoding is faked
    for asked in ({"start": 10**7}, {"step": 10**6}):
        with pytest.raises(ClipError, match="decode"):
            load_clip(clip, max_frames=90, **asked)
    assert not decoded  # refused before any frame
    monkeypatch.setattr(video_io, "DECODE_BUDGET_S", 0.0)
    with pytest.raises(ClipError, match="took longer than"):
        load_clip(clip, max_frames=90, start=1000)


def test_a_zip_with_too_many_members_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(30):
            archive.writestr(f"{index:05d}.png", b"")
    monkeypatch.setattr("demo.frame_files.MAX_ZIP_MEMBERS", 20)
    parsed = []
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents",
                        lambda self: parsed.append(1))  # the central directory's parse
    with pytest.raises(ClipError, match="too many files in the zip \\(30\\)"):
        zip_members(path, 2**30)
    assert not parsed


def test_only_the_image_formats_the_demo_names_decode():
    tiff = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(tiff, format="TIFF")
    with pytest.raises(ClipError, match="cannot decode"):
        decode_image(tiff.getvalue(), "x.png")
    png = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(png, format="PNG")
    assert decode_image(png.getvalue(), "x.png")[0, 0].tolist() == [200, 10, 10]


def test_sixteen_bit_frames_are_scaled_and_phone_photos_stand_upright():
    """A 16-bit grey PNG came out clipped (every value over 255 white); a JPEG whose EXIF says
    "rotated" kept its stored, sideways shape."""
    grey = io.BytesIO()
    Image.fromarray(np.array([[0, 32768, 65535]], np.uint16)).save(grey, format="PNG")
    assert decode_image(grey.getvalue(), "g.png")[0, :, 0].tolist() == [0, 127, 255]
    photo = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    Image.new("RGB", (40, 20), (0, 200, 0)).save(photo, format="JPEG", exif=exif)
    assert decode_image(photo.getvalue(), "p.jpg").shape == (40, 20, 3)


def test_segment_errors_name_the_upload_not_its_server_path(tmp_path):
    import gradio as gr
    import torch

    from demo import handlers_api as api
    from demo.config import DemoConfig
    from demo.handlers import DemoContext
    from srnet import InferenceConfig, ModelConfig, Predictor, SRNet

    torch.manual_seed(0)
    predictor = Predictor(SRNet(ModelConfig.tiny()), InferenceConfig(short_side=96), "cpu")
    ctx = DemoContext(predictor, DemoConfig(short_side_cpu=96, max_frames_cpu=8,
                                            temp_root=tmp_path / "srnet"))
    broken = tmp_path / "uploads" / "a1b2c3" / "mask.png"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(gr.Error) as caught:
        api.segment(ctx, str(DemoConfig().examples_dir / "bear" / "clip.mp4"), str(broken))
    assert "mask.png" in caught.value.message and "a1b2c3" not in caught.value.message


def test_an_mpeg_ts_named_mp4_still_loads(tmp_path):
    """Some screen recorders and downloaders write MPEG-TS under .mp4: the header check and
    ffmpeg's list accept it (the first version of both refused it)."""
    import imageio.v2 as iio

    path = tmp_path / "recording.mp4"
    writer = iio.get_writer(str(path), format="FFMPEG", fps=24, codec="libx264",
                            output_params=["-f", "mpegts"])
    for index in range(8):
        writer.append_data(np.full((48, 64, 3), 30 * index, np.uint8))
    writer.close()
    assert path.read_bytes()[0] == 0x47  # a transport stream, not an mp4
    assert len(load_clip(path).frames) == 8


@pytest.mark.parametrize("size,message", [
    ((20, 400), "the clip is 400x20: too small (at least 32 px a side)"),
    ((40, 4000), "the clip is 4000x40, too long and thin"),
])
def test_a_clip_too_small_a_side_names_its_own_size(tmp_path: Path, size, message) -> None:
    """A 4000x40 strip was refused as "1280x12: too small", sizes the user never uploaded
    (the long side's cap had shrunk it), though both of its sides are over 32 px."""
    from conftest import lite_demo_context

    from demo.handlers_load import load_upload

    ctx = lite_demo_context(tmp_path / "sessions")
    archive = tmp_path / "strip.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for k in range(3):
            buffer = io.BytesIO()
            Image.fromarray(np.full((*size, 3), 40 * k, np.uint8)).save(buffer, "PNG")
            zf.writestr(f"{k:05d}.png", buffer.getvalue())
    out = load_upload(ctx, str(archive), 0, 0, 1, None)
    assert out[0] is None and message in out[-1], out[-1]
