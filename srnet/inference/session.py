"""InferenceSession: all per-video state, as plain data (no UI objects; the one module it may
hold is a derived cache, the network rebuilt from its online-adapted weights).

One session per video (per browser tab in the demo); creating one costs nothing. Between calls
a session can be kept in a compact host form (`to_host`: numpy fp16 memory, no derived caches,
no tensor at all, so it pickles cheaply and holds no device memory) and brought back with
`to_device` inside the next call; this is how the demo runs on ZeroGPU, where a GPU exists only
inside a forked call and everything crossing it is pickled.
"""

from __future__ import annotations

import dataclasses
import logging
import numbers
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from srnet.config import InferenceConfig
from srnet.inference.memory_bank import Memo, MemoryBank, MemoryEntry
from srnet.inference.objects import ObjectRegistry
from srnet.inference.preprocess import (
    absent_ids,
    needed_upscale,
    small_object_upscale,
    validate_annotation,
    validate_frame,
)
from srnet.model import MemoryInputs

log = logging.getLogger(__name__)


@dataclass
class InferenceSession:
    """Per-video state: objects, memory, the user's annotations and the recent frames."""

    memory: MemoryBank
    config: InferenceConfig = field(default_factory=InferenceConfig)  # this video's knobs
    objects: ObjectRegistry = field(default_factory=ObjectRegistry)
    annotations: dict[int, np.ndarray] = field(default_factory=dict)  # frame → [H, W] ids
    absent: dict[int, frozenset[int]] = field(default_factory=dict)  # frame → ids marked absent
    # frame → a new id whenever its annotation changes (which version a result was made from;
    # an object removed from every frame keeps it: the results lose the object too)
    revisions: dict[int, str] = field(default_factory=dict)
    recent: deque[MemoryEntry] = field(default_factory=deque)  # local-memory candidates
    frames_since_memory: int = 0  # processed frames since the last global-memory insert
    pass_id: int = 0  # the latest propagation pass; an older pass's generator stops
    # (bank version, object ids) → the prepared global memory of those objects
    memory_cache: dict[tuple[int, tuple[int, ...]], MemoryInputs] = field(default_factory=dict)
    frame_size: tuple[int, int] | None = None  # (H, W); every frame of a video must match
    memory_dtype: str | None = None  # torch dtype of the memory before `to_host` compacted it
    upscale: float = 1.0  # internal-size factor for small objects, fixed with the first memory
    # With `config.mirror_average`: the same video mirrored left-right, kept in step by the
    # Predictor (same objects, frames and memory policy; it stores the averaged masks, mirrored)
    mirror: InferenceSession | None = None
    # [D] online adaptation (`srnet.adapt_session`): this video's fine-tuned weights, the
    # parameters outside the frozen trunk by name (tensors; numpy fp32 in the host form, shared
    # with the mirror twin); None = the predictor's shared network as it is
    adapted: dict[str, Tensor | np.ndarray] | None = None
    # derived from `adapted` by the Predictor (the shared network with those weights), dropped
    # by `to_host` like the memory cache
    network: torch.nn.Module | None = None

    def with_mirror(self) -> list[InferenceSession]:
        """This session and its mirror twin, if any: what every memory operation applies to."""
        return [self] if self.mirror is None else [self, self.mirror]

    def to_host(self, memo: Memo | None = None) -> InferenceSession:
        """A compact copy: memory as numpy fp16 on the host, the prepared-memory cache dropped
        (rebuilt from the entries on the next read). An entry shared by the bank and `recent`
        stays shared. This session is left as it was. `memo` (one per pass, reused every
        frame) then keeps only what this session still holds: it pins each tensor it converted,
        and a pass compacting after every frame pinned every frame's memory on the GPU."""
        memo = {} if memo is None else memo
        host = self._to_host(memo)
        live = self._held_ids()
        for key in [key for key in memo if key not in live]:
            del memo[key]
        return host

    def _held_ids(self) -> set[int]:
        """ids of the tensors (and the adapted-weights dict) this session and its twin hold."""
        held: set[int] = set()
        for twin in self.with_mirror():
            for entry in (*twin.memory.entries, *twin.recent):
                held.update((id(entry.key), *(id(v) for v in entry.values.values())))
            held.add(id(twin.adapted))
        return held

    def _to_host(self, memo: Memo) -> InferenceSession:
        entries: dict[int, MemoryEntry] = {}
        dtype = self.memory_dtype
        for entry in (*self.memory.entries, *self.recent):
            if id(entry) not in entries:
                dtype = dtype if entry.on_host else str(entry.key.dtype).removeprefix("torch.")
                entries[id(entry)] = entry.to_host(memo)
        mirror = None if self.mirror is None else self.mirror._to_host(memo)
        # fp32: fp16 would round away the tuned changes
        adapted = self._moved_weights(memo, lambda v: v if isinstance(v, np.ndarray) else
                                      v.detach().float().cpu().numpy())
        return self._rebuilt(entries, memory_dtype=dtype, mirror=mirror, adapted=adapted)

    def to_device(self, device: torch.device | str, memo: Memo | None = None
                  ) -> InferenceSession:
        """The session with its memory as tensors on `device` (in the dtype it had before
        `to_host`); a session already there is returned as is, not copied."""
        if not self.on_host:
            return self
        memo = {} if memo is None else memo
        dtype = getattr(torch, self.memory_dtype or "float32")
        entries = {id(e): e.to_device(torch.device(device), dtype)
                   for e in (*self.memory.entries, *self.recent)}
        mirror = None if self.mirror is None else self.mirror.to_device(device, memo)
        adapted = self._moved_weights(memo, lambda v: torch.as_tensor(v).to(device))
        return self._rebuilt(entries, memory_dtype=None, mirror=mirror, adapted=adapted)

    def _moved_weights(self, memo: Memo, move: Callable[[Tensor | np.ndarray], Any]
                       ) -> dict[str, Tensor | np.ndarray] | None:
        """The adapted weights with `move` applied to each, converted once per `memo`: the
        mirror twin holds the same dict, so both get the same moved copy."""
        if self.adapted is None:
            return None
        if id(self.adapted) not in memo:
            memo[id(self.adapted)] = (self.adapted, {name: move(value)
                                                     for name, value in self.adapted.items()})
        return memo[id(self.adapted)][1]

    @property
    def on_host(self) -> bool:
        """True when some memory (or the adapted weights) is in the compact host form."""
        return any(e.on_host for e in (*self.memory.entries, *self.recent)) or any(
            isinstance(v, np.ndarray) for v in (self.adapted or {}).values())

    def _rebuilt(self, entries: dict[int, MemoryEntry], memory_dtype: str | None,
                 mirror: InferenceSession | None,
                 adapted: dict[str, Tensor | np.ndarray] | None) -> InferenceSession:
        """This session with every memory entry replaced by `entries[id(entry)]`, `mirror` as
        its twin and `adapted` as its weights (the derived network is dropped and rebuilt on
        the next step)."""
        memory = dataclasses.replace(self.memory,
                                     entries=[entries[id(e)] for e in self.memory.entries])
        recent = deque((entries[id(e)] for e in self.recent), maxlen=self.recent.maxlen)
        return dataclasses.replace(self, memory=memory, recent=recent, memory_cache={},
                                   objects=dataclasses.replace(self.objects,
                                                               obj_ids=list(self.obj_ids)),
                                   annotations=dict(self.annotations),
                                   absent=dict(self.absent), revisions=dict(self.revisions),
                                   memory_dtype=memory_dtype, mirror=mirror,
                                   adapted=adapted, network=None)

    @property
    def obj_ids(self) -> list[int]:
        return list(self.objects.obj_ids)

    def fit_small_objects(self, masks: Sequence[np.ndarray]) -> float:
        """Size this session (and its mirror twin) for the smallest object of all `masks`
        before its first memory (see `Predictor.fit_small_objects`); returns the factor."""
        if self.has_memory:
            raise ValueError("the session's size is fixed by its memory: start a new session")
        for twin in self.with_mirror():
            twin.upscale = needed_upscale(self.config, masks)
        return self.upscale

    def accept_frame(self, frame_idx: int, image: np.ndarray, mask: np.ndarray | None,
                     absent: Iterable[int] = ()) -> None:
        """Check a frame (uint8 [H, W, 3], the video's size) and its annotation (if any: user
        ids [H, W], objects marked `absent`), then record the annotation (`annotate`). Raises
        ValueError and changes nothing on bad input: a refused first frame fixes no size."""
        if not isinstance(frame_idx, numbers.Integral) or isinstance(frame_idx, bool) \
                or frame_idx < 0:
            raise ValueError(f"frame_idx must be a frame number ≥ 0, got {frame_idx!r}")
        size = validate_frame(image)
        if self.frame_size not in (None, size):
            raise ValueError(f"frame {frame_idx} is {size}, but this video is {self.frame_size}")
        absent = absent_ids(absent, mask)
        if mask is not None:
            mask = validate_annotation(mask, size, allow_empty=bool(absent))
            both = absent & set(np.unique(mask).tolist())
            if both:
                raise ValueError(f"objects {sorted(both)} are both in the mask and marked absent")
        elif frame_idx not in self.annotations and not self.has_memory:
            raise ValueError("no object to follow yet: annotate a frame with a mask first")
        self.frame_size = size
        if mask is not None:
            self.annotate(frame_idx, mask, absent)

    def annotate(self, frame_idx: int, mask: np.ndarray, absent: frozenset[int]) -> None:
        """Record a checked annotation (uint8 [H, W] ids, the objects marked `absent` on the
        frame): it replaces the frame's earlier one, working memory a pass predicted from that
        one is forgotten, and before the first memory a small object sizes the video."""
        if not self.holds_annotation(frame_idx, mask, absent):  # new or changed
            self.memory.drop_followers(frame_idx)
            self.revisions[frame_idx] = uuid.uuid4().hex  # unique across forked workers too
        self.objects.add(sorted({int(v) for v in np.unique(mask) if v} | absent))
        self.annotations[frame_idx] = mask
        self.absent.pop(frame_idx, None)
        if absent:
            self.absent[frame_idx] = absent
        cfg = self.config
        if cfg.min_object_cells and not self.has_memory:  # one key size per memory
            self.upscale = max(self.upscale, small_object_upscale(  # keeps an earlier fit
                mask, cfg.short_side, cfg.min_object_cells, cfg.max_upscale))
            if self.upscale > 1:
                log.info("a small object: this video runs at %.2fx", self.upscale)

    def holds_annotation(self, frame_idx: int, mask: np.ndarray,
                         absent: frozenset[int]) -> bool:
        """The frame's annotation here is `mask` with `absent` (nothing new to memorise)."""
        known = self.annotations.get(frame_idx)
        return known is not None and np.array_equal(known, mask) \
            and self.absent.get(frame_idx, frozenset()) == absent

    def covers(self, frame_idx: int, mask: np.ndarray) -> bool:
        """True when `mask` (the frame's annotation) settles every object: each is in it or
        marked absent on the frame, so the frame needs no memory read."""
        settled = set(np.unique(mask).tolist()) | self.absent.get(frame_idx, frozenset())
        return set(self.obj_ids) <= settled

    @property
    def has_memory(self) -> bool:
        return bool(self.memory.entries)

    def check_no_memory(self, action: str) -> None:
        """ValueError when the session has memory: it was encoded by the network the session
        runs now, and another network (adapted weights) cannot read it."""
        if self.has_memory:
            raise ValueError(f"{action} before the session's first frame: its memory was encoded "
                             "by another network; start a new session")

    # Memory operations (the Predictor's public methods call these): each applies to the mirror
    # twin too, so the two memories always hold the same frames.
    def start_pass(self, start: int, reverse: bool) -> int:
        """Before a pass from `start`: drop the working-memory frames ahead of it (a stale
        pass's, about to be predicted again) and the local memory, so a correction on the
        start frame wins. Returns the new pass's id. (A start frame without an annotation is
        then segmented without local memory, F_L = 0: README, deviations.)"""
        for twin in self.with_mirror():
            twin.memory.drop_working((lambda idx: idx < start) if reverse else
                                     (lambda idx: idx > start))
            twin.recent.clear()
            twin.frames_since_memory = 0
        self.pass_id += 1
        return self.pass_id

    def remove_object(self, obj_id: int) -> None:
        for twin in self.with_mirror():
            twin.objects.remove(obj_id)
            twin.memory.remove_object(obj_id)
            for entry in twin.recent:
                entry.values.pop(obj_id, None)
            twin.absent = {f: ids - {obj_id} for f, ids in twin.absent.items()
                           if ids - {obj_id}}
            for frame_idx, ann in list(twin.annotations.items()):
                ann = np.where(ann == obj_id, 0, ann).astype(np.uint8)
                if ann.any() or frame_idx in twin.absent:
                    twin.annotations[frame_idx] = ann
                else:
                    del twin.annotations[frame_idx]
                    twin.revisions.pop(frame_idx, None)

    def reset_memory(self, keep_permanent: bool = True) -> None:
        for twin in self.with_mirror():
            twin.memory.clear(keep_permanent)
            twin.recent.clear()
            if not keep_permanent:  # as a new session: objects and their size go too
                twin.annotations.clear()
                twin.absent.clear()
                twin.revisions.clear()
                twin.objects = ObjectRegistry()
                twin.upscale = 1.0

    def pin_frame(self, frame_idx: int) -> bool:
        """Make a remembered frame permanent memory (False when it is not in memory)."""
        return all([twin.memory.pin(frame_idx) for twin in self.with_mirror()])

    def memory_timeline(self) -> dict[str, list[int]]:
        """Which frames are in memory now, by kind (for the demo's timeline)."""
        return {
            "permanent": [e.frame_idx for e in self.memory.entries if e.permanent],
            "working": [e.frame_idx for e in self.memory.entries if not e.permanent],
            "local": [e.frame_idx for e in self.recent][:1],
        }
