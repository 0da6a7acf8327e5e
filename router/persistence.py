"""LASTSAVE, SAVE and BGSAVE, answered by the router.

SAVE and BGSAVE mean "fsync every shard": they run ``__sync`` on every shard twice,
the second round only after the first has answered, so that everything sent before
SAVE has been committed when the fsync runs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

from shardis import errors
from shardis.commands import LOCAL, CommandTable
from shardis.resp import ReplyError, Simple
from shardis.router.later import Then, all_ok, answer_later
from shardis.router.replies import Slot

if TYPE_CHECKING:
    from shardis.router.app import Client, Router


def fsync_all(router: Router, then: Callable[[bytes], None]) -> None:
    """Fsync every shard once all that was sent before has committed; then ``then(reply)``."""
    spec = router.table.by_name[b"__sync"]

    def round_(after: Callable[[bytes], None]) -> None:
        owner = Then(after)
        owner.slot = router.fanout(owner, spec, 0, [b"__sync"], all_ok)

    def second(reply: bytes) -> None:
        if reply.startswith(b"-"):
            then(reply)
        else:
            round_(then)

    round_(second)


def saved(router: Router) -> None:
    """A save went through: LASTSAVE and INFO's rdb_saves say so."""
    router.lastsave = int(time.time())
    router.stats["rdb_saves"] += 1


# ---------------------------------------------------------------- the handlers


def lastsave(conn: Client, args: list[bytes]) -> int:
    return conn.router.lastsave


def save(conn: Client, args: list[bytes]) -> Slot:
    router = conn.router
    slot, fill = answer_later(conn)

    def done(reply: bytes) -> None:
        if not reply.startswith(b"-"):
            saved(router)
        fill(reply)

    fsync_all(router, done)
    return slot


def bgsave(conn: Client, args: list[bytes]) -> Simple:
    if len(args) > 2 or (len(args) == 2 and args[1].lower() != b"schedule"):
        raise ReplyError(errors.SYNTAX)
    router = conn.router

    def done(reply: bytes) -> None:
        if not reply.startswith(b"-"):
            saved(router)

    fsync_all(router, done)
    return Simple("Background saving started")


def register(table: CommandTable) -> None:
    cmd = table.command
    whole = "O(N) where N is the total number of keys in all databases"
    cmd("lastsave", 1, "loading stale fast", route=LOCAL, group="server", since="1.0.0",
        summary="Get the UNIX time stamp of the last successful save to disk",
        complexity="O(1)", acl="@admin @fast @dangerous")(lastsave)
    cmd("save", 1, "admin noscript no_async_loading no_multi", route=LOCAL, group="server",
        since="1.0.0", summary="Synchronously save the dataset to disk", complexity=whole,
        acl="@admin @slow @dangerous")(save)
    cmd("bgsave", -1, "admin noscript no_async_loading", route=LOCAL, group="server",
        since="1.0.0", summary="Asynchronously save the dataset to disk", complexity=whole,
        acl="@admin @slow @dangerous")(bgsave)
