"""Keyspace commands the router runs itself because they walk every shard (SCAN).

SCAN's cursor is a hash slot. A shard keeps one database's keys ordered by slot, so
the router asks the shard owning the cursor's slot for whole slots from there up to
the end of that shard's run of slots (``__scan``); the shard answers with the keys
and the slot to resume at. A key present for the whole iteration is returned at
least once, and never twice unless the slot table changes. Cursors past the last
slot (16383) end the iteration: cursor 0 and no keys.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from shardis import wire
from shardis.commands import LOCAL, CommandTable
from shardis.resp import encode_error
from shardis.router.replies import WAITING, Merger, Slot
from shardis.scanargs import ScanArgs, run_ends
from shardis.slots import NSLOTS

if TYPE_CHECKING:
    from shardis.router.app import Client, Router


class ScanChain(Merger):
    """One SCAN call: asks the shards in slot order, one at a time, until ``count`` keys
    were visited or the last slot is passed, then fills the client's slot (as Redis
    answers a small keyspace in one call)."""

    __slots__ = ("router", "db", "args", "keys", "budget", "ends")

    def __init__(self, parent: Slot, router: Router, db: int, a: ScanArgs, ends: list[int]) -> None:
        super().__init__(parent, None, 1)
        self.router: Router = router
        self.db = db
        self.args = [a.pattern] if a.type is None else [a.pattern, a.type]
        self.keys: list[bytes] = []
        self.budget = a.count
        self.ends = ends

    def send(self, slot: int) -> None:
        """Ask the shard owning ``slot`` for its slots from there to the end of its run."""
        router = self.router
        part = self.parts[0]
        part[0] = WAITING
        router.submit_raw(router.slot_to_shard[slot], router.by_name[b"__scan"], self.db,
                          [b"__scan", b"%d" % slot, b"%d" % self.ends[slot],
                           b"%d" % self.budget, *self.args], part)

    def flush(self) -> None:
        self.dirty = False
        v = self.parts[0][0]
        if v is WAITING:
            return
        err = wire.raw_error(v)
        if err is not None:
            reply = encode_error(err.args[0])
        else:
            next_slot, visited, keys = v
            self.keys.extend(keys)
            self.budget -= visited
            if next_slot < NSLOTS and self.budget > 0:
                self.send(next_slot)
                return
            cursor = b"0" if next_slot >= NSLOTS else b"%d" % next_slot
            reply = self.parent[1].encode([cursor, self.keys])
        self.deliver(reply)


# id(router) -> run_ends(router.slot_to_shard): computed on first use, per router (the slot
# table is fixed while a router runs).
RUN_ENDS: dict[int, list[int]] = {}


def _pick_random(values: list) -> bytes | None:
    """RANDOMKEY: any shard's key; each part is [key] or [] for a shard without keys."""
    live = [v[0] for v in values if v]
    return random.choice(live) if live else None


# ---------------------------------------------------------------- the handlers


def scan(conn: Client, args: list[bytes]) -> list | Slot:
    a = ScanArgs(args)
    if a.cursor >= NSLOTS:
        return [b"0", []]
    router = conn.router
    run_end = RUN_ENDS.get(id(router))
    if run_end is None:
        run_end = RUN_ENDS[id(router)] = run_ends(router.slot_to_shard)
    parent = Slot((None, conn))
    ScanChain(parent, router, conn.db, a, run_end).send(a.cursor)
    return parent


def randomkey(conn: Client, args: list[bytes]) -> Slot:
    # Not route=ALL + SPLIT_RANDOM: a Merger takes a nil part for one not yet arrived.
    router = conn.router
    return router.fanout(conn, router.by_name[b"__randomkey"], conn.db, [b"__randomkey"],
                         _pick_random)


# ---------------------------------------------------------------- the command table


def register(table: CommandTable) -> None:
    cmd = table.command
    cmd("scan", -2, "readonly", route=LOCAL, group="generic", since="2.8.0",
        summary="Incrementally iterate the keys space",
        complexity="O(1) for every call. O(N) for a complete iteration, including enough "
                   "command calls for the cursor to return back to 0. N is the number of "
                   "elements inside the collection.",
        acl="@keyspace @read @slow")(scan)
    cmd("randomkey", 1, "readonly", route=LOCAL, group="generic",
        summary="Return a random key from the keyspace", complexity="O(1)",
        acl="@keyspace @read @slow")(randomkey)
