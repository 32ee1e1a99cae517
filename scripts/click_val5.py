"""Score a click checkpoint the way `train-clicks` validates (issue #8's selection rule): the
val split's objects (`--objects`, default all 219), at most 5 clicks, the predictor as shipped
(`--no-first-zoom` / `--no-zoom` for the zoom variants, `--no-mirror` for a first answer
without its mirror-image pass, `--free` for corrections without the monotonic click rule,
`--short-side N` for another working size: the long-side cap scales with it, `--far-additions`
for corrections that keep added pieces far from the mask being corrected, `--trim-pieces` for
remove-clicks that leave the rest of a detached piece to the network's answer, `--far-removals`
for remove-clicks that keep the network's removals far from the click).

Session 29, `drop_far_additions` (on by default from then): a positive correction click on a
flamingo's missed leg also added another flamingo's body, a piece that neither held the click
nor touched the mask. Rule, fixed before the run: keep it on only if, on these 219 objects at
5 clicks, neither mIoU@3 nor mIoU@5 falls more than 0.001 below the same run with
`--far-additions` (the predictor before it), and NoC@90 does not rise.

Session 30, `drop_clicked_piece`: in the app, a remove-click on a tree trunk that a propagated
mask had taken (a detached piece, away from the woman it followed) removed only the trunk's
lower half. The rule drops the whole clicked piece when it holds no positive click and is not
the previous mask's largest piece. Rule, fixed before the run: keep it on only if, on these 219
objects at 5 clicks, neither mIoU@3 nor mIoU@5 falls more than 0.001 below the same run with
`--trim-pieces` (the predictor before it), and NoC@90 does not rise.

Session 33, `restore_far_removals`: a remove-click on the background 80-150 px from a flamingo
also took 10-16 % of the bird (the network redrew it a little smaller). The rule gives back
every removed piece that does not reach within 3 % of the short side of the click. Rule, fixed
before the run: keep it on only if, on these 219 objects at 5 clicks, neither mIoU@3 nor
mIoU@5 falls more than 0.001 below the same run with `--far-removals` (the predictor before
it), and NoC@90 does not rise. Result: mIoU@3 0.8236 vs 0.8231, @5 0.8759 vs 0.8760, NoC@90
3.26 vs 3.28 (@1 0.6959 both): kept on (logs runs/eval33/val5_near.log, val5_far.log).

Session 38, far strays (`--keep-far-strays` for the predictor before it): one click on a
walking woman in a held-out clip (DAVIS `stroller` as the app decodes it) kept a 2,874-px blob
on a shop window 107 px from her, a third of her 8,628 px and so above `STRAY_MIN_SHARE`; the
pass then followed the blob for 90 frames. The rule also drops a piece without a positive
click (and not touching the mask being corrected) that is smaller than the clicked pieces and
lies farther from them than `STRAY_FAR` x the square root of their area. Rule, fixed before
the run: keep it on only if, on these 219 objects at 5 clicks, none of mIoU@1, @3 and @5 falls
more than 0.001 below the same run with `--keep-far-strays`, and NoC@90 does not rise.

    python scripts/click_val5.py [--checkpoint runs/clicks-ft6/click_last.pt] [--curves F.jsonl]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from srnet.data.static_masks import list_static_samples, static_split
from srnet.interactive.data import load_objects
from srnet.interactive.evaluate import evaluate_objects, folder_objects
from srnet.interactive.predictor import load_click_model
from srnet.interactive.train import val_subset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: assets'")
    parser.add_argument("--static", type=Path, default=Path("../shared/data/static-masks"))
    parser.add_argument("--davis", type=Path, default=Path("../shared/data/davis2016-train"))
    parser.add_argument("--objects", type=int, default=219)
    parser.add_argument("--images", type=Path, default=None,
                        help="score a folder's objects instead (with --masks; as clicks-eval "
                             "reads them), e.g. runs/click-indep/images with --clicks 20")
    parser.add_argument("--masks", type=Path, default=None)
    parser.add_argument("--clicks", type=int, default=5)
    parser.add_argument("--no-zoom", action="store_true")
    parser.add_argument("--no-first-zoom", action="store_true")
    parser.add_argument("--no-mirror", action="store_true",
                        help="first answer from the image alone (default: mean with its mirror)")
    parser.add_argument("--free", action="store_true",
                        help="corrections without the monotonic click rule (on by default)")
    parser.add_argument("--keep-strays", action="store_true",
                        help="keep small pieces that hold no positive click (dropped by default)")
    parser.add_argument("--keep-far-strays", action="store_true",
                        help="keep far pieces without a click that pass STRAY_MIN_SHARE "
                             "(dropped by default since session 38)")
    parser.add_argument("--far-additions", action="store_true",
                        help="corrections keep added pieces far from the mask (dropped by default)")
    parser.add_argument("--trim-pieces", action="store_true",
                        help="a remove-click on a detached piece leaves its rest to the network "
                             "(the whole piece is dropped by default)")
    parser.add_argument("--far-removals", action="store_true",
                        help="a remove-click keeps the network's removals far from it (given "
                             "back by default)")
    parser.add_argument("--protocol", choices=["largest", "ritm"], default="largest",
                        help="the NoC click simulator (srnet.interactive.evaluate.PROTOCOLS)")
    parser.add_argument("--curves", type=Path, default=None,
                        help="write each object's IoU curve (JSON lines) for compare_evals.py")
    parser.add_argument("--short-side", type=int, default=None,
                        help="working size's short side (default: the checkpoint's, 360)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    if (args.images is None) != (args.masks is None):
        parser.error("--images and --masks go together")
    if args.images is not None:
        objects = folder_objects(args.images, args.masks)
    else:
        _, val_samples = static_split(list_static_samples(args.static, args.davis))
        objects = val_subset(load_objects(val_samples, None), args.objects)
    model = load_click_model(args.checkpoint, device="cpu", zoom=not args.no_zoom)
    if args.no_first_zoom:
        model.zoom_first = False
    model.drop_strays = not args.keep_strays
    model.drop_far_strays = not args.keep_far_strays
    model.mirror_first = not args.no_mirror
    model.monotonic = not args.free
    model.near_additions = not args.far_additions
    model.whole_pieces = not args.trim_pieces
    model.near_removals = not args.far_removals
    if args.short_side:
        cfg = model.cfg
        model.cfg = dataclasses.replace(cfg, short_side=args.short_side, max_long_side=round(
            cfg.max_long_side * args.short_side / cfg.short_side))
    scores = evaluate_objects(model.predict, objects, args.clicks, curves_file=args.curves,
                              protocol=args.protocol)
    print(json.dumps({"checkpoint": str(args.checkpoint or "assets"), "no_zoom": args.no_zoom,
                      "no_first_zoom": args.no_first_zoom, "mirror_first": model.mirror_first,
                      "monotonic": model.monotonic,
                      "short_side": model.cfg.short_side,
                      "drop_strays": model.drop_strays,
                      "drop_far_strays": model.drop_far_strays,
                      "near_additions": model.near_additions,
                      "whole_pieces": model.whole_pieces,
                      "near_removals": model.near_removals, "protocol": args.protocol,
                      **scores}))


if __name__ == "__main__":
    main()
