"""Generic key commands: DEL, EXISTS, EXPIRE, TTL, KEYS, RENAME, COPY, MOVE ...; shard-side
handlers, the internal commands SCAN and the cross-shard operations use, and those
operations (``register_cross``).

RENAME, RENAMENX and COPY run here when both keys live on one shard. Across shards
the coordinator runs them as ``__export`` on the source shard, ``__restore`` on the
destination shard, then (RENAME) ``__delver`` on the source: it deletes the source
only if nobody wrote it in between, so a concurrent write is never lost. The last two
take the keyspace event to report (rename_to, copy_to; rename_from).
"""

from __future__ import annotations

import random
from typing import Any, cast

from shardis import errors
from shardis.commands import ALL, COORD, INTERNAL, SPLIT_CONCAT, SPLIT_SUM, CommandTable, CrossOp, Round
from shardis.notify import NOTIFY_GENERIC, NOTIFY_KEY_MISS
from shardis.args import Options, compile_glob, cstr, int32_arg, int_arg
from shardis.resp import OK, ReplyError, Simple
from shardis.slots import NSLOTS
from shardis.shardd.disk.keys import TYPE_NAMES, type_of
from shardis.shardd.storage import Keyspace

LLONG_MAX = 2**63 - 1
NONE_TYPE = Simple("none")
TYPE_REPLIES = {t: Simple(name) for t, name in TYPE_NAMES.items()}

# ------------------------------------------------------------ expiry


class ExpireFlags:
    """EXPIRE's NX / XX / GT / LT, checked as parseExtendedExpireArgumentsOrReply does."""

    __slots__ = ("nx", "xx", "gt", "lt")

    def __init__(self, args: list[bytes]) -> None:
        self.nx = self.xx = self.gt = self.lt = False
        for a in args:
            word = cstr(a).lower()
            if word not in (b"nx", b"xx", b"gt", b"lt"):
                raise ReplyError(errors.UNSUPPORTED_OPTION % cstr(a).decode(errors="replace"))
            setattr(self, word.decode(), True)
        if self.nx and (self.xx or self.gt or self.lt):
            raise ReplyError(errors.NX_XX_GT_LT)
        if self.gt and self.lt:
            raise ReplyError(errors.GT_LT)

    def refuse(self, current: int, when: int) -> bool:
        """True when the flags forbid replacing expire-at ``current`` (-1: none) by ``when``."""
        if self.nx and current != -1:
            return True
        if self.xx and current == -1:
            return True
        if self.gt and (current == -1 or when <= current):
            return True
        return self.lt and current != -1 and when >= current


def expire_at(ks: Keyspace, db: int, args: list[bytes], name: str, unit: int, relative: bool) -> int:
    """The EXPIRE family: ``unit`` ms per argument unit; ``relative`` adds the clock."""
    flags = ExpireFlags(args[3:])
    when = int_arg(args[2])
    if unit != 1 and not -(LLONG_MAX // unit) <= when <= LLONG_MAX // unit:
        raise ReplyError(errors.INVALID_EXPIRE % name)
    when *= unit
    base = ks.now if relative else 0
    if when > LLONG_MAX - base:
        raise ReplyError(errors.INVALID_EXPIRE % name)
    when += base
    key = args[1]
    raw = ks.lookup(db, key)
    if raw is None:
        return 0
    current = ks.expire_of(raw) or -1
    if flags.refuse(current, when):
        return 0
    if when <= ks.now:
        ks.delete(db, key)  # a time already past deletes the key, as Redis does
        ks.notify(NOTIFY_GENERIC, b"del", db, key)
    else:
        ks.set_expire(db, key, raw, when)
        ks.notify(NOTIFY_GENERIC, b"expire", db, key)
    return 1


def time_to_live(ks: Keyspace, db: int, key: bytes, ms: bool, absolute: bool) -> int:
    """TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 no key, -1 no expiry."""
    raw = ks.lookup(db, key)
    if raw is None:
        return -2
    at = ks.expire_of(raw)
    if not at:
        return -1
    ttl = max(at if absolute else at - ks.now, 0)
    return ttl if ms else (ttl + 500) // 1000


# ------------------------------------------------------------ renaming and copying


def parse_copy(args: list[bytes], db: int, databases: int) -> tuple[int, bool]:
    """COPY's options: (destination db, REPLACE); validated before any key is read."""
    dst, replace = db, False
    opts = Options(args, 3)
    while opts.more():
        if opts.eat(b"replace"):
            replace = True
        elif opts.eat(b"db", 1):
            dst = int32_arg(opts.take())
            if not 0 <= dst < databases:
                raise ReplyError(errors.DB_INDEX)
        else:
            raise ReplyError(errors.SYNTAX)
    return dst, replace


def rename_here(ks: Keyspace, db: int, src: bytes, dst: bytes, nx: bool) -> int | Simple:
    """RENAME / RENAMENX with both keys on this shard; the TTL goes with the value."""
    rec = ks.export(db, src)
    if rec is None:
        raise ReplyError(errors.NO_SUCH_KEY)
    if src == dst:
        return 0 if nx else OK
    if nx and ks.lookup(db, dst) is not None:
        return 0
    ks.delete(db, src)
    ks.restore(db, dst, rec)
    ks.notify(NOTIFY_GENERIC, b"rename_from", db, src)
    ks.notify(NOTIFY_GENERIC, b"rename_to", db, dst)
    return 1 if nx else OK


def deleted(ks: Keyspace, db: int, key: bytes) -> bool:
    """DEL/UNLINK of one key: whether it was there (and then a "del" event)."""
    if ks.delete(db, key):
        ks.notify(NOTIFY_GENERIC, b"del", db, key)
        return True
    return False


def restore_mode(arg: bytes) -> bool:
    """``__restore``'s last argument: REPLACE (True) or NX (False)."""
    return arg == b"REPLACE"


# ------------------------------------------------------------ the commands


def del_(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return sum(deleted(ks, db, k) for k in args[1:])


def unlink(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return sum(deleted(ks, db, k) for k in args[1:])


def exists(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return sum(ks.lookup(db, k) is not None for k in args[1:])


def touch(ks: Keyspace, db: int, args: list[bytes]) -> int:
    # No access times are kept (no LRU eviction), so TOUCH only counts.
    return sum(ks.lookup(db, k) is not None for k in args[1:])


def type_(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    t = ks.type_of(db, args[1])
    return NONE_TYPE if t is None else TYPE_REPLIES[t]


def expire(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return expire_at(ks, db, args, "expire", 1000, True)


def pexpire(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return expire_at(ks, db, args, "pexpire", 1, True)


def expireat(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return expire_at(ks, db, args, "expireat", 1000, False)


def pexpireat(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return expire_at(ks, db, args, "pexpireat", 1, False)


def ttl(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return time_to_live(ks, db, args[1], False, False)


def pttl(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return time_to_live(ks, db, args[1], True, False)


def expiretime(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return time_to_live(ks, db, args[1], False, True)


def pexpiretime(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return time_to_live(ks, db, args[1], True, True)


def persist(ks: Keyspace, db: int, args: list[bytes]) -> int:
    raw = ks.lookup(db, args[1])
    if raw is None or not ks.expire_of(raw):
        return 0
    ks.set_expire(db, args[1], raw, 0)
    ks.notify(NOTIFY_GENERIC, b"persist", db, args[1])
    return 1


def keys(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes]:
    match = compile_glob(args[1])
    return [k for k, _ in ks.iter_db(db) if match(k)]


def scan_part(ks: Keyspace, db: int, args: list[bytes]) -> list[int | list[bytes]]:
    found, next_slot = ks.scan_slots(db, int(args[1]), int(args[2]), int(args[3]))
    match = compile_glob(args[4])
    if len(args) > 5:
        # strcasecmp against the type's name: an unknown name filters every key out.
        want = cstr(args[5]).lower()
        keys = [k for k, raw in found if match(k) and TYPE_NAMES[type_of(raw)].encode() == want]
    else:
        keys = [k for k, _ in found if match(k)]
    return [next_slot, len(found), keys]


def randomkey_part(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes]:
    # A random point of the keyspace, then the first live key from there.
    key = ks.key_from(db, random.randrange(NSLOTS), random.randbytes(4))
    return [] if key is None else [key]


def rename(ks: Keyspace, db: int, args: list[bytes]) -> int | Simple:
    return rename_here(ks, db, args[1], args[2], False)


def renamenx(ks: Keyspace, db: int, args: list[bytes]) -> int | Simple:
    return rename_here(ks, db, args[1], args[2], True)


def copy(ks: Keyspace, db: int, args: list[bytes]) -> int:
    dst_db, replace = parse_copy(args, db, ks.databases())
    src, dst = args[1], args[2]
    if dst_db == db and src == dst:
        raise ReplyError(errors.SAME_OBJECT)
    rec = ks.export(db, src)
    ks.count_read(rec is not None)  # COPY reads its source, as Redis
    if rec is None:
        ks.notify(NOTIFY_KEY_MISS, b"keymiss", db, src)
        return 0
    if not replace and ks.lookup(dst_db, dst) is not None:
        return 0
    ks.restore(dst_db, dst, rec)
    ks.notify(NOTIFY_GENERIC, b"copy_to", dst_db, dst)
    return 1


def move(ks: Keyspace, db: int, args: list[bytes]) -> int:
    dst_db = int32_arg(args[2])
    if not 0 <= dst_db < ks.databases():
        raise ReplyError(errors.DB_INDEX)
    if dst_db == db:
        raise ReplyError(errors.SAME_OBJECT)
    key = args[1]
    rec = ks.export(db, key)
    if rec is None or ks.lookup(dst_db, key) is not None:
        return 0
    ks.restore(dst_db, key, rec)
    ks.delete(db, key)
    ks.notify(NOTIFY_GENERIC, b"move_from", db, key)
    ks.notify(NOTIFY_GENERIC, b"move_to", dst_db, key)
    return 1


# -------------------------------------------- internal: cross-shard RENAME / COPY


def export(ks: Keyspace, db: int, args: list[bytes]) -> list[Any] | None:
    raw = ks.lookup(db, args[1])
    if raw is None:
        return None
    rec = cast(list, ks.export(db, args[1]))  # (the key is live: a record)
    return [*rec, ks.version_of(raw)]


def restore(ks: Keyspace, db: int, args: list[bytes]) -> int:
    key = args[1]
    if not restore_mode(args[5]) and ks.lookup(db, key) is not None:
        return 0
    ks.restore(db, key, [int(args[2]), int(args[3]), args[4]])
    if args[6]:  # (empty: the caller reports the events itself, see shardis/coord/scratch.py)
        ks.notify(NOTIFY_GENERIC, args[6], db, key)
    return 1


def delver(ks: Keyspace, db: int, args: list[bytes]) -> int:
    if not ks.delete_if_version(db, args[1], int(args[2])):
        return 0
    if args[3]:
        ks.notify(NOTIFY_GENERIC, args[3], db, args[1])
    return 1


# ------------------------------------------------------------ cross-shard operations


def _export(coord: Round, db: int, key: bytes) -> list | None:
    """[type, expire, payload, version] of a key on its shard, None when it is absent."""
    return coord.call(coord.shard_of(key), db, b"__export", key)


def _restore(coord: Round, db: int, key: bytes, rec: list, replace: bool, event: bytes) -> int:
    type_, expire, payload = rec[:3]
    return coord.call(coord.shard_of(key), db, b"__restore", key, type_, expire, payload,
                      b"REPLACE" if replace else b"NX", event)


def cross_rename(coord: Round, db: int, args: list[bytes], nx: bool) -> int | Simple:
    """RENAME / RENAMENX with the keys on two shards (so they differ)."""
    src, dst = args[1], args[2]
    rec = _export(coord, db, src)
    if rec is None:
        raise ReplyError(errors.NO_SUCH_KEY)
    if not _restore(coord, db, dst, rec, not nx, b"rename_to"):
        return 0
    coord.call(coord.shard_of(src), db, b"__delver", src, rec[3], b"rename_from")
    return 1 if nx else OK


def cross_copy(coord: Round, db: int, args: list[bytes]) -> int:
    """COPY with the keys on two shards (so they differ)."""
    dst_db, replace = parse_copy(args, db, coord.cfg.databases)
    rec = _export(coord, db, args[1])
    if rec is None:
        return 0
    return _restore(coord, dst_db, args[2], rec, replace, b"copy_to")


def register_cross(ops: dict[str, CrossOp]) -> None:
    """The coordinator's operations for the commands above whose keys span shards."""
    ops["rename"] = lambda coord, db, args: cross_rename(coord, db, args, False)
    ops["renamenx"] = lambda coord, db, args: cross_rename(coord, db, args, True)
    ops["copy"] = cross_copy


# ------------------------------------------------------------ the command table


def register(table: CommandTable) -> None:
    """The generic key commands, each declared as Redis 7.0's COMMAND INFO describes it, and the
    internal ones SCAN, RANDOMKEY and the cross-shard operations send."""
    cmd = table.command
    cmd("del", -2, "write", 1, -1, 1, split=SPLIT_SUM, group="generic",
        summary="Delete a key", complexity="O(N) where N is the number of keys that will be removed.",
        acl="@keyspace @write @slow")(del_)
    cmd("unlink", -2, "write fast", 1, -1, 1, split=SPLIT_SUM, group="generic", since="4.0.0",
        summary="Delete a key asynchronously in another thread. Otherwise it is just as DEL, "
                "but non blocking.",
        complexity="O(1) for each key removed regardless of its size.",
        acl="@keyspace @write @fast")(unlink)
    cmd("exists", -2, "readonly fast", 1, -1, 1, split=SPLIT_SUM, group="generic",
        summary="Determine if a key exists", since="1.0.0",
        complexity="O(N) where N is the number of keys to check.", acl="@keyspace @read @fast")(exists)
    cmd("touch", -2, "readonly fast", 1, -1, 1, split=SPLIT_SUM, group="generic", since="3.2.1",
        summary="Alters the last access time of a key(s). Returns the number of existing keys "
                "specified.",
        complexity="O(N) where N is the number of keys that will be touched.",
        acl="@keyspace @read @fast")(touch)
    cmd("type", 2, "readonly fast", 1, 1, 1, group="generic",
        summary="Determine the type stored at key", complexity="O(1)", acl="@keyspace @read @fast")(type_)
    cmd("expire", -3, "write fast", 1, 1, 1, group="generic",
        summary="Set a key's time to live in seconds", complexity="O(1)",
        acl="@keyspace @write @fast")(expire)
    cmd("pexpire", -3, "write fast", 1, 1, 1, group="generic", since="2.6.0",
        summary="Set a key's time to live in milliseconds", complexity="O(1)",
        acl="@keyspace @write @fast")(pexpire)
    cmd("expireat", -3, "write fast", 1, 1, 1, group="generic", since="1.2.0",
        summary="Set the expiration for a key as a UNIX timestamp", complexity="O(1)",
        acl="@keyspace @write @fast")(expireat)
    cmd("pexpireat", -3, "write fast", 1, 1, 1, group="generic", since="2.6.0",
        summary="Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        complexity="O(1)", acl="@keyspace @write @fast")(pexpireat)
    cmd("ttl", 2, "readonly fast", 1, 1, 1, group="generic",
        summary="Get the time to live for a key in seconds", complexity="O(1)",
        acl="@keyspace @read @fast")(ttl)
    cmd("pttl", 2, "readonly fast", 1, 1, 1, group="generic", since="2.6.0",
        summary="Get the time to live for a key in milliseconds", complexity="O(1)",
        acl="@keyspace @read @fast")(pttl)
    cmd("expiretime", 2, "readonly fast", 1, 1, 1, group="generic", since="7.0.0",
        summary="Get the expiration Unix timestamp for a key", complexity="O(1)",
        acl="@keyspace @read @fast")(expiretime)
    cmd("pexpiretime", 2, "readonly fast", 1, 1, 1, group="generic", since="7.0.0",
        summary="Get the expiration Unix timestamp for a key in milliseconds", complexity="O(1)",
        acl="@keyspace @read @fast")(pexpiretime)
    cmd("persist", 2, "write fast", 1, 1, 1, group="generic", since="2.2.0",
        summary="Remove the expiration from a key", complexity="O(1)",
        acl="@keyspace @write @fast")(persist)
    cmd("keys", 2, "readonly", route=ALL, split=SPLIT_CONCAT, group="generic",
        summary="Find all keys matching the given pattern",
        complexity="O(N) with N being the number of keys in the database, under the assumption "
                   "that the key names in the database and the given pattern have limited length.",
        acl="@keyspace @read @slow @dangerous")(keys)
    cmd("__scan", -5, "readonly", route=INTERNAL, group="generic",
        summary="SCAN on one shard: __scan slot end-slot count pattern [type] -> "
                "[next slot, keys visited, keys matched]")(scan_part)
    cmd("__randomkey", 1, "readonly", route=INTERNAL, group="generic",
        summary="RANDOMKEY on one shard: [key], or [] when it has none")(randomkey_part)
    cmd("rename", 3, "write", 1, 2, 1, route=COORD, group="generic",
        summary="Rename a key", complexity="O(1)", acl="@keyspace @write @slow")(rename)
    cmd("renamenx", 3, "write fast", 1, 2, 1, route=COORD, group="generic",
        summary="Rename a key, only if the new key does not exist", complexity="O(1)",
        acl="@keyspace @write @fast")(renamenx)
    cmd("copy", -3, "write denyoom", 1, 2, 1, route=COORD, group="generic", since="6.2.0",
        summary="Copy a key",
        complexity="O(N) worst case for collections, where N is the number of nested items. "
                   "O(1) for string values.",
        acl="@keyspace @write @slow")(copy)
    cmd("move", 3, "write fast", 1, 1, 1, group="generic",
        summary="Move a key to another database", complexity="O(1)",
        acl="@keyspace @write @fast")(move)
    cmd("__export", 2, "readonly", 1, 1, 1, route=INTERNAL, group="generic",
        summary="A live key as [type, expire-at ms, payload, version], or nil")(export)
    cmd("__restore", 7, "write", 1, 1, 1, route=INTERNAL, group="generic",
        summary="__restore key type expire-at payload NX|REPLACE event: 1 if written (and "
                "the keyspace event reported), 0 if key existed")(restore)
    cmd("__delver", 4, "write", 1, 1, 1, route=INTERNAL, group="generic",
        summary="__delver key version event: delete key if it is still at that version (and "
                "report the keyspace event)")(delver)
