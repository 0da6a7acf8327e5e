"""What the shardis processes use, read from /proc: for INFO's memory and cpu sections.

The figures are summed over every shardis process: the supervisor and its children
(shards, coordinator, routers), or this router alone when it runs on its own. No
commands here: INFO (``router/info.py``) reads them.
"""

from __future__ import annotations

import os


def shardis_pids() -> list[int]:
    """This router and, when its parent is the shardis supervisor, every process it runs."""
    me, parent = os.getpid(), os.getppid()
    try:
        with open(f"/proc/{parent}/cmdline", "rb") as f:
            if b"shardis" not in f.read():
                return [me]
        with open(f"/proc/{parent}/task/{parent}/children") as f:
            children = [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        return [me]
    return [parent] + children


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of the given processes, summed (/proc/<pid>/statm)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        statm = _read(f"/proc/{pid}/statm")
        if statm:
            total += int(statm.split()[1]) * page
    return total


def cpu_seconds(pids: list[int]) -> tuple[float, float]:
    """(system, user) CPU seconds of the given processes, summed (/proc/<pid>/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    sys_t = user_t = 0
    for pid in pids:
        stat = _read(f"/proc/{pid}/stat")
        if stat:
            fields = stat[stat.rfind(")") + 2:].split()
            user_t += int(fields[11])
            sys_t += int(fields[12])
    return sys_t / tick, user_t / tick


def total_memory() -> int:
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def bytes_to_human(n: int) -> str:
    """Redis' bytesToHuman: 1023B, 1.00K, 2.50M ..."""
    if n < 1024:
        return f"{n}B"
    for i, unit in enumerate("KMGTP", 1):
        if n < 1024 ** (i + 1):
            return "%.2f%s" % (n / 1024**i, unit)
    return f"{n}B"
