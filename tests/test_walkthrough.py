"""The README's walk-through tells a story on the bundled `flamingo` example with the shipped
weights; a new checkpoint that no longer tells it must fail here, not in front of a class.
Through the app's own handlers, as `scripts/walkthrough_numbers.py` prints the numbers:

  step 2: Ablation → Rerun moves to a frame late in the clip (the bird bends), where frozen
          memory differs from the full model far more than FAM off or PTM off, and optical
          flow, which copies each frame's mistakes, differs most of all;
  step 3: the leg pixel there reads most of its weight from one stored working frame, not
          from the annotated frame 0."""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr
import pytest
import torch

from demo import DemoConfig
from demo import handlers_ablation as ablation
from demo import handlers_inspect as inspecting
from demo import handlers_load as loading
from demo import handlers_propagate as propagation
from demo.handlers import DemoContext
from srnet import DEFAULT_CHECKPOINT, load_predictor

EXAMPLE = "flamingo"
LEG_PIXEL = (270, 226)  # the walk-through's step 3

MISSING = (not (DemoConfig().examples_dir / EXAMPLE / "clip.mp4").is_file()
           or not Path(DEFAULT_CHECKPOINT).is_file())
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(MISSING, reason="the bundled example or checkpoint is missing")]


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory):
    """The example propagated and compared as the walk-through does: (state, frame shown)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        predictor, _ = load_predictor(device="cpu")
        ctx = DemoContext(predictor, DemoConfig(temp_root=tmp_path_factory.mktemp("walk")))
        state = loading.load_example(ctx, EXAMPLE, 0, 0, 1, None)[0]
        state = list(propagation.propagate(ctx, state, "forward", 0))[-1][0]
        state, frame, _, text = list(ablation.run_ablation(ctx, state, 0))[-1]
    finally:
        torch.set_num_threads(threads)
    assert isinstance(frame, int), text
    return state, frame


def test_frozen_memory_is_what_the_ablation_shows_and_flow_drifts_furthest(compared) -> None:
    state, frame = compared
    table = state.ablation_ious  # variant → {frame: IoU with the full model's rerun}
    at = {variant: ious[frame] for variant, ious in table.items()}
    assert frame >= state.num_frames // 2, at  # the bird bends late in the clip
    assert at["memory"] < min(at["fam"], at["ptm"]) - 0.05, at
    assert at[ablation.FLOW] < at["memory"], at
    mean = {variant: sum(ious.values()) / len(ious) for variant, ious in table.items()}
    assert min(mean["fam"], mean["ptm"]) > 0.9 > mean[ablation.FLOW], mean


def test_the_leg_pixel_reads_a_working_frame_not_the_annotation(compared) -> None:
    state, frame = compared
    click = gr.SelectData(None, {"index": list(LEG_PIXEL), "value": None})
    text = inspecting.memory_click(state, frame, click)[-1]
    read = re.search(r"frame (\d+) carries (\d+)% of their weight", text)
    assert read, text
    assert int(read.group(1)) not in (0, frame) and int(read.group(2)) >= 50, text
