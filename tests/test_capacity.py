"""A load is refused, with a message and the tab's current clip kept, while the server is
short of memory (demo/capacity.py): each tab's clip stays in memory until the tab closes, and
the load that runs the server out of memory ends every user's session."""

from __future__ import annotations

import torch

from demo import capacity
from demo import handlers_load as loading
from demo.config import DemoConfig
from demo.handlers import DemoContext
from demo.state import DemoState
from srnet import InferenceConfig, ModelConfig, Predictor, SRNet


def test_free_memory_is_the_smaller_of_the_kernels_and_the_containers(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 16000000 kB\nMemAvailable: 8000000 kB\n")
    limit, usage, unlimited = tmp_path / "max", tmp_path / "current", tmp_path / "v1max"
    limit.write_text("4294967296\n")
    usage.write_text("3221225472\n")
    unlimited.write_text("9223372036854771712\n")
    assert capacity.available_bytes(str(meminfo), ()) == 8000000 * 1024
    assert capacity.available_bytes(str(meminfo), ((str(limit), str(usage)),)) == 2**30
    assert capacity.available_bytes(str(meminfo), ((str(unlimited), str(usage)),)) == \
        8000000 * 1024  # cgroup v1's "no limit"
    v2_none = tmp_path / "none"
    v2_none.write_text("max\n")
    assert capacity.available_bytes(str(tmp_path / "absent"), ((str(v2_none), str(usage)),)) \
        is None


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
