"""Measure what online adaptation should do when the user corrects a later frame, session 25.

With online adaptation on (`InferenceConfig.adapt_steps`), the demo adapts a copy of the network
to the first annotated frame, once. A correction added after that pass is followed with the
same adapted weights and the memory the pass left (session 24, "noticed, left alone"). The
alternative a user might expect: the correction is learned too, i.e. the session is rebuilt
(memory emptied) and the network re-adapted, from the shared weights, on both annotations.

Protocol per holdout clip at 480 (an oracle user, as the DAVIS interactive benchmark's): adapt
on frame 0 (`--steps`), pass forward; the correction goes on the frame with the lowest J among
frames 5..N-6 (the ground truth there); then forward from it to the end, and score frames
after it (the DAVIS protocol over frames c..N-1: c itself and the last frame excluded) with:
  * kept (today's behaviour): the same session, the correction added to its memory;
  * re-adapted (the candidate): a new session adapted on frames 0 and c, both memorised;
  * rebuilt, not re-adapted (reported only, to separate the two effects): a new session with
    the first adaptation's weights, frames 0 and c memorised.

Rule, fixed before the first run: make re-adaptation on a correction the demo's behaviour
(with adaptation on) only if re-adapted - kept >= +0.3 J&F paired over the six clips with at
least 4 of 6 up; otherwise it is recorded as measured and the demo stays as it is.

    python scripts/measure_correction_adaptation.py --steps 100

Session 26, without adaptation (`--steps 0`: kept = the demo's behaviour on a correction,
rebuilt = the memory emptied down to the annotations; re-adapted is skipped, it would equal
rebuilt). Rule, fixed before the run: empty the working memory at a correction in the demo
only if rebuilt - kept >= +0.3 J&F paired over the six clips with at least 4 of 6 clips
higher (by any margin); otherwise record it as measured and leave the demo as it is.

    python scripts/measure_correction_adaptation.py --steps 0
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import holdout_clips  # noqa: E402  (next to this script)

from srnet import InferenceConfig, InferenceSession, Predictor, adapt_session, load_predictor  # noqa: E402
from srnet.eval.metrics import jaccard  # noqa: E402
from srnet.eval.vos_eval import comparison_lines  # noqa: E402

MARGIN = 5  # the correction lies on frames 5..N-6, so frames are left after it to score


def _after(predictor: Predictor, session: InferenceSession, frames: list[np.ndarray],
           start: int) -> list[np.ndarray]:
    """Masks of frames start..N-1 from a session that holds the annotation on `start`."""
    return [out.mask for out in predictor.propagate(session, frames, start)]


def _fresh(predictor: Predictor, frames: list[np.ndarray], gts: list[np.ndarray],
           annotated: list[int], adapt_on: list[int] | None,
           weights: InferenceSession | None = None) -> InferenceSession:
    """A new session adapted on `adapt_on` (or given `weights`' adapted network), with the
    ground truth of `annotated` memorised."""
    session = predictor.new_session()
    if adapt_on is not None:
        adapt_session(predictor, session, [(frames[f], gts[f]) for f in adapt_on])
    else:
        session.adapted, session.network = weights.adapted, weights.network
    for frame_idx in annotated:
        predictor.step(session, frame_idx, frames[frame_idx], gts[frame_idx])
    return session


def measure(predictor: Predictor, frames: list[np.ndarray],
            gts: list[np.ndarray]) -> tuple[int, dict[str, list[np.ndarray]]]:
    """The correction frame and each variant's masks of the frames from it to the end."""
    first = _fresh(predictor, frames, gts, [0], [0])
    plain = [out.mask for out in predictor.propagate(first, frames, 0)]
    span = range(MARGIN, len(frames) - MARGIN)
    corrected = min(span, key=lambda t: jaccard(plain[t] > 0, gts[t] > 0))
    rebuilt = _fresh(predictor, frames, gts, [0, corrected], None, weights=first)
    variants = {"rebuilt": _after(predictor, rebuilt, frames, corrected)}
    predictor.step(first, corrected, frames[corrected], gts[corrected])
    variants["kept"] = _after(predictor, first, frames, corrected)
    if predictor.config.adapt_steps:  # with 0 steps it is `rebuilt` again
        readapted = _fresh(predictor, frames, gts, [0, corrected], [0, corrected])
        variants["re-adapted"] = _after(predictor, readapted, frames, corrected)
    return corrected, variants


def main() -> None:
    parser = holdout_clips.parser(__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    dataset = holdout_clips.start(args)
    base, _ = load_predictor(args.checkpoint, device="cpu", config=InferenceConfig(short_side=480))
    predictor = Predictor(base.model, dataclasses.replace(base.config, adapt_steps=args.steps),
                          "cpu")
    results: holdout_clips.Results = {}
    for seq in args.seqs:
        frames, gts = holdout_clips.load_clip(dataset, seq, args.frames)
        corrected, variants = measure(predictor, frames, gts)
        for name, masks in variants.items():
            holdout_clips.score(results, name, seq, masks, gts[corrected:])
        print(f"{seq}: corrected frame {corrected} of {len(frames)}: " + ", ".join(
            f"{name} {100 * r[seq].JF:.2f}" for name, r in results.items()), flush=True)
    rebuilt = comparison_lines(results, "kept", "rebuilt")
    if "re-adapted" in results:  # its lines include kept's; rebuilt's then skip it
        print("\n".join(comparison_lines(results, "kept", "re-adapted")))
        rebuilt = rebuilt[1:]
    print("\n".join(rebuilt))


if __name__ == "__main__":
    main()
