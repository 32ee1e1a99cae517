"""The convolutional stages of SRNet as fixed-input graphs for a compiled CPU runtime.

Three graphs per padded frame size (H, W), each with a dynamic object axis K:

- `encoder`: image [1, 3, H, W] → f16, f8, f4, key, query value (Lite0 trunk + projections)
- `value`: image, f16, masks [1, K, H, W] → values [K, C_v, h, w] (value encoder)
- `head`: memory readout, local memory and query features → object logits [K, 1, H, W]
  (FAM, Φ fusion, PTM, decoder: everything of `SRNet.segment` after the top-k memory read)

The memory read (top-k over a memory that grows and changes per frame) stays in torch. Exports are
cached on disk under a name that hashes the weights, so a checkpoint is exported once per size.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor, nn

from srnet.model import SRNet
from srnet.model.backbones import plain_ops
from srnet.model.encoders import other_objects

log = logging.getLogger(__name__)

EXPORT_VERSION = 2  # bump when a wrapper below changes: old cache files are then never read

INPUTS = {
    "encoder": ("image",),
    "value": ("image", "f16", "masks"),
    "head": ("memory_feat", "local_key", "query_key", "local_value", "query_value", "prototype",
             "f8", "f4"),
}
OUTPUTS = {"encoder": ("f16", "f8", "f4", "key", "query_value"), "value": ("values",),
           "head": ("logits",)}


class EncoderGraph(nn.Module):
    """`SRNet.encode_frame` as plain tensors."""

    def __init__(self, model: SRNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        feats = self.model.encode_frame(image)
        return feats.f16, feats.f8, feats.f4, feats.key, feats.query_value


class ValueGraph(nn.Module):
    """`SRNet.encode_value` for one image: masks [1, K, H, W] → values [K, C_v, h, w]."""

    def __init__(self, model: SRNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: Tensor, f16: Tensor, masks: Tensor) -> Tensor:
        return self.model.value_encoder(image, f16, masks, other_objects(masks))


class MaskValueGraph(ValueGraph):
    """The lite ("shared") value encoder reads no image: the graph takes none, so the image is
    not copied into the runtime on every frame."""

    def forward(self, f16: Tensor, masks: Tensor) -> Tensor:  # type: ignore[override]
        return self.model.value_encoder(None, f16, masks, other_objects(masks))


class HeadGraph(nn.Module):
    """`SRNet.segment` after the memory read, for one image with a local memory frame."""

    def __init__(self, model: SRNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, memory_feat: Tensor, local_key: Tensor, query_key: Tensor,
                local_value: Tensor, query_value: Tensor, prototype: Tensor, f8: Tensor,
                f4: Tensor) -> Tensor:
        """Shapes: memory_feat, local_value [K, C_v, h, w]; local_key, query_key [1, C_k, h, w];
        query_value [1, C_v, h, w]; prototype [K, C_v] → logits [K, 1, H, W]."""
        model = self.model
        query_value = query_value.expand(memory_feat.shape[0], -1, -1, -1)  # [K, C_v, h, w]
        local_feat = model.fam(local_key, query_key, local_value, query_value).local_feature
        fused = model.fusion(torch.cat([memory_feat, local_feat], dim=1))  # [K, C_v, h, w]
        # want_vis=True takes the explicit-softmax attention: the exporter translates only 4-D
        # scaled_dot_product_attention; the unused attention maps are pruned from the graph.
        fused = model.ptm(fused, prototype, True).feature  # [K, C_v, h, w]
        return model.decoder(torch.cat([fused, query_value], dim=1), f8, f4)  # [K, 1, H, W]


def example_inputs(model: SRNet, graph: str, size: tuple[int, int]) -> tuple[Tensor, ...]:
    """Random inputs of the right shapes, with K = 2 objects: the exporter specialises a
    dimension seen as 1, so the example must not have one object."""
    height, width = size
    h, w = height // 16, width // 16
    trunk, cfg = model.key_encoder.trunk, model.cfg
    num_obj, dim = 2, cfg.value_dim
    image = torch.rand(1, 3, height, width)  # [1, 3, H, W]
    if graph == "encoder":
        return (image,)
    if graph == "value":
        return image, torch.randn(1, trunk.f16_dim, h, w), torch.rand(1, num_obj, height, width)
    key = torch.randn(1, cfg.key_dim, h, w)  # [1, C_k, h, w]
    return (torch.randn(num_obj, dim, h, w), key, key.clone(), torch.randn(num_obj, dim, h, w),
            torch.randn(1, dim, h, w), torch.randn(num_obj, dim),
            torch.randn(1, trunk.f8_dim, height // 8, width // 8),
            torch.randn(1, trunk.f4_dim, height // 4, width // 4))


def graph_inputs(model: SRNet, graph: str) -> tuple[str, ...]:
    """The input names of `graph` for this architecture."""
    if graph == "value" and model.cfg.value_backbone == "shared":
        return INPUTS[graph][1:]  # no image
    return INPUTS[graph]


def _dynamic_shapes(names: tuple[str, ...], graph: str) -> tuple[dict[int, object] | None, ...]:
    """The object axis of each input (None = fully static). min=2: see `example_inputs`; the
    graph itself has no guard and runs with K = 1."""
    objects = torch.export.Dim("objects", min=2, max=256)
    per_object = {"value": {"masks": 1},
                  "head": {"memory_feat": 0, "local_value": 0, "prototype": 0}}.get(graph, {})
    return tuple({per_object[name]: objects} if name in per_object else None for name in names)


def export_graph(model: SRNet, graph: str, size: tuple[int, int], path: Path) -> Path:
    """Export one graph for padded size `size` to `path` (written atomically)."""
    names = graph_inputs(model, graph)
    lite_value = graph == "value" and names != INPUTS[graph]
    module = {"encoder": EncoderGraph, "value": MaskValueGraph if lite_value else ValueGraph,
              "head": HeadGraph}[graph](model)
    module.eval()
    args = example_inputs(model, graph, size)[-len(names):]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with torch.no_grad(), plain_ops(), _quiet_exporter():
        torch.onnx.export(module, args, str(partial), input_names=list(names),
                          output_names=list(OUTPUTS[graph]), dynamo=True, external_data=False,
                          dynamic_shapes=_dynamic_shapes(names, graph), verbose=False)
    os.replace(partial, path)  # never leave a half-written file under the final name
    return path


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter reports progress on stdout (which the CLI keeps for its report), INFO logs
    per rewrite pass and warnings about axis names: none of it concerns the user."""
    loggers = [logging.getLogger(name) for name in ("onnx_ir", "onnxscript", "torch.onnx")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


@functools.cache
def _code_digest() -> bytes:
    """Hash of the network's code and these wrappers: a fix in FAM or the decoder with the
    same weights loaded the graph exported before it, without a word."""
    digest = hashlib.sha256()
    for path in sorted((*(Path(__file__).parent.parent / "model").glob("*.py"),
                        Path(__file__))):
        digest.update(path.read_bytes())
    return digest.digest()


def weights_digest(model: SRNet) -> str:
    """Hash of the weights, the architecture and the code (`_code_digest`): the cache key of
    a model."""
    digest = hashlib.sha256()
    digest.update(f"{EXPORT_VERSION} {torch.__version__} {model.cfg.to_dict()}".encode())
    digest.update(_code_digest())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    """`$SRNET_CACHE_DIR/onnx`, else `$XDG_CACHE_HOME/srnet/onnx`, else ~/.cache/srnet/onnx; a
    temporary folder when that cannot be created (read-only home on a hosted Space)."""
    root = os.environ.get("SRNET_CACHE_DIR")
    if root is None:
        root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "srnet"
    folder = Path(root) / "onnx"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        folder = _fallback_dir(str(exc))
    return folder


@functools.cache
def _fallback_dir(reason: str) -> Path:
    """One temporary cache per process: a new one per lookup exported every graph again (and
    left a copy of the weights behind each time)."""
    folder = Path(tempfile.mkdtemp(prefix="srnet-onnx-"))
    log.warning("cannot create the export cache (%s): exporting to %s", reason, folder)
    return folder


def graph_path(model_digest: str, graph: str, size: tuple[int, int]) -> Path:
    return cache_dir() / f"{model_digest}-{graph}-{size[0]}x{size[1]}.onnx"
