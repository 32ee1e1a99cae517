"""Compare `python -m srnet bench` across backends in one run, alternating them so that a change
of machine load hits every backend alike (issue #11 item 4: keep the compiled backend only if it
is ≥ 1.3x faster end to end).

    python scripts/bench_backends.py --backends torch,onnxruntime --repeats 2 -- \
        --config lite --size 480x854 --frames 50 --objects 1 --device cpu

Each bench runs in a fresh process (no thread pool or allocator state carried over); the first
compiled run of a frame size exports the graphs into the cache, so an untimed warm-up bench per
compiled backend runs first. Prints every run's FPS and per-stage times, then the median FPS per
backend and its ratio to the first backend's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def run_bench(backend: str, bench_args: list[str]) -> tuple[float, list[str]]:
    cmd = [sys.executable, "-m", "srnet", "bench", *bench_args, "--backend", backend]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    fps = float(out[-1].split()[1])  # the report ends with `FPS x`
    return fps, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="torch,onnxruntime")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("bench_args", nargs=argparse.REMAINDER,
                        help="after --: arguments of `python -m srnet bench`")
    args = parser.parse_args(argv)
    backends = args.backends.split(",")
    bench_args = [a for a in args.bench_args if a != "--"]
    for backend in backends:
        if backend != "torch":  # export (once per size) outside the timed runs
            run_bench(backend, [*bench_args, "--frames", "2"])
    print(f"load average at start: {os.getloadavg()}  ({time.strftime('%H:%M:%S')})")
    results: dict[str, list[float]] = {b: [] for b in backends}
    for rep in range(args.repeats):
        for backend in backends:
            fps, lines = run_bench(backend, bench_args)
            results[backend].append(fps)
            stages = "; ".join(line.strip() for line in lines[1:] if "ms/frame" in line)
            print(f"run {rep + 1} {backend:<12} FPS {fps:.2f}  ({stages})", flush=True)
    print(f"load average at end: {os.getloadavg()}  ({time.strftime('%H:%M:%S')})")
    base = statistics.median(results[backends[0]])
    for backend in backends:
        median = statistics.median(results[backend])
        print(f"{backend:<12} median FPS {median:.2f}  x{median / base:.2f} vs {backends[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
