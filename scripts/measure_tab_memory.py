"""Server memory over many tabs: the demo (tiny random-weight predictor, as the tests run it) in
this process, `--tabs` gradio_client sessions that each load the bundled bear clip, propagate it
at `--short-side` and close; prints the RSS after one warm-up tab and after the others.

    python scripts/measure_tab_memory.py [--tabs 20] [--short-side 240] [--frames 8]
    python scripts/measure_tab_memory.py --api-calls 300  # plain /info calls instead of tabs

With `--api-calls N` it makes N plain HTTP calls to `/info` (as a script without
gradio_client does) and prints the RSS they add per call and how many session records Gradio
then holds: the janitor (demo/janitor.py, started by app.py, not here) is what removes them.

The leak check itself is tests/test_sessions.py (no state or session outlives its tab)."""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
import urllib.request
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
    parser.add_argument("--api-calls", type=int, default=0)
    args = parser.parse_args()
    if args.api_calls:
        return api_calls(args.api_calls)
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


def _call_info(url: str) -> None:
    request = urllib.request.Request(f"{url}gradio_api/call/info", data=b'{"data": []}',
                                     headers={"Content-Type": "application/json"})
    event = json.loads(urllib.request.urlopen(request, timeout=60).read())["event_id"]
    urllib.request.urlopen(f"{url}gradio_api/call/info/{event}", timeout=60).read()


def api_calls(count: int) -> None:
    """RSS per plain `/info` call, and the session records Gradio keeps for them."""
    demos: list = []
    with tempfile.TemporaryDirectory() as root, \
            running_app(Path(root), max_frames=8, demos=demos) as url:
        for _ in range(20):  # first-use allocations
            _call_info(url)
        gc.collect()
        baseline, records = rss_mb(), len(demos[0].state_holder.session_data)
        for _ in range(count):
            _call_info(url)
        gc.collect()
        growth = rss_mb() - baseline
        added = len(demos[0].state_holder.session_data) - records
    print(f"RSS +{growth:.1f} MB after {count} plain /info calls ({1024 * growth / count:.0f} KB "
          f"a call); Gradio holds {added} more session records")


if __name__ == "__main__":
    main()
