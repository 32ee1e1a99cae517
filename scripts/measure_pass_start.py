"""What a pass that starts on a frame without an annotation costs that frame (README,
deviations: "Local memory is the last frame segmented"). A pass starts without local memory,
so its first frame is segmented with F_L = 0, the "w/o FAM" input; inside a continuous pass
the same frame reads the frame before it.

For each `--at` frame k of a DAVIS-2016 sequence: one session propagates from the
ground-truth frame 0 straight through k; another propagates 0..k-1, then starts a second pass
on k (as a pass started from the Frame slider on an unannotated frame). Prints frame k's IoU
against the ground truth both ways.

    python scripts/measure_pass_start.py [--seq car-turn] [--size 240] [--at 10 20 40]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from srnet import InferenceConfig, load_predictor  # noqa: E402
from srnet.data.davis import VOSDataset  # noqa: E402

DAVIS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "davis2016-train"


def _iou(pred: np.ndarray, truth: np.ndarray) -> float:
    return float((pred & truth).sum() / max((pred | truth).sum(), 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--davis", type=Path, default=DAVIS)
    parser.add_argument("--seq", default="car-turn")
    parser.add_argument("--size", type=int, default=240, help="short side the network sees")
    parser.add_argument("--at", type=int, nargs="+", default=[10, 20, 40])
    parser.add_argument("--checkpoint", default=None, help="default: assets/srnet_lite.pt")
    args = parser.parse_args()
    dataset = VOSDataset(args.davis, seqs=[args.seq])
    frames = [dataset.load_frame(args.seq, i) for i in range(max(args.at) + 1)]
    truth = [dataset.load_mask(args.seq, i) > 0 for i in range(len(frames))]  # [H, W] each
    predictor, _ = load_predictor(args.checkpoint, device="cpu",
                                  config=InferenceConfig(short_side=args.size))
    first = truth[0].astype(np.uint8)  # [H, W] object id 1
    session = predictor.new_session()
    continuous = {out.frame_idx: out.mask > 0 for out in
                  predictor.propagate(session, frames, 0, mask=first)}
    print(f"{args.seq} at short side {args.size}: frame k's IoU with the ground truth")
    print("    k  continuous pass  pass started on k")
    for k in args.at:
        session = predictor.new_session()
        for _ in predictor.propagate(session, frames, 0, k - 1, mask=first):
            pass
        restarted = next(iter(predictor.propagate(session, frames, k, k))).mask > 0
        print(f"{k:5d}  {_iou(continuous[k], truth[k]):15.3f}  {_iou(restarted, truth[k]):17.3f}")


if __name__ == "__main__":
    main()
