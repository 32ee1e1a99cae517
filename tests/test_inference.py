"""Predictor/session semantics (issue #2 §3, §6): ids, mid-clip objects, corrections, direction,
stopping, flat memory, visuals on request only."""

import numpy as np
import pytest
import torch
from conftest import make_clip

from srnet import InferenceConfig, ModelConfig, Predictor, SRNet
from srnet.inference.memory_bank import MemoryBank, MemoryEntry
from srnet.inference.preprocess import image_to_tensor, index_to_onehot, plan_geometry, restore_prob


def test_first_frame_mask_is_returned_exactly_with_user_ids(tiny_predictor):
    frames, masks = make_clip()
    ids = np.where(masks[0] == 2, 7, np.where(masks[0] == 1, 3, 0)).astype(np.uint8)
    session = tiny_predictor.new_session()
    out = tiny_predictor.step(session, 0, frames[0], ids)
    assert out.obj_ids == (3, 7) and out.from_user
    assert np.array_equal(out.mask, ids)
    assert np.allclose(out.prob.sum(axis=0), 1.0)


def test_propagation_yields_every_frame_with_known_ids_only(tiny_predictor, clip):
    frames, masks = clip
    session = tiny_predictor.new_session()
    tiny_predictor.step(session, 0, frames[0], masks[0])
    outs = list(tiny_predictor.propagate(session, frames, 0))
    assert [o.frame_idx for o in outs] == list(range(len(frames)))
    for out in outs:
        assert set(np.unique(out.mask)) <= {0, 1, 2}
        assert out.prob.shape == (3, *frames[0].shape[:2]) and out.visuals is None
        assert 0.0 <= out.confidence <= 1.0


def test_object_added_mid_clip_is_tracked_from_its_first_frame(tiny_predictor, clip):
    frames, masks = clip
    session = tiny_predictor.new_session()
    first = np.where(masks[0] == 1, 1, 0).astype(np.uint8)
    tiny_predictor.step(session, 0, frames[0], first)
    list(tiny_predictor.propagate(session, frames, 0, end=3))
    later = np.where(masks[4] == 2, 5, 0).astype(np.uint8)  # new object 5 on frame 4
    out = tiny_predictor.step(session, 4, frames[4], later)
    assert out.obj_ids == (1, 5)
    assert np.array_equal(out.mask == 5, later == 5)
    assert (out.mask == 1).sum() > 0, "object 1 keeps being propagated (partial-mask merge)"
    rest = list(tiny_predictor.propagate(session, frames, 4, return_visuals=True))
    assert all(o.obj_ids == (1, 5) for o in rest)
    assert rest[-1].visuals.aux_masks.shape[1] == 2
    # object 5 does not exist before frame 4: it reads only frames that contain it
    assert [ids for ids, _ in session.memory.groups([1, 5])] in ([[1], [5]], [[5], [1]])


def test_correction_on_a_later_frame_replaces_stale_memory(tiny_predictor, clip):
    frames, masks = clip
    session = tiny_predictor.new_session(InferenceConfig(short_side=None, mem_every=2))
    tiny_predictor.step(session, 0, frames[0], masks[0])
    list(tiny_predictor.propagate(session, frames, 0))
    assert any(idx > 4 for idx in session.memory.frame_indices)
    corrected = masks[4].copy()
    out = tiny_predictor.step(session, 4, frames[4], corrected)
    assert np.array_equal(out.mask, corrected)
    gen = tiny_predictor.propagate(session, frames, 4)
    first = next(gen)
    assert first.frame_idx == 4 and first.from_user
    assert all(idx <= 4 for idx in session.memory.frame_indices), "stale later frames dropped"
    assert session.memory.find(4).permanent
    gen.close()


def test_backward_propagation_from_an_annotated_middle_frame(tiny_predictor, clip):
    frames, masks = clip
    session = tiny_predictor.new_session()
    tiny_predictor.step(session, 5, frames[5], masks[5])
    outs = list(tiny_predictor.propagate(session, frames, 5, reverse=True))
    assert [o.frame_idx for o in outs] == [5, 4, 3, 2, 1, 0]
    assert outs[0].from_user and not outs[-1].from_user


def test_stopping_midway_leaves_a_usable_session(tiny_predictor, clip):
    frames, masks = clip
    session = tiny_predictor.new_session()
    tiny_predictor.step(session, 0, frames[0], masks[0])
    gen = tiny_predictor.propagate(session, frames, 0)
    seen = [next(gen).frame_idx for _ in range(3)]
    gen.close()  # what a UI Stop button does
    assert seen == [0, 1, 2]
    resumed = list(tiny_predictor.propagate(session, frames, 2))
    assert [o.frame_idx for o in resumed] == list(range(2, len(frames)))


def test_working_memory_stays_capped_over_300_frames(tiny_model):
    frames, masks = make_clip(num_frames=6, size=(32, 48), num_objects=1)
    cfg = InferenceConfig(short_side=None, mem_every=1, max_working_frames=4)
    predictor = Predictor(tiny_model, cfg, "cpu")
    session = predictor.new_session()
    predictor.step(session, 0, frames[0], masks[0])
    long_clip = [frames[i % 6] for i in range(300)]
    for _ in predictor.propagate(session, long_clip, 0):
        assert session.memory.working_count <= 4
        assert len(session.memory.entries) <= 5
    assert session.memory.find(0).permanent, "the annotated frame is never evicted"


def test_frozen_memory_keeps_only_annotations_but_still_reads_the_previous_frame(tiny_model):
    """The memory ablation (`working_memory=False`, what `eval --ablate memory` and the demo's
    'frozen memory' run): no processed frame joins global memory, annotated ones still do, and
    the local memory still moves with the pass, so the masks differ from the full policy's."""
    frames, masks = make_clip(num_frames=8, size=(32, 48), num_objects=1)
    runs = {}
    for working in (True, False):
        cfg = InferenceConfig(short_side=None, mem_every=1, working_memory=working)
        predictor = Predictor(tiny_model, cfg, "cpu")
        session = predictor.new_session()
        predictor.step(session, 0, frames[0], masks[0])
        outs = list(predictor.propagate(session, frames[:5], 0))
        predictor.step(session, 5, frames[5], masks[5])  # a correction joins either way
        runs[working] = (session.memory_timeline(), [o.prob for o in outs])
    (full, full_probs), (frozen, frozen_probs) = runs[True], runs[False]
    assert full["working"] == [1, 2, 3, 4]
    assert frozen["working"] == [] and frozen["permanent"] == [0, 5]
    assert frozen["local"] == full["local"] == [5]
    assert np.allclose(full_probs[1], frozen_probs[1]), "frame 1 reads the same memory in both"
    assert not np.allclose(full_probs[4], frozen_probs[4]), "later frames read less memory"


@pytest.mark.parametrize("local_interval", [1, 2])
def test_each_step_reports_the_memory_it_read_not_the_memory_after_it(tiny_model,
                                                                      local_interval):
    """The demo's memory timeline comes from `memory_held`: the frames a step read (its
    visuals' memory frames and FAM's local frame), never the frame itself, which joins after."""
    frames, masks = make_clip(num_frames=8, size=(32, 48), num_objects=1)
    cfg = InferenceConfig(short_side=None, mem_every=2, local_interval=local_interval)
    predictor = Predictor(tiny_model, cfg, "cpu")
    session = predictor.new_session()
    predictor.step(session, 0, frames[0], masks[0])
    outs = list(predictor.propagate(session, frames, 0, return_visuals=True))[1:]
    for out in outs:
        held = out.memory_held
        assert out.frame_idx not in held["permanent"] + held["working"] + held["local"]
        local = max(out.frame_idx - local_interval, 0)  # t - s, frame 0 until there is one
        assert held["local"] == [local] == [out.visuals.local_frame]
        assert sorted(held["permanent"] + held["working"]) == \
            sorted(out.visuals.read_of().memory_frames)
    assert outs[-1].memory_held["working"] == [2, 4, 6]
    assert session.memory_timeline()["local"] == [8 - local_interval]


def test_visuals_only_on_request_with_documented_shapes(tiny_predictor, clip):
    frames, masks = clip
    session = tiny_predictor.new_session()
    tiny_predictor.step(session, 0, frames[0], masks[0])
    plain = tiny_predictor.step(session, 1, frames[1])
    assert plain.visuals is None
    out = tiny_predictor.step(session, 2, frames[2], return_visuals=True)
    vis, (h, w) = out.visuals, (4, 6)  # 64x96 frames → 4x6 cells
    layers = tiny_predictor.model.cfg.ptm.num_layers
    assert vis.aux_masks.shape == (layers, 2, h, w)
    assert vis.proto_attention.shape == (layers, 2, h, w)
    assert np.allclose(vis.proto_attention.sum(axis=(-2, -1)), 1.0, atol=1e-4)
    assert vis.fam_flow.shape == (h, w, 2) and vis.local_frame == 1
    assert vis.dcn_offset.shape == (2, 9, 2, h, w) and vis.dcn_modulation.shape == (2, 9, h, w)
    assert len(vis.reads) == 1 and vis.reads[0].obj_ids == (1, 2)  # one memory group
    read = vis.read_of(2).read_map(1, 2, out.padded_grid)
    assert read.shape == (len(vis.read_of(2).memory_frames), h, w)
    assert np.isclose(read.sum(), 1.0, atol=1e-4)


def test_visuals_of_a_coarse_fam_grid_carry_its_factor(clip):
    """FAM with r = 3 on 4x6 cells has a 2x2 offset grid, shown per feature cell (where the
    offsets were once drawn a third too short, r guessed from the grids as 4 / 2 = 2); without
    PTM the grid size was read from the offset grid."""
    from dataclasses import replace

    frames, masks = clip
    cfg = ModelConfig.tiny()
    cfg = replace(cfg, fam=replace(cfg.fam, grid_factor=3), ptm=replace(cfg.ptm, enabled=False))
    torch.manual_seed(0)
    predictor = Predictor(SRNet(cfg).eval(), InferenceConfig(short_side=None), "cpu")
    session = predictor.new_session()
    predictor.step(session, 0, frames[0], masks[0])
    vis = predictor.step(session, 1, frames[1], return_visuals=True).visuals
    assert vis.fam_grid_factor == 3 and vis.fam_flow.shape == (4, 6, 2)
    assert vis.feature_size == (4, 6) and vis.aux_masks is None


def test_asking_for_visuals_leaves_the_masks_as_they_are(tiny_predictor, clip):
    """The visuals path (explicit attention weights, the read's top-k indices) must give the
    probabilities of the fast path, frame by frame."""
    frames, masks = clip
    runs = []
    for visuals in (False, True):
        session = tiny_predictor.new_session()
        tiny_predictor.step(session, 0, frames[0], masks[0])
        runs.append(list(tiny_predictor.propagate(session, frames, 1, return_visuals=visuals)))
    assert all(out.visuals is None for out in runs[0]) and runs[1][-1].visuals is not None
    for fast, shown in zip(*runs, strict=True):
        np.testing.assert_allclose(shown.prob, fast.prob, atol=1e-5, rtol=0)


def test_confidence_is_one_when_crisp_and_falls_with_doubt():
    """`StepOutput.confidence` = 1 − (Σ (1 − max prob)) / (Σ object prob + 1), on hand-made
    probabilities: 1 for a crisp map; for an even split of every pixel between background
    and one object over N pixels, 1 − 0.5 N / (0.5 N + 1)."""
    from srnet.inference.outputs import step_output
    from srnet.inference.preprocess import plan_geometry

    geom = plan_geometry((64, 96), None)
    crisp = torch.zeros(1, 2, 64, 96)
    crisp[:, 1, 16:48, 16:48] = 1
    crisp[:, 0] = 1 - crisp[:, 1]
    out = step_output(0, (3,), crisp, None, geom, visuals=None, memory_held=None,
                      from_user=False)
    assert out.confidence == pytest.approx(1.0)
    assert out.mask[20, 20] == 3 and out.mask[0, 0] == 0
    pixels = 64 * 96
    out = step_output(0, (3,), torch.full((1, 2, 64, 96), 0.5), None, geom, visuals=None,
                      memory_held=None, from_user=False)
    assert out.confidence == pytest.approx(1 - 0.5 * pixels / (0.5 * pixels + 1), abs=1e-6)
    half = crisp.clone()
    half[:, :, :32] = 0.5  # the top half in doubt
    out = step_output(0, (3,), half, None, geom, visuals=None, memory_held=None,
                      from_user=False)
    doubt, objects = 0.5 * 32 * 96, 0.5 * 32 * 96 + 16 * 32  # rows 32-47 of the square stay
    assert out.confidence == pytest.approx(1 - doubt / (objects + 1), abs=1e-6)


def test_bad_inputs_raise_clear_errors(tiny_predictor, clip):
    frames, masks = clip
    session = tiny_predictor.new_session()
    with pytest.raises(ValueError, match="annotate a frame"):
        tiny_predictor.step(session, 0, frames[0])
    with pytest.raises(ValueError, match="empty"):
        tiny_predictor.step(session, 0, frames[0], np.zeros_like(masks[0]))
    with pytest.raises(ValueError, match="mask is"):
        tiny_predictor.step(session, 0, frames[0], masks[0][:10])
    tiny_predictor.step(session, 0, frames[0], masks[0])
    with pytest.raises(ValueError, match="this video is"):
        tiny_predictor.step(session, 1, frames[1][:32])
    with pytest.raises(ValueError, match="start/end"):
        next(tiny_predictor.propagate(session, frames, 99))
    # a frame number that is not one, and a bare id for `absent`: a TypeError from deep inside
    for frame_idx in ("a", -1, 1.5, True):
        with pytest.raises(ValueError, match="frame_idx must be a frame number"):
            tiny_predictor.step(session, frame_idx, frames[1])
    with pytest.raises(ValueError, match="absent must be a list of object ids, got 1"):
        tiny_predictor.step(session, 1, frames[1], masks[1], absent=1)
    assert tiny_predictor.step(session, np.int64(1), frames[1]).frame_idx == 1


def test_a_zero_255_mask_is_followed_as_object_255_with_a_warning(tiny_predictor, clip,
                                                                   caplog):
    """`cv2.imread(path, 0)` of a DAVIS mask gives 0/255: it runs as object 255, which the
    command line then reads back as DAVIS void. Say so, and how to get object 1."""
    frames, masks = clip
    with caplog.at_level("WARNING"):
        out = tiny_predictor.step(tiny_predictor.new_session(), 0, frames[0],
                                  np.where(masks[0] == 1, 255, 0).astype(np.uint8))
        assert out.obj_ids == (255,) and "only object id is 255" in caplog.text
        caplog.clear()
        tiny_predictor.step(tiny_predictor.new_session(), 0, frames[0], masks[0])
        assert "255" not in caplog.text


def test_remove_object_drops_it_everywhere(tiny_predictor, clip):
    frames, masks = clip
    session = tiny_predictor.new_session()
    tiny_predictor.step(session, 0, frames[0], masks[0])
    tiny_predictor.remove_object(session, 2)
    out = tiny_predictor.step(session, 1, frames[1])
    assert out.obj_ids == (1,) and set(np.unique(out.mask)) <= {0, 1}
    assert all(2 not in e.values for e in session.memory.entries)


def test_memory_bank_caps_and_permanent_anchor():
    import torch

    bank = MemoryBank(max_working=2, max_permanent=2)

    def entry(idx, permanent=False):
        return MemoryEntry(idx, torch.zeros(1, 1, 1), {1: torch.zeros(1, 1, 1)}, permanent)

    for idx, permanent in [(0, True), (5, False), (10, False), (15, False), (20, True),
                           (25, True)]:
        bank.add(entry(idx, permanent))
    assert bank.frame_indices == [0, 10, 15, 25]  # oldest working (5) and permanent (20) went
    assert bank.find(0).permanent and bank.find(20) is None
    bank.add(entry(10, True))  # re-annotating a remembered frame replaces it, now permanent
    assert bank.find(10).permanent and bank.frame_indices.count(10) == 1


def test_pad_and_restore_are_the_identity():
    geom = plan_geometry((70, 90), short_side=None)
    assert geom.padded_size == (80, 96) and geom.feature_size == (5, 6)
    image = (np.random.rand(70, 90, 3) * 255).astype(np.uint8)
    tensor = image_to_tensor(image, geom, "cpu")
    prob = tensor[:, :1].repeat(1, 2, 1, 1)
    restored = restore_prob(prob, geom)
    assert torch_equal_image(restored[0], image[..., 0])
    mask = np.zeros((70, 90), np.uint8)
    mask[3:9, 4:8] = 6
    assert index_to_onehot(mask, [6]).sum() == 24


def test_a_read_only_frame_is_copied_before_torch_sees_it(monkeypatch):
    """Decoders hand out read-only buffers; torch.from_numpy on one warns (once per process)
    and would let an in-place op write into the caller's frame."""
    handed = []
    real_from_numpy = torch.from_numpy

    def spy(array):
        handed.append(array.flags.writeable)
        return real_from_numpy(array)

    monkeypatch.setattr(torch, "from_numpy", spy)
    image = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)
    image.flags.writeable = False
    for short_side in (None, 48):  # padded as is, and resized first
        tensor = image_to_tensor(image, plan_geometry((70, 90), short_side=short_side), "cpu")
        assert tensor.shape[:2] == (1, 3)
    assert handed and all(handed)


def torch_equal_image(channel, image_channel) -> bool:
    return np.allclose(channel.numpy() * 255, image_channel.astype(np.float32), atol=1e-3)


def test_internal_resize_downscales_only():
    assert plan_geometry((480, 854), 360).internal_size == (360, 640)
    assert plan_geometry((100, 200), 360).internal_size == (100, 200)


@pytest.mark.parametrize("fast_bf16_cpu", [True, False])
def test_cpu_bf16_is_opt_in_and_runs_in_bf16_only_where_the_cpu_has_it(tiny_model, monkeypatch,
                                                                       fast_bf16_cpu):
    import torch

    import srnet.inference.predictor as predictor_module

    monkeypatch.setattr(predictor_module, "cpu_has_fast_bf16", lambda: fast_bf16_cpu)
    frames, masks = make_clip(4)
    dtypes = {}
    for cpu_bf16 in (False, True):
        predictor = Predictor(tiny_model, InferenceConfig(short_side=None, cpu_bf16=cpu_bf16),
                              "cpu")
        session = predictor.new_session()
        predictor.step(session, 0, frames[0], masks[0])
        outs = list(predictor.propagate(session, frames, 0))
        assert all(np.isfinite(o.prob).all() and o.prob.dtype == np.float32 for o in outs)
        dtypes[cpu_bf16] = session.memory.entries[0].key.dtype
    # Without native bf16 the request falls back to fp32 (emulated bf16 is ~14x slower).
    expected_with_request = torch.bfloat16 if fast_bf16_cpu else torch.float32
    assert dtypes == {False: torch.float32, True: expected_with_request}


def test_objects_marked_on_different_frames_are_aggregated_once(tiny_predictor, monkeypatch):
    """Object 1 from frame 0, object 2 from frame 1: frame 2 reads two memory groups. With
    each group's answer stubbed to known probabilities (0.8 and 0.6 everywhere), the frame's
    probabilities are one soft aggregation of both, as if one group had read them. Before
    session 30 the groups' already aggregated probabilities were aggregated again."""
    import dataclasses

    import torch

    from srnet.model.memory_ops import soft_aggregate

    frames, masks = make_clip(num_frames=3, num_objects=2)  # 64x96
    session = tiny_predictor.new_session()
    tiny_predictor.step(session, 0, frames[0], np.where(masks[0] == 1, 1, 0).astype(np.uint8))
    tiny_predictor.step(session, 1, frames[1], np.where(masks[1] == 2, 2, 0).astype(np.uint8))
    assert [ids for ids, _ in session.memory.groups(session.obj_ids)] == [[1], [2]]
    stages = tiny_predictor._stages(session)
    real, answers = stages.segment, iter([0.8, 0.6])  # group [1] reads first, then [2]

    def stubbed(feats, memory, **kwargs):
        out = real(feats, memory, **kwargs)
        logits = soft_aggregate(torch.full_like(out.logits[:, 1:], next(answers)))
        return dataclasses.replace(out, logits=logits, prob=torch.softmax(logits, dim=1))

    monkeypatch.setattr(stages, "segment", stubbed)
    out = next(tiny_predictor.propagate(session, frames, 2, 2))
    expected = torch.softmax(soft_aggregate(torch.tensor([0.8, 0.6])[None, :, None, None]),
                             dim=1)[0, :, 0, 0].numpy()  # [3]: background, object 1, object 2
    assert np.allclose(out.prob[:, 32, 48], expected, atol=1e-3)


def test_visuals_keep_each_memory_groups_read(tiny_predictor, clip):
    """Objects first marked on different frames read separate memories; each group's read is
    kept with its objects and its own frames (only the first group's was, before session 31)."""
    frames, masks = clip
    session = tiny_predictor.new_session()
    tiny_predictor.step(session, 0, frames[0], np.where(masks[0] == 1, 1, 0).astype(np.uint8))
    tiny_predictor.step(session, 1, frames[1], np.where(masks[1] == 2, 2, 0).astype(np.uint8))
    out = tiny_predictor.step(session, 2, frames[2], return_visuals=True)
    first, second = out.visuals.read_of(1), out.visuals.read_of(2)
    assert first.obj_ids == (1,) and first.memory_frames == (0, 1)
    assert second.obj_ids == (2,) and second.memory_frames == (1,)
    assert np.isclose(second.read_map(0, 0, out.padded_grid).sum(), 1.0, atol=1e-4)


def test_visuals_carry_the_mask_each_memory_frame_encoded(tiny_predictor, clip):
    """Each read names the mask its memory frames encoded (every 4th internal pixel, padding
    cropped): the memory view outlines that, not the frame's annotation of the moment."""
    frames, masks = clip  # 64 x 96: no resize, no padding
    session = tiny_predictor.new_session(InferenceConfig(short_side=None, mem_every=2))
    tiny_predictor.step(session, 0, frames[0], masks[0])
    outs = list(tiny_predictor.propagate(session, frames, 1, return_visuals=True))
    read = outs[-1].visuals.reads[0]
    assert len(read.memory_masks) == len(read.memory_frames)
    slot = read.memory_frames.index(0)
    assert np.array_equal(read.memory_masks[slot], masks[0][::4, ::4])
    for frame_idx, held in zip(read.memory_frames, read.memory_masks):
        predicted = next(o.mask for o in outs if o.frame_idx == frame_idx) if frame_idx else \
            masks[0]
        assert held.shape == (16, 24) and np.array_equal(held, predicted[::4, ::4])
    session.memory.remove_object(2)
    assert not any((e.held == 2).any() for e in session.memory.entries)


@pytest.mark.parametrize("size", [(17, 33), (24, 43), (1, 50)])
def test_small_frames_are_enlarged_to_four_feature_cells(size):
    """17x33 frames ran on 1x2 feature cells and the shipped model lost every object after
    frame 0; the internal short side is now at least 64 px (long side at most 1024)."""
    geom = plan_geometry(size, short_side=480)
    assert min(geom.internal_size) >= 64 or max(geom.internal_size) == 1024
    assert geom.internal_size[0] / size[0] == pytest.approx(geom.internal_size[1] / size[1],
                                                            rel=0.05)
    assert plan_geometry((32, 2000), 480).internal_size == (32, 2000)  # long side already long
    assert plan_geometry((100, 200), 480).internal_size == (100, 200)


def test_a_refused_first_call_does_not_fix_the_video_size(tiny_predictor, clip):
    """A first step refused for its mask's size, or for having nothing to follow, had fixed
    the session's frame size: the right call after it was refused as "this video is ..."."""
    frames, masks = clip
    session = tiny_predictor.new_session()
    with pytest.raises(ValueError, match="mask is"):
        tiny_predictor.step(session, 0, frames[0][:32, :48], masks[0])
    with pytest.raises(ValueError, match="no object to follow"):
        tiny_predictor.step(session, 0, frames[0][:32, :48])
    out = tiny_predictor.step(session, 0, frames[0], masks[0])
    assert np.array_equal(out.mask, masks[0])
    with pytest.raises(ValueError, match="frame must be"):
        tiny_predictor.step(session, 1, np.zeros((0, 0, 3), np.uint8))


def test_list_and_float_masks_work_with_mirror_averaging_and_small_objects(tiny_predictor,
                                                                          clip):
    frames, masks = clip
    session = tiny_predictor.new_session(InferenceConfig(short_side=None, mirror_average=True,
                                                         min_object_cells=3))
    assert tiny_predictor.fit_small_objects(session, [masks[0].astype(np.float32)]) >= 1.0
    out = tiny_predictor.step(session, 0, frames[0], masks[0].tolist())
    assert np.array_equal(out.mask, masks[0])


@pytest.mark.parametrize(("field", "value"), [("top_k", 5.5), ("mem_every", 2.5),
                                              ("short_side", "480"), ("short_side", True),
                                              ("mirror_average", 1), ("max_upscale", "2")])
def test_config_values_of_the_wrong_kind_name_their_field(field, value):
    """top_k=5.5 failed deep in torch.topk, mem_every=2.5 was taken silently."""
    with pytest.raises(TypeError, match=f"InferenceConfig.{field} must be"):
        InferenceConfig(**{field: value})
    config = InferenceConfig(top_k=np.int64(7), max_upscale=2, short_side=None)
    assert type(config.top_k) is int and type(config.max_upscale) is float
    with pytest.raises(ValueError, match="short_side must be ≥ 64"):
        InferenceConfig(short_side=32)


def test_an_object_marked_absent_on_a_frame_is_not_there(tiny_predictor, clip):
    """A user who erases an object on a frame says it is not there: before, a partial mask
    only settled the objects it held, and the others were read from memory as always."""
    frames, masks = clip
    session = tiny_predictor.new_session()
    tiny_predictor.step(session, 0, frames[0], masks[0])
    list(tiny_predictor.propagate(session, frames, 1, end=3))
    only_first = np.where(masks[4] == 1, 1, 0).astype(np.uint8)
    out = tiny_predictor.step(session, 4, frames[4], only_first, absent=[2])
    assert np.array_equal(out.mask, only_first) and out.from_user  # no read for object 2
    assert session.absent[4] == {2} and session.memory.find(4).permanent
    nothing = np.zeros_like(masks[0])
    out = tiny_predictor.step(session, 5, frames[5], nothing, absent=(1, 2))
    assert not out.mask.any() and out.obj_ids == (1, 2)
    with pytest.raises(ValueError, match="both in the mask and marked absent"):
        tiny_predictor.step(session, 6, frames[6], masks[6], absent=[2])
    with pytest.raises(ValueError, match="with the frame's mask"):
        tiny_predictor.step(session, 6, frames[6], absent=[2])
    with pytest.raises(ValueError, match="the mask is empty"):
        tiny_predictor.step(session, 6, frames[6], nothing)  # absent names no object
    tiny_predictor.remove_object(session, 2)
    assert session.absent == {5: {1}} and 4 in session.annotations and 5 in session.annotations
    out = next(tiny_predictor.propagate(session, frames, 4, mask=only_first))
    assert 4 not in session.absent and np.array_equal(out.mask, only_first)


def test_a_small_objects_factor_applies_on_top_of_the_tiny_frame_floor(tiny_predictor, clip):
    """The factor is measured after the 64-px enlargement; it was applied before it and lost
    (a 40x60 frame ran at 64x96 with or without x1.5)."""
    assert plan_geometry((40, 60), 480).internal_size == (64, 96)
    assert plan_geometry((40, 60), 480, upscale=1.5).internal_size == (96, 144)
    frames, masks = clip
    with pytest.raises(ValueError, match="with the frame's mask"):
        next(tiny_predictor.propagate(tiny_predictor.new_session(), frames, 0, absent=[1]))


def test_absences_and_memory_records_survive_the_mirror_twin_and_the_host_form(
        tiny_predictor, clip):
    """ZeroGPU pickles sessions in their host form, and the mirror twin keeps its own
    annotations: both must carry the absences and each entry's mask record."""
    frames, masks = clip
    session = tiny_predictor.new_session(InferenceConfig(short_side=None, mirror_average=True))
    tiny_predictor.step(session, 0, frames[0], masks[0])
    only_first = np.where(masks[1] == 1, 1, 0).astype(np.uint8)
    out = tiny_predictor.step(session, 1, frames[1], only_first, absent=[2])
    assert np.array_equal(out.mask, only_first) and session.mirror.absent == {1: {2}}
    host = session.to_host()
    assert host.absent == {1: {2}} and host.mirror.absent == {1: {2}}
    assert all(np.array_equal(a.held, b.held)
               for a, b in zip(session.memory.entries, host.memory.entries))
