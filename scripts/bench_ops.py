"""Time the CPU kernels behind three of the README's speed choices (prints milliseconds):

1. FAM's modulated 3x3 deformable conv: torchvision's `deform_conv2d` against the project's
   `modulated_deform_conv3x3` (one `grid_sample` of the nine taps + a 1x1 conv);
2. the memory read's thin query·key product (C_k+1 = 65) on the token-major keys: `torch.bmm`
   (MKL's sgemm) over 64-pixel chunks, `topk_affinity`'s path without oneDNN, against
   `_cpu_affinity_chunks` (1x1 oneDNN convolutions over query chunks);
3. a trunk-sized conv in fp32 and under bf16 autocast (bf16 is fast only where the CPU has
   AMX / AVX512-BF16; elsewhere it is emulated).

Shapes are those of a 480x854 frame (30x54 feature cells) with 11 memory frames. Each line is
the median of `--repeats` runs, the two sides of a pair alternating on the same inputs.

    OMP_NUM_THREADS=2 python scripts/bench_ops.py [--threads 2] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.ops import deform_conv2d

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from srnet.model.fam import modulated_deform_conv3x3  # noqa: E402
from srnet.model.memory_ops import _cpu_affinity_chunks  # noqa: E402

HEIGHT, WIDTH = 30, 54  # feature cells of a 480x854 frame
MEMORY_FRAMES = 11


def paired_ms(first: Callable[[], object], second: Callable[[], object],
              repeats: int) -> tuple[float, float]:
    """Median wall times of `first` and `second` in ms, run alternately after one warm-up of
    each, so a noisy neighbour on a shared machine slows both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    with torch.inference_mode():
        first(), second()
        for _ in range(repeats):
            for fn, out in ((first, times[0]), (second, times[1])):
                start = time.perf_counter()
                fn()
                out.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def bench_dcn(repeats: int) -> tuple[float, float]:
    """(torchvision, grid_sample version) ms for FAM's DCN at C_v = 128."""
    channels = 128
    x = torch.randn(1, channels, HEIGHT, WIDTH)  # [1, C_v, h, w]
    offset = torch.randn(1, 18, HEIGHT, WIDTH) * 2  # ΔP [1, 18, h, w]
    mask = torch.rand(1, 9, HEIGHT, WIDTH)  # ΔM [1, 9, h, w]
    weight, bias = torch.randn(channels, channels, 3, 3) * 0.01, torch.zeros(channels)
    return paired_ms(
        lambda: deform_conv2d(x, offset, weight, bias, padding=1, mask=mask),
        lambda: modulated_deform_conv3x3(x, offset, weight, bias, padding=1, mask=mask),
        repeats)


def bench_read(repeats: int) -> tuple[float, float]:
    """(bmm, 1x1-conv chunks) ms for the [M, C_k+1] x [C_k+1, N] affinity product."""
    tokens = HEIGHT * WIDTH  # M = 1620 query pixels, N = 11 x 1620 memory tokens
    query = torch.randn(1, tokens, 65)  # [1, M, C_k+1]
    memory = torch.randn(1, tokens * MEMORY_FRAMES, 65).transpose(1, 2)  # [1, C, N] token-major

    def by_bmm() -> None:  # `topk_affinity`'s path without oneDNN: 64-pixel chunks
        for start in range(0, tokens, 64):
            torch.bmm(query[:, start:start + 64], memory)  # [1, 64, N]

    def by_conv() -> None:
        for _ in _cpu_affinity_chunks(query, memory):
            pass

    return paired_ms(by_bmm, by_conv, repeats)


def bench_bf16(repeats: int) -> tuple[float, float]:
    """(fp32, bf16 autocast) ms for a 3x3 conv of 40 channels at stride 8 of 480x854."""
    x = torch.randn(1, 40, 60, 107)  # [1, C, H/8, W/8]
    weight = torch.randn(40, 40, 3, 3) * 0.05

    def conv() -> None:
        F.conv2d(x, weight, padding=1)

    def conv_bf16() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            F.conv2d(x, weight, padding=1)

    return paired_ms(conv, conv_bf16, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}, repeats {args.repeats}, torch {torch.__version__}")
    for name, (base, ours), labels in (
            ("FAM DCN 3x3, C 128, 30x54", bench_dcn(args.repeats),
             ("torchvision deform_conv2d", "grid_sample + 1x1 conv")),
            ("memory read 1620 x 17820, C 65", bench_read(args.repeats),
             ("bmm (MKL)", "1x1 conv chunks (oneDNN)")),
            ("conv 3x3, 40 ch, 60x107", bench_bf16(args.repeats), ("fp32", "bf16 autocast"))):
        print(f"{name}: {labels[0]} {base:.1f} ms, {labels[1]} {ours:.1f} ms "
              f"({base / ours:.1f}x)")


if __name__ == "__main__":
    main()
