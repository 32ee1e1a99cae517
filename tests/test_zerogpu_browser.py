"""The app's full flow in headless Chromium with the ZeroGPU stand-in on (SRNET_FAKE_ZEROGPU=1):
load, click, propagate (streamed), correct a later frame and propagate again, look inside,
export. Every propagation runs in a forked worker and its state crosses pickled."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pytest
from app_harness import running_app

from demo import zerogpu
from srnet import load_index_mask
from tests.test_browser import (  # noqa: F401  # `page` is a fixture used by name
    ARTIFACTS,
    EXAMPLES,
    FRAMES,
    SHORT_SIDE,
    _export_palette_zip,
    _load,
    _wait_ready,
    _wait_text,
    page,
    pytestmark,
)

WATCH_PROGRESS = """() => { window.progressSeen = [];
  new MutationObserver(() => window.progressSeen.push(
      document.getElementById('progress').innerText)).observe(
      document.getElementById('progress'), {subtree: true, childList: true,
                                            characterData: true}); }"""


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(zerogpu.FAKE_ENV, "1")  # read when build_demo wires the handlers
        with running_app(tmp_path_factory.mktemp("zerogpu-browser"), max_frames=FRAMES,
                         short_side=SHORT_SIDE, trained=True) as url:
            yield url


def _click_image(page, x: float, y: float) -> None:  # noqa: F811
    box = page.locator("#annotate img").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * x, box["y"] + box["height"] * y)


def _go_to_frame(page, frame_idx: int, image: bool = False) -> None:  # noqa: F811
    """Move the Frame box; with `image`, also wait for the Annotate view to show that frame:
    the caption comes before the new image's address, and a click on the old, still-ready
    image would be ignored while the new one loads (a CI flake)."""
    old = page.locator("#annotate img").first.get_attribute("src") if image else None
    number = page.locator("#frame input[type=number]")
    number.fill(str(frame_idx))
    number.press("Enter")
    _wait_text(page, "caption", f"Frame {frame_idx} /")
    if image:
        page.wait_for_function(
            "(old) => { const view = document.getElementById('annotate');"
            " const img = view?.querySelector('img');"
            " return img && img.getAttribute('src') !== old && view.dataset.ready === '1'; }",
            arg=old)


def test_full_flow_under_the_stand_in(page) -> None:  # noqa: F811
    forked = zerogpu.forked_calls
    mask = load_index_mask(EXAMPLES / "bear" / "first_mask.png")
    ys, xs = np.nonzero(mask)
    centre = (np.median(xs) / mask.shape[1], np.median(ys) / mask.shape[0])
    _load(page, "bear")
    _wait_ready(page, "#annotate")
    _click_image(page, *centre)
    _wait_text(page, "status", "1 click(s)")
    page.evaluate(WATCH_PROGRESS)
    page.locator("#propagate").click()
    _wait_text(page, "progress", "Done")
    assert f"{FRAMES}/{FRAMES} frames" in page.locator("#progress").inner_text()
    seen = {int(m) for text in page.evaluate("() => window.progressSeen")
            for m in re.findall(rf"(\d+)/{FRAMES} frames", text)}
    assert len(seen & set(range(1, FRAMES))) >= 2, seen  # streamed, frame by frame

    _go_to_frame(page, 4, image=True)  # correct frame 4 with a negative click, then propagate
    _wait_ready(page, "#annotate")
    page.get_by_text("remove (negative)").click()
    _click_image(page, 0.03, 0.03)  # a corner: background, so the mask stays
    _wait_text(page, "status", "frame 4: 1 click(s)")  # not frame 0's status, still shown
    page.locator("#propagate").click()
    _wait_text(page, "progress", "4/4 frames")  # only this pass has 4 frames
    _wait_text(page, "progress", "Done")
    _wait_text(page, "caption", "annotated on frames 0, 4")
    assert zerogpu.forked_calls == forked + 2

    page.get_by_role("tab", name="2 · Look inside").click()
    _go_to_frame(page, FRAMES - 2)
    page.locator("#inspect").click()
    _wait_text(page, "ptm-note", "IoU")
    page.locator("#ptm-masks img").first.wait_for(state="visible")
    page.screenshot(path=str(ARTIFACTS / "zerogpu_inspect.png"), full_page=True)

    _export_palette_zip(page, "zerogpu_masks.zip")
