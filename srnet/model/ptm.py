"""Prototype Transformer Module (spec §4 eqs 6-10).

eq 6: attention pooling of the global-memory values → one initial prototype P_0 per object.
eq 7: X_0 = Φ([F_M; F_L]) (two ResBlocks + CBAM).
Per layer l = 1..L: eq 8 prototype ← pixels (with sine position embedding on the pixel keys),
eq 9 pixels ← [prototype; learnable background token], eq 10 X̂ = X + Act([expand(P); X]), and an
auxiliary mask head M_l on X̂_l (deep supervision, §6 #11). F_P = X̂_L.
"SPA" = single-head scaled dot-product attention (§6 #9).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srnet.config import PTMConfig
from srnet.model.layers import ChannelGate, sine_position_embedding


@dataclass
class PTMOutput:
    """Outputs of the PTM for one query frame (objects folded into the batch, B' = B*K)."""

    feature: Tensor  # F_P = X̂_L [B', C_v, H/16, W/16]
    aux_logits: list[Tensor]  # per layer M_l logits, each [B', 1, H/16, W/16]
    proto_attention: list[Tensor] | None  # eq-8 attention over pixels, each [B', H/16, W/16]
    fg_assignment: list[Tensor] | None  # eq-9 weight on the object token, each [B', H/16, W/16]


class PrototypePooling(nn.Module):
    """Eq 6: P_0 = Σ_i softmax_i(MLP_1(v_i)) · MLP_C(v_i) over every global-memory position.
    The spec's optional mask-prior bias on the softmax logits (off by default) is not
    implemented (README, deviations)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.mlp_c = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.mlp_1 = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, 1))

    def forward(self, mem_value: Tensor) -> Tensor:
        """Shapes: mem_value [B', C_v, N] → P_0 [B', C_v]."""
        tokens = mem_value.transpose(1, 2)  # [B', N, C_v]
        alpha = torch.softmax(self.mlp_1(tokens), dim=1)  # [B', N, 1]
        return (alpha * self.mlp_c(tokens)).sum(dim=1)  # [B', C_v]


class SingleHeadAttention(nn.Module):
    """SPA: softmax((Q W_q)(K W_k + pos)ᵀ/√C) (V W_v), then W_o."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.q_proj, self.k_proj = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.v_proj, self.o_proj = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, query: Tensor, keys: Tensor, key_pos: Tensor | None,
                want_weights: bool) -> tuple[Tensor, Tensor | None]:
        """Shapes: query [B', Q, C], keys [B', S, C], key_pos [S, C] → [B', Q, C], [B', Q, S]."""
        q = self.q_proj(query)
        k = self.k_proj(keys) + (0 if key_pos is None else key_pos)
        v = self.v_proj(keys)
        if not want_weights:
            return self.o_proj(F.scaled_dot_product_attention(q, k, v)), None
        weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(q.shape[-1]),
                                dim=-1)  # [B', Q, S]
        return self.o_proj(weights @ v), weights  # [B', Q, C], [B', Q, S]


class PTMLayer(nn.Module):
    """One PTM layer: eqs 8, 9, 10 and the auxiliary mask head."""

    def __init__(self, dim: int, cfg: PTMConfig) -> None:
        super().__init__()
        self.proto_attn = SingleHeadAttention(dim)  # eq 8
        self.proto_norm = nn.LayerNorm(dim)
        self.ffn = (nn.Sequential(nn.Linear(dim, cfg.ffn_dim), nn.ReLU(),
                                  nn.Linear(cfg.ffn_dim, dim)) if cfg.ffn else None)
        self.ffn_norm = nn.LayerNorm(dim) if cfg.ffn else None
        self.pixel_attn = SingleHeadAttention(dim)  # eq 9
        self.background_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)  # p_bg [D]
        self.token_embedding = nn.Parameter(torch.randn(2, dim) * 0.02)  # E_tok [D]
        self.activation = nn.Sequential(  # eq 10's Act
            nn.Conv2d(2 * dim, dim, 3, padding=1), nn.ReLU(),
            nn.Conv2d(dim, dim, 3, padding=1), ChannelGate(dim, reduction=16),
        )
        self.aux_head = nn.Conv2d(dim, 1, 1)

    def forward(self, pixels: Tensor, proto: Tensor, pos: Tensor, want_vis: bool
                ) -> tuple[Tensor, Tensor, Tensor, Tensor | None, Tensor | None]:
        """Shapes: pixels X [B', C, h, w]; proto P [B', C]; pos [h*w, C]."""
        batch, dim, height, width = pixels.shape
        tokens = pixels.flatten(2).transpose(1, 2)  # [B', h*w, C]
        update, attn8 = self.proto_attn(proto[:, None], tokens, pos, want_vis)  # [B', 1, C]
        proto = self.proto_norm(proto + update[:, 0])  # eq 8 [B', C]
        if self.ffn is not None:
            proto = self.ffn_norm(proto + self.ffn(proto))  # [B', C]
        both = torch.cat([proto[:, None], self.background_token.expand(batch, 1, dim)],
                         dim=1)  # [B', 2, C]: object prototype, background token
        update, attn9 = self.pixel_attn(tokens, both, self.token_embedding,
                                        want_vis)  # [B', h*w, C], [B', h*w, 2] or None
        tokens = tokens + update  # eq 9 [B', h*w, C]
        pixels = tokens.transpose(1, 2).reshape(batch, dim, height, width)  # [B', C, h, w]
        pixels = pixels + self.activate(proto, pixels)  # eq 10 X̂ [B', C, h, w]
        aux = self.aux_head(pixels)  # M_l logits [B', 1, h, w]
        if not want_vis:
            return pixels, proto, aux, None, None
        proto_map = attn8[:, 0].reshape(batch, height, width)  # [B', h, w]
        fg_map = attn9[:, :, 0].reshape(batch, height, width)  # [B', h, w]
        return pixels, proto, aux, proto_map, fg_map


    def activate(self, proto: Tensor, pixels: Tensor) -> Tensor:
        """Act([expand(P); X]) of eq 10 without materialising expand(P).

        The first 3x3 conv is linear, so it splits into conv(X) plus the conv of a constant map,
        which is a per-tap sum of W_P·P over the taps that fall inside the (zero-padded) map:
        the same numbers for half the FLOPs of the first conv.
        Shapes: proto [B', C]; pixels [B', C, h, w] → [B', C, h, w]
        """
        first, dim = self.activation[0], pixels.shape[1]
        out = F.conv2d(pixels, first.weight[:, dim:], first.bias, padding=1)  # [B', C, h, w]
        out = out + _conv3x3_of_constant(proto, first.weight[:, :dim], *pixels.shape[-2:])
        return self.activation[1:](out)


def _conv3x3_of_constant(vector: Tensor, weight: Tensor, height: int, width: int) -> Tensor:
    """conv2d(vector broadcast over an h×w map, weight, padding=1) without bias.

    Shapes: vector [B, C_in]; weight [C_out, C_in, 3, 3] → [B, C_out, h, w]
    """
    per_tap = torch.einsum("bc,ocij->boij", vector, weight)  # [B, C_out, 3, 3]
    offsets = torch.arange(3, device=vector.device) - 1  # tap i reads row y + i - 1
    rows = torch.arange(height, device=vector.device)[None] + offsets[:, None]  # [3, h]
    cols = torch.arange(width, device=vector.device)[None] + offsets[:, None]  # [3, w]
    row_in = ((rows >= 0) & (rows < height)).to(per_tap.dtype)  # [3, h]
    col_in = ((cols >= 0) & (cols < width)).to(per_tap.dtype)  # [3, w]
    per_row = torch.einsum("boij,jx->boix", per_tap, col_in)  # [B, C_out, 3, w]
    return torch.einsum("boix,iy->boyx", per_row, row_in)  # [B, C_out, h, w]


class PrototypeTransformer(nn.Module):
    """PTM: refine the fused memory feature X_0 with L prototype ↔ pixel layers."""

    def __init__(self, dim: int, cfg: PTMConfig) -> None:
        super().__init__()
        self.pooling = PrototypePooling(dim)
        self.layers = nn.ModuleList(PTMLayer(dim, cfg) for _ in range(cfg.num_layers))

    def forward(self, fused: Tensor, proto: Tensor, want_vis: bool = False) -> PTMOutput:
        """Shapes: fused X_0 [B', C, h, w]; proto P_0 [B', C]."""
        height, width = fused.shape[-2:]
        pos = sine_position_embedding(height, width, fused.shape[1], fused.device)
        pos = pos.to(fused.dtype)  # [h*w, C]
        aux_logits, proto_maps, fg_maps = [], [], []
        pixels = fused
        for layer in self.layers:
            pixels, proto, aux, proto_map, fg_map = layer(pixels, proto, pos, want_vis)
            aux_logits.append(aux)
            proto_maps.append(proto_map)
            fg_maps.append(fg_map)
        if not want_vis:
            return PTMOutput(pixels, aux_logits, None, None)
        return PTMOutput(pixels, aux_logits, proto_maps, fg_maps)
