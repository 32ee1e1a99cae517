"""Room for a new clip from tabs left idle, before a load is refused for memory.

Each tab holds its clip (about 200 MB for 90 frames at 480 px, 400 MB after an ablation) until
it closes or its state expires after `DemoConfig.state_ttl_s` (an hour). On a shared Space a
visitor who leaves a tab open and walks away kept that memory for the hour, and once such tabs
filled the server every new visitor's load was refused (`demo.capacity`). Now a load that would
be refused first releases the tabs idle longest, oldest first, while memory is short: only tabs
untouched for `DemoConfig.evict_idle_s` (15 minutes), with no pass streaming and no event of
theirs being processed. A released tab reads as a new one: its next action asks for a clip.
An event that arrives while the list of idle tabs is read (a visitor back after 15 minutes)
keeps its tab: the last use is read again, and Gradio's queue asked, just before each release;
before, such an event's handler could find its clip gone halfway through.

Gradio's session table (`Blocks.state_holder`: `session_data`, `time_last_used`,
`delete_state`, which runs each `gr.State`'s delete callback) is read here and in
`demo.ui`'s unload handler, through `release_session`.
"""

from __future__ import annotations

import datetime
import gc
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


def release_session(holder: object, session: str) -> None:
    """Drop one browser session's state now: its `gr.State` delete callbacks run (the tab's
    folder and memory go, `demo.handlers.release_tab`), then Gradio's records of it."""
    if session in holder:  # type: ignore[operator]
        holder.delete_state(session)  # type: ignore[attr-defined]
    holder.session_data.pop(session, None)  # type: ignore[attr-defined]
    holder.time_last_used.pop(session, None)  # type: ignore[attr-defined]


def _session_values(holder: object, session: str) -> list[object]:
    data = holder.session_data.get(session)  # type: ignore[attr-defined]
    return list(getattr(data, "state_data", {}).values()) if data is not None else []


def evict_idle_sessions(holder: object | None, has_room: Callable[[], bool], min_idle_s: float,
                        busy: Callable[[object], bool] = lambda value: False,
                        now: datetime.datetime | None = None,
                        in_flight: Callable[[str], bool] = lambda session: False) -> list[str]:
    """Release the sessions idle longest, oldest first, until `has_room()` (asked before each
    release): only those last used at least `min_idle_s` ago, none of whose state values is
    `busy` (a pass streaming on it), with no event `in_flight`, and not used since the list was
    read. Returns the released session ids, oldest first."""
    if holder is None or min_idle_s <= 0:
        return []
    now = datetime.datetime.now() if now is None else now
    last_used = sorted(dict(holder.time_last_used).items(),  # type: ignore[attr-defined]
                       key=lambda item: item[1])  # a copy: requests go on meanwhile
    released: list[str] = []
    for session, used_at in last_used:
        if has_room() or (now - used_at).total_seconds() < min_idle_s:
            break  # sorted oldest first: every later session is more recent
        if any(busy(value) for value in _session_values(holder, session)) or in_flight(session):
            continue
        if holder.time_last_used.get(session) != used_at:  # type: ignore[attr-defined]
            continue  # an event of this tab came in after the list was read: it is back
        release_session(holder, session)
        gc.collect()  # the frames' arrays are freed once nothing cycles back to them
        released.append(session)
        log.info("released a tab idle for %.0f min to make room for a new clip",
                 (now - used_at).total_seconds() / 60)
    return released


class IdleTabReleaser:
    """`DemoContext.make_room` for one app: releases that app's idle tabs. The context is built
    before the Blocks that hold the session table, so the Blocks are attached afterwards."""

    def __init__(self, min_idle_s: float, busy: Callable[[object], bool]) -> None:
        self.min_idle_s = min_idle_s
        self.busy = busy
        self.blocks: object | None = None

    def attach(self, blocks: object) -> None:
        self.blocks = blocks

    def __call__(self, has_room: Callable[[], bool]) -> list[str]:
        # Gradio attaches its session table at launch, not when the Blocks are built
        holder = getattr(self.blocks, "state_holder", None)
        return evict_idle_sessions(holder, has_room, self.min_idle_s, busy=self.busy,
                                   in_flight=self.in_flight)

    def in_flight(self, session: str) -> bool:
        """Gradio's queue holds an event of `session`: being processed (its workers' jobs,
        `Blocks._queue.active_jobs`) or waiting for a worker (`event_queue_per_concurrency_id`:
        a Propagate queued behind other users' for 15 min was released just before it ran).
        Internal, so read defensively; an event outside the queue (`queue=False`) only stops
        a pass here."""
        queue = getattr(self.blocks, "_queue", None)
        jobs = [event for job in list(getattr(queue, "active_jobs", None) or []) if job
                for event in job]
        waiting = [event for line in list((getattr(queue, "event_queue_per_concurrency_id",
                                                   None) or {}).values())
                   for event in list(getattr(line, "queue", None) or [])]
        return any(getattr(event, "session_hash", None) == session
                   for event in (*jobs, *waiting))
