"""DemoState: everything one browser tab owns — its decoded frames, its InferenceSession, its
objects, clicks, painted annotations, per-frame results and internals, and its temp folder.

Created lazily by the load handlers (the `gr.State` starts as None, so Gradio's one deep copy
is of None); deleted by `cleanup_state` when the tab's state expires or the tab closes.

On ZeroGPU a state is pickled into and out of every GPU call, once per streamed frame: its
frames (`Frames`) pickle as a reference to a file in the tab's folder, written once, and Stop
reaches a forked pass through a file there too (`request_stop`).
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from demo.clip import FRAMES_FILE, ClipSource, Frames
from demo.numbers import clamped, finite
from demo.ownership import (
    ClickUndo,
    carry_back,
    edit_order,
    give_back,
    limit_returns,
    shown_mask,
)
from srnet import InferenceConfig, InferenceSession, StepOutput, davis_palette

log = logging.getLogger(__name__)
Click = tuple[float, float, bool]  # (x, y, positive) in working-size pixels
MAX_OBJECTS = 20
# What the page changes on a tab's state while a pass runs elsewhere (`keep_page_fields`).
PAGE_FIELDS = ("frame_idx", "selected", "inspect_open", "view_requests", "inspect_requests")
STOP_FILE = "stop"


REMOVED_ID = -1  # a removed object's slot in a stored StepOutput's obj_ids


@dataclass
class DemoState:
    """Per-tab state. Frames and masks are at the working size (H, W)."""

    temp_dir: Path  # this tab's folder: exports are written here and nowhere else
    frames: list[np.ndarray]  # uint8 [H, W, 3] RGB
    fps: float
    session: InferenceSession  # per-video memory; rebuilt when the advanced settings change
    inference_config: InferenceConfig
    source_name: str = "clip"
    notices: list[str] = field(default_factory=list)  # load-time messages (trimmed, resized)
    names: dict[int, str] = field(default_factory=dict)  # object id → name (insertion order)
    selected: int = 1  # the object clicks and paint apply to
    frame_idx: int = 0  # the frame shown / annotated / inspected
    clicks: dict[tuple[int, int], list[Click]] = field(default_factory=dict)  # (frame, obj)
    # (frame, obj) → what each click changed: undo restores the annotation from before it exactly
    click_history: dict[tuple[int, int], list[ClickUndo]] = field(default_factory=dict)
    # (frame, obj) → each applied painting, newest last: Undo goes back past it
    paint_undo: dict[tuple[int, int], list[ClickUndo]] = field(default_factory=dict)
    edits: int = 0  # annotation edits made (`next_edit`): orders the undo records
    obj_masks: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # bool [H, W]
    masks: dict[int, np.ndarray] = field(default_factory=dict)  # frame → uint8 [H, W] ids
    confidence: dict[int, float] = field(default_factory=dict)
    tracked: dict[int, tuple[int, ...]] = field(default_factory=dict)  # frame → ids the pass had
    outputs: OrderedDict[int, StepOutput] = field(default_factory=OrderedDict)  # see record
    timelines: dict[int, dict[str, list[int]]] = field(default_factory=dict)  # memory per frame
    # frame → {annotated frame in its permanent memory: the session's revision of it then}
    made_from: dict[int, dict[int, str]] = field(default_factory=dict)
    ablation: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)  # variant → masks
    # variant → frame → IoU with `masks`, kept between views (None: not computed since either
    # changed; every change of `ablation` or of `masks` under it resets it)
    ablation_ious: dict[str, dict[int, float]] | None = None
    stop_requested: bool = False  # set by the Stop button, checked between frames
    running: str = ""  # "pass" / "ablation" from its start until it ends: what Stop stopped
    # a pass is computing its next frame: Gradio's cancel (Stop) lets that frame finish, so
    # Stop's follow-up (`finish_view`) waits for it before counting the kept frames
    frame_in_flight: bool = False
    last_fps: float | None = None  # speed of this tab's last pass (for the app's speed hint)
    last_objects: int = 1  # how many objects that pass followed
    inspect_open: bool = False  # the "Look inside" tab is shown: refresh it on frame changes
    # frame views requested (`show_frame`): one that ends after a later request was made
    # returns nothing, so a slow render of an older frame never replaces the newer one
    view_requests: int = 0
    # digest of the Annotate view last sent (`annotate_outputs`); None: send the next one.
    # Not a page field: a pass shipped to a worker comes back with None, so a view the worker
    # drew is never taken for the one recorded before it.
    shown_view: str | None = None
    inspect_requests: int = 0  # the same for Look inside's views (`inspect_frame`)
    overlay_video: tuple[str, str] | None = None  # (masks digest, mp4 path) of the last video
    exported: str | None = None  # masks digest of the last export's snapshot
    paint_version: int = 0  # bumped per painter render, so the page tells renders apart
    source: ClipSource | None = None  # what Reload re-reads
    adapted_on: tuple[int, ...] = ()  # annotated frames the session's network was adapted to

    @classmethod
    def create(cls, temp_root: Path, frames: list[np.ndarray], fps: float,
               session: InferenceSession, config: InferenceConfig, **kwargs: object) -> DemoState:
        temp_dir = Path(temp_root) / uuid.uuid4().hex
        temp_dir.mkdir(parents=True, exist_ok=True)
        return cls(temp_dir, Frames(frames, temp_dir / FRAMES_FILE), fps, session, config,
                   **kwargs)

    # ------------------------------------------------------------------ stop
    def request_stop(self) -> None:
        """Stop a running pass after its current frame: the flag for a pass in this process,
        a file in the tab's folder for one in a forked ZeroGPU worker (which has a copy)."""
        self.stop_requested = True
        if self.temp_dir.is_dir():
            (self.temp_dir / STOP_FILE).touch()

    def clear_stop(self) -> None:
        self.stop_requested = False
        (self.temp_dir / STOP_FILE).unlink(missing_ok=True)

    @property
    def released(self) -> bool:
        """`cleanup_state` ran: another clip replaced this one (or the tab closed). A pass
        still running on it must not hand it out again, or the tab's new clip would be lost;
        the folder's absence says so in a forked ZeroGPU worker too."""
        return self.session is None or not self.temp_dir.is_dir()

    @property
    def stop_pending(self) -> bool:
        """Stop was pressed, or the tab was cleaned up (its folder is gone)."""
        return (self.stop_requested or not self.temp_dir.is_dir()
                or (self.temp_dir / STOP_FILE).exists())

    # ------------------------------------------------------------------ frames and objects
    @property
    def num_frames(self) -> int:
        return len(self.frames)

    @property
    def size(self) -> tuple[int, int]:
        return self.frames[0].shape[:2]

    def keep_page_fields(self, held: DemoState) -> None:
        """This state is a ZeroGPU pass's copy (made in its worker) about to replace `held`,
        the state the page holds: take what the page changed on `held` meanwhile (the shown
        frame, the selected object, Look inside open, the render counters). Without this a
        frame or object chosen during the pass snapped back at the next frame it yielded."""
        for name in PAGE_FIELDS:
            setattr(self, name, getattr(held, name))

    def clamp_frame(self, frame_idx: int | float | None) -> int:
        """A frame number within the clip; one that is no finite number reads as 0."""
        return int(clamped(finite(frame_idx), 0, self.num_frames - 1, 0))

    def color(self, obj_id: int) -> tuple[int, int, int]:
        return tuple(int(c) for c in davis_palette()[obj_id])

    def next_object_id(self) -> int | None:
        free = [i for i in range(1, MAX_OBJECTS + 1) if i not in self.names]
        return free[0] if free else None

    def object_choices(self) -> list[tuple[str, int]]:
        return [(f"{obj_id}: {name}", obj_id) for obj_id, name in self.names.items()]

    # ------------------------------------------------------------------ annotations
    def annotation(self, frame_idx: int) -> np.ndarray | None:
        """The user's index mask for a frame (objects painted in insertion order), or None."""
        parts = [(obj, m) for (f, obj), m in self.obj_masks.items() if f == frame_idx and m.any()]
        if not parts:
            return None
        mask = np.zeros(self.size, np.uint8)
        for obj_id, binary in sorted(parts, key=lambda p: list(self.names).index(p[0])):
            mask[binary] = obj_id
        return mask if mask.any() else None

    def absent_ids(self, frame_idx: int) -> tuple[int, ...]:
        """Objects the user erased on the frame: marked absent there (an empty annotation)."""
        return tuple(sorted(obj for (f, obj), m in self.obj_masks.items()
                            if f == frame_idx and not m.any()))

    def pass_annotations(self) -> tuple[dict[int, np.ndarray], dict[int, tuple[int, ...]]]:
        """What a pass hands the session: frame → the user's index mask (all background where
        the frame only marks objects absent), and frame → the objects marked absent on it."""
        masks = {f: self.annotation(f) for f in self.annotated_frames()}
        masks = {f: np.zeros(self.size, np.uint8) if m is None else m for f, m in masks.items()}
        return masks, {f: ids for f in masks if (ids := self.absent_ids(f))}

    def shown_mask(self, frame_idx: int) -> np.ndarray | None:
        """uint8 [H, W] ids: the frame as the user sees it and the next pass holds it (the
        propagated mask with the annotated objects' pixels replaced by their annotation; an
        object marked absent shows nowhere)."""
        annotated = [obj for (f, obj) in self.obj_masks if f == frame_idx]
        followed = {obj for (_, obj) in self.obj_masks}
        annotation = self.annotation(frame_idx)
        if annotation is None and annotated:  # only absences
            annotation = np.zeros(self.size, np.uint8)
        return shown_mask(annotation, annotated, self.masks.get(frame_idx), followed)

    def annotated_frames(self) -> list[int]:
        """Frames with an annotation: an object's mask, or an object marked absent."""
        return sorted({f for (f, _) in self.obj_masks})

    def followed_elsewhere(self, frame_idx: int, obj_id: int) -> bool:
        """True when a pass would show `obj_id` on the frame without this frame's annotation:
        the last pass has it there, or the user annotated it on another frame. Only then can
        erasing all of it mean "absent here" (else it is just no annotation)."""
        results = self.masks.get(frame_idx)
        return (results is not None and bool((results == obj_id).any())) or any(
            obj == obj_id and f != frame_idx and m.any() for (f, obj), m in self.obj_masks.items())

    def set_object_mask(self, frame_idx: int, obj_id: int, mask: np.ndarray | None,
                        absent: bool = False) -> None:
        """The object's annotation on the frame; None or an empty mask removes it, except
        that with `absent` an empty mask marks the object absent there (the user erased it:
        the next pass must not bring the propagated mask back)."""
        key = (frame_idx, obj_id)
        if mask is None or not (mask.any() or absent):
            self.obj_masks.pop(key, None)
        else:
            self.obj_masks[key] = mask.astype(bool)

    def limit_returns(self, frame_idx: int, obj_id: int, annotation: np.ndarray | None,
                      after: int = -1) -> None:
        """`obj_id`'s annotation on the frame was replaced by `annotation` (an undo of edit
        `after`, a clear, a paint, an import): no undo record of another object, click or
        paint, made after edit `after` may give it back pixels outside it
        (`ownership.limit_returns`)."""
        limit_returns(self.click_history, frame_idx, obj_id, annotation, after)
        limit_returns(self.paint_undo, frame_idx, obj_id, annotation, after)

    def give_back(self, frame_idx: int, record: ClickUndo) -> None:
        """Undo of what edit `record` took: back to the objects that lost it, and into their
        own later edits' undo records (`ownership.carry_back`)."""
        for obj_id, back in give_back(self.obj_masks, frame_idx, record.taken).items():
            key = (frame_idx, obj_id)
            carry_back((self.click_history.get(key, []), self.paint_undo.get(key, [])), back,
                       record.seq)

    def next_edit(self) -> int:
        """A number for an annotation edit, larger than every earlier one (undo records)."""
        self.edits += 1
        return self.edits

    def forget_object(self, obj_id: int) -> None:
        """Drop an object from names, clicks, annotations, results (its pixels become 0)."""
        self.names.pop(obj_id, None)
        for store in (self.clicks, self.obj_masks, self.click_history, self.paint_undo):
            for key in [k for k in store if k[1] == obj_id]:
                del store[key]
        for history in (*self.click_history.values(), *self.paint_undo.values()):
            for undo in edit_order(history):  # undo must not give it pixels back
                undo.taken.pop(obj_id, None)
        for results in (self.masks, *self.ablation.values()):
            for frame_idx, mask in results.items():
                results[frame_idx] = np.where(mask == obj_id, 0, mask).astype(np.uint8)
        for frame_idx, ids in self.tracked.items():  # Add reuses the id: it is not tracked
            self.tracked[frame_idx] = tuple(i for i in ids if i != obj_id)
        for frame_idx, out in self.outputs.items():  # its internals stay, under no id: a new
            if obj_id in out.obj_ids:  # object given the same id must not show them as its own
                self.outputs[frame_idx] = _without_object(out, obj_id)
        self.ablation_ious = None
        if self.selected == obj_id:
            self.selected = next(iter(self.names), 0)

    # ------------------------------------------------------------------ results
    def record(self, out: StepOutput, keep_visuals: int) -> None:
        """Store one frame's result; its StepOutput (internals included, the full-size
        probabilities dropped) only for the last `keep_visuals` frames processed."""
        self.masks[out.frame_idx] = out.mask
        self.confidence[out.frame_idx] = float(out.confidence)
        self.tracked[out.frame_idx] = tuple(out.obj_ids)
        if out.memory_held is not None:  # what the frame read, not memory after it joined
            self.timelines[out.frame_idx] = out.memory_held
            self.made_from[out.frame_idx] = {
                p: self.session.revisions.get(p, "") for p in out.memory_held["permanent"]}
        self.outputs.pop(out.frame_idx, None)  # re-inserted last: the newest frames are kept
        self.outputs[out.frame_idx] = dataclasses.replace(out, prob=np.empty(0, np.float32))
        while len(self.outputs) > keep_visuals:
            self.outputs.popitem(last=False)

    def clear_results(self) -> None:
        for store in (self.masks, self.confidence, self.tracked, self.outputs, self.timelines,
                      self.made_from, self.ablation):
            store.clear()
        self.ablation_ious = None

    def drop_ablation(self) -> None:
        """Forget the Ablation tab's reruns (a new pass replaces the masks they compare with)."""
        self.ablation.clear()
        self.ablation_ious = None


def _without_object(out: StepOutput, obj_id: int) -> StepOutput:
    """A stored frame result with `obj_id` renamed `REMOVED_ID` (its slot in the arrays stays)
    and its pixels gone from the mask and from the memory reads' record of what memory held."""
    def renamed(ids: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(REMOVED_ID if i == obj_id else i for i in ids)

    def cleared(held: np.ndarray | None) -> np.ndarray | None:
        return None if held is None else np.where(held == obj_id, 0, held).astype(np.uint8)

    visuals = out.visuals
    if visuals is not None:
        reads = tuple(dataclasses.replace(read, obj_ids=renamed(read.obj_ids),
                                          memory_masks=tuple(map(cleared, read.memory_masks)))
                      for read in visuals.reads)
        visuals = dataclasses.replace(visuals, reads=reads)
    return dataclasses.replace(out, obj_ids=renamed(out.obj_ids), visuals=visuals,
                               mask=np.where(out.mask == obj_id, 0, out.mask).astype(np.uint8))


def cleanup_state(state: DemoState | None) -> None:
    """`gr.State(delete_callback=...)` (tab closed, TTL passed, or a new clip loaded): stop a
    running pass after its current frame, remove the tab's temp folder and drop the references
    to its frames, memory and results, so their memory is freed even while something (a running
    generator, Gradio's session table) still holds the state object itself."""
    if not isinstance(state, DemoState):
        return
    state.stop_requested = True  # and the folder goes: a forked pass stops too
    if state.temp_dir.is_dir():
        shutil.rmtree(state.temp_dir, ignore_errors=True)
        log.info("removed session folder %s", state.temp_dir.name)
    state.clear_results()
    state.frames = []  # rebound, not cleared: a pass still running keeps its own list
    state.session = None  # type: ignore[assignment]  # the state is dead from here on
    state.obj_masks.clear()
    state.clicks.clear()
    state.click_history.clear()
    state.paint_undo.clear()
