"""Every measurement script the README quotes a number from still starts: `--help` imports it
(and the srnet / demo names it uses) and prints its usage. A renamed function in `srnet` used to
surface only when someone reran a number months later."""

from __future__ import annotations

import contextlib
import io
import runpy
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
RUNNABLE = sorted(p for p in SCRIPTS.glob("*.py") if "__main__" in p.read_text())


def test_the_scripts_folder_has_runnable_scripts() -> None:
    assert len(RUNNABLE) >= 20, [p.name for p in RUNNABLE]


@pytest.mark.parametrize("script", RUNNABLE, ids=lambda p: p.name)
def test_script_answers_help(script: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", [str(script), "--help"])
    # as `python scripts/X.py` runs it: its folder first (scripts import their neighbours); a
    # copy, since scripts put the repo on the path
    monkeypatch.setattr(sys, "path", [str(SCRIPTS), *sys.path])
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit) as exited:
        runpy.run_path(str(script), run_name="__main__")
    assert exited.value.code in (0, None)
    assert "usage:" in printed.getvalue()
