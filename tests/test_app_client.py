"""The launched app through gradio_client: the named `segment` and `info` endpoints, a bad
input answered with a message while the server stays up, UI events kept private."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from app_harness import running_app
from gradio_client import Client, handle_file
from PIL import Image

from demo import DemoConfig, build_demo
from srnet import InferenceConfig, ModelConfig, Predictor, SRNet

EXAMPLE = DemoConfig().examples_dir / "bear"
pytestmark = pytest.mark.skipif(not (EXAMPLE / "clip.mp4").is_file(),
                                reason="bundled example clip missing")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    with running_app(tmp_path_factory.mktemp("app"), max_frames=6) as url:
        yield Client(url, verbose=False)


def test_segment_endpoint_returns_palette_zip(client: Client) -> None:
    result = client.predict(handle_file(str(EXAMPLE / "clip.mp4")),
                            handle_file(str(EXAMPLE / "first_mask.png")), api_name="/segment")
    with zipfile.ZipFile(result) as archive:
        names = sorted(archive.namelist())
        assert names == [f"{i:05d}.png" for i in range(6)]
        with archive.open(names[0]) as handle:
            first = Image.open(handle)
            assert first.mode == "P" and first.size == (640, 360)  # the clip's own size
            assert set(np.unique(np.asarray(first)).tolist()) == {0, 1}


def test_segment_endpoint_takes_an_animated_webp(client: Client, tmp_path: Path) -> None:
    """An animated WebP is a clip (until session 44 /segment read its first frame and
    refused it as a single frame)."""
    import imageio.v3 as iio

    frames = [Image.fromarray(frame) for frame in iio.imiter(EXAMPLE / "clip.mp4")][:4]
    clip = tmp_path / "bear.webp"
    frames[0].save(clip, save_all=True, append_images=frames[1:], duration=40, quality=90)
    result = client.predict(handle_file(str(clip)), handle_file(str(EXAMPLE / "first_mask.png")),
                            api_name="/segment")
    with zipfile.ZipFile(result) as archive:
        assert sorted(archive.namelist()) == [f"{i:05d}.png" for i in range(4)]
        with archive.open("00000.png") as handle:  # the annotated frame, at the clip's size
            first = np.asarray(Image.open(handle))
        assert first.shape == (360, 640) and 0.05 < (first == 1).mean() < 0.6  # the bear


def test_segment_endpoint_takes_optional_adaptation_steps(client: Client) -> None:
    """The third input is optional (older two-argument calls above still work); given, the
    clip is segmented after that many fine-tuning steps."""
    api = client.view_api(print_info=False, return_format="dict")
    params = api["named_endpoints"]["/segment"]["parameters"]
    assert len(params) == 3 and params[2]["parameter_has_default"]
    result = client.predict(handle_file(str(EXAMPLE / "clip.mp4")),
                            handle_file(str(EXAMPLE / "first_mask.png")), 2, api_name="/segment")
    with zipfile.ZipFile(result) as archive:
        assert sorted(archive.namelist()) == [f"{i:05d}.png" for i in range(6)]


def test_bad_input_is_a_message_and_server_survives(client: Client, tmp_path: Path) -> None:
    wrong = tmp_path / "square.png"
    Image.fromarray(np.full((40, 40), 255, np.uint8)).save(wrong)
    with pytest.raises(Exception, match="different shape"):
        client.predict(handle_file(str(EXAMPLE / "clip.mp4")), handle_file(str(wrong)),
                       api_name="/segment")
    info = client.predict(api_name="/info")
    assert info["short_side"] == 96 and info["max_frames"] == 6 and info["random_weights"]


def test_only_named_endpoints_are_public(client: Client) -> None:
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/segment", "/info"}


def test_the_app_sends_no_analytics(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Gradio's analytics fetch its latest version and post usage (a download nobody asked
    for) and leave an HTTP client that forked children free at the fork (see demo/ui.py):
    off unless GRADIO_ANALYTICS_ENABLED=True. (conftest.py turns them off for the whole test
    process, so this builds the app with the variable unset.)"""
    monkeypatch.delenv("GRADIO_ANALYTICS_ENABLED", raising=False)
    predictor = Predictor(SRNet(ModelConfig.tiny()), InferenceConfig(), "cpu")
    assert build_demo(predictor, DemoConfig(temp_root=tmp_path)).analytics_enabled is False
