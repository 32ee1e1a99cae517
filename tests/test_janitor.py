"""The server's periodic sweep (demo/janitor.py): session records of plain API calls, orphan
tab folders, Gradio's empty cache folders, and the per-tab edit locks of released tabs."""

from __future__ import annotations

import datetime
import json
import os
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

from app_harness import running_app

from demo import edit_turns, janitor
from demo.handlers import release_tab


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_plain_api_calls_leave_no_session_records(tmp_path):
    """Each POST to /gradio_api/call/info kept a ~266 KB record for good (no heartbeat, no
    state); the sweep removes them once idle, with the Gradio this project installs."""
    demos: list = []
    with running_app(tmp_path / "srnet", max_frames=8, demos=demos) as url:
        holder = demos[0].state_holder
        for _ in range(3):
            request = urllib.request.Request(
                f"{url}gradio_api/call/info", data=json.dumps({"data": []}).encode(),
                headers={"Content-Type": "application/json"})
            event = json.loads(urllib.request.urlopen(request, timeout=60).read())["event_id"]
            reply = urllib.request.urlopen(f"{url}gradio_api/call/info/{event}", timeout=60)
            assert b"event: complete" in reply.read()
        assert len(holder.session_data) == 3
        assert janitor.drop_idle_sessions(demos[0]) == 0  # not idle long enough yet
        assert janitor.drop_idle_sessions(demos[0], idle_s=0) == 3
        assert not holder.session_data and not holder.time_last_used


def test_sessions_holding_a_tabs_state_stay():
    old = datetime.datetime.now() - datetime.timedelta(hours=2)
    sessions = {"api": SimpleNamespace(state_data={}), "blank tab": SimpleNamespace(
        state_data={7: None}), "tab": SimpleNamespace(state_data={7: object()}),
        "new": SimpleNamespace(state_data={})}
    used = {"api": old, "blank tab": old, "tab": old, "new": datetime.datetime.now()}
    demo = SimpleNamespace(state_holder=SimpleNamespace(
        lock=threading.Lock(), session_data=dict(sessions), time_last_used=dict(used)))
    assert janitor.drop_idle_sessions(demo) == 1  # a page's events all read the tab's state
    assert sorted(demo.state_holder.session_data) == ["blank tab", "new", "tab"]
    assert janitor.drop_idle_sessions(SimpleNamespace()) is None  # unknown internals


def test_orphan_tab_folders_go_after_a_day_and_live_ones_stay(tmp_path):
    live, orphan, young, api = (tmp_path / name for name in ("live", "orphan", "young", "api"))
    for folder in (live, orphan, young, api):
        folder.mkdir()
    for folder in (live, orphan, api):
        _age(folder, 2 * 86400)
    assert janitor.sweep_orphan_folders(tmp_path, {live.resolve()}, 86400) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["api", "live", "young"]
    call, running = api / "call1", api / "call2"
    call.mkdir()
    running.mkdir()
    _age(call, 3600)
    _age(running, 3600)
    janitor.ACTIVE_CALLS.add(running)  # a long call still writing its folder
    try:
        assert janitor.sweep_api_folders(tmp_path) == 1 and [*api.iterdir()] == [running]
    finally:
        janitor.ACTIVE_CALLS.discard(running)


def test_gradio_cache_sweep_removes_only_old_empty_entries(tmp_path):
    empty_old, empty_new, full = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for folder in (empty_old, empty_new, full):
        folder.mkdir()
    (full / "frame.png").write_bytes(b"png")
    stub, upload = tmp_path / "tmpx1", tmp_path / "tmpx2"
    stub.write_bytes(b"")
    upload.write_bytes(b"video")
    for path in (empty_old, full, stub, upload):
        _age(path, 7200)
    assert janitor.sweep_gradio_cache(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "c", "tmpx2"]


def test_a_released_tab_leaves_no_edit_lock(tmp_path):
    state = SimpleNamespace(temp_dir=tmp_path / "tab")
    with edit_turns.turn(state.temp_dir):
        pass
    assert state.temp_dir in edit_turns._locks and state.temp_dir in edit_turns._open
    release_tab(state)  # not a DemoState: cleanup_state ignores it, the lock still goes
    assert state.temp_dir not in edit_turns._locks and state.temp_dir not in edit_turns._open
