"""Clip samplers, pasting, the max-skip curriculum and ClipDataset, on tiny in-memory videos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from srnet.data.clips import VideoClip, choose_frame_indices, sample_static_clip, sample_video_clip
from srnet.data.dataset import ClipDataset, CurriculumSchedule
from srnet.data.davis import VOSDataset
from srnet.data.paste import paste_object
from srnet.palette import save_index_mask

CROP = (48, 48)


class FakeVideos:
    """Duck-typed VOSDataset: frame i of every sequence is a flat grey of level 20 + 20 i with a
    textured square (object 1) that moves right by 2 px per frame."""

    frame_step = 1

    def __init__(self, names: tuple[str, ...] = ("a", "b", "c"), num_frames: int = 10,
                 hw: tuple[int, int] = (64, 80)) -> None:
        self.sequences, self.num_frames, self.hw = list(names), num_frames, hw
        self.texture = np.random.default_rng(7).integers(0, 255, (24, 24, 3), dtype=np.uint8)

    def annotated_indices(self, seq: str) -> list[int]:
        return list(range(self.num_frames))

    def load_frame(self, seq: str, index: int) -> np.ndarray:
        frame = np.full((*self.hw, 3), 20 + 20 * index, np.uint8)
        frame[20:44, 10 + 2 * index:34 + 2 * index] = self.texture
        return frame

    def load_mask(self, seq: str, index: int) -> np.ndarray:
        mask = np.zeros(self.hw, np.uint8)
        mask[20:44, 10 + 2 * index:34 + 2 * index] = 1
        return mask


def assert_well_formed(clip: VideoClip, num_frames: int = 3, max_objects: int = 2) -> None:
    assert clip.frames.shape == (num_frames, 3, *CROP) and clip.frames.dtype == np.float32
    assert clip.masks.shape == (num_frames, max_objects, *CROP) and clip.masks.dtype == np.float32
    assert clip.valid_objects.shape == (max_objects,) and clip.valid_objects.dtype == bool
    assert clip.frames.min() >= 0.0 and clip.frames.max() <= 1.0
    assert set(np.unique(clip.masks)) <= {0.0, 1.0}
    assert clip.masks.sum(axis=1).max() <= 1.0  # objects never overlap
    assert not clip.masks[:, ~clip.valid_objects].any()  # padded slots are empty
    assert clip.masks[0, clip.valid_objects].sum(axis=(1, 2)).min() > 0


def test_choose_frame_indices_gaps() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        picks = choose_frame_indices(list(range(30)), rng, 3, max_skip=4)
        gaps = np.diff(picks)
        assert gaps.min() >= 1 and gaps.max() <= 4
    assert choose_frame_indices([0, 5, 10], rng, 3, max_skip=5) == [0, 5, 10]  # positions
    assert len(choose_frame_indices([7], rng, 3)) == 3  # too short: repeats


def test_video_clip_shapes_order_and_reversal() -> None:
    data = FakeVideos()
    orders = set()
    for seed in range(16):
        clip = sample_video_clip(data, "a", np.random.default_rng(seed), crop=CROP, max_skip=3)
        assert_well_formed(clip)
        assert clip.valid_objects.tolist() == [True, False]
        steps = np.diff(clip.info.indices)
        assert np.all(np.abs(steps) >= 1) and np.all(np.abs(steps) <= 3)
        assert len(set(np.sign(steps))) == 1  # monotone in one direction
        orders.add(int(np.sign(steps[0])))
        # Frame content follows the indices (grey level grows with the index; the median
        # ignores black borders and the object).
        levels = [np.median(f) for f in clip.frames]
        assert np.array_equal(np.argsort(levels), np.argsort(clip.info.indices))
    assert orders == {-1, 1}  # both forward and reversed clips occur


def test_samplers_are_deterministic_per_seed() -> None:
    data = FakeVideos()
    one = sample_video_clip(data, "b", np.random.default_rng(5), crop=CROP)
    two = sample_video_clip(data, "b", np.random.default_rng(5), crop=CROP)
    other = sample_video_clip(data, "b", np.random.default_rng(6), crop=CROP)
    np.testing.assert_array_equal(one.frames, two.frames)
    np.testing.assert_array_equal(one.masks, two.masks)
    assert one.info == two.info
    assert not np.array_equal(one.frames, other.frames)


def test_static_clip_has_three_distinct_frames() -> None:
    data = FakeVideos()
    image, mask = data.load_frame("a", 3), data.load_mask("a", 3)
    clip = sample_static_clip(image, mask, np.random.default_rng(0), crop=CROP, max_objects=2)
    assert_well_formed(clip)
    assert clip.info.kind == "static" and clip.valid_objects.tolist() == [True, False]
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert np.abs(clip.frames[a] - clip.frames[b]).mean() > 0.01
        assert not np.array_equal(clip.masks[a], clip.masks[b])


def test_paste_adds_a_disjoint_moving_second_object() -> None:
    data = FakeVideos()
    clip = sample_video_clip(data, "a", np.random.default_rng(1), crop=CROP)
    donor = sample_video_clip(data, "b", np.random.default_rng(2), crop=CROP, max_objects=1)
    donor_masks = donor.masks[:, 0]  # [T, H, W]
    pasted = paste_object(clip, donor.frames, donor_masks, np.random.default_rng(3),
                          donor_name="b")
    assert_well_formed(pasted)
    assert pasted.valid_objects.tolist() == [True, True]
    assert pasted.info.pasted_from == "b" and pasted.info.kind == "video+paste"
    assert (pasted.masks[:, 0] * pasted.masks[:, 1]).sum() == 0
    # Object 1 only lost pixels (occlusion), never gained any.
    assert np.all(pasted.masks[:, 0] <= clip.masks[:, 0])
    # Where object 2 is, the clip shows the donor's pixels, not the original clip's.
    region = pasted.masks[0, 1].astype(bool)
    assert not np.allclose(pasted.frames[0][:, region], clip.frames[0][:, region])
    outside = ~cv_dilate(region)
    np.testing.assert_allclose(pasted.frames[0][:, outside], clip.frames[0][:, outside])
    # The donor moves: its mask differs between frames.
    assert not np.array_equal(pasted.masks[0, 1], pasted.masks[2, 1])
    # No free slot: the clip comes back unchanged.
    assert paste_object(pasted, donor.frames, donor_masks, np.random.default_rng(3)) is pasted


def cv_dilate(region: np.ndarray) -> np.ndarray:
    """``region`` grown by one pixel (bilinear warps blend one pixel across the mask edge)."""
    grown = region.copy()
    grown[1:] |= region[:-1]
    grown[:-1] |= region[1:]
    grown[:, 1:] |= region[:, :-1]
    grown[:, :-1] |= region[:, 1:]
    return grown


def test_curriculum_schedule_values() -> None:
    schedule = CurriculumSchedule()
    expected = {0.0: 5, 0.05: 5, 0.1: 10, 0.25: 15, 0.3: 20, 0.45: 25, 0.89: 25, 0.9: 5,
                1.0: 5, 1.7: 5, -0.2: 5}
    assert {p: schedule.max_skip_at(p) for p in expected} == expected


def test_clip_dataset_determinism_mixing_and_collate() -> None:
    data = FakeVideos()
    kwargs = {"length": 6, "crop": CROP, "p_video": 0.5, "p_paste": 1.0}
    first, again = ClipDataset([data], seed=1, **kwargs), ClipDataset([data], seed=1, **kwargs)
    other = ClipDataset([data], seed=2, **kwargs)
    kinds = set()
    for index in range(6):
        clip = first.clip(index)
        assert_well_formed(clip)
        np.testing.assert_array_equal(clip.frames, again.clip(index).frames)
        kinds.add(clip.info.kind)
        if clip.info.kind.endswith("+paste"):
            assert clip.info.pasted_from != clip.info.source
    assert {"video+paste", "static+paste"} <= kinds
    assert not np.array_equal(first.clip(0).frames, other.clip(0).frames)
    first.set_epoch(1)
    assert not np.array_equal(first.clip(0).frames, again.clip(0).frames)
    first.set_progress(0.45)
    assert first.max_skip == 25
    batch = next(iter(DataLoader(first, batch_size=2)))
    assert batch["frames"].shape == (2, 3, 3, *CROP) and batch["frames"].dtype == torch.float32
    assert batch["masks"].shape == (2, 3, 2, *CROP)
    assert batch["valid_objects"].dtype == torch.bool and batch["indices"].shape == (2, 3)


def test_clip_dataset_on_a_davis_folder(tmp_path: Path) -> None:
    """End to end through the real reader and the static-pairs path."""
    fake = FakeVideos(num_frames=4)
    for seq in ("s1", "s2"):
        (tmp_path / "JPEGImages" / "480p" / seq).mkdir(parents=True)
        (tmp_path / "Annotations" / "480p" / seq).mkdir(parents=True)
        for i in range(4):
            cv2.imwrite(str(tmp_path / "JPEGImages" / "480p" / seq / f"{i:05d}.jpg"),
                        fake.load_frame(seq, i)[..., ::-1])
            save_index_mask(tmp_path / "Annotations" / "480p" / seq / f"{i:05d}.png",
                            fake.load_mask(seq, i))
    videos = VOSDataset(tmp_path)
    pairs = [(videos.frames("s1")[0], videos.mask_path("s1", 0))]
    dataset = ClipDataset([videos], static_pairs=pairs, length=8, crop=CROP, p_video=0.5)
    sources = set()
    for index in range(8):
        clip = dataset.clip(index)
        assert_well_formed(clip)
        sources.add((clip.info.kind, clip.info.source))
    assert ("static", "00000") in sources  # the static pair (named by its image stem) was used
    assert {kind for kind, _ in sources} == {"static", "video"}
    with pytest.raises(ValueError):
        ClipDataset([], p_video=1.0)


def test_static_clip_keeps_instance_ids_and_drops_void() -> None:
    image = FakeVideos().load_frame("a", 0)  # [64, 80, 3]
    mask = np.zeros((64, 80), np.uint8)
    mask[8:30, 8:36], mask[34:60, 40:76], mask[0:6, :] = 1, 2, 255  # two instances + void band
    for seed in range(4):
        clip = sample_static_clip(image, mask, np.random.default_rng(seed), crop=CROP,
                                  max_objects=3, keep_ids=True)
        assert_well_formed(clip, max_objects=3)
        assert clip.valid_objects.tolist() == [True, True, False]  # void is no object
    binary = sample_static_clip(image, mask, np.random.default_rng(0), crop=CROP, max_objects=3)
    assert binary.valid_objects.tolist() == [True, False, False]  # default: one merged object


def _write_static(folder: Path, name: str, box: tuple[slice, slice]) -> tuple[Path, Path]:
    rng = np.random.default_rng(len(name))
    image = rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)
    mask = np.zeros((64, 80), np.uint8)
    mask[box] = 255
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / "images" / f"{name}.jpg"), image)
    cv2.imwrite(str(folder / "masks" / f"{name}.png"), mask)
    return folder / "images" / f"{name}.jpg", folder / "masks" / f"{name}.png"


def test_clip_dataset_pastes_static_donors(tmp_path: Path) -> None:
    pairs = [_write_static(tmp_path, f"obj{k}", (slice(10, 40), slice(15 + 5 * k, 50 + 5 * k)))
             for k in range(3)]
    clips = ClipDataset([FakeVideos()], length=8, seed=0, p_video=1.0, p_paste=1.0,
                        static_pairs=pairs, p_static_donor=1.0, crop=CROP, max_objects=2)
    pasted = [clips.clip(i) for i in range(8)]
    donors = {c.info.pasted_from for c in pasted if c.info.kind.endswith("+paste")}
    assert donors and donors <= {"obj0", "obj1", "obj2"}  # every donor is a static image
    for clip in pasted:
        assert_well_formed(clip)
    static_only = ClipDataset([], length=4, seed=0, p_video=0.0, static_pairs=pairs, crop=CROP,
                              p_paste=1.0, max_objects=2)
    kinds = {static_only.clip(i).info.kind for i in range(4)}
    assert kinds <= {"static", "static+paste"} and "static+paste" in kinds


def test_flip_prob_reaches_the_image_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """TrainConfig.flip_prob drives the video clips' flip on the image path too (it used to be a
    fixed 0.5); 0.5 keeps the draws of earlier runs, so their clips are unchanged."""
    from srnet.data import clips as clips_module

    flips: list[bool] = []
    real = clips_module.augment.crop_matrix

    def recording(box, out_hw, flip=False):
        flips.append(flip)
        return real(box, out_hw, flip=flip)

    monkeypatch.setattr(clips_module.augment, "crop_matrix", recording)
    for prob, expected in ((0.0, {False}), (1.0, {True})):
        flips.clear()
        dataset = ClipDataset([FakeVideos()], length=12, seed=0, crop=CROP, flip_prob=prob)
        for index in range(len(dataset)):
            dataset.clip(index)
        assert set(flips) == expected
    flips.clear()
    half = ClipDataset([FakeVideos()], length=40, seed=0, crop=CROP)  # default 0.5
    default = [half.clip(i).frames for i in range(12)]
    assert {True, False} <= set(flips)
    explicit = ClipDataset([FakeVideos()], length=40, seed=0, crop=CROP, flip_prob=0.5)
    for i, frames in enumerate(default):
        np.testing.assert_array_equal(explicit.clip(i).frames, frames)


def test_a_sequences_own_instances_are_never_pasted_into_it(tmp_path: Path) -> None:
    """DAVIS-345 donors were named by their frame ("00020"), never equal to a video clip's
    sequence, so a `tennis` clip could get a tennis instance pasted in (session 31)."""
    image = FakeVideos().load_frame("a", 0)
    mask = np.zeros((64, 80), np.uint8)
    mask[10:40, 20:60] = 1
    pairs = []
    for seq in ("a", "b"):  # DAVIS-345 layout: <root>/<seq>/<frame>.png, images alike
        (tmp_path / seq).mkdir()
        cv2.imwrite(str(tmp_path / seq / "00000.jpg"), image[:, :, ::-1])
        save_index_mask(tmp_path / seq / "00000.png", mask)
        pairs.append((tmp_path / seq / "00000.jpg", tmp_path / seq / "00000.png", True))
    clips = ClipDataset([FakeVideos(names=("a",))], length=30, seed=0, p_video=1.0,
                        p_paste=1.0, static_pairs=pairs, p_static_donor=1.0, crop=CROP,
                        max_objects=2)
    donors = {c.info.pasted_from for c in (clips.clip(i) for i in range(30))}
    assert "b" in donors and "a" not in donors


def test_a_static_clip_keeps_its_best_crop_when_none_is_large_enough(monkeypatch) -> None:
    """After MAX_CROP_TRIES draws under the minimum area, the last draw was kept even when it
    held no object (1.7 % of static clips were empty: a step with no loss)."""
    from srnet.data import clips as clip_module

    areas = iter([4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])  # object pixels per draw

    def draw(frames, masks, base, rng, crop, *args, **kwargs):
        out = np.zeros((len(masks), *crop), np.uint8)
        out[:, 0, :next(areas)] = 1
        return [np.zeros((*crop, 3), np.uint8)] * len(masks), list(out)

    monkeypatch.setattr(clip_module, "_warp_clip", draw)
    image, mask = np.zeros((64, 80, 3), np.uint8), np.zeros((64, 80), np.uint8)
    mask[0, 0] = 1
    clip = sample_static_clip(image, mask, np.random.default_rng(0), crop=CROP, max_objects=2)
    assert clip.valid_objects[0] and clip.masks[0, 0].sum() == 4


def test_a_video_clip_keeps_its_best_crop_and_starts_on_a_frame_with_an_object(
        monkeypatch) -> None:
    """Video clips kept their last crop draw (7 of 600 clips lost an object frame 0 had), and
    a clip could start on an annotated frame without any object (bmx-bumps has 14): both
    gave steps with nothing to learn."""
    from srnet.data import clips as clip_module

    areas = iter([4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])  # object pixels per draw

    def draw(frames, masks, base, rng, crop, *args, **kwargs):
        out = np.zeros((len(masks), *crop), np.uint8)
        out[:, 0, :next(areas)] = 1
        return [np.zeros((*crop, 3), np.uint8)] * len(masks), list(out)

    with monkeypatch.context() as patch:
        patch.setattr(clip_module, "_warp_clip", draw)
        clip = sample_video_clip(FakeVideos(), "a", np.random.default_rng(0), crop=CROP)
    assert clip.valid_objects[0] and clip.masks[0, 0].sum() == 4

    class EmptyEarly(FakeVideos):  # frames 0-6 annotated but empty, the object from frame 7
        def load_mask(self, seq: str, index: int) -> np.ndarray:
            return super().load_mask(seq, index) * (index >= 7)

    for seed in range(20):
        clip = sample_video_clip(EmptyEarly(), "a", np.random.default_rng(seed), crop=CROP)
        assert clip.valid_objects.any() and clip.masks[0].any(), seed


def test_a_video_clip_whose_crops_all_miss_the_object_is_cropped_around_it(monkeypatch) -> None:
    """An object at the frame's edge (a bmx-bumps rider at x = 0-17): every random crop missed
    it, the clip had no target, and frames 1-2 taught its pixels as background."""
    from srnet.data import augment

    class AtTheEdge(FakeVideos):
        def load_mask(self, seq: str, index: int) -> np.ndarray:
            mask = np.zeros(self.hw, np.uint8)
            mask[20:44, 0:6] = 1
            return mask

    def right_half(rng, in_hw, *args, **kwargs):
        return 0, in_hw[1] // 2, in_hw[0], in_hw[1] // 2  # never holds x < 40

    with monkeypatch.context() as patch:
        patch.setattr(augment, "random_crop_box", right_half)
        for seed in range(5):
            clip = sample_video_clip(AtTheEdge(), "a", np.random.default_rng(seed), crop=CROP)
            assert clip.valid_objects[0] and clip.masks[:, 0].sum(axis=(1, 2)).min() > 0, seed
            assert_well_formed(clip)


def test_random_affine_shears_along_x_only() -> None:
    """torchvision's RandomAffine(shear=10), which the spec names, shears parallel to x."""
    from srnet.data import augment

    rng = np.random.default_rng(0)
    mats = [augment.random_affine(rng, (48, 48), degrees=0.0) for _ in range(20)]
    assert all(abs(m[1, 0]) < 1e-12 for m in mats)  # y-shear term
    assert max(abs(m[0, 1]) for m in mats) > 0.05  # x-shear term


def test_the_legacy_recipe_keeps_the_crop_rules_of_before_session_30(monkeypatch) -> None:
    """Online adaptation's measured numbers (two-object frames) and static-val's frozen clips
    were made with the legacy crop rules: stop at the first draw whose mean of object *ids*
    reaches `min_area` (session 30 tests the area: larger ids stopped earlier), and keep the
    last draw when none does (the area rule keeps the largest). Session 38: this replaced a
    sha1 of the drawn clips, which depended on the CPU's OpenCV code path and failed on a new
    machine with the same library versions."""
    from srnet.data import clips as clips_module

    draws: list[float] = []  # frame-0 object area of each crop draw
    real = clips_module._warp_clip

    def recording(*args, **kwargs):
        frames, masks = real(*args, **kwargs)
        draws.append(float((masks[0] > 0).mean()))
        return frames, masks

    monkeypatch.setattr(clips_module, "_warp_clip", recording)
    image = np.random.default_rng(7).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    mask = np.zeros((96, 128), np.uint8)
    mask[40:45, 60:65] = 3  # id 3, under 1 % of any 64-px crop: its id mean is 3x its area

    def area_of(legacy: bool, min_area: float, seed: int) -> float:
        draws.clear()
        clip = sample_static_clip(image, mask, np.random.default_rng(seed), crop=(64, 64),
                                  keep_ids=True, min_area=min_area, min_object_area=0.0,
                                  legacy_recipe=legacy)
        return float(clip.masks[0, 0].mean())  # frame 0, slot 0: [H, W]

    early = 0
    for seed in range(8):
        area_of(True, 0.01, seed)
        assert all(3 * a < 0.01 for a in draws[:-1]) and max(draws) < 0.01
        early += 3 * draws[-1] >= 0.01 and len(draws) < clips_module.MAX_CROP_TRIES
        area_of(False, 0.01, seed)
        assert len(draws) == clips_module.MAX_CROP_TRIES  # the area never reaches 1 %
    assert early  # the id mean did stop some legacy draws
    kept_last = 0
    for seed in range(8):
        legacy = area_of(True, 0.5, seed)
        assert legacy == draws[-1]
        kept_last += draws[-1] < max(draws)
        assert area_of(False, 0.5, seed) == max(draws)
    assert kept_last  # some seeds tell "last" from "largest"
