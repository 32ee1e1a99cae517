"""srnet.interactive model, predictor and checkpoint (random weights: fast, no asset needed):
`predict()` errors, per-image stem caching, output shape, strict checkpoint loading."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srnet import CheckpointError, ClickPredictor
from srnet.interactive import ClickConfig, load_click_checkpoint, save_click_checkpoint
from srnet.interactive.predictor import build_click_net


@pytest.fixture(scope="module")
def predictor() -> ClickPredictor:
    torch.manual_seed(0)
    model = build_click_net(ClickConfig(short_side=64, max_long_side=128))
    with torch.no_grad():  # non-zero injection so the clicks change the output
        for p in model.maps_in.parameters():
            p.normal_(0, 0.5)
    return ClickPredictor(model, "cpu")


def _image(height: int = 75, width: int = 101, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)


def test_predict_returns_a_bool_mask_at_the_image_size(predictor: ClickPredictor) -> None:
    mask = predictor.predict(_image(), [(50, 30, True)])
    assert mask.dtype == bool and mask.shape == (75, 101)


def test_predict_errors(predictor: ClickPredictor) -> None:
    image = _image()
    with pytest.raises(ValueError, match="no clicks"):
        predictor.predict(image, [])
    with pytest.raises(ValueError, match="outside"):
        predictor.predict(image, [(101, 5, True)])
    with pytest.raises(ValueError, match="outside"):
        predictor.predict(image, [(5, -1, False)])
    with pytest.raises(ValueError, match="uint8"):
        predictor.predict(image.astype(np.float32), [(5, 5, True)])
    with pytest.raises(ValueError, match="prev_mask"):
        predictor.predict(image, [(5, 5, True)], prev_mask=np.zeros((10, 10), bool))
    with pytest.raises(ValueError, match="is_positive"):  # "False" would read as positive
        predictor.predict(image, [(5, 5, "False")])
    with pytest.raises(ValueError, match="is_positive"):  # 2 is no sign
        predictor.predict(image, [(5, 5, 2)])
    clicks = [(50, 30, True), (60, 40, 1)]  # a generator of clicks, as from a UI's history
    assert (predictor.predict(image, (c for c in clicks)) == predictor.predict(image, clicks)).all()


def test_the_stem_is_computed_once_per_image(predictor: ClickPredictor) -> None:
    """Without zoom every answer goes through the cached whole-image stem (zoomed answers
    encode their crop instead), so the count is exact and a cached answer can be compared
    with a fresh predictor's."""
    cached = ClickPredictor(predictor.model, "cpu", zoom=False)
    image, other = _image(seed=1), _image(seed=2)
    first = cached.predict(image, [(50, 30, True)])
    clicks = [(50, 30, True), (10, 10, False)]
    second = cached.predict(image.copy(), clicks, prev_mask=first)
    assert cached.stem_computations == 1  # same pixels: cached
    fresh = ClickPredictor(predictor.model, "cpu", zoom=False)
    assert (second == fresh.predict(image, clicks, prev_mask=first)).all()  # same answer
    cached.predict(other, [(50, 30, True)])
    assert cached.stem_computations == 2  # another image: encoded again
    again = cached.predict(image, [(50, 30, True)])
    assert cached.stem_computations == 3 and (again == first).all()
    cached.clear_cache()
    cached.predict(image, [(50, 30, True)])
    assert cached.stem_computations == 4


def test_clicks_and_prev_mask_reach_the_network(predictor: ClickPredictor) -> None:
    image = _image(seed=3)
    model = predictor.model
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0  # [1, 3, H, W]
    maps = torch.zeros(1, 3, 75, 101)
    with torch.no_grad():
        base = model(x, maps)
        maps[0, 0, 20:30, 40:50] = 1
        moved = model(x, maps)
        stem_path = model.forward_from_stem(model.encode_stem(x), maps, (75, 101))
    assert base.shape == (1, 1, 75, 101)
    assert not torch.allclose(base, moved)
    assert torch.allclose(moved, stem_path, atol=1e-5)


def test_checkpoint_roundtrip_and_strict_errors(predictor: ClickPredictor, tmp_path) -> None:
    path = save_click_checkpoint(tmp_path / "c.pt", predictor.model, {"summary": "test"})
    model, meta = load_click_checkpoint(path)
    assert meta["summary"] == "test" and model.cfg == predictor.cfg
    image = _image(seed=4)
    ours = ClickPredictor(model, "cpu").predict(image, [(50, 30, True)])
    assert (ours == predictor.predict(image, [(50, 30, True)])).mean() > 0.99  # fp16 storage
    with pytest.raises(CheckpointError, match="not found"):
        load_click_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_click_checkpoint(tmp_path / "junk.pt")
    payload = torch.load(path, weights_only=True)
    del payload["state_dict"]["out.weight"]
    torch.save(payload, tmp_path / "short.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_click_checkpoint(tmp_path / "short.pt")
    payload["kind"] = "srnet"
    torch.save(payload, tmp_path / "kind.pt")
    with pytest.raises(CheckpointError, match="not a click-model"):
        load_click_checkpoint(tmp_path / "kind.pt")
    good = torch.load(path, weights_only=True)  # values of the wrong type, a list for weights
    for key, value, message in (("click_config", {**good["click_config"], "dec_dim": "64"},
                                 "does not match"), ("state_dict", [1], "no click-model"),
                                ("meta", [1], "not a dict")):
        torch.save({**good, key: value}, tmp_path / "odd.pt")
        with pytest.raises(CheckpointError, match=message):
            load_click_checkpoint(tmp_path / "odd.pt")


def test_zoom_box_follows_the_clicked_component(predictor: ClickPredictor) -> None:
    mask = np.zeros((200, 300), bool)
    mask[90:110, 140:160] = True  # the clicked object
    mask[0:5, 0:5] = True  # a stray blob far away: ignored
    top, left, bottom, right = predictor._zoom_box(mask, [(150, 100, True)])
    assert 80 <= top < 90 and 130 <= left < 140 and 110 < bottom <= 120 and 160 < right <= 170
    assert predictor._zoom_box(np.ones((200, 300), bool), [(150, 100, True)]) is None  # big
    image = _image(200, 300, seed=5)
    zoomed = predictor._zoomed(image, [(150, 100, True)], None, (80, 130, 120, 170))
    assert zoomed.shape == (200, 300) and not zoomed[:80].any() and not zoomed[:, 170:].any()
    prev = np.zeros((200, 300), bool)
    prev[150:190, 200:280] = True  # another piece of the object, outside the box
    kept = predictor._zoomed(image, [(150, 100, False)], prev, (80, 130, 120, 170))
    assert kept[150:190, 200:280].all()  # a click never changes what its box cannot see


def test_exported_run_counts_the_steps_behind_its_init(tmp_path) -> None:
    """A run started with --init records the steps behind its init weights (`total_steps`,
    summary); a run from ImageNet only its own; an old checkpoint without `total_steps` counts
    its `step`."""
    from srnet.checkpoint import total_steps
    from srnet.interactive.train import export_run

    model = build_click_net()
    for prior, expected in ((6300, "click-lite0, 6340 steps (40 in its last run)"),
                            (0, "click-lite0, 40 steps")):
        run = tmp_path / f"run{prior}"
        run.mkdir()
        torch.save({"model": model.state_dict(), "optim": {}, "step": 40, "prior_steps": prior,
                    "elapsed": 12.0}, run / "last.pt")
        _, meta = load_click_checkpoint(export_run(run, run / "click.pt"))
        assert meta["summary"] == expected
        assert meta["total_steps"] == prior + 40 and meta["step"] == 40
        assert total_steps(meta) == prior + 40
    assert total_steps({"step": 2300}) == 2300 and total_steps({}) == 0
    deep = build_click_net(ClickConfig(trunk_stride=32))  # a run saves its network's config
    run = tmp_path / "deep"
    run.mkdir()
    torch.save({"model": deep.state_dict(), "optim": {}, "step": 40, "prior_steps": 8300,
                "elapsed": 1.0, "click_config": deep.cfg.to_dict()}, run / "last.pt")
    model, meta = load_click_checkpoint(export_run(run, run / "click.pt"))
    assert model.cfg.trunk_stride == 32
    assert meta["summary"] == "click-lite0-s32, 8340 steps (40 in its last run)"


def test_a_stride_16_checkpoint_seeds_the_stride_32_network(tmp_path) -> None:
    """`--trunk-stride 32` (session 8): the stride-32 network starts as the stride-16 one it is
    seeded from (zero-started lat32), its own checkpoint round-trips, and weights that do not
    fit are refused."""
    from srnet.interactive.model import load_init_weights

    torch.manual_seed(1)
    small = build_click_net(ClickConfig(short_side=64, max_long_side=128))
    deep = build_click_net(ClickConfig(short_side=64, max_long_side=128, trunk_stride=32))
    assert len(deep.trunk._blocks) == 16 and len(small.trunk._blocks) == 11
    with torch.no_grad():
        for p in small.parameters():  # every weight non-trivial, so a missed copy shows
            p.normal_(0, 0.1)
    load_init_weights(deep, small)
    image, maps = torch.rand(1, 3, 96, 128), torch.rand(1, 3, 96, 128)
    with torch.no_grad():
        assert torch.equal(deep.eval()(image, maps), small.eval()(image, maps))
        deep.lat32.weight.normal_(0, 0.5)  # once trained, the stride-32 stage changes the answer
        assert not torch.allclose(deep(image, maps), small(image, maps))
    path = save_click_checkpoint(tmp_path / "deep.pt", deep, {"summary": deep.cfg.label})
    loaded, meta = load_click_checkpoint(path)
    assert loaded.cfg.trunk_stride == 32 and meta["summary"] == "click-lite0-s32"
    with torch.no_grad():
        assert torch.allclose(loaded(image, maps), deep(image, maps), atol=0.05)  # fp16 storage
    with pytest.raises(ValueError, match="do not fit"):
        load_init_weights(small, deep)  # a stride-32 checkpoint has blocks a stride-16 lacks
    with pytest.raises(ValueError, match="trunk_stride"):
        ClickConfig(trunk_stride=8)


def _seeded_stride32_pair(seed: int, **extra) -> tuple:
    """A random-weight stride-32 network and one with the `extra` layers seeded from it."""
    from srnet.interactive.model import load_init_weights

    torch.manual_seed(seed)
    plain = build_click_net(ClickConfig(short_side=64, max_long_side=128, trunk_stride=32))
    grown = build_click_net(ClickConfig(short_side=64, max_long_side=128, trunk_stride=32,
                                        **extra))
    with torch.no_grad():
        for p in plain.parameters():
            p.normal_(0, 0.1)
    load_init_weights(grown, plain)
    return plain, grown


def test_a_stride_4_checkpoint_seeds_the_stride_2_refinement(tmp_path) -> None:
    """`--out-stride 2` (session 11): the refined network starts as the stride-4 one it is
    seeded from (zero-started out2, added at full size), a trained refinement changes the
    answer, its checkpoint round-trips, and a refined checkpoint does not fit a stride-4
    network."""
    from srnet.interactive.model import load_init_weights

    plain, fine = _seeded_stride32_pair(2, out_stride=2)
    image, maps = torch.rand(1, 3, 96, 128), torch.rand(1, 3, 96, 128)
    with torch.no_grad():
        assert torch.equal(fine.eval()(image, maps), plain.eval()(image, maps))
        for p in (*fine.fuse2.parameters(), *fine.lat2.parameters(), *fine.out2.parameters()):
            p.normal_(0, 0.3)  # once trained, the refinement changes the answer
        refined = fine(image, maps)  # [1, 1, 96, 128]
        assert refined.shape == (1, 1, 96, 128)
        assert not torch.allclose(refined, plain(image, maps))
    path = save_click_checkpoint(tmp_path / "fine.pt", fine, {"summary": fine.cfg.label})
    loaded, meta = load_click_checkpoint(path)
    assert loaded.cfg.out_stride == 2 and meta["summary"] == "click-lite0-s32-out2"
    with torch.no_grad():
        assert torch.allclose(loaded(image, maps), refined, atol=0.05)  # fp16 storage
    with pytest.raises(ValueError, match="do not fit"):
        load_init_weights(plain, fine)
    with pytest.raises(ValueError, match="out_stride"):
        ClickConfig(out_stride=8)


def test_click_similarity_points_at_what_looks_like_the_clicks() -> None:
    """The session-12 cue by hand: keys are one of two directions (left half / right half);
    a positive click on the left makes its channel 1 on the left and 0 on the right, the
    negative-click channel answers for the right, and an empty previous mask gives zeros."""
    from srnet.interactive.model import click_similarity

    keys = torch.zeros(1, 4, 4, 6)  # [B, C, h, w]
    keys[:, 0, :, :3] = 2.0  # left half points along channel 0
    keys[:, 1, :, 3:] = 0.5  # right half along channel 1 (the norm does not matter)
    maps = torch.zeros(1, 3, 64, 96)  # stride 16
    maps[0, 0, 20:28, 10:18] = 1.0  # a positive disk on the left
    maps[0, 1, 40:48, 70:78] = 1.0  # a negative one on the right
    sims = click_similarity(keys, maps)  # [1, 3, 4, 6]
    assert sims.shape == (1, 3, 4, 6)
    assert torch.allclose(sims[0, 0, :, :3], torch.ones(4, 3))
    assert torch.allclose(sims[0, 0, :, 3:], torch.zeros(4, 3))
    assert torch.allclose(sims[0, 1, :, 3:], torch.ones(4, 3))
    assert torch.allclose(sims[0, 1, :, :3], torch.zeros(4, 3))
    assert torch.equal(sims[0, 2], torch.zeros(4, 6))  # no previous mask: no cue


def test_a_checkpoint_without_the_cue_seeds_the_click_proto_network(tmp_path) -> None:
    """`--click-proto` (session 12): seeded from a network without the cue it answers exactly
    as that network at step 0 (zero-started input conv), a trained cue changes the answer, its
    checkpoint round-trips under its own label, and it does not fit a network without it."""
    from srnet.interactive.model import load_init_weights

    plain, cued = _seeded_stride32_pair(3, click_proto=True)
    image, maps = torch.rand(1, 3, 96, 128), torch.rand(1, 3, 96, 128)
    with torch.no_grad():
        assert torch.equal(cued.eval()(image, maps), plain.eval()(image, maps))
        cued.proto_in.weight.normal_(0, 1.0)  # once trained, the cue changes the answer
        answer = cued(image, maps)  # [1, 1, 96, 128]
        assert not torch.allclose(answer, plain(image, maps))
    path = save_click_checkpoint(tmp_path / "cued.pt", cued, {"summary": cued.cfg.label})
    loaded, meta = load_click_checkpoint(path)
    assert loaded.cfg.click_proto and meta["summary"] == "click-lite0-s32-proto"
    with torch.no_grad():
        assert torch.allclose(loaded(image, maps), answer, atol=0.05)  # fp16 storage
    with pytest.raises(ValueError, match="do not fit"):
        load_init_weights(plain, cued)


def test_the_first_answer_averages_the_image_and_its_mirror(predictor: ClickPredictor) -> None:
    """With `mirror_first` the first answer's logits are the same whether the image comes
    mirrored or not (the mean of both passes is mirror-symmetric by construction); without it
    this random network's are not. Later clicks (a previous mask) run one pass, not two."""
    image = _image(64, 96, seed=6)  # at the working size already: no resize to break symmetry
    clicks = [(30, 20, True), (70, 40, False)]
    mirrored = [(95 - x, y, p) for x, y, p in clicks]

    def mismatch(mirror: bool) -> float:
        stem, work = predictor._stem_of(image, mirror)
        first = predictor._logits(stem, work, (64, 96), clicks, None)  # [64, 96]
        stem, work = predictor._stem_of(np.ascontiguousarray(image[:, ::-1]), mirror)
        other = predictor._logits(stem, work, (64, 96), mirrored, None)[:, ::-1]
        return float(np.abs(first - other).max() / np.abs(first).max())

    assert mismatch(True) < 1e-4  # float order only
    assert mismatch(False) > 0.01
    batches: list[int] = []
    forward = predictor.model.forward_from_stem

    def counting(stem: torch.Tensor, *args):
        batches.append(stem.shape[0])
        return forward(stem, *args)

    model = ClickPredictor(predictor.model, "cpu", zoom=False)
    model.model.forward_from_stem = counting
    try:
        model.predict(image, clicks[:1])
        model.predict(image, clicks, prev_mask=np.ones((64, 96), bool))
    finally:
        del model.model.forward_from_stem
    assert batches == [2, 1]


def test_a_correction_only_adds_on_a_positive_click_and_only_removes_on_a_negative(
        predictor: ClickPredictor) -> None:
    """The network's answer (here a fixed box that both grows and cuts the previous mask) is
    constrained against prev_mask by the last click's sign; a first click keeps it whole."""
    image = _image(seed=7)
    prev = np.zeros((75, 101), bool)
    prev[10:40, 20:70] = True
    raw = np.zeros((75, 101), bool)
    raw[25:60, 40:90] = True
    model = ClickPredictor(predictor.model, "cpu", zoom=False)
    model.drop_strays = False
    model._predict = lambda *args: raw.copy()
    grown = model.predict(image, [(30, 20, True), (80, 50, True)], prev_mask=prev)
    assert (grown == (prev | raw)).all()
    cut = model.predict(image, [(30, 20, True), (25, 15, False)], prev_mask=prev)
    assert (cut == (prev & raw)).all()
    assert (model.predict(image, [(30, 20, True)]) == raw).all()  # nothing to correct
    model.monotonic = False
    assert (model.predict(image, [(30, 20, True), (25, 15, False)], prev_mask=prev) == raw).all()


def test_remove_clicks_without_a_mask_to_correct_are_refused(predictor: ClickPredictor) -> None:
    with pytest.raises(ValueError, match="need a prev_mask"):
        predictor.predict(_image(), [(50, 30, False)])
    prev = np.zeros((75, 101), bool)
    with pytest.raises(ValueError, match="need a prev_mask"):  # an empty one corrects nothing
        predictor.predict(_image(), [(50, 30, False)], prev)
    prev[20:50, 30:70] = True
    assert not (predictor.predict(_image(), [(50, 30, False)], prev) & ~prev).any()


def test_clicks_given_as_text_or_fractions_reach_the_rules_as_the_network_saw_them(
        predictor: ClickPredictor) -> None:
    """The rules after the network read the raw clicks: ("10.5", "20", True) passed the check
    and then failed in them (`int("10.5")`), and they looked up int(x) (rounded down) where
    the disk map was drawn at round(x)."""
    from srnet.interactive.clicks import click_pixel
    from srnet.interactive.pieces import clicked_pieces

    image = np.random.default_rng(3).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    as_text = predictor.predict(image, [("10.5", "20", True)])
    assert as_text.shape == (48, 64) and as_text.dtype == bool
    assert click_pixel(10.6, 3.2, (20, 30)) == (3, 11)
    assert click_pixel(29.7, 19.9, (20, 30)) == (19, 29)  # kept inside the image
    labels = np.zeros((20, 30), np.int32)
    labels[:, 11:] = 1  # a piece starting at column 11: the disk at round(10.6) is on it
    assert clicked_pieces(labels, [(10.6, 5.0, True)]) == {1}
