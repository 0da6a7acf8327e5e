"""DUMP, RESTORE and MIGRATE against a real redis-server 7.0: payloads go both ways for
every type and encoding (each server restores the other's, every value read back and
compared), the encodings older Redis wrote are restored by both, errors and MIGRATE's
replies are compared byte for byte. The codecs of shardis/rdb.py are checked alone first."""

from __future__ import annotations

import random
import socket
import struct
import time

import pytest

from shardis import assembly, rdb
from shardis.resp import string2ll
from shardis.slots import key_slot, slot_table
from tests.helpers import RawClient, RedisServer, compare_keyspace_events, encode_command, parse_reply
from tests.test_wal import crash, open_shard, run

TABLE = slot_table(3)
PASSWORD = "s3cret"


# ---------------------------------------------------------------- the codecs alone


LZF_INPUTS = [b"a" * 21, b"abc" * 50, bytes(range(256)) * 4, b"hello world " * 1000,
              random.Random(7).randbytes(3000), b"x" * 20 + b"y" * 300 + b"x" * 20]


@pytest.mark.parametrize("data", LZF_INPUTS, ids=range(len(LZF_INPUTS)))
def test_lzf_round_trip(data):
    packed = rdb.lzf_compress(data, len(data) + len(data) // 32 + 64)
    assert packed is not None
    assert rdb.lzf_decompress(packed, len(data)) == data
    # Too small an output buffer: no stream, as lzf_compress answers 0.
    assert rdb.lzf_compress(data, 1) is None


def test_lzf_refuses_broken_streams():
    for stream, n in [(b"\x05ab", 6), (b"\x00a\xe0", 40), (b"\x00a\x20\x05", 4), (b"\x01ab", 3)]:
        with pytest.raises(ValueError):
            rdb.lzf_decompress(stream, n)


LP_ITEMS = [0, 127, 128, -1, 4095, -4096, 4096, 32767, -32768, 32768, 8388607, -8388608, 8388608,
            2 ** 31 - 1, -2 ** 31, 2 ** 31, 2 ** 63 - 1, -2 ** 63, b"", b"a", b"x" * 63, b"x" * 64,
            b"y" * 4095, b"y" * 4096, b"007", b"-0", b"12", b"99999999999999999999", b"1.5"]


def test_listpack_round_trip():
    blob = rdb.listpack(LP_ITEMS)
    # A string that is a canonical integer is stored as one (lpAppend); others stay strings.
    want = [x if isinstance(x, int) or string2ll(x) is None else string2ll(x) for x in LP_ITEMS]
    assert rdb.lp_items(blob) == want
    assert [rdb.item_bytes(x) for x in rdb.lp_items(blob)][-5:] == LP_ITEMS[-5:]
    for broken in (blob[:-1], blob[:-2] + b"\xff", b"\x07\x00\x00\x00\x00\x00\xff"[:6] + b"\xfe",
                   struct.pack("<IH", len(blob), 3) + blob[6:]):
        with pytest.raises(ValueError):
            rdb.lp_items(broken)


def test_intset_round_trip():
    for values, width in [([1, 2, 3], 2), ([-70000, 5], 4), ([-1, 2 ** 40], 8)]:
        blob = rdb.intset(values)
        assert struct.unpack_from("<II", blob) == (width, len(values))
        assert rdb.intset_values(blob) == values
    with pytest.raises(ValueError):
        rdb.intset_values(struct.pack("<II", 2, 2) + struct.pack("<hh", 5, 1))  # out of order


def ziplist(items: list) -> bytes:
    """A ziplist as Redis before 7.0 wrote one (the test's own encoder)."""
    entries = []
    prev = 0
    for x in items:
        if isinstance(x, int):
            if 0 <= x <= 12:
                enc = bytes((0xF1 + x,))
            elif -128 <= x <= 127:
                enc = b"\xfe" + struct.pack("<b", x)
            elif -32768 <= x <= 32767:
                enc = b"\xc0" + struct.pack("<h", x)
            elif -(2 ** 23) <= x < 2 ** 23:
                enc = b"\xf0" + (x & 0xFFFFFF).to_bytes(3, "little")
            elif -(2 ** 31) <= x < 2 ** 31:
                enc = b"\xd0" + struct.pack("<i", x)
            else:
                enc = b"\xe0" + struct.pack("<q", x)
        elif len(x) < 64:
            enc = bytes((len(x),)) + x
        elif len(x) < 16384:
            enc = bytes((0x40 | len(x) >> 8, len(x) & 0xFF)) + x
        else:
            enc = b"\x80" + struct.pack(">I", len(x)) + x
        head = bytes((prev,)) if prev < 254 else b"\xfe" + struct.pack("<I", prev)
        entries.append(head + enc)
        prev = len(head + enc)
    body = b"".join(entries)
    tail = 10 + len(body) - (len(entries[-1]) if entries else 0)
    return struct.pack("<IIH", 10 + len(body) + 1, tail, len(entries)) + body + b"\xff"


def zipmap(pairs: list[tuple[bytes, bytes]]) -> bytes:
    out = bytes((len(pairs),))
    for f, v in pairs:
        out += bytes((len(f),)) + f + bytes((len(v),)) + b"\x02" + v + b"ab"  # (2 free bytes)
    return out + b"\xff"


def test_ziplist_and_zipmap_decode():
    items = [b"a", 0, 12, 13, -5, 300, 70000, 2 ** 40, b"x" * 70, b"y" * 300]
    assert rdb.ziplist_items(ziplist(items)) == items
    assert rdb.zipmap_pairs(zipmap([(b"f", b"v"), (b"g", b"")])) == [(b"f", b"v"), (b"g", b"")]
    with pytest.raises(ValueError):
        rdb.ziplist_items(ziplist(items)[:-1])


BAD_BODIES = [b"", b"\x08\x01a", b"\x14\x01a", b"\x07\x00", b"\x02\x00", b"\x02\x02\x01a\x01a",
              b"\x04\x02\x01a\x01b\x01a\x01c", b"\x03\x01\x01a\xfd", b"\x05\x01\x01a" + b"\x00" * 7,
              bytes((rdb.TYPE_LIST_QUICKLIST_2, 1, 3)) + rdb.save_string(rdb.listpack([b"a"])),
              bytes((rdb.TYPE_LIST_QUICKLIST_2, 1, 2)) + rdb.save_string(rdb.listpack([])),
              bytes((rdb.TYPE_HASH_LISTPACK,)) + rdb.save_string(rdb.listpack([b"a"])),
              bytes((rdb.TYPE_SET_INTSET,)) + rdb.save_string(rdb.intset([])),
              b"\x00\x05hel", b"\x00\xc3\x05\x20" + b"\x00a"]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_load_object_refuses(body):
    with pytest.raises(ValueError):
        rdb.load_object(body)


def test_load_object_fails_only_with_value_error():
    """Mutated payloads: either a value or ValueError ("Bad data format"), never a crash."""
    s = rdb.StreamValue(3, (5, 0), (1, 1), (0, 0), 3)
    entries = [((1, 1), [b"f", b"v"]), ((2, 0), [b"f", b"w"]), ((5, 0), [b"g", b"1"])]
    s.nodes = [rdb.StreamNode((1, 1), entries)]
    g = rdb.StreamGroup(b"g", (2, 0), 2)
    g.pel, g.consumers = [((1, 1), 100, 1, b"c")], [(b"c", 5)]
    s.groups = [g]
    scored = [(b"a", 1.5), (b"b", 2.0)]
    bodies = [rdb.dump_string(b"hello" * 10), rdb.dump_list([b"a", b"12", b"x" * 100] * 20),
              rdb.dump_set([b"1", b"5"], True), rdb.dump_set([b"a", b"b"], False),
              rdb.dump_zset(scored, True), rdb.dump_zset(scored, False),
              rdb.dump_hash([(b"f", b"v")], True), rdb.dump_hash([(b"f", b"v")], False), rdb.dump_stream(s),
              *(p[:-10] for p in old_payloads().values())]
    rnd = random.Random(5)
    for _ in range(2000):
        b = bytearray(rnd.choice(bodies))
        for _ in range(rnd.randint(1, 3)):
            if rnd.random() < 0.7 and b:
                b[rnd.randrange(len(b))] = rnd.randrange(256)
            else:
                b.insert(rnd.randrange(len(b) + 1), rnd.randrange(256))
        try:
            rdb.load_object(rdb.footer(bytes(b)))
        except ValueError:
            pass


def test_footer_checks():
    payload = rdb.footer(rdb.dump_string(b"v"))
    assert rdb.check_footer(payload) == payload[:-10]
    assert rdb.check_footer(payload[:-8] + b"\0" * 8) is None  # a zero checksum is a wrong one
    newer = payload[:-10] + struct.pack("<H", rdb.RDB_VERSION + 1)
    assert rdb.check_footer(newer + struct.pack("<Q", rdb.crc64(newer))) is None


# ---------------------------------------------------------------- values both ways


def _many(cmd: str, key: str, items: list) -> list[list]:
    return [[cmd, key, *items]]


def _stream(nodes: int = 1) -> list[list]:
    """A stream with deleted entries, two groups, a PEL over two consumers, a claim."""
    cmds: list[list] = [["XADD", "k", f"1-{i}", "f", f"v{i}", "n", str(i)] for i in range(1, 60 * nodes)]
    cmds += [["XADD", "k", "99-1", "other", "x"], ["XDEL", "k", "1-3", "1-4"],
             ["XGROUP", "CREATE", "k", "g1", "0"], ["XGROUP", "CREATE", "k", "g2", "$"],
             ["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "k", ">"],
             ["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "k", ">"],
             ["XACK", "k", "g1", "1-1"], ["XCLAIM", "k", "g1", "carol", "0", "1-5"],
             ["XGROUP", "CREATECONSUMER", "k", "g2", "dave"]]
    return cmds


CASES: dict[str, list[list]] = {
    "str": [["SET", "k", "hello"]],
    "empty-str": [["SET", "k", ""]],
    "int": [["SET", "k", "12345"]],
    "negative-int": [["SET", "k", "-7"]],
    "long-int": [["SET", "k", "123456789012345"]],
    "int-like": [["SET", "k", "0123"]],
    "compressible": [["SET", "k", "a" * 100]],
    "incompressible": [["SET", "k", random.Random(1).randbytes(1000)]],
    "text-50k": [["SET", "k", (b"the quick brown fox %d " * 3000)[:50000]]],
    "hll-sparse": _many("PFADD", "k", [f"e{i}" for i in range(20)]),
    "hll-dense": _many("PFADD", "k", [f"e{i}" for i in range(3000)]),
    "list": _many("RPUSH", "k", ["a", "1", "-5", "300", "x" * 100, "123456789012", "-9223372036854775808"]),
    "list-nodes": _many("RPUSH", "k", [f"elem{i}" for i in range(3000)]),
    "list-big-elements": _many("RPUSH", "k", ["y" * 3000] * 5 + ["z" * 20000]),
    "list-edited": _many("RPUSH", "k", [str(i) for i in range(2000)])
    + [["LPUSH", "k", "head"], ["LINSERT", "k", "BEFORE", "500", "ins"], ["LREM", "k", 0, "700"]],
    "hash": [["HSET", "k", "f", "v", "n", "12", "x", "y" * 30]],
    "hash-long-value": [["HSET", "k", "f", "v", "long", "y" * 100]],
    "hash-big": _many("HSET", "k", [x for i in range(600) for x in (f"f{i}", f"v{i}")]),
    "set-intset": _many("SADD", "k", [1, 2, 3, -70000, 5000000000]),
    "set-strings": _many("SADD", "k", ["a", "b", "c", "1"]),
    "set-big-ints": _many("SADD", "k", list(range(600))),
    "zset": [["ZADD", "k", 1, "a", 2.5, "b", -3, "c", "1e20", "d", "inf", "e", "-inf", "f", 0.1, "g"]],
    "zset-skiplist": _many("ZADD", "k", [x for i in range(200) for x in (i * 0.5, f"m{i}")]),
    "zset-long-member": [["ZADD", "k", 1, "a", 2, "m" * 100]],
    "geo": [["GEOADD", "k", 13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania",
             -122.27652, 37.805186, "Oakland"]],
    "stream": _stream(),
    "stream-nodes": _stream(4),
    "stream-empty": [["XGROUP", "CREATE", "k", "g", "$", "MKSTREAM"]],
    "stream-trimmed": [["XADD", "k", f"5-{i}", "a", "b"] for i in range(1, 20)]
    + [["XTRIM", "k", "MAXLEN", 3], ["XSETID", "k", "9-9"]],
}


def run_both(pair, cmds: list[list]) -> None:
    for c in (pair.s, pair.r):
        c.send_raw(b"".join(encode_command(cmd) for cmd in cmds))
    for cmd in cmds:
        got, want = pair.s.read_reply(), pair.r.read_reply()
        if cmd[0] not in ("XREADGROUP", "XCLAIM"):  # (delivery times differ)
            assert got == want, (cmd, got, want)


def compare_value(pair, key: str, encoding: bool = True) -> bytes:
    """Every read of ``key`` answers alike on both servers; its OBJECT ENCODING."""
    kind = parse_reply(pair.check("TYPE", key)).decode()
    enc = pair.check("OBJECT", "ENCODING", key) if encoding else b""
    if kind == "string":
        pair.check("GET", key)
    elif kind == "list":
        pair.check("LRANGE", key, 0, -1)
    elif kind == "set":
        pair.check("SCARD", key)
        if b"intset" in enc:
            pair.check("SMEMBERS", key)
        else:
            pair.check_unordered("SMEMBERS", key)
    elif kind == "zset":
        pair.check("ZRANGE", key, 0, -1, "WITHSCORES")
    elif kind == "hash":
        pair.check("HLEN", key)
        got, want = (parse_reply(x) for x in pair.both("HGETALL", key))
        assert dict(zip(got[::2], got[1::2])) == dict(zip(want[::2], want[1::2]))
    else:
        assert kind == "stream"
        pair.check("XINFO", "STREAM", key, "FULL")
    return enc


# Encodings whose payload, once restored from shardis' DUMP, each server DUMPs again alike
# (not hash tables: their order is the table's; nor streams: the consumers' times).
SAME_BYTES = {b"int", b"embstr", b"raw", b"quicklist", b"intset", b"listpack"}


# Values whose payload shardis writes as redis-server does, byte for byte (hash tables'
# order is the table's; a list edited in the middle has its own node cuts; streams
# hold their consumers' times).
SAME_PAYLOAD = {"str", "empty-str", "int", "negative-int", "long-int", "int-like", "compressible",
                "incompressible", "text-50k", "hll-sparse", "hll-dense", "list", "list-nodes",
                "list-big-elements", "set-intset", "zset", "zset-skiplist", "zset-long-member", "geo"}


@pytest.mark.parametrize("name", CASES)
def test_payloads_both_ways(pair, name):
    run_both(pair, CASES[name])
    payloads = {"r": parse_reply(pair.r.call("DUMP", "k")), "s": parse_reply(pair.s.call("DUMP", "k"))}
    for source, payload in payloads.items():
        pair.check("RESTORE", source, 0, payload)
        enc = compare_value(pair, source)
        if source == "s" and parse_reply(enc) in SAME_BYTES:
            pair.check("DUMP", source)
    if name in SAME_PAYLOAD:
        assert payloads["s"] == payloads["r"], "shardis' payload is not redis-server's"


def test_restore_ttl_and_absttl(pair):
    payload = parse_reply(pair.r.call("DUMP", "nothing"))
    assert payload is None
    pair.check("DUMP", "nothing")
    pair.check("SET", "v", "x")
    payload = parse_reply(pair.r.call("DUMP", "v"))
    pair.check("RESTORE", "a", 100000, payload)
    pair.check("TTL", "a")
    far = int(time.time() * 1000) + 500000
    pair.check("RESTORE", "b", far, payload, "ABSTTL")
    pair.check("TTL", "b")
    pair.check("RESTORE", "c", 1, payload, "ABSTTL")  # long past: no key, OK
    pair.check("EXISTS", "c")
    pair.check("RESTORE", "a", 1, payload, "ABSTTL", "REPLACE")  # past and REPLACE: deletes
    pair.check("EXISTS", "a")
    pair.check("RESTORE", "d", 2 ** 63 - 1, payload)  # the sum wraps: long past, as in Redis
    pair.check("EXISTS", "d")
    pair.check("RESTORE", "e", 0, payload, "IDLETIME", 1000, "REPLACE")
    pair.check("RESTORE", "e", 0, payload, "FREQ", 255, "REPLACE", "ABSTTL")
    pair.check("GET", "e")


def test_restore_errors(pair):
    pair.check("SET", "v", "x")
    pair.check("SET", "busy", "y")
    good = parse_reply(pair.r.call("DUMP", "v"))
    body = good[:-10]
    newer = body + struct.pack("<H", 11)
    older = body + struct.pack("<H", 9)
    cases = [
        ("RESTORE", "x", -1, good), ("RESTORE", "x", "abc", good), ("RESTORE", "x", "1.5", good),
        ("RESTORE", "busy", 0, good), ("RESTORE", "busy", -1, b"junk"),
        ("RESTORE", "busy", 0, good, "REPLACE"), ("RESTORE", "x", 0, b"junk"),
        ("RESTORE", "x", 0, b"123456789"), ("RESTORE", "x", 0, good[:-1] + b"\0"),
        ("RESTORE", "x", 0, body + b"\x0a\x00" + b"\0" * 8),
        ("RESTORE", "x", 0, newer + struct.pack("<Q", rdb.crc64(newer))),
        ("RESTORE", "x1", 0, older + struct.pack("<Q", rdb.crc64(older))),
        ("RESTORE", "x", 0, good, "IDLETIME", -1), ("RESTORE", "x", 0, good, "IDLETIME", "x"),
        ("RESTORE", "x", 0, good, "FREQ", 256), ("RESTORE", "x", 0, good, "FREQ", -1),
        ("RESTORE", "x", 0, good, "FREQ", "x"), ("RESTORE", "x", 0, good, "IDLETIME", 1, "FREQ", 2),
        ("RESTORE", "x", 0, good, "FREQ", 1, "IDLETIME", 2), ("RESTORE", "x", 0, good, "IDLETIME"),
        ("RESTORE", "x", 0, good, "bogus"), ("RESTORE", "x", 0),
        ("RESTORE", "x", 0, good, "REPLACE", "REPLACE"),
        ("RESTORE-ASKING", "x2", 0, good), ("DUMP",), ("DUMP", "a", "b"),
    ]
    odd_hash = bytes((rdb.TYPE_HASH_LISTPACK,)) + rdb.save_string(rdb.listpack([b"a"]))
    empty_intset = b"\x0b\x08" + struct.pack("<II", 2, 0)
    for body_ in [b"\x08\x01a", b"\x14\x01a", b"\x07\x00", b"\x06\x00", b"\x02\x00", b"\x03\x01\x01a\xfd",
                  b"\x00\x05hel", b"\x00\x01a" + b"trailing", odd_hash, empty_intset]:
        cases.append(("RESTORE", "y", 0, rdb.footer(body_), "REPLACE"))
    for args in cases:
        pair.check(*args)
    for key in ("x", "x1", "x2", "y", "busy"):
        pair.check("GET", key)


def test_restore_refuses_what_lmdb_cannot_key(pair):
    """A field or member too long for an LMDB key: shardis' own error, nothing written."""
    pair.s.call("SET", "k", "old")
    for body in [rdb.dump_hash([(b"f" * 600, b"v")], True), rdb.dump_set([b"m" * 600], False),
                 rdb.dump_zset([(b"m" * 600, 1.0)], False)]:
        assert pair.s.call("RESTORE", "k", 0, rdb.footer(body), "REPLACE").startswith(b"-ERR ")
        assert pair.s.call("GET", "k") == b"$3\r\nold\r\n"


def test_restore_sanitized_payloads(pair):
    """What Redis only refuses with sanitize-dump-payload yes, shardis always refuses."""
    pair.check("CONFIG", "SET", "sanitize-dump-payload", "yes")
    try:
        for body in [b"\x04\x02\x01a\x01b\x01a\x01c", b"\x02\x02\x01a\x01a",
                     bytes((rdb.TYPE_HASH_LISTPACK,)) + rdb.save_string(rdb.listpack([b"a", 1, b"a", 2])),
                     bytes((rdb.TYPE_ZSET_LISTPACK,)) + rdb.save_string(rdb.listpack([b"a", 1, b"a", 2]))]:
            pair.check("RESTORE", "d", 0, rdb.footer(body))
            pair.check("EXISTS", "d")
    finally:
        pair.check("CONFIG", "SET", "sanitize-dump-payload", "no")


def _stream_v1(payload: bytes) -> bytes:
    """A 7.0 stream payload rewritten as Redis 5/6 wrote streams (RDB_TYPE_STREAM_LISTPACKS:
    no first ID, max-deleted ID, entries-added, nor entries-read)."""
    s = rdb.load_object(payload)[1]
    assert isinstance(s, rdb.StreamValue)
    for n in s.nodes:
        n.deleted = 0
    v2 = rdb.dump_stream(s, False)
    r = rdb.Reader(v2)
    r.byte()
    out = [bytes((rdb.TYPE_STREAM_LISTPACKS,)), rdb.encode_length(r.length())]
    for _ in s.nodes:
        out += [rdb.encode_string(r.string()), rdb.encode_string(r.string())]
    out += [rdb.encode_length(r.length()) for _ in range(3)]  # length, last ID
    for _ in range(5):
        r.length()  # (first, max-deleted, entries-added: gone)
    ngroups = r.length()
    out.append(rdb.encode_length(ngroups))
    for _ in range(ngroups):
        out += [rdb.encode_string(r.string()), rdb.encode_length(r.length()), rdb.encode_length(r.length())]
        r.length()  # (entries-read: gone)
        npel = r.length()
        out.append(rdb.encode_length(npel))
        for _ in range(npel):
            out += [r.take(16), r.take(8), rdb.encode_length(r.length())]
        ncons = r.length()
        out.append(rdb.encode_length(ncons))
        for _ in range(ncons):
            out += [rdb.encode_string(r.string()), r.take(8)]
            n = r.length()
            out += [rdb.encode_length(n), r.take(16 * n)]
    return rdb.footer(b"".join(out))


def old_payloads() -> dict[str, bytes]:
    """Values in the encodings Redis before 7.0 wrote, which 7.0 still restores."""
    s = rdb.save_string
    f = rdb.footer
    return {
        "list-linked": f(bytes((rdb.TYPE_LIST, 3)) + s(b"a") + s(b"12") + s(b"x" * 30)),
        "list-ziplist": f(bytes((rdb.TYPE_LIST_ZIPLIST,)) + s(ziplist([b"a", 5, -300, 2 ** 40, b"y" * 70]))),
        "list-quicklist": f(bytes((rdb.TYPE_LIST_QUICKLIST, 2)) + s(ziplist([b"a", 1]))
                            + s(ziplist([b"b" * 300]))),
        "list-plain-node": f(bytes((rdb.TYPE_LIST_QUICKLIST_2, 2, 1)) + s(b"p" * 50) + b"\x02"
                             + s(rdb.listpack([b"q", 7]))),
        "set-linked-ints": f(bytes((rdb.TYPE_SET, 3)) + s(b"1") + s(b"-2") + s(b"300")),
        "set-intset-64": f(bytes((rdb.TYPE_SET_INTSET,)) + s(rdb.intset([-(2 ** 40), 1, 2 ** 40]))),
        "zset-text-scores": f(bytes((rdb.TYPE_ZSET, 3)) + s(b"a") + b"\x031.5" + s(b"b") + b"\xfe" + s(b"c")
                              + b"\xff"),
        "zset-ziplist": f(bytes((rdb.TYPE_ZSET_ZIPLIST,)) + s(ziplist([b"c", -4, b"a", 1, b"b", b"2.5"]))),
        "hash-zipmap": f(bytes((rdb.TYPE_HASH_ZIPMAP,)) + s(zipmap([(b"f", b"v"), (b"n", b"42")]))),
        "hash-ziplist": f(bytes((rdb.TYPE_HASH_ZIPLIST,)) + s(ziplist([b"f", b"v", b"n", 42]))),
    }


def test_restore_older_encodings(pair):
    for name, payload in old_payloads().items():
        pair.check("RESTORE", name, 0, payload)
        if parse_reply(pair.r.call("EXISTS", name)):
            compare_value(pair, name)
    run_both(pair, _stream(2))
    v1 = _stream_v1(parse_reply(pair.r.call("DUMP", "k")))
    pair.check("RESTORE", "stream-v1", 0, v1)
    compare_value(pair, "stream-v1")


def test_restore_encoding_follows_thresholds(pair):
    """A value restored takes the encoding its content gets under the settings in force,
    whatever encoding its payload used."""
    run_both(pair, [["HSET", "h", "a", "1", "b", "2", "c", "3"], ["HSET", "hv", "a", "x" * 10],
                    ["ZADD", "z", 1, "a", 2, "b", 3, "c"], ["ZADD", "zv", 1, "m" * 10],
                    ["SADD", "s", 1, 2, 3], ["RPUSH", "l", "a", "b"]])
    payloads = {k: parse_reply(pair.s.call("DUMP", k)) for k in ("h", "hv", "z", "zv", "s", "l")}
    settings = [("hash-max-listpack-entries", 2, 512), ("hash-max-listpack-value", 5, 64),
                ("zset-max-listpack-entries", 2, 128), ("zset-max-listpack-value", 5, 64),
                ("set-max-intset-entries", 2, 512)]
    try:
        for name, low, _ in settings:
            pair.check("CONFIG", "SET", name, low)
        for k, payload in payloads.items():
            pair.check("RESTORE", k + "2", 0, payload)
            compare_value(pair, k + "2")
    finally:
        for name, _, default in settings:
            pair.check("CONFIG", "SET", name, default)
    for k in ("h", "z", "s"):  # a hash table dumped, restored small: compact again
        payload = parse_reply(pair.s.call("DUMP", k + "2"))
        pair.check("RESTORE", k + "3", 0, payload)
        compare_value(pair, k + "3")


def test_restore_serves_blocked_clients(pair, shardis_server, redis_server):
    """A key RESTORE makes serves the clients blocked on it, as any write that fills it."""
    run_both(pair, [["RPUSH", "l", "x"], ["XADD", "st", "1-1", "f", "v"]])
    blocks = {"bl": (parse_reply(pair.r.call("DUMP", "l")), ["BLPOP", "bl", 5]),
              "bs": (parse_reply(pair.r.call("DUMP", "st")), ["XREAD", "BLOCK", 5000, "STREAMS", "bs", "$"])}
    waiting = [RawClient(shardis_server.port), RawClient(redis_server.port)]
    try:
        for key, (payload, block) in blocks.items():
            for c in waiting:
                c.send_raw(encode_command(block))
            time.sleep(0.2)
            pair.check("RESTORE", key, 0, payload)
            got, want = (c.read_reply() for c in waiting)
            assert got == want and want[:1] == b"*" and want != b"*-1\r\n", (got, want)
    finally:
        for c in waiting:
            c.close()


def test_restore_keyspace_events(pair, shardis_server, redis_server):
    pair.check("SET", "src", "v")
    payload = parse_reply(pair.r.call("DUMP", "src"))
    compare_keyspace_events(pair, shardis_server.port, redis_server.port, [
        ("RESTORE", "a", 0, payload), ("RESTORE", "a", 0, payload, "REPLACE"),
        ("RESTORE", "b", 5000, payload), ("RESTORE", "a", 1, payload, "REPLACE", "ABSTTL"),
        ("RESTORE", "c", 1, payload, "ABSTTL"), ("RESTORE", "b", 0, payload)])


# ---------------------------------------------------------------- MIGRATE


@pytest.fixture(scope="module")
def target():
    """A redis-server with a password: where MIGRATE sends keys."""
    s = RedisServer().start()
    c = RawClient(s.port)
    assert c.call("CONFIG", "SET", "requirepass", PASSWORD) == b"+OK\r\n"
    assert c.call("AUTH", PASSWORD) == b"+OK\r\n"
    yield s, c
    c.close()
    s.stop()


def shard_of(key: str) -> int:
    return TABLE[key_slot(key.encode())]


def spread(prefix: str, n: int) -> list[str]:
    """``n`` keys that lie on at least two shards."""
    keys = [f"{prefix}{i}" for i in range(n)]
    assert len({shard_of(k) for k in keys}) > 1
    return keys


def target_state(c: RawClient, keys: list[str], db: int = 0) -> list:
    c.call("SELECT", db)
    out = [(k, parse_reply(c.call("TYPE", k)), parse_reply(c.call("DUMP", k)),
            parse_reply(c.call("PTTL", k)) > 0) for k in keys]
    c.call("SELECT", 0)
    return out


def migrate_both(pair, target, setup: list[list], args: list, keys: list[str], db: int = 0,
                 before: list[list] | None = None):
    """Run MIGRATE ``args`` from shardis, then from redis-server, each against the target
    freshly flushed (and given ``before``): the replies, the sources' keys and what the
    target holds are the same."""
    server, c = target
    states = []
    replies = []
    run_both(pair, [["DEL", *keys], *setup])
    for source in (pair.s, pair.r):
        # (Redis keeps its connection to a target 10 s, AUTHed; shardis connects each time)
        c.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        c.call("FLUSHALL")
        for cmd in before or []:
            c.call(*cmd)
        replies.append(source.call("MIGRATE", "127.0.0.1", server.port, *args))
        states.append(target_state(c, keys, db))
    assert replies[0] == replies[1], replies
    assert states[0] == states[1], (replies, states)
    for k in keys:
        assert pair.s.call("EXISTS", k) == pair.r.call("EXISTS", k), (k, replies, states)
    return replies[0]


def test_migrate_to_redis(pair, target):
    keys = spread("m", 6)
    setup = [["SET", keys[0], "v"], ["RPUSH", keys[1], "a", "b"], ["HSET", keys[2], "f", "v"],
             ["ZADD", keys[3], 1, "a"], ["SADD", keys[4], 1, 2], ["XADD", keys[5], "1-1", "f", "v"],
             ["PEXPIRE", keys[0], 100000]]
    # One key (on its shard), with AUTH.
    assert migrate_both(pair, target, setup, [keys[0], 0, 1000, "AUTH", PASSWORD], keys) == b"+OK\r\n"
    # Keys on several shards (the coordinator), COPY, AUTH2, one missing, another database.
    assert migrate_both(pair, target, setup, ["", 3, 1000, "COPY", "AUTH2", "default", PASSWORD, "KEYS",
                                              *keys, "missing"], keys, db=3) == b"+OK\r\n"
    # The target holds one: its BUSYKEY comes back; the others move.
    busy = [["SET", keys[2], "there"]]
    reply = migrate_both(pair, target, setup, ["", 0, 1000, "AUTH", PASSWORD, "KEYS", *keys], keys,
                         before=busy)
    assert reply.startswith(b"-ERR Target instance replied with error: BUSYKEY")
    # REPLACE overwrites it.
    assert migrate_both(pair, target, setup, ["", 0, 1000, "REPLACE", "AUTH", PASSWORD, "KEYS", *keys], keys,
                        before=busy) == b"+OK\r\n"
    # No or a wrong password: the target's error, nothing moves.
    for auth in ([], ["AUTH", "wrong"], ["AUTH2", "nobody", PASSWORD]):
        reply = migrate_both(pair, target, setup, ["", 0, 1000, *auth, "KEYS", *keys], keys)
        assert reply.startswith(b"-ERR Target instance replied with error: ")
    assert migrate_both(pair, target, [], ["nothing", 0, 1000], keys) == b"+NOKEY\r\n"


def test_migrate_errors(pair):
    pair.check("SET", "k", "v")
    for args in [("h", 1, "k", 0, "x"), ("h", 1, "k", "x", 10), ("h", 1, "k", 0, 10, "AUTH"),
                 ("h", 1, "k", 0, 10, "AUTH2", "u"), ("h", 1, "k", 0, 10, "bogus"),
                 ("h", 1, "k", 0, 10, "KEYS", "k"), ("h", 1, "", 0, 10, "KEYS"), ("h", 1, "k", 0),
                 ("h", 1, "", 0, 10, "COPY", "KEYS", "nothing")]:
        pair.check("MIGRATE", *args)
    # Unreachable targets: IOERR, the key stays.
    pair.check("MIGRATE", "", 6379, "k", 0, 100)
    pair.check("MIGRATE", "127.0.0.1", -1, "k", 0, 100)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    pair.check("MIGRATE", "127.0.0.1", port, "k", 0, 100)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        for c in (pair.s, pair.r):
            start = time.monotonic()
            assert c.call("MIGRATE", "127.0.0.1", silent.getsockname()[1], "k", 0, 300) == \
                b"-IOERR error or timeout reading to target instance\r\n"
            assert time.monotonic() - start >= 0.25
    pair.check("GET", "k")


def test_migrate_from_redis(pair, shardis_server):
    """redis-server's MIGRATE into shardis: every type arrives as redis-server holds it."""
    keys = spread("r", 8)
    run_both(pair, [["SET", keys[0], "v" * 50], ["RPUSH", keys[1], *range(100)], ["HSET", keys[2], "f", "v"],
                    ["ZADD", keys[3], 1, "a", 2, "b"], ["SADD", keys[4], "x", "y"], *[
                        ["XADD", keys[5], f"1-{i}", "f", "v"] for i in range(1, 5)],
                    ["XGROUP", "CREATE", keys[5], "g", "0"],
                    ["XREADGROUP", "GROUP", "g", "c", "STREAMS", keys[5], ">"],
                    ["PFADD", keys[6], "a", "b"], ["SET", keys[7], 42], ["EXPIRE", keys[7], 1000]])
    for k in keys:
        pair.s.call("DEL", k)
    assert pair.r.call("MIGRATE", "127.0.0.1", shardis_server.port, "", 0, 2000, "COPY", "KEYS", *keys) \
        == b"+OK\r\n"
    for k in keys:
        # (a HyperLogLog that PFADD made is "raw" to Redis; shardis tells encodings by content)
        compare_value(pair, k, encoding=k != keys[6])
    pair.check("TTL", keys[7])
    # The target's error comes back to redis-server as from a Redis.
    reply = pair.r.call("MIGRATE", "127.0.0.1", shardis_server.port, keys[0], 0, 2000)
    assert reply == b"-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
    assert pair.r.call("MIGRATE", "127.0.0.1", shardis_server.port, keys[0], 5, 2000, "REPLACE") == b"+OK\r\n"
    assert pair.s.call("SELECT", 5) == b"+OK\r\n"
    assert pair.s.call("GET", keys[0]) == b"$50\r\n" + b"v" * 50 + b"\r\n"
    pair.s.call("FLUSHDB")
    pair.s.call("SELECT", 0)


def test_migrate_keyspace_events(pair, target, shardis_server, redis_server):
    server, _ = target
    keys = ["{e}a", "{e}b", "{e}c"]  # (one shard: events of keys on several have no order)
    run_both(pair, [["SET", k, "v"] for k in keys])
    to = ("MIGRATE", "127.0.0.1", server.port)
    compare_keyspace_events(pair, shardis_server.port, redis_server.port, [
        (*to, keys[0], 0, 1000, "AUTH", PASSWORD, "REPLACE"),
        (*to, "", 0, 1000, "AUTH", PASSWORD, "REPLACE", "COPY", "KEYS", *keys),
        (*to, "", 0, 1000, "AUTH", PASSWORD, "REPLACE", "KEYS", *keys)])


def test_migrate_is_not_sent_again_by_a_log_replay(tmp_path, target):
    """A shard's MIGRATE replayed from the write-ahead log deletes the keys the target
    took then, and talks to no target: its outcome was logged with the batch."""
    server, c = target
    c.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    c.call("FLUSHALL")
    c.call("SET", "busy", "there")
    table = assembly.build_table()
    shard = open_shard(tmp_path, table)
    port = str(server.port).encode()
    auth = [b"AUTH", PASSWORD.encode()]
    run(shard, table, [b"set", b"moved", b"v"], [b"set", b"busy", b"mine"], [b"set", b"copied", b"c"])
    got = run(shard, table, [b"migrate", b"127.0.0.1", port, b"moved", b"0", b"1000", *auth],
              [b"migrate", b"127.0.0.1", port, b"busy", b"0", b"1000", *auth],
              [b"migrate", b"127.0.0.1", port, b"copied", b"0", b"1000", b"COPY", *auth])[0][1]
    assert got[0] == b"+OK\r\n" and got[1].startswith(b"-ERR Target instance replied with error: BUSYKEY")
    crash(shard)
    c.call("FLUSHALL")  # a MIGRATE sent again would now succeed, and the keys reappear there
    shard = open_shard(tmp_path, table)
    try:
        got = run(shard, table, [b"exists", b"moved"], [b"get", b"busy"], [b"get", b"copied"])[0][1]
        assert got == [b":0\r\n", b"$4\r\nmine\r\n", b"$1\r\nc\r\n"]
        assert c.call("DBSIZE") == b":0\r\n"
    finally:
        shard.close()
