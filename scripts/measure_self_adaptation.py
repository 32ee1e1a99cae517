"""Measure online adaptation on the video's own predictions (OnAVOS-style), session 24.

Online adaptation on the annotated frame (`srnet.adapt_session`, opt-in since session 24) lifted
the holdout from 94.36 to 95.35 but cost car-turn 1.9 points: the car turns, and a network tuned
on its frame-0 side view knows the new sides less well. This asks whether adapting on later
frames too, with the unadapted network's own masks as labels, keeps the gain and mends that.

Procedure per clip: (1) a plain pass; (2) examples = frame 0 with its annotation plus every 10th
frame (10, 20, ...) whose plain-pass confidence (`StepOutput.confidence`) is at least 0.9, with
the plain pass's mask as its label; (3) a fresh session adapted on those examples (100 steps,
the shipped option's settings: a clip is drawn from one example at random); (4) the pass with
the adapted network. Compared, paired per clip, with adaptation on frame 0 alone.

Rule, fixed before the first run: offer it (as a second opt-in mode) only if it beats frame-0
adaptation by >= +0.3 J&F on the six holdout clips with at least 4 of 6 up; otherwise it is
recorded as measured and not adopted. It costs a second pass over the clip.

    python scripts/measure_self_adaptation.py
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srnet import InferenceConfig, Predictor, adapt_session, load_predictor  # noqa: E402
from srnet.data.davis import DEFAULT_HOLDOUT, VOSDataset  # noqa: E402
from srnet.eval.vos_eval import comparison_lines, evaluate_method, srnet_method  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
EVERY, MIN_CONFIDENCE = 10, 0.9


def self_adapted_method(plain: Predictor, adapted: Predictor):
    """Plain pass, then adaptation on frame 0 and the confident every-10th predictions."""
    def run(frames: list[np.ndarray], first_mask: np.ndarray) -> Iterator[np.ndarray]:
        session = plain.new_session()
        plain.step(session, 0, frames[0], first_mask)
        examples = [(frames[0], first_mask)]
        for out in plain.propagate(session, frames, 0):
            if out.frame_idx % EVERY == 0 and out.frame_idx and out.confidence >= MIN_CONFIDENCE \
                    and out.mask.any():
                examples.append((frames[out.frame_idx], out.mask))
        print(f"  adapting on {len(examples)} frames", flush=True)
        tuned = adapted.new_session()
        adapt_session(adapted, tuned, examples)
        adapted.step(tuned, 0, frames[0], first_mask)
        for out in adapted.propagate(tuned, frames, 0):
            yield out.mask
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None,
                        help="SRNet checkpoint (default: the shipped assets/srnet_lite.pt)")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seqs", nargs="*", default=list(DEFAULT_HOLDOUT))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    plain, _ = load_predictor(args.checkpoint, device="cpu", config=InferenceConfig(short_side=480))
    adapted = Predictor(plain.model, dataclasses.replace(plain.config, adapt_steps=args.steps),
                        "cpu")
    dataset = VOSDataset(SHARED / "davis2016-train")
    results = {"frame 0": evaluate_method(srnet_method(adapted), dataset, args.seqs),
               "self": evaluate_method(self_adapted_method(plain, adapted), dataset, args.seqs)}
    print("\n".join(comparison_lines(results, "frame 0", "self")))


if __name__ == "__main__":
    main()
