"""SRNet: composes the encoders, memory read, FAM, PTM and decoder into named stage methods.

The network is stateless: per-video memory lives in `srnet.inference`; this module never picks a
device. `forward` is the training unroll of spec §7; inference calls the stage methods directly.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor, nn

from srnet.config import ModelConfig
from srnet.model.decoder import Decoder
from srnet.model.encoders import KeyEncoder, build_value_encoder, other_objects
from srnet.model.fam import FeatureAlignment
from srnet.model.layers import FeatureFusion, repeat_objects
from srnet.model.memory_ops import (
    augment_keys,
    l2_affinity,
    readout,
    soft_aggregate,
    softmax_affinity,
    sparse_readout,
    token_major,
    topk_affinity,
)
from srnet.model.outputs import (
    FrameFeatures,
    MemoryInputs,
    ModelVisuals,
    SegmentOutput,
    TrainOutput,
)
from srnet.model.ptm import PrototypeTransformer


class SRNet(nn.Module):
    """Space-time Reinforcement Network (see docs/srnet-architecture.md §2 for the pipeline)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.key_encoder = KeyEncoder(cfg)
        trunk = self.key_encoder.trunk
        self.value_encoder = build_value_encoder(trunk.f16_dim, cfg)
        dim = cfg.value_dim
        self.fam = FeatureAlignment(cfg.key_dim, dim, cfg.fam) if cfg.fam.enabled else None
        self.fusion = FeatureFusion(2 * dim, dim)  # Φ of eq 7
        self.ptm = PrototypeTransformer(dim, cfg.ptm) if cfg.ptm.enabled else None
        self.decoder = Decoder(dim, trunk.f8_dim, trunk.f4_dim, cfg.decoder_dims)

    # ----------------------------------------------------------------------------- stages
    def encode_trunk(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """ImageNet trunk only (frozen in lite training, so its output can be cached).

        Shapes: image [B, 3, H, W] RGB in [0, 1], H and W multiples of 16 → f16, f8, f4.
        """
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"image must be [B, 3, H, W], got {tuple(image.shape)}")
        if image.shape[-2] % 16 or image.shape[-1] % 16:
            raise ValueError(f"H and W must be multiples of 16, got {tuple(image.shape[-2:])}")
        return self.key_encoder.trunk.forward_features(image)

    def features_from_trunk(self, f16: Tensor, f8: Tensor, f4: Tensor) -> FrameFeatures:
        key, query_value = self.key_encoder.project(f16)
        return FrameFeatures(f16, f8, f4, key, query_value)

    def encode_frame(self, image: Tensor) -> FrameFeatures:
        """Key encoder: trunk features, key K (C_k) and query value V_Q (C_v)."""
        return self.features_from_trunk(*self.encode_trunk(image))

    def encode_value(self, image: Tensor | None, feats: FrameFeatures, masks: Tensor) -> Tensor:
        """Value encoder with early mask fusion (spec §3.2).

        Shapes: image [B, 3, H, W] (may be None for the lite encoder); masks [B, K, H, W]
        → values [B, K, C_v, H/16, W/16].
        """
        batch, num_obj = masks.shape[:2]
        values = self.value_encoder(image, feats.f16, masks, other_objects(masks))
        return values.view(batch, num_obj, *values.shape[1:])  # [B, K, C_v, h, w]

    def compute_prototype(self, global_value: Tensor) -> Tensor:
        """Eq 6. Shapes: global_value [B, K, C_v, N] → P_0 [B, K, C_v]."""
        if self.ptm is None:
            raise ValueError("this configuration has no PTM")
        batch, num_obj = global_value.shape[:2]
        proto = self.ptm.pooling(global_value.flatten(0, 1))  # [B*K, C_v]
        return proto.view(batch, num_obj, -1)  # [B, K, C_v]

    def prepare_memory(self, memory: MemoryInputs) -> MemoryInputs:
        """Add what depends only on the global memory (P_0, augmented keys, token-major values),
        for callers that read the same memory on many frames. Pure: returns a new MemoryInputs."""
        return dataclasses.replace(
            memory, key_aug=augment_keys(memory.global_key),
            value_tokens=token_major(memory.global_value),
            prototype=None if self.ptm is None else self.compute_prototype(memory.global_value))

    def segment(self, feats: FrameFeatures, memory: MemoryInputs, *, valid: Tensor | None = None,
                top_k: int | None = None, want_vis: bool = False) -> SegmentOutput:
        """Memory read (eq 1) → FAM (eqs 2-5) → Φ (eq 7) → PTM (eqs 8-10) → decoder → aggregation.

        Args:
            valid: [B, K] bool, which object slots are real (padding slots get probability 0).
            top_k: top-k softmax over memory (test time); None = full softmax (training).
        """
        batch, _, height, width = feats.key.shape
        num_obj, dim = memory.global_value.shape[1:3]
        memory_feat, read_w, read_idx = self._read_memory(memory, feats.key.flatten(2),
                                                          top_k)  # [B, K, C_v, h*w]
        memory_feat = memory_feat.reshape(batch * num_obj, dim, height, width)  # [B*K, C_v, h, w]
        query_value = repeat_objects(feats.query_value, num_obj)  # [B*K, C_v, h, w]

        fam_out = None
        if self.fam is not None and memory.local_value is not None:
            local_value = memory.local_value.flatten(0, 1)  # [B*K, C_v, h, w]
            fam_out = self.fam(memory.local_key, feats.key, local_value, query_value)
            local_feat = fam_out.local_feature  # F_L [B*K, C_v, h, w]
        else:  # "w/o FAM" ablation (spec §6 #6): X_0 = Φ([F_M; 0])
            local_feat = torch.zeros_like(memory_feat)
        fused = self.fusion(torch.cat([memory_feat, local_feat], dim=1))  # X_0 [B*K, C_v, h, w]

        ptm_out = None
        if self.ptm is not None:
            proto = memory.prototype
            if proto is None:
                proto = self.compute_prototype(memory.global_value)  # [B, K, C_v]
            ptm_out = self.ptm(fused, proto.flatten(0, 1), want_vis)  # proto [B*K, C_v]
            fused = ptm_out.feature  # F_P [B*K, C_v, h, w]

        obj_logits = self.decoder(torch.cat([fused, query_value], dim=1), feats.f8,
                                  feats.f4)  # [B*K, 1, H, W]
        obj_prob = torch.sigmoid(obj_logits.float()).view(batch, num_obj,
                                                          *obj_logits.shape[-2:])  # [B, K, H, W]
        logits = soft_aggregate(obj_prob, valid)  # [B, K+1, H, W]
        aux = [] if ptm_out is None else [
            a.view(batch, num_obj, height, width) for a in ptm_out.aux_logits]  # [B, K, h, w]
        visuals = None
        if want_vis:
            visuals = self._visuals(read_w, read_idx, fam_out, ptm_out, batch, num_obj)
        return SegmentOutput(logits, torch.softmax(logits, dim=1), aux, visuals)

    def read_memory(self, memory: MemoryInputs, query_key: Tensor, top_k: int | None) -> Tensor:
        """Eq 1 readout alone, F_M [B, K, C_v, h*w], for runtimes that run the rest of `segment`
        as a compiled graph. Shapes: query_key [B, C_k, h*w]."""
        return self._read_memory(memory, query_key, top_k)[0]

    @staticmethod
    def _read_memory(memory: MemoryInputs, query_key: Tensor, top_k: int | None
                     ) -> tuple[Tensor, Tensor, Tensor]:
        """Eq 1 readout F_M [B, K, C_v, h*w], plus the (top-k) read weights and memory indices
        [B, h*w, k] for visualisation. Training (top_k None) uses the dense softmax."""
        if top_k is not None:
            read_w, read_idx = topk_affinity(memory.global_key, query_key, top_k,
                                             key_aug=memory.key_aug)
            memory_feat = sparse_readout(read_w, read_idx, memory.global_value,
                                         memory.value_tokens)  # [B, K, C_v, M]
            return memory_feat, read_w, read_idx
        weights, _ = softmax_affinity(l2_affinity(memory.global_key, query_key), None)
        read_w, read_idx = weights.detach().topk(min(20, weights.shape[1]), dim=1)  # [B, k, M]
        return readout(weights, memory.global_value), read_w.transpose(1, 2), \
            read_idx.transpose(1, 2)  # [B, K, C_v, M], [B, M, k], [B, M, k]

    @staticmethod
    def _visuals(read_w, read_idx, fam_out, ptm_out, batch, num_obj) -> ModelVisuals:

        def per_obj(x: Tensor) -> Tensor:
            return x.detach().float().view(batch, num_obj, *x.shape[1:])  # [B, K, ...]

        def per_layer(maps: list[Tensor]) -> Tensor:
            stacked = torch.stack([m.view(batch, num_obj, *m.shape[-2:]) for m in maps], dim=1)
            return stacked.detach().float()  # [B, L, K, h, w]

        has_ptm = ptm_out is not None
        return ModelVisuals(
            read_indices=read_idx.detach(),
            read_weights=read_w.detach().float(),
            grid_offset=None if fam_out is None else fam_out.grid_offset.detach(),
            dcn_offset=None if fam_out is None else per_obj(fam_out.dcn_offset),
            dcn_modulation=None if fam_out is None else per_obj(fam_out.dcn_modulation),
            aux_masks=per_layer([torch.sigmoid(a) for a in ptm_out.aux_logits]) if has_ptm
            else None,
            proto_attention=per_layer(ptm_out.proto_attention) if has_ptm else None,
            fg_assignment=per_layer(ptm_out.fg_assignment) if has_ptm else None,
        )

    # ----------------------------------------------------------------------------- training
    def forward(self, frames: Tensor | None, first_masks: Tensor, valid: Tensor | None = None,
                trunk_feats: tuple[Tensor, Tensor, Tensor] | None = None) -> TrainOutput:
        """Training unroll of spec §7: frame 0 has its ground truth; frame t reads global memory
        {0..t−1} and local memory t−1, whose value is encoded from the *predicted* (not detached)
        mask of frame t−1.

        Shapes:
            frames: [B, T, 3, H, W] in [0, 1] (may be None when `trunk_feats` is given and the
                value encoder needs no image)
            first_masks: [B, K, H, W]; valid: [B, K] bool
            trunk_feats: cached (f16, f8, f4), each [B, T, C, H/s, W/s]
        """
        if trunk_feats is None:
            if frames is None:
                raise ValueError("give frames or cached trunk features")
            flat = self.encode_trunk(frames.flatten(0, 1))  # each [B*T, C, H/s, W/s]
            trunk_feats = tuple(x.view(*frames.shape[:2], *x.shape[1:])
                                for x in flat)  # each [B, T, C, H/s, W/s]
        batch, num_frames = trunk_feats[0].shape[:2]
        feats = [self.features_from_trunk(*(x[:, t] for x in trunk_feats))
                 for t in range(num_frames)]

        def image(t: int) -> Tensor | None:
            return None if frames is None else frames[:, t]

        keys = [feats[0].key]
        values = [self.encode_value(image(0), feats[0], first_masks)]  # [B, K, C_v, h, w]
        logits, aux = [], []
        for t in range(1, num_frames):
            memory = MemoryInputs(
                global_key=torch.stack(keys, dim=2).flatten(2),  # [B, C_k, t*h*w]
                global_value=torch.stack(values, dim=3).flatten(3),  # [B, K, C_v, t*h*w]
                local_key=keys[-1], local_value=values[-1])
            out = self.segment(feats[t], memory, valid=valid)
            logits.append(out.logits)
            if out.aux_logits:
                aux.append(torch.stack(out.aux_logits, dim=1))  # [B, L, K, h, w]
            if t < num_frames - 1:
                keys.append(feats[t].key)
                values.append(self.encode_value(image(t), feats[t], out.prob[:, 1:]))
        # logits [B, T-1, K+1, H, W]; aux [B, T-1, L, K, h, w] (per-layer PTM masks)
        return TrainOutput(torch.stack(logits, dim=1), torch.stack(aux, dim=1) if aux else None)
