"""The router process: RESP over TCP in, one ZeroMQ message per shard per loop turn out.

A client's commands are parsed (hiredis), looked up in the command table and
appended to the batch of the shard that owns their keys; once per event-loop
turn each non-empty batch leaves as one message. Each command holds a *slot*
in its connection's queue, ``[reply, owner]``; replies fill slots, and a
connection writes out the filled slots at the head of its queue, so replies
always leave in request order.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ctypes
import ctypes.util
import gc
import itertools
import json
import logging
import os
import signal
import socket
import sys
import time
from binascii import crc_hqx
from bisect import bisect_left
from typing import Any, Callable, Coroutine

import zmq

from shardis import acl, cmdstats, configtable, errors, latency, slowlog, wire
from shardis.commands import ALL, INTERNAL, LOCAL, SCRIPT, CommandSpec, CommandTable
from shardis.config import Config, log_level
from shardis.messages import SLOW_CALLS, Batch, CoordItem, CoordReplies, CoordRequests, Replies, Wakeups
from shardis.plan import MERGES
from shardis.resp import RequestReader, ReplyError, encode, encode_error
from shardis.hubproto import ACL_SETTING
from shardis.router import clients, metrics, monitor, scripting, security, transactions
from shardis.router.pubsub import PubSub, Subscriptions
from shardis.router.replies import NOBODY, Merger, Owner, Slot, unknown_command
from shardis.router.tls import TLSListener
from shardis.slots import key_slot, slot_table

# libuv's loop where installed (pyproject.toml says why), else asyncio's
_run_loop: Callable[[Coroutine[Any, Any, None]], None]
try:
    import uvloop
    _run_loop = uvloop.run
except ImportError:  # pragma: no cover
    _run_loop = asyncio.run

log = logging.getLogger("router")
MAX_INFLIGHT = 4  # batches per shard awaiting replies; see Router.flush
# Router.tidy: every TIDY_S, once TIDY_CLIENTS clients have left since the last time,
# free pages go back to the system.
TIDY_S = 5.0
TIDY_CLIENTS = 500
_BATCH_BUCKETS = metrics.BATCH_BUCKETS  # (read once per batch: no module look-up)

# Plain ints: with them pyzmq's get() skips wrapping the result in an Enum (~1 us a call).
_EVENTS = int(zmq.EVENTS)
_POLLIN = int(zmq.POLLIN)


def _libc_malloc_trim() -> Callable[[], object]:
    """glibc's malloc_trim, or a no-op where there is none."""
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0)


_malloc_trim = _libc_malloc_trim()


def _fd(s: zmq.Socket) -> int:
    """A ZeroMQ socket's (edge-triggered) file descriptor, for the event loop."""
    return s.getsockopt(zmq.FD)  # type: ignore[return-value]  # (pyzmq types it int | bytes)


class BlockedCall:
    """The owner of a blocking command's slot (BLPOP ...): its client is held until the
    real reply comes. The shard answers at once, or with a deferred reply (``b"\\0"`` +
    waiter id) and later, unsolicited, in a batch-0 message (see shardd/blocking.py)."""

    __slots__ = ("router", "client", "shard", "slot", "parent", "wid", "dirty")

    def __init__(self, router: "Router", client: "Client", shard: int, parent: Slot) -> None:
        self.router = router
        self.client = client
        self.shard = shard
        self.parent = parent          # the client's slot
        self.slot = Slot((None, self))  # the shard's
        self.wid: int | None = None  # the shard's waiter id, once it deferred the reply
        self.dirty = False

    def flush(self) -> None:
        self.dirty = False
        reply = self.slot[0]
        router = self.router
        if reply[:1] == b"\0" and self.wid is None:
            wid = self.wid = int.from_bytes(reply[1:9], "big")
            key = (self.shard, wid)
            early = router.early_wakeups.pop(key, None)
            if early is None:
                if self.client.closing:
                    router.unblock(self.shard, wid)
                    return
                router.blocked[key] = self
                return
            reply = early
        client = self.client
        client.blocked_on = None
        self.parent[0] = reply
        client.release()

    def cancel(self) -> None:
        """The client went away while blocked."""
        if self.wid is not None and self.router.blocked.pop((self.shard, self.wid), None) is self:
            self.router.unblock(self.shard, self.wid)


class Router:
    """Per-process state shared by all connections: sockets, batches, in-flight slots."""

    def __init__(self, cfg: Config, table: CommandTable, index: int = 0) -> None:
        self.cfg = cfg
        self.index = index
        self.table = table
        self.by_name = self.table.by_name
        self.nshards = cfg.nshards
        self.slot_to_shard = slot_table(self.nshards)
        self.ctx = zmq.Context()
        self.socks: list[zmq.Socket] = []
        # Named after this process, so that a shard can tell whether the router of a
        # client blocked there still runs (shardd.daemon.router_alive).
        ident = wire.router_ident(os.getpid())
        for i in range(self.nshards):
            s = self.ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.IDENTITY, ident)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.SNDHWM, 0)
            s.setsockopt(zmq.RCVHWM, 0)
            s.connect(cfg.shard_endpoint(i))
            self.socks.append(s)
        self.coord = self.ctx.socket(zmq.DEALER)
        self.coord.setsockopt(zmq.IDENTITY, ident)  # (the coordinator asks the same)
        self.coord.setsockopt(zmq.LINGER, 0)
        self.coord.connect(cfg.coordinator_endpoint())
        # request id -> (its slot, its client), or (the function its reply goes to, None)
        self.coord_waiting: dict[int, tuple[Any, Client | None]] = {}
        self.coord_out: list[CoordItem] = []  # this loop turn's requests for the coordinator
        # Per shard: this loop turn's commands, (id, db, args), and their slots ([reply,
        # owner] lists: a Slot, or a run's [reply, owner, count], see Client.dispatch).
        self.out: list[list[tuple[int, int, list[bytes]]]] = [[] for _ in range(self.nshards)]
        self.out_slots: list[list[list]] = [[] for _ in range(self.nshards)]
        self.inflight: list[dict[int, list[list]]] = [{} for _ in range(self.nshards)]
        self.batch_ids = itertools.count(1)
        self.flush_scheduled = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.clients: dict[int, "Client"] = {}
        self.clients_peak = 0  # the most clients since memory was last given back (tidy)
        self.client_ids = itertools.count(1 + index * 1_000_000_000)
        self.started = time.time()
        self.stats: collections.Counter[str] = collections.Counter()
        self.ncommands = 0  # commands parsed (INFO total_commands_processed)
        # INFO commandstats/latencystats for what this router runs, sends the coordinator
        # or refuses (shardis/cmdstats.py; the shards count what they run); and per
        # coordinator request in flight, its command's name and when it left.
        self.cmdstats: dict[str, list] = {}
        self.resetstats_asked = 0  # CONFIG RESETSTATs this router ran, whose reset is to come
        self.coord_started: dict[int, tuple[CommandSpec, list[bytes], int]] = {}
        self.coord_rounds = self.coord_ns = 0  # (/metrics: clients' coordinator requests, their ns)
        # SLOWLOG (shardis/slowlog.py): this router's entries, and the bound in ns a
        # command's time is compared with (slowlog-log-slower-than; shards compare theirs).
        self.slowlog = slowlog.SlowLog(index, int(configtable.get_value(cfg, _SLOWLOG_MAX_LEN)))
        self.slow_ns = slowlog.threshold_ns(int(configtable.get_value(cfg, _SLOWER_THAN)))
        # LATENCY (shardis/latency.py): latency-monitor-threshold in ns, and this router's events
        self.latency_ns = latency.threshold_ns(int(configtable.get_value(cfg, _LATENCY_THRESHOLD)))
        self.latency_events: dict[str, list] = {}
        # INFO's reads and writes of clients' sockets and their bytes (plain attributes:
        # they count on every read and write; CONFIG RESETSTAT zeroes them with stats)
        self.reads = self.writes = self.net_input = self.net_output = 0
        self.server: asyncio.AbstractServer | None = None  # the plain port's (none with port 0)
        self.metrics_server: asyncio.AbstractServer | None = None  # metrics_port's (router/metrics.py)
        # Per shard: when each batch in flight left, and how long batches took to come back
        # (counts per bucket of metrics.BATCH_BUCKETS, the last +Inf; their seconds summed):
        # /metrics' latency histogram, counted per batch, not per command.
        self.batch_sent: list[dict[int, float]] = [{} for _ in range(self.nshards)]
        self.batch_counts = [[0] * (len(metrics.BATCH_BUCKETS) + 1) for _ in range(self.nshards)]
        self.batch_seconds = [0.0] * self.nshards
        self.tls = TLSListener(self)  # tls-port's
        # client-output-buffer-limit's classes as applied: (hard, soft, soft seconds)
        self.obuf_normal = cfg.obuf_limits("normal")
        self.obuf_pubsub = cfg.obuf_limits("pubsub")
        self.obuf_normal_on = any(self.obuf_normal[:2])  # (read on every write)
        # max_connections_per_second_per_ip: the second counted, and accepts per address in it
        self.rate_second = -1
        self.rate_counts: dict[str, int] = {}
        self.idle_timer: asyncio.TimerHandle | None = None  # while ``timeout`` is set
        self.lastsave = int(time.time())
        self.monitors: list[zmq.Socket] = []
        self.blocked: dict[tuple[int, int], BlockedCall] = {}   # (shard, waiter id)
        self.early_wakeups: dict[tuple[int, int], bytes] = {}  # a wake-up before its deferral
        self.unblock_id = self.table.by_name[b"__unblock"].id
        self.pubsub = PubSub(self)
        # MONITOR (router/monitor.py): whether any router has a monitoring client (tested
        # once per batch of a client's commands), and this router's.
        self.monitoring = False
        self.monitor = monitor.Monitors(self)
        self.pause: clients.Pause | None = None  # CLIENT PAUSE, while one is on (router/clients.py)
        # Scripts (router/scripting.py): SHA -> body of those this router has seen and the
        # coordinator keeps; SHAs (and "f:" + function names) that reached another shard.
        self.scripts: dict[bytes, bytes] = {}
        self.script_strays: set[bytes] = set()
        # maxmemory: the shards over their limit with nothing to evict, as the hub last
        # said (hubproto.OomShards); inside MULTI, commands for them are refused with -OOM.
        self.oom_shards: frozenset[int] = frozenset()
        # ACL users (router/security.py): the whole table, on every router alike; the
        # table the hub passed on, until the hook loads it.
        self.users: acl.Users = acl.initial_users(cfg)
        self.pending_acl: bytes | None = None

    # ------------------------------------------------------------ settings

    def reconfigure(self, settings: dict) -> None:
        """Shared settings changed (a CONFIG SET, on any router, or the hub's at HELLO):
        the values are in ``cfg`` already; apply those that need more than that. The
        others are read where they are used (maxclients, client-query-buffer-limit ...).
        Each hook runs once, however many of its settings changed."""
        if ACL_SETTING in settings:
            self.pending_acl = settings[ACL_SETTING]
        for hook in dict.fromkeys(_RECONFIGURE.get(name) for name in settings):
            if hook is not None:
                hook(self)

    def _bulk_len(self) -> None:
        """proto-max-bulk-len: every client's parser judges lengths by the new limit."""
        n = self.cfg.proto_max_bulk_len
        for c in self.clients.values():
            c.reader.set_max_bulk_len(n)

    def _scripts_flushed(self) -> None:
        """SCRIPT FLUSH (through any router): this router's cache goes too."""
        self.scripts.clear()
        self.script_strays.clear()

    def _requirepass(self) -> None:
        """CONFIG SET requirepass: the default user's password (every router alike)."""
        self.users.set_requirepass(str(configtable.get_value(self.cfg, _REQUIREPASS)).encode())
        security.rebind_all(self)

    def _acl(self) -> None:
        security.reload(self)

    # ACL checks for router/transactions.py (which security and scripting build on)
    def exec_denial(self, conn: Client, spec: CommandSpec, args: list[bytes]) -> str | None:
        return security.exec_denial(conn, spec, args)

    def script_as_user(self, conn: Client, spec: CommandSpec,
                       args: list[bytes]) -> tuple[CommandSpec, list[bytes]]:
        return scripting.as_user(self, conn, spec, args)

    def _loglevel(self) -> None:
        logging.getLogger().setLevel(log_level(self.cfg.loglevel))

    def _obuf(self) -> None:
        """client-output-buffer-limit: the limits every client is checked against."""
        self.obuf_normal = self.cfg.obuf_limits("normal")
        self.obuf_pubsub = self.cfg.obuf_limits("pubsub")
        self.obuf_normal_on = any(self.obuf_normal[:2])

    def _tls_changed(self) -> None:
        """A tls-* setting: new connections get a context built from it; tls-port moves."""
        self.tls.apply()

    def _slowlog_settings(self) -> None:
        """slowlog-log-slower-than, slowlog-max-len: apply at once (a shorter log is cut)."""
        self.slow_ns = slowlog.threshold_ns(int(configtable.get_value(self.cfg, _SLOWER_THAN)))
        self.slowlog.resize(int(configtable.get_value(self.cfg, _SLOWLOG_MAX_LEN)))

    def _latency_threshold(self) -> None:
        self.latency_ns = latency.threshold_ns(int(configtable.get_value(self.cfg, _LATENCY_THRESHOLD)))

    def _reset_stats(self) -> None:
        """CONFIG RESETSTAT: what INFO's stats section counts starts again."""
        self.stats.clear()
        self.ncommands = self.reads = self.writes = self.net_input = self.net_output = 0
        self.cmdstats.clear()
        if self.resetstats_asked:  # (Redis counts the CONFIG RESETSTAT after its reset)
            self.resetstats_asked -= 1
            cmdstats.record(self.cmdstats, "config|resetstat", 0)

    def _idle_check(self) -> None:
        """Redis' client timeout: close a client idle for longer than ``timeout`` seconds,
        unless it is blocked or subscribed in RESP2 (clientsCronHandleTimeout); every
        second while the timeout is set."""
        timeout = configtable.get_value(self.cfg, _TIMEOUT)
        if not timeout:
            self.idle_timer = None
            return
        loop = self.loop
        assert loop is not None, "runs on the loop"
        now = loop.time()
        for c in list(self.clients.values()):
            if now - c.last_active <= timeout or c.held or c.closing:  # (held: waits, as blocked)
                continue
            if c.pubsub is not None and c.pubsub.total() and c.resp == 2:
                continue
            log.debug("router %d: closing client %d, idle past timeout", self.index, c.id)
            c.closing = True
            if c.transport is not None:  # (a client is listed once connected)
                c.transport.close()
        self.idle_timer = loop.call_later(1.0, self._idle_check)

    def _timeout(self) -> None:
        if self.idle_timer is None and configtable.get_value(self.cfg, _TIMEOUT):
            assert self.loop is not None, "runs on the loop"
            self.idle_timer = self.loop.call_later(1.0, self._idle_check)

    # ------------------------------------------------------------ sending

    def submit(self, shard: int, cid: int, db: int, args: list[bytes], slot: Slot) -> None:
        """Queue one command for a shard; it leaves with this loop turn's batch."""
        self.out[shard].append((cid, db, args))
        self.out_slots[shard].append(slot)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.call_soon(self.flush)

    def call_soon(self, fn: Callable[[], object]) -> None:
        loop = self.loop
        assert loop is not None, "runs on the loop"
        loop.call_soon(fn)

    def flush(self) -> None:
        """Send each shard its batch: one message per shard per loop turn.

        A shard with MAX_INFLIGHT batches unanswered gets nothing now: its
        commands keep accumulating and leave as one larger batch when a reply
        comes back (group commit: bigger batches exactly when the shard is busy,
        no added latency when it is idle)."""
        self.flush_scheduled = False
        if self.coord_out:
            self.coord.send(CoordRequests.frame(self.coord_out))
            self.coord_out = []
            self.call_soon(self._on_coord)
        out = self.out
        inflight = self.inflight
        for i in range(self.nshards):
            if out[i] and len(inflight[i]) < MAX_INFLIGHT:
                self._send(i)
        for i in range(self.nshards):
            self._on_shard(i)

    def _send(self, i: int) -> None:
        bid = next(self.batch_ids)
        self.inflight[i][bid] = self.out_slots[i]
        self.batch_sent[i][bid] = time.perf_counter()
        self.socks[i].send(Batch.frame(bid, self.out[i]))
        self.out[i] = []
        self.out_slots[i] = []

    def _on_shard(self, i: int) -> None:
        """Drain shard i's replies into their slots, send what accumulated, let owners write."""
        sock = self.socks[i]
        inflight = self.inflight[i]
        sent = self.batch_sent[i]
        touched = []
        # The ZeroMQ fd is edge-triggered: drain until EVENTS says no more
        # (cheaper than catching zmq.Again), and look again after a send.
        while sock.get(_EVENTS) & _POLLIN:  # type: ignore[operator]  # (pyzmq: int | bytes)
            bid, replies = Replies.parse(sock.recv())
            slots = inflight.pop(bid, None)
            if slots is None:
                if bid == 0:
                    self._wakeups(i, Wakeups(replies))
                elif bid == SLOW_CALLS:
                    self._slow_calls(i, replies)
            else:
                took = time.perf_counter() - sent.pop(bid)
                self.batch_counts[i][bisect_left(_BATCH_BUCKETS, took)] += 1
                self.batch_seconds[i] += took
                if len(slots) == len(replies):
                    for slot, r in zip(slots, replies):
                        slot[0] = r
                        owner = slot[1]
                        if not owner.dirty:
                            owner.dirty = True
                            touched.append(owner)
                else:
                    # Some slots stand for a run of one client's commands (see dispatch).
                    at = 0
                    for slot in slots:
                        n = slot[2] if len(slot) > 2 else 1
                        slot[0] = replies[at] if n == 1 else b"".join(replies[at:at + n])
                        at += n
                        owner = slot[1]
                        if not owner.dirty:
                            owner.dirty = True
                            touched.append(owner)
            if self.out[i] and len(inflight) < MAX_INFLIGHT:
                self._send(i)
        for owner in touched:
            owner.flush()

    def _wakeups(self, i: int, msg: Wakeups) -> None:
        """Blocked clients that shard i served or timed out."""
        blocked = self.blocked
        for wid, reply in msg.items:
            b = blocked.pop((i, wid), None)
            if b is None:
                self.early_wakeups[(i, wid)] = reply  # its deferred reply is still on its way
                continue
            b.slot[0] = reply
            b.flush()

    def _slow_calls(self, i: int, items: list) -> None:
        """Slow commands of a batch shard i is about to answer (messages.SlowCalls): into
        the slow log, with the client whose slot the batch still holds."""
        slots = self.inflight[i]
        for bid, index, usec, when, args in items:
            client: Client | None = None
            at = 0
            for slot in slots.get(bid, ()):
                at += slot[2] if len(slot) > 2 else 1
                if index < at:
                    client = client_of(slot[1])
                    break
            self.slowlog.add(when, usec, args, client.addr if client is not None else "",
                             client.name if client is not None else b"")

    def unblock(self, shard: int, wid: int) -> None:
        """Tell a shard to forget a waiter whose client left."""
        self.submit(shard, self.unblock_id, 0, [b"__unblock", b"%d" % wid], Slot((None, NOBODY)))

    def fail_shard(self, i: int) -> None:
        """A shard went away: answer every command waiting on it with an error."""
        err = encode_error(errors.SHARD_DOWN % i)
        raw_err = wire.to_raw(ReplyError(errors.SHARD_DOWN % i))
        touched = []
        for slots in self.inflight[i].values():
            for slot in slots:
                slot[0] = raw_err if isinstance(slot[1], Merger) else err * (slot[2] if len(slot) > 2 else 1)
                owner = slot[1]
                if not owner.dirty:
                    owner.dirty = True
                    touched.append(owner)
        self.inflight[i].clear()
        self.batch_sent[i].clear()
        for key in [k for k in self.blocked if k[0] == i]:
            b = self.blocked.pop(key)
            b.slot[0] = err
            b.flush()
        for key in [k for k in self.early_wakeups if k[0] == i]:
            del self.early_wakeups[key]
        if self.out[i]:
            self._send(i)  # what queued up meanwhile goes to the restarted shard
        for owner in touched:
            owner.flush()

    def fail_coordinator(self) -> None:
        """The coordinator went away: its requests will never be answered; say so."""
        err = encode_error(errors.COORD_DOWN)
        waiting, self.coord_waiting = self.coord_waiting, {}
        self.coord_started.clear()
        for slot, client in waiting.values():
            if client is None:
                slot(err)
                continue
            client.coord_outstanding = 0
            slot[0] = err
            client.release()

    def command_done(self, spec: CommandSpec, args: list[bytes], ns: int, err: str | None,
                     conn: "Client | None" = None) -> None:
        """A command this router ran (or refused: ``err`` says which) for INFO commandstats,
        under its subcommand's name for a container (``config|get``); into the slow log
        when it took long enough (``conn``: its client; none for those not logged)."""
        if conn is not None and conn.counts_itself:
            conn.counts_itself = False  # (it counts once its reply is in: later.answer_timed)
            return
        if ns >= self.slow_ns and conn is not None and "skip_slowlog" not in spec.flags \
                and (err is None or cmdstats.error_class(err) == "failed"):
            self.slowlog.add(time.time(), ns // 1000, slowlog.cut_args(args), conn.addr, conn.name)
        if ns >= self.latency_ns and conn is not None:
            latency.add(self.latency_events, "fast-command" if "fast" in spec.flags else "command",
                        ns // 1_000_000, int(time.time()))
        name = spec.name
        if spec.subcommands and len(args) > 1:
            sub = spec.subcommands.get(args[1].decode("latin-1").lower())
            if sub is None:
                return  # (an unknown subcommand: Redis finds no command to count)
            name = sub.name
        if err is None:
            cmdstats.record(self.cmdstats, name, ns)
            return
        kind = cmdstats.error_class(err)
        if kind == "rejected":
            cmdstats.reject(self.cmdstats, name)
        elif kind == "failed":
            cmdstats.record(self.cmdstats, name, ns, True)

    def command_rejected(self, name: str) -> None:
        """A call of ``name`` refused before it ran (arity, queue-time errors, ACL)."""
        cmdstats.reject(self.cmdstats, name)

    def timed_merge(self, spec: CommandSpec, args: list[bytes],
                    merge: Callable[[list], object]) -> Callable[[list], object]:
        """``merge`` counting its command (run on every shard) once the parts are in."""
        t0 = time.perf_counter_ns()

        def merged(parts: list) -> object:
            v = merge(parts)
            err = v.args[0] if isinstance(v, ReplyError) else None
            self.command_done(spec, args, time.perf_counter_ns() - t0, err)
            return v
        return merged

    def count_error(self, msg: str) -> None:
        """An error reply made by this router (INFO errorstats; shards count their own)."""
        self.stats["errorstat_" + errors.code_of(msg)] += 1

    def latency_answer(self, reset: list[str] | None, resetting: bool) -> dict[str, Any]:
        """Another router's LATENCY asks this router's events (router/observe.py): those it
        has, after forgetting the ones named (all: None) when ``resetting``."""
        gone = latency.reset(self.latency_events, reset) if resetting else []
        return {"events": self.latency_events, "reset": gone}

    def slowlog_answer(self, what: str) -> object:
        """Another router's SLOWLOG asks about this router's log (router/observe.py)."""
        log_ = self.slowlog
        if what == "slowlog-get":
            return list(log_.entries)
        if what == "slowlog-len":
            return len(log_.entries)
        log_.reset()
        return 1

    def metrics_figures(self) -> dict[str, Any]:
        """This router's counters for /metrics (another router's poll asks them)."""
        return metrics.router_figures(self)

    def submit_raw(self, shard: int, spec: CommandSpec, db: int, args: list[bytes], slot: Slot) -> None:
        self.submit(shard, spec.id | wire.RAW, db, args, slot)

    def fanout(self, owner: Owner, spec: CommandSpec, db: int, args: list[bytes],
               merge: Callable[[list], object]) -> Slot:
        """Run a command on every shard; ``merge`` turns the RAW parts into one reply."""
        parent = Slot((None, owner))
        m = Merger(parent, merge, self.nshards, self)
        for i, part in enumerate(m.parts):
            self.submit_raw(i, spec, db, args, part)
        return parent

    # ------------------------------------------------------------ coordinator

    def to_coordinator(self, client: "Client", spec: CommandSpec, args: list[bytes],
                       shards: list[int] | None = None, slot: Slot | None = None) -> Slot:
        if slot is None:
            slot = Slot((None, client))
        rid = next(self.batch_ids)
        self.coord_waiting[rid] = (slot, client)
        if spec.name == "__as":  # (a script run as a user with ACL rules: counted as itself)
            inner = self.table.lookup(args[2])
            self.coord_started[rid] = (spec if inner is None else inner, args[2:], time.perf_counter_ns())
        else:
            self.coord_started[rid] = (spec, args, time.perf_counter_ns())
        client.coord_outstanding += 1
        if spec.blocking:
            client.coord_rid = rid
        if shards is not None and self.nshards <= 256:
            # (each key's shard: the coordinator need not hash the keys again)
            self._to_coord((rid, spec.id | client.proto_bit, client.db, args, bytes(shards)))
        else:
            self._to_coord((rid, spec.id | client.proto_bit, client.db, args))
        return slot

    def _to_coord(self, request: CoordItem) -> None:
        """Requests for the coordinator leave together, once per loop turn (see flush)."""
        self.coord_out.append(request)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.call_soon(self.flush)

    def coordinator_waiting_cancel(self, rid: int) -> None:
        """The client of coordinator request ``rid`` left: its reply is dropped, and a
        command blocked there stops waiting (no element is taken for nobody)."""
        self.coord_waiting.pop(rid, None)
        self.coord_started.pop(rid, None)
        cid = self.by_name[b"__cancel"].id
        self._to_coord((0, cid, 0, [b"__cancel", b"%d" % rid]))

    def coord_call(self, cid: int, db: int, args: list[bytes], on_reply: Callable[[Any], None]) -> None:
        """Send the coordinator a request whose reply ``on_reply(value)`` takes."""
        rid = next(self.batch_ids)
        self.coord_waiting[rid] = (on_reply, None)
        self._to_coord((rid, cid, db, args))

    def _on_coord(self) -> None:
        while True:
            try:
                msg = self.coord.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            touched = []
            for rid, reply in CoordReplies.decode(msg).replies:
                entry = self.coord_waiting.pop(rid, None)
                if entry is None:
                    continue
                slot, client = entry
                if client is None:
                    slot(reply)
                    continue
                client.coord_rid = None
                client.coord_outstanding -= 1
                slot[0] = reply
                failed = reply[:1] == b"-"
                if failed:  # (the coordinator's own errors, and its parts')
                    self.count_error(reply[1:40].decode("latin-1"))
                started = self.coord_started.pop(rid, None)
                if started is not None and not started[0].name.startswith("__"):
                    spec, args, t0 = started
                    took = time.perf_counter_ns() - t0
                    self.coord_rounds += 1
                    self.coord_ns += took
                    self.command_done(spec, args, took,
                                      reply[1:200].decode("latin-1") if failed else None, client)
                    if took >= self.latency_ns:
                        latency.add(self.latency_events, "coordinator-round", took // 1_000_000,
                                    int(time.time()))
                if client.coord_outstanding == 0 and client.held:
                    client.release()
                elif not client.dirty:
                    client.dirty = True
                    touched.append(client)
            for client in touched:
                client.flush()

    # ------------------------------------------------------------ lifecycle

    def watch_sockets(self) -> None:
        loop = self.loop
        assert loop is not None, "runs on the loop"
        for i, s in enumerate(self.socks):
            loop.add_reader(_fd(s), self._on_shard, i)
        loop.add_reader(_fd(self.coord), self._on_coord)
        for i, s in [*enumerate(self.socks), (-1, self.coord)]:
            mon = s.get_monitor_socket(zmq.EVENT_DISCONNECTED)
            self.monitors.append(mon)
            loop.add_reader(_fd(mon), self._on_monitor, i, mon)
            # A ZeroMQ fd only signals edges: read once now or it may never fire.
            self._on_monitor(i, mon)
        self.pubsub.start()

    def _on_monitor(self, i: int, mon: zmq.Socket) -> None:
        while True:
            try:
                mon.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if i < 0:
                log.warning("router %d: coordinator disconnected", self.index)
                self.fail_coordinator()
            else:
                log.warning("router %d: shard %d disconnected", self.index, i)
                self.fail_shard(i)

    def tidy(self) -> None:
        """Give memory back once many clients left: freed connections leave the C heap
        (uvloop's handles, buffers) with free pages that malloc keeps unless asked."""
        n = len(self.clients)
        if self.clients_peak - n >= TIDY_CLIENTS:
            gc.collect()
            _malloc_trim()
            self.clients_peak = n
        assert self.loop is not None, "runs on the loop"
        self.loop.call_later(TIDY_S, self.tidy)

    def listen_socket(self, port: int) -> socket.socket:
        """A socket listening on ``bind``:port, shared with the other routers (SO_REUSEPORT)."""
        sock = socket.socket(socket.AF_INET6 if ":" in self.cfg.bind else socket.AF_INET)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.cfg.nrouters > 1:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((self.cfg.bind, port))
            sock.listen(511)
        except OSError:
            sock.close()
            raise
        return sock

    def new_client(self) -> "Client":
        """A connection's protocol (the listeners' factory)."""
        return Client(self)

    def refusal(self, ip: str) -> bytes | None:
        """Why a new connection from ``ip`` is turned away (the error it gets), or None:
        shardis' connection rate per address, maxclients, then protected mode (Redis checks
        maxclients as it accepts, protected mode once the TLS handshake is done; a TLS
        connection reaches the router after its handshake, so both come after it here)."""
        cfg = self.cfg
        limit = cfg.max_connections_per_second_per_ip
        if limit:
            loop = self.loop
            assert loop is not None, "runs on the loop"
            now = int(loop.time())
            if now != self.rate_second:
                self.rate_second = now
                self.rate_counts.clear()
            n = self.rate_counts.get(ip, 0) + 1
            self.rate_counts[ip] = n
            if n > limit:
                log.debug("router %d: refusing a connection from %s: over %d a second",
                          self.index, ip, limit)
                return _CONN_RATE
        if len(self.clients) >= cfg.maxclients:
            return _MAX_CLIENTS
        if ip not in _LOOPBACK and configtable.get_value(cfg, _PROTECTED_MODE) and security.no_password(self):
            return _DENIED
        return None

    async def serve(self) -> None:
        loop = self.loop = asyncio.get_running_loop()
        loop.call_later(TIDY_S, self.tidy)
        self.watch_sockets()
        self._timeout()
        if self.cfg.port:  # (port 0: TLS only)
            sock = self.listen_socket(self.cfg.port)
            self.server = await loop.create_server(self.new_client, sock=sock, backlog=511)
            log.info("router %d listening on %s:%d", self.index, self.cfg.bind, self.cfg.port)
        self.tls.apply()
        if self.cfg.metrics_port:
            self.metrics_server = await metrics.serve(self)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await self.shutdown()

    async def shutdown(self) -> None:
        """Stop accepting, let in-flight commands finish (bounded), close clients."""
        loop = self.loop
        assert loop is not None, "serve() started it"
        if self.server is not None:
            self.server.close()
        if self.metrics_server is not None:
            self.metrics_server.close()
        self.tls.close()
        deadline = time.monotonic() + 5
        while any(self.inflight) or self.coord_waiting:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.01)
        for c in list(self.clients.values()):
            if c.transport is not None:  # (a client is listed once connected)
                c.transport.close()
        await asyncio.sleep(0)
        for s in self.socks + [self.coord] + self.monitors:
            loop.remove_reader(_fd(s))
        for s in self.monitors:
            s.close(0)
        for s in self.socks:
            s.close(0)
        self.coord.close(0)
        self.pubsub.close()
        self.ctx.term()
        log.info("router %d stopped", self.index)


_TIMEOUT = configtable.param("timeout")
_SLOWER_THAN = configtable.param("slowlog-log-slower-than")
_LATENCY_THRESHOLD = configtable.param("latency-monitor-threshold")
_SLOWLOG_MAX_LEN = configtable.param("slowlog-max-len")
_PROTECTED_MODE = configtable.param("protected-mode")
_REQUIREPASS = configtable.param("requirepass")
# The peers protected mode lets in: Redis compares the address text with these two (an
# IPv4 peer of an IPv6 socket reads as mapped).
_LOOPBACK = frozenset(("127.0.0.1", "::1", "::ffff:127.0.0.1"))
_CONN_RATE = encode_error(errors.CONN_RATE)
_MAX_CLIENTS = encode_error(errors.MAX_CLIENTS)
_DENIED = encode_error(errors.PROTECTED_MODE)

# Shared settings that take more than their new value in cfg (``Router.reconfigure``).
_RECONFIGURE = {"proto-max-bulk-len": Router._bulk_len, "loglevel": Router._loglevel,
                "timeout": Router._timeout, configtable.RESETSTAT: Router._reset_stats,
                scripting.FLUSHED: Router._scripts_flushed, "requirepass": Router._requirepass,
                ACL_SETTING: Router._acl,
                "client-output-buffer-limit": Router._obuf,
                "slowlog-log-slower-than": Router._slowlog_settings,
                "slowlog-max-len": Router._slowlog_settings,
                "latency-monitor-threshold": Router._latency_threshold,
                **{p.name: Router._tls_changed for p in configtable.PARAMS
                   if p.name.startswith("tls-") and p.act == configtable.ROUTER}}


def client_of(owner: object) -> "Client | None":
    """The client a slot's owner answers: itself, or the one its blocked call, EXEC or
    script is for."""
    if isinstance(owner, Client):
        return owner
    c = getattr(owner, "client", None)
    if c is None:
        c = getattr(owner, "conn", None)
    return c if isinstance(c, Client) else None


class Client(asyncio.Protocol):
    """One client connection: its parser, its reply queue, its settings."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.reader = RequestReader(router.cfg.proto_max_bulk_len)
        # [reply or None, owner, ...] lists in request order: Slots, and plain lists
        self.pending: collections.deque[list] = collections.deque()
        self.dirty = False
        self.db = 0
        self.id = next(router.client_ids)
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        # Its ACL user (router/security.py), whether it authenticated (or needs not), and
        # whether its commands must pass checks (not when it may run anything).
        self.username = b"default"  # (CLIENT LIST's user=)
        self.user: acl.User = router.users.get(b"default")  # type: ignore[assignment]
        self.authenticated = True
        self.gated = False
        self.resp = 2
        self.proto_bit = 0          # wire.RESP3 once the client says HELLO 3
        self.encode = encode        # this connection's reply encoder
        self.held = False
        self.max_pending = router.cfg.max_pending_commands
        self.backlog: list[list[bytes]] = []
        self.blocked_on: BlockedCall | None = None
        # MULTI (router/transactions.py): the queued commands, None outside MULTI; whether a
        # queued command was refused (EXECABORT); WATCH's (db, key) -> (shard, epoch, version).
        self.multi: list | None = None
        self.multi_error = False
        self.watched: dict = {}
        # A cross-shard command waits until the client's earlier replies are in.
        self.drain_wait = False
        self.script_wait: scripting.ScriptCall | None = None  # a moved script, waiting to drain
        self.coord_rid: int | None = None  # the blocking command it waits for in the coordinator
        self.coord_outstanding = 0         # its requests the coordinator has not answered
        self.pubsub: Subscriptions | None = None  # from its first pub/sub command
        # While it has subscriptions: what runs its commands in place of ``dispatch``
        # (router/pubsub.py's dispatch_subscribed); see ``run``.
        self.dispatch_hook: Callable[[Client, list[list[bytes]]], None] | None = None
        self.closing = False
        # CLIENT (router/connection.py, router/clients.py): NO-EVICT's mode; REPLY's state
        # while it is not plain ON; whether the CLIENT command running is inside EXEC; what
        # CLIENT UNBLOCK freed last (its BlockedCall, or coordinator request id)
        self.no_evict = False
        self.monitoring = False  # in MONITOR mode (router/monitor.py)
        self.reply_ctl: clients.ReplyCtl | None = None
        self.in_exec = False
        self.unblocked: object = None
        self.last_argv: list[bytes] = []  # the last command it sent (CLIENT LIST's cmd=)
        self.paused = False
        self.write_paused = False
        self.obuf_soft_since = 0.0  # since when its output stands past its soft limit (0: it does not)
        self.transport: asyncio.Transport | None = None
        self.created = time.time()
        self.last_cmd: str | bytes = b"NULL"  # (a spec's name once one ran)
        # The command its handler just ran answers later and counts itself then, its time
        # running until its reply (router/later.py ``answer_timed``): command_done skips it.
        self.counts_itself = False
        self.last_active = router.loop.time() if router.loop is not None else 0.0  # loop clock (monotonic)
        self.addr = ""
        self.laddr = ""

    # ------------------------------------------------------------ asyncio

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.transport = transport
        router = self.router
        peer = transport.get_extra_info("peername") or ("?", 0)
        refusal = router.refusal(peer[0])
        if refusal is not None:
            # (as Redis: counted as rejected, not as a connection received or an error reply)
            router.stats["rejected_connections"] += 1
            transport.write(refusal)
            transport.close()
            self.closing = True
            return
        router.stats["connections"] += 1
        router.clients[self.id] = self
        security.bind_default(self)
        if len(router.clients) > router.clients_peak:
            router.clients_peak = len(router.clients)
        transport.set_write_buffer_limits(high=router.cfg.client_output_buffer_limit)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        local = transport.get_extra_info("sockname") or ("?", 0)
        self.addr = f"{peer[0]}:{peer[1]}"
        self.laddr = f"{local[0]}:{local[1]}"

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.router.clients.pop(self.id, None)
        if self.blocked_on is not None:
            self.blocked_on.cancel()
        if self.watched:
            transactions.unwatch_all(self)
        if self.coord_rid is not None:  # a blocking command waiting in the coordinator
            router = self.router
            router.coordinator_waiting_cancel(self.coord_rid)
        if self.pubsub is not None:
            self.router.pubsub.leave(self)
        if self.monitoring:
            self.router.monitor.remove(self)

    def pause_writing(self) -> None:
        self.write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._update_reading()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        reader = self.reader
        cmds, err = reader.feed(data)
        router = self.router
        loop = router.loop
        assert loop is not None, "runs on the loop"
        self.last_active = loop.time()  # uvloop's cached loop clock: no syscall
        router.ncommands += len(cmds)
        router.reads += 1
        router.net_input += len(data)
        if self.held:
            self.backlog.extend(cmds)
        elif cmds:
            self.run(cmds)
        if err is not None:
            self.pending.append([encode_error("ERR " + err), self])
            router.count_error("ERR")
            self.closing = True
        elif not cmds and reader.buffered() > router.cfg.client_query_buffer_limit:
            # (Only a read that completed no command can have grown the partial request.)
            log.warning("closing client %d: query buffer over client_query_buffer_limit", self.id)
            self.closing = True
            if self.transport is not None:  # (it read: connected)
                self.transport.close()
            return
        pending = self.pending
        if pending and pending[0][0] is not None and not self.dirty:
            self.dirty = True
            self.flush()
        if len(pending) > self.max_pending or self.held:
            self._update_reading()

    # ------------------------------------------------------------ commands

    def run(self, cmds: list[list[bytes]]) -> None:
        """Run commands the client sent: through CLIENT PAUSE's and REPLY's gate while one
        is in use (router/clients.py), then checked when its user is restricted (or has yet
        to authenticate: router/security.py), then through the mode's hook when one is set."""
        if cmds:
            self.last_argv = cmds[-1]
        if (self.router.pause is not None or self.reply_ctl is not None) and clients.gate(self, cmds):
            return
        self.run_past_gate(cmds)

    def run_past_gate(self, cmds: list[list[bytes]]) -> None:
        """``run`` past CLIENT PAUSE's and REPLY's gate (which calls this)."""
        if self.router.monitoring:  # someone monitors: each command shown as it runs
            monitor.run(self, cmds)
            return
        if self.gated:
            security.run_checked(self, cmds)
            return
        hook = self.dispatch_hook
        if hook is None:
            self.dispatch(cmds)
        else:
            hook(self, cmds)

    def run_one(self, args: list[bytes]) -> None:
        """One command as ``run_past_gate`` runs it when nobody monitors (router/monitor.py)."""
        if self.gated:
            security.run_checked(self, [args])
        elif self.dispatch_hook is None:
            self.dispatch([args])
        else:
            self.dispatch_hook(self, [args])

    def dispatch(self, cmds: list[list[bytes]]) -> None:
        """Route each command: answer here, or queue it for its shard(s)."""
        # (Read through a local: a check of self.multi itself would tell mypy, and so the
        # mypyc build, that it stays None below, where a MULTI run here sets it.)
        in_multi = self.multi
        if in_multi is not None:
            transactions.queue(self, cmds)
            return
        router = self.router
        by_name = router.by_name
        pending = self.pending
        slot_to_shard = router.slot_to_shard
        out = router.out
        out_slots = router.out_slots
        single = router.nshards == 1
        db = self.db
        pbit = self.proto_bit
        queued = False
        # A run of this client's commands for one shard shares one slot, [reply,
        # owner, count]: the shard's replies for it are joined once, instead of a
        # slot, a queue entry and a write-out step per command.
        group: list = []  # (empty until the first run starts: group_shard is -1 till then)
        group_shard = -1
        # Cross-shard commands in a row go to the coordinator together; a command for
        # one shard after them waits until they are answered (it could overtake them).
        coord_n = self.coord_outstanding
        hold_from = -1
        for n, args in enumerate(cmds):
            spec = by_name.get(args[0])
            if spec is None:
                spec = router.table.lookup(args[0])
                if spec is None or spec.route == INTERNAL:
                    pending.append([encode_error(unknown_command(args)), self])
                    router.count_error("ERR")
                    group_shard = -1
                    continue
            a = spec.arity
            if (len(args) != a) if a > 0 else (len(args) < -a):
                pending.append([encode_error(errors.WRONG_ARITY % spec.name), self])
                router.count_error("ERR")
                router.command_rejected(spec.name)
                group_shard = -1
                continue
            if spec.one_key:
                # The hot path: one key, one shard.
                if coord_n:
                    hold_from = n  # after cross-shard commands still running: wait for them
                    break
                if single:
                    shard = 0
                else:
                    key = args[1]
                    # 123 is "{": an int membership test skips bytes.__contains__'s slow path
                    shard = slot_to_shard[key_slot(key) if 123 in key else crc_hqx(key, 0) & 0x3FFF]
                out[shard].append((spec.id | pbit, db, args))
                if shard == group_shard:
                    group[2] += 1
                else:
                    group = [None, self, 1]
                    group_shard = shard
                    pending.append(group)
                    out_slots[shard].append(group)
                queued = True
                continue
            group_shard = -1
            route = spec.route
            if coord_n and route is LOCAL:
                hold_from = n
                break
            if route is LOCAL:
                self.last_cmd = spec.name
                handler = spec.handler
                assert handler is not None  # (every LOCAL command has one)
                t0 = time.perf_counter_ns()
                try:
                    v = handler(self, args)
                except ReplyError as e:
                    pending.append([encode_error(e.args[0]), self])
                    router.count_error(e.args[0])
                    router.command_done(spec, args, time.perf_counter_ns() - t0, e.args[0], self)
                else:
                    router.command_done(spec, args, time.perf_counter_ns() - t0, None, self)
                    if v.__class__ is Slot:
                        pending.append(v)
                    else:
                        pending.append([self.encode(v), self])
                db = self.db
                pbit = self.proto_bit
                if self.closing or self.held:
                    self.backlog.extend(cmds[n + 1:])
                    break
                if self.multi is not None:
                    transactions.queue(self, cmds[n + 1:])
                    break
            elif route is SCRIPT:
                # EVAL, FCALL ...: on its keys' shard, else through the coordinator
                # (router/scripting.py); the client waits for it when it could move.
                if coord_n:
                    hold_from = n
                    break
                try:
                    sspec, sargs, s0 = scripting.route(router, spec, args)
                except ReplyError as e:
                    pending.append([encode_error(e.args[0]), self])
                    router.count_error(e.args[0])
                    router.command_done(spec, args, 0, e.args[0])
                    continue
                if self.gated:
                    sspec, sargs = scripting.as_user(router, self, sspec, sargs)
                if s0 < 0:
                    if any(p[0] is None for p in pending):
                        self.held = True
                        self.drain_wait = True
                        self.backlog.extend(cmds[n:])
                        break
                    pending.append(router.to_coordinator(self, sspec, sargs))
                    coord_n += 1
                    continue
                queued = True
                if single:
                    sslot: list = [None, self]
                    pending.append(sslot)
                    out[s0].append((sspec.id | pbit, db, sargs))
                    out_slots[s0].append(sslot)
                    continue
                parent = Slot((None, self))
                pending.append(parent)
                scall = scripting.ScriptCall(router, self, sspec, sargs, parent)
                out[s0].append((sspec.id | pbit, db, sargs))
                out_slots[s0].append(scall.slot)
                self.held = True
                self.backlog.extend(cmds[n + 1:])
                break
            elif route is ALL and single:
                assert spec.split is not None  # (every ALL command says how its parts merge)
                pending.append(router.fanout(self, spec, db, args,
                                             router.timed_merge(spec, args, MERGES[spec.split])))
            else:
                if route is ALL:
                    shards: list[int] | None = None  # every shard (KEYS, DBSIZE, FLUSHDB ...): one round
                else:
                    keys = spec.keys(args)
                    shards = [slot_to_shard[key_slot(k) if 123 in k else crc_hqx(k, 0) & 0x3FFF]
                              for k in keys] or [0]
                    s0 = shards[0]
                    same = shards.count(s0) == len(shards)
                    if same and spec.reach is not None and not single:
                        # Keys it reads besides its arguments (SORT's patterns): there too?
                        more = spec.reached(args)
                        same = more is not None and all(slot_to_shard[key_slot(k)] == s0 for k in more)
                    if coord_n and (same or spec.blocking):
                        hold_from = n
                        break
                    if spec.blocking and same:
                        # The client waits for this reply before its next command runs.
                        parent = Slot((None, self))
                        b = self.blocked_on = BlockedCall(router, self, s0, parent)
                        pending.append(parent)
                        out[s0].append((spec.id | pbit, db, args))
                        out_slots[s0].append(b.slot)
                        queued = True
                        self.held = True
                        self.backlog.extend(cmds[n + 1:])
                        break
                    if same:
                        slot: list = [None, self]
                        pending.append(slot)
                        out[s0].append((spec.id | pbit, db, args))
                        out_slots[s0].append(slot)
                        queued = True
                        continue
                # Keys on several shards, or every shard: the coordinator runs it atomically.
                if not coord_n and any(p[0] is None for p in pending):
                    # Earlier commands first: the coordinator's messages to the shards
                    # could overtake them.
                    self.held = True
                    self.drain_wait = True
                    self.backlog.extend(cmds[n:])
                    break
                if router.oom_shards and "denyoom" in spec.flags \
                        and transactions.out_of_memory(router, spec, args):
                    # (a shard of its keys refuses writes: the coordinator's round would
                    # write past maxmemory, which the shard tests per router batch only)
                    pending.append([encode_error(errors.OOM), self])
                    router.count_error(errors.OOM)
                    router.command_rejected(spec.name)
                    continue
                pending.append(router.to_coordinator(self, spec, args, shards))
                coord_n += 1
                if spec.blocking:  # nothing after it runs before it is answered
                    hold_from = n + 1
                    break
        if hold_from >= 0:
            self.held = True
            self.backlog.extend(cmds[hold_from:])
        if queued and not router.flush_scheduled:
            router.flush_scheduled = True
            router.call_soon(router.flush)

    def release(self) -> None:
        """The coordinator answered: write, then run what queued up behind it."""
        self.held = False
        if not self.dirty:
            self.dirty = True
            self.flush()
        if self.backlog and not self.closing:
            cmds, self.backlog = self.backlog, []
            self.run(cmds)
            if not self.dirty:
                self.dirty = True
                self.flush()
        self._update_reading()

    # ------------------------------------------------------------ replies

    def flush(self) -> None:
        """Write the replies at the head of the queue that have arrived."""
        self.dirty = False
        pending = self.pending
        if not pending or pending[0][0] is None:
            return
        if self.reply_ctl is not None:  # CLIENT REPLY OFF or SKIP: some replies are dropped
            data = clients.take_replies(self)
        elif len(pending) == 1 or pending[1][0] is None:
            data = pending.popleft()[0]
        else:
            out = []
            while pending and pending[0][0] is not None:
                out.append(pending.popleft()[0])
            data = b"".join(out)
        t = self.transport
        if t is None or t.is_closing():
            return
        t.write(data)
        router = self.router
        router.writes += 1
        router.net_output += len(data)
        if router.obuf_normal_on:
            self.check_output_limit()
        if self.closing and not pending:
            t.close()
        elif self.paused:
            self._update_reading()
        if self.drain_wait:
            self.drained()

    def check_output_limit(self) -> None:
        """Redis' checkClientOutputBufferLimits: a client whose unsent output passes its
        class's hard limit, or stays past the soft one for longer than its seconds, is
        closed at once. The class is pubsub while it has subscriptions, normal otherwise
        (shardis has no replicas); 0 is no limit. Its unsent output is what its transport
        holds, with a subscriber's messages queued behind a reply not in yet."""
        t = self.transport
        if t is None or t.is_closing():
            return
        router = self.router
        subs = self.pubsub
        if subs is not None and subs.total():
            hard, soft, seconds = router.obuf_pubsub
            if not (hard or soft):
                return
            if not self.pending and not subs.calls:
                subs.queued = 0
            used = t.get_write_buffer_size() + subs.queued
        else:
            hard, soft, seconds = router.obuf_normal
            if not (hard or soft):
                return
            used = t.get_write_buffer_size()
        over = hard > 0 and used >= hard
        if soft and used >= soft:
            now = time.monotonic()
            if not self.obuf_soft_since:
                self.obuf_soft_since = now
            elif now - self.obuf_soft_since > seconds:
                over = True
        else:
            self.obuf_soft_since = 0.0
        if over:
            log.warning("router %d: client %d closed for overcoming of output buffer limits "
                        "(%d bytes pending)", router.index, self.id, used)
            self.closing = True
            t.abort()

    def drained(self) -> None:
        """Once every earlier reply is in: send on what waited for them (a cross-shard
        command, or a script moved to the coordinator)."""
        pending = self.pending
        call = self.script_wait
        if call is not None:
            if pending and pending[0] is call.parent:
                self.script_wait = None
                self.drain_wait = False
                call.go()
            else:
                self.drain_wait = True
            return
        if not any(p[0] is None for p in pending):
            self.drain_wait = False
            self.release()

    def _update_reading(self) -> None:
        """Back-pressure: stop reading while replies pile up, resume once they drain."""
        t = self.transport
        if t is None or t.is_closing():
            return
        limit = self.router.cfg.max_pending_commands
        want_pause = self.write_paused or len(self.pending) > limit or self.held and len(self.backlog) > limit
        if want_pause and not self.paused:
            self.paused = True
            t.pause_reading()
        elif not want_pause and self.paused and len(self.pending) <= limit // 2:
            self.paused = False
            t.resume_reading()

    def set_db(self, db: int) -> None:
        self.db = db

    # AUTH for router/connection.py (HELLO, RESET), which router/security.py builds on
    def login(self, username: bytes, password: bytes, cmd: bytes) -> bool:
        return security.authenticate(self, username, password, cmd)

    def login_default(self) -> None:
        security.bind_default(self)


def main(table: CommandTable, argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="shardis-router")
    ap.add_argument("--config-json", required=True)
    ap.add_argument("--index", type=int, default=0)
    a = ap.parse_args(argv)
    cfg = Config(**json.loads(a.config_json))
    logging.basicConfig(level=log_level(cfg.loglevel),
                        format=f"%(asctime)s router-{a.index} %(levelname)s %(message)s",
                        stream=sys.stderr)
    router = Router(cfg, table, a.index)
    _run_loop(router.serve())
