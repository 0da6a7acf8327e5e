"""Pub/sub: the same commands on shardis and redis-server 7.0 (replies, pushes, errors,
the subscribed-mode rules, RESP2 and RESP3), then what holds across two routers:
delivery, PUBLISH's count, order per publisher, the subscribe guarantee, redis-py's
PubSub, the output buffer limit, and a restart of the hub's process."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest
import redis

from shardis.args import stringmatch
from tests.helpers import Pair, RawClient, Shardis, encode_command, parse_reply
from tests.test_supervisor import argv_of, role_pids, wait_role

ROUTER_SPAN = 1_000_000_000  # CLIENT ID = router index * this + n


# ---------------------------------------------------------------- helpers


def replies(c: RawClient, n: int) -> list[bytes]:
    return [c.read_reply() for _ in range(n)]


def send_both(pair: Pair, *cmds: tuple) -> None:
    data = b"".join(encode_command(c) for c in cmds)
    pair.s.send_raw(data)
    pair.r.send_raw(data)


def check_n(pair: Pair, n: int, *args) -> list[bytes]:
    """Send one command to both; its ``n`` replies must be the same bytes, in order."""
    send_both(pair, args)
    got, want = replies(pair.s, n), replies(pair.r, n)
    assert got == want, f"{args!r}:\n  shardis: {got!r}\n  redis:   {want!r}"
    return got


def check_n_unordered(pair: Pair, n: int, *args) -> list[bytes]:
    """As ``check_n`` where Redis' order of the channels is a hash table's (UNSUBSCRIBE
    with no channel): the same kinds and counts in order, the same channels in any order."""
    send_both(pair, args)
    got, want = replies(pair.s, n), replies(pair.r, n)

    def shape(rs: list[bytes]):
        values = [parse_reply(r) for r in rs]
        return ([r[:1] for r in rs], [(v[0], v[2]) for v in values], sorted(v[1] for v in values))

    assert shape(got) == shape(want), f"{args!r}:\n  shardis: {got!r}\n  redis:   {want!r}"
    return got


def quiet(c: RawClient, wait: float = 0.2) -> bool:
    """True when nothing more arrives within ``wait`` seconds."""
    if c.buf:
        return False
    c.sock.settimeout(wait)
    try:
        data = c.sock.recv(1 << 16)
    except (socket.timeout, BlockingIOError):
        return True
    finally:
        c.sock.settimeout(10)
    c.buf += data
    return False


def router_of(c: RawClient) -> int:
    return int(parse_reply(c.call("CLIENT", "ID"))) // ROUTER_SPAN


def on_router(port: int, index: int, timeout: float = 20) -> RawClient:
    """A connection that landed on router ``index`` (SO_REUSEPORT spreads them by hash;
    a router that is still starting gets none)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c = RawClient(port)
        if router_of(c) == index:
            return c
        c.close()
    raise AssertionError(f"no connection landed on router {index} in {timeout}s")


def counted(c: RawClient, *args) -> int:
    return int(parse_reply(c.call(*args)))


def eventually(fn, timeout: float = 10.0, every: float = 0.05):
    """Retry ``fn`` until it returns a true value (or raise its last AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = fn()
            if v:
                return v
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"{fn} stayed false for {timeout}s")
        time.sleep(every)


# ---------------------------------------------------------------- stringmatch

# (pattern, string, Redis 7.0's stringmatchlen)
GLOB_CASES = [
    (b"*", b"", False), (b"", b"", True), (b"", b"a", False), (b"*", b"abc", True),
    (b"a*", b"a", True), (b"a*", b"ab", True), (b"a*", b"ba", False), (b"*a", b"ba", True),
    (b"a?c", b"abc", True), (b"a?c", b"ac", False), (b"?", b"", False), (b"**", b"x", True),
    (b"h[ae]llo", b"hello", True), (b"h[ae]llo", b"hillo", False),
    (b"h[^e]llo", b"hallo", True), (b"h[^e]llo", b"hello", False),
    (b"h[a-b]llo", b"hbllo", True), (b"h[b-a]llo", b"hallo", True), (b"h[a-b]llo", b"hcllo", False),
    (b"h\\*llo", b"h*llo", True), (b"h\\*llo", b"hello", False), (b"a\\", b"a\\", True),
    (b"[", b"[", False), (b"[a", b"a", True), (b"[a-]", b"]", True), (b"[\\]]", b"]", True),
    (b"[]", b"]", False), (b"a[bc", b"ab", True), (b"*[0-9]", b"news9", True),
    (b"news.*", b"news.tech", True), (b"news.*", b"newsXtech", False),
    (b"\xe9*", b"\xe9t\xe9", True), (b"[\x80-\xff]", b"\xc3", True),
]


@pytest.mark.parametrize("pattern,s,want", GLOB_CASES)
def test_stringmatch_table(pattern, s, want):
    assert stringmatch(pattern)(s) is want


def test_stringmatch_agrees_with_redis(redis_server):
    """PUBSUB CHANNELS <pattern> on redis-server is stringmatchlen over its channels."""
    channels = sorted({s for _, s, _ in GLOB_CASES} | {b"news.art", b"h?llo", b"a[b"})
    sub = RawClient(redis_server.port)
    ask = RawClient(redis_server.port)
    try:
        sub.send_raw(encode_command([b"SUBSCRIBE", *channels]))
        replies(sub, len(channels))
        for pattern in sorted({p for p, _, _ in GLOB_CASES} | {b"h?llo", b"a[[]b", b"*.*"}):
            want = set(parse_reply(ask.call("PUBSUB", "CHANNELS", pattern)))
            got = {c for c in channels if stringmatch(pattern)(c)}
            assert got == want, pattern
    finally:
        sub.close()
        ask.close()


# ---------------------------------------------------------------- against redis-server


@pytest.fixture
def pairs(shardis_server, redis_server):
    """Three raw connections to each server (subscribers and a publisher)."""
    ps = [Pair(shardis_server.port, redis_server.port) for _ in range(3)]
    yield ps
    for p in ps:
        p.close()


def test_subscribe_replies_match_redis(pair):
    for args, n in [(("UNSUBSCRIBE",), 1), (("PUNSUBSCRIBE",), 1), (("SUNSUBSCRIBE",), 1),
                    (("SUBSCRIBE", "a", "b", "a"), 3), (("PSUBSCRIBE", "z*", "a*", "m*", "a*"), 4),
                    (("SSUBSCRIBE", "s1", "s2"), 2), (("SUBSCRIBE", ""), 1),
                    (("UNSUBSCRIBE", "nope", "a"), 2), (("PUNSUBSCRIBE", "nope", "a*"), 2),
                    (("PUNSUBSCRIBE",), 2), (("SUNSUBSCRIBE", "s2"), 1), (("SUNSUBSCRIBE",), 1),
                    (("SUBSCRIBE",), 1), (("PSUBSCRIBE",), 1), (("SSUBSCRIBE",), 1)]:
        check_n(pair, n, *args)
    check_n_unordered(pair, 2, "UNSUBSCRIBE")
    check_n(pair, 1, "UNSUBSCRIBE")
    pair.check("GET", "x")  # out of subscribed mode again


def test_subscribed_mode_rules_resp2(pair):
    check_n(pair, 1, "SUBSCRIBE", "q")
    for args in [("GET", "x"), ("CLIENT", "ID"), ("CLIENT", "FOO"), ("CLIENT",), ("PING",),
                 ("PING", "x"), ("PING", "x", "y"), ("HELLO", "3"), ("NOSUCH",), ("GET",),
                 ("PUBLISH", "q", "m"), ("PUBSUB", "NUMPAT"), ("PUBSUB", "FOO"),
                 ("COMMAND",), ("CONFIG", "GET", "x"), ("SET", "k", "v")]:
        pair.check(*args)
    check_n(pair, 1, "UNSUBSCRIBE", "q")
    pair.check("GET", "x")
    pair.check("PING")


def test_subscribed_mode_follows_a_pipeline(pair):
    """Mode changes take effect at the command that makes them, within one read."""
    cmds = [("SUBSCRIBE", "q"), ("GET", "x"), ("PING",), ("PSUBSCRIBE", "p*"), ("ECHO", "e"),
            ("UNSUBSCRIBE", "q"), ("GET", "x"), ("PUNSUBSCRIBE",), ("GET", "x"), ("PING",)]
    send_both(pair, *cmds)
    assert replies(pair.s, 10) == replies(pair.r, 10)


def test_reset_and_quit_while_subscribed(pair):
    check_n(pair, 3, "SUBSCRIBE", "a", "b", "c")
    check_n(pair, 1, "SSUBSCRIBE", "s")
    pair.check("RESET")
    pair.check("GET", "x")
    pair.check("PUBSUB", "NUMSUB", "a", "s")
    pair.check("PUBSUB", "SHARDNUMSUB", "s")
    check_n(pair, 1, "PSUBSCRIBE", "x*")
    pair.check("QUIT")


def test_resp3_subscriber_runs_anything(pair3):
    check_n(pair3, 1, "SUBSCRIBE", "me")
    pair3.check("SET", "k", "v")
    pair3.check("GET", "k")
    pair3.check("PING")
    check_n(pair3, 2, "PUBLISH", "me", "hi")  # the message, then PUBLISH's count
    check_n(pair3, 2, "PSUBSCRIBE", "m*", "x*")
    check_n(pair3, 3, "PUBLISH", "me", "again")
    pair3.check("PUBSUB", "NUMSUB", "me")
    check_n(pair3, 1, "UNSUBSCRIBE")
    check_n(pair3, 2, "PUNSUBSCRIBE")
    check_n(pair3, 1, "UNSUBSCRIBE")
    pair3.check("GET", "k")


def test_resp3_to_resp2_while_subscribed(pair3):
    """HELLO 2 while subscribed: RESP2's rules apply from the next command."""
    check_n(pair3, 1, "SUBSCRIBE", "q")
    pair3.both("HELLO", "2")
    pair3.check("GET", "x")
    pair3.check("PING")
    check_n(pair3, 1, "UNSUBSCRIBE")
    pair3.check("GET", "x")


@pytest.mark.parametrize("protocol", [2, 3])
def test_messages_and_counts_match_redis(pairs, protocol):
    sub, psub, pub = pairs
    for p in (sub, psub):
        if protocol == 3:
            p.both("HELLO", "3")
    check_n(sub, 2, "SUBSCRIBE", "news", "")
    check_n(sub, 1, "SSUBSCRIBE", "news")
    check_n(psub, 1, "PSUBSCRIBE", "n*")
    check_n(psub, 1, "SUBSCRIBE", "news")
    for channel, n_sub, n_psub in [("news", 1, 2), ("nope", 0, 1), ("", 1, 0), ("other", 0, 0)]:
        pub.check("PUBLISH", channel, "m-" + channel)
        assert replies(sub.s, n_sub) == replies(sub.r, n_sub)
        assert sorted(replies(psub.s, n_psub)) == sorted(replies(psub.r, n_psub))
    pub.check("SPUBLISH", "news", "shard")
    pub.check("SPUBLISH", "nope", "shard")
    assert sub.s.read_reply() == sub.r.read_reply()
    assert quiet(sub.s) and quiet(psub.s)


def test_pubsub_subcommands_match_redis(pairs):
    sub, psub, ask = pairs
    check_n(sub, 3, "SUBSCRIBE", "a", "b", "news.x")
    check_n(sub, 2, "SSUBSCRIBE", "s1", "s2")
    check_n(psub, 2, "PSUBSCRIBE", "a*", "b*")
    check_n(psub, 1, "SUBSCRIBE", "a")
    ask.check("PUBSUB", "NUMSUB", "a", "b", "c", "a")
    ask.check("PUBSUB", "NUMSUB")
    ask.check("PUBSUB", "NUMPAT")
    ask.check("PUBSUB", "SHARDNUMSUB", "s1", "a")
    for args in [("PUBSUB", "CHANNELS"), ("PUBSUB", "CHANNELS", "*"), ("PUBSUB", "CHANNELS", "news.*"),
                 ("PUBSUB", "CHANNELS", "[ab]"), ("PUBSUB", "CHANNELS", "zz*"),
                 ("PUBSUB", "SHARDCHANNELS"), ("PUBSUB", "SHARDCHANNELS", "s[2]")]:
        ask.check_unordered(*args)
    for args in [("PUBSUB",), ("PUBSUB", "FOO"), ("PUBSUB", "NUMPAT", "x"),
                 ("PUBSUB", "CHANNELS", "a", "b"), ("PUBSUB", "shardChannels", "a", "b"),
                 ("PUBSUB", "HELP"), ("PUBSUB", "HELP", "x"), ("PUBLISH", "a"),
                 ("SPUBLISH", "a", "b", "c"), ("COMMAND", "INFO", "ssubscribe"),
                 ("COMMAND", "GETKEYS", "SSUBSCRIBE", "a", "b")]:
        ask.check(*args)
    check_n_unordered(sub, 3, "UNSUBSCRIBE")
    ask.check("PUBSUB", "NUMSUB", "a", "b")
    ask.check_unordered("PUBSUB", "CHANNELS")


def test_pubsub_channels_patterns_match_redis(pairs):
    """PUBSUB CHANNELS' matching is the one PSUBSCRIBE uses: both agree with Redis."""
    sub, psub, pub = pairs
    channels = sorted({s for _, s, _ in GLOB_CASES if s} | {b"h?llo"})
    check_n(sub, len(channels), "SUBSCRIBE", *channels)
    for pattern in [b"*", b"h[ae]llo", b"h\\*llo", b"[a-b]*", b"*[0-9]", b"?", b"h[^e]llo"]:
        pub.check_unordered("PUBSUB", "CHANNELS", pattern)
        check_n(psub, 1, "PSUBSCRIBE", pattern)
        for channel in channels:
            n = counted(pub.s, "PUBLISH", channel, "x")
            assert n == counted(pub.r, "PUBLISH", channel, "x"), (pattern, channel)
            assert replies(psub.s, n - 1) == replies(psub.r, n - 1)
            assert sub.s.read_reply() == sub.r.read_reply()
        check_n(psub, 1, "PUNSUBSCRIBE")


def test_client_list_shows_subscriptions(pair, shardis_server):
    check_n(pair, 2, "SUBSCRIBE", "a", "b")
    check_n(pair, 1, "PSUBSCRIBE", "p*")
    check_n(pair, 1, "SSUBSCRIBE", "s")
    other = RawClient(shardis_server.port)
    try:
        text = parse_reply(other.call("CLIENT", "LIST", "TYPE", "pubsub"))
        lines = [dict(f.split(b"=", 1) for f in line.split(b" "))
                 for line in text.split(b"\n") if line]
        assert any((f[b"flags"], f[b"sub"], f[b"psub"], f[b"ssub"]) == (b"P", b"2", b"1", b"1")
                   for f in lines), text
        assert b"flags=P" not in parse_reply(other.call("CLIENT", "INFO"))
        assert parse_reply(other.call("CLIENT", "KILL", "TYPE", "pubsub")) >= 1
        assert parse_reply(other.call("PUBSUB", "NUMSUB", "a")) == [b"a", 0]
    finally:
        other.close()


def test_info_stats_counts_channels(pairs):
    sub, psub, ask = pairs
    check_n(sub, 2, "SUBSCRIBE", "a", "b")
    check_n(sub, 1, "SSUBSCRIBE", "s")
    check_n(psub, 2, "PSUBSCRIBE", "a*", "b*")
    check_n(psub, 1, "PSUBSCRIBE", "a*")
    for s in (ask.s, ask.r):
        text = parse_reply(s.call("INFO", "stats")).decode()
        stats = dict(line.split(":", 1) for line in text.split("\r\n")[1:] if line)
        assert (stats["pubsub_channels"], stats["pubsub_patterns"],
                stats["pubsubshard_channels"]) == ("2", "2", "1")


def test_config_client_output_buffer_limit_matches_redis(pair):
    try:
        for value in ["pubsub 32mb 8mb 60", "pubsub 1mb 512kb 1", "PUBSUB 1 2 3", "pubsub 0 0 0",
                      "pubsub 1 2", "foo 1 2 3", "master 1 2 3", "pubsub x 1 1", "pubsub 1 1 x",
                      "pubsub -1 1 1", "pubsub 1 1 -1", "pubsub 1k 1 1.5", "pubsub  1 2 3", "",
                      "pubsub 1 2 +3", "pubsub 1 2 ", "pubsub 1K 2Gb 0", "pubsub 1 2 4294967297",
                      "pubsub 10 20 30 pubsub 1 2 3", "normal 0 0 0 pubsub 4 5 6",
                      "replica 268435456 67108864 60", "pubsub 18446744073709551616 1 1",
                      "pubsub 17179869184gb 1 1", "pubsub 1 2 99999999999999999999"]:
            pair.check("CONFIG", "SET", "client-output-buffer-limit", value)
            pair.check("CONFIG", "GET", "client-output-buffer-limit")
        pair.check("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1 2 3",
                   "client-output-buffer-limit", "pubsub 1 2 3")
        pair.check("CONFIG", "GET", "client-output-buffer*")
        # The classes shardis does not apply (normal, replica) are kept and shown.
        pair.check("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 3 replica 4 5 6")
        pair.check("CONFIG", "GET", "client-output-buffer-limit")
    finally:
        pair.both("CONFIG", "SET", "client-output-buffer-limit",
                  "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60")


# ---------------------------------------------------------------- two routers


@pytest.fixture(scope="module")
def cluster2(tmp_path_factory):
    """Two routers on one port, two shards: the hub joins them."""
    c = Shardis(str(tmp_path_factory.mktemp("pubsub2") / "data"), shards=2, routers=2).start()
    for index in (0, 1):  # both listen (start() waits for one)
        on_router(c.port, index).close()
    yield c
    code = c.stop()
    assert code == 0, "shardis-server did not stop cleanly:\n" + c.log()[-3000:]


@pytest.fixture
def conns(cluster2):
    """``conns(router)``: a new raw connection on that router, closed after the test."""
    made: list[RawClient] = []

    def make(index: int) -> RawClient:
        c = on_router(cluster2.port, index)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def subscribe(c: RawClient, word: str, *names) -> None:
    c.send_raw(encode_command([word, *names]))
    replies(c, len(names))


def test_delivery_and_counts_across_routers(conns):
    subs = [conns(0), conns(1)]
    psubs = [conns(0), conns(1)]
    ssubs = [conns(0), conns(1)]
    pubs = [conns(0), conns(1)]
    for c in subs:
        subscribe(c, "SUBSCRIBE", "x.news")
    for c in psubs:
        subscribe(c, "PSUBSCRIBE", "x.*")
    for c in ssubs:
        subscribe(c, "SSUBSCRIBE", "x.news")
    for pub in pubs:
        assert parse_reply(pub.call("PUBSUB", "NUMSUB", "x.news")) == [b"x.news", 2]
        assert parse_reply(pub.call("PUBSUB", "SHARDNUMSUB", "x.news")) == [b"x.news", 2]
        assert counted(pub, "PUBSUB", "NUMPAT") >= 1
    for i, pub in enumerate(pubs):
        assert counted(pub, "PUBLISH", "x.news", f"m{i}") == 4
        assert counted(pub, "PUBLISH", "x.other", f"o{i}") == 2
        assert counted(pub, "SPUBLISH", "x.news", f"s{i}") == 2
        for c in subs:
            assert parse_reply(c.read_reply()) == [b"message", b"x.news", b"m%d" % i]
        for c in psubs:
            assert parse_reply(c.read_reply()) == [b"pmessage", b"x.*", b"x.news", b"m%d" % i]
            assert parse_reply(c.read_reply()) == [b"pmessage", b"x.*", b"x.other", b"o%d" % i]
        for c in ssubs:
            assert parse_reply(c.read_reply()) == [b"smessage", b"x.news", b"s%d" % i]
    subs[1].close()
    assert eventually(lambda: counted(pubs[0], "PUBLISH", "x.news", "late") == 3)


def test_order_per_publisher_across_routers(conns):
    """Each publisher's messages reach every subscriber, on either router, in its order."""
    subs = [conns(0), conns(1), conns(0), conns(1)]
    for c in subs[:2]:
        subscribe(c, "SUBSCRIBE", "seq")
    for c in subs[2:]:
        subscribe(c, "PSUBSCRIBE", "se?")
    pubs = [conns(0), conns(1)]
    n = 2000
    for i, pub in enumerate(pubs):
        pub.send_raw(b"".join(encode_command(["PUBLISH", "seq", f"{i}:{k}"]) for k in range(n)))
    for pub in pubs:
        assert replies(pub, n) == [b":4\r\n"] * n
    for c in subs:
        last = {0: -1, 1: -1}
        for _ in range(2 * n):
            msg = parse_reply(c.read_reply())[-1]
            who, k = map(int, msg.split(b":"))
            assert k == last[who] + 1, f"publisher {who}: {k} after {last[who]}"
            last[who] = k
        assert last == {0: n - 1, 1: n - 1}


def test_confirmed_subscription_receives_from_any_router(conns):
    """Once SUBSCRIBE's reply is read, a PUBLISH from the other router reaches it."""
    pubs = {0: conns(0), 1: conns(1)}
    for k in range(100):
        index = k % 2
        sub = conns(index)
        channel = f"fresh-{k}"
        kind = ("SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE")[k % 3]
        subscribe(sub, kind, channel)
        publish = "SPUBLISH" if kind == "SSUBSCRIBE" else "PUBLISH"
        assert counted(pubs[1 - index], publish, channel, "hi") == 1, (kind, channel)
        assert parse_reply(sub.read_reply())[-1] == b"hi"
        sub.close()


def test_resp3_publisher_reads_its_own_message_first(conns):
    c = conns(1)
    c.call("HELLO", "3")
    subscribe(c, "SUBSCRIBE", "self")
    c.send_raw(encode_command(["PUBLISH", "self", "1"]) + encode_command(["GET", "k"]) +
               encode_command(["PUBLISH", "self", "2"]))
    assert replies(c, 5) == [b">3\r\n$7\r\nmessage\r\n$4\r\nself\r\n$1\r\n1\r\n", b":1\r\n",
                             b"_\r\n", b">3\r\n$7\r\nmessage\r\n$4\r\nself\r\n$1\r\n2\r\n",
                             b":1\r\n"]


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_pubsub_many_subscribers(cluster2, protocol):
    """redis-py's PubSub: get_message, listen and pattern handlers, 16 subscribers
    spread over both routers, publishers on both."""
    r = redis.Redis(port=cluster2.port, protocol=protocol)
    got: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def handler(i):
        def on_message(msg):
            with lock:
                got.append((i, msg["data"]))
        return on_message

    subs = []
    for i in range(16):
        p = r.pubsub()
        if i % 2:
            p.psubscribe(**{"py.*": handler(i)})
        else:
            p.subscribe("py.chan")
        subs.append(p)
    for p in subs:
        kind = p.get_message(timeout=5)["type"]
        assert kind in ("subscribe", "psubscribe")
    for i in (0, 1):
        c = on_router(cluster2.port, i)
        assert b"flags=P" in parse_reply(c.call("CLIENT", "LIST", "TYPE", "pubsub")), \
            f"no subscriber landed on router {i}"
        c.close()
    pubs = [redis.Redis(connection_pool=redis.ConnectionPool(port=cluster2.port)) for _ in range(4)]
    eventually(lambda: pubs[0].pubsub_numsub("py.chan") == [(b"py.chan", 8)]
               and pubs[0].pubsub_numpat() == 1)  # every count has reached the hub
    total = 0
    for k, pub in enumerate(pubs):
        total += pub.publish("py.chan", f"m{k}")
    assert total == 16 * len(pubs)
    for i, p in enumerate(subs):
        if i % 2 == 0:
            data = [p.get_message(timeout=5)["data"] for _ in pubs]
            assert sorted(data) == sorted(f"m{k}".encode() for k in range(len(pubs)))
    deadline = time.monotonic() + 10
    while len(got) < 8 * len(pubs) and time.monotonic() < deadline:
        for i, p in enumerate(subs):
            if i % 2:
                p.get_message(timeout=0.01)  # runs the handler
    assert sorted(got) == sorted((i, f"m{k}".encode()) for i in range(1, 16, 2)
                                 for k in range(len(pubs)))
    listener = subs[0]
    pubs[0].publish("py.chan", "stop")
    for msg in listener.listen():
        if msg["type"] == "message":
            assert msg["data"] == b"stop"
            break
    for p in subs:
        p.close()
    for pub in pubs:
        pub.close()
    r.close()


def test_config_set_reaches_every_router(conns):
    a, b = conns(0), conns(1)
    try:
        assert a.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 4mb 2mb 7") == b"+OK\r\n"
        assert parse_reply(b.call("CONFIG", "GET", "client-output-buffer-limit"))[1].endswith(
            b"pubsub 4194304 2097152 7")
    finally:
        a.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")


@pytest.mark.parametrize("limit", ["pubsub 256kb 0 0", "pubsub 0 64kb 1"], ids=["hard", "soft"])
def test_slow_subscriber_is_disconnected(conns, cluster2, limit):
    pub = conns(0)
    assert pub.call("CONFIG", "SET", "client-output-buffer-limit", limit) == b"+OK\r\n"
    try:
        slow = conns(1)  # subscribes, then never reads again
        slow_id = int(parse_reply(slow.call("CLIENT", "ID")))
        subscribe(slow, "SUBSCRIBE", "flood")
        fast = conns(1)
        subscribe(fast, "SUBSCRIBE", "flood")
        # (The second subscriber on a router is confirmed at once; its count reaches the
        # hub in the same loop turn, which may come after the confirmation.)
        eventually(lambda: parse_reply(pub.call("PUBSUB", "NUMSUB", "flood")) == [b"flood", 2])
        payload = "x" * 16384
        deadline = time.monotonic() + 30
        while True:
            n = counted(pub, "PUBLISH", "flood", payload)
            assert fast.read_reply()  # a reader keeps up and stays
            if n == 1:
                break
            assert time.monotonic() < deadline, "the slow subscriber was never cut off"
            if limit.endswith(" 1"):
                time.sleep(0.01)
        assert parse_reply(pub.call("PUBSUB", "NUMSUB", "flood")) == [b"flood", 1]
        assert parse_reply(conns(1).call("CLIENT", "LIST", "ID", slow_id)) == b""  # gone
        assert f"client {slow_id} closed for overcoming of output buffer limits" in cluster2.log()
    finally:
        pub.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")


def test_subscribers_survive_a_coordinator_restart(conns, cluster2):
    subs = [conns(0), conns(1)]
    for c in subs:
        subscribe(c, "SUBSCRIBE", "survive")
        subscribe(c, "PSUBSCRIBE", "surv*")
    pub = conns(0)
    assert counted(pub, "PUBLISH", "survive", "before") == 4
    for c in subs:
        assert len(replies(c, 2)) == 2
    supervisor = cluster2.proc.pid
    [coordinator] = role_pids(supervisor, "shardis.coord")
    os.kill(coordinator, signal.SIGKILL)
    wait_role(supervisor, "shardis.coord", 1, exclude={coordinator})

    attempt = iter(range(1_000_000))
    last = b""

    def delivered() -> bool:
        nonlocal last
        last = b"after-%d" % next(attempt)
        return pub.call("PUBLISH", "survive", last) == b":4\r\n"

    eventually(delivered, timeout=20, every=0.1)
    # What was published while the hub was away may be lost; from the first PUBLISH
    # that counted every subscriber on, each arrives (message and pmessage).
    for c in subs:
        seen = 0
        while seen < 2:
            seen += parse_reply(c.read_reply())[-1] == last
    assert counted(pub, "PUBLISH", "survive", "last") == 4
    for c in subs:
        assert [parse_reply(m)[-1] for m in replies(c, 2)] == [b"last", b"last"]
    newcomer = conns(1)
    subscribe(newcomer, "SUBSCRIBE", "survive")
    # (The second subscriber on a router is confirmed at once; a PUBLISH from another
    # router may reach the hub before its count: see README, Pub/sub.)
    eventually(lambda: counted(pub, "PUBLISH", "survive", "new") == 5)


def test_a_restarted_router_drops_its_old_subscribers(conns, cluster2):
    """A router that dies takes its subscribers with it: once the supervisor has started
    it again (its HELLO), PUBLISH no longer counts them."""
    stay, gone = conns(0), conns(1)
    subscribe(stay, "SUBSCRIBE", "phoenix")
    subscribe(gone, "SUBSCRIBE", "phoenix")
    pub = conns(0)
    assert counted(pub, "PUBLISH", "phoenix", "x") == 2
    supervisor = cluster2.proc.pid
    [victim] = [p for p in role_pids(supervisor, "shardis.router") if argv_of(p)[-2:] == ["--index", "1"]]
    os.kill(victim, signal.SIGKILL)
    wait_role(supervisor, "shardis.router", 2, exclude={victim})
    on_router(cluster2.port, 1).close()  # it listens again, so it said HELLO to the hub
    assert eventually(lambda: counted(pub, "PUBLISH", "phoenix", "y") == 1)
