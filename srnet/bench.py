"""Engine benchmark: per-stage times, peak memory and amortised FPS (STCN convention: total
processed frames / total time, I/O excluded)."""

from __future__ import annotations

import contextlib
import resource
import time
from collections import defaultdict
from contextlib import contextmanager

import torch

from srnet.inference import Predictor


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextmanager
def _timed_stages(predictor: Predictor, totals: dict[str, float]):
    """Temporarily wrap the stage methods with timers (the model itself is untouched)."""
    model, device = predictor.stages, predictor.device
    names = ("encode_frame", "segment", "encode_value", "compute_prototype")
    originals = {name: getattr(model, name) for name in names}

    def wrap(name, fn):
        def timed(*args, **kwargs):
            _sync(device)
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            _sync(device)
            totals[name] += time.perf_counter() - start
            return out
        return timed

    for name, fn in originals.items():
        setattr(model, name, wrap(name, fn))
    try:
        yield
    finally:
        for name in names:
            delattr(model, name)  # drop the instance attribute: the class method shows again


def _amp_label(predictor: Predictor) -> str:
    config, device = predictor.config, predictor.device
    if device.type == "cpu":
        return "bf16 (cpu_bf16)" if config.cpu_bf16 else "False"
    return str(config.amp)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _timed_pass(predictor: Predictor, frames: list, first, warmup: int,
                totals: dict[str, float] | None) -> tuple[int, float, object]:
    """(frames processed, seconds, session) of one pass after `warmup` frames; per-stage times
    go into `totals` when given."""
    device = predictor.device
    session = predictor.new_session()
    predictor.step(session, 0, frames[0], first)
    stream = predictor.propagate(session, frames, 1)
    for _ in range(warmup):
        next(stream)
    with _timed_stages(predictor, totals) if totals is not None else contextlib.nullcontext():
        _sync(device)
        start = time.perf_counter()
        processed = sum(1 for _ in stream)
        _sync(device)
    return processed, time.perf_counter() - start, session


def run_benchmark(predictor: Predictor, size: tuple[int, int], num_frames: int,
                  num_objects: int, threads: int | None = None, warmup: int = 3) -> list[str]:
    """Run a synthetic clip through `predictor` and return the report lines (last: `FPS x`).
    On CUDA the FPS comes from a second pass without the stage timers, whose synchronisations
    (two per stage, ~8 a frame) would leave the GPU idle while Python queues the next stage."""
    from srnet.cli import synthetic_clip

    if threads:
        torch.set_num_threads(threads)
    frames, first = synthetic_clip(size, num_frames + warmup + 1, num_objects)
    device = predictor.device
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    totals: dict[str, float] = defaultdict(float)
    rss_before = _rss_mib()
    processed, elapsed, session = _timed_pass(predictor, frames, first, warmup, totals)
    fps = processed / elapsed
    if device.type == "cuda":
        untimed, untimed_s, _ = _timed_pass(predictor, frames, first, warmup, None)
        fps = untimed / untimed_s
    cfg = predictor.model.cfg
    lines = [f"config {cfg.name}  size {size[0]}x{size[1]}  frames {processed}  objects "
             f"{num_objects}  device {device}  threads {torch.get_num_threads()}  "
             f"amp {_amp_label(predictor)}  backend {predictor.backend}"]
    for name, total in sorted(totals.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {name:<18} {1000 * total / processed:8.1f} ms/frame")
    other = elapsed - sum(totals.values())
    lines.append(f"  {'other (pre/post)':<18} {1000 * other / processed:8.1f} ms/frame")
    lines.append(f"memory frames in the bank: {len(session.memory.entries)} "
                 f"(cap {predictor.config.max_working_frames} working)")
    if device.type == "cuda":
        lines.append(f"peak GPU memory {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB")
        lines.append(f"with stage timers {processed / elapsed:.2f} frames/s")
    lines.append(f"peak RSS {_rss_mib():.0f} MiB (before the pass {rss_before:.0f} MiB)")
    lines.append(f"FPS {fps:.2f}")
    return lines


# The two workloads issue #2 timed on the machine its CPU targets were set on (2 cores, fp32).
_REFERENCE_SECONDS = {"efficientnet_b0_stride16": 0.16, "resblock256_stride4": 0.23}


def _median_seconds(fn, repeats: int = 5) -> float:
    fn()  # warm-up: oneDNN picks and caches its kernels on the first call
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


@torch.inference_mode()
def reference_lines(threads: int | None = None) -> list[str]:
    """Time fixed reference workloads (random weights, nothing downloaded) so that FPS from
    different CPUs can be compared: a ratio > 1 means this CPU is that much slower than the one
    the targets were set on. The ResBlock (dense 3x3 convs, like most of lite's per-frame work)
    is the cleaner gauge; the EfficientNet time also depends on the allocator (see
    srnet/inference/cpu_allocator.py, in effect here once a predictor exists)."""
    import torchvision

    if threads:
        torch.set_num_threads(threads)
    trunk = torchvision.models.efficientnet_b0().features[:6].eval()  # stride 16, 112 channels
    image = torch.randn(1, 3, 480, 864)  # [1, 3, H, W]
    conv1, conv2 = (torch.nn.Conv2d(256, 256, 3, padding=1) for _ in range(2))
    feat4 = torch.randn(1, 256, 120, 216)  # [1, 256, H/4, W/4]
    measured = {
        "efficientnet_b0_stride16": _median_seconds(lambda: trunk(image)),
        "resblock256_stride4": _median_seconds(
            lambda: feat4 + conv2(torch.relu(conv1(torch.relu(feat4))))),
    }
    return [f"reference {name} {seconds:.3f} s (target machine {_REFERENCE_SECONDS[name]:.2f} s, "
            f"ratio {seconds / _REFERENCE_SECONDS[name]:.2f})"
            for name, seconds in measured.items()]
