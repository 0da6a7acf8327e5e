"""The list commands (non-blocking): LPUSH, LPOP, LRANGE, LINSERT, LMOVE, LMPOP ...

Layout: one member per element, suffix = ``pos_bytes(position)``, value = the
element. The head keeps ``c.a`` = position of the first element and ``c.b`` =
position after the last, so ``c.count == c.b - c.a``; a new list starts at
a = b = 0. Pushing at the head writes at a - 1, at the tail at b, so pushes,
pops, LINDEX and LSET are O(1) and LRANGE is one range scan whatever the length.
LINSERT and LREM renumber the shorter side of the list (O(N), as in Redis).
Lists need no encoding bookkeeping: Redis 7.0 reports every list as a quicklist.

The operations the blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP)
need are plain functions here: ``push``, ``pop``, ``move`` and ``mpop``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, cast

from shardis import errors
from shardis.args import cstr, int_arg
from shardis.commands import CommandTable
from shardis.notify import NOTIFY_GENERIC, NOTIFY_LIST
from shardis.resp import NIL_ARRAY, OK, NilArray, Raw, ReplyError, Simple, bulk_array, string2ll
from shardis.shardd.disk.coll import pos_bytes
from shardis.shardd.storage import LIST, Coll, Keyspace

LLONG_MIN = -(2**63)


# ---------------------------------------------------------------- argument parsing


def parse_side(arg: bytes) -> bool:
    """LEFT (True) or RIGHT (False), case-insensitive; anything else is a syntax error."""
    word = cstr(arg).lower()
    if word == b"left":
        return True
    if word == b"right":
        return False
    raise ReplyError(errors.SYNTAX)


def _bounded(arg: bytes, low: int, error: str) -> int:
    """An integer >= ``low``; ``error`` both when it does not parse and when it is
    too small (Redis' getRangeLongFromObjectOrReply with a message)."""
    v = string2ll(arg)
    if v is None or v < low:
        raise ReplyError(error)
    return v


def _positive(arg: bytes) -> int:
    """A count >= 0 (LPOP/RPOP): Redis gives one message for bad and negative values."""
    return _bounded(arg, 0, errors.LIST_COUNT_POSITIVE)


def lmpop_keys(args: list[bytes], numkeys_at: int = 1) -> list[bytes]:
    """The key arguments of LMPOP (and BLMPOP with ``numkeys_at=2``); ValueError when
    numkeys is not a valid count (the command answers the error where it runs)."""
    n = string2ll(args[numkeys_at])
    if n is None or n < 1 or numkeys_at + n + 1 >= len(args):
        raise ValueError("bad numkeys")
    return args[numkeys_at + 1:numkeys_at + 1 + n]


def parse_mpop(args: list[bytes], numkeys_at: int) -> tuple[bool, int, list[bytes]]:
    """LMPOP's (BLMPOP's: ``numkeys_at=2``) arguments -> (left, count, keys), with
    Redis' errors in Redis' order: numkeys, the side, then COUNT (at most once)."""
    numkeys = _bounded(args[numkeys_at], 1, errors.NUMKEYS_POSITIVE)
    where_at = numkeys_at + numkeys + 1
    if where_at >= len(args):
        raise ReplyError(errors.SYNTAX)
    left = parse_side(args[where_at])
    count = None
    j = where_at + 1
    while j < len(args):
        if count is None and cstr(args[j]).lower() == b"count" and j + 1 < len(args):
            count = _bounded(args[j + 1], 1, errors.MPOP_COUNT_POSITIVE)
            j += 2
        else:
            raise ReplyError(errors.SYNTAX)
    return left, 1 if count is None else count, args[numkeys_at + 1:where_at]


# ---------------------------------------------------------------- storage helpers


def _values(ks: Keyspace, c: Coll, lo: int, hi: int, reverse: bool = False) -> list[bytes]:
    """The elements at positions lo <= pos < hi (descending with ``reverse``)."""
    if lo >= hi:
        return []
    return ks.mvalues(c, pos_bytes(hi - 1 if reverse else lo), hi - lo, reverse)


def _iter_values(ks: Keyspace, c: Coll, from_tail: bool) -> Iterator[bytes]:
    """Every element, from the head or from the tail."""
    return (v for _, v in ks.mrange(c, pos_bytes(c.a), pos_bytes(c.b), from_tail))


def _writer(ks: Keyspace, c: Coll) -> Callable[[int, bytes], bool]:
    """A function(position, element) that writes (overwrites) one element."""
    put = ks.mcursor().put
    prefix = c.prefix
    return lambda pos, value: put(prefix + pos_bytes(pos), value)


def _delete_range(ks: Keyspace, c: Coll, lo: int, hi: int) -> None:
    """Delete the elements at positions lo <= pos < hi."""
    if lo >= hi:
        return
    cur = ks.mcursor()
    stop = c.prefix + pos_bytes(hi)
    if not cur.set_range(c.prefix + pos_bytes(lo)):
        return
    while cur.key() < stop and cur.key().startswith(c.prefix):
        if not cur.delete():
            break


def _push_values(ks: Keyspace, c: Coll, elements: list[bytes], left: bool) -> None:
    """Add ``elements`` one after another at the head (``left``) or the tail."""
    write = _writer(ks, c)
    if left:
        a = c.a
        for e in elements:
            a -= 1
            write(a, e)
        c.a = a
    else:
        b = c.b
        for e in elements:
            write(b, e)
            b += 1
        c.b = b
    c.count = c.b - c.a


def _pop_values(ks: Keyspace, c: Coll, left: bool, n: int) -> list[bytes]:
    """Remove up to ``n`` elements from one end; returns them in pop order."""
    n = min(n, c.count)
    if n == 1:  # the common case, without a cursor: one read, one delete
        pos = c.a if left else c.b - 1
        suffix = pos_bytes(pos)
        value = cast(bytes, ks.mget(c, suffix))  # (a list keeps positions a .. b-1)
        if c.count > 1:
            ks.mdel(c, suffix)
        if left:
            c.a += 1
        else:
            c.b -= 1
        c.count -= 1
        return [value]
    if left:
        lo, hi = c.a, c.a + n
    else:
        lo, hi = c.b - n, c.b
    out = _values(ks, c, lo, hi, reverse=not left)
    if n < c.count:  # otherwise save_coll drops the whole key with its members
        _delete_range(ks, c, lo, hi)
    if left:
        c.a = hi
    else:
        c.b = lo
    c.count -= n
    return out


def _insert_at(ks: Keyspace, c: Coll, index: int, value: bytes) -> None:
    """Insert ``value`` so that it becomes element ``index``, renumbering the shorter side."""
    write = _writer(ks, c)
    a = c.a
    if index <= c.count - index:
        # Shift elements [0, index) one position towards the head.
        for j, v in enumerate(_values(ks, c, a, a + index)):
            write(a - 1 + j, v)
        write(a - 1 + index, value)
        c.a = a - 1
    else:
        # Shift elements [index, count) one position towards the tail.
        for j, v in enumerate(_values(ks, c, a + index, c.b)):
            write(a + index + 1 + j, v)
        write(a + index, value)
        c.b += 1
    c.count += 1


def _remove_indexes(ks: Keyspace, c: Coll, hits: list[int]) -> None:
    """Remove the elements at the (distinct) ``hits`` indexes, compacting the shorter side."""
    n = c.count
    if len(hits) >= n:
        c.count = 0
        return
    removed = set(hits)
    lo, hi = min(hits), max(hits)
    write = _writer(ks, c)
    a = c.a
    if hi + 1 <= n - lo:
        # Survivors of [0, hi] move towards the tail, ending at index hi.
        vals = _values(ks, c, a, a + hi + 1)
        keep = [v for i, v in enumerate(vals) if i not in removed]
        start = a + hi + 1 - len(keep)
        for j, v in enumerate(keep):
            write(start + j, v)
        _delete_range(ks, c, a, start)
        c.a = start
    else:
        # Survivors of [lo, count) move towards the head, starting at index lo.
        vals = _values(ks, c, a + lo, c.b)
        keep = [v for i, v in enumerate(vals, lo) if i not in removed]
        for j, v in enumerate(keep):
            write(a + lo + j, v)
        end = a + lo + len(keep)
        _delete_range(ks, c, end, c.b)
        c.b = end
    c.count -= len(hits)


def _range(start: int, end: int, n: int) -> tuple[int, int] | None:
    """LRANGE's index rules: (first, last) inclusive within [0, n), None when empty."""
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return None
    return start, min(end, n - 1)


# ---------------------------------------------------------------- operations (also for blocking)


def push(ks: Keyspace, db: int, key: bytes, elements: list[bytes], left: bool,
         only_existing: bool = False) -> int:
    """LPUSH/RPUSH (LPUSHX/RPUSHX with ``only_existing``): the length after, 0 when
    ``only_existing`` and there is no list."""
    c = ks.coll(db, key, LIST)
    if c is None:
        if only_existing:
            return 0
        c = ks.new_coll(db, key, LIST)
    _push_values(ks, c, elements, left)
    ks.save_coll(c)
    ks.notify(NOTIFY_LIST, b"lpush" if left else b"rpush", db, key)
    return c.count


def store(ks: Keyspace, db: int, key: bytes, elements: list[bytes], event: bytes) -> int:
    """Replace ``key`` (any type) by a list of ``elements`` and report ``event`` (SORT's
    STORE); none deletes it (reported as "del" if there was one)."""
    existed = ks.delete(db, key)
    if elements:
        c = ks.new_coll(db, key, LIST, replacing=existed)
        _push_values(ks, c, elements, False)
        ks.save_coll(c)
        ks.notify(NOTIFY_LIST, event, db, key)
    elif existed:
        ks.notify(NOTIFY_GENERIC, b"del", db, key)
    return len(elements)


def pop(ks: Keyspace, db: int, key: bytes, left: bool, count: int) -> list[bytes] | None:
    """Pop up to ``count`` elements from one end of ``key``; None when there is no list.
    ``count`` 0 pops nothing (an empty list back)."""
    c = ks.coll(db, key, LIST)
    if c is None:
        return None
    if count == 0:
        return []
    out = _pop_values(ks, c, left, count)
    ks.notify(NOTIFY_LIST, b"lpop" if left else b"rpop", db, key)
    ks.save_coll(c)
    return out


def move(ks: Keyspace, db: int, src: bytes, dst: bytes, from_left: bool,
         to_left: bool) -> bytes | None:
    """LMOVE: pop one element from ``src``, push it onto ``dst`` and return it; None
    when ``src`` has no list. WRONGTYPE for ``dst`` comes before anything moves.
    With src == dst the list rotates (or stays as it is, for LEFT LEFT / RIGHT RIGHT).
    Events in Redis' order: the push onto ``dst``, then the pop from ``src``."""
    c = ks.coll(db, src, LIST)
    if c is None:
        return None
    pushed = b"lpush" if to_left else b"rpush"
    popped = b"lpop" if from_left else b"rpop"
    if src == dst:
        if c.count == 1:  # the element stays where it is (popping it would drop the key)
            value = ks.mget(c, pos_bytes(c.a))
        else:
            value = _pop_values(ks, c, from_left, 1)[0]
            _push_values(ks, c, [value], to_left)
        ks.save_coll(c)
        ks.notify(NOTIFY_LIST, pushed, db, dst)
        ks.notify(NOTIFY_LIST, popped, db, src)
        return value
    d = ks.coll_or_new(db, dst, LIST)
    value = _pop_values(ks, c, from_left, 1)[0]
    _push_values(ks, d, [value], to_left)
    ks.save_coll(d)
    ks.notify(NOTIFY_LIST, pushed, db, dst)
    ks.notify(NOTIFY_LIST, popped, db, src)
    ks.save_coll(c)
    return value


def mpop(ks: Keyspace, db: int, keys: list[bytes], left: bool, count: int) -> list | None:
    """LMPOP: [key, [elements]] from the first of ``keys`` that holds a list; None when
    none does. Keys are type-checked in order up to the one popped from."""
    for key in keys:
        c = ks.coll(db, key, LIST)
        if c is not None:
            out = _pop_values(ks, c, left, count)
            ks.notify(NOTIFY_LIST, b"lpop" if left else b"rpop", db, key)
            ks.save_coll(c)
            return [key, out]
    return None


def lpos(ks: Keyspace, db: int, key: bytes, element: bytes, rank: int, count: int | None,
         maxlen: int) -> int | list[int] | None:
    """LPOS over a parsed request: an index or None, or (with ``count``) a list of indexes.

    Redis 7.0 negates a negative RANK in a C long: RANK -2**63 stays negative, so every
    match qualifies and COUNT never stops the scan; that is reproduced."""
    from_tail = rank < 0
    limit = count or 0
    if rank == LLONG_MIN:
        rank, limit = 1, 0
    elif from_tail:
        rank = -rank
    c = ks.coll(db, key, LIST)
    if c is None:
        return None if count is None else []
    n = c.count
    found = []
    matches = 0
    for index, v in enumerate(_iter_values(ks, c, from_tail)):
        if maxlen and index >= maxlen:
            break
        if v == element:
            matches += 1
            if matches >= rank:
                found.append(n - index - 1 if from_tail else index)
                if count is None or (limit and len(found) >= limit):
                    break
    if count is None:
        return found[0] if found else None
    return found


# ---------------------------------------------------------------- the commands


def lpush(ks: Keyspace, db: int, args: list[bytes]) -> int:
    if len(args) == 3:  # one element: the inline path, when it applies
        n = ks.push_one(db, args[1], args[2], True)
        if n is not None:
            return n
    return push(ks, db, args[1], args[2:], True)


def rpush(ks: Keyspace, db: int, args: list[bytes]) -> int:
    if len(args) == 3:
        n = ks.push_one(db, args[1], args[2], False)
        if n is not None:
            return n
    return push(ks, db, args[1], args[2:], False)


def lpushx(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return push(ks, db, args[1], args[2:], True, only_existing=True)


def rpushx(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return push(ks, db, args[1], args[2:], False, only_existing=True)


# LPOP's and RPOP's reply: an element or nil without a count, an array or a nil array with one.
PopReply = bytes | list[bytes] | NilArray | None


def pop_command(ks: Keyspace, db: int, args: list[bytes], left: bool) -> PopReply:
    """LPOP/RPOP key [count]: one element (or nil) without count, an array (or a
    nil array) with it."""
    if len(args) > 3:
        raise ReplyError(errors.WRONG_ARITY % args[0].decode(errors="replace").lower())
    if len(args) == 2:
        out = pop(ks, db, args[1], left, 1)
        return out[0] if out else None
    out = pop(ks, db, args[1], left, _positive(args[2]))
    return NIL_ARRAY if out is None else out


def lpop(ks: Keyspace, db: int, args: list[bytes]) -> PopReply:
    if len(args) == 2:  # no count: the inline path, when it applies
        v = ks.pop_one(db, args[1], True)
        if v is not None:
            return v
    return pop_command(ks, db, args, True)


def rpop(ks: Keyspace, db: int, args: list[bytes]) -> PopReply:
    if len(args) == 2:
        v = ks.pop_one(db, args[1], False)
        if v is not None:
            return v
    return pop_command(ks, db, args, False)


def llen(ks: Keyspace, db: int, args: list[bytes]) -> int:
    c = ks.coll(db, args[1], LIST)
    return 0 if c is None else c.count


def lrange(ks: Keyspace, db: int, args: list[bytes]) -> Raw | list[bytes]:
    start, end = int_arg(args[2]), int_arg(args[3])
    c = ks.coll(db, args[1], LIST)
    if c is None:
        return []
    r = _range(start, end, c.count)
    if r is None:
        return []
    return bulk_array(_values(ks, c, c.a + r[0], c.a + r[1] + 1))


def lindex(ks: Keyspace, db: int, args: list[bytes]) -> bytes | None:
    c = ks.coll(db, args[1], LIST)
    if c is None:
        return None
    i = int_arg(args[2])  # Redis reads the index after the key
    if i < 0:
        i += c.count
    if not 0 <= i < c.count:
        return None
    return ks.mget(c, pos_bytes(c.a + i))


def lset(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    c = ks.coll(db, args[1], LIST)
    if c is None:
        raise ReplyError(errors.NO_SUCH_KEY)
    i = int_arg(args[2])
    if i < 0:
        i += c.count
    if not 0 <= i < c.count:
        raise ReplyError(errors.INDEX_OUT_OF_RANGE)
    ks.mput(c, pos_bytes(c.a + i), args[3])
    ks.save_coll(c)
    ks.notify(NOTIFY_LIST, b"lset", db, args[1])
    return OK


def linsert(ks: Keyspace, db: int, args: list[bytes]) -> int:
    where = cstr(args[2]).lower()
    if where not in (b"before", b"after"):
        raise ReplyError(errors.SYNTAX)
    c = ks.coll(db, args[1], LIST)
    if c is None:
        return 0
    pivot = args[3]
    found = next((i for i, v in enumerate(_iter_values(ks, c, False)) if v == pivot), None)
    if found is None:
        return -1
    _insert_at(ks, c, found if where == b"before" else found + 1, args[4])
    ks.save_coll(c)
    ks.notify(NOTIFY_LIST, b"linsert", db, args[1])
    return c.count


def lrem(ks: Keyspace, db: int, args: list[bytes]) -> int:
    """LREM key count element: count > 0 from the head, < 0 from the tail, 0 all."""
    count = int_arg(args[2])
    c = ks.coll(db, args[1], LIST)
    if c is None:
        return 0
    element, n = args[3], c.count
    from_tail = count < 0
    limit = abs(count)
    hits = []
    for i, v in enumerate(_iter_values(ks, c, from_tail)):
        if v == element:
            hits.append(n - 1 - i if from_tail else i)
            if len(hits) == limit:
                break
    if not hits:
        return 0
    _remove_indexes(ks, c, hits)
    ks.notify(NOTIFY_LIST, b"lrem", db, args[1])
    ks.save_coll(c)
    return len(hits)


def ltrim(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    start, end = int_arg(args[2]), int_arg(args[3])
    c = ks.coll(db, args[1], LIST)
    if c is None:
        return OK
    r = _range(start, end, c.count)
    if r is None:
        c.count = 0  # nothing kept: save_coll deletes the key
    else:
        keep_lo, keep_hi = c.a + r[0], c.a + r[1] + 1
        if keep_hi - keep_lo < c.count:
            _delete_range(ks, c, c.a, keep_lo)
            _delete_range(ks, c, keep_hi, c.b)
        c.a, c.b = keep_lo, keep_hi
        c.count = keep_hi - keep_lo
    ks.notify(NOTIFY_LIST, b"ltrim", db, args[1])
    ks.save_coll(c)  # Redis counts even a no-op trim as a change of the key
    return OK


def lpos_command(ks: Keyspace, db: int, args: list[bytes]) -> int | list[int] | None:
    """LPOS key element [RANK r] [COUNT n] [MAXLEN m]; options parsed in order, each
    error as soon as it is met, before the key is read."""
    rank, count, maxlen = 1, None, 0
    j, n = 3, len(args)
    while j < n:
        opt = cstr(args[j]).lower()
        if j + 1 >= n or opt not in (b"rank", b"count", b"maxlen"):
            raise ReplyError(errors.SYNTAX)
        j += 1
        if opt == b"rank":
            rank = int_arg(args[j])
            if rank == 0:
                raise ReplyError(errors.LPOS_RANK_ZERO)
        elif opt == b"count":
            count = _bounded(args[j], 0, errors.LPOS_COUNT_NEGATIVE)
        else:
            maxlen = _bounded(args[j], 0, errors.LPOS_MAXLEN_NEGATIVE)
        j += 1
    return lpos(ks, db, args[1], args[2], rank, count, maxlen)


def lmove(ks: Keyspace, db: int, args: list[bytes]) -> bytes | None:
    from_left, to_left = parse_side(args[3]), parse_side(args[4])
    return move(ks, db, args[1], args[2], from_left, to_left)


def rpoplpush(ks: Keyspace, db: int, args: list[bytes]) -> bytes | None:
    return move(ks, db, args[1], args[2], False, True)


def lmpop(ks: Keyspace, db: int, args: list[bytes]) -> list[Any] | NilArray:
    left, count, keys = parse_mpop(args, 1)
    out = mpop(ks, db, keys, left, count)
    return NIL_ARRAY if out is None else out


# ---------------------------------------------------------------- the command table

_PUSH_COST = ("O(1) for each element added, so O(N) to add N elements when the command "
              "is called with multiple arguments.")
_POP_COST = "O(N) where N is the number of elements returned"


def register(table: CommandTable) -> None:
    """The list commands, each declared as Redis 7.0's COMMAND INFO describes it."""
    cmd = table.command
    cmd("lpush", -3, "write denyoom fast", 1, 1, 1, group="list", since="1.0.0",
        complexity=_PUSH_COST, summary="Prepend one or multiple elements to a list",
        acl="@write @list @fast")(lpush)
    cmd("rpush", -3, "write denyoom fast", 1, 1, 1, group="list", since="1.0.0",
        complexity=_PUSH_COST, summary="Append one or multiple elements to a list",
        acl="@write @list @fast")(rpush)
    cmd("lpushx", -3, "write denyoom fast", 1, 1, 1, group="list", since="2.2.0",
        complexity=_PUSH_COST, summary="Prepend an element to a list, only if the list exists",
        acl="@write @list @fast")(lpushx)
    cmd("rpushx", -3, "write denyoom fast", 1, 1, 1, group="list", since="2.2.0",
        complexity=_PUSH_COST, summary="Append an element to a list, only if the list exists",
        acl="@write @list @fast")(rpushx)
    cmd("lpop", -2, "write fast", 1, 1, 1, group="list", since="1.0.0", complexity=_POP_COST,
        summary="Remove and get the first elements in a list", acl="@write @list @fast")(lpop)
    cmd("rpop", -2, "write fast", 1, 1, 1, group="list", since="1.0.0", complexity=_POP_COST,
        summary="Remove and get the last elements in a list", acl="@write @list @fast")(rpop)
    cmd("llen", 2, "readonly fast", 1, 1, 1, group="list", since="1.0.0", complexity="O(1)",
        summary="Get the length of a list", acl="@read @list @fast")(llen)
    cmd("lrange", 4, "readonly", 1, 1, 1, group="list", since="1.0.0",
        complexity="O(S+N) where S is the distance of start offset from HEAD for small "
                   "lists, from nearest end (HEAD or TAIL) for large lists; and N is the "
                   "number of elements in the specified range.",
        summary="Get a range of elements from a list", acl="@read @list @slow")(lrange)
    cmd("lindex", 3, "readonly", 1, 1, 1, group="list", since="1.0.0",
        complexity="O(N) where N is the number of elements to traverse to get to the element "
                   "at index. This makes asking for the first or the last element of the list "
                   "O(1).",
        summary="Get an element from a list by its index", acl="@read @list @slow")(lindex)
    cmd("lset", 4, "write denyoom", 1, 1, 1, group="list", since="1.0.0",
        complexity="O(N) where N is the length of the list. Setting either the first or the "
                   "last element of the list is O(1).",
        summary="Set the value of an element in a list by its index", acl="@write @list @slow")(lset)
    cmd("linsert", 5, "write denyoom", 1, 1, 1, group="list", since="2.2.0",
        complexity="O(N) where N is the number of elements to traverse before seeing the value "
                   "pivot. This means that inserting somewhere on the left end on the list "
                   "(head) can be considered O(1) and inserting somewhere on the right end "
                   "(tail) is O(N).",
        summary="Insert an element before or after another element in a list",
        acl="@write @list @slow")(linsert)
    cmd("lrem", 4, "write", 1, 1, 1, group="list", since="1.0.0",
        complexity="O(N+M) where N is the length of the list and M is the number of elements "
                   "removed.",
        summary="Remove elements from a list", acl="@write @list @slow")(lrem)
    cmd("ltrim", 4, "write", 1, 1, 1, group="list", since="1.0.0",
        complexity="O(N) where N is the number of elements to be removed by the operation.",
        summary="Trim a list to the specified range", acl="@write @list @slow")(ltrim)
    cmd("lpos", -3, "readonly", 1, 1, 1, group="list", since="6.0.6",
        complexity="O(N) where N is the number of elements in the list, for the average case. "
                   "When searching for elements near the head or the tail of the list, or when "
                   "the MAXLEN option is provided, the command may run in constant time.",
        summary="Return the index of matching elements on a list", acl="@read @list @slow")(lpos_command)
    cmd("lmove", 5, "write denyoom", 1, 2, 1, group="list", since="6.2.0", complexity="O(1)",
        summary="Pop an element from a list, push it to another list and return it",
        acl="@write @list @slow")(lmove)
    cmd("rpoplpush", 3, "write denyoom", 1, 2, 1, group="list", since="1.2.0", complexity="O(1)",
        summary="Remove the last element in a list, prepend it to another list and return it",
        acl="@write @list @slow")(rpoplpush)
    cmd("lmpop", -4, "write movablekeys", 0, 0, 0, group="list", since="7.0.0",
        complexity="O(N+M) where N is the number of provided keys and M is the number of "
                   "elements returned.",
        summary="Pop elements from a list", acl="@write @list @slow", keys=lmpop_keys)(lmpop)
