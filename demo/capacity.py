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

from demo.frame_files import ClipError


class CapacityError(ClipError):
    """No room for a clip now: the input is fine, the server is full ("try again")."""


BYTES_PER_PIXEL = 8  # RGB frames (3) + masks, internals and memory kept per frame (measured ~2.5x)
# (limit, usage, statistics, the statistic of page cache the kernel frees when it must)
CGROUP_V2 = ("memory.max", "memory.current", "memory.stat", "inactive_file")
CGROUP_V1 = ("memory.limit_in_bytes", "memory.usage_in_bytes", "memory.stat",
             "total_inactive_file")


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def _stat(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key and value.strip().isdigit():
                return int(value)
    except OSError:
        pass
    return 0


def _cgroup_folders(proc_cgroup: Path, root: Path) -> list[tuple[Path, tuple[str, ...]]]:
    """Where this process's memory cgroup keeps its files (v2 and v1): its own path below the
    mount first, then the mount's root (a container sees its own cgroup there)."""
    folders = []
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        _, controllers, rel = line.split(":", 2) if line.count(":") >= 2 else ("", "", "")
        rel = rel.lstrip("/")
        if controllers == "":
            folders += [(root / rel, CGROUP_V2), (root, CGROUP_V2)]
        elif "memory" in controllers.split(","):
            folders += [(root / "memory" / rel, CGROUP_V1), (root / "memory", CGROUP_V1)]
    return folders or [(root, CGROUP_V2), (root / "memory", CGROUP_V1)]


def _cgroup_room(proc_cgroup: Path, root: Path) -> int | None:
    """What the memory cgroup still allows: its limit less its usage, not counting the page
    cache it would drop (usage counts every file written or read: uploads and exports filled
    it up to the limit and refused every load)."""
    for folder, (limit_name, usage_name, stat_name, cache_key) in _cgroup_folders(proc_cgroup,
                                                                                   root):
        limit, usage = _read_int(folder / limit_name), _read_int(folder / usage_name)
        if limit is None or usage is None:
            continue
        if limit >= 2**60:  # cgroup v1's "no limit" (2^63 rounded to pages)
            return None
        return max(limit - (usage - _stat(folder / stat_name, cache_key)), 0)
    return None


def available_bytes(meminfo: Path = Path("/proc/meminfo"),
                    proc_cgroup: Path = Path("/proc/self/cgroup"),
                    cgroup_root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Memory this process may still take, or None where the system does not say."""
    free = None
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        free = None
    room = _cgroup_room(proc_cgroup, cgroup_root)
    if room is not None:
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
            "(other users' clips are released when they close their tabs, or once idle for a "
            "while), or pick a smaller working size")
