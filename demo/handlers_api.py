"""Headless endpoints for scripts (gradio_client): `segment(video, first_mask[, adapt_steps])
-> zip` and `info() -> dict`. Stateless: each call gets its own session and its own temp
folder; errors are raised as `gr.Error` so a client sees the message."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import gradio as gr
import numpy as np

from demo import export
from demo.capacity import CapacityError
from demo.config import MAX_ADAPT_STEPS
from demo.folders import remove_old_folders
from demo.frame_files import IMAGE_FORMATS
from demo.handlers import DemoContext, gpu_handler, gpu_seconds
from demo.handlers_export import source_file_names
from demo.handlers_load import read_clip
from demo.messages import no_paths
from demo.numbers import whole_in
from demo.passes import run_pass
from demo.state import FRAMES_FILE, MAX_OBJECTS, Frames
from demo.video_io import ClipError, LoadedClip
from srnet import fit_index_mask, iter_adapt_session, load_index_mask

log = logging.getLogger(__name__)
VOID = 255
ACTIVE_CALLS: set[Path] = set()  # call folders of `segment` calls running now


def _call_folder(ctx: DemoContext) -> Path:
    """A fresh folder for this call; folders of calls older than the state TTL are removed."""
    root = ctx.cfg.temp_root / "api"
    root.mkdir(parents=True, exist_ok=True)
    remove_old_folders(root, ctx.cfg.state_ttl_s, keep=ACTIVE_CALLS)
    folder = root / uuid.uuid4().hex
    folder.mkdir()
    return folder


def segment(ctx: DemoContext, video: str | None, first_mask: str | None,
            adapt_steps: float | None = 0, *, masks_on_gpu: Callable | None = None) -> str:
    """Propagate a first-frame mask through a clip.

    Args:
        video: a video file (mp4, webm, mov, avi, mkv, m4v, gif, an animated webp or png) or
            a zip of frames.
        first_mask: PNG of the first frame: a DAVIS palette PNG (values = object ids) or a
            0/255 image (one object). Any size with the clip's aspect ratio.
        adapt_steps: online adaptation, optional: fine-tune a copy of the network for this
            many steps on the first frame before propagating (0 = off, at most
            MAX_ADAPT_STEPS; 100 gave +1 J&F on held-out clips, 30 on single objects only).
    Returns:
        a zip of DAVIS-palette PNGs, one per frame, at the clip's own size (long side capped
        at 1920, see `info`), like `python -m srnet segment` and the app's Export: the masks
        are computed at the working size and enlarged with smooth outlines.

    The inputs are read and the zip written here; only `propagate_masks` runs the network,
    through `masks_on_gpu` (the app passes it wrapped by `gpu_handler`), so a bad upload is
    refused before any GPU time is reserved, and the reservation fits the clip's length.
    """
    if not video or not first_mask:
        raise gr.Error("segment needs a video (or a zip of frames) and a first-frame mask PNG.")
    steps = _adapt_steps(adapt_steps)
    try:
        clip = read_clip(ctx, video)
        mask, resized = fit_index_mask(load_index_mask(first_mask, IMAGE_FORMATS), clip.size)
    except CapacityError as exc:
        raise gr.Error(f"Server busy: {exc}") from exc
    except (ClipError, ValueError) as exc:  # the message names the upload, not its path
        raise gr.Error(f"Bad input: {no_paths(str(exc))}") from exc
    mask[mask == VOID] = 0  # DAVIS's "void" marks uncertain pixels, not an object
    if not mask.any():
        raise gr.Error("Bad input: the first-frame mask is empty (no object pixels)"
                       + (f": {resized}." if resized else "."))
    ids = [int(i) for i in np.unique(mask) if i]
    if len(ids) > MAX_OBJECTS:  # the app's own limit: time and memory grow with each object
        raise gr.Error(f"Bad input: the mask holds {len(ids)} objects; at most {MAX_OBJECTS}.")
    folder = _call_folder(ctx)
    ACTIVE_CALLS.add(folder)
    try:
        return str(_segment_into(ctx, folder, video, clip, mask, steps, masks_on_gpu))
    finally:
        ACTIVE_CALLS.discard(folder)


def _segment_into(ctx: DemoContext, folder: Path, video: str, clip: LoadedClip,
                  mask: np.ndarray, steps: int, masks_on_gpu: Callable | None) -> Path:
    """The network's masks of a checked clip, zipped at the clip's own size into `folder`."""
    frames = Frames(clip.frames, folder / FRAMES_FILE)  # crosses to a GPU worker as its file
    run = masks_on_gpu or functools.partial(propagate_masks, ctx)
    try:
        masks = {idx: out for idx, out in run(frames, mask, steps) if out is not None}
    finally:  # written when the frames crossed to a GPU worker; not needed after, nor on error
        (folder / FRAMES_FILE).unlink(missing_ok=True)
    stem = Path(video).stem[:40] or "clip"
    size = export.export_size(clip.source_size)
    masks = export.ResizedMasks(masks, size) if size != clip.size else masks
    names = export.source_names(range(len(clip.frames)), source_file_names(video))
    return export.export_zip_palette(masks, names, folder / f"{stem}_masks.zip")


def propagate_masks(ctx: DemoContext, frames: Sequence[np.ndarray], mask: np.ndarray,
                    adapt_steps: int) -> Iterator[tuple[int, np.ndarray | None]]:
    """The network's part of `segment`, one step at a time: `(-1, None)` after each adaptation
    step, then `(frame_idx, [H, W] uint8 ids at the working size)` per frame. A generator, so
    that on the shared torch thread other users' clicks and views run between its frames; as
    one call it held that thread for the whole clip (a click waited 3.1 s behind a 24-frame
    call, and minutes behind one with adaptation)."""
    config = dataclasses.replace(ctx.session_config(frames[0].shape[:2]),
                                 adapt_steps=adapt_steps)
    session = ctx.predictor.new_session(config)
    for _ in iter_adapt_session(ctx.predictor, session, [(frames[0], mask)]):  # steps > 0
        yield -1, None
    try:
        for out in run_pass(ctx.predictor, session, frames, {0: mask}, 0, len(frames) - 1):
            yield out.frame_idx, out.mask
    except RuntimeError as exc:  # e.g. out of memory: a message, not a bare server error
        log.exception("segment failed")
        raise gr.Error(f"Segmentation stopped: {exc}") from exc


def propagate_seconds(ctx: DemoContext, frames: Sequence[np.ndarray], mask: np.ndarray,
                      adapt_steps: int) -> float:
    """GPU time to reserve for `propagate_masks` (same arguments): this clip's frames and
    the fine-tuning steps asked for."""
    return gpu_seconds(ctx.cfg, len(frames)) + ctx.cfg.gpu_adapt_step_s * adapt_steps


def segment_endpoint(ctx: DemoContext) -> Callable[..., str]:
    """`segment` as the app's /segment callback: `ctx` bound, the network part wrapped for
    the GPU (the torch thread, or ZeroGPU's reservation)."""
    on_gpu = gpu_handler(propagate_masks, ctx, propagate_seconds)

    @functools.wraps(segment)
    def endpoint(video: str | None, first_mask: str | None,
                 adapt_steps: float | None = 0) -> str:
        return segment(ctx, video, first_mask, adapt_steps, masks_on_gpu=on_gpu)
    signature = inspect.signature(segment)  # Gradio reads the inputs from it: no ctx
    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values())[1:4])
    return endpoint


def _adapt_steps(value: float | None) -> int:
    """The API's adaptation steps as an int in 0..MAX_ADAPT_STEPS, or a gr.Error."""
    try:
        return whole_in(0 if value is None else value, 0, MAX_ADAPT_STEPS, "adapt_steps")
    except ValueError as exc:
        raise gr.Error(f"Bad input: {exc}.") from None


def info(ctx: DemoContext) -> dict:
    """Device, working size and limits, so a script knows what `segment` will do."""
    return {"device": str(ctx.predictor.device), "short_side": ctx.short_side,
            "max_frames": ctx.max_frames, "max_upload_mb": ctx.cfg.max_upload_bytes // 2**20,
            "mask_size": f"the clip's own, long side capped at {export.MAX_SIDE}",
            "random_weights": ctx.cfg.random_weights, "model": ctx.predictor.model_name,
            "examples": ctx.cfg.example_names()}
