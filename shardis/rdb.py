"""Pieces of Redis' RDB serialization that payloads exchanged with redis-server need:
CRC-64 (Jones, as src/crc64.c), LZF decompression (lzf_d.c), RDB string and length
encodings, and the DUMP footer (RDB version, CRC-64). FUNCTION DUMP / RESTORE use them.
"""

from __future__ import annotations

import struct

RDB_VERSION = 10              # Redis 7.0's
OPCODE_FUNCTION2 = 245        # a library's code (RDB_OPCODE_FUNCTION2)
OPCODE_FUNCTION_PRE_GA = 246  # 7.0 release candidates' format (refused, as Redis refuses it)

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


def lzf_decompress(data: bytes, length: int) -> bytes:
    """LZF's decompression (what Redis writes for compressible strings over 20 bytes)."""
    out = bytearray()
    ip, n = 0, len(data)
    while ip < n:
        ctrl = data[ip]
        ip += 1
        if ctrl < 32:
            out += data[ip:ip + ctrl + 1]
            ip += ctrl + 1
            continue
        run = ctrl >> 5
        if run == 7:
            run += data[ip]
            ip += 1
        ref = len(out) - ((ctrl & 0x1F) << 8) - data[ip] - 1
        ip += 1
        if ref < 0:
            raise ValueError("bad LZF back reference")
        for i in range(run + 2):
            out.append(out[ref + i])
    if len(out) != length:
        raise ValueError("LZF length mismatch")
    return bytes(out)


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


def read_length(data: bytes, pos: int) -> tuple[int, bool, int]:
    """(length or encoding type, whether it is a special encoding, next position)."""
    b = data[pos]
    kind = b >> 6
    if kind == 0:
        return b & 0x3F, False, pos + 1
    if kind == 1:
        return (b & 0x3F) << 8 | data[pos + 1], False, pos + 2
    if kind == 3:
        return b & 0x3F, True, pos + 1
    if b == 0x80:
        return struct.unpack_from(">I", data, pos + 1)[0], False, pos + 5
    if b == 0x81:
        return struct.unpack_from(">Q", data, pos + 1)[0], False, pos + 9
    raise ValueError("bad RDB length")


def read_string(data: bytes, pos: int) -> tuple[bytes, int]:
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
        clen, _, pos = read_length(data, pos)
        ulen, _, pos = read_length(data, pos)
        return lzf_decompress(data[pos:pos + clen], ulen), pos + clen
    raise ValueError("bad RDB string encoding")


def footer(payload: bytes) -> bytes:
    """DUMP's footer: the RDB version (2 bytes) and the CRC-64 of all before it."""
    body = payload + struct.pack("<H", RDB_VERSION)
    return body + struct.pack("<Q", crc64(body))


def check_footer(payload: bytes) -> bytes | None:
    """The payload without its footer, or None when the version or checksum is wrong."""
    if len(payload) < 10:
        return None
    version = struct.unpack_from("<H", payload, len(payload) - 10)[0]
    if version > RDB_VERSION:
        return None
    crc = struct.unpack_from("<Q", payload, len(payload) - 8)[0]
    if crc != 0 and crc64(payload[:-8]) != crc:
        return None
    return payload[:-10]
