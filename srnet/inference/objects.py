"""ObjectRegistry: user object ids (never change) ↔ tensor positions (change on removal)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ObjectRegistry:
    """Ordered list of the user's object ids; position i is tensor slot i (channel i+1 of prob)."""

    obj_ids: list[int] = field(default_factory=list)

    def add(self, obj_ids: list[int]) -> list[int]:
        """Register ids not seen before; returns the new ones."""
        new = [obj_id for obj_id in obj_ids if obj_id not in self.obj_ids]
        for obj_id in new:
            if not 0 < obj_id < 256:
                raise ValueError(f"object ids must lie in 1..255, got {obj_id}")
        self.obj_ids.extend(new)
        return new

    def remove(self, obj_id: int) -> None:
        if obj_id not in self.obj_ids:
            raise KeyError(f"unknown object id {obj_id}; known: {self.obj_ids}")
        self.obj_ids.remove(obj_id)

    def index(self, obj_id: int) -> int:
        return self.obj_ids.index(obj_id)

    def __len__(self) -> int:
        return len(self.obj_ids)
