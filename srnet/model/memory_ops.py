"""Pure functions of the memory read (spec §4 eq 1) and multi-object soft aggregation (§3.7)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor


def l2_affinity(mem_key: Tensor, query_key: Tensor) -> Tensor:
    """Negative squared L2 distance / √C_k, dropping the per-query ‖q‖² term (eq 1).

    The dropped term is constant along the memory axis, so the softmax over memory is unchanged.

    Shapes:
        mem_key: [B, C_k, N]; query_key: [B, C_k, M] → [B, N, M]
    """
    scale = 1.0 / math.sqrt(mem_key.shape[1])
    dot = torch.bmm(mem_key.transpose(1, 2), query_key)  # [B, N, M]
    mem_sq = mem_key.pow(2).sum(dim=1).unsqueeze(2)  # [B, N, 1]
    return (2 * dot - mem_sq) * scale  # [B, N, M]


def softmax_affinity(affinity: Tensor, top_k: int | None) -> tuple[Tensor, Tensor | None]:
    """Softmax over the memory axis, optionally restricted to each column's top-k entries.

    Returns:
        weights [B, N, M] (dense, exactly min(k, N) non-zeros per column with top-k) and the
        top-k indices [B, k, M] (None without top-k) for visualising where a pixel reads from.
    """
    if top_k is None or top_k >= affinity.shape[1]:
        return torch.softmax(affinity, dim=1), None
    values, indices = torch.topk(affinity, k=top_k, dim=1)  # [B, k, M]
    weights = torch.zeros_like(affinity).scatter_(1, indices, torch.softmax(values, dim=1))
    return weights, indices  # [B, N, M], [B, k, M]


def augment_keys(mem_key: Tensor) -> Tensor:
    """K_G with ‖k‖² appended as an extra channel. Shapes: [B, C_k, N] → [B, C_k+1, N].

    With (2q, −1)/√C_k as the query, one bmm then yields (2·qᵀk − ‖k‖²)/√C_k, eq 1's affinity
    up to the per-query ‖q‖² that the softmax ignores, with no extra pass over the affinity.
    Stored token-major (a transposed view of [B, N, C_k+1]): the CPU read uses the rows as
    convolution filters without a per-frame copy; `bmm` takes either layout.
    """
    sq = mem_key.pow(2).sum(dim=1, keepdim=True)  # [B, 1, N]
    return torch.cat([mem_key.transpose(1, 2), sq.transpose(1, 2)],
                     dim=2).transpose(1, 2)  # [B, C_k+1, N], token-major storage


def topk_affinity(mem_key: Tensor, query_key: Tensor, top_k: int, chunk: int = 64,
                  key_aug: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Eq 1 restricted to each query pixel's top-k memory entries.

    Computed query-major (top-k along contiguous memory) and in chunks of query pixels, so the
    [M, N] affinity (e.g. 1620 x 17820 floats at 480p with 11 memory frames) is never whole.
    On CUDA (and CPU builds without oneDNN) a chunk is `chunk` pixels, small enough to stay in
    cache; on the CPU see `_cpu_affinity_chunks`.

    Shapes:
        mem_key: [B, C_k, N]; query_key: [B, C_k, M]; key_aug: `augment_keys(mem_key)` when the
        caller keeps it across frames → weights [B, M, k], indices [B, M, k]
    """
    scale = 1.0 / math.sqrt(mem_key.shape[1])
    mem_aug = augment_keys(mem_key) if key_aug is None else key_aug  # [B, C_k+1, N]
    query_aug = torch.cat([query_key * 2, -torch.ones_like(query_key[:, :1])],
                          dim=1) * scale  # [B, C_k+1, M]
    query_aug = query_aug.transpose(1, 2).contiguous()  # [B, M, C_k+1]
    k = min(top_k, mem_key.shape[2])
    if query_aug.device.type == "cpu" and torch.backends.mkldnn.is_available():
        chunks = _cpu_affinity_chunks(query_aug, mem_aug)
    else:
        chunks = (torch.bmm(query_aug[:, start:start + chunk], mem_aug)  # [B, chunk, N]
                  for start in range(0, query_aug.shape[1], chunk))
    values, indices = zip(*(topk_last_dim(affinity, k) for affinity in chunks))  # [B, m, k]
    return torch.softmax(torch.cat(values, dim=1), dim=2), \
        torch.cat(indices, dim=1)  # [B, M, k], [B, M, k]


_CPU_CHUNK_ELEMENTS = 1 << 24  # about 64 MiB of fp32 affinity per chunk at most ...
_CPU_MIN_CHUNK = 512  # ... but never fewer query pixels: oneDNN is slow on small ones


def _cpu_affinity_chunks(query_aug: Tensor, mem_aug: Tensor) -> Iterator[Tensor]:
    """query_aug [B, M, C] @ mem_aug [B, C, N] in query chunks [B, m, N], as 1x1 convolutions.

    [D] The product has a thin inner dimension (C_k+1 = 65), where MKL's sgemm behind `bmm`
    ran at a third of oneDNN's speed on an AVX2 CPU (1620 x 17820: 131 ms vs 42 ms on 2 cores;
    on a later AMD EPYC the whole read was 141 vs 153 ms, `scripts/bench_ops.py`, README).
    As a convolution the query pixels are the image (channels-last, so the output is
    query-major) and the memory keys are the filters; the result is the same product.
    """
    batch, num_query, channels = query_aug.shape
    num_mem = mem_aug.shape[2]
    # Equal chunks: same-sized blocks that the allocator reuses frame after frame.
    num_chunks = min(-(-batch * num_query * num_mem // _CPU_CHUNK_ELEMENTS),
                     max(num_query // _CPU_MIN_CHUNK, 1))
    chunk = -(-num_query // max(num_chunks, 1))
    # B x [N, C, 1, 1]; no copy when mem_aug comes from `augment_keys` (token-major storage)
    filters = [key.t().contiguous()[:, :, None, None] for key in mem_aug]
    for start in range(0, num_query, chunk):
        parts = []
        for b in range(batch):  # B is 1 at inference
            pixels = query_aug[b, start:start + chunk]  # [m, C]
            image = pixels.reshape(1, 1, -1, channels).permute(0, 3, 1, 2)  # [1, C, 1, m] NHWC
            out = F.conv2d(image, filters[b])  # [1, N, 1, m], channels-last like its input
            parts.append(out.permute(0, 2, 3, 1).reshape(1, -1, num_mem))  # [1, m, N], no copy
        yield parts[0] if batch == 1 else torch.cat(parts)  # [B, m, N]


def topk_last_dim(scores: Tensor, k: int, group: int = 8) -> tuple[Tensor, Tensor]:
    """Exact top-k along the last dim of `scores` [..., N] → values, indices [..., k].

    Two passes: entry n belongs to group n mod G (G = N // group). The k largest entries all lie
    in the k groups with the largest maxima (an entry outside them is beaten by those k maxima),
    so a top-k of the G group maxima, then of their k·group members, is exact. On the CPU this is
    ~2x faster than one `torch.topk` over N, whose cost is ~1 ns per entry; the group maximum is
    a vectorised elementwise pass. Ties may be returned in another order than `torch.topk`.
    """
    num = scores.shape[-1]
    num_groups = num // group
    if num_groups < 4 * k:  # too short for the second pass to pay off
        top = torch.topk(scores, min(k, num), dim=-1)
        return top.values, top.indices
    body = num_groups * group
    group_max = scores[..., :body].unflatten(-1, (group, num_groups)).amax(dim=-2)  # [..., G]
    top_groups = group_max.topk(k, dim=-1).indices  # [..., k]
    members = torch.arange(group, device=scores.device) * num_groups  # [group]
    candidates = (top_groups[..., None] + members).flatten(-2)  # [..., k*group]
    if body < num:  # the last N mod group entries sit in no group: always candidates
        tail = torch.arange(body, num, device=scores.device)
        candidates = torch.cat([candidates, tail.expand(*scores.shape[:-1], -1)],
                               dim=-1)  # [..., k*group + N mod group]
    top = scores.gather(-1, candidates).topk(k, dim=-1)  # [..., k]
    return top.values, candidates.gather(-1, top.indices)


def token_major(mem_value: Tensor) -> Tensor:
    """V_G with one row per memory token. Shapes: [B, K, C_v, N] → [B, N, K*C_v]."""
    return mem_value.flatten(1, 2).transpose(1, 2).contiguous()  # [B, N, K*C_v]


def sparse_readout(weights: Tensor, indices: Tensor, mem_value: Tensor,
                   value_tokens: Tensor | None = None) -> Tensor:
    """Readout from top-k weights: k memory rows per query pixel (no dense N×M matrix).

    Rows of the token-major value are contiguous, so gathering them and one small batched matrix
    product is ~4x faster on the CPU than a strided gather along N.

    Shapes:
        weights, indices: [B, M, k]; mem_value: [B, K, C_v, N]; value_tokens: `token_major`
        of mem_value when the caller keeps it across frames → [B, K, C_v, M] (not contiguous)
    """
    batch, num_obj, channels, _ = mem_value.shape
    num_query, k = indices.shape[1:]
    tokens = token_major(mem_value) if value_tokens is None else value_tokens  # [B, N, K*C_v]
    outs = []
    for b in range(batch):  # B is 1 at inference
        rows = tokens[b].index_select(0, indices[b].reshape(-1))  # [M*k, K*C_v]
        rows = rows.view(num_query, k, num_obj * channels)  # [M, k, K*C_v]
        outs.append(torch.bmm(weights[b, :, None].to(rows.dtype), rows)[:, 0])  # [M, K*C_v]
    out = torch.stack(outs).transpose(1, 2)  # [B, K*C_v, M]
    return out.unflatten(1, (num_obj, channels))  # [B, K, C_v, M]


def readout(weights: Tensor, mem_value: Tensor) -> Tensor:
    """F_M[:, j] = Σ_i W_ij v_i for every object (one affinity shared by all objects).

    Shapes:
        weights: [B, N, M]; mem_value: [B, K, C_v, N] → [B, K, C_v, M]
    """
    batch, num_obj, channels, num_mem = mem_value.shape
    flat = mem_value.reshape(batch, num_obj * channels, num_mem)  # [B, K*C_v, N]
    out = torch.bmm(flat, weights)  # [B, K*C_v, M]
    return out.view(batch, num_obj, channels, -1)  # [B, K, C_v, M]


def soft_aggregate(prob: Tensor, valid: Tensor | None = None) -> Tensor:
    """STM/STCN soft aggregation: background = ∏(1 − p_i), then logit-space softmax.

    Args:
        prob: per-object foreground probabilities σ(logit_i).
        valid: which object slots are real; padded slots get probability 0.
    Shapes:
        prob: [B, K, H, W]; valid: [B, K] → logits [B, K+1, H, W] (channel 0 = background);
        softmax over dim 1 gives probabilities that sum to one.
    """
    if valid is not None:
        prob = prob * valid[:, :, None, None].to(prob.dtype)
    background = torch.prod(1 - prob, dim=1, keepdim=True)  # [B, 1, H, W]
    stacked = torch.cat([background, prob], dim=1).clamp(1e-7, 1 - 1e-7)  # [B, K+1, H, W]
    return torch.log(stacked / (1 - stacked))  # [B, K+1, H, W]


def aggregate_groups(parts: list[tuple[list[int], Tensor]], num_obj: int) -> Tensor:
    """One soft aggregation over objects read from separate memory groups (objects first
    marked on different frames). Each part is (the group's object slots among `num_obj`, the
    group's soft-aggregated logits [B, k+1, H, W]).

    A group's logit for object i is log(p_i / (1 − p_i)), so its sigmoid is the object's own
    p_i, and the objects are aggregated once, as in a single group. The group's softmaxed
    probabilities are already aggregated: aggregating them again (as before session 30)
    sharpened a lone object's p to p² / (p² + (1 − p)²) a second time.

    Returns probabilities [B, num_obj + 1, H, W] (channel 0 = background)."""
    batch, _, height, width = parts[0][1].shape
    fg = parts[0][1].new_zeros(batch, num_obj, height, width)  # [B, K, H, W]; absent: 0
    for slots, logits in parts:
        for pos, slot in enumerate(slots):
            fg[:, slot] = torch.sigmoid(logits[:, pos + 1].float())  # [B, H, W]
    return torch.softmax(soft_aggregate(fg), dim=1)  # [B, K+1, H, W]
