"""Server memory over many tabs: the demo (tiny random-weight predictor, as the tests run it) in
this process, `--tabs` gradio_client sessions that each load the bundled bear clip, propagate it
at `--short-side` and close; prints the RSS after one warm-up tab and after the others.

    python scripts/measure_tab_memory.py [--tabs 20] [--short-side 240] [--frames 8]

The leak check itself is tests/test_sessions.py (no state or session outlives its tab)."""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from app_harness import one_tab, rss_mb, running_app  # noqa: E402

from demo import DemoConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, default=20)
    parser.add_argument("--short-side", type=int, default=240)
    parser.add_argument("--frames", type=int, default=8)
    args = parser.parse_args()
    clip = DemoConfig().examples_dir / "bear" / "clip.mp4"
    with tempfile.TemporaryDirectory() as root, \
            running_app(Path(root), max_frames=args.frames, short_side=args.short_side) as url:
        one_tab(url, clip, args.short_side)  # first-use allocations (oneDNN, decoders, caches)
        gc.collect()
        baseline = rss_mb()
        for _ in range(args.tabs):
            one_tab(url, clip, args.short_side)
        deadline = time.monotonic() + 30  # the last tab's unload runs after it disconnects
        while any(p.is_dir() for p in Path(root).iterdir()) and time.monotonic() < deadline:
            time.sleep(0.5)
        gc.collect()
        growth = rss_mb() - baseline
    print(f"RSS {baseline:.0f} MB after warm-up, +{growth:.0f} MB after {args.tabs} tabs "
          f"({args.frames} frames at short side {args.short_side})")


if __name__ == "__main__":
    main()
