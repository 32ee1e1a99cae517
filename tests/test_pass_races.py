"""What a tab may do while its pass streams, with and without the ZeroGPU stand-in (a review
of the demo, session 31). Under ZeroGPU the pass runs on a pickled copy of the state and every
frame it yields replaces the state Gradio holds: an edit made meanwhile vanished without a
word, so edits now wait (with a message) there; without ZeroGPU the pass and the edit share one
state and the edit stays. A clip loaded just as a pass ends is never replaced by the old one,
and two calls writing result or export folders in one tab no longer delete each other's."""

from __future__ import annotations

import shutil
from pathlib import Path

import gradio as gr
import pytest
import torch

from demo import folders, zerogpu
from demo import handlers_annotate as annotate
from demo import handlers_propagate as propagation
from demo.folders import fresh_folder
from demo.handlers import DemoContext, clear_pass_refusal, gpu_handler
from demo.state import DemoState
from tests.conftest import lite_demo_context, uploaded_clip_state


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> DemoContext:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield lite_demo_context(tmp_path_factory.mktemp("sessions"), short_side=64, max_frames=6)
    torch.set_num_threads(threads)


@pytest.fixture(params=["off", "fake"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "fake":
        monkeypatch.setenv(zerogpu.FAKE_ENV, "1")
    else:
        monkeypatch.delenv(zerogpu.FAKE_ENV, raising=False)
    return request.param


@pytest.fixture()
def state(ctx: DemoContext, tmp_path: Path) -> DemoState:
    loaded, masks = uploaded_clip_state(ctx, tmp_path, num_frames=6)
    loaded.set_object_mask(0, 1, masks[0] > 0)
    return loaded


def test_an_edit_during_a_pass_is_kept_or_refused_never_lost(ctx, mode, state) -> None:
    run = gpu_handler(propagation.propagate, ctx, propagation.propagate_seconds)
    stream = run(state, "forward", 0)
    held = next(stream)[0]  # the state Gradio holds after the first frame
    out = annotate.add_object(held)
    items = [item[0] for item in stream]
    final = items[-1]
    if mode == "fake":
        assert "A pass is running" in out[-1] and sorted(held.names) == [1]
        assert sorted(final.names) == [1]
        # the pass's end clears that refusal from the status line, and nothing else
        assert clear_pass_refusal(out[-1]) == ""
        assert clear_pass_refusal("Added object 2") == gr.skip()  # left as it is
        assert "Added" in annotate.add_object(final)[-1]  # after the pass: edits again
    else:
        assert sorted(final.names) == [1, 2] and final is held  # one shared state


def test_a_clip_loaded_as_the_pass_ends_is_not_replaced(ctx, mode, state, monkeypatch) -> None:
    """The load lands after the pass checked `released` and before its last frame: the
    overlay video's folder then recreated the removed tab folder, and the pass handed the
    old clip back over the new one (ZeroGPU), or failed with a bare error."""
    digest = propagation.masks_digest

    def load_lands_now(masks):  # what a load does to the old state's folder
        shutil.rmtree(state.temp_dir, ignore_errors=True)
        return digest(masks)

    monkeypatch.setattr(propagation, "masks_digest", load_lands_now)
    run = gpu_handler(propagation.propagate, ctx, propagation.propagate_seconds)
    items = list(run(state, "forward", 0))
    assert not any(str(item[2]).startswith("Done") for item in items)
    assert not state.temp_dir.exists()  # not recreated for a clip that is gone


def test_a_new_result_folder_keeps_the_newest_earlier_one(state, monkeypatch) -> None:
    first = fresh_folder(state.temp_dir, "export")
    second = fresh_folder(state.temp_dir, "export")  # e.g. a second Export while the first writes
    assert first.is_dir() and second.is_dir() and first != second
    third = fresh_folder(state.temp_dir, "export")  # a third click: the first may still write
    assert first.is_dir() and second.is_dir() and third.is_dir()
    monkeypatch.setattr(folders, "IN_USE_S", 0)  # once they are old, all but the newest go
    fourth = fresh_folder(state.temp_dir, "export")
    assert not first.exists() and not second.exists() and third.is_dir() and fourth.is_dir()
    shutil.rmtree(state.temp_dir)
    with pytest.raises(FileNotFoundError):
        fresh_folder(state.temp_dir, "export")


def test_start_up_removes_what_earlier_servers_left(tmp_path: Path) -> None:
    import os
    import time

    from demo.folders import sweep_stale_folders

    old_tab, live_tab, old_call = tmp_path / "a", tmp_path / "b", tmp_path / "api" / "c"
    for folder in (old_tab, live_tab, old_call):
        folder.mkdir(parents=True)
        (folder / "frames.npy").write_bytes(b"x")
    day_ago = time.time() - 25 * 3600
    for folder in (old_tab, old_call):
        os.utime(folder, (day_ago, day_ago))
    assert sweep_stale_folders(tmp_path) == 2
    assert live_tab.is_dir() and (tmp_path / "api").is_dir()
    assert not old_tab.exists() and not old_call.exists()
