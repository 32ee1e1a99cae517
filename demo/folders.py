"""The tab folders' contents over time: a fresh folder per result or export (without deleting
one another's), and the start-up sweep of what earlier server processes left behind."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)
IN_USE_S = 600  # a result or export folder this young may still be written or served


def fresh_folder(tab_dir: Path, prefix: str) -> Path:
    """A new `<prefix>_<time>` folder in a tab's folder (a fresh name per call: the browser
    caches by URL). Earlier ones go, except the newest and any made in the last `IN_USE_S`:
    they may still be being written by a call running beside this one (Export clicked two or
    three times, or Export during a pass's last frame), or served. FileNotFoundError when the
    tab's folder is gone (another clip was loaded): writing on would recreate it for a clip
    that is gone."""
    earlier = sorted(tab_dir.glob(f"{prefix}_*"), key=lambda p: p.name)
    now_ns = time.time_ns()
    for old in earlier[:-1]:
        made_ns = old.name.rsplit("_", 1)[-1]
        if made_ns.isdigit() and now_ns - int(made_ns) < IN_USE_S * 1e9:
            continue
        shutil.rmtree(old, ignore_errors=True)
    folder = tab_dir / f"{prefix}_{time.time_ns()}"
    folder.mkdir()
    return folder


STALE_FOLDER_S = 24 * 3600  # a tab folder untouched this long belongs to no live tab


def remove_old_folders(parent: Path, older_than_s: float, keep: Iterable[Path] = ()) -> int:
    """Remove the subfolders of `parent` last modified over `older_than_s` ago, except those
    in `keep` (compared resolved); one folder removed meanwhile by another sweep is skipped.
    Returns how many went. The one sweep behind the start-up sweep, `/segment`'s own and the
    janitor's."""
    kept, removed = {Path(k).resolve() for k in keep}, 0
    for folder in Path(parent).glob("*"):
        try:
            if (not folder.is_dir() or folder.resolve() in kept
                    or time.time() - folder.stat().st_mtime <= older_than_s):
                continue
        except OSError:  # removed meanwhile
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


def sweep_stale_folders(temp_root: Path, older_than_s: float = STALE_FOLDER_S) -> int:
    """At start-up: remove what earlier server processes left in `temp_root` (tab folders
    whose state died with the process, or was evicted by Gradio without its delete callback;
    the API's call folders). Age by modification time, and a day by default, so a second
    server sharing the root keeps its live tabs. Returns how many folders went."""
    root = Path(temp_root)
    removed = (remove_old_folders(root, older_than_s, keep=[root / "api"])
               + remove_old_folders(root / "api", older_than_s))
    if removed:
        log.info("removed %d stale folders from %s", removed, temp_root)
    return removed
