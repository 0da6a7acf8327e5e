"""The sorted set commands (Redis 7.0, all but the blocking BZPOPMIN/BZPOPMAX/BZMPOP).

Layout, through the Coll API of ``shardd.storage``:

``members``  member -> ``score_bytes(score)``: ZSCORE/ZMSCORE and "is it there" in one read.
``index``    ``b"s" + score_bytes(score) + member`` -> b"": the score order. Within one
             score, members sort by their bytes, which is Redis' order, so BYSCORE and
             BYLEX ranges are range scans. ``score_bytes(score) + member`` is called the
             element's *sort key* below.
``index``    ``b"k" + level (1 byte) + sort key`` -> span (8 bytes): the rank structure.

The rank structure is a skip list whose forward pointers are LMDB's own order. Level
0 is the ``s`` entries themselves. An element is also a node of levels 1..h, where h
comes from a hash of its member (four zero bits per level, so a sixteenth of the
nodes of a level reach the next one; ``_level``): the structure depends on the
members alone, never on a random generator, so a replayed batch rebuilds the same
entries. Each level also has a head entry whose sort key is empty (it sorts before
every node). A node's span is the number of elements from it (included) up to the
next node of its level (excluded); the head's span counts the elements before the
first node. ``c.a`` is the highest level in use; ``c.b`` holds the version of the
height rule and an offset of the heads' spans (see ``ZSet``).

Finding how many elements sort below any key x (``below``) starts at the top head
and, level by level, moves right while the next node is below x, adding spans; at
level 0 it counts the few ``s`` entries left: about 15 steps per level and log16(N)
levels. Selecting the element of rank r (``seek``) walks the same way by spans.
ZCOUNT and ZLEXCOUNT are the difference of two such counts. Writes walk from no
head: the record just left of x on a level is one seek away (the record before
``level prefix + x``), so inserting or deleting an element changes one span per
level found that way, plus its own nodes (``ZSet.insert``, ``delete``, ``move``);
the lowest and highest elements are popped without any search (``pop_end``).
Sorted sets that are built whole (ZADD on a new key, the STORE commands) or lose
many members at once are (re)built in one ordered pass (``_build``); so are levels
written under an older height rule, on their first write (reads need no rule).

Values hold no collection id, so COPY/RENAME/MOVE copy the entries verbatim.
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
import struct
from itertools import islice, takewhile
from zlib import crc32

from shardis import errors
from shardis.args import compile_glob, cstr, int_arg, scan_cursor, scan_options
from shardis.commands import CommandTable
from shardis.notify import NOTIFY_GENERIC, NOTIFY_ZSET
from shardis.resp import NIL_ARRAY, Pairs, ReplyError, format_double
from shardis.shardd.storage import SET, ZSET, Coll, Keyspace, bytes_score, score_bytes

LONG_MAX = 2**63 - 1
MAX_LEVEL = 32
LEVEL_BITS = 4                     # a node of one level is one of the next with p = 1/16
_LEVEL_MASK = (1 << LEVEL_BITS) - 1
_FIB = 0x9E3779B97F4A7C15         # 2**64 / the golden ratio: multiplying spreads the bits
RANK_VERSION = 1                   # ``c.b & 0xFF`` of a sorted set whose levels follow ``_level``
# LMDB keys are at most 511 bytes; the longest key holding a member is a level entry
# (collection id 8 + tag 2 + score 8 + member).
MAX_MEMBER = 511 - 18

_SPAN = struct.Struct(">Q")
_U64 = struct.Struct(">Q")
_LEVEL = [b"k" + bytes([i]) for i in range(MAX_LEVEL + 2)]
_unpack = _SPAN.unpack
_pack = _SPAN.pack
_S = b"s"

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


def _next_key(b: bytes) -> bytes:
    """The smallest 8-byte key above ``b`` (the next score's encoding)."""
    return _U64.pack(_U64.unpack(b)[0] + 1)


def score_bounds(min_arg: bytes, max_arg: bytes) -> tuple[bytes, bytes]:
    """A score range as sort-key bounds [lo, hi): elements with lo <= sort key < hi."""
    lo, lo_ex = _range_item(min_arg)
    hi, hi_ex = _range_item(max_arg)
    lo_b = score_bytes(lo)
    hi_b = score_bytes(hi)
    return (_next_key(lo_b) if lo_ex else lo_b), (hi_b if hi_ex else _next_key(hi_b))


_MIN, _MAX = object(), object()


def _lex_item(arg: bytes):
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


def parse_lex(min_arg: bytes, max_arg: bytes):
    return _lex_item(min_arg), _lex_item(max_arg)


def lex_bounds(lex, score: bytes) -> tuple[bytes, bytes]:
    """A lex range as sort-key bounds [lo, hi) within the score whose encoding is ``score``."""
    (lo, lo_ex), (hi, hi_ex) = lex
    nxt = _next_key(score)
    if lo is _MIN:
        lo_k = score
    elif lo is _MAX:
        lo_k = nxt
    else:
        lo_k = score + lo + (b"\0" if lo_ex else b"")
    if hi is _MAX:
        hi_k = nxt
    elif hi is _MIN:
        hi_k = score
    else:
        hi_k = score + hi + (b"" if hi_ex else b"\0")
    return lo_k, hi_k


def _gte_min(m: bytes, lex) -> bool:
    lo, ex = lex[0]
    if lo is _MIN:
        return True
    if lo is _MAX:
        return False
    return m > lo if ex else m >= lo


def _lte_max(m: bytes, lex) -> bool:
    hi, ex = lex[1]
    if hi is _MAX:
        return True
    if hi is _MIN:
        return False
    return m < hi if ex else m <= hi


def lex_walk(items, lex, reverse: bool, offset: int = 0, limit: int = -1):
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
    out = []
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


# ---------------------------------------------------------------- the rank structure


def _level(member: bytes) -> int:
    """The member's skip-list height: one level per LEVEL_BITS zero bits of a hash of
    it (CRC-32 spread by a multiplication: as even as blake2b on every member set
    tried, a sixth of its cost). Python's ``hash`` is salted per process; this is
    not, so the levels depend on the members alone, never on a random generator."""
    h = (crc32(member) * _FIB & 0xFFFFFFFFFFFFFFFF) >> 32
    if h & _LEVEL_MASK:
        return 0  # most members
    n = 0
    while h & _LEVEL_MASK == 0 and n < 32 // LEVEL_BITS:
        n += 1
        h >>= LEVEL_BITS
    return n


def _before(cur, key: bytes) -> None:
    """Put ``cur`` on the last entry sorting before ``key`` (a level's head sorts first)."""
    if cur.set_range(key):
        cur.prev()
    else:
        cur.last()


class ZSet:
    """One sorted set's entries, for one command: a cursor on ``index`` and the head.

    ``c.a`` is the highest level. ``c.b`` is ``F << 8 | version``: the version of the
    height rule the levels follow (``RANK_VERSION``; 0: written by an older shardis,
    rebuilt on its first write here) and F, an offset that every head's stored span
    carries (stored = true span + F): popping the lowest element takes one from every
    head span it was not a node under, and F += 1 does that in the collection head."""

    __slots__ = ("ks", "c", "cur", "sp", "ns")

    def __init__(self, ks: Keyspace, c: Coll) -> None:
        self.ks = ks
        self.c = c
        self.cur = ks.mcursor(index=True)
        self.sp = c.prefix + _S
        self.ns = len(self.sp)

    # -------------------------------------------------------- reads

    def score(self, member: bytes) -> float | None:
        v = self.ks.mget(self.c, member)
        return None if v is None else bytes_score(v)

    def below(self, x: bytes) -> int:
        """How many elements sort below ``x``: from the top head, level by level, move
        right while the next node is below x, adding spans; then count the ``s``
        entries left. (A level's records sort by level, so a key past x's on this
        level is a later node or on the next level: one comparison stops both.)"""
        cur = self.cur
        pre = self.c.prefix
        nl = len(pre) + 2
        p_key = b""
        idx = 0
        for lv in range(self.c.a, 0, -1):
            lp = pre + _LEVEL[lv]
            hi = lp + x
            cur.set_key(lp + p_key)
            it = cur.iternext()
            span = _unpack(next(it)[1])[0]
            if not p_key:
                span -= self.c.b >> 8
            last = None
            for k, v in it:
                if k >= hi:
                    break
                idx += span
                span = _unpack(v)[0]
                last = k
            if last is not None:
                p_key = last[nl:]
        hi = self.sp + x
        if cur.set_range(self.sp + p_key):
            for k in cur.iternext(values=False):
                if k >= hi:
                    break
                idx += 1
        return idx

    def rank(self, member: bytes) -> int | None:
        v = self.ks.mget(self.c, member)
        if v is None:
            return None
        return self.below(v + member)

    def seek(self, r: int) -> bool:
        """Put the cursor on the ``s`` entry of rank ``r`` (0-based; 0 <= r < count)."""
        cur = self.cur
        pre = self.c.prefix
        nl = len(pre) + 2
        p_key = b""
        idx = 0
        for lv in range(self.c.a, 0, -1):
            lp = pre + _LEVEL[lv]
            end = pre + _LEVEL[lv + 1]
            cur.set_key(lp + p_key)
            it = cur.iternext()
            span = _unpack(next(it)[1])[0]
            if not p_key:
                span -= self.c.b >> 8
            if idx + span > r:
                continue
            last = None
            for k, v in it:
                if k >= end:
                    break
                idx += span
                span = _unpack(v)[0]
                last = k
                if idx + span > r:
                    break
            if last is not None:
                p_key = last[nl:]
        if not cur.set_range(self.sp + p_key):
            return False
        if r > idx:
            k = next(islice(cur.iternext(values=False), r - idx, None), b"")
        else:
            k = cur.key()
        return k[:self.ns] == self.sp

    def items(self, start: int, n: int, reverse: bool = False):
        """(member, score) of ``n`` elements from rank ``start``, going down with ``reverse``."""
        if n <= 0 or not self.seek(start):
            return []
        cur = self.cur
        ns = self.ns
        if reverse:
            keys = islice(takewhile(self.sp.__le__, cur.iterprev(values=False)), n)
        else:
            keys = islice(takewhile((self.c.prefix + b"t").__gt__, cur.iternext(values=False)), n)
        return [(k[ns + 8:], bytes_score(k[ns:ns + 8])) for k in keys]

    def between(self, lo: bytes, hi: bytes, reverse: bool, offset: int, limit: int):
        """(member, score) with lo <= sort key < hi, skipping ``offset``, at most ``limit``
        (negative: no limit), in score order or its reverse."""
        if offset < 0 or limit == 0 or lo >= hi:
            return []
        first = self.below(lo)
        end = self.below(hi)
        n = end - first - offset
        if n <= 0:
            return []
        if 0 <= limit < n:
            n = limit
        start = end - 1 - offset if reverse else first + offset
        return self.items(start, n, reverse)

    def lex_range(self, lex, reverse: bool, offset: int, limit: int):
        """The elements of a lex range (see ``lex_walk``), after ``offset``, at most ``limit``."""
        if offset < 0 or limit == 0 or self.c.count == 0:
            return []
        first = self.items(0, 1)[0][1]
        last = self.items(self.c.count - 1, 1)[0][1]
        if first == last:
            lo, hi = lex_bounds(lex, score_bytes(first))
            return self.between(lo, hi, reverse, offset, limit)
        return lex_walk(self.items(0, self.c.count), lex, reverse, offset, limit)

    def first_score(self) -> bytes | None:
        cur = self.cur
        if cur.set_range(self.sp) and cur.key()[:self.ns] == self.sp:
            return cur.key()[self.ns:self.ns + 8]
        return None

    # -------------------------------------------------------- writes
    #
    # No write walks from the head. The node (or head) just left of x on a level is
    # the record before ``level prefix + x``: one seek, one step back. On a level
    # above x's height that record's span changes by one and nothing else; only on
    # the levels x occupies (a 1/16 chance each) must the elements between it and x
    # be counted (``_link``), walking the level below from it: a few steps. Removing
    # a node gives its span to its left neighbour (``_unlink``).

    def _current(self) -> None:
        """Rebuild levels written under another height rule (an older shardis) first."""
        c = self.c
        if c.b & 0xFF != RANK_VERSION:
            self._drop_levels()
            if c.count:
                self._build(None)

    def _link(self, x: bytes, h: int) -> None:
        """Make ``x`` (its ``s`` entry written) a node of levels 1..h, the levels above
        already counting it: from the bottom, d = the elements from the level's
        predecessor up to x, the level below's walk from its own predecessor added."""
        cur = self.cur
        pre = self.c.prefix
        f = self.c.b >> 8
        nl = len(pre) + 2
        lp = pre + _LEVEL[1]
        lk = lp + x
        _before(cur, lk)
        k, v = cur.item()
        p_key = k[nl:]
        d = 0
        hi = self.sp + x
        if cur.set_range(self.sp + p_key):
            for s in cur.iternext(values=False):
                if s >= hi:
                    break
                d += 1
        g = 0 if p_key else f  # a head's stored span carries the offset
        cur.put(k, _pack(d + g))
        cur.put(lk, _pack(_unpack(v)[0] - g - d + 1))
        for lv in range(2, h + 1):
            low = lp
            lp = pre + _LEVEL[lv]
            lk = lp + x
            _before(cur, lk)
            k, v = cur.item()
            q_key = k[nl:]
            if q_key != p_key:
                stop = low + p_key
                cur.set_key(low + q_key)
                d -= 0 if q_key else f
                for s, w in cur.iternext():
                    if s >= stop:
                        break
                    d += _unpack(w)[0]
                p_key = q_key
            g = 0 if p_key else f
            cur.put(k, _pack(d + g))
            cur.put(lk, _pack(_unpack(v)[0] - g - d + 1))

    def _unlink(self, x: bytes) -> int:
        """Remove x's nodes, each one's span going to its predecessor, less x itself;
        returns x's height (found by probing)."""
        cur = self.cur
        pre = self.c.prefix
        top = self.c.a
        lv = 1
        while lv <= top:
            lk = pre + _LEVEL[lv] + x
            own = cur.pop(lk)
            if own is None:
                break
            _before(cur, lk)
            k, v = cur.item()
            cur.put(k, _pack(_unpack(v)[0] + _unpack(own)[0] - 1))
            lv += 1
        return lv - 1

    def _above(self, x: bytes, h: int, delta: int) -> None:
        """Add ``delta`` to the span of x's predecessor on each level above ``h``."""
        cur = self.cur
        pre = self.c.prefix
        for lv in range(h + 1, self.c.a + 1):
            _before(cur, pre + _LEVEL[lv] + x)
            k, v = cur.item()
            cur.put(k, _pack(_unpack(v)[0] + delta))

    def insert(self, member: bytes, sb: bytes, written: bool = False) -> None:
        """Add a member that is not there, with score encoding ``sb`` (its member entry
        already ``written`` by the caller, or not)."""
        c = self.c
        if c.b & 0xFF != RANK_VERSION:
            self._current()
        h = _level(member)
        cur = self.cur
        if h > c.a:
            for lv in range(c.a + 1, h + 1):
                cur.put(c.prefix + _LEVEL[lv], _pack(c.count + (c.b >> 8)))
            c.a = h
        x = sb + member
        cur.put(self.sp + x, b"")
        self._above(x, h, 1)
        if h:
            self._link(x, h)
        if not written:
            self.ks.mput(c, member, sb)
        c.count += 1
        if c.count > self.ks.store.zset_entries or len(member) > self.ks.store.zset_value:
            c.enc = 1

    def delete(self, member: bytes, sb: bytes) -> None:
        """Remove a member that is there with score encoding ``sb``."""
        c = self.c
        if c.b & 0xFF != RANK_VERSION:
            self._current()
        x = sb + member
        self._above(x, self._unlink(x), -1)
        self.cur.pop(self.sp + x)
        self.ks.mdel(c, member)
        c.count -= 1

    def move(self, member: bytes, old: bytes, new: bytes, written: bool = False) -> None:
        """Change a member's score encoding from ``old`` to ``new``: its nodes leave and
        come back; on the levels above them only the two predecessors change, and not
        at all from the first level where they are one record (nor above it)."""
        c = self.c
        if c.b & 0xFF != RANK_VERSION:
            self._current()
        xo = old + member
        xn = new + member
        cur = self.cur
        pre = c.prefix
        h = self._unlink(xo)
        cur.pop(self.sp + xo)
        cur.put(self.sp + xn, b"")
        for lv in range(h + 1, c.a + 1):
            lp = pre + _LEVEL[lv]
            _before(cur, lp + xo)
            ko, vo = cur.item()
            _before(cur, lp + xn)
            kn, vn = cur.item()
            if ko == kn:
                break
            cur.put(ko, _pack(_unpack(vo)[0] - 1))
            cur.put(kn, _pack(_unpack(vn)[0] + 1))
        if h:
            self._link(xn, h)
        if not written:
            self.ks.mput(c, member, new)

    def set_score(self, member: bytes, old: bytes | None, score: float) -> None:
        sb = score_bytes(score)
        if old == sb:
            return
        if old is not None:
            self.move(member, old, sb)
        else:
            self.insert(member, sb)

    def pop_end(self, use_max: bool) -> tuple[bytes, float] | None:
        """Remove and return the lowest (highest with ``use_max``) element: no search,
        its predecessor on every level is the head (lowest) or the level's last
        record (highest)."""
        c = self.c
        if c.b & 0xFF != RANK_VERSION:
            self._current()
        cur = self.cur
        sp, ns = self.sp, self.ns
        pre = c.prefix
        if use_max:
            found = cur.prev() if cur.set_range(pre + b"t") else cur.last()
        else:
            found = cur.set_range(sp)
        k = cur.key() if found else b""
        if k[:ns] != sp:
            return None
        cur.delete()
        x = k[ns:]
        top = c.a
        lv = 1
        if use_max:
            # Its nodes are their levels' last, of span 1: they go, their predecessors
            # keep theirs. On the levels above, the last record loses one.
            while lv <= top and cur.pop(pre + _LEVEL[lv] + x) is not None:
                lv += 1
            while lv <= top:
                _before(cur, pre + _LEVEL[lv + 1])
                k, v = cur.item()
                cur.put(k, _pack(_unpack(v)[0] - 1))
                lv += 1
        else:
            # Its nodes are their levels' first, after a head of span 0: the head
            # takes the node's span less one. On the levels above, F += 1.
            f = (c.b >> 8) + 1
            while lv <= top:
                lp = pre + _LEVEL[lv]
                own = cur.pop(lp + x)
                if own is None:
                    break
                cur.put(lp, _pack(_unpack(own)[0] - 1 + f))
                lv += 1
            c.b += 256
        member = x[8:]
        self.ks.mdel(c, member)
        c.count -= 1
        return member, bytes_score(x)

    def remove_many(self, items) -> int:
        """Remove (member, score) pairs known to be there; a large share rebuilds the levels."""
        c = self.c
        n = len(items)
        if n * 4 < c.count or n < 32:
            for m, s in items:
                self.delete(m, score_bytes(s))
            return n
        cur = self.cur
        for m, s in items:
            if cur.set_key(self.sp + score_bytes(s) + m):
                cur.delete()
            self.ks.mdel(c, m)
        c.count -= n
        self._drop_levels()
        if c.count:
            self._build(None)
        return n

    def _drop_levels(self) -> None:
        cur = self.cur
        kp = self.c.prefix + b"k"
        if cur.set_range(kp):
            while cur.key()[:len(kp)] == kp:
                if not cur.delete():
                    break
        self.c.a = 0
        self.c.b = RANK_VERSION

    def _build(self, items) -> None:
        """Write the levels in one ordered pass: over ``items`` (sorted (member, sort key)
        pairs of a new set, whose ``s`` and member entries are written too), or over the
        ``s`` entries already there (items None)."""
        c = self.c
        pre = c.prefix
        put = self.cur.put
        last: list = [None] * (MAX_LEVEL + 1)
        top = 0
        if items is None:
            cur = self.ks.mcursor(index=True)
            sp, ns = self.sp, self.ns

            def walk():
                if cur.set_range(sp):
                    for k in cur.iternext(values=False):
                        if k[:ns] != sp:
                            return
                        yield k[ns + 8:], k[ns:]
            source = list(walk())
        else:
            source = items
        i = 0
        maxlen = 0
        for i, (member, x) in enumerate(source):
            if items is not None:
                put(self.sp + x, b"")
                self.ks.mput(c, member, x[:8])
                if len(member) > maxlen:
                    maxlen = len(member)
            h = _level(member)
            for lv in range(1, h + 1):
                prev = last[lv]
                if prev is None:
                    put(pre + _LEVEL[lv], _SPAN.pack(i))
                else:
                    put(pre + _LEVEL[lv] + prev[0], _SPAN.pack(i - prev[1]))
                last[lv] = (x, i)
            if h > top:
                top = h
        n = len(source)
        for lv in range(1, top + 1):
            x, j = last[lv]
            put(pre + _LEVEL[lv] + x, _SPAN.pack(n - j))
        c.a = top
        c.b = RANK_VERSION
        if items is not None:
            c.count = n
            if n > self.ks.store.zset_entries or maxlen > self.ks.store.zset_value:
                c.enc = 1


def _zset(ks: Keyspace, db: int, key: bytes) -> ZSet | None:
    c = ks.coll(db, key, ZSET)
    return None if c is None else ZSet(ks, c)


def _check_lengths(members) -> None:
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


def zadd_generic(ks: Keyspace, db: int, args: list[bytes], incr: bool):
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
            return z.lex_range(self.lex, self.rev, self.offset, self.limit)
        return z.between(self.lo, self.hi, self.rev, self.offset, self.limit)


def _reply(items, withscores: bool):
    if withscores:
        return Pairs(items)
    return [m for m, _ in items]


def zrange_generic(ks: Keyspace, db: int, args: list[bytes], by: str | None = None,
                   rev: bool | None = None):
    spec = RangeSpec(args, 1, False, by, rev)
    z = _zset(ks, db, args[1])
    if z is None:
        return []
    return _reply(spec.run(z), spec.withscores)


def zrangestore(ks: Keyspace, db: int, args: list[bytes]):
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
        items = z.lex_range(lex, False, 0, -1)
    else:
        items = z.between(lo, hi, False, 0, -1)
    if not items:
        return 0
    n = z.remove_many(items)
    ks.notify(NOTIFY_ZSET, b"zremrangeby" + by.encode(), db, args[1])
    ks.save_coll(z.c)
    return n


# ---------------------------------------------------------------- pops


def pop(ks: Keyspace, db: int, key: bytes, use_max: bool, count: int):
    """Remove and return up to ``count`` (member, score) pairs from the low end (or the high
    end with ``use_max``); None when the key does not exist. WRONGTYPE for another type."""
    c = ks.coll(db, key, ZSET)
    return None if c is None else _pop(ks, c, use_max, count)


def _pop(ks: Keyspace, c: Coll, use_max: bool, count: int) -> list[tuple[bytes, float]]:
    z = ZSet(ks, c)
    n = min(count, c.count)
    if n == 1:
        items = [z.pop_end(use_max)]
    elif n * 4 < c.count or n < 32:
        items = [z.pop_end(use_max) for _ in range(n)]  # no search: the ends are known
    else:
        items = z.items(c.count - 1 if use_max else 0, n, use_max)
        z.remove_many(items)
    if items:
        ks.notify(NOTIFY_ZSET, b"zpopmax" if use_max else b"zpopmin", c.db, c.key)
        ks.save_coll(c)
    return items


def _zpop(ks: Keyspace, db: int, args: list[bytes], use_max: bool):
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


def zmpop(ks: Keyspace, db: int, args: list[bytes]):
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


def zrandmember(ks: Keyspace, db: int, args: list[bytes]):
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


def _randmember_count(ks: Keyspace, db: int, args: list[bytes], count: int, withscores: bool):
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


def zscore(ks: Keyspace, db: int, args: list[bytes]):
    c = ks.coll(db, args[1], ZSET)
    if c is None:
        return None
    v = ks.mget(c, args[2])
    return None if v is None else bytes_score(v)


def zmscore(ks: Keyspace, db: int, args: list[bytes]):
    c = ks.coll(db, args[1], ZSET)
    if c is None:
        return [None] * (len(args) - 2)
    out = []
    for m in args[2:]:
        v = ks.mget(c, m)
        out.append(None if v is None else bytes_score(v))
    return out


def zscan(ks: Keyspace, db: int, args: list[bytes]):
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


def _zrank(ks: Keyspace, db: int, args: list[bytes], rev: bool):
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
        return len(z.lex_range(lex, False, 0, -1))
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

    def items(self):
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
          card: bool = False):
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


def _inter(srcs: list[Source], how: bytes, card: bool, limit: int):
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


def _sorted_items(scores: dict[bytes, float]):
    return sorted(((m, s) for m, s in scores.items()), key=lambda p: (p[1], p[0]))


def setop_reply(ks: Keyspace, db: int, args: list[bytes], op: str):
    scores, withscores = setop(ks, db, args, 1, op, False)
    return _reply(_sorted_items(scores), withscores)


def setop_store(ks: Keyspace, db: int, args: list[bytes], op: str) -> int:
    scores, _ = setop(ks, db, args, 2, op, True)
    return store(ks, db, args[1], scores, b"z%sstore" % op.encode())


# ---------------------------------------------------------------- keys of movable-key commands


def _numkeys_at(at: int, dest: bool):
    """keys(args) for commands with numkeys at ``args[at]`` (and a destination at args[1])."""

    def keys(args: list[bytes]) -> list[bytes]:
        n = int(args[at])
        if n < 1 or at + 1 + n > len(args):
            raise ValueError("bad numkeys")
        found = list(args[at + 1:at + 1 + n])
        return [args[1]] + found if dest else found

    return keys


# ---------------------------------------------------------------- the table


def register(table: CommandTable) -> None:
    """The sorted set commands, each declared as Redis 7.0's COMMAND INFO describes it."""
    cmd = table.command
    g = {"group": "sorted-set"}
    w_fast = "@write @sortedset @fast"
    r_fast = "@read @sortedset @fast"
    w_slow = "@write @sortedset @slow"
    r_slow = "@read @sortedset @slow"
    log_n = "O(log(N)) with N being the number of elements in the sorted set."
    range_m = ("O(log(N)+M) with N being the number of elements in the sorted set and M the "
               "number of elements being returned. If M is constant (e.g. always asking for "
               "the first 10 elements with LIMIT), you can consider it O(log(N)).")
    removed_m = ("O(log(N)+M) with N being the number of elements in the sorted set and M the "
                 "number of elements removed by the operation.")
    pop_c = ("O(log(N)*M) with N being the number of elements in the sorted set, and M being "
             "the number of elements popped.")
    union_c = ("O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and "
               "M being the number of elements in the resulting sorted set.")
    inter_c = ("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K "
               "being the number of input sorted sets and M being the number of elements in "
               "the resulting sorted set.")
    diff_c = ("O(L + (N-K)log(N)) worst case where L is the total number of elements in all the "
              "sets, N is the size of the first set, and K is the size of the result set.")
    numkeys = _numkeys_at(1, False)
    numkeys_dest = _numkeys_at(2, True)

    @cmd("zadd", -4, "write denyoom fast", 1, 1, 1, **g, since="1.2.0",
         complexity="O(log(N)) for each item added, where N is the number of elements in the sorted set.",
         summary="Add one or more members to a sorted set, or update its score if it already exists",
         acl=w_fast)
    def zadd(ks: Keyspace, db: int, args: list[bytes]):
        if len(args) == 4:  # one member, no options: the lean path, when it applies
            added = zadd_one(ks, db, args)
            if added is not None:
                return added
        return zadd_generic(ks, db, args, False)

    @cmd("zincrby", 4, "write denyoom fast", 1, 1, 1, **g, since="1.2.0",
         complexity="O(log(N)) where N is the number of elements in the sorted set.",
         summary="Increment the score of a member in a sorted set", acl=w_fast)
    def zincrby(ks: Keyspace, db: int, args: list[bytes]):
        return zadd_generic(ks, db, args, True)

    cmd("zrem", -3, "write fast", 1, 1, 1, **g, since="1.2.0",
        complexity=("O(M*log(N)) with N being the number of elements in the sorted set and M the "
                    "number of elements to be removed."),
        summary="Remove one or more members from a sorted set", acl=w_fast)(zrem)
    cmd("zcard", 2, "readonly fast", 1, 1, 1, **g, since="1.2.0", complexity="O(1)",
        summary="Get the number of members in a sorted set", acl=r_fast)(zcard)
    cmd("zcount", 4, "readonly fast", 1, 1, 1, **g, since="2.0.0", complexity=log_n,
        summary="Count the members in a sorted set with scores within the given values",
        acl=r_fast)(zcount)
    cmd("zlexcount", 4, "readonly fast", 1, 1, 1, **g, since="2.8.9", complexity=log_n,
        summary="Count the number of members in a sorted set between a given lexicographical range",
        acl=r_fast)(zlexcount)
    cmd("zscore", 3, "readonly fast", 1, 1, 1, **g, since="1.2.0", complexity="O(1)",
        summary="Get the score associated with the given member in a sorted set",
        acl=r_fast)(zscore)
    cmd("zmscore", -3, "readonly fast", 1, 1, 1, **g, since="6.2.0",
        complexity="O(N) where N is the number of members being requested.",
        summary="Get the score associated with the given members in a sorted set",
        acl=r_fast)(zmscore)

    @cmd("zrank", 3, "readonly fast", 1, 1, 1, **g, since="2.0.0", complexity="O(log(N))",
         summary="Determine the index of a member in a sorted set", acl=r_fast)
    def zrank(ks: Keyspace, db: int, args: list[bytes]):
        return _zrank(ks, db, args, False)

    @cmd("zrevrank", 3, "readonly fast", 1, 1, 1, **g, since="2.0.0", complexity="O(log(N))",
         summary="Determine the index of a member in a sorted set, with scores ordered from high to low",
         acl=r_fast)
    def zrevrank(ks: Keyspace, db: int, args: list[bytes]):
        return _zrank(ks, db, args, True)

    rank_m = ("O(log(N)+M) with N being the number of elements in the sorted set and M the "
              "number of elements returned.")

    @cmd("zrange", -4, "readonly", 1, 1, 1, **g, since="1.2.0", complexity=rank_m,
         summary="Return a range of members in a sorted set", acl=r_slow)
    def zrange(ks: Keyspace, db: int, args: list[bytes]):
        return zrange_generic(ks, db, args)

    cmd("zrangestore", -5, "write denyoom", 1, 2, 1, **g, since="6.2.0",
        complexity=("O(log(N)+M) with N being the number of elements in the sorted set and M the "
                    "number of elements stored into the destination key."),
        summary="Store a range of members from sorted set into another key", acl=w_slow)(zrangestore)

    @cmd("zrangebyscore", -4, "readonly", 1, 1, 1, **g, since="1.0.5", complexity=range_m,
         summary="Return a range of members in a sorted set, by score", acl=r_slow)
    def zrangebyscore(ks: Keyspace, db: int, args: list[bytes]):
        return zrange_generic(ks, db, args, "score", False)

    @cmd("zrevrangebyscore", -4, "readonly", 1, 1, 1, **g, since="2.2.0", complexity=range_m,
         summary="Return a range of members in a sorted set, by score, with scores ordered from high to low",
         acl=r_slow)
    def zrevrangebyscore(ks: Keyspace, db: int, args: list[bytes]):
        return zrange_generic(ks, db, args, "score", True)

    @cmd("zrangebylex", -4, "readonly", 1, 1, 1, **g, since="2.8.9", complexity=range_m,
         summary="Return a range of members in a sorted set, by lexicographical range", acl=r_slow)
    def zrangebylex(ks: Keyspace, db: int, args: list[bytes]):
        return zrange_generic(ks, db, args, "lex", False)

    @cmd("zrevrangebylex", -4, "readonly", 1, 1, 1, **g, since="2.8.9", complexity=range_m,
         summary=("Return a range of members in a sorted set, by lexicographical range, ordered "
                  "from higher to lower strings."), acl=r_slow)
    def zrevrangebylex(ks: Keyspace, db: int, args: list[bytes]):
        return zrange_generic(ks, db, args, "lex", True)

    @cmd("zrevrange", -4, "readonly", 1, 1, 1, **g, since="1.2.0", complexity=rank_m,
         summary="Return a range of members in a sorted set, by index, with scores ordered from high to low",
         acl=r_slow)
    def zrevrange(ks: Keyspace, db: int, args: list[bytes]):
        return zrange_generic(ks, db, args, "rank", True)

    @cmd("zremrangebyrank", 4, "write", 1, 1, 1, **g, since="2.0.0", complexity=removed_m,
         summary="Remove all members in a sorted set within the given indexes", acl=w_slow)
    def zremrangebyrank(ks: Keyspace, db: int, args: list[bytes]):
        return _zremrange(ks, db, args, "rank")

    @cmd("zremrangebyscore", 4, "write", 1, 1, 1, **g, since="1.2.0", complexity=removed_m,
         summary="Remove all members in a sorted set within the given scores", acl=w_slow)
    def zremrangebyscore(ks: Keyspace, db: int, args: list[bytes]):
        return _zremrange(ks, db, args, "score")

    @cmd("zremrangebylex", 4, "write", 1, 1, 1, **g, since="2.8.9", complexity=removed_m,
         summary="Remove all members in a sorted set between the given lexicographical range",
         acl=w_slow)
    def zremrangebylex(ks: Keyspace, db: int, args: list[bytes]):
        return _zremrange(ks, db, args, "lex")

    @cmd("zpopmin", -2, "write fast", 1, 1, 1, **g, since="5.0.0", complexity=pop_c,
         summary="Remove and return members with the lowest scores in a sorted set", acl=w_fast)
    def zpopmin(ks: Keyspace, db: int, args: list[bytes]):
        return _zpop(ks, db, args, False)

    @cmd("zpopmax", -2, "write fast", 1, 1, 1, **g, since="5.0.0", complexity=pop_c,
         summary="Remove and return members with the highest scores in a sorted set", acl=w_fast)
    def zpopmax(ks: Keyspace, db: int, args: list[bytes]):
        return _zpop(ks, db, args, True)

    cmd("zmpop", -4, "write movablekeys", 0, 0, 0, **g, since="7.0.0",
        complexity=("O(K) + O(M*log(N)) where K is the number of provided keys, N being the "
                    "number of elements in the sorted set, and M being the number of elements popped."),
        summary="Remove and return members with scores in a sorted set", acl=w_slow,
        keys=numkeys)(zmpop)
    cmd("zrandmember", -2, "readonly", 1, 1, 1, **g, since="6.2.0",
        complexity="O(N) where N is the number of elements returned",
        summary="Get one or multiple random elements from a sorted set", acl=r_slow)(zrandmember)

    @cmd("zunion", -3, "readonly movablekeys", 0, 0, 0, **g, since="6.2.0", complexity=union_c,
         summary="Add multiple sorted sets", acl=r_slow, keys=numkeys)
    def zunion(ks: Keyspace, db: int, args: list[bytes]):
        return setop_reply(ks, db, args, "union")

    @cmd("zunionstore", -4, "write denyoom movablekeys", 1, 1, 1, **g, since="2.0.0",
         complexity=("O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, "
                     "and M being the number of elements in the resulting sorted set."),
         summary="Add multiple sorted sets and store the resulting sorted set in a new key",
         acl=w_slow, keys=numkeys_dest)
    def zunionstore(ks: Keyspace, db: int, args: list[bytes]):
        return setop_store(ks, db, args, "union")

    @cmd("zinter", -3, "readonly movablekeys", 0, 0, 0, **g, since="6.2.0", complexity=inter_c,
         summary="Intersect multiple sorted sets", acl=r_slow, keys=numkeys)
    def zinter(ks: Keyspace, db: int, args: list[bytes]):
        return setop_reply(ks, db, args, "inter")

    @cmd("zinterstore", -4, "write denyoom movablekeys", 1, 1, 1, **g, since="2.0.0",
         complexity=inter_c,
         summary="Intersect multiple sorted sets and store the resulting sorted set in a new key",
         acl=w_slow, keys=numkeys_dest)
    def zinterstore(ks: Keyspace, db: int, args: list[bytes]):
        return setop_store(ks, db, args, "inter")

    @cmd("zintercard", -3, "readonly movablekeys", 0, 0, 0, **g, since="7.0.0",
         complexity=("O(N*K) worst case with N being the smallest input sorted set, K being the "
                     "number of input sorted sets."),
         summary="Intersect multiple sorted sets and return the cardinality of the result",
         acl=r_slow, keys=numkeys)
    def zintercard(ks: Keyspace, db: int, args: list[bytes]):
        return setop(ks, db, args, 1, "inter", False, True)

    @cmd("zdiff", -3, "readonly movablekeys", 0, 0, 0, **g, since="6.2.0", complexity=diff_c,
         summary="Subtract multiple sorted sets", acl=r_slow, keys=numkeys)
    def zdiff(ks: Keyspace, db: int, args: list[bytes]):
        return setop_reply(ks, db, args, "diff")

    @cmd("zdiffstore", -4, "write denyoom movablekeys", 1, 1, 1, **g, since="6.2.0",
         complexity=diff_c,
         summary="Subtract multiple sorted sets and store the resulting sorted set in a new key",
         acl=w_slow, keys=numkeys_dest)
    def zdiffstore(ks: Keyspace, db: int, args: list[bytes]):
        return setop_store(ks, db, args, "diff")


def register_scan(table: CommandTable) -> None:
    """ZSCAN, registered after every family (``build_table``) so that no other command's
    id moves: a write-ahead log and the coordinator's intent log hold ids."""
    table.command("zscan", -3, "readonly", 1, 1, 1, group="sorted-set", since="2.8.0",
                  complexity="O(1) for every call. O(N) for a complete iteration, including "
                             "enough command calls for the cursor to return back to 0. N is the "
                             "number of elements inside the collection..",
                  summary="Incrementally iterate sorted sets elements and associated scores",
                  acl="@read @sortedset @slow")(zscan)
