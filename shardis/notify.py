"""Keyspace notifications: Redis 7.0's notify-keyspace-events classes, their letters,
and the two channels an event is published on.

A shard decides the events (``shardd.storage.NotifyingKeyspace``) and publishes them
through the pub/sub hub after its batch commits:

    __keyspace@<db>__:<key>     message: the event name   (K)
    __keyevent@<db>__:<event>   message: the key          (E)
"""

from __future__ import annotations

# Redis' NOTIFY_* bits (server.h), same values.
NOTIFY_KEYSPACE = 1 << 0    # K
NOTIFY_KEYEVENT = 1 << 1    # E
NOTIFY_GENERIC = 1 << 2     # g
NOTIFY_STRING = 1 << 3      # $
NOTIFY_LIST = 1 << 4        # l
NOTIFY_SET = 1 << 5         # s
NOTIFY_HASH = 1 << 6        # h
NOTIFY_ZSET = 1 << 7        # z
NOTIFY_EXPIRED = 1 << 8     # x
NOTIFY_EVICTED = 1 << 9     # e (shardis never evicts: nothing emits it)
NOTIFY_STREAM = 1 << 10     # t
NOTIFY_KEY_MISS = 1 << 11   # m (not part of A)
NOTIFY_MODULE = 1 << 13     # d (shardis has no modules: nothing emits it)
NOTIFY_NEW = 1 << 14        # n (not part of A)
NOTIFY_ALL = (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH
              | NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE)

LETTERS = {"A": NOTIFY_ALL, "g": NOTIFY_GENERIC, "$": NOTIFY_STRING, "l": NOTIFY_LIST,
           "s": NOTIFY_SET, "h": NOTIFY_HASH, "z": NOTIFY_ZSET, "x": NOTIFY_EXPIRED,
           "e": NOTIFY_EVICTED, "K": NOTIFY_KEYSPACE, "E": NOTIFY_KEYEVENT, "t": NOTIFY_STREAM,
           "m": NOTIFY_KEY_MISS, "d": NOTIFY_MODULE, "n": NOTIFY_NEW}

# Write commands whose keys Redis looks up for reading (lookupKeyRead), so that a missing
# key is a "keymiss" as for read-only commands.
KEYMISS_WRITES = frozenset(("getdel", "getex", "getset", "sort", "sinterstore", "sunionstore",
                            "sdiffstore", "zunionstore", "zinterstore", "zdiffstore",
                            "zrangestore"))

# Internal commands that read keys for a client's command (SORT across shards: its
# source and its BY/GET keys, read by lookupKeyRead in Redis): a missing key is a
# "keymiss" there too.
KEYMISS_INTERNAL = frozenset(("__sortload", "__sortget"))

# keyspaceEventsFlagsToString's order: the classes (or A), then K, E, m.
_CLASS_ORDER = "g$lshzxetdn"


def parse_flags(letters: str) -> int | None:
    """keyspaceEventsStringToFlags: the flags of a letter string, None for a bad letter."""
    flags = 0
    for c in letters:
        bit = LETTERS.get(c)
        if bit is None:
            return None
        flags |= bit
    return flags


def flags_string(flags: int) -> str:
    """keyspaceEventsFlagsToString: what CONFIG GET shows. As in Redis, with every class
    of A set the string is "A" and an 'n' is not shown (it still applies)."""
    if flags & NOTIFY_ALL == NOTIFY_ALL:
        out = "A"
    else:
        out = "".join(c for c in _CLASS_ORDER if flags & LETTERS[c])
    for c in "KEm":
        if flags & LETTERS[c]:
            out += c
    return out


def messages(flags: int, events: list[tuple[bytes, int, bytes]]) -> list[tuple[bytes, bytes]]:
    """(channel, message) pairs to publish for ``events`` of (event, db, key)."""
    out = []
    space, event_ = flags & NOTIFY_KEYSPACE, flags & NOTIFY_KEYEVENT
    for event, db, key in events:
        if space:
            out.append((b"__keyspace@%d__:%s" % (db, key), event))
        if event_:
            out.append((b"__keyevent@%d__:%s" % (db, event), key))
    return out
