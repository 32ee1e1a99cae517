"""Measure online adaptation (OSVOS-style first-frame fine-tuning) of SRNet-lite, session 24.

Before a clip is propagated, a copy of the network is fine-tuned for a few steps on stage-0
pseudo clips made from the annotated frame alone (`srnet.data.clips.sample_static_clip`: random
affine and elastic warps, crops and colour changes of that one image and its mask), so the
memory encoder and decoder see the user's object in many poses before the video starts. The
ImageNet trunk stays frozen and the network stays in eval mode (BatchNorm statistics fixed);
the loss is the training loss (cross-entropy on every pixel, no bootstrapping, plus PTM's
auxiliary term). The adapted copy then runs the usual predictor over the clip.

Why: the shipped model has seen 24 training videos; on clips nobody tuned on it scored 11 points
below the holdout (issue #9). Adapting to the one object a user marked is the classic lever when
video training data is scarce.

Settings and rule, fixed before the first run (session 24), none chosen on a score:
  * 3-frame clips, 384x384 crops, batch 2, AdamW lr 1e-4 without warm-up, `--steps` steps
    (100: 1.4 s a step on one thread of machine C, so under 2.5 min a clip; the per-step time,
    not a score, set it), all non-trunk parameters.
  * Set: the six holdout sequences at 480, the paired per-sequence difference
    against the same predictor unadapted.
  * Adopt (as an opt-in option, as mirror averaging) only if the paired gain is >= +0.3 J&F
    with at least 4 of 6 sequences up; otherwise it is recorded as measured and not adopted.
    Only pseudo clips of a still image exist in the selection set (static-val), where
    adaptation would train on the test clips' own image, so it cannot judge this lever.

Since the option shipped (the same session), the script runs the product's code
(`srnet.adapt_session` through `InferenceConfig.adapt_steps`); its first version, committed
before the first run with its own copy of the loop, gave identical numbers (holdout 95.35, and
`python -m srnet eval ... --adapt-steps 100` reads 95.4).

Session 25: with two annotated objects, a pseudo clip labelled an object covering under 0.2 %
of its crop as background (stage 0's threshold), which happened to paragliding's pilot in 43
of 300 clips (`scripts/count_adaptation_targets.py`); 30 steps then lost the pilot
(two-object frames 88.17 against 92.48 unadapted, 93.64 after 100 steps). Adaptation now
keeps every visible annotated object as a target.
Rule, fixed before measuring the fix: it ships as a bug fix (single-object clips are not
touched, so the holdout is unchanged) unless the two-object frames after 100 steps fall more
than 0.5 below 93.64; both 30 and 100 steps are reported.

Session 27: a smaller adaptation crop. 100 steps at 384 px take 76 s on two threads before the
first frame, which is why adaptation is opt-in on the CPU. `--crop 256` fine-tunes on 256-px
pseudo clips (0.44x the pixels). Rule, fixed before the run: 256 becomes the adaptation crop
if, at 100 steps, (a) its holdout J&F paired against the 384-px run (session 24's log, the same
seeded clips and code: 95.35) is at most 0.2 lower, (b) the two-object frames are at most 0.3
lower than 93.63 (session 25's log), and (c) a step takes at most 0.65x the time of a 384-px
step (`--time-steps 10`, both crops alternating, three rounds, medians). Otherwise 384 stays.
(Result: holdout 93.95, two-object frames 92.28, about half the time: not adopted; see
docs/training-history.md, session 27.)

    python scripts/measure_online_adaptation.py --steps 100
    python scripts/measure_online_adaptation.py --steps 100 --instances  # two-object frames,
        # reported after the holdout decided (the multi-object row's set)
    python scripts/measure_online_adaptation.py --steps 100 --crop 256 [--instances]
    python scripts/measure_online_adaptation.py --time-steps 10 --crop 256  # against 384
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srnet import InferenceConfig, Predictor, adapt_session, load_predictor  # noqa: E402
from srnet.data.davis import DEFAULT_HOLDOUT, VOSDataset  # noqa: E402
from srnet.eval.instances import evaluate_instances, instance_sequences  # noqa: E402
from srnet.eval.metrics import mean_over_objects  # noqa: E402
from srnet.eval.vos_eval import comparison_lines, evaluate_method, srnet_method  # noqa: E402
from srnet.train import adapt  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def timed_method(predictor: Predictor):
    """`srnet_method` with the adaptation timed: adapt on frame 0, then propagate."""
    def run(frames: list[np.ndarray], first_mask: np.ndarray) -> Iterator[np.ndarray]:
        session, started = predictor.new_session(), time.perf_counter()
        adapt_session(predictor, session, [(frames[0], first_mask)])
        print(f"  adapted in {time.perf_counter() - started:.1f} s", flush=True)
        predictor.step(session, 0, frames[0], first_mask)
        for out in predictor.propagate(session, frames, 0):
            yield out.mask
    return run


def compare_instances(plain: Predictor, adapted: Predictor, dataset: VOSDataset,
                      seqs: list[str]) -> None:
    """Plain against adapted on the multi-object frames (`srnet.eval.instances`' protocol)."""
    root = SHARED / "static-masks" / "davis345-train"
    rows: dict[str, dict] = {"plain": {}, "adapted": {}}
    for seq in instance_sequences(root, seqs):
        rows["plain"][seq] = evaluate_instances(plain, dataset, root, seq)
        rows["adapted"][seq] = evaluate_instances(adapted, dataset, root, seq)
    for name, row in rows.items():  # pooled over all objects, as `eval --instances` reports
        jf, _, _ = mean_over_objects(pair for r in row.values() for pair in r.per_object.values())
        print(f"{name:8s} J&F {100 * jf:.2f} " + " ".join(
            f"{s} {100 * r.JF:.1f}" for s, r in row.items()))


def time_crops(predictor: Predictor, crop: int, steps: int, rounds: int = 3) -> None:
    """Seconds per fine-tuning step at `crop` and at 384 on bear's first frame, alternating."""
    dataset = VOSDataset(SHARED / "davis2016-train")
    example = [(dataset.load_frame("bear", 0), dataset.load_mask("bear", 0))]
    times: dict[int, list[float]] = {crop: [], 384: []}
    for _ in range(rounds):
        for size in times:
            adapt.MAX_CROP = size
            started = time.perf_counter()
            adapt.adapt_network(predictor.model, example, steps)
            times[size].append((time.perf_counter() - started) / steps)
    medians = {size: float(np.median(values)) for size, values in times.items()}
    for size, values in times.items():
        print(f"crop {size}: {medians[size]:.2f} s per step (" +
              ", ".join(f"{v:.2f}" for v in values) + ")")
    print(f"ratio {crop}/384: {medians[crop] / medians[384]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None,
                        help="SRNet checkpoint (default: the shipped assets/srnet_lite.pt)")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seqs", nargs="*", default=list(DEFAULT_HOLDOUT))
    parser.add_argument("--instances", action="store_true",
                        help="score the DAVIS-345 multi-object frames of --seqs instead")
    parser.add_argument("--crop", type=int, default=adapt.MAX_CROP,
                        help="largest pseudo-clip crop of the fine-tuning (px)")
    parser.add_argument("--time-steps", type=int, default=0,
                        help="only time this many steps at --crop and at 384, alternating")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    plain, _ = load_predictor(args.checkpoint, device="cpu",
                              config=InferenceConfig(short_side=args.size))
    if args.time_steps:
        return time_crops(plain, args.crop, args.time_steps)
    adapt.MAX_CROP = args.crop  # read by every call of iter_adaptation
    adapted = Predictor(plain.model, dataclasses.replace(
        plain.config, adapt_steps=args.steps, adapt_lr=args.lr), "cpu")
    dataset = VOSDataset(SHARED / "davis2016-train")
    if args.instances:
        return compare_instances(plain, adapted, dataset, args.seqs)
    results = {"plain": evaluate_method(srnet_method(plain), dataset, args.seqs),
               "adapted": evaluate_method(timed_method(adapted), dataset, args.seqs)}
    print("\n".join(comparison_lines(results, "plain", "adapted")))


if __name__ == "__main__":
    main()
