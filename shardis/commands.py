"""The command table: every command declares its name, arity, flags, keys and route.

A family module declares its commands in ``register(table)``; ``build_table``
(shardis/assembly.py) calls each family explicitly. The router routes from these specs alone:

route   where it runs
------  -----------------------------------------------------------------
LOCAL   in the router (connection and server commands); handler(conn, args)
KEYS    on the shard owning its keys; handler(ks, db, args). When the keys
        span shards, ``split`` says how: SPLIT_* below, or None for
        Redis Cluster's CROSSSLOT error.
ALL     on every shard, replies merged by ``split``; handler(ks, db, args)
COORD   through the coordinator when its keys span shards, else as KEYS
INTERNAL  shard-side only, sent by routers and the coordinator, never by clients
SCRIPT  a script (EVAL, FCALL ...): on its declared keys' shard, else through the
        coordinator; router/scripting.py decides, shardd/scripting.py runs it

How the coordinator runs a command that reaches it (``CommandSpec.cross``; its keys
span shards, or it is one of the coordinator's own): CROSS_* below. Undeclared, it is
CROSS_PARTS for a command that declares ``split`` and CROSS_OP for the others.

Arity uses Redis' convention: N means exactly N arguments (name included),
-N means at least N.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from shardis.config import Config

LOCAL, KEYS, ALL, COORD, INTERNAL = "local", "keys", "all", "coord", "internal"
SCRIPT = "script"  # EVAL, FCALL ...: routed by router/scripting.py (see shardd/scripting.py)

# How a multi-key or all-shard command's parts are merged.
SPLIT_POSITIONAL = "positional"  # MGET: one reply per key, in the keys' order
SPLIT_SUM = "sum"                # DEL, EXISTS: integers added
SPLIT_OK = "ok"                  # MSET, FLUSHDB: +OK once every part said so
SPLIT_CONCAT = "concat"          # KEYS: arrays joined
SPLIT_RANDOM = "random"          # RANDOMKEY: any non-nil part

# How the coordinator runs a command (shardis/coord/planner.py).
CROSS_OP = "op"          # alone in its step: an operation of its own (coordinator.build_ops),
                         # else its handler in the coordinator's scratch store
CROSS_PARTS = "parts"    # one part per shard (``split``), sent out with the step's other parts
CROSS_JOIN = "join"      # as CROSS_PARTS, key/value pairs answered +OK (MSET): a part joins the
                         # same command's part queued last on its shard, one command for both
CROSS_EXEC = "exec"      # a transaction across shards (EXEC): its commands' parts, together
                         # unless it has WATCHes or a command that is itself CROSS_OP
CROSS_CANCEL = "cancel"  # a client that waited in the coordinator went away: drop its wait
CROSSINGS = frozenset((CROSS_OP, CROSS_PARTS, CROSS_JOIN, CROSS_EXEC, CROSS_CANCEL))


@dataclass(slots=True)
class CommandSpec:
    """One command as the router and shards see it."""

    name: str                     # lower case, as COMMAND shows it
    arity: int
    flags: tuple[str, ...]        # Redis' flags: write, readonly, fast, denyoom ...
    first_key: int
    last_key: int
    step: int
    handler: Callable | None
    route: str = KEYS
    split: str | None = None
    group: str = "generic"
    summary: str = ""
    since: str = "1.0.0"
    complexity: str = ""
    acl: tuple[str, ...] = ()
    subcommands: dict[str, "CommandSpec"] = field(default_factory=dict)
    id: int = -1                  # index in the table, sent on the wire instead of the name
    write: bool = False
    blocking: bool = False        # may wait for data (BLPOP ...): see shardd/blocking.py
    one_key: bool = False         # set by CommandTable.add: routed by args[1] alone
    # Hot commands only: handler(ks, db, args) -> the RESP2 reply bytes themselves,
    # same reply as ``encode(handler(...))`` without building a value first.
    resp2: Callable | None = None
    # Commands whose keys move (numkeys, STORE ...): getkeys(args) -> the key arguments.
    getkeys: Callable | None = None
    # Commands that read keys their arguments do not name (SORT's BY and GET patterns):
    # reach(args) -> one key in the slot of each such key, or None when they may lie in
    # any slot. The router (and the coordinator, inside EXEC) routes by these too.
    reach: Callable | None = None
    # How the coordinator runs it: CROSS_* ("": derived from ``split``, see __post_init__).
    cross: str = ""

    def __post_init__(self) -> None:
        self.write = "write" in self.flags
        self.blocking = "blocking" in self.flags
        if not self.cross:
            self.cross = CROSS_PARTS if self.split is not None else CROSS_OP
        elif self.cross not in CROSSINGS:
            raise ValueError(f"command {self.name}: cross={self.cross!r} is none of {sorted(CROSSINGS)}")

    def keys(self, args: list[bytes]) -> list[bytes]:
        """The key arguments of ``args``, by (first, last, step)."""
        if self.getkeys is not None:
            try:
                return self.getkeys(args)
            except (ValueError, IndexError, TypeError):
                return []  # malformed: the command itself gives Redis' error wherever it runs
        if self.first_key <= 0:
            return []
        last = self.last_key if self.last_key >= 0 else len(args) + self.last_key
        return args[self.first_key:last + 1:self.step]

    def reached(self, args: list[bytes]) -> list[bytes] | None:
        """Keys standing for the slots of the other keys the command reads (``reach``):
        [] when there are none, None when they may lie in any slot."""
        if self.reach is None:
            return []
        try:
            return self.reach(args)
        except (ValueError, IndexError, TypeError):
            return []  # malformed: the command itself gives Redis' error wherever it runs

    def arity_ok(self, n: int) -> bool:
        a = self.arity
        return n == a if a > 0 else n >= -a


class CommandTable:
    """Name -> spec, plus the id -> spec list shards index by."""

    def __init__(self) -> None:
        self.by_name: dict[bytes, CommandSpec] = {}
        self.by_id: list[CommandSpec] = []

    def add(self, spec: CommandSpec) -> None:
        # The router's hot path: exactly one key, at args[1], nothing else to look at.
        spec.one_key = (spec.route == KEYS and spec.first_key == 1 and spec.last_key == 1
                        and spec.getkeys is None)
        key = spec.name.encode()
        if key in self.by_name:
            raise ValueError(f"command {spec.name} registered twice")
        spec.id = len(self.by_id)
        self.by_id.append(spec)
        self.by_name[key] = spec
        self.by_name[key.upper()] = spec

    def command(self, name: str, arity: int, flags: str, first: int = 0, last: int = 0,
                step: int = 0, *, route: str = KEYS, split: str | None = None,
                group: str = "generic", summary: str = "", since: str = "1.0.0",
                complexity: str = "", acl: str = "", keys: Callable | None = None,
                reach: Callable | None = None, cross: str = "") -> Callable[[Callable], Callable]:
        """Decorator form of ``add`` used by the family modules' ``register``.

        ``keys``: for commands with movable keys, a function args -> key arguments
        (may raise ValueError/IndexError on malformed arguments); ``reach``: see
        ``CommandSpec.reach``; ``cross``: see ``CommandSpec.cross`` (CROSS_*)."""

        def deco(fn: Callable) -> Callable:
            spec = CommandSpec(name, arity, tuple(flags.split()), first, last, step, fn,
                               route, split, group, summary, since, complexity,
                               tuple(acl.split()), cross=cross)
            spec.getkeys = keys
            spec.reach = reach
            self.add(spec)
            return fn

        return deco

    def resp2(self, name: str) -> Callable[[Callable], Callable]:
        """Decorator: ``name``'s RESP2 fast path (see ``CommandSpec.resp2``)."""

        def deco(fn: Callable) -> Callable:
            self.by_name[name.encode()].resp2 = fn
            return fn

        return deco

    def lookup(self, name: bytes) -> CommandSpec | None:
        spec = self.by_name.get(name)
        if spec is None:
            spec = self.by_name.get(name.lower())
        return spec

    def lookup_argv(self, argv: list[bytes]) -> CommandSpec | None:
        """Redis' lookupCommand over a full command line: the subcommand for a container
        (None for an unknown one), None for an internal command."""
        spec = self.lookup(argv[0])
        if spec is None or spec.route == INTERNAL:
            return None
        if len(argv) == 1 or not spec.subcommands:
            return spec
        return spec.subcommands.get(argv[1].decode("latin-1").lower())

    def names(self) -> list[str]:
        """Every command's name in id order: what a log on disk records in its header, so
        that a later build (whose ids may differ) replays it by name (``translate``)."""
        return [s.name for s in self.by_id]

    def translate(self, names: list[str]) -> list[int]:
        """For a log written by a table whose ``names()`` were ``names``: its id -> this
        table's id (-1 where this table lacks the command)."""
        return [self.by_name[n.encode()].id if n.encode() in self.by_name else -1 for n in names]

    def public(self) -> list[CommandSpec]:
        return [s for s in self.by_id if s.route != INTERNAL]


class Round(Protocol):
    """What a cross-shard operation (a family's ``register_cross``: RENAME, COPY, SORT ...
    whose keys span shards) may ask of the coordinator, inside the round it runs in."""

    cfg: Config  # the server's configuration (databases, proto-max-bulk-len ...)
    table: "CommandTable"
    nshards: int
    slot_to_shard: list[int]
    scripts: dict[bytes, bytes]   # the script cache of record: SHA -> body
    libraries: dict[bytes, Any]   # FUNCTION libraries compiled in the coordinator, by code

    def shard_of(self, key: bytes) -> int:
        """The shard that owns ``key``."""
        ...

    def call(self, shard: int, db: int, name: bytes | str, *args: bytes | str | int) -> Any:
        """One command on one shard: its reply value (an error reply is raised)."""
        ...

    def call_each(self, db: int, calls: dict[int, list[bytes]]) -> dict[int, Any]:
        """One command (its arguments, name first) on each of several shards at once."""
        ...

    def command(self, db: int, argv: list[bytes], resp: int = 2) -> Any:
        """One command wherever its keys lie, as on one shard (a script's redis.call)."""
        ...

    def lua(self) -> Any:
        """The coordinator's Lua state (shardis.scripting.Engine)."""
        ...

    def run_ends(self) -> list[int]:
        """For each slot, the first slot after it another shard owns (SCAN's walk)."""
        ...

    def publish(self, kind: int, channel: bytes, message: bytes) -> int:
        """A script's PUBLISH / SPUBLISH: sent through the hub; the receivers."""
        ...

    def busy(self, running: Any) -> None:
        """A script has run past busy-reply-threshold: serve SCRIPT KILL meanwhile."""
        ...


# A cross-shard operation: (the round, db, the command's arguments) -> its reply value.
CrossOp = Callable[[Round, int, list[bytes]], Any]

