"""Measure the demo's correction advice: is the least confident frame worth correcting? Session 25.

After a pass, the Confidence tab names "the frame most worth correcting": the frame with the
lowest `StepOutput.confidence` (uncertain probability mass relative to the objects' area; the
demo names a lost object's first frame instead when an object shrinks under 20 % of its
annotated size, which this script leaves out). Nothing has measured whether that advice helps.

Protocol per holdout clip at 480, shipped weights, default settings: a pass from frame 0; then,
from a copy of that session each time, one correction with the ground truth, the pass forward
from it, and the whole clip scored (DAVIS protocol; frames before the correction and the
corrected frame itself keep the first pass's masks) for the correction on
  * advised: the least confident frame among 1..N-2 (what the demo suggests);
  * middle: frame N // 2 (a user without advice);
  * worst: the frame with the lowest J among 1..N-2 (what a user who sees every error might
    pick; a reference, not an upper bound: a correction only mends the frames after it).
Also printed: the rank correlation (Spearman) between confidence and J over each clip's frames.

Rule, fixed before the first run: if correcting the advised frame gains less than correcting
the middle frame (mean over the six clips), the demo's advice stops calling that frame "the
frame most worth correcting" and says only that the model is least sure there.

    python scripts/measure_correction_advice.py
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import holdout_clips  # noqa: E402  (next to this script)

from srnet import InferenceConfig, InferenceSession, Predictor, load_predictor  # noqa: E402
from srnet.eval.metrics import jaccard  # noqa: E402
from srnet.eval.vos_eval import comparison_lines  # noqa: E402


def _corrected(predictor: Predictor, session: InferenceSession, frames: list[np.ndarray],
               gts: list[np.ndarray], masks: list[np.ndarray], frame_idx: int
               ) -> list[np.ndarray]:
    """The clip's masks after one correction on `frame_idx` (on a copy of `session`). The
    corrected frame keeps the first pass's mask: with the correction there it would be scored
    against itself (J = 1, until session 32), a free gain that differs between the arms."""
    session = copy.deepcopy(session)
    predictor.step(session, frame_idx, frames[frame_idx], gts[frame_idx])
    after = [out.mask for out in predictor.propagate(session, frames, frame_idx)]
    return masks[:frame_idx + 1] + after[1:]


def _spearman(a: list[float], b: list[float]) -> float:
    rank_a, rank_b = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(rank_a, rank_b)[0, 1])


def measure(predictor: Predictor, frames: list[np.ndarray], gts: list[np.ndarray]
            ) -> tuple[dict[str, int], dict[str, list[np.ndarray]], float]:
    """Each choice's frame and the clip's masks after correcting it (and with none), and the
    confidence-J rank correlation."""
    session = predictor.new_session()
    predictor.step(session, 0, frames[0], gts[0])
    outs = list(predictor.propagate(session, frames, 0))  # as `eval` runs it
    masks = [out.mask for out in outs]
    inner = range(1, len(frames) - 1)
    j = {t: jaccard(masks[t] > 0, gts[t] > 0) for t in inner}
    confidence = {t: outs[t].confidence for t in inner}
    chosen = {"advised": min(inner, key=confidence.get), "middle": len(frames) // 2,
              "worst": min(inner, key=j.get)}
    variants = {"none": masks}
    for name, frame_idx in chosen.items():
        variants[name] = _corrected(predictor, session, frames, gts, masks, frame_idx)
    return chosen, variants, _spearman([confidence[t] for t in inner], [j[t] for t in inner])


def main() -> None:
    args = holdout_clips.parser(__doc__.split("\n\n")[0]).parse_args()
    dataset = holdout_clips.start(args)
    predictor, _ = load_predictor(args.checkpoint, device="cpu",
                                  config=InferenceConfig(short_side=480))
    results: holdout_clips.Results = {}
    for seq in args.seqs:
        frames, gts = holdout_clips.load_clip(dataset, seq, args.frames)
        chosen, variants, rho = measure(predictor, frames, gts)
        for name, masks in variants.items():
            holdout_clips.score(results, name, seq, masks, gts)
        print(f"{seq}: frames advised {chosen['advised']}, middle {chosen['middle']}, worst "
              f"{chosen['worst']}; confidence-J rank correlation {rho:+.2f}; " + ", ".join(
                  f"{name} {100 * r[seq].JF:.2f}" for name, r in results.items()), flush=True)
    print("\n".join(comparison_lines(results, "middle", "advised")))
    print("\n".join(comparison_lines(results, "middle", "worst")[1:]))
    print("\n".join(comparison_lines(results, "middle", "none")[1:]))


if __name__ == "__main__":
    main()
