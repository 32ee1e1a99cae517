"""Checkpoint selection set for SRNet: pseudo clips of the held-out still images.

The DAVIS holdout is what the model card reports, so it must not also choose the checkpoint
(issue #9). This set is disjoint from it and from every training sample: the validation half of
`srnet.data.static_masks.static_split` without its DAVIS-345 frames (those are holdout
sequences), i.e. held-out COCO images (every object of the image, so many clips hold several
objects), BSDS salient objects and Weizmann horses. Each image becomes a `FRAMES`-frame clip by
the training warps (`sample_static_clip`: affine, thin-plate-like warps, colour jitter), seeded
by the clip's name, so the same command gives the same clips.

`StaticValClips` offers the slice of the `VOSDataset` interface that `evaluate_method` reads
(`sequences`, `frames`, `load_frame`, `load_mask`), so SRNet and the baselines are scored by
the DAVIS protocol (frames 1..N-2, per-object J and F) with no new metric code.
"""

from __future__ import annotations

import functools
import zlib
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from srnet.data.clips import sample_static_clip
from srnet.data.static_masks import StaticSample, list_static_samples, static_split

FRAMES = 6  # frames 1-4 are scored
CROP = (480, 864)  # a 480p-like frame (H, W); the evaluator's --size then needs no resampling
MAX_OBJECTS = 3
PLACEMENT_SEEDS = 8
MIN_AREA = 0.005  # objects under 0.5% of their image (a distant traffic light) are left out:
# the clip's crop and warps can push them below the trainer's 0.2% object threshold


class StaticValClips:
    """One pseudo clip per held-out still image; ground truth: objects 1..k of that image."""

    def __init__(self, static_root: str | Path) -> None:
        _, val = static_split(list_static_samples(static_root))
        by_image: dict[str, list[StaticSample]] = defaultdict(list)
        for sample in val:
            if sample.source != "davis345" and _area(sample) >= MIN_AREA:
                by_image[f"{sample.source}-{sample.image_key}"].append(sample)
        self._images = {name: sorted(group, key=lambda s: s.mask.name)[:MAX_OBJECTS]
                        for name, group in sorted(by_image.items())}
        if not self._images:
            raise ValueError(f"no held-out COCO/BSDS/horse images under {static_root}")
        self.sequences = list(self._images)

    def frames(self, name: str) -> list[Path]:
        """`FRAMES` entries (the image repeated: only the count and the names are read)."""
        return [self._images[name][0].image.with_name(f"{i:05d}.jpg") for i in range(FRAMES)]

    def load_frame(self, name: str, index: int) -> np.ndarray:
        return self._clip(name)[0][index]

    def load_mask(self, name: str, index: int) -> np.ndarray:
        return self._clip(name)[1][index]

    @functools.lru_cache(maxsize=1)  # noqa: B019 - one clip at a time; evaluation is sequential
    def _clip(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """uint8 frames [T, H, W, 3] and index masks [T, H, W] of the clip."""
        samples = self._images[name]
        image = cv2.cvtColor(cv2.imread(str(samples[0].image)), cv2.COLOR_BGR2RGB)  # [H, W, 3]
        ids = np.zeros(image.shape[:2], np.uint8)  # [H, W] object ids, later objects on top
        for obj_id, sample in enumerate(samples, start=1):
            ids[cv2.imread(str(sample.mask), cv2.IMREAD_GRAYSCALE) > 127] = obj_id
        # legacy_recipe: the clips stay as built since session 10 (a selection set must not
        # move under the scores it compares), whatever the training warps become
        for attempt in range(PLACEMENT_SEEDS):  # a placement that keeps an object in view
            rng = np.random.default_rng(zlib.crc32(f"{name}/{attempt}".encode()))
            clip = sample_static_clip(image, ids, rng, num_frames=FRAMES, crop=CROP,
                                      max_objects=MAX_OBJECTS, name=name, keep_ids=True,
                                      legacy_recipe=True)
            if clip.valid_objects.any():
                break
        else:
            raise ValueError(f"{name}: no placement keeps an object in view")
        return clip.as_arrays()  # [T, H, W, 3], [T, H, W]


def _area(sample: StaticSample) -> float:
    """Fraction of its image the sample's object covers."""
    return float((cv2.imread(str(sample.mask), cv2.IMREAD_GRAYSCALE) > 127).mean())
