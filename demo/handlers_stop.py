"""The Stop buttons: a running pass or ablation ends after its current frame, and the page
then shows what was kept."""

from __future__ import annotations

import time

import gradio as gr

from demo.handlers import frame_view
from demo.handlers_propagate import result_video
from demo.messages import frame_caption
from demo.state import DemoState

# longest wait for a cancelled pass's current frame (seconds: a 1080p frame with mirror
# averaging and the small-object upscale takes a few on a 2-core CPU)
FRAME_WAIT_S = 30.0


def stop(state: DemoState | None) -> str:
    """Stop button: the running pass ends after the current frame (its results are kept); a
    running ablation's stop is told on its own tab (`finish_view`), not on the pass's line."""
    if state is None:
        return ""
    state.request_stop()  # (harmless when nothing runs: a pass clears it when it starts)
    # after Done the Done line stays: it may hold the lost-object warning
    return "Stopping after the current frame…" if state.running == "pass" else gr.skip()


def finish_view(state: DemoState | None) -> tuple:
    """After Stop: (status, result video, frame view, caption, ablation status) for what was
    kept. A stopped ablation leaves the propagation's views alone and says so on its tab;
    when nothing was running every output stays."""
    if state is None:
        return "", gr.skip(), gr.skip(), gr.skip(), gr.skip()
    stopped, state.running = state.running, ""
    if not stopped:  # Stop after Done (or after the ablation's end): nothing was stopped
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    if stopped == "ablation":
        kept = ("the comparison shown is from the last complete rerun" if state.ablation else
                "nothing to compare yet")
        return (gr.skip(), gr.skip(), gr.skip(), gr.skip(),
                f"Ablation stopped before its reruns were done: {kept}.")
    _wait_for_frame(state)
    state.shown_view = None  # the view is drawn here: the next redraw sends all of it
    return (f"Stopped: {len(state.masks)} of {state.num_frames} frames have a mask; propagate "
            "again to continue.", result_video(state), frame_view(state),
            frame_caption(state, state.frame_idx), gr.skip())


def _wait_for_frame(state: DemoState, limit_s: float = FRAME_WAIT_S) -> None:
    """Wait for the frame a cancelled pass was computing: Gradio's cancel lets it finish and
    keeps its mask, and counting before that said one frame fewer than the tab holds."""
    deadline = time.monotonic() + limit_s
    while state.frame_in_flight and time.monotonic() < deadline:
        time.sleep(0.02)
