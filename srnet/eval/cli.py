"""`python -m srnet eval`: SRNet and the copy / flow baselines on DAVIS-layout data, one table."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from srnet.checkpoint import CheckpointError

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="DAVIS-protocol J&F of SRNet and baselines")
    parser.add_argument("--davis", type=Path, required=True, help="DAVIS-layout root")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--split", default="holdout",
                       help="ImageSets split name (e.g. val), or 'holdout' = the project's "
                            "validation sequences (default)")
    which.add_argument("--seqs", help="comma-separated sequence names")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="default: the bundled assets/srnet_lite.pt")
    parser.add_argument("--method", default="srnet,copy,flow",
                        help="comma-separated subset of srnet,copy,flow; srnet (when present) "
                             "gives the last line")
    parser.add_argument("--out", type=Path, default=None, help="write palette PNGs here")
    parser.add_argument("--size", type=int, default=480, help="internal short side")
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None)
    parser.add_argument("--max-frames", type=int, default=None, help="first N frames only")
    parser.add_argument("--resolution", default="480p")
    parser.add_argument("--cpu-bf16", action="store_true",
                        help="bf16 autocast on the CPU (opt-in; see srnet.config)")
    parser.add_argument("--paste", action="store_true",
                        help="two-object benchmark: each sequence hosts the next one's object, "
                             "pasted in and moving (srnet.eval.pasted)")
    parser.add_argument("--ablate", choices=["fam", "ptm"], default=None,
                        help="evaluate SRNet with this module switched off (same trained "
                             "weights; see srnet.eval.ablation)")
    parser.set_defaults(func=run)


def _sequences(args: argparse.Namespace, dataset) -> list[str]:
    from srnet.data.davis import DEFAULT_HOLDOUT

    if args.seqs:
        seqs = [s.strip() for s in args.seqs.split(",") if s.strip()]
    elif args.split == "holdout":
        seqs = [s for s in DEFAULT_HOLDOUT if s in dataset.sequences]
    else:
        seqs = type(dataset)(args.davis, resolution=args.resolution, split=args.split).sequences
    missing = [s for s in seqs if s not in dataset.sequences]
    if missing or not seqs:
        raise ValueError(f"sequences not found under {args.davis}: {missing or 'none selected'}")
    return seqs


def run(args: argparse.Namespace) -> int:
    from srnet import InferenceConfig, load_predictor
    from srnet.data.davis import VOSDataset
    from srnet.eval.pasted import PastedPairs, pair_names
    from srnet.eval.vos_eval import (
        BASELINES,
        evaluate_method,
        format_table,
        mean_scores,
        srnet_method,
    )

    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    unknown = set(methods) - {"srnet", *BASELINES}
    if unknown:
        log.error("unknown methods %s", sorted(unknown))
        return 2
    try:
        dataset = VOSDataset(args.davis, resolution=args.resolution)
        seqs = _sequences(args, dataset)
        if args.paste:
            dataset, seqs = PastedPairs(dataset), pair_names(seqs)
        runners = {m: BASELINES[m] for m in methods if m in BASELINES}
        if "srnet" in methods:
            predictor, meta = load_predictor(args.checkpoint, device=args.device,
                                             config=InferenceConfig(short_side=args.size,
                                                                    cpu_bf16=args.cpu_bf16))
            if args.ablate:
                from srnet.eval.ablation import ablated

                predictor = ablated(predictor, args.ablate)
                log.info("SRNet with %s switched off", args.ablate.upper())
            runners = {"srnet": srnet_method(predictor), **runners}
    except (CheckpointError, FileNotFoundError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    results = {}
    for name, runner in runners.items():
        out = None if args.out is None else args.out / name
        results[name] = evaluate_method(runner, dataset, seqs, out_dir=out,
                                        max_frames=args.max_frames)
    for line in format_table(results):
        print(line)
    jf, j, f, fps = mean_scores(results[next(iter(results))])
    print(f"FPS {fps:.2f}")
    print(f"J&F {100 * jf:.1f} J {100 * j:.1f} F {100 * f:.1f}")
    return 0
