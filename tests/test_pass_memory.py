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


def test_an_annotation_edited_behind_the_start_reaches_memory(ctx, state) -> None:
    state.set_object_mask(0, 1, _box(state, 8, 24, 8, 24))
    first = _run(ctx, state, 0)[0]
    redrawn = _box(first, 30, 50, 40, 70)
    first.set_object_mask(0, 1, redrawn)  # the user redraws frame 0, then runs from frame 4
    done, _, status, *_ = _run(ctx, first, 4)
    assert np.array_equal(done.session.annotations[0] == 1, redrawn)  # it followed the old box
    assert "frames 1-3 keep masks made from an earlier version of frame 0's annotation" \
        in status and "Propagate ▶ from frame 0" in status


def test_a_second_correction_names_the_frames_made_from_the_first(ctx, state) -> None:
    state.set_object_mask(0, 1, _box(state, 8, 24, 8, 24))
    state = _run(ctx, state, 0)[0]
    state.set_object_mask(4, 1, _box(state, 8, 24, 12, 28))
    state = list(propagation.propagate(ctx, state, "backward", 4))[-1][0]  # 1-3 read it
    state.set_object_mask(4, 1, _box(state, 30, 60, 40, 90))  # corrected again
    status = _run(ctx, state, 4)[2]
    assert "frames 1-3 keep masks made from an earlier version of frame 4's annotation: " \
        "◀ Propagate backward from frame 4" in status
    state = list(propagation.propagate(ctx, state, "backward", 4))[-1][0]
    assert "earlier version" not in _run(ctx, state, 4)[2]  # 1-3 redone from the new one


def test_removing_an_object_leaves_no_stale_note(ctx, state) -> None:
    from demo.handlers_annotate import remove_object

    state.set_object_mask(0, 1, _box(state, 8, 24, 8, 24))
    state.set_object_mask(0, 2, _box(state, 32, 48, 40, 56))
    state = _run(ctx, state, 0)[0]
    state.selected = 2
    state = remove_object(ctx, state)[0]
    done, _, status, *_ = _run(ctx, state, 4)
    assert "earlier version" not in status and all(done.tracked[f] == (1,) for f in range(4, 8))


def test_a_stopped_pass_continued_from_a_later_frame_leaves_no_gap(ctx, state) -> None:
    state.set_object_mask(0, 1, _box(state, 8, 24, 8, 24))
    for out in propagation.propagate(ctx, state, "forward", 0):
        if len(out[0].masks) == 4:
            out[0].request_stop()  # as the Stop button: the pass ends after frame 3
    assert sorted(state.masks) == [0, 1, 2, 3]
    done, _, status, *_ = _run(ctx, state, 6)  # the slider was left on frame 6
    assert sorted(done.masks) == list(range(8))  # 4-5 had no mask, and only Export said so
    assert "started at frame 4, the first frame without a mask before frame 6" in status
    assert "started at" not in _run(ctx, done, 6)[2]  # nothing missing: it starts at 6
