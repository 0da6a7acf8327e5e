"""MONITOR's line, as Redis 7.0's replicationFeedMonitors writes it: the routers'
(router/monitor.py) and the shards' (the commands scripts call, shardd/scripting.py)."""

from __future__ import annotations

import re
import time

# Bytes sdscatrepr writes as they are: printable ASCII but for the quote and backslash.
_PLAIN = re.compile(rb'[^\x20\x21\x23-\x5b\x5d-\x7e]')
_ESCAPES = {ord('\\'): b'\\\\', ord('"'): b'\\"', ord('\n'): b'\\n', ord('\r'): b'\\r',
            ord('\t'): b'\\t', 7: b'\\a', 8: b'\\b'}
_REPR = [_ESCAPES.get(c, bytes((c,)) if 0x20 <= c <= 0x7e else b'\\x%02x' % c) for c in range(256)]


def quote(arg: bytes) -> bytes:
    """An argument as Redis' sdscatrepr writes it: in double quotes, with \\" \\\\ \\n \\r
    \\t \\a \\b and \\xHH for the other bytes outside printable ASCII."""
    if _PLAIN.search(arg) is None:
        return b'"' + arg + b'"'
    r = _REPR
    return b'"' + b"".join([r[c] for c in arg]) + b'"'


def line(db: int, addr: str, args: list[bytes], now_ns: int | None = None) -> bytes:
    """One MONITOR line (replicationFeedMonitors): a status reply."""
    ns = time.time_ns() if now_ns is None else now_ns
    return b"+%d.%06d [%d %s] %s\r\n" % (ns // 1_000_000_000, ns // 1000 % 1_000_000, db,
                                         addr.encode(), b" ".join([quote(a) for a in args]))
