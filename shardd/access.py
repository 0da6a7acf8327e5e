"""A shard's access data (LRU clock or LFU counter per key) in a fixed table by key hash.

2^``bits`` slots (2^20), indexed by the hash of the key's meta key: keys that share a
slot share their access data (shardd/eviction.py says why that is good enough); 0 for a
slot no key touched.

A list of ints rather than an ``array("q")``: an array's item assignment parses its
value with ``PyArg_Parse`` and a memoryview's goes through the generic item protocol,
~450 machine instructions a key, where a list's is a pointer store (the module is
compiled with mypyc, setup.py: the fold of a batch's keys is a C loop; ~1,400
instructions a key before, ~350 now, most of it the key's hash). ``set_all`` stores the
caller's int object itself (typed ``object``, so compiled code does not box a new one
per slot): under LRU every key of a batch refers to the batch's one clock reading, so
the memory is 8 MB of references plus an int (32 bytes) per batch whose keys still own
a slot. The cyclic garbage collector would walk the 2^20 references at every full
collection: the shard freezes it (``gc.freeze`` once it is built, daemon.main), and
``clear`` zeroes the same list in place so that it stays frozen.
"""

from __future__ import annotations

from typing import cast


class AccessTable:
    """``get``/``pop``/item assignment as a dict's, by ``hash(mk)``."""

    __slots__ = ("slots", "mask")

    def __init__(self, bits: int = 20) -> None:
        self.slots: list[object] = [0] * (1 << bits)
        self.mask = (1 << bits) - 1

    def get(self, mk: bytes, default: int | None = None) -> int | None:
        v = cast(int, self.slots[hash(mk) & self.mask])
        return v if v else default

    def __setitem__(self, mk: bytes, value: int) -> None:
        self.slots[hash(mk) & self.mask] = value

    def set_all(self, mks: list[bytes], value: object) -> None:
        """Every key of ``mks`` to ``value`` (a batch's touched keys to its clock)."""
        slots = self.slots
        mask = self.mask
        for mk in mks:
            slots[hash(mk) & mask] = value

    def pop(self, mk: bytes, default: int | None = None) -> None:
        self.slots[hash(mk) & self.mask] = 0

    def pop_all(self, mks: list[bytes]) -> None:
        slots = self.slots
        mask = self.mask
        for mk in mks:
            slots[hash(mk) & mask] = 0

    def clear(self) -> None:
        self.slots[:] = [0] * len(self.slots)
