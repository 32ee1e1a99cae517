"""Bounded server memory: 20 tabs (gradio_client sessions) each load a clip and propagate it,
then close; their states, sessions and temp folders are released on close (counted, not
measured: the RSS numbers the README quotes come from scripts/measure_tab_memory.py)."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_harness import one_tab, running_app

from demo import DemoConfig
from demo.state import DemoState
from srnet import InferenceSession

CLIP = DemoConfig().examples_dir / "bear" / "clip.mp4"
SESSIONS = 20
FRAMES = 8
SHORT_SIDE = 240  # large enough that a leaked session (frames + memory + internals) shows
pytestmark = pytest.mark.skipif(not CLIP.is_file(), reason="bundled example clip missing")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("sessions")
    with running_app(root, max_frames=FRAMES, short_side=SHORT_SIDE) as url:
        yield url, root


def _alive(kind: type) -> int:
    return sum(isinstance(obj, kind) for obj in gc.get_objects())


def test_closed_tabs_release_state_and_memory(app: tuple[str, Path]) -> None:
    url, root = app
    for _ in range(SESSIONS):
        one_tab(url, CLIP, SHORT_SIDE)
    deadline = time.monotonic() + 30  # the last tab's unload runs after its connection drops
    while [p for p in root.iterdir() if p.is_dir()] and time.monotonic() < deadline:
        time.sleep(0.5)
    gc.collect()
    assert not [p for p in root.iterdir() if p.is_dir()], "a closed tab left its temp folder"
    # every tab held a DemoState with an InferenceSession (frames, memory): none may outlive it
    assert _alive(DemoState) == 0 and _alive(InferenceSession) == 0, \
        (_alive(DemoState), _alive(InferenceSession))
