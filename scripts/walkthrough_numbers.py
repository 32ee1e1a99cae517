"""The numbers of the README's walk-through ("Teaching with the demo"), as the demo computes
them, without a browser: the app's own handlers on the bundled `flamingo` example at the demo's
CPU defaults (short side 480, the shipped checkpoint).

  step 2: Ablation → Rerun: the frame where the variants differ most, and each variant's IoU
          with the full model there and over the clip (the Ablation tab's text);
  step 3: Memory at that frame: what each pixel of `--pixels X,Y ...` reads (the Memory tab's
          text; the default pixels are a leg and the water beside it);
  step 6: online adaptation (`--adapt-steps`, 30 as in the walk-through), then Rerun: the
          "not adapted" panel's IoU with the adapted network over the clip.

Step 4 has its own script (scripts/measure_memory_every.py). One thread by default, as the
README's other CPU timings; the pass and the reruns take a few minutes.

    python scripts/walkthrough_numbers.py [--pixels 270,226 277,227] [--adapt-steps 30]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import gradio as gr
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from demo import DemoConfig  # noqa: E402
from demo import handlers_ablation as ablation  # noqa: E402
from demo import handlers_inspect as inspecting  # noqa: E402
from demo import handlers_load as loading  # noqa: E402
from demo import handlers_propagate as propagation  # noqa: E402
from demo import handlers_settings as knobs  # noqa: E402
from demo.handlers import DemoContext  # noqa: E402
from srnet import load_predictor  # noqa: E402


def _last(generator) -> tuple:
    """A streamed handler run to its end; its last yield."""
    return list(generator)[-1]


def _plain(markdown: str) -> str:
    return re.sub(r"[*`]", "", markdown).strip()


def _propagate_and_compare(ctx: DemoContext, state, label: str):
    done = _last(propagation.propagate(ctx, state, "forward", 0))
    state = done[0]
    print(f"{label}: {_plain(done[2])}")
    state, frame, _, text = _last(ablation.run_ablation(ctx, state, 0))
    print(f"{label}, Ablation → Rerun: {_plain(text)}")
    return state, frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--example", default="flamingo")
    parser.add_argument("--pixels", nargs="+", default=["270,226", "277,227"], metavar="X,Y")
    parser.add_argument("--adapt-steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        predictor, _ = load_predictor(device="cpu")
        ctx = DemoContext(predictor, DemoConfig(temp_root=Path(tmp)))
        state, *_, status = loading.load_example(ctx, args.example, 0, 0, 1, None)
        print(_plain(status))
        state, frame = _propagate_and_compare(ctx, state, "step 2")
        for pixel in args.pixels:
            click = gr.SelectData(None, {"index": [float(v) for v in pixel.split(",")],
                                         "value": None})
            print(f"step 3, Memory: {_plain(inspecting.memory_click(state, frame, click)[-1])}")
        config = state.inference_config
        state, text = knobs.apply_settings(ctx, state, config.mem_every, config.top_k,
                                           config.local_interval, config.max_working_frames,
                                           False, args.adapt_steps)
        print(f"step 6: {_plain(text)}")
        _propagate_and_compare(ctx, state, "step 6")


if __name__ == "__main__":
    main()
