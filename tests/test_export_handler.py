"""Export's downloads agree with each other and say what they hold (session 32's review): one
snapshot of the masks for every file, and an object without pixels is named."""

from __future__ import annotations

import copy
import zipfile

import numpy as np

from demo import export
from demo import handlers_export as exporting
from demo.state import DemoState
from tests.test_handlers import ctx, done, examples_dir, gpu, one_thread  # noqa: F401


def test_a_pass_adding_frames_during_export_changes_no_zip(done: DemoState,  # noqa: F811
                                                          monkeypatch) -> None:
    """Outside ZeroGPU a pass shares the state: frames it added between two zips made the
    palette zip hold 3 frames and the binary one 5."""
    state = copy.deepcopy(done)
    dropped = {t: state.masks.pop(t) for t in (6, 7)}
    real = export.export_zip_palette

    def pass_lands_meanwhile(masks, names, path):
        out = real(masks, names, path)
        state.masks.update(dropped)  # the pass reaches frames 6 and 7 now
        return out

    monkeypatch.setattr(export, "export_zip_palette", pass_lands_meanwhile)
    _, palette, binary, rgba, status = exporting.export_all(state)
    listed = []
    for path in (palette, binary, rgba):
        with zipfile.ZipFile(path) as archive:
            listed.append(sorted(n.rsplit("/", 1)[-1] for n in archive.namelist()))
    assert listed[0] == sorted(set(listed[1])) == listed[2] == [f"{i:05d}.png" for i in range(6)]
    assert "Exported 6 frames" in status
    # the pass may end before the export does, and its "masks changed" note came first
    assert "a pass changed the masks while this export ran" in status
    assert "changed the masks" not in exporting.export_all(state)[-1]  # nothing ran this time


def test_an_object_without_pixels_is_named(done: DemoState) -> None:  # noqa: F811
    state = copy.deepcopy(done)
    state.names[5] = "kite"  # added, not propagated yet
    status = exporting.export_all(state)[-1]
    assert "kite has no pixels in any result" in status
    assert "no pixels" not in exporting.export_all(done)[-1]
    assert all(not (m == 5).any() for m in state.masks.values()) and np.any(state.masks[0])


def test_an_odd_source_size_is_exported_as_it_is() -> None:
    """Rounded down to even, a 199x129 source exported 198x128 while saying "the source size",
    and the re-read frame was cropped under a stretched mask."""
    assert export.export_size((129, 199)) == (129, 199)
    assert export.export_size((1080, 1920)) == (1080, 1920)
    assert export.export_size((2160, 3840)) == (1080, 1920)  # the long-side cap
    assert export.export_size((1081, 3841)) == (540, 1920)  # 540.4 rounded


def test_downloads_made_before_a_pass_are_withdrawn_after_it(done: DemoState) -> None:  # noqa: F811
    """Only when the pass changed the masks: a refused or at-once-stopped pass keeps them."""
    import gradio as gr

    state = copy.deepcopy(done)
    status = "Exported 8 frames, 1 object(s) at 160x96."
    assert exporting.exports_outdated(status, state) == (gr.skip(),) * 5  # never exported
    status = exporting.export_all(state)[-1]
    assert exporting.exports_outdated(status, state) == (gr.skip(),) * 5  # masks as exported
    state.masks[3] = (state.masks[3] == 0).astype(np.uint8)  # what a pass does: any change
    files = exporting.exports_outdated(status, state)
    assert files[:4] == (None,) * 4 and "Prepare downloads again" in files[4]
    assert exporting.exports_outdated("", state) == (gr.skip(),) * 5  # nothing shown: no change


def test_an_edit_made_after_the_pass_is_exported_as_shown(done: DemoState) -> None:  # noqa: F811
    """A correction painted on frame 5 after the pass showed on screen, but the zip held the
    pass's old mask there and the status said nothing."""
    from PIL import Image

    assert "your edits" not in exporting.export_all(done)[-1]  # nothing edited since
    state = copy.deepcopy(done)
    corrected = np.zeros(state.size, bool)
    corrected[2:12, 3:20] = True
    state.set_object_mask(5, 1, corrected)
    shown = state.shown_mask(5)
    assert not np.array_equal(shown, state.masks[5])
    _, palette, _, _, status = exporting.export_all(state)
    with zipfile.ZipFile(palette) as archive:
        name = next(n for n in archive.namelist() if n.endswith("00005.png"))
        with archive.open(name) as file:
            assert np.array_equal(np.asarray(Image.open(file)), shown)
    assert "frame 5: your edits since the last pass" in status
    assert state.exported == exporting.masks_digest(state.masks)  # compared after a pass
