"""demo.video_io: clip loading limits, zip safety, resize rules and the mp4 round trip."""

from __future__ import annotations

import io
import itertools
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from demo import video_io
from demo.video_io import ClipError, load_clip, probe_clip, working_size, write_mp4
from srnet.io import iter_video


def _png(color: tuple[int, int, int], size: tuple[int, int] = (32, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full(size + (3,), color, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _frame_folder(path: Path, count: int, size: tuple[int, int] = (32, 48)) -> Path:
    path.mkdir()
    for i in range(count):  # red channel encodes the index; names need natural sorting
        (path / f"f{i}.png").write_bytes(_png((10 * i, 0, 0), size))
    return path


def test_missing_empty_unsupported_and_oversized(tmp_path: Path) -> None:
    with pytest.raises(ClipError, match="not found"):
        load_clip(tmp_path / "nope.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(ClipError, match="empty"):
        load_clip(tmp_path / "empty.mp4")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ClipError, match="unsupported"):
        load_clip(tmp_path / "notes.txt")
    (tmp_path / "big.png").write_bytes(_png((1, 2, 3), (64, 64)))
    with pytest.raises(ClipError, match="limit"):
        load_clip(tmp_path / "big.png", max_bytes=100)


def test_corrupt_video_raises_clip_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ClipError):
        load_clip(bad)
    assert issubclass(ClipError, ValueError)


@pytest.mark.parametrize("name", ["../evil.png", "/etc/evil.png", "a/../../evil.png", "C:/x.png"])
def test_zip_with_unsafe_member_is_rejected(tmp_path: Path, name: str) -> None:
    archive = tmp_path / "frames.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok/00000.png", _png((1, 2, 3)))
        zf.writestr(name, _png((1, 2, 3)))
    with pytest.raises(ClipError, match="unsafe"):
        load_clip(archive)


def test_zip_bomb_rejected_by_uncompressed_size(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("00000.bmp", b"\0" * (4 * 2**20))
    assert archive.stat().st_size < 2**20
    with pytest.raises(ClipError, match="unpack"):
        load_clip(archive, max_bytes=2**20)


def test_zip_natural_order_ignores_junk_and_fixes_sizes(tmp_path: Path) -> None:
    archive = tmp_path / "frames.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in (10, 2, 1):
            zf.writestr(f"clip/frame{i}.png", _png((i, 0, 0)))
        zf.writestr("clip/frame3.jpg", _png((3, 0, 0), (16, 24)))  # PIL sniffs the content
        zf.writestr("__MACOSX/clip/._frame1.png", b"junk")
        zf.writestr("clip/.hidden.png", b"junk")
        zf.writestr("clip/readme.txt", b"text")
    clip = load_clip(archive)
    assert [int(f[0, 0, 0]) for f in clip.frames] == [1, 2, 3, 10]
    assert all(f.shape == (32, 48, 3) for f in clip.frames)
    assert any("different sizes" in n for n in clip.notices)


def test_frame_cap_start_end_step(tmp_path: Path) -> None:
    folder = _frame_folder(tmp_path / "frames", 10)
    clip = load_clip(folder, max_frames=4)
    assert [int(f[0, 0, 0]) for f in clip.frames] == [0, 10, 20, 30]
    assert any("trimmed to 4" in n for n in clip.notices)
    clip = load_clip(folder, start=2, step=3)
    assert [int(f[0, 0, 0]) for f in clip.frames] == [20, 50, 80]
    assert clip.fps == pytest.approx(video_io.DEFAULT_FPS / 3)
    assert not any("trimmed" in n for n in clip.notices)
    clip = load_clip(folder, start=1, end=3)
    assert [int(f[0, 0, 0]) for f in clip.frames] == [10, 20]
    with pytest.raises(ClipError, match="no frames"):
        load_clip(folder, start=50)


def test_decoding_stops_at_the_cap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pulled = itertools.count()

    def endless() -> object:
        while True:
            next(pulled)
            yield np.zeros((8, 8, 3), np.uint8)

    monkeypatch.setattr(video_io, "_open_any", lambda path, max_bytes: (30.0, endless()))
    (tmp_path / "long.mp4").write_bytes(b"\0\0\0\x18ftypisom")  # an mp4 header; decoding is faked
    clip = load_clip(tmp_path / "long.mp4", max_frames=5, step=2)
    assert len(clip.frames) == 5
    assert next(pulled) <= 5 * 2 + 1  # frames decoded before stopping


@pytest.mark.parametrize(("source", "expected"), [
    ((1080, 1920), (480, 852)),  # short side 480, kept even
    ((2000, 500), (1280, 320)),  # long side limit wins
    ((101, 151), (100, 150)),  # small odd frame: only made even
    ((100, 200), (100, 200)),  # never upscaled
])
def test_working_size_rules(source: tuple[int, int], expected: tuple[int, int]) -> None:
    assert working_size(*source, short_side=480, max_side=1280) == expected


def test_single_image_loads_as_one_resized_frame(tmp_path: Path) -> None:
    (tmp_path / "one.jpg").write_bytes(_png((200, 100, 50), (600, 900)))
    clip = load_clip(tmp_path / "one.jpg", short_side=300)
    assert len(clip.frames) == 1
    assert clip.frames[0].shape == (300, 450, 3) and clip.source_size == (600, 900)
    assert any("resized from 900x600 to 450x300" in n for n in clip.notices)
    assert probe_clip(tmp_path / "one.jpg")["num_frames"] == 1


def test_mp4_round_trip(tmp_path: Path) -> None:
    colors = [(220, 30, 30), (30, 220, 30), (30, 30, 220)] * 4
    frames = [np.full((63, 81, 3), c, np.uint8) for c in colors]  # odd size gets padded
    path = write_mp4(tmp_path / "out.mp4", frames, fps=12)
    assert probe_clip(path) == {"num_frames": 12, "fps": 12.0, "height": 64, "width": 82}
    clip = load_clip(path)
    assert len(clip.frames) == 12 and clip.fps == pytest.approx(12.0) and not clip.notices
    for frame, color in zip(clip.frames, colors):
        assert np.abs(frame[10:50, 10:70].mean(axis=(0, 1)) - color).max() < 12
    with pytest.raises(ValueError):
        write_mp4(tmp_path / "none.mp4", [], fps=12)


def test_a_video_cut_short_says_so(tmp_path: Path) -> None:
    """An upload cut off mid-transfer decodes what it holds, and now says that it ended early
    (it used to keep the frames without a word); a clip stopped by the cap says nothing."""
    example = Path(__file__).resolve().parents[1] / "assets" / "examples" / "bear" / "clip.mp4"
    whole = example.read_bytes()
    assert not load_clip(example).notices
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: int(len(whole) * 0.9)])
    clip, announced = load_clip(cut), probe_clip(cut)["num_frames"]
    assert 1 < len(clip.frames) < announced
    assert f"ends after {len(clip.frames)} of the {announced} frames" in " ".join(clip.notices)
    assert not any("ends after" in notice for notice in load_clip(cut, max_frames=5).notices)
    cut.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(ClipError, match="cut short"):
        load_clip(cut, start=2)


def test_opencv_fallback_when_imageio_fails(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    path = write_mp4(tmp_path / "clip.mp4", [np.full((32, 48, 3), 90, np.uint8)] * 5, fps=8)

    def broken(path: Path) -> None:
        raise OSError("no ffmpeg today")

    monkeypatch.setattr(video_io, "_imageio_frames", broken)
    clip = load_clip(path)
    assert len(clip.frames) == 5 and clip.fps == pytest.approx(8.0)
    assert abs(int(clip.frames[2][16, 24, 1]) - 90) < 8


def test_gif_loads_with_its_frame_rate(tmp_path: Path) -> None:
    images = [Image.fromarray(np.full((20, 30, 3), 40 * i, np.uint8)) for i in range(4)]
    images[0].save(tmp_path / "a.gif", save_all=True, append_images=images[1:], duration=100)
    clip = load_clip(tmp_path / "a.gif")
    assert len(clip.frames) == 4 and clip.fps == pytest.approx(10.0)


def test_ffmpeg_starts_without_python_in_the_forked_child(tmp_path: Path, monkeypatch) -> None:
    """A preexec_fn makes the forked child run Python's at-fork hooks before exec, which can
    deadlock on a lock another server thread held at fork time (a load hung in CI; see
    srnet/io.py). Every decoder spawn must go without one."""
    frames = [np.full((32, 48, 3), 40 * i, np.uint8) for i in range(3)]
    write_mp4(tmp_path / "clip.mp4", frames, fps=5)
    spawns: list[dict] = []
    real_popen = subprocess.Popen

    def recording(*args, **kwargs):
        spawns.append(kwargs)
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording)
    clip = load_clip(tmp_path / "clip.mp4", short_side=32)
    assert len(clip.frames) == 3
    assert spawns, "the mp4 was not decoded by ffmpeg"
    assert all(spawn.get("preexec_fn") is None for spawn in spawns)


def test_a_trimmed_clip_says_what_was_cut_and_the_step_that_spans_it(tmp_path: Path) -> None:
    """A 10-frame source capped at 4: the notice names the source frames kept, the total and
    the step (3: frames 0, 3, 6, 9) that keeps the whole range under the cap."""
    folder = _frame_folder(tmp_path / "frames", 10)
    clip = load_clip(folder, max_frames=4)
    notice = next(n for n in clip.notices if n.startswith("trimmed to 4"))
    assert "source frames 0-3 of 10" in notice and "a step of 3" in notice
    assert "spans frames 0-9" in notice
    clip = load_clip(folder, max_frames=4, start=2, step=2)  # 2, 4, 6, 8 → the cap is not hit
    assert not any("trimmed" in n for n in clip.notices)
    clip = load_clip(folder, max_frames=3, start=1, end=9)  # frames 1..8: step 3 keeps 1, 4, 7
    notice = next(n for n in clip.notices if n.startswith("trimmed to 3"))
    assert "source frames 1-3 of 10" in notice and "a step of 3" in notice
    assert "spans frames 1-8" in notice


def test_a_variable_frame_rate_video_decodes_each_frame_once(tmp_path: Path) -> None:
    """Phones record at a variable rate; ffmpeg's default constant-rate output repeated frames
    to fill the gaps (6 frames came out as 29: slow motion, and the frame cap used up)."""
    import imageio_ffmpeg

    frames = [np.full((32, 48, 3), 40 * i, np.uint8) for i in range(6)]
    cfr = write_mp4(tmp_path / "cfr.mp4", frames, fps=12)
    vfr = tmp_path / "vfr.mp4"  # frame n shown at n²/12 s: gaps of 1, 3, 5, ... ticks
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-i", str(cfr),
                    "-vf", "setpts='N*N/12/TB'", "-fps_mode", "vfr", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", str(vfr)], check=True)
    clip = load_clip(vfr)
    levels = [int(frame.mean()) for frame in clip.frames]
    assert len(levels) == 6 and all(abs(a - 40 * i) < 8 for i, a in enumerate(levels))
    stream, _ = iter_video(vfr)  # `segment --video`'s reader: PNGs named by frame number
    levels = [int(frame.mean()) for frame in stream]
    assert len(levels) == 6 and all(abs(a - 40 * i) < 8 for i, a in enumerate(levels))


def test_huge_video_frames_are_refused_before_decoding(tmp_path: Path, monkeypatch) -> None:
    path = write_mp4(tmp_path / "clip.mp4", [np.zeros((32, 48, 3), np.uint8)] * 3, fps=8)
    monkeypatch.setattr(video_io, "MAX_IMAGE_PIXELS", 32 * 48 - 1)
    opened = []
    monkeypatch.setattr(video_io, "_imageio_frames", lambda p: opened.append(p))
    with pytest.raises(ClipError, match="48x32, over the"):
        load_clip(path)
    assert not opened  # the container's header said so: nothing was decoded


@pytest.mark.parametrize("damage", ["crc", "encrypted", "deflate64"])
def test_a_damaged_zip_member_is_a_clear_error(tmp_path: Path, damage: str) -> None:
    """zipfile raises BadZipFile, RuntimeError or NotImplementedError only when a member is
    read; each used to escape the loader as a bare server error."""
    path = tmp_path / "frames.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for i in range(3):
            archive.writestr(f"{i:03d}.png", _png((20 * i, 0, 0)))
    data = bytearray(path.read_bytes())
    if damage == "crc":
        with zipfile.ZipFile(path) as archive:
            info = archive.infolist()[1]
        data[info.header_offset + 30 + len(info.filename) + 40] ^= 0xFF
    else:  # the flag / method fields of every local and central header
        fields = {"encrypted": ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)),
                  "deflate64": ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10))}[damage]
        for signature, offset in fields:
            at = data.find(signature)
            while at >= 0:
                if damage == "encrypted":
                    data[at + offset] |= 1
                else:
                    data[at + offset:at + offset + 2] = (9).to_bytes(2, "little")
                at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    with pytest.raises(ClipError, match="cannot read it from the zip"):
        load_clip(path)


def test_a_decompression_bomb_png_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", (20000, 10000)).save(path)  # 200 Mpx: Pillow refuses it in open()
    with pytest.raises(ClipError, match="bomb.png: its frames are over the 40 Mpx limit"):
        load_clip(path)


def test_a_gif_whose_frames_grow_its_canvas_is_refused_before_decoding(tmp_path: Path) -> None:
    """A frame placed outside a GIF's declared screen makes Pillow grow the canvas: a
    620-byte GIF of 10x10 frames at (12990, 12990) decoded to 13000x13000 frames, 2 GB each,
    past the check of the first frame's size (the page's upload and /segment alike)."""
    frames = [Image.fromarray(np.full((16, 16), 60 * k, np.uint8)) for k in range(3)]
    path = tmp_path / "grow.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    data = bytearray(path.read_bytes())
    descriptor = b"\x2c\x00\x00\x00\x00\x10\x00\x10\x00"  # 16x16 at (0, 0)
    last = data.rfind(descriptor)
    assert last > data.find(descriptor) > 0  # a later frame's descriptor
    data[last + 1:last + 5] = (7000).to_bytes(2, "little") * 2  # now at (7000, 7000)
    path.write_bytes(bytes(data))
    assert probe_clip(path)[("width")] == 7016  # 49 Mpx, read from the descriptors
    with pytest.raises(ClipError, match="grow.gif: its frames are 7016x7016, over the 40 Mpx"):
        load_clip(path)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert len(load_clip(path).frames) == 3  # an ordinary GIF still loads


def test_a_truncated_video_says_so(tmp_path, caplog) -> None:
    """A cut-off download decoded up to its end and passed for the whole clip."""
    from conftest import make_clip

    from srnet.io import iter_video, write_mp4

    frames, _ = make_clip(60, size=(64, 96), num_objects=1)
    whole = write_mp4(tmp_path / "whole.mp4", frames, 24.0)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[:int(whole.stat().st_size * 0.6)])
    with caplog.at_level("WARNING"):
        assert sum(1 for _ in iter_video(whole)[0]) == 60
        assert "truncated" not in caplog.text
        assert sum(1 for _ in iter_video(cut)[0]) < 60
    assert "may be truncated" in caplog.text


def test_a_gif_and_a_grey_image_stream_at_their_rate_and_in_colour(tmp_path, caplog,
                                                                   monkeypatch) -> None:
    """`segment --video` on a GIF read its per-frame duration (ms) as the clip's seconds: a
    false "may be truncated" warning and 25 fps for a 10 fps GIF. A grey image came out
    [H, 3] (the channel slice of a 2-D frame) and failed as a size mismatch."""
    import imageio.v3 as iio

    from srnet.io import iter_video

    frames = [np.full((32, 48, 3), 40 * i, np.uint8) for i in range(4)]
    iio.imwrite(tmp_path / "a.gif", frames, duration=100, loop=0)
    with caplog.at_level("WARNING"):
        stream, fps = iter_video(tmp_path / "a.gif")
        decoded = list(stream)
    assert fps == pytest.approx(10.0) and len(decoded) == 4 and "truncated" not in caplog.text
    assert all(frame.shape == (32, 48, 3) for frame in decoded)
    # a video whose header gives no rate (imageio says fps 0) keeps the default 25: its
    # duration is the clip's seconds, not a GIF's milliseconds per frame
    import imageio.v2 as iio2

    opened = iio2.get_reader

    def no_rate(*args, **kwargs):  # the reader that decodes each frame once says none either
        reader = opened(*args, **kwargs)
        meta = reader.get_meta_data()
        reader.get_meta_data = lambda: {**meta, "fps": 0}
        return reader

    monkeypatch.setattr(iio, "immeta", lambda path: {"fps": 0, "duration": 10.0})
    monkeypatch.setattr(iio2, "get_reader", no_rate)
    write_mp4(tmp_path / "v.mp4", frames, 24.0)
    assert iter_video(tmp_path / "v.mp4")[1] == 25.0
    monkeypatch.undo()
    iio.imwrite(tmp_path / "grey.png", np.full((32, 48), 90, np.uint8))
    (grey,) = list(iter_video(tmp_path / "grey.png")[0])
    assert grey.shape == (32, 48, 3) and (grey == 90).all()


@pytest.mark.parametrize("name", ["a.webp", "a.png"])
def test_segment_reads_an_animated_webp_or_png_at_its_rate(tmp_path, caplog, name) -> None:
    """`segment --video` on an animated WebP or APNG read every frame, but at 25 fps (WebP
    names no duration before a frame is decoded) or with the APNG's per-frame milliseconds
    read as seconds, which also warned "may be truncated"."""
    from PIL import Image

    from srnet.io import iter_video

    pictures = [Image.fromarray(np.full((32, 48, 3), 40 * i, np.uint8)) for i in range(4)]
    pictures[0].save(tmp_path / name, save_all=True, append_images=pictures[1:], duration=125,
                     lossless=True)
    with caplog.at_level("WARNING"):
        stream, fps = iter_video(tmp_path / name)
        decoded = list(stream)
    assert fps == pytest.approx(8.0) and "truncated" not in caplog.text
    assert [int(frame[0, 0, 0]) for frame in decoded] == [0, 40, 80, 120]
