"""Bitmaps and bitfields: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.

A bitmap is a string (as in Redis: GET and SETBIT see the same bytes), bit 0 the
most significant bit of the first byte. Each handler follows Redis 7.0's bitops.c
step for step where the order decides which error a bad request gets, and
computes with Python's big integers (``int.from_bytes``, ``bit_count``) where
Redis loops over bytes.

A long string is kept in chunks (shardd/disk/chunks.py): SETBIT, GETBIT and BITFIELD
read and write only the bytes they touch (``Keyspace.string_range``,
``write_string``), BITCOUNT and BITPOS only their range, a chunk at a time; BITOP
reads its sources whole.
"""

from __future__ import annotations

from shardis import errors
from shardis.args import int_arg
from shardis.commands import CommandTable
from shardis.notify import NOTIFY_GENERIC, NOTIFY_KEY_MISS, NOTIFY_STRING
from shardis.resp import ReplyError, string2ll
from shardis.shardd.disk.keys import is_string
from shardis.shardd.storage import Keyspace

BIT_OFFSET = "ERR bit offset is not an integer or out of range"
BIT_VALUE = "ERR bit is not an integer or out of range"
BITPOS_BIT = "ERR The bit argument must be 1 or 0."
BITOP_NOT = "ERR BITOP NOT must be called with a single source key."
BITFIELD_TYPE = ("ERR Invalid bitfield type. Use something like i16 u8. "
                 "Note that u64 is not supported but i64 is.")
BITFIELD_OVERFLOW = "ERR Invalid OVERFLOW type specified"
BITFIELD_RO = "ERR BITFIELD_RO only supports the GET subcommand"

_U64 = (1 << 64) - 1


def _s64(v: int) -> int:
    """``v`` as C's int64_t after a wrapping computation."""
    v &= _U64
    return v - (1 << 64) if v >> 63 else v


def _cstr(arg: bytes) -> bytes:
    return arg.split(b"\0", 1)[0]


def bit_offset(ks: Keyspace, arg: bytes, hash_ok: bool = False, bits: int = 0) -> int:
    """getBitOffsetFromArgument: a bit offset, ``#N`` (N * bits) where ``hash_ok``; below
    proto-max-bulk-len bytes."""
    use_hash = hash_ok and len(arg) > 1 and arg[:1] == b"#"
    v = string2ll(arg[1:] if use_hash else arg)
    if v is None:
        raise ReplyError(BIT_OFFSET)
    if use_hash:
        v = _s64(v * bits)
    if v < 0 or (v >> 3) >= ks.store.proto_max_bulk_len:
        raise ReplyError(BIT_OFFSET)
    return v


def _byte_at(ks: Keyspace, raw: bytes | None, byte: int) -> int:
    """Byte ``byte`` of a string (0 past its end or for no key)."""
    if raw is None:
        return 0
    b = ks.string_range(raw, byte, byte + 1)
    return b[0] if b else 0


# ---------------------------------------------------------------- SETBIT / GETBIT


def setbit(ks: Keyspace, db: int, args: list[bytes]) -> int:
    offset = bit_offset(ks, args[2])
    on = string2ll(args[3])
    if on is None or on & ~1:
        raise ReplyError(BIT_VALUE)
    key = args[1]
    raw = ks.string_record(db, key)
    byte = offset >> 3
    # lookupStringForBitCommand grows the string to the byte (zero padded) first.
    dirty = raw is None or ks.string_len(raw) <= byte
    cur = _byte_at(ks, raw, byte)
    shift = 7 - (offset & 7)
    old = (cur >> shift) & 1
    if dirty or old != on:
        ks.write_string(db, key, raw, byte, bytes(((cur & ~(1 << shift)) | (on << shift),)))
        ks.notify(NOTIFY_STRING, b"setbit", db, key)
    return old


def getbit(ks: Keyspace, db: int, args: list[bytes]) -> int:
    offset = bit_offset(ks, args[2])
    raw = ks.string_record(db, args[1])
    return (_byte_at(ks, raw, offset >> 3) >> (7 - (offset & 7))) & 1


# ---------------------------------------------------------------- BITCOUNT / BITPOS


def _unit(arg: bytes) -> bool:
    """BIT (True) or BYTE (False); a syntax error otherwise."""
    u = _cstr(arg).upper()
    if u == b"BIT":
        return True
    if u == b"BYTE":
        return False
    raise ReplyError(errors.SYNTAX)


def _popcount(data: bytes) -> int:
    return int.from_bytes(data, "big").bit_count()


def bitcount(ks: Keyspace, db: int, args: list[bytes]) -> int:
    raw = ks.string_record(db, args[1])
    if raw is None:
        return 0
    length = ks.string_len(raw)
    n = len(args)
    first_mask = last_mask = 0
    if n in (4, 5):
        start, end = int_arg(args[2]), int_arg(args[3])
        if start < 0 and end < 0 and start > end:
            return 0  # (before BIT/BYTE is read: a bad unit goes unnoticed here)
        isbit = _unit(args[4]) if n == 5 else False
        total = length << 3 if isbit else length
        if start < 0:
            start += total
        if end < 0:
            end += total
        start = max(start, 0)
        end = max(end, 0)
        end = min(end, total - 1)
        if isbit and start <= end:
            first_mask = ~((1 << (8 - (start & 7))) - 1) & 0xFF
            last_mask = (1 << (7 - (end & 7))) - 1
            start >>= 3
            end >>= 3
    elif n == 2:
        start, end = 0, length - 1
    else:
        raise ReplyError(errors.SYNTAX)
    if start > end:
        return 0
    count = sum(_popcount(piece) for piece in ks.string_pieces(raw, start, end + 1))
    if first_mask:
        count -= (_byte_at(ks, raw, start) & first_mask).bit_count()
    if last_mask:
        count -= (_byte_at(ks, raw, end) & last_mask).bit_count()
    return count


def _first_bit(data: bytes, bit: int, start: int, end: int) -> int:
    """The first bit position in [start, end] (bit positions) of ``data`` that is ``bit``,
    -1 when none is."""
    if start > end:
        return -1
    b0, b1 = start >> 3, end >> 3
    chunk = int.from_bytes(data[b0:b1 + 1], "big")
    width = (b1 - b0 + 1) << 3
    # Keep only the bits of the range: bit i of the range is bit (width-1-i) of chunk.
    lo = width - 1 - (end - (b0 << 3))      # lowest int bit inside the range
    hi = width - 1 - (start - (b0 << 3))    # highest
    mask = ((1 << (hi + 1)) - 1) ^ ((1 << lo) - 1)
    v = chunk & mask if bit else ~chunk & mask
    if not v:
        return -1
    return (b0 << 3) + (width - v.bit_length())


def bitpos(ks: Keyspace, db: int, args: list[bytes]) -> int:
    bit = int_arg(args[2])
    if bit not in (0, 1):
        raise ReplyError(BITPOS_BIT)
    raw = ks.string_record(db, args[1])
    if raw is None:
        return -1 if bit else 0
    n = len(args)
    length = ks.string_len(raw)
    end_given = False
    if n in (4, 5, 6):
        start = int_arg(args[3])
        isbit = _unit(args[5]) if n == 6 else False
        if n >= 5:
            end = int_arg(args[4])
            end_given = True
        else:
            end = (length << 3) + 7 if isbit else length - 1
        total = length << 3 if isbit else length
        if start < 0:
            start += total
        if end < 0:
            end += total
        start = max(start, 0)
        end = max(end, 0)
        end = min(end, total - 1)
        if start > end:
            return -1
        if not isbit:
            start, end = start << 3, (end << 3) + 7
    elif n == 3:
        if length == 0:
            return -1
        start, end = 0, (length << 3) - 1
    else:
        raise ReplyError(errors.SYNTAX)
    pos = -1
    base = start >> 3  # the byte the next piece starts at
    for piece in ks.string_pieces(raw, base, (end >> 3) + 1):
        lo, hi = max(start, base << 3), min(end, ((base + len(piece)) << 3) - 1)
        found = _first_bit(piece, bit, lo - (base << 3), hi - (base << 3))
        if found >= 0:
            pos = (base << 3) + found
            break
        base += len(piece)
    if pos >= 0:
        return pos
    if bit or end_given:
        return -1
    return end + 1  # looking for a clear bit: the string reads as zero padded past its end


# ---------------------------------------------------------------- BITOP


def bitop(ks: Keyspace, db: int, args: list[bytes]) -> int:
    op = _cstr(args[1]).upper()
    if op not in (b"AND", b"OR", b"XOR", b"NOT"):
        raise ReplyError(errors.SYNTAX)
    if op == b"NOT" and len(args) != 4:
        raise ReplyError(BITOP_NOT)
    values: list[bytes] = []
    for key in args[3:]:
        raw = ks.lookup(db, key)
        if raw is None:
            ks.notify(NOTIFY_KEY_MISS, b"keymiss", db, key)  # lookupKeyRead
            values.append(b"")
            continue
        if not is_string(raw):
            raise ReplyError(errors.WRONGTYPE)
        values.append(ks.string_value(raw))
    maxlen = max(len(v) for v in values)
    dest = args[2]
    if not maxlen:
        if ks.delete(db, dest):
            ks.notify(NOTIFY_GENERIC, b"del", db, dest)
        return 0
    nums = [int.from_bytes(v.ljust(maxlen, b"\0"), "big") for v in values]
    acc = nums[0]
    if op == b"NOT":
        acc = ~acc & ((1 << (maxlen << 3)) - 1)
    elif op == b"AND":
        for x in nums[1:]:
            acc &= x
    elif op == b"OR":
        for x in nums[1:]:
            acc |= x
    else:
        for x in nums[1:]:
            acc ^= x
    ks.set_string(db, dest, acc.to_bytes(maxlen, "big"), 0)  # setKey: any TTL goes
    ks.notify(NOTIFY_STRING, b"set", db, dest)
    return maxlen


# ---------------------------------------------------------------- BITFIELD

WRAP, SAT, FAIL = 0, 1, 2
GET, SET, INCRBY = 0, 1, 2


def _bitfield_type(arg: bytes) -> tuple[bool, int]:
    """getBitfieldTypeFromArgument: (signed, bits)."""
    c = arg[:1]
    if c == b"i":
        signed = True
    elif c == b"u":
        signed = False
    else:
        raise ReplyError(BITFIELD_TYPE)
    bits = string2ll(_cstr(arg[1:]))
    if bits is None or bits < 1 or (signed and bits > 64) or (not signed and bits > 63):
        raise ReplyError(BITFIELD_TYPE)
    return signed, bits


def get_field(buf: bytes | bytearray, offset: int, bits: int, signed: bool) -> int:
    """The ``bits``-wide integer at bit ``offset``, zeros read past the end."""
    b0, b1 = offset >> 3, (offset + bits - 1) >> 3
    chunk = bytes(buf[b0:b1 + 1])
    width = (b1 - b0 + 1) << 3
    v = int.from_bytes(chunk.ljust(b1 - b0 + 1, b"\0"), "big")
    v = (v >> (width - (offset & 7) - bits)) & ((1 << bits) - 1)
    if signed and v >> (bits - 1):
        v -= 1 << bits
    return v


def set_field(buf: bytearray, offset: int, bits: int, value: int) -> None:
    """Write the low ``bits`` bits of ``value`` at bit ``offset`` (``buf`` is long enough)."""
    b0, b1 = offset >> 3, (offset + bits - 1) >> 3
    width = (b1 - b0 + 1) << 3
    shift = width - (offset & 7) - bits
    mask = ((1 << bits) - 1) << shift
    v = int.from_bytes(buf[b0:b1 + 1], "big")
    v = (v & ~mask) | ((value << shift) & mask)
    buf[b0:b1 + 1] = v.to_bytes(b1 - b0 + 1, "big")


def _unsigned_overflow(value: int, incr: int, bits: int, ow: int) -> tuple[int, int | None]:
    """checkUnsignedBitfieldOverflow: (overflow, the limit to store or None).
    ``value`` is a uint64_t, ``incr`` an int64_t."""
    mx = (1 << bits) - 1
    maxincr = _s64(mx - value)
    minincr = _s64(-value)
    if value > mx or (incr > 0 and incr > maxincr):
        if ow == WRAP:
            return 1, (value + incr) & mx
        return 1, (mx if ow == SAT else None)
    if incr < 0 and incr < minincr:
        if ow == WRAP:
            return -1, (value + incr) & mx
        return -1, (0 if ow == SAT else None)
    return 0, None


def _signed_overflow(value: int, incr: int, bits: int, ow: int) -> tuple[int, int | None]:
    """checkSignedBitfieldOverflow, with C's wrapping int64 arithmetic."""
    mx = (1 << 63) - 1 if bits == 64 else (1 << (bits - 1)) - 1
    mn = -mx - 1
    maxincr = _s64(mx - value)
    minincr = _s64(mn - value)

    def wrapped() -> int:
        c = (value + incr) & _U64
        if bits < 64:
            c &= (1 << bits) - 1
            if c >> (bits - 1):
                c -= 1 << bits
            return c
        return _s64(c)

    if value > mx or (bits != 64 and incr > maxincr) or (value >= 0 and incr > 0 and incr > maxincr):
        if ow == WRAP:
            return 1, wrapped()
        return 1, (mx if ow == SAT else None)
    if value < mn or (bits != 64 and incr < minincr) or (value < 0 and incr < 0 and incr < minincr):
        if ow == WRAP:
            return -1, wrapped()
        return -1, (mn if ow == SAT else None)
    return 0, None


class _Touched:
    """The bytes BITFIELD's operations touch in a string: read as first needed (zeros
    past its end), changed here, written back as runs of consecutive bytes, so a long
    string's other chunks are neither read nor written."""

    def __init__(self, ks: Keyspace, raw: bytes | None) -> None:
        self.ks = ks
        self.raw = raw
        self.known: dict[int, int] = {}
        self.changed: set[int] = set()

    def window(self, offset: int, bits: int) -> bytearray:
        """The bytes a field ``bits`` wide at bit ``offset`` lies in (bit ``offset & 7`` on)."""
        b0, b1 = offset >> 3, (offset + bits - 1) >> 3
        known = self.known
        if any(i not in known for i in range(b0, b1 + 1)):
            got = b"" if self.raw is None else self.ks.string_range(self.raw, b0, b1 + 1)
            for i in range(b0, b1 + 1):
                if i not in known:
                    known[i] = got[i - b0] if i - b0 < len(got) else 0
        return bytearray(known[i] for i in range(b0, b1 + 1))

    def put(self, offset: int, buf: bytearray) -> None:
        """``window(offset, ...)``'s bytes, changed."""
        b0 = offset >> 3
        for j, v in enumerate(buf):
            self.known[b0 + j] = v
            self.changed.add(b0 + j)

    def runs(self) -> list[tuple[int, bytes]]:
        """The changed bytes as (first byte, bytes) runs, in order."""
        out: list[tuple[int, bytes]] = []
        start = -1
        run = bytearray()
        for i in sorted(self.changed):
            if start >= 0 and i == start + len(run):
                run.append(self.known[i])
                continue
            if start >= 0:
                out.append((start, bytes(run)))
            start, run = i, bytearray((self.known[i],))
        if start >= 0:
            out.append((start, bytes(run)))
        return out


def _bitfield(ks: Keyspace, db: int, args: list[bytes], ro: bool) -> list[int | None]:
    ops: list[tuple[int, int, int, int, bool, int]] = []  # opcode, offset, value, ow, signed, bits
    ow = WRAP
    readonly = True
    highest = 0
    j, n = 2, len(args)
    while j < n:
        remaining = n - j - 1
        sub = _cstr(args[j]).upper()
        if sub == b"GET" and remaining >= 2:
            opcode = GET
        elif sub == b"SET" and remaining >= 3:
            opcode = SET
        elif sub == b"INCRBY" and remaining >= 3:
            opcode = INCRBY
        elif sub == b"OVERFLOW" and remaining >= 1:
            kind = _cstr(args[j + 1]).upper()
            j += 2
            if kind == b"WRAP":
                ow = WRAP
            elif kind == b"SAT":
                ow = SAT
            elif kind == b"FAIL":
                ow = FAIL
            else:
                raise ReplyError(BITFIELD_OVERFLOW)
            continue
        else:
            raise ReplyError(errors.SYNTAX)
        signed, bits = _bitfield_type(args[j + 1])
        offset = bit_offset(ks, args[j + 2], True, bits)
        value = 0
        if opcode != GET:
            readonly = False
            highest = max(highest, offset + bits - 1)
            value = int_arg(args[j + 3])
        ops.append((opcode, offset, value, ow, signed, bits))
        j += 3 if opcode == GET else 4
    key = args[1]
    if readonly:
        raw = ks.lookup(db, key)
        if raw is None and not ro:
            ks.notify(NOTIFY_KEY_MISS, b"keymiss", db, key)  # lookupKeyRead
        if raw is not None and not is_string(raw):
            raise ReplyError(errors.WRONGTYPE)
        seen = _Touched(ks, raw)
        return [get_field(seen.window(off, bits), off & 7, bits, signed)
                for _, off, _, _, signed, bits in ops]
    if ro:
        raise ReplyError(BITFIELD_RO)
    raw = ks.string_record(db, key)
    need = (highest >> 3) + 1  # lookupStringForBitCommand grows the string this long
    dirty = raw is None or ks.string_len(raw) < need
    touched = _Touched(ks, raw)
    changes = 0
    out: list[int | None] = []
    for opcode, offset, arg, mode, signed, bits in ops:
        buf = touched.window(offset, bits)
        if opcode == GET:
            out.append(get_field(buf, offset & 7, bits, signed))
            continue
        old = get_field(buf, offset & 7, bits, signed)
        if signed:
            if opcode == INCRBY:
                overflow, limit = _signed_overflow(old, arg, bits, mode)
                new = limit if overflow else old + arg
                ret = new
            else:
                overflow, limit = _signed_overflow(arg, 0, bits, mode)
                new = limit if overflow else arg
                ret = old
        else:
            if opcode == INCRBY:
                overflow, limit = _unsigned_overflow(old, arg, bits, mode)
                new = limit if overflow else old + arg
                ret = new
            else:
                uarg = arg & _U64
                overflow, limit = _unsigned_overflow(uarg, 0, bits, mode)
                new = limit if overflow else uarg
                ret = old
        if overflow and mode == FAIL:
            out.append(None)
            continue
        assert new is not None  # (WRAP and SAT give a limit)
        out.append(ret)
        set_field(buf, offset & 7, bits, new)
        touched.put(offset, buf)
        if dirty or old != new:
            changes += 1
    if dirty or changes:
        for start, data in touched.runs():
            raw = ks.write_string(db, key, raw, start, data)
        if raw is None or ks.string_len(raw) < need:
            ks.write_string(db, key, raw, need, b"")
    if changes:
        ks.notify(NOTIFY_STRING, b"setbit", db, key)
    return out


def bitfield(ks: Keyspace, db: int, args: list[bytes]) -> list[int | None]:
    return _bitfield(ks, db, args, False)


def bitfield_ro(ks: Keyspace, db: int, args: list[bytes]) -> list[int | None]:
    return _bitfield(ks, db, args, True)


# ---------------------------------------------------------------- the command table


def register(table: CommandTable) -> None:
    """The bitmap commands, as Redis 7.0's COMMAND INFO and COMMAND DOCS describe them."""
    cmd = table.command
    cmd("setbit", 4, "write denyoom", 1, 1, 1, group="bitmap", since="2.2.0", complexity="O(1)",
        summary="Sets or clears the bit at offset in the string value stored at key",
        acl="@write @bitmap @slow")(setbit)
    cmd("getbit", 3, "readonly fast", 1, 1, 1, group="bitmap", since="2.2.0", complexity="O(1)",
        summary="Returns the bit value at offset in the string value stored at key",
        acl="@read @bitmap @fast")(getbit)
    cmd("bitcount", -2, "readonly", 1, 1, 1, group="bitmap", since="2.6.0", complexity="O(N)",
        summary="Count set bits in a string", acl="@read @bitmap @slow")(bitcount)
    cmd("bitpos", -3, "readonly", 1, 1, 1, group="bitmap", since="2.8.7", complexity="O(N)",
        summary="Find first bit set or clear in a string", acl="@read @bitmap @slow")(bitpos)
    cmd("bitop", -4, "write denyoom", 2, -1, 1, group="bitmap", since="2.6.0", complexity="O(N)",
        summary="Perform bitwise operations between strings", acl="@write @bitmap @slow")(bitop)
    cmd("bitfield", -2, "write denyoom", 1, 1, 1, group="bitmap", since="3.2.0",
        complexity="O(1) for each subcommand specified",
        summary="Perform arbitrary bitfield integer operations on strings",
        acl="@write @bitmap @slow")(bitfield)
    cmd("bitfield_ro", -2, "readonly fast", 1, 1, 1, group="bitmap", since="6.0.0",
        complexity="O(1) for each subcommand specified",
        summary="Perform arbitrary bitfield integer operations on strings. Read-only variant "
                "of BITFIELD", acl="@read @bitmap @fast")(bitfield_ro)
