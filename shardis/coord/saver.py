"""Snapshots to an RDB file (SAVE, BGSAVE, the ``save`` schedule), run by the coordinator.

The coordinator is the one place that knows about saves: whichever router gets SAVE or
BGSAVE asks it (``__bgsave``), and the schedule runs here, so it fires once for the
whole server. Its state (in progress since, last save time and status, the count) is
kept by the ``Saver`` and written to ``dir/coordinator/rdb-state.json`` on each change,
which every router reads for LASTSAVE and INFO persistence (a small file in the data
directory: the routers need it without a round trip, INFO being answered at once).

A save:
1. ``start`` runs inside a coordinator round: ``__rdbsnap`` to every shard in one step,
   so every shard's view is taken at the same point in the order of writes
   (shardd/snapshot.py: each shard writes its part from an LMDB read transaction, in a
   thread, while it goes on serving).
2. A thread here waits for the parts (a shard that dies fails the save), then writes
   the file as Redis does: ``dir/temp-<pid>.rdb`` (header and aux fields, the
   libraries, per database SELECTDB + RESIZEDB and every shard's records for it, EOF and
   the CRC-64), fsynced, renamed to ``dir/dbfilename``, the directory fsynced. The parts
   are removed whatever happens. The CRC-64 is computed in Python here (rdb.crc64): it
   is the save's main cost beside serialising, about 10 MB/s.

The schedule (``save`` = "SECONDS CHANGES ..."): checked once a second; a rule whose
seconds have passed since the last save asks each shard its changes (``__rdbchanges``,
in a round) and saves when their sum reaches the rule's count; after a failed save it
waits 5 s before trying again (Redis' CONFIG_BGSAVE_RETRY_DELAY).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from typing import Any, cast

from shardis import REDIS_VERSION, configtable, rdb, rdbfile
from shardis.commands import CrossOp, Round
from shardis.config import Config
from shardis.resp import ReplyError
from shardis.savestate import state_path

log = logging.getLogger("coordinator")

E_IN_PROGRESS = "ERR Background save already in progress"
RETRY_DELAY_S = 5
COPY_BYTES = 1 << 20
# What a save writes in ``dir`` before its file is whole (and a stopped one leaves).
LEFTOVER = re.compile(r"temp-[0-9]+\.rdb|temp-snap-[0-9]+-[0-9]+-[0-9]+\.(part|idx|idx\.tmp|err)")


def save_rules(cfg: Config) -> list[tuple[int, int]]:
    """The ``save`` parameter as (seconds, changes) pairs."""
    nums = [int(x) for x in str(configtable.get_value(cfg, configtable.param("save"))).split()]
    return list(zip(nums[0::2], nums[1::2]))


def rdb_path(cfg: Config) -> str:
    return os.path.join(cfg.dir, str(configtable.get_value(cfg, configtable.param("dbfilename"))))


class Saver:
    """The server's saves: at most one at a time; see the module docstring."""

    def __init__(self, cfg: Config, nshards: int) -> None:
        self.cfg = cfg
        self.nshards = nshards
        self.lock = threading.Lock()
        self.started = 0.0        # time.time() the running save began; 0: none runs
        self.lastsave = int(time.time())   # as Redis: the start counts as a save time
        self.status = "ok"        # the last save's: "ok" or "err"
        self.last_time_sec = -1
        self.saves = 0
        self.last_try = 0.0
        self.id = 0               # of the last save begun
        self.done: dict[int, bool] = {}  # save id -> whether it succeeded (recent ones)
        self.next_check = 0.0
        self._remove_leftovers()
        self.write_state()

    def _remove_leftovers(self) -> None:
        """Parts and temporary files of saves a stopped coordinator left unfinished."""
        try:
            names = os.listdir(self.cfg.dir)
        except OSError:
            return
        for name in names:
            if LEFTOVER.fullmatch(name):
                try:
                    os.unlink(os.path.join(self.cfg.dir, name))
                except OSError:
                    pass

    # ------------------------------------------------------------ state

    def write_state(self) -> None:
        with self.lock:
            state = {"lastsave": self.lastsave, "status": self.status,
                     "last_time_sec": self.last_time_sec, "saves": self.saves,
                     "started": self.started}
        path = state_path(self.cfg)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path + ".tmp", "w") as f:
                json.dump(state, f)
            os.rename(path + ".tmp", path)
        except OSError as e:
            log.warning("coordinator: cannot write %s: %s", path, e)

    def running(self) -> bool:
        return self.started != 0.0

    # ------------------------------------------------------------ a save

    def start(self, coord: Round) -> int:
        """Inside a round: every shard takes its view now; the file is written by a
        thread. Returns the save's id."""
        if self.running():
            raise ReplyError(E_IN_PROGRESS)
        self.id += 1
        sid = self.id
        prefix = os.path.join(self.cfg.dir, f"temp-snap-{os.getpid()}-{sid}")
        calls = {i: [b"__rdbsnap", f"{prefix}-{i}".encode(), b"1" if i == 0 else b"0"]
                 for i in range(self.nshards)}
        self.last_try = time.time()
        try:
            replies = coord.call_each(0, calls)
        except ReplyError as e:
            log.warning("coordinator: snapshot could not start: %s", e.args[0])
            self._finish(sid, prefix, False, time.time())
            raise ReplyError("ERR") from None
        with self.lock:
            self.started = time.time()
        self.write_state()
        pids = [int(replies[i][0]) for i in range(self.nshards)]
        threading.Thread(target=self._assemble, args=(sid, prefix, pids, self.started),
                         name="rdb-save", daemon=True).start()
        return sid

    def _assemble(self, sid: int, prefix: str, pids: list[int], began: float) -> None:
        ok = False
        try:
            indexes = self._wait_parts(prefix, pids)
            self._write_file(prefix, indexes, began)
            ok = True
        except Exception as e:
            log.error("coordinator: background save failed: %s", e)
        self._finish(sid, prefix, ok, began)

    def _wait_parts(self, prefix: str, pids: list[int]) -> list[list[list[int]]]:
        """Each shard's index once its part is whole; raises if one failed or died."""
        out: list[list[list[int]]] = []
        for i, pid in enumerate(pids):
            base = f"{prefix}-{i}"
            while not os.path.exists(base + ".idx"):
                if os.path.exists(base + ".err"):
                    with open(base + ".err") as f:
                        raise OSError(f"shard {i}: {f.read()}")
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    if os.path.exists(base + ".idx"):
                        break
                    raise OSError(f"shard {i} exited during the save") from None
                time.sleep(0.01)
            with open(base + ".idx") as f:
                out.append(json.load(f))
        return out

    def _write_file(self, prefix: str, indexes: list[list[list[int]]], began: float) -> None:
        cfg = self.cfg
        final = rdb_path(cfg)
        tmp = os.path.join(cfg.dir, f"temp-{os.getpid()}.rdb")
        dbs: dict[int, list[tuple[int, list[int]]]] = {}
        for shard, index in enumerate(indexes):
            for entry in index:
                dbs.setdefault(entry[0], []).append((shard, entry))
        parts = [open(f"{prefix}-{i}.part", "rb") for i in range(len(indexes))]
        try:
            with open(tmp, "wb") as out:
                crc = 0

                def emit(data: bytes) -> None:
                    nonlocal crc
                    crc = rdb.crc64(data, crc)
                    out.write(data)

                emit(rdbfile.header([
                    (b"redis-ver", REDIS_VERSION.encode()), (b"redis-bits", b"64"),
                    (b"ctime", b"%d" % int(began)), (b"used-mem", b"%d" % _used_mem(indexes)),
                    (b"aof-base", b"0")]))
                for db in sorted(dbs):
                    entries = dbs[db]
                    if db >= 0:
                        emit(rdbfile.db_header(db, sum(e[3] for _, e in entries),
                                               sum(e[4] for _, e in entries)))
                    elif len(entries) > 1:
                        entries = entries[:1]  # (only shard 0 writes the libraries)
                    for shard, (_, offset, length, _, _) in entries:
                        f = parts[shard]
                        f.seek(offset)
                        while length > 0:
                            data = f.read(min(length, COPY_BYTES))
                            if not data:
                                raise OSError(f"shard {shard}'s part is short")
                            emit(data)
                            length -= len(data)
                out.write(rdbfile.trailer(crc))
                out.flush()
                os.fsync(out.fileno())
            os.rename(tmp, final)
            fd = os.open(cfg.dir, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        finally:
            for f in parts:
                f.close()

    def _finish(self, sid: int, prefix: str, ok: bool, began: float) -> None:
        for i in range(self.nshards):
            for ext in (".part", ".idx", ".err", ".idx.tmp"):
                try:
                    os.unlink(f"{prefix}-{i}{ext}")
                except OSError:
                    pass
        now = time.time()
        with self.lock:
            self.started = 0.0
            self.status = "ok" if ok else "err"
            self.last_time_sec = int(now - began)
            if ok:
                self.lastsave = int(now)
                self.saves += 1
            self.done[sid] = ok
            for old in [k for k in self.done if k < sid - 100]:
                del self.done[old]
        self.write_state()
        if ok:
            log.info("coordinator: DB saved on disk (%s)", rdb_path(self.cfg))

    # ------------------------------------------------------------ the schedule

    def due(self) -> bool:
        """Once a second: whether a rule's time has come (the round then counts changes)."""
        now = time.time()
        if now < self.next_check or self.running():
            return False
        self.next_check = now + 1
        if self.status != "ok" and now - self.last_try <= RETRY_DELAY_S:
            return False
        return any(now - self.lastsave > secs for secs, _ in save_rules(self.cfg))

    def scheduled(self, coord: Round) -> None:
        """Inside a round: save if a rule's changes are reached."""
        now = time.time()
        rules = [c for secs, c in save_rules(self.cfg) if now - self.lastsave > secs]
        if not rules:
            return
        got = coord.call_each(0, {i: [b"__rdbchanges"] for i in range(self.nshards)})
        changes = sum(int(v) for v in got.values())
        if any(changes >= c for c in rules):
            log.info("coordinator: %d changes in %d seconds. Saving...", changes,
                     int(now - self.lastsave))
            try:
                self.start(coord)
            except ReplyError:
                pass


def _used_mem(indexes: list[list[list[int]]]) -> int:
    """The aux field used-mem: the bytes of the records (shardis' figure for it here)."""
    return sum(e[2] for index in indexes for e in index)


def bgsave_op(coord: Round, db: int, args: list[bytes]) -> Any:
    """``__bgsave START``: begin a save (its id); ``__bgsave STATUS id``: [done, ok];
    ``__bgsave RESETSTAT``: CONFIG RESETSTAT zeroes the count of saves (INFO's rdb_saves)."""
    saver = cast(Any, coord).saver
    assert isinstance(saver, Saver)
    if args[1] == b"START":
        return saver.start(coord)
    if args[1] == b"RESETSTAT":
        with saver.lock:
            saver.saves = 0
        saver.write_state()
        return 0
    sid = int(args[2])
    with saver.lock:
        if sid in saver.done:
            return [1, int(saver.done[sid])]
        if sid != saver.id or not saver.started:
            return [1, 0]  # (not known here: a coordinator that restarted)
    return [0, 0]


def register_cross(ops: dict[str, CrossOp]) -> None:
    ops["__bgsave"] = bgsave_op
