"""How honest is the demo's speed hint? Measures `demo.measure_fps` (what the header shows at
start-up) and then the speed of a real propagation of a bundled example through the demo's own
handler, both with the bundled checkpoint at the demo's working size, and prints the ratio.

    python scripts/measure_speed_hint.py [--example bear] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo import DemoConfig, measure_fps  # noqa: E402
from demo import handlers_load as loading  # noqa: E402
from demo import handlers_propagate as propagation  # noqa: E402
from demo.handlers import DemoContext  # noqa: E402
from srnet import load_predictor  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None,
                        help="SRNet checkpoint (default: the shipped assets/srnet_lite.pt)")
    parser.add_argument("--example", default="bear")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    predictor, _ = load_predictor(args.checkpoint, device=args.device)
    cfg = DemoConfig()
    side = cfg.short_side(predictor.device.type)
    hint = measure_fps(predictor, side)
    ctx = DemoContext(predictor, DemoConfig(fps_hint=hint))
    state = loading.load_example(ctx, args.example, 0, 0, 1, None)[0]
    expected = ctx.expected_fps(state.size)  # the start-up hint scaled to this clip's size
    started = time.perf_counter()
    last = list(propagation.propagate(ctx, state, "forward", 0))[-1]
    wall = time.perf_counter() - started
    real = last[0].last_fps  # the pass's own speed (the app copies it into ctx.speed)
    print(f"hint at start-up {hint:.2f} fps at short side {side}, {expected:.2f} fps scaled to "
          f"the clip; propagation of {args.example} ({state.num_frames} frames at "
          f"{state.size[1]}x{state.size[0]}): {real:.2f} fps (first frame excluded; "
          f"{state.num_frames / wall:.2f} fps over the whole pass, {wall:.1f} s); "
          f"hint / measured = {expected / real:.2f}")
    print(last[2])


if __name__ == "__main__":
    main()
