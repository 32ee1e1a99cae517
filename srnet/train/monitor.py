"""Run monitoring for the training loop: rank 0's `log.jsonl` writer and tqdm bar, and the
SIGINT/SIGTERM handler that turns a stop request into "finish this step, save last.pt, exit"."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[dict[str, bool]]:
    """SIGINT/SIGTERM set a flag, so the loop stops after the current step and saves last.pt;
    a second SIGINT interrupts at once."""
    flag = {"stop": False}

    def handler(signum: int, _frame: Any) -> None:
        if flag["stop"] and signum == signal.SIGINT:
            raise KeyboardInterrupt
        flag["stop"] = True
        log.warning("signal %d: stopping after this step (last.pt will be saved)", signum)

    old = {}
    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handler)
    try:
        yield flag
    finally:
        for sig, prev in old.items():
            signal.signal(sig, prev)


class RunLogger:
    """Rank 0's log.jsonl writer and tqdm bar."""

    def __init__(self, out_dir: Path, enabled: bool, progress: bool, start: int, total: int
                 ) -> None:
        self.enabled, self.path, self.bar = enabled, out_dir / "log.jsonl", None
        if enabled and progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=start, desc="train", dynamic_ncols=True)

    def write(self, record: dict[str, Any]) -> None:
        if self.enabled:
            with self.path.open("a") as fh:
                fh.write(json.dumps(record) + "\n")

    def tick(self, postfix: dict[str, float] | None = None) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if postfix:
                self.bar.set_postfix({k: f"{v:.4g}" for k, v in postfix.items()}, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
