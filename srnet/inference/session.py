"""InferenceSession: all per-video state, as plain data (no model, no UI objects).

One session per video (per browser tab in the demo); creating one costs nothing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from srnet.config import InferenceConfig
from srnet.inference.memory_bank import MemoryBank, MemoryEntry
from srnet.inference.objects import ObjectRegistry
from srnet.model import MemoryInputs


@dataclass
class InferenceSession:
    """Per-video state: objects, memory, the user's annotations and the recent frames."""

    memory: MemoryBank
    config: InferenceConfig = field(default_factory=InferenceConfig)  # this video's knobs
    objects: ObjectRegistry = field(default_factory=ObjectRegistry)
    annotations: dict[int, np.ndarray] = field(default_factory=dict)  # frame → [H, W] ids
    recent: deque[MemoryEntry] = field(default_factory=deque)  # local-memory candidates
    frames_since_memory: int = 0  # processed frames since the last global-memory insert
    # (bank version, object ids) → the prepared global memory of those objects
    memory_cache: dict[tuple[int, tuple[int, ...]], MemoryInputs] = field(default_factory=dict)
    frame_size: tuple[int, int] | None = None  # (H, W); every frame of a video must match

    @property
    def obj_ids(self) -> list[int]:
        return list(self.objects.obj_ids)

    @property
    def has_memory(self) -> bool:
        return bool(self.memory.entries)

    def memory_timeline(self) -> dict[str, list[int]]:
        """Which frames are in memory now, by kind (for the demo's timeline)."""
        return {
            "permanent": [e.frame_idx for e in self.memory.entries if e.permanent],
            "working": [e.frame_idx for e in self.memory.entries if not e.permanent],
            "local": [e.frame_idx for e in self.recent][:1],
        }
