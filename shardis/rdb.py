"""Redis' RDB serialization, as DUMP / RESTORE / MIGRATE and FUNCTION DUMP / RESTORE
exchange it with redis-server 7.0. Bytes in, values out: nothing here touches storage.

The pieces, each as Redis 7.0 writes and reads it:

- CRC-64 (Jones, src/crc64.c) and the DUMP footer: RDB version (2 bytes, little-endian)
  and the CRC-64 of all before it (8 bytes, little-endian).
- LZF (lzf_c.c / lzf_d.c): ``lzf_compress`` follows lzf_c.c as Redis builds it (HLOG 16,
  VERY_FAST, offsets in the hash table), with a zeroed table. Redis leaves its table
  uninitialised, so its own output is not fully deterministic; any valid LZF stream is
  read by every Redis, and this one is, for the inputs tried, the bytes Redis writes.
- RDB lengths and strings (rdbSaveLen, rdbSaveRawString: integers of up to 11
  characters that fit 32 bits as integers, longer than 20 bytes LZF-compressed when
  that saves 4 bytes or more and ``rdbcompression`` is on).
- The compact encodings inside payloads: listpack (read and written), intset (read and
  written), ziplist and zipmap (read: older Redis wrote them and 7.0 still takes them).
- Whole values: ``dump_*`` write the object type byte and payload Redis 7.0 writes
  (``RDB_TYPE_STRING``, ``LIST_QUICKLIST_2``, ``SET_INTSET`` / ``SET``, ``ZSET_LISTPACK`` /
  ``ZSET_2``, ``HASH_LISTPACK`` / ``HASH``, ``STREAM_LISTPACKS_2``); ``load_object`` reads
  every type rdbLoadObject in 7.0 reads (module types excepted: no modules here), the
  older encodings included, and raises ``ValueError`` on anything malformed (RESTORE's
  "Bad data format"). It checks what Redis' deep sanitisation checks (duplicates, order,
  counts), always: shardis stores values member by member and cannot keep a broken one.
"""

from __future__ import annotations

import math
import struct
from typing import Iterable, Union

from shardis.resp import string2ll

RDB_VERSION = 10              # Redis 7.0's
OPCODE_FUNCTION2 = 245        # a library's code (RDB_OPCODE_FUNCTION2)
OPCODE_FUNCTION_PRE_GA = 246  # 7.0 release candidates' format (refused, as Redis refuses it)

# Object types (rdb.h). 8 was never used; 6 and 7 are modules'.
TYPE_STRING = 0
TYPE_LIST = 1
TYPE_SET = 2
TYPE_ZSET = 3
TYPE_HASH = 4
TYPE_ZSET_2 = 5
TYPE_MODULE_PRE_GA = 6
TYPE_MODULE_2 = 7
TYPE_HASH_ZIPMAP = 9
TYPE_LIST_ZIPLIST = 10
TYPE_SET_INTSET = 11
TYPE_ZSET_ZIPLIST = 12
TYPE_HASH_ZIPLIST = 13
TYPE_LIST_QUICKLIST = 14
TYPE_STREAM_LISTPACKS = 15
TYPE_HASH_LISTPACK = 16
TYPE_ZSET_LISTPACK = 17
TYPE_LIST_QUICKLIST_2 = 18
TYPE_STREAM_LISTPACKS_2 = 19

# What ``load_object`` returns a value as (the kind, then the value: see there).
KIND_STRING, KIND_LIST, KIND_SET, KIND_ZSET, KIND_HASH, KIND_STREAM = 0, 1, 2, 3, 4, 5

QUICKLIST_PLAIN = 1           # a quicklist node holding one element as is
QUICKLIST_PACKED = 2          # a quicklist node holding a listpack
LIST_FILL = -2                # list-max-listpack-size's default: 8 kB nodes
U64 = 2 ** 64 - 1

_POLY = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9 reflected


def _table() -> list[int]:
    out = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        out.append(crc)
    return out


_CRC = _table()


def crc64(data: bytes, crc: int = 0) -> int:
    table = _CRC
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


# ---------------------------------------------------------------- LZF

_HSIZE = 1 << 16   # HLOG 16
_MAX_LIT = 1 << 5
_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)


def lzf_compress(data: bytes, out_len: int) -> bytes | None:
    """lzf_compress: the LZF stream of ``data`` if it fits ``out_len`` bytes, else None.

    lzf_c.c's loop as Redis compiles it (VERY_FAST): a hash of the next three bytes
    (and the one before, through the 32-bit running value) finds the last position
    with that hash; a match of at least 3 bytes within 8 kB becomes a back reference."""
    n = len(data)
    if n == 0 or out_len == 0:
        return None
    htab = [0] * _HSIZE
    out = bytearray(b"\0")  # the first literal run's header
    hp = 0                  # where the open run's header is
    lit = 0
    ip = 0
    hval = (data[0] << 8) | data[1] if n > 1 else 0
    end2 = n - 2
    while ip < end2:
        hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
        slot = ((hval >> 8) - hval * 5) & 0xFFFF
        ref = htab[slot]
        htab[slot] = ip
        off = ip - ref - 1
        if (ref > 0 and 0 <= off < _MAX_OFF and data[ref + 2] == data[ip + 2]
                and data[ref] == data[ip] and data[ref + 1] == data[ip + 1]):
            op = len(out)
            if op + 4 >= out_len and op - (lit == 0) + 4 >= out_len:
                return None
            if lit:
                out[hp] = lit - 1
            else:
                del out[-1]  # (an empty run: its header goes)
            maxlen = n - ip - 2
            if maxlen > _MAX_REF:
                maxlen = _MAX_REF
            length = 3
            while length < maxlen and data[ref + length] == data[ip + length]:
                length += 1
            length -= 2  # now the count of bytes less one, less the first
            ip += 1
            if length < 7:
                out.append((off >> 8) + (length << 5))
            else:
                out.append((off >> 8) + (7 << 5))
                out.append(length - 7)
            out.append(off & 0xFF)
            lit = 0
            hp = len(out)
            out.append(0)
            ip += length + 1
            if ip >= end2:
                break
            ip -= 2
            hval = (data[ip] << 8) | data[ip + 1]
            hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
            htab[((hval >> 8) - hval * 5) & 0xFFFF] = ip
            ip += 1
            hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
            htab[((hval >> 8) - hval * 5) & 0xFFFF] = ip
            ip += 1
        else:
            if len(out) >= out_len:
                return None
            lit += 1
            out.append(data[ip])
            ip += 1
            if lit == _MAX_LIT:
                out[hp] = lit - 1
                lit = 0
                hp = len(out)
                out.append(0)
    if len(out) + 3 > out_len:
        return None
    while ip < n:
        lit += 1
        out.append(data[ip])
        ip += 1
        if lit == _MAX_LIT:
            out[hp] = lit - 1
            lit = 0
            hp = len(out)
            out.append(0)
    if lit:
        out[hp] = lit - 1
    else:
        del out[-1]
    return bytes(out)


def lzf_decompress(data: bytes, length: int) -> bytes:
    """LZF's decompression (what Redis writes for compressible strings over 20 bytes)."""
    out = bytearray()
    ip, n = 0, len(data)
    while ip < n:
        ctrl = data[ip]
        ip += 1
        if ctrl < 32:
            run = ctrl + 1
            if ip + run > n:
                raise ValueError("truncated LZF literal")
            out += data[ip:ip + run]
            ip += run
            continue
        run = ctrl >> 5
        if run == 7:
            if ip >= n:
                raise ValueError("truncated LZF reference")
            run += data[ip]
            ip += 1
        if ip >= n:
            raise ValueError("truncated LZF reference")
        ref = len(out) - ((ctrl & 0x1F) << 8) - data[ip] - 1
        ip += 1
        if ref < 0:
            raise ValueError("bad LZF back reference")
        run += 2
        if ref + run <= len(out):
            out += out[ref:ref + run]
        else:  # the copy overlaps what it writes: the distance's pattern repeats
            pattern = bytes(out[ref:])
            out += (pattern * (run // len(pattern) + 1))[:run]
        if len(out) > length:
            raise ValueError("LZF length mismatch")
    if len(out) != length:
        raise ValueError("LZF length mismatch")
    return bytes(out)


# ---------------------------------------------------------------- lengths and strings


def encode_length(n: int) -> bytes:
    if n < 64:
        return bytes((n,))
    if n < 16384:
        return bytes((0x40 | n >> 8, n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def encode_string(s: bytes) -> bytes:
    """A string as rdbSaveRawString writes it uncompressed (any RDB reader takes it)."""
    return encode_length(len(s)) + s


def save_string(s: bytes, compress: bool = True) -> bytes:
    """rdbSaveRawString: a short integer as one, a compressible long string as LZF
    (``compress``: rdbcompression), else length and bytes."""
    n = len(s)
    if n <= 11:
        v = string2ll(s)
        if v is not None:
            if -128 <= v <= 127:
                return b"\xc0" + struct.pack("<b", v)
            if -32768 <= v <= 32767:
                return b"\xc1" + struct.pack("<h", v)
            if -2 ** 31 <= v < 2 ** 31:
                return b"\xc2" + struct.pack("<i", v)
    if compress and n > 20:
        packed = lzf_compress(s, n - 4)
        if packed is not None:
            return b"\xc3" + encode_length(len(packed)) + encode_length(n) + packed
    return encode_length(n) + s


def read_length(data: bytes, pos: int) -> tuple[int, bool, int]:
    """(length or encoding type, whether it is a special encoding, next position)."""
    if pos >= len(data):
        raise ValueError("truncated length")
    b = data[pos]
    kind = b >> 6
    if kind == 0:
        return b & 0x3F, False, pos + 1
    if kind == 1:
        if pos + 1 >= len(data):
            raise ValueError("truncated length")
        return (b & 0x3F) << 8 | data[pos + 1], False, pos + 2
    if kind == 3:
        return b & 0x3F, True, pos + 1
    if b == 0x80:
        return struct.unpack_from(">I", data, pos + 1)[0], False, pos + 5
    if b == 0x81:
        return struct.unpack_from(">Q", data, pos + 1)[0], False, pos + 9
    raise ValueError("bad RDB length")


def read_string(data: bytes, pos: int) -> tuple[bytes, int]:
    """rdbGenericLoadStringObject: (the string, next position)."""
    try:
        n, special, pos = read_length(data, pos)
        if not special:
            if pos + n > len(data):
                raise ValueError("truncated string")
            return data[pos:pos + n], pos + n
        if n == 0:
            return b"%d" % struct.unpack_from("<b", data, pos)[0], pos + 1
        if n == 1:
            return b"%d" % struct.unpack_from("<h", data, pos)[0], pos + 2
        if n == 2:
            return b"%d" % struct.unpack_from("<i", data, pos)[0], pos + 4
        if n == 3:
            clen, special, pos = read_length(data, pos)
            ulen, special2, pos = read_length(data, pos)
            if special or special2 or pos + clen > len(data):
                raise ValueError("bad LZF string")
            return lzf_decompress(data[pos:pos + clen], ulen), pos + clen
    except struct.error:
        raise ValueError("truncated string") from None
    raise ValueError("bad RDB string encoding")


def footer(payload: bytes) -> bytes:
    """DUMP's footer: the RDB version (2 bytes) and the CRC-64 of all before it."""
    body = payload + struct.pack("<H", RDB_VERSION)
    return body + struct.pack("<Q", crc64(body))


def check_footer(payload: bytes) -> bytes | None:
    """The payload without its footer, or None when the version or checksum is wrong
    (verifyDumpPayload: a newer RDB version, or any checksum but the right one)."""
    if len(payload) < 10:
        return None
    version = struct.unpack_from("<H", payload, len(payload) - 10)[0]
    if version > RDB_VERSION:
        return None
    crc = struct.unpack_from("<Q", payload, len(payload) - 8)[0]
    if crc64(payload[:-8]) != crc:
        return None
    return payload[:-10]


class Reader:
    """A cursor over a payload; every read past its end raises ValueError."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("truncated payload")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def length(self) -> int:
        try:
            n, special, self.pos = read_length(self.data, self.pos)
        except struct.error:
            raise ValueError("truncated length") from None
        if special:
            raise ValueError("an encoded value where a length belongs")
        return n

    def string(self) -> bytes:
        s, self.pos = read_string(self.data, self.pos)
        return s

    def millis(self) -> int:
        """rdbLoadMillisecondTime: 8 bytes, little-endian, signed."""
        return struct.unpack("<q", self.take(8))[0]

    def binary_double(self) -> float:
        return struct.unpack("<d", self.take(8))[0]

    def old_double(self) -> float:
        """rdbLoadDoubleValue: a length byte (253 nan, 254 inf, 255 -inf), then text."""
        n = self.byte()
        if n == 253:
            return math.nan
        if n == 254:
            return math.inf
        if n == 255:
            return -math.inf
        return _parse_double(self.take(n))


def _parse_double(s: bytes) -> float:
    try:
        return float(s)
    except ValueError:
        raise ValueError("bad double") from None


def d2string(d: float) -> bytes:
    """Redis' d2string: an integral double within +-2**62 as an integer, else %.17g."""
    if d != d:
        return b"nan"
    if d in (math.inf, -math.inf):
        return b"inf" if d > 0 else b"-inf"
    if d.is_integer() and -(2 ** 62) <= d <= 2 ** 62:
        return b"%d" % d
    return b"%.17g" % d


# ---------------------------------------------------------------- listpack

LpItem = Union[bytes, int]


def _backlen(n: int) -> bytes:
    """lpEncodeBacklen: an entry's size, written to be read backwards."""
    if n <= 127:
        return bytes((n,))
    if n < 16383:
        return bytes((n >> 7, (n & 127) | 128))
    if n < 2097151:
        return bytes((n >> 14, ((n >> 7) & 127) | 128, (n & 127) | 128))
    if n < 268435455:
        return bytes((n >> 21, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128, (n & 127) | 128))
    return bytes((n >> 28, ((n >> 21) & 127) | 128, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128,
                  (n & 127) | 128))


def _backlen_size(n: int) -> int:
    return 1 if n <= 127 else 2 if n < 16383 else 3 if n < 2097151 else 4 if n < 268435455 else 5


def _lp_int(v: int) -> bytes:
    if 0 <= v <= 127:
        return bytes((v,))
    if -4096 <= v <= 4095:
        u = v & 0x1FFF
        return bytes((0xC0 | u >> 8, u & 0xFF))
    if -32768 <= v <= 32767:
        return b"\xf1" + (v & 0xFFFF).to_bytes(2, "little")
    if -8388608 <= v <= 8388607:
        return b"\xf2" + (v & 0xFFFFFF).to_bytes(3, "little")
    if -2 ** 31 <= v < 2 ** 31:
        return b"\xf3" + (v & 0xFFFFFFFF).to_bytes(4, "little")
    return b"\xf4" + (v & U64).to_bytes(8, "little")


def lp_entry(x: LpItem) -> bytes:
    """One listpack entry (encoding, data, back length): a string that is a canonical
    64-bit integer is stored as that integer, as lpAppend does."""
    if isinstance(x, int):
        enc = _lp_int(x)
    else:
        v = string2ll(x)
        if v is not None:
            enc = _lp_int(v)
        else:
            n = len(x)
            if n < 64:
                enc = bytes((0x80 | n,)) + x
            elif n < 4096:
                enc = bytes((0xE0 | n >> 8, n & 0xFF)) + x
            else:
                enc = b"\xf0" + n.to_bytes(4, "little") + x
    return enc + _backlen(len(enc))


def listpack(items: Iterable[LpItem]) -> bytes:
    """A listpack of ``items`` (integers, and strings stored as lpAppend stores them)."""
    entries = [lp_entry(x) for x in items]
    size = 6 + sum(len(e) for e in entries) + 1
    count = min(len(entries), 65535)
    return struct.pack("<IH", size, count) + b"".join(entries) + b"\xff"


def lp_items(blob: bytes) -> list[LpItem]:
    """Every entry of a listpack (integers as int), its structure checked."""
    n = len(blob)
    if n < 7 or int.from_bytes(blob[0:4], "little") != n or blob[-1] != 0xFF:
        raise ValueError("bad listpack header")
    count = int.from_bytes(blob[4:6], "little")
    out: list[LpItem] = []
    p = 6
    end = n - 1
    while p < end:
        b = blob[p]
        v: LpItem
        if b < 0x80:
            v, size = b, 1
        elif b < 0xC0:
            size = 1 + (b & 0x3F)
            v = blob[p + 1:p + size]
        elif b < 0xE0:
            if p + 2 > end:
                raise ValueError("truncated listpack entry")
            u = ((b & 0x1F) << 8) | blob[p + 1]
            v, size = (u - 8192 if u >= 4096 else u), 2
        elif b < 0xF0:
            if p + 2 > end:
                raise ValueError("truncated listpack entry")
            size = 2 + (((b & 0x0F) << 8) | blob[p + 1])
            v = blob[p + 2:p + size]
        elif b == 0xF0:
            if p + 5 > end:
                raise ValueError("truncated listpack entry")
            size = 5 + int.from_bytes(blob[p + 1:p + 5], "little")
            v = blob[p + 5:p + size]
        elif b <= 0xF4:
            width = (2, 3, 4, 8)[b - 0xF1]
            size = 1 + width
            if p + size > end:
                raise ValueError("truncated listpack entry")
            v = int.from_bytes(blob[p + 1:p + size], "little", signed=True)
        else:
            raise ValueError("bad listpack encoding")
        bl = _backlen_size(size)
        if p + size + bl > end or blob[p + size:p + size + bl] != _backlen(size):
            raise ValueError("bad listpack entry")
        p += size + bl
        out.append(v)
    if count != 65535 and count != len(out):
        raise ValueError("listpack count mismatch")
    return out


def item_bytes(x: LpItem) -> bytes:
    """An entry as the string it stands for."""
    return b"%d" % x if isinstance(x, int) else x


def item_int(x: LpItem) -> int:
    """An entry that must be an integer (stream metadata)."""
    if isinstance(x, int):
        return x
    v = string2ll(x)
    if v is None:
        raise ValueError("an integer expected")
    return v


def item_score(x: LpItem) -> float:
    """A sorted set's score entry (zzlGetScore: an integer, or text for strtod)."""
    d = float(x) if isinstance(x, int) else _parse_double(x)
    if d != d:
        raise ValueError("NaN score")
    return d


# ---------------------------------------------------------------- intset, ziplist, zipmap


def intset(values: list[int]) -> bytes:
    """An intset of sorted, distinct integers, in the narrowest encoding that holds them."""
    lo = min(values) if values else 0
    hi = max(values) if values else 0
    enc = 2 if -32768 <= lo and hi <= 32767 else 4 if -2 ** 31 <= lo and hi < 2 ** 31 else 8
    return struct.pack("<II", enc, len(values)) + b"".join(v.to_bytes(enc, "little", signed=True)
                                                           for v in values)


def intset_values(blob: bytes) -> list[int]:
    if len(blob) < 8:
        raise ValueError("bad intset")
    enc, n = struct.unpack_from("<II", blob)
    if enc not in (2, 4, 8) or len(blob) != 8 + n * enc:
        raise ValueError("bad intset")
    out = [int.from_bytes(blob[i:i + enc], "little", signed=True) for i in range(8, len(blob), enc)]
    if any(out[i] >= out[i + 1] for i in range(len(out) - 1)):
        raise ValueError("intset out of order")
    return out


def ziplist_items(blob: bytes) -> list[LpItem]:
    """Every entry of a ziplist (the compact encoding before listpack), checked."""
    n = len(blob)
    if n < 11 or struct.unpack_from("<I", blob)[0] != n or blob[-1] != 0xFF:
        raise ValueError("bad ziplist header")
    count = struct.unpack_from("<H", blob, 8)[0]
    out: list[LpItem] = []
    p = 10
    end = n - 1
    try:
        while p < end:
            b = blob[p]
            if b < 254:
                p += 1
            elif b == 254:
                p += 5
            else:
                raise ValueError("bad ziplist entry")
            e = blob[p]
            v: LpItem
            if e >> 6 == 0:
                size = e & 0x3F
                v = blob[p + 1:p + 1 + size]
                p += 1 + size
            elif e >> 6 == 1:
                size = ((e & 0x3F) << 8) | blob[p + 1]
                v = blob[p + 2:p + 2 + size]
                p += 2 + size
            elif e == 0x80:
                size = struct.unpack_from(">I", blob, p + 1)[0]
                v = blob[p + 5:p + 5 + size]
                p += 5 + size
            elif e == 0xC0:
                v = struct.unpack_from("<h", blob, p + 1)[0]
                p += 3
            elif e == 0xD0:
                v = struct.unpack_from("<i", blob, p + 1)[0]
                p += 5
            elif e == 0xE0:
                v = struct.unpack_from("<q", blob, p + 1)[0]
                p += 9
            elif e == 0xF0:
                v = int.from_bytes(blob[p + 1:p + 4], "little", signed=True)
                p += 4
            elif e == 0xFE:
                v = struct.unpack_from("<b", blob, p + 1)[0]
                p += 2
            elif 0xF1 <= e <= 0xFD:
                v = (e & 0x0F) - 1
                p += 1
            else:
                raise ValueError("bad ziplist encoding")
            if p > end:
                raise ValueError("truncated ziplist")
            out.append(v)
    except (IndexError, struct.error):
        raise ValueError("truncated ziplist") from None
    if p != end or (count != 65535 and count != len(out)):
        raise ValueError("bad ziplist")
    return out


def zipmap_pairs(blob: bytes) -> list[tuple[bytes, bytes]]:
    """The (field, value) pairs of a zipmap (Redis 2.4's small hashes)."""

    def length(p: int) -> tuple[int, int]:
        b = blob[p]
        if b < 254:
            return b, p + 1
        if b == 254:
            return struct.unpack_from("<I", blob, p + 1)[0], p + 5
        raise ValueError("bad zipmap length")

    out = []
    p = 1
    try:
        while blob[p] != 0xFF:
            klen, p = length(p)
            field = blob[p:p + klen]
            p += klen
            vlen, p = length(p)
            free = blob[p]
            value = blob[p + 1:p + 1 + vlen]
            p += 1 + vlen + free
            if len(field) != klen or len(value) != vlen:
                raise ValueError("truncated zipmap")
            out.append((field, value))
    except (IndexError, struct.error):
        raise ValueError("truncated zipmap") from None
    if p != len(blob) - 1:
        raise ValueError("bad zipmap")
    return out


# ---------------------------------------------------------------- streams

StreamID = tuple[int, int]
STREAM_ITEM_DELETED = 1
STREAM_ITEM_SAMEFIELDS = 2


class StreamGroup:
    """A consumer group as the payload has it. ``entries_read`` None: the payload did not
    say (RDB_TYPE_STREAM_LISTPACKS), the reader estimates it as Redis does. ``pel``:
    (entry ID, delivery time ms, delivery count, owner); ``consumers``: (name, seen
    time ms), in the payload's order."""

    __slots__ = ("name", "last", "entries_read", "pel", "consumers")

    def __init__(self, name: bytes, last: StreamID, entries_read: int | None) -> None:
        self.name = name
        self.last = last
        self.entries_read = entries_read
        self.pel: list[tuple[StreamID, int, int, bytes]] = []
        self.consumers: list[tuple[bytes, int]] = []


class StreamNode:
    """One listpack of a stream: its master ID (the radix tree key), its live entries
    (ID, [field, value, ...]), how many deleted ones it still holds, its bytes, the ID
    of its last entry (deleted or not) and its master entry's field names (read from a
    payload: None when unknown)."""

    __slots__ = ("master", "entries", "deleted", "size", "last", "fields")

    def __init__(self, master: StreamID, entries: list[tuple[StreamID, list[bytes]]], deleted: int = 0,
                 size: int = 0, last: StreamID | None = None, fields: list[bytes] | None = None) -> None:
        self.master = master
        self.entries = entries
        self.deleted = deleted
        self.size = size
        self.last = last
        self.fields = fields


class StreamValue:
    """A whole stream. ``first``, ``maxdel``, ``added`` None: not in the payload (the older
    type), the reader derives them as Redis does."""

    __slots__ = ("nodes", "length", "last", "first", "maxdel", "added", "groups")

    def __init__(self, length: int, last: StreamID, first: StreamID | None = None,
                 maxdel: StreamID | None = None, added: int | None = None) -> None:
        self.nodes: list[StreamNode] = []
        self.length = length
        self.last = last
        self.first = first
        self.maxdel = maxdel
        self.added = added
        self.groups: list[StreamGroup] = []


def _raw_id(i: StreamID) -> bytes:
    return struct.pack(">QQ", i[0], i[1])


def stream_listpack(node: StreamNode) -> bytes:
    """A node's listpack as streamAppendItem builds it entry by entry: the master entry
    (count, deleted, the first entry's fields, 0), then each entry's flags, ID
    difference, fields (only values when they are the master's) and lp-count."""
    master = node.master
    fields0 = node.entries[0][1][0::2]
    items: list[LpItem] = [len(node.entries), 0, len(fields0), *fields0, 0]
    for (ms, seq), fv in node.entries:
        fields = fv[0::2]
        dms = (ms - master[0]) & U64
        dseq = (seq - master[1]) & U64
        dms = dms - 2 ** 64 if dms >= 2 ** 63 else dms
        dseq = dseq - 2 ** 64 if dseq >= 2 ** 63 else dseq
        if fields == fields0:
            items += [STREAM_ITEM_SAMEFIELDS, dms, dseq, *fv[1::2], len(fields) + 3]
        else:
            items += [0, dms, dseq, len(fields), *fv, 2 * len(fields) + 4]
    return listpack(items)


def _stream_entries(master: StreamID, blob: bytes) -> StreamNode:
    items = lp_items(blob)
    if len(items) < 4:
        raise ValueError("empty stream listpack")
    count, deleted, nfields = item_int(items[0]), item_int(items[1]), item_int(items[2])
    if nfields < 0 or len(items) < 4 + nfields or count < 0 or deleted < 0:
        raise ValueError("bad stream master entry")
    fields0 = [item_bytes(x) for x in items[3:3 + nfields]]
    if item_int(items[3 + nfields]) != 0:
        raise ValueError("bad stream master entry")
    p = 4 + nfields
    live: list[tuple[StreamID, list[bytes]]] = []
    dead = 0
    prev: StreamID | None = None
    while p < len(items):
        if p + 3 > len(items):
            raise ValueError("truncated stream entry")
        flags, dms, dseq = item_int(items[p]), item_int(items[p + 1]), item_int(items[p + 2])
        p += 3
        if flags & STREAM_ITEM_SAMEFIELDS:
            values = [item_bytes(x) for x in items[p:p + nfields]]
            if len(values) != nfields:
                raise ValueError("truncated stream entry")
            fv = [x for pair in zip(fields0, values) for x in pair]
            p += nfields
            extra = nfields + 3
        else:
            if p >= len(items):
                raise ValueError("truncated stream entry")
            n = item_int(items[p])
            p += 1
            if n < 0 or p + 2 * n > len(items):
                raise ValueError("truncated stream entry")
            fv = [item_bytes(x) for x in items[p:p + 2 * n]]
            p += 2 * n
            extra = 2 * n + 4
        if p >= len(items) or item_int(items[p]) != extra:
            raise ValueError("bad stream entry lp-count")
        p += 1
        i = ((master[0] + dms) & U64, (master[1] + dseq) & U64)
        if i < master or (prev is not None and i <= prev):
            raise ValueError("stream entries out of order")
        prev = i
        if flags & STREAM_ITEM_DELETED:
            dead += 1
        else:
            live.append((i, fv))
    if len(live) != count or dead != deleted:
        raise ValueError("stream node counts mismatch")
    return StreamNode(master, live, dead, len(blob), prev, fields0)


def _load_stream(r: Reader, v2: bool) -> StreamValue:
    nodes: list[StreamNode] = []
    for _ in range(r.length()):
        key = r.string()
        if len(key) != 16:
            raise ValueError("bad stream node key")
        master: StreamID = struct.unpack(">QQ", key)
        node = _stream_entries(master, r.string())
        before = nodes[-1] if nodes else None
        if before is not None and (master <= before.master or (
                before.entries and node.entries and node.entries[0][0] <= before.entries[-1][0])):
            raise ValueError("stream nodes out of order")
        nodes.append(node)
    length = r.length()
    last = (r.length(), r.length())
    s = StreamValue(length, last)
    if v2:
        s.first = (r.length(), r.length())
        s.maxdel = (r.length(), r.length())
        s.added = r.length()
    s.nodes = nodes
    live = sum(len(n.entries) for n in s.nodes)
    if live != length:
        raise ValueError("stream length mismatch")
    if live and max(n.entries[-1][0] for n in s.nodes if n.entries) > last:
        raise ValueError("stream entry past the last ID")
    names = set()
    for _ in range(r.length()):
        name = r.string()
        if name in names:
            raise ValueError("duplicate consumer group")
        names.add(name)
        glast = (r.length(), r.length())
        read = None
        if v2:
            read = r.length()
            read = read - 2 ** 64 if read >= 2 ** 63 else read
        g = StreamGroup(name, glast, read)
        pel: dict[StreamID, tuple[int, int]] = {}
        for _ in range(r.length()):
            i: StreamID = struct.unpack(">QQ", r.take(16))
            if i in pel:
                raise ValueError("duplicate PEL entry")
            when = r.millis()
            if when < 0:
                raise ValueError("negative delivery time")
            pel[i] = (when, r.length())
        owners: dict[StreamID, bytes] = {}
        seen_names = set()
        for _ in range(r.length()):
            cname = r.string()
            if cname in seen_names:
                raise ValueError("duplicate consumer")
            seen_names.add(cname)
            seen = r.millis()
            if seen < 0:
                raise ValueError("negative seen time")
            g.consumers.append((cname, seen))
            for _ in range(r.length()):
                i = struct.unpack(">QQ", r.take(16))
                if i not in pel or i in owners:
                    raise ValueError("consumer PEL entry not in the group's")
                owners[i] = cname
        if len(owners) != len(pel):
            raise ValueError("PEL entry without a consumer")
        g.pel = [(i, t, n, owners[i]) for i, (t, n) in sorted(pel.items())]
        s.groups.append(g)
    return s


def dump_stream(s: StreamValue, compress: bool = True) -> bytes:
    """RDB_TYPE_STREAM_LISTPACKS_2: nodes, the stream's IDs and counters, then each group:
    its last ID, entries-read, PEL (raw ID, delivery time, count), consumers (name,
    seen time, their PEL's raw IDs)."""
    out = [bytes((TYPE_STREAM_LISTPACKS_2,)), encode_length(len(s.nodes))]
    for node in s.nodes:
        out.append(save_string(_raw_id(node.master), compress))
        out.append(save_string(stream_listpack(node), compress))
    first = s.first or (0, 0)
    maxdel = s.maxdel or (0, 0)
    added = s.added if s.added is not None else s.length
    for n in (s.length, *s.last, *first, *maxdel, added, len(s.groups)):
        out.append(encode_length(n))
    for g in s.groups:
        read = g.entries_read if g.entries_read is not None else -1
        out += [save_string(g.name, compress), encode_length(g.last[0]), encode_length(g.last[1]),
                encode_length(read & U64), encode_length(len(g.pel))]
        for i, when, count, _ in g.pel:
            out += [_raw_id(i), struct.pack("<q", when), encode_length(count)]
        owned: dict[bytes, list[bytes]] = {}
        for i, _, _, owner in g.pel:
            owned.setdefault(owner, []).append(_raw_id(i))
        out.append(encode_length(len(g.consumers)))
        for cname, seen in g.consumers:
            mine = owned.get(cname, [])
            out += [save_string(cname, compress), struct.pack("<q", seen), encode_length(len(mine)), *mine]
    return b"".join(out)


# ---------------------------------------------------------------- whole values


def dump_string(value: bytes, compress: bool = True) -> bytes:
    return bytes((TYPE_STRING,)) + save_string(value, compress)


def _quicklist_nodes(elements: list[bytes], fill: int) -> list[bytes]:
    """The listpacks of a quicklist that RPUSH filled with ``elements``: a node takes an
    element while its listpack would stay within the size of list-max-listpack-size
    (negative ``fill``) or, under 8 kB, within that many elements
    (_quicklistNodeAllowInsert)."""
    limit = (4096, 8192, 16384, 32768, 65536)[min(-fill - 1, 4)] if fill < 0 else 8192
    nodes: list[bytes] = []
    entries: list[bytes] = []
    size = 0
    for e in elements:
        entry = lp_entry(e)
        if entries:
            new = size + len(e) + 8  # (SIZE_ESTIMATE_OVERHEAD: what an entry adds, at most)
            if new > limit or (fill >= 0 and len(entries) >= fill):
                nodes.append(_packed(entries, size))
                entries = []
        if not entries:
            size = 7  # (a listpack's header and end)
        entries.append(entry)
        size += len(entry)
    if entries:
        nodes.append(_packed(entries, size))
    return nodes


def _packed(entries: list[bytes], size: int) -> bytes:
    return struct.pack("<IH", size, min(len(entries), 65535)) + b"".join(entries) + b"\xff"


def dump_list(elements: list[bytes], compress: bool = True, fill: int = LIST_FILL) -> bytes:
    """RDB_TYPE_LIST_QUICKLIST_2: listpack nodes of list-max-listpack-size."""
    nodes = _quicklist_nodes(elements, fill)
    out = [bytes((TYPE_LIST_QUICKLIST_2,)), encode_length(len(nodes))]
    for node in nodes:
        out.append(encode_length(QUICKLIST_PACKED))
        out.append(save_string(node, compress))
    return b"".join(out)


def dump_set(members: list[bytes], as_intset: bool, compress: bool = True) -> bytes:
    """RDB_TYPE_SET_INTSET for a set Redis keeps as an intset (every member an integer),
    else RDB_TYPE_SET."""
    if as_intset:
        return bytes((TYPE_SET_INTSET,)) + save_string(intset(sorted(int(m) for m in members)), compress)
    return b"".join([bytes((TYPE_SET,)), encode_length(len(members)),
                     *(save_string(m, compress) for m in members)])


def dump_zset(items: list[tuple[bytes, float]], as_listpack: bool, compress: bool = True) -> bytes:
    """``items`` in score order: RDB_TYPE_ZSET_LISTPACK (member, score as d2string
    writes it) or RDB_TYPE_ZSET_2 (from the highest down, scores as binary doubles)."""
    if as_listpack:
        flat: list[LpItem] = []
        for m, score in items:
            flat += [m, d2string(score)]
        return bytes((TYPE_ZSET_LISTPACK,)) + save_string(listpack(flat), compress)
    out = [bytes((TYPE_ZSET_2,)), encode_length(len(items))]
    for m, score in reversed(items):
        out += [save_string(m, compress), struct.pack("<d", score)]
    return b"".join(out)


def dump_hash(pairs: list[tuple[bytes, bytes]], as_listpack: bool, compress: bool = True) -> bytes:
    """RDB_TYPE_HASH_LISTPACK or RDB_TYPE_HASH."""
    if as_listpack:
        return bytes((TYPE_HASH_LISTPACK,)) + save_string(listpack([x for p in pairs for x in p]), compress)
    out = [bytes((TYPE_HASH,)), encode_length(len(pairs))]
    for f, v in pairs:
        out += [save_string(f, compress), save_string(v, compress)]
    return b"".join(out)


LoadedValue = Union[bytes, list[bytes], list[tuple[bytes, float]], list[tuple[bytes, bytes]], StreamValue]


def _pairs(items: list[LpItem]) -> list[tuple[bytes, bytes]]:
    if not items or len(items) % 2:
        raise ValueError("bad pairs")
    return [(item_bytes(items[i]), item_bytes(items[i + 1])) for i in range(0, len(items), 2)]


def _unique(keys: list[bytes]) -> None:
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate members")


def _nonempty(items: list) -> None:
    if not items:
        raise ValueError("empty value")


def load_object(payload: bytes) -> tuple[int, LoadedValue, bool]:
    """rdbLoadObject: (KIND_*, value, compact) of a DUMP payload. Values: a string's
    bytes; a list's elements; a set's members; a sorted set's (member, score); a hash's
    (field, value); a stream's ``StreamValue``. ``compact``: the payload held a listpack,
    ziplist or intset, which Redis converts only past the entries limit, where a hash
    table or skip list (or a zipmap) becomes compact again only within both limits.

    The payload is read as RESTORE reads it, footer included: a value whose length runs
    into the footer takes its bytes, as Redis' does; what follows the value is ignored.
    Raises ValueError on a payload Redis would refuse or could not hold consistently."""
    return read_object(Reader(payload))


def read_object(r: Reader) -> tuple[int, LoadedValue, bool]:
    """``load_object`` from a reader's position (a type byte, then the value), leaving
    the reader after the value."""
    return read_value(r.byte(), r)


def read_value(t: int, r: Reader) -> tuple[int, LoadedValue, bool]:
    """A value of RDB type ``t`` at the reader's position, leaving the reader after it
    (an RDB file's records: type, key, value)."""
    if t == TYPE_STRING:
        return KIND_STRING, r.string(), False
    if t == TYPE_LIST:
        elements = [r.string() for _ in range(r.length())]
        _nonempty(elements)
        return KIND_LIST, elements, False
    if t == TYPE_LIST_ZIPLIST:
        elements = [item_bytes(x) for x in ziplist_items(r.string())]
        _nonempty(elements)
        return KIND_LIST, elements, False
    if t in (TYPE_LIST_QUICKLIST, TYPE_LIST_QUICKLIST_2):
        elements = []
        nodes = r.length()
        if not nodes:
            raise ValueError("empty value")
        for _ in range(nodes):
            if t == TYPE_LIST_QUICKLIST_2:
                container = r.length()
                if container == QUICKLIST_PLAIN:
                    elements.append(r.string())
                    continue
                if container != QUICKLIST_PACKED:
                    raise ValueError("bad quicklist container")
                elements += [item_bytes(x) for x in lp_items(r.string())]
            else:
                elements += [item_bytes(x) for x in ziplist_items(r.string())]
        _nonempty(elements)  # (empty nodes are skipped, an empty list refused)
        return KIND_LIST, elements, False
    if t == TYPE_SET:
        members = [r.string() for _ in range(r.length())]
        _nonempty(members)
        _unique(members)
        return KIND_SET, members, False
    if t == TYPE_SET_INTSET:
        members = [b"%d" % v for v in intset_values(r.string())]
        _nonempty(members)
        return KIND_SET, members, True
    if t in (TYPE_ZSET, TYPE_ZSET_2):
        zitems = []
        for _ in range(r.length()):
            m = r.string()
            score = r.binary_double() if t == TYPE_ZSET_2 else r.old_double()
            if score != score:
                raise ValueError("NaN score")
            zitems.append((m, score))
        _nonempty(zitems)
        _unique([m for m, _ in zitems])
        return KIND_ZSET, zitems, False
    if t in (TYPE_ZSET_ZIPLIST, TYPE_ZSET_LISTPACK):
        flat = lp_items(r.string()) if t == TYPE_ZSET_LISTPACK else ziplist_items(r.string())
        if not flat or len(flat) % 2:
            raise ValueError("bad sorted set")
        zitems = [(item_bytes(flat[i]), item_score(flat[i + 1])) for i in range(0, len(flat), 2)]
        _unique([m for m, _ in zitems])
        return KIND_ZSET, zitems, True
    if t == TYPE_HASH:
        pairs = []
        for _ in range(r.length()):
            f = r.string()
            pairs.append((f, r.string()))
        _nonempty(pairs)
        _unique([f for f, _ in pairs])
        return KIND_HASH, pairs, False
    if t in (TYPE_HASH_ZIPMAP, TYPE_HASH_ZIPLIST, TYPE_HASH_LISTPACK):
        blob = r.string()
        if t == TYPE_HASH_ZIPMAP:
            pairs = zipmap_pairs(blob)
        else:
            pairs = _pairs(lp_items(blob) if t == TYPE_HASH_LISTPACK else ziplist_items(blob))
        _nonempty(pairs)
        _unique([f for f, _ in pairs])
        return KIND_HASH, pairs, t != TYPE_HASH_ZIPMAP
    if t in (TYPE_STREAM_LISTPACKS, TYPE_STREAM_LISTPACKS_2):
        return KIND_STREAM, _load_stream(r, t == TYPE_STREAM_LISTPACKS_2), False
    raise ValueError("unknown or unsupported object type %d" % t)
