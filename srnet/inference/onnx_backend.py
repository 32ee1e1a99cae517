"""Compiled CPU stages: SRNet's convolutional stages run by ONNX Runtime or OpenVINO.

`CompiledStages` offers the stage methods the Predictor calls on the network (`encode_frame`,
`encode_value`, `segment`, `prepare_memory`, `compute_prototype`) and answers them with the
exported graphs of `export_graphs`, keeping torch for the top-k memory read and the aggregation.
The network is not touched: the compiled sessions are a cache of the predictor, built per padded
frame size on first use. A graph that fails to export or load is logged once and that stage
runs in torch from then on; pure torch stays the reference.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from srnet.inference.export_graphs import INPUTS, export_graph, graph_path, weights_digest
from srnet.model import FrameFeatures, MemoryInputs, SegmentOutput, SRNet
from srnet.model.memory_ops import soft_aggregate

log = logging.getLogger(__name__)

_MAX_SIZES = 4  # frame sizes whose sessions stay loaded (each size holds three graphs)


class GraphRunner:
    """One loaded graph: torch tensors in (by input name), torch tensors out (graph order)."""

    def __init__(self, path: Path, runtime: str, threads: int) -> None:
        self.path = path
        if runtime == "onnxruntime":
            self._run, self.input_names = _onnxruntime_session(path, threads)
        elif runtime == "openvino":
            self._run, self.input_names = _openvino_request(path, threads)
        else:
            raise ValueError(f"unknown compiled runtime {runtime!r}")

    def run(self, feeds: dict[str, Tensor]) -> list[Tensor]:
        # Inputs the exporter pruned (e.g. the image of a value encoder that never reads it) are
        # not fed. ONNX graphs take dense NCHW: channels-last tensors are copied once here.
        arrays = {name: np.ascontiguousarray(feeds[name].detach().float().contiguous().numpy())
                  for name in self.input_names}
        return [torch.from_numpy(out) for out in self._run(arrays)]


def _onnxruntime_session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # torch runs between the graphs on the same cores: idle ORT workers must not spin on them.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [item.name for item in session.get_inputs()]
    return (lambda arrays: session.run(None, arrays)), names


def _openvino_request(path: Path, threads: int):
    import openvino as ov

    compiled = ov.Core().compile_model(str(path), "CPU", {
        "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": "f32"})  # f32 like torch, not the CPU's bf16 default
    request = compiled.create_infer_request()
    names = [port.get_any_name() for port in compiled.inputs]
    busy = threading.Lock()  # one infer request: calls from a UI's worker threads take turns

    def run(arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
        with busy:
            results = request.infer(arrays)
            return [np.array(results[port]) for port in compiled.outputs]  # own the memory

    return run, names


class CompiledStages:
    """SRNet's per-frame stages with the convolutional parts in a compiled runtime."""

    def __init__(self, model: SRNet, runtime: str, threads: int | None = None) -> None:
        self.model = model
        self.runtime = runtime
        self._threads = threads
        self._digest = weights_digest(model)
        self._runners: OrderedDict[tuple[str, tuple[int, int]], GraphRunner | None] = \
            OrderedDict()
        self._lock = threading.Lock()

    # ----------------------------------------------------------------------------- stages
    def encode_frame(self, image: Tensor) -> FrameFeatures:
        """As `SRNet.encode_frame`. Shapes: image [1, 3, H, W], H and W multiples of 16."""
        runner = self._runner("encoder", image)
        if runner is None:
            return self.model.encode_frame(image)
        return FrameFeatures(*runner.run({"image": image}))

    def encode_value(self, image: Tensor | None, feats: FrameFeatures, masks: Tensor) -> Tensor:
        """As `SRNet.encode_value`. Shapes: masks [1, K, H, W] → values [1, K, C_v, h, w]."""
        runner = self._runner("value", masks)
        if runner is None or (image is None and "image" in runner.input_names):
            return self.model.encode_value(image, feats, masks)
        (values,) = runner.run({"image": image, "f16": feats.f16, "masks": masks})
        return values[None]  # [1, K, C_v, h, w]

    def segment(self, feats: FrameFeatures, memory: MemoryInputs, *, valid: Tensor | None = None,
                top_k: int | None = None, want_vis: bool = False) -> SegmentOutput:
        """As `SRNet.segment`, without the PTM's auxiliary logits (a training output). Visuals,
        and frames without a local memory (the FAM-less path), run in torch."""
        model = self.model
        compiled = not want_vis and memory.local_value is not None and \
            model.fam is not None and model.ptm is not None
        runner = self._runner("head", feats.f4, scale=4) if compiled else None
        if runner is None:
            return model.segment(feats, memory, valid=valid, top_k=top_k, want_vis=want_vis)
        batch, _, height, width = feats.key.shape
        num_obj, dim = memory.global_value.shape[1:3]
        memory_feat = model.read_memory(memory, feats.key.flatten(2), top_k)  # [1, K, C_v, h*w]
        prototype = memory.prototype
        if prototype is None:
            prototype = self.compute_prototype(memory.global_value)  # [1, K, C_v]
        (obj_logits,) = runner.run({
            "memory_feat": memory_feat.reshape(batch * num_obj, dim, height, width),
            "local_key": memory.local_key, "query_key": feats.key,
            "local_value": memory.local_value.flatten(0, 1),  # [K, C_v, h, w]
            "query_value": feats.query_value, "prototype": prototype.flatten(0, 1),
            "f8": feats.f8, "f4": feats.f4})  # [K, 1, H, W]
        obj_prob = torch.sigmoid(obj_logits).view(batch, num_obj,
                                                  *obj_logits.shape[-2:])  # [1, K, H, W]
        logits = soft_aggregate(obj_prob, valid)  # [1, K+1, H, W]
        return SegmentOutput(logits, torch.softmax(logits, dim=1), [], None)

    def prepare_memory(self, memory: MemoryInputs) -> MemoryInputs:
        return self.model.prepare_memory(memory)

    def compute_prototype(self, global_value: Tensor) -> Tensor:
        return self.model.compute_prototype(global_value)

    def warm_up(self, padded_size: tuple[int, int]) -> None:
        """Export (or load from the cache) and open every graph for one padded frame size now,
        instead of on the first frame of that size."""
        for graph in ("encoder", "value", "head"):
            self._runner_for(graph, padded_size)

    def compiled_graphs(self) -> list[tuple[str, tuple[int, int]]]:
        """(graph, padded size) of every graph loaded so far that runs compiled."""
        with self._lock:
            return [key for key, runner in self._runners.items() if runner is not None]

    # ----------------------------------------------------------------------------- sessions
    def _runner(self, graph: str, tensor: Tensor, scale: int = 1) -> GraphRunner | None:
        """The loaded graph for the padded frame size of `tensor` (a map at stride `scale`);
        None = run this stage in torch (batch > 1, not fp32, or the graph failed)."""
        if tensor.shape[0] != 1 or tensor.dtype != torch.float32:
            return None
        size = (tensor.shape[-2] * scale, tensor.shape[-1] * scale)
        if size[0] % 16 or size[1] % 16:
            return None  # torch raises the clear error for these
        return self._runner_for(graph, size)

    def _runner_for(self, graph: str, size: tuple[int, int]) -> GraphRunner | None:
        key = (graph, size)
        with self._lock:
            if key not in self._runners:
                self._runners[key] = self._load(graph, size)
                while len(self._runners) > 3 * _MAX_SIZES:
                    self._runners.popitem(last=False)
            self._runners.move_to_end(key)
            return self._runners[key]

    def _load(self, graph: str, size: tuple[int, int]) -> GraphRunner | None:
        path = graph_path(self._digest, graph, size)
        threads = self._threads or torch.get_num_threads()
        try:
            if not path.is_file():
                log.info("exporting the %s graph for %dx%d to %s (once per size)", graph,
                         *size, path)
                start = time.perf_counter()
                export_graph(self.model, graph, size, path)
                log.info("exported the %s graph in %.1f s", graph, time.perf_counter() - start)
            runner = GraphRunner(path, self.runtime, threads)
        except Exception as exc:  # an exporter or runtime gap: this stage stays in torch
            log.warning("%s graph %s unavailable, running it in torch: %s", self.runtime, graph,
                        " ".join(str(exc).split())[:300])
            return None
        if set(runner.input_names) - set(INPUTS[graph]):
            log.warning("%s has unexpected inputs %s: running %s in torch", path,
                        runner.input_names, graph)
            return None
        return runner
