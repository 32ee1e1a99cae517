"""tests/test_app_client.py again, on an app started with the ZeroGPU stand-in
(SRNET_FAKE_ZEROGPU=1): `segment` runs forked, its file arguments and result pickled."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app_harness import running_app
from gradio_client import Client

from demo import zerogpu
from tests.test_app_client import *  # noqa: F403  # the same tests, collected again here


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(zerogpu.FAKE_ENV, "1")  # read when build_demo wires the handlers
        with running_app(tmp_path_factory.mktemp("app"), max_frames=6) as url:
            yield Client(url, verbose=False)


def test_segment_ran_in_a_forked_worker(client: Client) -> None:
    before = zerogpu.forked_calls
    test_segment_endpoint_returns_palette_zip(client)  # noqa: F405
    assert zerogpu.forked_calls == before + 1
