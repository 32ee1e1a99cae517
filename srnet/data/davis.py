"""DAVIS- and YouTube-VOS-layout readers: sequence discovery, splits, frame and mask loading.

This module owns the on-disk layout of video object segmentation data sets. It never downloads
anything. Frames come back as ``[H, W, 3]`` uint8 RGB, masks as ``[H, W]`` uint8 index masks
(0 = background, 1..N = objects) through :func:`srnet.palette.load_index_mask`, so DAVIS-2016
grayscale 0/255 masks read as one object and palette masks (DAVIS-2017, YouTube-VOS) as several.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from srnet.palette import load_index_mask

log = logging.getLogger(__name__)

# Every 5th of the 30 DAVIS-2016 train sequences in alphabetical order: the project's validation
# split (kept out of training, scored by `python -m srnet eval --split holdout`).
DEFAULT_HOLDOUT: tuple[str, ...] = ("bear", "car-turn", "flamingo", "lucia", "paragliding",
                                    "stroller")
FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")


def train_val_split(sequences: Iterable[str],
                    holdout: Sequence[str] = DEFAULT_HOLDOUT) -> tuple[list[str], list[str]]:
    """Split sequence names into (train, val): val = those in ``holdout``, train = the rest.

    Both lists keep the input order; names are never duplicated.
    """
    names = list(dict.fromkeys(sequences))
    held = set(holdout)
    return [s for s in names if s not in held], [s for s in names if s in held]


def _parse_split_file(path: Path) -> list[str]:
    """Sequence names from an ImageSets file: one name per line, or DAVIS-2016 frame-path lines
    (``/JPEGImages/480p/bear/00000.jpg /Annotations/...``) reduced to their sequence folder."""
    names = []
    for line in path.read_text().splitlines():
        tokens = line.split()
        if not tokens:
            continue
        token = tokens[0]
        names.append(Path(token).parts[-2] if "/" in token else token)
    return list(dict.fromkeys(names))


def _find_split_file(root: Path, split: str, resolution: str | None) -> Path:
    """``ImageSets/<res>/<split>.txt``, then ``ImageSets/<split>.txt``, then any
    ``ImageSets/<year>/<split>.txt`` (newest year first)."""
    sets = root / "ImageSets"
    candidates = [sets / resolution / f"{split}.txt"] if resolution else []
    candidates.append(sets / f"{split}.txt")
    if sets.is_dir():
        candidates += sorted(sets.glob(f"*/{split}.txt"), reverse=True)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no ImageSets file for split {split!r} under {sets}")


class VOSDataset:
    """Video sequences in ``<images>/<seq>/*.jpg`` with masks in ``<masks>/<seq>/*.png``.

    ``VOSDataset(root)`` reads the DAVIS layout ``JPEGImages/<resolution>/<seq>`` and
    ``Annotations/<resolution>/<seq>``; :func:`youtube_vos` and :meth:`from_dirs` cover other
    layouts. A mask shares its frame's file stem; frames without one are unannotated
    (YouTube-VOS annotates a subset of frames, semi-supervised test sets only frame 0).

    ``frame_step`` says how many original video frames one stored frame stands for (YouTube-VOS
    train frames are already 5x subsampled, so 5); clip samplers divide their max skip by it.
    """

    def __init__(self, root: str | Path, resolution: str = "480p",
                 seqs: Sequence[str] | None = None, split: str | None = None) -> None:
        self.root = Path(root)
        self.resolution = resolution
        image_root = self.root / "JPEGImages" / resolution
        mask_root = self.root / "Annotations" / resolution
        if seqs is None and split is not None:
            seqs = _parse_split_file(_find_split_file(self.root, split, resolution))
        self._setup(image_root, mask_root, seqs)

    @classmethod
    def from_dirs(cls, image_root: str | Path, mask_root: str | Path,
                  seqs: Sequence[str] | None = None, frame_step: int = 1) -> VOSDataset:
        """A dataset over explicit image and mask folders (any layout with per-sequence dirs)."""
        dataset = cls.__new__(cls)
        dataset.root = Path(image_root).parent
        dataset.resolution = None
        dataset._setup(Path(image_root), Path(mask_root), seqs, frame_step)
        return dataset

    def _setup(self, image_root: Path, mask_root: Path, seqs: Sequence[str] | None,
               frame_step: int = 1) -> None:
        for folder in (image_root, mask_root):
            if not folder.is_dir():
                raise FileNotFoundError(f"missing folder {folder}")
        self.image_root, self.mask_root, self.frame_step = image_root, mask_root, frame_step
        found = sorted(p.name for p in image_root.iterdir()
                       if p.is_dir() and (mask_root / p.name).is_dir())
        if seqs is None:
            self.sequences: list[str] = found
        else:
            missing = sorted(set(seqs) - set(found))
            if missing:
                raise ValueError(f"sequences not found under {image_root}: {missing}")
            self.sequences = list(dict.fromkeys(seqs))
        if not self.sequences:
            raise ValueError(f"no annotated sequences under {image_root}")
        self._frame_cache: dict[str, list[Path]] = {}
        self._annotated_cache: dict[str, list[int]] = {}
        self._ids_cache: dict[str, tuple[int, ...]] = {}
        log.debug("%s: %d sequences", image_root, len(self.sequences))

    def __repr__(self) -> str:
        return f"VOSDataset({str(self.image_root)!r}, {len(self.sequences)} sequences)"

    def _check(self, seq: str) -> None:
        if seq not in self.sequences:
            raise KeyError(f"unknown sequence {seq!r}")

    def frames(self, seq: str) -> list[Path]:
        """Sorted frame paths of ``seq`` (listed once, then cached)."""
        if seq not in self._frame_cache:
            self._check(seq)
            self._frame_cache[seq] = sorted(p for p in (self.image_root / seq).iterdir()
                                            if p.suffix.lower() in FRAME_SUFFIXES)
        return self._frame_cache[seq]

    def mask_path(self, seq: str, index: int) -> Path:
        """Where frame ``index``'s mask lives (whether or not it exists)."""
        return self.mask_root / seq / f"{self.frames(seq)[index].stem}.png"

    def annotated_indices(self, seq: str) -> list[int]:
        """Frame indices of ``seq`` that have a mask, ascending (cached)."""
        if seq not in self._annotated_cache:
            stems = {p.stem for p in (self.mask_root / seq).glob("*.png")}
            self._annotated_cache[seq] = [i for i, p in enumerate(self.frames(seq))
                                          if p.stem in stems]
        return self._annotated_cache[seq]

    def load_frame(self, seq: str, index: int) -> np.ndarray:
        """Frame ``index`` of ``seq`` as ``[H, W, 3]`` uint8 RGB."""
        path = self.frames(seq)[index]
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"cannot read frame {path}")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)  # [H, W, 3]

    def load_mask(self, seq: str, index: int) -> np.ndarray:
        """Mask of frame ``index`` as an ``[H, W]`` uint8 index mask.

        Raises:
            FileNotFoundError: the frame is not annotated (see :meth:`annotated_indices`).
        """
        path = self.mask_path(seq, index)
        if not path.is_file():
            raise FileNotFoundError(f"frame {index} of {seq} has no mask ({path})")
        return load_index_mask(path)

    def object_ids(self, seq: str) -> tuple[int, ...]:
        """Object ids seen in any annotated frame of ``seq`` (reads every mask once, cached)."""
        if seq not in self._ids_cache:
            ids: set[int] = set()
            for index in self.annotated_indices(seq):
                ids.update(int(v) for v in np.unique(self.load_mask(seq, index)) if v)
            self._ids_cache[seq] = tuple(sorted(ids))
        return self._ids_cache[seq]

    def num_objects(self, seq: str) -> int:
        """How many distinct objects ``seq`` annotates (over all annotated frames)."""
        return len(self.object_ids(seq))


def youtube_vos(root: str | Path, subset: str = "train",
                seqs: Sequence[str] | None = None) -> VOSDataset:
    """YouTube-VOS layout: ``<root>/<subset>/JPEGImages/<seq>`` + ``<root>/<subset>/Annotations``.

    ``root`` may also point at the subset folder itself (e.g. STCN's ``train_480p``). The
    stored frames are 5x subsampled, hence ``frame_step=5``.
    """
    base = Path(root)
    if not (base / "JPEGImages").is_dir():
        base = base / subset
    return VOSDataset.from_dirs(base / "JPEGImages", base / "Annotations", seqs=seqs,
                                frame_step=5)
