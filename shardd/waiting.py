"""The shard daemon's blocked clients: parking a blocking command that found nothing,
serving the waiters of keys a write filled (right after that write, in its batch),
timeouts, and the keys held for the coordinator's stand-ins (``reserved``).

The commands and the ``Waiters`` registry are shardd/blocking.py's; this module is the
daemon's side of them, working on its batch state (``Shard.woken``, ``injected``,
``wjournal``, ``cur_ident``, ``cur_msg``).
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import TYPE_CHECKING, Callable

import lmdb

from shardis import errors, wire
from shardis.messages import Batch, Wakeups
from shardis.resp import ReplyError, encode, encode3, encode_error
from shardis.shardd.blocking import BLOCK, DEFERRED, Waiter, Waiters
from shardis.shardd.disk.keys import STREAM
from shardis.shardd.storage import Keyspace

if TYPE_CHECKING:
    from shardis.shardd.daemon import Shard

log = logging.getLogger("shardd")

COORD_IDENT = b"coord"  # the coordinator's ZeroMQ identity (routers' are generated)
# How long a key stays held for a blocked client of the coordinator's (see ``reserved``)
# when the coordinator does not say it is done with it.
RESERVE_S = 2.0
# How long a router seen running is taken to be (see Blocked.router_alive).
ALIVE_CHECK_S = 0.01


def encode_for(cid: int, v) -> object:
    """A reply value as the command id's flags ask: RAW value, RESP3 or RESP2 bytes."""
    if cid & wire.RAW:
        return wire.to_raw(v)
    if isinstance(v, ReplyError):
        return encode_error(v.args[0])
    return encode3(v) if cid & wire.RESP3 else encode(v)


def wakeups(woken: list) -> list[list[bytes]]:
    """One unsolicited message per router: [0, [[waiter id, reply], ...]]."""
    by_router: dict[bytes, list] = {}
    for ident, wid, reply in woken:
        by_router.setdefault(ident, []).append((wid, reply))
    return [[ident, Wakeups(items).encode()] for ident, items in by_router.items()]


class Blocked:
    """The clients blocked on one shard, and the keys held for the coordinator."""

    def __init__(self, shard: Shard) -> None:
        self.shard = shard
        self.waiters = Waiters(shard.store.waiting)
        table = shard.table
        self.ready_id = table.by_name[b"__ready"].id
        self.unreserve_id = table.by_name[b"__unreserve"].id
        # Keys whose first waiter was the coordinator's stand-in: served, it holds the key
        # (no later waiter takes what was pushed) until the coordinator has run the
        # blocked command (``__unreserve``) or RESERVE_S passed. wid -> (db, key, deadline)
        self.reserved: dict[int, tuple[int, bytes, float]] = {}
        self.alive_checked: dict[bytes, float] = {}  # router identity -> when seen running

    def resp2(self, cid: int, handler: Callable) -> Callable:
        """A blocking command's RESP2 entry: its reply, or the client parked."""
        def run(ks, db, args):
            v = handler(ks, db, args)
            if v is BLOCK:
                return self.park(ks, cid, db, args)
            return encode(v)
        return run

    def park(self, ks: Keyspace, cid: int, db: int, args: list) -> object:
        """Register the client of a blocking command that found nothing; the deferred reply."""
        shard = self.shard
        wait, ks.block = ks.block, None
        assert wait is not None
        if shard.in_multi:  # inside a transaction nothing waits: the timeout's answer now
            return encode_for(cid, wait.on_timeout)
        w = self.waiters.add(shard.cur_ident, cid, db, args, wait.keys, wait.deadline,
                             wait.on_timeout, wait.want, wait.narrow)
        shard.wjournal.append((True, w))
        return DEFERRED + w.wid.to_bytes(8, "big")

    def serve(self, ks: Keyspace, done: int) -> None:
        """Serve the waiters of the keys a command left non-empty, oldest first; each one
        served is run again right here (and logged at this place for a replay)."""
        shard = self.shard
        handlers = shard.tables[0]
        MASK = wire.CMD_MASK
        reserved = self.reserved
        while ks.ready:
            db, key = ks.ready.pop(0)
            if reserved and any(r[0] == db and r[1] == key for r in reserved.values()):
                continue  # held for a blocked client of the coordinator's
            for w in self.waiters.first(db, key):
                raw = ks.lookup(db, key)
                if raw is None:
                    if w.want == STREAM:
                        pass  # deleted: a blocked XREADGROUP answers so (shardd/streams.py)
                    else:
                        break  # emptied by the waiters before
                elif raw[0] != w.want:
                    # Blocked for another type (a transaction's ZADD k; DEL k; SET k, a
                    # SWAPDB): it waits on, as in Redis; the next may want this one.
                    continue
                if w.ident != shard.cur_ident and not self.router_alive(w.ident):
                    # Its router died with the client: nobody would get what it takes.
                    self.waiters.remove(w.wid)
                    continue
                args = w.serving(key)  # (from this key only, as Redis serves it)
                try:
                    v = handlers[w.cid & MASK](ks, w.db, args)
                except ReplyError as e:
                    v = e
                    shard.store.errors[errors.code_of(e.args[0])] += 1
                except lmdb.MapFullError:
                    raise
                except Exception as e:  # a bug: this waiter gets an error, the batch goes on
                    log.error("shard %d: serving %s failed: %s", shard.index, args[:1],
                              traceback.format_exc())
                    v = ReplyError(f"ERR internal error in '{shard.names[w.cid & MASK]}': {e}")
                if v is BLOCK:  # an earlier waiter took what there was
                    ks.block = None
                    if w.want == STREAM:
                        continue  # (a stream's entries stay: the waiters behind may read them)
                    break
                self.waiters.remove(w.wid)
                shard.wjournal.append((False, w))
                shard.injected.append((shard.cur_msg, done, w.cid, w.db, args))
                shard.woken.append((w.ident, w.wid, encode_for(w.cid, v)))
                if w.cid & MASK == self.ready_id:
                    # A client blocked over several shards came first: the key is its
                    # until the coordinator has run its command (arrival order).
                    self.reserved[w.wid] = (db, key, time.monotonic() + RESERVE_S)
                    break

    def undo(self) -> None:
        """A transaction aborted (map full; it is run again): forget its parks, put its
        served waiters back at the head of their queues."""
        shard = self.shard
        w: Waiter
        for parked, w in reversed(shard.wjournal):
            if parked:
                self.waiters.remove(w.wid)
            else:
                self.waiters.restore(w)
        shard.wjournal = []
        shard.woken = []
        shard.injected = []

    def expire(self) -> None:
        """Answer the waiters whose timeout has passed (nil, as Redis)."""
        shard = self.shard
        gone = self.waiters.expired(time.time_ns() // 1_000_000)
        if gone:
            frames = wakeups([(w.ident, w.wid, encode_for(w.cid, w.on_timeout)) for w in gone])
            if shard.writer is not None and shard.held:
                # behind the held replies (a deferred reply among them may be this waiter's)
                shard.held.append((shard.seq, frames, []))
                return
            for f in frames:
                shard.sock.send_multipart(f)

    def readywait(self, ks: Keyspace, db: int, args: list) -> int:
        """``__readywait``: the coordinator's stand-in for a client blocked on keys over
        several shards: a waiter on this shard's keys (args: the type they must hold, the
        keys) that, served, only says so, naming the key (``__ready``)."""
        w = self.waiters.add(COORD_IDENT, self.ready_id | wire.RAW, db, [b"__ready"], args[2:], 0,
                             None, int(args[1]), lambda key: [b"__ready", key])
        self.shard.wjournal.append((True, w))
        return w.wid

    def router_alive(self, ident: bytes) -> bool:
        """``wire.router_alive``, asked at most every ALIVE_CHECK_S per router (serving a
        waiter is on the path of every push to a key with blocked clients)."""
        now = time.monotonic()
        checked = self.alive_checked.get(ident)
        if checked is not None and now - checked < ALIVE_CHECK_S:
            return True
        if not wire.router_alive(ident):
            self.alive_checked.pop(ident, None)
            return False
        self.alive_checked[ident] = now
        return True

    def unreserve(self, ks: Keyspace, db: int, args: list) -> None:
        """``__unreserve``: the stand-ins named have had their turn: the waiters behind
        them on their keys may take what is left (served when this batch or transaction
        ends)."""
        for a in args[1:]:
            entry = self.reserved.pop(int(a), None)
            if entry is not None and ks.lookup(entry[0], entry[1]) is not None:
                ks.ready.append((entry[0], entry[1]))
        return None

    def release_reserved(self) -> None:
        """Keys held for the coordinator longer than RESERVE_S (it restarted, or lost the
        command): free them, as a batch of this shard's own."""
        now = time.monotonic()
        late = [b"%d" % wid for wid, (_, _, deadline) in self.reserved.items() if deadline <= now]
        if late:
            cmd = (self.unreserve_id, 0, [b"__unreserve"] + late)
            self.shard.run_batch([[b"", Batch(0, [cmd]).encode()]])

    def forget_reservations(self) -> None:
        """A new coordinator knows nothing of the blocked commands of the last one: the
        keys held for it are freed at the next chance."""
        self.reserved = {wid: (db, key, 0.0) for wid, (db, key, _) in self.reserved.items()}

    def unblock(self, wid: int, reason: bytes | None = None) -> None:
        """``__unblock``: the client went away (no ``reason``), or CLIENT UNBLOCK frees it
        (TIMEOUT: it gets its timeout's reply; ERROR: the UNBLOCKED error), answered with
        the batch like a waiter served (and, like one, put back if the batch aborts)."""
        w = self.waiters.remove(wid)
        if w is None or reason is None:
            return
        shard = self.shard
        shard.wjournal.append((False, w))
        reply = ReplyError(errors.UNBLOCKED_BY_CLIENT) if reason.upper() == b"ERROR" else w.on_timeout
        shard.woken.append((w.ident, w.wid, encode_for(w.cid, reply)))
