"""INFO and TIME: the server's figures and its clock, answered by the router.

INFO's keyspace, stats, commandstats, errorstats, latencystats and shardis sections
need every shard's figures (key counts, error replies by code, per-command figures):
the router fans the internal ``__info`` out and renders the text when all have
answered. The stats, commandstats, errorstats and latencystats sections sum every
router's figures too: the hub polls the routers first (``metrics.router_figures``, as
/metrics does). Process figures (memory, CPU) are summed over every shardis process
(``router/procstats.py``). Error replies and commands are counted where they are
made: by the shards (their commands) and by each router (unknown commands, arity,
its own commands, what went through the coordinator); see shardis/cmdstats.py.
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
from typing import TYPE_CHECKING, Any

from shardis import REDIS_VERSION, __version__, cmdstats, configtable
from shardis.args import cstr
from shardis.commands import LOCAL, CommandTable
from shardis.resp import ReplyError, Verbatim, encode_error
from shardis.router import persistence
from shardis.router.later import Then, answer_later
from shardis.router.metrics import router_figures
from shardis.router.procstats import bytes_to_human, cpu_seconds, rss_bytes, shardis_pids, total_memory
from shardis.router.replies import Slot

if TYPE_CHECKING:
    from shardis.router.app import Client, Router

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
# Sections that need every shard's figures (__info), and every router's (the hub's poll).
SHARD_SECTIONS = {"keyspace", "shardis", "errorstats", "stats", "commandstats", "latencystats",
                  "persistence", "memory"}
ROUTER_SECTIONS = {"clients", "stats", "commandstats", "errorstats", "latencystats"}
# The routers' figures INFO stats sums (router_figures' keys).
SUMMED = ("commands", "connections", "rejected", "net_input", "net_output", "reads", "writes",
          "clients", "blocked")
_LATENCY_TRACKING = configtable.param("latency-tracking")
_PERCENTILES = configtable.param("latency-tracking-info-percentiles")


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


class InfoView:
    """The figures one INFO reply shows, gathered once and rendered per section. The
    fields are Redis 7.0.15's, in its order (with appendonly on: shardis logs every
    write); those shardis has no figure for show what an idle Redis shows."""

    def __init__(self, router: Router, shards: list | None, pubsub: list | None = None,
                 routers: list[dict] | None = None) -> None:
        self.router = router
        self.cfg = router.cfg
        # per shard: [pid, map_size, used_bytes, [[keys, expires] per db], [[code, n] ...],
        # {counter: n}, {gauge: n}, {command: [calls, ns, rejected, failed, histogram]}]
        self.shards = shards
        self.pubsub = pubsub  # [channels, patterns, shard channels] over every router
        # every router's router_figures (this one's alone when the hub did not answer)
        self.routers = routers if routers is not None else [router_figures(router)]
        self.totals = {k: sum(r.get(k, 0) for r in self.routers) for k in SUMMED}
        self._commands: dict[str, list] | None = None
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
        # (every router's clients: the hub's poll, as the stats section)
        return [("connected_clients", self.totals["clients"]), ("cluster_connections", 0),
                ("maxclients", self.cfg.maxclients), ("client_recent_max_input_buffer", 0),
                ("client_recent_max_output_buffer", 0),
                ("blocked_clients", self.totals["blocked"]),
                ("tracking_clients", 0), ("clients_in_timeout_table", 0)]

    def memory(self) -> list[tuple[str, object]]:
        used = rss_bytes(self.pids)
        stats = self.router.stats
        peak = stats["used_memory_peak"] = max(stats["used_memory_peak"], used)
        system = total_memory()
        # (used_memory is every shardis process's resident memory; the data is in LMDB's
        # map, outside it. used_memory_dataset is what maxmemory bounds: the bytes of the
        # LMDB pages the shards' data occupies (shardd/eviction.py), summed over shards;
        # INFO shardis has each shard's LMDB file in use, free pages included: used_bytes.)
        maxmemory = self.cfg.params.get("maxmemory", 0)
        policy = self.cfg.params.get("maxmemory-policy", "noeviction")
        shards = self.shards or ()
        dataset = sum(s[6].get(b"used_memory_dataset", 0) for s in shards)
        return [("used_memory", used), ("used_memory_human", bytes_to_human(used)),
                ("used_memory_rss", used), ("used_memory_rss_human", bytes_to_human(used)),
                ("used_memory_peak", peak), ("used_memory_peak_human", bytes_to_human(peak)),
                ("used_memory_peak_perc", "%.2f%%" % (used * 100 / peak if peak else 0)),
                ("used_memory_overhead", used), ("used_memory_startup", 0),
                ("used_memory_dataset", dataset),
                ("used_memory_dataset_perc", "%.2f%%" % (dataset * 100 / used if used else 0)),
                ("allocator_allocated", used), ("allocator_active", used),
                ("allocator_resident", used), ("total_system_memory", system),
                ("total_system_memory_human", bytes_to_human(system)),
                ("used_memory_lua", 0), ("used_memory_vm_eval", 0), ("used_memory_lua_human", "0B"),
                ("used_memory_scripts_eval", 0), ("number_of_cached_scripts", 0),
                ("number_of_functions", 0), ("number_of_libraries", 0),
                ("used_memory_vm_functions", 0), ("used_memory_vm_total", 0),
                ("used_memory_vm_total_human", "0B"), ("used_memory_functions", 0),
                ("used_memory_scripts", 0), ("used_memory_scripts_human", "0B"),
                ("maxmemory", maxmemory), ("maxmemory_human", bytes_to_human(maxmemory)),
                ("maxmemory_policy", policy),
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
        """The rdb_* fields: the coordinator's saves (router/persistence.py), the changes
        summed over the shards (their ``rdb_changes`` gauge)."""
        changes = sum(s[6].get(b"rdb_changes", 0) for s in self.shards or ())
        return [("loading", 0), ("async_loading", 0), ("current_cow_peak", 0),
                ("current_cow_size", 0), ("current_cow_size_age", 0), ("current_fork_perc", "0.00"),
                ("current_save_keys_processed", 0), ("current_save_keys_total", 0),
                *persistence.persistence_fields(self.router, changes), ("rdb_last_cow_size", 0),
                ("rdb_last_load_keys_expired", 0), ("rdb_last_load_keys_loaded", 0),
                ("aof_enabled", 1), ("aof_rewrite_in_progress", 0),
                ("aof_rewrite_scheduled", 0), ("aof_last_rewrite_time_sec", -1),
                ("aof_current_rewrite_time_sec", -1), ("aof_last_bgrewrite_status", "ok"),
                ("aof_rewrites", 0), ("aof_rewrites_consecutive_failures", 0),
                ("aof_last_write_status", "ok"), ("aof_last_cow_size", 0),
                ("module_fork_in_progress", 0), ("module_fork_last_cow_size", 0),
                ("aof_current_size", 0), ("aof_base_size", 0), ("aof_pending_rewrite", 0),
                ("aof_buffer_length", 0), ("aof_pending_bio_fsync", 0), ("aof_delayed_fsync", 0)]

    def shard_counter(self, name: str) -> int:
        """A counter summed over every shard (``__info``'s counters)."""
        key = name.encode()
        return sum(s[5].get(key, 0) for s in self.shards or ())

    def stats(self) -> list[tuple[str, object]]:
        stats = self.router.stats
        counter = self.shard_counter
        totals = self.totals
        total = totals["commands"]
        # The rate since the previous INFO on this router (of every router's commands).
        now_ms = int(time.monotonic() * 1000)
        last_ms, last_total = stats["info_sample_ms"], stats["info_sample_commands"]
        ops = max(0, (total - last_total) * 1000 // (now_ms - last_ms)) \
            if last_ms and now_ms > last_ms else 0
        stats["info_sample_ms"], stats["info_sample_commands"] = now_ms, total
        assert self.pubsub is not None, "asked of the hub first (info)"
        channels, patterns, shard_channels = self.pubsub
        zero = ("total_net_repl_input_bytes", "total_net_repl_output_bytes")
        return [("total_connections_received", totals["connections"]),
                ("total_commands_processed", total), ("instantaneous_ops_per_sec", ops),
                ("total_net_input_bytes", totals["net_input"]),
                ("total_net_output_bytes", totals["net_output"]),
                *((name, 0) for name in zero),
                ("instantaneous_input_kbps", "0.00"), ("instantaneous_output_kbps", "0.00"),
                ("instantaneous_input_repl_kbps", "0.00"), ("instantaneous_output_repl_kbps", "0.00"),
                ("rejected_connections", totals["rejected"]), ("sync_full", 0),
                ("sync_partial_ok", 0), ("sync_partial_err", 0),
                ("expired_keys", counter("expired_keys")),
                ("expired_stale_perc", "0.00"), ("expired_time_cap_reached_count", 0),
                ("expire_cycle_cpu_milliseconds", 0), ("evicted_keys", counter("evicted_keys")),
                ("evicted_clients", 0),
                ("total_eviction_exceeded_time", 0), ("current_eviction_exceeded_time", 0),
                ("keyspace_hits", counter("keyspace_hits")),
                ("keyspace_misses", counter("keyspace_misses")),
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
                ("dump_payload_sanitizations", 0), ("total_reads_processed", totals["reads"]),
                ("total_writes_processed", totals["writes"]), ("io_threaded_reads_processed", 0),
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

    def _command_figures(self) -> dict[str, list]:
        """Per command: every router's figures and every shard's, merged by name."""
        if self._commands is None:
            merged: dict[str, list] = {}
            for r in self.routers:
                cmdstats.merge(merged, r.get("cmdstats"))
            for shard in self.shards or ():
                if len(shard) > 7:
                    cmdstats.merge(merged, shard[7])
            # This INFO was counted when its handler returned, before these figures were
            # gathered; Redis counts an INFO after it answered: shown without it (its
            # time stays in the histogram; an INFO without calls before it shows none).
            this = merged.get("info")
            if this is not None and this[cmdstats.CALLS] > 0:
                this[cmdstats.CALLS] -= 1
            self._commands = merged
        return self._commands

    def commandstats(self) -> list[tuple[str, object]]:
        return list(cmdstats.commandstats_lines(self._command_figures()))

    def _errors(self) -> list[tuple[str, int]]:
        """Error replies by code: every router's, and every shard's."""
        counts: collections.Counter[str] = collections.Counter()
        for r in self.routers:
            for code, n in r.get("errors", ()):
                counts[code] += n
        for shard in self.shards or ():
            for code, n in shard[4]:
                counts[code.decode("latin-1")] += n
        return sorted(counts.items())

    def errorstats(self) -> list[tuple[str, object]]:
        return [(f"errorstat_{code}", f"count={n}") for code, n in self._errors()]

    def latencystats(self) -> list[tuple[str, object]]:
        """Per command, the percentiles latency-tracking-info-percentiles names (nothing
        with latency-tracking off), from the merged power-of-two histograms."""
        if not configtable.get_value(self.cfg, _LATENCY_TRACKING):
            return []
        text = str(configtable.get_value(self.cfg, _PERCENTILES))
        ps = [float(p) for p in text.split()]
        return list(cmdstats.latencystats_lines(self._command_figures(), ps))

    def cluster(self) -> list[tuple[str, object]]:
        return [("cluster_enabled", 0)]

    def keyspace(self) -> list[tuple[str, object]]:
        assert self.shards is not None, "a shard section: __info's figures were asked for"
        out: list[tuple[str, object]] = []
        for db in range(self.cfg.databases):
            keys = sum(s[3][db][0] for s in self.shards)
            expires = sum(s[3][db][1] for s in self.shards)
            if keys:
                out.append((f"db{db}", f"keys={keys},expires={expires},avg_ttl=0"))
        return out

    def shardis(self) -> list[tuple[str, object]]:
        cfg = self.cfg
        assert self.shards is not None, "a shard section: __info's figures were asked for"
        out: list[tuple[str, object]] = [("shardis_version", __version__), ("shards", cfg.shards),
                                         ("routers", cfg.routers), ("durability", cfg.durability)]
        for i, (pid, map_size, used, counts, *_) in enumerate(self.shards):
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


def info_reply(router: Router, owner, db: int, sections: set[str], pubsub: list | None,
               routers: list[dict] | None = None):
    """INFO's reply value, or a Slot for ``owner`` when the shards' figures are needed."""
    if not sections & SHARD_SECTIONS:
        return InfoView(router, None, pubsub, routers).render(sections)
    spec = router.table.by_name[b"__info"]
    ndb = str(router.cfg.databases).encode()
    return router.fanout(owner, spec, db, [b"__info", ndb],
                         lambda shards: InfoView(router, shards, pubsub, routers).render(sections))


# ---------------------------------------------------------------- the handlers


def info(conn: Client, args: list[bytes]) -> Verbatim | Slot:
    router = conn.router
    sections = info_sections(args[1:])
    if not sections & ROUTER_SECTIONS:
        return info_reply(router, conn, conn.db, sections, None)
    # Every router's figures (the hub polls them), then for the stats section the
    # pub/sub channels of every router (the hub again), then the shards'.
    slot, fill = answer_later(conn)
    db, encoder = conn.db, conn.encode
    got: dict[str, Any] = {}

    def counted(pubsub) -> None:
        if isinstance(pubsub, ReplyError):
            fill(encode_error(pubsub.args[0]))
            return
        owner = Then(fill, encoder)
        v = info_reply(router, owner, db, sections, pubsub, got.get("routers"))
        if v.__class__ is Slot:
            owner.slot = v
        else:
            fill(encoder(v))

    def polled(value: object) -> None:
        if isinstance(value, list):
            got["routers"] = [v for _, v in value if isinstance(v, dict)]
        # (else the hub is away: this router's figures alone)
        if "stats" in sections:
            router.pubsub.stats(counted)
        else:
            counted(None)

    router.pubsub.poll(None, ["metrics"], polled)
    return slot


def time_(conn: Client, args: list[bytes]) -> list[bytes]:
    us = time.time_ns() // 1000
    return [b"%d" % (us // 1_000_000), b"%d" % (us % 1_000_000)]


def register(table: CommandTable) -> None:
    cmd = table.command
    cmd("info", -1, "loading stale", route=LOCAL, group="server", since="1.0.0",
        summary="Get information and statistics about the server", complexity="O(1)",
        acl="@slow @dangerous")(info)
    cmd("time", 1, "loading stale fast", route=LOCAL, group="server", since="2.6.0",
        summary="Return the current server time", complexity="O(1)", acl="@fast")(time_)
