"""The training ``Dataset``: mixes video clips, static pseudo clips and pasted multi-object clips,
with the max-skip curriculum of spec section 7.

Item ``i`` is a pure function of ``(seed, epoch, i, max_skip)``: every item builds its own
``numpy.random.Generator`` from those, so DataLoader workers need no reseeding and DDP ranks differ
by giving each a different ``seed``. Call :meth:`ClipDataset.set_progress` (and ``set_epoch``)
between epochs; with ``persistent_workers=True`` the workers keep their own copies, so recreate
the DataLoader after changing them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from srnet.data.clips import VideoClip, sample_static_clip, sample_video_clip
from srnet.data.davis import VOSDataset
from srnet.data.paste import paste_object
from srnet.palette import load_index_mask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CurriculumSchedule:
    """Max frame skip by training progress: ``(progress_from, max_skip)`` steps, ascending.

    Default (spec section 7, STCN): 5, then 10/15/20/25 from 10/20/30/40% and 5 again from 90%.
    """

    steps: tuple[tuple[float, int], ...] = ((0.0, 5), (0.1, 10), (0.2, 15), (0.3, 20),
                                            (0.4, 25), (0.9, 5))

    def max_skip_at(self, progress: float) -> int:
        """The max skip in force at ``progress`` (fraction of training done, clamped to 0..1)."""
        progress = min(max(float(progress), 0.0), 1.0)
        value = self.steps[0][1]
        for start, skip in self.steps:
            if progress >= start:
                value = skip
        return value


class ClipDataset(Dataset):
    """``length`` random training clips per epoch.

    Each item is a video clip with probability ``p_video`` (uniform over all sequences of all
    ``videos``; list a dataset several times to weight it up), else a static pseudo clip from
    ``static_pairs`` (image path, mask path) or, when there are none, from one random annotated
    frame of a random sequence (one of its objects). A static pair may carry a third item,
    ``keep_ids``: its mask is an index mask of several objects (DAVIS-345 instances), which
    become several objects of the clip. With probability ``p_paste`` another object is then
    pasted in as an extra object (needs ``max_objects >= 2``): with probability
    ``p_static_donor`` one cut from a static image (any of 80 COCO categories, so the model meets
    look-alikes and occluders it never saw in video), else one of another sequence.

    ``__getitem__`` returns :meth:`VideoClip.as_tensors` (a dict the default collate batches);
    :meth:`clip` returns the typed :class:`VideoClip`.
    """

    def __init__(self, videos: Sequence[VOSDataset] = (), *, length: int = 10_000,
                 seed: int = 0, p_video: float = 1.0, p_paste: float = 0.0,
                 static_pairs: Sequence[tuple] = (), p_static_donor: float = 0.0,
                 num_frames: int = 3, crop: tuple[int, int] = (384, 384), max_objects: int = 2,
                 schedule: CurriculumSchedule | None = None, flip_prob: float = 0.5,
                 min_object_area: float | None = None) -> None:
        self.entries = [(d, seq) for d in videos for seq in d.sequences]
        self.static_pairs = [(Path(p[0]), Path(p[1]), bool(p[2]) if len(p) > 2 else False)
                             for p in static_pairs]
        self.p_static_donor = p_static_donor if self.static_pairs else 0.0
        if not self.entries and (p_video > 0 or not self.static_pairs):
            raise ValueError("ClipDataset needs video sequences (or static pairs and p_video=0)")
        self.length, self.seed, self.epoch = length, seed, 0
        self.p_video, self.p_paste = p_video, p_paste
        self.num_frames, self.crop, self.max_objects = num_frames, tuple(crop), max_objects
        self.schedule = schedule or CurriculumSchedule()
        self.flip_prob = flip_prob  # video clips' horizontal flip (static clips are not flipped)
        self.min_object_area = min_object_area  # video clips' slot threshold (sample_video_clip)
        self.max_skip = self.schedule.max_skip_at(0.0)

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        """Draw different clips in every epoch."""
        self.epoch = int(epoch)

    def set_progress(self, progress: float) -> None:
        """Update ``max_skip`` from the curriculum at this fraction of training."""
        self.max_skip = self.schedule.max_skip_at(progress)

    def _video(self, entry: int, rng: np.random.Generator, max_objects: int) -> VideoClip:
        dataset, seq = self.entries[entry]
        skip = max(1, self.max_skip // dataset.frame_step)
        return sample_video_clip(dataset, seq, rng, self.num_frames, skip, self.crop, max_objects,
                                 flip_prob=self.flip_prob, min_object_area=self.min_object_area)

    def _static(self, rng: np.random.Generator, max_objects: int | None = None) -> VideoClip:
        max_objects = self.max_objects if max_objects is None else max_objects
        keep_ids = False
        if self.static_pairs:
            k = int(rng.integers(len(self.static_pairs)))
            image_path, mask_path, keep_ids = self.static_pairs[k]
            bgr = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
            if bgr is None:
                raise ValueError(f"cannot read image {image_path}")
            # a DAVIS-345 frame is named by its sequence, so the paste guard (a clip's own
            # source is never its donor) compares like with like; a still image by its stem
            name = image_path.parent.name if keep_ids else image_path.stem
            image, mask, index = (cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB),
                                  load_index_mask(mask_path), k)
        else:
            dataset, seq = self.entries[int(rng.integers(len(self.entries)))]
            index = int(rng.choice(dataset.annotated_indices(seq)))
            image, mask = dataset.load_frame(seq, index), dataset.load_mask(seq, index)
            ids = np.unique(mask[mask > 0])
            mask = mask == rng.choice(ids) if ids.size else mask
            name = seq
        return sample_static_clip(image, mask, rng, self.num_frames, self.crop,
                                  max_objects, name=name, index=index, keep_ids=keep_ids)

    def clip(self, index: int) -> VideoClip:
        """Item ``index`` as a typed clip (deterministic given seed, epoch, index, max_skip)."""
        rng = np.random.default_rng((self.seed, self.epoch, index, self.max_skip))
        if self.entries and rng.random() < self.p_video:
            clip = self._video(int(rng.integers(len(self.entries))), rng, self.max_objects)
        else:
            clip = self._static(rng)
        can_paste = self.max_objects >= 2 and (len(self.entries) >= 2 or self.static_pairs)
        if can_paste and rng.random() < self.p_paste and not clip.valid_objects.all():
            clip = self._paste(clip, rng)
        return clip

    def _paste(self, clip: VideoClip, rng: np.random.Generator) -> VideoClip:
        """Paste an object of a static image or of another sequence (a few draws to avoid the
        clip's own)."""
        if len(self.entries) < 2 or rng.random() < self.p_static_donor:
            donor = self._static(rng, max_objects=1)
            if not donor.valid_objects[0] or donor.info.source == clip.info.source:
                return clip
            return paste_object(clip, donor.frames, donor.masks[:, 0], rng,
                                donor_name=donor.info.source)
        own = clip.info.source
        for _ in range(5):
            donor_entry = int(rng.integers(len(self.entries)))
            if self.entries[donor_entry][1] != own:
                break
        else:
            return clip
        donor = self._video(donor_entry, rng, 1)
        if not donor.valid_objects[0]:
            return clip
        name = self.entries[donor_entry][1]
        return paste_object(clip, donor.frames, donor.masks[:, 0], rng, donor_name=name)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        return self.clip(index).as_tensors()
