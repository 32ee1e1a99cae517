"""Users' own mask and frame files read as they see them (session 32's review): masks in the
formats tools actually write, frames named 1.jpg..12.jpg in number order, and the CLI's output
folder never written over the inputs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from srnet import davis_palette, fit_index_mask, load_index_mask, natural_key
from srnet.io import FrameFolder

SHAPE = (32, 48)


def _objects() -> np.ndarray:
    ids = np.zeros(SHAPE, np.uint8)
    ids[4:14, 4:20], ids[18:28, 26:44] = 1, 2
    return ids


def test_a_quantised_palette_with_the_object_at_index_0_is_read_by_colour(tmp_path) -> None:
    """Quantisers often give the object's colour index 0 and black index 1: read as indices,
    the background became the object."""
    ids = _objects() == 1
    image = Image.fromarray(np.where(ids, 0, 1).astype(np.uint8), mode="P")
    image.putpalette([255, 0, 0, 0, 0, 0] + [0] * 762)  # index 0 red, index 1 black
    image.save(tmp_path / "q.png")
    assert np.array_equal(load_index_mask(tmp_path / "q.png"), ids.astype(np.uint8))


@pytest.mark.parametrize("colour", [(255, 0, 0), (0, 0, 255), (255, 255, 255)])
def test_a_coloured_object_on_black_is_one_object(tmp_path, colour) -> None:
    """Red (255, 0, 0) is 76 in gray: thresholded there it read as an empty mask."""
    rgb = np.zeros((*SHAPE, 3), np.uint8)
    rgb[_objects() == 1] = colour
    Image.fromarray(rgb).save(tmp_path / "m.png")
    assert np.array_equal(load_index_mask(tmp_path / "m.png"), (_objects() == 1).astype(np.uint8))


def test_davis_colours_in_an_rgb_file_keep_their_objects(tmp_path) -> None:
    Image.fromarray(davis_palette()[_objects()]).save(tmp_path / "m.png")  # RGB, not palette
    assert np.array_equal(load_index_mask(tmp_path / "m.png"), _objects())


def test_a_cut_out_with_transparency_is_its_opaque_pixels(tmp_path) -> None:
    """An RGBA cut-out on a transparent white background: gray ignored the alpha, and the
    whole frame became the object."""
    rgba = np.full((*SHAPE, 4), 255, np.uint8)
    rgba[..., 3] = np.where(_objects() == 1, 255, 0)
    Image.fromarray(rgba).save(tmp_path / "m.png")
    assert np.array_equal(load_index_mask(tmp_path / "m.png"), (_objects() == 1).astype(np.uint8))


@pytest.mark.parametrize("mode", ["L", "I;16"])
def test_gray_files_holding_object_ids_keep_them(tmp_path, mode) -> None:
    """A gray 0/1/2 mask (8- or 16-bit) is two objects; at the 0/255 threshold it was empty."""
    Image.fromarray(_objects().astype(np.uint16 if mode == "I;16" else np.uint8)).save(
        tmp_path / "m.png")
    assert np.array_equal(load_index_mask(tmp_path / "m.png"), _objects())


def test_gray_object_ids_beside_davis_void_keep_their_ids(tmp_path) -> None:
    """A gray 0/1/2 mask with a void (255) band: the void had made it "not a few small ids",
    so it was thresholded at half the maximum and the 12 void pixels became the only object."""
    ids = _objects()
    ids[2, 4:16] = 255
    Image.fromarray(ids).save(tmp_path / "m.png")
    assert np.array_equal(load_index_mask(tmp_path / "m.png"), ids)  # 255 stays void


@pytest.mark.parametrize(("dtype", "value"), [(np.uint8, 255), (np.uint16, 65535),
                                              (np.uint8, 1)])
def test_a_single_foreground_value_is_object_one(tmp_path, dtype, value) -> None:
    Image.fromarray(((_objects() > 0) * value).astype(dtype)).save(tmp_path / "m.png")
    assert np.array_equal(load_index_mask(tmp_path / "m.png"), (_objects() > 0).astype(np.uint8))


def test_a_lossy_jpeg_mask_is_thresholded(tmp_path) -> None:
    Image.fromarray(((_objects() > 0) * 255).astype(np.uint8)).save(tmp_path / "m.jpg",
                                                                     quality=40)
    mask = load_index_mask(tmp_path / "m.jpg")
    assert set(np.unique(mask)) <= {0, 1}
    assert (mask == (_objects() > 0)).mean() > 0.97


def test_a_davis_palette_file_keeps_its_indices(tmp_path) -> None:
    image = Image.fromarray(_objects(), mode="P")
    image.putpalette(davis_palette().reshape(-1).tolist())
    image.save(tmp_path / "m.png")
    assert np.array_equal(load_index_mask(tmp_path / "m.png"), _objects())


def test_frames_named_by_number_run_in_number_order(tmp_path) -> None:
    """Sorted as text, 10.jpg..12.jpg ran between 1.jpg and 2.jpg."""
    for idx in range(1, 13):
        Image.fromarray(np.full((8, 8, 3), idx, np.uint8)).save(tmp_path / f"{idx}.png")
    folder = FrameFolder(tmp_path)
    assert folder.names == [str(idx) for idx in range(1, 13)]
    assert [int(folder[i][0, 0, 0]) for i in range(12)] == list(range(1, 13))
    assert sorted(["f10", "F2", "f1"], key=natural_key) == ["f1", "F2", "f10"]


def test_two_frames_of_one_name_are_refused(tmp_path) -> None:
    for suffix in (".jpg", ".png"):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / f"00002{suffix}")
    with pytest.raises(ValueError, match="two frames named 00002"):
        FrameFolder(tmp_path)


def test_a_smaller_mask_of_the_same_shape_is_enlarged() -> None:
    mask, note = fit_index_mask(_objects()[::2, ::2], SHAPE)
    assert mask.shape == SHAPE and note == "mask resized from 24x16 to 48x32"
    with pytest.raises(ValueError, match="a different shape"):
        fit_index_mask(_objects()[:, :30], SHAPE)


def test_the_api_takes_a_bool_mask_as_object_one(tiny_predictor, clip) -> None:
    frames, masks = clip
    session = tiny_predictor.new_session()
    out = tiny_predictor.step(session, 0, frames[0], masks[0] == 1)
    assert session.obj_ids == [1] and np.array_equal(out.mask, (masks[0] == 1).astype(np.uint8))
    with pytest.raises(ValueError, match="integer object ids"):
        tiny_predictor.step(tiny_predictor.new_session(), 0, frames[0], masks[0] * 0.5)


def test_a_resized_mask_stays_where_it_was_drawn() -> None:
    """Nearest-neighbour that takes each block's top-left pixel moved an imported 1080p mask
    about 1 px down and right at 480p (2 px from 4K), and more with each round trip."""
    big = np.zeros((1080, 1920), np.uint8)
    big[500:560, 900:1000] = 1
    small, _ = fit_index_mask(big, (480, 854))
    ys, xs = np.nonzero(small)
    centre_y = (ys.mean() + 0.5) * 1080 / 480 - 0.5  # back in source pixels
    centre_x = (xs.mean() + 0.5) * 1920 / 854 - 0.5
    assert abs(centre_y - 529.5) < 0.6 and abs(centre_x - 949.5) < 0.6, (centre_y, centre_x)


def test_a_photo_given_as_a_mask_is_read_with_a_warning(tmp_path, caplog) -> None:
    """`segment --mask frame.jpg` followed a fifth of the frame as object 1 without a word;
    an antialiased mask (a few edge levels) stays quiet."""
    photo = np.random.default_rng(0).integers(0, 256, (40, 60), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    edges = np.zeros((40, 60), np.uint8)
    edges[10:30, 10:50] = 255
    edges[9, 10:50] = np.linspace(20, 240, 40).astype(np.uint8)  # 40 edge levels
    Image.fromarray(edges).save(tmp_path / "soft.png")
    with caplog.at_level("WARNING"):
        assert load_index_mask(tmp_path / "soft.png").max() == 1
        assert "photo" not in caplog.text
        assert load_index_mask(tmp_path / "photo.png").any()
    assert "photo.png has 255 brightness levels, more like a photo than a mask" in caplog.text


def test_an_object_lost_in_the_resize_is_named() -> None:
    """A one-pixel object on a 640x360 mask vanishes at 256x144: /segment then said only "the
    first-frame mask is empty", and the demo's import "it has no object pixels"."""
    mask = np.zeros((360, 640), np.uint8)
    mask[100, 201] = 2
    mask[200:260, 300:400] = 1
    resized, note = fit_index_mask(mask, (144, 256))
    assert set(np.unique(resized)) == {0, 1}
    assert note == "mask resized from 640x360 to 256x144 (object 2 too small to survive it)"
