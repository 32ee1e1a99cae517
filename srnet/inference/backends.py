"""Which engine runs the network's stages: torch (the reference), or a compiled CPU runtime
(ONNX Runtime, OpenVINO) for the convolutional stages when its package is installed.

`resolve_backend` turns a request (a name, "auto", or None) into a backend that will run on the
device; `build_stages` returns the object whose stage methods the Predictor calls.
"""

from __future__ import annotations

import copy
import importlib
import logging
import os
from typing import TYPE_CHECKING

import torch

from srnet.model import SRNet

if TYPE_CHECKING:
    from srnet.inference.onnx_backend import CompiledStages

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnxruntime", "openvino")
COMPILED = ("onnxruntime", "openvino")
# The compiled runtimes "auto" picks, fastest first, when one is installed. Empty: on 2 quiet
# cores (lite, 480x854, `scripts/bench_backends.py`, 2026-12-02) torch with its fused oneDNN
# path ran 5.8-5.9 FPS, ONNX Runtime 5.5 and OpenVINO 6.7-6.8: neither pays the ≥ 1.3x that
# would justify an export per size. Under CPU contention both were 1.2-3x faster than torch.
AUTO_ORDER: tuple[str, ...] = ()
ENV_VAR = "SRNET_BACKEND"  # the default for Predictors built without a backend (e.g. eval)


class BackendError(ValueError):
    """A backend that cannot run with this device or configuration (the message says why)."""


def backend_available(name: str) -> bool:
    """Whether `name` can run here: torch always, a compiled runtime when it imports."""
    if name == "torch":
        return True
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def default_backend(device: torch.device) -> str:
    """The fastest backend installed for `device`: CUDA always runs torch."""
    if device.type != "cpu":
        return "torch"
    return next((name for name in AUTO_ORDER if backend_available(name)), "torch")


def resolve_backend(name: str | None, device: torch.device, cpu_bf16: bool = False,
                    worth_exporting: bool = True) -> str:
    """The backend a Predictor on `device` uses for the request `name`.

    None reads $SRNET_BACKEND (default "torch": library users, training's validation and the
    app opt in explicitly); "auto" is the fastest installed (torch on CUDA and with bf16
    autocast, which the compiled fp32 graphs do not have, and for a throwaway network,
    `worth_exporting` False, whose ~25 s export would never pay). An explicit compiled backend
    that cannot run raises BackendError saying why.
    """
    if name is None:
        name = os.environ.get(ENV_VAR, "").strip() or "torch"
    if name == "auto":
        return "torch" if cpu_bf16 or not worth_exporting else default_backend(device)
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)} or auto")
    if name == "torch":
        return name
    if device.type != "cpu":
        raise BackendError(f"backend {name} runs on the CPU only; on {device.type} use torch")
    if cpu_bf16:
        raise BackendError(f"backend {name} runs fp32 graphs; cpu_bf16 needs the torch backend")
    if not backend_available(name):
        raise BackendError(f"backend {name} is not installed: pip install {name}")
    return name


def build_stages(model: SRNet, backend: str) -> SRNet | CompiledStages:
    """The object whose `encode_frame`, `encode_value`, `segment`, `prepare_memory` and
    `compute_prototype` the Predictor calls: the network itself for torch."""
    if backend == "torch":
        return model
    from srnet.inference.onnx_backend import CompiledStages

    return CompiledStages(model, backend)


def adapted_network(model: SRNet, adapted: dict) -> SRNet:
    """A torch copy of `model` with a session's adapted weights (online adaptation: parameter
    name → tensor or numpy array); compiled graphs hold the shared weights, so such a session
    always runs torch. ValueError for a name `model` does not have."""
    stray = sorted(set(adapted) - {name for name, _ in model.named_parameters()})
    if stray:
        raise ValueError(f"adapted weights do not fit this network: {stray[:3]}")
    with torch.inference_mode(False):  # normal tensors: the folded-BN cache versions them
        network = copy.deepcopy(model)
        params = dict(network.named_parameters())
        for name, value in adapted.items():
            params[name].data.copy_(torch.as_tensor(value))
    return network
