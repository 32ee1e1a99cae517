"""MemoryBank: which frames are remembered (permanent vs working) and how memory is assembled.

It stores and selects tensors only; it never runs network layers. Values are kept per object id,
so objects can be added on any frame or removed without re-encoding old frames: an object reads
only the memory frames that contain it (objects with the same frames share one affinity).
"""

from __future__ import annotations

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

        return MemoryEntry(self.frame_idx, host(self.key),
                           {obj_id: host(v) for obj_id, v in self.values.items()}, self.permanent)

    def to_device(self, device: torch.device, dtype: torch.dtype) -> MemoryEntry:
        """The compact entry as `dtype` tensors on `device` (a tensor entry is returned as is)."""
        if not self.on_host:
            return self

        def tensor(array: np.ndarray) -> Tensor:
            return torch.from_numpy(array).to(device=device, dtype=dtype)

        return MemoryEntry(self.frame_idx, tensor(self.key),
                           {obj_id: tensor(v) for obj_id, v in self.values.items()},
                           self.permanent)


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
        if old is not None:
            entry.permanent = entry.permanent or old.permanent
            self.entries.remove(old)
        self.entries.append(entry)
        self._evict()
        self.version += 1

    def _evict(self) -> None:
        permanent = [e for e in self.entries if e.permanent]
        while len(permanent) > self.max_permanent:  # keep the first annotation, the video's anchor
            self.entries.remove(permanent.pop(1 if len(permanent) > 1 else 0))
        working = [e for e in self.entries if not e.permanent]
        while len(working) > self.max_working:  # FIFO: the oldest working frame goes first
            self.entries.remove(working.pop(0))

    def find(self, frame_idx: int) -> MemoryEntry | None:
        return next((e for e in self.entries if e.frame_idx == frame_idx), None)

    def pin(self, frame_idx: int) -> bool:
        """Make a remembered frame permanent; False if that frame is not in memory."""
        entry = self.find(frame_idx)
        if entry is None:
            return False
        entry.permanent = True
        self._evict()
        self.version += 1
        return True

    def drop_working(self, stale: Callable[[int], bool]) -> None:
        """Forget working (non-permanent) frames whose index `stale` selects, e.g. the frames a
        previous pass predicted beyond a correction."""
        self.entries = [e for e in self.entries if e.permanent or not stale(e.frame_idx)]
        self.version += 1

    def remove_object(self, obj_id: int) -> None:
        for entry in self.entries:
            entry.values.pop(obj_id, None)
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
