"""The tab's state as a page handler's output (`state_output_kept`): a handler that changed
the state in place, or whose clip was released under it (another clip loaded meanwhile),
leaves Gradio's state slot as it is. A frame change that overlapped a load stored the old,
released clip back over the new one, and every later action failed."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from demo import handlers_annotate as annotate
from demo.handlers import DemoContext, state_output_kept
from demo.handlers_load import reload_clip
from demo.state import DemoState
from tests.conftest import uploaded_clip_state

SKIP = gr.skip()


@pytest.fixture()
def state(lite_ctx_64: DemoContext, tmp_path: Path) -> DemoState:
    return uploaded_clip_state(lite_ctx_64, tmp_path, num_frames=4)[0]


def test_an_edit_in_place_leaves_the_slot_alone(state: DemoState) -> None:
    out = state_output_kept(annotate.add_object)(state)
    assert out[0] == SKIP and "Added object" in out[-1]  # the other outputs go out


def test_a_load_stores_its_new_state_and_a_stale_frame_change_does_not(
        lite_ctx_64: DemoContext, state: DemoState) -> None:
    view = annotate.show_frame(state, 2)  # a slider move computed on the old clip...
    loaded = state_output_kept(reload_clip)(lite_ctx_64, 0, 0, 1, state, 64)
    assert isinstance(loaded[0], DemoState) and state.released  # ...a Reload ended first
    assert view[0] is state  # unwrapped, the frame change would store the released state
    assert state_output_kept(annotate.show_frame)(state, 2) == SKIP  # wrapped: nothing
    kept = state_output_kept(lambda s: view)(state)
    assert kept[0] == SKIP and kept[1:] == view[1:]


def test_an_error_on_a_live_clip_is_still_raised(state: DemoState) -> None:
    def broken(held: DemoState) -> tuple:
        raise IndexError("a real bug")

    with pytest.raises(IndexError):
        state_output_kept(broken)(state)


def test_every_page_handler_with_the_state_as_first_output_is_wrapped(tmp_path) -> None:
    from demo import build_demo
    from demo.config import DemoConfig
    from srnet import InferenceConfig, ModelConfig, Predictor, SRNet

    predictor = Predictor(SRNet(ModelConfig.tiny()), InferenceConfig(short_side=96), "cpu")
    blocks = build_demo(predictor, DemoConfig(short_side_cpu=96, max_frames_cpu=8,
                                              temp_root=tmp_path))
    try:
        with_state = [fn for fn in blocks.fns.values()
                      if fn.outputs and isinstance(fn.outputs[0], gr.State)]
        unwrapped = [fn.name for fn in with_state
                     if not getattr(fn.fn, "keeps_state_output", False)]
        assert len(with_state) > 15 and not unwrapped, unwrapped
    finally:
        blocks.close()
