"""The string family: GET, SET and the rest; shard-side handlers and cross-shard ops.

Besides the handlers this module holds the pieces other families may reuse:
Redis' long double arithmetic for INCRBYFLOAT (``parse_long_double``,
``add_long_double``, ``format_long_double``) and the LCS algorithm (``lcs_reply``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal, cast

from shardis import errors
from shardis.commands import COORD, SPLIT_OK, SPLIT_POSITIONAL, CommandTable, CrossOp, Round
from shardis.notify import NOTIFY_GENERIC, NOTIFY_KEY_MISS, NOTIFY_STRING
from shardis.args import int_arg
from shardis.resp import OK, ReplyError, Simple, encode, string2ll
from shardis.shardd.disk.keys import is_string
from shardis.shardd.storage import Keyspace

LLONG_MIN = -(2**63)
LLONG_MAX = 2**63 - 1


# ---------------------------------------------------------------- small parsers


def _opt(arg: bytes) -> bytes:
    """An option name as Redis compares it: upper-cased, and cut at a NUL (C strings)."""
    return arg.split(b"\0", 1)[0].upper()


def _string_record(ks: Keyspace, db: int, key: bytes) -> tuple[bytes | None, bytes | None]:
    """(record, whole value) of a string key, (None, None) when absent; WRONGTYPE for another type."""
    raw = ks.string_record(db, key)
    if raw is None:
        return None, None
    return raw, ks.string_value(raw)


def _number_text(ks: Keyspace, raw: bytes) -> bytes | None:
    """A string's value when it is short enough to be a number (INCR's, INCRBYFLOAT's:
    no number is _LD_MAX_CHARS long), else None, without reading a long one."""
    return ks.string_value(raw) if ks.string_len(raw) < _LD_MAX_CHARS else None


def _check_length(ks: Keyspace, size: int, extra: int) -> None:
    """Redis' checkStringLength: a string may not grow past proto-max-bulk-len."""
    if size + extra > ks.store.proto_max_bulk_len:
        raise ReplyError(errors.STRING_TOO_LONG)


# ---------------------------------------------------------------- SET / GETEX options

_EXPIRE_UNITS = {b"EX": (1000, False), b"PX": (1, False), b"EXAT": (1000, True), b"PXAT": (1, True)}


@dataclass(slots=True)
class ExtOptions:
    """SET's and GETEX's options, as parseExtendedStringArgumentsOrReply accepts them."""

    nx: bool = False
    xx: bool = False
    get: bool = False
    keepttl: bool = False
    persist: bool = False
    unit: bytes | None = None        # EX, PX, EXAT or PXAT
    expire_arg: bytes | None = None

    @property
    def absolute(self) -> bool:
        return self.unit is not None and _EXPIRE_UNITS[self.unit][1]


def parse_ext_options(args: list[bytes], start: int, for_set: bool) -> ExtOptions:
    """Consume SET (``for_set``) or GETEX options from ``args[start:]``; syntax error on misuse.

    The conditions mirror Redis 7.0 one for one: an option repeated is fine (the
    last expire wins), a conflicting one is a syntax error, and so is an option
    the other command owns.
    """
    o = ExtOptions()
    i, n = start, len(args)
    while i < n:
        opt = _opt(args[i])
        timed = o.unit is not None
        if for_set and opt == b"NX" and not o.xx:
            o.nx = True
        elif for_set and opt == b"XX" and not o.nx:
            o.xx = True
        elif for_set and opt == b"GET":
            o.get = True
        elif for_set and opt == b"KEEPTTL" and not timed:
            o.keepttl = True
        elif not for_set and opt == b"PERSIST" and not timed:
            o.persist = True
        elif (opt in _EXPIRE_UNITS and i + 1 < n and not o.keepttl and not o.persist
              and o.unit in (None, opt)):
            o.unit = opt
            o.expire_arg = args[i + 1]
            i += 1
        else:
            raise ReplyError(errors.SYNTAX)
        i += 1
    return o


def expire_at_ms(arg: bytes, unit: bytes, now: int, command: str) -> int:
    """The absolute expire time (ms) an EX/PX/EXAT/PXAT argument asks for, checked as Redis does."""
    ms = int_arg(arg)
    scale, absolute = _EXPIRE_UNITS[unit]
    if ms <= 0 or ms > LLONG_MAX // scale:
        raise ReplyError(errors.INVALID_EXPIRE % command)
    ms *= scale
    if not absolute:
        ms += now
    if ms > LLONG_MAX:  # Redis sees the signed overflow as a negative time
        raise ReplyError(errors.INVALID_EXPIRE % command)
    return ms


# ---------------------------------------------------------------- long double (INCRBYFLOAT)
#
# Redis computes INCRBYFLOAT in C's long double: on x86-64 the x87 80-bit format
# (64-bit significand, exponent -16382..16383, subnormals). Python has no such
# type, so values are kept as exact Fractions rounded to that format after every
# operation; strtold and printf("%.17Lf") are then reproduced exactly.

_LD_MANT = 64
_LD_MIN_ULP = -16382 - (_LD_MANT - 1)   # exponent of the smallest subnormal
_LD_MAX_EXP = 16383                       # largest binary exponent of a finite value
_LD_MAX_CHARS = 5 * 1024                  # MAX_LONG_DOUBLE_CHARS
INF = float("inf")

_DEC = re.compile(rb"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_HEX = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?")
_INF = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)


def _digits_to_int(d: bytes) -> int:
    """int(d) for digit strings of any length (int() refuses more than 4300 digits)."""
    v = 0
    for i in range(0, len(d), 1000):
        part = d[i:i + 1000]
        v = v * 10 ** len(part) + int(part)
    return v


_CHUNK = 10**1000


def _int_to_digits(n: int) -> bytes:
    """b"%d" % n for non-negative ints of any size."""
    parts = []
    while n >= _CHUNK:
        n, r = divmod(n, _CHUNK)
        parts.append(b"%01000d" % r)
    parts.append(b"%d" % n)
    return b"".join(reversed(parts))


def _exponent(s: bytes | None) -> int:
    """An exponent field, clamped: anything past 10**9 is as good as infinite here."""
    if not s:
        return 0
    neg = s[:1] == b"-"
    s = s.lstrip(b"+-").lstrip(b"0") or b"0"
    v = int(s) if len(s) <= 10 else 10**10
    return -v if neg else v


def _round_half_even(num: int, den: int) -> int:
    q, r = divmod(num, den)
    if 2 * r > den or 2 * r == den and q & 1:
        q += 1
    return q


def round_long_double(q: Fraction) -> Fraction | float:
    """``q`` rounded to the nearest long double (ties to even); +-inf past the largest."""
    if q == 0:
        return Fraction(0)
    neg = q < 0
    num, den = abs(q.numerator), q.denominator
    e = num.bit_length() - den.bit_length()
    if (num << max(-e, 0)) < (den << max(e, 0)):
        e -= 1  # now 2**e <= |q| < 2**(e+1)
    ulp = max(e - (_LD_MANT - 1), _LD_MIN_ULP)
    m = _round_half_even(num << max(-ulp, 0), den << max(ulp, 0))
    if m.bit_length() > _LD_MANT:
        m >>= 1
        ulp += 1
    if m and m.bit_length() + ulp - 1 > _LD_MAX_EXP:
        return -INF if neg else INF
    v = Fraction(m << ulp) if ulp >= 0 else Fraction(m, 1 << -ulp)
    return -v if neg else v


def parse_long_double(arg: bytes) -> Fraction | float | None:
    """Redis' string2ld: strtold over the whole argument, no spaces, no NaN; None if invalid."""
    if not arg or len(arg) >= _LD_MAX_CHARS:
        return None
    m = _DEC.fullmatch(arg)
    if m and (m[2] or m[3]):
        sign, ipart, fpart, exp = m[1], m[2], m[3] or b"", m[4]
        digits = (ipart + fpart).lstrip(b"0")
        if not digits:
            return Fraction(0)
        e10 = _exponent(exp) - len(fpart)
        magnitude = len(digits) + e10      # |value| < 10**magnitude
        if magnitude > 4940:
            return None                    # overflow: strtold says ERANGE, HUGE_VAL
        if magnitude < -4960:
            return None                    # underflow to zero: ERANGE, FP_ZERO
        v = Fraction(_digits_to_int(digits)) * Fraction(10) ** e10
    else:
        m = _HEX.fullmatch(arg)
        if m and (m[2] or m[3]):
            sign, ipart, fpart, exp = m[1], m[2], m[3] or b"", m[4]
            digits = (ipart + fpart).lstrip(b"0")
            if not digits:
                return Fraction(0)
            e2 = _exponent(exp) - 4 * len(fpart)
            magnitude = 4 * len(digits) + e2  # 2**(magnitude-4) <= |value| < 2**magnitude
            if magnitude > _LD_MAX_EXP + 20 or magnitude < _LD_MIN_ULP - 20:
                return None                    # certainly overflow / underflow to zero
            v = Fraction(int(digits, 16)) * Fraction(2) ** e2
        else:
            m = _INF.fullmatch(arg)
            if m is None:
                return None
            return -INF if m[1] == b"-" else INF
    r = round_long_double(v)
    if r == 0 or r in (INF, -INF):
        return None
    return -r if sign == b"-" else r


def add_long_double(a: Fraction | float, b: Fraction | float) -> Fraction | float:
    """a + b in long double; an infinity in, an infinity (or NaN) out."""
    if isinstance(a, float) or isinstance(b, float):
        # A finite long double cannot change an infinity: only the infinities count.
        return (a if isinstance(a, float) else 0.0) + (b if isinstance(b, float) else 0.0)
    return round_long_double(a + b)


def format_long_double(v: Fraction) -> bytes:
    """printf("%.17Lf") with trailing zeros (and a bare '.') trimmed, as ld2string's human mode."""
    n = _round_half_even(abs(v.numerator) * 10**17, v.denominator)
    int_part, frac = divmod(n, 10**17)
    s = (_int_to_digits(int_part) + b".%017d" % frac).rstrip(b"0").rstrip(b".")
    if v < 0 and s != b"0":
        s = b"-" + s
    return s


# ---------------------------------------------------------------- LCS

# LCS's reply: the length (LEN), the ranges (IDX: a map), else the common string.
LcsReply = int | bytes | dict[bytes, Any]


def _lcs_rows(a: bytes, b: bytes) -> list[int]:
    """The LCS table's rows as bit vectors (Hyyro's bit-parallel LCS).

    Row i (1-based) is stored at rows[i-1]; LCS(i, j) = j - popcount(row & (2**j - 1)).
    This computes the same table as Redis' O(N*M) loop, 60-odd cells per machine word.
    """
    match: dict[int, int] = {}
    for j, c in enumerate(b):
        match[c] = match.get(c, 0) | (1 << j)
    mask = (1 << len(b)) - 1
    v = mask
    rows = []
    for c in a:
        u = v & match.get(c, 0)
        v = ((v + u) | (v - u)) & mask
        rows.append(v)
    return rows


def lcs_reply(a: bytes | None, b: bytes | None, args: list[bytes],
              max_bulk_len: int = 512 << 20) -> LcsReply:
    """LCS's reply for the values of its two keys (None = absent), options in ``args[3:]``,
    under proto-max-bulk-len ``max_bulk_len``."""
    a = a or b""
    b = b or b""
    getidx = getlen = withmatchlen = False
    minmatchlen = 0
    j = 3
    while j < len(args):
        opt = _opt(args[j])
        if opt == b"IDX":
            getidx = True
        elif opt == b"LEN":
            getlen = True
        elif opt == b"WITHMATCHLEN":
            withmatchlen = True
        elif opt == b"MINMATCHLEN" and j + 1 < len(args):
            minmatchlen = max(int_arg(args[j + 1]), 0)
            j += 1
        else:
            raise ReplyError(errors.SYNTAX)
        j += 1
    if getidx and getlen:
        raise ReplyError(errors.LCS_IDX_AND_LEN)
    alen, blen = len(a), len(b)
    # Redis refuses a table bigger than proto-max-bulk-len (4 bytes a cell); the
    # "String too long for LCS" check cannot trigger below that limit.
    if (alen + 1) * (blen + 1) * 4 > max_bulk_len:
        raise ReplyError(errors.LCS_TOO_BIG)
    rows = _lcs_rows(a, b)
    total = blen - (rows[-1].bit_count() if rows else blen)
    if getlen:
        return total

    def cell(i: int, j: int) -> int:
        if i == 0 or j == 0:
            return 0
        row = rows[i - 1]
        return j - (row.bit_count() - (row >> j).bit_count())

    # Walk back from (alen, blen) exactly as Redis does, so ties pick the same path.
    result = bytearray()
    ranges: list[list] = []
    i, j = alen, blen
    a_start = alen  # alen = no range open
    a_end = b_start = b_end = 0
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result.append(a[i - 1])
            if a_start == alen:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            i -= 1
            j -= 1
        else:
            if cell(i - 1, j) > cell(i, j - 1):
                i -= 1
            else:
                j -= 1
            if a_start != alen:
                emit = True
        if emit:
            match_len = a_end - a_start + 1
            if getidx and (minmatchlen == 0 or match_len >= minmatchlen):
                entry: list[Any] = [[a_start, a_end], [b_start, b_end]]
                if withmatchlen:
                    entry.append(match_len)
                ranges.append(entry)
            a_start = alen
    if getidx:
        return {b"matches": ranges, b"len": total}  # a map in RESP3, flat in RESP2
    result.reverse()
    return bytes(result)


# ---------------------------------------------------------------- shard-side helpers


def _incr_by(ks: Keyspace, db: int, key: bytes, delta: int) -> int:
    """INCR and friends: add ``delta`` to an integer string, keeping its TTL."""
    raw = ks.string_record(db, key)
    old = 0
    if raw is not None:
        value = _number_text(ks, raw)
        parsed = None if value is None else string2ll(value)
        if parsed is None:
            raise ReplyError(errors.NOT_INTEGER)
        old = parsed
    new = old + delta
    if not LLONG_MIN <= new <= LLONG_MAX:
        raise ReplyError(errors.OVERFLOW)
    ks.set_string(db, key, b"%d" % new, ks.expire_of(raw) if raw else 0, old=raw)
    ks.notify(NOTIFY_STRING, b"incrby", db, key)
    return new


def _set_events(ks: Keyspace, db: int, key: bytes, expire: int) -> None:
    """What SET and its kin report: "set", and "expire" when they gave a TTL."""
    ks.notify(NOTIFY_STRING, b"set", db, key)
    if expire:
        ks.notify(NOTIFY_GENERIC, b"expire", db, key)


def _mset_pairs(args: list[bytes]) -> None:
    """MSET/MSETNX need key-value pairs: Redis answers an odd count with the arity error."""
    if len(args) % 2 == 0:
        raise ReplyError(errors.WRONG_ARITY % args[0].decode(errors="replace").lower())


# ---------------------------------------------------------------- the commands


def get(ks: Keyspace, db: int, args: list[bytes]) -> bytes | None:
    return ks.get_string(db, args[1])


def get_resp2(ks: Keyspace, db: int, args: list[bytes]) -> bytes:
    return ks.get_string_resp(db, args[1])


def set_(ks: Keyspace, db: int, args: list[bytes]) -> bytes | Simple | None:
    if len(args) == 3:  # the hot path: no options
        ks.set_plain(db, args[1], args[2])
        ks.notify(NOTIFY_STRING, b"set", db, args[1])
        return OK
    o = parse_ext_options(args, 3, for_set=True)
    expire = expire_at_ms(cast(bytes, o.expire_arg), o.unit, ks.now, "set") if o.unit else 0
    key = args[1]
    raw: bytes | None | Literal[False] = False  # False: not read, set_string reads it
    old_value = None
    if o.get:
        raw, old_value = _string_record(ks, db, key)
        if raw is None:
            ks.notify(NOTIFY_KEY_MISS, b"keymiss", db, key)  # GET reads it, as Redis
    elif o.nx or o.xx or o.keepttl:
        raw = ks.lookup(db, key)
    if o.nx and raw is not None or o.xx and raw is None:
        return old_value if o.get else None
    if o.keepttl and raw:
        ks.set_string(db, key, args[2], ks.expire_of(raw), old=raw)
        ks.notify(NOTIFY_STRING, b"set", db, key)
    else:
        ks.set_string(db, key, args[2], expire, old=raw)
        _set_events(ks, db, key, expire)
    return old_value if o.get else OK


def set_resp2(ks: Keyspace, db: int, args: list[bytes]) -> bytes:
    if len(args) == 3:
        ks.set_plain(db, args[1], args[2])
        return b"+OK\r\n"
    return encode(set_(ks, db, args))


def setnx(ks: Keyspace, db: int, args: list[bytes]) -> int:
    if ks.lookup(db, args[1]) is not None:
        return 0
    ks.set_string(db, args[1], args[2], old=None)
    ks.notify(NOTIFY_STRING, b"set", db, args[1])
    return 1


def setex(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    ks.set_string(db, args[1], args[3], expire_at_ms(args[2], b"EX", ks.now, "setex"))
    _set_events(ks, db, args[1], 1)
    return OK


def psetex(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    ks.set_string(db, args[1], args[3], expire_at_ms(args[2], b"PX", ks.now, "psetex"))
    _set_events(ks, db, args[1], 1)
    return OK


def getset(ks: Keyspace, db: int, args: list[bytes]) -> bytes | None:
    raw, old_value = _string_record(ks, db, args[1])
    ks.set_string(db, args[1], args[2], old=raw)  # like SET: the TTL goes
    ks.notify(NOTIFY_STRING, b"set", db, args[1])
    return old_value


def getdel(ks: Keyspace, db: int, args: list[bytes]) -> bytes | None:
    raw, value = _string_record(ks, db, args[1])
    if raw is not None:
        ks.delete(db, args[1])
        ks.notify(NOTIFY_GENERIC, b"del", db, args[1])
    return value


def getex(ks: Keyspace, db: int, args: list[bytes]) -> bytes | None:
    o = parse_ext_options(args, 2, for_set=False)
    key = args[1]
    raw, value = _string_record(ks, db, key)
    if raw is None:
        return None  # Redis answers nil before it looks at the expire value
    if o.unit:
        expire = expire_at_ms(cast(bytes, o.expire_arg), o.unit, ks.now, "getex")
        if o.absolute and expire <= ks.now:
            ks.delete(db, key)
            ks.notify(NOTIFY_GENERIC, b"del", db, key)
        else:
            ks.set_expire(db, key, raw, expire)
            ks.notify(NOTIFY_GENERIC, b"expire", db, key)
    elif o.persist and ks.expire_of(raw):
        ks.set_expire(db, key, raw, 0)
        ks.notify(NOTIFY_GENERIC, b"persist", db, key)
    return value


def mget(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes | None]:
    out = []
    for key in args[1:]:
        raw = ks.lookup(db, key)
        # MGET answers nil for a key of another type, never WRONGTYPE.
        out.append(ks.string_value(raw) if raw is not None and is_string(raw) else None)
    return out


def mset(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    _mset_pairs(args)
    if ks.inline_paths:  # (no events to report)
        ks.set_plain_many(db, args)
        return OK
    for i in range(1, len(args), 2):
        ks.set_string(db, args[i], args[i + 1])
        ks.notify(NOTIFY_STRING, b"set", db, args[i])
    return OK


def msetnx(ks: Keyspace, db: int, args: list[bytes]) -> int:
    _mset_pairs(args)
    if any(ks.lookup(db, args[i]) is not None for i in range(1, len(args), 2)):
        return 0
    for i in range(1, len(args), 2):
        ks.set_string(db, args[i], args[i + 1])
        ks.notify(NOTIFY_STRING, b"set", db, args[i])
    return 1


def append(ks: Keyspace, db: int, args: list[bytes]) -> int:
    key, tail = args[1], args[2]
    raw = ks.string_record(db, key)
    if raw is None:
        ks.set_string(db, key, tail, old=None)
        ks.notify(NOTIFY_STRING, b"append", db, key)
        return len(tail)
    length = ks.string_len(raw)
    _check_length(ks, length, len(tail))
    ks.write_string(db, key, raw, length, tail)  # (a long string: its last chunk or two)
    ks.notify(NOTIFY_STRING, b"append", db, key)
    return length + len(tail)


def strlen(ks: Keyspace, db: int, args: list[bytes]) -> int:
    raw = ks.string_record(db, args[1])
    return 0 if raw is None else ks.string_len(raw)


def incr(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return _incr_by(ks, db, args[1], 1)


def decr(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return _incr_by(ks, db, args[1], -1)


def incrby(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return _incr_by(ks, db, args[1], int_arg(args[2]))


def decrby(ks: Keyspace, db: int, args: list[bytes]) -> int:
    delta = int_arg(args[2])
    if delta == LLONG_MIN:  # its negation does not fit in 64 bits
        raise ReplyError(errors.DECR_OVERFLOW)
    return _incr_by(ks, db, args[1], -delta)


def incrbyfloat(ks: Keyspace, db: int, args: list[bytes]) -> bytes:
    delta = parse_long_double(args[2])
    key = args[1]
    # Redis checks the key's type and value before the increment's syntax.
    raw = ks.string_record(db, key)
    current: Fraction | float | None = Fraction(0)
    if raw is not None:
        value = _number_text(ks, raw)
        current = None if value is None else parse_long_double(value)
    if current is None or delta is None:
        raise ReplyError(errors.NOT_FLOAT)
    total = add_long_double(current, delta)
    if isinstance(total, float):  # inf or nan
        raise ReplyError(errors.INCR_NAN_INF)
    out = format_long_double(total)
    ks.set_string(db, key, out, ks.expire_of(raw) if raw else 0, old=raw)
    ks.notify(NOTIFY_STRING, b"incrbyfloat", db, key)
    return out


def getrange(ks: Keyspace, db: int, args: list[bytes]) -> bytes:
    start, end = int_arg(args[2]), int_arg(args[3])
    raw = ks.string_record(db, args[1])
    n = 0 if raw is None else ks.string_len(raw)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start = max(n + start, 0)
    if end < 0:
        end = max(n + end, 0)
    end = min(end, n - 1)
    if start > end or raw is None:
        return b""
    return ks.string_range(raw, start, end + 1)  # (a long string: the chunks of the range)


def setrange(ks: Keyspace, db: int, args: list[bytes]) -> int:
    key, piece = args[1], args[3]
    offset = int_arg(args[2])
    if offset < 0:
        raise ReplyError(errors.OFFSET_RANGE)
    raw = ks.string_record(db, key)
    if not piece:  # nothing to write: not even an empty key is created
        return 0 if raw is None else ks.string_len(raw)
    _check_length(ks, offset, len(piece))
    rec = ks.write_string(db, key, raw, offset, piece)  # (a long string: the chunks of the range)
    ks.notify(NOTIFY_STRING, b"setrange", db, key)
    return ks.string_len(rec)


def lcs(ks: Keyspace, db: int, args: list[bytes]) -> LcsReply:
    values = []
    for key in args[1:3]:
        raw = ks.lookup(db, key)
        if raw is not None and not is_string(raw):
            raise ReplyError(errors.LCS_NOT_STRING)
        values.append(None if raw is None else ks.string_value(raw))
    return lcs_reply(values[0], values[1], args, ks.store.proto_max_bulk_len)


# ---------------------------------------------------------------- across shards


def _msetnx_cross(coord: Round, db: int, args: list[bytes]) -> int:
    """MSETNX over several shards: check every shard, then set every shard (not atomic)."""
    _mset_pairs(args)
    groups: dict[int, list[bytes]] = {}
    for i in range(1, len(args), 2):
        groups.setdefault(coord.shard_of(args[i]), []).extend(args[i:i + 2])
    for shard, pairs in groups.items():
        if coord.call(shard, db, b"EXISTS", *pairs[::2]):
            return 0
    for shard, pairs in groups.items():
        coord.call(shard, db, b"MSET", *pairs)
    return 1


def _lcs_cross(coord: Round, db: int, args: list[bytes]) -> LcsReply:
    """LCS of two keys on different shards: fetch both values, compute here."""
    values = []
    for key in args[1:3]:
        try:
            values.append(coord.call(coord.shard_of(key), db, b"GET", key))
        except ReplyError as e:
            if e.args[0] == errors.WRONGTYPE:
                raise ReplyError(errors.LCS_NOT_STRING) from None
            raise
    return lcs_reply(values[0], values[1], args, coord.cfg.proto_max_bulk_len)


def register_cross(ops: dict[str, CrossOp]) -> None:
    """The string family's cross-shard operations, run by the coordinator."""
    ops["msetnx"] = _msetnx_cross
    ops["lcs"] = _lcs_cross


# ---------------------------------------------------------------- the command table

# GETRANGE and its alias SUBSTR share their documentation, as in Redis.
_RANGE_DOC: dict[str, Any] = dict(
    complexity="O(N) where N is the length of the returned string. The complexity is "
               "ultimately determined by the returned length, but because creating a "
               "substring from an existing string is very cheap, it can be considered "
               "O(1) for small strings.",
    summary="Get a substring of the string stored at a key", acl="@read @string @slow")


def register(table: CommandTable) -> None:
    """The string commands, each declared as Redis 7.0's COMMAND INFO describes it."""
    cmd = table.command
    cmd("get", 2, "readonly fast", 1, 1, 1, group="string", since="1.0.0", complexity="O(1)",
        summary="Get the value of a key", acl="@read @string @fast")(get)
    table.resp2("get")(get_resp2)
    cmd("set", -3, "write denyoom", 1, 1, 1, group="string", since="1.0.0", complexity="O(1)",
        summary="Set the string value of a key", acl="@write @string @slow")(set_)
    table.resp2("set")(set_resp2)
    cmd("setnx", 3, "write denyoom fast", 1, 1, 1, group="string", since="1.0.0",
        complexity="O(1)", summary="Set the value of a key, only if the key does not exist",
        acl="@write @string @fast")(setnx)
    cmd("setex", 4, "write denyoom", 1, 1, 1, group="string", since="2.0.0", complexity="O(1)",
        summary="Set the value and expiration of a key", acl="@write @string @slow")(setex)
    cmd("psetex", 4, "write denyoom", 1, 1, 1, group="string", since="2.6.0", complexity="O(1)",
        summary="Set the value and expiration in milliseconds of a key",
        acl="@write @string @slow")(psetex)
    cmd("getset", 3, "write denyoom fast", 1, 1, 1, group="string", since="1.0.0",
        complexity="O(1)", summary="Set the string value of a key and return its old value",
        acl="@write @string @fast")(getset)
    cmd("getdel", 2, "write fast", 1, 1, 1, group="string", since="6.2.0", complexity="O(1)",
        summary="Get the value of a key and delete the key", acl="@write @string @fast")(getdel)
    cmd("getex", -2, "write fast", 1, 1, 1, group="string", since="6.2.0", complexity="O(1)",
        summary="Get the value of a key and optionally set its expiration",
        acl="@write @string @fast")(getex)
    cmd("mget", -2, "readonly fast", 1, -1, 1, split=SPLIT_POSITIONAL, group="string",
        since="1.0.0", complexity="O(N) where N is the number of keys to retrieve.",
        summary="Get the values of all the given keys", acl="@read @string @fast")(mget)
    cmd("mset", -3, "write denyoom", 1, -1, 2, split=SPLIT_OK, cross="join", group="string", since="1.0.1",
        complexity="O(N) where N is the number of keys to set.",
        summary="Set multiple keys to multiple values", acl="@write @string @slow")(mset)
    cmd("msetnx", -3, "write denyoom", 1, -1, 2, route=COORD, group="string", since="1.0.1",
        complexity="O(N) where N is the number of keys to set.",
        summary="Set multiple keys to multiple values, only if none of the keys exist",
        acl="@write @string @slow")(msetnx)
    cmd("append", 3, "write denyoom fast", 1, 1, 1, group="string", since="2.0.0",
        complexity="O(1). The amortized time complexity is O(1) assuming the appended value "
                   "is small and the already present value is of any size, since the dynamic "
                   "string library used by Redis will double the free space available on "
                   "every reallocation.",
        summary="Append a value to a key", acl="@write @string @fast")(append)
    cmd("strlen", 2, "readonly fast", 1, 1, 1, group="string", since="2.2.0", complexity="O(1)",
        summary="Get the length of the value stored in a key", acl="@read @string @fast")(strlen)
    cmd("incr", 2, "write denyoom fast", 1, 1, 1, group="string", since="1.0.0",
        complexity="O(1)", summary="Increment the integer value of a key by one",
        acl="@write @string @fast")(incr)
    cmd("decr", 2, "write denyoom fast", 1, 1, 1, group="string", since="1.0.0",
        complexity="O(1)", summary="Decrement the integer value of a key by one",
        acl="@write @string @fast")(decr)
    cmd("incrby", 3, "write denyoom fast", 1, 1, 1, group="string", since="1.0.0",
        complexity="O(1)", summary="Increment the integer value of a key by the given amount",
        acl="@write @string @fast")(incrby)
    cmd("decrby", 3, "write denyoom fast", 1, 1, 1, group="string", since="1.0.0",
        complexity="O(1)", summary="Decrement the integer value of a key by the given number",
        acl="@write @string @fast")(decrby)
    cmd("incrbyfloat", 3, "write denyoom fast", 1, 1, 1, group="string", since="2.6.0",
        complexity="O(1)", summary="Increment the float value of a key by the given amount",
        acl="@write @string @fast")(incrbyfloat)
    cmd("getrange", 4, "readonly", 1, 1, 1, group="string", since="2.4.0", **_RANGE_DOC)(getrange)
    cmd("substr", 4, "readonly", 1, 1, 1, group="string", since="1.0.0", **_RANGE_DOC)(getrange)
    cmd("setrange", 4, "write denyoom", 1, 1, 1, group="string", since="2.2.0",
        complexity="O(1), not counting the time taken to copy the new string in place. "
                   "Usually, this string is very small so the amortized complexity is O(1). "
                   "Otherwise, complexity is O(M) with M being the length of the value "
                   "argument.",
        summary="Overwrite part of a string at key starting at the specified offset",
        acl="@write @string @slow")(setrange)
    cmd("lcs", -3, "readonly", 1, 2, 1, route=COORD, group="string", since="7.0.0",
        complexity="O(N*M) where N and M are the lengths of s1 and s2, respectively",
        summary="Find longest common substring", acl="@read @string @slow")(lcs)
