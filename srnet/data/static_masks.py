"""The `static-masks` still-image collection (COCO-MVal objects, BSDS salient objects, Weizmann
horses, DAVIS-345 instance masks of DAVIS-2016 *train* frames) and its one train/validation split.

Both trainings use this split (SRNet's static pseudo-clips and the click model), so a held-out
object is never trained on by either. The split is a fixed rule, not a random draw:
- COCO: per category, the image of the category's first object (sorted by name) goes to
  validation, and with it every object of that image (objects of one image never straddle).
- BSDS and Weizmann horses: every 10th image (sorted by name).
- DAVIS-345: the frames of the DAVIS holdout sequences (`srnet.data.DEFAULT_HOLDOUT`), which
  the video trainings also never see.
- Near-duplicates of a validation photo are in neither split (`DUPLICATES_OF_VAL`): the horse
  set holds two photos twice under other names (found in session 31 by 16x16 thumbnail
  correlation over every train/val pair; nothing else is above 0.92).

Layout (see the collection's README): `<root>/{coco-mval,bsds-sod,weizmann-horse}/images/*.jpg`
with `masks/<stem>.png` (0/255), and `<root>/davis345-train/<seq>/<frame>.png` (palette ids, 255 =
void) whose images are `<davis_root>/JPEGImages/480p/<seq>/<frame>.jpg`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srnet.data.davis import DEFAULT_HOLDOUT, VOSDataset, train_val_split

SINGLE_OBJECT_SETS = {"coco-mval": "coco", "bsds-sod": "bsds", "weizmann-horse": "horse"}
DAVIS345 = "davis345-train"
VAL_EVERY = 10
# (source, image_key) of a training photo → the validation photo it repeats (the same picture,
# resized: horse219 is horse071 at 304x400; horse118 is horse171 with JPEG noise). Dropped
# from training since session 31; until then two of the 219 val objects had been trained on.
DUPLICATES_OF_VAL = {("horse", "horse219"): "horse071", ("horse", "horse118"): "horse171"}


@dataclass(frozen=True)
class StaticSample:
    """One still image and its mask. `group` is the COCO category, the DAVIS sequence, or the
    set name; `image_key` identifies the photo (several COCO objects can share one)."""

    image: Path
    mask: Path
    source: str  # coco | bsds | horse | davis345
    group: str
    image_key: str

    @property
    def multi_object(self) -> bool:
        """True for DAVIS-345 instance masks (palette ids, possibly several objects)."""
        return self.source == "davis345"


def _single_object_samples(folder: Path, source: str) -> list[StaticSample]:
    samples = []
    for image in sorted((folder / "images").glob("*.jpg")):
        mask = folder / "masks" / f"{image.stem}.png"
        if not mask.exists():
            continue
        if source == "coco":  # e.g. airplane01_000000281693: category + index, image id
            head, _, image_id = image.stem.rpartition("_")
            group, key = head.rstrip("0123456789"), image_id
        else:
            group, key = source, image.stem
        samples.append(StaticSample(image, mask, source, group, key))
    return samples


def _davis345_samples(folder: Path, davis_root: Path | None) -> list[StaticSample]:
    if davis_root is None:
        return []
    samples = []
    for mask in sorted(folder.glob("*/*.png")):
        seq = mask.parent.name
        image = davis_root / "JPEGImages" / "480p" / seq / f"{mask.stem}.jpg"
        if image.exists():
            samples.append(StaticSample(image, mask, "davis345", seq, f"{seq}/{mask.stem}"))
    return samples


def list_static_samples(root: str | Path, davis_root: str | Path | None = None
                        ) -> list[StaticSample]:
    """Every sample under `root` (the static-masks folder). DAVIS-345 frames are listed only
    when `davis_root` (the DAVIS-2016 train folder holding their images) is given."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"static-masks folder not found: {root}")
    samples: list[StaticSample] = []
    for name, source in SINGLE_OBJECT_SETS.items():
        if (root / name).is_dir():
            samples += _single_object_samples(root / name, source)
    if (root / DAVIS345).is_dir():
        samples += _davis345_samples(root / DAVIS345, None if davis_root is None
                                     else Path(davis_root))
    return samples


def static_split(samples: Sequence[StaticSample], holdout_seqs: Sequence[str] | None = None
                 ) -> tuple[list[StaticSample], list[StaticSample]]:
    """(train, val) by the fixed rule in the module docstring."""
    if holdout_seqs is None:
        holdout_seqs = DEFAULT_HOLDOUT
    first_image: dict[str, str] = {}
    for s in sorted((s for s in samples if s.source == "coco"), key=lambda s: s.image.name):
        first_image.setdefault(s.group, s.image_key)
    val_coco_images = set(first_image.values())
    val_keys: set[tuple[str, str]] = set()
    for source in ("bsds", "horse"):
        names = sorted(s.image_key for s in samples if s.source == source)
        val_keys |= {(source, k) for k in names[::VAL_EVERY]}

    def is_val(s: StaticSample) -> bool:
        if s.source == "coco":
            return s.image_key in val_coco_images
        if s.source == "davis345":
            return s.group in holdout_seqs
        return (s.source, s.image_key) in val_keys

    train = [s for s in samples if not is_val(s) and (s.source, s.image_key)
             not in DUPLICATES_OF_VAL]
    val = [s for s in samples if is_val(s)]
    return train, val


# Roughly how many video frames one DAVIS-345 frame stands for (about 8 annotated frames over
# 50-100): a clip sampler's max skip of 5-25 frames becomes 1-2 annotated frames apart.
INSTANCE_FRAME_STEP = 10
VOID = 255


class InstanceVideo(VOSDataset):
    """The DAVIS-345 instance frames read as sparse video (session 39): every object of a frame
    keeps its id through the sequence (the horse and its rider, each dancer), so three of a
    sequence's annotated frames are a real multi-object clip with real motion, where the
    static path warps one frame. Void (255, one frame) reads as background."""

    def load_mask(self, seq: str, index: int) -> np.ndarray:
        mask = super().load_mask(seq, index)  # [H, W] ids, 255 = void
        return np.where(mask == VOID, 0, mask).astype(np.uint8)  # [H, W]


def instance_videos(static_root: str | Path, davis_root: str | Path, holdout: Sequence[str],
                    min_objects: int = 2) -> InstanceVideo | None:
    """The DAVIS-345 sequences outside `holdout` with at least `min_objects` objects, as
    :class:`InstanceVideo` (None when there are none, or no such folders)."""
    mask_root = Path(static_root) / DAVIS345
    image_root = Path(davis_root) / "JPEGImages" / "480p"
    if not mask_root.is_dir() or not image_root.is_dir():
        return None
    found = InstanceVideo.from_dirs(image_root, mask_root, frame_step=INSTANCE_FRAME_STEP)
    train, _ = train_val_split(found.sequences, holdout)
    seqs = [seq for seq in train if found.num_objects(seq) >= min_objects]
    if not seqs:
        return None
    return InstanceVideo.from_dirs(image_root, mask_root, seqs, INSTANCE_FRAME_STEP)
