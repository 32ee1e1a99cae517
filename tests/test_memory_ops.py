"""Spec §11 invariants 2 and 3: L2 affinity vs brute force, top-k sparsity, soft aggregation."""

import pytest
import torch

from srnet.model.memory_ops import (
    aggregate_groups,
    l2_affinity,
    readout,
    soft_aggregate,
    softmax_affinity,
)


def test_l2_affinity_softmax_equals_brute_force_distance_softmax():
    mem, query = torch.randn(2, 8, 30), torch.randn(2, 8, 12)
    ours = torch.softmax(l2_affinity(mem, query), dim=1)  # [B, N, M]
    dist = ((mem[:, :, :, None] - query[:, :, None, :]) ** 2).sum(dim=1)  # [B, N, M]
    brute = torch.softmax(-dist / 8**0.5, dim=1)
    assert torch.allclose(ours, brute, atol=1e-5)


def test_topk_softmax_keeps_exactly_k_entries_per_column_and_sums_to_one():
    affinity = torch.randn(1, 50, 7)
    weights, indices = softmax_affinity(affinity, top_k=5)
    assert ((weights > 0).sum(dim=1) == 5).all()
    assert torch.allclose(weights.sum(dim=1), torch.ones(1, 7))
    assert torch.equal(indices.sort(dim=1).values,
                       affinity.topk(5, dim=1).indices.sort(dim=1).values)


def test_topk_larger_than_memory_is_a_plain_softmax():
    affinity = torch.randn(1, 4, 3)
    weights, indices = softmax_affinity(affinity, top_k=20)
    assert indices is None
    assert torch.allclose(weights, torch.softmax(affinity, dim=1))


def test_readout_is_weighted_sum_per_object():
    weights = torch.softmax(torch.randn(1, 6, 4), dim=1)
    values = torch.randn(1, 2, 3, 6)
    out = readout(weights, values)
    expected = torch.einsum("bkcn,bnm->bkcm", values, weights)
    assert torch.allclose(out, expected, atol=1e-6)


def test_soft_aggregation_sums_to_one_and_zeroes_invalid_slots():
    prob = torch.rand(2, 3, 5, 5)
    valid = torch.tensor([[True, True, False], [True, False, False]])
    agg = torch.softmax(soft_aggregate(prob, valid), dim=1)
    assert torch.allclose(agg.sum(dim=1), torch.ones(2, 5, 5), atol=1e-5)
    assert agg[0, 3].max() < 1e-5 and agg[1, 2:].max() < 1e-5
    # a certain single object keeps its probability
    certain = torch.softmax(soft_aggregate(torch.ones(1, 1, 2, 2)), dim=1)
    assert certain[0, 1].min() > 0.999


def test_soft_aggregation_matches_hand_computed_odds():
    """p = (0.8, 0.6): background = (1 − 0.8)(1 − 0.6) = 0.08, and each class gets its odds
    p/(1 − p): 0.08/0.92 : 4 : 1.5, normalised. Another background rule (e.g. 1 − max p) or
    a missing log-odds step gives other numbers."""
    prob = torch.tensor([0.8, 0.6]).view(1, 2, 1, 1)
    agg = torch.softmax(soft_aggregate(prob), dim=1).flatten()  # [3]
    odds = torch.tensor([0.08 / 0.92, 0.8 / 0.2, 0.6 / 0.4])
    assert torch.allclose(agg, odds / odds.sum(), atol=1e-5), agg
    assert abs(float(agg[1] / agg[2]) - 4.0 / 1.5) < 1e-4  # the objects keep their odds ratio


def test_objects_from_separate_memory_groups_are_aggregated_once():
    """Objects read in two memory groups (marked on different frames) end up exactly as if one
    group had read them all: one soft aggregation of their own sigmoids. Aggregating the
    groups' already aggregated probabilities again sharpened every object a second time."""
    p = torch.rand(1, 3, 4, 5) * 0.98 + 0.01  # each object's own σ(logit) [1, K, H, W]
    one_group = torch.softmax(soft_aggregate(p), dim=1)  # [1, K+1, H, W]
    first = soft_aggregate(p[:, [0, 2]])  # group A holds objects 1 and 3
    second = soft_aggregate(p[:, [1]])  # group B holds object 2
    merged = aggregate_groups([([0, 2], first), ([1], second)], 3)
    assert torch.allclose(merged, one_group, atol=1e-5)
    # a lone object (the other brand new: nothing read yet) keeps its group's probability
    alone = aggregate_groups([([0], soft_aggregate(p[:, :1]))], 2)
    assert torch.allclose(alone[:, :2], torch.softmax(soft_aggregate(p[:, :1]), dim=1),
                          atol=1e-5) and alone[:, 2].max() < 1e-5


@pytest.mark.parametrize("onednn", [True, False], ids=["onednn-conv", "bmm"])
def test_sparse_topk_readout_equals_dense_topk_readout(monkeypatch, onednn):
    from srnet.model.memory_ops import sparse_readout, topk_affinity

    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: onednn)
    mem_key, query_key = torch.randn(2, 8, 40), torch.randn(2, 8, 9)
    mem_value = torch.randn(2, 3, 5, 40)
    weights, indices = topk_affinity(mem_key, query_key, top_k=6)
    assert weights.shape == indices.shape == (2, 9, 6)
    dense, _ = softmax_affinity(l2_affinity(mem_key, query_key), top_k=6)
    assert torch.allclose(sparse_readout(weights, indices, mem_value), readout(dense, mem_value),
                          atol=1e-5)


def test_cpu_affinity_as_convolution_equals_bmm_over_several_chunks(monkeypatch):
    """The CPU path computes query·memory as 1x1 convolutions in query chunks; chunk edges and
    batch items must line up with one plain bmm (and stay query-major, no copies)."""
    import srnet.model.memory_ops as ops

    monkeypatch.setattr(ops, "_CPU_MIN_CHUNK", 4)
    monkeypatch.setattr(ops, "_CPU_CHUNK_ELEMENTS", 2 * 7 * 40)  # ≤ ~7 pixels for B=2, N=40
    query_aug, mem_aug = torch.randn(2, 23, 9), torch.randn(2, 9, 40)
    chunks = list(ops._cpu_affinity_chunks(query_aug, mem_aug))
    assert [c.shape[1] for c in chunks] == [6, 6, 6, 5]  # 4 balanced chunks
    assert all(c.shape == (2, c.shape[1], 40) and c.is_contiguous() for c in chunks)
    assert torch.allclose(torch.cat(chunks, dim=1), torch.bmm(query_aug, mem_aug), atol=1e-5)
