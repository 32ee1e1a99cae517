"""What the demo says to a user: warnings and notices (toast + status line, never a server
path), the caption under the frame, and text progress bars. Plain text, no state changes."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import gradio as gr
import numpy as np

from demo.state import DemoState

log = logging.getLogger(__name__)


def _plain(text: str) -> str:
    """Toasts show raw text: drop Markdown emphasis and code marks."""
    return re.sub(r"\*\*|`", "", text)


SERVER_PATH = re.compile(r"(?<![\w:/.])(?:[A-Za-z]:)?(?:[\\/][^\\/\s'\"]+)+[\\/]([^\\/\s'\"]+)")


def no_paths(text: str) -> str:
    """User-facing text never shows server paths: '/tmp/x/y/clip.mp4' → 'clip.mp4'."""
    return SERVER_PATH.sub(r"\1", text)


def warn(text: str) -> str:
    """Toast a warning (a no-op outside a Gradio event) and return it for a status Markdown.
    Server paths (e.g. inside a decoder's exception text) are reduced to file names."""
    log.info("user warning: %s", text)
    text = no_paths(text)
    gr.Warning(_plain(text))
    return f"⚠️ {text}"


def info(text: str) -> str:
    # Short-lived: the same text stays in the status line, and a 10 s toast hides the header.
    gr.Info(_plain(text), duration=4)
    return f"ℹ️ {text}"


def file_stem(name: str) -> str:
    """A download's file-name stem from the clip's name: 'My clip (1).mp4' → 'My_clip__1'."""
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", Path(name).stem).strip("_")
    return stem[:40] or "clip"


# A tab's clip also goes when the tab sits idle (an hour, `state_ttl_s`; 15 minutes while the
# server is short of memory, demo/eviction.py), while its page still shows the old frame.
NO_CLIP = ("Load a clip first: upload a video or a zip of frames, or pick an example (a tab "
           "left idle loses its clip after an hour, or sooner when the server needs the "
           "memory).")


def duration_text(seconds: float) -> str:
    """'under a second', 'about 22 s' or 'about 8 min' (a 2-frame clip read 'about 0 s')."""
    if seconds < 1:
        return "under a second"
    if seconds < 120:
        return f"about {seconds:.0f} s"
    return f"about {seconds / 60:.0f} min"


def frame_caption(state: DemoState, frame_idx: int) -> str:
    """One line under the frame: what is shown and where the annotations are."""
    annotated = state.annotated_frames()
    kind = ("your annotation" if frame_idx in annotated else
            "propagated mask" if frame_idx in state.masks else "no mask yet")
    absent = [state.names.get(obj_id, f"object {obj_id}") for obj_id in state.absent_ids(frame_idx)]
    kind += f" ({', '.join(absent)} marked absent here)" if absent else ""
    conf = state.confidence.get(frame_idx)
    conf_text = f" · confidence {conf:.2f}" if conf is not None else ""
    legend = " ".join(f'<span style="color:rgb{state.color(obj_id)}">■</span> {obj_id}: {name}'
                      for obj_id, name in state.names.items())
    return (f"Frame {frame_idx} / {state.num_frames - 1}: {kind}{conf_text} · "
            f"{annotated_text(annotated)} · objects: {legend or 'none'}")


def annotated_text(annotated: list[int], shown: int = 12) -> str:
    """'annotated on frames 0, 3' (a bare 'annotated frames: 0' read as a count of zero)."""
    if not annotated:
        return "no frame annotated yet"
    marks = ", ".join(str(f) for f in annotated[:shown])
    more = f" and {len(annotated) - shown} more" if len(annotated) > shown else ""
    return f"annotated on frame{'s' if len(annotated) > 1 else ''} {marks}{more}"


def progress_bar(done: int, total: int, width: int = 24) -> str:
    filled = int(round(width * done / max(total, 1)))
    return "▓" * filled + "░" * (width - filled)


def replaced_text(replaced: int, positive: bool) -> str:
    """Status note when a click replaced `replaced` earlier clicks of the other sign on its
    spot (`demo.clicks.counting_clicks`)."""
    if replaced <= 0:
        return ""
    kind = "remove" if positive else "add"
    return f" It replaced the {kind}-click on its spot (Undo brings that back)."


def shared_text(state: DemoState, owners: np.ndarray | None, claimed: np.ndarray | None,
                left: int) -> str:
    """What a click did about other objects' pixels, in the status line."""
    if claimed is not None and claimed.any():
        obj_id = int(np.bincount(owners[claimed]).argmax())
        return (f" Took {int(claimed.sum())} px from {state.names.get(obj_id, obj_id)} (the "
                "click landed on it).")
    if left:
        return (f" {left} px that other objects hold were left to them: a positive click "
                "inside them takes them.")
    return ""
