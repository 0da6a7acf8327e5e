"""The stream family against a real redis-server 7.0: every reply compared byte for byte
(RESP2 and RESP3), but for what depends on the clock (IDs from it, idle and delivery
times), which is masked or compared in shape."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.helpers import parse_reply

def fill(key="s", n=5, ms=1):
    return [("XADD", key, f"{ms + i}-0", "f", f"v{i}") for i in range(n)]


CASES = {
    "xadd_basic": [
        ("XADD", "s", "1-1", "a", "1"), ("XADD", "s", "1-1", "a", "1"), ("XADD", "s", "1-0", "a", "1"),
        ("XADD", "s", "1-2", "a", "1", "b", "2"), ("XADD", "s", "1-*", "c", "3"),
        ("XADD", "s", "5", "x", "y"), ("XADD", "s", "5-*", "x", "y"), ("XLEN", "s"),
        ("XRANGE", "s", "-", "+"), ("TYPE", "s"), ("OBJECT", "ENCODING", "s"), ("EXISTS", "s"),
        ("XADD", "t", "0-0", "a", "1"), ("XADD", "t", "0-*", "a", "1"), ("XADD", "t", "0", "a", "1"),
        ("XADD", "t", "0-1", "a", "1"), ("XRANGE", "t", "-", "+"),
        ("XADD", "u", "18446744073709551615-18446744073709551615", "a", "1"),
        ("XADD", "u", "18446744073709551615-*", "a", "1"), ("XADD", "u", "*", "a", "1"),
        ("XADD", "v", "18446744073709551615-18446744073709551614", "a", "1"),
        ("XADD", "v", "18446744073709551615-*", "a", "1"), ("XADD", "v", "18446744073709551615-*", "a", "1"),
        ("XADD", "w", "1-18446744073709551615", "a", "1"), ("XADD", "w", "1-*", "a", "1"),
        ("XADD", "bin", "1-1", b"\x00\xff", b"\r\n"), ("XRANGE", "bin", "-", "+"),
        ("XADD", "e", "1-1", "", ""), ("XRANGE", "e", "-", "+"),
    ],
    "xadd_errors": [
        ("XADD", "s", "1-1", "a"), ("XADD", "s", "1-1", "a", "1", "b"), ("XADD", "s", "1-1"),
        ("XADD", "s"), ("XADD", "s", "x"), ("XADD", "s", "abc", "a", "1"), ("XADD", "s", "1-x", "a", "1"),
        ("XADD", "s", "-1", "a", "1"), ("XADD", "s", "1--1", "a", "1"), ("XADD", "s", "-", "a", "1"),
        ("XADD", "s", "+", "a", "1"), ("XADD", "s", "1-", "a", "1"), ("XADD", "s", "", "a", "1"),
        ("XADD", "s", " 1", "a", "1"), ("XADD", "s", "+1-1", "a", "1"), ("XADD", "s", "1- 1", "a", "1"),
        ("XADD", "s", "18446744073709551616-1", "a", "1"), ("XADD", "s", "*-1", "a", "1"),
        ("XADD", "s", "1-**", "a", "1"), ("EXISTS", "s"),
        ("XADD", "s", "MAXLEN", "-1", "1-1", "a", "1"), ("XADD", "s", "MAXLEN", "x", "1-1", "a", "1"),
        ("XADD", "s", "MAXLEN", "1", "MINID", "1", "1-1", "a", "1"),
        ("XADD", "s", "MINID", "1", "MAXLEN", "1", "1-1", "a", "1"),
        ("XADD", "s", "MINID", "x", "1-1", "a", "1"), ("XADD", "s", "MINID", "-", "1-1", "a", "1"),
        ("XADD", "s", "LIMIT", "10", "1-1", "a", "1"), ("XADD", "s", "MAXLEN", "1", "LIMIT", "10", "1-1", "a", "1"),
        ("XADD", "s", "MAXLEN", "~", "1", "LIMIT", "-1", "1-1", "a", "1"),
        ("XADD", "s", "MAXLEN", "~", "1", "LIMIT", "x", "1-1", "a", "1"),
        ("XADD", "s", "NOMKSTREAM", "1-1", "a", "1"), ("EXISTS", "s"), ("XADD", "s", "nomkstream", "*", "a"),
        ("SET", "str", "x"), ("XADD", "str", "1-1", "a", "1"), ("XADD", "str", "MAXLEN", "x", "1-1", "a", "1"),
        ("XLEN", "str"), ("XRANGE", "str", "-", "+"), ("XADD", "s", "MAXLEN", "1", "a", "1"),
        ("XADD", "s", "0-0", "a"), ("XADD", "s", "MAXLEN"), ("XADD", "s", "MAXLEN", "1"),
        ("XADD", "s", "maxlen", "=", "1", "1-1"), ("XADD", "s", "LIMIT", "1"),
    ],
    "xadd_trim": [
        *fill(n=10), ("XADD", "s", "MAXLEN", "5", "20-0", "f", "v"), ("XRANGE", "s", "-", "+"),
        ("XADD", "s", "MAXLEN", "=", "3", "21-0", "f", "v"), ("XLEN", "s"),
        ("XADD", "s", "MINID", "20", "22-0", "f", "v"), ("XRANGE", "s", "-", "+"),
        ("XADD", "s", "MINID", "=", "21-1", "23-0", "f", "v"), ("XRANGE", "s", "-", "+"),
        ("XADD", "s", "MAXLEN", "~", "1", "24-0", "f", "v"), ("XLEN", "s"),
        ("XADD", "s", "MAXLEN", "0", "25-0", "f", "v"), ("XLEN", "s"), ("EXISTS", "s"),
        ("XADD", "s", "MAXLEN", "~", "0", "LIMIT", "0", "26-0", "f", "v"), ("XLEN", "s"),
        ("XINFO", "STREAM", "s"),
    ],
    "xtrim": [
        ("XTRIM", "nokey", "MAXLEN", "1"), *fill(n=10), ("XTRIM", "s", "MAXLEN", "8"),
        ("XTRIM", "s", "MAXLEN", "=", "6"), ("XRANGE", "s", "-", "+"), ("XTRIM", "s", "MINID", "8"),
        ("XRANGE", "s", "-", "+"), ("XTRIM", "s", "MINID", "~", "9"), ("XTRIM", "s", "MAXLEN", "~", "1"),
        ("XTRIM", "s", "MAXLEN", "0"), ("XLEN", "s"), ("EXISTS", "s"), ("XINFO", "STREAM", "s"),
        ("XTRIM", "s"), ("XTRIM", "s", "MAXLEN"), ("XTRIM", "s", "FOO", "1"), ("XTRIM", "s", "LIMIT", "1"),
        ("XTRIM", "s", "MAXLEN", "1", "LIMIT", "1"), ("XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "1"),
        ("XTRIM", "s", "MAXLEN", "1", "MINID", "1"), ("XTRIM", "s", "MAXLEN", "-1"),
        ("XTRIM", "s", "NOMKSTREAM", "MAXLEN", "1"), ("XTRIM", "s", "MAXLEN", "1", "1-1"),
        ("SET", "str", "x"), ("XTRIM", "str", "MAXLEN", "1"), ("XTRIM", "str", "MAXLEN", "x"),
    ],
    "xtrim_nodes": [
        *fill(n=250), ("XTRIM", "s", "MAXLEN", "~", "120"), ("XLEN", "s"), ("XTRIM", "s", "MAXLEN", "~", "120"),
        ("XTRIM", "s", "MAXLEN", "~", "10", "LIMIT", "50"), ("XTRIM", "s", "MAXLEN", "~", "10", "LIMIT", "100"),
        ("XLEN", "s"), ("XTRIM", "s", "MINID", "~", "240"), ("XLEN", "s"), ("XTRIM", "s", "MINID", "~", "300"),
        ("XLEN", "s"), *fill(n=150, ms=1000), ("XDEL", "s", *[f"{1000 + i}-0" for i in range(100)]),
        ("XTRIM", "s", "MAXLEN", "~", "10"), ("XLEN", "s"), ("XRANGE", "s", "-", "+", "COUNT", "3"),
        ("XINFO", "STREAM", "s"),
    ],
    "xrange": [
        *fill(n=6), ("XRANGE", "s", "-", "+"), ("XRANGE", "s", "2", "4"), ("XRANGE", "s", "(2", "(4"),
        ("XRANGE", "s", "(2-0", "+"), ("XRANGE", "s", "-", "(4-0"), ("XRANGE", "s", "2", "4", "COUNT", "2"),
        ("XRANGE", "s", "-", "+", "COUNT", "0"), ("XRANGE", "s", "-", "+", "COUNT", "-1"),
        ("XRANGE", "s", "-", "+", "count", "1", "COUNT", "3"), ("XRANGE", "s", "4", "2"),
        ("XREVRANGE", "s", "+", "-"), ("XREVRANGE", "s", "4", "2", "COUNT", "2"),
        ("XREVRANGE", "s", "(4", "(2"), ("XREVRANGE", "s", "+", "-", "COUNT", "0"),
        ("XRANGE", "s", "(-", "+"), ("XRANGE", "s", "-", "(+"), ("XRANGE", "s", "(", "+"),
        ("XRANGE", "s", "((1", "+"), ("XRANGE", "s", "x", "+"), ("XRANGE", "s", "-", "+", "COUNT"),
        ("XRANGE", "s", "-", "+", "COUNT", "x"), ("XRANGE", "s", "-", "+", "FOO", "1"),
        ("XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"), ("XRANGE", "s", "-", "(0-0"),
        ("XRANGE", "s", "-", "(0"), ("XRANGE", "s", "(0", "+", "COUNT", "1"),
        ("XRANGE", "nokey", "-", "+"), ("XRANGE", "nokey", "-", "+", "COUNT", "0"),
        ("XRANGE", "nokey", "x", "+"), ("XREVRANGE", "nokey", "+", "-"), ("XLEN", "nokey"),
        ("XRANGE", "s", "3-0", "3-0"), ("XRANGE", "s", "3-1", "3-5"), ("XRANGE", "s", "-"),
    ],
    "xdel_xsetid": [
        ("XDEL", "nokey", "1-1"), ("XDEL", "nokey", "x"), *fill(n=5), ("XDEL", "s", "2-0", "3", "9-9"),
        ("XDEL", "s", "2-0"), ("XDEL", "s", "1-0", "x"), ("XLEN", "s"), ("XDEL", "s", "1-0"),
        ("XINFO", "STREAM", "s"), ("XDEL", "s", "4", "5"), ("XLEN", "s"), ("EXISTS", "s"),
        ("XINFO", "STREAM", "s"), ("XADD", "s", "3-0", "a", "b"), ("XADD", "s", "5-1", "a", "b"),
        ("XSETID", "s", "10-0"), ("XSETID", "s", "4-0"), ("XSETID", "s", "10-0", "ENTRIESADDED", "3"),
        ("XSETID", "s", "10-0", "ENTRIESADDED", "1"), ("XSETID", "s", "10-0", "ENTRIESADDED", "-1"),
        ("XSETID", "s", "10-0", "MAXDELETEDID", "11-0"), ("XSETID", "s", "10-0", "MAXDELETEDID", "9-0"),
        ("XSETID", "s", "8-0"), ("XSETID", "s", "x"), ("XSETID", "s", "10-0", "FOO"),
        ("XSETID", "nokey", "1-0"), ("XSETID", "nokey", "x"), ("XSETID", "s", "-"),
        ("XINFO", "STREAM", "s"), ("XADD", "s", "9-0", "a", "b"), ("XADD", "s", "10-*", "a", "b"),
        ("SET", "str", "x"), ("XDEL", "str", "1"), ("XSETID", "str", "1"),
        ("XSETID", "s", "20-0", "ENTRIESADDED", "x"), ("XSETID", "s", "20-0", "MAXDELETEDID", "x"),
    ],
    "xgroup": [
        ("XGROUP", "CREATE", "s", "g", "$"), ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"),
        ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"), ("TYPE", "s"), ("XLEN", "s"),
        ("XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "5"),
        ("XGROUP", "CREATE", "s", "g3", "0", "ENTRIESREAD", "-2"),
        ("XGROUP", "CREATE", "s", "g3", "0", "ENTRIESREAD", "x"), ("XGROUP", "CREATE", "s", "g3", "0", "FOO"),
        ("XGROUP", "CREATE", "s", "g3", "x"), ("XGROUP", "CREATE", "s", "g3", "-"),
        ("XGROUP", "CREATE", "s", "g3", "1-1", "MKSTREAM", "ENTRIESREAD", "3"),
        ("XINFO", "GROUPS", "s"), ("XGROUP", "SETID", "s", "g", "0"), ("XGROUP", "SETID", "s", "g", "$"),
        ("XGROUP", "SETID", "s", "g", "-"), ("XGROUP", "SETID", "s", "g", "+"),
        ("XGROUP", "SETID", "s", "g", "5", "ENTRIESREAD", "2"), ("XGROUP", "SETID", "s", "g", "5", "FOO", "2"),
        ("XGROUP", "SETID", "s", "g", "5", "ENTRIESREAD"), ("XGROUP", "SETID", "s", "nog", "5"),
        ("XGROUP", "SETID", "s", "g", "x"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "CREATECONSUMER", "s", "g", "c1"), ("XGROUP", "CREATECONSUMER", "s", "g", "c1"),
        ("XGROUP", "CREATECONSUMER", "s", "nog", "c1"), ("XGROUP", "DELCONSUMER", "s", "g", "c2"),
        ("XGROUP", "DELCONSUMER", "s", "g", "c1"), ("XGROUP", "DELCONSUMER", "s", "nog", "c1"),
        ("XGROUP", "DESTROY", "s", "g"), ("XGROUP", "DESTROY", "s", "g"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "DESTROY", "nokey", "g"), ("XGROUP", "CREATECONSUMER", "nokey", "g", "c"),
        ("XGROUP", "SETID", "nokey", "g", "0"), ("XGROUP", "CREATE", "nokey", "g", "x"),
        ("XGROUP", "HELP"), ("XGROUP", "help", "x"), ("XGROUP", "FOO"), ("XGROUP", "FOO", "a", "b"),
        ("XGROUP", "CREATE", "s"), ("XGROUP", "DESTROY", "s"), ("XGROUP", "DESTROY", "s", "g", "x"),
        ("XGROUP",), ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM", "MKSTREAM", "MKSTREAM", "X"),
        ("SET", "str", "x"), ("XGROUP", "CREATE", "str", "g", "$"), ("XGROUP", "DESTROY", "str", "g"),
        ("XGROUP", "CREATE", "str", "g", "x", "FOO"), ("XGROUP", "SETID", "s", "g2", "1", "ENTRIESREAD", "-5"),
    ],
    "xreadgroup": [
        *fill(n=5), ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"),
        ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "s", "1"),
        ("XREADGROUP", "GROUP", "g", "c3", "STREAMS", "s", "0"),
        ("XPENDING", "s", "g"), ("XACK", "s", "g", "1-0", "9-0"), ("XACK", "s", "g", "1-0"),
        ("XACK", "s", "g", "x"), ("XACK", "s", "nog", "x"), ("XACK", "nokey", "g", "1"),
        ("XPENDING", "s", "g"), ("XDEL", "s", "3-0"), ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", "0"),
        ("XINFO", "GROUPS", "s"), ("XADD", "s", "6-0", "f", "v"),
        ("XREADGROUP", "GROUP", "g", "c1", "NOACK", "STREAMS", "s", ">"), ("XPENDING", "s", "g"),
        ("XINFO", "GROUPS", "s"), ("XGROUP", "SETID", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "s", ">"), ("XPENDING", "s", "g"),
        ("XINFO", "GROUPS", "s"), ("XGROUP", "DELCONSUMER", "s", "g", "c2"), ("XPENDING", "s", "g"),
        ("XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "nokey", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s"), ("XREADGROUP", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "x"),
        ("XREADGROUP", "GROUP", "g", "c", "FOO", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "COUNT", "x", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "x", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "-1", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "s", ">", ">"),
        ("SET", "str", "x"), ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "10", "STREAMS", "s", ">"),
        ("XINFO", "CONSUMERS", "s", "nog"), ("XINFO", "GROUPS", "nokey"),
        ("XREADGROUP", "GROUP", b"\xff\x00x", "c", "STREAMS", b"\xfe", ">"),
        ("XPENDING", b"\xff", b"g\xfe"), ("XINFO", "CONSUMERS", "s", b"\xff"),
        ("XCLAIM", b"\xff", "g", "c", "0", "1"), ("XCLAIM", "s", "g", "c", "0", "1", b"\xff\r\n"),
        ("XGROUP", "SETID", "s", b"\xff", "0"), ("XGROUP", b"\xff"),
    ],
    "xread": [
        ("XREAD", "STREAMS", "s", "0"), *fill(n=4), ("XREAD", "STREAMS", "s", "0"),
        ("XREAD", "COUNT", "2", "STREAMS", "s", "0"), ("XREAD", "STREAMS", "s", "2"),
        ("XREAD", "STREAMS", "s", "$"), ("XREAD", "STREAMS", "s", "4-0"), ("XREAD", "STREAMS", "s", "nokey", "0", "0"),
        ("XREAD", "STREAMS", "s"), ("XREAD", "STREAMS"), ("XREAD", "COUNT", "1"), ("XREAD", "s", "0"),
        ("XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"), ("XREAD", "NOACK", "STREAMS", "s", "0"),
        ("XREAD", "STREAMS", "s", ">"), ("XREAD", "STREAMS", "s", "x"), ("XREAD", "COUNT", "x", "STREAMS", "s", "0"),
        ("XREAD", "COUNT", "-5", "STREAMS", "s", "0"), ("XREAD", "BLOCK", "x", "STREAMS", "s", "0"),
        ("XREAD", "BLOCK", "-1", "STREAMS", "s", "0"), ("XREAD", "BLOCK", "10", "STREAMS", "s", "0"),
        ("XREAD", "BLOCK", "10", "STREAMS", "s", "$"), ("XREAD", "BLOCK", "10", "STREAMS", "nokey", "$"),
        ("SET", "str", "x"), ("XREAD", "STREAMS", "str", "0"), ("XREAD", "STREAMS", "s", "str", "0", "0"),
        ("XREAD", "STREAMS", "s", "s", "0", "3"),
    ],
    "xpending_xclaim": [
        *fill(n=6), ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "3", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">"),
        ("XPENDING", "s", "g", "-", "+", "10", "c1"), ("XPENDING", "s", "g", "-", "+", "0"),
        ("XPENDING", "s", "g", "(1", "(5", "10", "nobody"), ("XPENDING", "s", "g", "-", "+"),
        ("XPENDING", "s", "g", "-", "+", "x"), ("XPENDING", "s", "g", "x", "+", "1"),
        ("XPENDING", "s", "g", "IDLE", "x", "-", "+", "1"), ("XPENDING", "s", "g", "IDLE", "10", "-", "+"),
        ("XPENDING", "s", "nog"), ("XPENDING", "nokey", "g"), ("XPENDING", "s", "g", "-", "+", "1", "c1", "x"),
        ("XPENDING", "s", "g", "IDLE", "1000000", "-", "+", "10"),
        ("XCLAIM", "s", "g", "c3", "0", "1-0", "2-0", "JUSTID"), ("XPENDING", "s", "g"),
        ("XCLAIM", "s", "g", "c3", "0", "3-0", "RETRYCOUNT", "7", "JUSTID"),
        ("XCLAIM", "s", "g", "c1", "1000000", "4-0"), ("XCLAIM", "s", "g", "c1", "-5", "4-0", "JUSTID"),
        ("XCLAIM", "s", "g", "c1", "x", "4-0"), ("XCLAIM", "s", "g", "c1", "0", "4-0", "FOO"),
        ("XCLAIM", "s", "g", "c1", "0", "4-0", "IDLE", "x"), ("XCLAIM", "s", "g", "c1", "0", "4-0", "TIME", "x"),
        ("XCLAIM", "s", "g", "c1", "0", "4-0", "RETRYCOUNT", "x"), ("XCLAIM", "s", "g", "c1", "0", "4-0", "LASTID", "x"),
        ("XCLAIM", "s", "nog", "c1", "0", "4-0"), ("XCLAIM", "nokey", "g", "c1", "x", "4-0"),
        ("XCLAIM", "s", "g", "c1", "0", "99-0", "FORCE"), ("XCLAIM", "s", "g", "c9", "0", "1-0", "x", "JUSTID"),
        ("XADD", "s", "7-0", "f", "v"), ("XCLAIM", "s", "g", "c4", "0", "7-0", "FORCE", "RETRYCOUNT", "3", "JUSTID"),
        ("XCLAIM", "s", "g", "c4", "0", "7-0", "RETRYCOUNT", "3"),
        ("XCLAIM", "s", "g", "c5", "0", "7-0", "FORCE", "JUSTID", "LASTID", "100-0"), ("XINFO", "GROUPS", "s"),
        ("XDEL", "s", "2-0"), ("XCLAIM", "s", "g", "c1", "0", "2-0", "1-0", "JUSTID"), ("XPENDING", "s", "g"),
        ("XCLAIM", "s", "g", "c1", "0", "5-0", "TIME", "1", "JUSTID"),
        ("XPENDING", "s", "g", "-", "+", "10", "c1"),
    ],
    "xautoclaim": [
        *fill(n=8), ("XGROUP", "CREATE", "s", "g", "0"), ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"),
        ("XAUTOCLAIM", "s", "g", "c2", "0", "0", "COUNT", "2"), ("XAUTOCLAIM", "s", "g", "c2", "0", "3-0", "COUNT", "2", "JUSTID"),
        ("XDEL", "s", "5-0", "6-0"), ("XAUTOCLAIM", "s", "g", "c3", "0", "(4-0", "COUNT", "2"),
        ("XAUTOCLAIM", "s", "g", "c3", "0", "0"), ("XAUTOCLAIM", "s", "g", "c3", "1000000", "0"),
        ("XPENDING", "s", "g"), ("XAUTOCLAIM", "s", "g", "c3", "0", "0", "COUNT", "0"),
        ("XAUTOCLAIM", "s", "g", "c3", "0", "0", "COUNT", "x"), ("XAUTOCLAIM", "s", "g", "c3", "0", "0", "FOO"),
        ("XAUTOCLAIM", "s", "g", "c3", "x", "0"), ("XAUTOCLAIM", "s", "g", "c3", "0", "x"),
        ("XAUTOCLAIM", "s", "g", "c3", "0", "(18446744073709551615-18446744073709551615"),
        ("XAUTOCLAIM", "s", "nog", "c3", "0", "0"), ("XAUTOCLAIM", "nokey", "g", "c3", "0", "0"),
        ("XAUTOCLAIM", "s", "g", "c3", "0", "0", "COUNT", "2305843009213693952"),
        ("XAUTOCLAIM", "s", "g", "c3", "0", "0", "COUNT", "576460752303423487"),
        ("XINFO", "GROUPS", "s"),
    ],
    "xinfo": [
        ("XINFO", "STREAM", "nokey"), ("XINFO", "HELP"), ("XINFO", "help", "x"), ("XINFO", "FOO"),
        ("XINFO", "STREAM"), ("XINFO", "GROUPS", "s", "x"), *fill(n=3), ("XINFO", "STREAM", "s", "FOO"),
        ("XINFO", "STREAM", "s", "FULL", "COUNT"), ("XINFO", "STREAM", "s", "FULL", "FOO", "1"),
        ("XINFO", "STREAM", "s", "FULL", "COUNT", "x"), ("XINFO", "GROUPS", "s"),
        ("XINFO", "CONSUMERS", "s", "g"), ("SET", "str", "x"), ("XINFO", "STREAM", "str"),
        ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATE", "s", "a", "$"), ("XINFO", "GROUPS", "s"),
        ("XADD", "s", "10-0", "x", "y"), ("XINFO", "GROUPS", "s"), ("XDEL", "s", "2-0"), ("XINFO", "GROUPS", "s"),
        ("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"), ("XINFO", "GROUPS", "s"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"), ("XINFO", "GROUPS", "s"),
        ("XREADGROUP", "GROUP", "a", "c", "STREAMS", "s", ">"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "SETID", "s", "a", "0", "ENTRIESREAD", "0"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "SETID", "s", "a", "3-0"), ("XINFO", "GROUPS", "s"), ("XTRIM", "s", "MAXLEN", "1"),
        ("XINFO", "GROUPS", "s"), ("XSETID", "s", "20-0", "ENTRIESADDED", "50", "MAXDELETEDID", "15-0"),
        ("XINFO", "GROUPS", "s"),
    ],
    "multi": [
        ("MULTI",), ("XADD", "s", "1-0", "a", "b"), ("XGROUP", "CREATE", "s", "g", "$"),
        ("XREAD", "BLOCK", "0", "STREAMS", "s", "$"), ("XREAD", "BLOCK", "0", "STREAMS", "s", "0"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"), ("XLEN", "s"),
        ("XADD", "s", "0-1", "a", "b"), ("EXEC",), ("WATCH", "s"), ("MULTI",), ("XLEN", "s"), ("EXEC",),
        ("MULTI",), ("XADD", "{s}2", "1-0", "a", "b"), ("XREAD", "STREAMS", "s", "{s}2", "0", "0"),
        ("EXEC",), ("MULTI",), ("XINFO", "STREAM", "s"), ("XGROUP", "HELP"), ("XINFO", "FOO"), ("EXEC",),
    ],
    "scripts": [
        *fill(n=3), ("XGROUP", "CREATE", "s", "g", "0"),
        ("EVAL", "return redis.call('XREAD', 'STREAMS', KEYS[1], '0')", "1", "s"),
        ("EVAL", "redis.setresp(3) return redis.call('XREAD', 'STREAMS', KEYS[1], KEYS[1], '0', '2')", "1", "s"),
        ("EVAL", "return redis.call('XREAD', 'STREAMS', KEYS[1], '$')", "1", "s"),
        ("EVAL", "return redis.call('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', KEYS[1], '>')", "1", "s"),
        ("EVAL", "return redis.call('XADD', KEYS[1], '9-0', 'a', 'b')", "1", "s"),
        ("EVAL", "return redis.call('XINFO', 'GROUPS', KEYS[1])", "1", "s"),
        ("EVAL", "redis.setresp(3) return redis.call('XINFO', 'STREAM', KEYS[1])", "1", "s"),
        ("EVAL", "return redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', '0')", "1", "s"),
        ("EVAL", "return redis.pcall('XADD', KEYS[1], '1-0', 'a', 'b')", "1", "s"),
    ],
    "xinfo_full": [
        ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"), ("XINFO", "STREAM", "s", "FULL"), *fill(n=15),
        ("XINFO", "STREAM", "s"), ("XINFO", "STREAM", "s", "FULL"), ("XGROUP", "CREATE", "s", "h", "0"),
        ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "12", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c2", "COUNT", "2", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "h", "c2", "COUNT", "3", "STREAMS", "s", ">"),
        ("XGROUP", "CREATECONSUMER", "s", "h", "c0"),
        ("XINFO", "STREAM", "s", "FULL"), ("XINFO", "STREAM", "s", "FULL", "COUNT", "3"),
        ("XINFO", "STREAM", "s", "FULL", "COUNT", "0"), ("XINFO", "STREAM", "s", "full", "count", "-1"),
        ("XINFO", "CONSUMERS", "s", "g"), ("XINFO", "CONSUMERS", "s", "h"), ("XDEL", "s", "1-0", "5-0"),
        ("XINFO", "STREAM", "s", "FULL", "COUNT", "2"), ("XINFO", "GROUPS", "s"),
        ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"),
        ("XPENDING", "s", "g", "-", "+", "20"), ("XPENDING", "s", "g", "IDLE", "0", "-", "+", "20", "c2"),
        ("XTRIM", "s", "MAXLEN", "3"), ("XINFO", "STREAM", "s"), ("XINFO", "GROUPS", "s"),
        ("XAUTOCLAIM", "s", "g", "c3", "0", "0", "COUNT", "20"), ("XINFO", "GROUPS", "s"),
        ("XINFO", "STREAM", "s", "FULL"),
    ],
    "keyspace": [
        *fill(n=3), ("XGROUP", "CREATE", "s", "g", "0"), ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"),
        ("RENAME", "s", "t"), ("XRANGE", "t", "-", "+"), ("XPENDING", "t", "g"), ("EXISTS", "s"),
        ("COPY", "t", "u"), ("XINFO", "GROUPS", "u"), ("XACK", "u", "g", "1-0"), ("XPENDING", "t", "g"),
        ("XPENDING", "u", "g"), ("EXPIRE", "u", "100"), ("TTL", "u"), ("PERSIST", "u"), ("TYPE", "u"),
        ("MOVE", "u", "1"), ("EXISTS", "u"), ("SELECT", "1"), ("XLEN", "u"), ("XPENDING", "u", "g"),
        ("SELECT", "0"), ("DEL", "t"), ("EXISTS", "t"), ("XLEN", "t"), ("XGROUP", "CREATE", "e", "g", "$", "MKSTREAM"),
        ("RENAME", "e", "e2"), ("XINFO", "STREAM", "e2"), ("XLEN", "e2"), ("COPY", "e2", "e3"), ("TYPE", "e3"),
        ("UNLINK", "e3"), ("SORT", "e2"), ("SORT_RO", "e2"), ("OBJECT", "ENCODING", "e2"),
        ("SCAN", "0", "TYPE", "stream"), ("LPUSH", "e2", "x"), ("GET", "e2"),
    ],
}



PENDING_IDLE = re.compile(rb"(\*4\r\n\$\d+\r\n[0-9-]+\r\n\$\d+\r\n[^\r]*\r\n):\d+\r\n")
TIMES = re.compile(rb"((?:idle|seen-time)\r\n):\d+\r\n")
FULL_PEL = re.compile(rb"(\*4\r\n\$\d+\r\n[0-9-]+\r\n\$\d+\r\n[^\r]*\r\n):\d+\r\n")
CPEL = re.compile(rb"(\*3\r\n\$\d+\r\n[0-9-]+\r\n):\d+\r\n")


def _mask(reply: bytes) -> bytes:
    """What depends on the clock: idle times, delivery and seen times."""
    reply = PENDING_IDLE.sub(rb"\1:T\r\n", reply)
    reply = TIMES.sub(rb"\1:T\r\n", reply)
    return CPEL.sub(rb"\1:T\r\n", reply)


def _compare(p, args):
    got, want = p.s.call(*args), p.r.call(*args)
    if str(args[0]).upper() in ("XINFO", "XPENDING"):
        got, want = _mask(got), _mask(want)
    assert got == want, f"{args!r}:\n  shardis: {got!r}\n  redis:   {want!r}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_table(pair, name):
    for args in CASES[name]:
        _compare(pair, args)


@pytest.mark.parametrize("name", sorted(CASES))
def test_table_resp3(pair3, name):
    for args in CASES[name]:
        _compare(pair3, args)


# ---------------------------------------------------------------- clock IDs, events, shards


def test_auto_ids_are_monotonic(pair):
    ids = [pair.s.call("XADD", "s", "*", "f", "v") for _ in range(50)]
    parsed = [tuple(int(x) for x in parse_reply(r).split(b"-")) for r in ids]
    assert parsed == sorted(parsed) and len(set(parsed)) == 50
    assert abs(parsed[-1][0] - time.time() * 1000) < 10_000
    # a clock "behind" the last ID: the sequence goes on from it
    pair.s.call("XADD", "f", "99999999999999-5", "a", "b")
    assert pair.s.call("XADD", "f", "*", "a", "b") == b"$16\r\n99999999999999-6\r\n"
    assert pair.s.call("XADD", "f", "99999999999999-*", "a", "b") == b"$16\r\n99999999999999-7\r\n"


def test_keyspace_events(pair):
    subs = []
    for c in (pair.s, pair.r):
        c.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
    from tests.helpers import RawClient
    try:
        for port in (pair.s.sock.getpeername()[1], pair.r.sock.getpeername()[1]):
            sub = RawClient(port)
            sub.call("PSUBSCRIBE", "__keyevent@0__:*")
            subs.append(sub)
        time.sleep(0.2)
        cmds = [("XADD", "s", "1-0", "a", "b"), ("XADD", "s", "MAXLEN", "0", "2-0", "a", "b"),
                ("XGROUP", "CREATE", "s", "g", "$"), ("XGROUP", "CREATECONSUMER", "s", "g", "c"),
                ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">"), ("XADD", "s", "3-0", "a", "b"),
                ("XDEL", "s", "3-0"), ("XDEL", "s", "3-0"), ("XTRIM", "s", "MAXLEN", "0"),
                ("XGROUP", "SETID", "s", "g", "0"), ("XGROUP", "DELCONSUMER", "s", "g", "c"),
                ("XGROUP", "DESTROY", "s", "g"), ("XSETID", "s", "9-0"), ("DEL", "s"), ("SET", "{s}end", "1")]
        for cmd in cmds:
            pair.check(*cmd)
        got = []
        for sub in subs:
            events = []
            while True:
                msg = parse_reply(sub.read_reply())
                events.append((msg[2], msg[3]))
                if msg[3] == b"{s}end":
                    break
            got.append(events)
        assert got[0] == got[1], got
        assert (b"__keyevent@0__:xgroup-createconsumer", b"s") in got[0]
    finally:
        for c in (pair.s, pair.r):
            c.call("CONFIG", "SET", "notify-keyspace-events", "")
        for sub in subs:
            sub.close()


def test_scan_type_and_keys_across_shards(pair):
    keys = [f"k{i}" for i in range(12)]
    for k in keys:
        pair.check("XADD", k, "1-1", "f", k)
    pair.check("SET", "str", "x")
    assert sorted(parse_reply(pair.s.call("SCAN", "0", "TYPE", "stream", "COUNT", "100000"))[1]) == \
        sorted(k.encode() for k in keys)
    # XREAD over keys on several shards: the coordinator runs it
    pair.check("XREAD", "COUNT", "5", "STREAMS", *keys, *["0"] * 12)
    pair.check("XREAD", "STREAMS", *keys, *["$"] * 12)
    for k in keys:
        pair.check("XGROUP", "CREATE", k, "g", "0")
    pair.check("XREADGROUP", "GROUP", "g", "c", "STREAMS", *keys, *[">"] * 12)
    for k in keys:
        pair.check("XPENDING", k, "g")
    pair.check("DEL", *keys)


def test_big_stream_nodes_and_trimming(pair):
    """Enough entries for many nodes: approximate trimming removes what Redis removes."""
    cmds = [("XADD", "s", f"{i + 1}-0", "field", "x" * (i % 50)) for i in range(1200)]
    pair.check_pipeline(cmds)
    for args in [("XLEN", "s"), ("XTRIM", "s", "MAXLEN", "~", "1000"), ("XLEN", "s"),
                 ("XTRIM", "s", "MINID", "~", "500"), ("XLEN", "s"),
                 ("XADD", "s", "MAXLEN", "~", "300", "5000-0", "a", "b"), ("XLEN", "s"),
                 ("XRANGE", "s", "-", "+", "COUNT", "2"), ("XREVRANGE", "s", "+", "-", "COUNT", "2"),
                 ("XTRIM", "s", "MAXLEN", "=", "250"), ("XLEN", "s"), ("XINFO", "STREAM", "s")]:
        _compare(pair, args)


# ---------------------------------------------------------------- blocking


class Later:
    """A command sent now whose reply is read in a thread."""

    def __init__(self, port: int, *args) -> None:
        import threading
        from tests.helpers import RawClient, encode_command
        self.c = RawClient(port)
        self.args = args
        self.reply: bytes | None = None
        self.c.send_raw(encode_command(args))
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self) -> None:
        self.reply = self.c.read_reply()

    def join(self, timeout: float = 5.0) -> bytes | None:
        self.t.join(timeout)
        return self.reply

    def close(self) -> None:
        self.c.close()


def test_xread_block_is_woken_by_xadd(shardis_server):
    from tests.helpers import RawClient
    port = shardis_server.port
    c = RawClient(port)
    c.call("FLUSHALL")
    c.call("XADD", "{b}s", "1-0", "old", "x")
    w1 = Later(port, "XREAD", "BLOCK", "0", "STREAMS", "{b}s", "{b}t", "$", "$")
    w2 = Later(port, "XREAD", "BLOCK", "0", "COUNT", "1", "STREAMS", "{b}t", "0")
    time.sleep(0.3)
    assert w1.reply is None and w2.reply is None
    c.call("SET", "{b}other", "x")  # not a stream write: nobody wakes
    c.call("XADD", "{b}t", "5-0", "new", "y")
    assert w1.join() == b"*1\r\n*2\r\n$4\r\n{b}t\r\n*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$3\r\nnew\r\n$1\r\ny\r\n"
    assert w2.join() == w1.reply
    w3 = Later(port, "XREAD", "BLOCK", "200", "STREAMS", "{b}s", "$")
    assert w3.join() == b"*-1\r\n"
    for w in (w1, w2, w3):
        w.close()
    c.close()


def test_xreadgroup_block(shardis_server):
    from tests.helpers import RawClient
    port = shardis_server.port
    c = RawClient(port)
    c.call("FLUSHALL")
    c.call("XGROUP", "CREATE", "{g}s", "g", "$", "MKSTREAM")
    a = Later(port, "XREADGROUP", "GROUP", "g", "a", "BLOCK", "0", "STREAMS", "{g}s", ">")
    time.sleep(0.2)
    b = Later(port, "XREADGROUP", "GROUP", "g", "b", "BLOCK", "0", "STREAMS", "{g}s", ">")
    time.sleep(0.2)
    r = Later(port, "XREAD", "BLOCK", "0", "STREAMS", "{g}s", "$")
    time.sleep(0.2)
    c.call("XADD", "{g}s", "1-0", "f", "v")
    entry = b"*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    assert a.join() == b"*1\r\n*2\r\n$4\r\n{g}s\r\n" + entry
    assert r.join() == a.reply  # a plain reader behind b, who got nothing, is served too
    assert b.reply is None
    assert parse_reply(c.call("XPENDING", "{g}s", "g")) == [1, b"1-0", b"1-0", [[b"a", b"1"]]]
    c.call("XADD", "{g}s", "2-0", "f", "w")
    assert b"2-0" in b.join()
    assert parse_reply(c.call("XPENDING", "{g}s", "g"))[0] == 2
    d = Later(port, "XREADGROUP", "GROUP", "g", "d", "BLOCK", "0", "STREAMS", "{g}s", ">")
    time.sleep(0.2)
    c.call("XGROUP", "DESTROY", "{g}s", "g")
    assert d.join() == b"-NOGROUP the consumer group this client was blocked on no longer exists\r\n"
    c.call("XGROUP", "CREATE", "{g}s", "g", "$")
    e = Later(port, "XREADGROUP", "GROUP", "g", "e", "BLOCK", "0", "STREAMS", "{g}s", ">")
    f = Later(port, "XREAD", "BLOCK", "0", "STREAMS", "{g}s", "$")
    time.sleep(0.2)
    c.call("DEL", "{g}s")
    assert e.join() == b"-UNBLOCKED the stream key no longer exists\r\n"
    time.sleep(0.2)
    assert f.reply is None  # a plain reader waits on
    c.call("XADD", "{g}s", "2-0", "f", "v")  # ($ was 2-0 when it blocked: not for it)
    time.sleep(0.2)
    assert f.reply is None
    c.call("XADD", "{g}s", "3-0", "f", "v")
    assert f.join() == b"*1\r\n*2\r\n$4\r\n{g}s\r\n" + entry.replace(b"1-0", b"3-0")
    for w in (a, b, r, d, e, f):
        w.close()
    c.close()


def test_xread_block_over_shards(shardis_server):
    from tests.helpers import RawClient
    port = shardis_server.port
    c = RawClient(port)
    c.call("FLUSHALL")
    keys = [f"k{i}" for i in range(6)]
    w = Later(port, "XREAD", "BLOCK", "0", "STREAMS", *keys, *["$"] * 6)
    time.sleep(0.3)
    assert w.reply is None
    c.call("XADD", "k4", "7-0", "a", "b")
    assert w.join() == b"*1\r\n*2\r\n$2\r\nk4\r\n*1\r\n*2\r\n$3\r\n7-0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    t = Later(port, "XREAD", "BLOCK", "300", "STREAMS", *keys, *["$"] * 6)
    assert t.join() == b"*-1\r\n"
    c.call("XGROUP", "CREATE", "k1", "g", "$", "MKSTREAM")
    c.call("XGROUP", "CREATE", "k5", "g", "$", "MKSTREAM")
    g = Later(port, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "k1", "k5", ">", ">")
    time.sleep(0.3)
    c.call("XADD", "k5", "9-0", "a", "b")
    assert g.join() == b"*1\r\n*2\r\n$2\r\nk5\r\n*1\r\n*2\r\n$3\r\n9-0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    assert parse_reply(c.call("XPENDING", "k5", "g"))[0] == 1
    for x in (w, t, g):
        x.close()
    c.close()


def test_stream_node_max_entries(pair):
    """CONFIG SET stream-node-max-entries reaches the shards: nodes, and so ~ trimming,
    follow it as in Redis."""
    try:
        pair.check("CONFIG", "SET", "stream-node-max-entries", "7")
        for args in [*fill(n=40), ("XTRIM", "s", "MAXLEN", "~", "20"), ("XLEN", "s"),
                     ("XADD", "s", "MAXLEN", "~", "5", "100-0", "a", "b"), ("XLEN", "s"),
                     ("XINFO", "STREAM", "s")]:
            _compare(pair, args)
    finally:
        pair.check("CONFIG", "SET", "stream-node-max-entries", "100")


def test_consumer_group_workload_survives_sigkill(tmp_path):
    """Producers add jobs, consumers read them with '>' and acknowledge, one consumer
    dies with jobs pending and another takes them over with XAUTOCLAIM; the whole
    server is SIGKILLed twice on the way (durability always). No acknowledged XADD
    or XACK is lost, no job is delivered twice as new, every job is handled once."""
    from tests.helpers import RawClient, Shardis, wait_for_port
    server = Shardis(str(tmp_path / "data"), shards=2, durability="always").start()
    port = server.port
    added: list[bytes] = []
    delivered_new: list[bytes] = []
    handled: list[bytes] = []
    try:
        c = RawClient(port)
        assert c.call("XGROUP", "CREATE", "jobs", "g", "$", "MKSTREAM") == b"+OK\r\n"
        for rnd in range(30):
            for p in range(3):
                added.append(parse_reply(c.call("XADD", "jobs", "*", "job", f"{p}:{rnd}")))
            for name in ("c1", "c2", "dead"):
                got = parse_reply(c.call("XREADGROUP", "GROUP", "g", name, "COUNT", "2",
                                         "STREAMS", "jobs", ">"))
                ids = [e[0] for e in got[0][1]] if got else []
                delivered_new += ids
                if name != "dead" and ids:
                    assert parse_reply(c.call("XACK", "jobs", "g", *ids)) == len(ids)
                    handled += ids
            if rnd in (10, 20):
                c.close()
                server.kill()
                server.start()
                wait_for_port(port)
                c = RawClient(port)
        # the rest, then the dead consumer's jobs, claimed and acknowledged by c1
        while True:
            got = parse_reply(c.call("XREADGROUP", "GROUP", "g", "c1", "COUNT", "50", "STREAMS", "jobs", ">"))
            if not got:
                break
            ids = [e[0] for e in got[0][1]]
            delivered_new += ids
            c.call("XACK", "jobs", "g", *ids)
            handled += ids
        cursor = b"0-0"
        while True:
            nxt, claimed, deleted = parse_reply(c.call("XAUTOCLAIM", "jobs", "g", "c1", "0", cursor,
                                                       "COUNT", "7", "JUSTID"))
            assert deleted == []
            if claimed:
                assert parse_reply(c.call("XACK", "jobs", "g", *claimed)) == len(claimed)
                handled += claimed
            if nxt == b"0-0":
                break
            cursor = nxt
        assert parse_reply(c.call("XPENDING", "jobs", "g"))[0] == 0
        stored = [e[0] for e in parse_reply(c.call("XRANGE", "jobs", "-", "+"))]
        assert stored == added and len(set(added)) == 90
        assert sorted(delivered_new) == sorted(set(delivered_new)) == sorted(added)
        assert sorted(handled) == sorted(added)
        c.close()
        assert server.stop() == 0
    finally:
        server.kill()


def test_served_blocked_xreadgroup_survives_sigkill(tmp_path):
    """A blocked XREADGROUP served by an XADD is logged where it happened: after SIGKILL
    and the log's replay, the entry is pending for that consumer and not new again."""
    from tests.helpers import RawClient, Shardis, wait_for_port
    server = Shardis(str(tmp_path / "data"), shards=1, durability="always").start()
    try:
        port = server.port
        c = RawClient(port)
        c.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        w = Later(port, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
        time.sleep(0.3)
        assert c.call("XADD", "s", "5-0", "f", "v") == b"$3\r\n5-0\r\n"
        assert b"5-0" in w.join()
        w.close()
        c.close()
        server.kill()
        server.start()
        wait_for_port(port)
        c = RawClient(port)
        assert parse_reply(c.call("XPENDING", "s", "g")) == [1, b"5-0", b"5-0", [[b"c", b"1"]]]
        assert c.call("XREADGROUP", "GROUP", "g", "d", "STREAMS", "s", ">") == b"*-1\r\n"
        assert parse_reply(c.call("XINFO", "GROUPS", "s"))[0][7] == b"5-0"
        c.close()
        assert server.stop() == 0
    finally:
        server.kill()


def test_fuzz_against_redis(pair):
    """Random stream commands (seeded) on a few streams, both servers, replies compared:
    trimming over many nodes, deletions, groups, claims, XINFO and the lag bookkeeping."""
    import random
    rng = random.Random(7)
    keys = ["{f}a", "{f}b"]
    groups = ["g1", "g2"]
    cons = ["c1", "c2", "c3"]
    top = {k: 0 for k in keys}

    def rid(k):
        return f"{rng.randrange(0, top[k] + 3)}-{rng.randrange(0, 3)}"

    for step in range(3000):
        k = rng.choice(keys)
        r = rng.random()
        if r < 0.35:
            n = rng.randrange(1, 4)
            trim = []
            if rng.random() < 0.2:
                trim = [rng.choice(["MAXLEN", "MINID"]), rng.choice(["~", "=", "~"])]
                trim.append(str(rng.randrange(0, 300)) if trim[0] == "MAXLEN" else rid(k))
            for _ in range(n):
                top[k] += rng.randrange(1, 3)
                args = ["XADD", k, *trim, f"{top[k]}-*", "f", "x" * rng.randrange(0, 30)]
                _compare(pair, args)
        elif r < 0.45:
            _compare(pair, ["XDEL", k, *[rid(k) for _ in range(rng.randrange(1, 4))]])
        elif r < 0.5:
            if rng.random() < 0.5:
                _compare(pair, ["XTRIM", k, "MAXLEN", rng.choice(["~", "="]), str(rng.randrange(0, 400))])
            else:
                _compare(pair, ["XTRIM", k, "MINID", rng.choice(["~", "="]), rid(k)])
        elif r < 0.55:
            _compare(pair, ["XGROUP", "CREATE", k, rng.choice(groups), rng.choice(["$", "0", rid(k)]),
                            "MKSTREAM"])
        elif r < 0.58:
            _compare(pair, ["XGROUP", "SETID", k, rng.choice(groups), rng.choice(["$", "0", rid(k)])])
        elif r < 0.7:
            _compare(pair, ["XREADGROUP", "GROUP", rng.choice(groups), rng.choice(cons), "COUNT",
                            str(rng.randrange(1, 20)), "STREAMS", k, rng.choice([">", ">", "0"])])
        elif r < 0.76:
            _compare(pair, ["XACK", k, rng.choice(groups), *[rid(k) for _ in range(rng.randrange(1, 6))]])
        elif r < 0.8:
            _compare(pair, ["XAUTOCLAIM", k, rng.choice(groups), rng.choice(cons), "0", rid(k), "COUNT",
                            str(rng.randrange(1, 8)), "JUSTID"])
        elif r < 0.83:
            _compare(pair, ["XCLAIM", k, rng.choice(groups), rng.choice(cons), "0",
                            *[rid(k) for _ in range(3)], "JUSTID"])
        elif r < 0.88:
            _compare(pair, ["XINFO", "GROUPS", k])
        elif r < 0.91:
            _compare(pair, ["XINFO", "STREAM", k])
        elif r < 0.93:
            _compare(pair, ["XPENDING", k, rng.choice(groups)])
        elif r < 0.96:
            _compare(pair, ["XRANGE", k, rid(k), "+", "COUNT", str(rng.randrange(0, 5))])
        elif r < 0.97:
            _compare(pair, ["XSETID", k, f"{top[k] + 5}-0", "MAXDELETEDID", rid(k)])
            top[k] += 5
        elif r < 0.98:
            _compare(pair, ["XGROUP", "DESTROY", k, rng.choice(groups)])
        else:
            _compare(pair, ["XLEN", k])


def test_swapdb_serves_a_blocked_reader(shardis_server):
    """A client blocked on a stream key is served when SWAPDB brings a stream with newer
    entries under it, as Redis does."""
    from tests.helpers import RawClient
    port = shardis_server.port
    c = RawClient(port)
    c.call("FLUSHALL")
    w = Later(port, "XREAD", "BLOCK", "0", "STREAMS", "{w}s", "0")
    time.sleep(0.3)
    c.call("SELECT", "1")
    c.call("XADD", "{w}s", "3-0", "f", "v")
    c.call("SWAPDB", "0", "1")
    assert w.join() == b"*1\r\n*2\r\n$4\r\n{w}s\r\n*1\r\n*2\r\n$3\r\n3-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    w.close()
    c.call("FLUSHALL")
    c.close()


def test_concurrent_consumer_group_workload_across_sigkill(tmp_path):
    """Three producers and three consumers (one of which never acknowledges) run at
    once; the whole server is SIGKILLed under them (durability always) and restarted.
    Every XADD that was answered is in the stream; no entry is delivered twice with
    '>'; after the dead consumer's entries are claimed, every entry is handled."""
    import threading
    from tests.helpers import RawClient, Shardis, wait_for_port
    server = Shardis(str(tmp_path / "data"), shards=2, durability="always").start()
    port = server.port
    lock = threading.Lock()
    added: list[bytes] = []
    delivered: list[bytes] = []
    handled: list[bytes] = []
    stop = threading.Event()

    def connect():
        while not stop.is_set():
            try:
                return RawClient(port)
            except OSError:
                time.sleep(0.05)
        return None

    def producer(p):
        c, n = None, 0
        while not stop.is_set():
            try:
                c = c or connect()
                if c is None:
                    return
                r = c.call("XADD", "jobs", "*", "job", f"{p}:{n}")
                n += 1
                if r.startswith(b"$"):
                    with lock:
                        added.append(parse_reply(r))
            except (OSError, ConnectionError):
                c = None
                time.sleep(0.05)

    def consumer(name, acks):
        c = None
        while not stop.is_set():
            try:
                c = c or connect()
                if c is None:
                    return
                got = parse_reply(c.call("XREADGROUP", "GROUP", "g", name, "COUNT", "5", "BLOCK", "50",
                                         "STREAMS", "jobs", ">"))
                if not isinstance(got, list) or not got:
                    continue
                ids = [e[0] for e in got[0][1]]
                with lock:
                    delivered.extend(ids)
                if acks and ids:
                    if parse_reply(c.call("XACK", "jobs", "g", *ids)) == len(ids):
                        with lock:
                            handled.extend(ids)
            except (OSError, ConnectionError):
                c = None
                time.sleep(0.05)

    try:
        c = RawClient(port)
        c.call("XGROUP", "CREATE", "jobs", "g", "$", "MKSTREAM")
        c.close()
        threads = [threading.Thread(target=producer, args=(p,)) for p in range(3)]
        threads += [threading.Thread(target=consumer, args=(n, n != "dead")) for n in ("c1", "c2", "dead")]
        for t in threads:
            t.start()
        time.sleep(1.5)
        server.kill()
        server.start()
        wait_for_port(port)
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join(10)
        c = RawClient(port)
        stored = [e[0] for e in parse_reply(c.call("XRANGE", "jobs", "-", "+"))]
        assert set(added) <= set(stored) and len(added) > 20
        assert len(delivered) == len(set(delivered))
        # the rest, then whatever is pending (the dead consumer's, and deliveries whose
        # reply the crash cut off): claimed and acknowledged
        while True:
            got = parse_reply(c.call("XREADGROUP", "GROUP", "g", "c1", "COUNT", "100",
                                     "STREAMS", "jobs", ">"))
            if not got:
                break
            ids = [e[0] for e in got[0][1]]
            assert not set(ids) & set(delivered)
            delivered.extend(ids)
            c.call("XACK", "jobs", "g", *ids)
            handled.extend(ids)
        cursor = b"0-0"
        while True:
            cursor, claimed, _ = parse_reply(c.call("XAUTOCLAIM", "jobs", "g", "c1", "0", cursor,
                                                    "COUNT", "50", "JUSTID"))
            if claimed:
                c.call("XACK", "jobs", "g", *claimed)
                handled.extend(claimed)
            if cursor == b"0-0":
                break
        assert parse_reply(c.call("XPENDING", "jobs", "g"))[0] == 0
        # (an XACK whose reply the crash cut off is applied but not counted here: every
        # entry was delivered, or claimed from the pending list, and none is pending)
        assert set(delivered) | set(handled) == set(stored) and set(handled) <= set(stored)
        c.close()
        assert server.stop() == 0
    finally:
        stop.set()
        server.kill()


def test_long_names_refused_before_any_write(pair):
    """LMDB's 511-byte keys bound group + consumer names: refused whole, nothing written."""
    p = pair.s
    p.call("XADD", "s", "1-0", "f", "v")
    assert p.call("XGROUP", "CREATE", "s", "g" * 600, "0").startswith(b"-ERR group and consumer names")
    assert p.call("XGROUP", "CREATE", "s", "g", "0") == b"+OK\r\n"
    assert p.call("XREADGROUP", "GROUP", "g", "c" * 600, "STREAMS", "s", ">").startswith(b"-ERR group")
    assert p.call("XCLAIM", "s", "g", "c" * 600, "0", "1-0").startswith(b"-ERR group")
    assert p.call("XGROUP", "CREATECONSUMER", "s", "g", "c" * 600).startswith(b"-ERR group")
    assert parse_reply(p.call("XPENDING", "s", "g"))[0] == 0
    assert parse_reply(p.call("XINFO", "CONSUMERS", "s", "g")) == []


@pytest.mark.parametrize("flush", ["FLUSHALL", "FLUSHDB"])
def test_flush_unblocks_xreadgroup(shardis_server, redis_server, flush):
    """A blocked XREADGROUP whose stream a FLUSHALL / FLUSHDB removes gets Redis' error."""
    import time as time_
    from tests.helpers import RawClient, encode_command
    out = {}
    for name, port in (("shardis", shardis_server.port), ("redis", redis_server.port)):
        a, b = RawClient(port), RawClient(port)
        got = [b.call("XGROUP", "CREATE", "fs", "g", "$", "MKSTREAM")]
        a.send_raw(encode_command(["XREADGROUP", "GROUP", "g", "c", "BLOCK", "3000", "STREAMS", "fs", ">"]))
        time_.sleep(0.3)
        got.append(b.call(flush))
        t = time_.monotonic()
        got.append(a.read_reply())
        got.append(time_.monotonic() - t < 1.5)
        out[name] = got
        a.close()
        b.close()
    assert out["shardis"] == out["redis"]


# ---------------------------------------------------------------- node bytes: Redis' listpacks

# Integer-looking strings: those that are an int64's canonical form are stored in
# Redis' listpacks as integers (of 7 to 64 bits); the others as strings.
INTS = ["0", "1", "-1", "123", "-5", "127", "128", "-4096", "4095", "4096", "-32768", "32767", "32768",
        "8388607", "-8388609", "2147483647", "-2147483648", "2147483648", "9223372036854775807",
        "-9223372036854775808", "9223372036854775808", "-0", "007", "1e3", "+1", "12a", "-"]
# string lengths where an encoding or a backlen changes size
EDGES = [0, 1, 62, 63, 64, 125, 126, 127, 600, 4094, 4095, 4096, 16377, 16378]
NODE_CONFIGS = [(100, 4096), (7, 300), (0, 0), (0, 500), (3, 0), (2, 1)]


def _lp_int_at(lp: bytes, pos: int) -> tuple[int, int]:
    """A listpack integer element at ``pos``: its value and the next element's position."""
    b = lp[pos]
    if b < 0x80:
        return b, pos + 2
    if b & 0xE0 == 0xC0:
        v = (b & 0x1F) << 8 | lp[pos + 1]
        return (v - 8192 if v >= 4096 else v), pos + 3
    n = {0xF1: 2, 0xF2: 3, 0xF3: 4, 0xF4: 8}[b]
    return int.from_bytes(lp[pos + 1:pos + 1 + n], "little", signed=True), pos + n + 2


def _redis_nodes(client, key: str) -> list[tuple[tuple[int, int], int, int, int]]:
    """redis-server's nodes of a stream, read from DUMP: master ID, listpack bytes (its
    header's total), count and deleted (its first two elements)."""
    import struct
    from shardis.rdb import read_length, read_string
    dump = parse_reply(client.call("DUMP", key))
    assert dump[0] == 19  # RDB_TYPE_STREAM_LISTPACKS_2
    n, _, pos = read_length(dump, 1)
    out = []
    for _ in range(n):
        k, pos = read_string(dump, pos)
        lp, pos = read_string(dump, pos)
        count, p = _lp_int_at(lp, 6)
        deleted, _ = _lp_int_at(lp, p)
        out.append((struct.unpack(">QQ", k), int.from_bytes(lp[:4], "little"), count, deleted))
    return out


class InProcess:
    """The stream family on a Keyspace of its own (no server), beside redis-server: every
    command runs on both, replies compared; ``nodes()`` are shardis' node records."""

    def __init__(self, tmp_path, redis_port: int) -> None:
        from shardis.commands import CommandTable
        from shardis.shardd import streams
        from shardis.shardd.storage import Keyspace, Store
        from tests.helpers import RawClient
        self.table = CommandTable()
        streams.register(self.table)
        self.store = Store(str(tmp_path / "lmdb"), "no", 1 << 28)
        self.txn = self.store.env.begin(write=True)
        self.ks = Keyspace(self.store, self.txn, int(time.time() * 1000))
        self.r = RawClient(redis_port)
        self.r.call("FLUSHALL")

    def config(self, entries: int, size: int) -> None:
        self.r.call("CONFIG", "SET", "stream-node-max-entries", str(entries),
                    "stream-node-max-bytes", str(size))
        self.store.stream_node_entries, self.store.stream_node_bytes = entries, size

    def check(self, *args) -> bytes:
        from tests.helpers import run_in_process
        got, want = run_in_process(self.table, self.ks, args), self.r.call(*args)
        assert got == want, f"{args!r}:\n  shardis: {got!r}\n  redis:   {want!r}"
        return got

    def nodes(self, key: str) -> list[tuple[tuple[int, int], int, int, int]]:
        from shardis.shardd import streams
        s = streams.load(self.ks, 0, key.encode())
        assert s is not None
        return [(m, n.size, n.live, n.total - n.live) for m, n in streams._nodes(self.ks, s)]

    def check_nodes(self, key: str = "s") -> None:
        assert self.nodes(key) == _redis_nodes(self.r, key)

    def close(self) -> None:
        self.config(100, 4096)
        self.r.call("FLUSHALL")
        self.r.close()
        self.txn.abort()
        self.store.close()


def _random_xadd(rng, ms: int) -> list[str]:
    """An XADD of 1-3 fields whose names repeat or change, values of edge lengths or
    integer-looking, at an ID that may be far from the one before (wide ID deltas)."""
    names = rng.choice([["f"], ["f", "g"], ["123", "x"], ["a", "b", "c"], None])
    if names is None:
        names = [rng.choice(INTS + ["n", "m"]) for _ in range(rng.randrange(1, 4))]
    args = ["XADD", "s", f"{ms}-{rng.choice([0, 0, 1, 200, 70000])}"]
    for f in names:
        v = rng.choice(INTS) if rng.random() < 0.4 else "x" * rng.choice(EDGES[:-2] * 20 + EDGES[-2:])
        args += [f, v]
    return args


@pytest.mark.parametrize("cfg", NODE_CONFIGS)
def test_node_bytes_are_redis_listpacks_unit(redis_server, tmp_path, cfg):
    """Every node record's bytes, count and deleted equal those of the listpack
    redis-server holds (read from DUMP), through XADD (entry sizes at every encoding
    edge, integer-looking names and values, the master's names or others, wide ID
    deltas), XDEL and exact and approximate trimming."""
    import random
    rng = random.Random(sum(cfg))
    p = InProcess(tmp_path, redis_server.port)
    try:
        p.config(*cfg)
        ms = 1
        for step in range(300):
            ms += rng.choice([1, 1, 1, 100, 5000, 70000, 10 ** 7, 2 ** 40])
            p.check(*_random_xadd(rng, ms))
            r = rng.random()
            if r < 0.1:
                p.check("XDEL", "s", f"{ms - rng.choice([0, 1, 100, 5000])}-0", f"{ms}-1")
            elif r < 0.12:
                p.check("XTRIM", "s", "MAXLEN", rng.choice(["=", "~"]), str(rng.randrange(20, 200)))
            elif r < 0.14:
                p.check("XTRIM", "s", "MINID", rng.choice(["=", "~"]), str(ms - rng.randrange(0, 10 ** 6)))
            if r < 0.14 or step % 50 == 0:
                p.check_nodes()
        p.check_nodes()
        p.check("XINFO", "STREAM", "s")
    finally:
        p.close()


def test_node_counters_past_7_bits_unit(redis_server, tmp_path):
    """One node of hundreds of entries (no limits): count and deleted pass 127 and 4095
    (their integers grow) and come back under them (they shrink)."""
    p = InProcess(tmp_path, redis_server.port)
    try:
        p.config(0, 0)
        for i in range(1, 4200):
            p.check("XADD", "s", f"{i}-0", "f", str(i))
        p.check_nodes()
        p.check("XDEL", "s", *[f"{i}-0" for i in range(1, 4100)])
        p.check_nodes()
        p.check("XTRIM", "s", "MAXLEN", "=", "50")
        p.check_nodes()
        p.config(5, 0)
        p.check("XADD", "s", "5000-0", "f", "v")
        p.check_nodes()
    finally:
        p.close()


def test_old_node_records_are_read_and_rebuilt_unit(redis_server, tmp_path):
    """Node records an older shardis wrote (live, total, estimated bytes: 24 bytes) still
    read: trimming and XINFO use them, and the first XADD to the tail node rebuilds its
    record exactly (master fields, bytes) from its entries."""
    from shardis.shardd import streams
    from shardis.shardd.disk import stream as sd
    p = InProcess(tmp_path, redis_server.port)
    try:
        for i in range(1, 251):
            p.check("XADD", "s", f"{i}-0", *(["f", "x" * (i % 30)] if i % 7 else ["g", str(i), "h", "1"]))
        s = streams.load(p.ks, 0, b"s")
        assert s is not None
        for m, n in list(streams._nodes(p.ks, s)):  # as the estimate format stored them
            p.ks.mput(s.c, sd.node_key(m), sd.NODE_OLD.pack(n.live, n.total, 7 + 9 * n.total), index=True)
        p.check("XINFO", "STREAM", "s")
        p.check("XDEL", "s", "3-0", "248-0")
        p.check("XTRIM", "s", "MINID", "~", "40")
        p.check("XTRIM", "s", "MAXLEN", "=", "200")
        old = p.nodes("s")
        assert old[-1][2] < 99  # (the tail has room: the next XADD goes to it)
        for i in range(251, 400):
            p.check("XADD", "s", f"{i}-0", "f", "y" * (i % 300))
        mine, theirs = p.nodes("s"), _redis_nodes(p.r, "s")
        assert [n[0] for n in mine] == [n[0] for n in theirs]
        assert [n[2:] for n in mine] == [n[2:] for n in theirs]
        # the untouched old records keep their estimate; the rebuilt tail (it lost 248-0,
        # counted at its entries' mean size) and the nodes after it are exact
        assert mine[:len(old) - 1] == old[:-1]
        assert mine[len(old):] == theirs[len(old):]
        records = [v for _, v in p.ks.mrange(s.c, sd.NODE_TAG, b"o", index=True)]
        assert [len(v) == sd.NODE_OLD.size for v in records] == [True] * (len(old) - 1) + \
            [False] * (len(records) - len(old) + 1)
        p.check("XTRIM", "s", "MAXLEN", "~", "100")
        p.check("XINFO", "STREAM", "s", "FULL")
    finally:
        p.close()


def _node_configs(pair, entries: int, size: int) -> None:
    pair.check("CONFIG", "SET", "stream-node-max-entries", str(entries), "stream-node-max-bytes", str(size))


def _check_stream(pair, key: str = "s") -> None:
    for args in [("XLEN", key), ("XINFO", "STREAM", key), ("XINFO", "STREAM", key, "FULL", "COUNT", "3"),
                 ("XRANGE", key, "-", "+", "COUNT", "3"), ("XREVRANGE", key, "+", "-", "COUNT", "3")]:
        _compare(pair, args)


def test_node_bytes_any_entry_size(pair):
    """Entries of 1 to 600 bytes (and integer-looking values and names, the master's
    names or others): nodes end where Redis' listpacks pass stream-node-max-bytes, so
    XINFO's radix tree and ~ trimming (XADD and XTRIM, MAXLEN and MINID) are Redis'."""
    import random
    rng = random.Random(3)
    streams_ = {
        "sizes": [("f", "x" * n) for n in range(1, 601, 3)],
        "ints": [(rng.choice(INTS), rng.choice(INTS)) for _ in range(300)],
        "fields": [(rng.choice(["a", "b", "123"]), "v" * rng.randrange(0, 200)) for _ in range(300)],
    }
    for pairs in streams_.values():
        pair.check("DEL", "s")
        cmds = []
        for i, (f, v) in enumerate(pairs):
            more = ["k", v] if i % 5 == 0 else []
            cmds.append(("XADD", "s", f"{i + 1}-{i % 3}", f, v, *more))
        pair.check_pipeline(cmds)
        _check_stream(pair)
        _compare(pair, ("XDEL", "s", "40-1", "41-2", "42-0"))
        _compare(pair, ("XADD", "s", "MAXLEN", "~", "250", "1000-0", "f", "x" * 400))
        _check_stream(pair)
        _compare(pair, ("XTRIM", "s", "MINID", "~", "120"))
        _check_stream(pair)
        _compare(pair, ("XTRIM", "s", "MAXLEN", "~", "60"))
        _compare(pair, ("XTRIM", "s", "MINID", "=", "280"))
        _check_stream(pair)


@pytest.mark.parametrize("cfg", [(100, 300), (5, 0), (0, 0), (0, 150), (3, 1)])
def test_node_bytes_configs(pair, cfg):
    """stream-node-max-bytes / -entries small and 0 (no limit) on both servers, XDEL in
    the middle of nodes, approximate and exact trims."""
    try:
        _node_configs(pair, *cfg)
        cmds = [("XADD", "s", f"{i}-0", "f" if i % 4 else "g", "x" * (i * 7 % 120),
                 *(["n", str(i)] if i % 3 else [])) for i in range(1, 200)]
        pair.check_pipeline(cmds)
        _check_stream(pair)
        _compare(pair, ("XDEL", "s", *[f"{i}-0" for i in range(50, 200, 4)]))
        _check_stream(pair)
        _compare(pair, ("XADD", "s", "MAXLEN", "~", "100", "300-0", "f", "v"))
        _compare(pair, ("XTRIM", "s", "MINID", "~", "150"))
        _check_stream(pair)
        _compare(pair, ("XTRIM", "s", "MAXLEN", "=", "20"))
        _compare(pair, ("XADD", "s", "MAXLEN", "~", "5", "301-0", "f", "v"))
        _check_stream(pair)
    finally:
        _node_configs(pair, 100, 4096)


def test_minid_judges_a_node_by_its_last_entry_even_deleted(pair):
    """MINID looks at a node's last entry as Redis' listpack holds it, XDELed or not: the
    node stays while that entry's ID is not below MINID (~ and =), emptied by = or not."""
    try:
        _node_configs(pair, 4, 0)
        pair.check_pipeline([("XADD", "s", f"{i}-0", "f", "v") for i in range(1, 13)])
        for args in [("XDEL", "s", "4-0", "8-0"), ("XTRIM", "s", "MINID", "~", "4"), ("XLEN", "s"),
                     ("XTRIM", "s", "MINID", "~", "5"), ("XINFO", "STREAM", "s"),
                     ("XTRIM", "s", "MINID", "=", "8"), ("XINFO", "STREAM", "s"),
                     ("XTRIM", "s", "MINID", "~", "9"), ("XINFO", "STREAM", "s"),
                     ("XADD", "s", "20-0", "f", "v"), ("XDEL", "s", "12-0", "11-0"),
                     ("XTRIM", "s", "MAXLEN", "~", "1"), ("XINFO", "STREAM", "s", "FULL")]:
            _compare(pair, args)
    finally:
        _node_configs(pair, 100, 4096)


_value = st.one_of(st.sampled_from(INTS), st.integers(-2 ** 64, 2 ** 64).map(str),
                   st.integers(0, 600).map(lambda n: "x" * n), st.binary(max_size=80))
_entry = st.tuples(st.integers(0, 3), st.integers(0, 2 ** 33), st.integers(0, 3),
                   st.lists(st.tuples(st.sampled_from(["f", "g", "12", "-7", "9223372036854775807"]), _value),
                            min_size=1, max_size=3))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(cfg=st.sampled_from([(100, 4096), (10, 400), (0, 0), (0, 300), (3, 0), (100, 150)]),
       adds=st.lists(_entry, min_size=1, max_size=120),
       dels=st.lists(st.integers(0, 119), max_size=10),
       trim=st.tuples(st.sampled_from(["MAXLEN", "MINID"]), st.integers(0, 130)))
def test_hypothesis_xadd_then_approximate_trim(pair, cfg, adds, dels, trim):
    """Random XADD sequences (entry sizes, integer-looking values, same or other field
    names, ID gaps), some XDELs, then XTRIM ~: XINFO STREAM and XRANGE as redis-server's."""
    try:
        _node_configs(pair, *cfg)
        pair.check("DEL", "s")
        ms, cmds, ids = 0, [], []
        for same, gap, seq, fv in adds:
            names = ["f"] if same else [f for f, _ in fv]
            ms += gap if gap % 5 else 1
            ids.append(f"{ms}-{seq}")
            args: list = ["XADD", "s", ids[-1]]
            for f, (_, v) in zip(names, fv):
                args += [f, v]
            cmds.append(tuple(args))
        pair.check_pipeline(cmds)
        if dels:
            pair.check("XDEL", "s", *[ids[i % len(ids)] for i in dels])
        strategy, n = trim
        arg = str(n) if strategy == "MAXLEN" else ids[n % len(ids)]
        _compare(pair, ("XTRIM", "s", strategy, "~", arg))
        _compare(pair, ("XINFO", "STREAM", "s"))
        _compare(pair, ("XRANGE", "s", "-", "+"))
        _compare(pair, ("XTRIM", "s", strategy, "~", "0" if strategy == "MAXLEN" else ids[-1]))
        _compare(pair, ("XINFO", "STREAM", "s", "FULL", "COUNT", "2"))
    finally:
        _node_configs(pair, 100, 4096)
