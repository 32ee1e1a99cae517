"""Launch the demo on a free local port with a tiny random-weight lite predictor (shared by the
gradio_client and browser tests)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from gradio_client import Client, handle_file

from demo import CSS, DemoConfig, build_demo
from srnet import (
    DEFAULT_CHECKPOINT,
    InferenceConfig,
    ModelConfig,
    Predictor,
    SRNet,
    load_predictor,
)


@contextmanager
def running_app(temp_root: Path, max_frames: int, short_side: int = 96,
                state_ttl_s: int = 3600, trained: bool = False,
                demos: list | None = None, unload_grace_s: float = 1.0) -> Iterator[str]:
    """Yields the app's URL; one torch thread (see test_handlers.one_thread), closed at exit.
    A closed tab is released `unload_grace_s` after (the app's default is minutes).
    `trained`: the bundled checkpoint (views judged on real weights), else random weights;
    `demos` receives the gr.Blocks (for tests of the server's own tables)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = InferenceConfig(short_side=short_side)
    if trained:
        predictor, _ = load_predictor(DEFAULT_CHECKPOINT, device="cpu", config=config)
    else:
        predictor = Predictor(SRNet(ModelConfig.lite()), config, "cpu")
    cfg = DemoConfig(short_side_cpu=short_side, max_frames_cpu=max_frames,
                     random_weights=not trained, temp_root=temp_root, state_ttl_s=state_ttl_s,
                     unload_grace_s=unload_grace_s)
    demo = build_demo(predictor, cfg)
    if demos is not None:
        demos.append(demo)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    demo.queue(max_size=cfg.queue_size, default_concurrency_limit=1).launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
        allowed_paths=[str(cfg.examples_dir)], max_file_size=cfg.max_upload_bytes, css=CSS)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
        torch.set_num_threads(threads)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(row for row in status if row.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def open_event(client: Client, api_name: str):
    """UI events are private (the Client refuses them); a test may call them anyway."""
    index = next(i for i, d in enumerate(client.config["dependencies"])
                 if d.get("api_name") == api_name)
    client.endpoints[index].is_valid = True
    return index


def one_tab(url: str, clip: Path, short_side: int) -> None:
    """One tab through gradio_client: load `clip`, then the bear example, propagate, close."""
    client = Client(url, verbose=False)
    try:
        load, run = open_event(client, "load_upload"), open_event(client, "propagate")
        loaded = client.predict(handle_file(str(clip)), 0, 0, 1, short_side, fn_index=load)
        assert "Loaded" in loaded[-1], loaded[-1]
        client.predict("bear", 0, 0, 1, short_side, fn_index=open_event(client, "load_example"))
        job = client.submit(0, fn_index=run)
        job.result()  # its last yield is all skips (`ends_without_outputs`): read the last
        done = [out for out in job.outputs() if isinstance(out[1], str)][-1]  # progress line
        assert "Done" in done[1], done[1]
    finally:
        client.close()
