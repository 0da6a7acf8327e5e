"""SLOWLOG's entries, as Redis 7.0 keeps them (src/slowlog.c): the arguments cut, the
log bounded by ``slowlog-max-len``.

Every router keeps a log of its own: the router commands it ran, the coordinator
rounds it waited for, and the shards' commands that a shard reported slow to it (a
shard sends a ``SlowCalls`` message, only when a command of a router's batch took at
least ``slowlog-log-slower-than``, just before that batch's replies; the router,
which still holds the batch's slots, adds the client's address and name). SLOWLOG
GET merges every router's log (through the hub), newest first; ids count per router,
router i's from i * 10**9 + 1 (as CLIENT ID's), so that each stays unique server-wide.
"""

from __future__ import annotations

import collections
from typing import Any

MAX_ARGC = 32     # SLOWLOG_ENTRY_MAX_ARGC
MAX_STRING = 128  # SLOWLOG_ENTRY_MAX_STRING
ID_SPAN = 1_000_000_000


def threshold_ns(usec: int) -> int:
    """slowlog-log-slower-than (microseconds; negative: off) as a bound in nanoseconds
    that a command's time is compared with (off: one nothing reaches)."""
    return usec * 1000 if usec >= 0 else 1 << 62


def cut_args(args: list[bytes]) -> list[bytes]:
    """The arguments as an entry shows them: at most 32, the last of them standing for
    the rest when there are more; each cut at 128 bytes."""
    n = min(len(args), MAX_ARGC)
    out = []
    for j in range(n):
        if j == n - 1 and n != len(args):
            out.append(b"... (%d more arguments)" % (len(args) - n + 1))
            break
        a = args[j]
        if len(a) > MAX_STRING:
            a = a[:MAX_STRING] + b"... (%d more bytes)" % (len(a) - MAX_STRING)
        out.append(a)
    return out


class SlowLog:
    """One router's entries, newest first: [id, unix time, microseconds, args, client
    address, client name, unix time as a float] (the last to merge routers' logs by,
    cut off in the reply)."""

    def __init__(self, index: int, max_len: int) -> None:
        self.entries: collections.deque[list] = collections.deque()
        self.next_id = index * ID_SPAN
        self.max_len = max_len

    def add(self, when: float, usec: int, args: list[bytes], addr: str, name: bytes) -> None:
        self.entries.appendleft([self.next_id, int(when), usec, args, addr.encode(), name, when])
        self.next_id += 1
        self.trim()

    def resize(self, max_len: int) -> None:
        self.max_len = max_len
        self.trim()

    def trim(self) -> None:
        while len(self.entries) > self.max_len:
            self.entries.pop()

    def reset(self) -> None:
        self.entries.clear()


def merged(parts: list[Any], count: int, max_len: int) -> list[list]:
    """Every router's entries (lists of entries), newest first, at most ``count`` (-1:
    all) and at most slowlog-max-len, as SLOWLOG GET shows them."""
    entries = [e for part in parts if isinstance(part, list) for e in part]
    entries.sort(key=lambda e: e[6], reverse=True)
    n = max_len if count < 0 else min(count, max_len)
    return [e[:6] for e in entries[:n]]
