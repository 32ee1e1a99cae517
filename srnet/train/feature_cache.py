"""Precomputed trunk features: the frozen ImageNet trunk of the lite config runs once per frame.

Layout: `<cache_dir>/<backbone>-v<CACHE_VERSION>-<weights hash>/<scale>/<dataset>/<seq>.pt`, one
file per sequence and scale, holding fp16 f16/f8/f4 `[T, C, H/s, W/s]` and the uint8 index masks
`[T, H, W]` at the cached image size, for the T annotated frames. Building is resumable: existing
files are skipped, new files are written atomically. Files are read back memory-mapped, so a sample
touches only the pages it crops.

Geometry [D]: a frame is resized (antialiased bilinear) so its short side equals `scale`, then
centre-cropped to multiples of 16 (at most 15 px lost per side), so every feature cell maps to real
pixels; masks are resized with nearest neighbour. This module must not know about augmentation.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from srnet.checkpoint import damaged_member, save_atomic

log = logging.getLogger(__name__)

# Part of every cache folder's name: bump it whenever what a file holds changes for the same
# weights (the geometry in `_prepare`, mask decoding, the stored levels), so that old files are
# never read as new ones. v2: session 10 (v1 was the unnamed layout of sessions 2-9).
CACHE_VERSION = 2


class FrameSource(Protocol):
    """What the cache needs from a dataset reader (srnet.data.VOSDataset satisfies it)."""

    frame_step: int

    def frames(self, seq: str) -> list[Path]: ...
    def annotated_indices(self, seq: str) -> list[int]: ...
    def load_frame(self, seq: str, idx: int) -> np.ndarray: ...
    def load_mask(self, seq: str, idx: int) -> np.ndarray: ...


class Trunk(Protocol):
    def forward_features(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor]: ...


@dataclass(frozen=True)
class SeqRef:
    """One training sequence: the dataset it comes from (name = its root folder's name)."""

    dataset_name: str
    seq: str
    source: FrameSource

    @property
    def key(self) -> str:
        return f"{self.dataset_name}/{self.seq}"


def trunk_fingerprint(trunk: torch.nn.Module, name: str) -> str:
    """`<backbone>-v<CACHE_VERSION>-<8 hex of a hash of the weights>`: a cache is never reused
    with other weights or after a change to what it stores."""
    digest = hashlib.sha1()
    for key, value in sorted(trunk.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return f"{name}-v{CACHE_VERSION}-{digest.hexdigest()[:8]}"


def cached_geometry(orig_size: tuple[int, int], scale: int) -> tuple[tuple[int, int],
                                                                      tuple[int, int]]:
    """(resized size, cropped size): short side → `scale`, then centre crop to multiples of 16."""
    height, width = orig_size
    factor = scale / min(height, width)
    resized = (max(16, round(height * factor)), max(16, round(width * factor)))
    return resized, (resized[0] // 16 * 16, resized[1] // 16 * 16)


def _prepare(image: np.ndarray, mask: np.ndarray, scale: int) -> tuple[Tensor, Tensor]:
    """Shapes: image uint8 [H, W, 3], mask [H, W] → image [3, H', W'] in [0, 1], mask [H', W']."""
    resized, cropped = cached_geometry(image.shape[:2], scale)
    img = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255.0
    img = F.interpolate(img, size=resized, mode="bilinear", align_corners=False,
                        antialias=True)  # [1, 3, H', W']
    msk = torch.from_numpy(mask.astype(np.uint8))[None, None]  # [1, 1, H, W]
    msk = F.interpolate(msk, size=resized, mode="nearest-exact")  # [1, 1, H', W']
    top, left = (resized[0] - cropped[0]) // 2, (resized[1] - cropped[1]) // 2
    img = img[0, :, top:top + cropped[0], left:left + cropped[1]]  # [3, H'', W'']
    msk = msk[0, 0, top:top + cropped[0], left:left + cropped[1]]  # [H'', W'']
    return img, msk


def cache_file(cache_dir: Path, fingerprint: str, scale: int, ref: SeqRef) -> Path:
    return Path(cache_dir) / fingerprint / str(scale) / ref.dataset_name / f"{ref.seq}.pt"


@torch.inference_mode()
def encode_sequence(trunk: Trunk, source: FrameSource, seq: str, scale: int,
                    device: torch.device, batch_size: int = 8) -> dict[str, Any]:
    """Trunk features of every annotated frame of one sequence at one scale (fp16, on the CPU)."""
    indices = source.annotated_indices(seq)
    feats: list[list[Tensor]] = [[], [], []]
    masks = []
    for start in range(0, len(indices), batch_size):
        pairs = [_prepare(source.load_frame(seq, i), source.load_mask(seq, i), scale)
                 for i in indices[start:start + batch_size]]
        images = torch.stack([p[0] for p in pairs]).to(device)  # [b, 3, H'', W'']
        images = images.contiguous(memory_format=torch.channels_last)
        masks += [p[1] for p in pairs]
        for level, out in zip(feats, trunk.forward_features(images)):
            level.append(out.half().cpu().contiguous())
    f16, f8, f4 = (torch.cat(level) for level in feats)  # each [T, C, H''/s, W''/s]
    return {"f16": f16, "f8": f8, "f4": f4, "masks": torch.stack(masks),  # masks [T, H'', W'']
            "scale": scale, "indices": list(indices),
            "frame_step": int(getattr(source, "frame_step", 1))}


def build_feature_cache(trunk: torch.nn.Module, refs: Sequence[SeqRef], cache_dir: Path,
                        scales: Sequence[int], fingerprint: str,
                        device: torch.device | None = None, check: bool = True
                        ) -> dict[tuple[str, int], Path]:
    """Encode every (sequence, scale) that has no file yet; returns {(ref.key, scale): path}.

    Resumable: finished files are skipped and a file appears only once complete (tmp + rename).
    `check`: read each existing file's checksums and frame list first (`stale_reason`) and
    rebuild it when it cannot serve; off where the caller only collects the paths.
    """
    device = device or next(trunk.parameters()).device
    paths, todo = {}, []
    for scale in scales:
        for ref in refs:
            path = cache_file(cache_dir, fingerprint, scale, ref)
            paths[(ref.key, scale)] = path
            stale = stale_reason(path, ref) if check and path.is_file() else None
            if stale:
                log.warning("rebuilding %s: %s", path, stale)
            if stale or not path.is_file():
                todo.append((ref, scale, path))
    log.info("feature cache %s: %d of %d files to build", Path(cache_dir) / fingerprint,
             len(todo), len(paths))
    if todo:  # a private channels_last copy: ~1.6x faster on CPUs; the model stays as it is
        trunk = copy.deepcopy(trunk).eval().to(device, memory_format=torch.channels_last)
    for num, (ref, scale, path) in enumerate(todo, 1):
        start = time.perf_counter()
        payload = encode_sequence(trunk, ref.source, ref.seq, scale, device)
        save_atomic(payload, path)  # a private temporary: two builders never share one
        log.info("cached %s @%d: %d frames, %.1f MB, %.1f s (%d/%d)", ref.key, scale,
                 payload["f16"].shape[0], path.stat().st_size / 2**20,
                 time.perf_counter() - start, num, len(todo))
    return paths


def stale_reason(path: Path, ref: SeqRef) -> str | None:
    """Why a cache file cannot serve `ref` (None when it can): a part failing its checksum, an
    unreadable file, or other frames than the data has now (a dataset of the same folder name,
    or frames added or removed). A damaged file was used with wrong features, a truncated one
    failed in the prefetch thread without its name. Pixels changed in place, with the same
    frames, are not seen: clear the cache folder after editing a dataset."""
    damaged = damaged_member(path)
    if damaged:
        return f"its part {damaged} fails its checksum"
    try:
        data = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    except Exception as exc:  # torch raises many types for truncated files
        return f"unreadable ({type(exc).__name__}: {exc})"
    cached, now = list(data.get("indices", [])), list(ref.source.annotated_indices(ref.seq))
    if cached != now:
        return f"it holds {len(cached)} frames of another frame list ({len(now)} frames now)"
    step = int(getattr(ref.source, "frame_step", 1))
    if int(data.get("frame_step", 1)) != step:
        return f"it was cached at frame step {data.get('frame_step', 1)}, the data has {step}"
    return None


class CachedSequence:
    """Lazily memory-mapped features and masks of one sequence at one scale."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._data: dict[str, Any] | None = None

    @property
    def scale(self) -> int:
        """The cached short side (the file lives in `.../<scale>/<dataset>/<seq>.pt`)."""
        return int(self.path.parent.parent.name)

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = torch.load(self.path, map_location="cpu", mmap=True, weights_only=True)
        return self._data

    def __len__(self) -> int:
        return int(self.data["masks"].shape[0])

    @property
    def frame_step(self) -> int:
        """Original video frames per stored frame (5 for YouTube-VOS train)."""
        return int(self.data.get("frame_step", 1))

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the cached image, multiples of 16."""
        return tuple(self.data["masks"].shape[-2:])

    def crop(self, frames: Sequence[int], top: int, left: int, cells: tuple[int, int]
             ) -> tuple[tuple[Tensor, Tensor, Tensor], Tensor]:
        """Aligned crop of whole f16 cells; `top`, `left` in f16 cells, `cells` = (h, w) in cells.

        Returns float32 (f16, f8, f4) each [T, C, s·h, s·w] with s = 1/2/4 relative to f16, and
        the uint8 index masks [T, 16h, 16w].
        """
        idx = torch.as_tensor(list(frames), dtype=torch.int64)
        feats = []
        for name, mult in (("f16", 1), ("f8", 2), ("f4", 4)):
            # window first (a view of the memory map), then the frames: only the window is read
            window = self.data[name][..., mult * top:mult * (top + cells[0]),
                                     mult * left:mult * (left + cells[1])]  # [N, C, s·h, s·w]
            feats.append(window[idx].float())  # [T, C, mult·h, mult·w]
        masks = self.data["masks"][..., 16 * top:16 * (top + cells[0]),
                                   16 * left:16 * (left + cells[1])][idx]  # [T, 16h, 16w]
        return (feats[0], feats[1], feats[2]), masks


def cache_size_bytes(paths: Sequence[Path]) -> int:
    return sum(Path(p).stat().st_size for p in paths if Path(p).is_file())
