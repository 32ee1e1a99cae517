"""`python -m srnet eval`: SRNet and the copy / flow baselines on DAVIS-layout data, one table."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from srnet.checkpoint import CheckpointError
from srnet.cli_args import (
    ArgumentValueError,
    add_memory_args,
    checkpoint_file,
    davis_root,
    device_name,
    existing_dir,
    fail,
    first_line,
    memory_kwargs,
    name_list,
    one_line_errors,
    output_dir,
    positive_float,
    positive_int,
    short_side,
)

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = one_line_errors(subparsers.add_parser(
        "eval", help="DAVIS-protocol J&F of SRNet and baselines"))
    parser.add_argument("--davis", type=davis_root, default=None,
                        help="DAVIS-layout root (JPEGImages/, Annotations/, ImageSets/); "
                             "required unless --static-val")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--split", default="holdout",
                       help="ImageSets split name (e.g. val), or 'holdout' = the project's "
                            "validation sequences (default)")
    which.add_argument("--seqs", type=name_list, help="comma-separated sequence names")
    parser.add_argument("--checkpoint", type=checkpoint_file, default=None,
                        help="default: the bundled assets/srnet_lite.pt")
    parser.add_argument("--method", default="srnet,copy,flow",
                        help="comma-separated subset of srnet,copy,flow; srnet (when present) "
                             "gives the last line")
    parser.add_argument("--out", type=output_dir, default=None, help="write palette PNGs here")
    parser.add_argument("--size", type=short_side, default=480,
                        help="internal short side in pixels, ≥ 64 (default 480)")
    parser.add_argument("--device", type=device_name, default=None, metavar="{cpu,cuda}")
    parser.add_argument("--max-frames", type=positive_int, default=None,
                        help="first N frames only")
    parser.add_argument("--frame-step", type=positive_int, default=1, metavar="K",
                        help="keep every K-th frame: the same clips with K times the motion "
                             "between frames (fast-motion stress test; DAVIS clips only)")
    parser.add_argument("--resolution", default="480p")
    parser.add_argument("--cpu-bf16", action="store_true",
                        help="bf16 autocast on the CPU (opt-in; see srnet.config)")
    parser.add_argument("--paste", action="store_true",
                        help="two-object benchmark: each sequence hosts the next one's object, "
                             "pasted in and moving (srnet.eval.pasted)")
    parser.add_argument("--instances", type=existing_dir, default=None, metavar="DIR",
                        help="multi-object benchmark instead: DAVIS-345 instance masks "
                             "(static-masks/davis345-train) of the selected sequences, SRNet "
                             "only (srnet.eval.instances)")
    parser.add_argument("--static-val", type=existing_dir, default=None, metavar="DIR",
                        help="checkpoint-selection set instead of DAVIS: pseudo clips of the "
                             "held-out COCO/BSDS/horse images of this static-masks folder "
                             "(srnet.eval.static_val)")
    parser.add_argument("--min-object-cells", type=positive_float, default=None, metavar="C",
                        help="run a video larger (up to 1.5x) when its smallest first-frame "
                             "object covers fewer than C stride-16 cells (the demo uses 3)")
    parser.add_argument("--max-upscale", type=positive_float, default=1.5, metavar="F",
                        help="with --min-object-cells: the largest factor (default 1.5)")
    parser.add_argument("--prescale", type=short_side, default=None, metavar="N",
                        help="--instances only: frames resized to short side N before SRNet "
                             "sees them, as the demo loads clips (scored at full size)")
    parser.add_argument("--late-object", action="store_true",
                        help="--instances only: the last object is first marked on the second "
                             "annotated frame (a user adds it later); frames after it scored")
    parser.add_argument("--ablate", choices=["fam", "ptm", "memory"], default=None,
                        help="evaluate SRNet with this module switched off, or (memory) with "
                             "global memory holding only the annotated frame (same trained "
                             "weights; see srnet.eval.ablation)")
    add_memory_args(parser)
    parser.set_defaults(func=run)


def _holdout(args: argparse.Namespace, meta: dict | None) -> tuple[str, ...]:
    """The holdout that `--checkpoint`'s run kept out of training (its saved TrainConfig), so
    `--split holdout` scores a run trained with a custom `--holdout` on its own unseen
    sequences; the project's default for the bundled weights and for checkpoints without it.
    `meta`: the checkpoint's meta when SRNet is already loaded (else it is read here)."""
    from srnet.checkpoint import read_checkpoint
    from srnet.data.davis import DEFAULT_HOLDOUT

    if args.checkpoint is None:
        return DEFAULT_HOLDOUT
    if meta is None:  # baselines only: the weights are not loaded, read just the meta
        meta = read_checkpoint(args.checkpoint).get("meta", {})
    saved = meta.get("train", {}).get("holdout")
    if not saved:
        return DEFAULT_HOLDOUT
    if tuple(saved) != tuple(DEFAULT_HOLDOUT):
        log.info("--split holdout: the checkpoint's own holdout %s", ", ".join(saved))
    return tuple(saved)


def _sequences(args: argparse.Namespace, dataset, meta: dict | None = None) -> list[str]:
    if args.seqs:
        seqs, argument = args.seqs, "--seqs"
    elif args.split == "holdout":
        held = _holdout(args, meta)
        seqs, argument = [s for s in held if s in dataset.sequences], "--split"
        if len(seqs) < len(held):  # the mean would be over fewer sequences: say so
            log.warning("--split holdout: %s not under %s; scoring the other %d",
                        ", ".join(s for s in held if s not in seqs), args.davis, len(seqs))
    else:
        try:
            seqs = type(dataset)(args.davis, resolution=args.resolution,
                                 split=args.split).sequences
        except FileNotFoundError as exc:
            raise ArgumentValueError("--split", f"expected 'holdout' or a split with an "
                                      f"ImageSets file: {first_line(exc)}") from exc
        argument = "--split"
    missing = [s for s in seqs if s not in dataset.sequences]
    if missing or not seqs:
        raise ArgumentValueError(argument, f"expected sequences under {args.davis}, not found: "
                                  f"{', '.join(missing) or 'none selected'}")
    return seqs



def run(args: argparse.Namespace) -> int:
    from srnet.data.davis import VOSDataset
    from srnet.eval.pasted import PastedPairs, pair_names
    from srnet.eval.vos_eval import BASELINES, srnet_method

    if args.max_upscale < 1:
        return fail("--max-upscale", f"expected a factor ≥ 1, got {args.max_upscale}", "eval")
    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    unknown = set(methods) - {"srnet", *BASELINES}
    if unknown or not methods:
        return fail("--method", "expected a comma-separated subset of srnet,copy,flow, got "
                    f"{args.method!r}", "eval")
    if args.static_val is not None:
        return _run_static_val(args, methods)
    if args.davis is None:
        return fail("--davis", "required (a DAVIS-layout root) unless --static-val is given",
                    "eval")
    images: Path = args.davis / "JPEGImages"
    if not (images / args.resolution).is_dir():
        found = sorted(p.name for p in images.iterdir() if p.is_dir())
        return fail("--resolution", f"expected a folder of {images} (found: "
                    f"{', '.join(found) or 'none'}), got {args.resolution!r}", "eval")
    try:
        dataset = VOSDataset(args.davis, resolution=args.resolution)
        predictor, meta = None, None
        if "srnet" in methods or args.instances is not None:
            predictor, meta = _srnet_predictor(args)
        seqs = _sequences(args, dataset, meta)
        if args.paste:
            dataset, seqs = PastedPairs(dataset), pair_names(seqs)
        runners = {m: BASELINES[m] for m in methods if m in BASELINES}
        if "srnet" in methods:
            runners = {"srnet": srnet_method(predictor), **runners}
    except ArgumentValueError as exc:
        return fail(exc.argument, first_line(exc), "eval")
    except CheckpointError as exc:
        return fail("--checkpoint", first_line(exc), "eval")
    except (OSError, ValueError) as exc:
        log.error("%s", first_line(exc))
        return 2
    if args.instances is not None:
        return _run_instances(args, predictor, dataset, seqs)
    if args.prescale is not None or args.late_object:
        flag = "--prescale" if args.prescale is not None else "--late-object"
        return fail(flag, "applies to --instances only", "eval")
    return _score(args, runners, dataset, seqs)


def _score(args: argparse.Namespace, runners: dict, dataset, seqs: list[str]) -> int:
    """Run every method over `seqs`, print the table, then FPS and J&F of the first method."""
    from srnet.eval.vos_eval import evaluate_method, format_table, mean_scores

    results, skipped = {}, {}  # a sequence that cannot be scored is named, the rest still run
    for name, runner in runners.items():
        out = None if args.out is None else args.out / name
        results[name] = evaluate_method(runner, dataset, seqs, out_dir=out,
                                        max_frames=args.max_frames, frame_step=args.frame_step,
                                        label=name, skipped=skipped)
    if skipped:
        hint = ("; eval scores every frame against its mask: a clip annotated on its first "
                "frame only runs with `python -m srnet segment`"
                if any("has no mask" in why for why in skipped.values()) else "")
        log.error("%d of %d sequence(s) not scored, left out of the means below: %s%s",
                  len(skipped), len(seqs), ", ".join(skipped), hint)
    if len(skipped) == len(seqs):
        return 2
    # a sequence one method scored and a later one could not is left out of every column
    kept = {name: {seq: r for seq, r in res.items() if seq not in skipped}
            for name, res in results.items()}
    for line in format_table(kept):
        print(line)
    jf, j, f, fps = mean_scores(kept[next(iter(kept))])
    print(f"FPS {fps:.2f}")
    print(f"J&F {100 * jf:.1f} J {100 * j:.1f} F {100 * f:.1f}")
    return 1 if skipped else 0


def _run_static_val(args: argparse.Namespace, methods: list[str]) -> int:
    """`eval --static-val DIR`: the held-out still images as pseudo clips (selection set)."""
    from srnet.eval.static_val import StaticValClips
    from srnet.eval.vos_eval import BASELINES, srnet_method

    if args.paste or args.instances is not None or args.seqs or args.frame_step > 1 \
            or args.prescale is not None or args.late_object:
        return fail("--static-val", "is its own set; leave out --paste, --instances, --seqs, "
                    "--frame-step, --prescale, --late-object", "eval")
    try:
        dataset = StaticValClips(args.static_val)
        runners = {m: BASELINES[m] for m in methods if m in BASELINES}
        if "srnet" in methods:
            runners = {"srnet": srnet_method(_srnet_predictor(args)[0]), **runners}
    except CheckpointError as exc:
        return fail("--checkpoint", first_line(exc), "eval")
    except (OSError, ValueError) as exc:
        return fail("--static-val", first_line(exc), "eval")
    return _score(args, runners, dataset, dataset.sequences)


def _srnet_predictor(args: argparse.Namespace) -> tuple[Any, dict]:
    """The checkpoint's Predictor at `--size`, with `--ablate`'s module switched off, and the
    checkpoint's meta."""
    from srnet import InferenceConfig, load_predictor

    predictor, meta = load_predictor(args.checkpoint, device=args.device,
                                  config=InferenceConfig(
                                      short_side=args.size, cpu_bf16=args.cpu_bf16,
                                      min_object_cells=args.min_object_cells,
                                      max_upscale=args.max_upscale, **memory_kwargs(args)))
    if args.ablate:
        from srnet.eval.ablation import ablated

        predictor = ablated(predictor, args.ablate)
        log.info("SRNet with %s switched off", "long-term memory updates"
                 if args.ablate == "memory" else args.ablate.upper())
    return predictor, meta


def _run_instances(args: argparse.Namespace, predictor, dataset, seqs: list[str]) -> int:
    """`eval --instances DIR`: the multi-object benchmark of `srnet.eval.instances`."""
    from srnet.eval.instances import evaluate_instances, format_instances, instance_sequences

    if args.paste or args.frame_step > 1:
        return fail("--instances", "runs on the real sequences at their frame rate; leave out "
                    "--paste and --frame-step", "eval")
    chosen = instance_sequences(args.instances, seqs)
    if not chosen:
        return fail("--instances", f"none of {', '.join(seqs)} has two or more annotated "
                    "objects there", "eval")
    results = {seq: evaluate_instances(predictor, dataset, args.instances, seq, args.prescale,
                                       late_object=args.late_object)
               for seq in chosen}
    for line in format_instances(results):
        print(line)
    return 0
