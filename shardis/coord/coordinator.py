"""The coordinator actor: one process that runs all work whose keys span shards.

Routers send it multi-key commands whose keys lie on several shards (MSET, MGET,
DEL, RENAME ...) and transactions (EXEC) that touch several shards. It serves
them in *rounds*: every request waiting when a round starts joins it, and a
round is one cross-shard transaction:

1. ``run``: commands go to the shards involved, one message per shard per step.
   A shard opens an LMDB write transaction on its first ``run`` and from then on
   runs nothing but this round's messages (routers' messages wait), so nothing
   interleaves with the round on any of its shards (two-phase locking; a single
   coordinator cannot deadlock). Consecutive commands for one shard travel in one
   message.
2. When every step is done and something was written, the *intent* (per shard,
   the commands it ran, in order, and the clock they ran at) is appended to the
   coordinator's log (fsynced under ``always``), then ``commit`` goes to every
   shard. A shard commits its part with a mark (the round's txid) in the same LMDB
   transaction, and stays locked.
3. Once every shard has committed, ``unlock`` goes to all, the intent is marked
   done, and the clients get their replies.

A read-only round skips 2: ``release`` commits what its reads did by the way
(lazy expiry) and unlocks.

Crashes: a round that dies before its intent is logged leaves nothing (the open
LMDB transactions die or are rolled back). After the intent is logged, the round
is finished by *redo*: commands run on a shard are deterministic given its state
and clock, and a locked shard's state cannot move, so a shard that has no mark for
the txid runs the logged commands again (``redo``). A shard starts fenced (locked)
and waits for the coordinator's ``hello``; a coordinator that starts says hello to
every shard (which rolls back anything open), redoes the pending intent where its
mark is missing, then unlocks them all.

Liveness: slow is not dead. A shard is taken to be gone only when its process is:
its ZeroMQ connection drops (the kernel closes a dead process' socket, and the
socket monitor reports it) or comes back (the supervisor restarted it). However
long a shard works on a round's commands (a KEYS over millions of keys, a SORT of
a million elements, a stopped process), the coordinator waits for its answer,
logging the wait at doubling intervals from SLOW_REPORT_S on, and never redoes or
fails a round on a shard whose process runs. A redo goes only to a shard that
restarted, once it is back. A round holds only its own shards: the others keep
serving their routers.

Multi-key operations that need data from one shard to write another (RENAME,
COPY, MSETNX, LCS ...) are functions ``op(coord, db, args) -> reply value`` that
call shards through ``coord.call`` inside the round; they are listed in
``build_ops``.

Here: rounds, waiting for shards and serving routers. How requests are cut into
per-shard parts and their replies merged is the planner's (planner.py, no sockets);
the intent log is intents.py; which way a command goes is its spec's ``cross``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import signal
import struct
import sys
import threading
import time
import traceback
from typing import Any, cast

import zmq

from shardis import errors, hubproto, wire
from shardis.commands import ALL, CROSS_CANCEL, CROSS_EXEC, INTERNAL, CommandSpec, CommandTable, CrossOp
from shardis.config import Config, log_level
from shardis.coord import saver
from shardis.coord.hub import Hub
from shardis.coord.intents import IntentLog, Pending, logged_part
from shardis.coord.planner import Encode, Parts, Planner, Request, answer, taker
from shardis.coord.saver import Saver
from shardis.coord.scratch import Scratch
from shardis.messages import (
    Abort,
    Commit,
    CoordReplies,
    CoordRequests,
    Hello,
    Redo,
    Release,
    Run,
    RunCommit,
    TxMessage,
    TxReply,
    Unlock,
    Wakeups,
)
from shardis.plan import MERGES
from shardis.resp import ReplyError, encode, encode3, encode_error
from shardis.scanargs import run_ends
from shardis.scripting import Engine, Library, parse_resp
from shardis.shardd import dump, keys, scripting, sort, strings
from shardis.shardd.blocking import BLOCK, Wait
from shardis.shardd.scripting import Running
from shardis.slots import key_slot, slot_table

log = logging.getLogger("coordinator")

# A shard's reply is waited for as long as its process runs (see Coordinator._wait);
# a wait longer than this is logged, then at doubling intervals.
SLOW_REPORT_S = 10.0
IDENT = b"coord"          # the shards tell the coordinator's messages by this identity


class Unavailable(Exception):
    """A shard did not answer: the round cannot finish now."""


DEFERRED = object()  # a request's reply while its client waits (a blocking command)


class Blocked:
    """A blocking command over several shards that found nothing: it waits here. On
    each of its shards a stand-in waiter (``__readywait``) tells the coordinator when
    one of its keys gets data; the command then runs again, in arrival order."""

    __slots__ = ("req", "wait", "deadline", "on_timeout", "proxies", "ready", "woken", "keys")

    def __init__(self, req: "Request", wait: Wait) -> None:
        self.req = req
        self.wait = wait            # what it waits for (shardd.blocking.Wait)
        self.deadline = wait.deadline    # ms, 0 = forever
        self.on_timeout = wait.on_timeout
        self.proxies: dict[int, int] = {}  # shard -> stand-in waiter id
        self.ready = False
        # Stand-ins served (shard, waiter id): their shards hold the key for this command
        # until it has run (``__unreserve``), so that later waiters there come after it.
        self.woken: list[tuple[int, int]] = []
        self.keys: list[bytes] = []  # the keys that got data, in the order their stand-ins said


class Coordinator:
    """Serialises cross-shard work in rounds; see the module docstring."""

    def __init__(self, cfg: Config, table: CommandTable) -> None:
        self.cfg = cfg
        self.table = table
        self.ops = build_ops()
        # (the supervisor resolved "auto" before it started this process)
        self.nshards = cast(int, cfg.shards)
        self.slot_to_shard = slot_table(self.nshards)
        self.planner = Planner(table, self.slot_to_shard, self.nshards)
        # Stand-ins served after their blocked command went away: (shard, waiter id).
        self.orphans: list[tuple[int, int]] = []
        self.ctx = zmq.Context()
        self.front = self.ctx.socket(zmq.ROUTER)
        self.front.setsockopt(zmq.LINGER, 1000)
        self.shards: list[zmq.Socket] = []
        self.monitors: list[zmq.Socket] = []
        for i in range(self.nshards):
            s = self.ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.IDENTITY, IDENT)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.SNDHWM, 0)
            s.setsockopt(zmq.RCVHWM, 0)
            self.monitors.append(s.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED))
            s.connect(cfg.shard_endpoint(i))
            self.shards.append(s)
        self.intents = IntentLog(os.path.join(cfg.dir, "coordinator", "intent.log"),
                                 fsync=lambda: cfg.durability == "always", table=table)
        self.pending: Pending | None = self.intents.pending
        self.txids = itertools.count(max(self.intents.last + 1, time.time_ns() // 1000))
        self.stopping = False
        # The round in progress.
        self.txid = 0
        self.now = 0
        self.ran: dict[int, list[bytes]] = {}  # shard -> the run messages it was sent in this round
        self.wrote = False
        self.scratch = Scratch(os.path.join(cfg.dir, "coordinator", "scratch"))
        self.blocked: list[Blocked] = []
        self.unblocked: list[Request] = []  # blocked commands CLIENT UNBLOCK freed this round
        self.restarted: set[int] = set()  # shards that reconnected since they were last greeted
        self.down: set[int] = set()       # shards disconnected and not back yet
        # Scripts (shardd/scripting.py): the cache of record (SHA -> body), the libraries
        # compiled here (by code), and the Lua state, made at the first script.
        self.scripts: dict[bytes, bytes] = {}
        self.libraries: dict[bytes, Library] = {}
        self.engine: Engine | None = None
        # Requests read while a script ran past busy-reply-threshold (``busy``): the next round's.
        self.stashed: list[Request] = []
        self._run_ends: list[int] | None = None
        self.hub_client: zmq.Socket | None = None  # (a script's PUBLISH: ``publish``)
        self.rounds = 0
        self.requests = 0
        # SAVE, BGSAVE and the save schedule (shardis/coord/saver.py): one place for the server.
        self.saver = Saver(cfg, self.nshards)

    def shard_of(self, key: bytes) -> int:
        return self.slot_to_shard[key_slot(key)]

    # ------------------------------------------------------------ talking to shards

    def _send(self, shard: int, msg: TxMessage) -> None:
        self.shards[shard].send(msg.encode())

    def _wait(self, waiting: set[int], txid: int) -> dict[int, Any]:
        """Each waiting shard's reply to the message just sent it (matched by txid).

        A shard is waited for as long as its process runs, however long its work takes
        (slow is not dead): only its connection going away (the process exited, see
        ``_check_monitors``) or coming back (it restarted) raises Unavailable. A long
        wait is logged at growing intervals, never acted upon."""
        got: dict[int, Any] = {}
        poller = zmq.Poller()
        for i in waiting:
            poller.register(self.shards[i], zmq.POLLIN)
        started = time.monotonic()
        report = started + SLOW_REPORT_S
        while len(got) < len(waiting):
            self._check_monitors()
            lost = waiting & (self.restarted | self.down)
            if lost:
                raise Unavailable(min(lost))
            now = time.monotonic()
            if now >= report:
                log.info("coordinator: transaction %d still waits for shard(s) %s, working for %.0fs",
                         txid, sorted(waiting - set(got)), now - started)
                report = started + 2 * (now - started)
            for sock, _ in poller.poll(200):
                i = self.shards.index(sock)
                while sock.get(zmq.EVENTS) & zmq.POLLIN:
                    rtxid, reply = TxReply.decode(sock.recv())
                    if rtxid == txid and i in waiting:
                        got[i] = reply
                    elif rtxid == 0:
                        self._wakeups(i, Wakeups(reply))
        return got

    def _await_up(self, shard: int) -> None:
        """Wait while a shard's process is gone (the supervisor restarts it)."""
        if shard in self.down:
            log.warning("coordinator: shard %d is down; waiting for it to come back", shard)
        while shard in self.down and not self.stopping:
            time.sleep(0.05)
            self._check_monitors()

    def _wakeups(self, shard: int, msg: Wakeups) -> None:
        """Stand-in waiters that a shard served: their blocked commands may run now."""
        for wid, key in msg.items:
            for b in self.blocked:
                if b.proxies.get(shard) == wid:
                    del b.proxies[shard]
                    b.ready = True
                    b.woken.append((shard, wid))
                    if isinstance(key, bytes):
                        b.keys.append(key)
                    break
            else:  # its command is gone (the client left): the shard need not hold the key
                self.orphans.append((shard, wid))

    def _drain_shards(self) -> None:
        for i, sock in enumerate(self.shards):
            while cast(int, sock.get(zmq.EVENTS)) & zmq.POLLIN:  # (pyzmq types options int | bytes)
                rtxid, reply = TxReply.decode(sock.recv())
                if rtxid == 0:
                    self._wakeups(i, Wakeups(reply))

    def _check_monitors(self) -> None:
        for i, mon in enumerate(self.monitors):
            while True:
                try:
                    ev = mon.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                event = struct.unpack("=hi", ev[0][:6])[0]
                if event == zmq.EVENT_CONNECTED:
                    self.restarted.add(i)  # a (re)started shard waits, fenced, for hello
                    self.down.discard(i)
                elif event == zmq.EVENT_DISCONNECTED:
                    self.down.add(i)

    def run_on(self, parts: dict[int, list]) -> dict[int, list]:
        """Run commands on shards inside the round (locking each on its first message);
        parts: shard -> [(cid, db, args)]; returns shard -> replies."""
        for shard in sorted(parts):  # locks taken in shard order, as DESIGN.md says
            cmds = parts[shard]
            msg = Run(self.txid, self.now, cmds).encode()
            self.shards[shard].send(msg)
            self.ran.setdefault(shard, []).append(msg)  # (logged as sent: see IntentLog)
            if not self.wrote:
                self.wrote = any(self.table.by_id[c[0] & wire.CMD_MASK].write for c in cmds)
        return self._wait(set(parts), self.txid)

    def _command(self, name: bytes) -> CommandSpec:
        spec = self.table.lookup(name)
        if spec is None:
            raise KeyError(f"no command {name!r} in the table")
        return spec

    def call(self, shard: int, db: int, name: bytes | str, *args: bytes | str | int) -> Any:
        """One command on one shard inside the round: its reply value (errors raised)."""
        spec = self._command(name if isinstance(name, bytes) else name.encode())
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in (name, *args)]
        v = wire.from_raw(self.run_on({shard: [(spec.id | wire.RAW, db, argv)]})[shard][0])
        if isinstance(v, ReplyError):
            raise v
        return v

    def publish(self, kind: int, channel: bytes, message: bytes) -> int:
        """A script's PUBLISH here: through the hub (in this process, its own socket); the
        receivers, as the hub counts them."""
        sock = self.hub_client
        if sock is None:
            sock = self.hub_client = self.ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.IDENTITY, b"coordinator-scripts")
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(self.cfg.pubsub_endpoint())
        token = next(self.txids)
        sock.send(hubproto.encode([hubproto.Publish(token, kind, channel, message)]))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if sock.poll(100):
                for op in hubproto.decode(sock.recv()):
                    if isinstance(op, hubproto.Answer) and op.token == token:
                        return int(op.value)
        return 0

    def run_ends(self) -> list[int]:
        if self._run_ends is None:
            self._run_ends = run_ends(self.slot_to_shard)
        return self._run_ends

    def lua(self) -> Engine:
        if self.engine is None:
            self.engine = Engine()
        return self.engine

    def command(self, db: int, argv: list[bytes], resp: int = 2) -> Any:
        """One command inside the round wherever its keys lie (a script's redis.call): its
        reply value (an error raised), as the command gives it on one shard; a reply
        that travels from a shard comes encoded in protocol ``resp`` (so that nothing of
        its type is lost) and is read back."""
        spec = self._command(argv[0])
        proto = wire.RESP3 if resp == 3 else 0
        if spec.route == ALL:
            assert spec.split is not None  # (every ALL command says how its parts merge)
            replies = self.run_on({i: [(spec.id | wire.RAW, db, argv)] for i in range(self.nshards)})
            values = []
            for i in range(self.nshards):
                v = wire.from_raw(replies[i][0])
                if isinstance(v, ReplyError):
                    raise v
                values.append(v)
            return MERGES[spec.split](values)
        keys = spec.keys(argv)
        more = spec.reached(argv)
        shards = {self.shard_of(k) for k in keys + (more or [])}
        if more is not None and len(shards) <= 1:
            shard = shards.pop() if shards else 0
            v = parse_resp(self.run_on({shard: [(spec.id | proto, db, argv)]})[shard][0])
        else:
            op = self.ops.get(spec.name)
            if op is not None:
                return op(self, db, argv)
            if spec.split is not None:
                parts: Parts = {}
                step = self.planner.plan_split(spec, spec.id | proto, db, argv, parts,
                                               encode3 if resp == 3 else encode)
                reply = step(taker(self.run_on(parts)))
                assert isinstance(reply, bytes)  # (encoded by the encoder given)
                v = parse_resp(reply)
            else:
                v = self.scratch.run(self, spec, db, argv)
                if v is BLOCK:
                    assert self.scratch.block is not None  # (set by the command that answered BLOCK)
                    v = self.scratch.block.on_timeout
        if isinstance(v, ReplyError):
            raise v
        return v

    def busy(self, running: Running) -> None:
        """A script runs here past busy-reply-threshold: answer SCRIPT KILL / FUNCTION KILL
        now, clients' commands (EXEC's too) BUSY, as Redis does meanwhile; internal
        requests (a client gone, a script to keep) wait for the next round."""
        while True:
            try:
                frames = self.front.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            answered = []
            for r in self._requests(frames):
                if r.spec.name == "__scriptkill":
                    r.reply = r.encode(running.kill_request(r.args[1] == b"function"))
                    answered.append(r)
                elif r.spec.route != INTERNAL or r.spec.name == "__multi":
                    r.reply = encode_error(running.busy_error())
                    answered.append(r)
                else:
                    self.stashed.append(r)
            if answered:
                self._reply(answered)

    def call_each(self, db: int, calls: dict[int, list[bytes]]) -> dict[int, Any]:
        """One command on each of several shards inside the round, all sent before any
        reply is awaited: shard -> its reply value (an error raised)."""
        replies = self.run_on({shard: [(self._command(argv[0]).id | wire.RAW, db, argv)]
                               for shard, argv in calls.items()})
        out = {}
        for shard, got in replies.items():
            v = wire.from_raw(got[0])
            if isinstance(v, ReplyError):
                raise v
            out[shard] = v
        return out

    # ------------------------------------------------------------ rounds

    def _begin_round(self) -> None:
        self.txid = next(self.txids)
        self.now = time.time_ns() // 1_000_000
        self.ran = {}
        self.wrote = False

    def _finish_round(self) -> None:
        """Commit what the round wrote everywhere, or roll back a read-only round."""
        shards = sorted(self.ran)
        if not self.wrote:
            for i in shards:
                self._send(i, Release(self.txid))
            return
        parts = {i: self.ran[i] for i in shards}
        self.intents.begin(self.txid, parts)
        for i in shards:
            self._send(i, Commit(self.txid))
        try:
            acks = self._wait(set(shards), self.txid)
        except Unavailable:
            acks = {}
        missing = [i for i in shards if acks.get(i) != 1]
        if missing:
            # The intent is logged: the round will finish, by redo where needed.
            self._complete(self.txid, parts, missing)
        for i in shards:
            self._send(i, Unlock(self.txid))
        self.intents.done(self.txid)

    def _abort_round(self) -> None:
        for i in sorted(self.ran):
            self._send(i, Abort(self.txid))

    def _complete(self, txid: int, parts: dict, shards: list[int]) -> None:
        """Redo a logged round on shards that have not committed it; waits for them.

        Only a shard whose process went away is sent the redo again, once it is back: a
        shard that answers late is still running the round's commands."""
        for i in shards:
            now, cmds = logged_part(parts[i])
            while not self.stopping:
                self._await_up(i)
                self.restarted.discard(i)  # (it says hello's answer, the mark, in redo's)
                self._send(i, Redo(txid, now, cmds))
                try:
                    self._wait({i}, txid)
                    break
                except Unavailable:
                    log.warning("coordinator: shard %d went away while finishing transaction %d; "
                                "redo once it is back", i, txid)

    def serve(self) -> None:
        self.front.bind(self.cfg.coordinator_endpoint())
        self.recover()
        log.info("coordinator ready on %s", self.cfg.coordinator_endpoint())
        poller = zmq.Poller()
        poller.register(self.front, zmq.POLLIN)
        for sock in self.shards:
            poller.register(sock, zmq.POLLIN)
        while not self.stopping:
            if self.restarted:
                self.greet(sorted(self.restarted))
            self._drain_shards()
            if self.blocked:
                self.serve_blocked()
            if self.orphans:
                self._free_orphans()
            if self.saver.due():
                self._save_round()
            events = dict(poller.poll(0 if self.stashed else self._poll_ms()))
            self._check_monitors()
            if self.front not in events and not self.stashed:
                continue
            reqs, self.stashed = self.stashed, []
            try:
                while len(reqs) < 4096:
                    reqs.extend(self._requests(self.front.recv_multipart(zmq.NOBLOCK)))
            except zmq.Again:
                pass
            self.serve_round(reqs)
        log.info("coordinator: %d requests in %d rounds", self.requests, self.rounds)
        self.front.close()
        for s in self.shards + self.monitors:
            s.close(0)
        self.ctx.term()

    def _save_round(self) -> None:
        """The save schedule's round: count the shards' changes, save if a rule says so."""
        self._begin_round()
        try:
            self.saver.scheduled(self)
            self._finish_round()
        except Exception as e:
            log.warning("coordinator: the scheduled save failed to start: %s", e)
            self._abort_round()

    def _poll_ms(self) -> int:
        """Until the next blocked command's deadline, at most 200 ms."""
        ms = 200
        now = time.time_ns() // 1_000_000
        for b in self.blocked:
            if b.ready:
                return 0
            if b.deadline:
                ms = min(ms, max(0, b.deadline - now))
        return ms

    def serve_blocked(self) -> None:
        """One round for the blocked commands that may run (a key got data) or whose
        time is up, oldest first."""
        now = time.time_ns() // 1_000_000
        due = [b for b in self.blocked if b.ready or (b.deadline and b.deadline <= now)]
        if not due:
            return
        self._begin_round()
        done = []
        gone = []
        try:
            for b in due:
                self._drop_proxies(b)
                r = b.req
                if not wire.router_alive(r.ident):
                    # Its router died with the client: nothing is taken for nobody.
                    self._unreserve(b.woken)
                    b.woken = []
                    gone.append(b)
                    continue
                if not b.ready:
                    r.reply = r.encode(b.on_timeout)
                    done.append(b)
                    continue
                b.ready = False
                r.reply = None
                self._serve_woken(r, b)
                self._unreserve(b.woken)
                b.woken = []
                if r.reply is not DEFERRED:
                    done.append(b)
            self._finish_round()
        except Unavailable as e:
            self._abort_round()
            done = [b for b in due if b not in gone]
            for b in done:
                b.req.reply = encode_error(errors.SHARD_DOWN % e.args[0])
        for b in done + gone:
            self.blocked.remove(b)
        self._reply([b.req for b in done])

    def _serve_woken(self, r: Request, b: Blocked) -> None:
        """A blocked command whose keys got data: served from those keys alone, in the
        order they got it (as Redis serves a blocked client from the key that became
        ready, whatever its other keys hold); if others took it all, it waits again.
        After a shard restarted (no key named), the whole command runs again."""
        keys, b.keys = b.keys, []
        if not keys:
            self._run_op(r, b)
            return
        narrow = b.wait.narrow
        for key in dict.fromkeys(keys):
            args = r.args if narrow is None else narrow(key)
            try:
                v = self.scratch.run(self, r.spec, r.db, args)
            except ReplyError as e:
                r.reply = encode_error(e.args[0])
                return
            if v is not BLOCK:
                r.reply = r.encode(v)
                return
        self.scratch.block = b.wait
        self._block(r, b)
        r.reply = DEFERRED

    def _free_orphans(self) -> None:
        """Keys held for blocked commands that went away: free them, in a round."""
        orphans, self.orphans = self.orphans, []
        self._begin_round()
        try:
            self._unreserve(orphans)
            self._finish_round()
        except Unavailable:
            self._abort_round()  # (the shard frees them itself after a while)

    def _unreserve(self, woken: list[tuple[int, int]]) -> None:
        """Blocked commands have had their turn: the shards whose stand-ins woke them
        (shard, waiter id) free the keys."""
        by_shard: dict[int, list[bytes]] = {}
        for shard, wid in woken:
            by_shard.setdefault(shard, []).append(b"%d" % wid)
        for shard, wids in sorted(by_shard.items()):
            self.call(shard, 0, b"__unreserve", *wids)

    def _drop_proxies(self, b: Blocked) -> None:
        for shard, wid in b.proxies.items():
            self.call(shard, 0, b"__unblock", b"%d" % wid)
        b.proxies = {}

    def _block(self, r: Request, b: Blocked | None) -> Blocked:
        """Wait for any of a blocking command's keys: a stand-in waiter on each shard."""
        wait = self.scratch.block
        assert wait is not None  # (set by the command that answered BLOCK)
        if b is None:
            b = Blocked(r, wait)
            self.blocked.append(b)
        by_shard: dict[int, list[bytes]] = {}
        for k in wait.keys:
            by_shard.setdefault(self.shard_of(k), []).append(k)
        for shard, ks in by_shard.items():
            b.proxies[shard] = self.call(shard, wait.db, b"__readywait", b"%d" % wait.want, *ks)
        return b

    def _cancel(self, r: Request) -> None:
        """A client that waited here went away (``__cancel rid``), or CLIENT UNBLOCK frees it
        (``__cancel rid TIMEOUT|ERROR``: it is answered as by its timeout, or with the
        UNBLOCKED error, at the end of the round). A reason asks for an answer too: 1 if
        the client waited here, else 0 (``__cancel`` alone is not answered)."""
        reason = r.args[2].upper() if len(r.args) > 2 else None
        found = 0
        for b in self.blocked:
            if b.req.ident == r.ident and b.req.rid == int(r.args[1]):
                self._drop_proxies(b)
                self._unreserve(b.woken)
                self.blocked.remove(b)
                if reason is not None:
                    freed = b.req
                    freed.reply = (encode_error(errors.UNBLOCKED_BY_CLIENT) if reason == b"ERROR"
                                   else freed.encode(b.on_timeout))
                    self.unblocked.append(freed)
                    found = 1
                break
        r.reply = DEFERRED if reason is None else r.encode(found)

    def _requests(self, frames: list[bytes]) -> list[Request]:
        """A router's message: its requests of one loop turn, [[rid, cid, db, args], ...]
        (a multi-key command's with a fifth item: the shard of each of its keys)."""
        ident = frames[0]
        by_id = self.table.by_id
        reqs = []
        for item in CoordRequests.decode(frames[-1]).requests:
            r = Request(ident, item.rid, item.cmd, item.db, item.args, by_id[item.cmd & wire.CMD_MASK])
            r.shards = item.shards
            reqs.append(r)
        return reqs

    def _reply(self, reqs: list[Request]) -> None:
        """One message per router with the replies of its requests."""
        by_router: dict[bytes, list[list]] = {}
        for r in reqs:
            by_router.setdefault(r.ident, []).append([r.rid, r.reply])
        for ident, items in by_router.items():
            self.front.send_multipart([ident, CoordReplies(items).encode()])

    def recover(self) -> None:
        """At start: greet every shard; finish the intent the last run left pending."""
        deadline = time.monotonic() + 60
        while len(self.restarted) < self.nshards and time.monotonic() < deadline and not self.stopping:
            self._check_monitors()
            time.sleep(0.02)
        self.greet(list(range(self.nshards)), self.pending)
        self.pending = None

    def greet(self, shards: list[int], pending: Pending | None = None) -> None:
        """Say hello to (re)started shards (they wait fenced), redo ``pending`` where it
        is missing, and unlock them."""
        for i in shards:
            while not self.stopping:
                self._await_up(i)
                self.restarted.discard(i)
                self._send(i, Hello())
                try:
                    self._wait({i}, -1)
                    break
                except Unavailable:
                    pass  # it restarted again: greet the new process
        if pending is not None:
            txid, parts = pending
            log.info("coordinator: finishing transaction %d on shards %s", txid, sorted(parts))
            self._complete(txid, parts, sorted(parts))
            for i in sorted(parts):
                self._send(i, Unlock(txid))
            self.intents.done(txid)
        for i in shards:
            self._send(i, Unlock(0))
        # A restarted shard has lost its stand-in waiters: the commands blocked on it
        # run again (and wait anew, with new stand-ins, if there is still nothing).
        for b in self.blocked:
            if any(i in b.proxies for i in shards):
                b.proxies = {i: w for i, w in b.proxies.items() if i not in shards}
                b.ready = True

    def serve_round(self, reqs: list[Request]) -> None:
        """Run a batch of requests as one round; answer each."""
        self.rounds += 1
        self.requests += len(reqs)
        self._begin_round()
        try:
            together = self.planner.together
            if all(together(r) for r in reqs):
                self._run_committed(reqs)  # (one step: the common case)
            else:
                self._run_steps(reqs)
                self._finish_round()
        except Unavailable as e:
            self._abort_round()
            err = encode_error(errors.SHARD_DOWN % e.args[0])
            for r in reqs:
                r.reply = err
            self.blocked = [b for b in self.blocked if b.req not in reqs]
        except Exception as e:  # a bug: the round is rolled back, the coordinator goes on
            log.error("coordinator: round failed: %s", traceback.format_exc())
            self._abort_round()
            err = encode_error(f"ERR internal error in the coordinator: {e}")
            for r in reqs:
                r.reply = err
            self.blocked = [b for b in self.blocked if b.req not in reqs]
        self._reply([r for r in reqs if r.reply is not DEFERRED])
        if self.unblocked:
            freed, self.unblocked = self.unblocked, []
            self._reply(freed)

    def _run_steps(self, reqs: list[Request]) -> None:
        """In arrival order (a client may have several requests in a round), each run of
        requests whose parts do not depend on each other in one step; the others (by
        their command's ``cross``) on their own."""
        batch: list[Request] = []
        together = self.planner.together
        for r in reqs:
            if together(r):
                batch.append(r)
                continue
            self._run_parts(batch)
            batch = []
            cross = r.spec.cross
            if cross == CROSS_CANCEL:
                self._cancel(r)
            elif cross == CROSS_EXEC:
                self._run_alone(r)
            else:
                self._run_op(r)
        self._run_parts(batch)

    def _run_op(self, r: Request, blocked: Blocked | None = None) -> None:
        """A request with an operation of its own, or one run in the scratch store."""
        op = self.ops.get(r.spec.name)
        try:
            if op is not None:
                v = op(self, r.db, r.args)
            else:
                v = self.scratch.run(self, r.spec, r.db, r.args)
                if v is BLOCK:
                    self._block(r, blocked)
                    r.reply = DEFERRED
                    return
            r.reply = r.encode(v)
        except ReplyError as e:
            r.reply = encode_error(e.args[0])
        except Unavailable:
            raise
        except Exception as e:
            log.error("coordinator: %s failed: %s", r.spec.name, traceback.format_exc())
            r.reply = encode_error(f"ERR internal error in '{r.spec.name}': {e}")

    # ------------------------------------------------------------ split commands and EXEC

    def _run_alone(self, r: Request) -> None:
        """A transaction with WATCH, or with a command that needs data from one shard to
        write another, runs on its own: its watches checked first (under the round's
        locks, after the writes of the requests before it), then its commands."""
        watched, cmds = wire.unpack(r.args[1])
        aborted = self.planner.check_watches([r], self.run_on) if watched else set()
        if aborted or not any(self.planner.composite(*c) for c in cmds):
            self._run_parts([r], aborted)
        else:
            self._run_exec_steps(r, watched, cmds)

    def _run_exec_steps(self, r: Request, watched: list, cmds: list) -> None:
        """EXEC with composite commands: runs of plain commands, one message per shard
        each, between the composite ones, in order, all inside the round."""
        planner = self.planner
        out: list[object] = []
        i = 0
        while i < len(cmds):
            parts: Parts = {}
            steps = []
            while i < len(cmds) and not planner.composite(*cmds[i]):
                cid, db, args = cmds[i]
                steps.append(planner.plan_split(planner.spec_of(cid), cid, db, args, parts, r.encode))
                i += 1
            if steps:
                take = taker(self.run_on(parts))
                out.extend(step(take) for step in steps)
            if i < len(cmds):
                cid, db, args = cmds[i]
                out.append(self._op_reply(planner.spec_of(cid), db, args, r.encode))
                i += 1
        unwatch = planner.unwatch_parts(watched)
        if unwatch:
            self.run_on(unwatch)
        r.reply = out

    def _op_reply(self, spec: CommandSpec, db: int, args: list, encode: Encode) -> bytes:
        """A composite command inside EXEC: its encoded reply (blocking ones do not wait)."""
        try:
            op = self.ops.get(spec.name)
            if op is not None:
                return encode(op(self, db, args))
            v = self.scratch.run(self, spec, db, args)
            if v is BLOCK:
                assert self.scratch.block is not None  # (set by the command that answered BLOCK)
                v = self.scratch.block.on_timeout
            return encode(v)
        except ReplyError as e:
            return encode_error(e.args[0])

    def _run_parts(self, reqs: list[Request], aborted: set[int] | frozenset[int] = frozenset()) -> None:
        if not reqs:
            return
        answer(*self.planner.plan(reqs, aborted), self.run_on)

    def _run_committed(self, reqs: list[Request]) -> None:
        """A round of one step that writes: each shard runs its part and commits it in
        one message (``runcommit``), logged as an intent first; one trip to the shards
        instead of two (run, then commit). Replies come once every shard committed."""
        parts, finish = self.planner.plan(reqs)
        by_id = self.table.by_id
        if not any(by_id[c[0] & wire.CMD_MASK].write for cmds in parts.values() for c in cmds):
            answer(parts, finish, self.run_on)
            self._finish_round()  # (read-only: each shard releases)
            return
        txid = self.txid
        shards = sorted(parts)
        logged = {i: [RunCommit(txid, self.now, parts[i]).encode()] for i in shards}
        self.intents.begin(txid, logged)
        for i in shards:  # locks taken in shard order
            self.shards[i].send(logged[i][0])
        try:
            try:
                replies = self._wait(set(shards), txid)
            except Unavailable as e:
                # Some shards may have committed: the round finishes everywhere (redo is
                # skipped where its mark is), but its replies are lost; the clients hear so.
                self._complete(txid, logged, shards)
                err = encode_error(errors.SHARD_DOWN % e.args[0])
                for r in reqs:
                    r.reply = err
            else:
                answer(parts, finish, lambda _: replies)
        finally:  # (committed: whatever happened, never rolled back)
            for i in shards:
                self._send(i, Unlock(txid))
            self.intents.done(txid)


def build_ops() -> dict[str, CrossOp]:
    """Every family's cross-shard operations, registered explicitly in one place."""
    ops: dict[str, CrossOp] = {}
    for family in (strings, keys, sort, scripting, dump, saver):
        family.register_cross(ops)
    return ops


def main(table: CommandTable, argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="shardis-coordinator")
    ap.add_argument("--config-json", required=True)
    a = ap.parse_args(argv)
    cfg = Config(**json.loads(a.config_json))
    logging.basicConfig(level=log_level(cfg.loglevel),
                        format="%(asctime)s coordinator %(levelname)s %(message)s", stream=sys.stderr)
    coord = Coordinator(cfg, table)

    def stop(*_: object) -> None:
        coord.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # The pub/sub hub: its own socket and thread; coord.serve's ctx.term() ends it.
    threading.Thread(target=Hub(cfg, coord.ctx).run, name="pubsub-hub", daemon=True).start()
    coord.serve()

