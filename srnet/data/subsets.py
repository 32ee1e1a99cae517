"""Fixed, nested shares of a training set, for learning curves over the amount of data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def training_share(items: Sequence[T], fraction: float, seed: int) -> list[T]:
    """A fixed share of `items` in their original order: a seeded draw, the same for every run,
    and each smaller share is contained in every larger one (so a curve over the share adds data
    instead of swapping it)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"train_fraction must lie in (0, 1], got {fraction}")
    order = np.random.default_rng(seed).permutation(len(items))
    keep = sorted(order[:max(1, round(fraction * len(items)))])
    return [items[i] for i in keep]
