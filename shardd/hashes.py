"""The hash commands (HSET, HGET, HSCAN, HRANDFIELD ...), as Redis 7.0 answers them.

Layout (``shardd.disk``): one ``members`` entry per field, suffix = the field,
value = its value; the head's ``count`` is the number of fields. A hash costs the
same per field whether it holds ten fields or a million. A hashtable-encoded hash
(below) also keeps the hash index (``disk.hash``): a stable pseudo-random order
that HSCAN's cursor and HRANDFIELD's probes walk (built when the hash converts,
kept by every write).

Reply order: Redis 7.0 answers a compact (listpack) hash in insertion order and
a hashtable in its table's order. shardis answers every hash in the byte order
of its fields (HGETALL, HKEYS, HVALS, HSCAN, HRANDFIELD with a count at least the
size). Both are "unspecified" to clients; the tests compare these replies as sets.

Encoding (``c.enc``, read by OBJECT ENCODING): 0 = listpack while the hash has at
most 512 fields and no field or value ever written to it was longer than 64
bytes (hash-max-listpack-entries / -value); 1 = hashtable from then on, as Redis
never converts back.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Iterable, Iterator

from shardis import errors
from shardis.args import compile_glob, cstr, int_arg, scan_cursor, scan_options
from shardis.commands import CommandTable
from shardis.notify import NOTIFY_HASH
from shardis.resp import OK, Pairs, ReplyError, Simple, string2ll
from shardis.shardd.disk.coll import check_members
from shardis.shardd.disk.hash import cursor_of, field_of, index_suffix, position, split
from shardis.shardd.storage import HASH, Coll, Keyspace
from shardis.shardd.strings import LLONG_MAX, LLONG_MIN, add_long_double, format_long_double, \
    parse_long_double

# A negative HRANDFIELD count asks for |count| fields, repeats allowed. Redis 7.0
# tries to build any such reply (a huge count never finishes); shardis refuses
# counts past this bound with "value is out of range" rather than stall a shard.
RANDOM_REPEAT_MAX = 10_000_000

# ---------------------------------------------------------------- encoding and the hash index


def _index(ks: Keyspace, c: Coll, fields: Iterable[bytes]) -> None:
    mput = ks.mput
    for f in fields:
        mput(c, index_suffix(f), b"", index=True)


def _written(ks: Keyspace, c: Coll, new: list[bytes], written: list[bytes]) -> None:
    """After a write: switch ``c`` to hashtable when its size or the fields/values just
    written pass the listpack limits (Redis never converts back), and keep the index
    (hashtable hashes only) up to date with the ``new`` fields."""
    if c.enc:
        if new:
            _index(ks, c, new)
    elif c.count > ks.store.hash_entries or any(len(x) > ks.store.hash_value for x in written):
        c.enc = 1
        _index(ks, c, list(_walk(ks, c, values=False)))


# ---------------------------------------------------------------- walking a hash


def _walk(ks: Keyspace, c: Coll, keys: bool = True, values: bool = True) -> Iterator[Any]:
    """Every field and/or value of ``c`` in field byte order (one cursor, no per-entry call)."""
    cur = ks.mcursor()
    p = c.prefix
    n = len(p)
    if not cur.set_range(p):
        return
    if keys and values:
        for k, v in cur.iternext():
            if not k.startswith(p):
                return
            yield k[n:], v
    elif keys:
        for k in cur.iternext(values=False):
            if not k.startswith(p):
                return
            yield k[n:]
    else:
        for k, v in cur.iternext():
            if not k.startswith(p):
                return
            yield v


# ---------------------------------------------------------------- HSCAN


def _scan_table(ks: Keyspace, c: Coll, cursor: int, count: int,
                match: Callable[[bytes], bool] | None) -> tuple[int, list]:
    """One HSCAN step over a hashtable-encoded hash; returns (next cursor, [f, v, ...]).

    A hashtable hash keeps, besides its fields, an ``index`` entry per field:
    hash64(field) + field. The scan walks that order and the cursor is the hash of
    the next field to visit (0 = start, and 0 again = done), so COUNT means what it
    says whatever the fields look like. A step visits ``count`` fields, then any
    further field with the same hash as the last one visited, so the next cursor is
    greater than every hash visited: the scan always advances, always ends, and
    returns every field present for the whole scan at least once (fields added or
    removed meanwhile may or may not come back), as Redis promises.
    """
    cur = ks.mcursor(index=True)
    p = c.prefix
    n = len(p)
    out: list[bytes | None] = []
    if not cur.set_range(p + position(cursor)):
        return 0, out
    mget = ks.mget
    visited = 0
    last = b""
    for k in cur.iternext(values=False):
        if not k.startswith(p):
            return 0, out
        h, f = split(k[n:])
        if visited >= count and h != last:
            return cursor_of(h), out
        visited += 1
        last = h
        if match is None or match(f):
            out.append(f)
            out.append(mget(c, f))
    return 0, out


# ---------------------------------------------------------------- HRANDFIELD


def _rng(ks: Keyspace, c: Coll) -> random.Random:
    """The same generator when a batch is replayed from the write-ahead log (``ks.rng``)."""
    return ks.rng(c)


class _Prober:
    """Random fields of a hashtable hash without reading it: a random 64-bit number,
    then the first field at or after it in hash order (``index``), wrapping around.
    Hashes spread fields evenly, so the picks are close to uniform."""

    __slots__ = ("ks", "c", "cur", "p", "n")

    def __init__(self, ks: Keyspace, c: Coll) -> None:
        self.ks = ks
        self.c = c
        self.cur = ks.mcursor(index=True)
        self.p = c.prefix
        self.n = len(self.p)

    def seek(self, x: int) -> bool:
        """Put the cursor on the first field at or after hash ``x``; False past the end."""
        return self.cur.set_range(self.p + position(x)) and self.cur.key().startswith(self.p)

    def probe(self, rng: random.Random) -> None:
        if not self.seek(rng.getrandbits(64)):
            self.seek(0)

    def item(self) -> tuple[bytes, bytes | None]:
        f = field_of(self.cur.key()[self.n:])
        return f, self.ks.mget(self.c, f)


def _random_small(ks: Keyspace, c: Coll, rng: random.Random, count: int, uniq: bool) -> list:
    """HRANDFIELD's picks from a hash read whole (small, or a count near its size)."""
    items = list(_walk(ks, c))
    if not uniq:
        return [rng.choice(items) for _ in range(count)]
    if count >= len(items):
        return items
    return rng.sample(items, count)


def _random_big(ks: Keyspace, c: Coll, rng: random.Random, count: int, uniq: bool) -> list:
    """HRANDFIELD's picks from a big hash by probes: |count| of them with repeats, or
    ``count`` distinct ones (count < size / 3) found in one sweep of sorted probes."""
    pr = _Prober(ks, c)
    if not uniq:
        out = []
        for _ in range(count):
            pr.probe(rng)
            out.append(pr.item())
        return out
    # Distinct: visit sorted probe points in order, each taking the first field at or
    # after it that is past the field taken before; past the end, wrap to fields
    # not taken yet. Each pick is one or a few cursor moves, never a rescan.
    points = sorted(rng.getrandbits(64) for _ in range(count))
    taken: dict[bytes, bytes | None] = {}
    cur = pr.cur
    prev = None
    for x in points:
        found = cur.set_range(pr.p + position(x))
        if found and prev is not None and cur.key() <= prev:
            cur.set_key(prev)
            found = cur.next()
        if not found or not cur.key().startswith(pr.p):
            break
        prev = cur.key()
        f, v = pr.item()
        taken[f] = v
    if len(taken) < count:  # ran past the end: the first fields are still free
        for f, v in _walk(ks, c):
            if len(taken) >= count:
                break
            if f not in taken:
                taken[f] = v
    out = list(taken.items())
    rng.shuffle(out)
    return out


def _hrandfield_count(ks: Keyspace, db: int, key: bytes, count: int,
                      withvalues: bool) -> list[bytes] | Pairs:
    """HRANDFIELD key count [WITHVALUES]: distinct fields for count >= 0 (at most the
    size), exactly -count fields with repeats for count < 0."""
    c = ks.coll(db, key, HASH)
    if c is None or count == 0:
        return []
    uniq = count > 0
    count = abs(count)
    size = c.count
    if uniq and count >= size:
        items = list(_walk(ks, c))
    else:
        rng = _rng(ks, c)
        # (Redis picks from a listpack its own way: by the encoding, as Redis decides.)
        small = not c.enc or (uniq and count * 3 > size)
        items = (_random_small if small else _random_big)(ks, c, rng, count, uniq)
    if withvalues:
        return Pairs(items)
    return [f for f, _ in items]


def _hrandfield_one(ks: Keyspace, db: int, key: bytes) -> bytes | None:
    """HRANDFIELD key: one random field, nil when there is no key."""
    c = ks.coll(db, key, HASH)
    if c is None:
        return None
    rng = _rng(ks, c)
    if not c.enc:
        return _random_small(ks, c, rng, 1, False)[0][0]
    return _random_big(ks, c, rng, 1, False)[0][0]


# ---------------------------------------------------------------- increments


def _incr_value(ks: Keyspace, c: Coll, field: bytes, new: bytes, event: bytes) -> None:
    """Store an increment's result; a new field counts, a long result converts."""
    fresh = ks.mput(c, field, new) is None
    c.count += fresh
    _written(ks, c, [field] if fresh else [], [field, new])
    ks.save_coll(c)
    ks.notify(NOTIFY_HASH, event, c.db, c.key)


# ---------------------------------------------------------------- the commands


def set_pairs(ks: Keyspace, db: int, args: list[bytes], name: str) -> int:
    """HSET/HMSET's work: every pair written; returns how many fields are new."""
    if len(args) % 2:
        raise ReplyError(errors.WRONG_ARITY % name)
    check_members(args[2::2])
    c = ks.coll_or_new(db, args[1], HASH)
    new = []
    mput = ks.mput
    for i in range(2, len(args), 2):
        if mput(c, args[i], args[i + 1]) is None:
            new.append(args[i])
    c.count += len(new)
    _written(ks, c, new, args[2:])
    ks.save_coll(c)
    ks.notify(NOTIFY_HASH, b"hset", db, args[1])  # even when no value changed, as Redis
    return len(new)


def hset(ks: Keyspace, db: int, args: list[bytes]) -> int:
    if len(args) == 4:  # one field into a hashtable hash: the inline path, when it applies
        added = ks.put_one(db, args[1], HASH, args[2], args[3], index_suffix)
        if added is not None:
            return added
    return set_pairs(ks, db, args, "hset")


def hmset(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    set_pairs(ks, db, args, "hmset")
    return OK


def hsetnx(ks: Keyspace, db: int, args: list[bytes]) -> int:
    check_members(args[2:3])
    c = ks.coll_or_new(db, args[1], HASH)
    if c.old is not None and ks.mget(c, args[2]) is not None:
        return 0  # nothing written: an existing field does not convert the hash
    ks.mput(c, args[2], args[3])
    c.count += 1
    _written(ks, c, [args[2]], args[2:4])
    ks.save_coll(c)
    ks.notify(NOTIFY_HASH, b"hset", db, args[1])
    return 1


def hget(ks: Keyspace, db: int, args: list[bytes]) -> bytes | None:
    c = ks.coll(db, args[1], HASH)
    return None if c is None else ks.mget(c, args[2])


def hmget(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes | None]:
    c = ks.coll(db, args[1], HASH)
    if c is None:
        return [None] * (len(args) - 2)
    mget = ks.mget
    return [mget(c, f) for f in args[2:]]


def hdel(ks: Keyspace, db: int, args: list[bytes]) -> int:
    c = ks.coll(db, args[1], HASH)
    if c is None:
        return 0
    mdel = ks.mdel
    gone = [f for f in args[2:] if mdel(c, f)]
    deleted = len(gone)
    if c.enc and deleted < c.count:  # a whole key's index goes with it anyway
        for f in gone:
            mdel(c, index_suffix(f), index=True)
    if deleted:
        c.count -= deleted
        ks.notify(NOTIFY_HASH, b"hdel", db, args[1])
        ks.save_coll(c)  # the last field gone: the key goes too
    return deleted


def hexists(ks: Keyspace, db: int, args: list[bytes]) -> int:
    c = ks.coll(db, args[1], HASH)
    return 0 if c is None or ks.mget(c, args[2]) is None else 1


def hlen(ks: Keyspace, db: int, args: list[bytes]) -> int:
    c = ks.coll(db, args[1], HASH)
    return 0 if c is None else c.count


def hstrlen(ks: Keyspace, db: int, args: list[bytes]) -> int:
    c = ks.coll(db, args[1], HASH)
    v = None if c is None else ks.mget(c, args[2])
    return 0 if v is None else len(v)


def hgetall(ks: Keyspace, db: int, args: list[bytes]) -> dict[bytes, bytes]:
    c = ks.coll(db, args[1], HASH)
    return {} if c is None else dict(_walk(ks, c))  # a map in RESP3, flat in RESP2


def hkeys(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes]:
    c = ks.coll(db, args[1], HASH)
    return [] if c is None else list(_walk(ks, c, values=False))


def hvals(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes]:
    c = ks.coll(db, args[1], HASH)
    return [] if c is None else list(_walk(ks, c, keys=False))


def hincrby(ks: Keyspace, db: int, args: list[bytes]) -> int:
    incr = int_arg(args[3])  # checked before the key, as Redis does
    c = ks.coll_or_new(db, args[1], HASH)
    field = args[2]
    old = ks.mget(c, field) if c.old is not None else None
    value = 0
    if old is not None:
        parsed = string2ll(old)
        if parsed is None:
            raise ReplyError(errors.HASH_NOT_INTEGER)
        value = parsed
    new = value + incr
    if not LLONG_MIN <= new <= LLONG_MAX:
        raise ReplyError(errors.OVERFLOW)
    _incr_value(ks, c, field, b"%d" % new, b"hincrby")
    return new


def hincrbyfloat(ks: Keyspace, db: int, args: list[bytes]) -> bytes:
    """Long double arithmetic and %.17Lf output, as INCRBYFLOAT (shardd/strings.py)."""
    incr = parse_long_double(args[3])
    if incr is None:
        raise ReplyError(errors.NOT_FLOAT)
    if isinstance(incr, float):  # +-inf: refused before the key is looked at
        raise ReplyError(errors.NAN_OR_INFINITY)
    c = ks.coll_or_new(db, args[1], HASH)
    field = args[2]
    old = ks.mget(c, field) if c.old is not None else None
    value = 0 if old is None else parse_long_double(old)
    if value is None:
        raise ReplyError(errors.HASH_NOT_FLOAT)
    total = add_long_double(value, incr)
    if isinstance(total, float):
        raise ReplyError(errors.INCR_NAN_INF)
    out = format_long_double(total)
    _incr_value(ks, c, field, out, b"hincrbyfloat")
    return out


def hrandfield(ks: Keyspace, db: int, args: list[bytes]) -> bytes | list[bytes] | Pairs | None:
    """HRANDFIELD key [count [WITHVALUES]]; the count and options are checked
    before the key, and WITHVALUES bounds the count to +-LONG_MAX/2."""
    if len(args) == 2:
        return _hrandfield_one(ks, db, args[1])
    count = int_arg(args[2])
    if count < -LLONG_MAX:
        raise ReplyError(errors.INT_OUT_OF_RANGE % (-LLONG_MAX, LLONG_MAX))
    if len(args) > 4 or (len(args) == 4 and cstr(args[3]).lower() != b"withvalues"):
        raise ReplyError(errors.SYNTAX)
    withvalues = len(args) == 4
    if withvalues and not -(LLONG_MAX // 2) <= count <= LLONG_MAX // 2:
        raise ReplyError(errors.VALUE_OUT_OF_RANGE)
    if count < -RANDOM_REPEAT_MAX:
        raise ReplyError(errors.VALUE_OUT_OF_RANGE)
    return _hrandfield_count(ks, db, args[1], count, withvalues)


def hscan(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes | list[bytes]]:
    """HSCAN key cursor [MATCH pattern] [COUNT count]. Redis checks the cursor, then
    the key (no key: an empty scan, options unread), then the options. A listpack
    hash comes back whole with cursor 0; a hashtable in steps (``_scan_table``)."""
    cursor = scan_cursor(args[2])
    c = ks.coll(db, args[1], HASH)
    if c is None:
        return [b"0", []]
    count, pattern = scan_options(args)
    match = None if pattern == b"*" else compile_glob(pattern)
    if c.enc == 0:
        out = []
        for f, v in _walk(ks, c):
            if match is None or match(f):
                out.append(f)
                out.append(v)
        return [b"0", out]
    nxt, out = _scan_table(ks, c, cursor, count, match)
    return [b"%d" % nxt, out]


# ---------------------------------------------------------------- the command table

_DOC: dict[str, Any] = dict(group="hash", since="2.0.0")


def register(table: CommandTable) -> None:
    """The hash commands, each declared as Redis 7.0's COMMAND INFO describes it."""
    cmd = table.command
    cmd("hset", -4, "write denyoom fast", 1, 1, 1, **_DOC,
        complexity="O(1) for each field/value pair added, so O(N) to add N field/value pairs "
                   "when the command is called with multiple field/value pairs.",
        summary="Set the string value of a hash field", acl="@write @hash @fast")(hset)
    cmd("hmset", -4, "write denyoom fast", 1, 1, 1, **_DOC,
        complexity="O(N) where N is the number of fields being set.",
        summary="Set multiple hash fields to multiple values", acl="@write @hash @fast")(hmset)
    cmd("hsetnx", 4, "write denyoom fast", 1, 1, 1, **_DOC, complexity="O(1)",
        summary="Set the value of a hash field, only if the field does not exist",
        acl="@write @hash @fast")(hsetnx)
    cmd("hget", 3, "readonly fast", 1, 1, 1, **_DOC, complexity="O(1)",
        summary="Get the value of a hash field", acl="@read @hash @fast")(hget)
    cmd("hmget", -3, "readonly fast", 1, 1, 1, **_DOC,
        complexity="O(N) where N is the number of fields being requested.",
        summary="Get the values of all the given hash fields", acl="@read @hash @fast")(hmget)
    cmd("hdel", -3, "write fast", 1, 1, 1, **_DOC,
        complexity="O(N) where N is the number of fields to be removed.",
        summary="Delete one or more hash fields", acl="@write @hash @fast")(hdel)
    cmd("hexists", 3, "readonly fast", 1, 1, 1, **_DOC, complexity="O(1)",
        summary="Determine if a hash field exists", acl="@read @hash @fast")(hexists)
    cmd("hlen", 2, "readonly fast", 1, 1, 1, **_DOC, complexity="O(1)",
        summary="Get the number of fields in a hash", acl="@read @hash @fast")(hlen)
    cmd("hstrlen", 3, "readonly fast", 1, 1, 1, group="hash", since="3.2.0",
        complexity="O(1)", summary="Get the length of the value of a hash field",
        acl="@read @hash @fast")(hstrlen)
    cmd("hgetall", 2, "readonly", 1, 1, 1, **_DOC,
        complexity="O(N) where N is the size of the hash.",
        summary="Get all the fields and values in a hash", acl="@read @hash @slow")(hgetall)
    cmd("hkeys", 2, "readonly", 1, 1, 1, **_DOC,
        complexity="O(N) where N is the size of the hash.",
        summary="Get all the fields in a hash", acl="@read @hash @slow")(hkeys)
    cmd("hvals", 2, "readonly", 1, 1, 1, **_DOC,
        complexity="O(N) where N is the size of the hash.",
        summary="Get all the values in a hash", acl="@read @hash @slow")(hvals)
    cmd("hincrby", 4, "write denyoom fast", 1, 1, 1, **_DOC, complexity="O(1)",
        summary="Increment the integer value of a hash field by the given number",
        acl="@write @hash @fast")(hincrby)
    cmd("hincrbyfloat", 4, "write denyoom fast", 1, 1, 1, group="hash", since="2.6.0",
        complexity="O(1)",
        summary="Increment the float value of a hash field by the given amount",
        acl="@write @hash @fast")(hincrbyfloat)
    cmd("hrandfield", -2, "readonly", 1, 1, 1, group="hash", since="6.2.0",
        complexity="O(N) where N is the number of fields returned",
        summary="Get one or multiple random fields from a hash", acl="@read @hash @slow")(hrandfield)
    cmd("hscan", -3, "readonly", 1, 1, 1, group="hash", since="2.8.0",
        complexity="O(1) for every call. O(N) for a complete iteration, including enough "
                   "command calls for the cursor to return back to 0. N is the number of "
                   "elements inside the collection..",
        summary="Incrementally iterate hash fields and associated values",
        acl="@read @hash @slow")(hscan)
