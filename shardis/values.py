"""The reply values that are builtins with a meaning: a status line, bytes already
encoded, an ordered set, (member, value) pairs, text for humans.

``shardis.resp`` encodes them and exports them (import them from there). They live here,
apart, because they subclass builtins: mypyc compiles ``shardis.resp`` (setup.py) and
cannot compile such classes, and this module stays plain Python.
"""

from __future__ import annotations


class Simple(str):
    """A status reply: encoded as ``+text``."""

    __slots__ = ()


class Raw(bytes):
    """A reply already encoded (the same bytes in RESP2 and RESP3)."""

    __slots__ = ()


class OrderedSet(list):
    """A set reply in a chosen order (Redis answers an intset in ascending order): an
    array in RESP2, a set (``~``) in RESP3."""

    __slots__ = ()


class Pairs(list):
    """(member, value) pairs, such as members WITHSCORES: a flat array in RESP2,
    an array of two-element arrays in RESP3 (scores as doubles), as Redis 7.0 replies."""

    __slots__ = ()


class KeyedArrays(list):
    """(key, value) pairs (XREAD's streams, a key may come twice): a map in RESP3, an
    array of [key, value] arrays in RESP2, as Redis 7.0 replies."""

    __slots__ = ()


class Verbatim(bytes):
    """Text for humans (INFO, CLIENT LIST...): a bulk string in RESP2, ``=txt:`` in RESP3."""

    __slots__ = ()


class BigNumber(bytes):
    """A big number's digits (a script's ``{big_number=...}``): a bulk string in RESP2,
    ``(digits`` in RESP3."""

    __slots__ = ()


class HumanDouble(bytes):
    """A double as Redis' addReplyHumanLongDouble writes it (the text given, such as
    GEOPOS's "%.17Lf" with trailing zeros cut): a bulk string in RESP2, a double
    (``,text``) in RESP3."""

    __slots__ = ()
