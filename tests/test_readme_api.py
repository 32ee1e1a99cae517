"""The README's Python API example runs as written (on a small synthetic clip): until session
33 it read `out.visuals` on the annotated frame, where nothing is read and visuals are None."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from tests.conftest import make_clip

README = Path(__file__).resolve().parents[1] / "README.md"


def _api_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_python_api_example_runs() -> None:
    frames, masks = make_clip(4, (64, 96), num_objects=2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        scope = {"frames": frames, "first_mask": masks[0]}
        exec(compile(_api_example(), str(README), "exec"), scope)  # noqa: S102
    finally:
        torch.set_num_threads(threads)
    out = scope["out"]  # the loop's last frame
    assert out.frame_idx == 3 and out.mask.shape == (64, 96)
    assert out.visuals is not None and out.visuals.aux_masks.shape[1] == 2
