"""The hash index: a hashtable-encoded hash keeps, besides its ``members`` entries, one
``index`` entry per field, suffix = an 8-byte hash of the field + the field, value
b"". That order is stable and pseudo-random; HSCAN's cursor (the hash of the next
field, as an integer) and HRANDFIELD's probes walk it.
"""

from __future__ import annotations

import struct
from hashlib import blake2b

_U64 = struct.Struct(">Q")
HASH_LEN = 8


def hkey(field: bytes) -> bytes:
    """A field's 8-byte hash: its position in the ``index`` order of a hashtable hash."""
    return blake2b(field, digest_size=HASH_LEN).digest()


def index_suffix(field: bytes) -> bytes:
    """A field's ``index`` suffix in a hashtable hash."""
    return hkey(field) + field


def position(x: int) -> bytes:
    """Where hash value ``x`` (a 64-bit integer: a cursor, a random probe) is in the order."""
    return _U64.pack(x)


def split(suffix: bytes) -> tuple[bytes, bytes]:
    """(hash, field) of an ``index`` suffix."""
    return suffix[:HASH_LEN], suffix[HASH_LEN:]


def field_of(suffix: bytes) -> bytes:
    return suffix[HASH_LEN:]


def cursor_of(h: bytes) -> int:
    """The integer a field's hash is as an HSCAN cursor."""
    return _U64.unpack(h)[0]
