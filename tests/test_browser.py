"""The demo in headless Chromium (Playwright): load the bundled example, click the object,
propagate, open the PTM and FAM views, paint a correction, download the mask zip. Screenshots
go to test-artifacts/. Skipped without /usr/bin/chromium or the playwright package."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from app_harness import running_app

from demo import DemoConfig
from srnet import load_index_mask

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
EXAMPLE = DemoConfig().examples_dir / "bear"
FRAMES = 6
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium"),
    pytest.mark.skipif(not (EXAMPLE / "clip.mp4").is_file(), reason="bundled example missing"),
]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_app(tmp_path_factory.mktemp("browser"), max_frames=FRAMES) as url:
        yield url


@pytest.fixture()
def page(app_url: str) -> Iterator:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(60_000)
        page.goto(app_url)  # not "networkidle": Gradio keeps an event stream open
        page.get_by_role("button", name="bear", exact=True).wait_for(state="visible")
        page.wait_for_timeout(500)
        try:
            yield page
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def _wait_text(page, elem_id: str, text: str, timeout_ms: float | None = None) -> None:
    page.wait_for_function(
        "([id, text]) => (document.getElementById(id)?.innerText || '').includes(text)",
        arg=[elem_id, text], timeout=timeout_ms)


def _click_image(page, selector: str, rel_x: float, rel_y: float) -> None:
    box = page.locator(f"{selector} img").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * rel_x, box["y"] + box["height"] * rel_y)


def _goto_frame(page, frame: int) -> None:
    """Set the frame slider and wait until the annotate views show that frame."""
    number = page.locator("#frame input[type=number]")
    number.fill(str(frame))
    number.press("Enter")
    _wait_text(page, "caption", f"Frame {frame} /")
    page.wait_for_timeout(1000)  # let the paint editor render the new frame


def test_annotate_propagate_inspect_export(page) -> None:
    mask = load_index_mask(EXAMPLE / "first_mask.png")
    ys, xs = np.nonzero(mask)
    page.get_by_role("button", name="bear", exact=True).click()
    _wait_text(page, "status", "Loaded")
    point = (np.median(xs) / mask.shape[1], np.median(ys) / mask.shape[0])
    page.locator("#annotate img").first.wait_for(state="visible")
    page.wait_for_timeout(1000)  # the freshly loaded frame must be the one receiving the click
    _click_image(page, "#annotate", *point)
    try:
        _wait_text(page, "status", "1 click(s)", timeout_ms=20_000)
    except sync_api.TimeoutError:  # a click that raced the image swap is lost: click once more
        _click_image(page, "#annotate", *point)
        _wait_text(page, "status", "click(s)")
    page.screenshot(path=str(ARTIFACTS / "01_clicked.png"), full_page=True)

    page.locator("#propagate").click()
    _wait_text(page, "progress", "Done")
    assert f"{FRAMES}/{FRAMES} frames" in page.locator("#progress").inner_text()
    page.screenshot(path=str(ARTIFACTS / "02_propagated.png"), full_page=True)

    page.get_by_role("tab", name="2 · Look inside").click()
    _goto_frame(page, FRAMES - 2)
    page.locator("#inspect").click()
    page.locator("#ptm-masks img").first.wait_for(state="visible")
    page.screenshot(path=str(ARTIFACTS / "03_ptm.png"), full_page=True)
    page.get_by_role("tab", name="FAM").click()
    page.locator("#fam-arrows img").first.wait_for(state="visible")
    page.screenshot(path=str(ARTIFACTS / "04_fam.png"), full_page=True)

    page.get_by_role("tab", name="3 · Export").click()
    page.locator("#export").click()
    link = page.locator("#palette-zip a").first
    link.wait_for(state="visible")
    with page.expect_download() as download:
        link.click()
    target = ARTIFACTS / "masks.zip"
    download.value.save_as(target)
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == [f"{i:05d}.png" for i in range(FRAMES)]
    page.screenshot(path=str(ARTIFACTS / "05_export.png"), full_page=True)


def test_paint_layer_becomes_the_mask(page) -> None:
    page.get_by_role("button", name="bear", exact=True).click()
    _wait_text(page, "status", "Loaded")
    page.get_by_role("tab", name="Paint").click()
    canvas = page.locator("canvas").first
    canvas.wait_for(state="visible")
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Use painted mask").click()  # the layer holds the mask
    _wait_text(page, "status", "frame 0 set")
    _goto_frame(page, 2)
    for attempt in range(4):  # a stroke made while the editor still loads the frame is lost
        page.wait_for_timeout(1000 * attempt)  # a busy machine (the full suite) loads slower
        box = canvas.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5, steps=12)
        page.mouse.up()
        page.get_by_role("button", name="Use painted mask").click()
        _wait_text(page, "status", "frame 2 ")
        if "frame 2 set" in page.locator("#status").inner_text():
            break
    assert "frame 2 set" in page.locator("#status").inner_text()
    page.screenshot(path=str(ARTIFACTS / "06_painted.png"), full_page=True)
