"""Blocking commands on one shard: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP,
BZPOPMIN, BZPOPMAX, BZMPOP (their keys all on this shard; across shards is the
coordinator's work).

How a client waits, end to end:

1. The router sends the command like any other, and holds the client's next
   commands back (Redis does not read a blocked client's pipeline either).
2. The shard runs it. With data, it answers at once. Without, the handler
   returns ``BLOCK`` after setting ``ks.block``; the daemon registers a
   ``Waiter`` here and answers the batch with a *deferred* reply, ``b"\\0"`` + the
   waiter id (8 bytes): no RESP reply starts with a NUL byte.
3. A later write that leaves a waited-on list or sorted set non-empty marks the
   key ready (``Keyspace.save_coll``); right after that command the daemon runs
   the waiters of the ready keys again, first come first served, inside the same
   transaction, as Redis serves blocked clients right after the command that
   pushed. Each one served is answered with an unsolicited message to its router
   (batch id 0: ``[0, [[waiter_id, reply], ...]]``), which leaves with the batch,
   so under ``durability = "always"`` it waits for the batch's fsync like any
   reply.
4. A timeout answers nil (the daemon's poll wakes up for the nearest deadline);
   a client that disconnects is forgotten (the router sends ``__unblock``); one that
   CLIENT UNBLOCK frees is answered as by its timeout, or with the UNBLOCKED error
   (``__unblock`` with TIMEOUT or ERROR).

Crash safety: serving a waiter writes (it pops), so the write-ahead log records
each one with its position in the batch, and a replay runs it at the same place.
Waiters themselves are not durable: a restarted shard has none, and the router
answers its blocked clients with the shard-down error.
"""

from __future__ import annotations

import collections
import heapq
import math
from typing import Any, Callable

from shardis import errors
from shardis.args import cstr
from shardis.commands import INTERNAL, CommandTable
from shardis.resp import NIL_ARRAY, ReplyError
from shardis.shardd import lists, zsets
from shardis.shardd.storage import LIST, ZSET, Keyspace
from shardis.shardd.strings import parse_long_double

DEFERRED = b"\0"   # first byte of a deferred reply; then the waiter id, 8 bytes big-endian
_LLONG_MAX = 2**63 - 1


class _Block:
    """What a blocking handler returns when it must wait (see ``ks.block``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "BLOCK"


BLOCK = _Block()


def parse_timeout(arg: bytes, now_ms: int) -> int:
    """A blocking command's timeout (seconds, fractions allowed) as an absolute
    deadline in ms; 0 = wait forever. As Redis 7.0: strtold over the whole
    argument, milliseconds rounded up to a long long (past its range the x86
    conversion gives LLONG_MIN: "negative"); a deadline past the clock's range
    never comes."""
    v = parse_long_double(arg)
    if v is None:
        raise ReplyError(errors.TIMEOUT_NOT_FLOAT)
    ms = v * 1000
    # Rounded up (ceill): any positive timeout, 0.0001 s included, waits at least 1 ms.
    ms = math.ceil(ms) if -_LLONG_MAX - 1 <= ms <= _LLONG_MAX else -_LLONG_MAX - 1
    if ms < 0:
        raise ReplyError(errors.TIMEOUT_NEGATIVE)
    if ms == 0:
        return 0
    if ms > _LLONG_MAX - now_ms:
        return 0  # Redis' deadline overflows and its timer never fires: forever
    return now_ms + ms


class Wait:
    """What a blocking command that found nothing waits for (``ks.block``).

    ``want``: the type its keys must hold for it to be served (a key that gets a
    value of another type leaves it waiting, as in Redis); ``narrow(key)``: the
    command's arguments to serve it from that one key, the key that got data (None:
    it has one key), so that another of its keys cannot answer instead."""

    __slots__ = ("db", "keys", "deadline", "on_timeout", "want", "narrow")

    def __init__(self, db: int, keys: list[bytes], deadline: int, on_timeout, want: int,
                 narrow: Callable[[bytes], list[bytes]] | None) -> None:
        self.db = db
        self.keys = keys
        self.deadline = deadline
        self.on_timeout = on_timeout
        self.want = want
        self.narrow = narrow


def wait_for(ks: Keyspace, db: int, keys: list[bytes], deadline: int, on_timeout: object, want: int,
             narrow: Callable[[bytes], list[bytes]] | None = None) -> _Block:
    """What a blocking handler returns when none of ``keys`` has data: wait for them
    until ``deadline`` (0: forever); ``on_timeout`` is the reply value then."""
    ks.block = Wait(db, keys, deadline, on_timeout, want, narrow)
    return BLOCK


class Waiter:
    __slots__ = ("wid", "ident", "cid", "db", "args", "keys", "deadline", "on_timeout", "want",
                 "narrow")

    def __init__(self, wid, ident, cid, db, args, keys, deadline, on_timeout, want,
                 narrow) -> None:
        self.wid = wid
        self.ident = ident
        self.cid = cid
        self.db = db
        self.args = args
        self.keys = keys
        self.deadline = deadline
        self.on_timeout = on_timeout
        self.want = want
        self.narrow = narrow

    def serving(self, key: bytes) -> list[bytes]:
        """The arguments that serve this waiter from ``key``, the key that got data."""
        return self.args if self.narrow is None else self.narrow(key)


class Waiters:
    """The shard's blocked clients: by id, by key (FIFO), and by deadline."""

    def __init__(self, by_key: dict) -> None:
        self.by_id: dict[int, Waiter] = {}
        self.by_key = by_key   # (db, key) -> deque of waiters; Store.waiting is this dict
        self.deadlines: list[tuple[int, int]] = []
        self.next_id = 1

    def add(self, ident: bytes, cid: int, db: int, args: list, keys: list[bytes],
            deadline: int, on_timeout, want: int,
            narrow: Callable[[bytes], list[bytes]] | None) -> Waiter:
        w = Waiter(self.next_id, ident, cid, db, args, keys, deadline, on_timeout, want, narrow)
        self.next_id += 1
        self.by_id[w.wid] = w
        for k in dict.fromkeys(keys):
            self.by_key.setdefault((db, k), collections.deque()).append(w)
        if deadline:
            heapq.heappush(self.deadlines, (deadline, w.wid))
        return w

    def remove(self, wid: int) -> Waiter | None:
        w = self.by_id.pop(wid, None)
        if w is None:
            return None
        for k in dict.fromkeys(w.keys):
            q = self.by_key.get((w.db, k))
            if q is not None:
                try:
                    q.remove(w)
                except ValueError:
                    pass
                if not q:
                    del self.by_key[(w.db, k)]
        return w

    def restore(self, w: Waiter) -> None:
        """Put a waiter taken by an aborted transaction back, first in its queues."""
        self.by_id[w.wid] = w
        for k in dict.fromkeys(w.keys):
            self.by_key.setdefault((w.db, k), collections.deque()).appendleft(w)
        if w.deadline:
            heapq.heappush(self.deadlines, (w.deadline, w.wid))

    def next_deadline(self) -> int | None:
        """The nearest deadline (ms) of a waiter still waiting."""
        d = self.deadlines
        while d and d[0][1] not in self.by_id:
            heapq.heappop(d)
        return d[0][0] if d else None

    def expired(self, now_ms: int) -> list[Waiter]:
        """Remove and return the waiters whose deadline has passed."""
        out = []
        d = self.deadlines
        while d and d[0][0] <= now_ms:
            _, wid = heapq.heappop(d)
            w = self.remove(wid)
            if w is not None:
                out.append(w)
        return out

    def first(self, db: int, key: bytes) -> list[Waiter]:
        """The waiters on one key, in arrival order (a copy: serving changes the queue)."""
        q = self.by_key.get((db, key))
        return list(q) if q else []


# ---------------------------------------------------------------- the commands


def _first_of(keys: list[bytes], take: Callable[[bytes], list | None]) -> list | None:
    """The first reply ``take`` gives for one of ``keys`` (type errors as they come)."""
    for key in keys:
        v = take(key)
        if v is not None:
            return v
    return None


def _pop_first(ks: Keyspace, db: int, args: list[bytes], take: Callable[[bytes], list | None],
               want: int) -> object:
    """BLPOP, BRPOP, BZPOPMIN, BZPOPMAX key [key ...] timeout: the first key ``take``
    pops from, else wait for any of them (the retry names the key that got data)."""
    deadline = parse_timeout(args[-1], ks.now)
    keys = args[1:-1]
    v = _first_of(keys, take)
    if v is not None:
        return v
    return wait_for(ks, db, keys, deadline, NIL_ARRAY, want, lambda key: [args[0], key, args[-1]])


def _bpop(ks: Keyspace, db: int, args: list[bytes], left: bool) -> object:
    def take(key: bytes) -> list | None:
        popped = lists.pop(ks, db, key, left, 1)
        return [key, popped[0]] if popped else None

    return _pop_first(ks, db, args, take, LIST)


def blpop(ks: Keyspace, db: int, args: list[bytes]) -> object:
    return _bpop(ks, db, args, True)


def brpop(ks: Keyspace, db: int, args: list[bytes]) -> object:
    return _bpop(ks, db, args, False)


def _bmove(ks: Keyspace, db: int, src: bytes, dst: bytes, from_left: bool, to_left: bool,
           timeout: bytes) -> object:
    deadline = parse_timeout(timeout, ks.now)
    v = lists.move(ks, db, src, dst, from_left, to_left)
    return v if v is not None else wait_for(ks, db, [src], deadline, NIL_ARRAY, LIST)


def brpoplpush(ks: Keyspace, db: int, args: list[bytes]) -> object:
    return _bmove(ks, db, args[1], args[2], False, True, args[3])


def blmove(ks: Keyspace, db: int, args: list[bytes]) -> object:
    from_left, to_left = lists.parse_side(args[3]), lists.parse_side(args[4])
    return _bmove(ks, db, args[1], args[2], from_left, to_left, args[5])


def blmpop(ks: Keyspace, db: int, args: list[bytes]) -> object:
    left, count, keys = lists.parse_mpop(args, 2)  # Redis: these errors before the timeout's
    deadline = parse_timeout(args[1], ks.now)
    v = lists.mpop(ks, db, keys, left, count)
    if v is not None:
        return v
    side = b"LEFT" if left else b"RIGHT"
    return wait_for(ks, db, keys, deadline, NIL_ARRAY, LIST,
                    lambda key: [args[0], args[1], b"1", key, side, b"COUNT", b"%d" % count])


def _bzpop(ks: Keyspace, db: int, args: list[bytes], use_max: bool) -> object:
    def take(key: bytes) -> list | None:
        items = zsets.pop(ks, db, key, use_max, 1)
        return [key, items[0][0], items[0][1]] if items else None

    return _pop_first(ks, db, args, take, ZSET)


def bzpopmin(ks: Keyspace, db: int, args: list[bytes]) -> object:
    return _bzpop(ks, db, args, False)


def bzpopmax(ks: Keyspace, db: int, args: list[bytes]) -> object:
    return _bzpop(ks, db, args, True)


def _check_zmpop(args: list[bytes]) -> None:
    """BZMPOP's numkeys, MIN|MAX and COUNT, with ZMPOP's errors in ZMPOP's order."""
    numkeys = zsets._ranged_long(args[2], 1, zsets.LONG_MAX, errors.Z_NUMKEYS_POSITIVE)
    where = numkeys + 3
    if where >= len(args) or cstr(args[where]).lower() not in (b"min", b"max"):
        raise ReplyError(errors.SYNTAX)
    seen = False
    j = where + 1
    while j < len(args):
        if not seen and cstr(args[j]).lower() == b"count" and j + 1 < len(args):
            zsets._ranged_long(args[j + 1], 1, zsets.LONG_MAX, errors.Z_COUNT_POSITIVE)
            seen = True
            j += 2
        else:
            raise ReplyError(errors.SYNTAX)


def bzmpop_keys(args: list[bytes]) -> list[bytes]:
    n = int(args[2])
    if n <= 0:
        raise ValueError
    return args[3:3 + n]


def bzmpop(ks: Keyspace, db: int, args: list[bytes]) -> object:
    # ZMPOP's arguments are judged before the timeout (as in Redis), and nothing is
    # popped before both are.
    _check_zmpop(args)
    deadline = parse_timeout(args[1], ks.now)
    v = zsets.zmpop(ks, db, [args[0]] + args[2:])
    if v is not NIL_ARRAY:
        return v
    where = 3 + int(args[2])  # (MIN|MAX [COUNT n] follow the keys)
    return wait_for(ks, db, bzmpop_keys(args), deadline, NIL_ARRAY, ZSET,
                    lambda key: [args[0], args[1], b"1", key] + args[where:])


def unblock(ks: Keyspace, db: int, args: list[bytes]) -> int:
    """[__unblock, waiter id]: forget a blocked client that went away; [__unblock, waiter
    id, TIMEOUT|ERROR]: CLIENT UNBLOCK's, which answers it (its timeout's reply, or the
    UNBLOCKED error)."""
    forget = ks.ctx.unblock
    if forget is not None:
        forget(int(args[1]), args[2] if len(args) > 2 else None)
    return 1


# ---------------------------------------------------------------- the command table

_LIST_DOC: dict[str, Any] = dict(group="list", since="2.0.0",
                                 complexity="O(N) where N is the number of provided keys.",
                                 acl="@write @list @slow @blocking")
_MOVE_DOC: dict[str, Any] = dict(group="list", complexity="O(1)", acl="@write @list @slow @blocking",
                                 summary="Pop an element from a list, push it to another list and "
                                         "return it; or block until one is available")
_ZSET_DOC: dict[str, Any] = dict(group="sorted-set", since="5.0.0", acl="@write @sortedset @fast @blocking",
                                 complexity="O(log(N)) with N being the number of elements in the "
                                            "sorted set.")


def register(table: CommandTable) -> None:
    """The blocking list and sorted-set commands, declared as Redis 7.0's COMMAND INFO
    gives them, and the internal ``__unblock``."""
    cmd = table.command
    cmd("blpop", -3, "write noscript blocking", 1, -2, 1, **_LIST_DOC,
        summary="Remove and get the first element in a list, or block until one is available")(blpop)
    cmd("brpop", -3, "write noscript blocking", 1, -2, 1, **_LIST_DOC,
        summary="Remove and get the last element in a list, or block until one is available")(brpop)
    cmd("brpoplpush", 4, "write denyoom noscript blocking", 1, 2, 1, since="2.2.0",
        **_MOVE_DOC)(brpoplpush)
    cmd("blmove", 6, "write denyoom noscript blocking", 1, 2, 1, since="6.2.0", **_MOVE_DOC)(blmove)
    cmd("blmpop", -5, "write blocking movablekeys", 0, 0, 0, group="list", since="7.0.0",
        complexity="O(N+M) where N is the number of provided keys and M is the number of "
                   "elements returned.",
        summary="Pop elements from a list, or block until one is available",
        acl="@write @list @slow @blocking", keys=lambda args: lists.lmpop_keys(args, 2))(blmpop)
    cmd("bzpopmin", -3, "write noscript blocking fast", 1, -2, 1, **_ZSET_DOC,
        summary="Remove and return the member with the lowest score from one or more sorted "
                "sets, or block until one is available")(bzpopmin)
    cmd("bzpopmax", -3, "write noscript blocking fast", 1, -2, 1, **_ZSET_DOC,
        summary="Remove and return the member with the highest score from one or more sorted "
                "sets, or block until one is available")(bzpopmax)
    cmd("bzmpop", -5, "write blocking movablekeys", 0, 0, 0, group="sorted-set", since="7.0.0",
        complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the "
                   "number of elements in the sorted set, and M being the number of elements "
                   "popped.",
        summary="Remove and return members with scores in a sorted set or block until one is "
                "available", acl="@write @sortedset @slow @blocking", keys=bzmpop_keys)(bzmpop)
    cmd("__unblock", -2, "fast", route=INTERNAL)(unblock)
