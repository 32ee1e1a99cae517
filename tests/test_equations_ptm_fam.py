"""PTM (spec §4 eqs 6, 8-10) and FAM's warp (eqs 2-3) against references written out by hand.

The references use only the modules' parameters: every product, softmax and norm is spelled out
here (einsum, explicit LayerNorm and SE gate), so a change to the module's code shows up as a
numerical difference. Everything runs in float64 so the tolerances can be tight.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srnet.config import FAMConfig, PTMConfig
from srnet.inference.visuals import fam_offsets_per_cell
from srnet.model.fam import FeatureAlignment, warp_by_cells
from srnet.model.ptm import PrototypePooling, PrototypeTransformer, PTMLayer

DIM = 16  # channels: divisible by 4 (sine embedding); the SE gate's hidden width is 4
TOL = {"atol": 1e-10, "rtol": 1e-10}


# ------------------------------------------------------------------------------- references
def _linear(x: Tensor, layer: nn.Linear) -> Tensor:
    """x W^T + b over the last axis, written as an einsum."""
    return torch.einsum("...i,oi->...o", x, layer.weight) + layer.bias


def _layer_norm(x: Tensor, norm: nn.LayerNorm) -> Tensor:
    """LayerNorm over the last axis (biased variance, as in the definition)."""
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias


def _spa(attn: nn.Module, query: Tensor, keys: Tensor, key_pos: Tensor) -> tuple[Tensor, Tensor]:
    """SPA of the spec: W_o · softmax((Q W_q)(K W_k + pos)ᵀ / √C) · K W_v, with its weights."""
    q = _linear(query, attn.q_proj)  # [B, Q, C]
    k = _linear(keys, attn.k_proj) + key_pos  # [B, S, C]
    v = _linear(keys, attn.v_proj)  # [B, S, C]
    logits = torch.einsum("bqc,bsc->bqs", q, k) / math.sqrt(q.shape[-1])  # [B, Q, S]
    weights = torch.exp(logits - logits.amax(dim=-1, keepdim=True))
    weights = weights / weights.sum(dim=-1, keepdim=True)
    return _linear(torch.einsum("bqs,bsc->bqc", weights, v), attn.o_proj), weights


def _reference_layer(layer: PTMLayer, pixels: Tensor, proto: Tensor, pos: Tensor
                     ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Eqs 8 (+ FFN and LN), 9, 10 and the auxiliary head of one PTM layer.

    Shapes: pixels [B, C, h, w]; proto [B, C]; pos [h*w, C] (added to the eq-8 pixel keys).
    Returns X̂, P, M logits, eq-8 attention [B, h, w], eq-9 weight on the object token."""
    batch, dim, height, width = pixels.shape
    x = pixels.reshape(batch, dim, height * width).permute(0, 2, 1)  # X [B, hw, C]
    # eq 8: P_l = LN(P + W_o softmax((P W_q)(X W_k + PE)ᵀ/√C) X W_v)
    update, attn8 = _spa(layer.proto_attn, proto[:, None], x, pos)
    p = _layer_norm(proto + update[:, 0], layer.proto_norm)
    # IPMT FFN: P = LN(P + W_2 ReLU(W_1 P))
    hidden = torch.clamp(_linear(p, layer.ffn[0]), min=0)
    p = _layer_norm(p + _linear(hidden, layer.ffn[2]), layer.ffn_norm)
    # eq 9: Z = [P; p_bg], X_l = X + W'_o softmax((X W'_q)(Z W'_k + E_tok)ᵀ/√C) Z W'_v
    tokens = torch.stack([p, layer.background_token[0, 0].expand(batch, dim)], dim=1)
    update, attn9 = _spa(layer.pixel_attn, x, tokens, layer.token_embedding)
    x = x + update  # [B, hw, C]
    x_map = x.permute(0, 2, 1).reshape(batch, dim, height, width)
    # eq 10: X̂ = X + Act([Expand(P); X]), Act = conv3x3, ReLU, conv3x3, SE gate
    conv1, conv2, gate = layer.activation[0], layer.activation[2], layer.activation[3]
    expanded = p[:, :, None, None].expand(batch, dim, height, width)
    act = F.conv2d(torch.cat([expanded, x_map], dim=1), conv1.weight, conv1.bias, padding=1)
    act = F.conv2d(torch.clamp(act, min=0), conv2.weight, conv2.bias, padding=1)
    squeeze = act.mean(dim=(2, 3))  # [B, C]
    excite = _linear(torch.clamp(_linear(squeeze, gate.mlp[0]), min=0), gate.mlp[2])
    act = act * (1 / (1 + torch.exp(-excite)))[:, :, None, None]
    out = x_map + act
    aux = torch.einsum("bchw,oc->bohw", out, layer.aux_head.weight[:, :, 0, 0]) \
        + layer.aux_head.bias[None, :, None, None]
    return (out, p, aux, attn8[:, 0].reshape(batch, height, width),
            attn9[:, :, 0].reshape(batch, height, width))


def _sine_embedding(height: int, width: int, dim: int) -> Tensor:
    """The documented 2-D sine embedding (layers.sine_position_embedding's docstring): y then x,
    dim/2 channels each, coordinates normalised to [0, 1], temperature 10000, sines then
    cosines of the dim/4 frequencies 10000^(2j/(dim/2)). Shape [h*w, dim]."""
    half = dim // 2
    j = torch.arange(half // 2, dtype=torch.float64)
    inv_freq = 2 * math.pi / (10000.0 ** (2 * j / half))  # [dim/4]
    rows = []
    for y in range(height):
        for x in range(width):
            cy = y / (height - 1) if height > 1 else 0.0
            cx = x / (width - 1) if width > 1 else 0.0
            ay, ax = cy * inv_freq, cx * inv_freq
            rows.append(torch.cat([ay.sin(), ay.cos(), ax.sin(), ax.cos()]))
    return torch.stack(rows)  # [h*w, dim]


# ----------------------------------------------------------------------------------- eq 6
def test_prototype_pooling_is_the_softmax_weighted_sum_of_eq_6() -> None:
    """P_0 = Σ_i softmax_i(MLP_1(v_i)) · MLP_C(v_i): a mean pool, a softmax over channels or a
    missing MLP would still give the right shape, so the numbers are checked."""
    torch.manual_seed(1)
    pool = PrototypePooling(DIM).double()
    values = torch.randn(3, DIM, 11, dtype=torch.float64) * 2  # [B', C_v, N]
    v = values.transpose(1, 2)  # [B', N, C]
    u = torch.einsum("bnh,oh->bno", torch.relu(
        torch.einsum("bnc,hc->bnh", v, pool.mlp_c[0].weight) + pool.mlp_c[0].bias),
        pool.mlp_c[2].weight) + pool.mlp_c[2].bias  # MLP_C [B', N, C]
    a = torch.einsum("bnh,oh->bno", torch.relu(
        torch.einsum("bnc,hc->bnh", v, pool.mlp_1[0].weight) + pool.mlp_1[0].bias),
        pool.mlp_1[2].weight)[..., 0] + pool.mlp_1[2].bias  # MLP_1 [B', N]
    alpha = torch.exp(a - a.amax(dim=1, keepdim=True))
    alpha = alpha / alpha.sum(dim=1, keepdim=True)  # softmax over the N positions
    expected = torch.einsum("bn,bnc->bc", alpha, u)
    assert alpha.std() > 0.01, "the test needs unequal weights to tell softmax from a mean"
    torch.testing.assert_close(pool(values), expected, **TOL)


# ------------------------------------------------------------------------------ eqs 8-10
@pytest.mark.parametrize("want_vis", [False, True])
def test_one_ptm_layer_follows_eqs_8_to_10(want_vis: bool) -> None:
    """One layer against eqs 8-10 written out: the residuals and LayerNorms, the position
    embedding on the eq-8 pixel keys (and E_tok on the eq-9 token keys), the expanded prototype
    first in eq 10's concatenation. Both the SDPA path and the one that returns weights."""
    torch.manual_seed(2)
    layer = PTMLayer(DIM, PTMConfig(ffn_dim=24)).double()
    with torch.no_grad():  # tokens and E_tok as large as a trained layer's, so they matter
        layer.background_token.normal_()
        layer.token_embedding.normal_()
    height, width = 3, 5
    pixels = torch.randn(2, DIM, height, width, dtype=torch.float64)
    proto = torch.randn(2, DIM, dtype=torch.float64)
    pos = 2 * torch.randn(height * width, DIM, dtype=torch.float64)
    out = layer(pixels, proto, pos, want_vis)
    expected = _reference_layer(layer, pixels, proto, pos)
    names = ["X̂", "P", "aux logits"] + (["eq-8 attention", "eq-9 object weight"]
                                         if want_vis else [])
    for name, got, want in zip(names, out, expected):
        torch.testing.assert_close(got, want, **TOL, msg=lambda m, n=name: f"{n}: {m}")
    if not want_vis:
        assert out[3] is None and out[4] is None


def test_ptm_stack_feeds_each_layer_the_last_output_with_the_sine_embedding() -> None:
    """Two layers end to end: layer 2 reads X̂_1 and P_1 (spec: "use X̂ as new X_0 and P as new
    P_0"), and the pixel keys carry the documented sine embedding. A dropped embedding or a
    layer fed X_0 again changes F_P and the second aux mask."""
    torch.manual_seed(3)
    ptm = PrototypeTransformer(DIM, PTMConfig(num_layers=2, ffn_dim=24)).double()
    height, width = 4, 6
    fused = torch.randn(1, DIM, height, width, dtype=torch.float64)
    proto = torch.randn(1, DIM, dtype=torch.float64)
    pos = _sine_embedding(height, width, DIM)
    pixels, p, aux = fused, proto, []
    for layer in ptm.layers:
        pixels, p, logits, _, _ = _reference_layer(layer, pixels, p, pos)
        aux.append(logits)
    out = ptm(fused, proto)
    loose = {"atol": 1e-6, "rtol": 1e-6}  # the module builds its embedding in float32
    torch.testing.assert_close(out.feature, pixels, **loose)
    assert len(out.aux_logits) == 2
    for got, want in zip(out.aux_logits, aux):
        torch.testing.assert_close(got, want, **loose)


# --------------------------------------------------------------------------- FAM: eqs 2-3
def test_one_cell_offset_in_y_shifts_by_exactly_one_row() -> None:
    """dy = +1 cell reads the row below: output(y) = input(y + 1), and the last row samples
    outside the map, which is zero. The map is not square, so a y step scaled by the width
    (or x and y swapped) lands between rows."""
    value = torch.randn(2, 3, 5, 8)
    offset = torch.zeros(1, 2, 5, 8)
    offset[:, 1] = 1.0
    shifted = warp_by_cells(value, offset)
    torch.testing.assert_close(shifted[..., :-1, :], value[..., 1:, :], atol=1e-5, rtol=0)
    assert shifted[..., -1, :].abs().max() < 1e-6


class _ConstantOffsetNet(nn.Module):
    """Stands in for FAM's offset net: raw offsets that tanh-bound to `cells` (dx, dy) on the
    stride-2 grid the real net produces (ceil(H/2) x ceil(W/2))."""

    def __init__(self, cells: tuple[float, float], max_offset: float) -> None:
        super().__init__()
        self.raw = torch.atanh(torch.tensor(cells, dtype=torch.float64) / max_offset)

    def forward(self, keys: Tensor) -> Tensor:
        height, width = -(-keys.shape[-2] // 2), -(-keys.shape[-1] // 2)
        return self.raw.to(keys.dtype)[None, :, None, None].expand(keys.shape[0], 2, height,
                                                                    width).clone()


def _fam_r2_aligned(value: Tensor, cells: tuple[float, float] | None) -> Tensor:
    """Ṽ of a grid_factor-2 FAM, read through F_L: the DCN predictor is zero (offsets 0,
    modulation 0.5), so a centre tap of 2 per channel and no bias make F_L = Ṽ."""
    channels = value.shape[1]
    fam = FeatureAlignment(key_dim=2, value_dim=channels, cfg=FAMConfig(grid_factor=2))
    if cells is not None:
        fam.offset_net = _ConstantOffsetNet(cells, fam.cfg.max_offset_cells)
    with torch.no_grad():
        fam.dcn_weight.zero_()
        for c in range(channels):
            fam.dcn_weight[c, c, 1, 1] = 2.0
    keys = torch.randn(1, 2, *value.shape[-2:])
    out = fam(keys, keys, value, torch.randn_like(value))
    if cells is None:
        assert torch.count_nonzero(out.grid_offset) == 0
    return out.local_feature


# 7 x 9 maps: the offset grid is 4 x 5, coarse cell i sits on fine pixel 2i (align_corners)
RAMP_X = torch.arange(9.0).expand(7, 9)  # value = column
RAMP_Y = torch.arange(7.0)[:, None].expand(7, 9)  # value = row


def test_grid_factor_two_keeps_a_ramp_at_zero_offset() -> None:
    """r = 2 shrinks V_L to the offset grid and enlarges it back, both with
    align_corners=True: on a linear ramp that is exact. With align_corners=False the shrink
    samples at 0.4, 2.2, 4.0, ... and the ramp bends."""
    value = torch.stack([RAMP_X, RAMP_Y])[None]  # [1, 2, 7, 9]
    torch.testing.assert_close(_fam_r2_aligned(value, None), value, atol=1e-5, rtol=0)


def test_grid_factor_two_warps_on_the_coarse_grid() -> None:
    """A constant offset of one coarse cell (dx = 1, then dy = 1) moves the ramp by two fine
    pixels; the coarse cell read from outside the map is zero, and the enlargement back
    interpolates towards it. Hand-computed: coarse x-ramp 0,2,4,6,8 → 2,4,6,8,0, enlarged to
    2,3,...,8,4,0 (likewise for rows: 0,2,4,6 → 2,4,6,0 → 2,3,4,5,6,3,0). A skipped warp
    leaves the ramp unshifted."""
    along_x = torch.tensor([2.0, 3, 4, 5, 6, 7, 8, 4, 0]).expand(7, 9)
    got = _fam_r2_aligned(RAMP_X[None, None].clone(), (1.0, 0.0))
    torch.testing.assert_close(got[0, 0], along_x, atol=1e-4, rtol=0)
    along_y = torch.tensor([2.0, 3, 4, 5, 6, 3, 0])[:, None].expand(7, 9)
    got = _fam_r2_aligned(RAMP_Y[None, None].clone(), (0.0, 1.0))
    torch.testing.assert_close(got[0, 0], along_y, atol=1e-4, rtol=0)


class _FixedOffsetNet(nn.Module):
    """Stands in for FAM's offset net: returns the given raw offsets [1, 2, h_g, w_g]."""

    def __init__(self, raw: Tensor) -> None:
        super().__init__()
        self.raw = raw

    def forward(self, keys: Tensor) -> Tensor:
        return self.raw.clone()


@pytest.mark.parametrize("grid_factor, size", [(2, (9, 13)), (3, (10, 14))])
def test_the_shown_shift_per_cell_is_what_fam_does_at_coarse_grids(grid_factor, size) -> None:
    """The demo draws FAM's offsets per feature cell (`fam_offsets_per_cell`). Read off FAM
    itself, a linear ramp comes out as ramp(p + shift), so Ṽ − ramp is the shift it applied;
    the two must agree on every cell whose samples stay inside the map. Placing grid cell j at
    the centre of cells [j·r, (j+1)·r), as the views did, is up to half a cell off."""
    height, width = size
    grid_h, grid_w = -(-height // grid_factor), -(-width // grid_factor)
    fam = FeatureAlignment(key_dim=2, value_dim=2, cfg=FAMConfig(grid_factor=grid_factor))
    generator = torch.Generator().manual_seed(grid_factor)
    cells = (torch.rand(1, 2, grid_h, grid_w, generator=generator) - 0.5) * 0.8  # |Δp| ≤ 0.4
    fam.offset_net = _FixedOffsetNet(torch.atanh(cells / fam.cfg.max_offset_cells))
    with torch.no_grad():
        fam.dcn_weight.zero_()
        fam.dcn_weight[0, 0, 1, 1] = fam.dcn_weight[1, 1, 1, 1] = 2.0  # F_L = Ṽ (see above)
    ramp = torch.stack([torch.arange(float(width)).expand(height, width),
                        torch.arange(float(height))[:, None].expand(height, width)])[None]
    keys = torch.randn(1, 2, height, width)
    out = fam(keys, keys, ramp, torch.randn_like(ramp))
    applied = (out.local_feature - ramp)[0]  # [2, H, W] (dx, dy) in feature cells
    shown = fam_offsets_per_cell(out.grid_offset, (height, width), grid_factor)[0]
    span_y, span_x = (height - 1) / (grid_h - 1), (width - 1) / (grid_w - 1)
    # cells interpolated only from grid cells 1 .. n-2 (the outer ones read zero padding)
    rows = slice(math.ceil(span_y), math.floor((grid_h - 2) * span_y) + 1)
    cols = slice(math.ceil(span_x), math.floor((grid_w - 2) * span_x) + 1)
    torch.testing.assert_close(shown[:, rows, cols], applied[:, rows, cols], atol=1e-4,
                               rtol=0)
    assert applied[:, rows, cols].abs().max() > 0.1  # a real shift, not zero against zero
