"""Export handler: overlay mp4 (H.264), DAVIS-palette PNG zip, per-object binary masks and RGBA
cut-outs of the selected object, all written inside the tab's own temp folder (never a path
the user supplied), handed to `gr.File` / `gr.Video` outputs."""

from __future__ import annotations

import logging
import shutil
import time

from demo import export
from demo.handlers import NO_CLIP, file_stem, warn
from demo.handlers_propagate import result_video
from demo.state import DemoState

log = logging.getLogger(__name__)


def export_all(state: DemoState | None) -> tuple:
    """→ (overlay mp4, palette zip, binary-mask zip, RGBA zip, status)."""
    if state is None:
        return None, None, None, None, warn(NO_CLIP)
    if not state.masks or not state.names:
        return None, None, None, None, warn("Nothing to export yet: propagate first.")
    for old in state.temp_dir.glob("export_*"):  # earlier downloads (already served)
        shutil.rmtree(old, ignore_errors=True)
    folder = state.temp_dir / f"export_{time.time_ns()}"
    folder.mkdir(parents=True)
    stem, objects = file_stem(state.source_name), sorted(state.names)
    try:
        video = result_video(state)
        palette = export.export_zip_palette(state.masks, None, folder / f"{stem}_masks.zip")
        binary = export.export_binary_masks(state.masks, objects,
                                            folder / f"{stem}_binary_masks.zip")
        target = state.selected if state.selected in state.names else objects[0]
        cutout = export.export_rgba_cutouts(state.frames, state.masks, target,
                                            folder / f"{stem}_object{target}_rgba.zip")
    except (OSError, ValueError) as exc:
        log.exception("export failed")
        return None, None, None, None, warn(f"Export failed: {exc}")
    missing = state.num_frames - len(state.masks)
    note = f" ({missing} frames without a mask are left out)" if missing else ""
    return (video, str(palette), str(binary), str(cutout),
            f"Exported {len(state.masks)} frames, {len(objects)} object(s){note}.")
