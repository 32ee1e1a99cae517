"""app.py as a real process on a free port: what the page and `/info` say with a trained
checkpoint chosen by `--checkpoint` / `SRNET_CHECKPOINT`, with `--random-weights`, and that a
missing or unusable checkpoint stops it with one line naming the file and the fixes (the README's
decision: never run untrained by accident)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from srnet import ModelConfig, SRNet, save_checkpoint

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SRNET_", "GRADIO_"))}
    return {**env, "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False", **extra}


@contextmanager
def app_process(args: list[str], env: dict[str, str], timeout: float = 240.0
                ) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start `python3 app.py ARGS --port P`, wait until the page answers; yields (url, process)."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "app.py", *args, "--port", str(port)], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app.py exited with {proc.returncode}: {proc.stdout.read()}")
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"app.py did not answer on {url} within {timeout:.0f} s")
                time.sleep(1.0)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _page_and_info(url: str) -> tuple[str, dict]:
    from gradio_client import Client

    with urllib.request.urlopen(url + "config", timeout=30) as response:
        page = response.read().decode()
    return page, Client(url, verbose=False).predict(api_name="/info")


@pytest.mark.parametrize("how", ["missing, by --checkpoint",
                                 pytest.param("not a checkpoint, by SRNET_CHECKPOINT",
                                              marks=pytest.mark.slow)])
def test_unusable_checkpoint_stops_the_app_with_one_line(how, tmp_path):
    bad = tmp_path / ("gone.pt" if how.startswith("missing") else "notes.pt")
    if not how.startswith("missing"):
        bad.write_text("not a checkpoint\n")
    args, env = (["--checkpoint", str(bad)], _env()) if how.startswith("missing") else (
        [], _env(SRNET_CHECKPOINT=str(bad)))
    result = subprocess.run([sys.executable, "app.py", *args, "--port", str(_free_port())],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert str(bad) in errors[0] and "--random-weights" in errors[0]
    assert "--checkpoint PATH" in errors[0] and "SRNET_CHECKPOINT" in errors[0]


@pytest.mark.slow
def test_checkpoint_flag_wins_over_the_env_var_and_the_page_names_it(tmp_path):
    """SRNET_CHECKPOINT points at a bad file, --checkpoint at a tiny trained-format checkpoint:
    the flag wins, /info reports that model (tiny, not the bundled lite) and trained weights."""
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "tiny_run.pt", SRNet(ModelConfig.tiny()),
                           meta={"summary": "tiny test checkpoint"})
    env = _env(SRNET_CHECKPOINT=str(tmp_path / "absent.pt"), SRNET_DEVICE="cpu")
    with app_process(["--checkpoint", str(ckpt)], env) as (url, _):
        page, info = _page_and_info(url)
    assert info["model"] == "tiny" and info["random_weights"] is False
    assert info["device"] == "cpu"
    assert "Checkpoint tiny_run.pt: tiny test checkpoint." in page
    assert "random (untrained) weights" not in page


@pytest.mark.slow
def test_random_weights_runs_untrained_on_purpose_and_says_so(tmp_path):
    env = _env(SRNET_CHECKPOINT=str(tmp_path / "absent.pt"))  # not read at all
    with app_process(["--random-weights"], env) as (url, _):
        page, info = _page_and_info(url)
    assert info["random_weights"] is True and info["model"] == "lite"
    assert "random (untrained) weights" in page and "--random-weights" in page


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX only")
def test_sigusr1_prints_every_threads_stack() -> None:
    """How an operator finds a stuck handler on a running server (README, Quick start)."""
    with app_process(["--random-weights"], _env()) as (_, proc):
        time.sleep(2)  # the page answers before launch() returns; let its startup requests end
        proc.send_signal(signal.SIGUSR1)
        time.sleep(3)
        assert proc.poll() is None  # the app goes on serving
    output = proc.stdout.read()
    # Not "uvicorn" by name: CI once printed the stacks without it (session 27), likely a
    # request stack deeper than the 100 frames faulthandler prints, oldest frames cut.
    stacks = output.count("(most recent call first)")
    assert stacks >= 2 and "app.py" in output, output[-4000:]


def test_asking_for_cuda_without_a_gpu_stops_the_app_with_one_line():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the request is valid here")
    result = subprocess.run([sys.executable, "app.py", "--device", "cuda", "--port",
                             str(_free_port())], cwd=REPO, env=_env(), capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "app.py: error: --device cuda: CUDA was requested" in result.stderr
