"""DUMP, RESTORE (and RESTORE-ASKING) and MIGRATE, in Redis 7.0's own serialization.

DUMP writes what redis-server 7.0 writes for each type and encoding (shardis/rdb.py:
RDB version 10, CRC-64): strings (integers as integers, LZF over 20 bytes), lists as
quicklists of 8 kB listpacks, sets as intsets or plain sets, sorted sets and hashes as
listpacks or plain, streams with their consumer groups, PELs and consumers. Which
compact encoding a value gets is the one OBJECT ENCODING reports for it. RESTORE takes
every type and encoding rdbLoadObject in 7.0 takes (ziplists, zipmaps, intsets, the older
quicklist and stream formats ...), and so takes redis-server's payloads and its own.
Payloads match redis-server's byte for byte in most cases; where they do not (a hash's
field order, a list's node cuts after edits) both servers read each other's.

What differs from Redis, and why:

- Settings a shard does not receive are their defaults here: DUMP always compresses
  (``rdbcompression yes``) and cuts lists by ``list-max-listpack-size -2``.
- RESTORE checks a payload as Redis does with ``sanitize-dump-payload yes``, whatever
  that setting says: duplicate members, a PEL entry without consumer and the like are
  "Bad data format" (Redis without sanitising would load them and misbehave; shardis
  stores values member by member and cannot hold them). Fields, members, group and
  consumer names too long for an LMDB key are refused before anything is written.
- IDLETIME and FREQ are checked as Redis checks them and then ignored: shardis keeps
  no access times or frequencies (no LRU/LFU eviction).
- A restored value's encoding is decided by its content, as Redis decides it when it
  loads (the thresholds in force), not by the encoding the payload used.

MIGRATE runs where its keys are, with a blocking socket (Redis, too, blocks its whole
server for it). Keys on one shard: in that shard's batch; the shard waits for the
target, each connect, write and reply line bounded by ``timeout``, and its other
clients wait meanwhile. Keys on several shards (KEYS form): in a coordinator round
(``cross_migrate``): the shards involved dump their keys (``__migdump``) and stay
locked while the coordinator talks to the target, then delete what it took
(``__migdel``). No connection is cached between calls (Redis keeps one 10 s): each
MIGRATE connects, AUTHs if asked, SELECTs, sends every RESTORE in one write and
reads the replies. Network I/O is never run again by a recovery: a coordinator redo
replays only the shards' commands, and a shard's write-ahead log replay of a MIGRATE
takes its outcome (the keys the target took) from the log, where it was written with
the batch through the channel that logs a script's TIME (``ScriptHost.record``).
"""

from __future__ import annotations

import socket
import time
from typing import Any, Callable, cast

from shardis import errors, rdb
from shardis.args import Options, cstr, int_arg
from shardis.commands import COORD, INTERNAL, CommandTable, CrossOp, Round
from shardis.notify import NOTIFY_GENERIC
from shardis.resp import OK, ReplyError, Simple
from shardis.shardd import sets, streams
from shardis.shardd.disk import stream as sd
from shardis.shardd.disk.coll import MAX_MEMBER, check_members, pos_bytes
from shardis.shardd.disk.hash import index_suffix
from shardis.shardd.disk.keys import HASH, LIST, SET, STREAM, ZSET, is_string, type_of
from shardis.shardd.disk.zset import ZSet, score_bytes
from shardis.shardd.storage import Coll, Keyspace

LLONG_MAX = 2 ** 63 - 1

E_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
E_BAD_DATA = "ERR Bad data format"
E_BUSYKEY = "BUSYKEY Target key name already exists."
E_TTL = "ERR Invalid TTL value, must be >= 0"
E_IDLETIME = "ERR Invalid IDLETIME value, must be >= 0"
E_FREQ = "ERR Invalid FREQ value, must be >= 0 and <= 255"
E_KEYS_FORM = "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
E_TARGET = "ERR Target instance replied with error: %s"
E_IO = "IOERR error or timeout %s to target instance"
E_CONNECT = "IOERR error or timeout connecting to the client"
NOKEY = Simple("NOKEY")

MIGRATE_CHUNK = 64 * 1024   # Redis writes the request in 64 kB pieces, each with the timeout
REPLY_LINE_MAX = 1023       # and reads each reply line into a 1 kB buffer

# ---------------------------------------------------------------- DUMP: a key's value as a payload


def _stream_value(ks: Keyspace, s: streams.Stream) -> rdb.StreamValue:
    """A stream as rdb.dump_stream takes it: its nodes (entries grouped under the node
    record they belong to; a node without live entries left out, as Redis holds none),
    its IDs and counters, its groups with PEL and consumers."""
    h = s.h
    out = rdb.StreamValue(s.length, h.last, h.first, h.maxdel, h.added)
    tag = sd.NODE_TAG
    masters = [sd.bytes_id(k[1:]) for k, _ in ks.mrange(s.c, tag, bytes([tag[0] + 1]), index=True)]
    nodes: list[rdb.StreamNode] = []
    m = 0
    for i, raw in streams.entries(ks, s):
        while m < len(masters) and masters[m] <= i:
            nodes.append(rdb.StreamNode(masters[m], []))
            m += 1
        if not nodes:  # (never: an entry lies in a node)
            nodes.append(rdb.StreamNode(i, []))
        nodes[-1].entries.append((i, sd.unpack_entry(raw)))
    out.nodes = [n for n in nodes if n.entries]
    for g in streams.groups(ks, s):
        group = rdb.StreamGroup(g.name, g.last, g.read)
        p = sd.pel_prefix(g.name)
        stop = p[:-1] + bytes([p[-1] + 1]) if p[-1] < 255 else p + b"\xff" * 17
        for k, v in ks.mrange(s.c, p, stop, index=True):
            when, count, owner = sd.unpack_pel(v)
            group.pel.append((sd.bytes_id(k[len(p):]), when, count, owner))
        group.consumers = [(name, seen) for name, seen, _ in streams.consumers(ks, s, g)]
        out.groups.append(group)
    return out


def serialize(ks: Keyspace, db: int, key: bytes) -> bytes | None:
    """The DUMP payload of a live key, footer included; None when there is none."""
    body = serialize_body(ks, db, key)
    return None if body is None else rdb.footer(body)


def serialize_body(ks: Keyspace, db: int, key: bytes, compress: bool = True) -> bytes | None:
    """A live key's type byte and value as DUMP and RDB files write them (no footer);
    None when there is none. ``compress``: LZF over strings past 20 bytes, as Redis'
    rdbcompression (in Python, the largest cost: snapshots go without)."""
    raw = ks.lookup(db, key)
    if raw is None:
        return None
    t = type_of(raw)
    if is_string(raw):  # (whole, or in chunks)
        value = ks.get_string(db, key)
        assert value is not None  # (live, a string)
        return rdb.dump_string(value, compress)
    if t == STREAM:
        s = streams.load(ks, db, key)
        assert s is not None
        return rdb.dump_stream(_stream_value(ks, s), compress)
    c = ks.coll(db, key, t)
    assert c is not None  # (live, of this type)
    compact = c.enc == 0
    if t == LIST:
        body = rdb.dump_list([v for _, v in ks.mrange(c)], compress)
    elif t == SET:
        members = [m for m, _ in ks.mrange(c)]
        body = rdb.dump_set(members, compact and all(sets.is_int(m) for m in members), compress)
    elif t == ZSET:
        body = rdb.dump_zset(ZSet(ks, c).items(0, c.count), compact, compress)
    else:
        body = rdb.dump_hash(list(ks.mrange(c)), compact, compress)
    return body


# ---------------------------------------------------------------- RESTORE: a payload as a key


def _check_storable(kind: int, value: rdb.LoadedValue) -> None:
    """Refuse, before anything is written, what LMDB's key size cannot hold."""
    if isinstance(value, rdb.StreamValue):
        for g in value.groups:
            streams.check_names(g.name)
            for name, _ in g.consumers:
                streams.check_names(g.name, name)
    elif kind == rdb.KIND_SET:
        check_members(cast(list[bytes], value))
    elif kind == rdb.KIND_HASH:
        check_members(f for f, _ in cast(list[tuple[bytes, bytes]], value))
    elif kind == rdb.KIND_ZSET:
        for m, _ in cast(list[tuple[bytes, float]], value):
            if len(m) > MAX_MEMBER:
                raise ReplyError(errors.Z_MEMBER_TOO_LONG % MAX_MEMBER)


def _write_list(ks: Keyspace, c: Coll, elements: list[bytes], compact: bool) -> None:
    for i, e in enumerate(elements):
        ks.mput(c, pos_bytes(i), e)
    c.a, c.b, c.count = 0, len(elements), len(elements)
    ks.save_coll(c)


# The encodings a restored value takes, as rdbLoadObject decides them: a compact payload
# (listpack, ziplist, intset) converts only past the entries limit; a hash table or skip
# list payload (or a zipmap) is compact again only within every limit.


def _write_set(ks: Keyspace, c: Coll, members: list[bytes], compact: bool) -> None:
    for m in members:
        ks.mput(c, m)
    c.count = len(members)
    c.enc = int(c.count > ks.store.set_intset) if compact else sets.encoding_of(ks, members)
    ks.save_coll(c)


def _write_zset(ks: Keyspace, c: Coll, items: list[tuple[bytes, float]], compact: bool) -> None:
    ordered = sorted((score_bytes(score) + m, m) for m, score in items)
    ZSet(ks, c)._build([(m, x) for x, m in ordered])
    st = ks.store
    c.enc = int(c.count > st.zset_entries or (not compact and any(len(m) > st.zset_value for m, _ in items)))
    ks.save_coll(c)


def _write_hash(ks: Keyspace, c: Coll, pairs: list[tuple[bytes, bytes]], compact: bool) -> None:
    st = ks.store
    for f, v in pairs:
        ks.mput(c, f, v)
    c.count = len(pairs)
    if c.count > st.hash_entries or (not compact and any(len(f) > st.hash_value or len(v) > st.hash_value
                                                         for f, v in pairs)):
        c.enc = 1
        for f, _ in pairs:
            ks.mput(c, index_suffix(f), b"", index=True)  # (a hash table's order: disk.hash)
    ks.save_coll(c)


def _write_stream(ks: Keyspace, c: Coll, value: rdb.StreamValue, compact: bool) -> None:
    """The stream's nodes, entries and groups, then its record (streams.save)."""
    for node in value.nodes:
        for i, fields in node.entries:
            ks.mput(c, sd.id_bytes(i), sd.pack_entry(fields))
        live = len(node.entries)
        record = sd.Node(live, live + node.deleted, node.size, node.last, node.fields)
        ks.mput(c, sd.node_key(node.master), sd.pack_node(record), index=True)
    c.count = value.length
    first = value.first
    if first is None:  # (the older format: the first entry, as streamGetEdgeID finds it)
        first = next((n.entries[0][0] for n in value.nodes if n.entries), (0, 0))
    s = streams.Stream(c, sd.Head(value.last, first, value.maxdel or (0, 0),
                                  value.added if value.added is not None else value.length))
    for vg in value.groups:
        read = vg.entries_read if vg.entries_read is not None else streams.estimate_read(s, vg.last)
        g = streams.Group(vg.name, vg.last, read, 0)
        for name, seen in vg.consumers:
            streams.save_consumer(ks, s, g, name, seen, 0)
        for i, when, count, owner in vg.pel:
            streams.pel_put(ks, s, g, i, when, count, owner, None)
        streams.save_group(ks, s, g)
    streams.save(ks, s)
    if ks.store.waiting and (c.db, c.key) in ks.store.waiting:
        ks.ready.append((c.db, c.key))  # (blocked XREADs are served, as by XADD)


_WRITERS: dict[int, Callable[[Keyspace, Coll, Any, bool], None]] = {
    rdb.KIND_LIST: _write_list, rdb.KIND_SET: _write_set, rdb.KIND_ZSET: _write_zset,
    rdb.KIND_HASH: _write_hash, rdb.KIND_STREAM: _write_stream}
_TYPES = {rdb.KIND_LIST: LIST, rdb.KIND_SET: SET, rdb.KIND_ZSET: ZSET, rdb.KIND_HASH: HASH,
          rdb.KIND_STREAM: STREAM}


def _store(ks: Keyspace, db: int, key: bytes, kind: int, value: rdb.LoadedValue, compact: bool,
           expire: int) -> None:
    """Write a loaded value under ``key`` (free by now) with expire-at ``expire`` (0: none)."""
    if kind == rdb.KIND_STRING:
        assert isinstance(value, bytes)
        ks.set_string(db, key, value, expire)
        return
    c = ks.new_coll(db, key, _TYPES[kind])
    c.expire = expire
    _WRITERS[kind](ks, c, value, compact)


class RestoreArgs:
    """RESTORE's arguments, checked in Redis' order (the options first)."""

    __slots__ = ("replace", "absttl")

    def __init__(self, args: list[bytes]) -> None:
        self.replace = self.absttl = False
        idle = freq = -1
        opts = Options(args, 4)
        while opts.more():
            if opts.eat(b"replace"):
                self.replace = True
            elif opts.eat(b"absttl"):
                self.absttl = True
            elif freq == -1 and opts.eat(b"idletime", 1):
                idle = int_arg(opts.take())
                if idle < 0:
                    raise ReplyError(E_IDLETIME)
            elif idle == -1 and opts.eat(b"freq", 1):
                freq = int_arg(opts.take())
                if not 0 <= freq <= 255:
                    raise ReplyError(E_FREQ)
            else:
                raise ReplyError(errors.SYNTAX)


def restore(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    """RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f] (and RESTORE-ASKING)."""
    opts = RestoreArgs(args)
    key = args[1]
    if not opts.replace and ks.lookup(db, key) is not None:
        raise ReplyError(E_BUSYKEY)
    ttl = int_arg(args[2])
    if ttl < 0:
        raise ReplyError(E_TTL)
    if rdb.check_footer(args[3]) is None:
        raise ReplyError(E_PAYLOAD)
    try:
        kind, value, compact = rdb.load_object(args[3])
    except ValueError:
        raise ReplyError(E_BAD_DATA) from None
    _check_storable(kind, value)
    deleted = opts.replace and ks.delete(db, key)
    if ttl and not opts.absttl:
        ttl += ks.now
        if ttl > LLONG_MAX:
            ttl -= 2 ** 64  # (Redis' signed sum wraps: a time long past)
    if ttl and ttl <= ks.now:
        if deleted:
            ks.notify(NOTIFY_GENERIC, b"del", db, key)
        return OK
    _store(ks, db, key, kind, value, compact, ttl)
    ks.notify(NOTIFY_GENERIC, b"restore", db, key)
    return OK


def dump(ks: Keyspace, db: int, args: list[bytes]) -> bytes | None:
    return serialize(ks, db, args[1])


# ---------------------------------------------------------------- MIGRATE


class MigrateArgs:
    """MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
    [AUTH2 username password] [KEYS key ...], checked as migrateCommand checks them."""

    __slots__ = ("host", "port", "db", "timeout", "copy", "replace", "auth", "keys")

    def __init__(self, args: list[bytes]) -> None:
        self.copy = self.replace = False
        self.auth: list[bytes] = []   # [password] or [username, password]
        self.keys = [args[3]]
        opts = Options(args, 6)
        while opts.more():
            if opts.eat(b"copy"):
                self.copy = True
            elif opts.eat(b"replace"):
                self.replace = True
            elif opts.peek() == b"auth":
                if not opts.eat(b"auth", 1):
                    raise ReplyError(errors.SYNTAX)
                self.auth = [opts.take()]
            elif opts.peek() == b"auth2":
                if not opts.eat(b"auth2", 2):
                    raise ReplyError(errors.SYNTAX)
                self.auth = [opts.take(), opts.take()]
            elif opts.eat(b"keys"):
                if args[3]:
                    raise ReplyError(E_KEYS_FORM)
                self.keys = args[opts.pos:]
                break
            else:
                raise ReplyError(errors.SYNTAX)
        self.timeout = int_arg(args[5])
        self.db = int_arg(args[4])
        if self.timeout <= 0:
            self.timeout = 1000
        self.host = cstr(args[1])
        self.port = _atoi(args[2])


def _atoi(s: bytes) -> int:
    """C's atoi: leading space, a sign, digits; anything else ends it (0 if none)."""
    t = cstr(s).lstrip(b" \t\n\v\f\r")
    sign = -1 if t[:1] == b"-" else 1
    if t[:1] in (b"-", b"+"):
        t = t[1:]
    n = 0
    for ch in t:
        if not 48 <= ch <= 57:
            break
        n = n * 10 + ch - 48
    return sign * n


def migrate_keys(args: list[bytes]) -> list[bytes]:
    """MIGRATE's keys: ``key``, or those after KEYS (the router routes by them)."""
    try:
        return MigrateArgs(args).keys
    except ReplyError:
        return [args[3]]


def _bulk(parts: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


class _Lost(Exception):
    """The target connection failed: ``writing`` or reading, ``timed_out`` or not."""

    def __init__(self, writing: bool, timed_out: bool) -> None:
        super().__init__()
        self.writing = writing
        self.timed_out = timed_out


class Target:
    """One blocking connection to the target, every step bounded by the timeout."""

    def __init__(self, host: bytes, port: int, timeout_ms: int) -> None:
        self.timeout = timeout_ms / 1000.0
        self.buf = b""
        name = host.decode("utf-8", "surrogateescape")
        try:
            if port < 0:  # (getaddrinfo refuses "-1"; a larger number keeps its low 16 bits)
                raise OSError("bad port")
            addr = socket.getaddrinfo(name, port & 0xFFFF, type=socket.SOCK_STREAM)[0]
        except (OSError, UnicodeError):
            raise ReplyError(E_CONNECT) from None
        self.sock = socket.socket(addr[0], addr[1], addr[2])
        self.sock.settimeout(self.timeout)
        try:
            self.sock.connect(addr[4])
        except socket.timeout:
            self.close()
            raise _Lost(True, True) from None
        except OSError:
            # Redis connects without blocking and finds out on its first write.
            self.close()
            raise _Lost(True, False) from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, data: bytes) -> None:
        try:
            for i in range(0, len(data), MIGRATE_CHUNK):
                self.sock.sendall(data[i:i + MIGRATE_CHUNK])  # (the timeout bounds each piece)
        except socket.timeout:
            raise _Lost(True, True) from None
        except OSError:
            raise _Lost(True, False) from None

    def line(self) -> bytes:
        """One reply line, without its CRLF, cut as syncReadLine cuts it."""
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Lost(False, True)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise _Lost(False, True) from None
            except OSError:
                raise _Lost(False, False) from None
            if not chunk:
                raise _Lost(False, False)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        if not line:
            raise _Lost(False, False)  # (an empty line reads as an error, as in Redis)
        if line.endswith(b"\r"):
            line = line[:-1]
        return line[:REPLY_LINE_MAX]

    def close(self) -> None:
        self.sock.close()


def transfer(m: MigrateArgs, restores: list[list[bytes]]) -> tuple[list[int], str | None]:
    """Send the RESTOREs to the target and read its replies, as migrateCommand does:
    (the indexes of the RESTOREs the target took, the error to answer or None). A socket
    error before any RESTORE reply is read tries once more on a new connection (not
    after a timeout)."""
    request = b"".join([_bulk([b"AUTH", *m.auth]) if m.auth else b"",
                        _bulk([b"SELECT", b"%d" % m.db]), *(_bulk(r) for r in restores)])
    retry = True
    while True:
        acked: list[int] = []
        target: Target | None = None
        try:
            try:
                target = Target(m.host, m.port, m.timeout)
            except ReplyError as e:
                return [], e.args[0]
            target.send(request)
            first = target.line() if m.auth else b""
            selected = target.line()
            error: str | None = None
            for j in range(len(restores)):
                try:
                    reply = target.line()
                except _Lost as lost:
                    if error is None and j == 0 and retry and not lost.timed_out:
                        raise
                    if error is None:
                        return acked, E_IO % "reading"
                    return acked, error
                refused = first[:1] == b"-" or selected[:1] == b"-" or reply[:1] == b"-"
                if refused:
                    if error is None:
                        why = first if first[:1] == b"-" else selected if selected[:1] == b"-" else reply
                        error = E_TARGET % why[1:].decode("utf-8", "surrogateescape")
                else:
                    acked.append(j)
            return acked, error
        except _Lost as lost:
            if retry and not lost.timed_out:
                retry = False
                continue
            return [], E_IO % ("writing" if lost.writing else "reading")
        finally:
            if target is not None:
                target.close()


def _outcome(ks: Keyspace, live: Callable[[], list[bytes]]) -> list[bytes]:
    """MIGRATE's outcome: ``live()`` now, logged with the batch; a replay of the
    write-ahead log gets the logged one instead (see the module's docstring)."""
    host = ks.ctx.scripts
    if host is not None:
        replaying = host.replaying
        if replaying is not None:
            return replaying.popleft() if replaying else [(E_IO % "reading").encode()]
    out = live()
    if host is not None and host.record is not None:
        host.record(out)
    return out


def _dumped(ks: Keyspace, db: int, key: bytes) -> tuple[bytes, int, int] | None:
    """(DUMP payload, TTL ms as MIGRATE sends it: 0 none, at least 1, version) of a live key."""
    raw = ks.lookup(db, key)
    if raw is None:
        return None
    payload = serialize(ks, db, key)
    assert payload is not None  # (live)
    at = ks.expire_of(raw)
    return payload, max(at - ks.now, 1) if at else 0, ks.version_of(raw)


def _restores(m: MigrateArgs, found: list[tuple[bytes, bytes, int]]) -> list[list[bytes]]:
    """The RESTORE commands for the (key, payload, ttl) found, REPLACE if asked."""
    tail = [b"REPLACE"] if m.replace else []
    return [[b"RESTORE", key, b"%d" % ttl, payload, *tail] for key, payload, ttl in found]


def migrate(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    """MIGRATE of keys that all live on this shard, inside its batch."""
    m = MigrateArgs(args)
    found = []
    for k in m.keys:
        d = _dumped(ks, db, k)
        if d is not None:
            found.append((k, d[0], d[1]))
    if not found:
        return NOKEY
    restores = _restores(m, found)

    def live() -> list[bytes]:
        acked, error = transfer(m, restores)
        return [(error or "").encode(), *(b"%d" % j for j in acked)]

    outcome = _outcome(ks, live)
    if not m.copy:
        for j in outcome[1:]:
            k = found[int(j)][0]
            if ks.delete(db, k):
                ks.notify(NOTIFY_GENERIC, b"del", db, k)
    if outcome[0]:
        raise ReplyError(outcome[0].decode("utf-8", "surrogateescape"))
    return OK


def migdump(ks: Keyspace, db: int, args: list[bytes]) -> list[list[bytes | int] | None]:
    """``__migdump key ...``: for each key [payload, ttl ms, version], or nil (cross MIGRATE)."""
    out: list[list[bytes | int] | None] = []
    for k in args[1:]:
        d = _dumped(ks, db, k)
        out.append(None if d is None else list(d))
    return out


def migdel(ks: Keyspace, db: int, args: list[bytes]) -> int:
    """``__migdel key version ...``: delete each key still at that version ("del" events)."""
    n = 0
    for i in range(1, len(args) - 1, 2):
        if ks.delete_if_version(db, args[i], int(args[i + 1])):
            ks.notify(NOTIFY_GENERIC, b"del", db, args[i])
            n += 1
    return n


def cross_migrate(coord: Round, db: int, args: list[bytes]) -> Simple:
    """MIGRATE of keys on several shards, in a coordinator round: the keys are dumped on
    their shards (locked from then on), sent from here, and those the target took
    deleted on their shards. Only the shards' commands are logged for a redo."""
    m = MigrateArgs(args)
    by_shard: dict[int, list[bytes]] = {}
    for k in m.keys:
        by_shard.setdefault(coord.shard_of(k), []).append(k)
    dumped = coord.call_each(db, {shard: [b"__migdump", *keys] for shard, keys in by_shard.items()})
    left = {shard: iter(replies) for shard, replies in dumped.items()}
    found = []
    for k in m.keys:
        shard = coord.shard_of(k)
        d = next(left[shard])
        if d is not None:
            found.append((k, d[0], d[1], shard, d[2]))
    if not found:
        return NOKEY
    acked, error = transfer(m, _restores(m, [(k, p, ttl) for k, p, ttl, _, _ in found]))
    if not m.copy and acked:
        gone: dict[int, list[bytes]] = {}
        for j in acked:
            k, _, _, shard, version = found[j]
            gone.setdefault(shard, [b"__migdel"]).extend([k, b"%d" % version])
        coord.call_each(db, gone)
    if error is not None:
        raise ReplyError(error)
    return OK


def register_cross(ops: dict[str, CrossOp]) -> None:
    """MIGRATE whose keys span shards (see ``cross_migrate``)."""
    ops["migrate"] = cross_migrate


# ---------------------------------------------------------------- the command table


def register(table: CommandTable) -> None:
    """DUMP, RESTORE, RESTORE-ASKING and MIGRATE, as Redis 7.0's COMMAND INFO describes them."""
    cmd = table.command
    cmd("dump", 2, "readonly", 1, 1, 1, group="generic", since="2.6.0",
        summary="Return a serialized version of the value stored at the specified key.",
        complexity="O(1) to access the key and additional O(N*M) to serialize it, where N is the "
                   "number of Redis objects composing the value and M their average size. For small "
                   "string values the time complexity is thus O(1)+O(1*M) where M is small, so simply "
                   "O(1).",
        acl="@keyspace @read @slow")(dump)
    restore_complexity = (
        "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N "
        "is the number of Redis objects composing the value and M their average size. For small string "
        "values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for "
        "sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets "
        "is O(log(N)).")
    cmd("restore", -4, "write denyoom", 1, 1, 1, group="generic", since="2.6.0",
        summary="Create a key using the provided serialized value, previously obtained using DUMP.",
        complexity=restore_complexity, acl="@keyspace @write @slow @dangerous")(restore)
    cmd("restore-asking", -4, "write denyoom asking", 1, 1, 1, group="server", since="3.0.0",
        summary="An internal command for migrating keys in a cluster",
        complexity=restore_complexity, acl="@keyspace @write @slow @dangerous")(restore)
    cmd("migrate", -6, "write movablekeys", 3, 3, 1, route=COORD, keys=migrate_keys, group="generic",
        since="2.6.0", summary="Atomically transfer a key from a Redis instance to another one.",
        complexity="This command actually executes a DUMP+DEL in the source instance, and a RESTORE "
                   "in the target instance. See the pages of these commands for time complexity. Also "
                   "an O(N) data transfer between the two instances is performed.",
        acl="@keyspace @write @slow @dangerous")(migrate)
    cmd("__migdump", -2, "readonly", 1, -1, 1, route=INTERNAL, group="generic",
        summary="__migdump key ...: [payload, ttl, version] or nil for each key (cross MIGRATE)")(migdump)
    cmd("__migdel", -3, "write", 1, -1, 2, route=INTERNAL, group="generic",
        summary="__migdel key version ...: delete each key still at that version")(migdel)
