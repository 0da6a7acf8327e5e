"""A sorted set's entries and its rank structure (the skip list), as stored.

Layout, under the collection's prefix (``disk.coll``):

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

Scores are stored as ``score_bytes``: 8 bytes that sort in numeric order.
"""

from __future__ import annotations

import struct
from itertools import islice, takewhile
from typing import TYPE_CHECKING
from zlib import crc32

from shardis.shardd.disk.coll import Coll

if TYPE_CHECKING:
    from shardis.shardd.storage import Keyspace

MAX_LEVEL = 32
LEVEL_BITS = 4                     # a node of one level is one of the next with p = 1/16
_LEVEL_MASK = (1 << LEVEL_BITS) - 1
_FIB = 0x9E3779B97F4A7C15         # 2**64 / the golden ratio: multiplying spreads the bits
RANK_VERSION = 1                   # ``c.b & 0xFF`` of a sorted set whose levels follow ``_level``

SPAN = struct.Struct(">Q")
_DBL = struct.Struct(">d")
_U64 = struct.Struct(">Q")
_LEVEL = [b"k" + bytes([i]) for i in range(MAX_LEVEL + 2)]
_unpack = SPAN.unpack
_pack = SPAN.pack
_S = b"s"


# ---------------------------------------------------------------- scores and sort keys


def score_bytes(score: float) -> bytes:
    """A double as 8 bytes that sort in numeric order (-inf first, +inf last;
    -0.0 is stored as 0.0, as Redis treats them alike). Never NaN."""
    if score == 0.0:
        score = 0.0
    n = _U64.unpack(_DBL.pack(score))[0]
    return _U64.pack(n ^ 0xFFFFFFFFFFFFFFFF if n >> 63 else n | (1 << 63))


def bytes_score(b: bytes) -> float:
    n = _U64.unpack_from(b)[0]
    return _DBL.unpack(_U64.pack(n ^ (1 << 63) if n >> 63 else n ^ 0xFFFFFFFFFFFFFFFF))[0]


def next_score(b: bytes) -> bytes:
    """The smallest 8-byte key above ``b`` (the next score's encoding)."""
    return _U64.pack(_U64.unpack(b)[0] + 1)


def sort_key(sb: bytes, member: bytes) -> bytes:
    """An element's sort key: its score's encoding, then its member."""
    return sb + member


def just_after(x: bytes) -> bytes:
    """The smallest sort key above ``x``."""
    return x + b"\0"


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
                    put(pre + _LEVEL[lv], SPAN.pack(i))
                else:
                    put(pre + _LEVEL[lv] + prev[0], SPAN.pack(i - prev[1]))
                last[lv] = (x, i)
            if h > top:
                top = h
        n = len(source)
        for lv in range(1, top + 1):
            x, j = last[lv]
            put(pre + _LEVEL[lv] + x, SPAN.pack(n - j))
        c.a = top
        c.b = RANK_VERSION
        if items is not None:
            c.count = n
            if n > self.ks.store.zset_entries or maxlen > self.ks.store.zset_value:
                c.enc = 1
