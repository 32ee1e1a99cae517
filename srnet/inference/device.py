"""Where and in which precision inference runs: the device choice (CUDA when present, else the
CPU), whether this CPU computes bf16 natively, and the autocast context a step runs under."""

from __future__ import annotations

import contextlib

import torch

from srnet.config import InferenceConfig


def resolve_device(device: str | torch.device | None) -> torch.device:
    """None = CUDA when present, else the CPU. Asking for CUDA without one is a clear error."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was requested but no CUDA device is available; use device='cpu'")
    return device


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AMX tiles or AVX512-BF16)."""
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def autocast_for(device: torch.device, config: InferenceConfig
                 ) -> contextlib.AbstractContextManager[None]:
    """The autocast context for one step: bf16 on a CPU that asked for it, the configured (or
    best supported) half precision on CUDA with `amp`, else none."""
    if device.type == "cpu" and config.cpu_bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    if device.type != "cuda" or not config.amp:
        return contextlib.nullcontext()
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(config.amp_dtype)
    return torch.autocast("cuda", dtype=dtype or cuda_half_dtype())


def cuda_half_dtype() -> torch.dtype:
    """bf16 where the GPU computes it natively (compute capability 8.0 and up), else fp16.
    `is_bf16_supported()` alone also says yes when bf16 is only emulated (T4, V100), which
    runs without tensor cores, far slower than fp16."""
    return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) \
        else torch.float16
