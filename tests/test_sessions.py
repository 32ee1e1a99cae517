"""Bounded server memory: 20 tabs (gradio_client sessions) each load a clip and propagate it,
then close; their state and temp folders are released on close, and the server's RSS ends
close to where it started. Prints the numbers the README quotes."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_harness import running_app
from gradio_client import Client, handle_file

from demo import DemoConfig

CLIP = DemoConfig().examples_dir / "bear" / "clip.mp4"
SESSIONS = 20
FRAMES = 8
SHORT_SIDE = 240  # large enough that a leaked session (frames + memory + internals) shows
pytestmark = pytest.mark.skipif(not CLIP.is_file(), reason="bundled example clip missing")


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(row for row in status if row.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _open(client: Client, api_name: str):
    """UI events are private (the Client refuses them); a test may call them anyway."""
    index = next(i for i, d in enumerate(client.config["dependencies"])
                 if d.get("api_name") == api_name)
    client.endpoints[index].is_valid = True
    return index


def _one_tab(url: str) -> None:
    client = Client(url, verbose=False)
    try:
        load, run = _open(client, "load_upload"), _open(client, "propagate")
        loaded = client.predict(handle_file(str(CLIP)), 0, 0, 1, SHORT_SIDE, fn_index=load)
        assert "Loaded" in loaded[-1], loaded[-1]
        client.predict("bear", 0, 0, 1, SHORT_SIDE, fn_index=_open(client, "load_example"))
        done = client.predict(0, fn_index=run)
        assert "Done" in done[1], done[1]
    finally:
        client.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("sessions")
    with running_app(root, max_frames=FRAMES, short_side=SHORT_SIDE) as url:
        yield url, root


def test_closed_tabs_release_state_and_memory(app: tuple[str, Path]) -> None:
    url, root = app
    _one_tab(url)  # warm-up: first-use allocations (oneDNN, decoders, Gradio caches)
    gc.collect()
    baseline = rss_mb()
    for _ in range(SESSIONS):
        _one_tab(url)
    deadline = time.monotonic() + 30  # the last tab's unload runs after its connection drops
    while [p for p in root.iterdir() if p.is_dir()] and time.monotonic() < deadline:
        time.sleep(0.5)
    gc.collect()
    growth = rss_mb() - baseline
    print(f"RSS {baseline:.0f} MB after warm-up, +{growth:.0f} MB after {SESSIONS} sessions "
          f"({FRAMES} frames at short side {SHORT_SIDE}) [pid {os.getpid()}]")
    assert growth < 300
    assert not [p for p in root.iterdir() if p.is_dir()], "a closed tab left its temp folder"
