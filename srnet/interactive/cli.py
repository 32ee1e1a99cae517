"""`python -m srnet train-clicks ...` and `python -m srnet clicks-eval ...`."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from srnet.cli_args import fail, positive_float, positive_int, probability

log = logging.getLogger(__name__)

TRAIN_EPILOG = """example:
  python -m srnet train-clicks --static ../shared/data/static-masks \\
      --davis ../shared/data/davis2016-train --out runs/clicks --steps 1800
Re-running the same command continues from OUT/last.pt (--no-resume starts over)."""


def _fraction(text: str) -> float:
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a share in (0, 1], got {value}")
    return value


def _existing_dir(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no such folder: {text}")
    return path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `train-clicks` and `clicks-eval`."""
    _add_train_parser(subparsers)
    _add_eval_parser(subparsers)


def _add_train_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train-clicks", help="train the click-to-mask model",
                              epilog=TRAIN_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--static", type=_existing_dir, default=None,
                   help="static-masks folder (its train split is used); required to train")
    p.add_argument("--davis", type=_existing_dir, default=None,
                   help="DAVIS-2016 train folder: DAVIS-345 images + training frames (the "
                        "holdout sequences are never used)")
    p.add_argument("--out", type=Path, required=True, help="run folder")
    p.add_argument("--steps", type=positive_int, default=1800)
    p.add_argument("--batch-size", type=positive_int, default=6)
    p.add_argument("--crop", type=positive_int, default=256)
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--trunk-lr-mult", type=positive_float, default=0.1,
                   help="the ImageNet trunk's learning rate as a share of --lr (default 0.1)")
    p.add_argument("--eval-every", type=positive_int, default=300)
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    p.add_argument("--train-fraction", type=_fraction, default=1.0,
                   help="train on this fixed share (0..1] of the training objects (data-size "
                        "learning curve)")
    p.add_argument("--object-view-prob", type=probability, default=0.5,
                   help="share of training views that show the object's enlarged box at the "
                        "crop size, as the predictor's zoom-in does (default 0.5, the shipped "
                        "recipe since session 7; 0 = random crops only, as before)")
    p.add_argument("--trunk-stride", type=int, choices=[16, 32], default=16,
                   help="32 adds Lite0's stride-32 stage (more context); a stride-16 --init "
                        "checkpoint seeds it (the new stage starts from ImageNet, its lateral "
                        "conv at zero)")
    p.add_argument("--out-stride", type=int, choices=[4, 2], default=4,
                   help="2 adds a stride-2 refinement of the logits (sharper boundaries); a "
                        "stride-4 --init checkpoint seeds it (its last conv starts at zero)")
    p.add_argument("--click-proto", action="store_true",
                   help="add the click-prototype similarity cue at stride 16 (non-local: "
                        "which far-away parts look like the clicks); a checkpoint without it "
                        "seeds it (its input conv starts at zero)")
    # the names of srnet.interactive.losses.LOSSES (not imported here: it loads torch)
    p.add_argument("--loss", choices=["bce_iou", "nfl"], default="bce_iou",
                   help="BCE + soft IoU (default) or RITM's normalized focal loss")
    p.add_argument("--eval-objects", type=positive_int, default=30,
                   help="val objects scored in the training log (evenly spaced by name)")
    p.add_argument("--init", type=Path, default=None, metavar="CKPT",
                   help="start from this click checkpoint (fine-tune) instead of ImageNet")
    p.add_argument("--no-resume", dest="resume", action="store_false",
                   help="start over: the earlier run's files move to OUT/replaced-<time>/")
    p.add_argument("--resume-changed", action="store_true",
                   help="resume although --static / --davis / --init differ from the run's "
                        "(a run folder carried to another machine)")
    p.add_argument("--export", type=Path, default=None, metavar="DEST",
                   help="only write OUT/last.pt as an fp16 inference checkpoint to DEST")
    p.set_defaults(func=run_train, parser=p)


def _add_eval_parser(subparsers: argparse._SubParsersAction) -> None:
    e = subparsers.add_parser("clicks-eval", help="NoC evaluation of click-to-mask")
    e.add_argument("--images", type=_existing_dir, required=True)
    e.add_argument("--masks", type=_existing_dir, required=True,
                   help="<image stem>.png: >128 object, 128 ignored (or palette ids)")
    e.add_argument("--max-clicks", type=positive_int, default=20)
    e.add_argument("--method", choices=["learned", "grabcut"], default="learned")
    e.add_argument("--checkpoint", type=Path, default=None, help="default: assets' click model")
    e.add_argument("--limit", type=positive_int, default=None, help="first N objects")
    e.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    e.add_argument("--curves", type=Path, default=None,
                   help="write per-object IoU curves (JSON lines) to this file")
    e.add_argument("--protocol", choices=["largest", "ritm"], default="largest",
                   help="next click at the deepest point of the largest error region (issue "
                        "#8's protocol, default) or RITM's simulator (the deeper of all false "
                        "negatives / false positives, clicked pixels excluded), which published "
                        "NoC numbers use")
    e.set_defaults(func=run_eval)


def run_train(args: argparse.Namespace) -> int:
    import torch

    from srnet.checkpoint import CheckpointError
    from srnet.interactive.train import ClickTrainConfig, export_run, train_clicks
    from srnet.train.resume import ResumeError

    if args.export is not None:
        if not (args.out / "last.pt").is_file():
            args.parser.error(f"--export: no {args.out / 'last.pt'}")
        try:
            log.info("wrote %s", export_run(args.out, args.export))
        except CheckpointError as exc:
            return fail("--export", str(exc), "train-clicks")
        return 0
    if args.static is None:
        args.parser.error("--static is required to train")
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = ClickTrainConfig(static_root=str(args.static),
                           davis_root=str(args.davis) if args.davis else None,
                           out=str(args.out), steps=args.steps, batch_size=args.batch_size,
                           crop=args.crop, lr=args.lr,
                           trunk_lr_mult=args.trunk_lr_mult, eval_every=args.eval_every,
                           train_fraction=args.train_fraction,
                           object_view_prob=args.object_view_prob,
                           trunk_stride=args.trunk_stride, out_stride=args.out_stride,
                           click_proto=args.click_proto,
                           loss=args.loss,
                           eval_objects=args.eval_objects,
                           init=str(args.init) if args.init else None)
    try:
        train_clicks(cfg, resume=args.resume, resume_changed=args.resume_changed)
    except CheckpointError as exc:  # a missing / unfit --init, or a run of another network
        return fail(None, str(exc), "train-clicks")
    except ResumeError as exc:  # changed settings, a damaged last.pt, another writer
        return fail("--out", str(exc), "train-clicks")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    import torch

    from srnet.checkpoint import CheckpointError
    from srnet.interactive.evaluate import evaluate_objects, folder_objects

    if args.threads:
        torch.set_num_threads(args.threads)
    problem = _curves_problem(args.curves)  # before the run: a late failure lost every score
    if problem:
        return fail("--curves", problem, "clicks-eval")
    try:
        objects = folder_objects(args.images, args.masks, args.limit)
        predict = _predict_fn(args.method, args.checkpoint)
    except (CheckpointError, FileNotFoundError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    scores = evaluate_objects(predict, objects, args.max_clicks, progress=True,
                              curves_file=args.curves, protocol=args.protocol)
    print(f"method {args.method}  objects {len(objects)}  max clicks {args.max_clicks}  "
          f"protocol {args.protocol}")
    print("  ".join(f"{key} {scores[key]:.3f}" for key in ("mIoU@1", "mIoU@3", "mIoU@5")
                    if key in scores))  # only those within --max-clicks
    print(f"sec/click {scores['sec_per_click']:.3f}")
    print(f"mIoU@1 {scores['mIoU@1']:.3f} NoC@85 {scores['NoC@85']:.2f} "
          f"NoC@90 {scores['NoC@90']:.2f}")
    return 0


def _predict_fn(method: str, checkpoint: Path | None):
    if method == "grabcut":
        from srnet.interactive.grabcut import mask_from_clicks

        return lambda image, clicks, prev: mask_from_clicks(image, clicks, prior=prev)
    from srnet.interactive.predictor import load_click_model

    return load_click_model(checkpoint).predict


def _curves_problem(path: Path | None) -> str | None:
    """Why `--curves` cannot take the curves (None: it can). Only an earlier curves file is
    replaced; any other file is the user's (it was overwritten with JSON lines)."""
    if path is None:
        return None
    if path.is_dir():
        return f"{path} is a folder; expected a file name"
    if not path.parent.is_dir():
        return f"no folder {path.parent} to write {path.name} in"
    if path.is_file() and path.stat().st_size:
        first = path.read_text(errors="replace").splitlines()[0]
        try:
            is_curves = "ious" in json.loads(first)
        except (ValueError, TypeError):
            is_curves = False
        if not is_curves:
            return f"{path} exists and holds no click curves: choose another name"
        log.warning("--curves: replacing the curves in %s", path)
    return None
