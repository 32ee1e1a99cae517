"""The demo in headless Chromium (Playwright), on the trained checkpoint: load, click, propagate,
look inside, export; brush and eraser on the loaded mask; a screenshot of every view on `bear`
and on the synthetic `teaching` clip (test-artifacts/, look at them).

No retries but one (`_set_slider`): the page says when the click view and the painter are ready
(`data-ready="1"`, and the painter's status line), the test waits for that and then clicks or
paints once. Without /usr/bin/chromium or playwright the tests skip, except with CI=true, where
they fail loudly."""

from __future__ import annotations

import os
import re
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from app_harness import running_app
from PIL import Image

from demo import DemoConfig, plots
from demo.video_io import probe_clip
from srnet import DEFAULT_CHECKPOINT, load_index_mask

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
EXAMPLES = DemoConfig().examples_dir
FRAMES = 8
SHORT_SIDE = 240
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _requirements() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if not (EXAMPLES / "bear" / "clip.mp4").is_file() or not Path(DEFAULT_CHECKPOINT).is_file():
        return "the bundled example or checkpoint is missing"
    return None


MISSING = _requirements()
if MISSING and CI:
    pytest.fail(f"browser tests cannot run with CI=true: {MISSING}", pytrace=False)
pytestmark = [pytest.mark.browser, pytest.mark.skipif(MISSING is not None,
                                                      reason=MISSING or "")]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_app(tmp_path_factory.mktemp("browser"), max_frames=FRAMES,
                     short_side=SHORT_SIDE, trained=True) as url:
        yield url


@pytest.fixture()
def page(app_url: str, request: pytest.FixtureRequest) -> Iterator:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(120_000)
        page.goto(app_url)  # not "networkidle": Gradio keeps an event stream open
        page.get_by_role("button", name="bear", exact=True).wait_for(state="visible")
        try:
            yield page
            if getattr(request.node, "call_failed", False):  # set in conftest.py
                page.screenshot(path=str(ARTIFACTS / f"failure_{request.node.name}.png"),
                                full_page=True)
        finally:
            browser.close()


def _wait_text(page, elem_id: str, text: str, timeout: float | None = None) -> None:
    """Wait for `text` in the element; on a timeout, fail with what it shows instead (a CI
    run in session 34 timed out once, under load, with nothing to go on)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.wait_for_function(
            "([id, text]) => (document.getElementById(id)?.innerText || '').includes(text)",
            arg=[elem_id, text], timeout=timeout)
    except PlaywrightTimeoutError:
        shown = page.evaluate("(id) => document.getElementById(id)?.innerText ?? null", elem_id)
        raise AssertionError(f"#{elem_id} never showed {text!r}; it shows {shown!r}") from None


def _load(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    _wait_text(page, "status", f"Loaded {name}")


def _set_slider(page, elem_id: str, value: int) -> None:
    """Set a slider through its range input (a value typed into the number box reaches the
    slider's state only on some later event) and wait until its number box agrees.

    The one retry in this file: in two of the last three CI runs the number box never showed
    the value after the first fill, and no local run (under load, in the CI's order, from a
    fresh clone) reproduced it. A second fill is what a user does when a drag does not take;
    a second miss fails with what the page showed."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    state = (f"() => [document.querySelector('#{elem_id} input[type=range]')?.value, "
             f"document.querySelector('#{elem_id} input[type=number]')?.value]")
    for attempt in range(2):
        page.locator(f"#{elem_id} input[type=range]").fill(str(value))
        try:
            page.wait_for_function(f"() => ({state})()[1] === '{value}'", timeout=15_000)
        except PlaywrightTimeout:
            shown = page.evaluate(state)
            warnings.warn(f"#{elem_id}: fill {attempt + 1} of {value} not taken; "
                          f"range/number show {shown}", stacklevel=2)
            continue
        return
    raise AssertionError(f"#{elem_id} did not take {value}: range/number show "
                         f"{page.evaluate(state)}")


def _wait_ready(page, selector: str) -> None:
    page.wait_for_selector(f'{selector}[data-ready="1"]')


def _status_numbers(page) -> tuple[int, int]:
    match = re.search(r"mask (\d+) → (\d+) px", page.locator("#status").inner_text())
    assert match, page.locator("#status").inner_text()
    return int(match.group(1)), int(match.group(2))


def _stroke(page, box: dict, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1],
                    steps=20)
    page.mouse.up()


def test_annotate_propagate_inspect_export(page) -> None:
    mask = load_index_mask(EXAMPLES / "bear" / "first_mask.png")
    ys, xs = np.nonzero(mask)
    _load(page, "bear")
    _wait_ready(page, "#annotate")
    box = page.locator("#annotate img").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * np.median(xs) / mask.shape[1],
                     box["y"] + box["height"] * np.median(ys) / mask.shape[0])
    _wait_text(page, "status", "1 click(s)")
    page.locator("#propagate").click()
    _wait_text(page, "progress", "Done")
    assert f"{FRAMES}/{FRAMES} frames" in page.locator("#progress").inner_text()
    page.screenshot(path=str(ARTIFACTS / "01_propagated.png"), full_page=True)
    _export_palette_zip(page, "masks.zip")


def _view_after_adding_an_object(page) -> dict:
    """Load bear, press Add object and scroll the click view back into sight (the button
    scrolled the page); returns the ready view's box."""
    _load(page, "bear")
    page.get_by_role("button", name="Add object").click()
    _wait_text(page, "status", "Added object 2")
    view = page.locator("#annotate img").first
    view.scroll_into_view_if_needed()
    _wait_ready(page, "#annotate")
    return view.bounding_box()


def test_a_second_object_added_then_clicked_is_followed(page) -> None:
    """Add object, then one click on the view (scrolled back into sight: the button scrolled
    the page) marks object 2, and the pass follows both objects."""
    box = _view_after_adding_an_object(page)
    page.mouse.click(box["x"] + box["width"] * 0.12, box["y"] + box["height"] * 0.15)  # a rock
    _wait_text(page, "status", "object 2 on frame 0: 1 click(s)")
    _wait_text(page, "caption", "2: object 2")
    page.locator("#propagate").click()
    _wait_text(page, "progress", "Done")
    assert f"{FRAMES}/{FRAMES} frames" in page.locator("#progress").inner_text()
    page.screenshot(path=str(ARTIFACTS / "two_objects.png"), full_page=True)


def test_a_click_on_the_frame_under_a_notice_reaches_the_frame(page) -> None:
    """A notice's toast (top right of the window) lies over the frame's top-right corner when
    the view is scrolled up to be clicked: a click there must still mark the object (in
    session 36 it landed on the toast and was lost, with nothing said)."""
    _view_after_adding_an_object(page)
    view = page.locator("#annotate img").first
    view.evaluate("img => img.scrollIntoView({block: 'start'})")  # as a user scrolls to click
    box = view.bounding_box()
    toast = page.locator(".toast-body").first.bounding_box()
    assert toast is not None, "no notice shown: nothing to test"
    left = max(box["x"], toast["x"])
    right = min(box["x"] + box["width"], toast["x"] + toast["width"])
    top = max(box["y"], toast["y"] + 40)  # below the toast's header row (its close button)
    bottom = min(box["y"] + box["height"], toast["y"] + toast["height"])
    assert left < right and top < bottom, (box, toast)  # the toast does cover the frame
    page.mouse.click((left + right) / 2, (top + bottom) / 2)
    _wait_text(page, "status", "object 2 on frame 0: 1 click(s)", timeout=20_000)


def test_three_quick_clicks_are_three_clicks(page) -> None:
    """Gradio's default trigger mode dropped a click made while the previous one was still
    being answered: three clicks within a fraction of a second counted as one."""
    mask = load_index_mask(EXAMPLES / "bear" / "first_mask.png")
    ys, xs = np.nonzero(mask)
    _load(page, "bear")
    _wait_ready(page, "#annotate")
    box = page.locator("#annotate img").first.bounding_box()
    for quantile in (0.3, 0.5, 0.7):  # three points on the bear, no wait between them
        x, y = np.quantile(xs, quantile), np.median(ys)
        page.mouse.click(box["x"] + box["width"] * x / mask.shape[1],
                         box["y"] + box["height"] * y / mask.shape[0])
    _wait_text(page, "status", "3 click(s)", timeout=60_000)


def _export_palette_zip(page, name: str) -> None:
    """Export tab → palette zip → download: one PNG per frame, named like the frames."""
    page.get_by_role("tab", name="3 · Export").click()
    page.locator("#export").click()
    link = page.locator("#palette-zip a").first
    link.wait_for(state="visible")
    page.screenshot(path=str(ARTIFACTS / f"{Path(name).stem}_export.png"), full_page=True)
    with page.expect_download() as download:
        link.click()
    target = ARTIFACTS / name
    download.value.save_as(target)
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == [f"{i:05d}.png" for i in range(FRAMES)]
        with archive.open("00000.png") as handle:  # at the source size (the default)
            source = probe_clip(EXAMPLES / "bear" / "clip.mp4")
            assert Image.open(handle).size == (source["width"], source["height"])


def test_brush_adds_and_eraser_removes_on_the_loaded_mask(page) -> None:
    _load(page, "bear")
    page.get_by_role("tab", name="Paint").click()
    _wait_ready(page, "#painter .painter-box")
    assert "Ready" in page.locator("#painter .painter-status").inner_text()
    img = page.locator("#painter .painter-box img").bounding_box()
    canvas = page.locator("#painter .painter-box canvas").bounding_box()
    assert all(abs(img[k] - canvas[k]) < 1.5 for k in ("x", "y", "width", "height"))  # aligned
    natural = page.evaluate("() => document.querySelector('#painter .painter-box img')"
                            ".naturalWidth")
    _stroke(page, canvas, (0.55, 0.12), (0.9, 0.12))  # brush along the rock wall, off the bear
    page.screenshot(path=str(ARTIFACTS / "paint_1_stroke.png"), full_page=True)
    page.locator("#apply-paint").click()
    _wait_text(page, "status", "1 stroke(s)")
    old, grown = _status_numbers(page)
    length = 0.35 * natural
    expected = 16 * length  # default size 16 px, in image pixels
    assert old > 0 and 0.7 * expected <= grown - old <= 1.3 * expected + 16 * 16
    _wait_ready(page, "#painter .painter-box")  # the new render: the grown mask tinted in
    page.screenshot(path=str(ARTIFACTS / "paint_2_applied.png"), full_page=True)
    page.get_by_text("eraser (removes)").click()
    canvas = page.locator("#painter .painter-box canvas").bounding_box()
    mask = load_index_mask(EXAMPLES / "bear" / "first_mask.png")
    ys, _ = np.nonzero(mask)
    row = float(np.median(ys)) / mask.shape[0]
    _stroke(page, canvas, (0.02, row), (0.98, row))  # across the bear
    page.locator("#apply-paint").click()
    _wait_text(page, "status", f"mask {grown} →")
    before, erased = _status_numbers(page)
    assert before == grown and erased < grown
    _wait_ready(page, "#painter .painter-box")
    page.screenshot(path=str(ARTIFACTS / "paint_3_erased.png"), full_page=True)


def _look_inside_at(page, clip: str, frame_idx: int) -> None:
    """Load an example, propagate it, open Look inside and type `frame_idx` (with Enter)."""
    _load(page, clip)
    page.locator("#propagate").click()
    _wait_text(page, "progress", "Done")
    page.get_by_role("tab", name="2 · Look inside").click()
    number = page.locator("#frame input[type=number]")
    number.fill(str(frame_idx))
    number.press("Enter")


VIEWS = {"ptm": ["#ptm-masks", "#ptm-assign", "#ptm-attention"],
         "fam": ["#fam-arrows", "#fam-flow", "#fam-aligned"],
         "memory": ["#mem-reads", "#timeline"], "confidence": ["#confidence-plot"]}


@pytest.mark.parametrize("clip", ["bear", "teaching"])
def test_every_view_screenshot(page, clip: str) -> None:
    if not (EXAMPLES / clip / "clip.mp4").is_file():
        pytest.skip(f"example {clip} missing")
    _look_inside_at(page, clip, FRAMES - 2)
    page.locator("#inspect").click()  # the button too (the frame change already refreshed)
    _wait_text(page, "ptm-note", "IoU")
    for tab, selectors in VIEWS.items():
        page.get_by_role("tab", name=tab.upper() if len(tab) == 3 else tab.title()).click()
        for selector in selectors:
            page.locator(f"{selector} img").first.wait_for(state="visible")
        page.locator(f"{selectors[0]} img").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"{clip}_{tab}.png"), full_page=True)
    page.get_by_role("tab", name="Ablation").click()
    page.locator("#run-ablation").click()
    page.locator("#ablation-view img").first.wait_for(state="visible")
    _wait_text(page, "ablation-status", "over the propagated frames")
    # The rerun moves the Frame slider to the frame it shows, and the other views follow it.
    shown = re.search(r"Frame (\d+) is shown", page.locator("#ablation-status").inner_text())
    assert shown, page.locator("#ablation-status").inner_text()
    page.wait_for_function("v => document.querySelector('#frame input[type=number]').value == v",
                           arg=shown.group(1))
    _wait_text(page, "inspect-status", f"Frame {shown.group(1)},")
    page.screenshot(path=str(ARTIFACTS / f"{clip}_ablation.png"), full_page=True)


def test_reload_at_another_size_keeps_the_annotation_and_clears_old_results(page) -> None:
    """Reload re-reads the tab's example (the upload box is empty) at the picked size; the
    ready mask comes along, and the last pass's progress line and result video are cleared."""
    _load(page, "bear")
    page.locator("#propagate").click()
    _wait_text(page, "progress", "Done")
    page.get_by_role("button", name="Trim and subsample").click()
    page.get_by_label("360").check()
    page.get_by_role("button", name="Reload with these settings").click()
    _wait_text(page, "status", "came along, on frame(s) 0")
    assert "short side ≤ 360 px" in page.locator("#status").inner_text()
    page.wait_for_function("() => !(document.getElementById('progress')?.innerText || '')"
                           ".includes('Done')")
    _wait_ready(page, "#annotate")
    page.screenshot(path=str(ARTIFACTS / "reload_360.png"), full_page=True)


def test_import_mask_button_sets_the_frame_annotation(page) -> None:
    """The Import mask upload button reaches its handler: the bundled first-frame mask (a
    palette PNG) imported on frame 3 becomes that frame's annotation."""
    _load(page, "bear")
    number = page.locator("#frame input[type=number]")
    number.fill("3")
    number.press("Enter")
    _wait_text(page, "caption", "Frame 3")
    upload = page.locator("#import-mask").locator("xpath=..").locator("input[type=file]")
    upload.first.set_input_files(str(EXAMPLES / "bear" / "first_mask.png"))
    _wait_text(page, "status", "Imported the mask on frame 3: bear")
    _wait_text(page, "caption", "annotated on frames 0, 3")


def test_a_frame_typed_past_the_end_shows_the_last_frame_and_the_next_click_lands(page) -> None:
    """Gradio's slider rejects an out-of-range number before any handler runs: every output
    of the event showed "Error" and the next click was lost (demo/widgets.py)."""
    _load(page, "bear")
    _wait_ready(page, "#annotate")
    first_src = page.locator("#annotate img").first.get_attribute("src")
    number = page.locator("#frame input[type=number]")
    number.fill(str(FRAMES + 50))
    number.press("Enter")
    # Gradio's number box clamps when it loses focus and fires a second change for the same
    # frame; its progress overlay covers the view while that runs, and a click made then is
    # lost (2 in 8 runs when the click itself took the focus; session 39). The server now
    # sends nothing for it (`annotate.redraw`), but the overlay is Gradio's: leave the box
    # first, as a user does, and wait for the view to be idle.
    number.press("Tab")
    page.wait_for_function(
        "() => { const busy = !!document.querySelector('#annotate .wrap.full:not(.hide)');"
        " const now = performance.now();"
        " if (busy || window.srnetIdleSince === undefined) window.srnetIdleSince = now;"
        " return !busy && now - window.srnetIdleSince > 500; }", polling=50)
    _wait_text(page, "caption", f"Frame {FRAMES - 1} / {FRAMES - 1}", timeout=30_000)
    assert page.get_by_text("greater than maximum").count() == 0
    # The caption is written before the new frame's image URL is resolved: wait for the
    # image itself (a click while it loads is ignored by design, see painter.READY_JS).
    page.wait_for_function(
        "(old) => { const view = document.getElementById('annotate');"
        " const img = view?.querySelector('img');"
        " return img && img.getAttribute('src') !== old && view.dataset.ready === '1'; }",
        arg=first_src)
    box = page.locator("#annotate img").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    _wait_text(page, "status", f"bear on frame {FRAMES - 1}: 1 click(s)")


def test_look_inside_follows_a_typed_frame_the_arrow_keys_and_a_plot_click(page) -> None:
    """The views were refreshed on the slider's `release` only: a number typed with Enter or
    an arrow key moved the slider while the views stayed on the old frame. A click on the
    confidence plot moves the slider too."""
    _look_inside_at(page, "bear", FRAMES - 3)
    _wait_text(page, "inspect-status", f"Frame {FRAMES - 3},", timeout=30_000)
    page.locator("#frame input[type=range]").focus()
    page.keyboard.press("ArrowRight")
    _wait_text(page, "inspect-status", f"Frame {FRAMES - 2},", timeout=30_000)
    # a click on the confidence plot's axis at frame 2 goes there (Gradio's .select on the image)
    page.get_by_role("tab", name="Confidence", exact=True).click()
    plot = page.locator("#confidence-plot img").first
    plot.wait_for(state="visible")
    box = plot.bounding_box()
    x = plots.PLOT_LEFT + (900 - plots.PLOT_RIGHT - plots.PLOT_LEFT) * 2 / (FRAMES - 1)
    page.mouse.click(box["x"] + box["width"] * x / 900, box["y"] + box["height"] * 0.25)
    _wait_text(page, "inspect-status", "Frame 2,", timeout=30_000)
    assert page.locator("#frame input[type=number]").input_value() == "2"


def test_online_adaptation_slider_adapts_before_the_pass(page) -> None:
    """The Advanced panel's slider reaches the session through Apply settings: the next pass
    streams its fine-tuning steps, then says so in its Done line."""
    page.get_by_text("Advanced: memory").click()  # open first: the load then updates
    page.locator("#adapt-steps input[type=range]").wait_for()  # sliders already on the page
    _load(page, "bear")
    _set_slider(page, "adapt-steps", 10)
    page.get_by_role("button", name="Apply settings").click()
    page.get_by_text("online adaptation: 10 fine-tuning steps").wait_for()
    page.locator("#propagate").click()
    _wait_text(page, "progress", "Done")
    assert "adapted to your annotation first (10 steps" in page.locator("#progress").inner_text()
    page.locator("#progress").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "online_adaptation.png"), full_page=True)


def test_every_tab_fits_on_a_phone(page) -> None:
    """At 360 px (a common phone width) no tab folds into Gradio's "⋯" menu, where a user
    would not find Look inside, Confidence or Ablation (the page's narrow-screen CSS)."""
    page.set_viewport_size({"width": 360, "height": 800})
    inside = page.get_by_role("tab", name="2 · Look inside")
    inside.wait_for(state="visible", timeout=20_000)
    inside.click()
    for name in ("PTM", "FAM", "Memory", "Confidence", "Ablation"):
        page.get_by_role("tab", name=name, exact=True).wait_for(state="visible", timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "phone_tabs.png"))


def test_what_a_click_did_shows_under_the_frame_on_a_phone(page) -> None:
    """On a phone the left column, status line included, stacks a screen above the frame:
    a copy under the frame says what the click did. On a desktop the status line is beside
    the frame and the copy stays hidden."""
    _load(page, "bear")
    assert not page.locator("#status-near").is_visible()
    # shown exactly where Gradio stacks the columns (below 768 px): never twice, never missing
    for width, stacked in ((768, False), (767, True)):
        page.set_viewport_size({"width": width, "height": 800})
        status, view = (page.locator(f"#{i}").bounding_box() for i in ("status", "annotate"))
        assert (status["y"] < view["y"] - 200) == stacked
        page.wait_for_function(f"() => (document.getElementById('status-near')?.offsetParent "
                               f"!== null) === {str(stacked).lower()}")
    page.set_viewport_size({"width": 360, "height": 800})
    view = page.locator("#annotate img").first
    view.scroll_into_view_if_needed()
    _wait_ready(page, "#annotate")
    box = view.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.12, box["y"] + box["height"] * 0.15)
    _wait_text(page, "status-near", "bear on frame 0: 1 click(s)")
    near = page.locator("#status-near").bounding_box()
    assert near["y"] - (box["y"] + box["height"]) < 150  # right under the frame, on screen
    assert page.locator("#status").bounding_box()["y"] < box["y"] - 300  # the one far above
    page.screenshot(path=str(ARTIFACTS / "phone_click_status.png"))


def test_plots_scroll_sideways_on_a_phone_at_a_readable_width(page) -> None:
    """A 900-px plot squeezed into a 360-px screen has unreadable axes: the confidence plot,
    like the strips of panels, is shown wider than the screen and scrolls sideways."""
    page.set_viewport_size({"width": 360, "height": 800})
    _load(page, "bear")
    page.locator("#propagate").click()
    _wait_text(page, "progress", "Done")
    page.get_by_role("tab", name="2 · Look inside").click()
    page.get_by_role("tab", name="Confidence", exact=True).click()
    plot = page.locator("#confidence-plot img").first
    plot.wait_for(state="visible")
    assert plot.bounding_box()["width"] > 1.5 * 360
    frame = page.locator("#confidence-plot .image-frame").first
    assert frame.evaluate("e => e.scrollWidth > e.clientWidth")  # the user can scroll to it
    plot.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "phone_confidence.png"), full_page=True)
    # the memory timeline's row names and frame numbers are as small as the plot's axes
    page.get_by_role("tab", name="Memory", exact=True).click()
    timeline = page.locator("#timeline img").first
    timeline.wait_for(state="visible")
    assert timeline.bounding_box()["width"] > 1.5 * 360
    # on the last frame the timeline scrolls so that its "now" line is on screen (it sat in
    # the hidden right half: at 90 frames, frame 40 was already off-screen)
    last = int(page.locator("#frame input[type=range]").get_attribute("max"))
    _set_slider(page, "frame", last)
    box = page.locator("#timeline .image-frame").first
    box.scroll_into_view_if_needed()
    now_x = (plots.TIMELINE_LEFT + (last + 0.5) * (900 - plots.PLOT_RIGHT - plots.TIMELINE_LEFT)
             / (last + 1)) / 900  # the line's place across the 900-px plot
    page.wait_for_function(
        "([x]) => { const b = document.querySelector('#timeline .image-frame'); "
        "const w = b.querySelector('img').clientWidth * x - b.scrollLeft; "
        "return b.scrollLeft > 0 && w > 0 && w < b.clientWidth; }", arg=[now_x])
    page.screenshot(path=str(ARTIFACTS / "phone_timeline_now.png"), full_page=False)
