"""Layout and event wiring of the Gradio demo: `build_demo(predictor, cfg) -> gr.Blocks`.

Only components and wiring live here; every callback is a handler from `demo/handlers_*.py`,
bound to a DemoContext. GPU work shares one queue (`concurrency_id="gpu"`); cheap UI callbacks
run in their own queue. UI events are private; `segment` and `info` are the public API.
"""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from demo import clicks, explain, gradio_cache, zerogpu
from demo import handlers_ablation as ablation
from demo import handlers_annotate as annotate
from demo import handlers_api as api
from demo import handlers_export as exporting
from demo import handlers_inspect as inspecting
from demo import handlers_load as loading
from demo import handlers_propagate as propagation
from demo.config import DemoConfig
from demo.handlers import DemoContext, bind, gpu_handler
from demo.painter import PAINTER_CSS, PAINTER_JS, READY_JS, painter_html
from demo.state import cleanup_state
from demo.video_io import VIDEO_EXTS
from srnet import Predictor

CLICK_MODES = ["add (positive)", "remove (negative)"]
PAINT_MODES = ["brush (adds)", "eraser (removes)"]
TAKE_STROKES = ("(strokes, state) => [window.srnetPainter ? window.srnetPainter.take() : '[]', "
                "state]")
PRIVATE = {"api_visibility": "private"}
UI_QUEUE = {"concurrency_id": "ui", "concurrency_limit": 4, **PRIVATE}


def _input_panel(c: SimpleNamespace, cfg: DemoConfig) -> None:
    limit = f"{cfg.max_upload_bytes / 2**20:.0f} MB"
    c.upload = gr.File(label=f"Video (mp4, webm, mov, avi, gif) or zip of frames, up to {limit}",
                       file_types=[*VIDEO_EXTS, ".zip"], type="filepath")
    with gr.Accordion("Trim and subsample", open=False):
        c.start = gr.Number(0, label="First frame", precision=0, minimum=0)
        c.end = gr.Number(0, label="Last frame (0 = through the end)", precision=0, minimum=0)
        c.step = gr.Number(1, label="Keep every n-th frame", precision=0, minimum=1)
        c.reload = gr.Button("Reload with these settings", size="sm")
    gr.Markdown("**Examples** (with a ready first-frame mask):")
    with gr.Row():
        c.examples = [gr.Button(name, size="sm") for name in cfg.example_names()]
    c.status = gr.Markdown(elem_id="status")


def _annotate_panel(c: SimpleNamespace) -> None:
    with gr.Tabs():
        with gr.Tab("Click"):
            c.mode = gr.Radio(CLICK_MODES, value=CLICK_MODES[0], label="Click mode")
            c.click_method = _click_method_radio()
            c.view = gr.Image(type="numpy", format="png", interactive=False, elem_id="annotate",
                              label="Click on the object", buttons=["fullscreen"])
            gr.HTML('<div class="click-status">Load a clip first.</div>', elem_id="click-ready",
                    js_on_load=READY_JS)
            with gr.Row():
                c.undo = gr.Button("Undo last click", size="sm")
                c.clear = gr.Button("Clear this frame's annotation", size="sm")
            gr.Markdown(explain.ANNOTATE)
        with gr.Tab("Paint"):
            with gr.Row():
                c.paint_mode = gr.Radio(PAINT_MODES, value=PAINT_MODES[0], label="Tool",
                                        interactive=True, elem_id="paint-mode", scale=2)
                c.paint_size = gr.Slider(2, 80, value=16, step=1, label="Size (px)",
                                         interactive=True, elem_id="paint-size", scale=2)
            c.editor = gr.HTML(painter_html(None, "none"), elem_id="painter",
                               js_on_load=PAINTER_JS, css_template=PAINTER_CSS)
            c.strokes = gr.Textbox(visible=False)
            with gr.Row():
                c.apply_paint = gr.Button("Use painted mask", size="sm", elem_id="apply-paint")
                c.clear_paint = gr.Button("Discard strokes", size="sm")
            gr.Markdown(explain.PAINT)
    c.caption = gr.Markdown(elem_id="caption")
    with gr.Row():
        c.objects = gr.Dropdown(label="Object", choices=[], interactive=True, scale=2)
        c.name = gr.Textbox(label="Name", scale=2)
        c.rename = gr.Button("Rename", size="sm", scale=1)
        c.add = gr.Button("Add object", size="sm", scale=1)
        c.remove = gr.Button("Remove object", size="sm", scale=1)


def _click_method_radio() -> gr.Radio:
    """learned (the click model, default) or classic (GrabCut); with a visible note and classic
    preselected when the click model could not be loaded."""
    note = clicks.learned_note()
    info = ("learned: the click-to-mask network (one click usually selects the object); "
            "classic: OpenCV GrabCut") if note is None else \
        f"The learned click model is unavailable ({note}); using classic GrabCut."
    return gr.Radio(list(clicks.CLICK_METHODS), value=clicks.CLASSIC if note else clicks.LEARNED,
                    label="Click model", info=info, elem_id="click-method")


def _propagate_panel(c: SimpleNamespace) -> None:
    with gr.Row():
        c.backward = gr.Button("◀ Propagate backward")
        c.both = gr.Button("◀ Both ▶")
        c.forward = gr.Button("Propagate ▶", variant="primary", elem_id="propagate")
        c.stop = gr.Button("■ Stop", variant="stop")
    c.progress = gr.Markdown(elem_id="progress")
    with gr.Row():
        c.preview = gr.Image(type="numpy", format="jpeg", interactive=False,
                             label="Live preview", elem_id="preview")
        c.video = gr.Video(label="Result", format="mp4", autoplay=False, loop=True)
    with gr.Accordion("Advanced: memory", open=False):
        gr.Markdown(explain.ADVANCED)
        with gr.Row():
            c.mem_every = gr.Slider(1, 20, value=5, step=1, label="Memory every (frames)")
            c.top_k = gr.Slider(1, 64, value=20, step=1, label="Top-k")
            c.local = gr.Slider(1, 5, value=1, step=1, label="Local frame (t − s)")
            c.max_working = gr.Slider(1, 30, value=10, step=1, label="Working-memory cap")
        with gr.Row():
            c.apply_settings = gr.Button("Apply settings", size="sm")
            c.pin = gr.Button("Pin this frame as permanent memory", size="sm")
            c.reset = gr.Button("Clear working memory", size="sm")
        c.memory_status = gr.Markdown()


def _image(label: str, elem_id: str | None = None, panels: bool = False) -> gr.Image:
    """A read-only PNG view; `panels` = side-by-side images captioned inside (no label box)."""
    return gr.Image(type="numpy", format="png", interactive=False, label=label, elem_id=elem_id,
                    show_label=not panels)


def _inspect_panel(c: SimpleNamespace) -> None:
    c.refresh = gr.Button("Show internals of this frame", elem_id="inspect")
    c.inspect_status = gr.Markdown()
    with gr.Tabs():
        with gr.Tab("PTM", id="ptm"):
            gr.Markdown(explain.PTM)
            c.ptm_masks = _image("Each layer's mask against the final mask", "ptm-masks",
                                 panels=True)
            gr.Markdown(explain.PTM_ASSIGN)
            c.ptm_assign = _image("Which prototype each pixel picks (eq 9)", "ptm-assign",
                                  panels=True)
            gr.Markdown(explain.PTM_ATTENTION)
            c.ptm_attention = _image("Where each prototype looks (eq 8)", "ptm-attention",
                                     panels=True)
            c.ptm_note = gr.Markdown(elem_id="ptm-note")
        with gr.Tab("FAM", id="fam"):
            gr.Markdown(explain.FAM)
            with gr.Row():
                c.fam_arrows = _image("Offsets as arrows", "fam-arrows", panels=True)
                c.fam_modulation = _image("Modulation (trust)", "fam-modulation", panels=True)
            c.fam_flow = _image("Offsets as colours", "fam-flow", panels=True)
            gr.Markdown(explain.FAM_ALIGN)
            c.fam_aligned = _image("Alignment", "fam-aligned", panels=True)
            c.fam_note = gr.Markdown(elem_id="fam-note")
        with gr.Tab("Memory", id="memory"):
            gr.Markdown(explain.MEMORY)
            c.mem_query = _image("Click a pixel", "mem-query")
            c.mem_reads = _image("Where it reads from", "mem-reads", panels=True)
            c.timeline = _image("Frames in memory", "timeline", panels=True)
        with gr.Tab("Confidence", id="confidence"):
            gr.Markdown(explain.CONFIDENCE)
            c.confidence = _image("Confidence per frame", "confidence-plot")
        with gr.Tab("Ablation", id="ablation"):
            gr.Markdown(explain.ABLATION)
            c.run_ablation = gr.Button("Rerun with FAM off and with PTM off")
            c.ablation_status = gr.Markdown()
            c.ablation = _image("Full model | FAM off | PTM off", "ablation-view", panels=True)


def _export_panel(c: SimpleNamespace) -> None:
    gr.Markdown(explain.EXPORT)
    c.export = gr.Button("Prepare downloads", variant="primary", elem_id="export")
    c.export_status = gr.Markdown()
    c.export_video = gr.File(label="Overlay video (mp4)")
    with gr.Row():
        c.export_palette = gr.File(label="Palette PNGs (zip)", elem_id="palette-zip")
        c.export_binary = gr.File(label="Binary masks per object (zip)")
        c.export_rgba = gr.File(label="RGBA cut-outs (zip)")
    with gr.Accordion("Batch: segment a clip from a first-frame mask file (API: segment)",
                      open=False):
        with gr.Row():
            c.api_video = gr.File(label="Video or zip of frames", type="filepath")
            c.api_mask = gr.File(label="First-frame mask (PNG)", type="filepath",
                                 file_types=[".png"])
        c.api_run = gr.Button("Segment")
        c.api_out = gr.File(label="Masks (zip)")
        c.api_info = gr.JSON(visible=False)
        c.api_info_btn = gr.Button(visible=False)


def _swap(fn):
    """`fn(state, strokes)` as a callback taking (strokes, state): the page's JS fills the
    first input from the painter and passes the state through."""
    def swapped(strokes: str | None, state: object) -> tuple:
        return fn(state, strokes)
    swapped.__name__ = fn.__name__
    return swapped


def _wire_annotation(c: SimpleNamespace, ctx: DemoContext) -> None:
    outs = [c.state, c.view, c.caption, c.objects, c.name, c.editor, c.status]
    load_outs = [c.state, c.frame, *outs[1:]]
    trim = [c.start, c.end, c.step, c.state]
    c.upload.upload(bind(loading.load_upload, ctx), [c.upload, *trim], load_outs, **UI_QUEUE)
    c.reload.click(bind(loading.load_upload, ctx), [c.upload, *trim], load_outs, **UI_QUEUE)
    for button in c.examples:
        button.click(bind(loading.load_example, ctx), [button, *trim], load_outs, **UI_QUEUE)
    c.frame.change(annotate.show_frame, [c.state, c.frame], outs, trigger_mode="always_last",
                   **UI_QUEUE)
    c.view.select(annotate.on_click, [c.state, c.mode, c.click_method], outs, **UI_QUEUE)
    c.undo.click(annotate.undo_click, [c.state, c.click_method], outs, **UI_QUEUE)
    c.clear.click(annotate.clear_clicks, [c.state], outs, **UI_QUEUE)
    c.apply_paint.click(_swap(annotate.apply_paint), [c.strokes, c.state], outs,
                        js=TAKE_STROKES, **UI_QUEUE)
    c.clear_paint.click(None, js="() => { window.srnetPainter && window.srnetPainter.clear(); }")
    c.objects.input(annotate.select_object, [c.state, c.objects], outs, **UI_QUEUE)
    c.add.click(annotate.add_object, [c.state], outs, **UI_QUEUE)
    c.rename.click(annotate.rename_object, [c.state, c.name], outs, **UI_QUEUE)
    c.remove.click(bind(annotate.remove_object, ctx), [c.state], outs, **c.gpu_queue)


def _wire_propagation(c: SimpleNamespace, ctx: DemoContext) -> None:
    run = gpu_handler(propagation.propagate, ctx, propagation.propagate_seconds)
    outs = [c.state, c.preview, c.progress, c.video, c.view, c.caption]
    events = [button.click(run, [c.state, gr.State(direction), c.frame], outs,
                           show_progress="hidden", **c.gpu_queue)
              for button, direction in ((c.forward, "forward"), (c.backward, "backward"),
                                        (c.both, "both"))]
    c.ablation_event = c.run_ablation.click(
        gpu_handler(ablation.run_ablation, ctx, ablation.ablation_seconds), [c.state, c.frame],
        [c.state, c.ablation, c.ablation_status], show_progress="hidden", **c.gpu_queue)
    c.stop.click(propagation.stop, [c.state], [c.progress], queue=False, **PRIVATE,
                 cancels=[*events, c.ablation_event]).then(
        propagation.finish_view, [c.state], outs[2:], **UI_QUEUE)
    for event in events:
        event.then(inspecting.inspect_if_open, [c.state, c.frame], c.inspect_outs, **UI_QUEUE)
    c.apply_settings.click(bind(propagation.apply_settings, ctx),
                           [c.state, c.mem_every, c.top_k, c.local, c.max_working],
                           [c.state, c.memory_status], **c.gpu_queue)
    c.pin.click(bind(propagation.pin_frame, ctx), [c.state, c.frame], [c.memory_status],
                **c.gpu_queue)
    c.reset.click(bind(propagation.reset_memory, ctx), [c.state], [c.memory_status],
                  **c.gpu_queue)


def _wire_inspect_export(c: SimpleNamespace, ctx: DemoContext) -> None:
    c.refresh.click(inspecting.inspect_frame, [c.state, c.frame], c.inspect_outs, **UI_QUEUE)
    c.frame.release(inspecting.inspect_if_open, [c.state, c.frame], c.inspect_outs,
                    **UI_QUEUE)
    c.inspect_tab.select(inspecting.inspect_frame, [c.state, c.frame], c.inspect_outs,
                         **UI_QUEUE).then(inspecting.set_inspect_open, [c.state, gr.State(True)],
                                          None, **UI_QUEUE)
    for tab in (c.annotate_tab, c.export_tab):
        tab.select(inspecting.set_inspect_open, [c.state, gr.State(False)], None, **UI_QUEUE)
    c.mem_query.select(inspecting.memory_click, [c.state, c.frame],
                       [c.mem_query, c.mem_reads, c.inspect_status], **UI_QUEUE)
    c.export.click(exporting.export_all, [c.state],
                   [c.export_video, c.export_palette, c.export_binary, c.export_rgba,
                    c.export_status], **UI_QUEUE)
    c.api_run.click(gpu_handler(api.segment, ctx, api.segment_seconds), [c.api_video, c.api_mask],
                    [c.api_out],
                    api_name="segment", concurrency_id="gpu",
                    concurrency_limit=ctx.cfg.gpu_concurrency)
    c.api_info_btn.click(bind(api.info, ctx), None, [c.api_info], api_name="info",
                         queue=False)


def _release_on_unload(demo: gr.Blocks) -> None:
    """Tab closed: free its state now. Gradio alone keeps a closed tab's state for an hour
    (in case it reopens), which let memory grow with every visitor."""
    def release(request: gr.Request) -> None:
        holder = getattr(demo, "state_holder", None)
        session = getattr(request, "session_hash", None)
        if holder is not None and session and session in holder:
            holder.delete_state(session)  # runs cleanup_state on the tab's DemoState
            holder.session_data.pop(session, None)
            holder.time_last_used.pop(session, None)

    demo.unload(release)


def build_demo(predictor: Predictor, cfg: DemoConfig) -> gr.Blocks:
    """The whole app for one shared predictor (never mutated; one session per browser tab)."""
    gradio_cache.install()
    ctx = DemoContext(predictor, cfg)
    # once per process; failure → classic + note. On ZeroGPU clicks run outside GPU calls,
    # where there is no CUDA: the click model stays on the CPU there.
    clicks.load_learned(device="cpu" if zerogpu.mode() == "spaces" else ctx.device_type)
    c = SimpleNamespace(gpu_queue={"concurrency_id": "gpu",
                                   "concurrency_limit": cfg.gpu_concurrency, **PRIVATE})
    banner = explain.device_banner(ctx.device_type, cfg.fps_hint, ctx.short_side,
                                   ctx.max_frames, cfg.random_weights, cfg.checkpoint_note)
    ttl = cfg.state_ttl_s  # uploads and served files in Gradio's cache go after the same time
    with gr.Blocks(title="SRNet video object segmentation", delete_cache=(ttl, ttl)) as demo:
        c.state = gr.State(None, time_to_live=cfg.state_ttl_s, delete_callback=cleanup_state)
        gr.Markdown("# SRNet: follow an object through a video, and look inside")
        gr.Markdown(f"{explain.INTRO}\n\n{banner}", elem_id="banner")
        with gr.Row():
            with gr.Column(scale=1):
                _input_panel(c, cfg)
            with gr.Column(scale=3):
                c.frame = gr.Slider(0, 1, value=0, step=1, label="Frame", elem_id="frame")
                with gr.Tabs():
                    with gr.Tab("1 · Annotate and propagate") as c.annotate_tab:
                        _annotate_panel(c)
                        _propagate_panel(c)
                    with gr.Tab("2 · Look inside", elem_id="inspect-tab") as c.inspect_tab:
                        _inspect_panel(c)
                    with gr.Tab("3 · Export") as c.export_tab:
                        _export_panel(c)
        c.inspect_outs = [c.ptm_masks, c.ptm_assign, c.ptm_attention, c.ptm_note,
                          c.fam_arrows, c.fam_flow, c.fam_aligned, c.fam_modulation, c.fam_note,
                          c.mem_query, c.mem_reads, c.timeline, c.confidence, c.ablation,
                          c.inspect_status]
        _wire_annotation(c, ctx)
        _wire_propagation(c, ctx)
        _wire_inspect_export(c, ctx)
        _release_on_unload(demo)
    return demo
