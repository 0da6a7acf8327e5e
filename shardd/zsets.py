"""The sorted set commands (Redis 7.0, all but the blocking BZPOPMIN/BZPOPMAX/BZMPOP).

How a sorted set is stored, its rank structure (a skip list) included, is
``shardd.disk.zset``'s: this module calls its ``ZSet`` and never builds an entry.
``c.enc`` becomes 1 (skiplist) once the set has had more than 128 members or a
member longer than 64 bytes, as Redis converts its listpack then (and never back).

BYLEX ranges: Redis documents them for sets whose members all have one score; there
they are range scans here. With mixed scores Redis' answer depends on its encoding;
this module then walks the set as Redis walks a listpack (O(N)).

Known limit: LMDB keys hold at most 511 bytes, so members longer than ``MAX_MEMBER``
(493) bytes are refused with an error before anything is written (Redis takes them).

``pop(ks, db, key, use_max, count)`` is the plain pop the blocking commands can call.
"""

from __future__ import annotations

import random
import re
from typing import Any, Callable, Iterable, Iterator, cast

from shardis import errors
from shardis.args import compile_glob, cstr, int_arg, scan_cursor, scan_options
from shardis.commands import CommandTable
from shardis.notify import NOTIFY_GENERIC, NOTIFY_ZSET
from shardis.resp import NIL_ARRAY, NilArray, Pairs, ReplyError, format_double
from shardis.shardd.disk.coll import MAX_MEMBER
from shardis.shardd.disk.zset import ZSet, bytes_score, just_after, next_score, score_bytes, sort_key
from shardis.shardd.storage import SET, ZSET, Coll, Keyspace

LONG_MAX = 2**63 - 1

INF = float("inf")
_LL_HALF = float(LONG_MAX // 2)   # (double)(LLONG_MAX/2): 2**62


# ---------------------------------------------------------------- numbers


_STRTOD = re.compile(
    rb"[ \t\n\v\f\r]*([+-]?)(?:"
    rb"(0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)"
    rb"|((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    rb"|(inf(?:inity)?)"
    rb"|(nan(?:\([0-9A-Za-z_]*\))?))", re.IGNORECASE)


def strtod(s: bytes) -> tuple[float, int, bool]:
    """C's strtod on ``s``: (value, bytes consumed, ERANGE). Nothing parsed: (0.0, 0, False)."""
    m = _STRTOD.match(s)
    if m is None:
        return 0.0, 0, False
    neg = m[1] == b"-"
    if m[2]:
        try:
            v = float.fromhex(m[2].decode())
        except OverflowError:
            v = INF
        mantissa = m[2].strip(b"0xX.").split(b"p")[0].split(b"P")[0]
        erange = v == INF or (v == 0.0 and mantissa.strip(b"0.") != b"")
    elif m[3]:
        v = float(m[3])
        mant = re.split(rb"[eE]", m[3])[0]
        erange = v == INF or (v == 0.0 and mant.strip(b"0.") != b"")
    elif m[4]:
        v, erange = INF, False
    else:
        v, erange = float("nan"), False
    return (-v if neg else v), m.end(), erange


def parse_score(arg: bytes, error: str = errors.NOT_FLOAT) -> float:
    """getDoubleFromObject: the whole argument is one double, no leading space, no NaN,
    no overflow or underflow to zero."""
    if not arg or arg[0] in b" \t\n\v\f\r":
        raise ReplyError(error)
    v, n, erange = strtod(arg)
    if n != len(arg) or v != v or (erange and (v in (INF, -INF) or v == 0.0)):
        raise ReplyError(error)
    return v


def _range_item(arg: bytes) -> tuple[float, bool]:
    """One bound of zslParseRange: ``(`` makes it exclusive; strtod up to the C string's end."""
    s = cstr(arg)
    ex = s[:1] == b"("
    if ex:
        s = s[1:]
    v, n, _ = strtod(s)
    if n != len(s) or v != v:
        raise ReplyError(errors.Z_MINMAX_NOT_FLOAT)
    return v, ex


def score_bounds(min_arg: bytes, max_arg: bytes) -> tuple[bytes, bytes]:
    """A score range as sort-key bounds [lo, hi): elements with lo <= sort key < hi."""
    lo, lo_ex = _range_item(min_arg)
    hi, hi_ex = _range_item(max_arg)
    lo_b = score_bytes(lo)
    hi_b = score_bytes(hi)
    return (next_score(lo_b) if lo_ex else lo_b), (hi_b if hi_ex else next_score(hi_b))


_MIN, _MAX = object(), object()

# A bound of a lex range: (member, exclusive), the member _MIN or _MAX for - and +.
LexBound = tuple[Any, bool]
LexRange = tuple[LexBound, LexBound]  # (min, max)


def _lex_item(arg: bytes) -> LexBound:
    """One bound of zslParseLexRange: ``-``, ``+``, ``[member`` or ``(member``."""
    c = arg[:1]
    if c in (b"+", b"-"):
        if arg[1:2] not in (b"", b"\0"):
            raise ReplyError(errors.Z_MINMAX_NOT_LEX)
        return (_MAX if c == b"+" else _MIN), True
    if c == b"(":
        return arg[1:], True
    if c == b"[":
        return arg[1:], False
    raise ReplyError(errors.Z_MINMAX_NOT_LEX)


def parse_lex(min_arg: bytes, max_arg: bytes) -> LexRange:
    return _lex_item(min_arg), _lex_item(max_arg)


def lex_bounds(lex: LexRange, score: bytes) -> tuple[bytes, bytes]:
    """A lex range as sort-key bounds [lo, hi) within the score whose encoding is ``score``."""
    (lo, lo_ex), (hi, hi_ex) = lex
    nxt = next_score(score)
    if lo is _MIN:
        lo_k = score
    elif lo is _MAX:
        lo_k = nxt
    else:
        lo_k = just_after(sort_key(score, lo)) if lo_ex else sort_key(score, lo)
    if hi is _MAX:
        hi_k = nxt
    elif hi is _MIN:
        hi_k = score
    else:
        hi_k = sort_key(score, hi) if hi_ex else just_after(sort_key(score, hi))
    return lo_k, hi_k


def _gte_min(m: bytes, lex: LexRange) -> bool:
    lo, ex = lex[0]
    if lo is _MIN:
        return True
    if lo is _MAX:
        return False
    return m > lo if ex else m >= lo


def _lte_max(m: bytes, lex: LexRange) -> bool:
    hi, ex = lex[1]
    if hi is _MAX:
        return True
    if hi is _MIN:
        return False
    return m < hi if ex else m <= hi


def lex_walk(items: list[tuple[bytes, float]], lex: LexRange, reverse: bool, offset: int = 0,
             limit: int = -1) -> list[tuple[bytes, float]]:
    """Redis' listpack walk for a lex range over ``items`` (score order): from the first
    element past the near bound (nothing if it is beyond the far one), ``offset``
    elements skipped unchecked (as Redis skips them), then while within the far bound,
    at most ``limit`` (negative: no limit). Only used when the scores differ, where
    Redis leaves the result unspecified; with one score it is a range."""
    if not items or not _gte_min(items[-1][0], lex) or not _lte_max(items[0][0], lex):
        return []
    near, far = (_lte_max, _gte_min) if reverse else (_gte_min, _lte_max)
    seq = items[::-1] if reverse else items
    start = next((i for i, (m, _) in enumerate(seq) if near(m, lex)), None)
    if start is None or not far(seq[start][0], lex):
        return []
    out: list[tuple[bytes, float]] = []
    for m, s in seq[start + offset:]:
        if len(out) == limit or not far(m, lex):
            break
        out.append((m, s))
    return out


def _long(arg: bytes) -> int:
    return int_arg(arg)


def _ranged_long(arg: bytes, lo: int, hi: int, msg: str) -> int:
    """getRangeLongFromObjectOrReply with its message for both failures."""
    try:
        v = int_arg(arg)
    except ReplyError:
        raise ReplyError(msg) from None
    if not lo <= v <= hi:
        raise ReplyError(msg)
    return v


# ---------------------------------------------------------------- a sorted set's ranges


def lex_range(z: ZSet, lex: LexRange, reverse: bool, offset: int, limit: int) -> list[tuple[bytes, float]]:
    """The elements of a lex range (see ``lex_walk``), after ``offset``, at most ``limit``."""
    if offset < 0 or limit == 0 or z.c.count == 0:
        return []
    first = z.items(0, 1)[0][1]
    last = z.items(z.c.count - 1, 1)[0][1]
    if first == last:
        lo, hi = lex_bounds(lex, score_bytes(first))
        return z.between(lo, hi, reverse, offset, limit)
    return lex_walk(z.items(0, z.c.count), lex, reverse, offset, limit)


def _zset(ks: Keyspace, db: int, key: bytes) -> ZSet | None:
    c = ks.coll(db, key, ZSET)
    return None if c is None else ZSet(ks, c)


def _check_lengths(members: Iterable[bytes]) -> None:
    """Refuse, before anything is written, a member too long for an LMDB key."""
    for m in members:
        if len(m) > MAX_MEMBER:
            raise ReplyError(errors.Z_MEMBER_TOO_LONG % MAX_MEMBER)


def store(ks: Keyspace, db: int, key: bytes, scores: dict[bytes, float],
          event: bytes | None = None) -> int:
    """Replace ``key`` (any type) by a sorted set of ``scores`` and report ``event`` (the
    STORE commands'; None for a caller that is no command); none deletes it (reported as
    "del" if there was one)."""
    _check_lengths(scores)
    existed = ks.delete(db, key)
    if not scores:
        if existed:
            ks.notify(NOTIFY_GENERIC, b"del", db, key)
        return 0
    c = ks.new_coll(db, key, ZSET, replacing=existed)
    items = sorted((score_bytes(s) + m, m) for m, s in scores.items())
    ZSet(ks, c)._build([(m, x) for x, m in items])
    ks.save_coll(c)
    if event is not None:
        ks.notify(NOTIFY_ZSET, event, db, key)
    return c.count


# ---------------------------------------------------------------- ZADD / ZINCRBY


_ZADD_FLAGS = {b"nx", b"xx", b"ch", b"incr", b"gt", b"lt"}


# A plain decimal score (no exponent, no hex, no inf): Python's float() reads it as
# strtod does (both round correctly), and at 40 characters it can neither overflow
# nor underflow. No ZADD option looks like one.
_PLAIN_SCORE = re.compile(rb"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")


def zadd_one(ks: Keyspace, db: int, args: list[bytes]) -> int | None:
    """``ZADD key score member`` with a plain decimal score into an existing sorted
    set: ZADD's common case without the general path's option parsing and lists (as
    HSET's ``put_one``). None: take the general path."""
    score, member = args[2], args[3]
    if len(score) > 40 or len(member) > MAX_MEMBER or not ks.inline_paths:
        return None
    if not score.isdigit() and _PLAIN_SCORE.fullmatch(score) is None:  # (digits: the common case)
        return None
    c = ks.coll(db, args[1], ZSET)
    if c is None:
        return None
    sb = score_bytes(float(score))
    old = ks.mput(c, member, sb)  # the new score written, the old one read: one step
    if old == sb:
        return 0
    z = ZSet(ks, c)
    if old is None:
        z.insert(member, sb, True)
    else:
        z.move(member, old, sb, True)
    ks.save_coll(c)
    return 1 if old is None else 0


def zadd_generic(ks: Keyspace, db: int, args: list[bytes], incr: bool) -> float | int | None:
    """ZADD and ZINCRBY (ZADD INCR): flags first, then score/member pairs."""
    flags = set()
    i = 2
    while i < len(args):
        word = cstr(args[i]).lower()
        if word not in _ZADD_FLAGS:
            break
        flags.add(word)
        i += 1
    incr = incr or b"incr" in flags
    rest = len(args) - i
    if rest % 2 or not rest:
        raise ReplyError(errors.SYNTAX)
    nx, xx, gt, lt = (f in flags for f in (b"nx", b"xx", b"gt", b"lt"))
    if nx and xx:
        raise ReplyError(errors.Z_XX_NX)
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise ReplyError(errors.Z_GT_LT_NX)
    if incr and rest > 2:
        raise ReplyError(errors.Z_INCR_PAIR)
    pairs = [(parse_score(args[j]), args[j + 1]) for j in range(i, len(args), 2)]
    _check_lengths(m for _, m in pairs)
    c = ks.coll(db, args[1], ZSET)
    if c is None:
        if xx:
            return None if incr else 0
        c = ks.new_coll(db, args[1], ZSET)
    z = ZSet(ks, c)
    added = updated = processed = 0
    score = 0.0
    fresh = c.old is None
    scores: dict[bytes, float] = {}
    error = None
    for s, m in pairs:
        if fresh:
            cur = scores.get(m)
            old = None if cur is None else score_bytes(cur)
        else:
            old = ks.mget(c, m)
            cur = None if old is None else bytes_score(old)
        if cur is not None:
            if nx:
                continue
            if incr:
                s += cur
                if s != s:
                    error = ReplyError(errors.Z_SCORE_NAN)
                    break
            if (lt and s >= cur) or (gt and s <= cur):
                continue
            processed += 1
            score = s
            if s != cur:
                updated += 1
                if fresh:
                    scores[m] = s
                else:
                    z.set_score(m, old, s)
        elif not xx:
            added += 1
            processed += 1
            score = s
            if fresh:
                scores[m] = s
            else:
                z.insert(m, score_bytes(s))
    if fresh and scores:
        items = sorted((score_bytes(v) + m, m) for m, v in scores.items())
        z._build([(m, x) for x, m in items])
    if added or updated:
        ks.save_coll(c)
        ks.notify(NOTIFY_ZSET, b"zincr" if incr else b"zadd", db, args[1])
    if error is not None:
        raise error
    if incr:
        return score if processed else None
    return added + updated if b"ch" in flags else added


# ---------------------------------------------------------------- ranges


def _rank_window(count: int, start: int, end: int) -> tuple[int, int] | None:
    """Redis' index clamping for rank ranges: (first, n) or None when empty."""
    if start < 0:
        start += count
    if end < 0:
        end += count
    if start < 0:
        start = 0
    if start > end or start >= count:
        return None
    if end >= count:
        end = count - 1
    return start, end - start + 1


class RangeSpec:
    """A parsed ZRANGE-family request (zrangeGenericCommand's steps 1 and 2)."""

    __slots__ = ("by", "rev", "withscores", "offset", "limit", "start", "end", "lo", "hi", "lex")

    def __init__(self, args: list[bytes], at: int, store: bool, by: str | None,
                 rev: bool | None) -> None:
        self.withscores = False
        self.offset, self.limit = 0, -1
        j = at + 3
        n = len(args)
        while j < n:
            word = cstr(args[j]).lower()
            if not store and word == b"withscores":
                self.withscores = True
            elif word == b"limit" and n - j - 1 >= 2:
                self.offset = _long(args[j + 1])
                self.limit = _long(args[j + 2])
                j += 2
            elif rev is None and word == b"rev":
                rev = True
            elif by is None and word == b"bylex":
                by = "lex"
            elif by is None and word == b"byscore":
                by = "score"
            else:
                raise ReplyError(errors.SYNTAX)
            j += 1
        self.rev = bool(rev)
        self.by = by or "rank"
        if self.limit != -1 and self.by == "rank":  # LIMIT x -1 passes, as in Redis
            raise ReplyError(errors.Z_LIMIT_RANK)
        if self.withscores and self.by == "lex":
            raise ReplyError(errors.Z_WITHSCORES_LEX)
        a, b = args[at + 1], args[at + 2]
        if self.rev and self.by != "rank":
            a, b = b, a
        if self.by == "rank":
            self.start, self.end = _long(a), _long(b)
        elif self.by == "score":
            self.lo, self.hi = score_bounds(a, b)
        else:
            self.lex = parse_lex(a, b)

    def run(self, z: ZSet) -> list[tuple[bytes, float]]:
        if self.by == "rank":
            w = _rank_window(z.c.count, self.start, self.end)
            if w is None:
                return []
            first, n = w
            if self.rev:
                return z.items(z.c.count - 1 - first, n, True)
            return z.items(first, n)
        if self.offset > 0 and self.offset >= z.c.count:
            return []
        if self.by == "lex":
            return lex_range(z, self.lex, self.rev, self.offset, self.limit)
        return z.between(self.lo, self.hi, self.rev, self.offset, self.limit)


def _reply(items: list[tuple[bytes, float]], withscores: bool) -> list[bytes] | Pairs:
    if withscores:
        return Pairs(items)
    return [m for m, _ in items]


def zrange_generic(ks: Keyspace, db: int, args: list[bytes], by: str | None = None,
                   rev: bool | None = None) -> list[bytes] | Pairs:
    spec = RangeSpec(args, 1, False, by, rev)
    z = _zset(ks, db, args[1])
    if z is None:
        return []
    return _reply(spec.run(z), spec.withscores)


def zrangestore(ks: Keyspace, db: int, args: list[bytes]) -> int:
    spec = RangeSpec(args, 2, True, None, None)
    z = _zset(ks, db, args[2])
    items = spec.run(z) if z is not None else []
    return store(ks, db, args[1], dict(items), b"zrangestore")


# ---------------------------------------------------------------- removal


def zrem(ks: Keyspace, db: int, args: list[bytes]) -> int:
    z = _zset(ks, db, args[1])
    if z is None:
        return 0
    n = 0
    for m in args[2:]:
        old = ks.mget(z.c, m)
        if old is not None:
            z.delete(m, old)
            n += 1
    if n:
        ks.notify(NOTIFY_ZSET, b"zrem", db, args[1])
        ks.save_coll(z.c)
    return n


def _zremrange(ks: Keyspace, db: int, args: list[bytes], by: str) -> int:
    if by == "rank":
        start, end = _long(args[2]), _long(args[3])
    elif by == "score":
        lo, hi = score_bounds(args[2], args[3])
    else:
        lex = parse_lex(args[2], args[3])
    z = _zset(ks, db, args[1])
    if z is None:
        return 0
    if by == "rank":
        w = _rank_window(z.c.count, start, end)
        if w is None:
            return 0
        items = z.items(w[0], w[1])
    elif by == "lex":
        items = lex_range(z, lex, False, 0, -1)
    else:
        items = z.between(lo, hi, False, 0, -1)
    if not items:
        return 0
    n = z.remove_many(items)
    ks.notify(NOTIFY_ZSET, b"zremrangeby" + by.encode(), db, args[1])
    ks.save_coll(z.c)
    return n


# ---------------------------------------------------------------- pops


def pop(ks: Keyspace, db: int, key: bytes, use_max: bool, count: int) -> list[tuple[bytes, float]] | None:
    """Remove and return up to ``count`` (member, score) pairs from the low end (or the high
    end with ``use_max``); None when the key does not exist. WRONGTYPE for another type."""
    c = ks.coll(db, key, ZSET)
    return None if c is None else _pop(ks, c, use_max, count)


def _pop(ks: Keyspace, c: Coll, use_max: bool, count: int) -> list[tuple[bytes, float]]:
    z = ZSet(ks, c)
    n = min(count, c.count)
    items: list[tuple[bytes, float]]
    # (pop_end answers None only on an empty set: never here, n <= c.count)
    if n == 1:
        items = cast(list[tuple[bytes, float]], [z.pop_end(use_max)])
    elif n * 4 < c.count or n < 32:  # no search: the ends are known
        items = cast(list[tuple[bytes, float]], [z.pop_end(use_max) for _ in range(n)])
    else:
        items = z.items(c.count - 1 if use_max else 0, n, use_max)
        z.remove_many(items)
    if items:
        ks.notify(NOTIFY_ZSET, b"zpopmax" if use_max else b"zpopmin", c.db, c.key)
        ks.save_coll(c)
    return items


def _zpop(ks: Keyspace, db: int, args: list[bytes], use_max: bool) -> list[bytes | float] | Pairs:
    if len(args) > 3:
        raise ReplyError(errors.SYNTAX)
    count = -1
    if len(args) == 3:
        count = _ranged_long(args[2], 0, LONG_MAX, errors.Z_MUST_BE_POSITIVE)
    c = ks.coll(db, args[1], ZSET)  # the type is checked before a zero count is served
    if c is None or count == 0:
        return []
    items = _pop(ks, c, use_max, 1 if count == -1 else count)
    if count == -1:
        return [items[0][0], items[0][1]]
    return Pairs(items)


def zmpop(ks: Keyspace, db: int, args: list[bytes]) -> list[Any] | NilArray:
    numkeys = _ranged_long(args[1], 1, LONG_MAX, errors.Z_NUMKEYS_POSITIVE)
    where = numkeys + 2
    if where >= len(args):
        raise ReplyError(errors.SYNTAX)
    word = cstr(args[where]).lower()
    if word not in (b"min", b"max"):
        raise ReplyError(errors.SYNTAX)
    count = -1
    j = where + 1
    while j < len(args):
        if count == -1 and cstr(args[j]).lower() == b"count" and j + 1 < len(args):
            count = _ranged_long(args[j + 1], 1, LONG_MAX, errors.Z_COUNT_POSITIVE)
            j += 2
        else:
            raise ReplyError(errors.SYNTAX)
    if count == -1:
        count = 1
    for key in args[2:2 + numkeys]:
        c = ks.coll(db, key, ZSET)
        if c is None:
            continue
        items = _pop(ks, c, word == b"max", count)
        return [key, [[m, s] for m, s in items]]
    return NIL_ARRAY


# ---------------------------------------------------------------- ZRANDMEMBER


def _rng(ks: Keyspace, c: Coll, args: list[bytes]) -> random.Random:
    """Randomness fixed by the batch (its clock), the key and the set's head."""
    seed = b"%d:%d:%d:%d:" % (ks.now, c.id, c.count, c.a) + b"\0".join(args)
    return random.Random(seed)


def zrandmember(ks: Keyspace, db: int, args: list[bytes]) -> bytes | list[bytes] | Pairs | None:
    if len(args) >= 3:
        count = _long(args[2])
        if count < -LONG_MAX:
            raise ReplyError(errors.INT_OUT_OF_RANGE % (-LONG_MAX, LONG_MAX))
        withscores = False
        if len(args) > 4 or (len(args) == 4 and cstr(args[3]).lower() != b"withscores"):
            raise ReplyError(errors.SYNTAX)
        if len(args) == 4:
            withscores = True
            if count < -LONG_MAX // 2 or count > LONG_MAX // 2:
                raise ReplyError(errors.Z_VALUE_OUT_OF_RANGE)
        return _randmember_count(ks, db, args, count, withscores)
    z = _zset(ks, db, args[1])
    if z is None:
        return None
    rng = _rng(ks, z.c, args)
    return z.items(rng.randrange(z.c.count), 1)[0][0]


def _randmember_count(ks: Keyspace, db: int, args: list[bytes], count: int,
                      withscores: bool) -> list[bytes] | Pairs:
    z = _zset(ks, db, args[1])
    if z is None or count == 0:
        return []
    size = z.c.count
    rng = _rng(ks, z.c, args)
    if count < 0:
        n = -count
        if n > size:
            everything = z.items(0, size)
            picks = [everything[rng.randrange(size)] for _ in range(n)]
        else:
            picks = [z.items(rng.randrange(size), 1)[0] for _ in range(n)]
    elif count >= size:
        picks = z.items(0, size)
        rng.shuffle(picks)
    elif count * 3 > size:
        picks = rng.sample(z.items(0, size), count)
    else:
        picks = [z.items(r, 1)[0] for r in rng.sample(range(size), count)]
    return _reply(picks, withscores)


# ---------------------------------------------------------------- single reads


def zcard(ks: Keyspace, db: int, args: list[bytes]) -> int:
    c = ks.coll(db, args[1], ZSET)
    return 0 if c is None else c.count


def zscore(ks: Keyspace, db: int, args: list[bytes]) -> float | None:
    c = ks.coll(db, args[1], ZSET)
    if c is None:
        return None
    v = ks.mget(c, args[2])
    return None if v is None else bytes_score(v)


def zmscore(ks: Keyspace, db: int, args: list[bytes]) -> list[float | None]:
    c = ks.coll(db, args[1], ZSET)
    if c is None:
        return [None] * (len(args) - 2)
    out = []
    for m in args[2:]:
        v = ks.mget(c, m)
        out.append(None if v is None else bytes_score(v))
    return out


def zscan(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes | list[bytes]]:
    """ZSCAN key cursor [MATCH pattern] [COUNT count]: [cursor, [member, score, ...]],
    scores as bulk strings in RESP2 and RESP3 alike (%.17g, as Redis' scan replies).

    Redis checks the cursor, then the key (none: an empty scan, options unread), then
    the options. A listpack-sized set (enc 0) answers whole, in score order, cursor 0,
    as Redis does; a bigger one in steps of about COUNT members in byte order
    (``Keyspace.mscan``, the cursor scheme SSCAN uses: every member present throughout
    the scan comes back, once when the set does not change)."""
    cursor = scan_cursor(args[2])
    c = ks.coll(db, args[1], ZSET)
    if c is None:
        return [b"0", []]
    count, pattern = scan_options(args)
    match = compile_glob(pattern)
    if c.enc == 0:
        nxt, items, fmt = 0, ZSet(ks, c).items(0, c.count), _listpack_score
    else:
        nxt, found = ks.mscan(c, cursor, count)
        items, fmt = [(m, bytes_score(v)) for m, v in found], _skiplist_score
    out = []
    for m, score in items:
        if match(m):
            out.append(m)
            out.append(fmt(score))
    return [b"%d" % nxt, out]


def _listpack_score(d: float) -> bytes:
    """A score as a listpack holds it and ZSCAN shows it (d2string): an integral score
    within +-2**62 (double2ll's range) in integer form, others as %.17g."""
    if d.is_integer() and -_LL_HALF <= d <= _LL_HALF:
        return b"%d" % d
    return format_double(d).encode()


def _skiplist_score(d: float) -> bytes:
    """A score as ZSCAN shows a skiplist's (ld2string: %.17Lg of the double)."""
    return format_double(d).encode()


def _zrank(ks: Keyspace, db: int, args: list[bytes], rev: bool) -> int | None:
    z = _zset(ks, db, args[1])
    if z is None:
        return None
    r = z.rank(args[2])
    if r is None:
        return None
    return z.c.count - 1 - r if rev else r


def zcount(ks: Keyspace, db: int, args: list[bytes]) -> int:
    lo, hi = score_bounds(args[2], args[3])
    z = _zset(ks, db, args[1])
    if z is None or lo >= hi:
        return 0
    return max(z.below(hi) - z.below(lo), 0)


def zlexcount(ks: Keyspace, db: int, args: list[bytes]) -> int:
    lex = parse_lex(args[2], args[3])
    z = _zset(ks, db, args[1])
    if z is None:
        return 0
    first = z.items(0, 1)[0][1]
    if first != z.items(z.c.count - 1, 1)[0][1]:
        return len(lex_range(z, lex, False, 0, -1))
    lo, hi = lex_bounds(lex, score_bytes(first))
    if lo >= hi:
        return 0
    return max(z.below(hi) - z.below(lo), 0)


# ---------------------------------------------------------------- union, inter, diff


class Source:
    """One input of ZUNION/ZINTER/ZDIFF: a sorted set, a plain set (scores 1) or nothing."""

    __slots__ = ("ks", "c", "is_set", "weight")

    def __init__(self, ks: Keyspace, db: int, key: bytes) -> None:
        self.ks = ks
        self.weight = 1.0
        self.is_set = False
        try:
            self.c = ks.coll(db, key, ZSET)
        except ReplyError:
            self.c = ks.coll(db, key, SET)  # WRONGTYPE again for anything but a set
            self.is_set = True

    def __len__(self) -> int:
        return 0 if self.c is None else self.c.count

    def items(self) -> Iterator[tuple[bytes, float]]:
        if self.c is None:
            return
        if self.is_set:
            for m, _ in self.ks.mrange(self.c):
                yield m, 1.0
        else:
            for m, v in self.ks.mrange(self.c):
                yield m, bytes_score(v)

    def find(self, member: bytes) -> float | None:
        if self.c is None:
            return None
        v = self.ks.mget(self.c, member)
        if v is None:
            return None
        return 1.0 if self.is_set else bytes_score(v)


def _aggregate(how: bytes, a: float, b: float) -> float:
    if how == b"sum":
        s = a + b
        return 0.0 if s != s else s
    if how == b"min":
        return b if b < a else a
    return b if b > a else a


def _weighted(score: float, weight: float) -> float:
    s = score * weight
    return 0.0 if s != s else s


def setop(ks: Keyspace, db: int, args: list[bytes], at: int, op: str, has_dest: bool,
          card: bool = False) -> Any:
    """zunionInterDiffGenericCommand: numkeys at ``args[at]``. Returns (scores, withscores)
    or, for ZINTERCARD, the cardinality."""
    name = cstr(args[0]).lower().decode(errors="replace")
    setnum = _long(args[at])
    if setnum < 1:
        raise ReplyError(errors.Z_AT_LEAST_ONE_KEY % name)
    if setnum > len(args) - (at + 1):
        raise ReplyError(errors.SYNTAX)
    srcs = [Source(ks, db, k) for k in args[at + 1:at + 1 + setnum]]
    j = at + 1 + setnum
    how = b"sum"
    withscores = False
    limit = 0
    n = len(args)
    while j < n:
        word = cstr(args[j]).lower()
        left = n - j
        if op != "diff" and not card and left >= setnum + 1 and word == b"weights":
            for i, s in enumerate(srcs):
                s.weight = parse_score(args[j + 1 + i], errors.Z_WEIGHT_NOT_FLOAT)
            j += setnum + 1
        elif op != "diff" and not card and left >= 2 and word == b"aggregate":
            how = cstr(args[j + 1]).lower()
            if how not in (b"sum", b"min", b"max"):
                raise ReplyError(errors.SYNTAX)
            j += 2
        elif not has_dest and not card and word == b"withscores":
            withscores = True
            j += 1
        elif card and left >= 2 and word == b"limit":
            limit = _ranged_long(args[j + 1], 0, LONG_MAX, errors.Z_LIMIT_NEGATIVE)
            j += 2
        else:
            raise ReplyError(errors.SYNTAX)
    if op == "inter":
        result = _inter(srcs, how, card, limit)
        if card:
            return result
    elif op == "union":
        result = _union(srcs, how)
    else:
        result = _diff(srcs)
    return result, withscores


def _inter(srcs: list[Source], how: bytes, card: bool, limit: int) -> int | dict[bytes, float]:
    order = sorted(srcs, key=len)
    first = order[0]
    out: dict[bytes, float] = {}
    hits = 0
    if len(first) == 0:
        return 0 if card else out
    for m, s in first.items():
        score = _weighted(s, first.weight)
        for other in order[1:]:
            v = other.find(m)
            if v is None:
                break
            score = _aggregate(how, score, v * other.weight)
        else:
            if card:
                hits += 1
                if limit and hits >= limit:
                    break
            else:
                out[m] = score
    return hits if card else out


def _union(srcs: list[Source], how: bytes) -> dict[bytes, float]:
    out: dict[bytes, float] = {}
    for src in sorted(srcs, key=len):
        w = src.weight
        for m, s in src.items():
            score = _weighted(s, w)
            prev = out.get(m)
            out[m] = score if prev is None else _aggregate(how, prev, score)
    return out


def _diff(srcs: list[Source]) -> dict[bytes, float]:
    first, others = srcs[0], srcs[1:]
    out: dict[bytes, float] = {}
    for m, s in first.items():
        if all(o.find(m) is None for o in others):
            out[m] = s
    return out


def _sorted_items(scores: dict[bytes, float]) -> list[tuple[bytes, float]]:
    return sorted(((m, s) for m, s in scores.items()), key=lambda p: (p[1], p[0]))


def setop_reply(ks: Keyspace, db: int, args: list[bytes], op: str) -> list[bytes] | Pairs:
    scores, withscores = setop(ks, db, args, 1, op, False)
    return _reply(_sorted_items(scores), withscores)


def setop_store(ks: Keyspace, db: int, args: list[bytes], op: str) -> int:
    scores, _ = setop(ks, db, args, 2, op, True)
    return store(ks, db, args[1], scores, b"z%sstore" % op.encode())


# ---------------------------------------------------------------- keys of movable-key commands


def _numkeys_at(at: int, dest: bool) -> Callable[[list[bytes]], list[bytes]]:
    """keys(args) for commands with numkeys at ``args[at]`` (and a destination at args[1])."""

    def keys(args: list[bytes]) -> list[bytes]:
        n = int(args[at])
        if n < 1 or at + 1 + n > len(args):
            raise ValueError("bad numkeys")
        found = list(args[at + 1:at + 1 + n])
        return [args[1]] + found if dest else found

    return keys


# ---------------------------------------------------------------- the commands


def zadd(ks: Keyspace, db: int, args: list[bytes]) -> float | int | None:
    if len(args) == 4:  # one member, no options: the lean path, when it applies
        added = zadd_one(ks, db, args)
        if added is not None:
            return added
    return zadd_generic(ks, db, args, False)


def zincrby(ks: Keyspace, db: int, args: list[bytes]) -> float | int | None:
    return zadd_generic(ks, db, args, True)


def zrank(ks: Keyspace, db: int, args: list[bytes]) -> int | None:
    return _zrank(ks, db, args, False)


def zrevrank(ks: Keyspace, db: int, args: list[bytes]) -> int | None:
    return _zrank(ks, db, args, True)


def zrange(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes] | Pairs:
    return zrange_generic(ks, db, args)


def zrangebyscore(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes] | Pairs:
    return zrange_generic(ks, db, args, "score", False)


def zrevrangebyscore(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes] | Pairs:
    return zrange_generic(ks, db, args, "score", True)


def zrangebylex(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes] | Pairs:
    return zrange_generic(ks, db, args, "lex", False)


def zrevrangebylex(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes] | Pairs:
    return zrange_generic(ks, db, args, "lex", True)


def zrevrange(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes] | Pairs:
    return zrange_generic(ks, db, args, "rank", True)


def zremrangebyrank(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return _zremrange(ks, db, args, "rank")


def zremrangebyscore(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return _zremrange(ks, db, args, "score")


def zremrangebylex(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return _zremrange(ks, db, args, "lex")


def zpopmin(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes | float] | Pairs:
    return _zpop(ks, db, args, False)


def zpopmax(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes | float] | Pairs:
    return _zpop(ks, db, args, True)


def zunion(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes] | Pairs:
    return setop_reply(ks, db, args, "union")


def zunionstore(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return setop_store(ks, db, args, "union")


def zinter(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes] | Pairs:
    return setop_reply(ks, db, args, "inter")


def zinterstore(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return setop_store(ks, db, args, "inter")


def zintercard(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return setop(ks, db, args, 1, "inter", False, True)


def zdiff(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes] | Pairs:
    return setop_reply(ks, db, args, "diff")


def zdiffstore(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return setop_store(ks, db, args, "diff")


# ---------------------------------------------------------------- the table

# (what the declarations share: texts, and the movable-key commands' key functions)
_W_FAST = "@write @sortedset @fast"
_R_FAST = "@read @sortedset @fast"
_W_SLOW = "@write @sortedset @slow"
_R_SLOW = "@read @sortedset @slow"
_LOG_N = "O(log(N)) with N being the number of elements in the sorted set."
_RANGE_M = ("O(log(N)+M) with N being the number of elements in the sorted set and M the "
            "number of elements being returned. If M is constant (e.g. always asking for "
            "the first 10 elements with LIMIT), you can consider it O(log(N)).")
_REMOVED_M = ("O(log(N)+M) with N being the number of elements in the sorted set and M the "
              "number of elements removed by the operation.")
_POP_C = ("O(log(N)*M) with N being the number of elements in the sorted set, and M being "
          "the number of elements popped.")
_UNION_C = ("O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and "
            "M being the number of elements in the resulting sorted set.")
_INTER_C = ("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K "
            "being the number of input sorted sets and M being the number of elements in "
            "the resulting sorted set.")
_DIFF_C = ("O(L + (N-K)log(N)) worst case where L is the total number of elements in all the "
           "sets, N is the size of the first set, and K is the size of the result set.")
_NUMKEYS = _numkeys_at(1, False)
_NUMKEYS_DEST = _numkeys_at(2, True)
_RANK_M = ("O(log(N)+M) with N being the number of elements in the sorted set and M the "
           "number of elements returned.")


def register(table: CommandTable) -> None:
    """The sorted set commands, each declared as Redis 7.0's COMMAND INFO describes it."""
    cmd = table.command
    cmd("zadd", -4, "write denyoom fast", 1, 1, 1, group="sorted-set", since="1.2.0",
        complexity="O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        summary="Add one or more members to a sorted set, or update its score if it already exists",
        acl=_W_FAST)(zadd)
    cmd("zincrby", 4, "write denyoom fast", 1, 1, 1, group="sorted-set", since="1.2.0",
        complexity="O(log(N)) where N is the number of elements in the sorted set.",
        summary="Increment the score of a member in a sorted set", acl=_W_FAST)(zincrby)
    cmd("zrem", -3, "write fast", 1, 1, 1, group="sorted-set", since="1.2.0",
        complexity=("O(M*log(N)) with N being the number of elements in the sorted set and M the "
                    "number of elements to be removed."),
        summary="Remove one or more members from a sorted set", acl=_W_FAST)(zrem)
    cmd("zcard", 2, "readonly fast", 1, 1, 1, group="sorted-set", since="1.2.0", complexity="O(1)",
        summary="Get the number of members in a sorted set", acl=_R_FAST)(zcard)
    cmd("zcount", 4, "readonly fast", 1, 1, 1, group="sorted-set", since="2.0.0", complexity=_LOG_N,
        summary="Count the members in a sorted set with scores within the given values",
        acl=_R_FAST)(zcount)
    cmd("zlexcount", 4, "readonly fast", 1, 1, 1, group="sorted-set", since="2.8.9", complexity=_LOG_N,
        summary="Count the number of members in a sorted set between a given lexicographical range",
        acl=_R_FAST)(zlexcount)
    cmd("zscore", 3, "readonly fast", 1, 1, 1, group="sorted-set", since="1.2.0", complexity="O(1)",
        summary="Get the score associated with the given member in a sorted set",
        acl=_R_FAST)(zscore)
    cmd("zmscore", -3, "readonly fast", 1, 1, 1, group="sorted-set", since="6.2.0",
        complexity="O(N) where N is the number of members being requested.",
        summary="Get the score associated with the given members in a sorted set",
        acl=_R_FAST)(zmscore)
    cmd("zrank", 3, "readonly fast", 1, 1, 1, group="sorted-set", since="2.0.0", complexity="O(log(N))",
        summary="Determine the index of a member in a sorted set", acl=_R_FAST)(zrank)
    cmd("zrevrank", 3, "readonly fast", 1, 1, 1, group="sorted-set", since="2.0.0", complexity="O(log(N))",
        summary="Determine the index of a member in a sorted set, with scores ordered from high to low",
        acl=_R_FAST)(zrevrank)
    cmd("zrange", -4, "readonly", 1, 1, 1, group="sorted-set", since="1.2.0", complexity=_RANK_M,
        summary="Return a range of members in a sorted set", acl=_R_SLOW)(zrange)
    cmd("zrangestore", -5, "write denyoom", 1, 2, 1, group="sorted-set", since="6.2.0",
        complexity=("O(log(N)+M) with N being the number of elements in the sorted set and M the "
                    "number of elements stored into the destination key."),
        summary="Store a range of members from sorted set into another key", acl=_W_SLOW)(zrangestore)
    cmd("zrangebyscore", -4, "readonly", 1, 1, 1, group="sorted-set", since="1.0.5", complexity=_RANGE_M,
        summary="Return a range of members in a sorted set, by score", acl=_R_SLOW)(zrangebyscore)
    cmd("zrevrangebyscore", -4, "readonly", 1, 1, 1, group="sorted-set", since="2.2.0", complexity=_RANGE_M,
        summary="Return a range of members in a sorted set, by score, with scores ordered from high to low",
        acl=_R_SLOW)(zrevrangebyscore)
    cmd("zrangebylex", -4, "readonly", 1, 1, 1, group="sorted-set", since="2.8.9", complexity=_RANGE_M,
        summary="Return a range of members in a sorted set, by lexicographical range",
        acl=_R_SLOW)(zrangebylex)
    cmd("zrevrangebylex", -4, "readonly", 1, 1, 1, group="sorted-set", since="2.8.9", complexity=_RANGE_M,
        summary=("Return a range of members in a sorted set, by lexicographical range, ordered "
                 "from higher to lower strings."), acl=_R_SLOW)(zrevrangebylex)
    cmd("zrevrange", -4, "readonly", 1, 1, 1, group="sorted-set", since="1.2.0", complexity=_RANK_M,
        summary="Return a range of members in a sorted set, by index, with scores ordered from high to low",
        acl=_R_SLOW)(zrevrange)
    cmd("zremrangebyrank", 4, "write", 1, 1, 1, group="sorted-set", since="2.0.0", complexity=_REMOVED_M,
        summary="Remove all members in a sorted set within the given indexes", acl=_W_SLOW)(zremrangebyrank)
    cmd("zremrangebyscore", 4, "write", 1, 1, 1, group="sorted-set", since="1.2.0", complexity=_REMOVED_M,
        summary="Remove all members in a sorted set within the given scores", acl=_W_SLOW)(zremrangebyscore)
    cmd("zremrangebylex", 4, "write", 1, 1, 1, group="sorted-set", since="2.8.9", complexity=_REMOVED_M,
        summary="Remove all members in a sorted set between the given lexicographical range",
        acl=_W_SLOW)(zremrangebylex)
    cmd("zpopmin", -2, "write fast", 1, 1, 1, group="sorted-set", since="5.0.0", complexity=_POP_C,
        summary="Remove and return members with the lowest scores in a sorted set", acl=_W_FAST)(zpopmin)
    cmd("zpopmax", -2, "write fast", 1, 1, 1, group="sorted-set", since="5.0.0", complexity=_POP_C,
        summary="Remove and return members with the highest scores in a sorted set", acl=_W_FAST)(zpopmax)
    cmd("zmpop", -4, "write movablekeys", 0, 0, 0, group="sorted-set", since="7.0.0",
        complexity=("O(K) + O(M*log(N)) where K is the number of provided keys, N being the "
                    "number of elements in the sorted set, and M being the number of elements popped."),
        summary="Remove and return members with scores in a sorted set", acl=_W_SLOW,
        keys=_NUMKEYS)(zmpop)
    cmd("zrandmember", -2, "readonly", 1, 1, 1, group="sorted-set", since="6.2.0",
        complexity="O(N) where N is the number of elements returned",
        summary="Get one or multiple random elements from a sorted set", acl=_R_SLOW)(zrandmember)
    cmd("zunion", -3, "readonly movablekeys", 0, 0, 0, group="sorted-set", since="6.2.0", complexity=_UNION_C,
        summary="Add multiple sorted sets", acl=_R_SLOW, keys=_NUMKEYS)(zunion)
    cmd("zunionstore", -4, "write denyoom movablekeys", 1, 1, 1, group="sorted-set", since="2.0.0",
        complexity=("O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, "
                    "and M being the number of elements in the resulting sorted set."),
        summary="Add multiple sorted sets and store the resulting sorted set in a new key",
        acl=_W_SLOW, keys=_NUMKEYS_DEST)(zunionstore)
    cmd("zinter", -3, "readonly movablekeys", 0, 0, 0, group="sorted-set", since="6.2.0", complexity=_INTER_C,
        summary="Intersect multiple sorted sets", acl=_R_SLOW, keys=_NUMKEYS)(zinter)
    cmd("zinterstore", -4, "write denyoom movablekeys", 1, 1, 1, group="sorted-set", since="2.0.0",
        complexity=_INTER_C,
        summary="Intersect multiple sorted sets and store the resulting sorted set in a new key",
        acl=_W_SLOW, keys=_NUMKEYS_DEST)(zinterstore)
    cmd("zintercard", -3, "readonly movablekeys", 0, 0, 0, group="sorted-set", since="7.0.0",
        complexity=("O(N*K) worst case with N being the smallest input sorted set, K being the "
                    "number of input sorted sets."),
        summary="Intersect multiple sorted sets and return the cardinality of the result",
        acl=_R_SLOW, keys=_NUMKEYS)(zintercard)
    cmd("zdiff", -3, "readonly movablekeys", 0, 0, 0, group="sorted-set", since="6.2.0", complexity=_DIFF_C,
        summary="Subtract multiple sorted sets", acl=_R_SLOW, keys=_NUMKEYS)(zdiff)
    cmd("zdiffstore", -4, "write denyoom movablekeys", 1, 1, 1, group="sorted-set", since="6.2.0",
        complexity=_DIFF_C,
        summary="Subtract multiple sorted sets and store the resulting sorted set in a new key",
        acl=_W_SLOW, keys=_NUMKEYS_DEST)(zdiffstore)


def register_scan(table: CommandTable) -> None:
    """ZSCAN: registered late, see ``build_table`` (shardis/assembly.py)."""
    table.command("zscan", -3, "readonly", 1, 1, 1, group="sorted-set", since="2.8.0",
                  complexity="O(1) for every call. O(N) for a complete iteration, including "
                             "enough command calls for the cursor to return back to 0. N is the "
                             "number of elements inside the collection..",
                  summary="Incrementally iterate sorted sets elements and associated scores",
                  acl="@read @sortedset @slow")(zscan)
