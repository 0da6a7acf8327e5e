"""The write-ahead log names its commands: a log written by one build replays the same
commands under a build whose table numbers them differently (shardd/wal.py's header,
shardd/recovery.py's Translation)."""

from __future__ import annotations

import os

import pytest

from shardis import assembly, wire
from shardis.commands import INTERNAL, CommandTable
from shardis.config import Config
from shardis.shardd.daemon import Shard
from shardis.shardd.wal import WriteAheadLog

TABLE = assembly.build_table()


def shifted_table(monkeypatch) -> CommandTable:
    """The families of ``build_table``, registered after a command inserted first: every
    id moves by one."""
    table = CommandTable()
    table.command("__dummy", 1, "fast", route=INTERNAL)(lambda ks, db, args: None)
    monkeypatch.setattr(assembly, "CommandTable", lambda: table)
    built = assembly.build_table()
    assert built is table and built.names()[1:] == TABLE.names()
    return built


class Outbox:
    """Stands in for the shard's ROUTER socket: keeps what it would send."""

    def __init__(self) -> None:
        self.sent: list[list[bytes]] = []

    def send_multipart(self, frames) -> None:
        self.sent.append(frames)

    def close(self, linger: int = 0) -> None:
        pass


def open_shard(tmp_path, table: CommandTable) -> Shard:
    cfg = Config(dir=str(tmp_path), shards=1, durability="always")
    shard = Shard(cfg, 0, table)
    shard.sock.close(0)
    shard.sock = Outbox()
    return shard


def run(shard: Shard, table: CommandTable, *cmds: list[bytes], flags: int = 0) -> list:
    """Run one batch of commands (by name, through ``table``'s ids); their replies."""
    msg = [(table.lookup(c[0]).id | flags, 0, c) for c in cmds]
    shard.sock.sent.clear()
    shard.run_batch([[b"r1", wire.pack((7, msg))]])
    if shard.writer is not None:
        shard.writer.wait_for(shard.seq)
        shard.release()
    return [wire.unpack(f[1]) for f in shard.sock.sent]


def crash(shard: Shard) -> None:
    """The process dies with the log on disk and LMDB lost (its writes never synced)."""
    assert shard.writer is not None and shard.wal is not None
    shard.writer.stop()
    shard.wal.close()
    shard.store.close()
    shard.ctx.term()
    path = shard.store.path
    for name in os.listdir(path):
        if name.endswith(".mdb"):
            os.unlink(os.path.join(path, name))


def write_log(tmp_path, table: CommandTable) -> None:
    shard = open_shard(tmp_path, table)
    run(shard, table, [b"set", b"s", b"one"], [b"incr", b"n"], [b"incr", b"n"])
    run(shard, table, [b"rpush", b"l", b"a", b"b", b"c"], [b"hset", b"h", b"f", b"v"])
    # A client blocked, then served by a push: the log records the served BLPOP.
    assert run(shard, table, [b"blpop", b"q", b"0"])[0][1][0][:1] == b"\0"
    run(shard, table, [b"rpush", b"q", b"x", b"y"])
    # EXEC of a transaction on this shard: its commands' ids sit inside __exec's argument.
    inner = [[table.lookup(b"lpop").id | wire.RAW, 0, [b"lpop", b"l"]],
             [table.lookup(b"append").id | wire.RAW, 0, [b"append", b"s", b"+two"]]]
    run(shard, table, [b"__exec", wire.pack([0, [], inner, b"t1"])], flags=wire.RAW)
    run(shard, table, [b"set", b"raw", b"3"], flags=wire.RESP3)
    crash(shard)


def check_data(shard: Shard, table: CommandTable) -> None:
    got = run(shard, table, [b"get", b"s"], [b"get", b"n"], [b"lrange", b"l", b"0", b"-1"],
              [b"hget", b"h", b"f"], [b"lrange", b"q", b"0", b"-1"], [b"get", b"raw"],
              [b"exists", b"__dummy"])[0][1]
    assert got == [b"$7\r\none+two\r\n", b"$1\r\n2\r\n", b"*2\r\n$1\r\nb\r\n$1\r\nc\r\n",
                   b"$1\r\nv\r\n", b"*1\r\n$1\r\ny\r\n", b"$1\r\n3\r\n", b":0\r\n"]


def test_a_log_replays_by_name_under_a_table_with_a_command_inserted(tmp_path, monkeypatch):
    write_log(tmp_path, TABLE)
    names, records = WriteAheadLog(_wal_path(tmp_path), []).read()
    assert names == TABLE.names() and len(list(records)) >= 5
    table2 = shifted_table(monkeypatch)
    shard = open_shard(tmp_path, table2)
    try:
        check_data(shard, table2)
    finally:
        shard.close()


def test_a_log_without_a_header_uses_the_current_ids(tmp_path):
    write_log(tmp_path, TABLE)
    path = _wal_path(tmp_path)
    with open(path, "rb") as f:
        data = f.read()
    head = 8 + int.from_bytes(data[:4], "little")
    with open(path, "wb") as f:
        f.write(data[head:])  # as the build before headers wrote it
    assert WriteAheadLog(path, []).read()[0] is None
    shard = open_shard(tmp_path, TABLE)
    try:
        check_data(shard, TABLE)
    finally:
        shard.close()


def test_every_log_file_starts_with_the_header(tmp_path):
    shard = open_shard(tmp_path, TABLE)
    try:
        run(shard, TABLE, [b"set", b"k", b"v"])
        names, records = WriteAheadLog(_wal_path(tmp_path), []).read()
        assert names == TABLE.names() and len(list(records)) == 1
        shard.checkpoint()  # empties the log: it starts again with the header
        names, records = WriteAheadLog(_wal_path(tmp_path), []).read()
        assert names == TABLE.names() and list(records) == []
    finally:
        shard.close()


def test_a_logged_command_this_build_lacks_stops_the_replay(tmp_path, monkeypatch):
    table2 = shifted_table(monkeypatch)
    shard = open_shard(tmp_path, table2)
    run(shard, table2, [b"__dummy"], [b"set", b"k", b"v"])
    crash(shard)
    with pytest.raises(SystemExit, match="__dummy"):
        open_shard(tmp_path, TABLE)


def _wal_path(tmp_path) -> str:
    return os.path.join(Config(dir=str(tmp_path), shards=1).shard_dir(0), "wal.log")
