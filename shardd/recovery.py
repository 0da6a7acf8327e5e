"""Reading a write-ahead log back: the ids it names mapped to this build's.

A log's messages name commands by their ids in the table of the build that wrote it
(shardd/wal.py); its header lists that table's names. ``Translation`` maps each
logged id to the current table's id by name, keeping the flag bits above
``wire.CMD_MASK``, inside ``__exec``'s packed commands too, so a build that
registers its commands in another order replays the same commands.
"""

from __future__ import annotations

from shardis import wire
from shardis.commands import CommandTable


class Translation:
    """Logged command ids -> this table's. ``identity``: nothing to map (the log was
    written by a table with the same names in the same order, or before headers)."""

    def __init__(self, table: CommandTable, logged: list[str] | None, where: str = "") -> None:
        self.logged = logged
        self.where = where
        self.identity = logged is None or logged == table.names()
        self.ids = [] if self.identity or logged is None else table.translate(logged)
        self.exec_id = table.by_name[b"__exec"].id

    def cid(self, cid: int) -> int:
        """One logged id (flag bits kept); -1, an aborted EXEC's marker, stays."""
        if cid < 0 or self.identity:
            return cid
        old = cid & wire.CMD_MASK
        new = self.ids[old] if old < len(self.ids) else -1
        if new < 0:
            logged = self.logged or []
            name = logged[old] if old < len(logged) else f"#{old}"
            raise SystemExit(f"{self.where}the write-ahead log holds command {name!r}, which this "
                             "build lacks; replay it with the build that wrote it")
        return new | (cid & ~wire.CMD_MASK)

    def commands(self, cmds: list) -> list:
        """[[cid, db, args], ...] with this table's ids (``__exec``'s own commands too)."""
        out = []
        for cid, db, args in cmds:
            cid = self.cid(cid)
            if cid & wire.CMD_MASK == self.exec_id and len(args) > 1:
                epoch, watched, inner, token = wire.unpack(args[1])
                args = [args[0], wire.pack([epoch, watched, self.commands(inner), token]), *args[2:]]
            out.append([cid, db, args])
        return out

    def payloads(self, payloads: list[bytes]) -> list[bytes]:
        """A logged batch's messages ``[batch id, commands]``, with this table's ids."""
        if self.identity:
            return payloads
        out = []
        for p in payloads:
            bid, cmds = wire.unpack(p)
            out.append(wire.pack((bid, self.commands(cmds))))
        return out

    def injected(self, injected: list) -> list:
        """A logged batch's served waiters ``[message, done, cid, db, args]``."""
        if self.identity:
            return injected
        return [[i, done, self.cid(cid), db, args] for i, done, cid, db, args in injected]
