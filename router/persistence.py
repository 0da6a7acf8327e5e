"""LASTSAVE, SAVE and BGSAVE, answered by the router; the save behind SHUTDOWN SAVE.

A save is the coordinator's (shardis/coord/saver.py: one consistent RDB file at
``dir``/``dbfilename``, taken in one round over every shard). The router first runs a
barrier over every shard (``__rdbchanges``, answered once everything this router sent
before is committed), so a client's writes before SAVE are in the file; then asks the
coordinator to start (``__bgsave START``: the save's id, or "Background save already in
progress"). BGSAVE answers then; SAVE (and SHUTDOWN) ask for the save's status every
POLL_S until it is done.

LASTSAVE and INFO persistence read the state the coordinator keeps in
``dir/coordinator/rdb-state.json`` (the one copy for every router).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

from shardis import errors
from shardis.commands import LOCAL, CommandTable
from shardis.savestate import read_state
from shardis.resp import ReplyError, Simple, encode_error
from shardis.router.later import Then, answer_later, answer_timed
from shardis.router.replies import Slot

if TYPE_CHECKING:
    from shardis.router.app import Client, Router

POLL_S = 0.02
E_IN_PROGRESS = "ERR Background save already in progress"
STARTED = b"+Background saving started\r\n"
SCHEDULED = b"+Background saving scheduled\r\n"

# What a save came to: None when it succeeded, else the error reply (bytes).
Done = Callable[[bytes | None], None]


def _int(reply: bytes) -> int | None:
    return int(reply[1:-2]) if reply[:1] == b":" else None


def start_save(router: Router, started: Callable[[bytes, int], None]) -> None:
    """Barrier, then ``__bgsave START``; ``started(reply, id)``: the reply is an error
    (id -1) or STARTED."""
    spec = router.table.by_name[b"__rdbchanges"]
    cid = router.table.by_name[b"__bgsave"].id

    def on_start(reply: Any) -> None:
        reply = bytes(reply)
        sid = _int(reply)
        started(reply if sid is None else STARTED, -1 if sid is None else sid)

    def after_barrier(reply: bytes) -> None:
        if reply.startswith(b"-"):
            started(reply, -1)
        else:
            router.coord_call(cid, 0, [b"__bgsave", b"START"], on_start)

    owner = Then(after_barrier)
    owner.slot = router.fanout(owner, spec, 0, [b"__rdbchanges"], lambda parts: 0)


def wait_save(router: Router, sid: int, done: Done) -> None:
    """Ask the coordinator about save ``sid`` until it is over; then ``done``."""
    cid = router.table.by_name[b"__bgsave"].id
    loop = router.loop
    assert loop is not None, "runs on the loop"

    def ask() -> None:
        router.coord_call(cid, 0, [b"__bgsave", b"STATUS", b"%d" % sid], on_status)

    def on_status(reply: Any) -> None:
        reply = bytes(reply)
        if reply.startswith(b"-"):
            done(reply)
        elif reply.startswith(b"*2\r\n:1\r\n"):
            done(None if reply.endswith(b":1\r\n") else encode_error("ERR"))
        else:
            loop.call_later(POLL_S, ask)

    ask()


def save_now(router: Router, done: Done, retry: bool = False) -> None:
    """A whole save; ``retry``: while another runs, wait for it and start one after
    (SHUTDOWN's, which must hold every write before it)."""
    def started(reply: bytes, sid: int) -> None:
        if sid >= 0:
            wait_save(router, sid, done)
        elif retry and E_IN_PROGRESS.encode() in reply:
            loop = router.loop
            assert loop is not None, "runs on the loop"
            loop.call_later(POLL_S * 5, lambda: save_now(router, done, retry))
        else:
            done(reply)

    start_save(router, started)


def state(router: Router) -> dict[str, Any]:
    """The coordinator's save state (its start-up defaults until it has written one)."""
    st = read_state(router.cfg)
    if st is None:
        return {"lastsave": router.lastsave, "status": "ok", "last_time_sec": -1, "saves": 0,
                "started": 0}
    return st


# ---------------------------------------------------------------- the handlers


def lastsave(conn: Client, args: list[bytes]) -> int:
    return int(state(conn.router)["lastsave"])


def save(conn: Client, args: list[bytes]) -> Slot:
    slot, fill = answer_timed(conn, args)  # (its time is the whole save's, as Redis')

    def done(error: bytes | None) -> None:
        fill(error if error is not None else b"+OK\r\n")

    save_now(conn.router, done)
    return slot


def bgsave(conn: Client, args: list[bytes]) -> Slot:
    # BGSAVE SCHEDULE: with no other kind of child process here, it is BGSAVE.
    if len(args) > 2 or (len(args) == 2 and args[1].lower() != b"schedule"):
        raise ReplyError(errors.SYNTAX)
    slot, fill = answer_later(conn)
    # Inside EXEC (the command the client sent was EXEC) Redis schedules it for after the
    # transaction: "Background saving scheduled". Here it starts at once all the same.
    in_exec = conn.last_cmd != "bgsave"
    start_save(conn.router, lambda reply, sid: fill(SCHEDULED if in_exec and sid >= 0 else reply))
    return slot


def persistence_fields(router: Router, changes: int) -> list[tuple[str, object]]:
    """INFO persistence's rdb_* fields (router/info.py)."""
    st = state(router)
    started = float(st["started"])
    return [("rdb_changes_since_last_save", changes),
            ("rdb_bgsave_in_progress", int(bool(started))),
            ("rdb_last_save_time", int(st["lastsave"])),
            ("rdb_last_bgsave_status", st["status"]),
            ("rdb_last_bgsave_time_sec", int(st["last_time_sec"])),
            ("rdb_current_bgsave_time_sec", int(time.time() - started) if started else -1),
            ("rdb_saves", int(st["saves"]))]


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
