"""Glob patterns: shardis/glob.py against redis-server's stringmatchlen, and patterns
built to make a backtracking matcher run for ever, everywhere a pattern is taken."""

from __future__ import annotations

import random
import threading
import time

import pytest
import redis

from shardis.glob import stringmatch
from tests.helpers import RawClient, parse_reply

# Bytes that mean something to the matcher, letters of both cases, signed-char bytes.
PATTERN_BYTES = [b"a", b"b", b"*", b"?", b"[", b"]", b"^", b"-", b"\\", b"\x80", b"\xff", b"A"]
KEY_BYTES = [b"a", b"b", b"A", b"]", b"-", b"\\", b"\x80", b"\xff", b"^", b"*"]
# 63 a's and a pattern that backtracks exponentially without Redis' cut-off.
LONG_KEY = b"a" * 63
EVIL = b"a*" * 32 + b"b"


def test_random_patterns_agree_with_redis(ref):
    """KEYS on redis-server is stringmatchlen over its keys: thousands of random patterns."""
    rnd = random.Random(7)
    keys = set()
    while len(keys) < 300:
        keys.add(b"".join(rnd.choice(KEY_BYTES) for _ in range(rnd.randint(1, 6))))
    ref.mset({k: 1 for k in keys})
    for _ in range(2000):
        p = b"".join(rnd.choice(PATTERN_BYTES) for _ in range(rnd.randint(1, 8)))
        want = set(ref.keys(p))
        got = keys if p == b"*" else {k for k in keys if stringmatch(p)(k)}
        assert got == want, p


def test_nocase_patterns_agree_with_redis(redis_server):
    """COMMAND LIST FILTERBY PATTERN matches without case (stringmatchlen's nocase)."""
    ref = RawClient(redis_server.port)
    names = parse_reply(ref.call("COMMAND", "LIST"))
    rnd = random.Random(11)
    alphabet = [b"s", b"E", b"t", b"*", b"?", b"[", b"]", b"-", b"^", b"Z", b"|", b"x", b"\\"]
    for _ in range(400):
        p = b"".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 6)))
        want = set(parse_reply(ref.call("COMMAND", "LIST", "FILTERBY", "PATTERN", p)))
        got = {n for n in names if stringmatch(p, True)(n)}
        assert got == want, p
    ref.close()


@pytest.mark.parametrize("stars", [999, 1000, 1001, 1002])
@pytest.mark.parametrize("tail", [b"", b"a", b"*"])
def test_nesting_limit_as_redis(ref, stars, tail):
    """Past 1000 nested '*', stringmatchlen gives up: only '*' may follow."""
    pattern = b"a*" * stars + tail
    key = b"a" * (stars + 5)
    ref.set(key, 1)
    assert stringmatch(pattern)(key) is (key in ref.keys(pattern))


def test_exponential_pattern_is_instant():
    t = time.monotonic()
    assert stringmatch(EVIL)(LONG_KEY) is False
    assert stringmatch(b"*a" * 500 + b"b")(b"a" * 5000) is False
    assert time.monotonic() - t < 5  # (a guard against hanging, not a timing figure)


def _with_deadline(fn, seconds: float = 20.0):
    """Run ``fn`` in a thread; fail (instead of hanging the suite) if it does not end."""
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the command did not finish"
    return out[0]


def test_evil_pattern_everywhere(pair, shardis_server):
    """KEYS, SCAN, HSCAN, SSCAN, CONFIG GET, COMMAND LIST, PUBSUB CHANNELS and PSUBSCRIBE
    with the pattern answer at once, as Redis does, and other clients are served."""
    pair.check("SET", LONG_KEY, "1")
    pair.check("HSET", "h", LONG_KEY, "1")
    pair.check("SADD", "s", LONG_KEY)

    def run():
        pair.check("KEYS", EVIL)
        pair.check("SCAN", "0", "MATCH", EVIL, "COUNT", "100000")
        pair.check("HSCAN", "h", "0", "MATCH", EVIL)
        pair.check("SSCAN", "s", "0", "MATCH", EVIL)
        pair.check("CONFIG", "GET", EVIL)
        pair.check("COMMAND", "LIST", "FILTERBY", "PATTERN", EVIL)
        pair.check("PUBSUB", "CHANNELS", EVIL)
        return True

    assert _with_deadline(run)
    c = redis.Redis(port=shardis_server.port, socket_timeout=10)
    assert c.set("other", "x") and c.get("other") == b"x"
    c.close()


def test_evil_psubscribe(shardis_server):
    """A pattern subscription with the pattern: PUBLISH still answers, nothing matches."""
    sub = RawClient(shardis_server.port)
    pub = RawClient(shardis_server.port)
    try:
        sub.call("PSUBSCRIBE", EVIL)
        assert _with_deadline(lambda: parse_reply(pub.call("PUBLISH", LONG_KEY, "m"))) == 0
        assert parse_reply(pub.call("PUBLISH", LONG_KEY[:3] + b"b", "m")) == 0
    finally:
        sub.close()
        pub.close()
