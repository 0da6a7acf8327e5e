"""The stream commands (XADD, XRANGE, XREADGROUP, XCLAIM, XINFO ...), as Redis 7.0 answers them.

Layout (``shardd.disk.stream``): one ``members`` entry per stream entry under its ID
(ms + seq, big-endian), so ID order is key order: XADD appends, XRANGE walks a
cursor, trimming deletes from the head. The stream's own fields (last id, first
id, max-deleted-entry-id, entries-added) follow the collection head in its
record; nodes, consumer groups, pending entries (by ID and by consumer) and
consumers are ``index`` entries under the stream's id. Every command costs the
same on a stream of ten entries as on ten million (but for the ranges it returns).

Nodes: Redis keeps entries in listpacks of at most stream-node-max-entries (100)
entries and stream-node-max-bytes (4096) bytes, and ``~`` trimming removes whole
listpacks. shardis records the same grouping (a node record per listpack: its
live and total entries, the exact bytes of Redis' listpack, its master entry's
field names and its last entry's ID), so MAXLEN ~ and MINID ~ remove what Redis
removes, for entries of any size and content. XINFO's radix-tree-keys
is the node count, radix-tree-nodes the nodes of the radix tree Redis would hold
for those node keys.

Blocking: XREAD and XREADGROUP with BLOCK wait in the shard (shardd/blocking.py's
``wait_for``), woken by XADD (and, for XREADGROUP, by XGROUP DESTROY and the key's
deletion, which answer it with Redis' errors).
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from shardis import errors
from shardis.args import cstr, int_arg
from shardis.commands import CommandSpec, CommandTable
from shardis.notify import NOTIFY_STREAM
from shardis.resp import NIL_ARRAY, OK, ReplyError, Simple, string2ll
from shardis.values import KeyedArrays
from shardis.shardd.blocking import wait_for
from shardis.shardd.disk import stream as sd
from shardis.shardd.disk.keys import STREAM, payload
from shardis.shardd.storage import Coll, Keyspace

U64 = sd.U64
MAX_ID = (U64, U64)
ZERO = (0, 0)
INVALID = -1  # SCG_INVALID_ENTRIES_READ
LISTPACK_MAX = 1 << 30   # STREAM_LISTPACK_MAX_SIZE
XREAD_BLOCKED_DEFAULT_COUNT = 1000
LLONG_MAX = 2 ** 63 - 1

E_INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
E_ID_SMALL = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
E_ID_ZERO = "ERR The ID specified in XADD must be greater than 0-0"
E_EXHAUSTED = "ERR The stream has exhausted the last possible ID, unable to add more items"
E_START = "ERR invalid start ID for the interval"
E_END = "ERR invalid end ID for the interval"
E_NOGROUP_KEY = "NOGROUP No such key '%s' or consumer group '%s'"
E_NOGROUP_READ = "NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP option"
E_NOGROUP = "NOGROUP No such consumer group '%s' for key name '%s'"
E_NOGROUP_BLOCKED = "NOGROUP the consumer group this client was blocked on no longer exists"
E_KEY_GONE = "UNBLOCKED the stream key no longer exists"
E_XGROUP_KEY = ("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may "
                "want to use the MKSTREAM option to create an empty stream automatically.")

XGROUP_HELP = (
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
)
XINFO_HELP = (
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
)

ID = tuple[int, int]


def _text(b: bytes) -> str:
    """An argument inside an error, as Redis' %s puts it (up to a NUL; encode_error
    gives the bytes back as sent)."""
    return cstr(b).decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------- IDs

_SPACE = b" \t\n\v\f\r"
_DIGITS = re.compile(rb"[+-]?[0-9]+").fullmatch


def string2ull(s: bytes) -> int | None:
    """Redis' string2ull over a C string: string2ll, else strtoull (spaces, a sign)."""
    v = string2ll(s)
    if v is not None:
        return None if v < 0 else v
    t = s.lstrip(_SPACE)
    if not s or not _DIGITS(t):
        return None
    n = int(t)
    if abs(n) > U64:
        return None  # ERANGE
    return n % (U64 + 1)


def parse_id(arg: bytes, missing_seq: int = 0, strict: bool = False,
             seq_star: bool = False) -> tuple[ID, bool]:
    """streamGenericParseIDOrReply: ((ms, seq), seq_given). ``seq_star``: XADD's
    ``ms-*`` is allowed (seq_given False)."""
    if len(arg) > 127:
        raise ReplyError(E_INVALID_ID)
    buf = cstr(arg)
    if buf == b"-":
        if strict:
            raise ReplyError(E_INVALID_ID)
        return ZERO, True
    if buf == b"+":
        if strict:
            raise ReplyError(E_INVALID_ID)
        return MAX_ID, True
    ms_part, dash, seq_part = buf.partition(b"-")
    ms = string2ull(ms_part)
    if ms is None:
        raise ReplyError(E_INVALID_ID)
    if not dash:
        return (ms, missing_seq), True
    if seq_star and seq_part == b"*":
        return (ms, 0), False
    seq = string2ull(seq_part)
    if seq is None:
        raise ReplyError(E_INVALID_ID)
    return (ms, seq), True


def strict_id(arg: bytes, missing_seq: int = 0) -> ID:
    return parse_id(arg, missing_seq, strict=True)[0]


def interval_id(arg: bytes, missing_seq: int) -> tuple[ID, bool]:
    """streamParseIntervalIDOrReply: (id, exclusive)."""
    if len(arg) > 1 and arg[:1] == b"(":
        return parse_id(arg[1:], missing_seq, strict=True)[0], True
    return parse_id(arg, missing_seq)[0], False


def incr(i: ID) -> ID | None:
    ms, seq = i
    if seq == U64:
        if ms == U64:
            return None
        return (ms + 1, 0)
    return (ms, seq + 1)


def decr(i: ID) -> ID | None:
    ms, seq = i
    if seq == 0:
        if ms == 0:
            return None
        return (ms - 1, U64)
    return (ms, seq - 1)


def fmt(i: ID) -> bytes:
    return b"%d-%d" % i


def _range_bounds(start_arg: bytes, end_arg: bytes) -> tuple[ID, ID]:
    start, sx = interval_id(start_arg, 0)
    if sx:
        s2 = incr(start)
        if s2 is None:
            raise ReplyError(E_START)
        start = s2
    end, ex = interval_id(end_arg, U64)
    if ex:
        e2 = decr(end)
        if e2 is None:
            raise ReplyError(E_END)
        end = e2
    return start, end


# ---------------------------------------------------------------- the stream in storage


class Stream:
    """A stream's collection head and its own fields, read from its record."""

    __slots__ = ("c", "h")

    def __init__(self, c: Coll, h: sd.Head) -> None:
        self.c = c
        self.h = h

    @property
    def length(self) -> int:
        return self.c.count


def load(ks: Keyspace, db: int, key: bytes) -> Stream | None:
    """The live stream at ``key``; None when absent; WRONGTYPE for another type."""
    c = ks.coll(db, key, STREAM)
    if c is None:
        return None
    assert c.old is not None
    return Stream(c, sd.read_head(payload(c.old)))


def create(ks: Keyspace, db: int, key: bytes) -> Stream:
    c = ks.new_coll(db, key, STREAM)
    s = Stream(c, sd.Head())
    save(ks, s)
    return s


def save(ks: Keyspace, s: Stream) -> None:
    """Write the record back (a new version); a stream stays a key even when empty."""
    c = s.c
    ks.put(c.db, c.key, STREAM, sd.head_payload(c.id, c.count, s.h), c.expire, c.old)
    if c.old is None:
        c.old = ks.lookup(c.db, c.key)


def _ready(ks: Keyspace, s: Stream) -> None:
    """Wake the clients blocked on this stream (shardd/blocking.py)."""
    c = s.c
    if ks.store.waiting and (c.db, c.key) in ks.store.waiting:
        ks.ready.append((c.db, c.key))


def entries(ks: Keyspace, s: Stream, start: ID = ZERO, end: ID = MAX_ID, rev: bool = False,
            count: int = 0) -> Iterator[tuple[ID, bytes]]:
    """(id, raw entry) from ``start`` to ``end`` inclusive (``rev``: from ``end`` down),
    at most ``count`` (0: all)."""
    if start > end:
        return
    lo = sd.id_bytes(start)
    hi = sd.id_bytes(end)
    n = 0
    for k, v in ks.mrange(s.c, lo, hi + b"\0", reverse=rev):
        yield sd.bytes_id(k), v
        n += 1
        if count and n >= count:
            return


def entry(ks: Keyspace, s: Stream, i: ID) -> bytes | None:
    return ks.mget(s.c, sd.id_bytes(i))


def edge(ks: Keyspace, s: Stream, first: bool) -> ID | None:
    """The first (or last) live entry's ID."""
    for i, _ in entries(ks, s, rev=not first, count=1):
        return i
    return None


def _reply_entry(i: ID, raw: bytes) -> list:
    return [fmt(i), sd.unpack_entry(raw)]


# nodes -----------------------------------------------------------------


def _succ(p: bytes) -> bytes:
    """The first key past every key that starts with ``p``."""
    q = p.rstrip(b"\xff")
    return q[:-1] + bytes([q[-1] + 1]) if q else p + b"\xff" * 8


def _nodes(ks: Keyspace, s: Stream, rev: bool = False,
           after: ID | None = None) -> Iterator[tuple[ID, sd.Node]]:
    """The nodes in ID order (``after``: only those past that master ID)."""
    tag = sd.NODE_TAG
    start = tag if after is None else tag + sd.id_bytes(after) + b"\0"
    for k, v in ks.mrange(s.c, start, _succ(tag), reverse=rev, index=True):
        yield sd.bytes_id(k[1:]), sd.unpack_node(v)


def _node_of(ks: Keyspace, s: Stream, i: ID) -> ID | None:
    """The master ID of the node entry ``i`` belongs to (the last node at or before it)."""
    tag = sd.NODE_TAG
    for k, _ in ks.mrange(s.c, tag, tag + sd.id_bytes(i) + b"\0", reverse=True, index=True):
        return sd.bytes_id(k[1:])
    return None


# The bytes of Redis' listpack for a node (listpack.c, t_stream.c streamAppendItem): a
# 6-byte header and a 1-byte end; each element its encoding and a backlen. The master
# entry is count, deleted, num-fields, the field names and a 0; an entry is flags,
# ms-diff, seq-diff, [num-fields, field, value ...] or, when its field names are the
# master's (SAMEFIELDS), only the values, then lp-count. XDEL and trimming only flag
# entries deleted (same size) and rewrite count and deleted, whose size may change.

LP_EMPTY = 7


def _lp_backlen(n: int) -> int:
    """lpEncodeBacklen: the bytes an element's encoded length takes after it."""
    if n <= 127:
        return 1
    if n < 16383:
        return 2
    if n < 2097151:
        return 3
    if n < 268435455:
        return 4
    return 5


def _lp_int(v: int) -> int:
    """The bytes of an integer element: 7, 13, 16, 24, 32 or 64-bit encoding + backlen."""
    if 0 <= v <= 127:
        return 2
    if -4096 <= v <= 4095:
        return 3
    if -32768 <= v <= 32767:
        return 4
    if -8388608 <= v <= 8388607:
        return 5
    if -2147483648 <= v <= 2147483647:
        return 6
    return 10


def _lp_str(b: bytes) -> int:
    """The bytes of a string element; one that is an int64's canonical form is stored as
    that integer (lpStringToInt64, string2ll's rules)."""
    n = len(b)
    if 0 < n <= 20 and (48 <= b[0] <= 57 or b[0] == 45):
        v = string2ll(b)
        if v is not None:
            return _lp_int(v)
    enc = n + (1 if n < 64 else 2 if n < 4096 else 5)
    return enc + _lp_backlen(enc)


def _lp_delta(a: int, b: int) -> int:
    """``a - b`` of two uint64 ID parts as the int64 Redis appends."""
    d = (a - b) & U64
    return d - (1 << 64) if d >> 63 else d


def _master_size(names: list[bytes]) -> int:
    """An empty listpack with a master entry (count 1, deleted 0) for these field names."""
    size = LP_EMPTY + _lp_int(1) + _lp_int(0) + _lp_int(len(names)) + _lp_int(0)
    for f in names:
        size += _lp_str(f)
    return size


def _entry_size(i: ID, master: ID, fields: list[bytes], same: bool) -> int:
    """The bytes entry ``i`` adds to the listpack of node ``master`` (``same``: its
    field names are the master entry's)."""
    n = len(fields) // 2
    size = _lp_int(0) + _lp_int(_lp_delta(i[0], master[0])) + _lp_int(_lp_delta(i[1], master[1]))
    if same:
        for j in range(1, len(fields), 2):
            size += _lp_str(fields[j])
        return size + _lp_int(n + 3)
    for f in fields:
        size += _lp_str(f)
    return size + _lp_int(n) + _lp_int(2 * n + 4)


def _recount(node: sd.Node, live: int, total: int) -> None:
    """New live/total counts: the master entry's count and deleted fields are rewritten."""
    node.size += _lp_int(live) + _lp_int(total - live) - _lp_int(node.live) - \
        _lp_int(node.total - node.live)
    node.live = live
    node.total = total


def _rebuild(ks: Keyspace, s: Stream, master: ID, node: sd.Node, names: list[bytes]) -> None:
    """Make exact a tail node record an older shardis wrote (estimated bytes, no master
    fields): the master fields are those of its first live entry (``names``, those of
    the entry being added, if none is), the bytes those of its live entries; the
    deleted ones, gone from storage, are counted at the live ones' mean size."""
    live = list(entries(ks, s, master))
    node.fields = sd.unpack_entry(live[0][1])[::2] if live else names
    fields = node.fields
    sizes = []
    for i, raw in live:
        f = sd.unpack_entry(raw)
        sizes.append(_entry_size(i, master, f, f[::2] == fields))
    deleted = node.total - node.live
    node.size = _master_size(fields) + sum(sizes) + \
        (deleted * sum(sizes) // len(sizes) if sizes else 0)
    node.size += _lp_int(node.live) + _lp_int(deleted) - _lp_int(1) - _lp_int(0)
    node.last = live[-1][0] if live else master


def append(ks: Keyspace, s: Stream, i: ID, fields: list[bytes]) -> None:
    """streamAppendItem: the entry under its ID, in the tail node or a new one."""
    c = s.c
    names = fields[::2]
    tail = next(_nodes(ks, s, rev=True), None)
    if tail is not None:
        master, node = tail
        if node.fields is None:
            _rebuild(ks, s, master, node, names)
        st = ks.store
        max_bytes = st.stream_node_bytes
        if max_bytes == 0 or max_bytes > LISTPACK_MAX:
            max_bytes = LISTPACK_MAX
        if node.size + sum(len(f) for f in fields) >= max_bytes or (
                st.stream_node_entries and node.total >= st.stream_node_entries):
            tail = None
    if tail is None:
        master = i
        node = sd.Node(1, 1, _master_size(names) + _entry_size(i, i, fields, True), i, names)
    else:
        _recount(node, node.live + 1, node.total + 1)
        node.size += _entry_size(i, master, fields, names == node.fields)
        node.last = i
    ks.mput(c, sd.node_key(master), sd.pack_node(node), index=True)
    ks.mput(c, sd.id_bytes(i), sd.pack_entry(fields))
    if c.count == 0:
        s.h.first = i
    c.count += 1
    s.h.added += 1
    s.h.last = i


def delete_entry(ks: Keyspace, s: Stream, i: ID) -> bool:
    """Delete one entry (XDEL): its node's live count drops (Redis flags the entry
    deleted in place), a node whose last live entry goes is removed."""
    c = s.c
    if not ks.mdel(c, sd.id_bytes(i)):
        return False
    master = _node_of(ks, s, i)
    if master is not None:
        raw = ks.mget(c, sd.node_key(master), index=True)
        if raw is not None:
            node = sd.unpack_node(raw)
            if node.live <= 1:
                ks.mdel(c, sd.node_key(master), index=True)
            else:
                _recount(node, node.live - 1, node.total)
                ks.mput(c, sd.node_key(master), sd.pack_node(node), index=True)
    c.count -= 1
    return True


class Trim:
    """Parsed MAXLEN / MINID arguments (streamAddTrimArgs)."""

    __slots__ = ("strategy", "maxlen", "minid", "approx", "limit")

    def __init__(self) -> None:
        self.strategy = ""   # "", "maxlen", "minid"
        self.maxlen = 0
        self.minid = ZERO
        self.approx = False
        self.limit = 0


def trim(ks: Keyspace, s: Stream, t: Trim) -> int:
    """streamTrim: whole nodes from the head while they may go, then (exact trimming)
    entries of the next one. Returns how many entries were deleted. Each node is
    found by a seek from the last: the cost is that of what is deleted."""
    if not t.strategy:
        return 0
    c = s.c
    deleted = 0
    maxlen = t.maxlen
    after: ID | None = None
    while True:
        node = next(_nodes(ks, s, after=after), None)
        if node is None:
            break
        master, rec = node
        live = rec.live
        after = master
        if t.strategy == "maxlen" and c.count <= maxlen:
            break
        if t.limit and deleted + live > t.limit:
            break
        nxt = next(_nodes(ks, s, after=master), None)
        end = decr(nxt[0]) if nxt is not None else MAX_ID
        assert end is not None
        if t.strategy == "maxlen":
            remove = c.count - live >= maxlen
        else:
            # (the last entry added to the node, deleted or not, as lpGetEdgeStreamID reads
            # it; an old record does not know it: its last live entry)
            last = rec.last
            if last is None:
                last = next((i for i, _ in entries(ks, s, master, end, rev=True, count=1)), master)
            remove = last < t.minid
        if remove:
            for i, _ in list(entries(ks, s, master, end)):
                ks.mdel(c, sd.id_bytes(i))
            ks.mdel(c, sd.node_key(master), index=True)
            c.count -= live
            deleted += live
            continue
        if t.approx:
            break
        gone = 0
        # (only what goes is read: the exact trims of a capped stream cost one entry each)
        if t.strategy == "maxlen":
            doomed = list(entries(ks, s, master, end, count=min(live, c.count - maxlen)))
        else:
            below = decr(t.minid)
            doomed = [] if below is None else list(entries(ks, s, master, min(end, below), count=live))
        for i, _ in doomed:
            ks.mdel(c, sd.id_bytes(i))
            c.count -= 1
            deleted += 1
            gone += 1
        if gone:  # (flagged deleted in Redis: the node stays, even with no live entry)
            _recount(rec, live - gone, rec.total)
            ks.mput(c, sd.node_key(master), sd.pack_node(rec), index=True)
        break
    if deleted:
        first = edge(ks, s, True)
        s.h.first = first if first is not None else ZERO
    return deleted


# groups ----------------------------------------------------------------


class Group:
    __slots__ = ("name", "last", "read", "pending")

    def __init__(self, name: bytes, last: ID, read: int, pending: int) -> None:
        self.name = name
        self.last = last
        self.read = read
        self.pending = pending


def group(ks: Keyspace, s: Stream, name: bytes) -> Group | None:
    if len(s.c.prefix) + 1 + len(name) > 511:
        return None
    raw = ks.mget(s.c, sd.group_key(name), index=True)
    if raw is None:
        return None
    last, read, pending = sd.unpack_group(raw)
    return Group(name, last, read, pending)


def save_group(ks: Keyspace, s: Stream, g: Group) -> None:
    ks.mput(s.c, sd.group_key(g.name), sd.pack_group(g.last, g.read, g.pending), index=True)


def groups(ks: Keyspace, s: Stream) -> list[Group]:
    tag = sd.GROUP_TAG
    out = []
    for k, v in ks.mrange(s.c, tag, _succ(tag), index=True):
        last, read, pending = sd.unpack_group(v)
        out.append(Group(k[1:], last, read, pending))
    return out


def consumers(ks: Keyspace, s: Stream, g: Group) -> list[tuple[bytes, int, int]]:
    """(name, seen time, pending) of each consumer of ``g``, in name order."""
    p = sd.consumer_prefix(g.name)
    n = len(p)
    out = []
    for k, v in ks.mrange(s.c, p, _succ(p), index=True):
        seen, pending = sd.unpack_consumer(v)
        out.append((k[n:], seen, pending))
    return out


def consumer(ks: Keyspace, s: Stream, g: Group, name: bytes) -> tuple[int, int] | None:
    raw = ks.mget(s.c, sd.consumer_prefix(g.name) + name, index=True)
    return None if raw is None else sd.unpack_consumer(raw)


def save_consumer(ks: Keyspace, s: Stream, g: Group, name: bytes, seen: int, pending: int) -> None:
    ks.mput(s.c, sd.consumer_prefix(g.name) + name, sd.pack_consumer(seen, pending), index=True)


def lookup_consumer(ks: Keyspace, s: Stream, g: Group, name: bytes, refresh: bool = True,
                    create: bool = True) -> tuple[int, int] | None:
    """streamLookupConsumer (refreshing its seen time) or streamCreateConsumer."""
    found = consumer(ks, s, g, name)
    if found is None:
        if not create:
            return None
        save_consumer(ks, s, g, name, ks.now, 0)
        ks.notify(NOTIFY_STREAM, b"xgroup-createconsumer", s.c.db, s.c.key)
        return ks.now, 0
    if refresh:
        save_consumer(ks, s, g, name, ks.now, found[1])
        return ks.now, found[1]
    return found


def pel_get(ks: Keyspace, s: Stream, g: Group, i: ID) -> tuple[int, int, bytes] | None:
    raw = ks.mget(s.c, sd.pel_prefix(g.name) + sd.id_bytes(i), index=True)
    return None if raw is None else sd.unpack_pel(raw)


def pel_range(ks: Keyspace, s: Stream, g: Group, start: ID = ZERO, end: ID = MAX_ID,
              owner: bytes | None = None, rev: bool = False) -> Iterator[ID]:
    """IDs in the group's PEL (or one consumer's) from ``start`` to ``end``."""
    p = sd.pel_prefix(g.name) if owner is None else sd.cpel_prefix(g.name, owner)
    n = len(p)
    for k, _ in ks.mrange(s.c, p + sd.id_bytes(start), p + sd.id_bytes(end) + b"\0", reverse=rev,
                          index=True):
        yield sd.bytes_id(k[n:])


def _consumer_pending(ks: Keyspace, s: Stream, g: Group, name: bytes, delta: int) -> None:
    found = consumer(ks, s, g, name)
    if found is not None:
        save_consumer(ks, s, g, name, found[0], found[1] + delta)


def pel_put(ks: Keyspace, s: Stream, g: Group, i: ID, time: int, count: int, owner: bytes,
            old_owner: bytes | None) -> None:
    """Set a PEL entry, moving it between consumers' lists (``old_owner``: None when new)."""
    c = s.c
    ib = sd.id_bytes(i)
    ks.mput(c, sd.pel_prefix(g.name) + ib, sd.pack_pel(time, count, owner), index=True)
    if old_owner != owner:
        if old_owner is not None:
            ks.mdel(c, sd.cpel_prefix(g.name, old_owner) + ib, index=True)
            _consumer_pending(ks, s, g, old_owner, -1)
        else:
            g.pending += 1
        ks.mput(c, sd.cpel_prefix(g.name, owner) + ib, b"", index=True)
        _consumer_pending(ks, s, g, owner, 1)


def pel_del(ks: Keyspace, s: Stream, g: Group, i: ID, owner: bytes) -> None:
    c = s.c
    ib = sd.id_bytes(i)
    ks.mdel(c, sd.pel_prefix(g.name) + ib, index=True)
    ks.mdel(c, sd.cpel_prefix(g.name, owner) + ib, index=True)
    _consumer_pending(ks, s, g, owner, -1)
    g.pending -= 1


def _drop_prefix(ks: Keyspace, s: Stream, p: bytes) -> None:
    for k, _ in list(ks.mrange(s.c, p, _succ(p), index=True)):
        ks.mdel(s.c, k, index=True)


# lag bookkeeping (7.0) --------------------------------------------------


def has_tombstones(s: Stream, start: ID | None) -> bool:
    """streamRangeHasTombstones(s, start, NULL)."""
    h = s.h
    if not s.length or h.maxdel == ZERO:
        return False
    if h.first > h.maxdel:
        return False
    return (start or ZERO) <= h.maxdel


def estimate_read(s: Stream, i: ID) -> int:
    """streamEstimateDistanceFromFirstEverEntry."""
    h = s.h
    if not h.added:
        return 0
    if not s.length and i <= h.last:
        return h.added
    if i == h.last:
        return h.added
    if i > h.last:
        return INVALID
    if h.maxdel == ZERO or h.maxdel < h.first:
        if i < h.first:
            return h.added - s.length
        if i == h.first:
            return h.added - s.length + 1
    return INVALID


def lag(s: Stream, g: Group) -> int | None:
    if not s.h.added:
        return 0
    if g.read != INVALID and not has_tombstones(s, g.last):
        return s.h.added - g.read
    read = estimate_read(s, g.last)
    return None if read == INVALID else s.h.added - read


# LMDB keys hold 511 bytes: the longest key of a group is a consumer's pending entry,
# id (8) + tag (1) + group's length (2) + group + consumer's length (2) + consumer + ID (16).
NAMES_MAX = 511 - 29
E_NAMES = "ERR group and consumer names longer than %d bytes together are not supported"


def check_names(group: bytes, consumer: bytes = b"") -> None:
    """Refuse, before anything is written, names too long to be stored."""
    if len(group) + len(consumer) > NAMES_MAX:
        raise ReplyError(E_NAMES % NAMES_MAX)


# ---------------------------------------------------------------- XADD, XTRIM, XRANGE ...


def _parse_trim(args: list[bytes], xadd: bool,
                node_entries: int) -> tuple[Trim, int, ID | None, bool, bool]:
    """streamParseAddOrTrimArgsOrReply: (trim, id position, id, seq given, nomkstream)."""
    t = Trim()
    limit_given = False
    nomk = False
    id_: ID | None = None
    seq_given = True
    i = 2
    argc = len(args)
    while i < argc:
        more = argc - 1 - i
        opt = cstr(args[i]).lower()
        if xadd and args[i][:1] == b"*" and cstr(args[i]) == b"*":
            break
        if (opt == b"maxlen" or opt == b"minid") and more:
            if t.strategy:
                raise ReplyError("ERR syntax error, MAXLEN and MINID options at the same time "
                                 "are not compatible")
            t.approx = False
            nxt = cstr(args[i + 1])
            if more >= 2 and nxt == b"~":
                t.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            if opt == b"maxlen":
                t.maxlen = int_arg(args[i + 1])
                if t.maxlen < 0:
                    raise ReplyError("ERR The MAXLEN argument must be >= 0.")
                t.strategy = "maxlen"
            else:
                t.minid = strict_id(args[i + 1])
                t.strategy = "minid"
            i += 1
        elif opt == b"limit" and more:
            t.limit = int_arg(args[i + 1])
            if t.limit < 0:
                raise ReplyError("ERR The LIMIT argument must be >= 0.")
            limit_given = True
            i += 1
        elif xadd and opt == b"nomkstream":
            nomk = True
        elif xadd:
            id_, seq_given = parse_id(args[i], 0, strict=True, seq_star=True)
            break
        else:
            raise ReplyError(errors.SYNTAX)
        i += 1
    if t.limit and not t.strategy:
        raise ReplyError("ERR syntax error, LIMIT cannot be used without specifying a trimming "
                         "strategy")
    if not xadd and not t.strategy:
        raise ReplyError("ERR syntax error, XTRIM must be called with a trimming strategy")
    if limit_given:
        if not t.approx:
            raise ReplyError("ERR syntax error, LIMIT cannot be used without the special ~ option")
    elif t.approx:
        t.limit = 100 * node_entries
        if t.limit <= 0 or t.limit > 1000000:
            t.limit = 1000000
    else:
        t.limit = 0
    return t, i, id_, seq_given, nomk


def _next_id(last: ID, now: int) -> ID | None:
    if now > last[0]:
        return (now, 0)
    return incr(last)


def xadd(ks: Keyspace, db: int, args: list[bytes]) -> bytes | None:
    t, idpos, given, seq_given, nomk = _parse_trim(args, True, ks.store.stream_node_entries)
    field_pos = idpos + 1
    n = len(args) - field_pos
    if n < 2 or n % 2:
        raise ReplyError(errors.WRONG_ARITY % "xadd")
    if given is not None and seq_given and given == ZERO:
        raise ReplyError(E_ID_ZERO)
    key = args[1]
    s = load(ks, db, key)
    if s is None:
        if nomk:
            return None
        s = create(ks, db, key)
    h = s.h
    if h.last == MAX_ID:
        raise ReplyError(E_EXHAUSTED)
    if given is not None:
        if seq_given:
            new: ID | None = given
        elif h.last[0] == given[0]:
            if h.last[1] == U64:
                raise ReplyError("ERR Elements are too large to be stored")
            new = (given[0], h.last[1] + 1)
        else:
            new = given
    else:
        new = _next_id(h.last, ks.now)
    if new is None or new <= h.last:
        raise ReplyError(E_ID_SMALL)
    append(ks, s, new, args[field_pos:])
    ks.notify(NOTIFY_STREAM, b"xadd", db, key)
    if t.strategy and trim(ks, s, t):
        ks.notify(NOTIFY_STREAM, b"xtrim", db, key)
    save(ks, s)
    _ready(ks, s)
    return fmt(new)


def xtrim(ks: Keyspace, db: int, args: list[bytes]) -> int:
    t = _parse_trim(args, False, ks.store.stream_node_entries)[0]
    s = load(ks, db, args[1])
    if s is None:
        return 0
    deleted = trim(ks, s, t)
    if deleted:
        ks.notify(NOTIFY_STREAM, b"xtrim", db, args[1])
        save(ks, s)
    return deleted


def _range(ks: Keyspace, db: int, args: list[bytes], rev: bool) -> Any:
    start_arg, end_arg = (args[3], args[2]) if rev else (args[2], args[3])
    start, end = _range_bounds(start_arg, end_arg)
    count = -1
    j = 4
    while j < len(args):
        if cstr(args[j]).lower() == b"count" and len(args) - j - 1 >= 1:
            count = int_arg(args[j + 1])
            if count < 0:
                count = 0
            j += 2
        else:
            raise ReplyError(errors.SYNTAX)
    s = load(ks, db, args[1])
    if s is None:
        return []
    if count == 0:
        return NIL_ARRAY
    return [_reply_entry(i, raw) for i, raw in entries(ks, s, start, end, rev, max(count, 0))]


def xrange(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    return _range(ks, db, args, False)


def xrevrange(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    return _range(ks, db, args, True)


def xlen(ks: Keyspace, db: int, args: list[bytes]) -> int:
    s = load(ks, db, args[1])
    return 0 if s is None else s.length


def xdel(ks: Keyspace, db: int, args: list[bytes]) -> int:
    s = load(ks, db, args[1])
    if s is None:
        return 0
    ids = [strict_id(a) for a in args[2:]]
    deleted = 0
    first_entry = False
    for i in ids:
        if delete_entry(ks, s, i):
            if i == s.h.first:
                first_entry = True
            if i > s.h.maxdel:
                s.h.maxdel = i
            deleted += 1
    if deleted:
        if s.length == 0:
            s.h.first = ZERO
        elif first_entry:
            f = edge(ks, s, True)
            s.h.first = f if f is not None else MAX_ID
        ks.notify(NOTIFY_STREAM, b"xdel", db, args[1])
        save(ks, s)
    return deleted


def xsetid(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    new = strict_id(args[2])
    maxdel = ZERO
    added = -1
    i = 3
    while i < len(args):
        more = len(args) - 1 - i
        opt = cstr(args[i]).lower()
        if opt == b"entriesadded" and more:
            added = int_arg(args[i + 1])
            if added < 0:
                raise ReplyError("ERR entries_added must be positive")
            i += 2
        elif opt == b"maxdeletedid" and more:
            maxdel = strict_id(args[i + 1])
            if new < maxdel:
                raise ReplyError("ERR The ID specified in XSETID is smaller than the provided "
                                 "max_deleted_entry_id")
            i += 2
        else:
            raise ReplyError(errors.SYNTAX)
    s = load(ks, db, args[1])
    if s is None:
        raise ReplyError(errors.NO_SUCH_KEY)
    if s.length > 0:
        top = edge(ks, s, False)
        if top is not None and new < top:
            raise ReplyError("ERR The ID specified in XSETID is smaller than the target stream "
                             "top item")
        if added != -1 and s.length > added:
            raise ReplyError("ERR The entries_added specified in XSETID is smaller than the "
                             "target stream length")
    s.h.last = new
    if added != -1:
        s.h.added = added
    if maxdel != ZERO:
        s.h.maxdel = maxdel
    save(ks, s)
    ks.notify(NOTIFY_STREAM, b"xsetid", db, args[1])
    return OK


# ---------------------------------------------------------------- XGROUP


def _subcommand_syntax(args: list[bytes], name: str) -> ReplyError:
    return ReplyError("ERR unknown subcommand or wrong number of arguments for '%s'. Try %s HELP."
                      % (_text(args[1])[:128], name))


def _container(args: list[bytes], subs: dict[str, int], name: str) -> str:
    """What Redis' processCommand checks for a container: the subcommand and its arity."""
    sub = args[1].decode("latin-1").lower()
    arity = subs.get(sub)
    if arity is None:
        raise ReplyError(errors.UNKNOWN_SUBCOMMAND % (_text(args[1][:128]), name.upper()))
    if (len(args) != arity) if arity > 0 else (len(args) < -arity):
        raise ReplyError(errors.WRONG_ARITY % f"{name}|{sub}")
    return sub


XGROUP_SUBS = {"create": -5, "setid": -5, "destroy": 4, "createconsumer": 5, "delconsumer": 5,
               "help": 2}
XINFO_SUBS = {"stream": -3, "groups": 3, "consumers": 4, "help": 2}


def _help(lines: tuple[str, ...]) -> list[Simple]:
    return [Simple(line) for line in lines]


def xgroup(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    sub = _container(args, XGROUP_SUBS, "xgroup")
    argc = len(args)
    s = None
    g = None
    mkstream = False
    read = INVALID
    if argc >= 4:
        if sub == "create":
            i = 5
            while i < argc:
                o = cstr(args[i]).lower()
                if o == b"mkstream":
                    mkstream = True
                    i += 1
                elif o == b"entriesread" and i + 1 < argc:
                    read = int_arg(args[i + 1])
                    if read < 0 and read != INVALID:
                        raise ReplyError("ERR value for ENTRIESREAD must be positive or -1")
                    i += 2
                else:
                    raise _subcommand_syntax(args, "XGROUP")
        elif sub == "setid":
            if argc == 7:
                if cstr(args[5]).lower() == b"entriesread":
                    read = int_arg(args[6])
                    if read < 0 and read != INVALID:
                        raise ReplyError("ERR value for ENTRIESREAD must be positive or -1")
                else:
                    raise _subcommand_syntax(args, "XGROUP")
            elif argc != 5:
                raise _subcommand_syntax(args, "XGROUP")
        s = load(ks, db, args[2])
        name = args[3]
        if argc >= 4 and not mkstream:
            if s is None:
                raise ReplyError(E_XGROUP_KEY)
            if sub in ("setid", "createconsumer", "delconsumer"):
                g = group(ks, s, name)
                if g is None:
                    raise ReplyError(E_NOGROUP % (_text(name), _text(args[2])))
    if sub == "help" and argc == 2:
        return _help(XGROUP_HELP)
    key = args[2]
    if sub == "create" and 5 <= argc <= 8:
        if cstr(args[4]) == b"$":
            last = s.h.last if s is not None else ZERO
        else:
            last = strict_id(args[4])
        if s is None:
            s = create(ks, db, key)
        if group(ks, s, args[3]) is not None:
            raise ReplyError("BUSYGROUP Consumer Group name already exists")
        check_names(args[3])
        save_group(ks, s, Group(args[3], last, read, 0))
        save(ks, s)
        ks.notify(NOTIFY_STREAM, b"xgroup-create", db, key)
        return OK
    if sub == "setid" and argc in (5, 7):
        assert s is not None and g is not None
        if cstr(args[4]) == b"$":
            last = s.h.last
        else:
            last = parse_id(args[4])[0]
        g.last = last
        g.read = read
        save_group(ks, s, g)
        save(ks, s)
        ks.notify(NOTIFY_STREAM, b"xgroup-setid", db, key)
        return OK
    if sub == "destroy" and argc == 4:
        assert s is not None
        g = group(ks, s, args[3])
        if g is None:
            return 0
        _drop_prefix(ks, s, sd.pel_prefix(g.name))
        _drop_prefix(ks, s, sd.CPEL_TAG + sd.LEN.pack(len(g.name)) + g.name)
        _drop_prefix(ks, s, sd.consumer_prefix(g.name))
        ks.mdel(s.c, sd.group_key(g.name), index=True)
        save(ks, s)
        ks.notify(NOTIFY_STREAM, b"xgroup-destroy", db, key)
        _ready(ks, s)
        return 1
    if sub == "createconsumer" and argc == 5:
        assert s is not None and g is not None
        check_names(g.name, args[4])
        if consumer(ks, s, g, args[4]) is not None:
            return 0
        lookup_consumer(ks, s, g, args[4])
        save(ks, s)
        return 1
    if sub == "delconsumer" and argc == 5:
        assert s is not None and g is not None
        found = consumer(ks, s, g, args[4])
        if found is None:
            return 0
        owned = list(pel_range(ks, s, g, owner=args[4]))
        for pid in owned:
            ks.mdel(s.c, sd.pel_prefix(g.name) + sd.id_bytes(pid), index=True)
        _drop_prefix(ks, s, sd.cpel_prefix(g.name, args[4]))
        ks.mdel(s.c, sd.consumer_prefix(g.name) + args[4], index=True)
        g.pending -= len(owned)
        save_group(ks, s, g)
        save(ks, s)
        ks.notify(NOTIFY_STREAM, b"xgroup-delconsumer", db, key)
        return len(owned)
    raise _subcommand_syntax(args, "XGROUP")


def xgroup_keys(args: list[bytes]) -> list[bytes]:
    if len(args) >= 3 and args[1].lower() != b"help":
        return [args[2]]
    return []


# ---------------------------------------------------------------- XREAD, XREADGROUP


BLOCKED = b"\0blocked"  # args[0] of a blocked read served again (shardd/blocking.py)


def _parse_timeout(arg: bytes, now: int) -> int:
    v = string2ll(arg)
    if v is None:
        raise ReplyError("ERR timeout is not an integer or out of range")
    if v < 0:
        raise ReplyError("ERR timeout is negative")
    if v > 0:
        if v > LLONG_MAX - now:
            raise ReplyError("ERR timeout is out of range")
        return now + v
    return 0


def _read_keys(args: list[bytes]) -> list[bytes]:
    """The stream keys of XREAD / XREADGROUP (after STREAMS, the first half)."""
    for i in range(1, len(args)):
        if cstr(args[i]).lower() == b"streams" and i + 1 < len(args):
            rest = args[i + 1:]
            return rest[:len(rest) // 2]
    return []


def xread(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    served_blocked = args[0] == BLOCKED
    if served_blocked:
        args = args[1:]
    xreadgroup = len(args[0]) == 10
    timeout = -1
    count = 0
    streams_arg = 0
    streams_count = 0
    noack = False
    gname = cname = None
    argc = len(args)
    i = 1
    while i < argc:
        more = argc - i - 1
        o = cstr(args[i]).lower()
        if o == b"block" and more:
            i += 1
            timeout = _parse_timeout(args[i], ks.now)
        elif o == b"count" and more:
            i += 1
            count = int_arg(args[i])
            if count < 0:
                count = 0
        elif o == b"streams" and more:
            streams_arg = i + 1
            streams_count = argc - streams_arg
            if streams_count % 2:
                name, symbol = ("xreadgroup", ">") if xreadgroup else ("xread", "$")
                raise ReplyError("ERR Unbalanced '%s' list of streams: for each stream key an ID "
                                 "or '%s' must be specified." % (name, symbol))
            streams_count //= 2
            break
        elif o == b"group" and more >= 2:
            if not xreadgroup:
                raise ReplyError("ERR The GROUP option is only supported by XREADGROUP. You "
                                 "called XREAD instead.")
            gname, cname = args[i + 1], args[i + 2]
            i += 2
        elif o == b"noack":
            if not xreadgroup:
                raise ReplyError("ERR The NOACK option is only supported by XREADGROUP. You "
                                 "called XREAD instead.")
            noack = True
        else:
            raise ReplyError(errors.SYNTAX)
        i += 1
    if streams_arg == 0:
        raise ReplyError(errors.SYNTAX)
    if xreadgroup and gname is None:
        raise ReplyError("ERR Missing GROUP option for XREADGROUP")
    if gname is not None and cname is not None:
        check_names(gname, cname)
    keys = args[streams_arg:streams_arg + streams_count]
    id_args = args[streams_arg + streams_count:]
    ids: list[ID] = []
    grps: list[Group | None] = []
    streams: list[Stream | None] = []
    for key, a in zip(keys, id_args):
        s = load(ks, db, key)
        g = None
        if gname is not None:
            g = group(ks, s, gname) if s is not None else None
            if g is None:
                if served_blocked:
                    raise ReplyError(E_KEY_GONE if s is None else E_NOGROUP_BLOCKED)
                raise ReplyError(E_NOGROUP_READ % (_text(key), _text(gname)))
        grps.append(g)
        streams.append(s)
        if cstr(a) == b"$":
            if xreadgroup:
                raise ReplyError("ERR The $ ID is meaningless in the context of XREADGROUP: you "
                                 "want to read the history of this consumer by specifying a "
                                 "proper ID, or use the > ID to get new messages. The $ ID would "
                                 "just return an empty result set.")
            ids.append(s.h.last if s is not None else ZERO)
        elif cstr(a) == b">":
            if not xreadgroup:
                raise ReplyError("ERR The > ID can be specified only when calling XREADGROUP "
                                 "using the GROUP <group> <consumer> option.")
            ids.append(MAX_ID)
        else:
            ids.append(strict_id(a))
    out: list = []
    for n, key in enumerate(keys):
        if streams[n] is None:
            continue
        s = load(ks, db, key)  # (again: the same key may come twice)
        assert s is not None
        gt = ids[n]
        g = group(ks, s, gname) if gname is not None else None
        serve = history = False
        if g is not None:
            if gt != MAX_ID:
                serve = history = True
            elif s.length:
                top = edge(ks, s, False)
                if top is not None and top > g.last:
                    serve = True
                    gt = g.last
        elif s.length:
            top = edge(ks, s, False)
            if top is not None and top > gt:
                serve = True
        if not serve:
            continue
        start = incr(gt) or MAX_ID
        if g is not None:
            assert cname is not None
            lookup_consumer(ks, s, g, cname)
            if history:
                got = _from_pel(ks, s, g, cname, start, count)
            else:
                got = _deliver(ks, s, g, cname, start, count, noack)
            save_group(ks, s, g)
            save(ks, s)
        else:
            got = [_reply_entry(i, raw) for i, raw in entries(ks, s, start, MAX_ID, False, count)]
        out.append((key, got))
    if out:
        return KeyedArrays(out)
    if served_blocked:  # (nothing for it after all: it waits on)
        return wait_for(ks, db, list(keys), 0, NIL_ARRAY, STREAM, None)
    if timeout != -1:
        # Wait for any of the keys; "$" is the last ID now, ">" the group's at service.
        resolved = [fmt(i) if i != MAX_ID else b">" for i in ids]
        head = args[:streams_arg - 1]
        if count == 0:
            head = head + [b"COUNT", b"%d" % XREAD_BLOCKED_DEFAULT_COUNT]
        head.append(b"STREAMS")
        pos = {k: n for n, k in enumerate(keys)}

        def narrow(key: bytes) -> list[bytes]:
            n = pos[key]
            return [BLOCKED] + head + [key, resolved[n]]

        return wait_for(ks, db, list(keys), timeout, NIL_ARRAY, STREAM, narrow)
    return NIL_ARRAY


def _deliver(ks: Keyspace, s: Stream, g: Group, cname: bytes, start: ID, count: int,
             noack: bool) -> list:
    """streamReplyWithRange with a group: new entries, each added to the PEL."""
    out = []
    for i, raw in entries(ks, s, start, MAX_ID, False, count):
        if i > g.last:
            if g.read != INVALID and not has_tombstones(s, i):
                g.read += 1
            elif s.h.added:
                g.read = estimate_read(s, i)
            g.last = i
        out.append(_reply_entry(i, raw))
        if not noack:
            old = pel_get(ks, s, g, i)
            pel_put(ks, s, g, i, ks.now, 1, cname, None if old is None else old[2])
    return out


def _from_pel(ks: Keyspace, s: Stream, g: Group, cname: bytes, start: ID, count: int) -> list:
    """streamReplyWithRangeFromConsumerPEL: the consumer's own pending entries."""
    out: list = []
    for i in list(pel_range(ks, s, g, start, MAX_ID, owner=cname)):
        if count and len(out) >= count:
            break
        raw = entry(ks, s, i)
        if raw is None:
            out.append([fmt(i), NIL_ARRAY])
        else:
            out.append(_reply_entry(i, raw))
            p = pel_get(ks, s, g, i)
            if p is not None:
                pel_put(ks, s, g, i, ks.now, p[1] + 1, cname, cname)
    return out


# ---------------------------------------------------------------- XACK, XPENDING, XCLAIM


def xack(ks: Keyspace, db: int, args: list[bytes]) -> int:
    s = load(ks, db, args[1])
    g = group(ks, s, args[2]) if s is not None else None
    if s is None or g is None:
        return 0
    ids = [strict_id(a) for a in args[3:]]
    acked = 0
    for i in ids:
        p = pel_get(ks, s, g, i)
        if p is not None:
            pel_del(ks, s, g, i, p[2])
            acked += 1
    if acked:
        save_group(ks, s, g)
        save(ks, s)
    return acked


def xpending(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    argc = len(args)
    justinfo = argc == 3
    if argc != 3 and (argc < 6 or argc > 9):
        raise ReplyError(errors.SYNTAX)
    minidle = 0
    count = 0
    cname = None
    start = end = ZERO
    if argc >= 6:
        startidx = 3
        if cstr(args[3]).lower() == b"idle":
            minidle = int_arg(args[4])
            if argc < 8:
                raise ReplyError(errors.SYNTAX)
            startidx += 2
        count = int_arg(args[startidx + 2])
        if count < 0:
            count = 0
        start, end = _range_bounds(args[startidx], args[startidx + 1])
        if startidx + 3 < argc:
            cname = args[startidx + 3]
    s = load(ks, db, args[1])
    g = group(ks, s, args[2]) if s is not None else None
    if s is None or g is None:
        raise ReplyError(E_NOGROUP_KEY % (_text(args[1]), _text(args[2])))
    if justinfo:
        if g.pending == 0:
            return [0, None, None, NIL_ARRAY]
        first = next(pel_range(ks, s, g))
        last = next(pel_range(ks, s, g, rev=True))
        owners = [[name, b"%d" % pending] for name, _, pending in consumers(ks, s, g) if pending]
        return [g.pending, fmt(first), fmt(last), owners]
    if cname is not None and consumer(ks, s, g, cname) is None:
        return []
    out = []
    now = ks.now
    if count:
        for i in pel_range(ks, s, g, start, end, owner=cname):
            p = pel_get(ks, s, g, i)
            assert p is not None
            t, n, owner = p
            if minidle and now - t < minidle:
                continue
            out.append([fmt(i), owner, max(now - t, 0), n])
            count -= 1
            if not count:
                break
    return out


def _claim_one(ks: Keyspace, s: Stream, g: Group, i: ID, cname: bytes, time: int, retry: int,
               justid: bool, p: tuple[int, int, bytes] | None) -> None:
    t, n, owner = p if p is not None else (ks.now, 1, None)
    if retry >= 0:
        n = retry
    elif not justid:
        n += 1
    pel_put(ks, s, g, i, time, n, cname, owner)


def xclaim(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    s = load(ks, db, args[1])
    g = group(ks, s, args[2]) if s is not None else None
    if s is None or g is None:
        raise ReplyError(E_NOGROUP_KEY % (_text(args[1]), _text(args[2])))
    check_names(g.name, args[3])
    minidle = string2ll(args[4])
    if minidle is None:
        raise ReplyError("ERR Invalid min-idle-time argument for XCLAIM")
    minidle = max(minidle, 0)
    j = 5
    ids = []
    while j < len(args):
        try:
            ids.append(strict_id(args[j]))
        except ReplyError:
            break
        j += 1
    now = ks.now
    retry = -1
    delivery = -1
    force = justid = False
    last_id = ZERO
    while j < len(args):
        more = len(args) - 1 - j
        o = cstr(args[j]).lower()
        if o == b"force":
            force = True
        elif o == b"justid":
            justid = True
        elif o == b"idle" and more:
            j += 1
            v = string2ll(args[j])
            if v is None:
                raise ReplyError("ERR Invalid IDLE option argument for XCLAIM")
            delivery = now - v
        elif o == b"time" and more:
            j += 1
            v = string2ll(args[j])
            if v is None:
                raise ReplyError("ERR Invalid TIME option argument for XCLAIM")
            delivery = v
        elif o == b"retrycount" and more:
            j += 1
            v = string2ll(args[j])
            if v is None:
                raise ReplyError("ERR Invalid RETRYCOUNT option argument for XCLAIM")
            retry = v
        elif o == b"lastid" and more:
            j += 1
            last_id = strict_id(args[j])
        else:
            raise ReplyError("ERR Unrecognized XCLAIM option '%s'" % _text(args[j]))
        j += 1
    changed = False
    if last_id > g.last:
        g.last = last_id
        changed = True
    if delivery != -1:
        if delivery < 0 or delivery > now:
            delivery = now
    else:
        delivery = now
    out: list = []
    have_consumer = False
    for i in ids:
        p = pel_get(ks, s, g, i)
        raw = entry(ks, s, i)
        if raw is None:
            if p is not None:
                pel_del(ks, s, g, i, p[2])
                changed = True
            continue
        if force and p is None:
            p2: tuple[int, int, bytes] | None = None
            forced = True
        elif p is None:
            continue
        else:
            p2 = p
            forced = False
        if not forced and p2 is not None and minidle and now - p2[0] < minidle:
            continue
        if not have_consumer:
            lookup_consumer(ks, s, g, args[3])
            have_consumer = True
        _claim_one(ks, s, g, i, args[3], delivery, retry, justid, p2)
        changed = True
        out.append(fmt(i) if justid else _reply_entry(i, raw))
    if changed or have_consumer:
        save_group(ks, s, g)
        save(ks, s)
    return out


def xautoclaim(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    v = string2ll(args[4])
    if v is None:
        raise ReplyError("ERR Invalid min-idle-time argument for XAUTOCLAIM")
    minidle = max(v, 0)
    start, sx = interval_id(args[5], 0)
    if sx:
        s2 = incr(start)
        if s2 is None:
            raise ReplyError(E_START)
        start = s2
    count = 100
    justid = False
    j = 6
    max_count = LLONG_MAX // 16
    while j < len(args):
        more = len(args) - 1 - j
        o = cstr(args[j]).lower()
        if o == b"count" and more:
            c = string2ll(args[j + 1])
            if c is None or not 1 <= c <= max_count:
                raise ReplyError("ERR COUNT must be > 0")
            if c * 16 >= 1 << 48:  # (Redis' allocation for the deleted IDs fails)
                raise ReplyError("ERR Insufficient memory, failed allocating transient memory, "
                                 "COUNT too high.")
            count = c
            j += 1
        elif o == b"justid":
            justid = True
        else:
            raise ReplyError(errors.SYNTAX)
        j += 1
    s = load(ks, db, args[1])
    g = group(ks, s, args[2]) if s is not None else None
    if s is None or g is None:
        raise ReplyError(E_NOGROUP_KEY % (_text(args[1]), _text(args[2])))
    check_names(g.name, args[3])
    attempts = count * 10
    now = ks.now
    claimed: list = []
    deleted: list[bytes] = []
    have_consumer = False
    changed = False
    it = pel_range(ks, s, g, start)
    pending_ids = []
    # (a bounded read: at most attempts + 1 IDs are looked at)
    for i in it:
        pending_ids.append(i)
        if len(pending_ids) > attempts:
            break
    pos = 0
    while attempts and count and pos < len(pending_ids):
        attempts -= 1
        i = pending_ids[pos]
        pos += 1
        p = pel_get(ks, s, g, i)
        assert p is not None
        raw = entry(ks, s, i)
        if raw is None:
            pel_del(ks, s, g, i, p[2])
            deleted.append(fmt(i))
            changed = True
            count -= 1
            continue
        if minidle and now - p[0] < minidle:
            continue
        if not have_consumer:
            lookup_consumer(ks, s, g, args[3])
            have_consumer = True
        _claim_one(ks, s, g, i, args[3], now, -1, justid, p)
        changed = True
        claimed.append(fmt(i) if justid else _reply_entry(i, raw))
        count -= 1
    nxt = pending_ids[pos] if pos < len(pending_ids) else ZERO
    if changed or have_consumer:
        save_group(ks, s, g)
        save(ks, s)
    return [fmt(nxt), claimed, deleted]


# ---------------------------------------------------------------- XINFO


def _radix_nodes(keys: list[bytes], depth: int = 0) -> int:
    """The nodes of Redis' radix tree holding these (sorted, 16-byte) node keys, as rax
    lays them out after in-order inserts: a compressed node for each run of bytes the
    keys share, a branch node where they part, a leaf per key; 1 for no key."""
    if len(keys) <= 1:
        return 1 if not keys or depth == len(keys[0]) else 2
    first, last = keys[0], keys[-1]
    common = 0
    while depth + common < len(first) and first[depth + common] == last[depth + common]:
        common += 1
    if common:
        return 1 + _radix_nodes(keys, depth + common)
    total, start = 1, 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i][depth] != keys[start][depth]:
            total += _radix_nodes(keys[start:i], depth + 1)
            start = i
    return total


def xinfo(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    sub = _container(args, XINFO_SUBS, "xinfo")
    if sub == "help":
        return _help(XINFO_HELP)
    key = args[2]
    s = load(ks, db, key)
    if s is None:
        raise ReplyError(errors.NO_SUCH_KEY)
    if sub == "consumers":
        g = group(ks, s, args[3])
        if g is None:
            raise ReplyError(E_NOGROUP % (_text(args[3]), _text(key)))
        return [{b"name": name, b"pending": pending, b"idle": max(ks.now - seen, 0)}
                for name, seen, pending in consumers(ks, s, g)]
    if sub == "groups":
        out = []
        for g in groups(ks, s):
            out.append({b"name": g.name, b"consumers": len(consumers(ks, s, g)),
                        b"pending": g.pending, b"last-delivered-id": fmt(g.last),
                        b"entries-read": None if g.read == INVALID else g.read,
                        b"lag": lag(s, g)})
        return out
    # stream
    rest = args[3:]
    full = False
    count = 10
    if rest:
        if len(rest) not in (1, 3) or cstr(rest[0]).lower() != b"full":
            raise _subcommand_syntax(args, "XINFO")
        full = True
        if len(rest) > 1:
            if cstr(rest[1]).lower() != b"count":
                raise _subcommand_syntax(args, "XINFO")
            count = int_arg(rest[2])
            if count < 0:
                count = 10
    masters = [sd.id_bytes(m) for m, _ in _nodes(ks, s)]
    h = s.h
    info: dict[bytes, Any] = {
        b"length": s.length, b"radix-tree-keys": len(masters),
        b"radix-tree-nodes": _radix_nodes(masters),
        b"last-generated-id": fmt(h.last), b"max-deleted-entry-id": fmt(h.maxdel),
        b"entries-added": h.added, b"recorded-first-entry-id": fmt(h.first)}
    if not full:
        info[b"groups"] = len(groups(ks, s))
        first = next(entries(ks, s, count=1), None)
        last = next(entries(ks, s, rev=True, count=1), None)
        info[b"first-entry"] = _reply_entry(*first) if first is not None else None
        info[b"last-entry"] = _reply_entry(*last) if last is not None else None
        return info
    info[b"entries"] = [_reply_entry(i, raw) for i, raw in entries(ks, s, count=count)]
    glist = []
    for g in groups(ks, s):
        pel: list = []
        for i in pel_range(ks, s, g):
            if count and len(pel) >= count:
                break
            p = pel_get(ks, s, g, i)
            assert p is not None
            pel.append([fmt(i), p[2], p[0], p[1]])
        clist = []
        for name, seen, pending in consumers(ks, s, g):
            cpel: list = []
            for i in pel_range(ks, s, g, owner=name):
                if count and len(cpel) >= count:
                    break
                p = pel_get(ks, s, g, i)
                assert p is not None
                cpel.append([fmt(i), p[0], p[1]])
            clist.append({b"name": name, b"seen-time": seen, b"pel-count": pending,
                          b"pending": cpel})
        glist.append({b"name": g.name, b"last-delivered-id": fmt(g.last),
                      b"entries-read": None if g.read == INVALID else g.read, b"lag": lag(s, g),
                      b"pel-count": g.pending, b"pending": pel, b"consumers": clist})
    info[b"groups"] = glist
    return info


def xinfo_keys(args: list[bytes]) -> list[bytes]:
    if len(args) >= 3 and args[1].lower() != b"help":
        return [args[2]]
    return []


# ---------------------------------------------------------------- the command table

_W_FAST = "@write @stream @fast"
_W_SLOW = "@write @stream @slow"
_R_SLOW = "@read @stream @slow"


def _sub(table: CommandTable, parent: str, name: str, arity: int, flags: str, keys: tuple[int, int, int],
         summary: str, since: str, complexity: str, acl: str) -> None:
    spec = table.by_name[parent.encode()]
    spec.subcommands[name] = CommandSpec(f"{parent}|{name}", arity, tuple(flags.split()), *keys, None,
                                         group=spec.group, summary=summary, since=since,
                                         complexity=complexity, acl=tuple(acl.split()))


def register(table: CommandTable) -> None:
    """The stream commands, each declared as Redis 7.0's COMMAND INFO describes it."""
    cmd = table.command
    doc: dict[str, Any] = dict(group="stream", since="5.0.0")
    cmd("xadd", -5, "write denyoom fast", 1, 1, 1, **doc,
        complexity="O(1) when adding a new entry, O(N) when trimming where N being the number of "
                   "entries evicted.",
        summary="Appends a new entry to a stream", acl=_W_FAST)(xadd)
    cmd("xrange", -4, "readonly", 1, 1, 1, **doc,
        complexity="O(N) with N being the number of elements being returned. If N is constant "
                   "(e.g. always asking for the first 10 elements with COUNT), you can consider it "
                   "O(1).",
        summary="Return a range of elements in a stream, with IDs matching the specified IDs "
                "interval", acl=_R_SLOW)(xrange)
    cmd("xrevrange", -4, "readonly", 1, 1, 1, **doc,
        complexity="O(N) with N being the number of elements returned. If N is constant (e.g. "
                   "always asking for the first 10 elements with COUNT), you can consider it O(1).",
        summary="Return a range of elements in a stream, with IDs matching the specified IDs "
                "interval, in reverse order (from greater to smaller IDs) compared to XRANGE",
        acl=_R_SLOW)(xrevrange)
    cmd("xlen", 2, "readonly fast", 1, 1, 1, **doc, complexity="O(1)",
        summary="Return the number of entries in a stream", acl="@read @stream @fast")(xlen)
    cmd("xdel", -3, "write fast", 1, 1, 1, **doc,
        complexity="O(1) for each single item to delete in the stream, regardless of the stream "
                   "size.",
        summary="Removes the specified entries from the stream. Returns the number of items "
                "actually deleted, that may be different from the number of IDs passed in case "
                "certain IDs do not exist.", acl=_W_FAST)(xdel)
    cmd("xtrim", -4, "write", 1, 1, 1, **doc,
        complexity="O(N), with N being the number of evicted entries. Constant times are very "
                   "small however, since entries are organized in macro nodes containing multiple "
                   "entries that can be released with a single deallocation.",
        summary="Trims the stream to (approximately if '~' is passed) a certain size",
        acl=_W_SLOW)(xtrim)
    cmd("xsetid", -3, "write denyoom fast", 1, 1, 1, **doc, complexity="O(1)",
        summary="An internal command for replicating stream values", acl=_W_FAST)(xsetid)
    cmd("xread", -4, "readonly blocking movablekeys", 0, 0, 0, **doc,
        complexity="For each stream mentioned: O(N) with N being the number of elements being "
                   "returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when "
                   "the BLOCK option is used, XADD will pay O(M) time in order to serve the M "
                   "clients blocked on the stream getting new data.",
        summary="Return never seen elements in multiple streams, with IDs greater than the ones "
                "reported by the caller for each stream. Can block.",
        acl="@read @stream @slow @blocking", keys=_read_keys)(xread)
    cmd("xreadgroup", -7, "write blocking movablekeys", 0, 0, 0, **doc,
        complexity="For each stream mentioned: O(M) with M being the number of elements returned. "
                   "If M is constant (e.g. always asking for the first 10 elements with COUNT), you "
                   "can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay "
                   "the O(N) time in order to serve the N clients blocked on the stream getting "
                   "new data.",
        summary="Return new entries from a stream using a consumer group, or access the history "
                "of the pending entries for a given consumer. Can block.",
        acl="@write @stream @slow @blocking", keys=_read_keys)(xread)
    cmd("xack", -4, "write fast", 1, 1, 1, **doc, complexity="O(1) for each message ID processed.",
        summary="Marks a pending message as correctly processed, effectively removing it from "
                "the pending entries list of the consumer group. Return value of the command is "
                "the number of messages successfully acknowledged, that is, the IDs we were "
                "actually able to resolve in the PEL.", acl=_W_FAST)(xack)
    cmd("xpending", -3, "readonly", 1, 1, 1, **doc,
        complexity="O(N) with N being the number of elements returned, so asking for a small "
                   "fixed number of entries per call is O(1). O(M), where M is the total number of "
                   "entries scanned when used with the IDLE filter. When the command returns just "
                   "the summary and the list of consumers is small, it runs in O(1) time; "
                   "otherwise, an additional O(N) time for iterating every consumer.",
        summary="Return information and entries from a stream consumer group pending entries "
                "list, that are messages fetched but never acknowledged.", acl=_R_SLOW)(xpending)
    cmd("xclaim", -6, "write fast", 1, 1, 1, **doc, complexity="O(log N) with N being the number "
        "of messages in the PEL of the consumer group.",
        summary="Changes (or acquires) ownership of a message in a consumer group, as if the "
                "message was delivered to the specified consumer.", acl=_W_FAST)(xclaim)
    cmd("xautoclaim", -6, "write fast", 1, 1, 1, group="stream", since="6.2.0",
        complexity="O(1) if COUNT is small.",
        summary="Changes (or acquires) ownership of messages in a consumer group, as if the "
                "messages were delivered to the specified consumer.", acl=_W_FAST)(xautoclaim)
    cmd("xgroup", -2, "", group="stream", since="5.0.0", complexity="Depends on subcommand.",
        summary="A container for consumer groups commands", acl="@slow", keys=xgroup_keys)(xgroup)
    k2 = (2, 2, 1)
    _sub(table, "xgroup", "create", -5, "write denyoom", k2, "Create a consumer group.", "5.0.0",
         "O(1)", _W_SLOW)
    _sub(table, "xgroup", "createconsumer", 5, "write denyoom", k2,
         "Create a consumer in a consumer group.", "6.2.0", "O(1)", _W_SLOW)
    _sub(table, "xgroup", "delconsumer", 5, "write", k2, "Delete a consumer from a consumer group.",
         "5.0.0", "O(1)", _W_SLOW)
    _sub(table, "xgroup", "destroy", 4, "write", k2, "Destroy a consumer group.", "5.0.0",
         "O(N) where N is the number of entries in the group's pending entries list (PEL).",
         _W_SLOW)
    _sub(table, "xgroup", "help", 2, "loading stale", (0, 0, 0),
         "Show helpful text about the different subcommands", "5.0.0", "O(1)", "@stream @slow")
    _sub(table, "xgroup", "setid", -5, "write", k2, "Set a consumer group to an arbitrary last "
         "delivered ID value.", "5.0.0", "O(1)", _W_SLOW)
    cmd("xinfo", -2, "", group="stream", since="5.0.0", complexity="Depends on subcommand.",
        summary="A container for stream introspection commands", acl="@slow",
        keys=xinfo_keys)(xinfo)
    _sub(table, "xinfo", "consumers", 4, "readonly", k2,
         "List the consumers in a consumer group", "5.0.0", "O(1)", _R_SLOW)
    _sub(table, "xinfo", "groups", 3, "readonly", k2, "List the consumer groups of a stream",
         "5.0.0", "O(1)", _R_SLOW)
    _sub(table, "xinfo", "help", 2, "loading stale", (0, 0, 0),
         "Show helpful text about the different subcommands", "5.0.0", "O(1)", "@stream @slow")
    _sub(table, "xinfo", "stream", -3, "readonly", k2, "Get information about a stream", "5.0.0",
         "O(1)", _R_SLOW)
