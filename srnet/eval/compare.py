"""Paired comparison of two evaluation logs over the same clips (checkpoint selection, issue #9).

`python -m srnet eval` logs one line per clip and method (`vos_eval: NAME [srnet]: J&F 0.923
...`; logs before session 31 have no `[method]`, and there SRNet's line comes first). Two
checkpoints scored on the same clips differ clip by clip far more than in the mean, so the mean
difference is only meaningful next to its paired standard error: sd(per-clip difference) /
sqrt(clips).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

CLIP_LINE = re.compile(r"vos_eval: (\S+?)(?: \[(\w+)\])?: J&F ([0-9.]+)")


@dataclass(frozen=True)
class PairedDifference:
    """`candidate - reference` over the clips both logs scored, in J&F points (0-100)."""

    clips: int
    reference_mean: float
    candidate_mean: float
    mean_difference: float
    standard_error: float  # of the mean difference (paired)
    up: int = 0  # clips the candidate raised by more than MOVED points
    down: int = 0  # … and lowered by more than MOVED

    def summary(self) -> str:
        return (f"{self.clips} clips: reference {self.reference_mean:.2f}, candidate "
                f"{self.candidate_mean:.2f}, difference {self.mean_difference:+.2f} "
                f"± {self.standard_error:.2f} (paired standard error); {self.up} up, "
                f"{self.down} down by more than {MOVED}")


MOVED = 0.5  # J&F points: a clip moved, for the up / down counts


def per_clip_scores(log_text: str, method: str = "srnet") -> dict[str, float]:
    """Clip name → J&F (0-1) of `method` from an evaluation log. A line without a method tag
    (an older log) counts for its clip's first score only: `eval` runs SRNet before the
    baselines, and keeping the last score compared the flow baseline instead (session 31)."""
    scores: dict[str, float] = {}
    for name, tag, value in CLIP_LINE.findall(log_text):
        if tag == method or (not tag and name not in scores):
            scores[name] = float(value)
    return scores


def paired_difference(reference: dict[str, float],
                      candidate: dict[str, float]) -> PairedDifference:
    """Mean and paired standard error of candidate − reference over their shared clips."""
    shared = sorted(set(reference) & set(candidate))
    if len(shared) < 2:
        raise ValueError(f"the logs share {len(shared)} clip(s); a paired comparison needs 2+")
    diffs = [100 * (candidate[name] - reference[name]) for name in shared]
    mean = sum(diffs) / len(diffs)
    variance = sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)  # sample variance
    return PairedDifference(
        clips=len(shared),
        reference_mean=100 * sum(reference[n] for n in shared) / len(shared),
        candidate_mean=100 * sum(candidate[n] for n in shared) / len(shared),
        mean_difference=mean,
        standard_error=math.sqrt(variance / len(diffs)),
        up=sum(d > MOVED for d in diffs), down=sum(d < -MOVED for d in diffs))
