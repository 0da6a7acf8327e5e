"""RESP2 request parsing and reply encoding; bytes in, values out, no I/O.

Two readers share one contract, ``feed(data) -> (commands, error)``:

* ``RespParser`` is the exact model of Redis 7.0's request parser
  (networking.c: processInlineBuffer / processMultibulkBuffer), in Python.
* ``RequestReader`` puts hiredis' C parser on the fast path and falls back to
  ``RespParser`` for inline requests and for anything hiredis would accept
  that Redis refuses, so the replies stay Redis' own.

``error`` is the text of a protocol error ("Protocol error: ..."), after which
the connection must be answered and closed, as Redis does.
"""

from __future__ import annotations

import functools
import re

import hiredis

# The reply values that subclass builtins live in shardis/values.py (mypyc compiles this
# module, and cannot compile such classes); they are this module's names as before.
from shardis.values import BigNumber, HumanDouble, KeyedArrays, OrderedSet, Pairs, Raw, Simple, Verbatim

PROTO_INLINE_MAX_SIZE = 64 * 1024
PROTO_MAX_BULK_LEN = 512 * 1024 * 1024
MAX_MULTIBULK_LEN = 2**31 - 1  # Redis 7.0 accepts up to INT_MAX arguments


class _NeedData:
    """The sentinel a parse step returns when the buffer holds no whole request."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = _NeedData()


class ProtocolError(Exception):
    """A malformed request; ``str(e)`` is Redis' error text without '-ERR '."""


def string2ll(s: bytes) -> int | None:
    """Redis' strict integer parser: no '+', no spaces, no leading zeros, 64-bit."""
    n = len(s)
    if n == 0 or n > 20:
        return None
    if s == b"0":
        return 0
    body = s[1:] if s[0] == 45 else s
    if not body or not body.isdigit() or body[0] == 48 or not body.isascii():
        return None
    v = int(s)
    if v < -(2**63) or v > 2**63 - 1:
        return None
    return v


_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_HEX = b"0123456789abcdefABCDEF"


def split_args(line: bytes) -> list[bytes] | None:
    """sdssplitargs: split an inline request; None on unbalanced quotes."""
    # sdssplitargs reads a C string: nothing after a NUL exists for it.
    z = line.find(b"\0")
    if z >= 0:
        line = line[:z]
    out: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \n\r\t\v\f":
            i += 1
        if i >= n:
            return out
        cur = bytearray()
        inq = insq = False
        while True:
            if inq:
                if i >= n:
                    return None
                c = line[i]
                if (c == 92 and i + 3 < n and line[i + 1] == 120
                        and line[i + 2] in _HEX and line[i + 3] in _HEX):
                    cur.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == 92 and i + 1 < n:
                    i += 1
                    c = line[i]
                    cur.append(_ESCAPES.get(c, c))
                elif c == 34:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        return None
                    i += 1
                    break
                else:
                    cur.append(c)
            elif insq:
                if i >= n:
                    return None
                c = line[i]
                if c == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    cur.append(39)
                elif c == 39:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        return None
                    i += 1
                    break
                else:
                    cur.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in b" \n\r\t\0":
                    break
                if c == 34:
                    inq = True
                elif c == 39:
                    insq = True
                else:
                    cur.append(c)
            i += 1
        out.append(bytes(cur))


def _strchr(buf: bytearray | bytes, ch: int, pos: int) -> int:
    """C ``strchr`` from ``pos``: Redis finds line ends so, and it stops at a NUL."""
    i = buf.find(ch, pos)
    if i < 0 or buf.find(0, pos, i) >= 0:
        return -1
    return i


_TOO_BIG_INLINE = "Protocol error: too big inline request"
_TOO_BIG_MBULK = "Protocol error: too big mbulk count string"
_TOO_BIG_BULK = "Protocol error: too big bulk count string"
_BAD_MBULK_LEN = "Protocol error: invalid multibulk length"
_BAD_BULK_LEN = "Protocol error: invalid bulk length"
_EXPECTED_DOLLAR = "Protocol error: expected '$', got '%s'"
_UNBALANCED = "Protocol error: unbalanced quotes in request"


class RespParser:
    """Exact Redis request parser; incremental like Redis' own, it keeps its place
    inside a multibulk request, so a request arriving in pieces is read once.

    With ``keep=False`` it only validates (argument bytes are dropped as they
    arrive): ``RequestReader`` uses that to judge a partial request's headers.
    """

    def __init__(self, max_bulk_len: int = PROTO_MAX_BULK_LEN, keep: bool = True) -> None:
        self.buf = bytearray()
        self.max_bulk_len = max_bulk_len
        self.keep = keep
        self._left = 0        # bulks still to read of the current multibulk request
        self._bulk = -1       # payload + CRLF bytes of the current bulk; -1: its header is next
        self._args: list[bytes] = []

    def at_boundary(self) -> bool:
        """True when no request is partly read."""
        return not self.buf and not self._left

    def feed(self, data: bytes) -> tuple[list[list[bytes]], str | None]:
        """Append data; return the whole commands it completes and an error, if any."""
        buf = self.buf
        buf += data
        out: list[list[bytes]] = []
        try:
            while True:
                if self._left:
                    if self._read_bulks(out) is NEED_DATA:
                        break
                elif not buf:
                    break
                elif buf[0] == 42:  # '*'
                    if self._read_count() is NEED_DATA:
                        break
                elif self._read_inline(out) is NEED_DATA:
                    break
        except ProtocolError as e:
            self.buf = bytearray()
            self._left = 0
            self._bulk = -1
            self._args = []
            return out, str(e)
        return out, None

    def _read_count(self) -> _NeedData | None:
        """processMultibulkBuffer's first step: the ``*<count>\\r\\n`` line."""
        buf = self.buf
        nl = _strchr(buf, 13, 0)
        if nl < 0:
            if len(buf) > PROTO_INLINE_MAX_SIZE:
                raise ProtocolError(_TOO_BIG_MBULK)
            return NEED_DATA
        if nl > len(buf) - 2:  # the byte after '\r' is not here yet
            return NEED_DATA
        count = string2ll(bytes(buf[1:nl]))
        if count is None or count > MAX_MULTIBULK_LEN:
            raise ProtocolError(_BAD_MBULK_LEN)
        del buf[:nl + 2]  # Redis skips the byte after '\r' whatever it is
        if count > 0:     # *0 and *-N are read and ignored
            self._left = count
            self._args = []
        return None

    def _read_bulks(self, out: list[list[bytes]]) -> _NeedData | None:
        """The ``$<len>\\r\\n<payload>\\r\\n`` arguments, up to the end of the request."""
        buf = self.buf
        while self._left:
            if self._bulk < 0:
                nl = _strchr(buf, 13, 0)
                if nl < 0:
                    if len(buf) > PROTO_INLINE_MAX_SIZE:
                        raise ProtocolError(_TOO_BIG_BULK)
                    return NEED_DATA
                if nl > len(buf) - 2:
                    return NEED_DATA
                if buf[0] != 36:  # '$'
                    raise ProtocolError(_EXPECTED_DOLLAR % _char(buf[0]))
                ln = string2ll(bytes(buf[1:nl]))
                if ln is None or ln < 0 or ln > self.max_bulk_len:
                    raise ProtocolError(_BAD_BULK_LEN)
                del buf[:nl + 2]
                self._bulk = ln + 2
            need = self._bulk
            if len(buf) < need:
                if not self.keep and buf:
                    self._bulk = need - len(buf)
                    del buf[:]
                return NEED_DATA
            if self.keep:
                self._args.append(bytes(buf[:need - 2]))
            del buf[:need]  # the two bytes after the payload are skipped unread, as Redis does
            self._bulk = -1
            self._left -= 1
        if self.keep:
            out.append(self._args)
        self._args = []
        return None

    def _read_inline(self, out: list[list[bytes]]) -> _NeedData | None:
        """processInlineBuffer: one line split by sdssplitargs."""
        buf = self.buf
        nl = _strchr(buf, 10, 0)
        if nl < 0:
            if len(buf) > PROTO_INLINE_MAX_SIZE:
                raise ProtocolError(_TOO_BIG_INLINE)
            return NEED_DATA
        end = nl - 1 if nl > 0 and buf[nl - 1] == 13 else nl
        args = split_args(bytes(buf[:end]))
        if args is None:
            raise ProtocolError(_UNBALANCED)
        del buf[:nl + 1]
        if args and self.keep:  # an empty line is no command
            out.append(args)
        return None


def _char(c: int) -> str:
    """One request byte as error text; ``encode_error`` gives back the same byte."""
    return bytes((c,)).decode("utf-8", "surrogateescape")


# hiredis allocates a multibulk's list as soon as it reads the count, so a request
# announcing a billion arguments would cost the router gigabytes before one arrived
# (and as long again to free). Redis allocates as arguments come, and so does
# RespParser: input that may hold such a count goes to it.
_BIG_COUNT = re.compile(rb"\*[0-9]{6}")

# Bytes a bulk argument of length n takes beyond its payload: "$<n>\r\n" and "\r\n".
_BULK_OVERHEAD = [5 + len(str(n)) for n in range(10000)]


@functools.lru_cache(maxsize=8)
def _bulk_overhead(max_bulk_len: int) -> list[int]:
    """``_BULK_OVERHEAD`` up to the bulk length limit, one list shared by every reader."""
    if max_bulk_len >= len(_BULK_OVERHEAD) - 1:
        return _BULK_OVERHEAD
    return _BULK_OVERHEAD[:max_bulk_len + 1]


class RequestReader:
    """hiredis on the fast path, ``RespParser`` wherever Redis' exact rules matter.

    hiredis reads more than Redis accepts (``+``, ``=``, ``(`` elements, other
    top-level types, counts past INT_MAX, bulks past proto-max-bulk-len), and
    it gives no sign of where it stands inside a request. So this class keeps
    the bytes of the current partial request itself, checks that each request
    hiredis returns is in the one canonical encoding (``*`` and ``$`` at the
    offsets its lengths imply), lets a validating ``RespParser`` judge the
    partial request's headers as they arrive (Redis refuses a bad length
    before the payload), and hands everything from the first doubtful request
    to the exact parser until the input is back at a request boundary.
    """

    def __init__(self, max_bulk_len: int = PROTO_MAX_BULK_LEN) -> None:
        self.max_bulk_len = max_bulk_len
        # Lengths past the table (or past the limit) take the long way, which checks the limit.
        # (The table is shared: a copy per connection was 80 KB of every idle client.)
        self._overhead = _bulk_overhead(max_bulk_len)
        self._reader = hiredis.Reader()
        self._chunks: list[bytes] = []   # the partial request hiredis holds
        self._held = 0                   # their total length
        self._probe: RespParser | None = None
        self._exact: RespParser | None = None
        self._edge = b""                 # the last bytes fed, for _BIG_COUNT

    def feed(self, data: bytes) -> tuple[list[list[bytes]], str | None]:
        """Append data; return the whole commands it completes and an error, if any."""
        if self._exact is not None:
            return self._feed_exact(data)
        if not data:
            return [], None
        if not self._held and data[0] != 42:
            # Not '*' at a request boundary: an inline request.
            self._exact = RespParser(self.max_bulk_len)
            return self._feed_exact(data)
        edge = self._edge
        self._edge = data[-7:] if len(data) >= 7 else (edge + data)[-7:]
        if _BIG_COUNT.search(data) is not None or (
                edge and _BIG_COUNT.search(edge + data[:7]) is not None):
            return self._fallback([], b"".join(self._chunks) + data, 0)
        reader = self._reader
        reader.feed(data)
        self._chunks.append(data)
        self._held += len(data)
        try:
            cmd = reader.gets()
        except hiredis.ProtocolError:
            cmd = None
        if cmd is False:
            # Still inside one request: only its new headers need judging.
            probe = self._probe
            if probe is None:
                probe = self._probe = RespParser(self.max_bulk_len, keep=False)
                data = b"".join(self._chunks)
            return [], probe.feed(data)[1]
        buf = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        # Each command must be in the one encoding Redis reads the same way: '*'
        # where it starts, '$' where each argument starts, by the lengths alone.
        overhead = self._overhead
        out: list[list[bytes]] = []
        pos = 0
        while cmd is not False:
            if cmd.__class__ is not list or not cmd or buf[pos] != 42:  # '*'
                return self._fallback(out, buf, pos)
            try:
                p = pos + overhead[len(cmd)] - 2
                for a in cmd:
                    if a.__class__ is not bytes or buf[p] != 36:  # '$'
                        return self._fallback(out, buf, pos)
                    n = len(a)
                    p += n + overhead[n]
            except IndexError:  # a long command or argument: the long way
                p = self._end_of(cmd, buf, pos)
                if p < 0:
                    return self._fallback(out, buf, pos)
            out.append(cmd)
            pos = p
            try:
                cmd = reader.gets()
            except hiredis.ProtocolError:
                cmd = None
        if pos == len(buf):
            self._chunks = []
            self._held = 0
            self._probe = None
            return out, None
        rest = buf[pos:]
        self._chunks = [rest]
        self._held = len(rest)
        self._probe = probe = RespParser(self.max_bulk_len, keep=False)
        return out, probe.feed(rest)[1]

    def set_max_bulk_len(self, n: int) -> None:
        """proto-max-bulk-len changed (CONFIG SET): the next bulk length read is judged by
        ``n``, also inside the request being read, as Redis judges each header it reads."""
        self.max_bulk_len = n
        self._overhead = _BULK_OVERHEAD[:n + 1]
        for parser in (self._probe, self._exact):
            if parser is not None:
                parser.max_bulk_len = n

    def _end_of(self, cmd: list, buf: bytes, pos: int) -> int:
        """Where ``cmd`` (read by hiredis at ``pos``) ends if Redis reads it the same; else -1."""
        n = len(cmd)
        p = pos + 3 + len(str(n))
        max_bulk = self.max_bulk_len
        for a in cmd:
            if a.__class__ is not bytes or p >= len(buf) or buf[p] != 36:  # '$'
                return -1
            n = len(a)
            if n > max_bulk:
                return -1
            p += n + 5 + len(str(n))
        return p

    def _fallback(self, out: list[list[bytes]], buf: bytes,
                  pos: int) -> tuple[list[list[bytes]], str | None]:
        """Give the input from ``pos`` (a request boundary) to the exact parser."""
        self._reader = hiredis.Reader()
        self._chunks = []
        self._held = 0
        self._probe = None
        self._exact = RespParser(self.max_bulk_len)
        more, err = self._feed_exact(buf[pos:])
        return out + more, err

    def _feed_exact(self, data: bytes) -> tuple[list[list[bytes]], str | None]:
        exact = self._exact
        assert exact is not None
        out, err = exact.feed(data)
        if err is not None or exact.at_boundary():
            self._exact = None  # back to hiredis at a clean request boundary
        return out, err

    def at_boundary(self) -> bool:
        """True when no request is partly read."""
        if self._exact is not None:
            return self._exact.at_boundary()
        return not self._held

    def buffered(self) -> int:
        """Bytes of input held that do not yet form a whole request."""
        if self._exact is not None:
            return len(self._exact.buf)
        return self._held


# ---------------------------------------------------------------- replies


class ReplyError(Exception):
    """An error reply; the message includes its prefix (``ERR ...``, ``WRONGTYPE ...``)."""


class NilArray:
    """The null multi-bulk reply ``*-1``."""

    __slots__ = ()


NIL_ARRAY = NilArray()
OK = Simple("OK")
PONG = Simple("PONG")
QUEUED = Simple("QUEUED")

_R_OK = b"+OK\r\n"
_R_NIL = b"$-1\r\n"
_INF = float("inf")
_INT_CACHE = [b":%d\r\n" % i for i in range(-1, 1025)]


def encode(v) -> bytes:
    """Turn a reply value into RESP2 bytes (the one place replies are encoded)."""
    t = v.__class__
    if t is bytes:
        return b"$%d\r\n%s\r\n" % (len(v), v)
    if t is int:
        if -1 <= v <= 1023:
            return _INT_CACHE[v + 1]
        return b":%d\r\n" % v
    if t is Raw:
        return v
    if v is None:
        return _R_NIL
    if v is OK:
        return _R_OK
    if t is Simple:
        return b"+%s\r\n" % v.encode()
    if t is list or t is tuple:
        parts = [b"*%d\r\n" % len(v)]
        parts.extend(map(encode, v))
        return b"".join(parts)
    if t is float:  # scores: ahead of the rarer types
        s = format_double(v).encode()
        return b"$%d\r\n%s\r\n" % (len(s), s)
    if t is bool:
        return b":1\r\n" if v else b":0\r\n"
    if isinstance(v, ReplyError):
        return encode_error(v.args[0])
    if t is NilArray:
        return b"*-1\r\n"
    if t is str:
        s = v.encode()
        return b"$%d\r\n%s\r\n" % (len(s), s)
    if t is bytearray or t is memoryview:
        return encode(bytes(v))
    if t is dict:
        parts = [b"*%d\r\n" % (2 * len(v))]
        for k, x in v.items():
            parts.append(encode(k))
            parts.append(encode(x))
        return b"".join(parts)
    if t is set or t is frozenset:
        return encode(list(v))
    if t is OrderedSet:
        parts = [b"*%d\r\n" % len(v)]
        parts.extend(map(encode, v))
        return b"".join(parts)
    if t is Pairs:
        parts = [b"*%d\r\n" % (2 * len(v))]
        for m, x in v:
            parts.append(encode(m))
            parts.append(encode(x))
        return b"".join(parts)
    if t is Verbatim or t is BigNumber or t is HumanDouble:
        return encode(bytes(v))
    if t is KeyedArrays:
        return encode([[k, x] for k, x in v])
    raise TypeError(f"cannot encode {t.__name__} as a reply")


_BULK_HEAD = [b"$%d\r\n" % n for n in range(1024)]


def bulk_array(values: list[bytes]) -> Raw:
    """An array of bulk strings, encoded in one pass (LRANGE and other long replies)."""
    head = _BULK_HEAD
    try:
        parts = [head[len(v)] + v for v in values]
    except IndexError:
        parts = [b"$%d\r\n%s" % (len(v), v) for v in values]
    return Raw(b"*%d\r\n" % len(values) + b"\r\n".join(parts) + (b"\r\n" if parts else b""))


def encode3(v) -> bytes:
    """Turn a reply value into RESP3 bytes: maps, sets, doubles, booleans and one null."""
    t = v.__class__
    if t is bytes or t is int or t is Simple or t is str or t is Raw:
        return encode(v)
    if v is None or t is NilArray:
        return b"_\r\n"
    if t is list or t is tuple:
        parts = [b"*%d\r\n" % len(v)]
        parts.extend(map(encode3, v))
        return b"".join(parts)
    if t is KeyedArrays:
        v = dict(v) if len(set(k for k, _ in v)) == len(v) else v  # (a key twice: still a map)
        parts = [b"%%%d\r\n" % len(v)]
        for k, x in (v.items() if isinstance(v, dict) else v):
            parts.append(encode3(k))
            parts.append(encode3(x))
        return b"".join(parts)
    if t is dict:
        parts = [b"%%%d\r\n" % len(v)]
        for k, x in v.items():
            parts.append(encode3(k))
            parts.append(encode3(x))
        return b"".join(parts)
    if t is set or t is frozenset or t is OrderedSet:
        parts = [b"~%d\r\n" % len(v)]
        parts.extend(map(encode3, v))
        return b"".join(parts)
    if t is float:
        return b",%s\r\n" % format_double(v).encode()
    if t is bool:
        return b"#t\r\n" if v else b"#f\r\n"
    if t is Verbatim:
        return b"=%d\r\ntxt:%s\r\n" % (len(v) + 4, v)
    if t is BigNumber:
        return b"(%s\r\n" % v
    if t is HumanDouble:
        return b",%s\r\n" % v
    if t is Pairs:
        parts = [b"*%d\r\n" % len(v)]
        for m, x in v:
            parts.append(b"*2\r\n" + encode3(m) + encode3(x))
        return b"".join(parts)
    return encode(v)


ENCODERS = {2: encode, 3: encode3}


def encode_error(msg: str | bytes) -> bytes:
    """``-MSG\\r\\n``, with newlines flattened as Redis does."""
    if isinstance(msg, str):
        # surrogateescape: a raw request byte quoted in a protocol error goes back as sent
        msg = msg.encode("utf-8", "surrogateescape")
    return b"-" + msg.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n"


def format_double(d: float) -> str:
    """Redis' %.17g formatting of a double, as used by INCRBYFLOAT and scores."""
    if d.is_integer() and -1e15 < d < 1e15 and d:
        return "%d" % d  # most scores, and what %.17g writes for them (0.0 and -0.0 differ)
    if d != d:
        return "nan"
    if d == _INF:
        return "inf"
    if d == -_INF:
        return "-inf"
    s = "%.17g" % d
    if "e" not in s and "." in s:
        s = s.rstrip("0").rstrip(".")
    return s
