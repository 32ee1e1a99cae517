"""MemoryBank: which frames are remembered (permanent vs working) and how memory is assembled.

It stores and selects tensors only; it never runs network layers. Values are kept per object id,
so objects can be added on any frame or removed without re-encoding old frames: an object reads
only the memory frames that contain it (objects with the same frames share one affinity).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

HOST_DTYPE = np.float16  # memory between calls (ZeroGPU): half the bytes, ~1e-3 relative error
# id(x) → (x, its host copy): memory tensors, and a session's adapted-weight dict
Memo = dict[int, tuple[Any, Any]]


@dataclass
class MemoryEntry:
    """One remembered frame."""

    frame_idx: int
    key: Tensor  # [C_k, h, w] (numpy fp16 in the compact form, see to_host)
    values: dict[int, Tensor]  # obj_id → [C_v, h, w]
    permanent: bool = False  # user-annotated or pinned: never evicted by the working cap
    # (start, reverse) of the propagation pass that predicted this frame; None = a single step.
    # A new annotation on a frame that pass went through before this one makes it stale.
    origin: tuple[int, bool] | None = None
    # uint8 [H''/4, W''/4] object ids of the mask this entry encoded (padded internal grid,
    # every 4th pixel), set when it joins global memory: what the memory view outlines, which
    # after a re-annotation differs from the frame's current annotation
    held: np.ndarray | None = None

    def follows(self, frame_idx: int) -> bool:
        """True when this entry's pass reached `frame_idx` before this entry's frame, so its
        mask was derived (through local memory) from the mask `frame_idx` had then."""
        if self.origin is None:
            return False
        start, reverse = self.origin
        return (self.frame_idx < frame_idx <= start) if reverse else \
            (start <= frame_idx < self.frame_idx)

    @property
    def on_host(self) -> bool:
        """Compact form: key and values are numpy fp16 arrays (see `to_host`)."""
        return isinstance(self.key, np.ndarray)

    def to_host(self, memo: Memo | None = None) -> MemoryEntry:
        """A copy holding numpy fp16 arrays: picklable, no device memory. `memo` reuses the
        copies of tensors already converted (entries never change their tensors), so
        compacting a growing memory once per frame converts only the new entries."""
        memo = {} if memo is None else memo

        def host(tensor: Tensor | np.ndarray) -> np.ndarray:
            if isinstance(tensor, np.ndarray):
                return tensor
            if id(tensor) not in memo:  # the tensor is kept in memo, so its id stays unique
                array = tensor.detach().to("cpu", torch.float16).numpy()
                memo[id(tensor)] = (tensor, array)
            return memo[id(tensor)][1]

        return dataclasses.replace(self, key=host(self.key),
                                   values={obj_id: host(v) for obj_id, v in self.values.items()})

    def to_device(self, device: torch.device, dtype: torch.dtype) -> MemoryEntry:
        """The compact entry as `dtype` tensors on `device` (a tensor entry is returned as is)."""
        if not self.on_host:
            return self

        def tensor(array: np.ndarray) -> Tensor:
            return torch.from_numpy(array).to(device=device, dtype=dtype)

        return dataclasses.replace(self, key=tensor(self.key),
                                   values={obj_id: tensor(v) for obj_id, v in self.values.items()})


@dataclass
class MemoryBank:
    """Global memory = permanent entries + a FIFO of at most `max_working` working entries."""

    max_working: int = 10
    max_permanent: int = 20
    entries: list[MemoryEntry] = field(default_factory=list)
    version: int = 0  # bumped on every change, to invalidate cached prototypes

    def add(self, entry: MemoryEntry) -> None:
        """Insert (or replace the entry of the same frame), then enforce both caps."""
        old = self.find(entry.frame_idx)
        if old is not None and old.permanent:  # in place: an anchor re-annotated stays first
            entry.permanent = True
            self.entries[self.entries.index(old)] = entry
        else:
            if old is not None:
                self.entries.remove(old)
            self.entries.append(entry)
        self._evict()
        self.version += 1

    def _evict(self) -> None:
        permanent = [e for e in self.entries if e.permanent]
        while len(permanent) > self.max_permanent:
            # keep the first annotation (the video's anchor) and the newest (the correction the
            # user just made); with a cap of 1 only the newest
            self.entries.remove(permanent.pop(1 if len(permanent) > 2 else 0))
        working = [e for e in self.entries if not e.permanent]
        while len(working) > self.max_working:  # FIFO: the oldest working frame goes first
            self.entries.remove(working.pop(0))

    def find(self, frame_idx: int) -> MemoryEntry | None:
        return next((e for e in self.entries if e.frame_idx == frame_idx), None)

    def pin(self, frame_idx: int) -> bool:
        """Make a remembered frame permanent; False if that frame is not in memory. A working
        frame pinned becomes the newest permanent entry, which the cap keeps: left in its old
        place, an annotation made after it put it second, the first to go (session 42)."""
        entry = self.find(frame_idx)
        if entry is None:
            return False
        if not entry.permanent:
            entry.permanent = True
            self.entries.remove(entry)
            self.entries.append(entry)
        self._evict()
        self.version += 1
        return True

    def drop_working(self, stale: Callable[[int], bool]) -> None:
        """Forget working (non-permanent) frames whose index `stale` selects, e.g. the frames a
        previous pass predicted beyond a correction."""
        self.drop_working_entries(lambda e: stale(e.frame_idx))

    def drop_followers(self, frame_idx: int) -> None:
        """Forget working frames predicted after their pass went through `frame_idx`: they
        carry the mask that frame had before the user re-annotated it."""
        self.drop_working_entries(lambda e: e.follows(frame_idx))

    def drop_working_entries(self, stale: Callable[[MemoryEntry], bool]) -> None:
        kept = [e for e in self.entries if e.permanent or not stale(e)]
        if len(kept) != len(self.entries):
            self.entries = kept
            self.version += 1

    def remove_object(self, obj_id: int) -> None:
        for entry in self.entries:
            entry.values.pop(obj_id, None)
            if entry.held is not None:
                entry.held = np.where(entry.held == obj_id, 0, entry.held).astype(np.uint8)
        self.entries = [e for e in self.entries if e.values]
        self.version += 1

    def clear(self, keep_permanent: bool) -> None:
        self.entries = [e for e in self.entries if keep_permanent and e.permanent]
        self.version += 1

    @property
    def frame_indices(self) -> list[int]:
        return [e.frame_idx for e in self.entries]

    @property
    def working_count(self) -> int:
        return sum(not e.permanent for e in self.entries)

    def groups(self, obj_ids: list[int]) -> list[tuple[list[int], list[MemoryEntry]]]:
        """Partition objects by the set of entries that contain them (usually one group)."""
        grouped: dict[tuple[int, ...], list[int]] = {}
        for obj_id in obj_ids:
            positions = tuple(i for i, e in enumerate(self.entries) if obj_id in e.values)
            grouped.setdefault(positions, []).append(obj_id)
        return [(ids, [self.entries[i] for i in pos]) for pos, ids in grouped.items() if pos]

    @staticmethod
    def stack(entries: list[MemoryEntry], obj_ids: list[int]) -> tuple[Tensor, Tensor]:
        """Shapes: → global key [1, C_k, T*h*w], global value [1, K, C_v, T*h*w]."""
        keys = torch.stack([e.key for e in entries], dim=1).flatten(1)  # [C_k, T*h*w]
        values = torch.stack([torch.stack([e.values[o] for o in obj_ids]) for e in entries],
                             dim=2)  # [K, C_v, T, h, w]
        return keys[None], values.flatten(2)[None]  # [1, C_k, N], [1, K, C_v, N]
