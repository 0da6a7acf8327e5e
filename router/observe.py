"""SLOWLOG and LATENCY over every router and shard.

SLOWLOG GET / LEN / RESET / HELP over every router's slow log (shardis/slowlog.py).

Each router logs the commands that took at least ``slowlog-log-slower-than``
microseconds where they ran: its own (timed in the router), the coordinator's rounds
(timed from the router: the round's whole time) and the shards' (timed in the shard,
reported to the router with the batch's replies, only when slow). SLOWLOG asks every
router through the hub and merges: newest first, ``slowlog-max-len`` entries at most
server-wide. A router command that answers later (DEBUG SLEEP, WAIT) counts the time
its handler took, not the wait.

LATENCY LATEST / HISTORY / RESET / DOCTOR / HISTOGRAM / HELP over every router's and
every shard's events (shardis/latency.py; the routers' through the hub, the shards'
through ``__info``), merged second by second.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

from shardis import cmdstats, configtable, errors, latency, slowlog
from shardis.commands import CommandTable
from shardis.resp import OK, ReplyError, Simple, Verbatim, encode_error
from shardis.router.connection import Container, ask_routers, help_reply, text
from shardis.router.later import Then, answer_later
from shardis.router.replies import Slot

if TYPE_CHECKING:
    from shardis.router.app import Client

SLOWLOG_HELP = (
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
)
COUNT_ERROR = "ERR count should be greater than or equal to -1"
_MAX_LEN = configtable.param("slowlog-max-len")
NO_SAMPLES = "ERR No samples available for event '%s'"
_THRESHOLD = configtable.param("latency-monitor-threshold")
_SLOWER_THAN = configtable.param("slowlog-log-slower-than")
_APPENDFSYNC = configtable.param("appendfsync")
LATENCY_HELP = (
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the "
    "specified command names.",
    "    If no commands are specified then all histograms are replied.",
)


def _count(arg: bytes) -> int:
    """SLOWLOG GET's count, as getRangeLongFromObjectOrReply reads it (-1: all)."""
    try:
        n = int(arg) if arg.strip() == arg and arg[:1] != b"+" else None
    except ValueError:
        n = None
    if n is None or n < -1 or n > 2**63 - 1:
        raise ReplyError(COUNT_ERROR)
    return n


def slowlog_get(conn: Client, args: list[bytes]) -> Slot:
    if len(args) > 3:
        raise ReplyError(errors.SUBCOMMAND_SYNTAX % (text(args[1]), "SLOWLOG"))
    count = _count(args[2]) if len(args) == 3 else 10
    max_len = int(configtable.get_value(conn.router.cfg, _MAX_LEN))
    return ask_routers(conn, None, ["slowlog-get"],
                       lambda parts: slowlog.merged(parts, count, max_len))


def slowlog_len(conn: Client, args: list[bytes]) -> Slot:
    max_len = int(configtable.get_value(conn.router.cfg, _MAX_LEN))
    return ask_routers(conn, None, ["slowlog-len"],
                       lambda parts: min(max_len, sum(n for n in parts if isinstance(n, int))))


def slowlog_reset(conn: Client, args: list[bytes]) -> Slot:
    return ask_routers(conn, None, ["slowlog-reset"], lambda parts: OK)


def slowlog_help(conn: Client, args: list[bytes]) -> list[Simple]:
    return help_reply(SLOWLOG_HELP)


# ---------------------------------------------------------------- LATENCY


def everywhere(conn: Client, poll: list, extra: list[bytes],
               done: Callable[[list[dict], list], object]) -> Slot:
    """Ask every router (the hub's poll ``poll``), then every shard (``__info`` with
    ``extra``); ``done(routers' answers, shards' __info)`` is the client's reply value."""
    router = conn.router
    slot, fill = answer_later(conn)
    encoder = conn.encode
    db = conn.db

    def polled(value: object) -> None:
        if isinstance(value, ReplyError):
            fill(encode_error(value.args[0]))
            return
        assert isinstance(value, list), "the hub answers a poll with a list"
        routers = [v for _, v in value if isinstance(v, dict)]
        owner = Then(fill, encoder)
        args = [b"__info", b"%d" % router.cfg.databases, *extra]
        owner.slot = router.fanout(owner, router.table.by_name[b"__info"], db, args,
                                   lambda shards: done(routers, shards))

    router.pubsub.poll(None, poll, polled)
    return slot


def _events(routers: list[dict], shards: list) -> dict[str, list]:
    return latency.merge([r.get("events") for r in routers] +
                         [s[8] for s in shards if isinstance(s, list) and len(s) > 8])


def _latency(conn: Client, done: Callable[[dict[str, list]], object]) -> Slot:
    return everywhere(conn, ["latency", None, False], [],
                      lambda routers, shards: done(_events(routers, shards)))


def latency_latest(conn: Client, args: list[bytes]) -> Slot:
    return _latency(conn, latency.latest)


def latency_history(conn: Client, args: list[bytes]) -> Slot:
    name = args[2].decode("latin-1")
    return _latency(conn, lambda events: latency.history(events, name))


def latency_graph(conn: Client, args: list[bytes]) -> Slot:
    name = args[2].decode("latin-1")

    def drawn(events: dict[str, list]) -> Verbatim:
        e = events.get(name)
        if e is None or not e[latency.SERIES]:
            raise ReplyError(NO_SAMPLES % name)
        return Verbatim(latency.graph(name, e, int(time.time())).encode("latin-1"))

    return _latency(conn, drawn)


def latency_doctor(conn: Client, args: list[bytes]) -> Slot:
    cfg = conn.router.cfg
    threshold = int(configtable.get_value(cfg, _THRESHOLD))
    slower = int(configtable.get_value(cfg, _SLOWER_THAN))
    always = configtable.get_value(cfg, _APPENDFSYNC) == "always"
    return _latency(conn, lambda events: Verbatim(
        latency.doctor(events, threshold, slower, always, int(time.time())).encode()))


def latency_reset(conn: Client, args: list[bytes]) -> Slot:
    names = [a.decode("latin-1") for a in args[2:]]

    def count(routers: list[dict], shards: list) -> int:
        gone = {n for r in routers for n in r.get("reset", ())}
        for s in shards:
            if isinstance(s, list) and len(s) > 9:
                gone.update(n.decode("latin-1") if isinstance(n, bytes) else n for n in s[9])
        return len(gone)

    return everywhere(conn, ["latency", names or None, True], [b"LATENCYRESET", *args[2:]], count)


def latency_histogram(conn: Client, args: list[bytes]) -> Slot:
    wanted = [a.decode("latin-1").lower() for a in args[2:]]

    def histograms(routers: list[dict], shards: list) -> dict[bytes, Any]:
        merged: dict[str, list] = {}
        for r in routers:
            cmdstats.merge(merged, r.get("cmdstats"))
        for s in shards:
            if isinstance(s, list) and len(s) > 7:
                cmdstats.merge(merged, s[7])
        if wanted:
            names = [n for w in wanted for n in sorted(merged)
                     if n == w or n.startswith(w + "|")]
        else:
            names = sorted(merged)
        out: dict[bytes, Any] = {}
        for name in names:
            hist = merged[name][cmdstats.HIST]
            calls = sum(hist)
            if calls:
                out[name.encode()] = {b"calls": calls,
                                      b"histogram_usec": latency.histogram_usec(hist)}
        return out

    return everywhere(conn, ["metrics"], [], histograms)


def latency_help(conn: Client, args: list[bytes]) -> list[Simple]:
    return help_reply(LATENCY_HELP)


def register(table: CommandTable) -> None:
    """SLOWLOG, LATENCY and their subcommands, declared as Redis 7.0's COMMAND INFO
    shows them."""
    c = Container(table, "slowlog", -2, group="server", since="2.2.12",
                  summary="A container for slow log commands")
    sub = c.sub
    admin, acl = "admin loading stale", "@admin @slow @dangerous"
    sub("get", -2, admin, since="2.2.12", acl=acl,
        complexity="O(N) where N is the number of entries returned",
        summary="Get the slow log's entries")(slowlog_get)
    sub("len", 2, admin, since="2.2.12", acl=acl, summary="Get the slow log's length")(slowlog_len)
    sub("reset", 2, admin, since="2.2.12", acl=acl,
        complexity="O(N) where N is the number of entries in the slowlog",
        summary="Clear all entries from the slow log")(slowlog_reset)
    sub("help", 2, "loading stale", since="6.2.0", acl="@slow",
        summary="Show helpful text about the different subcommands")(slowlog_help)

    c = Container(table, "latency", -2, group="server", since="2.8.13",
                  summary="A container for latency diagnostics commands")
    sub = c.sub
    admin = "admin noscript loading stale"
    sub("latest", 2, admin, since="2.8.13", acl=acl,
        summary="Return the latest latency samples for all events.")(latency_latest)
    sub("history", 3, admin, since="2.8.13", acl=acl,
        summary="Return timestamp-latency samples for the event.")(latency_history)
    sub("reset", -2, admin, since="2.8.13", acl=acl,
        summary="Reset latency data for one or more events.")(latency_reset)
    sub("graph", 3, admin, since="2.8.13", acl=acl,
        summary="Return a latency graph for the event.")(latency_graph)
    sub("doctor", 2, admin, since="2.8.13", acl=acl,
        summary="Return a human readable latency analysis report.")(latency_doctor)
    sub("histogram", -2, admin, since="7.0.0", acl=acl,
        complexity="O(N) where N is the number of commands with latency information being "
                   "retrieved.",
        summary="Return the cumulative distribution of latencies of a subset of commands or "
                "all.")(latency_histogram)
    sub("help", 2, "loading stale", since="2.8.13", acl="@slow",
        summary="Show helpful text about the different subcommands.")(latency_help)
