"""tests/test_handlers.py again, with the ZeroGPU stand-in on (SRNET_FAKE_ZEROGPU=1): every
propagate / ablation / segment call runs in a forked child, its arguments, results and yields
pickled, and a torch tensor anywhere in them is an error. Plus what only holds there: the
caller's objects are never changed, and states come back in the compact host form."""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from demo import zerogpu
from demo.handlers import DemoContext
from demo.state import FRAMES_FILE, Frames
from tests.test_handlers import *  # noqa: F403  # the same tests, collected again here
from tests.test_handlers import _load


@pytest.fixture(scope="module", autouse=True)
def _fake_zerogpu() -> Iterator[None]:
    """Before any other fixture of this module: `gpu` wraps the handlers in the stand-in."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(zerogpu.FAKE_ENV, "1")
        yield


def test_calls_are_forked_and_return_host_state(ctx: DemoContext, gpu: SimpleNamespace) -> None:
    assert zerogpu.mode() == "fake"
    state, before = _load(ctx), zerogpu.forked_calls
    items = list(gpu.propagate(state, "forward", 0))
    assert zerogpu.forked_calls == before + 1
    assert not state.masks and not state.session.has_memory  # the input is never changed
    last = items[-1][0]
    assert last is not state and sorted(last.masks) == list(range(8))
    assert last.session.on_host and last.session.memory_cache == {}
    entry = last.session.memory.entries[0]
    assert entry.key.dtype.name == "float16" and last.session.memory_dtype == "float32"
    assert last.frames.file.is_file()  # frames crossed as a file reference
    again = list(gpu.propagate(last, "forward", 0))[-1][0]  # memory restored in the child
    assert again.session.on_host and sorted(again.masks) == list(range(8))


def test_closing_the_stream_ends_the_worker(ctx: DemoContext, gpu: SimpleNamespace) -> None:
    """A cancelled event (Stop's `cancels`, a closed tab) closes the stream mid-pass: the
    forked worker must end then, not linger."""
    run = gpu.propagate(_load(ctx), "forward", 0)
    first = next(run)
    assert len(first[0].masks) == 1
    run.close()
    assert not multiprocessing.active_children()


def test_segment_reads_and_refuses_before_reserving(ctx: DemoContext, gpu: SimpleNamespace,
                                                    tmp_path, monkeypatch) -> None:
    """/segment decodes its upload and writes its zip outside the GPU call: a bad upload
    forks nothing, and a good one forks once with a reservation for its own frames, its
    frames crossing as a file reference (the whole clip pickled would cost seconds)."""
    folder = ctx.cfg.examples_dir / EXAMPLE  # noqa: F405
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00" * 4096)
    before = zerogpu.forked_calls
    with pytest.raises(gr.Error, match="Bad input"):  # noqa: F405
        gpu.segment(str(corrupt), str(folder / "first_mask.png"))
    with pytest.raises(gr.Error, match="empty"):  # noqa: F405
        blank = tmp_path / "blank.png"
        first = np.asarray(Image.open(folder / "first_mask.png"))  # noqa: F405
        Image.fromarray(np.zeros_like(first)).save(blank)  # noqa: F405
        gpu.segment(str(folder / "clip.mp4"), str(blank))
    assert zerogpu.forked_calls == before
    reserved, sizes = [], []
    seconds, pickle_frames = api.propagate_seconds, Frames.__reduce__  # noqa: F405
    monkeypatch.setattr(api, "propagate_seconds",  # noqa: F405
                        lambda *a: reserved.append(len(a[1])) or seconds(*a))
    monkeypatch.setattr(Frames, "__reduce__",
                        lambda self: sizes.append(len(self)) or pickle_frames(self))
    endpoint = api.segment_endpoint(ctx)  # noqa: F405  # wraps the patched duration
    with zipfile.ZipFile(endpoint(str(folder / "clip.mp4"),  # noqa: F405
                                  str(folder / "first_mask.png"))) as archive:
        assert len(archive.namelist()) == 8
    assert zerogpu.forked_calls == before + 1 and reserved == [8] and sizes == [8]


def test_a_failed_segment_leaves_no_frames_file(ctx: DemoContext, tmp_path) -> None:
    """The frames cross to the GPU worker as a file in the call's folder: removed on error too
    (a failed call at demo sizes left hundreds of MB until the folder's TTL)."""
    folder = ctx.cfg.examples_dir / EXAMPLE  # noqa: F405

    def failing(frames, mask, steps):
        pickle.dumps(frames)  # what crossing to a worker does: writes frames.npy
        raise gr.Error("Segmentation stopped: out of memory")  # noqa: F405

    with pytest.raises(gr.Error, match="out of memory"):  # noqa: F405
        api.segment(ctx, str(folder / "clip.mp4"), str(folder / "first_mask.png"),  # noqa: F405
                    masks_on_gpu=failing)
    assert not list((ctx.cfg.temp_root / "api").glob(f"*/{FRAMES_FILE}"))
