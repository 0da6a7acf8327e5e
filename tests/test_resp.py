"""The RESP request readers and the reply encoder, from tables (h11 style).

Every request case runs against both readers (``RespParser``, the exact model
of Redis 7.0's parser, and ``RequestReader``, hiredis behind exactness checks),
three ways: whole, one byte at a time, and followed by more pipelined input.
The same inputs then go over raw sockets to a shardis cluster and to a real
redis-server 7.0, whose replies must be identical byte for byte: the expected
error texts in these tables were read from redis-server 7.0.15 that way.

A note on hiredis: alone, it accepts ``+``, ``=`` and ``(`` elements inside a
multibulk request (``*1\\r\\n+PING\\r\\n``) where Redis answers "expected '$'";
``RequestReader`` checks each request hiredis returns for the canonical
encoding and hands anything else to ``RespParser``, so both readers must give
Redis' answer for every case here (no leniency is left to document).
"""

from __future__ import annotations

import socket
import time

import pytest
from hypothesis import given, settings, strategies as st

from shardis import errors
from shardis.resp import (NIL_ARRAY, OK, PONG, ReplyError, RequestReader, RespParser,
                          Simple, encode, encode_error, format_double, split_args)
from tests.helpers import RawClient

PING = [b"PING"]
PING_REQ = b"*1\r\n$4\r\nPING\r\n"

MBULK_LEN = "Protocol error: invalid multibulk length"
BULK_LEN = "Protocol error: invalid bulk length"
UNBALANCED = "Protocol error: unbalanced quotes in request"
TOO_BIG_INLINE = "Protocol error: too big inline request"
TOO_BIG_MBULK = "Protocol error: too big mbulk count string"
TOO_BIG_BULK = "Protocol error: too big bulk count string"


def expected_dollar(c: str) -> str:
    return "Protocol error: expected '$', got '%s'" % c


# (id, input, commands, protocol error or None). Every input ends at a request
# boundary (or at the error), so more input may follow it.
REQUESTS = [
    # ---- multibulk
    ("mb-ping", PING_REQ, [PING], None),
    ("mb-args", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", [[b"SET", b"k", b"hello"]], None),
    ("mb-empty-arg", b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", [[b"ECHO", b""]], None),
    ("mb-binary", b"*2\r\n$4\r\nECHO\r\n$5\r\n\r\n\x00\xff*\r\n", [[b"ECHO", b"\r\n\x00\xff*"]], None),
    ("mb-payload-lookalike", b"*2\r\n$4\r\nECHO\r\n$9\r\n+1\r\n$1\r\nx\r\n",
     [[b"ECHO", b"+1\r\n$1\r\nx"]], None),
    ("mb-pipelined", PING_REQ + b"*2\r\n$4\r\nECHO\r\n$1\r\na\r\n" + PING_REQ,
     [PING, [b"ECHO", b"a"], PING], None),
    ("mb-zero", b"*0\r\n" + PING_REQ, [PING], None),
    ("mb-minus-one", b"*-1\r\n" + PING_REQ, [PING], None),
    ("mb-minus-two", b"*-2\r\n", [], None),
    # Redis skips the two bytes after a payload, and the byte after a header's
    # '\r', without looking at them.
    ("mb-payload-end-unchecked", b"*1\r\n$4\r\nPINGxx", [PING], None),
    ("mb-count-end-unchecked", b"*1\rx$4\r\nPING\r\n", [PING], None),
    ("mb-bulk-end-unchecked", b"*1\r\n$4\rxPING\r\n", [PING], None),
    ("mb-nul-in-payload", b"*2\r\n$4\r\nECHO\r\n$3\r\na\x00b\r\n", [[b"ECHO", b"a\x00b"]], None),
    # ---- inline
    ("inline-crlf", b"PING\r\n", [PING], None),
    ("inline-lf", b"PING\n", [PING], None),
    ("inline-cr-cr-lf", b"PING\r\r\n", [PING], None),
    ("inline-empty-lines", b"\r\n\nPING\n", [PING], None),
    ("inline-blank-line", b"   \t\r\n", [], None),
    ("inline-spaces", b"ECHO  a\t\r\n", [[b"ECHO", b"a"]], None),
    ("inline-too-many", b"ECHO a\tb\r\n", [[b"ECHO", b"a", b"b"]], None),
    ("inline-leading-vt", b"\x0bECHO a\r\n", [[b"ECHO", b"a"]], None),
    ("inline-vt-inside-word", b"ECHO\x0ba\r\n", [[b"ECHO\x0ba"]], None),
    ("inline-dquotes", b'ECHO "a b"\r\n', [[b"ECHO", b"a b"]], None),
    ("inline-dquotes-empty", b'ECHO ""\r\n', [[b"ECHO", b""]], None),
    ("inline-squotes-empty", b"ECHO ''\r\n", [[b"ECHO", b""]], None),
    ("inline-hex-newline", b'ECHO "\\x41\\n"\r\n', [[b"ECHO", b"A\n"]], None),
    ("inline-escapes", b'ECHO "\\t\\r\\b\\a\\q\\"\\\\"\r\n', [[b"ECHO", b'\t\r\x08\x07q"\\']], None),
    ("inline-bad-hex", b'ECHO "\\xZZ"\r\n', [[b"ECHO", b"xZZ"]], None),
    ("inline-squote-escape", b"ECHO 'a\\'b'\r\n", [[b"ECHO", b"a'b"]], None),
    ("inline-squote-no-escapes", b"ECHO 'a\\nb'\r\n", [[b"ECHO", b"a\\nb"]], None),
    ("inline-backslash-unquoted", b"ECHO \\x41\r\n", [[b"ECHO", b"\\x41"]], None),
    ("inline-quote-mid-word", b'ECHO a"b c"\r\n', [[b"ECHO", b"ab c"]], None),
    ("inline-quoted-name", b'"PING"\r\n', [PING], None),
    ("inline-closing-quote-tab", b'ECHO "a"\t\r\n', [[b"ECHO", b"a"]], None),
    ("inline-after-multibulk", PING_REQ + b"ECHO x\r\n" + PING_REQ, [PING, [b"ECHO", b"x"], PING], None),
    ("inline-dollar", b"$4\r\nPING\r\n", [[b"$4"], PING], None),
    ("inline-resp3-set", b"~1\r\n$4\r\nPING\r\n", [[b"~1"], [b"$4"], PING], None),
    ("inline-status", b"+PING\r\n", [[b"+PING"]], None),
    ("inline-null", b"_\r\n", [[b"_"]], None),
    ("inline-after-mb-status", PING_REQ + b"+PING\r\n", [PING, [b"+PING"]], None),
    ("inline-max", b"ECHO " + b"x" * (65536 - 7) + b"\r\n", [[b"ECHO", b"x" * (65536 - 7)]], None),
    # ---- malformed multibulk counts
    ("count-alpha", b"*a\r\n", [], MBULK_LEN),
    ("count-leading-zero", b"*03\r\n", [], MBULK_LEN),
    ("count-minus-zero", b"*-0\r\n", [], MBULK_LEN),
    ("count-plus", b"*+1\r\n", [], MBULK_LEN),
    ("count-space", b"* 1\r\n", [], MBULK_LEN),
    ("count-empty", b"*\r\n", [], MBULK_LEN),
    ("count-over-int-max", b"*2147483648\r\n", [], MBULK_LEN),
    ("count-over-int64", b"*9223372036854775808\r\n", [], MBULK_LEN),
    ("count-after-good", PING_REQ + b"*a\r\n", [PING], MBULK_LEN),
    # ---- malformed bulk lengths
    ("bulk-nil", b"*1\r\n$-1\r\n", [], BULK_LEN),
    ("bulk-leading-zero", b"*1\r\n$04\r\nPING\r\n", [], BULK_LEN),
    ("bulk-plus", b"*1\r\n$+4\r\nPING\r\n", [], BULK_LEN),
    ("bulk-minus-zero", b"*1\r\n$-0\r\n", [], BULK_LEN),
    ("bulk-empty", b"*1\r\n$\r\n", [], BULK_LEN),
    ("bulk-over-512mb", b"*1\r\n$536870913\r\n", [], BULK_LEN),
    ("bulk-over-int64", b"*1\r\n$9223372036854775808\r\n", [], BULK_LEN),
    ("bulk-after-inline", b"PING\r\n*1\r\n$-1\r\n", [PING], BULK_LEN),
    # ---- something other than '$' where an argument should start
    ("dollar-x", b"*1\r\nx\r\n", [], expected_dollar("x")),
    ("dollar-inline", b"*1\r\nPING\r\n", [], expected_dollar("P")),
    ("dollar-status", b"*1\r\n+PING\r\n", [], expected_dollar("+")),
    ("dollar-status-second", b"*2\r\n$4\r\nECHO\r\n+x\r\n", [], expected_dollar("+")),
    ("dollar-verbatim", b"*1\r\n=8\r\ntxt:PING\r\n", [], expected_dollar("=")),
    ("dollar-bignum", b"*1\r\n(123\r\n", [], expected_dollar("(")),
    ("dollar-integer", b"*1\r\n:1\r\n", [], expected_dollar(":")),
    ("dollar-nested", b"*1\r\n*1\r\n$4\r\nPING\r\n", [], expected_dollar("*")),
    ("dollar-short-count", b"*2\r\n$4\r\nPING\r\n" + PING_REQ, [], expected_dollar("*")),
    ("dollar-cr", b"*1\r\n\r\n", [], expected_dollar("\r")),
    ("dollar-lf", b"*1\r\n\n\r\n", [], expected_dollar("\n")),
    ("dollar-raw-byte", b"*1\r\n\xff\r\n", [], expected_dollar("\udcff")),
    # ---- unbalanced quotes
    ("quote-open", b'PING "a\r\n', [], UNBALANCED),
    ("quote-close-then-char", b'ECHO "a"b\r\n', [], UNBALANCED),
    ("squote-close-then-char", b"ECHO 'a'b\r\n", [], UNBALANCED),
    ("squote-open", b"ECHO 'a\r\n", [], UNBALANCED),
    ("quote-backslash-at-end", b'ECHO "a\\\r\n', [], UNBALANCED),
    ("quote-after-good", PING_REQ + b'ECHO "\r\n', [PING], UNBALANCED),
    # ---- too big (Redis measures what is buffered from the line's start)
    ("too-big-inline", b"x" * 65537, [], TOO_BIG_INLINE),
    ("too-big-mbulk-count", b"*" + b"1" * 65536, [], TOO_BIG_MBULK),
    ("too-big-bulk-count", b"*1\r\n$" + b"1" * 65536, [], TOO_BIG_BULK),
    # A NUL ends a line search (strchr), so these lines never end: Redis waits
    # until 64KB are buffered, then gives up on them.
    ("nul-inline", b"ECHO a\x00b\r\n" + b"x" * 65536, [], TOO_BIG_INLINE),
    ("nul-count", b"*1\x00\r\n" + b"x" * 65536, [], TOO_BIG_MBULK),
    ("nul-bulk-header", b"*1\r\n$4\x00\r\nPING\r\n" + b"x" * 65536, [], TOO_BIG_BULK),
]

# Inputs that stop inside a request: no command and no error yet. (id, input, rest
# of the request, its commands). rest None: nothing small completes it.
PARTIAL = [
    ("star", b"*", b"1\r\n$4\r\nPING\r\n", [PING]),
    ("count-cr", b"*1\r", b"\n$4\r\nPING\r\n", [PING]),
    ("bulk-header", b"*1\r\n$4", b"\r\nPING\r\n", [PING]),
    ("payload", b"*1\r\n$4\r\nPI", b"NG\r\n", [PING]),
    ("payload-cr", b"*1\r\n$4\r\nPING\r", b"\n", [PING]),
    ("second-arg", b"*2\r\n$4\r\nECHO\r\n", b"$1\r\na\r\n", [[b"ECHO", b"a"]]),
    ("inline", b"PING", b"\r\n", [PING]),
    ("inline-open-quote", b'ECHO "a', b'"\r\n', [[b"ECHO", b"a"]]),
    ("int-max-count", b"*2147483647\r\n", None, None),
    ("max-bulk", b"*1\r\n$536870912\r\n", None, None),
    ("inline-64kb", b"x" * 65536, None, None),
    ("count-64kb", b"*" + b"1" * 65535, None, None),
    ("bulk-count-64kb", b"*1\r\n$" + b"1" * 65535, None, None),
    ("nul-inline", b"ECHO a\x00b\r\n", None, None),
    ("nul-quoted", b'ECHO "a\x00"\r\n', None, None),
    ("nul-count", b"*1\x00\r\n$4\r\nPING\r\n", None, None),
]

READERS = [RespParser, RequestReader]


def ids(table):
    return [case[0] for case in table]


def feed_all(reader, pieces) -> tuple[list, str | None]:
    """Feed pieces in order; stop at the first error, as the connection would."""
    out: list = []
    for piece in pieces:
        cmds, err = reader.feed(piece)
        out += cmds
        if err is not None:
            return out, err
    return out, None


def bytewise(data: bytes) -> list[bytes]:
    return [data[i:i + 1] for i in range(len(data))]


def pieces_for(data: bytes) -> list[bytes]:
    """One byte at a time; long inputs in 7-byte pieces (a 64KB case fed bytewise costs minutes)."""
    if len(data) < 4096:
        return bytewise(data)
    return [data[i:i + 7] for i in range(0, len(data), 7)]


# ------------------------------------------------------------------ readers


@pytest.mark.parametrize("reader", READERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("case", REQUESTS, ids=ids(REQUESTS))
def test_request_whole(reader, case):
    _, data, commands, error = case
    assert feed_all(reader(), [data]) == (commands, error)


@pytest.mark.parametrize("reader", READERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("case", REQUESTS, ids=ids(REQUESTS))
def test_request_bytewise(reader, case):
    _, data, commands, error = case
    assert feed_all(reader(), pieces_for(data)) == (commands, error)


@pytest.mark.parametrize("reader", READERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("case", REQUESTS, ids=ids(REQUESTS))
def test_request_pipelined(reader, case):
    """More input after the case: read after a good case, never after an error."""
    name, data, commands, error = case
    if name.startswith(("too-big", "nul-")):
        # The error is a line that never ended: more input must not end it.
        assert feed_all(reader(), [data + b"y" * 100]) == (commands, error)
        return
    more = [PING] if error is None else []
    assert feed_all(reader(), [data + PING_REQ]) == (commands + more, error)
    r = reader()
    got = feed_all(r, [data])
    if error is None:
        assert got == (commands, None)
        assert feed_all(r, [PING_REQ + b"PING\r\n"]) == ([PING, PING], None)


@pytest.mark.parametrize("reader", READERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("case", PARTIAL, ids=ids(PARTIAL))
def test_request_partial(reader, case):
    _, data, rest, commands = case
    for pieces in ([data], pieces_for(data)):
        r = reader()
        assert feed_all(r, pieces) == ([], None)
        assert not r.at_boundary()
        if rest is not None:
            assert feed_all(r, [rest + PING_REQ]) == (commands + [PING], None)
            assert r.at_boundary()


@pytest.mark.parametrize("reader", READERS, ids=lambda c: c.__name__)
def test_big_count_waits_without_allocating(reader):
    """A count near INT_MAX is valid: the reader waits (hiredis would allocate the list)."""
    r = reader()
    t = time.monotonic()
    assert r.feed(b"*2000000000\r\n$4\r\nECHO\r\n") == ([], None)
    assert r.feed(b"+x\r\n") == ([], expected_dollar("+"))
    assert time.monotonic() - t < 1


@pytest.mark.parametrize("reader", READERS, ids=lambda c: c.__name__)
def test_max_bulk_len_setting(reader):
    r = reader(10)
    assert r.feed(b"*2\r\n$4\r\nECHO\r\n$10\r\n0123456789\r\n") == ([[b"ECHO", b"0123456789"]], None)
    assert r.feed(b"*2\r\n$4\r\nECHO\r\n$11\r\n") == ([], BULK_LEN)
    r = reader(10)  # the whole argument in one piece, too
    assert r.feed(b"*1\r\n$11\r\n01234567890\r\n") == ([], BULK_LEN)


@pytest.mark.parametrize("reader", READERS, ids=lambda c: c.__name__)
def test_long_requests(reader):
    """Past the fast path's tables: 10000+ arguments, 10000+ byte arguments."""
    many = [b"a"] * 12000
    big = b"x" * 20000
    data = b"".join(RespParser_encode(c) for c in (many, [b"ECHO", big], many))
    assert reader().feed(data) == ([many, [b"ECHO", big], many], None)
    r = reader()
    out = []
    for i in range(0, len(data), 4093):
        cmds, err = r.feed(data[i:i + 4093])
        assert err is None
        out += cmds
    assert out == [many, [b"ECHO", big], many]


def RespParser_encode(args: list[bytes]) -> bytes:  # noqa: N802 - reads as what it makes
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


# Fragments the differential test strings together: good, odd and bad requests.
FRAGMENTS = [case[1] for case in REQUESTS if len(case[1]) < 200] + [
    case[1] for case in PARTIAL if len(case[1]) < 200]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=6),
       st.lists(st.integers(1, 40), min_size=1, max_size=60))
def test_reader_matches_exact_parser_any_split(fragments, cuts):
    """RequestReader gives RespParser's answer however the input is cut up."""
    data = b"".join(fragments)
    want = RespParser().feed(data)
    pieces, i = [], 0
    for c in cuts:
        pieces.append(data[i:i + c])
        i += c
    pieces.append(data[i:])
    for reader in READERS:
        assert feed_all(reader(), pieces) == want


SPLIT_ARGS = [
    (b"", []),
    (b"  a  b  ", [b"a", b"b"]),
    (b'"a\\x4"', [b"ax4"]),
    (b'"\\x4a\\x4B"', [b"JK"]),
    (b"a\x00b c", [b"a"]),        # a C string ends at NUL
    (b'"a\x00"', None),
    (b"'it''s'", None),
    (b'"a" "b"', [b"a", b"b"]),
    (b'"a""b"', None),
    (b"\x0c\x0ba", [b"a"]),
]


@pytest.mark.parametrize("line,args", SPLIT_ARGS)
def test_split_args(line, args):
    assert split_args(line) == args


# ------------------------------------------------------------------ encoder

ENCODE = [
    (b"foo", b"$3\r\nfoo\r\n"),
    (b"", b"$0\r\n\r\n"),
    (b"\r\n\x00", b"$3\r\n\r\n\x00\r\n"),
    (0, b":0\r\n"),
    (-1, b":-1\r\n"),
    (1023, b":1023\r\n"),
    (1024, b":1024\r\n"),
    (-2, b":-2\r\n"),
    (2**63 - 1, b":9223372036854775807\r\n"),
    (-(2**63), b":-9223372036854775808\r\n"),
    (True, b":1\r\n"),
    (False, b":0\r\n"),
    (None, b"$-1\r\n"),
    (NIL_ARRAY, b"*-1\r\n"),
    ([], b"*0\r\n"),
    ([b"a", 1, None], b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n"),
    ((b"a",), b"*1\r\n$1\r\na\r\n"),
    ([[b"a", [1]], [], NIL_ARRAY], b"*3\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n*0\r\n*-1\r\n"),
    (OK, b"+OK\r\n"),
    (PONG, b"+PONG\r\n"),
    (Simple("QUEUED"), b"+QUEUED\r\n"),
    (Simple(""), b"+\r\n"),
    (ReplyError("ERR boom"), b"-ERR boom\r\n"),
    (ReplyError("ERR a\r\nb\nc"), b"-ERR a  b c\r\n"),
    ([ReplyError("WRONGTYPE x")], b"*1\r\n-WRONGTYPE x\r\n"),
    ("h\u00e9", b"$3\r\nh\xc3\xa9\r\n"),
    (bytearray(b"ab"), b"$2\r\nab\r\n"),
    (memoryview(b"ab"), b"$2\r\nab\r\n"),
    (1.5, b"$3\r\n1.5\r\n"),
]


@pytest.mark.parametrize("value,wire", ENCODE, ids=[repr(v)[:30] for v, _ in ENCODE])
def test_encode(value, wire):
    assert encode(value) == wire


def test_encode_refuses_unknown_types():
    with pytest.raises(TypeError):
        encode(object())


ENCODE_ERROR = [
    ("ERR x", b"-ERR x\r\n"),
    (b"ERR x", b"-ERR x\r\n"),
    ("ERR a\nb\r\nc", b"-ERR a b  c\r\n"),
    (errors.WRONGTYPE, b"-" + errors.WRONGTYPE.encode() + b"\r\n"),
    ("ERR " + expected_dollar("\udcff"), b"-ERR Protocol error: expected '$', got '\xff'\r\n"),
    ("ERR " + expected_dollar("\r"), b"-ERR Protocol error: expected '$', got ' '\r\n"),
]


@pytest.mark.parametrize("msg,wire", ENCODE_ERROR)
def test_encode_error(msg, wire):
    assert encode_error(msg) == wire


# %.17g, the way Redis 7.0 writes a double reply (ZSCORE); checked against it below.
DOUBLES = [
    (0.1, "0.10000000000000001"),
    (0.30000000000000004, "0.30000000000000004"),
    (1.5e-07, "1.4999999999999999e-07"),
    (2.5, "2.5"),
    (3.0, "3"),
    (-3.0, "-3"),
    (1e16, "10000000000000000"),
    (1e17, "1e+17"),
    (1e20, "1e+20"),
    (123456789012345678.0, "1.2345678901234568e+17"),
    (0.0, "0"),
    (float("inf"), "inf"),
    (float("-inf"), "-inf"),
    (float("nan"), "nan"),
]


@pytest.mark.parametrize("value,text", DOUBLES)
def test_format_double(value, text):
    assert format_double(value) == text


def test_format_double_is_redis_zscore(redis_server):
    """The table above is what redis-server itself answers."""
    c = RawClient(redis_server.port)
    try:
        for value, text in DOUBLES:
            if value != value:
                continue
            c.call("DEL", "z")
            c.call("ZADD", "z", repr(value), "m")
            assert c.call("ZSCORE", "z", "m") == b"$%d\r\n%s\r\n" % (len(text), text.encode())
    finally:
        c.call("DEL", "z")
        c.close()


# ------------------------------------------------------------------ end to end


def exchange(port: int, data: bytes, replies: int | None) -> bytes:
    """Send ``data``; read ``replies`` replies, or everything up to EOF when None."""
    if replies is not None:
        c = RawClient(port)
        try:
            c.send_raw(data)
            return b"".join(c.read_reply() for _ in range(replies))
        finally:
            c.close()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out + b"<EOF>"
            out += chunk
    finally:
        s.close()


@pytest.mark.parametrize("case", REQUESTS, ids=ids(REQUESTS))
def test_end_to_end(case, shardis_server, redis_server):
    """The same bytes to shardis and to redis-server: the same reply bytes, the same close."""
    _, data, commands, error = case
    if error is None:
        data += PING_REQ  # and the connection still reads after the case
        n = len(commands) + 1
    else:
        n = None
    want = exchange(redis_server.port, data, n)
    got = exchange(shardis_server.port, data, n)
    assert got == want
    if error is not None:
        assert want.endswith(b"-ERR " + error.replace("\r", " ").replace("\n", " ")
                             .encode("utf-8", "surrogateescape") + b"\r\n<EOF>")


def test_protocol_error_closes_only_that_connection(shardis_server, redis_server):
    for port in (shardis_server.port, redis_server.port):
        other = RawClient(port)
        try:
            assert other.call("PING") == b"+PONG\r\n"
            assert exchange(port, b"*1\r\n$-1\r\n", None) == \
                b"-ERR Protocol error: invalid bulk length\r\n<EOF>"
            assert other.call("ECHO", "still here") == b"$10\r\nstill here\r\n"
        finally:
            other.close()


@pytest.mark.parametrize("case", [c for c in PARTIAL if c[2] is not None], ids=ids(
    [c for c in PARTIAL if c[2] is not None]))
def test_end_to_end_split_request(case, shardis_server, redis_server):
    """A request in two TCP writes, with a pause between: one reply, as Redis gives."""
    _, data, rest, commands = case
    outs = []
    for port in (redis_server.port, shardis_server.port):
        c = RawClient(port)
        try:
            c.send_raw(data)
            time.sleep(0.05)
            c.send_raw(rest + PING_REQ)
            outs.append([c.read_reply() for _ in range(len(commands) + 1)])
        finally:
            c.close()
    assert outs[1] == outs[0]


@pytest.mark.parametrize("data", [
    b"FOO " + b" ".join(b"arg%03d" % i for i in range(40)) + b"\r\n",
    b"F" * 300 + b" a\r\n",
    b"*1\r\n$4\r\nPI\x00G\r\n",
    b"\xff\xfe x\r\n",
], ids=["many-args", "long-name", "nul-in-name", "raw-bytes"])
def test_end_to_end_unknown_command_text(data, shardis_server, redis_server):
    want = exchange(redis_server.port, data, 1)
    got = exchange(shardis_server.port, data, 1)
    assert got == want
