"""While memory is short, a load first releases the tabs idle longest (demo/eviction.py): on a
shared Space, tabs left open by visitors who walked away kept their clips for an hour and every
new visitor's load was refused. Run against Gradio's own session table (`StateHolder`)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import gradio as gr
import pytest
import torch
from gradio.state_holder import StateHolder

from demo import capacity
from demo import handlers_load as loading
from demo.config import DemoConfig
from demo.eviction import IdleTabReleaser, evict_idle_sessions, release_session
from demo.handlers import DemoContext, release_tab, streaming
from demo.state import DemoState
from srnet import InferenceConfig, ModelConfig, Predictor, SRNet


@pytest.fixture()
def app(tmp_path):
    """A context whose make_room releases tabs of a real Gradio session table, and the table
    with three tabs holding a clip each: used 60, 20 and 1 minutes ago. Every tab is released
    afterwards: Gradio keeps the Blocks, and a DemoState left behind would fail
    test_sessions' count of live states."""
    torch.manual_seed(0)
    predictor = Predictor(SRNet(ModelConfig.tiny()), InferenceConfig(short_side=96), "cpu")
    with gr.Blocks() as blocks:
        tab_state = gr.State(None, time_to_live=3600, delete_callback=release_tab)
    holder = StateHolder()
    holder.set_blocks(blocks)
    releaser = IdleTabReleaser(900, busy=streaming)
    releaser.attach(blocks)
    ctx = DemoContext(predictor, DemoConfig(short_side_cpu=96, max_frames_cpu=8,
                                            temp_root=tmp_path), make_room=releaser)
    states = {}
    for session, minutes in (("old", 60), ("idle", 20), ("recent", 1)):
        state = loading.load_example(ctx, "bear", 0, 0, 1, None)[0]
        assert isinstance(state, DemoState)
        holder[session][tab_state._id] = state
        holder.time_last_used[session] = datetime.datetime.now() - datetime.timedelta(
            minutes=minutes)
        states[session] = state
    blocks.state_holder = holder  # what `launch` does
    yield ctx, holder, tab_state, states
    for session in list(holder.session_data):
        release_session(holder, session)
    blocks.state_holder = None


def test_idle_tabs_go_oldest_first_until_there_is_room_and_recent_ones_stay(app):
    _, holder, tab_state, states = app
    released = evict_idle_sessions(holder, lambda: states["old"].released, 900)
    assert released == ["old"]  # one was enough
    assert states["old"].released and not states["old"].temp_dir.exists()
    assert not states["idle"].released and not states["recent"].released
    assert holder["old"][tab_state._id] is None  # the tab's next action finds no clip
    released = evict_idle_sessions(holder, lambda: False, 900)
    assert released == ["idle"]  # never room: every tab idle 15 min goes, the recent one stays
    assert states["idle"].released and not states["recent"].released
    assert evict_idle_sessions(holder, lambda: False, 0) == []  # 0 turns it off


def test_a_tab_with_a_pass_streaming_is_never_released(app):
    _, holder, _, states = app
    released = evict_idle_sessions(holder, lambda: False, 900,
                                   busy=lambda value: value is states["old"])
    assert released == ["idle"] and not states["old"].released


def test_a_tab_used_again_while_the_idle_list_is_read_is_not_released(app):
    """A visitor back after 15 minutes: the event arrives between the sort and the release
    (here: while room is asked for). Its handler would have found the clip gone halfway."""
    _, holder, _, states = app

    def no_room_and_old_comes_back() -> bool:
        holder.time_last_used["old"] = datetime.datetime.now()  # what Gradio does on an event
        return False

    released = evict_idle_sessions(holder, no_room_and_old_comes_back, 900)
    assert released == ["idle"] and not states["old"].released


def test_a_tab_with_an_event_in_gradios_queue_is_not_released(app):
    """The releaser asks Gradio's queue: an event of the tab being processed keeps it."""
    ctx, _, _, states = app
    queue = ctx.make_room.blocks._queue
    saved = queue.active_jobs
    queue.active_jobs = [None, [SimpleNamespace(session_hash="old")]]
    try:
        released = ctx.make_room(lambda: False)
    finally:
        queue.active_jobs = saved
    assert released == ["idle"] and not states["old"].released


def test_a_tab_with_an_event_waiting_in_gradios_queue_is_not_released(app):
    """A Propagate queued behind other users' passes for 15 minutes: its tab was released
    just before it ran (only events being processed counted)."""
    ctx, _, _, states = app
    lines = ctx.make_room.blocks._queue.event_queue_per_concurrency_id
    lines["gpu"] = SimpleNamespace(queue=[SimpleNamespace(session_hash="old")])
    try:
        released = ctx.make_room(lambda: False)
    finally:
        del lines["gpu"]
    assert released == ["idle"] and not states["old"].released


def test_a_load_refused_for_memory_succeeds_once_idle_tabs_gave_theirs(app, monkeypatch):
    ctx, _, _, states = app
    need = capacity.clip_bytes(8, 96) + 512 * 2**20
    # room appears once the oldest tab's clip is gone, as MemAvailable would say
    monkeypatch.setattr(capacity, "available_bytes",
                        lambda: need if states["old"].released else need - 1)
    mine = states["recent"]
    out = loading.load_example(ctx, "bear", 0, 0, 1, mine)
    assert isinstance(out[0], DemoState) and out[0] is not mine
    assert states["old"].released and not states["idle"].released
    # memory short even after every idle tab went: refused as before, the tab's clip kept
    monkeypatch.setattr(capacity, "available_bytes", lambda: need - 1)
    again = loading.load_example(ctx, "bear", 0, 0, 1, out[0])
    assert again[0] is out[0] and not out[0].released and "short of memory" in again[-1]
    assert states["idle"].released  # it was tried first


def test_in_a_running_app_an_idle_tab_gives_way_and_then_asks_for_a_clip(tmp_path, monkeypatch):
    """The same through a launched app and two gradio_client sessions: Gradio's own session
    table, its last-used times and the state's delete callback."""
    from app_harness import open_event, running_app
    from gradio_client import Client

    demos: list = []
    with running_app(tmp_path, max_frames=4, short_side=64, demos=demos) as url:
        idle, active = Client(url, verbose=False), Client(url, verbose=False)
        try:
            load = open_event(idle, "load_example")
            assert "Loaded" in idle.predict("bear", 0, 0, 1, 64, fn_index=load)[-1]
            holder = demos[0].state_holder
            idle_state = next(value for value in
                              holder.session_data[idle.session_hash].state_data.values()
                              if isinstance(value, DemoState))
            holder.time_last_used[idle.session_hash] -= datetime.timedelta(minutes=20)
            need = capacity.clip_bytes(4, 64) + 512 * 2**20
            monkeypatch.setattr(capacity, "available_bytes",
                                lambda: need if idle_state.released else need - 1)
            load_active = open_event(active, "load_example")
            assert "Loaded" in active.predict("car-turn", 0, 0, 1, 64,
                                              fn_index=load_active)[-1]
            assert idle_state.released and idle.session_hash not in holder.session_data
            run = open_event(idle, "propagate")
            job = idle.submit(0, fn_index=run)
            job.result()
            assert any("Load a clip first" in str(out) for out in job.outputs())
        finally:
            idle.close()
            active.close()
            holder = demos[0].state_holder  # what the unload events would do, without waiting
            for session in list(holder.session_data):
                release_session(holder, session)


def test_a_closed_tab_is_released_after_a_grace_unless_it_comes_back(tmp_path,
                                                                      lite_ctx_64) -> None:
    """Gradio fires `unload` whenever a tab's heartbeat connection drops: released at once, a
    network blip or a phone suspending the page lost the clip of a page still open."""
    import time

    from demo import build_demo
    from tests.conftest import uploaded_clip_state

    predictor = Predictor(SRNet(ModelConfig.tiny()), InferenceConfig(short_side=96), "cpu")
    blocks = build_demo(predictor, DemoConfig(short_side_cpu=96, max_frames_cpu=8,
                                              temp_root=tmp_path, unload_grace_s=0.3))
    holder = StateHolder()
    holder.set_blocks(blocks)
    tab = next(block for block in blocks.blocks.values()
               if isinstance(block, gr.State) and block.delete_callback is release_tab)
    (unload,) = [fn.fn for fn in blocks.fns.values()
                 if any(target[1] == "unload" for target in fn.targets)]
    states = {}
    try:
        for session in ("gone", "back"):
            (tmp_path / session).mkdir()
            states[session] = uploaded_clip_state(lite_ctx_64, tmp_path / session)[0]
            holder[session][tab._id] = states[session]
            unload(SimpleNamespace(session_hash=session))
        holder["back"]  # an event of that tab: its page was open all along
        assert not states["gone"].released  # not at once
        time.sleep(1.0)
        assert states["gone"].released and not states["back"].released
    finally:
        for session in list(holder.session_data):
            release_session(holder, session)
        blocks.close()
