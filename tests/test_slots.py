"""Key slots as Redis Cluster computes them, and the slot -> shard table."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile

import pytest

from shardis.slots import NSLOTS, key_slot, shard_ranges, slot_table
from tests.helpers import RawClient, free_port, parse_reply, wait_for_port

# Redis Cluster's specification, each read back from `CLUSTER KEYSLOT` on redis-server 7.0.
KNOWN = [
    (b"foo", 12182),
    (b"bar", 5061),
    (b"{user1000}.following", 3443),
    (b"{user1000}.followers", 3443),
    (b"user1000", 3443),
    (b"foo{}{bar}", 8363),       # the first "{}" is empty: the whole key counts
    (b"foo{{bar}}zap", 4015),    # the tag is "{bar"
    (b"foo{bar}{zap}", 5061),    # only the first tag counts: "bar"
    (b"{bar", 4015),             # no closing brace: the whole key
    (b"bar}", 6624),
    (b"}{bar}", 5061),
    (b"{}", 15257),
    (b"{", 4092),
    (b"}", 12090),
    (b"", 0),
    (b"123456789", 12739),       # CRC16-XMODEM's check value 0x31C3, mod 16384
]


@pytest.mark.parametrize("key,slot", KNOWN, ids=[repr(k) for k, _ in KNOWN])
def test_known_slots(key, slot):
    assert key_slot(key) == slot


def test_hash_tags_share_a_slot():
    for tag in (b"user1000", b"a", b"\x00\xff", b"{x"):
        slots = {key_slot(pre + b"{" + tag + b"}" + post)
                 for pre in (b"", b"p:", b"}") for post in (b"", b".x", b"{z}")}
        assert len(slots) == 1, tag


@pytest.fixture(scope="module")
def cluster_node():
    """A redis-server in cluster mode: CLUSTER KEYSLOT works with no slots assigned."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    d = tempfile.mkdtemp(prefix="redis-cluster-")
    proc = subprocess.Popen(
        # The cluster bus port defaults to port + 10000, invalid past 55535: name a free one.
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
         "--cluster-port", str(free_port()),
         "--cluster-config-file", os.path.join(d, "nodes.conf"), "--save", "",
         "--appendonly", "no", "--dir", d],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc=proc)
        c = RawClient(port)
        yield c
        c.close()
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(d, ignore_errors=True)


def random_keys(n: int) -> list[bytes]:
    """Binary keys, many with braces in every arrangement."""
    rng = random.Random(16384)
    alphabet = b"{}{}ab\x00\xff\r\n "
    keys = []
    for i in range(n):
        if i % 2:
            keys.append(bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 12))))
        else:
            keys.append(rng.randbytes(rng.randint(0, 40)))
    return keys


def test_matches_cluster_keyslot(cluster_node):
    keys = [k for k, _ in KNOWN] + random_keys(400)
    for key in keys:
        want = parse_reply(cluster_node.call("CLUSTER", "KEYSLOT", key))
        assert key_slot(key) == want, key


@pytest.mark.parametrize("nshards", [1, 2, 3, 5, 7, 16, 256])
def test_slot_table_is_contiguous_and_balanced(nshards):
    table = slot_table(nshards)
    assert len(table) == NSLOTS
    assert table[0] == 0 and table[-1] == nshards - 1
    # Non-decreasing and every step is +0 or +1: one contiguous range per shard.
    assert all(b - a in (0, 1) for a, b in zip(table, table[1:]))
    sizes = [table.count(s) for s in range(nshards)]
    assert max(sizes) - min(sizes) <= 1
    ranges = shard_ranges(table)
    assert len(ranges) == nshards
    covered = []
    for shard, rs in enumerate(ranges):
        assert len(rs) == 1
        first, last = rs[0]
        assert all(table[s] == shard for s in range(first, last + 1))
        covered.extend(range(first, last + 1))
    assert covered == list(range(NSLOTS))


def test_shard_ranges_of_a_scattered_table():
    table = [0] * NSLOTS
    table[100:200] = [1] * 100
    table[16000:] = [1] * (NSLOTS - 16000)
    assert shard_ranges(table) == [[(0, 99), (200, 15999)], [(100, 199), (16000, NSLOTS - 1)]]


def test_three_shards_layout():
    """The layout a 3-shard cluster uses (as CLUSTER ADDSLOTSRANGE would spread it)."""
    assert shard_ranges(slot_table(3)) == [[(0, 5461)], [(5462, 10922)], [(10923, 16383)]]
