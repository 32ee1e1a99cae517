"""One-batch-ahead prefetching in a background thread that keeps resume exact.

The producer records the data source's state right after drawing each batch, so `state_dict()`
returns the state *after the last batch handed out*, not after the one being prepared: restoring it
replays exactly the batches the interrupted run never trained on.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from srnet.train.batch import TrainBatch


class Prefetcher:
    """Wraps a data source (`sample_batch(batch_size, progress)`, `state_dict()`); batch k of the
    run is drawn with progress k / steps, exactly as without prefetching."""

    def __init__(self, source: Any, batch_size: int, steps: int, start_step: int) -> None:
        self.source, self.batch_size, self.steps = source, batch_size, steps
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="prefetch")
        self.next_step = start_step
        self.handed_state: dict = source.state_dict()
        self.pending: Future | None = None
        self._submit()

    def _submit(self) -> None:
        if self.next_step < self.steps:
            self.pending = self.pool.submit(self._produce, self.next_step)
        else:
            self.pending = None

    def _produce(self, step: int) -> tuple[TrainBatch, dict]:
        batch = self.source.sample_batch(self.batch_size, step / self.steps)
        return batch, self.source.state_dict()

    def next_batch(self) -> TrainBatch:
        """The batch of the next step; starts drawing the one after it."""
        if self.pending is None:
            raise StopIteration("no steps left")
        batch, self.handed_state = self.pending.result()
        self.next_step += 1
        self._submit()
        return batch

    def state_dict(self) -> dict:
        return self.handed_state

    def close(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
        self.pool.shutdown(wait=True)
