"""Compare two `python -m srnet eval` logs clip by clip: mean J&F difference and its paired
standard error (how the session-17 selection margin was sized). With `--clicks K`, compare two
click-model curve files (`clicks-eval --curves`, `scripts/click_val5.py --curves`) object by
object: IoU after K clicks, x100.

    python scripts/compare_evals.py REFERENCE_LOG CANDIDATE_LOG [CANDIDATE_LOG ...]
    python scripts/compare_evals.py --clicks 1 REFERENCE.jsonl CANDIDATE.jsonl
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from srnet.eval.compare import paired_difference, per_clip_scores  # noqa: E402
from srnet.interactive.evaluate import curve_scores  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("candidates", type=Path, nargs="+")
    parser.add_argument("--clicks", type=int, default=None,
                        help="the files are click curves: compare the IoU after this many clicks")
    args = parser.parse_args()

    def scores(path: Path) -> dict[str, float]:
        text = path.read_text()
        return per_clip_scores(text) if args.clicks is None else curve_scores(text, args.clicks)

    try:
        reference = scores(args.reference)
        for path in args.candidates:
            result = paired_difference(reference, scores(path))
            print(f"{path}: {result.summary()}")
    except (OSError, ValueError) as exc:
        # the per-clip lines go to the log (stderr): a log saved without `2>&1` has none
        print(f"compare_evals: {exc} (save each eval with `> LOG 2>&1`, so the per-clip "
              "lines are in it)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
