"""A load is refused, with a message and the tab's current clip kept, while the server is
short of memory (demo/capacity.py): each tab's clip stays in memory until the tab closes, and
the load that runs the server out of memory ends every user's session."""

from __future__ import annotations

from pathlib import Path

import torch

from demo import capacity
from demo import handlers_load as loading
from demo.config import DemoConfig
from demo.handlers import DemoContext
from demo.state import DemoState
from srnet import InferenceConfig, ModelConfig, Predictor, SRNet


def _cgroup(root: Path, rel: str, files: dict[str, str]) -> None:
    folder = root / rel
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


def test_free_memory_is_the_smaller_of_the_kernels_and_the_containers(tmp_path):
    """The container's room is its limit less its usage *without* the page cache: usage counts
    every file an upload or export wrote, which filled it up to the limit and refused every
    load while memory was free (a review of the first version, session 34)."""
    meminfo, proc = tmp_path / "meminfo", tmp_path / "cgroup"
    meminfo.write_text("MemTotal: 16000000 kB\nMemAvailable: 8000000 kB\n")
    host = 8000000 * 1024
    proc.write_text("0::/app/slice\n")  # cgroup v2, the process's own folder below the mount
    root = tmp_path / "v2"
    _cgroup(root, "app/slice", {"memory.max": "4294967296\n", "memory.current": "4000000000\n",
                                "memory.stat": "anon 100\ninactive_file 3000000000\n"})
    assert capacity.available_bytes(meminfo, proc, root) == 4294967296 - 1000000000
    assert capacity.available_bytes(meminfo, tmp_path / "none", tmp_path / "none") == host
    v1, proc1 = tmp_path / "v1", tmp_path / "cgroup1"
    proc1.write_text("4:memory:/outside/view\n0::/\n")  # a container sees its cgroup at the root
    _cgroup(v1, "memory", {"memory.limit_in_bytes": "2147483648\n",
                           "memory.usage_in_bytes": "2147483648\n",
                           "memory.stat": "total_inactive_file 1073741824\n"})
    assert capacity.available_bytes(meminfo, proc1, v1) == 2**30
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # no limit
    assert capacity.available_bytes(meminfo, proc1, v1) == host


def test_a_load_is_refused_while_memory_is_short_and_the_old_clip_stays(tmp_path, monkeypatch):
    torch.manual_seed(0)
    predictor = Predictor(SRNet(ModelConfig.tiny()), InferenceConfig(short_side=96), "cpu")
    ctx = DemoContext(predictor, DemoConfig(short_side_cpu=96, max_frames_cpu=8,
                                            temp_root=tmp_path))
    first = loading.load_example(ctx, "bear", 0, 0, 1, None)[0]
    assert isinstance(first, DemoState)
    need = capacity.clip_bytes(8, 96) + 512 * 2**20
    monkeypatch.setattr(capacity, "available_bytes", lambda: need - 1)
    out = loading.load_example(ctx, "bear", 0, 0, 1, first)
    assert out[0] is first and first.temp_dir.is_dir() and not first.released
    assert "short of memory" in out[-1] and "try again" in out[-1]
    monkeypatch.setattr(capacity, "available_bytes", lambda: need)
    assert loading.load_example(ctx, "bear", 0, 0, 1, first)[0] is not first


def test_segment_says_busy_not_bad_input_when_memory_is_short(tmp_path, monkeypatch):
    import gradio as gr
    import pytest

    from demo import handlers_api as api

    predictor = Predictor(SRNet(ModelConfig.tiny()), InferenceConfig(short_side=96), "cpu")
    ctx = DemoContext(predictor, DemoConfig(short_side_cpu=96, max_frames_cpu=8,
                                            temp_root=tmp_path))
    monkeypatch.setattr(capacity, "available_bytes", lambda: 0)
    bear = DemoConfig().examples_dir / "bear"
    with pytest.raises(gr.Error, match="Server busy: the server is short of memory"):
        api.segment(ctx, str(bear / "clip.mp4"), str(bear / "first_mask.png"))
