"""The coordinator's intent log names commands stably: a log written by one build is
redone by a later build whose table gives the commands other ids."""

from __future__ import annotations

import os

import pytest

from shardis import assembly, wire
from shardis.commands import CommandTable
from shardis.coord import intents
from shardis.coord.intents import IntentLog, logged_part

TXID = 1234


class _Shifted(CommandTable):
    """A table with one more command registered before every family's."""

    def __init__(self) -> None:
        super().__init__()
        self.command("zzdummy", 1, "write")(lambda ks, db, args: None)


def shifted_table(monkeypatch) -> CommandTable:
    """The next build's table: a command inserted before all the others, the families
    then registered as shardis.assembly.build_table does."""
    with monkeypatch.context() as m:
        m.setattr(assembly, "CommandTable", _Shifted)
        table = assembly.build_table()
    assert table.by_id[0].name == "zzdummy"
    return table


def cmds_of(table: CommandTable, *cmds: tuple[str, int, list[bytes]]) -> list:
    """[(cid, db, args)] for ("name", flags, args) in ``table``'s ids."""
    return [(table.by_name[n.encode()].id | flags, 0, args) for n, flags, args in cmds]


SHARD0 = (("mset", wire.RAW, [b"MSET", b"a", b"1"]), ("incr", wire.RESP3, [b"INCR", b"n"]))
SHARD2 = (("del", wire.RAW, [b"DEL", b"b"]), ("__unwatch", wire.RAW, [b"__unwatch", b"x"]))


def write_intent(path: str, table: CommandTable, done: bool = False) -> None:
    """One round's intent, logged as the coordinator logs it (the run messages as sent)."""
    log = IntentLog(path, lambda: True, table)
    log.begin(TXID, {0: [wire.pack(["runcommit", TXID, 99, cmds_of(table, *SHARD0)])],
                     2: [wire.pack(["run", TXID, 99, cmds_of(table, SHARD2[0])]),
                         wire.pack(["run", TXID, 99, cmds_of(table, SHARD2[1])])]})
    if done:
        log.done(TXID)
    log.close()


def redone(table: CommandTable, pending) -> dict[int, list]:
    """shard -> [(name, flags, args)] of what recovery redoes there, read by ``table``."""
    txid, parts = pending
    assert txid == TXID
    out = {}
    for shard, part in parts.items():
        now, cmds = logged_part(part)
        assert now == 99
        out[shard] = [(table.by_id[c[0] & wire.CMD_MASK].name, c[0] & ~wire.CMD_MASK, c[2]) for c in cmds]
    return out


EXPECTED = {0: list(SHARD0), 2: list(SHARD2)}


def test_recovery_by_a_build_with_a_command_inserted(tmp_path, monkeypatch):
    old, new = assembly.build_table(), shifted_table(monkeypatch)
    assert old.by_name[b"mset"].id != new.by_name[b"mset"].id
    path = str(tmp_path / "intent.log")
    write_intent(path, old)
    log = IntentLog(path, lambda: True, new)
    assert log.last == TXID
    assert redone(new, log.pending) == EXPECTED
    log.close()
    # Started anew under the new table's header: the pending intent is still there, and a
    # build with the old table again reads it right too.
    log = IntentLog(path, lambda: True, new)
    assert redone(new, log.pending) == EXPECTED
    log.close()
    log = IntentLog(path, lambda: True, old)
    assert redone(old, log.pending) == EXPECTED
    log.close()


def test_a_log_without_header_is_read_as_the_current_table(tmp_path):
    """Written by the build before headers: its ids are the current table's."""
    table = assembly.build_table()
    path = str(tmp_path / "intent.log")
    msg = wire.pack(["runcommit", TXID, 99, cmds_of(table, *SHARD0)])
    with open(path, "wb") as f:
        f.write(IntentLog._record(["done", TXID - 1]))
        f.write(IntentLog._record(["begin", TXID, {0: [msg], 2: [99, cmds_of(table, *SHARD2)]}]))
    log = IntentLog(path, lambda: True, table)
    assert log.last == TXID
    assert redone(table, log.pending) == EXPECTED
    log.close()
    with open(path, "rb") as f:
        last, pending, headed = intents.read(f.read(), table)
    assert (last, headed) == (TXID, True)  # (started anew, under the table's header)
    assert redone(table, pending) == EXPECTED


def test_done_leaves_nothing_pending_and_keeps_the_last_txid(tmp_path, monkeypatch):
    old, new = assembly.build_table(), shifted_table(monkeypatch)
    path = str(tmp_path / "intent.log")
    write_intent(path, old, done=True)
    log = IntentLog(path, lambda: True, new)
    assert (log.last, log.pending) == (TXID, None)
    log.close()


def test_truncation_starts_with_a_header(tmp_path, monkeypatch):
    old, new = assembly.build_table(), shifted_table(monkeypatch)
    path = str(tmp_path / "intent.log")
    monkeypatch.setattr(intents, "LOG_TRUNCATE_BYTES", 10)
    log = IntentLog(path, lambda: True, old)
    log.begin(TXID - 1, {0: [wire.pack(["run", TXID - 1, 1, cmds_of(old, *SHARD0)])]})
    log.done(TXID - 1)  # truncated
    log.close()
    with open(path, "rb") as f:
        assert intents.read(f.read(), old) == (0, None, True)
    write_intent(path, old)
    log = IntentLog(path, lambda: True, new)
    assert redone(new, log.pending) == EXPECTED
    log.close()


def test_a_log_under_the_current_header_is_kept(tmp_path):
    table = assembly.build_table()
    path = str(tmp_path / "intent.log")
    write_intent(path, table)
    inode = os.stat(path).st_ino
    log = IntentLog(path, lambda: True, table)
    assert os.stat(path).st_ino == inode
    assert redone(table, log.pending) == EXPECTED
    log.close()


def test_a_command_the_build_lacks_stops_recovery(tmp_path, monkeypatch):
    shifted = shifted_table(monkeypatch)
    path = str(tmp_path / "intent.log")
    log = IntentLog(path, lambda: True, shifted)
    log.begin(TXID, {0: [wire.pack(["run", TXID, 1, cmds_of(shifted, ("zzdummy", 0, [b"ZZDUMMY"]))])]})
    log.close()
    with pytest.raises(RuntimeError, match="zzdummy"):
        IntentLog(path, lambda: True, assembly.build_table())
