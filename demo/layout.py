"""Layout of the Gradio demo: the panels' components, filled into a namespace `c` that
`demo/ui.py` wires to the handlers. No callbacks here."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from demo import clicks, explain
from demo.config import MAX_ADAPT_STEPS, DemoConfig
from demo.export import CUTOUT_CHOICES
from demo.painter import PAINTER_CSS, PAINTER_JS, READY_JS, painter_html
from demo.video_io import VIDEO_EXTS
from demo.widgets import ClampedNumber, ClampedSlider

CLICK_MODES = ["add (positive)", "remove (negative)"]
PAINT_MODES = ["brush (adds)", "eraser (removes)"]


def input_panel(c: SimpleNamespace, cfg: DemoConfig, device_type: str) -> None:
    limit = f"{cfg.max_upload_bytes / 2**20:.0f} MB"
    c.upload = gr.File(label=f"Video (mp4, webm, mov, avi, mkv, m4v, gif, animated webp or "
                             f"png) or zip of frames, up to {limit}",
                       file_types=[*VIDEO_EXTS, ".webp", ".png", ".zip"], type="filepath")
    with gr.Accordion("Trim and subsample", open=False):
        c.start = ClampedNumber(0, label="First frame", precision=0, minimum=0)
        c.end = ClampedNumber(0, label="Last frame (0 = through the end)", precision=0, minimum=0)
        c.step = ClampedNumber(1, label="Keep every n-th frame", precision=0, minimum=1)
        c.size = gr.Radio(cfg.working_sizes(device_type), value=cfg.short_side(device_type),
                          label="Working size (short side, px)",
                          info="smaller is faster; 480 is the size the model is measured at")
        c.reload = gr.Button("Reload with these settings", size="sm")
    gr.Markdown("**Examples** (with a ready first-frame mask):")
    with gr.Row():
        c.examples = [gr.Button(name, size="sm") for name in cfg.example_names()]
    c.status = gr.Markdown(elem_id="status")


def annotate_panel(c: SimpleNamespace) -> None:
    with gr.Tabs():
        with gr.Tab("Click"):
            c.mode = gr.Radio(CLICK_MODES, value=CLICK_MODES[0], label="Click mode")
            c.click_method = click_method_radio()
            c.view = gr.Image(type="numpy", format="png", interactive=False, elem_id="annotate",
                              label="Click on the object", buttons=["fullscreen"])
            gr.HTML('<div class="click-status">Load a clip first.</div>', elem_id="click-ready",
                    js_on_load=READY_JS)
            c.status_near = [_status_copy("status-near")]
            with gr.Row():
                c.undo = gr.Button("Undo last edit", size="sm")
                c.clear = gr.Button("Clear this frame's annotation", size="sm")
            gr.Markdown(explain.ANNOTATE)
        with gr.Tab("Paint"):
            with gr.Row():
                c.paint_mode = gr.Radio(PAINT_MODES, value=PAINT_MODES[0], label="Tool",
                                        interactive=True, elem_id="paint-mode", scale=2)
                c.paint_size = ClampedSlider(2, 80, value=16, step=1, label="Size (px)",
                                         interactive=True, elem_id="paint-size", scale=2)
            c.editor = gr.HTML(painter_html(None, "none"), elem_id="painter",
                               js_on_load=PAINTER_JS, css_template=PAINTER_CSS)
            c.strokes = gr.Textbox(visible=False)
            with gr.Row():
                c.apply_paint = gr.Button("Use painted mask", size="sm", elem_id="apply-paint")
                c.clear_paint = gr.Button("Discard strokes", size="sm")
            c.status_near.append(_status_copy("status-near-paint"))
            gr.Markdown(explain.PAINT)
    c.caption = gr.Markdown(elem_id="caption")
    with gr.Row():
        c.objects = gr.Dropdown(label="Object", choices=[], interactive=True, scale=2)
        c.name = gr.Textbox(label="Name", scale=2)
        c.rename = gr.Button("Rename", size="sm", scale=1)
        c.add = gr.Button("Add object", size="sm", scale=1)
        c.remove = gr.Button("Remove object", size="sm", scale=1)
        # a mask made elsewhere as this frame's annotation (demo/handlers_import.py)
        c.import_mask = gr.UploadButton("Import mask (PNG)", file_types=[".png"], size="sm",
                                        scale=1, elem_id="import-mask")


def _status_copy(elem_id: str) -> gr.Markdown:
    """A copy of the status line right under the frame, shown on a phone only (CSS in
    demo/ui.py): there the left column, and the status line with it, stacks a screen above
    the frame, so what a click or a stroke did was out of sight."""
    return gr.Markdown(elem_id=elem_id, elem_classes=["phone-only"])


def click_method_radio() -> gr.Radio:
    """learned (the click model, default) or classic (GrabCut); with a visible note and classic
    preselected when the click model could not be loaded."""
    note = clicks.learned_note()
    info = ("learned: the click-to-mask network (one click usually selects the object); "
            "classic: OpenCV GrabCut") if note is None else \
        f"The learned click model is unavailable ({note}); using classic GrabCut."
    return gr.Radio(list(clicks.CLICK_METHODS), value=clicks.CLASSIC if note else clicks.LEARNED,
                    label="Click model", info=info, elem_id="click-method")


def propagate_panel(c: SimpleNamespace) -> None:
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
            c.mem_every = ClampedSlider(1, 20, value=5, step=1, label="Memory every (frames)")
            c.top_k = ClampedSlider(1, 64, value=20, step=1, label="Top-k")
            c.local = ClampedSlider(1, 5, value=1, step=1, label="Local frame (t − s)")
            c.max_working = ClampedSlider(1, 30, value=10, step=1, label="Working-memory cap")
        c.mirror = gr.Checkbox(False, label="Mirror averaging (half the speed)",
                               elem_id="mirror-average",
                               info="each frame also runs mirrored left-right, with its own "
                                    "memory, and the two answers are averaged")
        c.adapt = ClampedSlider(0, MAX_ADAPT_STEPS, value=0, step=10, elem_id="adapt-steps",
                            label="Online adaptation: fine-tuning steps before the pass (0 = off)",
                            info="a copy of the network first trains on warped versions of your "
                                 "annotated frames; 100 steps: +1 J&F on held-out clips, about "
                                 "75 s on a 2-core CPU (a GPU: not yet measured); 30 steps "
                                 "gained on single objects only")
        with gr.Row():
            c.apply_settings = gr.Button("Apply settings", size="sm")
            c.pin = gr.Button("Pin this frame as permanent memory", size="sm")
            c.reset = gr.Button("Clear working memory", size="sm")
        c.memory_status = gr.Markdown()


def image(label: str, elem_id: str | None = None, panels: bool = False,
          strip: bool = False) -> gr.Image:
    """A read-only PNG view; `panels` = images captioned inside (no label box); `strip` = three
    or more of them side by side, which a phone shows wider than the screen, scrolled sideways
    (`ui.CSS`), so that their captions stay readable."""
    classes = (["panels"] if panels or strip else []) + (["strip"] if strip else [])
    return gr.Image(type="numpy", format="png", interactive=False, label=label, elem_id=elem_id,
                    show_label=not classes, elem_classes=classes or None,
                    buttons=["fullscreen", "download"])


def inspect_panel(c: SimpleNamespace) -> None:
    with gr.Row():
        c.refresh = gr.Button("Show internals of this frame", elem_id="inspect", scale=3)
        # the object the views show (the selected object, shared with Annotate's list)
        c.inspect_object = gr.Dropdown(label="Object", choices=[], interactive=True, scale=1,
                                       elem_id="inspect-object")
    c.inspect_status = gr.Markdown(elem_id="inspect-status")
    with gr.Tabs():
        with gr.Tab("PTM", id="ptm"):
            gr.Markdown(explain.PTM)
            c.ptm_masks = image("Each layer's mask against the final mask", "ptm-masks",
                                 strip=True)
            gr.Markdown(explain.PTM_ASSIGN)
            c.ptm_assign = image("Which prototype each pixel picks (eq 9)", "ptm-assign",
                                  strip=True)
            gr.Markdown(explain.PTM_ATTENTION)
            c.ptm_attention = image("Where each prototype looks (eq 8)", "ptm-attention",
                                     strip=True)
            c.ptm_note = gr.Markdown(elem_id="ptm-note")
        with gr.Tab("FAM", id="fam"):
            gr.Markdown(explain.FAM)
            with gr.Row():
                c.fam_arrows = image("Offsets as arrows", "fam-arrows", panels=True)
                c.fam_modulation = image("Modulation (trust)", "fam-modulation", panels=True)
            c.fam_flow = image("Offsets as colours", "fam-flow", panels=True)
            gr.Markdown(explain.FAM_ALIGN)
            c.fam_aligned = image("Alignment", "fam-aligned", strip=True)
            c.fam_note = gr.Markdown(elem_id="fam-note")
        with gr.Tab("Memory", id="memory"):
            gr.Markdown(explain.MEMORY)
            c.mem_query = image("Click a pixel", "mem-query")
            c.mem_reads = image("Where it reads from", "mem-reads", panels=True)
            c.timeline = image("Frames in memory", "timeline", strip=True)  # phone: scrolls
        with gr.Tab("Confidence", id="confidence"):
            gr.Markdown(explain.CONFIDENCE)
            # a strip too: its axis text is unreadable at a phone's width, scrolled it is not
            c.confidence = image("Confidence, and each object's size, per frame",
                                 "confidence-plot", strip=True)
        with gr.Tab("Ablation", id="ablation"):
            gr.Markdown(explain.ABLATION)
            with gr.Row():  # its own Stop: the pass's is on the Annotate tab, out of sight
                c.run_ablation = gr.Button("Rerun: FAM off, PTM off, frozen memory, optical "
                                           "flow", elem_id="run-ablation", scale=4)
                c.stop_ablation = gr.Button("■ Stop", variant="stop", elem_id="stop-ablation",
                                            scale=1)
            c.ablation_status = gr.Markdown(elem_id="ablation-status")
            c.ablation = image("Full model, its ablations and optical flow", "ablation-view",
                               strip=True)


def export_panel(c: SimpleNamespace) -> None:
    gr.Markdown(explain.EXPORT)
    c.export_source = gr.Checkbox(
        True, label="Masks and cut-outs at the source resolution", elem_id="export-source",
        info="decoded again from your file (long side up to 1920 px; slower for large "
             "clips); off: at the working size. The overlay video is at the working size.")
    c.export_cutout = gr.Radio(list(CUTOUT_CHOICES), value=CUTOUT_CHOICES[0],
                               label="RGBA cut-outs of", elem_id="export-cutout")
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
        c.api_adapt = gr.Number(0, label="Online adaptation steps (0 = off, at most "
                                f"{MAX_ADAPT_STEPS})", precision=0, minimum=0,
                                maximum=MAX_ADAPT_STEPS)
        c.api_run = gr.Button("Segment")
        c.api_out = gr.File(label="Masks (zip)")
        c.api_info = gr.JSON(visible=False)
        c.api_info_btn = gr.Button(visible=False)
