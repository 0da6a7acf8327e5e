"""``shards = "auto"`` and ``routers = "auto"``: the layout that fits the machine.

Every request crosses a router and a shard, and CPU per command grows with the
number of processes (more shards split each router's batch finer, more routers
split each shard's; bench/RESULTS.md "layouts"). Measured on 2 cores beside
redis-server (``python bench/layout.py``), one shard and one router serve best:
each added process costs more than the core share it brings. So the rule gives
about half the cores to shards and a quarter to routers, which keeps the number
of processes on the request path under the number of cores (the coordinator,
the supervisor, the kernel's network work and, in a benchmark, the load
generator need the rest):

    cores      1   2   3   4   8   16
    shards     1   1   1   2   4    8
    routers    1   1   1   1   2    4

Cores are those this process may run on (``os.sched_getaffinity``: a container's
or ``taskset``'s limit, not the host's). A data directory keeps the shard count
its data was written with: ``auto`` never reshards because the machine changed;
only an explicit number does.
"""

from __future__ import annotations

import os

AUTO = "auto"


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def auto_shards(cores: int) -> int:
    return max(1, cores // 2)


def auto_routers(cores: int) -> int:
    return max(1, cores // 4)
