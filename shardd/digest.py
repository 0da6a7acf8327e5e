"""DEBUG DIGEST and DEBUG DIGEST-VALUE on a shard (router side: router/servercmd.py),
as Redis 7.0's debug.c computes them, so that the same data gives the same digest
whatever the shard count.

Redis' rules (SHA-1 throughout, 20 bytes):
- ``xor(d, data)``: d ^= SHA1(data) (order-free: set members, hash fields, keys);
  ``mix(d, data)``: d = SHA1(d ^ SHA1(data)) (ordered: list elements, stream entries).
- A value, from a given start: mix the type's number (4 bytes, big-endian: string 0,
  list 1, set 2, zset 3, hash 4, stream 6); then a string's bytes mixed; a list's
  elements mixed in order; a set's members xored; a sorted set's members, each
  SHA1-xored as mix(mix(0, member), score as C's "%.17g"); a hash's fields likewise with
  mix(mix(0, field), value); a stream's entries in order, "ms.seq" then each field and
  value mixed (its consumer groups and last ID count for nothing). A key with a TTL
  xors "!!expire!!" last.
- DIGEST-VALUE key: that value's digest from zero (the name not included); a missing
  key: 20 zero bytes.
- DIGEST: per database with keys, in order, final = mix(final, db number) and then,
  for each key, final ^= SHA1(the value's digest started from mix(0, name)).

Since the keys of one database combine by xor, each shard answers, per database, its
keys' xor and whether it has any (``__digest``); the router mixes the database numbers
and xors the shards' parts. A key whose time has passed is left out (Redis counts the
ones its expiry has not removed yet). Nothing is touched: no access time, no lazy
expiry, no keyspace hit or miss.
"""

from __future__ import annotations

from shardis.commands import INTERNAL, CommandTable
from shardis.digest import U32, ZERO, format_score, mix_digest, sha1, xor_digest
from shardis.shardd import streams
from shardis.shardd.disk import stream as sd
from shardis.shardd.disk.keys import HASH, LIST, SET, STREAM, ZSET, db_of, expired, has_expiry, is_string, \
    key_of, mkey, type_of
from shardis.shardd.disk.zset import ZSet
from shardis.shardd.storage import Keyspace

# Redis' object type numbers (OBJ_LIST ...), by shardis' record type (a string is 0).
REDIS_TYPE = {LIST: 1, SET: 2, ZSET: 3, HASH: 4, STREAM: 6}


def value_digest(ks: Keyspace, db: int, key: bytes, raw: bytes, d: bytes) -> bytes:
    """Redis' xorObjectDigest of the live record ``raw`` of ``key``, mixed into ``d``."""
    if is_string(raw):
        value = ks.get_string(db, key)
        assert value is not None  # (live, a string)
        d = mix_digest(mix_digest(d, U32.pack(0)), value)
    else:
        t = type_of(raw)
        d = mix_digest(d, U32.pack(REDIS_TYPE[t]))
        if t == STREAM:
            s = streams.load(ks, db, key)
            assert s is not None  # (live, a stream)
            for (ms, seq), entry in streams.entries(ks, s):
                d = mix_digest(d, b"%d.%d" % (ms, seq))
                for part in sd.unpack_entry(entry):
                    d = mix_digest(d, part)
        else:
            c = ks.coll(db, key, t)
            assert c is not None  # (live, of this type)
            if t == LIST:
                for _, v in ks.mrange(c):
                    d = mix_digest(d, v)
            elif t == SET:
                for m, _ in ks.mrange(c):
                    d = xor_digest(d, m)
            elif t == ZSET:
                for m, score in ZSet(ks, c).items(0, c.count):
                    d = xor_digest(d, mix_digest(mix_digest(ZERO, m), format_score(score)))
            else:
                for f, v in ks.mrange(c):
                    d = xor_digest(d, mix_digest(mix_digest(ZERO, f), v))
    if has_expiry(raw):
        d = xor_digest(d, b"!!expire!!")
    return d


def dataset_part(ks: Keyspace, db: int, args: list[bytes]) -> list[list[bytes | int]]:
    """``__digest``: per database with keys here, [db, its keys' digests xored]."""
    touched = len(ks.touched)
    out: list[list[bytes | int]] = []
    acc = 0
    cur = -1
    try:
        for mk, raw in ks.txn.cursor(db=ks.meta_db).iternext():
            if expired(raw, ks.now):
                continue
            kdb = db_of(mk)
            if kdb != cur:
                if cur >= 0:
                    out.append([cur, acc.to_bytes(20, "big")])
                cur, acc = kdb, 0
            key = key_of(mk)
            d = value_digest(ks, kdb, key, raw, mix_digest(ZERO, key))
            acc ^= int.from_bytes(sha1(d), "big")
        if cur >= 0:
            out.append([cur, acc.to_bytes(20, "big")])
    finally:
        del ks.touched[touched:]
    return out


def value_digests(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes]:
    """``__digestvalue key ...``: each key's value digest (zeros: not here)."""
    touched = len(ks.touched)
    out = []
    try:
        for key in args[1:]:
            raw = ks.txn.get(mkey(db, key), None, ks.meta_db)
            if raw is None or expired(raw, ks.now):
                out.append(ZERO)
            else:
                out.append(value_digest(ks, db, key, raw, ZERO))
    finally:
        del ks.touched[touched:]
    return out


def register(table: CommandTable) -> None:
    """DEBUG DIGEST's shard-side parts (internal: the router sends them to every shard)."""
    cmd = table.command
    cmd("__digest", 1, "readonly", route=INTERNAL)(dataset_part)
    cmd("__digestvalue", -1, "readonly", route=INTERNAL)(value_digests)
