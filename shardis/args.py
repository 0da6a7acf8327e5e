"""Argument parsing shared by every command family: strict integers, option words,
and Redis' glob patterns (KEYS, SCAN MATCH, CONFIG GET, PSUBSCRIBE, PUBSUB CHANNELS)."""

from __future__ import annotations

import re
from typing import Callable

from shardis import errors
from shardis.glob import stringmatch
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


def compile_glob(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """``stringmatch`` (shardis/glob.py) as KEYS, SCAN MATCH and CONFIG GET use it."""
    if pattern == b"*":
        return _everything  # KEYS and SCAN special-case "*": even the empty key matches
    return stringmatch(pattern, nocase)


def _everything(key: bytes) -> bool:
    return True


