"""Event wiring of the Gradio demo: `build_demo(predictor, cfg) -> gr.Blocks`.

The panels' components come from `demo/layout.py`; here live the page frame and the wiring.
Every callback is a handler from `demo/handlers_*.py`, bound to a DemoContext. GPU work shares
one queue (`concurrency_id="gpu"`); cheap UI callbacks run in their own queue. UI events are
private; `segment` and `info` are the public API.
"""

from __future__ import annotations

import os
import threading
from types import SimpleNamespace

import gradio as gr

from demo import clicks, explain, gradio_cache, layout, plots, zerogpu
from demo import handlers_ablation as ablation
from demo import handlers_annotate as annotate
from demo import handlers_api as api
from demo import handlers_export as exporting
from demo import handlers_import as importing
from demo import handlers_inspect as inspecting
from demo import handlers_load as loading
from demo import handlers_propagate as propagation
from demo import handlers_settings as knobs
from demo import handlers_stop as stopping
from demo.config import DemoConfig
from demo.eviction import IdleTabReleaser, release_session
from demo.folders import sweep_stale_folders
from demo.handlers import (
    DemoContext,
    bind,
    clear_pass_refusal,
    ends_without_outputs,
    gpu_handler,
    release_tab,
    streaming,
)
from demo.handlers import (
    state_output_kept as kept,
)
from demo.widgets import ClampedSlider
from srnet import Predictor

TAKE_STROKES = ("(strokes, state) => [window.srnetPainter ? window.srnetPainter.take() : '[]', "
                "state]")
PRIVATE = {"api_visibility": "private"}
# Passed to `launch(css=...)` (Gradio 6 takes page CSS there). Gradio stacks the page's
# columns below 768 px (measured: side by side at 768, stacked at 767), where `.phone-only`
# shows. Panel views carry their captions
# inside the image: Gradio's icon buttons go in a row above it, not over the captions' ends.
# On a phone every row of tabs fits with narrower padding: Gradio folds the tabs that do not
# fit into a "⋯" menu, where a user may never find Look inside (at 360 px) or Confidence and
# Ablation (below 480 px). Strips of three or more captioned panels scroll sideways there at
# a readable width instead of shrinking to a third of the screen each.
# A notice's toast lies over the frame's top-right corner while the view is scrolled up to
# be clicked, and took the click (lost, unsaid): clicks go through it to the frame; its
# text is also in the status line, and its close button still works.
CSS = """
.panels .icon-button-wrapper.top-panel { position: static; justify-content: flex-end; }
.phone-only { display: none; }
@media (max-width: 767px) { .phone-only { display: block; } }
@media (max-width: 480px) {
  .tab-container button { padding: 0 7px; }
  .strip .image-frame { overflow-x: auto; justify-content: flex-start; }
  .strip .image-frame img { min-width: 220%; max-width: none; }
}
@media (max-width: 350px) { .tab-container button { padding: 0 4px; } }
.toast-wrap, .toast-wrap * { pointer-events: none !important; }
.toast-wrap .toast-close { pointer-events: auto !important; }
"""
UI_QUEUE = {"concurrency_id": "ui", "concurrency_limit": 4, **PRIVATE}
# Loads (decoding up to 200 MB) and exports (tens of seconds at the source size) take their own
# two slots: in the "ui" group four of them stalled every user's clicks and frame changes.
IO_QUEUE = {"concurrency_id": "io", "concurrency_limit": 2, **PRIVATE}
# On a phone the memory timeline is wider than the screen (CSS above): scroll it so that its
# "now" line is in view; on a 90-frame clip frame 40's line started off-screen. In the page,
# from the plot's geometry (demo.plots.memory_timeline: its "now" line's column).
SCROLL_TO_NOW = f"""(frameIdx) => {{
  const box = document.querySelector('#timeline .image-frame');
  const range = document.querySelector('#frame input[type=range]');
  if (!box || !range) return;
  const go = () => {{
    const img = box.querySelector('img');
    if (!img || box.scrollWidth <= box.clientWidth) return;
    const n = Number(range.max) + 1, left = {plots.TIMELINE_LEFT}, width = {plots.PLOT_WIDTH};
    const x = (left + (Number(frameIdx) + 0.5) * (width - {plots.PLOT_RIGHT} - left) / n) / width;
    box.scrollLeft = Math.max(0, x * img.clientWidth - box.clientWidth / 2);
  }};
  setTimeout(go, 50); setTimeout(go, 400);
}}"""


def _swap(fn):
    """`fn(state, strokes)` as a callback taking (strokes, state): the page's JS fills the
    first input from the painter and passes the state through."""
    def swapped(strokes: str | None, state: object) -> tuple:
        return fn(state, strokes)
    swapped.__name__ = fn.__name__
    return swapped


def _wire_annotation(c: SimpleNamespace, ctx: DemoContext) -> None:
    outs = [c.state, c.view, c.caption, c.objects, c.name, c.editor, c.status]
    c.annotate_outs = outs
    # copied in the page, no server call: what a click did, under the frame on a phone
    c.status.change(None, [c.status], c.status_near, js="(text) => [text, text]",
                    queue=False, **PRIVATE)
    settings = [c.mem_every, c.top_k, c.local, c.max_working, c.mirror, c.adapt]
    load_outs = [c.state, c.frame, *outs[1:-1], *settings, c.status]
    trim = [c.start, c.end, c.step, c.state, c.size]
    # After any load the last clip's progress line, preview, video, exports and internals go:
    # they belong to the frames that were replaced (a failed load keeps them, with its state).
    stale = [c.progress, c.preview, c.video, c.export_video, c.export_palette, c.export_binary,
             c.export_rgba, c.export_status, c.ablation_status]
    loads = [c.upload.upload(kept(bind(loading.load_upload, ctx)), [c.upload, *trim], load_outs,
                             **IO_QUEUE),
             c.reload.click(kept(bind(loading.reload_clip, ctx)), trim, load_outs, **IO_QUEUE),
             *(button.click(kept(bind(loading.load_example, ctx)), [button, *trim], load_outs,
                            **IO_QUEUE) for button in c.examples)]
    for event in loads:
        event.then(loading.clear_stale_views, [c.state], stale, **UI_QUEUE).then(
            inspecting.inspect_if_open, [c.state, c.frame], c.inspect_outs, **UI_QUEUE)
    c.frame.change(kept(annotate.show_frame), [c.state, c.frame], outs, trigger_mode="always_last",
                   **UI_QUEUE)
    # Clicks and Undo queue up. A second click made while the first was being answered was
    # dropped without a word, twice over: Gradio's default trigger mode ("once") refuses a
    # new event while one is pending, and the default progress overlay on the view (an
    # output) took the click. One tab's edits run one at a time (`edits_wait_for_passes`).
    quick = {"trigger_mode": "multiple", "show_progress": "minimal", **UI_QUEUE}
    c.view.select(kept(annotate.on_click), [c.state, c.mode, c.click_method], outs, **quick)
    c.undo.click(kept(annotate.undo_click), [c.state, c.click_method], outs, **quick)
    c.clear.click(kept(annotate.clear_clicks), [c.state], outs, **UI_QUEUE)
    c.apply_paint.click(kept(_swap(annotate.apply_paint)), [c.strokes, c.state], outs,
                        js=TAKE_STROKES, **UI_QUEUE)
    c.clear_paint.click(None, js="() => { window.srnetPainter && window.srnetPainter.clear(); }")
    c.objects.input(kept(annotate.select_object), [c.state, c.objects], outs, **UI_QUEUE)
    c.add.click(kept(annotate.add_object), [c.state], outs, **UI_QUEUE)
    c.rename.click(kept(annotate.rename_object), [c.state, c.name], outs, **UI_QUEUE)
    c.remove.click(kept(bind(annotate.remove_object, ctx)), [c.state], outs, **c.gpu_queue)
    c.import_mask.upload(kept(importing.import_mask), [c.state, c.import_mask], outs, **UI_QUEUE)


def _wire_propagation(c: SimpleNamespace, ctx: DemoContext) -> None:
    run = kept(ends_without_outputs(gpu_handler(propagation.propagate, ctx,
                                                propagation.propagate_seconds)))
    outs = [c.state, c.preview, c.progress, c.video, c.view, c.caption]
    events = [button.click(run, [c.state, gr.State(direction), c.frame], outs,
                           show_progress="hidden", **c.gpu_queue)
              for button, direction in ((c.forward, "forward"), (c.backward, "backward"),
                                        (c.both, "both"))]
    c.ablation_event = c.run_ablation.click(
        kept(ends_without_outputs(gpu_handler(ablation.run_ablation, ctx,
                                              ablation.ablation_seconds))),
        [c.state, c.frame],
        [c.state, c.frame, c.ablation, c.ablation_status], show_progress="hidden",
        **c.gpu_queue)
    for stop in (c.stop, c.stop_ablation):  # finish_view says on the Ablation tab what stopped
        stop.click(stopping.stop, [c.state], [c.progress], queue=False, **PRIVATE,
                   cancels=[*events, c.ablation_event]).then(
            kept(stopping.finish_view), [c.state], [*outs[2:], c.ablation_status],
            **UI_QUEUE)
    for event in events:  # (the ablation moves the Frame slider: its change refreshes them)
        if zerogpu.ships_host_state():  # its worker drew the start frame: the slider's now
            event.then(kept(annotate.redraw), [c.state], c.annotate_outs, **UI_QUEUE)
        event.then(inspecting.inspect_if_open, [c.state, c.frame], c.inspect_outs, **UI_QUEUE)
        event.then(clear_pass_refusal, [c.status], [c.status], **UI_QUEUE)
        event.then(exporting.exports_outdated, [c.export_status, c.state],
                   [c.export_video, c.export_palette, c.export_binary, c.export_rgba,
                    c.export_status], **UI_QUEUE)
    c.apply_settings.click(kept(bind(knobs.apply_settings, ctx)),
                           [c.state, c.mem_every, c.top_k, c.local, c.max_working,
                            c.mirror, c.adapt],
                           [c.state, c.memory_status], **c.gpu_queue)
    c.pin.click(bind(knobs.pin_frame, ctx), [c.state, c.frame], [c.memory_status],
                **c.gpu_queue)
    c.reset.click(bind(knobs.reset_memory, ctx), [c.state], [c.memory_status],
                  **c.gpu_queue)


def _wire_inspect_export(c: SimpleNamespace, ctx: DemoContext) -> None:
    c.refresh.click(inspecting.inspect_frame, [c.state, c.frame], c.inspect_outs, **UI_QUEUE)
    # On every change, not on `release`: a typed number (Enter) or an arrow key changes the
    # frame without a release, and the views stayed on the old frame. "always_last" runs one
    # render at a time during a drag and ends on the frame the slider stops at.
    c.frame.change(inspecting.inspect_if_open, [c.state, c.frame], c.inspect_outs,
                   trigger_mode="always_last", **UI_QUEUE)
    c.inspect_tab.select(inspecting.inspect_on_open, [c.state, c.frame], c.inspect_outs,
                         **UI_QUEUE).then(inspecting.set_inspect_open, [c.state, gr.State(True)],
                                          None, **UI_QUEUE).then(
        inspecting.object_menu, [c.state], [c.inspect_object], **UI_QUEUE)
    c.inspect_object.input(inspecting.inspect_object, [c.state, c.inspect_object, c.frame],
                           c.inspect_outs, **UI_QUEUE)
    for tab in (c.annotate_tab, c.export_tab):
        tab.select(inspecting.set_inspect_open, [c.state, gr.State(False)], None, **UI_QUEUE)
    # Look inside may have changed the selected object: Annotate's list and view follow it
    c.annotate_tab.select(kept(annotate.refresh), [c.state, c.frame],
                          [c.state, c.view, c.caption, c.objects, c.name, c.editor, c.status],
                          **UI_QUEUE)
    c.mem_query.select(inspecting.memory_click, [c.state, c.frame],
                       [c.mem_query, c.mem_reads, c.inspect_status], **UI_QUEUE)
    # a click on a plot's frame axis moves the Frame slider there (the views follow it)
    c.confidence.select(inspecting.frame_from_plot, [c.state], [c.frame], **UI_QUEUE)
    c.timeline.select(inspecting.frame_from_timeline, [c.state], [c.frame], **UI_QUEUE)
    c.timeline.change(None, [c.frame], None, js=SCROLL_TO_NOW, queue=False, **PRIVATE)
    c.export.click(exporting.export_all, [c.state, c.export_source, c.export_cutout],
                   [c.export_video, c.export_palette, c.export_binary, c.export_rgba,
                    c.export_status], **IO_QUEUE)
    c.api_run.click(api.segment_endpoint(ctx),
                    [c.api_video, c.api_mask, c.api_adapt], [c.api_out],
                    api_name="segment", concurrency_id="gpu",
                    concurrency_limit=ctx.cfg.gpu_concurrency)
    c.api_info_btn.click(bind(api.info, ctx), None, [c.api_info], api_name="info",
                         queue=False)


def _release_on_unload(demo: gr.Blocks, grace_s: float) -> None:
    """Tab closed: free its state `grace_s` later, unless an event of the tab came in since.
    Gradio alone keeps a closed tab's state for an hour (in case it reopens), which let
    memory grow with every visitor; released at once, a dropped heartbeat connection (a
    network blip, a phone suspending the page) lost the clip of a page still open."""
    def release(request: gr.Request) -> None:
        holder = getattr(demo, "state_holder", None)
        session = getattr(request, "session_hash", None)
        if holder is None or not session:
            return
        closed_at = holder.time_last_used.get(session)  # this unload's own call touched it

        def unless_back() -> None:
            if holder.time_last_used.get(session) == closed_at:  # no event since
                release_session(holder, session)  # runs release_tab on the tab's DemoState

        timer = threading.Timer(grace_s, unless_back)
        timer.daemon = True
        timer.start()

    demo.unload(release)


def build_demo(predictor: Predictor, cfg: DemoConfig) -> gr.Blocks:
    """The whole app for one shared predictor (never mutated; one session per browser tab)."""
    gradio_cache.install()
    sweep_stale_folders(cfg.temp_root)  # what earlier server processes left behind
    idle_tabs = IdleTabReleaser(cfg.evict_idle_s, busy=streaming)
    ctx = DemoContext(predictor, cfg, make_room=idle_tabs)
    # once per process; failure → classic + note. On ZeroGPU clicks run outside GPU calls,
    # where there is no CUDA: the click model stays on the CPU there.
    clicks.load_learned(device="cpu" if zerogpu.mode() == "spaces" else ctx.device_type)
    c = SimpleNamespace(gpu_queue={"concurrency_id": "gpu",
                                   "concurrency_limit": cfg.gpu_concurrency, **PRIVATE})
    banner = explain.device_banner(ctx.device_type, cfg.fps_hint, ctx.short_side,
                                   ctx.max_frames, cfg.random_weights, cfg.checkpoint_note)
    ttl = cfg.state_ttl_s  # uploads and served files in Gradio's cache go after the same time
    # analytics off: Gradio's fetch its latest version and post usage at start (the app
    # downloads nothing unless a user asks), and they leave huggingface_hub's HTTP client
    # behind, which its at-fork hook frees in every forked child (ffmpeg, a ZeroGPU worker):
    # a deadlock when another thread held OpenSSL's lock at the fork (see srnet/io.py).
    # GRADIO_ANALYTICS_ENABLED=True opts back in.
    analytics = os.environ.get("GRADIO_ANALYTICS_ENABLED", "False") == "True"
    with gr.Blocks(title="SRNet video object segmentation", delete_cache=(ttl, ttl),
                   analytics_enabled=analytics) as demo:
        c.state = gr.State(None, time_to_live=cfg.state_ttl_s, delete_callback=release_tab)
        gr.Markdown("# SRNet: follow an object through a video, and look inside")
        gr.Markdown(f"{explain.INTRO}\n\n{banner}", elem_id="banner")
        with gr.Row():
            with gr.Column(scale=1):
                layout.input_panel(c, cfg, ctx.device_type)
            with gr.Column(scale=3):
                c.frame = ClampedSlider(0, 1, value=0, step=1, label="Frame", elem_id="frame")
                with gr.Tabs():
                    with gr.Tab("1 · Annotate") as c.annotate_tab:
                        layout.annotate_panel(c)
                        layout.propagate_panel(c)
                    with gr.Tab("2 · Look inside", elem_id="inspect-tab") as c.inspect_tab:
                        layout.inspect_panel(c)
                    with gr.Tab("3 · Export") as c.export_tab:
                        layout.export_panel(c)
        c.inspect_outs = [c.ptm_masks, c.ptm_assign, c.ptm_attention, c.ptm_note,
                          c.fam_arrows, c.fam_flow, c.fam_aligned, c.fam_modulation, c.fam_note,
                          c.mem_query, c.mem_reads, c.timeline, c.confidence, c.ablation,
                          c.ablation_status, c.inspect_status]
        _wire_annotation(c, ctx)
        _wire_propagation(c, ctx)
        _wire_inspect_export(c, ctx)
        _release_on_unload(demo, cfg.unload_grace_s)
    idle_tabs.attach(demo)
    return demo
