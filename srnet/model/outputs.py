"""Typed values passed between SRNet's stages (no string-keyed dicts across module borders)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class FrameFeatures:
    """Everything the key encoder computes for one frame; shared by all objects."""

    f16: Tensor  # [B, C16, H/16, W/16] trunk feature
    f8: Tensor  # [B, C8, H/8, W/8]
    f4: Tensor  # [B, C4, H/4, W/4]
    key: Tensor  # K, [B, C_k, H/16, W/16]; also this frame's key when it becomes memory
    query_value: Tensor  # V_Q, [B, C_v, H/16, W/16]


@dataclass
class MemoryInputs:
    """The memory a query frame reads, assembled by the inference session or the training unroll."""

    global_key: Tensor  # K_G, [B, C_k, N] with N = T·H/16·W/16
    global_value: Tensor  # V_G, [B, K, C_v, N]
    local_key: Tensor | None  # K_L of frame t−s, [B, C_k, H/16, W/16]
    local_value: Tensor | None  # V_L of frame t−s, [B, K, C_v, H/16, W/16]
    prototype: Tensor | None = None  # cached P_0, [B, K, C_v]; recomputed from V_G when None
    # Derived from K_G / V_G by `SRNet.prepare_memory`, so inference computes them once per
    # memory change instead of once per frame; None = derived on every call.
    key_aug: Tensor | None = None  # K_G with ‖k‖² appended, [B, C_k+1, N]
    value_tokens: Tensor | None = None  # V_G token-major, [B, N, K*C_v]


@dataclass
class ModelVisuals:
    """Internals for teaching views; all detached. L = PTM layers, k = top-k."""

    read_indices: Tensor  # memory token index of each top-k read, [B, H/16·W/16, k]
    read_weights: Tensor  # the matching softmax weights, [B, H/16·W/16, k]
    grid_offset: Tensor | None  # FAM Δp in grid cells, (dx, dy), [B, 2, H/16r, W/16r]
    dcn_offset: Tensor | None  # FAM ΔP in feature pixels, (dy, dx) per tap, [B, K, 18, H/16, W/16]
    dcn_modulation: Tensor | None  # FAM ΔM, [B, K, 9, H/16, W/16]
    aux_masks: Tensor | None  # σ(M_l), [B, L, K, H/16, W/16]
    proto_attention: Tensor | None  # eq-8 prototype→pixel attention, [B, L, K, H/16, W/16]
    fg_assignment: Tensor | None  # eq-9 weight on the object prototype, [B, L, K, H/16, W/16]


@dataclass
class SegmentOutput:
    """Result of `SRNet.segment` for one query frame."""

    logits: Tensor  # soft-aggregated logits, channel 0 = background, [B, K+1, H, W]
    prob: Tensor  # softmax of `logits`, [B, K+1, H, W]
    aux_logits: list[Tensor]  # per PTM layer, [B, K, H/16, W/16] each (empty without PTM)
    visuals: ModelVisuals | None  # only when asked for


@dataclass
class TrainOutput:
    """Result of the training unroll over a clip of T frames (frames 1..T−1 are predicted)."""

    logits: Tensor  # [B, T−1, K+1, H, W]
    aux_logits: Tensor | None  # [B, T−1, L, K, H/16, W/16]; None without PTM
