"""Import direction `app.py → demo → srnet` (public API), checked on the source's AST:
`srnet/` never imports gradio or demo; `demo/` imports only top-level `srnet` names plus an
allow-list of libraries; only `app.py` calls `launch`."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO_LIBRARIES = {"gradio", "numpy", "cv2", "PIL", "imageio", "spaces"}


def _sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> list[tuple[str, int]]:
    """(dotted module name, line) of every import in a file; relative imports keep dots."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append(("." * node.level + (node.module or ""), node.lineno))
    return found


@pytest.mark.parametrize("path", _sources("srnet"), ids=lambda p: str(p.relative_to(ROOT)))
def test_srnet_never_imports_ui(path: Path) -> None:
    for name, line in _imports(path):
        assert name.split(".")[0] not in {"gradio", "demo", "spaces"}, f"{path}:{line} {name}"


@pytest.mark.parametrize("path", _sources("demo"), ids=lambda p: str(p.relative_to(ROOT)))
def test_demo_uses_only_public_srnet(path: Path) -> None:
    for name, line in _imports(path):
        top = name.split(".")[0]
        where = f"{path.relative_to(ROOT)}:{line} imports {name}"
        assert not name.startswith("."), f"{where}: use absolute imports"
        assert not name.startswith("srnet."), f"{where}: only top-level srnet names"
        allowed = top in {"demo", "srnet"} | DEMO_LIBRARIES or top in sys.stdlib_module_names
        assert allowed, f"{where}: not an allowed dependency of demo/"


def _launch_calls(path: Path) -> list[int]:
    return [node.lineno for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "launch"]


def test_only_app_launches() -> None:
    offenders = [f"{p.relative_to(ROOT)}:{line}" for p in _sources("srnet") + _sources("demo")
                 for line in _launch_calls(p)]
    assert not offenders, offenders
    assert _launch_calls(ROOT / "app.py"), "app.py should launch the demo"


def test_app_imports_demo_and_public_srnet_only() -> None:
    for name, line in _imports(ROOT / "app.py"):
        top = name.split(".")[0]
        assert not name.startswith("srnet."), f"app.py:{line} imports {name}"
        assert top in {"demo", "srnet", "gradio"} or top in sys.stdlib_module_names, name
