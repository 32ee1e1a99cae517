"""Export handler: overlay mp4 (H.264), DAVIS-palette PNG zip, per-object binary masks and RGBA
cut-outs of the selected object or of all objects, all written inside the tab's own temp
folder (never a path the user supplied), handed to `gr.File` / `gr.Video` outputs."""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr
import numpy as np

from demo import export
from demo.folders import fresh_folder
from demo.frame_files import frame_file_names
from demo.handlers_propagate import masks_digest, result_video
from demo.messages import NO_CLIP, file_stem, warn
from demo.state import DemoState
from demo.video_io import ClipError, read_source_frames

log = logging.getLogger(__name__)


def export_all(state: DemoState | None, at_source: bool = False,
               cutout: str = export.CUTOUT_CHOICES[0]) -> tuple:
    """→ (overlay mp4, palette zip, binary-mask zip, RGBA zip, status). `at_source`: masks and
    cut-outs at the source resolution (long side ≤ `export.MAX_SIDE`), the frames decoded again
    from the clip's file; the overlay video stays at the working size. `cutout`: one of
    `export.CUTOUT_CHOICES`, whose pixels the RGBA cut-outs keep."""
    if state is None:
        return None, None, None, None, warn(NO_CLIP)
    if not state.masks or not state.names:
        return None, None, None, None, warn("Nothing to export yet: propagate first.")
    try:
        folder = fresh_folder(state.temp_dir, "export")
    except FileNotFoundError:  # the tab's clip was replaced meanwhile
        return None, None, None, None, warn(NO_CLIP)
    stem, objects = file_stem(state.source_name), sorted(state.names)
    # one snapshot for every file: a pass running meanwhile (it shares this state outside
    # ZeroGPU) would otherwise add frames between the zips
    results = dict(state.masks)
    taken, edited = _as_shown(state, results)
    masks, frames, size, note = _export_inputs(state, taken, at_source)
    names = None if state.source is None else export.source_names(
        [state.source.source_frame(i) for i in range(state.num_frames)],
        source_file_names(state.source.path))
    try:
        video = result_video(state, taken)
        palette = export.export_zip_palette(masks, names, folder / f"{stem}_masks.zip")
        binary = export.export_binary_masks(masks, objects, folder / f"{stem}_binary_masks.zip",
                                            names)
        target = (None if cutout == export.CUTOUT_CHOICES[1] else
                  state.selected if state.selected in state.names else objects[0])
        which = "all_objects" if target is None else f"object{target}"
        cutout = export.export_rgba_cutouts(frames, masks, target,
                                            folder / f"{stem}_{which}_rgba.zip", names)
    except (OSError, ValueError, ClipError) as exc:
        log.exception("export failed")
        return None, None, None, None, warn(f"Export failed: {exc}")
    state.exported = masks_digest(results)
    if masks_digest(state.masks) != state.exported:  # a pass ran meanwhile (and may have ended
        # first, so its "masks changed" note came before these files): say it here
        note += ("; a pass changed the masks while this export ran: these files hold the masks "
                 "from when it started (press Prepare downloads again for the new ones)")
    missing = state.num_frames - len(taken)
    note += (f" ({missing} frame{'s' if missing > 1 else ''} without a mask "
             f"{'are' if missing > 1 else 'is'} left out)") if missing else ""
    if edited:
        frames_text = ", ".join(map(str, edited[:12])) + (" …" if len(edited) > 12 else "")
        note += (f"; frame{'s' if len(edited) > 1 else ''} {frames_text}: your edits since the "
                 "last pass, as shown (propagate to carry them on to the other frames)")
    present = np.zeros(256, bool)  # ids with pixels in some result
    for mask in taken.values():
        present |= np.bincount(mask.ravel(), minlength=256)[:256] > 0
    empty = [state.names[o] for o in objects if not present[o]]
    note += (f"; {', '.join(empty)} {'has' if len(empty) == 1 else 'have'} no pixels in any "
             "result (propagate after annotating)" if empty else "")
    return (video, str(palette), str(binary), str(cutout),
            f"Exported {len(taken)} frames, {len(objects)} object(s) at "
            f"{size[1]}x{size[0]}{note}.")


def _as_shown(state: DemoState, results: dict[int, np.ndarray]) -> tuple[dict, list[int]]:
    """(frame → id mask as the user sees it, the frames where that differs from the last
    pass's result): an annotation edited after the pass is exported as shown, not the
    result it replaces on screen."""
    shown, edited = dict(results), []
    for frame_idx in state.annotated_frames():
        mask = state.shown_mask(frame_idx)
        if mask is not None and (frame_idx not in results
                                 or not np.array_equal(mask, results[frame_idx])):
            shown[frame_idx] = mask
            edited.append(frame_idx)
    return shown, edited


def source_file_names(path: str) -> list[str] | None:
    """The source's frame file names (a zip or folder of frames), None when unknown."""
    try:
        return frame_file_names(Path(path)) if path and Path(path).exists() else None
    except (ClipError, OSError):
        return None


def exports_outdated(status: str | None, state: DemoState | None) -> tuple:
    """After a pass: downloads prepared before it hold the old masks, so they go, and the
    export status says why (nothing changes when nothing was exported, or when the pass
    changed no mask: stopped at once, refused)."""
    if not status or not isinstance(state, DemoState) or state.exported is None \
            or masks_digest(state.masks) == state.exported:
        return (gr.skip(),) * 5
    return None, None, None, None, ("The masks changed after the last export: press Prepare "
                                    "downloads again.")


def _export_inputs(state: DemoState, masks: dict, at_source: bool) -> tuple:
    """(masks, frames, (H, W), note) to export: the working-size `masks`, or at the source size
    with the frames decoded again (the note says when the source could not be used)."""
    source = state.source
    if not at_source or source is None or not source.path:
        return masks, state.frames, state.size, ""
    size = export.export_size(source.size)
    if size == tuple(state.size):
        return masks, state.frames, state.size, " (the source size)"
    if not Path(source.path).is_file():  # e.g. the server's upload cache was cleaned
        return (masks, state.frames, state.size,
                " (the working size: the source file is no longer on the server)")
    frames = export.StreamedFrames(lambda: read_source_frames(
        source.path, start=source.start, step=source.step, count=state.num_frames, size=size,
        max_bytes=2**62), state.num_frames)  # the file passed the size limit when loaded
    note = (f" (the source is {source.size[1]}x{source.size[0]}: capped at {export.MAX_SIDE} px)"
            if max(source.size) > export.MAX_SIDE else " (the source size)")
    return export.ResizedMasks(masks, size), frames, size, note
