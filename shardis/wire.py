"""Messages between routers, the coordinator and shards (msgpack over ZeroMQ): the
encoding (``pack``/``unpack``), command-id flags and RAW reply values. Each message
is a class of shardis/messages.py, with its codec; the main frames, in short:

Router/coordinator -> shard, one frame (the sender is a DEALER; the shard's
ROUTER socket prepends the sender's identity):

    [batch_id, [[cmd, db, args], ...]]

``cmd`` is the command's id in the shared command table; with ``RESP3`` set the
reply is encoded in RESP3; with ``RAW`` set the
shard answers with the reply *value* (msgpack) instead of RESP bytes, for a
router that merges the parts of a command split over shards. ``args`` are the
command's arguments, its name first.

Shard -> sender, one frame:

    [batch_id, [reply, ...]]     one reply per command, in order

A RESP reply is bytes; a raw reply is a value where errors travel as
``ExtType(EXT_ERROR, text)`` and the null array as ``ExtType(EXT_NIL_ARRAY, b"")``.

Router -> coordinator:   [[request_id, cmd, db, args(, each key's shard)], ...]
Coordinator -> router:   [[request_id, resp_bytes], ...]

A router's identity at the shards is ``router.<pid>.<nonce>`` (``router_ident``): a
shard can tell whether the router of a client blocked there still runs.
"""

from __future__ import annotations

import os

import msgpack

from shardis.resp import NIL_ARRAY, NilArray, ReplyError, Simple

RAW = 1 << 16
RESP3 = 1 << 17  # encode the reply in RESP3 (the client said HELLO 3)
CMD_MASK = RAW - 1
EXT_ERROR = 1
EXT_NIL_ARRAY = 2
EXT_SIMPLE = 3

pack = msgpack.Packer(use_bin_type=True).pack
_ExtType = msgpack.ExtType


def unpack(data: bytes):
    return msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=False)


def to_raw(v):
    """A reply value as it travels in a RAW reply."""
    t = v.__class__
    if t is bytes or t is int or v is None:
        return v
    if t is list or t is tuple or isinstance(v, (list, set, frozenset)):
        return [to_raw(x) for x in v]  # (sets and the list subclasses travel as arrays)
    if t is Simple:
        return _ExtType(EXT_SIMPLE, v.encode())
    if isinstance(v, ReplyError):
        return _ExtType(EXT_ERROR, v.args[0].encode())
    if t is NilArray:
        return _ExtType(EXT_NIL_ARRAY, b"")
    if t is dict:
        return {to_raw(k): to_raw(x) for k, x in v.items()}
    return v


def from_raw(v):
    """A RAW reply back into a reply value (errors become ReplyError instances)."""
    t = v.__class__
    if t is _ExtType:
        if v.code == EXT_ERROR:
            return ReplyError(v.data.decode())
        if v.code == EXT_SIMPLE:
            return Simple(v.data.decode())
        return NIL_ARRAY
    if t is list:
        return [from_raw(x) for x in v]
    if t is dict:
        return {from_raw(k): from_raw(x) for k, x in v.items()}
    return v


def raw_error(v) -> ReplyError | None:
    """The error carried by a RAW reply, if it is one."""
    if v.__class__ is _ExtType and v.code == EXT_ERROR:
        return ReplyError(v.data.decode())
    return None


def router_ident(pid: int) -> bytes:
    """A router process' ZeroMQ identity at the shards: its pid, and a nonce (two
    routers of one process, as in tests, stay apart)."""
    return b"router.%d.%s" % (pid, os.urandom(4).hex().encode())


def router_pid(ident: bytes) -> int | None:
    """The pid in a ``router_ident`` (None: another kind of peer)."""
    parts = ident.split(b".")
    if len(parts) == 3 and parts[0] == b"router" and parts[1].isdigit():
        return int(parts[1])
    return None


def router_alive(ident: bytes) -> bool:
    """Whether the router process behind a peer's ZeroMQ identity still runs (a
    zombie not yet reaped by the supervisor counts as gone). Peers that are not
    routers: True."""
    pid = router_pid(ident)
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):
        return True  # (no /proc: the signal test above is all there is)
    return state not in (b"Z", b"X")


# A script's reply from a shard when it reached a key of another shard: the shard ran its
# batch again without it, and the router sends it to the coordinator (router/scripting.py).
SCRIPT_MOVED = b"\x00moved\r\n"
# A script of a user with ACL rules: ``__as <user's ACL LIST line> EVAL ...`` (its calls
# are checked against those rules wherever it runs: shardd/scripting.py).
AS_USER = b"__as"


def parse_bulk(reply: bytes) -> bytes:
    """The bytes of one RESP bulk string reply."""
    head = reply.index(b"\r\n")
    n = int(reply[1:head])
    return reply[head + 2:head + 2 + n]
