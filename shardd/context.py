"""What a shard's commands may use beyond its data: the shard's settings and services.

The daemon makes one ``ShardContext`` from the configuration and gives it to its
``Store``; a command reaches it as ``ks.ctx``. A store opened elsewhere (the
coordinator's scratch store, resharding, tests) gets the defaults: Redis' 16
databases, no keyspace events, no blocked clients to forget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(slots=True)
class ShardContext:
    databases: int = 16          # SELECT's, MOVE's and SWAPDB's range (``databases``)
    notify_flags: int = 0        # notify-keyspace-events as flags (shardis/notify.py); 0: off
    # The hub's version of the shared settings last applied (Store.apply_settings): an older
    # CONFIG SET that arrives late is ignored.
    settings_version: int = -1
    # Forget the blocked client with this waiter id, answering it when a reason is given
    # (``__unblock``: TIMEOUT or ERROR, CLIENT UNBLOCK's); None: none can block here.
    unblock: Callable[[int, bytes | None], object] | None = None
    # The shard's scripting (shardd/scripting.py's ScriptHost); None: scripts do not run here.
    scripts: Any = None
    busy_ms: int = 5000  # busy-reply-threshold: a script running longer gets others BUSY
    # maxmemory, eviction and the keys' access data (shardd/eviction.py's Evictor); None:
    # a store opened elsewhere (the scratch store, resharding, tests) tracks nothing.
    evictor: Any = None
    active_expire: bool = True  # the expiry sweep runs (DEBUG SET-ACTIVE-EXPIRE: shardd/debug.py)
    # The store's version when the last snapshot began (shardd/snapshot.py): the writes
    # since are INFO's rdb_changes_since_last_save (0: none yet, counted from the start).
    saved_version: int = 0
    # Snapshot threads writing from their read transactions: (thread, stop event); the
    # daemon stops and joins them before it closes the store (shardd/snapshot.py).
    snapshots: list[Any] = field(default_factory=list)
