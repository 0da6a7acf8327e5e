"""The planner: how the requests of a round are cut into per-shard parts, and how each
request's reply is made from its parts' replies. No sockets here: the coordinator
(shardis/coord/coordinator.py) sends the parts and hands the replies back.

A plan is ``(parts, finish)``: ``parts`` is shard -> the commands queued for it,
``[(cid, db, args)]`` in arrival order (one ``run`` message per shard); ``finish`` is
``[(request, done)]``, where ``done(take)`` makes the request's encoded reply,
``take(shard)`` giving the next reply of that shard in the order its parts were
queued (``taker``). How a request is planned is its command's ``cross`` declaration
(shardis/commands.py): CROSS_PARTS split by ``split``, CROSS_JOIN (MSET) joined with
the shard's last MSET part, CROSS_EXEC a transaction's commands in order.
"""

from __future__ import annotations

from typing import Callable, Sequence

from shardis import errors, plan, wire
from shardis.commands import ALL, CROSS_EXEC, CROSS_JOIN, CROSS_PARTS, SCRIPT, CommandSpec, CommandTable
from shardis.resp import OK, ReplyError, encode_error
from shardis.resp import encode as encode2, encode3
from shardis.slots import key_slot

OK_REPLY = encode2(OK)  # (the same in RESP3)

Command = tuple[int, int, list[bytes]]        # (cid, db, args) as a shard runs it
Parts = dict[int, list[Command]]              # shard -> its commands, in queue order
Take = Callable[[int], object]                # take(shard): that shard's next reply
Done = Callable[[Take], object]               # done(take): a request's (encoded) reply
Encode = Callable[[object], bytes]


class Request:
    """One router request in a round: its reply, once known, goes back to its router."""

    __slots__ = ("ident", "rid", "cid", "db", "args", "spec", "reply", "encode", "shards")

    def __init__(self, ident: bytes, rid: int, cid: int, db: int, args: list[bytes],
                 spec: CommandSpec) -> None:
        self.ident = ident
        self.rid = rid
        self.cid = cid
        self.db = db
        self.args = args
        self.spec = spec
        # The encoded reply (bytes; a list of them for EXEC; None for an aborted EXEC), or
        # the coordinator's DEFERRED while its client waits.
        self.reply: object = None
        self.encode: Encode = encode3 if cid & wire.RESP3 else encode2
        # Each key's shard, as the router found them, if it sent them.
        self.shards: bytes | None = None


def taker(replies: dict[int, list]) -> Take:
    """take(shard): the next reply from that shard, in the order the parts were queued."""
    cursor = {i: 0 for i in replies}

    def take(shard: int) -> object:
        v = replies[shard][cursor[shard]]
        cursor[shard] += 1
        return v
    return take


def answer(parts: Parts, finish: list[tuple[Request, Done]],
           run: Callable[[Parts], dict[int, list]]) -> None:
    """Run the parts (``run``: shard -> commands, to shard -> replies) and give each
    request its reply."""
    take = taker(run(parts) if parts else {})
    for r, done in finish:
        r.reply = done(take)


def _unwatches(watched: list) -> dict[int, list]:
    """shard -> [[db, key], ...] of a transaction's watches ([[shard, epoch, db, key,
    version], ...])."""
    unwatch: dict[int, list] = {}
    for shard, _, db, key, _ in watched:
        unwatch.setdefault(shard, []).append([db, key])
    return unwatch


class Planner:
    """Plans for one cluster layout: ``slot_to_shard`` (slot -> shard) over ``shards``."""

    def __init__(self, table: CommandTable, slot_to_shard: list[int], shards: int) -> None:
        self.table = table
        self.slot_to_shard = slot_to_shard
        self.shards = shards
        self.unwatch_cid = table.by_name[b"__unwatch"].id | wire.RAW
        self.watchok_cid = table.by_name[b"__watchok"].id | wire.RAW
        # shard -> the CROSS_JOIN part others may join in this plan: (db, part, reply cell)
        self.joinable: dict[int, tuple[int, Command, list]] = {}

    def shard_of(self, key: bytes) -> int:
        return self.slot_to_shard[key_slot(key)]

    def spec_of(self, cid: int) -> CommandSpec:
        return self.table.by_id[cid & wire.CMD_MASK]

    # ------------------------------------------------------------ what runs together

    def together(self, r: Request) -> bool:
        """Whether a request's parts go out with the others of its step (CROSS_PARTS,
        CROSS_JOIN, a transaction that need not run alone); else it runs on its own."""
        cross = r.spec.cross
        if cross == CROSS_EXEC:
            return not self.alone(r)
        return cross in (CROSS_PARTS, CROSS_JOIN)

    def alone(self, r: Request) -> bool:
        """A transaction with WATCH, or with a composite command: it runs on its own."""
        watched, cmds = wire.unpack(r.args[1])
        return bool(watched) or any(self.composite(*c) for c in cmds)

    def composite(self, cid: int, db: int, args: list) -> bool:
        """A command whose keys span shards and that does not split into parts."""
        spec = self.spec_of(cid)
        if spec.route == SCRIPT or spec.name == "__as":
            return True  # (a script runs in the coordinator: it may reach any shard)
        if spec.route == ALL or spec.split is not None:
            return False
        shards = {self.shard_of(k) for k in spec.keys(args)}
        more = spec.reached(args)  # keys it reads besides its arguments (SORT's patterns)
        if more is None:
            return self.shards > 1
        shards.update(self.shard_of(k) for k in more)
        return len(shards) > 1

    # ------------------------------------------------------------ plans

    def plan(self, reqs: list[Request], aborted: set[int] | frozenset[int] = frozenset()
             ) -> tuple[Parts, list[tuple[Request, Done]]]:
        """Each request's parts, queued per shard in arrival order: (shard -> commands,
        [(request, the function that makes its reply from the parts' replies)]).
        ``aborted``: the ids (``id(request)``) of transactions whose WATCH failed. A
        request refused before any part (wrong arity) gets its reply here and no entry."""
        parts: Parts = {}
        finish: list[tuple[Request, Done]] = []
        self.joinable = {}
        for r in reqs:
            try:
                cross = r.spec.cross
                if cross == CROSS_JOIN:
                    finish.append((r, self.plan_join(r.cid, r.db, r.args, parts, r.shards)))
                elif cross == CROSS_EXEC:
                    finish.append((r, self.plan_exec(r, parts, id(r) in aborted)))
                else:
                    finish.append((r, self.plan_split(r.spec, r.cid, r.db, r.args, parts, r.encode,
                                                      r.shards)))
            except ReplyError as e:
                r.reply = encode_error(e.args[0])
        return parts, finish

    def plan_join(self, cid: int, db: int, args: list, parts: Parts,
                  shards: Sequence[int] | None = None) -> Done:
        """MSET's parts join the MSET its shard was last given in this step, when nothing
        was queued there since: one MSET of all their pairs, in arrival order, which is
        what running them one after another does (the last value of a key wins, events
        come in the same order); the shard runs one command instead of hundreds."""
        if len(args) < 3 or len(args) % 2 == 0:
            raise ReplyError(errors.WRONG_ARITY % self.spec_of(cid).name)
        by_shard: dict[int, list] = {}
        if shards is None or len(shards) * 2 + 1 != len(args):
            slot_to_shard = self.slot_to_shard
            shards = [slot_to_shard[key_slot(args[n])] for n in range(1, len(args), 2)]
        for shard, key, value in zip(shards, args[1::2], args[2::2]):
            pairs = by_shard.get(shard)
            if pairs is None:
                by_shard[shard] = [key, value]
            else:
                pairs.append(key)
                pairs.append(value)
        joinable = self.joinable
        pcid = (cid & wire.CMD_MASK) | wire.RAW
        cells: list[tuple[int, list, bool]] = []  # (shard, the shared reply cell, whether it takes)
        for shard, pairs in by_shard.items():
            queued = parts.get(shard)
            open_ = joinable.get(shard)
            if open_ is not None and open_[0] == db and open_[1][0] == pcid and queued \
                    and queued[-1] is open_[1]:
                open_[1][2].extend(pairs)
                cells.append((shard, open_[2], False))
                continue
            part: Command = (pcid, db, [args[0]] + pairs)
            if queued is None:
                parts[shard] = [part]
            else:
                queued.append(part)
            cell: list = [None]
            joinable[shard] = (db, part, cell)
            cells.append((shard, cell, True))

        def done(take: Take) -> object:
            err = None
            for shard, cell, takes in cells:
                if takes:
                    cell[0] = take(shard)
                if err is None:
                    err = wire.raw_error(cell[0])
            return encode_error(err.args[0]) if err is not None else OK_REPLY
        return done

    def plan_split(self, spec: CommandSpec, cid: int, db: int, args: list, parts: Parts,
                   encode: Encode, known: Sequence[int] | None = None) -> Done:
        """Queue one multi-key command's parts; returns a function that takes their
        replies (in queue order) and gives the encoded reply."""
        if spec.route == ALL:
            shard_parts = [(i, args) for i in range(self.shards)]
            merge = plan.merge_of(spec)
        else:
            keys = spec.keys(args)
            shards: Sequence[int] = known if known is not None and len(known) == len(keys) else \
                [self.shard_of(k) for k in keys]
            if len(set(shards)) <= 1:
                shard = shards[0] if shards else 0
                parts.setdefault(shard, []).append((cid & ~wire.RAW, db, args))
                return lambda take: take(shard)
            shard_parts, merge = plan.split(spec, args, shards)
        rcid = (cid & wire.CMD_MASK) | wire.RAW
        for shard, sub in shard_parts:
            parts.setdefault(shard, []).append((rcid, db, sub))

        def done(take: Take) -> object:
            values = [take(shard) for shard, _ in shard_parts]
            for v in values:
                err = wire.raw_error(v)
                if err is not None:
                    return encode_error(err.args[0])
            try:
                return encode(merge([wire.from_raw(v) for v in values]))
            except ReplyError as e:
                return encode_error(e.args[0])
        return done

    def plan_exec(self, r: Request, parts: Parts, aborted: bool) -> Done:
        """EXEC across shards: args[1] packs [watched, commands]; each command is run on
        its shard (or split over several); the reply is the list of their encoded
        replies, or None when WATCH aborted it. Watches are dropped either way."""
        watched, cmds = wire.unpack(r.args[1])
        unwatch = _unwatches(watched)
        if aborted:
            self.plan_unwatch(unwatch, parts)

            def nil(take: Take) -> object:
                for shard in unwatch:
                    take(shard)
                return None
            return nil
        encode = r.encode
        steps = []
        for cid, db, args in cmds:
            steps.append(self.plan_split(self.spec_of(cid), cid, db, args, parts, encode))
        self.plan_unwatch(unwatch, parts)

        def done(take: Take) -> object:
            out = [step(take) for step in steps]
            for shard in unwatch:
                take(shard)
            return out
        return done

    def plan_unwatch(self, unwatch: dict[int, list], parts: Parts) -> None:
        """Queue the ``__unwatch`` of a transaction's watches (``_unwatches``)."""
        for shard, items in unwatch.items():
            parts.setdefault(shard, []).append((self.unwatch_cid, 0, [b"__unwatch", wire.pack(items)]))

    def unwatch_parts(self, watched: list) -> Parts:
        """The parts that drop a transaction's watches, on their own."""
        parts: Parts = {}
        self.plan_unwatch(_unwatches(watched), parts)
        return parts

    # ------------------------------------------------------------ WATCH

    def watch_checks(self, execs: list[Request]) -> tuple[Parts, dict[int, list[int]]]:
        """The ``__watchok`` parts that compare the versions WATCH read, on every shard
        involved, and shard -> the ids (``id(request)``) of the requests each part checks
        for, in queue order."""
        checks: Parts = {}
        owners: dict[int, list[int]] = {}
        cid = self.watchok_cid
        for r in execs:
            watched = wire.unpack(r.args[1])[0]  # [[shard, epoch, db, key, version], ...]
            by_shard: dict[int, list] = {}
            for shard, epoch, db, key, version in watched:
                by_shard.setdefault(shard, [epoch, []])[1].append([db, key, version])
            for shard, (epoch, items) in by_shard.items():
                checks.setdefault(shard, []).append((cid, 0, [b"__watchok", wire.pack([epoch, items])]))
                owners.setdefault(shard, []).append(id(r))
        return checks, owners

    def check_watches(self, execs: list[Request], run: Callable[[Parts], dict[int, list]]) -> set[int]:
        """Run the watch checks (``run``: the round's, under its locks); the ids of the
        requests whose transaction must not run."""
        checks, owners = self.watch_checks(execs)
        replies = run(checks)
        aborted = set()
        for shard, rs in replies.items():
            for rid, ok in zip(owners[shard], rs):
                if ok != 1:
                    aborted.add(rid)
        return aborted

