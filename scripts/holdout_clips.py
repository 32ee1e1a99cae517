"""What the holdout measurement scripts share: their common options, the clips (frames and
ground truth at the DAVIS files' size) and scoring a variant's masks into a results table for
`srnet.eval.vos_eval.comparison_lines`. Imported by the scripts next to it."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch

from srnet.data.davis import DEFAULT_HOLDOUT, VOSDataset
from srnet.eval.metrics import evaluate_sequence
from srnet.eval.vos_eval import SequenceResult

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
Results = dict[str, dict[str, SequenceResult]]  # variant → sequence → scores


def add_checkpoint(parser: argparse.ArgumentParser) -> None:
    """--checkpoint: the SRNet weights to measure (default the shipped assets/srnet_lite.pt),
    so rows measured on earlier weights can be re-run (README, Measured numbers)."""
    parser.add_argument("--checkpoint", default=None,
                        help="SRNet checkpoint (default: the shipped assets/srnet_lite.pt)")


def parser(description: str) -> argparse.ArgumentParser:
    """--threads, --seqs (the holdout by default), --frames (a smoke run) and --checkpoint."""
    parser = argparse.ArgumentParser(description=description)
    add_checkpoint(parser)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seqs", nargs="*", default=list(DEFAULT_HOLDOUT))
    parser.add_argument("--frames", type=int, default=None, help="first N frames (a smoke run)")
    return parser


def start(args: argparse.Namespace) -> VOSDataset:
    """Apply --threads, log to the console, and open the DAVIS training folder."""
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return VOSDataset(SHARED / "davis2016-train")


def load_clip(dataset: VOSDataset, seq: str, max_frames: int | None
              ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The sequence's frames and ground-truth index masks, the first `max_frames` only."""
    count = min(len(dataset.frames(seq)), max_frames or 10**6)
    return ([dataset.load_frame(seq, i) for i in range(count)],
            [dataset.load_mask(seq, i) for i in range(count)])


def score(results: Results, name: str, seq: str, masks: list[np.ndarray],
          gts: list[np.ndarray]) -> None:
    """Score `masks` against `gts` (DAVIS protocol: first and last frame excluded) as
    `results[name][seq]`; not timed."""
    scores = evaluate_sequence(masks, gts)
    results.setdefault(name, {})[seq] = SequenceResult(
        float(scores["J"]), float(scores["F"]), len(masks), float("nan"))
