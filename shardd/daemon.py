"""The shard daemon's loop: drain every waiting batch, run them in one LMDB write
transaction (group commit), commit (fsync first under ``durability = "always"``),
then answer each sender.

Keyspace notifications: while notify-keyspace-events asks for events, a batch runs
on a ``NotifyingKeyspace`` with the handler tables that report them (no fast paths,
read-only commands marked for "keymiss"); the events go to the pub/sub hub once the
batch has committed (under ``always``, once it is durable, just before its replies).
The flags come from cluster.toml, then from the hub (HELLO at start, its CONFIG
messages) and from routers' ``__config`` (CONFIG SET), whichever is newest.

The daemon's other jobs live beside it: shardd/recovery.py (opening and replaying
the write-ahead log), shardd/waiting.py (blocked clients), shardd/watches.py (WATCH
counted per router), shardd/participant.py (the coordinator's transactions)."""

from __future__ import annotations

import argparse
import collections
import gc
import json
import logging
import os
import signal
import sys
import time
import traceback
from typing import Any, Callable

import lmdb
import zmq

from shardis import cmdstats, configtable, errors, hubproto, latency, notify, slowlog, wire
from shardis.commands import INTERNAL, CommandTable
from shardis.config import Config, log_level
from shardis.hubproto import Q_RECEIVERS, Answer, Configure, Feed, Hello, Monitoring, Notify, Oom, Publish, \
    Query, shard_identity
from shardis.messages import Batch, Replies, SlowCalls
from shardis.resp import ReplyError, encode, encode3, encode_error
from shardis.shardd import eviction, recovery, snapshot
from shardis.shardd.blocking import BLOCK
from shardis.shardd.context import ShardContext
from shardis.shardd.databases import shard_config, shard_info
from shardis.shardd.disk import sysdb
from shardis.shardd.disk.sysdb import APPLIED
from shardis.shardd.participant import Participant
from shardis.shardd.scripting import Running, ScriptHost, Stray
from shardis.shardd.storage import Keyspace, NotifyingKeyspace, Store, limits_of
from shardis.shardd.waiting import COORD_IDENT, Blocked, wakeups
from shardis.shardd.wal import SEQ, LogWriter, WriteAheadLog
from shardis.shardd.watches import Watches
from shardis.slots import key_slot, slot_table

log = logging.getLogger("shardd")

SWEEP_LIMIT = 1000
WAL_CHECKPOINT_BYTES = 64 << 20
_SLOWER_THAN = configtable.param("slowlog-log-slower-than")
_HIST_SHIFT = 6  # log2(cmdstats.BUCKETS): Shard._run indexes command id << 6 | bucket
assert 1 << _HIST_SHIFT == cmdstats.BUCKETS
_LATENCY_THRESHOLD = configtable.param("latency-monitor-threshold")
# How long a starting shard waits for the pub/sub hub's settings before it serves.
HUB_WAIT_S = 5.0


class Shard:
    """One shard: its store, its socket, its command handlers."""

    def __init__(self, cfg: Config, index: int, table: CommandTable, fenced: bool = False) -> None:
        self.cfg = cfg
        self.index = index
        os.makedirs(cfg.shard_dir(index), exist_ok=True)
        self.context = ShardContext(databases=cfg.databases,
                                    notify_flags=notify.parse_flags(cfg.notify_keyspace_events) or 0)
        self.store = Store(cfg.shard_dir(index), cfg.durability, cfg.map_size, self.context)
        self.table = table
        # maxmemory and the keys' access data (shardd/eviction.py); the handlers wrapped
        # to count keyspace hits and misses, and to touch no key where Redis does not.
        slots = [s for s, owner in enumerate(slot_table(cfg.nshards)) if owner == index]
        self.evictor = self.context.evictor = eviction.Evictor(
            self.store, cfg.nshards, range(slots[0], slots[-1] + 1) if slots else range(1),
            time.time_ns() // 1_000_000)
        self.evictor.configure(eviction.settings_of(cfg))
        eviction.wrap_handlers(table, _reads)
        self.oom: dict[int, tuple[list, list]] = {}  # id(tables) -> their -OOM version
        self.handlers = [spec.handler for spec in self.table.by_id]
        # Blocked clients (shardd/waiting.py): a blocking command's RESP2 entry parks its client.
        self.blocked = Blocked(self)
        self.waiters = self.blocked.waiters
        self.context.unblock = self.blocked.unblock  # for __unblock
        # (handlers, RESP2 entries) for batches without and with keyspace notifications;
        # ``tables`` is the pair the running batch uses.
        self.plain_tables = (self.handlers, self._resp2_table(self.handlers, fast=True))
        self.notify_tables = self._notifying_tables()
        self.tables = self.plain_tables
        self.events: list = []    # (channel, message) the last batch publishes
        self.cur_ident = b""      # the router of the message being run
        self.cur_msg = 0          # its index in the batch
        self.woken: list = []     # (router ident, waiter id, reply) served in this batch
        self.injected: list = []  # (message index, commands done, cid, db, args): for the log
        self.wjournal: list = []  # parks and serves of this attempt, undone if it aborts
        self.names = [spec.name for spec in self.table.by_id]
        # WATCH's registrations, counted per router too (shardd/watches.py).
        self.watches = Watches(self, self.table)
        self.watchers = self.watches.watchers
        # The commands the daemon runs itself (they need its handler tables or waiters).
        for name, fn in ((b"__exec", self._exec), (b"__readywait", self.blocked.readywait),
                         (b"__unreserve", self.blocked.unreserve), (b"__watch", self.watches.watch),
                         (b"__unwatch", self.watches.unwatch)):
            i = self.table.by_name[name].id
            for handlers, resp2 in (self.plain_tables, self.notify_tables):
                handlers[i] = fn
                resp2[i] = _encoded(fn)
        # INFO commandstats and latencystats (shardis/cmdstats.py): per command id, the
        # nanoseconds its calls took, its failed calls, and its calls per power-of-two
        # bucket of nanoseconds (their sum: its calls); a container's (XINFO ...) by
        # subcommand name in ``sub_stats``. ``__info`` reports them, by name.
        n = len(self.table.by_id)
        self.cmd_ns = [0] * n
        self.cmd_failed = [0] * n
        self.cmd_hist = [0] * (n << _HIST_SHIFT)  # (command id << 6 | bucket: one index)
        self.sub_stats: dict[str, list] = {}
        self.containers = [spec.id for spec in self.table.by_id if spec.subcommands]
        # SLOWLOG (shardis/slowlog.py): the bound a router's command is compared with, and
        # this batch's slow calls, (message, index in it, us, unix time, args), which go
        # to their routers just before the replies (``run_batch``). ``in_batch``: a
        # router's batch is running (not a coordinator's round, not a replay);
        # ``outer_replies``: the replies of the message running, whose next one is an
        # ``__exec``'s while its commands run.
        self.slow_ns = slowlog.threshold_ns(int(configtable.get_value(cfg, _SLOWER_THAN)))
        # LATENCY (shardis/latency.py): latency-monitor-threshold in ns, and the events.
        self.latency_ns = latency.threshold_ns(int(configtable.get_value(cfg, _LATENCY_THRESHOLD)))
        self.store.fsyncs.threshold_ns = self.latency_ns
        self.latency_events: dict[str, list] = {}
        # /metrics: LMDB write transactions committed, and the nanoseconds their commits took.
        self.commits = self.commit_ns = 0
        self.slow: list = []
        self.in_batch = False
        self.outer_replies: list = []
        i = self.table.by_name[b"__info"].id
        j = self.table.by_name[b"__config"].id
        for handlers, resp2 in (self.plain_tables, self.notify_tables):
            handlers[i] = self._info
            resp2[i] = _encoded(self._info)
            handlers[j] = self._config
            resp2[j] = _encoded(self._config)
            for c in self.containers:
                spec = self.table.by_id[c]
                if handlers[c] is not None and not spec.blocking:
                    handlers[c] = _by_subcommand(spec, handlers[c], self.sub_stats)
                    resp2[c] = _encoded(handlers[c])
        # Scripts (shardd/scripting.py); ``moved``: (message, command) positions of this
        # batch's scripts that reached another shard's key (they answer SCRIPT_MOVED).
        slot_to_shard = slot_table(cfg.nshards)
        self.context.scripts = ScriptHost(
            self.table, lambda: self.tables[0], lambda k: slot_to_shard[key_slot(k)] == index,
            cfg.nshards, lambda: self.in_multi)
        self.moved: set[tuple[int, int]] = set()
        scripts = self.scripts = self.context.scripts
        scripts.serve_busy = self.serve_busy
        scripts.receivers = self.hub_receivers
        scripts.record = self._record_time
        scripts.stats = self.sub_stats  # (what scripts call, counted by name: command_figures)
        self.hub_frames: list[bytes] = []  # the hub's frames read while a script asked it
        self.after_busy: list = []  # messages read while a script was busy, run after it
        self.in_multi = False     # running EXEC's commands: blocking ones do not block
        self.replay_aborted: set | None = None  # replaying the log: EXECs WATCH aborted
        # Cross-shard transactions (shardis/coord/coordinator.py): while ``locked`` the
        # routers' messages wait in ``deferred``; a shard starts locked (fenced) when
        # a coordinator runs, until it has said whether a transaction must be redone here.
        self.locked = fenced
        self.participant = Participant(self)
        self.deferred: list = []
        self.hub: zmq.Socket | None = None  # to the pub/sub hub, while serving (``serve``)
        self.oom_told = False  # what the hub last heard: out of memory (``_evict``)
        self.hub_token = 0  # (a script's PUBLISH asks the hub: ``hub_receivers``)
        self.poller: zmq.Poller | None = None  # ``serve``'s
        self.stopping = False
        self.commands = 0
        self.batches = 0
        self.started = time.time()
        # The write-ahead log (``always``; shardd/recovery.py opens it, replaying it first).
        self.wal: WriteAheadLog | None = None
        self.writer: LogWriter | None = None
        self.held: collections.deque = collections.deque()  # (seq, frames, events) until durable
        self.seq = 0  # of the last batch logged
        self.notify_r = self.notify_w = -1  # the writer's pipe: "durable now"
        self._check_slotmap()
        recovery.open_log(self)
        self.reset_command_stats()  # (a replayed log's commands are no client's calls)
        self.slow = []
        # (the socket once the data is known good: a shard that refuses to start leaves none open)
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 1000)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.setsockopt(zmq.RCVHWM, 0)
        # The log replayed under the limits (encoding thresholds ...) it was written
        # with; from here on cluster.toml's, until the hub has newer ones (``serve``).
        if self.store.set_limits(0, limits_of(cfg), force=True):
            self.store.sync()
        # (and the other shared settings the log may have replayed, cluster.toml's too)
        self.store.durability = cfg.durability
        self.context.notify_flags = notify.parse_flags(cfg.notify_keyspace_events) or 0
        self.context.settings_version = -1

    def _check_slotmap(self) -> None:
        """The slot table is stored with the data; a different one means resharding."""
        want = sysdb.pack_slotmap(self.cfg.nshards, self.index)
        have = self.store.get_sys(sysdb.SLOTMAP)
        if have is None:
            self.store.put_sys(sysdb.SLOTMAP, want)
        elif have != want:
            raise SystemExit(f"shard {self.index}: data in {self.store.path} was written as "
                             f"{have.decode()}, not {want.decode()}; start it through shardis-server, "
                             "which reshards the data first")

    def close(self, linger_ms: int = 0) -> None:
        """Make everything durable and release the store, the log writer and the socket."""
        self.checkpoint()
        self.release()
        if self.writer is not None:
            self.writer.stop()
        snapshot.stop_all(self.context)  # (their read transactions end before the store)
        self.store.close()
        self.sock.close(linger=linger_ms)
        if self.hub is not None:
            self.hub.close(linger=linger_ms)
        self.ctx.term()

    def serve(self) -> None:
        self.sock.bind(self.cfg.shard_endpoint(self.index))
        # To the pub/sub hub: keyspace events out, shared settings in.
        self.hub = self.ctx.socket(zmq.DEALER)
        self.hub.setsockopt(zmq.IDENTITY, shard_identity(self.index))
        self.hub.setsockopt(zmq.SNDHWM, 0)
        self.hub.connect(self.cfg.pubsub_endpoint())
        self.hub.send(hubproto.encode([Hello({})]))  # the hub answers with the shared settings
        self._await_hub()
        log.info("shard %d ready on %s", self.index, self.cfg.shard_endpoint(self.index))
        poller = self.poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        poller.register(self.hub, zmq.POLLIN)
        if self.writer is not None:
            poller.register(self.notify_r, zmq.POLLIN)
        sweep_every = self.cfg.expiry_sweep_ms / 1000.0
        next_sweep = time.monotonic() + sweep_every
        next_sync = time.monotonic() + 1.0
        sock = self.sock
        recv = sock.recv_multipart
        while not self.stopping:
            now = time.monotonic()
            # (no sweep while a cross-shard round holds the shard: a due sweep must not
            # make the wait zero, or the loop spins until the round ends)
            timeout = max(0.0, (next_sync if self.locked else min(next_sweep, next_sync)) - now)
            deadline = self.waiters.next_deadline()
            if deadline is not None:
                timeout = max(0.0, min(timeout, deadline / 1000.0 - time.time()))
            reserved = self.blocked.reserved
            if reserved and not self.locked:
                timeout = max(0.0, min(timeout, min(r[2] for r in reserved.values()) - now))
            ready = poller.poll(int(timeout * 1000))  # (pyzmq truncates to whole ms too)
            if ready:
                if any(s is self.hub for s, _ in ready):
                    self._from_hub()
                msgs = []
                # (drained while EVENTS says so: a zmq.Again ending each wakeup costs more)
                while sock.get(zmq.EVENTS) & zmq.POLLIN:  # type: ignore[operator, arg-type]
                    msgs.append(recv())
                if msgs:
                    self.dispatch(msgs)
                while self.hub_frames:
                    frames, self.hub_frames = self.hub_frames, []
                    for frame in frames:
                        self._hub_ops(frame, starting=False)
                while self.after_busy:
                    msgs, self.after_busy = self.after_busy, []
                    self.dispatch(msgs)
                if self.held:
                    self.release()
            if self.waiters.deadlines:
                self.blocked.expire()
            if self.blocked.reserved and not self.locked:
                self.blocked.release_reserved()
            now = time.monotonic()
            if now >= next_sweep and not self.locked:
                self.sweep()
                next_sweep = now + sweep_every
            if self.store.durability != self.cfg.durability and not self.locked:
                recovery.switch_durability(self)
            if now >= next_sync:
                if self.watchers:
                    self.forget_dead_routers()
                if self.oom_told:  # (again each second while out of memory: a hub that
                    self._tell_oom(True)  # restarted with the coordinator knows it too)
                if self.cfg.durability == "everysec" and self.store.dirty:
                    self.store.sync_later()
                elif self.wal is not None and self.wal.size > WAL_CHECKPOINT_BYTES:
                    self.checkpoint()
                next_sync = now + 1.0
        # Stopping: answer what is already queued, then make it durable.
        self.participant.abort()
        self.locked = False
        try:
            pending, self.deferred = self.deferred, []
            if pending:
                self.run_batch(pending)
            while True:
                msgs = [recv(zmq.NOBLOCK)]
                if msgs[0][0] != COORD_IDENT:
                    self.run_batch(msgs)
        except zmq.Again:
            pass
        log.info("shard %d: %d commands in %d batches", self.index, self.commands, self.batches)
        self.close(linger_ms=1000)  # the last replies still leave
        log.info("shard %d stopped", self.index)

    def dispatch(self, msgs: list[list[bytes]]) -> None:
        """Run the routers' messages as batches, the coordinator's one by one, in the
        order they came; while a transaction holds this shard, routers' messages wait."""
        batch: list[list[bytes]] = []
        for m in msgs:
            if m[0] == COORD_IDENT:
                if batch:
                    self.run_batch(batch)
                    batch = []
                was_locked = self.locked
                self.participant.on_message(m)
                if was_locked and not self.locked and self.deferred:
                    batch, self.deferred = self.deferred, []
            elif self.locked:
                if not self._kill_while_locked(m):
                    self.deferred.append(m)
            else:
                batch.append(m)
        if batch:
            self.run_batch(batch)

    def run_batch(self, msgs: list[list[bytes]]) -> None:
        """Run every command of every message in one write transaction, then reply."""
        payloads = [m[-1] for m in msgs]
        now = time.time_ns() // 1_000_000
        replies = self._apply(payloads, now, durable=self.writer is not None,
                              idents=[m[0] for m in msgs])
        frame = Replies.frame
        out = [[m[0], frame(bid, r)] for m, (bid, r) in zip(msgs, replies)]
        if self.slow:
            out[:0] = self._slow_calls(msgs, replies)
        if self.woken:
            out.extend(wakeups(self.woken))
            self.woken = []
        self.batches += len(msgs)
        events, self.events = self.events, []
        if self.writer is not None and (self.held or self.seq > self.writer.durable):
            # Under "always" replies wait until their batch is on disk, and leave
            # in order: a read also waits for the writes before it.
            self.held.append((self.seq, out, events))
            return
        self.publish(events)
        send = self.sock.send_multipart
        for frames in out:
            send(frames)

    def publish(self, events: list) -> None:
        """Keyspace events of a committed batch, to the hub (which fans them out); a shard
        run in-process, not serving, has nobody to tell."""
        if events and self.hub is not None:
            self.hub.send(hubproto.encode([Notify(events)]))

    def _await_hub(self) -> None:
        """Before serving: the settings the hub holds now (a CONFIG SET made while this
        shard was down). The limits among them are kept with the data, outside any batch
        (nothing runs yet); later ones come inside batches (``__config``)."""
        hub = self.hub
        assert hub is not None  # (``serve`` connected it)
        if not hub.poll(int(HUB_WAIT_S * 1000)):
            log.warning("shard %d: no answer from the pub/sub hub; serving with cluster.toml's "
                        "settings", self.index)
            return
        self._hub_ops(hub.recv(), starting=True)

    def _from_hub(self) -> None:
        """Shared settings from the hub: the answer to HELLO, or another's CONFIG SET."""
        hub = self.hub
        assert hub is not None  # (``serve`` connected it)
        while True:
            try:
                frame = hub.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            self._hub_ops(frame, starting=False)

    def _hub_ops(self, frame: bytes, starting: bool) -> None:
        """One frame of the hub's: each op it sends a shard run by ``HUB_HANDLERS`` (the
        others are not for shards)."""
        handlers = HUB_HANDLERS
        for op in hubproto.decode(frame):
            handler = handlers.get(op.__class__)
            if handler is not None:
                handler(self, op, starting)

    def _on_configure(self, op: Configure, starting: bool) -> None:
        """Shared settings; before serving, the limits among them are kept with the data."""
        self.store.apply_settings(op.version, op.settings)
        slower = op.settings.get("slowlog-log-slower-than")
        if slower is not None:
            self.slow_ns = slowlog.threshold_ns(int(slower))
        threshold = op.settings.get("latency-monitor-threshold")
        if threshold is not None:
            self.latency_ns = self.store.fsyncs.threshold_ns = latency.threshold_ns(int(threshold))
        if starting:
            if self.store.set_limits(op.version, op.settings):
                self.store.sync()
        elif "loglevel" in op.settings:
            logging.getLogger().setLevel(log_level(op.settings["loglevel"]))

    def release(self) -> None:
        """Send the held replies whose batches are durable now."""
        if self.writer is None:
            return
        try:
            os.read(self.notify_r, 65536)
        except BlockingIOError:
            pass
        durable = self.writer.durable
        held = self.held
        send = self.sock.send_multipart
        while held and held[0][0] <= durable:
            _, out, events = held.popleft()
            self.publish(events)
            for frames in out:
                send(frames)

    def _apply(self, payloads: list[bytes] | None, now: int, durable: bool,
               replay_seq: int | None = None, idents: list[bytes] | None = None,
               injections: list | None = None) -> Any:
        """One write transaction over every message (``None``: an expiry sweep); the
        messages' replies, [(batch id, [reply, ...]), ...], or the number of keys the
        sweep expired.

        Under ``always`` a batch that changed anything is appended to the
        write-ahead log and fsynced before this returns, so before any reply."""
        store = self.store
        decode = Batch.decode
        batches = [decode(p) for p in payloads] if payloads is not None else None
        # The one test per batch: do notify-keyspace-events ask for anything? (Never
        # while replaying the log: those events were published before the crash, or
        # belong to replies nobody received.)
        flags = self.context.notify_flags
        notifying = self.notifying(flags) and replay_seq is None
        self.tables = self.notify_tables if notifying else self.plain_tables
        while True:
            v0 = store.version
            txn = store.env.begin(write=True)
            ks: Keyspace = NotifyingKeyspace(store, txn, now, flags) if notifying else \
                Keyspace(store, txn, now)
            self.woken = []
            self.injected = []
            self.slow = []
            self.wjournal = []
            self.watches.journal = []
            self.scripts.published = []
            self.scripts.monitor_lines = []
            try:
                out: Any  # (the sweep's count, else the replies)
                if batches is not None and injections is None:
                    self._evict(ks, len(batches))
                if batches is None:
                    out = ks.sweep(SWEEP_LIMIT)
                elif injections is not None:
                    replay = recovery.replay_message
                    out = []
                    for i, (bid, cmds) in enumerate(batches):
                        self.cur_msg = i
                        out.append((bid, replay(self, ks, cmds, [j for j in injections if j[0] == i])))
                else:
                    out = []
                    self.in_batch = True
                    for i, (bid, cmds) in enumerate(batches):
                        self.cur_msg = i
                        self.cur_ident = idents[i] if idents is not None else b""
                        out.append((bid, self._run(ks, cmds)))
                    self.in_batch = False
                changed = store.version != v0 or any(d[0] or d[1] for d in ks.delta.values())
                if changed:
                    ks.finish()
                    if durable:
                        txn.put(APPLIED, SEQ.pack(self.seq + 1), db=store.sys)
                if replay_seq is not None:
                    txn.put(APPLIED, SEQ.pack(replay_seq), db=store.sys)
                t0 = time.perf_counter_ns()
                txn.commit()
                took = time.perf_counter_ns() - t0
                self.commits += 1
                self.commit_ns += took
                if took >= self.latency_ns:
                    latency.add(self.latency_events, "lmdb-commit", took // 1_000_000, int(time.time()))
            except Stray as e:
                # A script reached another shard's key: nothing of this attempt stays; the
                # batch runs again with that script answered SCRIPT_MOVED.
                txn.abort()
                self.blocked.undo()
                self.watches.undo()
                self.moved.add(e.args[0])
                continue
            except lmdb.MapFullError:
                txn.abort()
                self.blocked.undo()
                self.watches.undo()
                store.grow()
                log.warning("shard %d: LMDB map full, grown to %d bytes", self.index,
                            store.env.info()["map_size"])
                continue
            except BaseException:
                txn.abort()
                self.moved.clear()
                self.in_batch = False
                raise
            break
        self.moved.clear()
        ks.committed()
        self.evictor.after(ks)
        if self.scripts.published:
            self.publish_scripts()
        if self.scripts.monitor_lines:
            self.feed_monitors()
        if isinstance(ks, NotifyingKeyspace):  # (``notifying``)
            self.events = notify.messages(flags, ks.events)
        if changed:
            store.dirty = True
            if durable:
                assert self.writer is not None  # (``durable``: there is a log)
                self.seq += 1
                self.writer.submit(self.seq, now, payloads, self.injected)
        return out

    def _evict(self, ks: Keyspace, nmsgs: int) -> None:
        """maxmemory, once per batch before its commands: evict under the policy, or, with
        nothing to evict, run the batch with -OOM for the denyoom commands. Both are
        logged with the batch (shardd/recovery.py replays them)."""
        ev = self.evictor
        if not ev.limit:
            if self.oom_told:
                self._tell_oom(False)
            return
        oom = ev.before(ks)
        if ev.evicted:
            self.injected.append((0, 0, eviction.EVICTED, 0, ev.evicted))
        if oom:
            self.tables = self.oom_tables(self.tables)
            self.injected.extend((i, 0, eviction.OOM, 0, []) for i in range(nmsgs))
        if oom != self.oom_told:
            self._tell_oom(oom)

    def _tell_oom(self, full: bool) -> None:
        """The hub hears when this shard runs out of memory or no longer is (so that a
        router refuses commands inside MULTI with -OOM at once, as Redis does)."""
        self.oom_told = full
        if self.hub is not None:
            self.hub.send(hubproto.encode([Oom(full)]))

    def oom_tables(self, tables: tuple[list, list]) -> tuple[list, list]:
        """``tables`` with the denyoom commands answering -OOM (made once per tables)."""
        found = self.oom.get(id(tables))
        if found is None:
            found = self.oom[id(tables)] = eviction.oom_tables(self.table, tables)
        return found

    def checkpoint(self) -> None:
        """Sync LMDB, then empty the log it makes redundant."""
        if self.writer is not None:
            self.writer.wait_for(self.seq)  # the writer is idle after this: we are its only source
        self.store.sync()
        if self.wal is not None and self.wal.size:
            self.wal.truncate()

    def _run(self, ks: Keyspace, cmds: list, multi: bool = False) -> list:
        """One message's commands: each reply as RESP2, RESP3 or RAW, as its id asks.

        ``multi``: a transaction's commands (EXEC): blocking commands answer at once as
        if timed out, and blocked clients are served after the whole transaction."""
        handlers, resp2 = self.tables
        replies: list = []
        append = replies.append
        if multi:
            outer, self.in_multi = self.in_multi, True
            try:
                return self._run(ks, cmds)
            finally:
                self.in_multi = outer
        self.commands += len(cmds)
        RAW, MASK = wire.RAW, wire.CMD_MASK
        moved = self.moved
        clock = time.perf_counter_ns
        slow_ns = min(self.slow_ns, self.latency_ns)  # (one test per command for both)
        if not self.in_multi:
            self.outer_replies = replies
        # One clock reading per command: each command's time runs from the reading after
        # the one before it (the loop's own steps between are counted with it), and is
        # tested against the SLOWLOG / LATENCY threshold. commandstats and latencystats
        # are counted per run of equal commands (a pipeline's SETs: one update, each
        # command in its histogram at the run's mean): the per-command cost is the clock.
        t0 = clock()
        run_cid = -1
        run_n = 0
        run_t0 = t0
        for cid, db, args in cmds:
            if moved and (self.cur_msg, len(replies)) in moved:
                append(wire.SCRIPT_MOVED)
                continue
            if cid != run_cid:
                if run_n:
                    self._ran(run_cid, run_n, t0 - run_t0)
                run_cid = cid
                run_n = 0
                run_t0 = t0
            run_n += 1
            raw = cid & RAW
            try:
                if cid < RAW:  # the common case: RESP2, no flag bits
                    append(resp2[cid](ks, db, args))
                else:
                    v = handlers[cid & MASK](ks, db, args)
                    if v is BLOCK:
                        append(self.blocked.park(ks, cid, db, args))
                    else:
                        append(wire.to_raw(v) if raw else encode3(v))
                if ks.ready and not self.in_multi:  # a write left a key with blocked clients non-empty
                    self.blocked.serve(ks, len(replies))
            except ReplyError as e:
                if raw:  # a part of a reply made elsewhere: counted there (INFO errorstats)
                    append(wire.to_raw(e))
                else:
                    append(encode_error(e.args[0]))
                    self.store.errors[errors.code_of(e.args[0])] += 1
                    self.cmd_failed[cid & MASK] += 1
            except lmdb.MapFullError:
                raise
            except Stray:
                raise Stray((self.cur_msg, len(replies))) from None
            except Exception as exc:  # a bug must not take the shard down
                log.error("shard %d: %s failed: %s", self.index, args[:1],
                          traceback.format_exc())
                err = ReplyError(f"ERR internal error in '{self.names[cid & MASK]}': {exc}")
                append(wire.to_raw(err) if raw else encode_error(err.args[0]))
                if not raw:
                    self.store.errors["ERR"] += 1
                    self.cmd_failed[cid & MASK] += 1
            now = clock()
            if now - t0 >= slow_ns and not raw:
                self._slow_call(cid & MASK, args, now - t0)
                later = clock()  # (the entry's own cost is no command's)
                run_t0 += later - now
                now = later
            t0 = now
        if run_n:
            self._ran(run_cid, run_n, t0 - run_t0)
        return replies

    def _ran(self, cid: int, n: int, ns: int) -> None:
        """A run of ``n`` equal commands took ``ns`` (commandstats, latencystats); a
        part of a command (``RAW``) is counted where it was made."""
        if cid & wire.RAW:
            return
        c = cid & wire.CMD_MASK
        self.cmd_ns[c] += ns
        self.cmd_hist[(c << _HIST_SHIFT) | (ns // n).bit_length()] += n

    def _slow_call(self, cid: int, args: list[bytes], ns: int) -> None:
        """A command that took at least latency-monitor-threshold (a LATENCY event) or
        slowlog-log-slower-than: a router's is kept for the SlowCalls message its router
        gets with the batch's replies."""
        flags = self.table.by_id[cid].flags
        if ns >= self.latency_ns:
            latency.add(self.latency_events, "fast-command" if "fast" in flags else "command",
                        ns // 1_000_000, int(time.time()))
        if ns < self.slow_ns or not self.in_batch or "skip_slowlog" in flags:
            return
        # (its place in the message: the one it has, or, inside an ``__exec``, the
        # ``__exec``'s, whose reply comes next)
        index = len(self.outer_replies) - (0 if self.in_multi else 1)
        self.slow.append((self.cur_msg, index, ns // 1000, time.time(), slowlog.cut_args(args)))

    def _slow_calls(self, msgs: list[list[bytes]], replies: list) -> list[list[bytes]]:
        """One SlowCalls message per message that had slow calls, to its router."""
        by_msg: dict[int, list] = {}
        for at, index, usec, when, args in self.slow:
            by_msg.setdefault(at, []).append([replies[at][0], index, usec, when, args])
        self.slow = []
        return [[msgs[at][0], SlowCalls(items).encode()] for at, items in by_msg.items()]

    def _info(self, ks: Keyspace, db: int, args: list[bytes]) -> list[Any]:
        """``__info ndb [RESETSTAT | LATENCYRESET [event ...]]``: shard_info's figures,
        then (appended) this shard's commandstats {name: [calls, ns, 0, failed,
        histogram]}, its LATENCY events {name: [max ms, [[time, ms] ...]]} and the names
        of the events LATENCYRESET forgot (all without a name), and [LMDB commits, their
        nanoseconds, fsyncs (write-ahead log and LMDB), their nanoseconds]; RESETSTAT zeroes the commandstats too."""
        gone: list[str] = []
        fsyncs = self.store.fsyncs
        fsyncs.fold(self.latency_events)
        if len(args) > 2 and args[2] == b"LATENCYRESET":
            names = [a.decode("latin-1") for a in args[3:]]
            gone = latency.reset(self.latency_events, names or None)
            args = args[:2]
        info = shard_info(ks, db, args)
        if len(args) > 2:
            self.reset_command_stats()
        info.append(self.command_figures())
        info.append({k.encode(): v for k, v in self.latency_events.items()})
        info.append([n.encode() for n in gone])
        info.append([self.commits, self.commit_ns, fsyncs.count, fsyncs.ns])
        return info

    def _config(self, ks: Keyspace, db: int, args: list[bytes]) -> Any:
        """``__config`` (CONFIG SET's shared settings, inside a batch): shard_config, then
        what the daemon itself reads (slowlog-log-slower-than)."""
        v = shard_config(ks, db, args)
        for i in range(2, len(args) - 1, 2):
            if args[i] == b"slowlog-log-slower-than":
                self.slow_ns = slowlog.threshold_ns(int(args[i + 1]))
            elif args[i] == b"latency-monitor-threshold":
                self.latency_ns = self.store.fsyncs.threshold_ns = latency.threshold_ns(int(args[i + 1]))
        if self.oom_told and not self.evictor.limit:  # (maxmemory 0: the routers hear at once)
            self._tell_oom(False)
        return v

    def reset_command_stats(self) -> None:
        n = len(self.cmd_ns)
        self.cmd_ns = [0] * n
        self.cmd_failed = [0] * n
        self.cmd_hist = [0] * (n << _HIST_SHIFT)
        self.sub_stats.clear()

    def command_figures(self) -> dict[bytes, list]:
        """Per command name, what this shard ran: [calls, ns, 0, failed, histogram]."""
        stats: dict[str, list] = {}
        containers = set(self.containers)
        for c in range(len(self.cmd_ns)):
            hist = self.cmd_hist[c << _HIST_SHIFT:(c + 1) << _HIST_SHIFT]
            calls = sum(hist)
            if not calls or c in containers:
                continue
            name = self.names[c]
            if name.startswith("__"):
                continue  # (internal: their commands are counted, or their caller is)
            stats[name] = [calls, self.cmd_ns[c], 0, self.cmd_failed[c], hist]
        cmdstats.merge(stats, self.sub_stats)
        return {k.encode(): v for k, v in cmdstats.compact(stats).items()}

    # ------------------------------------------------------------ transactions

    def _exec(self, ks: Keyspace, db: int, args: list):
        """EXEC of a transaction whose keys are all here (``__exec``): args[1] packs
        [epoch, watched [[db, key, version]...], commands [[cid, db, args]...], token].
        Runs inside the batch's transaction, so nothing comes between its commands.

        A replay from the write-ahead log cannot compare versions (they are not
        replayed): the log names the tokens of the EXECs that WATCH aborted."""
        epoch, watched, cmds, token = wire.unpack(args[1])
        if watched:
            if self.replay_aborted is not None:
                ok = token not in self.replay_aborted
            else:
                ok = ks.watch_ok(epoch, watched)
            items = [(d, k) for d, k, _ in watched]
            ks.unwatch(items)
            self.watches.uncount(items)
            if not ok:
                self.injected.append((self.cur_msg, -1, -1, 0, [token]))
                return None
        return self._run(ks, cmds, multi=True)  # (RAW: the router writes the array around them)

    def _record_time(self, v: list[bytes]) -> None:
        """What TIME answered a script, logged with the batch (replayed: recovery.py)."""
        self.injected.append((self.cur_msg, -2, -2, 0, v))

    def hub_receivers(self, kind: int, channel: bytes) -> int:
        """A script's PUBLISH: how many would receive it, asked of the hub now (the message
        itself leaves once the batch has committed: ``publish_scripts``)."""
        hub = self.hub
        if hub is None:
            return 0
        self.hub_token += 1
        token = self.hub_token
        hub.send(hubproto.encode([Query(token, Q_RECEIVERS, [kind, channel])]))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if not hub.poll(100):
                continue
            frame = hub.recv()
            self.hub_frames.append(frame)  # (whatever else it holds is run after the batch)
            for op in hubproto.decode(frame):
                if isinstance(op, Answer) and op.token == token:
                    return int(op.value)
        return 0

    def publish_scripts(self) -> None:
        """The messages scripts of the committed batch published."""
        pubs, self.scripts.published = self.scripts.published, []
        if self.hub is not None:
            self.hub.send(hubproto.encode([Publish(0, kind, channel, message) for kind, channel, message in pubs]))

    def feed_monitors(self) -> None:
        """MONITOR's lines of the commands scripts of the committed batch called."""
        lines, self.scripts.monitor_lines = self.scripts.monitor_lines, []
        if self.hub is not None:
            self.hub.send(hubproto.encode([Feed(lines)]))

    def _on_monitoring(self, op: Monitoring, starting: bool) -> None:
        """The hub says which routers have monitoring clients: scripts' calls are shown."""
        self.scripts.monitoring = bool(op.routers)

    def _kill_while_locked(self, m: list[bytes]) -> bool:
        """SCRIPT KILL while a cross-shard round holds this shard: no script runs here;
        answered now (it must reach the coordinator's script, not wait behind it)."""
        if len(m[-1]) > 64:
            return False  # (a kill's message is small: bigger ones are not looked into)
        bid, cmds = Batch.decode(m[-1])
        kill_id = self.table.by_name[b"__scriptkill"].id
        if not cmds or any(c[0] & wire.CMD_MASK != kill_id for c in cmds):
            return False
        self.sock.send_multipart([m[0], Replies.frame(bid, [b"notbusy"] * len(cmds))])
        return True

    def serve_busy(self, running: Running) -> None:
        """A script has run past busy-reply-threshold: answer the routers' messages that
        wait, as Redis does meanwhile: BUSY, but SCRIPT KILL / FUNCTION KILL. Messages of
        the coordinator, and those with the routers' housekeeping, run after the script."""
        recv = self.sock.recv_multipart
        send = self.sock.send_multipart
        by_id = self.table.by_id
        MASK, RAW = wire.CMD_MASK, wire.RAW
        busy = running.busy_error()
        while True:
            try:
                m = recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if m[0] == COORD_IDENT:
                self.after_busy.append(m)
                continue
            bid, cmds = Batch.decode(m[-1])
            replies: list = []
            for cid, db, args in cmds:
                spec = by_id[cid & MASK]
                if spec.name == "__scriptkill":
                    replies.append(wire.to_raw(running.kill_request(args[1] == b"function")))
                elif spec.route == INTERNAL:
                    break  # (housekeeping: the whole message waits for the script)
                else:
                    replies.append(wire.to_raw(ReplyError(busy)) if cid & RAW else encode_error(busy))
            else:
                send([m[0], Replies.frame(bid, replies)])
                continue
            self.after_busy.append(m)

    def forget_dead_routers(self) -> None:
        """Drop the WATCHes of the clients of routers that died (``Watches``)."""
        self.watches.forget_dead_routers()

    @staticmethod
    def notifying(flags: int) -> bool:
        """Whether notify-keyspace-events asks for any event at all."""
        both = notify.NOTIFY_KEYSPACE | notify.NOTIFY_KEYEVENT
        return bool(flags & both and flags & ~both)

    def sweep(self) -> None:
        """Active expiry: delete keys whose TTL has passed, a bounded number per round."""
        if not self.store.ctx.active_expire:
            return  # (DEBUG SET-ACTIVE-EXPIRE 0)
        while True:
            n = self._apply(None, time.time_ns() // 1_000_000, durable=self.writer is not None)
            events, self.events = self.events, []
            if self.writer is not None and self.held:
                self.held.append((self.seq, [], events))  # after the events held before
            else:
                self.publish(events)
            if n < SWEEP_LIMIT:
                return

    # ------------------------------------------------------------ handler tables

    def _resp2_table(self, handlers: list, fast: bool) -> list:
        """RESP2 reply bytes straight from the handler: the hot commands' own fast path
        (``fast``), else the handler's value encoded; blocking commands park the client."""
        table = []
        for spec, handler in zip(self.table.by_id, handlers):
            if "blocking" in spec.flags and handler is not None:
                table.append(self.blocked.resp2(spec.id, handler))
            else:
                table.append(spec.resp2 if fast and spec.resp2 else _encoded(handler))
        return table

    def _notifying_tables(self) -> tuple[list, list]:
        """The handlers for batches with notifications: no fast paths (they report no
        events), and the commands Redis reads keys for marked as reading ("keymiss")."""
        handlers = [_reading(spec.handler) if _reads(spec) else spec.handler
                    for spec in self.table.by_id]
        return handlers, self._resp2_table(handlers, fast=False)


# The hub's ops a shard takes: class -> handler(shard, op, whether it is starting). (A
# module table, not a class attribute: the compiled Shard has no method objects in its
# class body to put in one.)
HUB_HANDLERS: dict[type, Callable[[Shard, Any, bool], None]] = {
    Configure: Shard._on_configure, Monitoring: Shard._on_monitoring}


def _reads(spec) -> bool:
    """Whether Redis looks a command's keys up for reading (lookupKeyRead: a miss is a
    "keymiss" event)."""
    if spec.handler is None:
        return False
    if spec.route == INTERNAL:
        return spec.name in notify.KEYMISS_INTERNAL
    return "readonly" in spec.flags or spec.name in notify.KEYMISS_WRITES


def _reading(handler):
    """``handler`` with the batch's keyspace marked as reading while it runs."""
    def run(ks, db, args):
        ks.reading = True
        try:
            return handler(ks, db, args)
        finally:
            ks.reading = False
    return run


def _by_subcommand(spec, handler, stats: dict[str, list]):
    """A container's handler (XINFO, XGROUP ...) that counts its calls by subcommand
    (``xinfo|stream``), as Redis' commandstats shows them; an unknown subcommand counts
    nowhere, an arity error as rejected."""
    subs = spec.subcommands
    clock = time.perf_counter_ns

    def run(ks, db, args):
        sub = subs.get(args[1].decode("latin-1").lower()) if len(args) > 1 else None
        if sub is None:
            return handler(ks, db, args)
        t0 = clock()
        try:
            v = handler(ks, db, args)
        except ReplyError as e:
            kind = cmdstats.error_class(e.args[0])
            if kind == "rejected":
                cmdstats.reject(stats, sub.name)
            elif kind == "failed":
                cmdstats.record(stats, sub.name, clock() - t0, True)
            raise
        cmdstats.record(stats, sub.name, clock() - t0)
        return v
    return run


def _encoded(handler):
    """``handler`` returning RESP2 bytes instead of a reply value."""
    if handler is None:
        return None

    def resp2(ks, db, args):
        return encode(handler(ks, db, args))

    return resp2


def main(table: CommandTable, argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="shardd")
    ap.add_argument("--config-json", required=True)
    ap.add_argument("--index", type=int, required=True)
    a = ap.parse_args(argv)
    cfg = Config(**json.loads(a.config_json))
    logging.basicConfig(level=log_level(cfg.loglevel),
                        format=f"%(asctime)s shard-{a.index} %(levelname)s %(message)s",
                        stream=sys.stderr)
    shard = Shard(cfg, a.index, table, fenced=True)  # until the coordinator says hello
    # What exists now lives as long as the process (modules, the command table, the 2^20
    # slots of the access data): out of the cyclic collector's passes.
    gc.collect()
    gc.freeze()

    def stop(*_):
        shard.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    shard.serve()
