"""Drive a method over DAVIS-layout sequences and score it with the DAVIS protocol.

The SRNet method is a client of the public Predictor API (the same generator the demo streams), so
reported numbers and the demo come from the same code. Baselines share the loop for comparison.
Timing follows STCN: frames / seconds of propagation, I/O excluded. Means are over objects, as
the DAVIS-2017 benchmark defines them (a sequence with three objects counts three times); with
one object per sequence (DAVIS-2016) that is the mean over sequences.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srnet.data.davis import VOSDataset
from srnet.eval.baselines import copy_baseline, flow_baseline
from srnet.eval.compare import paired_difference
from srnet.eval.metrics import VOID, evaluate_sequence, mean_over_objects, without_void
from srnet.eval.pasted import PastedPairs
from srnet.inference import Predictor
from srnet.palette import save_index_mask
from srnet.train.adapt import adapt_session

log = logging.getLogger(__name__)
Method = Callable[[list[np.ndarray], np.ndarray], Iterator[np.ndarray]]


@dataclass(frozen=True)
class SequenceResult:
    """Scores of one method on one sequence."""

    J: float  # mean region similarity (IoU), first and last frames excluded
    F: float  # mean boundary F-measure, same frames
    frames: int
    seconds: float  # propagation time, I/O excluded
    per_object: tuple[tuple[float, float], ...] = ()  # (J, F) of each object

    @property
    def JF(self) -> float:  # noqa: N802 - the benchmark's name for it
        return (self.J + self.F) / 2


def srnet_method(predictor: Predictor) -> Method:
    """Annotate frame 0 with the first mask, then propagate forward through every frame (first
    adapting the network to frame 0 when the predictor's config asks for it)."""

    def run(frames: list[np.ndarray], first_mask: np.ndarray) -> Iterator[np.ndarray]:
        session = predictor.new_session()
        adapt_session(predictor, session, [(frames[0], first_mask)])  # only with adapt_steps
        for out in predictor.propagate(session, frames, 0, mask=first_mask):
            yield out.mask

    return run


BASELINES: dict[str, Method] = {"copy": copy_baseline, "flow": flow_baseline}


def evaluate_method(method: Method, dataset: VOSDataset | PastedPairs, seqs: list[str], *,
                    out_dir: Path | None = None, max_frames: int | None = None,
                    frame_step: int = 1, label: str = "",
                    skipped: dict[str, str] | None = None) -> dict[str, SequenceResult]:
    """Run `method` on every sequence; optionally write palette PNGs to out_dir/<seq>/.
    `frame_step` k keeps frames 0, k, 2k, ...: the same clip with k times the motion between
    frames (a stress test for fast motion); `max_frames` caps the frames kept. `label` names
    the method in each clip's log line (`srnet.eval.compare` reads them back). With `skipped`
    (sequence → why), a sequence whose files cannot be scored (unreadable, unannotated or
    wrong-size masks, an empty first mask) is recorded there and the others still run, and a
    sequence already in it is not run; without it the first such problem is raised."""
    results, tag = {}, f" [{label}]" if label else ""
    for seq in seqs:
        if skipped is not None and seq in skipped:
            continue
        try:
            results[seq] = _evaluate_sequence(method, dataset, seq, out_dir, max_frames,
                                              frame_step)
        except (OSError, ValueError) as exc:
            if skipped is None:
                raise
            skipped[seq] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.error("%s%s: not scored: %s", seq, tag, skipped[seq])
            continue
        # 4 decimals: `compare_evals.py` pairs these; at 3, rounding alone moved a paired
        # difference near the +0.2 shipping margin by about ±0.004 (session 42's review)
        log.info("%s%s: J&F %.4f (%.1f fps)", seq, tag, results[seq].JF,
                 results[seq].frames / max(results[seq].seconds, 1e-9))
    return results


def _evaluate_sequence(method: Method, dataset: VOSDataset | PastedPairs, seq: str,
                       out_dir: Path | None, max_frames: int | None,
                       frame_step: int) -> SequenceResult:
    paths = dataset.frames(seq)  # listed once per sequence
    indices = list(range(0, len(paths), frame_step))[:max_frames]
    frames = [dataset.load_frame(seq, i) for i in indices]
    gts = [dataset.load_mask(seq, i) for i in indices]
    for i, frame, gt in zip(indices, frames, gts):  # the copy baseline scored 1.0 on them
        if gt.shape != frame.shape[:2]:
            raise ValueError(f"the mask of frame {i} is {gt.shape[1]}x{gt.shape[0]} but the "
                             f"frame is {frame.shape[1]}x{frame.shape[0]}")
    if not ((gts[0] > 0) & (gts[0] != VOID)).any():
        raise ValueError("its first mask is empty: no object to follow")
    start = time.perf_counter()
    preds = list(method(frames, without_void(gts[0])))  # void stays in `gts`, unscored
    seconds = time.perf_counter() - start
    if len(preds) != len(indices):
        raise RuntimeError(f"{seq}: method returned {len(preds)} masks for {len(indices)} frames")
    if out_dir is not None:
        (out_dir / seq).mkdir(parents=True, exist_ok=True)
        for i, pred in zip(indices, preds):
            save_index_mask(out_dir / seq / f"{paths[i].stem}.png", pred)
    scores = evaluate_sequence(preds, gts)
    return SequenceResult(float(scores["J"]), float(scores["F"]), len(indices), seconds,
                          tuple(scores["per_object"].values()))


def mean_scores(results: dict[str, SequenceResult]) -> tuple[float, float, float, float]:
    """(J&F, J, F, FPS): J and F averaged over all objects of all sequences (DAVIS-2017's
    definition; results without per-object scores count as one object); FPS = all frames /
    all seconds."""
    jf, j, f = mean_over_objects(pair for r in results.values()
                                 for pair in (r.per_object or ((r.J, r.F),)))
    fps = sum(r.frames for r in results.values()) / max(sum(r.seconds for r in results.values()),
                                                        1e-9)
    return jf, j, f, fps


def format_table(all_results: dict[str, dict[str, SequenceResult]]) -> list[str]:
    """Per-sequence J&F for every method side by side, then the means and FPS (x100 scale)."""
    methods = list(all_results)
    seqs = list(next(iter(all_results.values())))
    header = f"{'sequence':<20}" + "".join(f"{m + ' J&F':>14}" for m in methods)
    lines = [header, "-" * len(header)]
    for seq in seqs:
        lines.append(f"{seq:<20}" + "".join(f"{100 * all_results[m][seq].JF:>14.1f}"
                                               for m in methods))
    lines.append("-" * len(header))
    for label, idx in (("mean J&F", 0), ("mean J", 1), ("mean F", 2), ("FPS", 3)):
        values = [mean_scores(all_results[m])[idx] * (1 if idx == 3 else 100) for m in methods]
        lines.append(f"{label:<20}" + "".join(f"{v:>14.1f}" for v in values))
    return lines


def comparison_lines(results: dict[str, dict[str, SequenceResult]], reference: str,
                     candidate: str, per_sequence: bool = True) -> list[str]:
    """Two methods over the same sequences: each one's means (x100) and FPS (and, with
    `per_sequence`, every sequence's J&F), then candidate − reference paired per sequence
    (`srnet.eval.compare`; left out for a single sequence, which has no paired error)."""
    lines = []
    for name in (reference, candidate):
        jf, j, f, fps = mean_scores(results[name])
        seqs = " ".join(f"{seq} {100 * r.JF:.1f}" for seq, r in results[name].items())
        lines.append(f"{name:16s} J&F {100 * jf:.2f} (J {100 * j:.2f}, F {100 * f:.2f}) "
                     f"{fps:.2f} fps" + (f" {seqs}" if per_sequence else ""))
    scores = {name: {seq: r.JF for seq, r in results[name].items()}
              for name in (reference, candidate)}
    if len(scores[reference]) > 1:
        lines.append(f"{candidate} against {reference}: "
                     f"{paired_difference(scores[reference], scores[candidate]).summary()}")
    return lines
