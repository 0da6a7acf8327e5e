"""The shard daemon's loop: drain every waiting batch, run them in one LMDB write
transaction (group commit), commit (fsync first under ``durability = "always"``),
then answer each sender."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
import traceback

import lmdb
import zmq

from shardis import wire
from shardis.commands import build_table
from shardis.config import Config
from shardis.resp import ReplyError, encode, encode_error
from shardd.storage import Keyspace, Store

log = logging.getLogger("shardd")

SWEEP_LIMIT = 1000


class Shard:
    """One shard: its store, its socket, its command handlers."""

    def __init__(self, cfg: Config, index: int) -> None:
        self.cfg = cfg
        self.index = index
        os.makedirs(cfg.shard_dir(index), exist_ok=True)
        self.store = Store(cfg.shard_dir(index), cfg.durability, cfg.map_size)
        self.table = build_table()
        self.handlers = [spec.handler for spec in self.table.by_id]
        self.names = [spec.name for spec in self.table.by_id]
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 1000)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.setsockopt(zmq.RCVHWM, 0)
        self.stopping = False
        self.commands = 0
        self.batches = 0
        self.started = time.time()
        self._check_slotmap()

    def _check_slotmap(self) -> None:
        """The slot table is stored with the data; a different one means resharding."""
        want = json.dumps({"shards": self.cfg.shards, "index": self.index}).encode()
        have = self.store.get_sys(b"slotmap")
        if have is None:
            self.store.put_sys(b"slotmap", want)
        elif have != want:
            raise SystemExit(f"shard {self.index}: data in {self.store.path} was written as "
                             f"{have.decode()}, not {want.decode()}; run shardis-reshard")

    def serve(self) -> None:
        self.sock.bind(self.cfg.shard_endpoint(self.index))
        log.info("shard %d ready on %s", self.index, self.cfg.shard_endpoint(self.index))
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        sweep_every = self.cfg.expiry_sweep_ms / 1000.0
        next_sweep = time.monotonic() + sweep_every
        next_sync = time.monotonic() + 1.0
        everysec = self.cfg.durability == "everysec"
        recv = self.sock.recv_multipart
        while not self.stopping:
            now = time.monotonic()
            timeout = max(0.0, min(next_sweep, next_sync) - now)
            if poller.poll(timeout * 1000):
                msgs = []
                try:
                    while True:
                        msgs.append(recv(zmq.NOBLOCK))
                except zmq.Again:
                    pass
                if msgs:
                    self.run_batch(msgs)
            now = time.monotonic()
            if now >= next_sweep:
                self.sweep()
                next_sweep = now + sweep_every
            if now >= next_sync:
                if everysec and self.store.dirty:
                    self.store.sync()
                next_sync = now + 1.0
        # Stopping: answer what is already queued, then make it durable.
        try:
            while True:
                msgs = [recv(zmq.NOBLOCK)]
                self.run_batch(msgs)
        except zmq.Again:
            pass
        log.info("shard %d: %d commands in %d batches", self.index, self.commands, self.batches)
        self.store.close()
        self.sock.close(linger=1000)
        self.ctx.term()
        log.info("shard %d stopped", self.index)

    def run_batch(self, msgs: list[list[bytes]]) -> None:
        """Run every command of every message in one write transaction, then reply."""
        batches = [(m[0], wire.unpack(m[-1])) for m in msgs]
        store = self.store
        while True:
            v0 = store.version
            txn = store.env.begin(write=True)
            ks = Keyspace(store, txn, time.time_ns() // 1_000_000)
            try:
                out = [(ident, wire.pack([bid, self._run(ks, cmds)])) for ident, (bid, cmds) in batches]
                ks.finish()
                txn.commit()
            except lmdb.MapFullError:
                txn.abort()
                store.grow()
                log.warning("shard %d: LMDB map full, grown to %d bytes", self.index,
                            store.env.info()["map_size"])
                continue
            except BaseException:
                txn.abort()
                raise
            break
        ks.committed()
        if store.version != v0:
            store.dirty = True
        send = self.sock.send_multipart
        for ident, payload in out:
            send([ident, payload])
        self.batches += len(out)

    def _run(self, ks: Keyspace, cmds: list) -> list:
        handlers = self.handlers
        replies = []
        append = replies.append
        self.commands += len(cmds)
        for cid, db, args in cmds:
            raw = cid & wire.RAW
            try:
                v = handlers[cid & wire.CMD_MASK](ks, db, args)
                append(wire.to_raw(v) if raw else encode(v))
            except ReplyError as e:
                append(wire.to_raw(e) if raw else encode_error(e.args[0]))
            except lmdb.MapFullError:
                raise
            except Exception as e:  # a bug must not take the shard down
                log.error("shard %d: %s failed: %s", self.index, args[:1],
                          traceback.format_exc())
                err = ReplyError(f"ERR internal error in '{self.names[cid & wire.CMD_MASK]}': {e}")
                append(wire.to_raw(err) if raw else encode_error(err.args[0]))
        return replies

    def sweep(self) -> None:
        """Active expiry: delete keys whose TTL has passed, a bounded number per round."""
        store = self.store
        while True:
            txn = store.env.begin(write=True)
            ks = Keyspace(store, txn, time.time_ns() // 1_000_000)
            try:
                n = ks.sweep(SWEEP_LIMIT)
                ks.finish()
                txn.commit()
            except lmdb.MapFullError:
                txn.abort()
                store.grow()
                continue
            ks.committed()
            if n:
                store.dirty = True
            if n < SWEEP_LIMIT:
                return


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="shardd")
    ap.add_argument("--config-json", required=True)
    ap.add_argument("--index", type=int, required=True)
    a = ap.parse_args(argv)
    cfg = Config(**json.loads(a.config_json))
    logging.basicConfig(level=logging.DEBUG if cfg.loglevel == "debug" else logging.INFO,
                        format=f"%(asctime)s shard-{a.index} %(levelname)s %(message)s",
                        stream=sys.stderr)
    shard = Shard(cfg, a.index)

    def stop(*_):
        shard.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    shard.serve()
