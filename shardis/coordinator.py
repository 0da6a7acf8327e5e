"""The coordinator actor: one process that runs every command whose keys span shards.

It owns a ROUTER socket that routers reach, and one DEALER per shard. It runs
one request at a time, so every shard sees the cross-shard steps in one
order. A cross-shard operation is a function ``op(coord, db, args) -> reply
value`` that calls shards through ``coord.call``; the operations are listed in
``CROSS_SHARD`` by each family's ``register_cross(ops)`` (called explicitly in
``build_ops``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import signal
import sys
import threading
import traceback
from typing import Callable

import zmq

from shardis import errors, wire
from shardis.commands import build_table
from shardis.config import Config
from shardis.pubsub import Hub
from shardis.resp import ReplyError, encode_error
from shardis.resp import encode as encode2, encode3
from shardis.slots import key_slot, slot_table

log = logging.getLogger("coordinator")

CALL_TIMEOUT_MS = 30_000


class Coordinator:
    """Serialises cross-shard commands; see the module docstring."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.table = build_table()
        self.ops = build_ops()
        self.slot_to_shard = slot_table(cfg.shards)
        self.ctx = zmq.Context()
        self.front = self.ctx.socket(zmq.ROUTER)
        self.front.setsockopt(zmq.LINGER, 1000)
        self.shards = []
        for i in range(cfg.shards):
            s = self.ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(cfg.shard_endpoint(i))
            self.shards.append(s)
        self.ids = itertools.count(1)
        self.stopping = False

    def shard_of(self, key: bytes) -> int:
        return self.slot_to_shard[key_slot(key)]

    def call(self, shard: int, db: int, *args: bytes):
        """Run one command on one shard and return its reply value (errors raised)."""
        name = args[0]
        spec = self.table.lookup(name if isinstance(name, bytes) else name.encode())
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        bid = next(self.ids)
        sock = self.shards[shard]
        sock.send(wire.pack((bid, [(spec.id | wire.RAW, db, argv)])))
        while True:
            if not sock.poll(CALL_TIMEOUT_MS):
                raise ReplyError(errors.SHARD_DOWN % shard)
            rbid, replies = wire.unpack(sock.recv())
            if rbid == bid:
                break
        v = wire.from_raw(replies[0])
        if isinstance(v, ReplyError):
            raise v
        return v

    def serve(self) -> None:
        self.front.bind(self.cfg.coordinator_endpoint())
        log.info("coordinator ready on %s", self.cfg.coordinator_endpoint())
        while not self.stopping:
            if not self.front.poll(200):
                continue
            ident, payload = self.front.recv_multipart()
            rid, cid, db, args = wire.unpack(payload)
            spec = self.table.by_id[cid & wire.CMD_MASK]
            encode = encode3 if cid & wire.RESP3 else encode2
            op = self.ops.get(spec.name)
            try:
                if op is None:
                    raise ReplyError(f"ERR '{spec.name}' cannot run across shards")
                reply = encode(op(self, db, args))
            except ReplyError as e:
                reply = encode_error(e.args[0])
            except Exception as e:
                log.error("coordinator: %s failed: %s", spec.name, traceback.format_exc())
                reply = encode_error(f"ERR internal error in '{spec.name}': {e}")
            self.front.send_multipart([ident, wire.pack((rid, reply))])
        self.front.close()
        for s in self.shards:
            s.close()
        self.ctx.term()


def build_ops() -> dict[str, Callable]:
    """Every family's cross-shard operations, registered explicitly in one place."""
    from shardd import keys, strings

    ops: dict[str, Callable] = {}
    for family in (strings, keys):
        reg = getattr(family, "register_cross", None)
        if reg is not None:
            reg(ops)
    return ops


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="shardis-coordinator")
    ap.add_argument("--config-json", required=True)
    a = ap.parse_args(argv)
    cfg = Config(**json.loads(a.config_json))
    logging.basicConfig(level=logging.DEBUG if cfg.loglevel == "debug" else logging.INFO,
                        format="%(asctime)s coordinator %(levelname)s %(message)s", stream=sys.stderr)
    coord = Coordinator(cfg)

    def stop(*_):
        coord.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # The pub/sub hub: its own socket and thread; coord.serve's ctx.term() ends it.
    threading.Thread(target=Hub(cfg, coord.ctx).run, name="pubsub-hub", daemon=True).start()
    coord.serve()


if __name__ == "__main__":
    main()
