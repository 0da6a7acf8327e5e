"""Server commands answered by the router: COMMAND, CONFIG, INFO, TIME, LASTSAVE, SAVE, BGSAVE.

COMMAND answers from the command table. Redis' metadata that the table does not
hold is left out (DOCS has no arguments or history; INFO has no tips) or derived
from what it holds: the key specs are one range spec built from (first, last,
step), flagged RW for write commands and RO otherwise.

CONFIG covers the settings clients and tools ask about; values come from
cluster.toml (``router.cfg``). Settings this router applies live (maxclients,
client-query-buffer-limit) can be changed with CONFIG SET, in this router
process only; *shared* settings (client-output-buffer-limit,
notify-keyspace-events) go through the pub/sub hub to every router and, those
the shards use, to every shard; CONFIG SET answers once all have them. Every
other known setting answers Redis' immutable-config error.

INFO's keyspace, stats, errorstats and shardis sections need every shard's figures
(key counts, error replies by code): the router fans the internal ``__info`` out and
renders the text when all have answered. Process figures (memory, CPU) are summed
over every shardis process: the supervisor and its children (shards, coordinator,
routers). Error replies are counted where they are made: by the shards (their
commands' errors) and by each router (unknown commands, arity, its own commands').

SAVE and BGSAVE mean "fsync every shard": they run ``__sync`` on every shard
twice, the second round only after the first has answered, so that everything
sent before SAVE has been committed when the fsync runs.
"""

from __future__ import annotations

import collections
import hashlib
import os
import platform
import re
import resource
import sys
import time
from dataclasses import dataclass
from typing import Callable

from router.app import Slot
from router.connection import Container, help_reply, text
from router.pubsub import SHARD_SETTINGS
from shardis import REDIS_VERSION, __version__, errors, notify
from shardis.commands import INTERNAL, LOCAL, CommandSpec, CommandTable
from shardis.args import compile_glob, cstr
from shardis.resp import OK, ReplyError, Simple, Verbatim, encode, encode_error, string2ll

# ---------------------------------------------------------------- COMMAND

# Redis' order of command flags in COMMAND INFO; flags it hides are absent.
FLAG_ORDER = ("write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
              "blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast",
              "no_auth", "no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys",
              "allow_busy")
# Redis' ACL categories, in the order COMMAND INFO lists them.
ACL_ORDER = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
             "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
             "blocking", "dangerous", "connection", "transaction", "scripting")

COMMAND_HELP = (
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
)


def acl_categories(spec: CommandSpec) -> list[str]:
    """Declared categories plus those Redis implies from the flags, in Redis' order."""
    cats = {c.lstrip("@").lower() for c in spec.acl}
    flags = set(spec.flags)
    implied = {"write": "write", "admin": "admin", "pubsub": "pubsub", "fast": "fast",
               "blocking": "blocking"}
    cats.update(cat for flag, cat in implied.items() if flag in flags)
    if "admin" in flags:
        cats.add("dangerous")
    if "readonly" in flags and "scripting" not in cats:
        cats.add("read")
    if "fast" not in cats:
        cats.add("slow")
    return [c for c in ACL_ORDER if c in cats]


def key_specs(spec: CommandSpec) -> list:
    """One range key spec derived from (first, last, step); none for keyless commands."""
    if spec.first_key <= 0:
        return []
    last = spec.last_key - spec.first_key if spec.last_key >= 0 else spec.last_key
    # Shard channels (SSUBSCRIBE ...) sit where keys would, for Redis Cluster: not keys.
    flag = "not_key" if "pubsub" in spec.flags else "RW" if spec.write else "RO"
    return [{b"flags": [Simple(flag)],
             b"begin_search": {b"type": b"index", b"spec": {b"index": spec.first_key}},
             b"find_keys": {b"type": b"range", b"spec": {b"lastkey": last, b"keystep": spec.step,
                                                         b"limit": 0}}}]


def command_info(spec: CommandSpec) -> list:
    """COMMAND INFO's ten fields for one command."""
    flags = set(spec.flags)
    return [spec.name.encode(), spec.arity, [Simple(f) for f in FLAG_ORDER if f in flags],
            spec.first_key, spec.last_key, spec.step,
            [Simple("@" + c) for c in acl_categories(spec)], [], key_specs(spec),
            [command_info(s) for s in spec.subcommands.values()]]


def command_docs(spec: CommandSpec) -> dict:
    """COMMAND DOCS' map for one command; empty fields are left out, as Redis does."""
    out: dict = {}
    for field, value in (("summary", spec.summary), ("since", spec.since),
                         ("group", spec.group), ("complexity", spec.complexity)):
        if value:
            out[field.encode()] = value.encode()
    if spec.subcommands:
        out[b"subcommands"] = {s.name.encode(): command_docs(s) for s in spec.subcommands.values()}
    return out


def find_command(table: CommandTable, name: bytes) -> CommandSpec | None:
    """A public command by name, or a subcommand as ``parent|sub``."""
    parts = name.split(b"|")
    if len(parts) > 2:
        return None
    spec = table.lookup(parts[0])
    if spec is None or spec.route == INTERNAL:
        return None
    if len(parts) == 2:
        return spec.subcommands.get(parts[1].decode("latin-1").lower())
    return spec


def all_commands(table: CommandTable) -> list[CommandSpec]:
    """Every public command and, after each container, its subcommands."""
    out = []
    for spec in table.public():
        out.append(spec)
        out.extend(spec.subcommands.values())
    return out


def command_of_argv(table: CommandTable, argv: list[bytes]) -> CommandSpec | None:
    """Redis' lookupCommand over a full command line: a subcommand when it has them."""
    spec = table.lookup(argv[0])
    if spec is None or spec.route == INTERNAL:
        return None
    if len(argv) == 1 or not spec.subcommands:
        return spec
    return spec.subcommands.get(argv[1].decode("latin-1").lower())


class ListFilter:
    """COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]."""

    def __init__(self, args: list[bytes]) -> None:
        self.kind: bytes | None = None
        self.arg = b""
        i = 2
        while i < len(args):
            more = len(args) - 1 - i
            if args[i].lower() != b"filterby" or more != 2:
                raise ReplyError(errors.SYNTAX)
            kind = args[i + 1].lower()
            if kind not in (b"module", b"aclcat", b"pattern"):
                raise ReplyError(errors.SYNTAX)
            self.kind, self.arg = kind, args[i + 2]
            i += 3

    def matches(self, spec: CommandSpec) -> bool:
        if self.kind is None:
            return True
        if self.kind == b"module":
            return False  # shardis has no modules
        if self.kind == b"aclcat":
            return self.arg.decode("latin-1").lower() in acl_categories(spec)
        return compile_glob(self.arg, nocase=True)(spec.name.encode())


# ---------------------------------------------------------------- glob


class ConfigValueError(Exception):
    """A CONFIG SET value this setting refuses; the text is Redis' reason."""


def memtoull(v: bytes) -> int | None:
    """Redis' memory values: digits and an optional unit (b, k, kb, m, mb, g, gb); the
    product wraps around as Redis' unsigned long long does."""
    units = {b"": 1, b"b": 1, b"k": 1000, b"kb": 1024, b"m": 1000**2, b"mb": 1024**2,
             b"g": 1000**3, b"gb": 1024**3}
    digits = len(v) - len(v.lstrip(b"0123456789"))
    mul = units.get(v[digits:].lower())
    if v[:1] == b"-" or mul is None or digits >= 128:
        return None
    n = min(int(v[:digits]), 2**64 - 1) if digits else 0  # strtoull saturates
    return n * mul % 2**64


_STRTOLL = re.compile(rb"[ \t\n\v\f\r]*([+-]?[0-9]+)")


def strtoll_int(v: bytes) -> int | None:
    """``(int)strtoll(v, &end, 10)`` where the whole of ``v`` must be read (an empty ``v``
    reads as 0, as in C); None where it is not a number."""
    if not v:
        return 0
    m = _STRTOLL.fullmatch(v)
    if m is None:
        return None
    n = max(-(2**63), min(int(m.group(1)), 2**63 - 1))  # strtoll saturates
    return (n + 2**31) % 2**32 - 2**31


# Client classes of client-output-buffer-limit, and the limits shardis shows (and keeps)
# for those it does not apply: its normal clients get back-pressure instead, and it has
# no replicas.
OBUF_CLASSES = {b"normal": "normal", b"slave": "slave", b"replica": "slave", b"pubsub": "pubsub"}
OBUF_FIXED = {"normal": (0, 0, 0), "slave": (268435456, 67108864, 60)}


def parse_obuf_limit(v: bytes) -> str | None:
    """client-output-buffer-limit as Redis parses it: ``<class> <hard> <soft> <seconds>``
    repeated, split at single spaces, every class checked before any applies. The
    pubsub class's new value as cluster.toml spells it, or None where it names none."""
    parts = v.split(b" ") if v else []
    if len(parts) % 4:
        raise ConfigValueError(errors.OBUF_ARGS)
    values: dict[str, tuple[int, int, int]] = {}
    for i in range(0, len(parts), 4):
        cls = OBUF_CLASSES.get(parts[i].lower())
        if cls is None:
            raise ConfigValueError(errors.OBUF_CLASS)
        hard, soft, seconds = memtoull(parts[i + 1]), memtoull(parts[i + 2]), \
            strtoll_int(parts[i + 3])
        if hard is None or soft is None or seconds is None or seconds < 0:
            raise ConfigValueError(errors.OBUF_VALUES)
        values[cls] = (hard, soft, seconds)
    if any(values.get(cls, fixed) != fixed for cls, fixed in OBUF_FIXED.items()):
        raise ConfigValueError(errors.OBUF_PUBSUB_ONLY)
    return "%d %d %d" % values["pubsub"] if "pubsub" in values else None


def obuf_limit(cfg) -> str:
    """CONFIG GET client-output-buffer-limit: every class, as Redis shows them."""
    fixed = " ".join("%s %d %d %d" % (cls, *limits) for cls, limits in OBUF_FIXED.items())
    return "%s pubsub %d %d %d" % (fixed, *cfg.pubsub_limits())


def parse_keyspace_events(v: bytes) -> str:
    """notify-keyspace-events: Redis' letters, kept as given up to a NUL, where Redis'
    C loop stops (CONFIG GET shows them normalised, from the flags they make)."""
    letters = cstr(v).decode("latin-1")
    if notify.parse_flags(letters) is None:
        raise ConfigValueError(errors.KEYSPACE_EVENTS_LETTERS)
    return letters


def parse_uint(lo: int, hi: int) -> Callable[[bytes], int]:
    """An integer setting: Redis' integer rules, then its range."""

    def parse(v: bytes) -> int:
        n = string2ll(v)
        if n is None:
            raise ConfigValueError(errors.CONFIG_NOT_INTEGER)
        if not lo <= n <= hi:
            raise ConfigValueError(errors.CONFIG_RANGE % (lo, hi))
        return n

    return parse


def parse_memory(lo: int, hi: int) -> Callable[[bytes], int]:
    """A memory setting such as 64mb; the range is checked as a signed long long."""

    def parse(v: bytes) -> int:
        n = memtoull(v)
        if n is None:
            raise ConfigValueError(errors.CONFIG_NOT_MEMORY)
        if n >= 2**63:
            n -= 2**64
        if not lo <= n <= hi:
            raise ConfigValueError(errors.CONFIG_RANGE % (lo, hi))
        return n

    return parse


@dataclass(frozen=True)
class Param:
    """One CONFIG setting: how to read it and, if it can change live, how to set it."""

    name: str
    get: Callable[[object], str]
    parse: Callable[[bytes], object] | None = None  # None: immutable; it may return None: no change
    attr: str = ""                                   # the Config field a SET changes
    shared: bool = False                             # set on every router, through the hub


PARAMS = (
    Param("save", lambda cfg: ""),
    Param("appendonly", lambda cfg: "yes"),
    Param("appendfsync", lambda cfg: cfg.durability),
    Param("databases", lambda cfg: str(cfg.databases)),
    Param("maxmemory", lambda cfg: "0"),
    Param("maxmemory-policy", lambda cfg: "noeviction"),
    Param("port", lambda cfg: str(cfg.port)),
    Param("bind", lambda cfg: cfg.bind),
    Param("dir", lambda cfg: os.path.abspath(cfg.dir)),
    Param("maxclients", lambda cfg: str(cfg.maxclients), parse_uint(1, 2**32 - 1),
          "maxclients"),
    Param("timeout", lambda cfg: "0"),
    Param("tcp-keepalive", lambda cfg: "0"),
    Param("proto-max-bulk-len", lambda cfg: str(cfg.proto_max_bulk_len)),
    Param("client-query-buffer-limit", lambda cfg: str(cfg.client_query_buffer_limit),
          parse_memory(1 << 20, 2**63 - 1), "client_query_buffer_limit"),
    Param("client-output-buffer-limit", obuf_limit, parse_obuf_limit,
          "client_output_buffer_limit_pubsub", shared=True),
    Param("notify-keyspace-events",
          lambda cfg: notify.flags_string(notify.parse_flags(cfg.notify_keyspace_events)),
          parse_keyspace_events, "notify_keyspace_events", shared=True),
    Param("requirepass", lambda cfg: ""),
    Param("loglevel", lambda cfg: cfg.loglevel),
)

CONFIG_HELP = (
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
)


def find_param(name: bytes) -> Param | None:
    low = name.decode("latin-1").lower()
    for p in PARAMS:
        if p.name == low:
            return p
    return None


def config_get(cfg, patterns: list[bytes]) -> dict[bytes, bytes]:
    """Every setting a pattern matches and its value; an exact name echoes as given."""
    seen: set[str] = set()
    out: dict[bytes, bytes] = {}
    for pat in patterns:
        if not any(c in pat for c in b"[*?"):
            p = find_param(pat)
            if p is not None and p.name not in seen:
                seen.add(p.name)
                out[pat] = p.get(cfg).encode()
            continue
        for p in PARAMS:
            if p.name not in seen and compile_glob(pat, nocase=True)(p.name.encode()):
                seen.add(p.name)
                out[p.name.encode()] = p.get(cfg).encode()
    return out


def config_set(cfg, args: list[bytes]) -> dict:
    """CONFIG SET name value [name value ...]: all checked, then all applied, as Redis does.
    The shared settings are returned ({field: value}) for the caller to send to the hub."""
    if len(args) % 2:
        raise ReplyError(errors.SYNTAX)
    pairs = [(args[i], args[i + 1]) for i in range(2, len(args), 2)]
    chosen: list[Param] = []
    for name, _ in pairs:
        # The first bad name decides the error, as in Redis' configSetCommand.
        p = find_param(name)
        if p is None:
            raise ReplyError(errors.CONFIG_SET_UNKNOWN % text(name))
        if p in chosen:
            raise ReplyError(errors.CONFIG_SET_FAILED % (text(name), errors.CONFIG_DUPLICATE))
        if p.parse is None:
            raise ReplyError(errors.CONFIG_SET_FAILED % (text(name), errors.CONFIG_IMMUTABLE))
        chosen.append(p)
    values = []
    for p, (_, value) in zip(chosen, pairs):
        try:
            values.append(p.parse(value))
        except ConfigValueError as e:
            raise ReplyError(errors.CONFIG_SET_FAILED % (p.name, e.args[0])) from None
    shared = {}
    for p, v in zip(chosen, values):
        if v is None:
            continue
        if p.shared:
            shared[p.attr] = v
        else:
            setattr(cfg, p.attr, v)
    return shared


# ---------------------------------------------------------------- processes


def shardis_pids() -> list[int]:
    """This router and, when its parent is the shardis supervisor, every process it runs."""
    me, parent = os.getpid(), os.getppid()
    try:
        with open(f"/proc/{parent}/cmdline", "rb") as f:
            if b"shardis" not in f.read():
                return [me]
        with open(f"/proc/{parent}/task/{parent}/children") as f:
            children = [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        return [me]
    return [parent] + children


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of the given processes, summed (/proc/<pid>/statm)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        statm = _read(f"/proc/{pid}/statm")
        if statm:
            total += int(statm.split()[1]) * page
    return total


def cpu_seconds(pids: list[int]) -> tuple[float, float]:
    """(system, user) CPU seconds of the given processes, summed (/proc/<pid>/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    sys_t = user_t = 0
    for pid in pids:
        stat = _read(f"/proc/{pid}/stat")
        if stat:
            fields = stat[stat.rfind(")") + 2:].split()
            user_t += int(fields[11])
            sys_t += int(fields[12])
    return sys_t / tick, user_t / tick


def total_memory() -> int:
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def bytes_to_human(n: int) -> str:
    """Redis' bytesToHuman: 1023B, 1.00K, 2.50M ..."""
    if n < 1024:
        return f"{n}B"
    for i, unit in enumerate("KMGTP", 1):
        if n < 1024 ** (i + 1):
            return "%.2f%s" % (n / 1024**i, unit)
    return f"{n}B"


# ---------------------------------------------------------------- INFO

# Redis 7.0's sections in the order INFO shows them, then shardis' own (only when named,
# as a module's section would be). "all" and "everything" are every Redis section
# (shardis loads no modules, so they are the same); no argument is "default".
SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu",
            "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace",
            "shardis")
ALL_SECTIONS = frozenset(SECTIONS) - {"shardis"}
DEFAULT_SECTIONS = frozenset(("server", "clients", "memory", "persistence", "stats", "replication",
                              "cpu", "module_list", "errorstats", "cluster", "keyspace"))
TITLES = {"cpu": "CPU"}
# Sections that need every shard's figures (__info).
SHARD_SECTIONS = {"keyspace", "shardis", "errorstats", "stats"}


def info_sections(args: list[bytes]) -> set[str]:
    """The sections to show, as Redis' genInfoSectionDict and genRedisInfoString pick them:
    names compared without case (C string: up to a NUL), "default" adds the default
    ones, "all"/"everything" all of Redis', "module_list" means "modules", and a name no
    section has shows nothing."""
    names: set[str] = set() if args else set(DEFAULT_SECTIONS)
    for a in args:
        word = cstr(a).lower().decode("latin-1")
        if word == "default":
            names |= DEFAULT_SECTIONS
        elif word in ("all", "everything"):
            names |= ALL_SECTIONS
        else:
            names.add(word)
    if "module_list" in names:
        names.add("modules")
    return names & set(SECTIONS)


def gcc_version() -> str:
    """What the C compiler that built this Python calls itself (Redis shows its own)."""
    m = re.search(r"GCC (\d+\.\d+\.\d+)", platform.python_compiler())
    return m.group(1) if m else "0.0.0"


def _ratio(n: int, d: int) -> str:
    return "%.2f" % (n / d) if d else "0.00"


class InfoView:
    """The figures one INFO reply shows, gathered once and rendered per section. The
    fields are Redis 7.0.15's, in its order (with appendonly on: shardis logs every
    write); those shardis has no figure for show what an idle Redis shows."""

    def __init__(self, router, shards: list | None, pubsub: list | None = None) -> None:
        self.router = router
        self.cfg = router.cfg
        # per shard: [pid, map_size, used_bytes, [[keys, expires] per db], [[code, n] ...]]
        self.shards = shards
        self.pubsub = pubsub  # [channels, patterns, shard channels] over every router
        self.now = time.time()
        self.pids = shardis_pids()

    def server(self) -> list[tuple[str, object]]:
        r, u = self.router, platform.uname()
        run_id = hashlib.sha1(b"%d:%r" % (os.getpid(), r.started)).hexdigest()
        uptime = int(self.now - r.started)
        return [("redis_version", REDIS_VERSION), ("redis_git_sha1", "00000000"),
                ("redis_git_dirty", 0),
                ("redis_build_id", hashlib.sha1(__version__.encode()).hexdigest()[:16]),
                ("redis_mode", "standalone"), ("os", f"{u.system} {u.release} {u.machine}"),
                ("arch_bits", 64), ("monotonic_clock", "POSIX clock_gettime"),
                ("multiplexing_api", "epoll"), ("atomicvar_api", "c11-builtin"),
                ("gcc_version", gcc_version()), ("process_id", os.getpid()),
                ("process_supervised", "no"), ("run_id", run_id), ("tcp_port", self.cfg.port),
                ("server_time_usec", int(self.now * 1_000_000)),
                ("uptime_in_seconds", uptime), ("uptime_in_days", uptime // 86400),
                ("hz", 10), ("configured_hz", 10), ("lru_clock", int(self.now) & 0xFFFFFF),
                ("executable", sys.executable),
                ("config_file", "" if self.cfg.source.startswith("(") else self.cfg.source),
                ("io_threads_active", 0)]

    def clients(self) -> list[tuple[str, object]]:
        return [("connected_clients", len(self.router.clients)), ("cluster_connections", 0),
                ("maxclients", self.cfg.maxclients), ("client_recent_max_input_buffer", 0),
                ("client_recent_max_output_buffer", 0),
                ("blocked_clients", sum(1 for c in self.router.clients.values() if c.blocked_on)),
                ("tracking_clients", 0), ("clients_in_timeout_table", 0)]

    def memory(self) -> list[tuple[str, object]]:
        used = rss_bytes(self.pids)
        stats = self.router.stats
        peak = stats["used_memory_peak"] = max(stats["used_memory_peak"], used)
        system = total_memory()
        # (used_memory is every shardis process's resident memory: all of it overhead
        # to Redis' way of counting, the data being in LMDB's map, outside it)
        return [("used_memory", used), ("used_memory_human", bytes_to_human(used)),
                ("used_memory_rss", used), ("used_memory_rss_human", bytes_to_human(used)),
                ("used_memory_peak", peak), ("used_memory_peak_human", bytes_to_human(peak)),
                ("used_memory_peak_perc", "%.2f%%" % (used * 100 / peak if peak else 0)),
                ("used_memory_overhead", used), ("used_memory_startup", 0),
                ("used_memory_dataset", 0), ("used_memory_dataset_perc", "0.00%"),
                ("allocator_allocated", used), ("allocator_active", used),
                ("allocator_resident", used), ("total_system_memory", system),
                ("total_system_memory_human", bytes_to_human(system)),
                ("used_memory_lua", 0), ("used_memory_vm_eval", 0), ("used_memory_lua_human", "0B"),
                ("used_memory_scripts_eval", 0), ("number_of_cached_scripts", 0),
                ("number_of_functions", 0), ("number_of_libraries", 0),
                ("used_memory_vm_functions", 0), ("used_memory_vm_total", 0),
                ("used_memory_vm_total_human", "0B"), ("used_memory_functions", 0),
                ("used_memory_scripts", 0), ("used_memory_scripts_human", "0B"),
                ("maxmemory", 0), ("maxmemory_human", "0B"), ("maxmemory_policy", "noeviction"),
                ("allocator_frag_ratio", "1.00"), ("allocator_frag_bytes", 0),
                ("allocator_rss_ratio", "1.00"), ("allocator_rss_bytes", 0),
                ("rss_overhead_ratio", "1.00"), ("rss_overhead_bytes", 0),
                ("mem_fragmentation_ratio", "1.00"), ("mem_fragmentation_bytes", 0),
                ("mem_not_counted_for_evict", 0), ("mem_replication_backlog", 0),
                ("mem_total_replication_buffers", 0), ("mem_clients_slaves", 0),
                ("mem_clients_normal", 0), ("mem_cluster_links", 0), ("mem_aof_buffer", 0),
                ("mem_allocator", "libc"), ("active_defrag_running", 0),
                ("lazyfree_pending_objects", 0), ("lazyfreed_objects", 0)]

    def persistence(self) -> list[tuple[str, object]]:
        stats = self.router.stats
        return [("loading", 0), ("async_loading", 0), ("current_cow_peak", 0),
                ("current_cow_size", 0), ("current_cow_size_age", 0), ("current_fork_perc", "0.00"),
                ("current_save_keys_processed", 0), ("current_save_keys_total", 0),
                ("rdb_changes_since_last_save", 0), ("rdb_bgsave_in_progress", 0),
                ("rdb_last_save_time", self.router.lastsave), ("rdb_last_bgsave_status", "ok"),
                ("rdb_last_bgsave_time_sec", -1), ("rdb_current_bgsave_time_sec", -1),
                ("rdb_saves", stats["rdb_saves"]), ("rdb_last_cow_size", 0),
                ("rdb_last_load_keys_expired", 0), ("rdb_last_load_keys_loaded", 0),
                ("aof_enabled", 1), ("aof_rewrite_in_progress", 0),
                ("aof_rewrite_scheduled", 0), ("aof_last_rewrite_time_sec", -1),
                ("aof_current_rewrite_time_sec", -1), ("aof_last_bgrewrite_status", "ok"),
                ("aof_rewrites", 0), ("aof_rewrites_consecutive_failures", 0),
                ("aof_last_write_status", "ok"), ("aof_last_cow_size", 0),
                ("module_fork_in_progress", 0), ("module_fork_last_cow_size", 0),
                ("aof_current_size", 0), ("aof_base_size", 0), ("aof_pending_rewrite", 0),
                ("aof_buffer_length", 0), ("aof_pending_bio_fsync", 0), ("aof_delayed_fsync", 0)]

    def stats(self) -> list[tuple[str, object]]:
        stats = self.router.stats
        total = self.router.ncommands
        # The rate since the previous INFO on this router.
        now_ms = int(time.monotonic() * 1000)
        last_ms, last_total = stats["info_sample_ms"], stats["info_sample_commands"]
        ops = (total - last_total) * 1000 // (now_ms - last_ms) if last_ms and now_ms > last_ms else 0
        stats["info_sample_ms"], stats["info_sample_commands"] = now_ms, total
        channels, patterns, shard_channels = self.pubsub
        zero = ("total_net_repl_input_bytes", "total_net_repl_output_bytes")
        return [("total_connections_received", stats["connections"]),
                ("total_commands_processed", total), ("instantaneous_ops_per_sec", ops),
                ("total_net_input_bytes", self.router.net_input),
                ("total_net_output_bytes", self.router.net_output),
                *((name, 0) for name in zero),
                ("instantaneous_input_kbps", "0.00"), ("instantaneous_output_kbps", "0.00"),
                ("instantaneous_input_repl_kbps", "0.00"), ("instantaneous_output_repl_kbps", "0.00"),
                ("rejected_connections", stats["rejected_connections"]), ("sync_full", 0),
                ("sync_partial_ok", 0), ("sync_partial_err", 0), ("expired_keys", 0),
                ("expired_stale_perc", "0.00"), ("expired_time_cap_reached_count", 0),
                ("expire_cycle_cpu_milliseconds", 0), ("evicted_keys", 0), ("evicted_clients", 0),
                ("total_eviction_exceeded_time", 0), ("current_eviction_exceeded_time", 0),
                ("keyspace_hits", 0), ("keyspace_misses", 0),
                ("pubsub_channels", channels), ("pubsub_patterns", patterns),
                ("pubsubshard_channels", shard_channels), ("latest_fork_usec", 0),
                ("total_forks", 0), ("migrate_cached_sockets", 0),
                ("slave_expires_tracked_keys", 0), ("active_defrag_hits", 0),
                ("active_defrag_misses", 0), ("active_defrag_key_hits", 0),
                ("active_defrag_key_misses", 0), ("total_active_defrag_time", 0),
                ("current_active_defrag_time", 0), ("tracking_total_keys", 0),
                ("tracking_total_items", 0), ("tracking_total_prefixes", 0),
                ("unexpected_error_replies", 0),
                ("total_error_replies", sum(n for _, n in self._errors())),
                ("dump_payload_sanitizations", 0), ("total_reads_processed", self.router.reads),
                ("total_writes_processed", self.router.writes), ("io_threaded_reads_processed", 0),
                ("io_threaded_writes_processed", 0), ("reply_buffer_shrinks", 0),
                ("reply_buffer_expands", 0)]

    def replication(self) -> list[tuple[str, object]]:
        replid = hashlib.sha1(b"replid:%r" % self.router.started).hexdigest()
        return [("role", "master"), ("connected_slaves", 0),
                ("master_failover_state", "no-failover"), ("master_replid", replid),
                ("master_replid2", "0" * 40), ("master_repl_offset", 0),
                ("second_repl_offset", -1), ("repl_backlog_active", 0),
                ("repl_backlog_size", 1048576), ("repl_backlog_first_byte_offset", 0),
                ("repl_backlog_histlen", 0)]

    def cpu(self) -> list[tuple[str, object]]:
        sys_t, user_t = cpu_seconds(self.pids)
        own = resource.getrusage(resource.RUSAGE_THREAD)
        return [("used_cpu_sys", "%.6f" % sys_t), ("used_cpu_user", "%.6f" % user_t),
                ("used_cpu_sys_children", "0.000000"), ("used_cpu_user_children", "0.000000"),
                ("used_cpu_sys_main_thread", "%.6f" % own.ru_stime),
                ("used_cpu_user_main_thread", "%.6f" % own.ru_utime)]

    def modules(self) -> list[tuple[str, object]]:
        return []

    def commandstats(self) -> list[tuple[str, object]]:
        return []  # no per-command figures are kept (README)

    def _errors(self) -> list[tuple[str, int]]:
        """Error replies by code: this router's, and every shard's."""
        counts = collections.Counter({k[len("errorstat_"):]: n for k, n in self.router.stats.items()
                                      if k.startswith("errorstat_") and n})
        for shard in self.shards or ():
            for code, n in shard[4]:
                counts[code.decode("latin-1")] += n
        return sorted(counts.items())

    def errorstats(self) -> list[tuple[str, object]]:
        return [(f"errorstat_{code}", f"count={n}") for code, n in self._errors()]

    def latencystats(self) -> list[tuple[str, object]]:
        return []  # as Redis with latency-tracking off: no per-command latencies are kept

    def cluster(self) -> list[tuple[str, object]]:
        return [("cluster_enabled", 0)]

    def keyspace(self) -> list[tuple[str, object]]:
        out = []
        for db in range(self.cfg.databases):
            keys = sum(s[3][db][0] for s in self.shards)
            expires = sum(s[3][db][1] for s in self.shards)
            if keys:
                out.append((f"db{db}", f"keys={keys},expires={expires},avg_ttl=0"))
        return out

    def shardis(self) -> list[tuple[str, object]]:
        cfg = self.cfg
        out: list[tuple[str, object]] = [("shardis_version", __version__), ("shards", cfg.shards),
                                         ("routers", cfg.routers), ("durability", cfg.durability)]
        for i, (pid, map_size, used, counts, _) in enumerate(self.shards):
            keys = sum(c[0] for c in counts)
            out.append((f"shard{i}", f"pid={pid},keys={keys},map_size={map_size},"
                                     f"used_bytes={used}"))
        return out

    def render(self, sections: set[str]) -> Verbatim:
        parts = []
        for name in SECTIONS:
            if name in sections:
                lines = [f"# {TITLES.get(name, name.capitalize())}"]
                lines += [f"{k}:{v}" for k, v in getattr(self, name)()]
                parts.append("".join(line + "\r\n" for line in lines))
        return Verbatim("\r\n".join(parts).encode())


# ---------------------------------------------------------------- shard rounds


class _Then:
    """Owner of an internal fan-out's slot: calls ``then(reply)`` once every shard answered."""

    __slots__ = ("dirty", "then", "slot", "encode")

    def __init__(self, then: Callable[[bytes], None], encoder: Callable = encode) -> None:
        self.dirty = False
        self.then = then
        self.slot: Slot | None = None
        self.encode = encoder  # what Merger encodes the merged value with

    def flush(self) -> None:
        self.dirty = False
        self.then(self.slot[0])


def _ok(values: list) -> Simple:
    return OK


def fsync_all(router, then: Callable[[bytes], None]) -> None:
    """Fsync every shard once all that was sent before has committed; then ``then(reply)``."""
    spec = router.table.lookup(b"__sync")

    def round_(after: Callable[[bytes], None]) -> None:
        owner = _Then(after)
        owner.slot = router.fanout(owner, spec, 0, [b"__sync"], _ok)

    def second(reply: bytes) -> None:
        if reply.startswith(b"-"):
            then(reply)
        else:
            round_(then)

    round_(second)


def info_reply(router, owner, db: int, sections: set[str], pubsub: list | None):
    """INFO's reply value, or a Slot for ``owner`` when the shards' figures are needed."""
    if not sections & SHARD_SECTIONS:
        return InfoView(router, None, pubsub).render(sections)
    spec = router.table.lookup(b"__info")
    ndb = str(router.cfg.databases).encode()
    return router.fanout(owner, spec, db, [b"__info", ndb],
                         lambda shards: InfoView(router, shards, pubsub).render(sections))


def set_everywhere(conn, shared: dict) -> Slot:
    """Shared settings: to every router through the hub, then, those the shards use, to
    every shard; the reply (OK) once all have them, so the next command sees them."""
    router = conn.router
    slot, fill = answer_later(conn)
    encoder = conn.encode

    def shared_by_routers(version) -> None:
        if isinstance(version, ReplyError):
            fill(encode_error(version.args[0]))
            return
        for_shards = [(k, v) for k, v in shared.items() if k in SHARD_SETTINGS]
        if not for_shards:
            fill(encoder(OK))
            return
        args = [b"__config", b"%d" % version]
        for k, v in for_shards:
            args += [k.encode(), v.encode()]
        owner = _Then(fill, encoder)
        owner.slot = router.fanout(owner, router.table.lookup(b"__config"), 0, args, _ok)

    router.pubsub.share(shared, shared_by_routers)
    return slot


def answer_later(conn) -> tuple[Slot, Callable[[bytes], None]]:
    """A reply slot for ``conn`` and the function that fills it."""
    slot = Slot((None, conn))

    def fill(reply: bytes) -> None:
        slot[0] = reply
        if not conn.dirty:
            conn.dirty = True
            conn.flush()

    return slot, fill


def register(table: CommandTable) -> None:
    cmd = table.command
    register_command(table)
    register_config(table)

    @cmd("info", -1, "loading stale", route=LOCAL, group="server", since="1.0.0",
         summary="Get information and statistics about the server", complexity="O(1)",
         acl="@slow @dangerous")
    def info(conn, args):
        router = conn.router
        sections = info_sections(args[1:])
        if "stats" not in sections:
            return info_reply(router, conn, conn.db, sections, None)
        # The stats section counts the pub/sub channels of every router: the hub first.
        slot, fill = answer_later(conn)
        db, encoder = conn.db, conn.encode

        def counted(pubsub) -> None:
            if isinstance(pubsub, ReplyError):
                fill(encode_error(pubsub.args[0]))
                return
            owner = _Then(fill, encoder)
            v = info_reply(router, owner, db, sections, pubsub)
            if v.__class__ is Slot:
                owner.slot = v
            else:
                fill(encoder(v))

        router.pubsub.stats(counted)
        return slot

    @cmd("time", 1, "loading stale fast", route=LOCAL, group="server", since="2.6.0",
         summary="Return the current server time", complexity="O(1)", acl="@fast")
    def time_(conn, args):
        us = time.time_ns() // 1000
        return [b"%d" % (us // 1_000_000), b"%d" % (us % 1_000_000)]

    @cmd("lastsave", 1, "loading stale fast", route=LOCAL, group="server", since="1.0.0",
         summary="Get the UNIX time stamp of the last successful save to disk",
         complexity="O(1)", acl="@admin @fast @dangerous")
    def lastsave(conn, args):
        return conn.router.lastsave

    @cmd("save", 1, "admin noscript no_async_loading no_multi", route=LOCAL, group="server",
         since="1.0.0", summary="Synchronously save the dataset to disk",
         complexity="O(N) where N is the total number of keys in all databases",
         acl="@admin @slow @dangerous")
    def save(conn, args):
        router = conn.router
        slot, fill = answer_later(conn)

        def done(reply: bytes) -> None:
            if not reply.startswith(b"-"):
                router.lastsave = int(time.time())
                router.stats["rdb_saves"] += 1
            fill(reply)

        fsync_all(router, done)
        return slot

    @cmd("bgsave", -1, "admin noscript no_async_loading", route=LOCAL, group="server",
         since="1.0.0", summary="Asynchronously save the dataset to disk",
         complexity="O(N) where N is the total number of keys in all databases",
         acl="@admin @slow @dangerous")
    def bgsave(conn, args):
        if len(args) > 2 or (len(args) == 2 and args[1].lower() != b"schedule"):
            raise ReplyError(errors.SYNTAX)
        router = conn.router

        def done(reply: bytes) -> None:
            if not reply.startswith(b"-"):
                router.lastsave = int(time.time())
                router.stats["rdb_saves"] += 1

        fsync_all(router, done)
        return Simple("Background saving started")


def register_command(table: CommandTable) -> None:
    """COMMAND and its subcommands, answered from the table itself."""

    def command_all(conn, args):
        return [command_info(s) for s in table.public()]

    command = Container(table, "command", -1, group="server", since="2.8.13",
                        summary="Get array of Redis command details", flags="loading stale",
                        complexity="O(N) where N is the total number of Redis commands",
                        acl="@slow @connection", bare=command_all)
    sub = command.sub
    flags, acl = "loading stale", "@slow @connection"

    @sub("count", 2, flags, since="2.8.13", acl=acl, summary="Get total number of Redis commands")
    def command_count(conn, args):
        return len(table.public())

    @sub("info", -2, flags, since="2.8.13", acl=acl,
         complexity="O(N) where N is the number of commands to look up",
         summary="Get array of specific Redis command details, or all when no argument is given.")
    def command_info_(conn, args):
        if len(args) == 2:
            return command_all(conn, args)
        found = (find_command(table, name) for name in args[2:])
        return [command_info(s) if s is not None else None for s in found]

    @sub("docs", -2, flags, since="7.0.0", acl=acl,
         complexity="O(N) where N is the number of commands to look up",
         summary="Get array of specific Redis command documentation")
    def command_docs_(conn, args):
        specs = table.public() if len(args) == 2 else \
            [s for s in (find_command(table, n) for n in args[2:]) if s is not None]
        return {s.name.encode(): command_docs(s) for s in specs}

    @sub("list", -2, flags, since="7.0.0", acl=acl,
         complexity="O(N) where N is the total number of Redis commands",
         summary="Get an array of Redis command names")
    def command_list(conn, args):
        f = ListFilter(args)
        return [s.name.encode() for s in all_commands(table) if f.matches(s)]

    @sub("getkeys", -4, flags, since="2.8.13", acl=acl,
         complexity="O(N) where N is the number of arguments to the command",
         summary="Extract keys given a full Redis command")
    def command_getkeys(conn, args):
        argv = args[2:]
        spec = command_of_argv(table, argv)
        if spec is None:
            raise ReplyError(errors.GETKEYS_INVALID_COMMAND)
        if spec.first_key <= 0 and "movablekeys" not in spec.flags or "pubsub" in spec.flags:
            raise ReplyError(errors.GETKEYS_NO_KEYS)  # (shard channels are not keys)
        if not spec.arity_ok(len(argv)):
            raise ReplyError(errors.GETKEYS_ARITY)
        keys = spec.keys(argv)
        if not keys and "no_mandatory_keys" not in spec.flags:
            raise ReplyError(errors.GETKEYS_INVALID_ARGS)
        return keys

    @sub("help", 2, flags, since="5.0.0", acl=acl,
         summary="Show helpful text about the different subcommands")
    def command_help(conn, args):
        return help_reply(COMMAND_HELP)


def register_config(table: CommandTable) -> None:
    """CONFIG and its subcommands over ``router.cfg``."""
    config = Container(table, "config", -2, group="server", since="2.0.0",
                       summary="A container for server configuration commands")
    sub = config.sub
    admin, acl = "admin noscript loading stale", "@admin @slow @dangerous"

    @sub("get", -3, admin, since="2.0.0", acl=acl,
         complexity="O(N) when N is the number of configuration parameters provided",
         summary="Get the values of configuration parameters")
    def config_get_(conn, args):
        return config_get(conn.router.cfg, args[2:])

    @sub("set", -4, admin, since="2.0.0", acl=acl,
         complexity="O(N) when N is the number of configuration parameters provided",
         summary="Set configuration parameters to the given values")
    def config_set_(conn, args):
        shared = config_set(conn.router.cfg, args)
        if shared:
            return set_everywhere(conn, shared)
        return OK

    @sub("resetstat", 2, admin, since="2.0.0", acl=acl,
         summary="Reset the stats returned by INFO")
    def config_resetstat(conn, args):
        router = conn.router
        router.stats.clear()
        router.ncommands = router.reads = router.writes = router.net_input = router.net_output = 0
        # The shards' error counts too (they are the server's, over every router).
        slot, fill = answer_later(conn)
        owner = _Then(fill, conn.encode)
        owner.slot = router.fanout(owner, router.table.lookup(b"__info"), 0,
                                   [b"__info", b"%d" % router.cfg.databases, b"RESETSTAT"], _ok)
        return slot

    @sub("rewrite", 2, admin, since="2.8.0", acl=acl,
         summary="Rewrite the configuration file with the in memory configuration")
    def config_rewrite(conn, args):
        if conn.router.cfg.source.startswith("("):
            raise ReplyError(errors.CONFIG_NO_FILE)
        # cluster.toml is the operator's file: shardis does not rewrite it.
        raise ReplyError(errors.CONFIG_REWRITE_FAILED % os.strerror(95))

    @sub("help", 2, "loading stale", since="5.0.0", acl="@slow",
         summary="Show helpful text about the different subcommands")
    def config_help(conn, args):
        return help_reply(CONFIG_HELP)
