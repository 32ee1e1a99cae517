"""One object per pixel on a frame the user edits: an edit of one object keeps the others.

The click model answers for one object at a time and knows nothing of the others, so a click
on a pram can come back as the pram and the woman pushing it (a group reads as one thing). The
annotation used to stack objects in the order they were added, so the later object silently
took the earlier one's pixels, and that error was then propagated through the whole clip.

The rule here: pixels another object holds on the frame (its annotation there, else its
propagated mask) stay with it, unless the user points at them: a positive click that lands on
another object takes a part of it (`_claim`: the clicked object's own answer there, or, when
that answer is a group holding most of the other object, what a negative click would cut
off the other object), and a brush stroke or an imported black-and-white mask takes exactly
what it covers. Undo gives the pixels a click took back to their object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from demo.clicks import Click


@dataclass
class ClickUndo:
    """What one click changed, so undo restores exactly the annotation from before it."""

    before: np.ndarray | None  # the clicked object's annotation before the click (None: none)
    taken: dict[int, np.ndarray] = field(default_factory=dict)  # obj id → bool [H, W] it lost
    # a paint's record only: the clicks (and their undo records) the painted mask replaced
    clicks: list | None = None
    history: list | None = None
    seq: int = -1  # when the edit was made (`DemoState.next_edit`): later edits have more


    def resized(self, resize: Callable[[np.ndarray], np.ndarray],
                scale: Callable[[Click], Click]) -> ClickUndo:
        """This record at another frame size: masks through `resize`, clicks through `scale`
        (a paint's record keeps the clicks and undo records it replaced, resized too)."""
        return ClickUndo(
            None if self.before is None else resize(self.before),
            {obj_id: resize(pixels) for obj_id, pixels in self.taken.items()},
            None if self.clicks is None else [scale(click) for click in self.clicks],
            None if self.history is None else [undo.resized(resize, scale)
                                               for undo in self.history], self.seq)


def shown_mask(annotation: np.ndarray | None, annotated_ids: Iterable[int],
               propagated: np.ndarray | None, followed_ids: Iterable[int]) -> np.ndarray | None:
    """The frame as the next pass will hold it (uint8 [H, W] ids), or None: on a frame with
    an annotation, the propagated masks of the objects the pass follows (`followed_ids`:
    annotated somewhere) and not annotated here, under the annotation (the predictor's
    merge). An object whose only annotation was just cleared is not shown from an old pass."""
    if propagated is None or annotation is None:
        return annotation if propagated is None else propagated
    others = set(followed_ids) - set(annotated_ids)
    shown = np.where(np.isin(propagated, sorted(others)), propagated, 0)  # [H, W]
    return np.where(annotation > 0, annotation, shown).astype(np.uint8)  # [H, W]


def keep_others(owners: np.ndarray | None, obj_id: int, mask: np.ndarray, click: Click | None,
                cut: Callable[[int, tuple[float, float]], np.ndarray] | None = None,
                prior: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None, int]:
    """`mask` (bool [H, W], the object's new mask) without the pixels other objects hold in
    `owners` (uint8 [H, W] ids), except the part a positive `click` on another object claims:
    what `cut(other_id, (x, y))` (that object's mask after a negative click there) removes
    from it, else the connected part of `mask` on that object around the click. Thin strips
    of new pixels along what was left go too (`prior`, the object's mask before, stays).
    Returns (mask, the claimed pixels or None, how many pixels were left to the others)."""
    if owners is None:
        return mask, None, 0
    others = (owners != 0) & (owners != obj_id)  # [H, W]
    claimed, group, point = None, False, None
    if click is not None and click[2]:
        x, y = int(round(click[0])), int(round(click[1]))
        point = (x, y) if 0 <= y < owners.shape[0] and 0 <= x < owners.shape[1] else None
        if point is not None and others[y, x]:
            claimed, group = _claim(owners == owners[y, x], mask, point, cut, int(owners[y, x]))
    left_to_others = mask & others if claimed is None else mask & others & ~claimed
    kept = _without_slivers(mask & ~others, left_to_others, prior)  # [H, W]
    anchor = None  # what a group answer's debris is judged against
    if group:  # the click claimed through the other object's negative-click answer
        anchor = claimed
    elif claimed is None and point is not None and left_to_others.sum() > kept.sum():
        anchor = _part_at(kept, point)  # no claim, but the answer was mostly another object
    if anchor is not None:
        kept = _without_debris(kept, anchor, others, prior)
    kept = kept if claimed is None else kept | claimed
    return kept, claimed, int(left_to_others.sum())


def _without_slivers(kept: np.ndarray, left: np.ndarray, prior: np.ndarray | None) -> np.ndarray:
    """`kept` without the thin strips it keeps along what it left to other objects. A group
    answer (a pram and its pusher) reaches a little past the other object's own tighter mask,
    which would leave a few-pixel ring around her held by the pram, and that ring would be
    propagated. Only new pixels near what was left go; the rest of the mask, thin parts
    included (a pram's bars), and the object's earlier mask (`prior`) stay."""
    if not left.any():
        return kept
    near = cv2.dilate(left.astype(np.uint8), _kernel(kept.shape), iterations=2) > 0  # [H, W]
    slivers = near & kept & ~_opened(kept)  # [H, W]
    if prior is not None:
        slivers &= ~prior
    return kept & ~slivers


def _claim(held: np.ndarray, mask: np.ndarray, point: tuple[int, int],
           cut: Callable[[int, tuple[float, float]], np.ndarray] | None,
           other_id: int) -> tuple[np.ndarray | None, bool]:
    """The pixels of another object (`held`, bool [H, W]) that a positive click at `point`
    takes for the clicked object: what the clicked object's new `mask` covers of it (when the
    click is in it; thin strips left out), when that is at most half of it (the woman's
    answer inside a pram-and-woman mask, her head and torso apart where its outline pinches).
    When it is more, the answer is a group (the pram's answer holds all of the woman): then
    the other object's own click model answer to a negative click there says where it ends
    (the pram's hood is one connected blob with the woman holding it), and of what that
    removes, the part around the click (it also trims a thin band all along her outline,
    which is nobody's claim). Specks of the other object cut off by the claim follow it.
    Returns (the claimed pixels or None, whether the answer was such a group)."""
    region = mask & held  # [H, W] what the clicked object's own answer says is it
    at_click = _part_at(region, point)
    own = None if at_click is None else at_click | _opened(region)  # thin strips left out
    if own is not None and own.sum() <= held.sum() / 2:
        return own | _crumbs(held & ~own, own), False
    # a group answer: most of the other object (the pram's answer holds the woman)
    removed = None if cut is None else held & ~cut(other_id, (float(point[0]),
                                                               float(point[1])))  # [H, W]
    part = None if removed is None else _part_at(_opened(removed), point)
    part = at_click if part is None else part
    return (None if part is None else part | _crumbs(held & ~part, part)), True


def _without_debris(kept: np.ndarray, anchor: np.ndarray, others: np.ndarray,
                    prior: np.ndarray | None) -> np.ndarray:
    """`kept` (bool [H, W]: a group answer's pixels outside every other object) without the
    pieces that fill a gap of the other objects: pieces that touch neither the `anchor` (the
    part the click claimed, or the piece of `kept` holding it) nor the object's earlier mask
    (`prior`), are smaller than the anchor, and have at least half of their surroundings on
    `others`. Session 41, held-out `lucia`: a click on a woman's bag came back as all of her,
    and the gap her own mask left between her legs went to the bag as well. A larger detached
    piece stays (a pram's body apart from its claimed hood), and so does one that mostly
    borders the background (a pram's handle the woman's arm cuts off)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(kept.astype(np.uint8),
                                                               connectivity=8)
    if count <= 1:
        return kept
    touching = _labels_touching(labels, anchor, np.ones((3, 3), np.uint8))
    if prior is not None:
        touching |= set(np.unique(labels[prior]).tolist())
    kernel = _kernel(kept.shape)
    margin = kernel.shape[0] // 2
    anchor_area = int(anchor.sum())
    debris = []
    for label in range(1, count):
        if label in touching or stats[label, cv2.CC_STAT_AREA] >= anchor_area:
            continue
        left, top, width, height = stats[label, :4]  # its box, grown by the ring's width
        box = (slice(max(0, top - margin), top + height + margin),
               slice(max(0, left - margin), left + width + margin))
        piece = labels[box] == label  # [h, w] (one frame-wide dilation per speck was slow)
        ring = (cv2.dilate(piece.astype(np.uint8), kernel) > 0) & ~piece  # [h, w]
        if others[box][ring].mean() >= 0.5:
            debris.append(label)
    return kept & ~np.isin(labels, debris) if debris else kept


def _crumbs(rest: np.ndarray, part: np.ndarray, share: float = 0.02) -> np.ndarray:
    """Small pieces of `rest` (what the other object keeps, bool [H, W]) cut off from it by
    the claim and touching the claimed `part`: specks of one object inside the other read as
    noise, and follow the claim."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(rest.astype(np.uint8),
                                                               connectivity=8)
    small = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] < share * rest.sum()]
    if not small:
        return np.zeros_like(rest)
    touching = _labels_touching(labels, part, _kernel(part.shape))
    return np.isin(labels, sorted(set(small) & touching))  # [H, W]


def _labels_touching(labels: np.ndarray, region: np.ndarray, kernel: np.ndarray) -> set[int]:
    """The labels (int [H, W] components) found within `kernel`'s reach of `region` (bool)."""
    return set(np.unique(labels[cv2.dilate(region.astype(np.uint8), kernel) > 0]).tolist())


def _part_at(region: np.ndarray, point: tuple[int, int]) -> np.ndarray | None:
    """The 8-connected part of `region` (bool [H, W]) holding `point` (x, y), or None."""
    if not region[point[1], point[0]]:
        return None
    _, labels = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)  # [H, W]
    return labels == labels[point[1], point[0]]


def _kernel(shape: tuple[int, ...]) -> np.ndarray:
    size = max(3, round(min(shape[:2]) / 120)) | 1  # 5 px at 480p: strips narrower go
    return np.ones((size, size), np.uint8)


def _opened(mask: np.ndarray) -> np.ndarray:
    """`mask` (bool [H, W]) without its strips narrower than `_kernel`."""
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, _kernel(mask.shape)) > 0


def take(obj_masks: dict[tuple[int, int], np.ndarray], frame_idx: int, obj_id: int,
         claimed: np.ndarray | None) -> dict[int, np.ndarray]:
    """Remove `claimed` from every other object's annotation on the frame; returns, per
    object that lost pixels, the pixels it lost."""
    taken: dict[int, np.ndarray] = {}
    if claimed is None:
        return taken
    for (frame, other), annotation in list(obj_masks.items()):
        lost = annotation & claimed if frame == frame_idx and other != obj_id else None
        if lost is not None and lost.any():
            taken[other] = lost
            kept = annotation & ~claimed
            if kept.any():
                obj_masks[(frame, other)] = kept
            else:
                del obj_masks[(frame, other)]
    return taken


def _held(obj_masks: dict[tuple[int, int], np.ndarray], frame_idx: int,
          shape: tuple[int, ...], but: int | None = None) -> np.ndarray:
    """bool [H, W]: the pixels the annotations on the frame hold (object `but`'s left out)."""
    held = np.zeros(shape[:2], bool)
    for (frame, obj_id), annotation in obj_masks.items():
        if frame == frame_idx and obj_id != but:
            held |= annotation
    return held


def without_others(obj_masks: dict[tuple[int, int], np.ndarray], frame_idx: int, obj_id: int,
                   mask: np.ndarray | None) -> np.ndarray | None:
    """`mask` less what other objects' annotations hold on the frame now: an undo restores the
    object's mask from before its click, but not pixels another object took since."""
    return None if mask is None else mask & ~_held(obj_masks, frame_idx, mask.shape, obj_id)


def edit_order(records: Iterable[ClickUndo]) -> Iterator[ClickUndo]:
    """Each record and, inside a paint's record, the click records it keeps for its undo
    (`_undo_paint` puts them back, so they may give pixels back later too), in the order the
    edits were made (a painting's replaced clicks came before it)."""
    for record in records:
        if record.history:
            yield from edit_order(record.history)
        yield record


def limit_returns(click_history: dict[tuple[int, int], list[ClickUndo]], frame_idx: int,
                  obj_id: int, annotation: np.ndarray | None, after: int = -1) -> None:
    """`obj_id`'s annotation on the frame was set to `annotation` (an undo, a clear, an
    import; a paint passes what its eraser left): other objects' undo records made after edit
    `after` may give it back only pixels of that annotation. Before, undoing the click that
    had taken pixels from an object whose own clicks were undone since brought it back as an
    annotation without clicks. An undo passes its edit's `seq`: a record older than the undone
    edit took what the restored annotation lacks, and must still give it back."""
    for (frame, other), records in click_history.items():
        if frame != frame_idx or other == obj_id:
            continue
        for record in edit_order(records):
            lost = record.taken.get(obj_id)
            if lost is None or record.seq <= after:
                continue
            if annotation is None or not (kept := lost & annotation).any():
                del record.taken[obj_id]
            else:
                record.taken[obj_id] = kept


def give_back(obj_masks: dict[tuple[int, int], np.ndarray], frame_idx: int,
              taken: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Undo of `take`: each object gets back the pixels it lost that no object holds now (an
    object whose annotation on the frame is gone since, all its pixels taken, gets it back).
    Returns, per object, the pixels it lost that it holds now (given back, or taken back by
    an edit of its own since)."""
    if not taken:
        return {}
    held = _held(obj_masks, frame_idx, next(iter(taken.values())).shape)
    holds = {}
    for obj_id, lost in taken.items():
        back = lost & ~held  # [H, W]
        current = obj_masks.get((frame_idx, obj_id))
        if back.any():
            current = back if current is None else current | back
            obj_masks[(frame_idx, obj_id)] = current
        if current is not None and (lost & current).any():
            holds[obj_id] = lost & current
    return holds


def carry_back(histories: Iterable[list[ClickUndo]], back: np.ndarray, since: int) -> None:
    """The undo of another object's edit `since` gave an object back `back` (bool [H, W]):
    its own records made after that edit restore those pixels too, as if they had never been
    taken. Undoing the other's click, then its own later click, left a hole there."""
    for records in histories:
        for record in edit_order(records):
            if record.seq > since:
                record.before = back if record.before is None else record.before | back
