"""Argument parsing shared by every command family: strict integers, option words,
and Redis' glob patterns (KEYS, SCAN MATCH, CONFIG GET, PSUBSCRIBE, PUBSUB CHANNELS)."""

from __future__ import annotations

import functools
import re
from typing import Callable

from shardis import errors
from shardis.resp import ReplyError, string2ll

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
ULONG_MAX = 2**64 - 1
_DIGITS = re.compile(rb"[+-]?[0-9]+").fullmatch


# ------------------------------------------------------------ argument parsing


def cstr(arg: bytes) -> bytes:
    """An argument as C's string functions see it: cut at the first NUL byte."""
    return arg.split(b"\0", 1)[0]


def int_arg(arg: bytes) -> int:
    """A 64-bit integer argument, parsed as strictly as Redis' string2ll."""
    v = string2ll(arg)
    if v is None:
        raise ReplyError(errors.NOT_INTEGER)
    return v


def int32_arg(arg: bytes) -> int:
    """getIntFromObjectOrReply: a 64-bit integer that must also fit a C int."""
    v = int_arg(arg)
    if not INT_MIN <= v <= INT_MAX:
        raise ReplyError(errors.INT_OUT_OF_RANGE % (INT_MIN, INT_MAX))
    return v


def scan_cursor(arg: bytes) -> int:
    """parseScanCursorOrReply: C's strtoul over the whole argument, cut at a NUL (a sign is
    accepted and negates modulo 2**64; leading space, trailing junk and ERANGE are
    refused; "" reads as 0)."""
    s = cstr(arg)
    if not s:
        return 0  # strtoul reads nothing and stops at the terminator
    if not _DIGITS(s):
        raise ReplyError(errors.INVALID_CURSOR)
    v = int(s)
    if abs(v) > ULONG_MAX:
        raise ReplyError(errors.INVALID_CURSOR)  # ERANGE
    return v % (ULONG_MAX + 1)  # strtoul negates in unsigned arithmetic


def scan_options(args: list[bytes]) -> tuple[int, bytes]:
    """HSCAN/SSCAN/ZSCAN's COUNT and MATCH after the cursor (any order, the last one
    wins), as scanGenericCommand reads them: (count, pattern). TYPE is SCAN's alone."""
    count, pattern = 10, b"*"
    opts = Options(args, 3)
    while opts.more():
        if opts.eat(b"count", 1):
            count = int_arg(opts.take())
            if count < 1:
                raise ReplyError(errors.SYNTAX)
        elif opts.eat(b"match", 1):
            pattern = opts.take()
        else:
            raise ReplyError(errors.SYNTAX)
    return count, pattern


class Options:
    """A cursor over a command's optional arguments (Kvrocks' ``EatEqICase`` style)."""

    __slots__ = ("args", "pos")

    def __init__(self, args: list[bytes], start: int) -> None:
        self.args = args
        self.pos = start

    def more(self) -> bool:
        return self.pos < len(self.args)

    def peek(self) -> bytes:
        """The next option word, as Redis compares it (lower case, cut at NUL)."""
        return cstr(self.args[self.pos]).lower()

    def eat(self, word: bytes, values: int = 0) -> bool:
        """Consume ``word`` (case-insensitive) if it is next and ``values`` arguments follow it."""
        if len(self.args) - self.pos > values and self.peek() == word:
            self.pos += 1
            return True
        return False

    def take(self) -> bytes:
        v = self.args[self.pos]
        self.pos += 1
        return v


# ------------------------------------------------------------ glob patterns

_STAR, _ANY = b".*", b"."


def _class_bytes(members: list[int], ranges: list[tuple[int, int]], negate: bool) -> bytes:
    """A regex character class of the bytes a ``[...]`` accepts (Redis compares signed chars)."""
    allowed = []
    for b in range(256):
        c = b - 256 if b > 127 else b
        hit = b in members or any(lo <= c <= hi for lo, hi in ranges)
        if hit != negate:
            allowed.append(b)
    if not allowed:
        return b"(?!)"
    return b"[" + b"".join(b"\\x%02x" % b for b in allowed) + b"]"


def _glob_regex(pat: bytes) -> bytes:
    """Translate a glob to a regex, consuming the pattern exactly as stringmatchlen does
    (util.c), quirks included: an unclosed ``[`` runs to the end, ``[a-]`` is the
    range a..']', a trailing ``\\`` is a literal backslash."""
    n = len(pat)
    out: list[bytes] = []
    p = 0

    def at(i: int) -> int:
        return pat[i] if i < n else 0  # the sds NUL terminator

    while p < n:
        c = pat[p]
        if c == 42:  # '*'
            while p + 1 < n and pat[p + 1] == 42:
                p += 1
            out.append(_STAR)
        elif c == 63:  # '?'
            out.append(_ANY)
        elif c == 91:  # '['
            p += 1
            negate = at(p) == 94
            if negate:
                p += 1
            members: list[int] = []
            ranges: list[tuple[int, int]] = []
            while True:
                if at(p) == 92 and n - p >= 2:
                    p += 1
                    members.append(pat[p])
                elif at(p) == 93:
                    break
                elif p >= n:
                    p -= 1
                    break
                elif n - p >= 3 and pat[p + 1] == 45:
                    lo, hi = (x - 256 if x > 127 else x for x in (pat[p], pat[p + 2]))
                    ranges.append((min(lo, hi), max(lo, hi)))
                    p += 2
                else:
                    members.append(pat[p])
                p += 1
            out.append(_class_bytes(members, ranges, negate))
        else:
            if c == 92 and n - p >= 2:  # '\\' escapes the next byte
                p += 1
            out.append(b"\\x%02x" % pat[p])
        p += 1
    return b"".join(out)


@functools.lru_cache(maxsize=256)
def stringmatch(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """A predicate that answers exactly as Redis' stringmatchlen(pattern, s, nocase) does
    (``nocase`` folds ASCII letters only, as C's tolower does). PSUBSCRIBE and PUBSUB
    CHANNELS match with it as it is; KEYS and SCAN through ``compile_glob``."""
    rx = re.compile(_glob_regex(pattern), re.S | (re.I if nocase else 0)).fullmatch
    empty = pattern == b""
    # stringmatchlen never enters its loop for an empty string: only the empty pattern
    # matches it (so PSUBSCRIBE * does not receive PUBLISH to the channel "").
    return lambda s: rx(s) is not None if s else empty


def compile_glob(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """``stringmatch`` as KEYS, SCAN MATCH and CONFIG GET use it."""
    if pattern == b"*":
        return _everything  # KEYS and SCAN special-case "*": even the empty key matches
    return stringmatch(pattern, nocase)


def _everything(key: bytes) -> bool:
    return True


