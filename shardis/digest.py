"""DEBUG DIGEST's arithmetic, as Redis 7.0's debug.c does it (SHA-1, 20 bytes): the
primitives the shards use (shardd/digest.py says what each type contributes) and how
the router puts the shards' parts together (router/servercmd.py).

- ``xor_digest(d, data)``: d ^ SHA1(data) (order-free: set members, hash fields, keys);
- ``mix_digest(d, data)``: SHA1(d ^ SHA1(data)) (ordered: list elements, stream entries);
- the dataset: per database with keys, in order, final = mix(final, the db number as 4
  bytes big-endian), then final ^= SHA1(each key's digest): the keys of a database
  combine by xor, so each shard's xor of its own is a part that xors with the others'.
"""

from __future__ import annotations

import hashlib
import struct

ZERO = bytes(20)
U32 = struct.Struct(">I")


def sha1(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()


def xor_digest(d: bytes, data: bytes) -> bytes:
    """Redis' xorDigest: d ^ SHA1(data)."""
    return (int.from_bytes(d, "big") ^ int.from_bytes(sha1(data), "big")).to_bytes(20, "big")


def mix_digest(d: bytes, data: bytes) -> bytes:
    """Redis' mixDigest: SHA1(d ^ SHA1(data))."""
    return sha1(xor_digest(d, data))


def format_score(score: float) -> bytes:
    """A score as C's printf "%.17g" writes it (Python's %-format is C's)."""
    return b"%.17g" % score


def combine(parts: list) -> str:
    """DEBUG DIGEST from every shard's part ([[db, xor of its keys' SHA1s] ...]): Redis'
    dataset digest, in hex (40 zeros for an empty dataset)."""
    by_db: dict[int, int] = {}
    for part in parts:
        for dbn, acc in part:
            by_db[dbn] = by_db.get(dbn, 0) ^ int.from_bytes(acc, "big")
    final = ZERO
    for dbn in sorted(by_db):
        final = mix_digest(final, U32.pack(dbn))
        final = (int.from_bytes(final, "big") ^ by_db[dbn]).to_bytes(20, "big")
    return final.hex()


def combine_values(parts: list) -> list[str]:
    """DEBUG DIGEST-VALUE from every shard's digests of the keys asked: a key lives on one
    shard (the others answer zeros), so the parts xor into each key's digest, in hex."""
    n = len(parts[0]) if parts else 0
    out = []
    for i in range(n):
        acc = 0
        for part in parts:
            acc ^= int.from_bytes(part[i], "big")
        out.append(acc.to_bytes(20, "big").hex())
    return out
