"""What a server running for days must throw away, every few minutes, on a daemon thread.

- **Gradio sessions without state.** Every plain HTTP call to `/segment` or `/info` (the curl
  form of the "Use via API" page) gets a session record holding a copy of the page's config,
  about 266 KB here, and nothing removes it: such a caller has no heartbeat, so no unload event,
  and no `gr.State` to expire. Past Gradio's 10,000-session cap it evicts the oldest records
  without their delete callbacks, so idle tabs lost their state and kept their folders. A
  record that never read a state and has been idle for `SESSION_IDLE_S` goes.
- **Tab folders no live state owns** after a day (the start-up sweep's rule, now repeated): a
  tab closed while its clip was loading left one. A day, since a second server may share the
  folder root and own folders this one does not know.
- **`/segment` call folders** after half an hour.
- **Gradio's empty cache folders and 0-byte upload stubs**: its cache sweep deletes files, not
  their hash-named folders (a pass's live preview makes about one folder per frame).

Uses Gradio's `StateHolder` internals (checked with Gradio 6.31); where they differ, the
session sweep logs once and stops, and the file sweeps go on.
"""

from __future__ import annotations

import datetime
import logging
import os
import threading
import time
from pathlib import Path

import gradio as gr

from demo.folders import STALE_FOLDER_S, remove_old_folders
from demo.handlers_api import ACTIVE_CALLS

log = logging.getLogger(__name__)
PERIOD_S = 300
SESSION_IDLE_S = 600  # a state-less session unused this long goes
EMPTY_FOLDER_S = 600  # an empty cache folder this old is not about to be written
API_FOLDER_S = 1800  # longer than any /segment call (300 adaptation steps + 90 frames on a CPU)


def drop_idle_sessions(demo: gr.Blocks, idle_s: float = SESSION_IDLE_S) -> int | None:
    """Remove session records that never read a `gr.State` (plain API calls: every event of
    the page reads the tab's state) and were last used `idle_s` ago; returns how many, or None
    where Gradio's internals are not what this expects.

    Gradio looks a session up without its lock, so an event arriving for the very session
    removed in the same instant would fail; these records get no further events (a plain
    call's session id is its own), which is why records that once read a state stay."""
    holder = getattr(demo, "state_holder", None)
    try:
        lock, sessions, last_used = holder.lock, holder.session_data, holder.time_last_used
    except AttributeError:
        return None
    cutoff = datetime.datetime.now() - datetime.timedelta(seconds=idle_s)
    removed = 0
    with lock:
        for session_id, session in list(sessions.items()):
            used = last_used.get(session_id)
            if getattr(session, "state_data", True) or used is None or used > cutoff:
                continue
            sessions.pop(session_id, None)
            last_used.pop(session_id, None)
            removed += 1
    return removed


def live_folders(demo: gr.Blocks) -> set[Path]:
    """The temp folders of every DemoState a session holds now."""
    holder = getattr(demo, "state_holder", None)
    folders = set()
    for session in list(getattr(holder, "session_data", {}).values()):
        for value in list(getattr(session, "state_data", {}).values()):
            folder = getattr(value, "temp_dir", None)
            if isinstance(folder, Path):
                folders.add(folder.resolve())
    return folders


def sweep_orphan_folders(temp_root: Path, live: set[Path], older_than_s: float) -> int:
    """Tab folders (not `api/`) that no live state of this server owns and that are older than
    `older_than_s`."""
    root = Path(temp_root)
    return remove_old_folders(root, older_than_s, keep=[*live, root / "api"])


def sweep_api_folders(temp_root: Path, older_than_s: float = API_FOLDER_S) -> int:
    """`/segment` call folders (`api/<call>`) but those of calls still running (a long call,
    adaptation on a CPU, is still writing its own): Gradio has copied each result into its
    own cache by the time the call returns, so an old one is only disk."""
    return remove_old_folders(Path(temp_root) / "api", older_than_s, keep=ACTIVE_CALLS)


def sweep_gradio_cache(cache_dir: Path, older_than_s: float = EMPTY_FOLDER_S,
                       stub_age_s: float = 3600) -> int:
    """Empty folders older than `older_than_s` and 0-byte `tmp*` files older than `stub_age_s`
    in Gradio's cache; files with content are left to Gradio's own `delete_cache` sweep."""
    removed, now = 0, time.time()
    for entry in Path(cache_dir).glob("*"):
        try:
            age = now - entry.stat().st_mtime
            if entry.is_dir() and age > older_than_s and not any(entry.iterdir()):
                entry.rmdir()
                removed += 1
            elif (entry.is_file() and entry.name.startswith("tmp") and age > stub_age_s
                  and entry.stat().st_size == 0):
                entry.unlink()
                removed += 1
        except OSError:  # written or removed meanwhile
            continue
    return removed


def sweep(demo: gr.Blocks, temp_root: Path, cache_dir: Path | None,
          folder_age_s: float = STALE_FOLDER_S) -> int | None:
    """One round; returns how many sessions went (None: Gradio's store is not as expected)."""
    sessions = drop_idle_sessions(demo)
    folders = sweep_orphan_folders(temp_root, live_folders(demo), folder_age_s)
    folders += sweep_api_folders(temp_root)
    cached = sweep_gradio_cache(cache_dir) if cache_dir is not None else 0
    if sessions or folders or cached:
        log.info("janitor: %s idle sessions, %d orphan folders, %d empty cache entries removed",
                 sessions, folders, cached)
    return sessions


def start(demo: gr.Blocks, temp_root: Path, period_s: float = PERIOD_S) -> threading.Thread:
    """Run `sweep` every `period_s` on a daemon thread (it dies with the server)."""
    cache = os.environ.get("GRADIO_TEMP_DIR") or getattr(demo, "GRADIO_CACHE", None)
    cache_dir = Path(cache) if cache and Path(cache).is_absolute() else None

    def loop() -> None:
        warned = False
        while True:
            time.sleep(period_s)
            try:
                if sweep(demo, temp_root, cache_dir) is None and not warned:
                    warned = True
                    log.warning("janitor: Gradio's session store is not the one it knows; "
                                "sessions are not swept")
            except Exception:  # a sweep must never end the server
                log.exception("janitor sweep failed")

    thread = threading.Thread(target=loop, name="srnet-janitor", daemon=True)
    thread.start()
    return thread
