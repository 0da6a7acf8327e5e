"""Redis Cluster key slots and the slot -> shard table."""

from __future__ import annotations

from binascii import crc_hqx

NSLOTS = 16384


def key_slot(key: bytes) -> int:
    """CRC16-XMODEM of the key (or of its first non-empty ``{tag}``) mod 16384."""
    s = key.find(b"{")
    if s >= 0:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc_hqx(key, 0) & 0x3FFF


def slot_table(nshards: int) -> list[int]:
    """Contiguous slot ranges, as ``CLUSTER ADDSLOTSRANGE`` would lay them out evenly."""
    return [slot * nshards // NSLOTS for slot in range(NSLOTS)]


def shard_ranges(table: list[int]) -> list[list[tuple[int, int]]]:
    """For each shard, its slot ranges as (first, last) inclusive."""
    out: list[list[tuple[int, int]]] = [[] for _ in range(max(table) + 1)]
    start = 0
    for slot in range(1, NSLOTS + 1):
        if slot == NSLOTS or table[slot] != table[start]:
            out[table[start]].append((start, slot - 1))
            start = slot
    return out
