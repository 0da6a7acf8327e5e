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
or LIMIT's integer error; then WRONGTYPE when the key is not a list, set or sorted
set; then the conversion error.

Across shards (shardis is standalone, as Redis is, so every pattern works): a BY/GET
pattern names other keys, which may lie on other shards. ``sort_reach`` tells the router
where they can lie: nowhere for ``GET #``, a pattern without ``*`` and the BY of a
``BY nosort`` sort; in one slot when the part before the ``*`` holds a whole non-empty
``{tag}`` (every key formed then has that tag); anywhere otherwise. When those keys,
the sorted key and the STORE destination are all on one shard, SORT runs there. Else
the coordinator runs it in one round (``cross_sort``), with the same code: the source
shard loads the elements (``__sortload``: options, WRONGTYPE, and the whole sort when
no BY values are needed), each shard holding BY keys reads them in one message
(``__sortget``), the coordinator sorts, reads the GET keys the same way, and the
destination's shard stores the result (``__sortstore``). Every shard it touched stays
locked until the round commits, so no client sees a part of it; keymiss events come
from the shards that looked for the keys, as Redis reports them.

Side effect kept from Redis: SORT (and SORT_RO) converts a listpack sorted set to a
skiplist (OBJECT ENCODING), as Redis converts it in place before reading it.

Where Redis' answer depends on its memory layout, shardis answers otherwise (both
are unspecified to clients): a hashtable set, and a sorted set being sorted, are
loaded in byte order (Redis: their hash table's order), which shows with a set's BY
nosort and in ALPHA ties under a BY pattern; with BY and a LIMIT, Redis' partial
quicksort may order ALPHA ties differently (a list's too). Redis reads weights with
strtod without clearing errno first, so after any out-of-range float it parsed (a
weight, ZADD 1e400 ...) it can refuse later SORTs; shardis does not copy that.
"""

from __future__ import annotations

from typing import Callable, cast

from shardis import errors
from shardis.args import cstr
from shardis.commands import INTERNAL, CommandTable, CrossOp, Round
from shardis.resp import ReplyError, string2ll
from shardis.shardd import lists
from shardis.shardd.sets import members_of
from shardis.shardd.disk.keys import HASH, LIST, SET, ZSET
from shardis.shardd.storage import Coll, Keyspace
from shardis.shardd.zsets import ZSet, strtod

DBL_MIN = 2.2250738585072014e-308


# Options followed by arguments, for finding STORE's key as Redis' sortGetKeys does.
_SKIP = {b"limit": 2, b"get": 1, b"by": 1}

# fetch(patterns, elements) -> for each element, each pattern's value (None: missing):
# where BY and GET values come from, this shard's keyspace or every shard's (cross_sort).
Fetch = Callable[[list["Pattern"], list[bytes]], list[list[bytes | None]]]


# ---------------------------------------------------------------- keys and where they lie


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


def sort_reach(args: list[bytes], readonly: bool = False) -> list[bytes] | None:
    """The keys a SORT reads besides its key arguments, as one key in the slot of each
    pattern that forms some (its tag); None when a pattern's keys may lie in any slot.
    A SORT its options refuse reaches nothing (it answers its error wherever it runs)."""
    try:
        o = SortOptions(args, readonly)
    except ReplyError:
        return []
    patterns = list(o.gets)
    if o.by is not None and not o.dontsort:  # (nosort never reads its BY)
        patterns.append(o.by)
    out = []
    for p in patterns:
        if p.self_ or p.const:
            continue
        tag = p.tag()
        if tag is None:
            return None
        out.append(tag)
    return out


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

    def key(self, element: bytes) -> bytes:
        return self.prefix + element + self.postfix

    def tag(self) -> bytes | None:
        """``{tag}`` when every key this pattern forms hashes to that tag's slot: the first
        '{' and the first '}' after it lie before the '*' with something between them
        (else the element decides the slot): None."""
        pre = self.prefix
        s = pre.find(b"{")
        e = pre.find(b"}", s + 1) if s >= 0 else -1
        return pre[s:e + 1] if e > s + 1 else None

    def lookup(self, ks: Keyspace, db: int, element: bytes) -> bytes | None:
        """The value this pattern names for ``element`` (see ``read``)."""
        if self.self_:
            return element
        if self.const:
            return None
        return read(ks, db, self.key(element), self.field)


def read(ks: Keyspace, db: int, key: bytes, field: bytes | None) -> bytes | None:
    """A pattern's key as SORT reads it: a string's value, or a hash's ``field``; None
    when missing or of another type."""
    try:
        if field is None:
            return ks.get_string(db, key)
        c = ks.coll(db, key, HASH)
    except ReplyError:  # WRONGTYPE: Redis reads it as missing
        return None
    return None if c is None else ks.mget(c, field)


def local_fetch(ks: Keyspace, db: int) -> Fetch:
    """Pattern values from this keyspace, element by element as Redis reads them."""
    def fetch(patterns: list[Pattern], elems: list[bytes]) -> list[list[bytes | None]]:
        return [[p.lookup(ks, db, e) for p in patterns] for e in elems]
    return fetch


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
                # A pattern without '*' means "do not sort", for good: a later BY with a
                # '*' does not undo it.
                if b"*" not in cstr(args[j + 1]):
                    self.dontsort = True
                self.by = Pattern(args[j + 1])
                j += 1
            elif word == b"get" and left >= 1:
                self.gets.append(Pattern(args[j + 1]))
                j += 1
            else:
                raise ReplyError(errors.SYNTAX)
            j += 1


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


def _sorted(elems: list[bytes], values: list[bytes | None] | None, o: SortOptions,
            alpha: bool) -> list[bytes]:
    """``elems`` in SORT's order (see the module docstring), by their BY ``values``, or
    by themselves when ``values`` is None."""
    whole = o.store is not None  # STORE compares whole byte strings, strcoll stops at NUL
    if values is None:
        if alpha:
            return sorted(elems, key=(None if whole else cstr), reverse=o.desc)
        scores = [_weight(e) for e in elems]
    elif alpha:
        keys = [(0, b"") if v is None else (1, v if whole else cstr(v)) for v in values]
        order = sorted(range(len(elems)), key=keys.__getitem__, reverse=o.desc)
        return [elems[i] for i in order]
    else:
        scores = [0.0 if v is None else _weight(v) for v in values]
    if None in scores:
        raise ReplyError(errors.SORT_NOT_DOUBLE)
    order = sorted(range(len(elems)), key=lambda i: (scores[i], elems[i]), reverse=o.desc)
    return [elems[i] for i in order]


# ---------------------------------------------------------------- loading the elements


def _source(ks: Keyspace, db: int, key: bytes) -> Coll | None:
    """The list, set or sorted set to sort; None when missing; WRONGTYPE otherwise.
    Redis converts a listpack sorted set to a skiplist before sorting it: so here."""
    t = ks.type_of(db, key)
    if t is None:
        return None
    if t not in (LIST, SET, ZSET):
        raise ReplyError(errors.WRONGTYPE)
    c = cast(Coll, ks.coll(db, key, t))  # (the key is live, of type t)
    if c.type == ZSET and c.enc == 0:
        c.enc = 1
        ks.save_coll(c)
    return c


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


def _load(ks: Keyspace, c: Coll | None, o: SortOptions) -> tuple[bool, list[bytes]]:
    """(weighed, elements): when SORT needs its BY pattern's values (weighed), every
    element in load order, for ``_finish``; else the output elements already, in
    order, LIMIT applied (nothing outside the source is read for them)."""
    if c is None:
        return False, []
    first, last = _window(o.start, o.count, c.count)
    dontsort, alpha, by = o.dontsort, o.alpha, o.by
    if dontsort and c.type == SET and o.store is not None:
        dontsort, alpha, by = False, True, None  # a stored result must not depend on set order
    if dontsort:
        if c.type == SET:
            return False, _set_order(ks, c)[first:last + 1]
        return False, _window_in_order(ks, c, first, last, o.desc)
    if by is not None:
        return True, _all(ks, c)
    return False, _sorted(_all(ks, c), None, o, alpha)[first:last + 1]


def _finish(elems: list[bytes], o: SortOptions, fetch: Fetch) -> list[bytes]:
    """The loaded elements sorted by their BY values, LIMIT applied (``o.by`` is set)."""
    values = [row[0] for row in fetch([cast(Pattern, o.by)], elems)]
    first, last = _window(o.start, o.count, len(elems))
    return _sorted(elems, values, o, o.alpha)[first:last + 1]


def _output(elems: list[bytes], o: SortOptions, fetch: Fetch) -> list:
    """What SORT answers or stores for its output elements: themselves, or each GET
    pattern's value for each (nil; an empty string when stored)."""
    if not o.gets:
        return elems
    out = [v for row in fetch(o.gets, elems) for v in row]
    if o.store is not None:
        return [b"" if v is None else v for v in out]
    return out


# ---------------------------------------------------------------- the command


def sort_generic(ks: Keyspace, db: int, args: list[bytes], readonly: bool) -> list[bytes | None] | int:
    """SORT / SORT_RO with every key on this shard: the reply array, or the stored length
    with STORE."""
    o = SortOptions(args, readonly)
    weighed, elems = _load(ks, _source(ks, db, args[1]), o)
    fetch = local_fetch(ks, db)
    if weighed:
        elems = _finish(elems, o, fetch)
    out = _output(elems, o, fetch)
    if o.store is None:
        return out
    return lists.store(ks, db, o.store, out, b"sortstore")


def sort(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes | None] | int:
    return sort_generic(ks, db, args, readonly=False)


def sort_ro(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes | None] | int:
    return sort_generic(ks, db, args, readonly=True)


# ---------------------------------------------------------------- across shards


def sort_load(ks: Keyspace, db: int, args: list[bytes]) -> list[int | list[bytes]]:
    """``__sortload key option ...`` (SORT's arguments after its name): [weighed,
    elements] of ``_load``, on the sorted key's shard; WRONGTYPE as SORT answers it."""
    o = SortOptions(args, readonly=False)  # (SORT_RO's were checked by the coordinator)
    weighed, elems = _load(ks, _source(ks, db, args[1]), o)
    return [int(weighed), elems]


def sort_get(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes | None]:
    """``__sortget key field [key field ...]``: each key's value as a BY/GET pattern
    reads it (an empty field: the key's string value)."""
    return [read(ks, db, args[i], args[i + 1] or None) for i in range(1, len(args) - 1, 2)]


def sort_store(ks: Keyspace, db: int, args: list[bytes]) -> int:
    """``__sortstore key [element ...]``: STORE's write, on the destination's shard."""
    return lists.store(ks, db, args[1], args[2:], b"sortstore")


def remote_fetch(coord: Round, db: int) -> Fetch:
    """Pattern values from the shards holding the keys: one ``__sortget`` per shard,
    every shard's at once."""
    def fetch(patterns: list[Pattern], elems: list[bytes]) -> list[list[bytes | None]]:
        rows: list[list[bytes | None]] = [[None] * len(patterns) for _ in elems]
        asks: dict[int, list[bytes]] = {}
        cells: dict[int, list[tuple[list, int]]] = {}
        for e, row in zip(elems, rows):
            for j, p in enumerate(patterns):
                if p.self_:
                    row[j] = e
                elif not p.const:
                    key = p.key(e)
                    shard = coord.shard_of(key)
                    ask = asks.get(shard)
                    if ask is None:
                        ask = asks[shard] = [b"__sortget"]
                        cells[shard] = []
                    ask.append(key)
                    ask.append(p.field or b"")
                    cells[shard].append((row, j))
        if asks:
            for shard, values in coord.call_each(db, asks).items():
                for (row, j), v in zip(cells[shard], values):
                    row[j] = v
        return rows
    return fetch


def cross_sort(coord: Round, db: int, args: list[bytes], readonly: bool) -> list[bytes | None] | int:
    """SORT / SORT_RO whose keys (sorted key, STORE destination, pattern keys) may lie on
    several shards, run by the coordinator inside its round (see the module docstring)."""
    o = SortOptions(args, readonly)  # (refused before any shard is asked, as Redis does)
    weighed, elems = coord.call(coord.shard_of(args[1]), db, b"__sortload", *args[1:])
    fetch = remote_fetch(coord, db)
    if weighed:
        elems = _finish(elems, o, fetch)
    out = _output(elems, o, fetch)
    if o.store is None:
        return out
    return coord.call(coord.shard_of(o.store), db, b"__sortstore", o.store, *out)


def register_cross(ops: dict[str, CrossOp]) -> None:
    """SORT's and SORT_RO's cross-shard operations, run by the coordinator."""
    ops["sort"] = lambda coord, db, args: cross_sort(coord, db, args, False)
    ops["sort_ro"] = lambda coord, db, args: cross_sort(coord, db, args, True)


# ---------------------------------------------------------------- the command table

_COMPLEXITY = ("O(N+M*log(M)) where N is the number of elements in the list or set to sort, "
               "and M the number of returned elements. When the elements are not sorted, "
               "complexity is O(N).")


def register(table: CommandTable) -> None:
    """SORT and SORT_RO, declared as Redis 7.0's COMMAND INFO describes them; ``reach``
    says where their patterns' keys may lie (the router routes by it)."""
    table.command("sort", -2, "write denyoom movablekeys", 1, 1, 1, group="generic",
                  summary="Sort the elements in a list, set or sorted set",
                  complexity=_COMPLEXITY, acl="@write @set @sortedset @list @slow @dangerous",
                  keys=sort_keys, reach=sort_reach)(sort)
    table.command("sort_ro", -2, "readonly movablekeys", 1, 1, 1, group="generic",
                  since="7.0.0",
                  summary="Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
                  complexity=_COMPLEXITY, acl="@read @set @sortedset @list @slow @dangerous",
                  keys=lambda args: [args[1]],
                  reach=lambda args: sort_reach(args, readonly=True))(sort_ro)


def register_internal(table: CommandTable) -> None:
    """The shard-side steps of ``cross_sort``: registered late, see ``build_table``
    (shardis/assembly.py)."""
    cmd = table.command
    cmd("__sortload", -2, "readonly", 1, 1, 1, route=INTERNAL, group="generic",
        summary="__sortload key [option ...]: [weighed, elements] for a SORT across shards")(
        sort_load)
    cmd("__sortget", -1, "readonly", route=INTERNAL, group="generic",
        summary="__sortget [key field ...]: the values SORT's patterns name")(sort_get)
    cmd("__sortstore", -2, "write", 1, 1, 1, route=INTERNAL, group="generic",
        summary="__sortstore key [element ...]: SORT's STORE")(sort_store)
