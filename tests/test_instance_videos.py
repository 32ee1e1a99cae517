"""DAVIS-345 instance frames as sparse multi-object training video (session 39)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srnet.data import VOSDataset, sample_video_clip
from srnet.data.static_masks import INSTANCE_FRAME_STEP, instance_videos
from srnet.palette import save_index_mask

SIZE = 64
ANNOTATED = (1, 3, 4, 6, 8)


def _palette_png(path: Path, ids: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_index_mask(path, ids.astype(np.uint8))  # a DAVIS palette PNG, as davis345-train


def _instances(frame: int, objects: int) -> np.ndarray:
    """Object 1 walks right, object 2 stays put; frame 4 has a large void (255) block."""
    ids = np.zeros((SIZE, SIZE), np.uint8)  # [H, W]
    ids[8:28, 4 + 3 * frame:24 + 3 * frame] = 1
    if objects > 1:
        ids[36:60, 36:60] = 2
    if frame == 4:
        ids[0:20, 40:64] = 255
    return ids


@pytest.fixture()
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """A DAVIS-2016-layout root (every frame, union masks) and a static-masks root whose
    davis345-train folder annotates five of the ten frames with instance ids."""
    davis, static = tmp_path / "davis", tmp_path / "static"
    rng = np.random.default_rng(0)
    for seq, objects in (("duo", 2), ("solo", 1), ("stroller", 2)):
        for frame in range(10):
            image = rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)  # [H, W, 3]
            path = davis / "JPEGImages" / "480p" / seq / f"{frame:05d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path)
            ids = _instances(frame, objects)
            union = np.where((ids > 0) & (ids < 255), 255, 0).astype(np.uint8)  # [H, W]
            mask = davis / "Annotations" / "480p" / seq / f"{frame:05d}.png"
            mask.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(union).save(mask)
            if frame in ANNOTATED:
                _palette_png(static / "davis345-train" / seq / f"{frame:05d}.png", ids)
    return davis, static


def test_only_multi_object_training_sequences_become_instance_videos(roots) -> None:
    davis, static = roots
    videos = instance_videos(static, davis, holdout=("stroller",))
    assert videos is not None and videos.sequences == ["duo"]  # not solo, not the holdout
    assert videos.annotated_indices("duo") == list(ANNOTATED)
    assert videos.frame_step == INSTANCE_FRAME_STEP
    void_frame = videos.load_mask("duo", 4)  # [H, W]
    assert set(np.unique(void_frame)) == {0, 1, 2}  # void reads as background
    assert instance_videos(static, davis, holdout=("stroller", "duo")) is None


def test_an_instance_clip_keeps_each_object_in_its_own_slot(roots) -> None:
    davis, static = roots
    videos = instance_videos(static, davis, holdout=("stroller",))
    seen_void_frame = False
    for seed in range(16):
        rng = np.random.default_rng(seed)
        clip = sample_video_clip(videos, "duo", rng, num_frames=3, max_skip=25, crop=(48, 48),
                                 max_objects=3, min_area=0.0)
        assert set(clip.info.indices) <= set(ANNOTATED)
        seen_void_frame |= clip.info.indices[0] == 4  # void in the frame that picks objects
        # the two instances, never the void block as a third object
        assert clip.valid_objects.tolist() == [True, True, False]
        overlap = (clip.masks[:, 0] * clip.masks[:, 1]).sum()  # [T, H, W] -> scalar
        assert overlap == 0  # one id per slot: the instances never share a pixel
    assert seen_void_frame


def test_training_adds_the_instance_videos_only_when_asked(roots) -> None:
    from srnet.train.config import TrainConfig
    from srnet.train.data import image_source

    davis, static = roots
    datasets = [VOSDataset(davis)]
    base = dict(static_root=str(static), holdout=("stroller",), p_video=0.5)
    plain = image_source(TrainConfig(**base), datasets, seed=0).clips
    mixed = image_source(TrainConfig(**base, instance_videos=True), datasets, seed=0).clips
    assert sorted(seq for _, seq in plain.entries) == ["duo", "solo"]
    assert sorted(seq for _, seq in mixed.entries) == ["duo", "duo", "solo"]
    sparse = [d for d, seq in mixed.entries if d.frame_step == INSTANCE_FRAME_STEP]
    assert len(sparse) == 1 and sparse[0].annotated_indices("duo") == list(ANNOTATED)
    with pytest.raises(ValueError, match="instance_videos needs static_root"):
        TrainConfig(instance_videos=True)


def _with_a_small_object(root: Path) -> VOSDataset:
    """One sequence, every frame annotated: object 1 large, object 2 a 3x3 speck (0.2 % of the
    frame, 0.2-0.6 % of a crop), as a hockey puck or a kite's lines in DAVIS-345."""
    rng = np.random.default_rng(1)
    for frame in range(6):
        ids = np.zeros((SIZE, SIZE), np.uint8)  # [H, W]
        ids[10:40, 10:40] = 1
        ids[50:53, 50:53] = 2
        image = rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)  # [H, W, 3]
        path = root / "JPEGImages" / "480p" / "duo" / f"{frame:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path)
        _palette_png(root / "Annotations" / "480p" / "duo" / f"{frame:05d}.png", ids)
    return VOSDataset(root)


def test_small_objects_become_targets_only_below_the_default_threshold(tmp_path) -> None:
    """Session 42: a video crop's slots took only objects of 1 % of it, so a DAVIS-345 hockey
    stick, surf board or kite's lines was never a target. `min_object_area` lowers that for the
    slots; None leaves every clip exactly as before."""
    videos = _with_a_small_object(tmp_path)

    def clip(seed: int, **kwargs):
        return sample_video_clip(videos, "duo", np.random.default_rng(seed), num_frames=3,
                                 max_skip=5, crop=(48, 48), max_objects=2, **kwargs)

    with_speck = 0
    for seed in range(24):
        default, same = clip(seed), clip(seed, min_object_area=0.01)
        assert default.valid_objects.tolist() == [True, False]  # the speck is background
        assert np.array_equal(default.masks, same.masks)  # not below min_area: the same clip
        lowered = clip(seed, min_object_area=0.002)
        if lowered.valid_objects.all():
            with_speck += 1
            areas = sorted(lowered.masks[0].sum(axis=(1, 2)).tolist())  # [K] pixels in frame 0
            assert 0 < areas[0] < 0.01 * 48 * 48 < areas[1]  # the speck and the large object
    assert with_speck >= 6


def test_training_passes_the_video_object_threshold_on(roots) -> None:
    from srnet.train.config import TrainConfig
    from srnet.train.data import image_source

    davis, static = roots
    base = dict(static_root=str(static), holdout=("stroller",), instance_videos=True)
    clips = image_source(TrainConfig(**base, video_min_object_area=0.002), [VOSDataset(davis)],
                         seed=0).clips
    assert clips.min_object_area == 0.002
    assert image_source(TrainConfig(**base), [VOSDataset(davis)], seed=0).clips \
        .min_object_area is None
    with pytest.raises(ValueError, match="video_min_object_area"):
        TrainConfig(video_min_object_area=2.0)
