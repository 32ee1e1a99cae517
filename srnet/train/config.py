"""`TrainConfig`: every training knob, with its default and why (spec §7, adapted) [D].

Optimiser choice [D]: the SRNet heads (projections, value encoder, FAM, PTM, decoder) start from
random weights, so STCN's lr 1e-5 (tuned for fine-tuning after static-image pre-training, batch 16)
learns far too slowly here. AdamW at 1e-4 is the usual rate for training attention/conv heads from
scratch, decoupled weight decay 0.05 (XMem) counters over-fitting on 24 DAVIS-2016 sequences, a
short linear warm-up protects the randomly initialised PTM/FAM from large early steps, and cosine
decay to 1% ends the run at a low rate without a hand-placed step. Gradients are clipped at 3.0.
The bootstrapped-CE warm-up is given in fractions of the run, keeping STCN's 20K/70K-of-150K shape.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from srnet.data.davis import DEFAULT_HOLDOUT


@dataclass
class TrainConfig:
    """Training settings (ModelConfig holds the architecture)."""

    out_dir: str = "runs/lite"  # last.pt, best_holdout.pt, final.pt, log.jsonl, train_config.json
    steps: int = 30_000  # optimiser steps (global: every rank does each one)
    run_steps: int | None = None  # stop (saving last.pt) after this many steps in this call
    batch_size: int = 4  # clips per step *per process*
    lr: float = 1e-4  # AdamW peak learning rate (see module docstring)
    weight_decay: float = 0.05
    warmup_steps: int = 500  # linear warm-up from 0
    schedule: str = "cosine"  # "cosine" (to min_lr_ratio·lr) | "step" (×0.1 at step_at·steps)
    min_lr_ratio: float = 0.01
    step_at: float = 0.8
    grad_clip: float = 3.0  # max global grad norm; 0 disables
    boot_start: float = 0.15  # bootstrapped CE: full CE until this fraction of the steps …
    boot_end: float = 0.5  # … then the kept fraction falls to top_p at this fraction
    top_p: float = 0.15
    crop: int = 384  # square training crop (pixels, multiple of 16)
    num_frames: int = 3
    max_objects: int = 2
    use_cache: bool = True  # train from cached trunk features (frozen trunk + "shared" value enc.)
    cache_dir: str = "cache/features"
    cache_scales: tuple[int, ...] = (480, 384)  # cached short sides
    freeze_trunk: bool | None = None  # None: frozen for the Lite0 trunk, trained for ResNets
    # Lite0 only: train the last N of the 11 trunk blocks (8-10 = the 112-channel stride-16 stage)
    # at lr × trunk_lr_mult, BatchNorm statistics kept fixed; 0 = fully frozen (issue #9 item 3).
    trunk_train_blocks: int = 0
    trunk_lr_mult: float = 0.1
    flip_prob: float = 0.5  # horizontal flip of video clips (both paths)
    paste_prob: float = 0.5  # both paths: paste another object in (multi-object clips)
    affine_prob: float = 0.5  # cached path: per-frame affine warp of features and masks
    data_threads: int = 4  # image path: threads decoding/augmenting the clips of a batch
    static_root: str | None = None  # static-masks folder: stage-0 pseudo clips (image path only)
    p_video: float = 1.0  # image path: fraction of clips from videos (rest: static pseudo clips)
    p_static_donor: float = 0.5  # image path: pasted objects cut from static images
    # image path: the DAVIS-345 instance frames of the training sequences with several objects
    # join the videos as sparse real multi-object clips (`srnet.data.static_masks.InstanceVideo`)
    instance_videos: bool = False
    # image path: a video clip's objects need this share of its first crop to be targets (the
    # crop itself needs one of 1 %); None = 1 % (every run before session 42). 0.002 lets the
    # DAVIS-345 sequences' sticks, boards and kite lines be targets (`sample_video_clip`)
    video_min_object_area: float | None = None
    # a fixed nested share of the training videos and static images (learning curves over data)
    train_fraction: float = 1.0
    amp: bool = True  # autocast on CUDA (bf16 when supported, else fp16 + GradScaler)
    seed: int = 0
    holdout: tuple[str, ...] = DEFAULT_HOLDOUT  # never trained on, scored for best_holdout.pt
    eval_every: int = 1000  # holdout J&F every N steps and at the end (0 = never)
    eval_seqs: tuple[str, ...] | None = None  # evaluate only these holdout sequences (None = all)
    eval_size: int = 240  # InferenceConfig.short_side for the holdout evaluation
    eval_frames: int | None = None  # first N frames per holdout sequence (None = all)
    log_every: int = 20
    ckpt_every: int = 200  # last.pt every N steps (and at exit)
    resume: bool = True  # continue from out_dir/last.pt when it exists
    # accept a resume whose input locations (data roots, static_root, init) changed
    resume_changed: bool = False
    init: str | None = None  # start from this inference checkpoint's weights
    key_weights: str | None = None  # ResNet-50 ImageNet state dict (paper config)
    value_weights: str | None = None  # ResNet-18 ImageNet state dict (paper config)
    device: str | None = None  # None: cuda when available (per local rank), else cpu
    threads: int | None = None  # torch CPU threads
    ddp_find_unused: bool = False
    progress: bool = True  # tqdm bar on rank 0

    def __post_init__(self) -> None:
        self.holdout = tuple(self.holdout)
        if self.eval_seqs is not None:
            self.eval_seqs = tuple(self.eval_seqs)
            if not set(self.eval_seqs) <= set(self.holdout):
                raise ValueError("eval_seqs must be holdout sequences (never trained on)")
        self.cache_scales = tuple(int(s) for s in self.cache_scales)
        if self.crop % 16:
            raise ValueError("crop must be a multiple of 16")
        if self.num_frames < 2 or self.max_objects < 1 or self.batch_size < 1:
            raise ValueError("need num_frames ≥ 2, max_objects ≥ 1, batch_size ≥ 1")
        if min(self.log_every, self.ckpt_every, self.steps) < 1 or self.eval_every < 0:
            raise ValueError("steps, log_every and ckpt_every must be ≥ 1, eval_every ≥ 0")
        if not (0.0 <= self.p_video <= 1.0 and 0.0 <= self.p_static_donor <= 1.0):
            raise ValueError("p_video and p_static_donor must lie in 0..1")
        if not 0.0 < self.train_fraction <= 1.0:
            raise ValueError("train_fraction must lie in (0, 1]")
        if self.p_video < 1.0 and self.static_root is None:
            raise ValueError("p_video < 1 needs static_root (the static-masks folder)")
        if self.instance_videos and self.static_root is None:
            raise ValueError("instance_videos needs static_root (it holds davis345-train)")
        if self.video_min_object_area is not None and not 0 <= self.video_min_object_area <= 1:
            raise ValueError("video_min_object_area must lie in 0..1 (a share of the crop)")
        if not 0 <= self.trunk_train_blocks <= 11 or self.trunk_lr_mult <= 0:
            raise ValueError("trunk_train_blocks must lie in 0..11 and trunk_lr_mult be > 0")
        if self.trunk_train_blocks and self.freeze_trunk is False:
            raise ValueError("trunk_train_blocks unfreezes the last blocks of a frozen trunk; "
                             "with freeze_trunk=False the whole trunk trains: set only one")
        if self.schedule not in ("cosine", "step"):
            raise ValueError("schedule must be 'cosine' or 'step'")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_trunk_blocks(cfg: TrainConfig, key_backbone: str) -> None:
    """`trunk_train_blocks` names Lite0's blocks: with a ResNet key trunk (trained whole by
    default) it was silently ignored and the whole trunk trained at lr x trunk_lr_mult."""
    if cfg.trunk_train_blocks and key_backbone != "efficientnet_lite0":
        raise ValueError(f"trunk_train_blocks applies to the EfficientNet-Lite0 trunk only, not "
                         f"{key_backbone!r} (its trunk trains whole unless freeze_trunk=True)")


def apply_overrides(obj: Any, pairs: list[str]) -> Any:
    """`dataclasses.replace` with "a.b=value" strings (values parsed as Python literals, else kept
    as strings); nested dataclasses (e.g. ModelConfig.ptm) take dotted keys."""
    import ast

    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--set expects key=value, got {pair!r}")
        key, raw = pair.split("=", 1)
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        obj = _replace_path(obj, key.strip().split("."), value)
    return obj


def _replace_path(obj: Any, path: list[str], value: Any) -> Any:
    names = {f.name for f in dataclasses.fields(obj)}
    if path[0] not in names:
        raise ValueError(f"unknown {type(obj).__name__} field {path[0]!r}")
    if len(path) > 1:
        value = _replace_path(getattr(obj, path[0]), path[1:], value)
    elif isinstance(getattr(obj, path[0]), tuple) and isinstance(value, list):
        value = tuple(value)
    return dataclasses.replace(obj, **{path[0]: value})
