"""OBJECT and MEMORY against redis-server (MEMORY USAGE's byte counts differ by design)."""

from __future__ import annotations

import pytest

from tests.helpers import parse_reply

VALUES = ["123", "0", "9999", "10000", "-5", "0123", "12345678901234567890",
          "9223372036854775807", "9223372036854775808", "a" * 44, "a" * 45, " 12", "1.5", ""]


@pytest.mark.parametrize("value", VALUES)
def test_object_encoding_and_refcount(pair, value):
    pair.check("SET", "k", value)
    pair.check("OBJECT", "ENCODING", "k")
    pair.check("OBJECT", "REFCOUNT", "k")
    pair.check("INCR", "n")
    pair.check("OBJECT", "encoding", "n")


@pytest.mark.parametrize("args", [
    ("OBJECT",), ("OBJECT", "ENCODING"), ("OBJECT", "ENCODING", "nokey"),
    ("OBJECT", "REFCOUNT", "nokey"), ("OBJECT", "FREQ", "nokey"), ("OBJECT", "FREQ", "k"),
    ("OBJECT", "foo", "k"), ("OBJECT", "ENCODING", "k", "extra"), ("OBJECT", "HELP", "x"),
    ("MEMORY",), ("MEMORY", "foo"), ("MEMORY", "USAGE", "nokey"), ("MEMORY", "USAGE", "k", "samples"),
    ("MEMORY", "USAGE", "k", "samples", "abc"), ("MEMORY", "USAGE", "k", "samples", "-1"),
    ("MEMORY", "USAGE", "k", "foo", "1"), ("MEMORY", "USAGE"),
], ids=lambda a: " ".join(a) or "-")
def test_object_and_memory_errors(pair, args):
    pair.check("SET", "k", "v")
    pair.check(*args)


def test_memory_usage_is_a_size(pair):
    for key in ("short", "long"):
        pair.check("SET", key, "x" * (3 if key == "short" else 5000))
    short, long_ = (parse_reply(pair.s.call("MEMORY", "USAGE", k, "SAMPLES", "0")) for k in ("short", "long"))
    assert 0 < short < long_ and long_ >= 5000
    got, want = pair.both("MEMORY", "USAGE", "short")
    assert got[:1] == want[:1] == b":"


def test_memory_usage_of_a_collection_counts_its_members(pair):
    """Estimated from a few members times the count, as Redis samples: it grows with the
    collection (redis-cli --memkeys reads it)."""
    pair.check("RPUSH", "small", "a", "b")
    pair.check("RPUSH", "big", *["element-%d" % i for i in range(2000)])
    small, big = (parse_reply(pair.s.call("MEMORY", "USAGE", k)) for k in ("small", "big"))
    assert 0 < small < big and big > 2000 * 10
