"""DEBUG DIGEST and DEBUG DIGEST-VALUE (shardd/digest.py, shardis/digest.py): the same
data on three shards gives redis-server's digest (one process: so the digest does not
depend on the shard count)."""

from __future__ import annotations

import pytest

from tests.helpers import RawClient, RedisServer, Shardis, encode_command, parse_reply

ZEROS = b"0" * 40


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """shardis on three shards and redis-server, DEBUG allowed on both."""
    three = Shardis(str(tmp_path_factory.mktemp("digest") / "data"), shards=3,
                    **{"enable-debug-command": "yes"}).start()
    ref = RedisServer(None, "--enable-debug-command", "yes").start()
    yield [three.port, ref.port]
    ref.stop()
    assert three.stop() == 0, three.log()[-3000:]


@pytest.fixture
def conns(servers):
    cs = [RawClient(port) for port in servers]
    for c in cs:
        c.call("FLUSHALL")
    yield cs
    for c in cs:
        c.close()


def dataset() -> list[tuple]:
    """Every type, compact and not (listpack / hashtable / skiplist / intset, a string past
    the shard's inline size), scores Redis prints in full, TTLs, two databases."""
    cmds: list[tuple] = [
        ("SET", "s", "hello"), ("SET", "n", "123"), ("SET", "neg", "-5"), ("SET", "empty", ""),
        ("SET", "big", "x" * 5000), ("SET", "ttl", "v", "EX", "1000"),
        ("RPUSH", "l", "a", "b", "1", "a"), ("SADD", "st", "x", "y", "5"), ("SADD", "si", "1", "2", "3"),
        ("ZADD", "z", "1.5", "a", "0.1", "b", "-inf", "c", "3", "d", "1e300", "e", "-0.3333", "f"),
        ("HSET", "h", "f", "v", "g", "1", "", "empty"), ("HSET", "hx", "f", "v"), ("PEXPIRE", "hx", "900000"),
        ("XADD", "x", "1-1", "f", "v", "g", "w"), ("XADD", "x", "2-5", "a", "b"),
        ("XGROUP", "CREATE", "x", "g", "0"),
        ("XADD", "xe", "1-1", "f", "v"), ("XDEL", "xe", "1-1"),
        ("SELECT", "2"), ("SET", "s", "in db 2"), ("SADD", "st", "q"), ("SELECT", "0"),
    ]
    for i in range(150):
        cmds += [("ZADD", "zbig", str(i * 0.37), f"m{i}"), ("HSET", "hbig", f"f{i}", "v" * (i % 70)),
                 ("RPUSH", "lbig", f"e{i}"), ("SADD", "sbig", f"m{i}"), ("SET", f"key:{i}", str(i))]
    return cmds


def digests(c: RawClient, keys: list[str]) -> tuple[bytes, list[bytes]]:
    return parse_reply(c.call("DEBUG", "DIGEST")), parse_reply(c.call("DEBUG", "DIGEST-VALUE", *keys))


def test_empty_dataset_digests_to_zeros(conns):
    for c in conns:
        assert c.call("DEBUG", "DIGEST") == b"+" + ZEROS + b"\r\n"
        assert c.call("DEBUG", "DIGEST-VALUE", "nokey") == b"*1\r\n+" + ZEROS + b"\r\n"
        assert c.call("DEBUG", "DIGEST-VALUE") == b"*0\r\n"


def test_same_data_same_digest_whatever_the_shards(conns):
    keys = ["s", "n", "neg", "empty", "big", "ttl", "l", "st", "si", "z", "h", "hx", "x", "xe",
            "zbig", "hbig", "lbig", "sbig", "key:7", "nokey"]
    cmds = dataset()
    for c in conns:  # (pipelined)
        c.send_raw(b"".join(encode_command(cmd) for cmd in cmds))
        for cmd in cmds:
            assert not c.read_reply().startswith(b"-"), cmd
    three, ref = (digests(c, keys) for c in conns)
    assert three == ref
    assert ref[0] != ZEROS and ref[1][-1] == ZEROS and len(set(ref[1])) == len(keys)
    # in another database: the values there (the dataset's digest is the same)
    for c in conns:
        c.call("SELECT", "2")
    assert digests(conns[0], ["s", "st"]) == digests(conns[1], ["s", "st"])
    for c in conns:
        c.call("SELECT", "0")
    # any change shows: a list's order, a score, a TTL removed, a key renamed
    for cmd in (("LSET", "l", "0", "b"), ("ZINCRBY", "zbig", "0.5", "m3"), ("PERSIST", "ttl"),
                ("RENAME", "key:5", "key:5b")):
        for c in conns:
            c.call(*cmd)
        now = [digests(c, keys) for c in conns]
        assert now[0] == now[1] and now[1][0] != ref[0]
        ref = now[1]


def test_digest_arguments_as_redis(conns):
    s, r = conns
    for args in (("DEBUG", "DIGEST", "x"), ("DEBUG", "digest"), ("debug", "Digest-Value", "a", "a")):
        assert s.call(*args) == r.call(*args), args
