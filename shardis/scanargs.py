"""SCAN's arguments and the walk of its cursor (a hash slot) over the shards' runs of
slots: shared by the router's SCAN and a script's (shardd/scripting.py)."""

from __future__ import annotations

from shardis import errors
from shardis.args import Options, int_arg, scan_cursor
from shardis.resp import ReplyError
from shardis.slots import NSLOTS


class ScanArgs:
    """SCAN cursor [MATCH pattern] [COUNT count] [TYPE type], parsed in Redis' order."""

    __slots__ = ("cursor", "pattern", "count", "type")

    def __init__(self, args: list[bytes]) -> None:
        self.cursor = scan_cursor(args[1])
        self.pattern = b"*"
        self.count = 10
        self.type: bytes | None = None
        opts = Options(args, 2)
        while opts.more():
            if opts.eat(b"count", 1):
                self.count = int_arg(opts.take())
                if self.count < 1:
                    raise ReplyError(errors.SYNTAX)
            elif opts.eat(b"match", 1):
                self.pattern = opts.take()
            elif opts.eat(b"type", 1):
                self.type = opts.take()
            else:
                raise ReplyError(errors.SYNTAX)


def run_ends(slot_to_shard: list[int]) -> list[int]:
    """For each slot, the first slot after it that another shard owns (or NSLOTS)."""
    ends = [NSLOTS] * NSLOTS
    for s in range(NSLOTS - 2, -1, -1):
        ends[s] = ends[s + 1] if slot_to_shard[s + 1] == slot_to_shard[s] else s + 1
    return ends
