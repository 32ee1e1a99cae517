"""srnet.interactive.clicks / evaluate: the NoC click simulator, the NoC and mIoU arithmetic,
click validation and the monotonic click rule, on hand-made masks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from srnet.interactive.clicks import (
    check_clicks,
    constrain,
    disk_maps,
    iou,
    next_click,
    noc,
    summarize,
)
from srnet.interactive.data import ClickObject
from srnet.interactive.evaluate import click_curve, read_eval_mask
from srnet.palette import davis_palette


def _box(shape: tuple[int, int], top: int, left: int, bottom: int, right: int) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[top:bottom, left:right] = True
    return mask


def test_first_click_is_the_centre_of_the_object() -> None:
    gt = _box((60, 80), 10, 20, 31, 41)  # rows 10-30, cols 20-40: centre (30, 20)
    assert next_click(np.zeros_like(gt), gt) == (30.0, 20.0, True)


def test_click_goes_to_the_largest_error_region_with_its_sign() -> None:
    gt = _box((100, 100), 10, 10, 50, 50)
    pred = gt.copy()
    pred[20:30, 20:30] = False  # 100 px false negative
    pred |= _box((100, 100), 60, 60, 90, 90)  # 900 px false positive: the largest
    x, y, positive = next_click(pred, gt)
    assert not positive and 60 <= x < 90 and 60 <= y < 90
    pred[60:90, 60:90] = False
    x, y, positive = next_click(pred, gt)
    assert positive and 20 <= x < 30 and 20 <= y < 30


def test_image_border_counts_as_boundary_and_ignore_is_no_error() -> None:
    gt = _box((40, 40), 0, 0, 40, 10)  # touches three borders
    x, y, positive = next_click(np.zeros_like(gt), gt)
    assert positive and 3 <= x <= 6 and 3 <= y <= 36  # interior, not on the border
    ignore = gt.copy()
    assert next_click(np.zeros_like(gt), gt, ignore) is None
    assert next_click(gt, gt) is None


def test_ritm_simulator_clicks_the_deepest_error_not_the_largest() -> None:
    """A thin 4x90 false-negative strip (360 px, depth 2) beside an 18x18 false-positive
    blob (324 px, depth 9): the area rule clicks the strip (positive), RITM's clicks the blob's
    centre (negative); a clicked pixel is never clicked again, and ignore is no error."""
    from srnet.interactive.clicks import next_click_ritm

    gt = _box((100, 100), 5, 5, 9, 95)  # the strip, missed
    pred = _box((100, 100), 40, 40, 58, 58)  # the blob, wrongly taken
    assert next_click(pred, gt)[2] is True
    x, y, positive = next_click_ritm(pred, gt)
    assert not positive and 48 <= x <= 49 and 48 <= y <= 49
    again = next_click_ritm(pred, gt, clicked=[(x, y, False)])
    assert again is not None and (again[0], again[1]) != (x, y)
    assert next_click_ritm(np.zeros_like(gt), gt) == next_click_ritm(
        np.zeros_like(gt), gt, clicked=[(0.0, 99.0, True)])  # a click elsewhere: no change
    assert next_click_ritm(gt, gt) is None and next_click_ritm(pred, gt, pred | gt) is None
    assert next_click_ritm(np.zeros_like(gt), gt)[2] is True  # only misses: positive


def test_the_noc_protocol_can_be_ritms() -> None:
    from srnet.interactive.data import ClickObject
    from srnet.interactive.evaluate import click_curve

    gt = _box((100, 100), 5, 5, 9, 95)
    wrong = _box((100, 100), 40, 40, 58, 58)
    obj = ClickObject(np.zeros((100, 100, 3), np.uint8), gt, np.zeros_like(gt), "strip")
    seen = []

    def predict(image, clicks, prev):
        seen.append(clicks[-1])
        return wrong | gt if len(clicks) == 1 else gt

    click_curve(predict, obj, 3, "ritm")
    assert seen[0][2] is True and seen[1][2] is False  # then the blob's centre, negative
    with pytest.raises(ValueError, match="protocol"):
        click_curve(predict, obj, 3, "nearest")


def test_iou_ignores_the_ignore_region() -> None:
    gt = _box((10, 10), 0, 0, 10, 5)  # 50 px
    pred = _box((10, 10), 0, 0, 10, 6)  # 60 px, 10 false positive
    assert iou(pred, gt) == pytest.approx(50 / 60)
    ignore = _box((10, 10), 0, 5, 10, 6)
    assert iou(pred, gt, ignore) == 1.0
    assert iou(np.zeros_like(gt), np.zeros_like(gt)) == 1.0


def test_noc_and_summary_arithmetic() -> None:
    assert noc([0.5, 0.86, 0.91], 0.85, 20) == 2
    assert noc([0.5, 0.86, 0.91], 0.90, 20) == 3
    assert noc([0.5, 0.6], 0.85, 20) == 20  # never reached: max clicks
    assert noc([0.95], 0.90, 20) == 1
    out = summarize([[0.5, 0.86, 0.91], [0.95], [0.1, 0.2]], 20)
    assert out["mIoU@1"] == pytest.approx((0.5 + 0.95 + 0.1) / 3)
    assert out["mIoU@3"] == pytest.approx((0.91 + 0.95 + 0.2) / 3)  # curves padded
    assert out["mIoU@5"] == pytest.approx(out["mIoU@3"])
    assert out["NoC@85"] == pytest.approx((2 + 1 + 20) / 3)
    assert out["NoC@90"] == pytest.approx((3 + 1 + 20) / 3)
    cut = summarize([[0.1] * 5 + [0.95]], 5)  # a curve longer than max_clicks is cut
    assert cut["NoC@90"] == 5 and cut["mIoU@5"] == pytest.approx(0.1)
    assert "mIoU@5" not in summarize([[0.5, 0.7, 0.8]], 3)  # not 3 clicks under a 5-click name
    for bad_curves in ([], [[]]):
        with pytest.raises(ValueError):
            summarize(bad_curves, 20)


def test_click_curve_with_hand_made_predictors() -> None:
    gt = _box((50, 50), 10, 10, 40, 40)
    obj = ClickObject(np.zeros((50, 50, 3), np.uint8), gt, np.zeros_like(gt), "box")
    ious, _ = click_curve(lambda image, clicks, prev: gt.copy(), obj, 20)
    assert ious == [1.0]  # no error left: the simulation stops
    half = _box((50, 50), 10, 10, 40, 25)

    def grows(image: np.ndarray, clicks: list, prev: np.ndarray | None) -> np.ndarray:
        return half if len(clicks) == 1 else gt.copy()

    ious, _ = click_curve(grows, obj, 20)
    assert ious == [pytest.approx(0.5), 1.0]


def test_initial_negative_clicks_never_land_on_ignored_pixels() -> None:
    from srnet.interactive.clicks import initial_clicks

    gt = np.zeros((64, 64), bool)
    gt[20:40, 20:40] = True
    ignore = np.zeros_like(gt)
    ignore[:, 44:] = True  # a view's bar past the image
    rng = np.random.default_rng(0)
    negatives = [(x, y) for _ in range(200)
                 for x, y, positive in initial_clicks(gt, rng, ignore) if not positive]
    assert len(negatives) > 50 and all(x < 44 for x, _ in negatives)


def test_check_clicks_errors() -> None:
    with pytest.raises(ValueError, match="no clicks"):
        check_clicks([], (10, 10))
    with pytest.raises(ValueError, match="outside"):
        check_clicks([(10, 3, True)], (10, 10, 3))
    with pytest.raises(ValueError, match="outside"):
        check_clicks([(float("nan"), 3, True)], (10, 10))
    with pytest.raises(ValueError, match="not"):
        check_clicks([(1, 2)], (10, 10))
    with pytest.raises(ValueError, match="not"):  # was read as (1, 0)
        check_clicks([(True, False, True)], (10, 10))
    assert check_clicks([(9.5, 0, 1)], (10, 10)) == [(9.5, 0.0, True)]


def test_an_empty_click_checkpoint_path_is_a_missing_file() -> None:
    from srnet import CheckpointError, load_click_model

    with pytest.raises(CheckpointError, match="not found"):  # was: the bundled model
        load_click_model("")


def test_disk_maps() -> None:
    maps = disk_maps([(10, 5, True), (2, 2, False)], (20, 30), 3)
    assert maps.shape == (2, 20, 30) and maps[0, 5, 10] == 1 and maps[1, 2, 2] == 1
    assert maps[0, 5, 14] == 0 and maps[0].sum() == pytest.approx(29)  # disk of radius 3


def test_monotonic_rule() -> None:
    prev = _box((20, 20), 5, 5, 15, 15)
    grown = _box((20, 20), 0, 0, 20, 20)
    shrunk = _box((20, 20), 5, 5, 15, 10)
    assert (constrain(prev, grown, False) == prev).all()  # negative never adds
    assert (constrain(prev, shrunk, False) == shrunk).all()
    assert (constrain(prev, shrunk, True) == prev).all()  # positive never removes
    assert (constrain(None, shrunk, True) == shrunk).all()


def test_eval_mask_reading(tmp_path) -> None:
    grey = np.zeros((8, 8), np.uint8)
    grey[2:5, 2:5] = 255
    grey[0, :] = 128
    Image.fromarray(grey).save(tmp_path / "g.png")
    ((gt, ignore),) = read_eval_mask(tmp_path / "g.png")
    assert gt.sum() == 9 and ignore.sum() == 8
    pal = Image.fromarray(np.array([[0, 1], [2, 255]], np.uint8), mode="P")
    pal.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [255] * 759)
    pal.save(tmp_path / "p.png")
    objects = read_eval_mask(tmp_path / "p.png")
    assert len(objects) == 2 and objects[1][0][1, 0] and objects[0][1][1, 1]



def test_eval_masks_in_colour_or_zero_one_are_read_not_dropped(tmp_path) -> None:
    """A red object on black and a 0/1 grey mask read as empty (`> 128` on the grey image),
    so clicks-eval dropped them, or said the folder held no mask."""
    colour = np.zeros((8, 8, 3), np.uint8)
    colour[1:3, 1:4] = (255, 0, 0)  # red: grey 76, under the 128 threshold
    Image.fromarray(colour).save(tmp_path / "c.png")
    ((gt, ignore),) = read_eval_mask(tmp_path / "c.png")
    assert gt.sum() == 6 and not ignore.any()
    colour[5:7, 5:7] = davis_palette()[2]  # DAVIS colours: one object per id, as segment reads
    colour[1:3, 1:4] = davis_palette()[1]
    Image.fromarray(colour).save(tmp_path / "c.png")
    objects = read_eval_mask(tmp_path / "c.png")
    assert [int(gt.sum()) for gt, _ in objects] == [6, 4]
    binary = np.zeros((8, 8), np.uint8)
    binary[2:6, 3:5] = 1
    Image.fromarray(binary).save(tmp_path / "b.png")
    ((gt, ignore),) = read_eval_mask(tmp_path / "b.png")
    assert (gt == (binary == 1)).all() and not ignore.any()

    # a 0/128/255 grey mask stored as palette indices (PNG optimisers do): its 128 band read
    # as the object and the object as ignored; and the same mask in 16 bits
    grey = np.zeros((8, 8), np.uint8)
    grey[2:5, 2:5], grey[0, :] = 255, 128
    Image.fromarray(grey).convert("P").save(tmp_path / "gp.png")
    assert Image.open(tmp_path / "gp.png").mode == "P"
    ((gt, ignore),) = read_eval_mask(tmp_path / "gp.png")
    assert gt.sum() == 9 and ignore.sum() == 8
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "g16.png")
    ((gt, ignore),) = read_eval_mask(tmp_path / "g16.png")
    assert gt.sum() == 9 and ignore.sum() == 8
    # the same grey mask with a compact palette (0, 128, 255 at indices 0-2), and quantised by
    # PIL's adaptive palette (white at index 0): read as ids, the background was an object
    compact = Image.fromarray(np.searchsorted([0, 128, 255], grey).astype(np.uint8), mode="P")
    compact.putpalette([0, 0, 0, 128, 128, 128, 255, 255, 255])
    adaptive = Image.fromarray(grey).convert("RGB").convert("P", palette=Image.ADAPTIVE)
    for name, image in (("compact", compact), ("adaptive", adaptive)):
        image.save(tmp_path / f"{name}.png")
        ((gt, ignore),) = read_eval_mask(tmp_path / f"{name}.png")
        assert gt.sum() == 9 and ignore.sum() == 8, name


def test_training_clicks_include_single_clicks_and_stay_in_range() -> None:
    """The training click sampler must often give exactly one positive click (the first click a
    user makes; sessions 4-5 never did, and one-click masks came out half the object), never
    more than three, always inside the object, and negatives outside it."""
    from srnet.interactive.clicks import initial_clicks

    gt = np.zeros((64, 80), bool)
    gt[10:50, 20:60] = True
    rng = np.random.default_rng(0)
    counts = []
    for _ in range(400):
        clicks = initial_clicks(gt, rng)
        positives = [c for c in clicks if c[2]]
        assert 1 <= len(positives) <= 3
        assert all(gt[int(y), int(x)] for x, y, _ in positives)
        assert not any(gt[int(y), int(x)] for x, y, p in clicks if not p)
        counts.append(len(positives))
    share_single = counts.count(1) / len(counts)
    assert 0.45 < share_single < 0.75, share_single
    assert counts.count(3) > 0


def test_object_view_magnifies_small_objects_and_shows_large_ones_whole() -> None:
    from srnet.interactive.data import object_view
    from srnet.interactive.predictor import ClickPredictor

    min_side = ClickPredictor.ZOOM_MIN_SIDE

    rng = np.random.default_rng(0)
    image = np.zeros((360, 480, 3), np.uint8)
    small_gt = np.zeros((360, 480), bool)
    small_gt[100:120, 200:220] = True  # 20 px: the zoom-in's minimum box (0.2 x 360) rules
    ignore = np.zeros_like(small_gt)
    ignore[100:110, 200:220] = True  # the void part must move with the object
    small = ClickObject(image, small_gt, ignore, "small")
    for _ in range(5):
        img, gt, ign = object_view(small, 320, rng, min_side)
        assert img.shape == (320, 320, 3) and gt.shape == ign.shape == (320, 320)
        rows, cols = np.nonzero(gt)
        height, width = rows.max() + 1 - rows.min(), cols.max() + 1 - cols.min()
        assert 320 * 20 / 72 - 3 <= height <= 320 * 20 / 72 + 3 and abs(width - height) <= 3
        assert ign.any() and (ign <= gt).all() and ign.sum() < gt.sum()
    large_gt = np.zeros((360, 480), bool)
    large_gt[20:340, 40:440] = True
    for _ in range(5):
        img, gt, ign = object_view(ClickObject(image + 200, large_gt, np.zeros_like(large_gt),
                                               "big"), 320, rng, min_side)
        # shown whole, shrunk: the 400-px box x 1.2-2.0 is 480-800 px, at most 0.67x its scale
        assert 0.1 * large_gt.sum() < gt.sum() <= (320 / 480) ** 2 * large_gt.sum() * 1.02
        assert not gt[0].all() and not gt[:, 0].all()  # the border is never all object
        # the bars beside the image (black, where the image is grey) are ignored, not
        # trained as background
        assert ign.any() and not (ign & gt).any()
        assert img[ign].mean() < 0.5 * img[~ign].mean()
    empty = ClickObject(image, np.zeros_like(small_gt), ignore, "none")
    assert object_view(empty, 320, rng, min_side) is None


def test_drop_strays_keeps_clicked_and_large_pieces_only() -> None:
    from srnet.interactive.pieces import drop_strays

    mask = np.zeros((60, 80), bool)
    mask[5:25, 5:25] = True  # clicked piece, 400 px
    mask[40:44, 60:65] = True  # stray, 20 px < 0.2 x 400
    mask[30:40, 5:25] = True  # unclicked but 200 px: a second part of the object stays
    mask[50:53, 40:43] = True  # 9 px stray holding a negative click: still a stray
    clicks = [(10.0, 10.0, True), (41.0, 51.0, False)]
    kept = drop_strays(mask, clicks, 0.2)
    assert kept[5:25, 5:25].all() and kept[30:40, 5:25].all()
    assert not kept[40:44, 60:65].any() and not kept[50:53, 40:43].any()
    assert kept.sum() == 600
    # a small piece is kept when a positive click is on it
    assert drop_strays(mask, clicks + [(62.0, 41.0, True)], 0.2)[40:44, 60:65].all()
    # no positive click inside the mask: nothing to measure pieces against, unchanged
    assert (drop_strays(mask, [(70.0, 5.0, True)], 0.2) == mask).all()
    # a small piece of the mask being corrected stays: a click elsewhere must not delete it
    prev = np.zeros_like(mask)
    prev[41:43, 61:64] = True
    assert drop_strays(mask, clicks, 0.2, keep=prev)[40:44, 60:65].all()


def test_far_strays_go_near_parts_and_larger_pieces_stay() -> None:
    """Session 38: one click on a walking woman kept a blob on a shop window 107 px away, a
    third of her size (above the 0.2 share). With `far`, an unclicked piece smaller than the
    clicked ones goes when its gap exceeds far x sqrt(clicked area): here 0.5 x 20 = 10 px."""
    from srnet.interactive.pieces import drop_strays

    mask = np.zeros((80, 120), bool)
    mask[10:30, 10:30] = True  # clicked piece, 400 px
    mask[10:30, 36:46] = True  # 200 px, gap 6 px: a part behind a pole, stays
    mask[60:70, 90:105] = True  # 150 px, far away: a look-alike blob
    mask[40:79, 60:79] = True  # 741 px, far but larger than the clicked piece: stays
    clicks = [(15.0, 15.0, True)]
    assert drop_strays(mask, clicks, 0.2).sum() == mask.sum()  # the share rule keeps all
    kept = drop_strays(mask, clicks, 0.2, far=0.5)
    assert kept[10:30, 36:46].all() and kept[40:79, 60:79].all()
    assert not kept[60:70, 90:105].any()
    assert kept.sum() == 400 + 200 + 741
    # the blob stays when it is the mask being corrected, or when it holds a positive click
    prev = np.zeros_like(mask)
    prev[62:64, 92:95] = True
    assert drop_strays(mask, clicks, 0.2, keep=prev, far=0.5)[60:70, 90:105].all()
    assert drop_strays(mask, clicks + [(95.0, 65.0, True)], 0.2, far=0.5)[60:70, 90:105].all()


def test_predictor_drops_strays_by_default() -> None:
    from srnet.interactive.model import ClickNet
    from srnet.interactive.predictor import ClickPredictor

    answer = np.zeros((40, 40), bool)
    answer[5:25, 5:25] = True
    answer[35:37, 35:37] = True  # a 4-px speck away from the click
    predictor = ClickPredictor(ClickNet(), device="cpu")
    predictor._predict = lambda image, clicks, prev_mask: answer.copy()
    image = np.zeros((40, 40, 3), np.uint8)
    assert predictor.predict(image, [(10, 10, True)]).sum() == 400
    predictor.drop_strays = False
    assert predictor.predict(image, [(10, 10, True)]).sum() == 404


def test_a_correction_keeps_only_added_pieces_at_the_click_or_the_mask() -> None:
    """A click on a flamingo's missed leg also added another flamingo's body: a far piece the
    click did not point at goes; the leg (held by the click) and a piece grown from the mask
    stay, and so does all of the mask being corrected."""
    from srnet.interactive.pieces import drop_far_additions

    prev = np.zeros((60, 80), bool)
    prev[5:25, 5:25] = True  # the body being corrected
    mask = prev.copy()
    mask[25:40, 12:15] = True  # the leg, grown from the body
    mask[45:55, 40:48] = True  # the clicked piece, apart from the body
    mask[5:20, 55:75] = True  # another flamingo: far, unclicked, 300 px
    kept = drop_far_additions(mask, prev, [(10.0, 10.0, True), (44.0, 50.0, True)])
    assert kept[prev].all() and kept[25:40, 12:15].all() and kept[45:55, 40:48].all()
    assert not kept[5:20, 55:75].any()
    assert (drop_far_additions(prev, prev, [(10.0, 10.0, True)]) == prev).all()



def test_a_remove_click_on_a_detached_piece_drops_all_of_it() -> None:
    """A propagated mask had also taken a tree trunk; a remove-click on the trunk's lower half
    left its upper half. A click on a detached piece (no positive click, not the largest piece)
    drops the whole piece; a click on the body, or on a piece a positive click holds, only
    takes what the network answered."""
    from srnet.interactive.pieces import drop_clicked_piece

    prev = np.zeros((60, 80), bool)
    prev[5:45, 5:25] = True  # the woman, 800 px: the largest piece
    prev[5:40, 60:66] = True  # the trunk, detached, 210 px
    answer = prev.copy()
    answer[25:40, 60:66] = False  # the network removed only the clicked lower half
    kept = drop_clicked_piece(answer, prev, [(63.0, 30.0, False)])
    assert not kept[5:40, 60:66].any() and (kept[5:45, 5:25] == answer[5:45, 5:25]).all()
    # a click on the body trims it only where the network said so
    trimmed = prev.copy()
    trimmed[40:45, 5:25] = False
    assert (drop_clicked_piece(trimmed, prev, [(10.0, 42.0, False)]) == trimmed).all()
    # the trunk holds a positive click: it is part of the object, only the answer counts
    clicks = [(62.0, 8.0, True), (63.0, 30.0, False)]
    assert (drop_clicked_piece(answer, prev, clicks) == answer).all()
    # a positive last click, or a click off the mask, changes nothing
    assert (drop_clicked_piece(answer, prev, [(63.0, 30.0, True)]) == answer).all()
    assert (drop_clicked_piece(answer, prev, [(40.0, 50.0, False)]) == answer).all()


def test_predictor_drops_a_clicked_detached_piece_by_default() -> None:
    from srnet.interactive.model import ClickNet
    from srnet.interactive.predictor import ClickPredictor

    prev = np.zeros((40, 40), bool)
    prev[5:30, 5:20] = True  # 375 px
    prev[5:20, 30:35] = True  # detached, 75 px
    answer = prev.copy()
    answer[12:20, 30:35] = False  # the network trimmed the clicked part only
    predictor = ClickPredictor(ClickNet(), device="cpu")
    predictor._predict = lambda image, clicks, prev_mask: answer.copy()
    predictor.drop_strays = False
    image = np.zeros((40, 40, 3), np.uint8)
    assert predictor.predict(image, [(32, 15, False)], prev_mask=prev).sum() == 375
    predictor.whole_pieces = False
    assert predictor.predict(image, [(32, 15, False)], prev_mask=prev).sum() == 375 + 35


def test_a_remove_click_takes_back_only_the_pieces_that_reach_it() -> None:
    """`restore_far_removals`: the network also redrew a far part of the object smaller; that
    removal is given back, the one under the click is kept, and a positive click is left."""
    from srnet.interactive.pieces import restore_far_removals

    prev = np.zeros((100, 100), bool)
    prev[10:40, 10:40] = True  # a leak the user removes
    prev[10:90, 60:90] = True  # the object, far from the click
    answer = prev.copy()
    answer[15:35, 15:35] = False  # the removal at the click
    answer[80:90, 60:90] = False  # the network's far, unwanted removal
    kept = restore_far_removals(answer, prev, [(50, 50, True), (25, 25, False)])
    assert not kept[15:35, 15:35].any() and kept[80:90, 60:90].all()
    removed = np.zeros_like(prev)
    removed[15:35, 15:35] = True
    assert (kept == (prev & ~removed)).all()
    # a click just beside the removed piece still reaches it (3 % of the short side: 3 px)
    beside = restore_far_removals(answer, prev, [(50, 50, True), (37, 25, False)])
    assert not beside[15:35, 15:35].any() and beside[80:90, 60:90].all()
    assert (restore_far_removals(answer, prev, [(25, 25, True)]) == answer).all()

