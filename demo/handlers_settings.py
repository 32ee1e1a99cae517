"""Advanced-panel handlers: the memory knobs, mirror averaging and online adaptation as a new
InferenceConfig (and a new, empty session), the panel's view of the tab's settings, pinning a
frame as permanent memory and clearing the working memory."""

from __future__ import annotations

import dataclasses

import gradio as gr

from demo.config import MAX_ADAPT_STEPS
from demo.handlers import DemoContext
from demo.messages import NO_CLIP, warn
from demo.numbers import whole_in
from demo.state import DemoState


def apply_settings(ctx: DemoContext, state: DemoState | None, mem_every: float, top_k: float,
                   local_interval: float, max_working: float, mirror: bool = False,
                   adapt_steps: float = 0) -> tuple[DemoState | None, str]:
    """New memory knobs = a new InferenceConfig and a new (empty) session; results are kept."""
    if state is None:
        return None, warn(NO_CLIP)
    try:
        # the slider's range; a client may send more
        steps = whole_in(adapt_steps or 0, 0, MAX_ADAPT_STEPS, "online adaptation steps")
        config = dataclasses.replace(state.inference_config, mem_every=int(mem_every),
                                     top_k=int(top_k), local_interval=int(local_interval),
                                     max_working_frames=int(max_working),
                                     mirror_average=_flag(mirror), adapt_steps=steps)
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int(infinity)
        return state, warn(f"Invalid setting: {exc}")
    state.inference_config = config
    state.session = ctx.predictor.new_session(config)
    twice = ", mirror averaging: each frame runs twice" if config.mirror_average else ""
    adapt = (f", online adaptation: {config.adapt_steps} fine-tuning steps before the next pass"
             if config.adapt_steps else "")
    return state, (f"Settings applied (memory every {config.mem_every} frames, top-k "
                   f"{config.top_k}, local frame t−{config.local_interval}, at most "
                   f"{config.max_working_frames} working frames{twice}{adapt}). Memory was "
                   "emptied: propagate again to use them.")


def _flag(value: object) -> bool:
    """A checkbox's value; the text "false" (a client's) is False, not a true string."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


SETTINGS = 6  # memory every, top-k, local interval, working frames, mirror, adaptation steps


def settings_view(state: DemoState | None) -> tuple:
    """The Advanced panel's controls as the tab's session runs: after a load they show the new
    clip's settings (defaults, or those Reload carried), never the last clip's slider values."""
    if state is None:
        return (gr.skip(),) * SETTINGS
    config = state.inference_config
    return (config.mem_every, config.top_k, config.local_interval, config.max_working_frames,
            config.mirror_average, config.adapt_steps)


def pin_frame(ctx: DemoContext, state: DemoState | None, frame_idx: float) -> str:
    if state is None:
        return warn(NO_CLIP)
    frame_idx = state.clamp_frame(frame_idx)
    if ctx.predictor.pin_frame(state.session, frame_idx):
        return (f"Frame {frame_idx} is now permanent memory: working-memory turnover will not "
                f"remove it (permanent memory keeps at most "
                f"{state.session.memory.max_permanent} frames; past that, the oldest after "
                "the first goes).")
    held = state.session.memory_timeline()
    frames = sorted(held["permanent"] + held["working"])
    return warn(f"Frame {frame_idx} is not in memory now (memory holds {frames or 'nothing'}). "
                "A pass stores every *Memory every*-th frame it processes, counted from "
                "the frame it starts on (stored only when annotated or when memory was "
                "empty): annotate this frame (annotations are always permanent), or pin "
                "one that memory holds.")


def reset_memory(ctx: DemoContext, state: DemoState | None) -> str:
    if state is None:
        return warn(NO_CLIP)
    ctx.predictor.reset_memory(state.session, keep_permanent=True)
    return "Working memory cleared (annotated and pinned frames stay)."
