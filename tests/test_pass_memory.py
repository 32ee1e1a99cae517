"""What a pass puts in memory before it starts: annotations behind its start that the session
has never seen (an object marked only on frame 0 when the pass starts at an annotated frame 4),
and, for a small object marked after the first pass, a memory rebuilt at the size it needs
(one size per memory; `Predictor.fit_small_objects`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from demo import handlers_propagate as propagation
from demo.handlers import DemoContext, frame_runs, gpu_seconds
from demo.state import DemoState
from tests.conftest import uploaded_clip_state


@pytest.fixture(scope="module")
def ctx(lite_ctx_64: DemoContext) -> DemoContext:
    return lite_ctx_64


@pytest.fixture()
def state(ctx: DemoContext, tmp_path) -> DemoState:
    loaded, _ = uploaded_clip_state(ctx, tmp_path, num_objects=2)
    loaded.names[2] = "object 2"
    return loaded


def _box(state: DemoState, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    mask = np.zeros(state.size, bool)
    mask[y0:y1, x0:x1] = True
    return mask


def _run(ctx: DemoContext, state: DemoState, frame_idx: int) -> tuple:
    last = list(propagation.propagate(ctx, state, "forward", frame_idx))[-1]
    assert last[2].startswith("Done"), last[2]
    return last


def test_a_pass_from_a_later_annotation_follows_the_earlier_ones_too(ctx, state) -> None:
    state.set_object_mask(0, 1, _box(state, 8, 24, 8, 24))
    state.set_object_mask(4, 2, _box(state, 32, 48, 40, 56))
    done = _run(ctx, state, 4)[0]  # slider on the annotated frame 4: the pass starts there
    assert sorted(done.masks) == [4, 5, 6, 7]  # frames before the start are not processed
    assert all(done.tracked[f] == (1, 2) for f in (5, 6, 7))  # object 1 was dropped here


def test_a_small_object_marked_later_rebuilds_memory_at_its_size(ctx, state) -> None:
    assert state.session.config.min_object_cells  # on below the measured size (64 px here)
    state.set_object_mask(0, 1, _box(state, 8, 40, 8, 48))
    first = _run(ctx, state, 0)[0]
    assert first.session.upscale == 1.0
    first.set_object_mask(4, 2, _box(first, 44, 47, 60, 63))  # 9 px: far under 3 cells
    # with online adaptation on, the rebuilt session adapts again: ZeroGPU reserves its steps
    adapting = dataclasses.replace(first.inference_config, adapt_steps=4)
    first.inference_config, plain = adapting, first.inference_config
    assert propagation.propagate_seconds(ctx, first, "forward", 4) == pytest.approx(
        gpu_seconds(ctx.cfg, frame_runs(first)) + 4 * ctx.cfg.gpu_adapt_step_s)
    first.inference_config = plain
    last = _run(ctx, first, 4)
    after = last[0]
    assert after.session.upscale == pytest.approx(first.session.config.max_upscale)
    assert "memory rebuilt at 1.50x" in last[2]
    assert all(after.tracked[f] == (1, 2) for f in (5, 6, 7))
    with pytest.raises(ValueError, match="fixed by its memory"):
        ctx.predictor.fit_small_objects(after.session, [])
