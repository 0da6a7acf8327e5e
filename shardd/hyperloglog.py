"""HyperLogLog: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST, in Redis' own representation.

An HLL is a string, byte for byte the one Redis 7.0 writes (hyperloglog.c), so a
value copied with GET/SET between Redis and shardis works both ways:

    "HYLL" | encoding (1: 0 dense, 1 sparse) | 3 unused | cached cardinality (8,
    little-endian; bit 7 of its last byte set = invalid) | registers

Dense: 16384 registers of 6 bits packed little-endian (register i is bits 6i..6i+5
of the little-endian bit stream), 12288 bytes. Sparse: run-length opcodes, ZERO
``00xxxxxx`` (1..64 zero registers), XZERO ``01xxxxxx yyyyyyyy`` (1..16384), VAL
``1vvvvvxx`` (1..4 registers of value 1..32). The sparse form depends on the
order of the updates (hllSparseSet splits a run in place and merges neighbours in
a window of five opcodes), so ``sparse_set`` repeats that procedure exactly.

Elements hash with MurmurHash64A (seed 0xadc83b19): the low 14 bits pick the
register, the run of zero bits above them (plus one) is its value. PFCOUNT is
Ertl's improved estimator over the registers' histogram, computed in doubles as
Redis does, so counts are Redis' to the unit.

Speed in pure Python: the dense registers are unpacked and packed with
``bytes.translate`` on every third byte and big-integer ORs (no per-register
loop), and a histogram is 64 ``bytes.count`` calls.
"""

from __future__ import annotations

import bisect
import math
import random
import struct

from shardis.commands import CommandTable
from shardis.notify import NOTIFY_KEY_MISS, NOTIFY_STRING
from shardis.resp import OK, ReplyError, Simple
from shardis.shardd.storage import Keyspace

HLL_P = 14
HLL_Q = 64 - HLL_P
HLL_REGISTERS = 1 << HLL_P
HLL_P_MASK = HLL_REGISTERS - 1
HLL_HDR_SIZE = 16
HLL_DENSE_BYTES = HLL_REGISTERS * 6 // 8
HLL_DENSE_SIZE = HLL_HDR_SIZE + HLL_DENSE_BYTES
HLL_DENSE, HLL_SPARSE = 0, 1
SPARSE_VAL_MAX_VALUE = 32
SPARSE_VAL_MAX_LEN = 4
SPARSE_ZERO_MAX_LEN = 64
SPARSE_XZERO_MAX_LEN = 16384
HLL_ALPHA_INF = 0.721347520444481703680
SEED = 0xADC83B19

NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
INVALID_HLL = "INVALIDOBJ Corrupted HLL object detected"

_M64 = (1 << 64) - 1
_MUR_M = 0xC6A4A7935BD1E995


# ---------------------------------------------------------------- hashing


def murmurhash64a(data: bytes, seed: int = SEED) -> int:
    """Redis' MurmurHash64A (little-endian reads), 64-bit result."""
    n = len(data)
    m = _MUR_M
    h = (seed ^ (n * m)) & _M64
    nblocks = n >> 3
    if nblocks:
        for k in struct.unpack_from("<%dQ" % nblocks, data):
            k = (k * m) & _M64
            k ^= k >> 47
            k = (k * m) & _M64
            h ^= k
            h = (h * m) & _M64
    tail = n & 7
    if tail:
        h ^= int.from_bytes(data[n - tail:], "little")
        h = (h * m) & _M64
    h ^= h >> 47
    h = (h * m) & _M64
    h ^= h >> 47
    return h


def pat_len(element: bytes) -> tuple[int, int]:
    """hllPatLen: (register index, value) for an element."""
    h = murmurhash64a(element)
    index = h & HLL_P_MASK
    h >>= HLL_P
    h |= 1 << HLL_Q
    return index, (h & -h).bit_length()  # trailing zeros + 1


# ---------------------------------------------------------------- dense registers

_T_AND63 = bytes(i & 63 for i in range(256))
_T_SHR6 = bytes(i >> 6 for i in range(256))
_T_LO4_SHL2 = bytes((i & 15) << 2 for i in range(256))
_T_SHR4 = bytes(i >> 4 for i in range(256))
_T_LO2_SHL4 = bytes((i & 3) << 4 for i in range(256))
_T_SHR2 = bytes(i >> 2 for i in range(256))
_T_LO2_SHL6 = bytes(((i & 3) << 6) & 0xFF for i in range(256))
_T_LO4_SHL4 = bytes(((i & 15) << 4) & 0xFF for i in range(256))
_T_SHL2 = bytes((i << 2) & 0xFF for i in range(256))
_Q4 = HLL_REGISTERS // 4


def _or(a: bytes | bytearray, b: bytes | bytearray) -> bytes:
    return (int.from_bytes(a, "little") | int.from_bytes(b, "little")).to_bytes(len(a), "little")


def dense_registers(packed: bytes | bytearray) -> bytearray:
    """The 16384 registers of a dense HLL's register bytes, one byte each."""
    b0, b1, b2 = packed[0::3], packed[1::3], packed[2::3]
    regs = bytearray(HLL_REGISTERS)
    regs[0::4] = b0.translate(_T_AND63)
    regs[1::4] = _or(b0.translate(_T_SHR6), b1.translate(_T_LO4_SHL2))
    regs[2::4] = _or(b1.translate(_T_SHR4), b2.translate(_T_LO2_SHL4))
    regs[3::4] = b2.translate(_T_SHR2)
    return regs


def pack_registers(regs: bytes | bytearray) -> bytearray:
    """The dense register bytes of 16384 register values (each 0..63)."""
    r0, r1, r2, r3 = bytes(regs[0::4]), bytes(regs[1::4]), bytes(regs[2::4]), bytes(regs[3::4])
    out = bytearray(HLL_DENSE_BYTES)
    out[0::3] = _or(r0, r1.translate(_T_LO2_SHL6))
    out[1::3] = _or(r1.translate(_T_SHR2), r2.translate(_T_LO4_SHL4))
    out[2::3] = _or(r2.translate(_T_SHR4), r3.translate(_T_SHL2))
    return out


def _dense_get(o: bytearray, i: int) -> int:
    byte = HLL_HDR_SIZE + i * 6 // 8
    fb = i * 6 & 7
    b1 = o[byte + 1] if byte + 1 < len(o) else 0
    return ((o[byte] >> fb) | (b1 << (8 - fb))) & 63


def _dense_put(o: bytearray, i: int, val: int) -> None:
    byte = HLL_HDR_SIZE + i * 6 // 8
    fb = i * 6 & 7
    o[byte] = (o[byte] & ~(63 << fb) & 0xFF) | ((val << fb) & 0xFF)
    if fb > 2:
        fb8 = 8 - fb
        o[byte + 1] = (o[byte + 1] & ~(63 >> fb8) & 0xFF) | (val >> fb8)


def _dense_set(o: bytearray, i: int, count: int) -> int:
    if count > _dense_get(o, i):
        _dense_put(o, i, count)
        return 1
    return 0


# ---------------------------------------------------------------- sparse opcodes


def _at(o: bytes | bytearray, p: int) -> int:
    """A byte of the value, 0 past its end (Redis reads the sds terminator there)."""
    return o[p] if p < len(o) else 0


def _span(o: bytes | bytearray, p: int) -> tuple[int, int]:
    """(registers covered, opcode length) of the opcode at ``p``."""
    b = o[p]
    if b & 0x80:
        return (b & 3) + 1, 1
    if b & 0x40:
        return (((b & 0x3F) << 8) | _at(o, p + 1)) + 1, 2
    return (b & 0x3F) + 1, 1


def _val(value: int, length: int) -> int:
    return 0x80 | ((value - 1) << 2) | (length - 1)


def _zero_run(length: int) -> bytes:
    if length > SPARSE_ZERO_MAX_LEN:
        length -= 1
        return bytes((0x40 | (length >> 8), length & 0xFF))
    return bytes((length - 1,))


def sparse_to_dense(o: bytearray) -> bool:
    """hllSparseToDense, in place; False for a corrupted sparse HLL (``o`` unchanged)."""
    if o[4] == HLL_DENSE:
        return True
    regs = bytearray(HLL_REGISTERS)
    idx = 0
    p, end = HLL_HDR_SIZE, len(o)
    while p < end:
        b = o[p]
        if b & 0x80:
            runlen = (b & 3) + 1
            if runlen + idx > HLL_REGISTERS:
                return False  # (7.0.15: an overflowing run is an error, not a stop)
            regs[idx:idx + runlen] = bytes((((b >> 2) & 0x1F) + 1,)) * runlen
            idx += runlen
            p += 1
        else:
            runlen, oplen = _span(o, p)
            idx += runlen
            p += oplen
    if idx != HLL_REGISTERS:
        return False
    hdr = bytearray(o[:HLL_HDR_SIZE])
    hdr[4] = HLL_DENSE
    o[:] = hdr + pack_registers(regs)
    return True


def _tokens(o: bytes | bytearray, p: int, first: int, stop: int) -> tuple[list[int], list[int]]:
    """The opcodes' byte positions and first registers from ``p`` (its first register
    ``first``) up to byte ``stop``."""
    poss: list[int] = []
    firsts: list[int] = []
    n = len(o)
    while p < stop:
        poss.append(p)
        firsts.append(first)
        b = o[p]
        if b & 0x80:
            first += (b & 3) + 1
            p += 1
        elif b & 0x40:
            first += (((b & 0x3F) << 8) | (o[p + 1] if p + 1 < n else 0)) + 1
            p += 2
        else:
            first += b + 1
            p += 1
    return poss, firsts


class SparseIndex:
    """Where each opcode of a sparse HLL starts (byte position, first register), kept
    across the sets of one command: a set finds its opcode by bisection instead of
    walking the opcodes from the start, and the index is re-read only around the
    opcodes the set changed (the registers the later ones cover do not move; their
    bytes shift by the change in length)."""

    __slots__ = ("pos", "first")

    def __init__(self, o: bytes | bytearray) -> None:
        self.pos, self.first = _tokens(o, HLL_HDR_SIZE, 0, len(o))

    def update(self, o: bytes | bytearray, k: int, delta: int) -> None:
        """Opcodes from index ``k`` on changed (``delta`` bytes more in all); those past
        k + 8 only moved."""
        pos, first = self.pos, self.first
        k = max(k, 0)
        tail = k + 8
        if tail < len(pos):
            stop = pos[tail] + delta
            mid_pos, mid_first = _tokens(o, pos[k], first[k], stop)
            rest = [x + delta for x in pos[tail:]] if delta else pos[tail:]
            self.pos = pos[:k] + mid_pos + rest
            self.first = first[:k] + mid_first + first[tail:]
        else:
            mid_pos, mid_first = _tokens(o, pos[k], first[k], len(o))
            self.pos = pos[:k] + mid_pos
            self.first = first[:k] + mid_first


def sparse_set(o: bytearray, index: int, count: int, max_bytes: int, idx: SparseIndex | None = None) -> int:
    """hllSparseSet: 1 if the register grew, 0 if not, -1 for a corrupted HLL. ``o`` (the
    whole value) changes in place, promoted to dense when it has to be. ``idx``: the
    opcodes' index, kept up to date here (built when None)."""
    if count > SPARSE_VAL_MAX_VALUE:
        return _promote(o, index, count)
    if idx is None:
        idx = SparseIndex(o)
    end = len(o)
    k = bisect.bisect_right(idx.first, index) - 1
    if k < 0 or not idx.pos:
        return -1
    p, first = idx.pos[k], idx.first[k]
    prev: int | None = idx.pos[k - 1] if k > 0 else None
    span, _ = _span(o, p)
    if index > first + span - 1:
        return -1  # past the last opcode: a corrupted HLL
    old_len = len(o)
    b = o[p]
    is_val = bool(b & 0x80)
    is_xzero = not is_val and bool(b & 0x40)
    is_zero = not is_val and not is_xzero
    runlen = span
    updated = False
    if is_val and ((b >> 2) & 0x1F) + 1 >= count:
        return 0  # case A: the register holds as much already
    if is_val and runlen == 1:  # case B: a VAL of one register
        o[p] = _val(count, 1)
        updated = True
    if not updated and is_zero and runlen == 1:
        o[p] = _val(count, 1)
        updated = True
    if not updated:
        last = first + span - 1
        seq = bytearray()
        if is_zero or is_xzero:
            if index != first:
                seq += _zero_run(index - first)
            seq.append(_val(count, 1))
            if index != last:
                seq += _zero_run(last - index)
        else:
            curval = ((b >> 2) & 0x1F) + 1
            if index != first:
                seq.append(_val(curval, index - first))
            seq.append(_val(count, 1))
            if index != last:
                seq.append(_val(curval, last - index))
        oldlen = 2 if is_xzero else 1
        deltalen = len(seq) - oldlen
        if deltalen > 0 and len(o) + deltalen > max_bytes:
            return _promote(o, index, count)
        o[p:p + oldlen] = seq
        end = len(o)
    # Step 4: merge adjacent VAL opcodes of one value, at most five opcodes from prev.
    p = prev if prev is not None else HLL_HDR_SIZE
    scanlen = 5
    while p < end and scanlen > 0:
        scanlen -= 1
        b = o[p]
        if not b & 0x80:
            p += 2 if b & 0x40 else 1
            continue
        if p + 1 < end and o[p + 1] & 0x80:
            b2 = o[p + 1]
            v1 = ((b >> 2) & 0x1F) + 1
            v2 = ((b2 >> 2) & 0x1F) + 1
            if v1 == v2:
                length = (b & 3) + 1 + (b2 & 3) + 1
                if length <= SPARSE_VAL_MAX_LEN:
                    o[p + 1] = _val(v1, length)
                    del o[p]
                    end -= 1
                    continue
        p += 1
    o[15] |= 0x80  # HLL_INVALIDATE_CACHE
    idx.update(o, k - 1, len(o) - old_len)
    return 1


def _promote(o: bytearray, index: int, count: int) -> int:
    if not sparse_to_dense(o):
        return -1
    _dense_set(o, index, count)
    return 1


# ---------------------------------------------------------------- histograms and counts


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        z_prime = z
        z += x * y
        y += y
        if z_prime == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        z_prime = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if z_prime == z:
            return z / 3


def count_from_histogram(hist: list[int]) -> int:
    """hllCount's estimate from the registers' histogram (64 entries)."""
    m = float(HLL_REGISTERS)
    z = m * _tau((m - hist[HLL_Q + 1]) / m)
    for j in range(HLL_Q, 0, -1):
        z += hist[j]
        z *= 0.5
    z += m * _sigma(hist[0] / m)
    e = HLL_ALPHA_INF * m * m / z
    f = math.floor(e)
    return int(f) + (1 if e - f >= 0.5 else 0)  # llroundl: halves away from zero


def registers_histogram(regs: bytes | bytearray) -> list[int]:
    return [regs.count(v) for v in range(64)]


def sparse_histogram(o: bytes | bytearray) -> tuple[list[int], bool]:
    """hllSparseRegHisto: (histogram, valid)."""
    hist = [0] * 64
    idx = 0
    p, end = HLL_HDR_SIZE, len(o)
    while p < end:
        b = o[p]
        if b & 0x80:
            runlen = (b & 3) + 1
            hist[((b >> 2) & 0x1F) + 1] += runlen
            idx += runlen
            p += 1
        else:
            runlen, oplen = _span(o, p)
            hist[0] += runlen
            idx += runlen
            p += oplen
    return hist, idx == HLL_REGISTERS


def merge_into(regs: bytearray, o: bytes | bytearray) -> bool:
    """hllMerge: regs[i] = max(regs[i], o's register i); False for a corrupted sparse HLL."""
    if o[4] == HLL_DENSE:
        other = dense_registers(o[HLL_HDR_SIZE:HLL_DENSE_SIZE])
        if not any(regs):
            regs[:] = other
        else:
            regs[:] = bytes(map(max, regs, other))
        return True
    i = 0
    p, end = HLL_HDR_SIZE, len(o)
    while p < end:
        b = o[p]
        if b & 0x80:
            runlen = (b & 3) + 1
            if runlen + i > HLL_REGISTERS:
                return False
            val = ((b >> 2) & 0x1F) + 1
            for k in range(i, i + runlen):
                if val > regs[k]:
                    regs[k] = val
            i += runlen
            p += 1
        else:
            runlen, oplen = _span(o, p)
            i += runlen
            p += oplen
    return i == HLL_REGISTERS


def new_hll() -> bytearray:
    """createHLLObject: an empty sparse HLL."""
    o = bytearray(b"HYLL\x01" + bytes(11))
    aux = HLL_REGISTERS
    while aux:
        x = min(aux, SPARSE_XZERO_MAX_LEN) - 1
        o += bytes((0x40 | (x >> 8), x & 0xFF))
        aux -= x + 1
    return o


def is_hll(value: bytes) -> bool:
    """isHLLObjectOrReply's checks of a string's bytes."""
    if len(value) < HLL_HDR_SIZE or value[:4] != b"HYLL" or value[4] > HLL_SPARSE:
        return False
    return value[4] != HLL_DENSE or len(value) == HLL_DENSE_SIZE


def hll_add(o: bytearray, element: bytes, max_bytes: int, idx: SparseIndex | None = None) -> int:
    """hllAdd; ``idx``: the sparse opcodes' index when the caller keeps one."""
    index, count = pat_len(element)
    enc = o[4]
    if enc == HLL_DENSE:
        return _dense_set(o, index, count)
    if enc == HLL_SPARSE:
        return sparse_set(o, index, count, max_bytes, idx)
    return -1


def hll_count(o: bytes | bytearray) -> tuple[int, bool]:
    """(hllCount, valid) of a dense or sparse HLL."""
    if o[4] == HLL_DENSE:
        regs = dense_registers(o[HLL_HDR_SIZE:HLL_DENSE_SIZE])
        return count_from_histogram(registers_histogram(regs)), True
    hist, valid = sparse_histogram(o)
    return count_from_histogram(hist), valid


# ---------------------------------------------------------------- key access


def _lookup_hll(ks: Keyspace, db: int, key: bytes) -> tuple[bytes | None, bytes | None]:
    """(record, value) of an HLL key, (None, None) when absent; WRONGTYPE otherwise."""
    raw = ks.string_record(db, key)
    if raw is None:
        return None, None
    value = ks.string_value(raw)
    if not is_hll(value):
        raise ReplyError(NOT_HLL)
    return raw, value


def _store(ks: Keyspace, db: int, key: bytes, raw: bytes | None, value: bytearray) -> None:
    """Write an HLL back in place: its TTL kept."""
    ks.set_string(db, key, bytes(value), ks.expire_of(raw) if raw else 0, old=raw)


# ---------------------------------------------------------------- the commands


def pfadd(ks: Keyspace, db: int, args: list[bytes]) -> int:
    key = args[1]
    raw, value = _lookup_hll(ks, db, key)
    updated = 0
    if value is None:
        o = new_hll()
        updated = 1
    else:
        o = bytearray(value)
    max_bytes = ks.store.hll_sparse_max_bytes
    idx = SparseIndex(o) if o[4] == HLL_SPARSE and len(args) > 3 else None
    for element in args[2:]:
        r = hll_add(o, element, max_bytes, idx)
        if r == 1:
            updated += 1
        elif r == -1:
            if o != value:  # (Redis changed the value in place up to here)
                _store(ks, db, key, raw, o)
            raise ReplyError(INVALID_HLL)
    if updated:
        o[15] |= 0x80
        _store(ks, db, key, raw, o)
        ks.notify(NOTIFY_STRING, b"pfadd", db, key)
    return 1 if updated else 0


def pfcount(ks: Keyspace, db: int, args: list[bytes]) -> int:
    if len(args) > 2:
        regs = bytearray(HLL_REGISTERS)
        for key in args[1:]:
            _, value = _lookup_hll(ks, db, key)
            if value is None:
                continue
            if not merge_into(regs, value):
                raise ReplyError(INVALID_HLL)
        return count_from_histogram(registers_histogram(regs))
    key = args[1]
    raw, value = _lookup_hll(ks, db, key)
    if value is None:
        return 0
    if not value[15] & 0x80:
        return int.from_bytes(value[8:16], "little")
    card, valid = hll_count(value)
    if not valid:
        raise ReplyError(INVALID_HLL)
    o = bytearray(value)
    o[8:16] = card.to_bytes(8, "little")
    _store(ks, db, key, raw, o)
    return card


def pfmerge(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    regs = bytearray(HLL_REGISTERS)
    use_dense = False
    for key in args[1:]:
        raw = ks.lookup(db, key)
        ks.count_read(raw is not None)  # (lookupKeyRead, the destination too)
        if raw is None:
            ks.notify(NOTIFY_KEY_MISS, b"keymiss", db, key)  # lookupKeyRead
            continue
        _, value = _lookup_hll(ks, db, key)
        assert value is not None  # (``raw``: the key exists)
        if value[4] == HLL_DENSE:
            use_dense = True
        if not merge_into(regs, value):
            raise ReplyError(INVALID_HLL)
    dest = args[1]
    raw = ks.lookup(db, dest)
    o = new_hll() if raw is None else bytearray(ks.string_value(raw))
    if use_dense and not sparse_to_dense(o):
        if raw is None:  # (Redis added the new key before the conversion)
            _store(ks, db, dest, None, o)
        raise ReplyError(INVALID_HLL)
    if o[4] == HLL_DENSE:
        cur = dense_registers(o[HLL_HDR_SIZE:HLL_DENSE_SIZE])
        merged = bytes(map(max, cur, regs))
        o[HLL_HDR_SIZE:HLL_DENSE_SIZE] = pack_registers(merged)
    else:
        sidx = SparseIndex(o)
        max_bytes = ks.store.hll_sparse_max_bytes
        dense_rest: list[int] = []
        for j in range(HLL_REGISTERS):
            v = regs[j]
            if not v:
                continue
            if o[4] == HLL_DENSE:
                dense_rest.append(j)
                continue
            sparse_set(o, j, v, max_bytes, sidx)
        if dense_rest:
            cur = dense_registers(o[HLL_HDR_SIZE:HLL_DENSE_SIZE])
            for j in dense_rest:
                if regs[j] > cur[j]:
                    cur[j] = regs[j]
            o[HLL_HDR_SIZE:HLL_DENSE_SIZE] = pack_registers(cur)
    o[15] |= 0x80
    _store(ks, db, dest, raw, o)
    ks.notify(NOTIFY_STRING, b"pfadd", db, dest)
    return OK


def pfdebug(ks: Keyspace, db: int, args: list[bytes]) -> object:
    sub = args[1].split(b"\0", 1)[0]
    key = args[2]
    raw = ks.lookup(db, key)
    if raw is None:
        raise ReplyError("ERR The specified key does not exist")
    raw, value = _lookup_hll(ks, db, key)
    assert value is not None and raw is not None
    o = bytearray(value)
    low = sub.lower()
    if low == b"getreg":
        if o[4] == HLL_SPARSE:
            if not sparse_to_dense(o):
                raise ReplyError(INVALID_HLL)
            _store(ks, db, key, raw, o)
        return list(dense_registers(o[HLL_HDR_SIZE:HLL_DENSE_SIZE]))
    if low == b"decode":
        if o[4] != HLL_SPARSE:
            raise ReplyError("ERR HLL encoding is not sparse")
        parts = []
        p, end = HLL_HDR_SIZE, len(o)
        while p < end:
            b = o[p]
            if b & 0x80:
                parts.append(b"v:%d,%d" % (((b >> 2) & 0x1F) + 1, (b & 3) + 1))
                p += 1
            else:
                runlen, oplen = _span(o, p)
                parts.append(b"%s:%d" % (b"Z" if oplen == 2 else b"z", runlen))
                p += oplen
        return b" ".join(parts)
    if low == b"encoding":
        return Simple("dense" if o[4] == HLL_DENSE else "sparse")
    if low == b"todense":
        if o[4] == HLL_SPARSE:
            if not sparse_to_dense(o):
                raise ReplyError(INVALID_HLL)
            _store(ks, db, key, raw, o)
            return 1
        return 0
    raise ReplyError("ERR Unknown PFDEBUG subcommand '%s'" % sub.decode("latin-1"))


def pfselftest(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    """PFSELFTEST: the registers' packing, and dense and sparse counts agreeing."""
    rng = random.Random(ks.now)
    for _ in range(20):
        regs = rng.randbytes(HLL_REGISTERS).translate(_T_AND63)
        packed = bytearray(HLL_HDR_SIZE) + pack_registers(regs)
        if dense_registers(packed[HLL_HDR_SIZE:]) != regs:
            raise ReplyError("TESTFAILED Register error")
        for j in range(0, HLL_REGISTERS, 97):
            if _dense_get(packed, j) != regs[j]:
                raise ReplyError("TESTFAILED Register error at %d" % j)
    sparse = new_hll()
    dense = new_hll()
    sparse_to_dense(dense)
    seed = rng.getrandbits(32)
    idx = SparseIndex(sparse)
    for j in range(1, 1001):
        element = b"%d-%d" % (seed, j)
        hll_add(sparse, element, 1 << 30, idx)
        hll_add(dense, element, 1 << 30)
        if j % 100 == 0:
            a, b = hll_count(sparse)[0], hll_count(dense)[0]
            if a != b:
                raise ReplyError("TESTFAILED dense/sparse disagree: %d vs %d" % (a, b))
            if abs(a - j) > j * 0.05 + 2:
                raise ReplyError("TESTFAILED Too big error. card:%d error:%d" % (j, abs(a - j)))
    return OK


# ---------------------------------------------------------------- the command table


def register(table: CommandTable) -> None:
    """The HyperLogLog commands, as Redis 7.0's COMMAND INFO and COMMAND DOCS describe them."""
    cmd = table.command
    cmd("pfadd", -2, "write denyoom fast", 1, 1, 1, group="hyperloglog", since="2.8.9",
        complexity="O(1) to add every element.",
        summary="Adds the specified elements to the specified HyperLogLog.",
        acl="@write @hyperloglog @fast")(pfadd)
    cmd("pfcount", -2, "readonly", 1, -1, 1, group="hyperloglog", since="2.8.9",
        complexity="O(1) with a very small average constant time when called with a single key. "
                   "O(N) with N being the number of keys, and much bigger constant times, when "
                   "called with multiple keys.",
        summary="Return the approximated cardinality of the set(s) observed by the HyperLogLog "
                "at key(s).", acl="@read @hyperloglog @slow")(pfcount)
    cmd("pfmerge", -2, "write denyoom", 1, -1, 1, group="hyperloglog", since="2.8.9",
        complexity="O(N) to merge N HyperLogLogs, but with high constant times.",
        summary="Merge N different HyperLogLogs into a single one.",
        acl="@write @hyperloglog @slow")(pfmerge)
    cmd("pfdebug", 3, "write denyoom admin", 2, 2, 1, group="hyperloglog", since="2.8.9",
        complexity="N/A", summary="Internal commands for debugging HyperLogLog values",
        acl="@write @hyperloglog @admin @slow @dangerous")(pfdebug)
    cmd("pfselftest", 1, "admin", group="hyperloglog", since="2.8.9", complexity="N/A",
        summary="An internal command for testing HyperLogLog values",
        acl="@hyperloglog @admin @slow @dangerous")(pfselftest)
