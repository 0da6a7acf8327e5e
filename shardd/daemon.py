"""The shard daemon's loop: drain every waiting batch, run them in one LMDB write
transaction (group commit), commit (fsync first under ``durability = "always"``),
then answer each sender.

Keyspace notifications: while notify-keyspace-events asks for events, a batch runs
on a ``NotifyingKeyspace`` with the handler tables that report them (no fast paths,
read-only commands marked for "keymiss"); the events go to the pub/sub hub once the
batch has committed (under ``always``, once it is durable, just before its replies).
The flags come from cluster.toml, then from the hub (HELLO at start, its CONFIG
messages) and from routers' ``__config`` (CONFIG SET), whichever is newest."""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import signal
import struct
import sys
import time
import traceback

import lmdb
import zmq

from shardis import errors, notify, wire
from shardis.commands import INTERNAL, CommandTable
from shardis.config import Config, log_level
from shardis.hubproto import CONFIG, HELLO, NOTIFY, shard_identity
from shardis.resp import ReplyError, encode, encode3, encode_error
from shardis.shardd.blocking import BLOCK, DEFERRED, Waiters
from shardis.shardd.multi import TXMARK
from shardis.shardd.recovery import Translation
from shardis.shardd.storage import Keyspace, NotifyingKeyspace, Store, limits_of
from shardis.shardd.wal import LogWriter, WriteAheadLog

log = logging.getLogger("shardd")

SWEEP_LIMIT = 1000
WAL_CHECKPOINT_BYTES = 64 << 20
SWITCH_INTERVAL = 0.0002
_SEQ = struct.Struct(">Q")


COORD_IDENT = b"coord"  # the coordinator's ZeroMQ identity (routers' are generated)
# How long a key stays held for a blocked client of the coordinator's (see ``reserved``)
# when the coordinator does not say it is done with it.
RESERVE_S = 2.0
# How long a router seen running is taken to be (see Shard._router_alive).
ALIVE_CHECK_S = 0.01
# How long a starting shard waits for the pub/sub hub's settings before it serves.
HUB_WAIT_S = 5.0


class Tx:
    """A cross-shard transaction open on this shard: its LMDB write transaction stays
    open across the coordinator's messages, and the shard runs nothing else."""

    __slots__ = ("txid", "now", "txn", "ks", "log", "v0")

    def __init__(self, txid: int, now: int) -> None:
        self.txid = txid
        self.now = now
        self.txn = None
        self.ks: Keyspace | None = None
        self.log: list = []  # every command run in it, in order: the replay record
        self.v0 = 0


class Shard:
    """One shard: its store, its socket, its command handlers."""

    def __init__(self, cfg: Config, index: int, table: CommandTable, fenced: bool = False) -> None:
        self.cfg = cfg
        self.index = index
        os.makedirs(cfg.shard_dir(index), exist_ok=True)
        self.store = Store(cfg.shard_dir(index), cfg.durability, cfg.map_size)
        self.store.databases = cfg.databases
        self.store.notify_flags = notify.parse_flags(cfg.notify_keyspace_events) or 0
        self.table = table
        self.handlers = [spec.handler for spec in self.table.by_id]
        # Blocking commands (shardd/blocking.py): their RESP2 entry parks the client.
        self.waiters = Waiters(self.store.waiting)
        self.store.blockers = self.waiters  # for __unblock
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
        # WATCH's registrations, counted per router too: those of a router that dies
        # are dropped (``forget_dead_routers``). router identity -> Counter of (db, key)
        self.watchers: dict[bytes, collections.Counter] = {}
        self.family_watch = self.handlers[self.table.by_name[b"__watch"].id]
        self.family_unwatch = self.handlers[self.table.by_name[b"__unwatch"].id]
        # The commands the daemon runs itself (they need its handler tables or waiters).
        for name, fn in ((b"__exec", self._exec), (b"__readywait", self._readywait),
                         (b"__unreserve", self._unreserve), (b"__watch", self._watch),
                         (b"__unwatch", self._unwatch)):
            i = self.table.by_name[name].id
            for handlers, resp2 in (self.plain_tables, self.notify_tables):
                handlers[i] = fn
                resp2[i] = _encoded(fn)
        self.txmark_id = self.table.by_name[b"__txmark"].id
        self.ready_id = self.table.by_name[b"__ready"].id
        self.unreserve_id = self.table.by_name[b"__unreserve"].id
        # Keys whose first waiter was the coordinator's stand-in: served, it holds the key
        # (no later waiter takes what was pushed) until the coordinator has run the
        # blocked command (``__unreserve``) or RESERVE_S passed. wid -> (db, key, deadline)
        self.reserved: dict[int, tuple] = {}
        self.alive_checked: dict[bytes, float] = {}  # router identity -> when seen running
        self.in_multi = False     # running EXEC's commands: blocking ones do not block
        self.replay_aborted: set | None = None  # replaying the log: EXECs WATCH aborted
        # Cross-shard transactions (shardis/coord/coordinator.py): while ``locked`` the
        # routers' messages wait in ``deferred``; a shard starts locked (fenced) when
        # a coordinator runs, until it has said whether a transaction must be redone here.
        self.locked = fenced
        self.tx: Tx | None = None
        self.deferred: list = []
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 1000)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.setsockopt(zmq.RCVHWM, 0)
        self.hub: zmq.Socket | None = None  # to the pub/sub hub, while serving (``serve``)
        self.poller: zmq.Poller | None = None  # ``serve``'s
        self.stopping = False
        self.commands = 0
        self.batches = 0
        self.started = time.time()
        self._check_slotmap()
        self._open_wal()
        # The log replayed under the limits (encoding thresholds ...) it was written
        # with; from here on cluster.toml's, until the hub has newer ones (``serve``).
        if self.store.set_limits(0, limits_of(cfg), force=True):
            self.store.sync()
        # (and the other shared settings the log may have replayed, cluster.toml's too)
        self.store.durability = cfg.durability
        self.store.notify_flags = notify.parse_flags(cfg.notify_keyspace_events) or 0
        self.store.settings_version = -1

    def _check_slotmap(self) -> None:
        """The slot table is stored with the data; a different one means resharding."""
        want = json.dumps({"shards": self.cfg.shards, "index": self.index}).encode()
        have = self.store.get_sys(b"slotmap")
        if have is None:
            self.store.put_sys(b"slotmap", want)
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
        self.hub.send(wire.pack([(HELLO, {})]))  # the hub answers with the shared settings
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
        recv = self.sock.recv_multipart
        while not self.stopping:
            now = time.monotonic()
            timeout = max(0.0, min(next_sweep, next_sync) - now)
            deadline = self.waiters.next_deadline()
            if deadline is not None:
                timeout = max(0.0, min(timeout, deadline / 1000.0 - time.time()))
            if self.reserved:
                timeout = max(0.0, min(timeout, min(r[2] for r in self.reserved.values()) - now))
            ready = poller.poll(timeout * 1000)
            if ready:
                if any(s is self.hub for s, _ in ready):
                    self._from_hub()
                msgs = []
                try:
                    while True:
                        msgs.append(recv(zmq.NOBLOCK))
                except zmq.Again:
                    pass
                if msgs:
                    self.dispatch(msgs)
                if self.held:
                    self.release()
            if self.waiters.deadlines:
                self.expire_waiters()
            if self.reserved and not self.locked:
                self.release_reserved()
            now = time.monotonic()
            if now >= next_sweep and not self.locked:
                self.sweep()
                next_sweep = now + sweep_every
            if self.store.durability != self.cfg.durability and not self.locked:
                self.switch_durability()
            if now >= next_sync:
                if self.watchers:
                    self.forget_dead_routers()
                if self.cfg.durability == "everysec" and self.store.dirty:
                    self.store.sync_later()
                elif self.wal is not None and self.wal.size > WAL_CHECKPOINT_BYTES:
                    self.checkpoint()
                next_sync = now + 1.0
        # Stopping: answer what is already queued, then make it durable.
        self._abort_tx()
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
        batch = []
        for m in msgs:
            if m[0] == COORD_IDENT:
                if batch:
                    self.run_batch(batch)
                    batch = []
                was_locked = self.locked
                self.on_coordinator(m)
                if was_locked and not self.locked and self.deferred:
                    batch, self.deferred = self.deferred, []
            elif self.locked:
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
        out = [[m[0], wire.pack((bid, r))] for m, (bid, r) in zip(msgs, replies)]
        if self.woken:
            out.extend(self._wakeups(self.woken))
            self.woken = []
        self.batches += len(msgs)
        events, self.events = self.events, []
        if self.writer is not None and (self.held or self.seq > self.writer.durable):
            # Under "always" replies wait until their batch is on disk, and leave
            # in order: a read also waits for the writes before it.
            self.held.append((self.seq, out, events))
            return
        self._publish(events)
        send = self.sock.send_multipart
        for frames in out:
            send(frames)

    def _publish(self, events: list) -> None:
        """Keyspace events of a committed batch, to the hub (which fans them out); a shard
        run in-process, not serving, has nobody to tell."""
        if events and self.hub is not None:
            self.hub.send(wire.pack([(NOTIFY, events)]))

    def _await_hub(self) -> None:
        """Before serving: the settings the hub holds now (a CONFIG SET made while this
        shard was down). The limits among them are kept with the data, outside any batch
        (nothing runs yet); later ones come inside batches (``__config``)."""
        if not self.hub.poll(HUB_WAIT_S * 1000):
            log.warning("shard %d: no answer from the pub/sub hub; serving with cluster.toml's "
                        "settings", self.index)
            return
        for op in wire.unpack(self.hub.recv()):
            if op[0] == CONFIG:
                self.store.apply_settings(op[2], op[1])
                if self.store.set_limits(op[2], op[1]):
                    self.store.sync()

    def _from_hub(self) -> None:
        """Shared settings from the hub: the answer to HELLO, or another's CONFIG SET."""
        while True:
            try:
                ops = wire.unpack(self.hub.recv(zmq.NOBLOCK))
            except zmq.Again:
                return
            for op in ops:
                if op[0] == CONFIG:
                    self.store.apply_settings(op[2], op[1])
                    if "loglevel" in op[1]:
                        logging.getLogger().setLevel(log_level(op[1]["loglevel"]))

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
            self._publish(events)
            for frames in out:
                send(frames)

    def _apply(self, payloads: list[bytes] | None, now: int, durable: bool,
               replay_seq: int | None = None, idents: list[bytes] | None = None,
               injections: list | None = None) -> list:
        """One write transaction over every message (``None``: an expiry sweep).

        Under ``always`` a batch that changed anything is appended to the
        write-ahead log and fsynced before this returns, so before any reply."""
        store = self.store
        batches = [wire.unpack(p) for p in payloads] if payloads is not None else None
        # The one test per batch: do notify-keyspace-events ask for anything? (Never
        # while replaying the log: those events were published before the crash, or
        # belong to replies nobody received.)
        flags = store.notify_flags
        notifying = self._notifying(flags) and replay_seq is None
        self.tables = self.notify_tables if notifying else self.plain_tables
        while True:
            v0 = store.version
            txn = store.env.begin(write=True)
            ks = NotifyingKeyspace(store, txn, now, flags) if notifying else \
                Keyspace(store, txn, now)
            self.woken = []
            self.injected = []
            self.wjournal = []
            try:
                if batches is None:
                    out = ks.sweep(SWEEP_LIMIT)
                elif injections is not None:
                    out = [(bid, self._run_replay(ks, cmds, [j for j in injections if j[0] == i]))
                           for i, (bid, cmds) in enumerate(batches)]
                else:
                    out = []
                    for i, (bid, cmds) in enumerate(batches):
                        self.cur_msg = i
                        self.cur_ident = idents[i] if idents is not None else b""
                        out.append((bid, self._run(ks, cmds)))
                changed = store.version != v0 or any(d[0] or d[1] for d in ks.delta.values())
                if changed:
                    ks.finish()
                    if durable:
                        txn.put(b"applied", _SEQ.pack(self.seq + 1), db=store.sys)
                if replay_seq is not None:
                    txn.put(b"applied", _SEQ.pack(replay_seq), db=store.sys)
                txn.commit()
            except lmdb.MapFullError:
                txn.abort()
                self._undo_waiters()
                store.grow()
                log.warning("shard %d: LMDB map full, grown to %d bytes", self.index,
                            store.env.info()["map_size"])
                continue
            except BaseException:
                txn.abort()
                raise
            break
        ks.committed()
        if notifying:
            self.events = notify.messages(flags, ks.events)
        if changed:
            store.dirty = True
            if durable:
                self.seq += 1
                self.writer.submit(self.seq, now, payloads, self.injected)
        return out

    def _open_wal(self) -> None:
        """Under ``always``: replay what the log holds beyond LMDB's state, then checkpoint."""
        self.wal = None
        self.writer: LogWriter | None = None
        self.held: collections.deque = collections.deque()
        self.seq = 0
        path = os.path.join(self.cfg.shard_dir(self.index), "wal.log")
        if self.cfg.durability != "always" and not os.path.exists(path):
            return
        wal = WriteAheadLog(path, self.table.names())
        raw = self.store.get_sys(b"applied")
        applied = _SEQ.unpack(raw)[0] if raw else 0
        replayed = 0
        logged, records = wal.read()
        # (the ids of the build that wrote the log, mapped to this table's by name)
        ids = Translation(self.table, logged, where=f"shard {self.index}: ")
        for seq, now, payloads, injected in records:
            if seq <= applied:
                continue
            # Each replayed transaction records its own seq: a crash during
            # replay resumes after it, never applies a batch twice.
            self._apply(ids.payloads(payloads), now, durable=False, replay_seq=seq,
                        injections=ids.injected(injected))
            applied = seq
            replayed += 1
        if replayed:
            log.info("shard %d: replayed %d batches from the write-ahead log", self.index, replayed)
        self.seq = applied  # numbering goes on from here, so the log never repeats a seq
        self.store.sync()
        wal.truncate()
        if self.cfg.durability == "always":
            self._start_log(wal)
        else:
            wal.close()
            os.unlink(path)

    def _start_log(self, wal: WriteAheadLog) -> None:
        """Log every batch that writes from here on (``always``), from ``self.seq``."""
        self.wal = wal
        self.notify_r, self.notify_w = os.pipe()
        os.set_blocking(self.notify_r, False)
        self.writer = LogWriter(wal, self.seq, self.notify_w)
        self.writer.start()
        # When an fsync returns, the writer needs the GIL back at once to release
        # the replies; CPython's default switch interval (5 ms) would hold them.
        sys.setswitchinterval(SWITCH_INTERVAL)

    def switch_durability(self) -> None:
        """CONFIG SET appendfsync (``store.durability``), between batches and outside a
        cross-shard transaction: into ``always``, LMDB is synced and a new log starts;
        out of it, the log is checkpointed, its held replies released and it is removed.
        everysec and no differ only in the serve loop's once-a-second sync."""
        want, was = self.store.durability, self.cfg.durability
        path = os.path.join(self.cfg.shard_dir(self.index), "wal.log")
        if was == "always":
            self.checkpoint()
            self.release()
            self.poller.unregister(self.notify_r)
            self.writer.stop()
            self.wal.close()
            os.unlink(path)
            os.close(self.notify_r)
            os.close(self.notify_w)
            self.writer = self.wal = None
        if want == "always":
            self.store.sync()
            wal = WriteAheadLog(path, self.table.names())
            wal.truncate()
            self._start_log(wal)
            self.poller.register(self.notify_r, zmq.POLLIN)  # (durable replies wake the loop)
        self.cfg.durability = want
        log.info("shard %d: durability %s (was %s)", self.index, want, was)

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
        replies = []
        append = replies.append
        if multi:
            outer, self.in_multi = self.in_multi, True
            try:
                return self._run(ks, cmds)
            finally:
                self.in_multi = outer
        self.commands += len(cmds)
        RAW, MASK = wire.RAW, wire.CMD_MASK
        for cid, db, args in cmds:
            raw = cid & RAW
            try:
                if cid < RAW:  # the common case: RESP2, no flag bits
                    append(resp2[cid](ks, db, args))
                else:
                    v = handlers[cid & MASK](ks, db, args)
                    if v is BLOCK:
                        append(self._park(ks, cid, db, args))
                    else:
                        append(wire.to_raw(v) if raw else encode3(v))
                if ks.ready and not self.in_multi:  # a write left a key with blocked clients non-empty
                    self._serve(ks, len(replies))
            except ReplyError as e:
                if raw:  # a part of a reply made elsewhere: counted there (INFO errorstats)
                    append(wire.to_raw(e))
                else:
                    append(encode_error(e.args[0]))
                    self.store.errors[errors.code_of(e.args[0])] += 1
            except lmdb.MapFullError:
                raise
            except Exception as e:  # a bug must not take the shard down
                log.error("shard %d: %s failed: %s", self.index, args[:1],
                          traceback.format_exc())
                err = ReplyError(f"ERR internal error in '{self.names[cid & MASK]}': {e}")
                append(wire.to_raw(err) if raw else encode_error(err.args[0]))
                if not raw:
                    self.store.errors["ERR"] += 1
        return replies

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
            self._uncount(items)
            if not ok:
                self.injected.append((self.cur_msg, -1, -1, 0, [token]))
                return None
        return self._run(ks, cmds, multi=True)  # (RAW: the router writes the array around them)

    def _readywait(self, ks: Keyspace, db: int, args: list):
        """The coordinator's stand-in for a client blocked on keys over several shards:
        a waiter on this shard's keys (args: the type they must hold, the keys) that,
        served, only says so, naming the key (``__ready``)."""
        w = self.waiters.add(COORD_IDENT, self.ready_id | wire.RAW, db, [b"__ready"], args[2:], 0,
                             None, int(args[1]), lambda key: [b"__ready", key])
        self.wjournal.append((True, w))
        return w.wid

    def _router_alive(self, ident: bytes) -> bool:
        """``wire.router_alive``, asked at most every ALIVE_CHECK_S per router (serving a
        waiter is on the path of every push to a key with blocked clients)."""
        now = time.monotonic()
        checked = self.alive_checked.get(ident)
        if checked is not None and now - checked < ALIVE_CHECK_S:
            return True
        if not wire.router_alive(ident):
            self.alive_checked.pop(ident, None)
            return False
        self.alive_checked[ident] = now
        return True

    def _watch(self, ks: Keyspace, db: int, args: list):
        c = self.watchers.get(self.cur_ident)
        if c is None:
            c = self.watchers[self.cur_ident] = collections.Counter()
        for key in args[1:]:
            c[(db, key)] += 1
        return self.family_watch(ks, db, args)

    def _unwatch(self, ks: Keyspace, db: int, args: list):
        self._uncount(wire.unpack(args[1]))
        return self.family_unwatch(ks, db, args)

    def _uncount(self, items) -> None:
        """The current router's clients unwatched these (db, key)."""
        c = self.watchers.get(self.cur_ident)
        if c is None:
            return
        for wdb, key in items:
            n = c[(wdb, key)] - 1
            if n > 0:
                c[(wdb, key)] = n
            else:
                c.pop((wdb, key), None)
        if not c:
            del self.watchers[self.cur_ident]

    def forget_dead_routers(self) -> None:
        """Drop the WATCHes of the clients of routers that died (nobody would UNWATCH
        them: the keys would stay watched, and keep their tombs, for good)."""
        for ident in [i for i in self.watchers if not wire.router_alive(i)]:
            self.store.unwatch(list(self.watchers.pop(ident).elements()))

    def _unreserve(self, ks: Keyspace, db: int, args: list):
        """The stand-ins named have had their turn: the waiters behind them on their keys
        may take what is left (served when this batch or transaction ends)."""
        for a in args[1:]:
            entry = self.reserved.pop(int(a), None)
            if entry is not None and ks.lookup(entry[0], entry[1]) is not None:
                ks.ready.append((entry[0], entry[1]))
        return None

    def release_reserved(self) -> None:
        """Keys held for the coordinator longer than RESERVE_S (it restarted, or lost the
        command): free them, as a batch of this shard's own."""
        now = time.monotonic()
        late = [b"%d" % wid for wid, (_, _, deadline) in self.reserved.items() if deadline <= now]
        if late:
            self.run_batch([[b"", wire.pack((0, [(self.unreserve_id, 0, [b"__unreserve"] + late)]))]])

    def on_coordinator(self, m: list[bytes]) -> None:
        """One message of the coordinator's protocol (shardis/coord/coordinator.py):

        - ``run txid now cmds``: run commands in transaction txid, opening it (and
          locking this shard) on its first message; answers their replies;
        - ``runcommit txid now cmds``: ``run`` and ``commit`` in one (a round of one
          step that writes); answers the replies once durable;
        - ``commit txid``: mark txid applied, commit; answers once durable. The shard
          stays locked until ``unlock``, so no reader sees one shard's part committed
          before every shard has committed its own;
        - ``abort txid``: roll back and unlock;
        - ``release txid``: the end of a read-only transaction: commit what reads did
          by the way (lazy expiry), without a mark or a log record, and unlock;
        - ``hello``: roll back whatever is open and lock; answers the last txid
          committed here (a coordinator that starts recovers with it);
        - ``redo txid now cmds``: apply a logged transaction again, unless it already
          was (its mark), and answer like ``commit``."""
        ident = m[0]
        op, txid, *rest = wire.unpack(m[-1])
        if op == "run":
            reply = self._tx_run(txid, rest[0], rest[1])
        elif op == "runcommit":
            replies = self._tx_run(txid, rest[0], rest[1])
            self._tx_commit(ident, self.tx, replies)
            return
        elif op == "commit":
            tx = self.tx
            if tx is None or tx.txid != txid:
                reply = "no such transaction"
            else:
                self._tx_commit(ident, tx)
                return
        elif op == "unlock":
            self.locked = False
            return
        elif op == "release":
            self._release_tx()
            self.locked = False
            return
        elif op == "abort":
            self._abort_tx()
            self.locked = False
            reply = None
        elif op == "hello":
            self._abort_tx()
            self.locked = True
            # A new coordinator knows nothing of the blocked commands of the last one.
            self.reserved = {wid: (db, key, 0.0) for wid, (db, key, _) in self.reserved.items()}
            raw = self.store.get_sys(TXMARK)
            reply = int.from_bytes(raw, "big") if raw else 0
        elif op == "redo":
            self._abort_tx()
            self.locked = True
            raw = self.store.get_sys(TXMARK)
            if raw is not None and int.from_bytes(raw, "big") >= txid:
                reply = 0  # applied before the crash
            else:
                self._tx_run(txid, rest[0], rest[1])
                self._tx_commit(ident, self.tx)
                return
        else:
            reply = f"unknown operation {op!r}"
        self.sock.send_multipart([ident, wire.pack([txid, reply])])

    @staticmethod
    def _notifying(flags: int) -> bool:
        """Whether notify-keyspace-events asks for any event at all."""
        both = notify.NOTIFY_KEYSPACE | notify.NOTIFY_KEYEVENT
        return bool(flags & both and flags & ~both)

    def _tx_begin(self, tx: Tx) -> None:
        tx.txn = self.store.env.begin(write=True)
        flags = self.store.notify_flags
        if self._notifying(flags):
            self.tables = self.notify_tables
            tx.ks = NotifyingKeyspace(self.store, tx.txn, tx.now, flags)
        else:
            self.tables = self.plain_tables
            tx.ks = Keyspace(self.store, tx.txn, tx.now)
        tx.v0 = self.store.version
        self.woken = []
        self.injected = []
        self.wjournal = []

    def _tx_run(self, txid: int, now: int, cmds: list) -> list:
        tx = self.tx
        if tx is None or tx.txid != txid:
            self._abort_tx()
            tx = self.tx = Tx(txid, now)
            self._tx_begin(tx)
            self.locked = True
        while True:
            try:
                replies = self._run(tx.ks, cmds, multi=True)
                break
            except lmdb.MapFullError:
                self._tx_grow(tx)
        tx.log.extend(cmds)
        return replies

    def _tx_grow(self, tx: Tx) -> None:
        """The map filled up: roll back, grow, and run what the transaction ran so far."""
        while True:
            tx.txn.abort()
            self._undo_waiters()
            self.store.grow()
            self._tx_begin(tx)
            try:
                self._run(tx.ks, tx.log, multi=True)
                return
            except lmdb.MapFullError:
                continue

    def _tx_commit(self, ident: bytes, tx: Tx, answer=1) -> None:
        store = self.store
        durable = self.writer is not None
        mark = [self.txmark_id, 0, [b"__txmark", b"%d" % tx.txid]]
        while True:
            ks = tx.ks
            try:
                if ks.ready:  # blocked clients that the transaction's pushes can serve
                    self.cur_msg = 0
                    self._serve(ks, len(tx.log))
                self._run(ks, [mark], multi=True)
                ks.finish()
                if durable:
                    tx.txn.put(b"applied", _SEQ.pack(self.seq + 1), db=store.sys)
                tx.txn.commit()
                break
            except lmdb.MapFullError:
                self._tx_grow(tx)
        ks.committed()
        store.dirty = True
        self.tx = None
        if durable:
            self.seq += 1
            self.writer.submit(self.seq, tx.now, [wire.pack((0, tx.log + [mark]))], self.injected)
        out = [[ident, wire.pack([tx.txid, answer])]]
        if self.woken:
            out.extend(self._wakeups(self.woken))
            self.woken = []
        events = self._tx_events(ks)
        if durable and (self.held or self.seq > self.writer.durable):
            self.held.append((self.seq, out, events))
            return
        for frames in out:
            self.sock.send_multipart(frames)
        self._publish(events)

    def _tx_events(self, ks: Keyspace) -> list:
        """The keyspace events of a committed cross-shard transaction's part."""
        if isinstance(ks, NotifyingKeyspace):
            return notify.messages(ks.flags, ks.events)
        return []

    def _release_tx(self) -> None:
        tx = self.tx
        if tx is None:
            return
        self.tx = None
        try:
            tx.ks.finish()
            tx.txn.commit()
        except lmdb.MapFullError:
            tx.txn.abort()  # only lazy expiry to lose: the sweep does it later
            return
        tx.ks.committed()
        self._publish(self._tx_events(tx.ks))
        self.store.dirty = True

    def _abort_tx(self) -> None:
        if self.tx is not None:
            self.tx.txn.abort()
            self._undo_waiters()
            self.tx = None

    # ------------------------------------------------------------ blocking commands

    def _blocking_resp2(self, cid: int, handler):
        def run(ks, db, args):
            v = handler(ks, db, args)
            if v is BLOCK:
                return self._park(ks, cid, db, args)
            return encode(v)
        return run

    def _park(self, ks: Keyspace, cid: int, db: int, args: list) -> bytes:
        """Register the client of a blocking command that found nothing; the deferred reply."""
        wait, ks.block = ks.block, None
        if self.in_multi:  # inside a transaction nothing waits: the timeout's answer now
            return self._encode_for(cid, wait.on_timeout)
        w = self.waiters.add(self.cur_ident, cid, db, args, wait.keys, wait.deadline,
                             wait.on_timeout, wait.want, wait.narrow)
        self.wjournal.append((True, w))
        return DEFERRED + w.wid.to_bytes(8, "big")

    def _serve(self, ks: Keyspace, done: int) -> None:
        """Serve the waiters of the keys a command left non-empty, oldest first; each one
        served is run again right here (and logged at this place for a replay)."""
        handlers = self.tables[0]
        MASK = wire.CMD_MASK
        reserved = self.reserved
        while ks.ready:
            db, key = ks.ready.pop(0)
            if reserved and any(r[0] == db and r[1] == key for r in reserved.values()):
                continue  # held for a blocked client of the coordinator's
            for w in self.waiters.first(db, key):
                raw = ks.lookup(db, key)
                if raw is None:
                    break  # emptied by the waiters before
                if raw[0] != w.want:
                    # Blocked for another type (a transaction's ZADD k; DEL k; SET k, a
                    # SWAPDB): it waits on, as in Redis; the next may want this one.
                    continue
                if w.ident != self.cur_ident and not self._router_alive(w.ident):
                    # Its router died with the client: nobody would get what it takes.
                    self.waiters.remove(w.wid)
                    continue
                args = w.serving(key)  # (from this key only, as Redis serves it)
                try:
                    v = handlers[w.cid & MASK](ks, w.db, args)
                except ReplyError as e:
                    v = e
                    self.store.errors[errors.code_of(e.args[0])] += 1
                except lmdb.MapFullError:
                    raise
                except Exception as e:  # a bug: this waiter gets an error, the batch goes on
                    log.error("shard %d: serving %s failed: %s", self.index, args[:1],
                              traceback.format_exc())
                    v = ReplyError(f"ERR internal error in '{self.names[w.cid & MASK]}': {e}")
                if v is BLOCK:  # an earlier waiter took what there was
                    ks.block = None
                    break
                self.waiters.remove(w.wid)
                self.wjournal.append((False, w))
                self.injected.append((self.cur_msg, done, w.cid, w.db, args))
                self.woken.append((w.ident, w.wid, self._encode_for(w.cid, v)))
                if w.cid & MASK == self.ready_id:
                    # A client blocked over several shards came first: the key is its
                    # until the coordinator has run its command (arrival order).
                    self.reserved[w.wid] = (db, key, time.monotonic() + RESERVE_S)
                    break

    @staticmethod
    def _encode_for(cid: int, v):
        if cid & wire.RAW:
            return wire.to_raw(v)
        if isinstance(v, ReplyError):
            return encode_error(v.args[0])
        return encode3(v) if cid & wire.RESP3 else encode(v)

    def _undo_waiters(self) -> None:
        """A transaction aborted (map full; it is run again): forget its parks, put its
        served waiters back at the head of their queues."""
        for parked, w in reversed(self.wjournal):
            if parked:
                self.waiters.remove(w.wid)
            else:
                self.waiters.restore(w)
        self.wjournal = []
        self.woken = []
        self.injected = []

    def _wakeups(self, woken: list) -> list:
        """One unsolicited message per router: [0, [[waiter id, reply], ...]]."""
        by_router: dict[bytes, list] = {}
        for ident, wid, reply in woken:
            by_router.setdefault(ident, []).append((wid, reply))
        return [[ident, wire.pack((0, items))] for ident, items in by_router.items()]

    def expire_waiters(self) -> None:
        """Answer the waiters whose timeout has passed (nil, as Redis)."""
        gone = self.waiters.expired(time.time_ns() // 1_000_000)
        if gone:
            frames = self._wakeups([(w.ident, w.wid, self._encode_for(w.cid, w.on_timeout))
                                    for w in gone])
            if self.writer is not None and self.held:
                # behind the held replies (a deferred reply among them may be this waiter's)
                self.held.append((self.seq, frames, []))
                return
            for f in frames:
                self.sock.send_multipart(f)

    def unblock(self, wid: int) -> None:
        """The client went away (router: ``__unblock``)."""
        self.waiters.remove(wid)

    def _run_replay(self, ks: Keyspace, cmds: list, injections: list) -> list:
        """A logged message run again after a crash: the same commands, and the waiters
        served after the same commands; the replies go nowhere."""
        at: dict[int, list] = {}
        aborted = set()
        for _, done, cid, db, args in injections:
            if cid == -1:
                aborted.add(args[0])  # an EXEC that WATCH aborted (see _exec)
            else:
                at.setdefault(done, []).append((cid, db, args))
        self.replay_aborted = aborted
        try:
            self._replay_cmds(ks, cmds, at)
        finally:
            self.replay_aborted = None
        return []

    def _replay_cmds(self, ks: Keyspace, cmds: list, at: dict) -> None:
        handlers = self.handlers
        MASK = wire.CMD_MASK
        for n, (cid, db, args) in enumerate(cmds, 1):
            for c, d, a in ([(cid, db, args)] + at.get(n, []) if n in at else [(cid, db, args)]):
                try:
                    handlers[c & MASK](ks, d, a)
                except ReplyError:
                    pass
                ks.block = None
            ks.ready.clear()

    def sweep(self) -> None:
        """Active expiry: delete keys whose TTL has passed, a bounded number per round."""
        while True:
            n = self._apply(None, time.time_ns() // 1_000_000, durable=self.writer is not None)
            events, self.events = self.events, []
            if self.writer is not None and self.held:
                self.held.append((self.seq, [], events))  # after the events held before
            else:
                self._publish(events)
            if n < SWEEP_LIMIT:
                return

    # ------------------------------------------------------------ handler tables

    def _resp2_table(self, handlers: list, fast: bool) -> list:
        """RESP2 reply bytes straight from the handler: the hot commands' own fast path
        (``fast``), else the handler's value encoded; blocking commands park the client."""
        table = []
        for spec, handler in zip(self.table.by_id, handlers):
            if "blocking" in spec.flags and handler is not None:
                table.append(self._blocking_resp2(spec.id, handler))
            else:
                table.append(spec.resp2 if fast and spec.resp2 else _encoded(handler))
        return table

    def _notifying_tables(self) -> tuple[list, list]:
        """The handlers for batches with notifications: no fast paths (they report no
        events), and the commands Redis reads keys for marked as reading ("keymiss")."""
        handlers = [_reading(spec.handler) if _reads(spec) else spec.handler
                    for spec in self.table.by_id]
        return handlers, self._resp2_table(handlers, fast=False)


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

    def stop(*_):
        shard.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    shard.serve()
