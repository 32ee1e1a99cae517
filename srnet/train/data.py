"""Where training batches come from: DAVIS-layout roots → training/holdout sequences → either the
feature-cache sampler (frozen Lite0 trunk, "shared" value encoder) or image clips from
`srnet.data` (any config). Also the max-skip curriculum. No model code runs here except the
trunk while the cache is built. Curriculum: `srnet.data.CurriculumSchedule` (STCN's max skip)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import torch

from srnet.checkpoint import stream_seed
from srnet.config import ModelConfig
from srnet.data import ClipDataset, CurriculumSchedule, VOSDataset, train_val_split
from srnet.data.static_masks import instance_videos, list_static_samples, static_split
from srnet.data.subsets import training_share
from srnet.model import SRNet
from srnet.train import distributed as ddp
from srnet.train.batch import TrainBatch, stack_clips
from srnet.train.cached_sampler import CachedClipSampler, FeatureAugment, sampler_from_paths
from srnet.train.config import TrainConfig
from srnet.train.feature_cache import (
    SeqRef,
    build_feature_cache,
    cache_size_bytes,
    trunk_fingerprint,
)

log = logging.getLogger(__name__)


class DataSource(Protocol):
    """A seeded batch sampler whose position can be saved and restored (exact resume)."""

    def sample_batch(self, batch_size: int, progress: float) -> TrainBatch:
        """`progress` = fraction of training done (drives the max-skip curriculum)."""
        ...

    def state_dict(self) -> dict: ...
    def load_state_dict(self, state: dict) -> None: ...


def open_datasets(roots: Sequence[str | Path]) -> list[VOSDataset]:
    return [VOSDataset(root) for root in roots]


def training_sequences(dataset: VOSDataset, cfg: TrainConfig) -> list[str]:
    """The sequences of `dataset` a run trains on: not in the holdout, and of those the fixed
    nested share `cfg.train_fraction` (learning curves over the number of videos)."""
    train_seqs, _ = train_val_split(dataset.sequences, cfg.holdout)
    return training_share(train_seqs, cfg.train_fraction, cfg.seed) if train_seqs else []


class DataError(ValueError):
    """The --data roots cannot give this run's training and holdout sequences; `argument`
    names the command-line flag to blame."""

    def __init__(self, message: str, argument: str = "--data") -> None:
        super().__init__(message)
        self.argument = argument


def _check_holdout(datasets: Sequence[VOSDataset], cfg: TrainConfig) -> None:
    """A holdout name in no root while others are found is refused: a misspelt name left its
    sequence in training (it only logged a warning). None found: other data than the holdout
    was chosen for (e.g. YouTube-VOS roots with the DAVIS default), a warning."""
    known = {seq for dataset in datasets for seq in dataset.sequences}
    missing = sorted(set(cfg.holdout) - known)
    if missing and len(missing) < len(set(cfg.holdout)):
        raise DataError(f"names found in no --data root: {', '.join(missing)} (a misspelt "
                        "name would leave its sequence in training)", "--holdout")
    if missing:
        log.warning("no holdout name is in the --data roots (%s): nothing is held out",
                    ", ".join(missing))


def training_refs(datasets: Sequence[VOSDataset], cfg: TrainConfig) -> list[SeqRef]:
    """Every training sequence (`training_sequences`), tagged with its root folder's name (the
    cache key)."""
    names = [dataset.root.name for dataset in datasets]
    if len(set(names)) < len(names):  # the name keys the feature cache: files would collide
        raise DataError(f"two --data roots share a folder name ({names}); the feature cache "
                         "is keyed by it, so rename or link one of them")
    _check_holdout(datasets, cfg)
    refs = []
    for dataset in datasets:
        refs += [SeqRef(dataset.root.name, seq, dataset)
                 for seq in training_sequences(dataset, cfg)]
    if not refs:
        raise DataError("no training sequences left after removing the holdout", "--holdout")
    return refs


def can_use_cache(model: SRNet, frozen: bool) -> bool:
    """The cache needs a frozen trunk and a value encoder that never looks at the image."""
    return frozen and model.cfg.value_backbone == "shared"


def run_seed(cfg: TrainConfig) -> int:
    """The clip stream's seed (`srnet.checkpoint.stream_seed`). Clips are drawn from (seed,
    index), and every continuation starts at index 0, so with one seed the runs of sessions
    11-18 replayed 70-83 % of the same augmented clips (found in session 30); each checkpoint
    of a lineage now starts its own stream."""
    return stream_seed(cfg.seed, cfg.init)


def build_source(cfg: TrainConfig, model: SRNet, frozen: bool, roots: Sequence[str | Path],
                 info: ddp.DistInfo, stream: int | None = None
                 ) -> tuple[DataSource, list[VOSDataset]]:
    """(training batch sampler for this rank, datasets for the holdout evaluation); `stream`:
    the run's clip-stream seed (default `run_seed`)."""
    datasets = open_datasets(roots)
    refs = training_refs(datasets, cfg)
    log.info("%d training sequences; holdout %s", len(refs), ", ".join(cfg.holdout))
    seed = (run_seed(cfg) if stream is None else stream) + 1000 * info.rank
    if cfg.use_cache and not can_use_cache(model, frozen):
        log.warning("feature cache disabled: it needs a frozen trunk and the 'shared' value "
                    "encoder (this run trains the trunk or encodes images per frame)")
    if cfg.use_cache and cfg.static_root is not None:
        log.warning("feature cache disabled: static pseudo clips (static_root) are warped "
                    "images, so the trunk runs on every step")
    elif cfg.use_cache and can_use_cache(model, frozen):
        return cached_source(cfg, model, refs, info, seed), datasets
    return image_source(cfg, datasets, seed), datasets


def cached_source(cfg: TrainConfig, model: SRNet, refs: list[SeqRef], info: ddp.DistInfo,
                  seed: int) -> CachedClipSampler:
    """Build missing cache files (split across ranks), then a sampler over all of them."""
    trunk = model.key_encoder.trunk
    fingerprint = trunk_fingerprint(trunk, model.cfg.key_backbone)
    mine = refs[info.rank::info.world_size]
    build_feature_cache(trunk, mine, Path(cfg.cache_dir), cfg.cache_scales, fingerprint,
                        info.device)
    ddp.barrier(info)
    paths = build_feature_cache(trunk, refs, Path(cfg.cache_dir), cfg.cache_scales, fingerprint,
                                info.device, check=False)  # every file was checked and exists:
    # this only collects the paths (each rank checked its own share above)
    log.info("feature cache: %d files, %.2f GB", len(paths),
             cache_size_bytes(list(paths.values())) / 1e9)
    augment = FeatureAugment(flip_prob=cfg.flip_prob, paste_prob=cfg.paste_prob,
                             affine_prob=cfg.affine_prob)
    return sampler_from_paths(paths, cfg.crop, cfg.num_frames, cfg.max_objects, augment, seed,
                              CurriculumSchedule())


def prepare_cache(cfg: TrainConfig, model_cfg: ModelConfig, roots: Sequence[str | Path]
                  ) -> int:
    """Build the feature cache for `cfg`'s training sequences and return its size in bytes
    (`python -m srnet train --cache-only`); resumable like every cache build."""
    from srnet.train.model_setup import build_model

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    info = ddp.DistInfo(device=torch.device(cfg.device or ("cuda" if torch.cuda.is_available()
                                                           else "cpu")))
    model, frozen = build_model(cfg, model_cfg)
    if not can_use_cache(model, frozen):
        raise ValueError(f"the {model_cfg.name} config cannot train from cached features")
    refs = training_refs(open_datasets(roots), cfg)
    sampler = cached_source(cfg, model.to(info.device), refs, info, cfg.seed)
    return cache_size_bytes([s.path for seqs in sampler.seqs.values() for s in seqs])


def image_source(cfg: TrainConfig, datasets: Sequence[VOSDataset], seed: int
                 ) -> ImageClipSource:
    """Augmented image clips from `srnet.data.ClipDataset` (the model runs its trunk each step)."""
    train_sets = []
    for dataset in datasets:
        train_seqs = training_sequences(dataset, cfg)
        if train_seqs:
            train_sets.append(VOSDataset.from_dirs(dataset.image_root, dataset.mask_root,
                                                   train_seqs, dataset.frame_step))
    train_sets += instance_training_videos(cfg, datasets)
    clips = ClipDataset(train_sets, length=2**62, seed=seed, p_paste=cfg.paste_prob,
                        num_frames=cfg.num_frames, crop=(cfg.crop, cfg.crop),
                        max_objects=cfg.max_objects, p_video=cfg.p_video,
                        static_pairs=static_training_pairs(cfg, datasets),
                        p_static_donor=cfg.p_static_donor, flip_prob=cfg.flip_prob,
                        min_object_area=cfg.video_min_object_area)
    return ImageClipSource(clips, cfg.data_threads)


def _davis_root(datasets: Sequence[VOSDataset]) -> Path | None:
    """The first DAVIS-layout root (it holds the images of the DAVIS-345 frames)."""
    return next((d.root for d in datasets if (d.root / "JPEGImages").is_dir()), None)


def instance_training_videos(cfg: TrainConfig, datasets: Sequence[VOSDataset]
                             ) -> list[VOSDataset]:
    """With `cfg.instance_videos`, the DAVIS-345 multi-object sequences outside the holdout as
    one more video set (each sequence weighs as much as one DAVIS-2016 sequence; all of them,
    whatever `train_fraction` says)."""
    if not cfg.instance_videos or cfg.static_root is None:
        return []
    davis_root = _davis_root(datasets)
    videos = None if davis_root is None else instance_videos(cfg.static_root, davis_root,
                                                             cfg.holdout)
    if videos is None:
        raise DataError(f"instance_videos: no DAVIS-345 multi-object training sequence under "
                        f"{cfg.static_root} with images under "
                        f"{davis_root or 'a DAVIS-layout --data root'}", "--static")
    log.info("instance videos: %d DAVIS-345 sequences (%s)", len(videos.sequences),
             ", ".join(videos.sequences))
    return [videos]


def static_training_pairs(cfg: TrainConfig, datasets: Sequence[VOSDataset]
                          ) -> list[tuple[Path, Path, bool]]:
    """(image, mask, several objects?) for the *train* part of the static-masks split
    (`srnet.data.static_masks`); DAVIS-345 frames of holdout sequences are never among them."""
    if cfg.static_root is None:
        return []
    train, val = static_split(list_static_samples(cfg.static_root, _davis_root(datasets)),
                              cfg.holdout)
    train = training_share(train, cfg.train_fraction, cfg.seed)
    log.info("static pseudo clips: %d training images (%d held out)", len(train), len(val))
    return [(s.image, s.mask, s.multi_object) for s in train]


class ImageClipSource:
    """Batches of `ClipDataset` items drawn in index order. Item i is a pure function of (seed, i,
    max skip), so the position `drawn` is the whole sampler state; a thread pool decodes and warps
    the clips of one batch in parallel (OpenCV releases the GIL)."""

    def __init__(self, clips: ClipDataset, threads: int = 4) -> None:
        self.clips, self.drawn = clips, 0
        self.pool = ThreadPoolExecutor(max(1, threads)) if threads > 1 else None

    def sample_batch(self, batch_size: int, progress: float) -> TrainBatch:
        self.clips.set_progress(progress)
        indices = range(self.drawn, self.drawn + batch_size)
        self.drawn += batch_size
        items = list(self.pool.map(self.clips.clip, indices) if self.pool else
                     map(self.clips.clip, indices))
        return stack_clips(items)  # every clip has max_objects slots: nothing is padded

    def state_dict(self) -> dict:
        return {"drawn": self.drawn}

    def load_state_dict(self, state: dict) -> None:
        self.drawn = int(state["drawn"])
