"""Room for one more clip: a load is refused with a message while the server is short of
memory, instead of being the allocation that gets the whole server killed.

Each tab holds its clip's frames, masks, internals and memory until it closes or its state
expires (about 200 MB for a 90-frame clip at 480 px, 400 MB after an ablation), and nothing
else limits how many tabs hold them at once: on a 16 GB host about 40 busy tabs ran it out of
memory (a review's estimate, session 34). Refusing the 41st load keeps the other 40 users'
work. Free memory is the kernel's `MemAvailable`, or what the container's cgroup still
allows where that is less (a container's /proc/meminfo shows the host's memory).
"""

from __future__ import annotations

from pathlib import Path

BYTES_PER_PIXEL = 8  # RGB frames (3) + masks, internals and memory kept per frame (measured ~2.5x)
CGROUP_FILES = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # v2
                ("/sys/fs/cgroup/memory/memory.limit_in_bytes",  # v1
                 "/sys/fs/cgroup/memory/memory.usage_in_bytes"))


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def available_bytes(meminfo: str = "/proc/meminfo",
                    cgroups: tuple[tuple[str, str], ...] = CGROUP_FILES) -> int | None:
    """Memory this process may still take, or None where the system does not say."""
    free = None
    try:
        for line in Path(meminfo).read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        free = None
    for limit_file, usage_file in cgroups:
        limit, usage = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and usage is not None and limit < 2**60:  # 2^63-ish: no limit
            room = max(limit - usage, 0)
            free = room if free is None else min(free, room)
    return free


def clip_bytes(max_frames: int, short_side: int) -> int:
    """What a clip at the caps may take: frames at the working size (16:9) and what is kept
    per frame with them."""
    return max_frames * short_side * (short_side * 16 // 9) * BYTES_PER_PIXEL


def room_problem(max_frames: int, short_side: int, reserve_bytes: int,
                 free: int | None = None) -> str | None:
    """Why a clip cannot be loaded now (None when it can, or when free memory is unknown)."""
    free = available_bytes() if free is None else free
    need = clip_bytes(max_frames, short_side)
    if free is None or free >= need + reserve_bytes:
        return None
    return (f"the server is short of memory right now ({free // 2**20} MB free; a clip of up "
            f"to {max_frames} frames at {short_side} px needs about {need // 2**20} MB and "
            f"{reserve_bytes // 2**20} MB are kept in reserve): try again in a few minutes "
            "(other users' clips are released when they close their tabs), or pick a smaller "
            "working size")
