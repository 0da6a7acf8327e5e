"""SORT and SORT_RO, as Redis 7.0 answers them.

SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
[STORE destination] sorts the elements of a list, set or sorted set:

- Numeric by default: each weight (the element, or the value its BY pattern
  names) is read as C's ``strtod`` reads it (leading spaces allowed, the whole C
  string consumed, no NaN, no overflow or underflow); one bad weight fails the
  whole command. Equal weights order by the elements' bytes. A BY key that is
  missing (or not a string / not a hash with that field) weighs 0.
- ALPHA: byte order (Redis' ``strcoll`` in the C locale, which stops at a NUL
  byte; with STORE Redis compares whole byte strings instead). With a BY pattern,
  elements whose BY value is missing sort first; ties keep the load order (as
  glibc's merge-sort ``qsort`` keeps it).
- A BY pattern without ``*`` (``BY nosort``) sorts nothing, even when another BY
  follows it: a list keeps its order, a sorted set its score order (DESC reverses
  both, LIMIT applies), a set its iteration order; a set with STORE is then sorted
  as with ALPHA.
- Patterns: the first ``*`` is replaced by the element; ``->field`` after it
  reads a hash field; ``GET #`` is the element itself. GET answers nil for what
  is missing (an empty string when stored).
- LIMIT offset count: a negative offset is 0, a negative count means all.
- STORE writes the result as a list (replacing any type, no TTL); an empty
  result deletes the destination; the reply is the stored length.

Options are read left to right and the first bad one answers: a syntax error,
LIMIT's integer error, or a BY/GET pattern refused (below); then WRONGTYPE when
the key is not a list, set or sorted set; then the conversion error.

Cluster rule (shardis is a cluster of shards): a BY/GET pattern names other keys,
which one shard can read only when they are on it. As Redis Cluster does (since
7.4; 7.0 refused every pattern in cluster mode), a BY pattern with ``*`` and a GET
pattern other than ``#`` are refused ("... denied in Cluster mode when keys formed
by the pattern may be in different slots.") unless the pattern's hash slot, read
as Redis reads a pattern's (a ``{tag}`` closed before any ``*``, ``?``, ``[`` or
backslash, else the whole pattern when it has none of those), is the slot of the
sorted key: ``SORT {u}list BY {u}weight_* GET {u}name_*`` works. A STORE
destination may be anywhere: on another shard, the coordinator sorts on the
sorted key's shard (where the patterns' keys are) and writes the destination on
its own (``register_cross``).

Side effect kept from Redis: SORT (and SORT_RO) converts a listpack sorted set to a
skiplist (OBJECT ENCODING), as Redis converts it in place before reading it.

Where Redis' answer depends on its memory layout, shardis answers otherwise (both
are unspecified to clients): a hashtable set is loaded in byte order (Redis: its
table's order), which shows with BY nosort and in ALPHA ties under a BY pattern;
with BY and a LIMIT, Redis' partial quicksort may order such ties differently.
Redis reads weights with strtod without clearing errno first, so after one
out-of-range weight it can refuse later SORTs; shardis does not copy that.
"""

from __future__ import annotations

from binascii import crc_hqx

from shardis import errors
from shardis.args import cstr
from shardis.commands import CommandTable
from shardis.resp import ReplyError, string2ll
from shardis.slots import key_slot
from shardd import lists
from shardd.sets import members_of
from shardd.storage import HASH, LIST, SET, ZSET, Coll, Keyspace
from shardd.zsets import ZSet, strtod

DBL_MIN = 2.2250738585072014e-308


# Options followed by arguments, for finding STORE's key as Redis' sortGetKeys does.
_SKIP = {b"limit": 2, b"get": 1, b"by": 1}


# ---------------------------------------------------------------- keys and slots


def sort_keys(args: list[bytes]) -> list[bytes]:
    """SORT's key arguments: the sorted key, then the last STORE destination if any
    (an option word's arguments are skipped, anything else is looked at)."""
    keys = [args[1]]
    store = None
    i = 2
    while i < len(args):
        word = cstr(args[i]).lower()
        if word in _SKIP:
            i += _SKIP[word]
        elif word == b"store" and i + 1 < len(args):
            store = args[i + 1]
        i += 1
    if store is not None:
        keys.append(store)
    return keys


def pattern_slot(pattern: bytes) -> int:
    """The one slot every key a pattern can form hashes to, -1 when they may differ:
    the first non-empty ``{tag}`` closed before any wildcard (``*``, ``?``, ``[``) or
    backslash, or the whole pattern when it has none of these (Redis' patternHashSlot)."""
    open_at = -1
    for i, ch in enumerate(pattern):
        if ch in b"*?[\\":
            return -1
        if open_at == -1 and ch == 0x7B:  # {
            open_at = i
        elif open_at >= 0 and ch == 0x7D:  # }
            if i == open_at + 1:
                open_at = -2  # "{}": the whole key is hashed, the braces mean nothing
            else:
                return crc_hqx(pattern[open_at + 1:i], 0) & 0x3FFF
    return crc_hqx(pattern, 0) & 0x3FFF


# ---------------------------------------------------------------- patterns


class Pattern:
    """A BY/GET pattern, split once: key = prefix + element + postfix, then ``field``
    of that hash when the pattern has a non-empty ``->field`` after its ``*``.

    As Redis reads it: ``#`` (up to a NUL byte) is the element itself; the ``*`` and
    the ``->`` are searched up to the first NUL byte; the field runs to the end."""

    __slots__ = ("self_", "const", "prefix", "postfix", "field")

    def __init__(self, raw: bytes) -> None:
        c = cstr(raw)
        self.self_ = c == b"#"
        star = c.find(b"*")
        self.const = star < 0  # no '*': names no key at all
        self.field = None
        self.prefix = self.postfix = b""
        if self.self_ or self.const:
            return
        end = len(raw)
        arrow = c.find(b"->", star + 1)
        if arrow >= 0 and arrow + 2 < len(c):
            self.field = raw[arrow + 2:]
            end = arrow
        self.prefix = raw[:star]
        self.postfix = raw[star + 1:end]

    def lookup(self, ks: Keyspace, db: int, element: bytes) -> bytes | None:
        """The value this pattern names for ``element``; None when missing or of
        another type (a string, or a hash for ``->field``)."""
        if self.self_:
            return element
        if self.const:
            return None
        key = self.prefix + element + self.postfix
        try:
            if self.field is None:
                return ks.get_string(db, key)
            c = ks.coll(db, key, HASH)
        except ReplyError:  # WRONGTYPE: Redis reads it as missing
            return None
        return None if c is None else ks.mget(c, self.field)


# ---------------------------------------------------------------- options


class SortOptions:
    """SORT's options, parsed left to right as Redis parses them."""

    __slots__ = ("desc", "alpha", "start", "count", "store", "by", "dontsort", "gets")

    def __init__(self, args: list[bytes], readonly: bool) -> None:
        self.desc = False
        self.alpha = False
        self.start, self.count = 0, -1
        self.store: bytes | None = None
        self.by: Pattern | None = None
        self.dontsort = False
        self.gets: list[Pattern] = []
        slot = key_slot(args[1])
        n = len(args)
        j = 2
        while j < n:
            word = cstr(args[j]).lower()
            left = n - j - 1
            if word == b"asc":
                self.desc = False
            elif word == b"desc":
                self.desc = True
            elif word == b"alpha":
                self.alpha = True
            elif word == b"limit" and left >= 2:
                self.start = _long(args[j + 1])
                self.count = _long(args[j + 2])
                j += 2
            elif not readonly and word == b"store" and left >= 1:
                self.store = args[j + 1]
                j += 1
            elif word == b"by" and left >= 1:
                self._by(args[j + 1], slot)
                j += 1
            elif word == b"get" and left >= 1:
                pat = args[j + 1]
                if cstr(pat) != b"#" and pattern_slot(pat) != slot:
                    raise ReplyError(errors.SORT_GET_CLUSTER)
                self.gets.append(Pattern(pat))
                j += 1
            else:
                raise ReplyError(errors.SYNTAX)
            j += 1

    def _by(self, pat: bytes, slot: int) -> None:
        """BY: a pattern without '*' means "do not sort" (for good: a later BY with a
        '*' does not undo it); one with '*' must stay in the sorted key's slot."""
        if b"*" not in cstr(pat):
            self.dontsort = True
        elif pattern_slot(pat) != slot:
            raise ReplyError(errors.SORT_BY_CLUSTER)
        self.by = Pattern(pat)


def _long(arg: bytes) -> int:
    v = string2ll(arg)
    if v is None:
        raise ReplyError(errors.NOT_INTEGER)
    return v


def _window(start: int, count: int, n: int) -> tuple[int, int]:
    """LIMIT's (first, last) indexes, inclusive; last < first when nothing is selected."""
    start = min(max(start, 0), n)
    count = min(max(count, -1), n)
    end = n - 1 if count < 0 else start + count - 1
    if start >= n:
        start, end = n - 1, n - 2
    return start, min(end, n - 1)


# ---------------------------------------------------------------- weights and sorting


def _weight(value: bytes) -> float | None:
    """C's strtod on the C string of ``value``, as SORT accepts it: the whole string
    read, not NaN, no ERANGE (overflow, or an inexact result below DBL_MIN). None: refused."""
    s = cstr(value)
    v, n, erange = strtod(s)
    if n != len(s) or v != v:
        return None
    if erange or (0.0 < abs(v) < DBL_MIN and b"x" not in s.lower()):
        return None
    return v


def _sorted(ks: Keyspace, db: int, elems: list[bytes], o: SortOptions, by: Pattern | None,
            alpha: bool) -> list[bytes]:
    """``elems`` in SORT's order (see the module docstring)."""
    if not alpha:
        scores = []
        for e in elems:
            if by is None:
                w = _weight(e)
            else:
                v = by.lookup(ks, db, e)
                w = 0.0 if v is None else _weight(v)
            if w is None:
                raise ReplyError(errors.SORT_NOT_DOUBLE)
            scores.append(w)
        order = sorted(range(len(elems)), key=lambda i: (scores[i], elems[i]), reverse=o.desc)
        return [elems[i] for i in order]
    whole = o.store is not None  # STORE compares whole byte strings, strcoll stops at NUL
    if by is None:
        return sorted(elems, key=(None if whole else cstr), reverse=o.desc)
    keys = []
    for e in elems:
        v = by.lookup(ks, db, e)
        keys.append((0, b"") if v is None else (1, v if whole else cstr(v)))
    order = sorted(range(len(elems)), key=keys.__getitem__, reverse=o.desc)
    return [elems[i] for i in order]


# ---------------------------------------------------------------- loading the elements


def _source(ks: Keyspace, db: int, key: bytes) -> Coll | None:
    """The list, set or sorted set to sort; None when missing; WRONGTYPE otherwise."""
    t = ks.type_of(db, key)
    if t is None:
        return None
    if t not in (LIST, SET, ZSET):
        raise ReplyError(errors.WRONGTYPE)
    return ks.coll(db, key, t)


def _all(ks: Keyspace, c: Coll) -> list[bytes]:
    """Every element: a list in its order, a set and a sorted set in byte order."""
    if c.type == LIST:
        return [v for _, v in ks.mrange(c)]
    if c.type == SET:
        return members_of(ks, c)
    return [m for m, _ in ks.mrange(c)]


def _window_in_order(ks: Keyspace, c: Coll, first: int, last: int, desc: bool) -> list[bytes]:
    """A list's elements (or a sorted set's members, by score) of ranks first..last,
    counted from the tail with ``desc``."""
    if last < first:
        return []
    n = last - first + 1
    if c.type == LIST:
        if desc:
            lo, hi = c.b - 1 - last, c.b - first
        else:
            lo, hi = c.a + first, c.a + last + 1
        return lists._values(ks, c, lo, hi, reverse=desc)
    start = c.count - 1 - first if desc else first
    return [m for m, _ in ZSet(ks, c).items(start, n, reverse=desc)]


def _set_order(ks: Keyspace, c: Coll) -> list[bytes]:
    """A set's members as Redis iterates them: an intset in numeric order (a
    hashtable's order is unspecified: byte order here)."""
    members = members_of(ks, c)
    if c.enc == 0:
        members.sort(key=int)
    return members


def _selection(ks: Keyspace, db: int, c: Coll | None, o: SortOptions) -> list[bytes]:
    """The elements SORT outputs, in order, LIMIT applied."""
    if c is None:
        return []
    first, last = _window(o.start, o.count, c.count)
    dontsort, alpha, by = o.dontsort, o.alpha, o.by
    if dontsort and c.type == SET and o.store is not None:
        dontsort, alpha, by = False, True, None  # a stored result must not depend on set order
    if dontsort:
        if c.type == SET:
            return _set_order(ks, c)[first:last + 1]
        return _window_in_order(ks, c, first, last, o.desc)
    elems = _sorted(ks, db, _all(ks, c), o, by, alpha)
    return elems[first:last + 1]


# ---------------------------------------------------------------- the command


def sort_generic(ks: Keyspace, db: int, args: list[bytes], readonly: bool):
    """SORT / SORT_RO: the reply array, or the stored length with STORE."""
    o = SortOptions(args, readonly)
    c = _source(ks, db, args[1])
    if c is not None and c.type == ZSET and c.enc == 0:
        c.enc = 1  # Redis converts a listpack sorted set to a skiplist before sorting it
        ks.save_coll(c)
    elems = _selection(ks, db, c, o)
    if o.store is None:
        if not o.gets:
            return elems
        return [g.lookup(ks, db, e) for e in elems for g in o.gets]
    if o.gets:
        out = [g.lookup(ks, db, e) or b"" for e in elems for g in o.gets]
    else:
        out = elems
    return lists.store(ks, db, o.store, out, b"sortstore")


def sort(ks: Keyspace, db: int, args: list[bytes]):
    return sort_generic(ks, db, args, readonly=False)


def sort_ro(ks: Keyspace, db: int, args: list[bytes]):
    return sort_generic(ks, db, args, readonly=True)


def _sort_cross(coord, db: int, args: list[bytes]) -> int:
    """SORT ... STORE with the destination on another shard than the sorted key."""
    src, dst = sort_keys(args)
    plain = [args[0], args[1]]
    i = 2
    while i < len(args):
        word = cstr(args[i]).lower()
        n = _SKIP.get(word, 1 if word == b"store" and i + 1 < len(args) else 0)
        if word != b"store" or n == 0:
            plain.extend(args[i:i + n + 1])
        i += n + 1
    elems = coord.call(coord.shard_of(src), db, *plain)
    out = [b"" if e is None else e for e in elems]
    shard = coord.shard_of(dst)
    coord.call(shard, db, b"DEL", dst)
    if out:
        coord.call(shard, db, b"RPUSH", dst, *out)
    return len(out)


def register_cross(ops: dict) -> None:
    """SORT's cross-shard operation, run by the coordinator."""
    ops["sort"] = _sort_cross


_COMPLEXITY = ("O(N+M*log(M)) where N is the number of elements in the list or set to sort, "
               "and M the number of returned elements. When the elements are not sorted, "
               "complexity is O(N).")


def register(table: CommandTable) -> None:
    """SORT and SORT_RO, declared as Redis 7.0's COMMAND INFO describes them."""
    table.command("sort", -2, "write denyoom movablekeys", 1, 1, 1, group="generic",
                  summary="Sort the elements in a list, set or sorted set",
                  complexity=_COMPLEXITY, acl="@write @set @sortedset @list @slow @dangerous",
                  keys=sort_keys)(sort)
    table.command("sort_ro", -2, "readonly movablekeys", 1, 1, 1, group="generic",
                  since="7.0.0",
                  summary="Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
                  complexity=_COMPLEXITY, acl="@read @set @sortedset @list @slow @dangerous",
                  keys=lambda args: [args[1]])(sort_ro)
