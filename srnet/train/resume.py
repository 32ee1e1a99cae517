"""What a run folder allows: resuming only under the settings the run was started with, one
writer at a time, and a fresh start (`--no-resume`) that keeps the old run's files.

Shared by the SRNet trainer and the click trainer. Before session 34 a resume compared only the
architecture: a new `--lr` was silently ignored (the scheduler restores the old base rates)
while `train_config.json` recorded it, a new `--seed` or batch size mixed two runs, and a
`--steps` raised after the end restarted the learning-rate schedule from its warm-up peak.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from srnet.checkpoint import CheckpointError, load_payload

try:
    import fcntl
except ImportError:  # Windows: no lock (the rest works)
    fcntl = None

log = logging.getLogger(__name__)

# Settings that steer this invocation only: they may differ between a run's invocations.
RUN_CONTROL = frozenset({
    "out_dir", "out", "run_steps", "eval_every", "eval_seqs", "eval_size", "eval_frames",
    "eval_objects", "eval_clicks", "log_every", "ckpt_every", "save_every", "resume",
    "resume_changed", "device", "threads", "progress", "data_threads", "cache_dir",
    "ddp_find_unused"})
# Where the run's inputs live: a run folder carried to another machine may name them
# differently, so `--resume-changed` accepts a change (the data must be the same).
LOCATIONS = frozenset({"static_root", "init", "key_weights", "value_weights", "data",
                       "davis_root", "static"})
RUN_FILES = ("last.pt", "final.pt", "best_holdout.pt", "log.jsonl", "train_config.json")


class ResumeError(ValueError):
    """A run folder that cannot be used as asked; the message says why and what to do."""


def _plain(value: Any) -> Any:
    """Tuples and lists compare equal (a saved config may hold either)."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _place(value: Any) -> Any:
    """An input location as an absolute path (`data` and ./data are one place)."""
    if isinstance(value, list | tuple):
        return [_place(v) for v in value]
    return str(Path(value).resolve()) if isinstance(value, str | Path) else value


def changed_settings(saved: dict[str, Any], current: dict[str, Any],
                     defaults: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{key: (saved, current)} for every setting outside RUN_CONTROL that differs; a key one
    side lacks (a setting added later) counts as its default there, and a key the current
    code no longer has is ignored."""
    changed = {}
    for key in sorted((set(saved) | set(current)) - RUN_CONTROL):
        if key not in current and key not in defaults:  # a setting since removed
            continue
        old, new = saved.get(key, defaults.get(key)), current.get(key, defaults.get(key))
        same = (_place(old) == _place(new)) if key in LOCATIONS else _plain(old) == _plain(new)
        if not same:
            changed[key] = (old, new)
    return changed


def check_resume_settings(saved: dict[str, Any] | None, current: dict[str, Any],
                          defaults: dict[str, Any], *, path: Path, done_steps: int,
                          allow_locations: bool) -> None:
    """Refuse a resume whose settings differ from the run's (ResumeError with what differs);
    with `allow_locations`, a changed input location is logged instead. Files saved before the
    settings were (session 33 and older SRNet runs keep them) pass with a warning."""
    if not isinstance(saved, dict):
        log.warning("%s holds no training settings (an older file): resuming unchecked", path)
        return
    changed = changed_settings(saved, current, defaults)
    steps = changed.get("steps")
    if steps is not None and done_steps >= int(steps[0]):
        raise ResumeError(
            f"{path.parent} finished its {steps[0]} steps: raising --steps would restart the "
            f"learning-rate schedule midway; continue in a new --out with --init "
            f"{path.parent / 'final.pt'}")
    # a location may move, not appear or vanish (a run from --init resumed without it, or
    # the reverse, is another run)
    moved = {k: v for k, v in changed.items()
             if k in LOCATIONS and v[0] is not None and v[1] is not None}
    if allow_locations and moved:
        for key, (old, new) in moved.items():
            log.warning("resuming with %s %s (the run used %s): it must hold the same data",
                        key, new, old)
        changed = {k: v for k, v in changed.items() if k not in moved}
    if changed:
        listed = "; ".join(f"{k}: {old!r} → {new!r}" for k, (old, new) in changed.items())
        fixed = {k for k, (old, new) in changed.items() if k not in LOCATIONS
                 or old is None or new is None}
        hint = (" (only input locations may move, with --resume-changed)" if fixed
                else ", or pass --resume-changed if the files moved")
        raise ResumeError(
            f"{path.parent} was started with other settings ({listed}): re-run the run's own "
            f"command (its settings are in train_config.json) or use a new --out{hint}")


def load_checked_state(path: Path, hint: str) -> dict[str, Any]:
    """A run's last.pt, checked: read weights only (a run folder carried from another machine
    must not run code when resumed), every part's checksum, and finite weights under "model"
    (a file with 4 KiB overwritten had resumed silently from garbage). `hint` ends each
    ResumeError with what the user can do."""
    try:
        payload = load_payload(path, "training state")
    except CheckpointError as exc:
        raise ResumeError(f"{exc}{hint}") from None
    weights = payload.get("model") if isinstance(payload, dict) else None
    if not isinstance(weights, dict):
        raise ResumeError(f"{path} holds no training state{hint}")
    broken = [k for k, v in weights.items()
              if isinstance(v, torch.Tensor) and v.is_floating_point() and not v.isfinite().all()]
    if broken:
        raise ResumeError(f"{path} holds non-finite weights ({broken[0]}){hint}")
    return payload


def set_aside(out_dir: Path, names: Iterable[str] = RUN_FILES) -> Path | None:
    """A fresh start in a used folder: move the old run's files into `replaced-<time>/`, so
    that neither a crash before the first save resumes the old run nor is anything lost."""
    present = [out_dir / name for name in names if (out_dir / name).exists()]
    if not present:
        return None
    stamp = time.strftime("replaced-%Y%m%d-%H%M%S")
    aside, number = out_dir / stamp, 1
    while aside.exists():  # two fresh starts within a second
        number += 1
        aside = out_dir / f"{stamp}-{number}"
    aside.mkdir()
    for path in present:
        path.rename(aside / path.name)
    log.warning("--no-resume: the earlier run's files moved to %s", aside)
    return aside


@contextmanager
def run_folder_lock(out_dir: Path) -> Iterator[None]:
    """Hold `out_dir/.lock` for the run: a second trainer on the same folder would resume the
    first's state, cut its log and overwrite its last.pt. The lock goes with the process."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    with open(out_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise ResumeError(f"another training is writing to {out_dir}: wait for it, stop it, "
                              "or use another --out") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
