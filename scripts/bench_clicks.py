"""Benchmark the app's click path (`demo.clicks.apply_click`: the learned click model by default,
`--method classic` for GrabCut; `--prior` passes the last mask back and applies the app's
monotonic click rule, as the app does) with simulated clicks (the NoC protocol) on the first
frame of DAVIS-2016 sequences; prints per-sequence and mean IoU after 1..N clicks.

Click simulation: the first click is the ground truth's interior point farthest from its
boundary (distance transform); each next click goes to the point farthest from the boundary of
the largest error region, positive for a false negative, negative for a false positive.

    python scripts/bench_clicks.py --root ../shared/data/davis2016-train \
        --seqs bear,car-turn,flamingo,lucia,paragliding,stroller --clicks 3 [--method classic]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SHARED_DAVIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "davis2016-train"

from demo.clicks import CLICK_METHODS, LEARNED, apply_click, load_learned, segment  # noqa: E402
from srnet.interactive.clicks import iou, next_click  # noqa: E402 - the NoC protocol

log = logging.getLogger("bench_clicks")
HELD_OUT = "bear,car-turn,flamingo,lucia,paragliding,stroller"

def click_miou(dataset_root: str | Path, seqs: list[str], n_clicks: int,
               use_prior: bool = False, method: str = LEARNED) -> list[list[float]]:
    """IoU after 1..n_clicks for each sequence (rows follow `seqs`)."""
    root = Path(dataset_root)
    table = []
    for seq in seqs:
        frame = np.asarray(Image.open(root / "JPEGImages/480p" / seq / "00000.jpg").convert("RGB"))
        gt = np.asarray(Image.open(root / "Annotations/480p" / seq / "00000.png").convert("L"))
        gt = gt > 127
        clicks: list[tuple[int, int, bool]] = []
        pred = np.zeros_like(gt)
        scores = []
        for _ in range(n_clicks):
            click = next_click(pred, gt)
            if click is None:
                scores.append(scores[-1] if scores else 1.0)
                continue
            clicks.append(click)
            if use_prior and pred.any():
                pred = apply_click(frame, clicks, pred, method)
            else:
                pred = segment(frame, clicks, None, method)
            scores.append(iou(pred, gt))
        table.append(scores)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(SHARED_DAVIS))
    parser.add_argument("--seqs", default=HELD_OUT, help="comma-separated sequence names")
    parser.add_argument("--clicks", type=int, default=3)
    parser.add_argument("--prior", action="store_true",
                        help="feed the last mask back (and the app's monotonic click rule)")
    parser.add_argument("--method", choices=CLICK_METHODS, default=LEARNED)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    seqs = [s for s in args.seqs.split(",") if s]
    if args.method == LEARNED and (reason := load_learned()) is not None:
        parser.error(f"the learned click model is unavailable: {reason}")
    start = time.perf_counter()
    table = click_miou(args.root, seqs, args.clicks, use_prior=args.prior, method=args.method)
    seconds = (time.perf_counter() - start) / max(1, len(seqs) * args.clicks)
    for seq, scores in zip(seqs, table):
        log.info("%-16s %s", seq, " ".join(f"{s:.3f}" for s in scores))
    means = np.mean(np.asarray(table), axis=0)
    log.info("mIoU by clicks   %s", " ".join(f"{m:.3f}" for m in means))
    log.info("1-click mIoU %.3f | %d-click mIoU %.3f | %.2f s per click", means[0], args.clicks,
             means[-1], seconds)


if __name__ == "__main__":
    main()
