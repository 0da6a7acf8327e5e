"""The pub/sub hub: which router holds subscribers of what, and PUBLISH's fan-out.

The hub runs in the coordinator process, in a thread of its own
(``Hub(cfg, ctx).run``), behind its own ROUTER socket at
``Config.pubsub_endpoint()``. It keeps no client state: each router (a DEALER
with identity ``router-<index>``) tells it how many of its own clients
subscribe to each channel, pattern and shard channel, and the hub sends every
published message to the routers holding a matching subscription, then answers
the publisher with the number of receivers, counted as Redis counts them (a
channel's subscribers plus, per matching pattern, that pattern's subscribers).
A router that (re)connects says HELLO, which drops whatever the hub held for
it, and registers everything again.

One publisher's messages reach each subscriber in order: they travel on one
router->hub pipe, the hub handles them in order, and each hub->router pipe
keeps that order.

Shards (DEALERs, identity ``shard-<index>``) send it their keyspace events
(NOTIFY), which it fans out as it does PUBLISH.

A router asks the others about their clients (CLIENT LIST, KILL, UNBLOCK) with a
POLL: the hub asks each router named (ASK), gathers their answers (TELL) and
answers the asker with all of them; a router that does not answer within POLL_WAIT
(it died, and is not back yet) is left out.

The hub also holds the *shared settings* (CONFIG SET of a setting every
process must apply): a SET is sent on to every peer as CONFIG, and a peer that
says HELLO gets the current ones. Each SET gets a version (a clock reading that
only grows), so a shard that hears of a setting twice, or out of order, keeps
the newest.

MONITOR: each router says how many clients monitor there (MONITOR); the hub tells
every peer which routers have monitors (MONITORING: when that changes, and in answer
to HELLO while some have), and passes the lines a router or shard feeds (FEED: the
commands a router ran, those a shard's scripts called) to the routers with monitors
(LINES), the sender too: so a router's lines and those of its scripts' calls keep
one order. A router that says HELLO (it restarted) holds no monitors.

The frames are ``shardis/hubproto.py``'s; each op runs the handler its class maps to
(``Hub.handlers``).
"""

from __future__ import annotations

import collections
import itertools
import logging
import time
import traceback
from typing import Any, Callable

import zmq

from shardis import configtable, hubproto
from shardis.args import stringmatch
from shardis.config import Config, log_level
from shardis.hubproto import Q_ACLLOG_ADD, Q_ACLLOG_GET, Q_ACLLOG_RESET, CHANNEL, KINDS, PATTERN, \
    Q_CHANNELS, Q_NUMPAT, Q_NUMSUB, Q_RECEIVERS, Q_STATS, SHARD, Answer, Ask, Configure, Configured, Count, \
    Feed, FromHub, Hello, Lines, Message, Monitor, Monitoring, Notify, Oom, OomShards, PMessage, Poll, \
    Publish, Query, Set, SMessage, Sync, Tell, Unreadable

log = logging.getLogger("pubsub")

# How long a SET waits for the routers' CONFIGURED (one may be dead, not yet restarted).
SET_WAIT = 2.0
# How long a POLL waits for the routers' TELL (the same reason).
POLL_WAIT = 2.0

Out = dict[bytes, list[FromHub]]  # what goes back, per peer, from one loop turn


_ACLLOG_MAX = configtable.param("acllog-max-len")


class Hub:
    """The pub/sub actor; see the module docstring. Only ``run`` touches the socket."""

    def __init__(self, cfg: Config, ctx: zmq.Context) -> None:
        self.cfg = cfg
        self.sock = ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.setsockopt(zmq.RCVHWM, 0)
        self.sock.setsockopt(zmq.ROUTER_HANDOVER, 1)  # a restarted router takes its name back
        # per kind: name -> {peer identity: its subscribers}
        self.subs: tuple[dict[bytes, dict[bytes, int]], ...] = ({}, {}, {})
        self.held: dict[bytes, tuple[set, set, set]] = {}  # peer -> the names it registered
        self.matchers: dict[bytes, Callable[[bytes], bool]] = {}  # pattern -> predicate
        self.peers: dict[bytes, None] = {}  # every peer that said HELLO, in order
        self.settings: dict[str, object] = {}
        self.version = 0  # of the settings (see ``set``)
        # ACL LOG for the whole server, newest first: [count, reason, context, object,
        # username, time of the last occurrence, client info]
        self.acllog: list[list] = []
        # SETs not yet answered: [version, sender, token, routers yet to apply it, deadline]
        self.unconfirmed: list[list] = []
        # POLLs not yet answered: ref -> [asker, token, routers yet to tell, {router: what
        # it told}, deadline]
        self.polls: dict[int, list] = {}
        self.refs = itertools.count(1)
        self.monitors: dict[bytes, int] = {}  # router -> its clients in MONITOR mode (none: absent)
        self.oom: set[int] = set()  # the shards out of memory (``Oom``)
        # op class -> its handler(peer, op, out)
        self.handlers: dict[type, Callable[[bytes, Any, Out], None]] = {
            Publish: self.on_publish, Count: self.on_count, Notify: self.on_notify, Sync: self.on_sync,
            Query: self.on_query, Hello: self.on_hello, Set: self.on_set, Configured: self.on_configured,
            Poll: self.on_poll, Tell: self.on_tell, Monitor: self.on_monitor, Feed: self.on_feed,
            Oom: self.on_oom,
        }

    def run(self) -> None:
        """Serve until the context is terminated (the coordinator is stopping)."""
        sock = self.sock
        sock.bind(self.cfg.pubsub_endpoint())
        log.info("pub/sub hub ready on %s", self.cfg.pubsub_endpoint())
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        try:
            while True:
                deadline = self._next_deadline()
                if deadline is not None:
                    wait = max(0.0, deadline - time.monotonic())
                    if not poller.poll(int(wait * 1000) + 1):
                        late: Out = collections.defaultdict(list)
                        self._confirm(None, late)
                        self._gathered(None, late)
                        for ident, ops in late.items():
                            sock.send_multipart([ident, hubproto.encode(ops)])
                        continue
                frames = [sock.recv_multipart()]
                try:
                    while True:
                        frames.append(sock.recv_multipart(zmq.NOBLOCK))
                except zmq.Again:
                    pass
                out: Out = collections.defaultdict(list)
                for ident, payload in frames:
                    self.handle(ident, payload, out)
                for ident, ops in out.items():
                    sock.send_multipart([ident, hubproto.encode(ops)])
        except zmq.ContextTerminated:
            pass
        finally:
            sock.close(0)

    def handle(self, ident: bytes, payload: bytes, out: Out) -> None:
        """Run one frame's operations; what goes back is appended to ``out[peer]``."""
        try:
            ops = hubproto.decode(payload)
        except ValueError:
            log.error("pub/sub hub: an unreadable frame from %r", ident)
            return
        handlers = self.handlers
        for op in ops:
            try:
                handlers.get(op.__class__, self.on_unknown)(ident, op, out)
            except Exception:  # a bug or a bad message must not stop pub/sub
                log.error("pub/sub hub: %s from %r failed: %s", op.__class__.__name__, ident,
                          traceback.format_exc())

    # ------------------------------------------------------------ the operations

    def on_publish(self, ident: bytes, op: Publish, out: Out) -> None:
        out[ident].append(Answer(op.token, self.publish(op.kind, op.channel, op.message, out)))

    def on_count(self, ident: bytes, op: Count, out: Out) -> None:
        self.count(ident, op.kind, op.name, op.n)

    def on_notify(self, ident: bytes, op: Notify, out: Out) -> None:
        for channel, message in op.events:
            self.publish(CHANNEL, channel, message, out)

    def on_sync(self, ident: bytes, op: Sync, out: Out) -> None:
        out[ident].append(Answer(op.token, None))

    def on_query(self, ident: bytes, op: Query, out: Out) -> None:
        out[ident].append(Answer(op.token, self.query(op.what, op.arg)))

    def on_hello(self, ident: bytes, op: Hello, out: Out) -> None:
        self.hello(ident, op.settings)
        out[ident].append(Configure(self.settings, self.version))
        if self.monitors.pop(ident, 0):
            self._monitoring(out)  # (its monitors went with its former self)
        elif self.monitors:
            out[ident].append(Monitoring(self._monitoring_routers()))
        if ident.startswith(b"shard-"):
            self._set_oom(int(ident[6:]), False, out)  # (it restarted: it says when full)
        elif self.oom:
            out[ident].append(OomShards(sorted(self.oom)))
        if self.unconfirmed:
            self._confirm(ident, out, self.version)
        for ref, poll in list(self.polls.items()):
            if ident in poll[2]:  # it restarted: what it was asked went with its former self
                poll[2].discard(ident)
                if not poll[2]:
                    self._gathered(ref, out)

    def on_set(self, ident: bytes, op: Set, out: Out) -> None:
        version = self.set(op.settings)
        routers = set()
        for peer in self.peers:
            out[peer].append(Configure(op.settings, version))
            if peer.startswith(b"router-"):
                routers.add(peer)
        self.unconfirmed.append([version, ident, op.token, routers, time.monotonic() + SET_WAIT])
        self._confirm(ident, out, version)

    def on_configured(self, ident: bytes, op: Configured, out: Out) -> None:
        self._confirm(ident, out, op.version)

    def on_poll(self, ident: bytes, op: Poll, out: Out) -> None:
        routers = [p for p in self.peers if p.startswith(b"router-")]
        if op.routers is not None:
            named = {hubproto.router_identity(i) for i in op.routers}
            routers = [p for p in routers if p in named]
        if not routers:
            out[ident].append(Answer(op.token, []))
            return
        ref = next(self.refs)
        for peer in routers:
            out[peer].append(Ask(ref, op.request))
        self.polls[ref] = [ident, op.token, set(routers), {}, time.monotonic() + POLL_WAIT]

    def on_tell(self, ident: bytes, op: Tell, out: Out) -> None:
        poll = self.polls.get(op.ref)
        if poll is None or ident not in poll[2]:
            return  # (answered already: it came too late)
        poll[2].discard(ident)
        poll[3][ident] = op.value
        if not poll[2]:
            self._gathered(op.ref, out)

    def on_monitor(self, ident: bytes, op: Monitor, out: Out) -> None:
        had = ident in self.monitors
        if op.n > 0:
            self.monitors[ident] = op.n
        else:
            self.monitors.pop(ident, None)
        if had != (op.n > 0):
            self._monitoring(out)

    def on_feed(self, ident: bytes, op: Feed, out: Out) -> None:
        lines = Lines(op.lines)
        for peer in self.monitors:
            out[peer].append(lines)

    def on_oom(self, ident: bytes, op: Oom, out: Out) -> None:
        if ident.startswith(b"shard-"):
            self._set_oom(int(ident[6:]), bool(op.full), out)

    def _set_oom(self, shard: int, full: bool, out: Out) -> None:
        """Shard ``shard`` is out of memory or not: every router hears of a change."""
        if (shard in self.oom) == full:
            return
        if full:
            self.oom.add(shard)
        else:
            self.oom.discard(shard)
        op = OomShards(sorted(self.oom))
        for peer in self.peers:
            if peer.startswith(b"router-"):
                out[peer].append(op)

    def _monitoring_routers(self) -> list[int]:
        return sorted(hubproto.router_index(p) for p in self.monitors)

    def _monitoring(self, out: Out) -> None:
        """Tell every peer which routers have monitors now (the shards feed the lines of
        the commands their scripts call)."""
        op = Monitoring(self._monitoring_routers())
        for peer in self.peers:
            out[peer].append(op)

    def on_unknown(self, ident: bytes, op: object, out: Out) -> None:
        """An op the hub does not take: one it cannot read, or one of its own."""
        if isinstance(op, Unreadable):
            what = op.op[0] if isinstance(op.op, list) and op.op else op.op
        else:
            what = op.__class__.__name__
        log.error("pub/sub hub: unknown operation %r from %r", what, ident)

    # ------------------------------------------------------------ registrations

    def hello(self, ident: bytes, settings: dict) -> None:
        """A peer (re)started: forget what it held; adopt the settings the hub lacks
        (after a restart of the hub, the first router's)."""
        held = self.held.pop(ident, None)
        if held is not None:
            for kind, names in zip(KINDS, held):
                for name in names:
                    self._drop(kind, name, ident)
        self.peers[ident] = None
        for k, v in settings.items():
            self.settings.setdefault(k, v)
        self._keep(self.settings)

    def _confirm(self, ident: bytes | None, out: Out, version: int = 0) -> None:
        """``ident`` has the settings up to ``version``: answer the SETs every router has
        now (or that waited long enough; ``ident`` None: just check the time)."""
        now = time.monotonic()
        kept = []
        for entry in self.unconfirmed:
            if ident is not None and entry[0] <= version:
                entry[3].discard(ident)
            if entry[3] and entry[4] > now:
                kept.append(entry)
            else:
                if entry[3]:
                    log.warning("pub/sub hub: no word from %s on a CONFIG SET",
                                b", ".join(sorted(entry[3])).decode())
                out[entry[1]].append(Answer(entry[2], entry[0]))
        self.unconfirmed = kept

    def _gathered(self, ref: int | None, out: Out) -> None:
        """Answer POLL ``ref`` with what its routers told (None: each POLL past its
        deadline, without those yet to tell)."""
        if ref is None:
            now = time.monotonic()
            refs = [r for r, poll in self.polls.items() if poll[4] <= now]
            for r in refs:
                log.warning("pub/sub hub: no word from %s on a poll",
                            b", ".join(sorted(self.polls[r][2])).decode())
        else:
            refs = [ref]
        for r in refs:
            asker, token, _, told, _ = self.polls.pop(r)
            values = sorted(([hubproto.router_index(p), v] for p, v in told.items()), key=lambda x: x[0])
            out[asker].append(Answer(token, values))

    def _next_deadline(self) -> float | None:
        """When the oldest SET or POLL still waiting stops waiting (None: none waits)."""
        deadlines = [poll[4] for poll in self.polls.values()]
        if self.unconfirmed:
            deadlines.append(self.unconfirmed[0][4])
        return min(deadlines) if deadlines else None

    def set(self, settings: dict) -> int:
        """Take new values of shared settings; their version: the clock in ns, so that it
        keeps growing across a restart of the hub, and one more than the last at least."""
        self.version = max(self.version + 1, time.time_ns())
        self.settings.update(settings)
        self._keep(settings)
        return self.version

    def _keep(self, settings: dict) -> None:
        """The coordinator, in this process, works under the same settings (what its
        scratch store writes, LCS's limit): its Config follows the hub's."""
        for name, value in settings.items():
            found = configtable.lookup(name)
            if found is not None:
                configtable.set_value(self.cfg, found[0], value)
        if "loglevel" in settings:
            logging.getLogger().setLevel(log_level(self.cfg.loglevel))

    def count(self, ident: bytes, kind: int, name: bytes, n: int) -> None:
        held = self.held.setdefault(ident, (set(), set(), set()))[kind]
        if n > 0:
            holders = self.subs[kind].get(name)
            if holders is None:
                holders = self.subs[kind][name] = {}
                if kind == PATTERN:
                    self.matchers[name] = stringmatch(name)
            holders[ident] = n
            held.add(name)
        elif name in held:
            held.discard(name)
            self._drop(kind, name, ident)

    def _drop(self, kind: int, name: bytes, ident: bytes) -> None:
        holders = self.subs[kind].get(name)
        if holders is None:
            return
        holders.pop(ident, None)
        if not holders:
            del self.subs[kind][name]
            if kind == PATTERN:
                del self.matchers[name]

    # ------------------------------------------------------------ fan-out and queries

    def publish(self, kind: int, channel: bytes, message: bytes, out: Out) -> int:
        """Queue the message for every router with a matching subscription; the receivers."""
        n = 0
        holders = self.subs[kind].get(channel)
        if holders:
            op: FromHub = SMessage(channel, message) if kind == SHARD else Message(channel, message)
            for ident, count in holders.items():
                out[ident].append(op)
                n += count
        if kind == CHANNEL and self.matchers:
            patterns = self.subs[PATTERN]
            for pattern, match in self.matchers.items():
                if match(channel):
                    op = PMessage(pattern, channel, message)
                    for ident, count in patterns[pattern].items():
                        out[ident].append(op)
                        n += count
        return n

    def acl_log(self, entry: list) -> None:
        """A denial: counted into a recent entry for the same thing (Redis looks at the ten
        newest, within 60 seconds), else a new entry; the log keeps acllog-max-len."""
        reason, context, obj, username, when, info = entry
        for e in self.acllog[:10]:
            if (e[1], e[2], e[3], e[4]) == (reason, context, obj, username) and when - e[5] <= 60:
                e[0] += 1
                e[5] = when
                e[6] = info
                return
        self.acllog.insert(0, [1, reason, context, obj, username, when, info])
        del self.acllog[int(configtable.get_value(self.cfg, _ACLLOG_MAX)):]

    def query(self, what: int, arg: Any) -> object:
        """PUBSUB's answers over every router: CHANNELS [kind, pattern or None] -> names,
        NUMSUB [kind, names] -> [name, count, ...], NUMPAT -> distinct patterns,
        STATS -> [channels, patterns, shard channels] (INFO)."""
        if what == Q_CHANNELS:
            kind, pattern = arg
            names = self.subs[kind]
            if pattern is None:
                return list(names)
            match = stringmatch(pattern)
            return [name for name in names if match(name)]
        if what == Q_NUMSUB:
            kind, names = arg
            subs = self.subs[kind]
            out = []
            for name in names:
                out.append(name)
                out.append(sum(subs.get(name, {}).values()))
            return out
        if what == Q_NUMPAT:
            return len(self.subs[PATTERN])
        if what == Q_STATS:
            return [len(s) for s in self.subs]
        if what == Q_ACLLOG_ADD:
            self.acl_log(arg)
            return None
        if what == Q_ACLLOG_GET:
            now = time.time()
            return [{b"count": e[0], b"reason": e[1], b"context": e[2], b"object": e[3],
                     b"username": e[4], b"age-seconds": round(now - e[5], 3),
                     b"client-info": e[6]} for e in self.acllog[:max(arg, 0)]]
        if what == Q_ACLLOG_RESET:
            self.acllog.clear()
            return None
        if what == Q_RECEIVERS:  # [kind, channel]: what PUBLISH would answer (a script's)
            kind, channel = arg
            n = sum(self.subs[kind].get(channel, {}).values())
            if kind == CHANNEL:
                patterns = self.subs[PATTERN]
                n += sum(sum(patterns[p].values()) for p, match in self.matchers.items() if match(channel))
            return n
        raise ValueError(f"unknown pub/sub query {what!r}")
