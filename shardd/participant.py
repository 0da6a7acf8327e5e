"""This shard's part in the coordinator's cross-shard transactions
(shardis/coord/coordinator.py; the messages are shardis/messages.py's ``TxMessage``).

A transaction's LMDB write transaction stays open across the coordinator's messages,
and while it does the shard is ``locked``: the routers' messages wait
(``Shard.dispatch``). Its commit records a mark (``__txmark``, the transaction's id)
in the same LMDB transaction, and, under ``always``, one log record of every command
it ran, so that a replay and the coordinator's recovery see it applied exactly once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import lmdb

from shardis import notify
from shardis.messages import (Abort, Batch, Commit, Hello, Redo, Release, Run, RunCommit, TxMessage,
                              TxReply, UnknownMessage, Unlock, decode_tx)
from shardis.shardd.storage import Keyspace, NotifyingKeyspace
from shardis.shardd.waiting import wakeups
from shardis.shardd.disk.sysdb import APPLIED, TXMARK, unpack_u64
from shardis.shardd.wal import SEQ

if TYPE_CHECKING:
    from shardis.shardd.daemon import Shard


class Tx:
    """A cross-shard transaction open on this shard: its LMDB write transaction stays
    open across the coordinator's messages, and the shard runs nothing else."""

    __slots__ = ("txid", "now", "txn", "ks", "log", "v0")
    txn: lmdb.Transaction  # (both set by Participant.begin)
    ks: Keyspace

    def __init__(self, txid: int, now: int) -> None:
        self.txid = txid
        self.now = now
        self.log: list = []  # every command run in it, in order: the replay record
        self.v0 = 0


class Participant:
    """The coordinator's messages to this shard, each run by the method its kind maps
    to (``handlers``); all but Unlock and Release are answered with a ``TxReply``."""

    def __init__(self, shard: Shard) -> None:
        self.shard = shard
        self.tx: Tx | None = None
        self.txmark_id = shard.table.by_name[b"__txmark"].id
        self.handlers: dict[type[TxMessage], Callable[[bytes, Any], None]] = {
            Run: self.on_run, RunCommit: self.on_runcommit, Commit: self.on_commit,
            Unlock: self.on_unlock, Release: self.on_release, Abort: self.on_abort,
            Hello: self.on_hello, Redo: self.on_redo,
        }

    def on_message(self, m: list[bytes]) -> None:
        """One frame of the coordinator's (``m``: [its identity, ..., the message])."""
        ident = m[0]
        try:
            msg = decode_tx(m[-1])
        except UnknownMessage as e:
            self.answer(ident, e.txid, e.args[0])
            return
        self.handlers[type(msg)](ident, msg)

    def answer(self, ident: bytes, txid: int, reply: object) -> None:
        self.shard.sock.send_multipart([ident, TxReply(txid, reply).encode()])

    # ------------------------------------------------------------ the messages

    def on_run(self, ident: bytes, msg: Run) -> None:
        self.answer(ident, msg.txid, self.run(msg.txid, msg.now, msg.cmds))

    def on_runcommit(self, ident: bytes, msg: RunCommit) -> None:
        replies = self.run(msg.txid, msg.now, msg.cmds)
        assert self.tx is not None
        self.commit(ident, self.tx, replies)

    def on_commit(self, ident: bytes, msg: Commit) -> None:
        tx = self.tx
        if tx is None or tx.txid != msg.txid:
            self.answer(ident, msg.txid, "no such transaction")
        else:
            self.commit(ident, tx)

    def on_unlock(self, ident: bytes, msg: Unlock) -> None:
        self.shard.locked = False

    def on_release(self, ident: bytes, msg: Release) -> None:
        self.release()
        self.shard.locked = False

    def on_abort(self, ident: bytes, msg: Abort) -> None:
        self.abort()
        self.shard.locked = False
        self.answer(ident, msg.txid, None)

    def on_hello(self, ident: bytes, msg: Hello) -> None:
        shard = self.shard
        self.abort()
        shard.locked = True
        shard.blocked.forget_reservations()
        raw = shard.store.get_sys(TXMARK)
        self.answer(ident, msg.txid, unpack_u64(raw) if raw else 0)

    def on_redo(self, ident: bytes, msg: Redo) -> None:
        shard = self.shard
        self.abort()
        shard.locked = True
        raw = shard.store.get_sys(TXMARK)
        if raw is not None and unpack_u64(raw) >= msg.txid:
            self.answer(ident, msg.txid, 0)  # applied before the crash
            return
        self.run(msg.txid, msg.now, msg.cmds)
        assert self.tx is not None
        self.commit(ident, self.tx)

    # ------------------------------------------------------------ the transaction

    def begin(self, tx: Tx) -> None:
        shard = self.shard
        tx.txn = shard.store.env.begin(write=True)
        flags = shard.context.notify_flags
        if shard.notifying(flags):
            shard.tables = shard.notify_tables
            tx.ks = NotifyingKeyspace(shard.store, tx.txn, tx.now, flags)
        else:
            shard.tables = shard.plain_tables
            tx.ks = Keyspace(shard.store, tx.txn, tx.now)
        tx.v0 = shard.store.version
        shard.woken = []
        shard.injected = []
        shard.wjournal = []

    def run(self, txid: int, now: int, cmds: list) -> list:
        tx = self.tx
        if tx is None or tx.txid != txid:
            self.abort()
            tx = self.tx = Tx(txid, now)
            self.begin(tx)
            self.shard.locked = True
        while True:
            try:
                replies = self.shard._run(tx.ks, cmds, multi=True)
                break
            except lmdb.MapFullError:
                self.grow(tx)
        tx.log.extend(cmds)
        return replies

    def grow(self, tx: Tx) -> None:
        """The map filled up: roll back, grow, and run what the transaction ran so far."""
        shard = self.shard
        while True:
            tx.txn.abort()
            shard.blocked.undo()
            shard.store.grow()
            self.begin(tx)
            try:
                shard._run(tx.ks, tx.log, multi=True)
                return
            except lmdb.MapFullError:
                continue

    def commit(self, ident: bytes, tx: Tx, answer: object = 1) -> None:
        shard = self.shard
        store = shard.store
        writer = shard.writer
        mark = [self.txmark_id, 0, [b"__txmark", b"%d" % tx.txid]]
        while True:
            ks = tx.ks
            try:
                if ks.ready:  # blocked clients that the transaction's pushes can serve
                    shard.cur_msg = 0
                    shard.blocked.serve(ks, len(tx.log))
                shard._run(ks, [mark], multi=True)
                ks.finish()
                if writer is not None:
                    tx.txn.put(APPLIED, SEQ.pack(shard.seq + 1), db=store.sys)
                tx.txn.commit()
                break
            except lmdb.MapFullError:
                self.grow(tx)
        ks.committed()
        shard.evictor.after(ks)
        store.dirty = True
        self.tx = None
        if writer is not None:
            shard.seq += 1
            writer.submit(shard.seq, tx.now, [Batch(0, tx.log + [mark]).encode()], shard.injected)
        out = [[ident, TxReply(tx.txid, answer).encode()]]
        if shard.woken:
            out.extend(wakeups(shard.woken))
            shard.woken = []
        events = self.events(ks)
        if writer is not None and (shard.held or shard.seq > writer.durable):
            shard.held.append((shard.seq, out, events))
            return
        for frames in out:
            shard.sock.send_multipart(frames)
        shard.publish(events)

    @staticmethod
    def events(ks: Keyspace) -> list:
        """The keyspace events of a committed cross-shard transaction's part."""
        if isinstance(ks, NotifyingKeyspace):
            return notify.messages(ks.flags, ks.events)
        return []

    def release(self) -> None:
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
        self.shard.evictor.after(tx.ks)
        self.shard.publish(self.events(tx.ks))
        self.shard.store.dirty = True

    def abort(self) -> None:
        if self.tx is not None:
            self.tx.txn.abort()
            self.shard.blocked.undo()
            self.tx = None
