"""Redis' glob patterns, exactly as its ``stringmatchlen`` (util.c, 7.0) answers them,
in time linear in the pattern times the string whatever the pattern.

stringmatchlen backtracks over ``*``; Redis 7.0 cuts that exponential search short
(once the rest of the pattern failed from every position after a ``*``, no longer
match of an earlier ``*`` can help) and gives up (no match) when more than 1000
``*`` are nested. The answers that leaves are those of plain glob matching, with
three of its quirks kept:

- the empty string matches only the empty pattern (the loop never starts);
- the pattern is parsed as its loop parses it: an unclosed ``[`` runs to the end,
  ``[a-]`` is the range ``]``..``a``, ``\\`` escapes the next byte (a trailing one
  is itself), ranges compare signed chars, and ``nocase`` folds ASCII letters
  only, after a range's ends were put in order, never for an escaped class member;
- past the 1000th ``*``, nothing but ``*`` may follow (else: no match).

So the pattern is compiled once into fixed-width *segments* between its stars
(each token one byte out of a set of 256), and a string is matched by anchoring
the first segment at the start and the last at the end and finding each middle
segment leftmost after the previous one: the classic greedy algorithm, which
never backtracks and gives glob's answer.
"""

from __future__ import annotations

import functools
import re
from typing import Callable

NESTING_LIMIT = 1000  # stringmatchlen_impl: "if (nesting > 1000) return 0"

_STAR = None  # a ``*`` token; every other token is the set of bytes it accepts


def _signed(b: int) -> int:
    return b - 256 if b > 127 else b


def _lower(c: int) -> int:
    """C's tolower in the C locale, on a (signed) char."""
    return c + 32 if 65 <= c <= 90 else c


# A class member's test of a byte (a ``[...]``'s tests are ORed).
def _equal(m: int) -> Callable[[int], bool]:
    return lambda c: c == m


def _equal_folded(m: int) -> Callable[[int], bool]:
    return lambda c: _lower(_signed(c)) == m


def _between(lo: int, hi: int) -> Callable[[int], bool]:
    return lambda c: lo <= _signed(c) <= hi


def _between_folded(lo: int, hi: int) -> Callable[[int], bool]:
    return lambda c: lo <= _lower(_signed(c)) <= hi


def _class(pat: bytes, p: int, nocase: bool) -> tuple[frozenset[int], int]:
    """The bytes a ``[...]`` starting after its ``[`` at ``p`` accepts, and the index of
    its last pattern byte, consumed as stringmatchlen consumes it."""
    n = len(pat)

    def at(i: int) -> int:
        return pat[i] if i < n else 0  # the NUL after an sds string

    negate = at(p) == 94  # '^'
    if negate:
        p += 1
    tests: list[Callable[[int], bool]] = []
    while True:
        if at(p) == 92 and n - p >= 2:  # '\\': the next byte itself, never folded
            p += 1
            tests.append(_equal(pat[p]))
        elif at(p) == 93:  # ']'
            break
        elif p >= n:  # unclosed: the class ends with the pattern
            p -= 1
            break
        elif n - p >= 3 and pat[p + 1] == 45:  # 'x-y'
            lo, hi = _signed(pat[p]), _signed(pat[p + 2])
            if lo > hi:
                lo, hi = hi, lo
            if nocase:
                lo, hi = _lower(lo), _lower(hi)
                tests.append(_between_folded(lo, hi))
            else:
                tests.append(_between(lo, hi))
            p += 2
        elif nocase:
            low = _lower(_signed(pat[p]))
            tests.append(_equal_folded(low))
        else:
            tests.append(_equal(pat[p]))
        p += 1
    hit = frozenset(c for c in range(256) if any(t(c) for t in tests))
    return (frozenset(range(256)) - hit if negate else hit), p


def tokens(pat: bytes, nocase: bool = False) -> list[frozenset[int] | None]:
    """The pattern as stringmatchlen reads it: byte sets, and ``_STAR`` for each run of ``*``."""
    out: list[frozenset[int] | None] = []
    n = len(pat)
    p = 0
    anything = frozenset(range(256))
    while p < n:
        c = pat[p]
        if c == 42:  # '*'
            if not out or out[-1] is not _STAR:
                out.append(_STAR)
        elif c == 63:  # '?'
            out.append(anything)
        elif c == 91:  # '['
            accepted, p = _class(pat, p + 1, nocase)
            out.append(accepted)
        else:
            if c == 92 and n - p >= 2:  # '\\' escapes the next byte
                p += 1
            b = pat[p]
            if nocase:
                low = _lower(_signed(b))
                out.append(frozenset(x for x in range(256) if _lower(_signed(x)) == low))
            else:
                out.append(frozenset((b,)))
        p += 1
    return out


def _regex(segment: list[frozenset[int]]):
    """A compiled regex for a fixed-width run of byte sets (no backtracking possible)."""
    parts = []
    for accepted in segment:
        if len(accepted) == 256:
            parts.append(b".")
        elif not accepted:
            parts.append(b"(?!)")
        else:
            parts.append(b"[" + b"".join(b"\\x%02x" % b for b in sorted(accepted)) + b"]")
    return re.compile(b"".join(parts), re.S)


@functools.lru_cache(maxsize=256)
def stringmatch(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """A predicate answering exactly as Redis 7.0's stringmatchlen(pattern, s, nocase)."""
    if pattern == b"":
        return _only_empty
    toks = tokens(pattern, nocase)
    stars = [i for i, t in enumerate(toks) if t is _STAR]
    if len(stars) > NESTING_LIMIT and any(t is not _STAR for t in toks[stars[NESTING_LIMIT]:]):
        return _nothing  # the star nested past the limit gives up; nothing else can match
    segments: list[list[frozenset[int]]] = [[]]
    for t in toks:
        if t is _STAR:
            segments.append([])
        else:
            segments[-1].append(t)
    if len(segments) == 1:
        whole = _regex(segments[0]).fullmatch
        return lambda s: bool(s) and whole(s) is not None
    first, middle, last = segments[0], segments[1:-1], segments[-1]
    first_rx = _regex(first).match if first else None
    middle_rx = [_regex(seg).search for seg in middle]
    last_rx = _regex(last).match if last else None
    nfirst, nlast = len(first), len(last)

    def match(s: bytes) -> bool:
        if not s:
            return False
        end = len(s) - nlast  # where the last segment must start
        if end < nfirst:
            return False
        if first_rx is not None and first_rx(s) is None:
            return False
        pos = nfirst
        for search in middle_rx:
            m = search(s, pos, end)  # leftmost, and wholly before the last segment
            if m is None:
                return False
            pos = m.end()
        return last_rx is None or last_rx(s, end) is not None

    return match


def _only_empty(s: bytes) -> bool:
    return not s


def _nothing(s: bytes) -> bool:
    return False
