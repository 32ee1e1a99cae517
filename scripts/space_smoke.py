"""Space smoke test: build the Hugging Face Space's file set in a clean folder, install only
requirements.txt into a fresh venv there, start app.py from that folder as the Space builder
would, call `/segment` once on the bundled `bear` example with gradio_client and check that a
mask came back. Not part of the pytest suite (the install takes minutes).

The file set is what git tracks under app.py, demo/, srnet/, assets/, requirements.txt and
constraints.txt (which requirements.txt reads through `-c`), plus a Space README with the YAML
header. A file the app needs outside that set (untracked, or elsewhere in the repo) makes the
start or the call fail here, because the app runs with cwd = the clean folder, no PYTHONPATH,
and a venv that holds only the requirements.

    python3 scripts/space_smoke.py                      # fresh venv (a few minutes)
    python3 scripts/space_smoke.py --venv /tmp/space-venv  # create once, reuse after
    python3 scripts/space_smoke.py --zerogpu-stand-in   # the app with SRNET_FAKE_ZEROGPU=1
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPACE_PATHS = ["app.py", "demo", "srnet", "assets", "requirements.txt", "constraints.txt"]
NEEDED = ["app.py", "requirements.txt", "constraints.txt", "assets/srnet_lite.pt",
          "assets/click_lite0.pt", "assets/examples/bear/clip.mp4",
          "assets/examples/bear/first_mask.png"]
SPACE_README = """---
title: SRNet video object segmentation
emoji: 🎯
colorFrom: indigo
colorTo: green
sdk: gradio
app_file: app.py
pinned: false
---

Follow an object through a video (SRNet), and look inside the network.
"""
START_TIMEOUT_S = 600  # first start: imports, checkpoint, the start-up speed measurement


def build_file_set(target: Path) -> list[str]:
    """Copy the tracked files of the Space into `target`; returns their relative paths."""
    listed = subprocess.run(["git", "ls-files", "-z", *SPACE_PATHS], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    files = [f for f in listed if f and (ROOT / f).is_file()]
    missing = [f for f in NEEDED if f not in files]
    if missing:
        raise SystemExit(f"space_smoke: not in the Space's file set (untracked?): {missing}")
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    (target / "README.md").write_text(SPACE_README)
    return files


def make_venv(venv: Path, requirements: Path) -> Path:
    """A plain venv (no system site-packages) with only the Space's requirements."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    print(f"space_smoke: pip install -r requirements.txt into {venv}", flush=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)],
                   check=True)
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"space_smoke: app.py exited with {process.returncode}:\n"
                             f"{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(2)
    raise SystemExit(f"space_smoke: app.py did not serve within {START_TIMEOUT_S} s")


def call_segment(url: str, space: Path) -> str:
    """One `/segment` call on the Space's own copy of the example; returns a summary."""
    from gradio_client import Client, handle_file

    example = space / "assets" / "examples" / "bear"
    client = Client(url, verbose=False)
    info = client.predict(api_name="/info")
    result = client.predict(handle_file(str(example / "clip.mp4")),
                            handle_file(str(example / "first_mask.png")), api_name="/segment")
    with zipfile.ZipFile(result) as archive:
        names = sorted(archive.namelist())
        if not names or not all(n.endswith(".png") for n in names):
            raise SystemExit(f"space_smoke: /segment returned {names[:5]}")
        import numpy as np
        from PIL import Image

        with archive.open(names[-1]) as handle:
            last = np.asarray(Image.open(handle))
    if not (last > 0).any():
        raise SystemExit("space_smoke: the last frame's mask is empty")
    return (f"/info: {info}\n/segment: {len(names)} masks, last frame {last.shape[1]}x"
            f"{last.shape[0]} with {100 * (last > 0).mean():.1f} % object pixels")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, help="reuse (or create) this venv")
    parser.add_argument("--zerogpu-stand-in", action="store_true",
                        help="start the app with SRNET_FAKE_ZEROGPU=1 (forked GPU calls)")
    parser.add_argument("--keep", action="store_true", help="keep the Space folder")
    args = parser.parse_args()
    space = Path(tempfile.mkdtemp(prefix="srnet-space-"))
    process = None
    try:
        files = build_file_set(space)
        print(f"space_smoke: {len(files)} files in {space}", flush=True)
        python = make_venv(args.venv or space / ".venv", space / "requirements.txt")
        port, log = free_port(), space / "app.log"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "SRNET_", "GRADIO_", "VIRTUAL_ENV"))}
        env.update(GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False",
                   HOME=str(space / "home"))  # no caches from this machine's home
        if args.zerogpu_stand_in:
            env["SRNET_FAKE_ZEROGPU"] = "1"
        started = time.monotonic()
        with log.open("w") as out:
            process = subprocess.Popen([str(python), "app.py"], cwd=space, env=env,
                                       stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        url = f"http://127.0.0.1:{port}/"
        wait_until_serving(url, process, log)
        print(f"space_smoke: app.py serving after {time.monotonic() - started:.0f} s", flush=True)
        print(call_segment(url, space), flush=True)
        print("space_smoke: OK", flush=True)
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the app's own process group only
            process.wait(timeout=30)
        if args.keep:
            print(f"space_smoke: kept {space}")
        else:
            shutil.rmtree(space, ignore_errors=True)


if __name__ == "__main__":
    main()
