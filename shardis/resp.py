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

import hiredis

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


class RespParser:
    """Exact Redis request parser over an internal buffer."""

    def __init__(self, max_bulk_len: int = PROTO_MAX_BULK_LEN) -> None:
        self.buf = bytearray()
        self.max_bulk_len = max_bulk_len

    def feed(self, data: bytes) -> tuple[list[list[bytes]], str | None]:
        """Append data; return the whole commands it completes and an error, if any."""
        self.buf += data
        out: list[list[bytes]] = []
        pos = 0
        try:
            while pos < len(self.buf):
                r = self._one(pos, out)
                if r is NEED_DATA:
                    break
                pos = r
        except ProtocolError as e:
            del self.buf[:]
            return out, str(e)
        del self.buf[:pos]
        return out, None

    def skip(self, count: int) -> None:
        """Drop the first ``count`` requests (already parsed by someone else)."""
        pos = 0
        sink: list[list[bytes]] = []
        for _ in range(count):
            pos = self._one(pos, sink)
            assert pos is not NEED_DATA
        del self.buf[:pos]

    def _one(self, pos: int, out: list[list[bytes]]):
        buf = self.buf
        if buf[pos] != 42:  # '*'
            return self._inline(pos, out)
        nl = buf.find(b"\r", pos)
        if nl < 0:
            if len(buf) - pos > PROTO_INLINE_MAX_SIZE:
                raise ProtocolError("Protocol error: too big mbulk count string")
            return NEED_DATA
        if nl > len(buf) - 2:
            return NEED_DATA
        count = string2ll(bytes(buf[pos + 1:nl]))
        if count is None or count > MAX_MULTIBULK_LEN:
            raise ProtocolError("Protocol error: invalid multibulk length")
        p = nl + 2
        if count <= 0:
            return p
        args: list[bytes] = []
        for _ in range(count):
            nl = buf.find(b"\r", p)
            if nl < 0:
                if len(buf) - p > PROTO_INLINE_MAX_SIZE:
                    raise ProtocolError("Protocol error: too big bulk count string")
                return NEED_DATA
            if nl > len(buf) - 2:
                return NEED_DATA
            if buf[p] != 36:  # '$'
                raise ProtocolError(
                    "Protocol error: expected '$', got '%s'" % chr(buf[p]))
            ln = string2ll(bytes(buf[p + 1:nl]))
            if ln is None or ln < 0 or ln > self.max_bulk_len:
                raise ProtocolError("Protocol error: invalid bulk length")
            start = nl + 2
            if start + ln + 2 > len(buf):
                return NEED_DATA
            args.append(bytes(buf[start:start + ln]))
            p = start + ln + 2
        out.append(args)
        return p

    def _inline(self, pos: int, out: list[list[bytes]]):
        buf = self.buf
        nl = buf.find(b"\n", pos)
        if nl < 0:
            if len(buf) - pos > PROTO_INLINE_MAX_SIZE:
                raise ProtocolError("Protocol error: too big inline request")
            return NEED_DATA
        end = nl - 1 if nl > pos and buf[nl - 1] == 13 else nl
        args = split_args(bytes(buf[pos:end]))
        if args is None:
            raise ProtocolError("Protocol error: unbalanced quotes in request")
        if args:
            out.append(args)
        return nl + 1


_TAIL_LIMIT = 1 << 20
_CHECK_LIMIT = 4096


class RequestReader:
    """hiredis on the fast path, ``RespParser`` wherever Redis' exact rules matter.

    While hiredis holds unparsed input we keep the chunks it was fed (up to
    ``_TAIL_LIMIT``) and how many requests it returned from them, so that the
    exact parser can take over at the same request boundary.
    """

    def __init__(self) -> None:
        self._reader = hiredis.Reader()
        self._chunks: list[bytes] = []
        self._tail = 0          # bytes in _chunks; -1 once over the limit
        self._done = 0          # requests hiredis returned from _chunks
        self._exact: RespParser | None = None

    def feed(self, data: bytes) -> tuple[list[list[bytes]], str | None]:
        """Append data; return the whole commands it completes and an error, if any."""
        if self._exact is not None:
            return self._feed_exact(data)
        if not self._chunks and data[:1] != b"*":
            self._exact = RespParser()
            return self._feed_exact(data)
        reader = self._reader
        reader.feed(data)
        if self._tail >= 0:
            self._chunks.append(data)
            self._tail += len(data)
            if self._tail > _TAIL_LIMIT:
                self._chunks = []
                self._tail = -1
        out: list[list[bytes]] = []
        try:
            while True:
                cmd = reader.gets()
                if cmd is False:
                    break
                if cmd.__class__ is list and cmd:
                    for a in cmd:
                        if a.__class__ is not bytes:
                            return self._fallback(out)
                    out.append(cmd)
                elif cmd is not None and cmd != []:
                    return self._fallback(out)
                self._done += 1
        except hiredis.ProtocolError:
            return self._fallback(out)
        if not reader.has_data():
            if self._chunks or self._tail:
                self._chunks = []
                self._tail = 0
                self._done = 0
        elif 0 <= self._tail <= _CHECK_LIMIT:
            # A short partial request: let the exact parser judge its headers
            # now (Redis refuses a bad length as soon as it sees it).
            probe = RespParser()
            probe.buf += b"".join(self._chunks)
            probe.skip(self._done)
            _, err = probe.feed(b"")
            if err:
                return out, err
        return out, None

    def _fallback(self, out: list[list[bytes]]) -> tuple[list[list[bytes]], str | None]:
        """Hand the unparsed input to the exact parser, from the request hiredis stopped at."""
        if self._tail < 0:
            return out, "Protocol error: invalid request"
        exact = RespParser()
        exact.buf += b"".join(self._chunks)
        exact.skip(self._done)
        self._reader = hiredis.Reader()
        self._chunks = []
        self._tail = 0
        self._done = 0
        self._exact = exact
        more, err = self._feed_exact(b"")
        return out + more, err

    def _feed_exact(self, data: bytes) -> tuple[list[list[bytes]], str | None]:
        exact = self._exact
        assert exact is not None
        out, err = exact.feed(data)
        if not exact.buf:
            self._exact = None  # back to hiredis at a clean request boundary
        return out, err

    def buffered(self) -> int:
        """Bytes of input held that do not yet form a whole request (approximate)."""
        if self._exact is not None:
            return len(self._exact.buf)
        return max(self._tail, 0)


# ---------------------------------------------------------------- replies


class Simple(str):
    """A status reply: encoded as ``+text``."""

    __slots__ = ()


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
    if t is float:
        return encode(format_double(v).encode())
    raise TypeError(f"cannot encode {t.__name__} as a reply")


def encode_error(msg: str | bytes) -> bytes:
    """``-MSG\\r\\n``, with newlines flattened as Redis does."""
    if isinstance(msg, str):
        msg = msg.encode()
    return b"-" + msg.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n"


def format_double(d: float) -> str:
    """Redis' %.17g formatting of a double, as used by INCRBYFLOAT and scores."""
    if d != d:
        return "nan"
    if d == float("inf"):
        return "inf"
    if d == float("-inf"):
        return "-inf"
    s = "%.17g" % d
    if "e" not in s and "." in s:
        s = s.rstrip("0").rstrip(".")
    return s
