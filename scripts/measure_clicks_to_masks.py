"""From clicks to masks: what the click model's first mask costs the propagation.

Every J&F the project reports starts SRNet from a ground-truth mask; a user starts it from a
few clicks. Per holdout sequence at 480p (the demo's CPU working size), a simulated user marks
the object on frame 0 with N clicks through the app's own click handler (the NoC rule: the
first click at the interior point farthest from the boundary, each next one on the largest
error of the mask as shown), then the shipped SRNet propagates from that mask through the
clip, scored by the DAVIS protocol, beside the same propagation from the ground-truth mask.
`--instances`: the DAVIS-345 instance frames of the two-object holdout sequences (the
paraglider and his wing, the woman and her pram), each object marked in turn in id order
(one object per pixel, `demo/ownership.py`), scored as `python -m srnet eval --instances`.
Neither model trained on or was selected on any of these frames.

    python scripts/measure_clicks_to_masks.py [--clicks 1 3]
    python scripts/measure_clicks_to_masks.py --instances [--clicks 1 3]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the scripts next to this one

import holdout_clips  # noqa: E402
from measure_click_ownership import owned_annotation  # noqa: E402

from demo import clicks  # noqa: E402
from srnet import Predictor, load_index_mask, load_predictor  # noqa: E402
from srnet.eval.instances import (  # noqa: E402
    annotated_frames,
    evaluate_instances,
    format_instances,
    instance_sequences,
)
from srnet.eval.vos_eval import format_table  # noqa: E402


def _propagate(predictor: Predictor, frames: list[np.ndarray], mask: np.ndarray
               ) -> list[np.ndarray]:
    """Index masks of every frame, from `mask` on frame 0."""
    session = predictor.new_session()
    predictor.step(session, 0, frames[0], mask)
    return [out.mask for out in predictor.propagate(session, frames, 0)]


def _clicked(image: np.ndarray, gt: np.ndarray, num_clicks: int) -> np.ndarray:
    """The annotation a simulated user makes with `num_clicks` clicks per object (id order)."""
    ids = [int(i) for i in np.unique(gt) if 0 < i < 255]
    return owned_annotation(image, gt, ids, num_clicks, None)


def _single(args, predictor: Predictor) -> None:
    dataset = holdout_clips.start(args)
    results: holdout_clips.Results = {}
    for seq in args.seqs:
        frames, gts = holdout_clips.load_clip(dataset, seq, args.frames)
        starts = {"GT mask": gts[0]}
        starts.update({f"{n} click(s)": _clicked(frames[0], gts[0], n) for n in args.clicks})
        for name, mask in starts.items():
            holdout_clips.score(results, name, seq, _propagate(predictor, frames, mask), gts)
        print(seq, {name: round(100 * r[seq].JF, 1) for name, r in results.items()}, flush=True)
    print("\n".join(format_table(results)))


def _instances(args, predictor: Predictor) -> None:
    dataset = holdout_clips.start(args)
    root = holdout_clips.SHARED / "static-masks" / "davis345-train"
    seqs = instance_sequences(root, list(args.seqs))
    for n in [None, *args.clicks]:
        results = {}
        for seq in seqs:
            first = min(annotated_frames(root, seq))
            gt = load_index_mask(annotated_frames(root, seq)[first])
            start = None if n is None else _clicked(dataset.load_frame(seq, first), gt, n)
            results[seq] = evaluate_instances(predictor, dataset, root, seq, start_mask=start)
        print("ground-truth masks" if n is None else f"{n} click(s) per object")
        print("\n".join(format_instances(results)), flush=True)


def main() -> None:
    parser = holdout_clips.parser(__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, nargs="*", default=[1, 3])
    parser.add_argument("--instances", action="store_true")
    args = parser.parse_args()
    if clicks.load_learned(device="cpu") is not None:
        sys.exit("the learned click model did not load")
    predictor, _ = load_predictor(args.checkpoint, device="cpu")
    (_instances if args.instances else _single)(args, predictor)


if __name__ == "__main__":
    main()
