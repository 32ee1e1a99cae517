"""Import mask: a palette PNG sets the shown frame's objects by id (new ids added; objects it
lacks marked absent on that frame, or cleared where only that frame had them), a 0/255 PNG sets
the selected object, a mask of another size but the clip's shape is resized, and bad files are a
message that changes nothing."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from demo import handlers_import as importing
from demo import handlers_load as loading
from demo.handlers import DemoContext
from demo.state import DemoState
from demo.video_io import write_mp4
from srnet import save_index_mask
from tests.conftest import lite_demo_context, make_clip


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> DemoContext:
    return lite_demo_context(tmp_path_factory.mktemp("sessions"))


@pytest.fixture()
def state(ctx: DemoContext, tmp_path: Path) -> DemoState:
    frames, _ = make_clip(6, (96, 160), num_objects=1)
    write_mp4(tmp_path / "clip.mp4", frames, 24)
    loaded = loading.load_upload(ctx, str(tmp_path / "clip.mp4"), 0, 0, 1, None)[0]
    assert isinstance(loaded, DemoState)
    return loaded


def _boxes(size: tuple[int, int], *boxes: tuple[int, int, int, int, int]) -> np.ndarray:
    mask = np.zeros(size, np.uint8)
    for obj_id, y0, y1, x0, x1 in boxes:
        mask[y0:y1, x0:x1] = obj_id
    return mask


def test_palette_mask_sets_every_object_of_the_frame(state: DemoState, tmp_path: Path) -> None:
    state.frame_idx = 3
    state.set_object_mask(3, 1, _boxes(state.size, (1, 0, 10, 0, 10)) > 0)
    state.clicks[(3, 1)] = [(5.0, 5.0, True)]
    state.names[4] = "kite"
    state.set_object_mask(3, 4, _boxes(state.size, (1, 50, 60, 50, 60)) > 0)  # not in the file
    state.set_object_mask(2, 4, _boxes(state.size, (1, 50, 60, 50, 60)) > 0)  # another frame
    state.names[5] = "ball"  # not in the file either, and annotated on this frame only
    state.set_object_mask(3, 5, _boxes(state.size, (1, 70, 80, 10, 20)) > 0)
    file = _boxes((192, 320), (1, 20, 60, 20, 80), (3, 100, 180, 200, 300), (255, 0, 4, 0, 4))
    save_index_mask(tmp_path / "p.png", file)  # twice the clip's size, same shape
    out = importing.import_mask(state, str(tmp_path / "p.png"))
    assert out[0] is state and "Imported the mask on frame 3: object 1, object 3" in out[-1]
    assert "resized from 320x192 to 160x96" in out[-1] and "ids 255 ignored" in out[-1]
    assert list(state.names) == [1, 4, 5, 3] and state.names[4] == "kite"
    assert state.annotation(3).tolist() == (file[::2, ::2] * (file[::2, ::2] < 255)).tolist()
    assert (3, 1) not in state.clicks  # the file replaces the clicks of the objects it sets
    # the kite, followed from frame 2, is marked absent here: the next pass leaves it out
    assert state.absent_ids(3) == (4,) and state.pass_annotations()[1] == {3: (4,)}
    assert (2, 4) in state.obj_masks and state.obj_masks[(2, 4)].any()
    assert "the file has no kite, so it is marked absent on this frame" in out[-1]
    assert (3, 5) not in state.obj_masks  # the ball was only annotated here: no annotation left
    assert "the file has no ball, so its annotation on this frame was removed" in out[-1]


def test_a_palette_of_ids_beyond_the_demos_says_so(state: DemoState, tmp_path: Path) -> None:
    """Ids over MAX_OBJECTS only: the message used to say "no object pixels" alone."""
    save_index_mask(tmp_path / "p.png", _boxes(state.size, (37, 10, 40, 10, 40)))
    out = importing.import_mask(state, str(tmp_path / "p.png"))
    assert "no object pixels" in out[-1] and "ids 37 ignored" in out[-1]
    many = np.arange(state.size[0] * state.size[1]).reshape(state.size) % 255 + 1
    save_index_mask(tmp_path / "p.png", many.astype(np.uint8))  # ids 1-255: every one
    out = importing.import_mask(state, str(tmp_path / "p.png"))
    # named up to eight, then counted: all 234 ignored ids made a 1,458-character notice
    assert "ids 21, 22, 23, 24, 25, 26, 27, 28 and 227 more ignored" in out[-1]
    assert len(out[-1]) < 600, len(out[-1])


def test_black_and_white_mask_is_the_selected_object(state: DemoState, tmp_path: Path) -> None:
    state.names[2] = "dog"
    state.selected = 2
    state.set_object_mask(0, 1, _boxes(state.size, (1, 0, 10, 0, 10)) > 0)
    Image.fromarray(_boxes(state.size, (255, 30, 70, 40, 120))).save(tmp_path / "bw.png")
    out = importing.import_mask(state, str(tmp_path / "bw.png"))
    assert "Imported the mask on frame 0: dog" in out[-1]
    assert state.obj_masks[(0, 2)].sum() == 40 * 80
    assert state.obj_masks[(0, 1)].sum() == 100  # a one-object file leaves the others alone
    Image.fromarray(_boxes(state.size, (1, 0, 20, 0, 30))).save(tmp_path / "01.png")
    out = importing.import_mask(state, str(tmp_path / "01.png"))  # 0/1, as many tools save
    assert "Imported" in out[-1] and state.obj_masks[(0, 2)].sum() == 20 * 30


def _png_bomb(path: Path, width: int, height: int, rows: bytes | None = None) -> None:
    """A tiny file declaring a huge all-zero grayscale PNG (decoded, it is width*height bytes);
    `rows`: other compressed pixel data (b"": a header that only declares the size)."""
    if rows is None:
        rows = zlib.compress(b"".join(b"\x00" + bytes(width) for _ in range(height)), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def test_bad_files_are_a_message_and_change_nothing(state: DemoState, tmp_path: Path) -> None:
    before = {k: v.copy() for k, v in state.obj_masks.items()}
    _png_bomb(tmp_path / "bomb.png", 8000, 6000)  # 48 Mpx in about 50 kB
    assert (tmp_path / "bomb.png").stat().st_size < 200_000
    (tmp_path / "broken.png").write_bytes(b"not a png")
    Image.fromarray(np.full(state.size, 255, np.uint8)).save(tmp_path / "tiff.png", "TIFF")
    speck = np.zeros((state.size[0] * 4, state.size[1] * 4), np.uint8)
    speck[1, 1] = 255  # one pixel at 4x the clip's size: gone at the clip's size
    Image.fromarray(speck).save(tmp_path / "speck.png")
    Image.fromarray(np.zeros((50, 50), np.uint8)).save(tmp_path / "square.png")
    Image.fromarray(np.zeros((96, 160), np.uint8)).save(tmp_path / "empty.png")
    _png_bomb(tmp_path / "huge.png", 20000, 20000, rows=b"")  # 400 Mpx: past Pillow's cap
    for name, message in (("bomb.png", "8000x6000, over the 40 Mpx limit"),
                          ("huge.png", "it is over the 40 Mpx limit"),  # was Pillow's text
                          ("broken.png", "cannot read mask"),
                          ("tiff.png", "not a PNG, JPEG, WEBP, BMP image"),  # no TIFF decoder
                          ("speck.png", "(object 1 too small to survive it)"),
                          ("square.png", "a different shape"),
                          ("empty.png", "no object pixels")):
        out = importing.import_mask(state, str(tmp_path / name))
        assert out[-1].startswith("⚠️ Mask not imported") and message in out[-1], out[-1]
        assert str(tmp_path) not in out[-1]  # no server paths in messages
    assert importing.import_mask(state, None)[-1].startswith("⚠️ No file")
    assert importing.import_mask(None, str(tmp_path / "empty.png"))[0] is None
    assert state.obj_masks.keys() == before.keys()


def test_files_read_as_several_ids_set_them_and_one_colour_sets_the_selected(
        state: DemoState, tmp_path: Path) -> None:
    """The library reads RGB DAVIS colours and gray 0/1/2 images as several ids: they were
    merged into the selected object. A quantised red-on-black palette (index 0 red) is one
    object, the selected one, not id 1 with every other object cleared."""
    from srnet import davis_palette

    state.frame_idx = 2
    ids = _boxes(state.size, (1, 10, 30, 10, 40), (2, 50, 80, 90, 140))
    Image.fromarray(davis_palette()[ids]).save(tmp_path / "rgb.png")
    out = importing.import_mask(state, str(tmp_path / "rgb.png"))
    assert "object 1, object 2" in out[-1] and state.annotation(2).tolist() == ids.tolist()
    state.names[7] = "kite"
    state.selected = 7
    quantised = Image.fromarray(np.where(ids == 2, 0, 1).astype(np.uint8), mode="P")
    quantised.putpalette([255, 0, 0, 0, 0, 0] + [0] * 762)
    quantised.save(tmp_path / "q.png")
    out = importing.import_mask(state, str(tmp_path / "q.png"))
    assert "kite" in out[-1] and (state.annotation(2) == 7).sum() == (ids == 2).sum()
    assert (state.annotation(2) == 1).sum() == (ids == 1).sum()  # object 1 kept its pixels


def test_a_black_and_white_palette_file_sets_the_selected_object(state: DemoState,
                                                                   tmp_path: Path) -> None:
    """Saved as a 2-colour palette (black 0, white 1) it is one object, like its 0/255 twin;
    our own export (DAVIS colours) keeps its ids."""
    state.frame_idx = 1
    state.names[7] = "kite"
    state.selected = 7
    ids = _boxes(state.size, (1, 10, 30, 10, 40))
    image = Image.fromarray(ids, mode="P")
    image.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    image.save(tmp_path / "bw.png")
    assert "kite" in importing.import_mask(state, str(tmp_path / "bw.png"))[-1]
    assert (state.annotation(1) == 7).sum() == (ids == 1).sum()
    save_index_mask(tmp_path / "ours.png", ids * 3)  # DAVIS colours: id 3 stays 3
    assert "object 3" in importing.import_mask(state, str(tmp_path / "ours.png"))[-1]
