"""The set commands, as Redis 7.0 answers them.

Layout: one ``members`` entry per member (suffix = the member, value = b"").
The head's ``enc`` is 0 while Redis 7.0 would keep the set an intset (every
member an integer in string2ll's canonical form, at most 512 members:
set-max-intset-entries) and 1 from the first other member, or the 513th, on.
Redis never converts back, with one exception kept here: SPOP with a count
that leaves at most a fifth of what it returns builds a new set from the
remaining members, so their contents decide the encoding again.

Order: Redis answers an intset in ascending numeric order and a hash table in
no particular order. A reply whose members would come from an intset (a set
with enc 0, or a computed result that Redis builds as an intset: all integers,
at most 512) is in ascending numeric order here too, so those replies match
Redis byte for byte; any other order is as good as Redis' own.

Randomness (SPOP, SRANDMEMBER) comes from ``random.Random`` seeded from the
batch's clock, the collection's head and how many draws this batch made so
far: a shard replaying a batch after a crash pops the same members.
"""

from __future__ import annotations

import random
from typing import cast

from shardis import errors
from shardis.args import Options, compile_glob, scan_cursor, scan_options
from shardis.commands import CommandTable
from shardis.notify import NOTIFY_GENERIC, NOTIFY_SET
from shardis.resp import OrderedSet, ReplyError, string2ll
from shardis.shardd.disk.coll import check_members
from shardis.shardd.storage import SET, Coll, Keyspace

SPOP_MOVE_MUL = 5         # SPOP rebuilds the set when what stays is this much smaller
SMALL_SET = 256           # up to this many members, random draws read the whole set
MAX_REPEATS = 1 << 24     # SRANDMEMBER with a negative count: at most this many draws
LONG_MAX = 2**63 - 1
EMPTY_SCAN: list[bytes | list[bytes]] = [b"0", []]


# ------------------------------------------------------------ members and replies


def is_int(member: bytes) -> bool:
    """Whether Redis would keep ``member`` in an intset (string2ll accepts it)."""
    return len(member) <= 20 and string2ll(member) is not None


def encoding_of(ks: Keyspace, members: list[bytes]) -> int:
    """The encoding Redis gives a set built from ``members`` one by one."""
    if len(members) > ks.store.set_intset:
        return 1
    return 0 if all(is_int(m) for m in members) else 1


def members_of(ks: Keyspace, c: Coll) -> list[bytes]:
    """Every member of ``c``, in byte order."""
    p = c.prefix
    n = len(p)
    cur = ks.mcursor()
    out = []
    if cur.set_range(p):
        for k in cur.iternext(values=False):
            if not k.startswith(p):
                break
            out.append(k[n:])
    return out


def set_reply(members: list[bytes], intset: bool) -> OrderedSet:
    """A set reply (RESP3's set type, an array in RESP2): ascending numeric order when
    Redis would answer from an intset, else the members' byte order."""
    return OrderedSet(sorted(members, key=int) if intset else members)


def intset_like(ks: Keyspace, members: list[bytes]) -> bool:
    """Whether Redis builds this computed result as an intset (so answers it in order)."""
    return len(members) <= ks.store.set_intset and all(is_int(m) for m in members)


# ------------------------------------------------------------ randomness




class Sampler:
    """Random members of a big set without reading it, by a random descent: with the
    members between ``first`` and ``last`` sharing a prefix q, pick a byte value at
    random between theirs after q, seek to q + that byte, and narrow the range to
    the members sharing the byte found there; repeat until one member is left. A
    few cursor seeks per byte of branching (O(log N) each); close to uniform when
    members spread evenly over their byte values (as keys like ``user:123`` do)."""

    __slots__ = ("ks", "c", "rng", "cur", "first", "last")

    MAX_DEPTH = 24

    def __init__(self, ks: Keyspace, c: Coll, rng: random.Random) -> None:
        self.ks, self.c, self.rng = ks, c, rng
        self.cur = ks.mcursor()
        self.cur.set_range(c.prefix)
        self.first = self.cur.key()[len(c.prefix):]
        self.last = next(ks.mrange(c, reverse=True))[0]

    def _seek(self, suffix: bytes) -> bytes:
        """The first member at or after ``suffix`` (there is one: callers stay below ``last``)."""
        p = self.c.prefix
        self.cur.set_range(p + suffix)
        return self.cur.key()[len(p):]

    def _last_under(self, stem: bytes) -> bytes:
        """The last member starting with ``stem`` (stem's last byte is below 255)."""
        p = self.c.prefix
        self.cur.set_range(p + stem[:-1] + bytes([stem[-1] + 1]))
        self.cur.prev()
        return self.cur.key()[len(p):]

    def _descend(self) -> bytes:
        first, last, rng = self.first, self.last, self.rng
        for _ in range(self.MAX_DEPTH):
            if first == last:
                break
            i = 0
            while first[i:i + 1] == last[i:i + 1]:
                i += 1
            hi = last[i]
            if i < len(first):
                r = rng.randint(first[i], hi)
            else:  # ``first`` is the prefix itself: one draw in (next member's byte - 1 .. hi)
                lo = self._seek(first + b"\0")[i]
                r = rng.randint(lo - 1, hi)
                if r < lo:
                    return first
            first = self._seek(last[:i] + bytes([r]))
            b = first[i]
            if b != hi:
                last = self._last_under(first[:i + 1])
        return first

    def _step(self) -> None:
        """Move to the next member, wrapping around to the first."""
        p = self.c.prefix
        if not self.cur.next() or not self.cur.key().startswith(p):
            self.cur.set_range(p)

    def pick(self, taken: set | None = None) -> bytes:
        """One member (with ``taken``: one not in it, which it then joins)."""
        m = self._descend()
        if taken is not None:
            if m in taken:
                p = self.c.prefix
                self.cur.set_range(p + m)
                while m in taken:
                    self._step()
                    m = self.cur.key()[len(p):]
            taken.add(m)
        return m


def sample(ks: Keyspace, c: Coll, rng: random.Random, k: int, distinct: bool) -> list[bytes]:
    """``k`` random members of ``c`` (distinct: k < c.count)."""
    if c.count <= SMALL_SET or distinct and k * 3 > c.count:
        ms = members_of(ks, c)
        return rng.sample(ms, k) if distinct else rng.choices(ms, k=k)
    s = Sampler(ks, c, rng)
    taken: set | None = set() if distinct else None
    return [s.pick(taken) for _ in range(k)]


# ------------------------------------------------------------ argument parsing


def intercard_args(args: list[bytes]) -> tuple[list[bytes], int]:
    """SINTERCARD numkeys key [key ...] [LIMIT limit]: (keys, limit; 0 = none)."""
    numkeys = string2ll(args[1])
    if numkeys is None or numkeys < 1:
        raise ReplyError(errors.NUMKEYS_POSITIVE)
    if numkeys > len(args) - 2:
        raise ReplyError(errors.NUMKEYS_TOO_MANY)
    limit = 0
    opts = Options(args, 2 + numkeys)
    while opts.more():
        if opts.eat(b"limit", 1):
            got = string2ll(opts.take())
            if got is None or got < 0:
                raise ReplyError(errors.Z_LIMIT_NEGATIVE)
            limit = got
        else:
            raise ReplyError(errors.SYNTAX)
    return args[2:2 + numkeys], limit


def intercard_keys(args: list[bytes]) -> list[bytes]:
    """SINTERCARD's key arguments, for routing."""
    n = string2ll(args[1])
    if n is None or n < 1:
        raise ValueError("numkeys")
    return args[2:2 + n]


def count_arg(arg: bytes, error: str) -> int:
    """A count that must be a 64-bit integer, else ``error``."""
    v = string2ll(arg)
    if v is None:
        raise ReplyError(error)
    return v


# ------------------------------------------------------------ single-set commands


def sadd(ks: Keyspace, db: int, args: list[bytes]) -> int:
    if len(args) == 3:  # one member into a hashtable set: the inline path, when it applies
        added = ks.put_one(db, args[1], SET, args[2])
        if added is not None:
            return added
    check_members(args[2:])
    c = ks.coll_or_new(db, args[1], SET)
    mput = ks.mput
    added = 0
    intset = c.enc == 0
    for m in args[2:]:
        if mput(c, m) is None:
            added += 1
            if intset and not is_int(m):
                intset = False
    if added:
        c.count += added
        if not intset or c.count > ks.store.set_intset:
            c.enc = 1
        ks.save_coll(c)
        ks.notify(NOTIFY_SET, b"sadd", db, args[1])
    return added


def srem(ks: Keyspace, db: int, args: list[bytes]) -> int:
    c = ks.coll(db, args[1], SET)
    if c is None:
        return 0
    mdel = ks.mdel
    removed = 0
    for m in args[2:]:
        if mdel(c, m):
            removed += 1
            if removed == c.count:
                break  # the set is gone; Redis stops at that point too
    if removed:
        c.count -= removed
        ks.notify(NOTIFY_SET, b"srem", db, args[1])
        ks.save_coll(c)
    return removed


def sismember(ks: Keyspace, db: int, args: list[bytes]) -> int:
    c = ks.coll(db, args[1], SET)
    return 0 if c is None or ks.mget(c, args[2]) is None else 1


def smismember(ks: Keyspace, db: int, args: list[bytes]) -> list[int]:
    c = ks.coll(db, args[1], SET)
    if c is None:
        return [0] * (len(args) - 2)
    mget = ks.mget
    return [0 if mget(c, m) is None else 1 for m in args[2:]]


def smembers(ks: Keyspace, db: int, args: list[bytes]) -> OrderedSet:
    c = ks.coll(db, args[1], SET)
    if c is None:
        return OrderedSet()
    return set_reply(members_of(ks, c), c.enc == 0)


def scard(ks: Keyspace, db: int, args: list[bytes]) -> int:
    c = ks.coll(db, args[1], SET)
    return 0 if c is None else c.count


def spop(ks: Keyspace, db: int, args: list[bytes]) -> bytes | OrderedSet | None:
    """SPOP key [count]: a count must be >= 0 (checked before the key); a count of
    at least the size pops the whole set (and the key)."""
    if len(args) > 3:
        raise ReplyError(errors.SYNTAX)
    if len(args) == 3:
        count = count_arg(args[2], errors.LIST_COUNT_POSITIVE)
        if count < 0:
            raise ReplyError(errors.LIST_COUNT_POSITIVE)
        return spop_count(ks, db, args[1], count)
    c = ks.coll(db, args[1], SET)
    if c is None:
        return None
    m = sample(ks, c, ks.rng(c), 1, False)[0]
    ks.mdel(c, m)
    c.count -= 1
    ks.notify(NOTIFY_SET, b"spop", db, args[1])
    ks.save_coll(c)
    return m


def spop_count(ks: Keyspace, db: int, key: bytes, count: int) -> OrderedSet:
    c = ks.coll(db, key, SET)
    if c is None or count == 0:
        return OrderedSet()
    if count >= c.count:
        ms = members_of(ks, c)
        intset = c.enc == 0
        c.count = 0
        ks.notify(NOTIFY_SET, b"spop", db, key)
        ks.save_coll(c)
        return set_reply(ms, intset)
    remaining = c.count - count
    popped = sample(ks, c, ks.rng(c), count, True)
    for m in popped:
        ks.mdel(c, m)
    intset = c.enc == 0
    c.count = remaining
    if remaining * SPOP_MOVE_MUL <= count:
        c.enc = encoding_of(ks, members_of(ks, c))  # Redis built a new set of what stays
    ks.notify(NOTIFY_SET, b"spop", db, key)
    ks.save_coll(c)
    return set_reply(popped, intset)


def srandmember(ks: Keyspace, db: int, args: list[bytes]) -> bytes | list[bytes] | None:
    """SRANDMEMBER key [count]: count > 0 distinct members (the whole set when it is
    no bigger), count < 0 that many draws with repeats; an array in RESP3 too."""
    if len(args) > 3:
        raise ReplyError(errors.SYNTAX)
    if len(args) == 2:
        c = ks.coll(db, args[1], SET)
        if c is None:
            return None
        return sample(ks, c, ks.rng(c), 1, False)[0]
    count = count_arg(args[2], errors.NOT_INTEGER)
    if count < -LONG_MAX:
        raise ReplyError(errors.INT_OUT_OF_RANGE % (-LONG_MAX, LONG_MAX))
    if count < -MAX_REPEATS:
        raise ReplyError(errors.INT_OUT_OF_RANGE % (-MAX_REPEATS, LONG_MAX))
    c = ks.coll(db, args[1], SET)
    if c is None or count == 0:
        return []
    if count < 0:
        return sample(ks, c, ks.rng(c), -count, False)
    if count >= c.count:
        ms = members_of(ks, c)
        return sorted(ms, key=int) if c.enc == 0 else ms
    return sample(ks, c, ks.rng(c), count, True)


def sscan(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes | list[bytes]]:
    """SSCAN key cursor [MATCH pattern] [COUNT count].

    An intset-sized set (enc 0) answers whole, cursor 0, as Redis does; a bigger one in
    steps of about COUNT members (``Keyspace.mscan``: every member present throughout
    comes back, once when the set does not change)."""
    cursor = scan_cursor(args[2])
    c = ks.coll(db, args[1], SET)
    if c is None:
        return EMPTY_SCAN
    count, pattern = scan_options(args)
    match = compile_glob(pattern)
    if c.enc == 0:
        return [b"0", [m for m in sorted(members_of(ks, c), key=int) if match(m)]]
    nxt, found = ks.mscan(c, cursor, count)
    return [b"%d" % nxt, [m for m, _ in found if match(m)]]


# ------------------------------------------------------------ two and more sets


def smove(ks: Keyspace, db: int, args: list[bytes]) -> int:
    """SMOVE source destination member: 0 when the source is missing (whatever the
    destination is); both keys must be sets; source == destination tests membership."""
    src_key, dst_key, m = args[1], args[2], args[3]
    src = ks.coll(db, src_key, SET)
    if src is None:
        return 0
    dst = ks.coll(db, dst_key, SET)
    if src_key == dst_key:
        return 0 if ks.mget(src, m) is None else 1
    if not ks.mdel(src, m):
        return 0
    src.count -= 1
    ks.notify(NOTIFY_SET, b"srem", db, src_key)
    ks.save_coll(src)
    if dst is None:
        dst = ks.new_coll(db, dst_key, SET)
    if ks.mput(dst, m) is None:
        dst.count += 1
        if not is_int(m) or dst.count > ks.store.set_intset:
            dst.enc = 1
        ks.save_coll(dst)
        ks.notify(NOTIFY_SET, b"sadd", db, dst_key)
    return 1


def sources(ks: Keyspace, db: int, keys: list[bytes]) -> list[Coll | None]:
    """The sets at ``keys`` (None for a missing key), every key's type checked first."""
    return [ks.coll(db, k, SET) for k in keys]


def intersection(ks: Keyspace, colls: list[Coll | None], limit: int = 0) -> tuple[list[bytes], bool]:
    """(members in every set, whether Redis answers them in intset order): the
    smallest set walked, each member probed in the others; ``limit`` stops early."""
    if not colls or any(c is None for c in colls):
        return [], True
    present = cast(list[Coll], colls)  # (none is None: see above)
    first = min(present, key=lambda c: c.count)
    others = [c for c in present if c.id != first.id]
    mget = ks.mget
    out = []
    for m in members_of(ks, first):
        for o in others:
            if mget(o, m) is None:
                break
        else:
            out.append(m)
            if len(out) == limit:
                break
    return out, first.enc == 0


def union(ks: Keyspace, colls: list[Coll | None]) -> list[bytes]:
    out: dict[bytes, None] = {}
    for c in colls:
        if c is not None:
            out.update(dict.fromkeys(members_of(ks, c)))
    return list(out)


def difference(ks: Keyspace, colls: list[Coll | None]) -> list[bytes]:
    """Members of the first set in none of the others (a missing set is empty)."""
    first = colls[0]
    if first is None:
        return []
    others = [c for c in colls[1:] if c is not None]
    mget = ks.mget
    return [m for m in members_of(ks, first) if all(mget(o, m) is None for o in others)]


def store(ks: Keyspace, db: int, key: bytes, members: list[bytes], event: bytes) -> int:
    """Replace ``key`` (any type) by a set of ``members`` and report ``event``; an empty
    result deletes it (reported as "del" if there was one)."""
    existed = ks.delete(db, key)
    if members:
        c = ks.new_coll(db, key, SET, replacing=existed)
        mput = ks.mput
        for m in members:
            mput(c, m)
        c.count = len(members)
        c.enc = encoding_of(ks, members)
        ks.save_coll(c)
        ks.notify(NOTIFY_SET, event, db, key)
    elif existed:
        ks.notify(NOTIFY_GENERIC, b"del", db, key)
    return len(members)


def sinter(ks: Keyspace, db: int, args: list[bytes]) -> OrderedSet:
    found, intset = intersection(ks, sources(ks, db, args[1:]))
    return set_reply(found, intset)


def sintercard(ks: Keyspace, db: int, args: list[bytes]) -> int:
    keys, limit = intercard_args(args)
    return len(intersection(ks, sources(ks, db, keys), limit)[0])


def sinterstore(ks: Keyspace, db: int, args: list[bytes]) -> int:
    found, _ = intersection(ks, sources(ks, db, args[2:]))
    return store(ks, db, args[1], found, b"sinterstore")


def sunion(ks: Keyspace, db: int, args: list[bytes]) -> OrderedSet:
    found = union(ks, sources(ks, db, args[1:]))
    return set_reply(found, intset_like(ks, found))


def sunionstore(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return store(ks, db, args[1], union(ks, sources(ks, db, args[2:])), b"sunionstore")


def sdiff(ks: Keyspace, db: int, args: list[bytes]) -> OrderedSet:
    found = difference(ks, sources(ks, db, args[1:]))
    return set_reply(found, intset_like(ks, found))


def sdiffstore(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return store(ks, db, args[1], difference(ks, sources(ks, db, args[2:])), b"sdiffstore")


# ------------------------------------------------------------ the command table

_INTER = "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."
_ALL_SETS = "O(N) where N is the total number of elements in all given sets."


def register(table: CommandTable) -> None:
    """The set commands, each declared as Redis 7.0's COMMAND INFO describes it."""
    cmd = table.command
    cmd("sadd", -3, "write denyoom fast", 1, 1, 1, group="set",
        summary="Add one or more members to a set",
        complexity="O(1) for each element added, so O(N) to add N elements when the command is "
                   "called with multiple arguments.",
        acl="@write @set @fast")(sadd)
    cmd("srem", -3, "write fast", 1, 1, 1, group="set",
        summary="Remove one or more members from a set",
        complexity="O(N) where N is the number of members to be removed.",
        acl="@write @set @fast")(srem)
    cmd("sismember", 3, "readonly fast", 1, 1, 1, group="set",
        summary="Determine if a given value is a member of a set", complexity="O(1)",
        acl="@read @set @fast")(sismember)
    cmd("smismember", -3, "readonly fast", 1, 1, 1, group="set", since="6.2.0",
        summary="Returns the membership associated with the given elements for a set",
        complexity="O(N) where N is the number of elements being checked for membership",
        acl="@read @set @fast")(smismember)
    cmd("smembers", 2, "readonly", 1, 1, 1, group="set",
        summary="Get all the members in a set",
        complexity="O(N) where N is the set cardinality.", acl="@read @set @slow")(smembers)
    cmd("scard", 2, "readonly fast", 1, 1, 1, group="set",
        summary="Get the number of members in a set", complexity="O(1)",
        acl="@read @set @fast")(scard)
    cmd("spop", -2, "write fast", 1, 1, 1, group="set",
        summary="Remove and return one or multiple random members from a set",
        complexity="Without the count argument O(1), otherwise O(N) where N is the value of the "
                   "passed count.",
        acl="@write @set @fast")(spop)
    cmd("srandmember", -2, "readonly", 1, 1, 1, group="set",
        summary="Get one or multiple random members from a set",
        complexity="Without the count argument O(1), otherwise O(N) where N is the absolute "
                   "value of the passed count.",
        acl="@read @set @slow")(srandmember)
    cmd("smove", 4, "write fast", 1, 2, 1, group="set",
        summary="Move a member from one set to another", complexity="O(1)",
        acl="@write @set @fast")(smove)
    cmd("sinter", -2, "readonly", 1, -1, 1, group="set", summary="Intersect multiple sets",
        complexity=_INTER, acl="@read @set @slow")(sinter)
    cmd("sintercard", -3, "readonly movablekeys", 0, 0, 0, group="set", since="7.0.0",
        summary="Intersect multiple sets and return the cardinality of the result",
        complexity=_INTER, acl="@read @set @slow", keys=intercard_keys)(sintercard)
    cmd("sinterstore", -3, "write denyoom", 1, -1, 1, group="set",
        summary="Intersect multiple sets and store the resulting set in a key",
        complexity=_INTER, acl="@write @set @slow")(sinterstore)
    cmd("sunion", -2, "readonly", 1, -1, 1, group="set", summary="Add multiple sets",
        complexity=_ALL_SETS, acl="@read @set @slow")(sunion)
    cmd("sunionstore", -3, "write denyoom", 1, -1, 1, group="set",
        summary="Add multiple sets and store the resulting set in a key",
        complexity=_ALL_SETS, acl="@write @set @slow")(sunionstore)
    cmd("sdiff", -2, "readonly", 1, -1, 1, group="set", summary="Subtract multiple sets",
        complexity=_ALL_SETS, acl="@read @set @slow")(sdiff)
    cmd("sdiffstore", -3, "write denyoom", 1, -1, 1, group="set",
        summary="Subtract multiple sets and store the resulting set in a key",
        complexity=_ALL_SETS, acl="@write @set @slow")(sdiffstore)
    cmd("sscan", -3, "readonly", 1, 1, 1, group="set", since="2.8.0",
        summary="Incrementally iterate Set elements",
        complexity="O(1) for every call. O(N) for a complete iteration, including enough command "
                   "calls for the cursor to return back to 0. N is the number of elements inside "
                   "the collection..",
        acl="@read @set @slow")(sscan)
