"""CI runs the whole suite: `.ci/run` runs the README's test command, and neither it nor the
pytest configuration deselects the `slow` tests (the shipped-checkpoint quality floor)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _readme_test_command() -> str:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    return next(b.strip() for b in blocks if "pytest" in b)


def test_ci_runs_the_readme_test_command_without_deselecting_markers():
    script = (REPO / ".ci" / "run").read_text()
    command = _readme_test_command()
    assert command in script
    pytest_part = command.split("pytest", 1)[1]
    assert " -m " not in pytest_part and "not slow" not in pytest_part


def test_pytest_config_keeps_slow_tests_selected_and_registered():
    text = (REPO / "pyproject.toml").read_text()
    section = text.split("[tool.pytest.ini_options]", 1)[1].split("\n[", 1)[0]
    addopts = re.findall(r"^addopts\s*=\s*(.*)$", section, flags=re.M)
    assert not any("-m" in line.split() or "not slow" in line for line in addopts)
    assert re.search(r'^\s*"slow:', section, flags=re.M)


def _names(path: Path) -> dict[str, str]:
    """Requirement name → its version spec, from one requirements-style file."""
    names = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, spec = re.match(r"([A-Za-z0-9_.\-]+)(.*)", line).groups()
            names[name.lower().replace("_", "-")] = spec.strip()
    return names


def test_every_floating_requirement_is_pinned_by_the_constraints_file():
    """A fresh machine installs the versions the suite passed with: requirements.txt applies
    constraints.txt (pip reads `-c` inside a requirements file, also through
    requirements-dev.txt's `-r`), and each range there has its exact pin."""
    assert "-c constraints.txt" in (REPO / "requirements.txt").read_text().splitlines()
    assert "-r requirements.txt" in (REPO / "requirements-dev.txt").read_text().splitlines()
    pins = _names(REPO / "constraints.txt")
    assert all(spec.startswith("==") for spec in pins.values())
    for name in ("requirements.txt", "requirements-dev.txt"):
        floating = [n for n, spec in _names(REPO / name).items() if not spec.startswith("==")]
        assert floating and not [n for n in floating if n not in pins], name


def test_the_space_file_set_holds_every_file_requirements_txt_reads():
    """`scripts/space_smoke.py` builds a Space from a file set and installs requirements.txt
    there: a `-c`/`-r` file it reads but the set lacks fails the install (constraints.txt
    did, from session 35 to 36)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("space_smoke", REPO / "scripts" /
                                                  "space_smoke.py")
    space_smoke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(space_smoke)
    read = re.findall(r"^\s*-[cr]\s+(\S+)", (REPO / "requirements.txt").read_text(), flags=re.M)
    assert read, "requirements.txt reads no other file: nothing to check"
    for name in read:
        assert name in space_smoke.SPACE_PATHS and name in space_smoke.NEEDED, name
