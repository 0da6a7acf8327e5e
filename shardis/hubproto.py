"""The pub/sub hub's protocol: the frames routers and shards exchange with the hub
(``shardis/coord/hub.py``), and the identities they use there.

A frame is one msgpack list of operations, handled in order: ``[op, ...]``, each op
``[code, *fields]``. Each op is a small class below (a NamedTuple of exactly that,
made from its fields alone: ``Sync(token)``); ``encode(ops)`` and ``decode(frame)``
are the codec, and each receiving side dispatches by a table, class -> handler. The hub answers
every operation that carries a token, in the order received (but SET and POLL, whose
answers wait for the routers), so an answer means everything the peer sent before it has
been done.

peer -> hub: ``Hello``, ``Count``, ``Sync``, ``Publish``, ``Query``, ``Set``,
``Configured``, ``Notify``, ``Poll``, ``Tell``, ``Monitor``, ``Feed``; hub -> peer:
``Message``, ``PMessage``, ``SMessage``, ``Answer``, ``Configure``, ``Ask``, ``Monitoring``,
``Lines``, ``OomShards``; shard -> hub: ``Oom`` too. An op this build cannot read decodes as ``Unreadable``.

``Poll``, ``Ask`` and ``Tell`` are how a router asks the others about their clients
(CLIENT LIST, KILL, UNBLOCK: router/connection.py): the hub puts the question to each
router as ``Ask``, gathers what they ``Tell`` and answers the asker once all have told.

``Monitor``, ``Monitoring``, ``Feed`` and ``Lines`` carry MONITOR (router/monitor.py): a
router says how many monitoring clients it has, the hub tells every router which routers
have some, and the lines of the commands a router runs go to the others that have some.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence, Union

from shardis import wire

# Subscription kinds.
CHANNEL, PATTERN, SHARD = 0, 1, 2
KINDS = (CHANNEL, PATTERN, SHARD)

# Operations, peer -> hub.
HELLO, COUNT, SYNC, PUBLISH, QUERY, SET, NOTIFY, CONFIGURED, POLL, TELL = range(10)
# Operations, hub -> peer.
MESSAGE, PMESSAGE, SMESSAGE, ANSWER, CONFIG, ASK = range(10, 16)
# MONITOR's: peer -> hub, then hub -> peer.
MONITOR, FEED, MONITORING, LINES = range(16, 20)
# maxmemory's: shard -> hub, then hub -> peer.
OOM, OOMSHARDS = range(20, 22)
# QUERY's questions.
Q_CHANNELS, Q_NUMSUB, Q_NUMPAT, Q_STATS, Q_RECEIVERS = range(5)
# ACL LOG, kept by the hub for the whole server: add [reason, context, object, username,
# time, client info]; get [count] -> entries, newest first; reset.
Q_ACLLOG_ADD, Q_ACLLOG_GET, Q_ACLLOG_RESET = range(5, 8)
# The shared setting that carries the ACL user table (as ACL SAVE writes it) between routers.
ACL_SETTING = "__acl"


# Each op is a NamedTuple of its whole frame, the code first (so that a list of ops is
# its frame as is, and a decoded op is the list it came in), built from its fields alone.

_new = tuple.__new__


# ------------------------------------------------------------ peer -> hub


class Hello(NamedTuple("Hello", [("code", int), ("settings", dict)])):
    """``[HELLO, {setting: value}]``: forget my registrations (I (re)started); the hub
    adopts the settings it lacks and answers ``Configure`` with all it holds."""

    __slots__ = ()

    def __new__(cls, settings: dict) -> Hello:
        return _new(cls, (HELLO, settings))


class Count(NamedTuple("Count", [("code", int), ("kind", int), ("name", bytes), ("n", int)])):
    """``[COUNT, kind, name, n]``: I have n subscribers of name (0: none); kind is
    CHANNEL, PATTERN or SHARD."""

    __slots__ = ()

    def __new__(cls, kind: int, name: bytes, n: int) -> Count:
        return _new(cls, (COUNT, kind, name, n))


class Sync(NamedTuple("Sync", [("code", int), ("token", int)])):
    """``[SYNC, token]``: answer ``Answer(token, None)`` (everything before it is done)."""

    __slots__ = ()

    def __new__(cls, token: int) -> Sync:
        return _new(cls, (SYNC, token))


class Publish(NamedTuple("Publish", [("code", int), ("token", int), ("kind", int), ("channel", bytes),
                                     ("message", bytes)])):
    """``[PUBLISH, token, kind, channel, message]``: send it to every subscriber (kind
    CHANNEL or SHARD); answer the number of receivers."""

    __slots__ = ()

    def __new__(cls, token: int, kind: int, channel: bytes, message: bytes) -> Publish:
        return _new(cls, (PUBLISH, token, kind, channel, message))


class Query(NamedTuple("Query", [("code", int), ("token", int), ("what", int), ("arg", Any)])):
    """``[QUERY, token, what, arg]``: answer PUBSUB CHANNELS/NUMSUB/NUMPAT or INFO's
    counts over every router (``what``: Q_*; see ``Hub.query``)."""

    __slots__ = ()

    def __new__(cls, token: int, what: int, arg: Any) -> Query:
        return _new(cls, (QUERY, token, what, arg))


class Set(NamedTuple("Set", [("code", int), ("token", int), ("settings", dict)])):
    """``[SET, token, {setting: value}]``: CONFIG SET of shared settings, sent on to every
    peer (the sender too) as ``Configure``; answer their version once every router has
    said ``Configured`` (or said HELLO again, or the hub's SET_WAIT passed)."""

    __slots__ = ()

    def __new__(cls, token: int, settings: dict) -> Set:
        return _new(cls, (SET, token, settings))


class Configured(NamedTuple("Configured", [("code", int), ("version", int)])):
    """``[CONFIGURED, version]``: a router applied the settings up to ``version``."""

    __slots__ = ()

    def __new__(cls, version: int) -> Configured:
        return _new(cls, (CONFIGURED, version))


class Notify(NamedTuple("Notify", [("code", int), ("events", list)])):
    """``[NOTIFY, [[channel, message], ...]]``: publish each to CHANNEL subscribers (a
    shard's keyspace events); no answer."""

    __slots__ = ()

    def __new__(cls, events: list) -> Notify:
        return _new(cls, (NOTIFY, events))


class Poll(NamedTuple("Poll", [("code", int), ("token", int), ("routers", Any), ("request", Any)])):
    """``[POLL, token, routers, request]``: put ``request`` to the routers named (their
    indexes; None: every router) as ``Ask``; answer ``[[index, value], ...]``, what each
    router told (``Tell``), in index order, once all have told (or the hub's POLL_WAIT
    passed: then what the others told)."""

    __slots__ = ()

    def __new__(cls, token: int, routers: list[int] | None, request: Any) -> Poll:
        return _new(cls, (POLL, token, routers, request))


class Tell(NamedTuple("Tell", [("code", int), ("ref", int), ("value", Any)])):
    """``[TELL, ref, value]``: a router's answer to the hub's ``Ask`` ``ref``."""

    __slots__ = ()

    def __new__(cls, ref: int, value: Any) -> Tell:
        return _new(cls, (TELL, ref, value))


class Monitor(NamedTuple("Monitor", [("code", int), ("n", int)])):
    """``[MONITOR, n]``: I have n clients in MONITOR mode (0: none)."""

    __slots__ = ()

    def __new__(cls, n: int) -> Monitor:
        return _new(cls, (MONITOR, n))


class Feed(NamedTuple("Feed", [("code", int), ("lines", list)])):
    """``[FEED, [line, ...]]``: MONITOR's lines (``+time [db addr] "arg" ...\\r\\n``) of
    commands I ran, for the monitors of the other routers; no answer."""

    __slots__ = ()

    def __new__(cls, lines: list[bytes]) -> Feed:
        return _new(cls, (FEED, lines))


class Oom(NamedTuple("Oom", [("code", int), ("full", bool)])):
    """``[OOM, full]``: a shard is over its maxmemory with nothing to evict (its denyoom
    commands answer -OOM), or no longer; sent when that changes; no answer."""

    __slots__ = ()

    def __new__(cls, full: bool) -> Oom:
        return _new(cls, (OOM, full))


# ------------------------------------------------------------ hub -> peer


class Message(NamedTuple("Message", [("code", int), ("channel", bytes), ("message", bytes)])):
    """``[MESSAGE, channel, message]``: published to a channel this router subscribes to."""

    __slots__ = ()

    def __new__(cls, channel: bytes, message: bytes) -> Message:
        return _new(cls, (MESSAGE, channel, message))


class PMessage(NamedTuple("PMessage", [("code", int), ("pattern", bytes), ("channel", bytes),
                                       ("message", bytes)])):
    """``[PMESSAGE, pattern, channel, message]``: published to a channel matching a
    pattern this router subscribes to."""

    __slots__ = ()

    def __new__(cls, pattern: bytes, channel: bytes, message: bytes) -> PMessage:
        return _new(cls, (PMESSAGE, pattern, channel, message))


class SMessage(NamedTuple("SMessage", [("code", int), ("channel", bytes), ("message", bytes)])):
    """``[SMESSAGE, channel, message]``: published to a shard channel this router
    subscribes to."""

    __slots__ = ()

    def __new__(cls, channel: bytes, message: bytes) -> SMessage:
        return _new(cls, (SMESSAGE, channel, message))


class Answer(NamedTuple("Answer", [("code", int), ("token", int), ("value", Any)])):
    """``[ANSWER, token, value]``: the answer to the peer's op that carried ``token``."""

    __slots__ = ()

    def __new__(cls, token: int, value: Any) -> Answer:
        return _new(cls, (ANSWER, token, value))


class Configure(NamedTuple("Configure", [("code", int), ("settings", dict), ("version", int)])):
    """``[CONFIG, {setting: value}, version]``: apply these shared settings (the answer to
    HELLO, or a peer's SET); a peer keeps the newest version it heard."""

    __slots__ = ()

    def __new__(cls, settings: dict, version: int) -> Configure:
        return _new(cls, (CONFIG, settings, version))


class Ask(NamedTuple("Ask", [("code", int), ("ref", int), ("request", Any)])):
    """``[ASK, ref, request]``: another router's question (a ``Poll``) about this router's
    clients; answer ``Tell(ref, value)``."""

    __slots__ = ()

    def __new__(cls, ref: int, request: Any) -> Ask:
        return _new(cls, (ASK, ref, request))


class Monitoring(NamedTuple("Monitoring", [("code", int), ("routers", list)])):
    """``[MONITORING, [index, ...]]``: the routers with clients in MONITOR mode now (sent
    to every router when that changes, and to a router that says HELLO)."""

    __slots__ = ()

    def __new__(cls, routers: list[int]) -> Monitoring:
        return _new(cls, (MONITORING, routers))


class Lines(NamedTuple("Lines", [("code", int), ("lines", list)])):
    """``[LINES, [line, ...]]``: another router's ``Feed``, for this router's monitors."""

    __slots__ = ()

    def __new__(cls, lines: list[bytes]) -> Lines:
        return _new(cls, (LINES, lines))


class OomShards(NamedTuple("OomShards", [("code", int), ("shards", list)])):
    """``[OOMSHARDS, [index, ...]]``: the shards out of memory now (``Oom``), to every
    router when that changes and to a router that says HELLO while some are: inside
    MULTI a router refuses commands with -OOM as Redis does (router/transactions.py)."""

    __slots__ = ()

    def __new__(cls, shards: list[int]) -> OomShards:
        return _new(cls, (OOMSHARDS, shards))


class Unreadable(NamedTuple):
    """An op this build cannot read (unknown code, or fields that do not fit it), as
    received; never encoded."""

    op: Any


ToHub = Union[Hello, Count, Sync, Publish, Query, Set, Configured, Notify, Poll, Tell, Monitor, Feed, Oom]
FromHub = Union[Message, PMessage, SMessage, Answer, Configure, Ask, Monitoring, Lines, OomShards]
Op = Union[ToHub, FromHub]

# code -> the op's class
OPS: dict[int, type[Op]] = {
    HELLO: Hello, COUNT: Count, SYNC: Sync, PUBLISH: Publish, QUERY: Query, SET: Set,
    CONFIGURED: Configured, NOTIFY: Notify, POLL: Poll, TELL: Tell,
    MESSAGE: Message, PMESSAGE: PMessage, SMESSAGE: SMessage, ANSWER: Answer, CONFIG: Configure,
    ASK: Ask, MONITOR: Monitor, FEED: Feed, MONITORING: Monitoring, LINES: Lines,
    OOM: Oom, OOMSHARDS: OomShards,
}
_SHAPES = {code: (cls, len(cls._fields)) for code, cls in OPS.items()}


def encode(ops: Sequence[Op]) -> bytes:
    """One frame of ``ops``: ``[[code, *fields], ...]`` (each op is that tuple already)."""
    return wire.pack(ops)


def decode(frame: bytes) -> list[Op | Unreadable]:
    """The ops of one frame, in order; one that does not fit comes as ``Unreadable``
    (ValueError: not a frame of ops at all)."""
    items = wire.unpack(frame)
    if items.__class__ is not list:
        raise ValueError(f"not a list of operations: {items!r:.60}")
    out: list[Op | Unreadable] = []
    shapes = _SHAPES
    for op in items:
        try:
            cls, size = shapes[op[0]]
        except (LookupError, TypeError):  # (an unknown code; not a list)
            out.append(Unreadable(op))
            continue
        out.append(_new(cls, op) if op.__class__ is list and len(op) == size else Unreadable(op))
    return out


def router_index(identity: bytes) -> int:
    """The index of the router whose identity is ``identity`` (``router_identity``)."""
    return int(identity[7:])


def router_identity(index: int) -> bytes:
    """The ZeroMQ identity of router ``index``: fixed, so a restarted router replaces
    its former self at the hub (its HELLO drops the old registrations)."""
    return b"router-%d" % index


def shard_identity(index: int) -> bytes:
    """The ZeroMQ identity of shard ``index`` at the hub."""
    return b"shard-%d" % index
