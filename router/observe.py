"""SLOWLOG GET / LEN / RESET / HELP over every router's slow log (shardis/slowlog.py).

Each router logs the commands that took at least ``slowlog-log-slower-than``
microseconds where they ran: its own (timed in the router), the coordinator's rounds
(timed from the router: the round's whole time) and the shards' (timed in the shard,
reported to the router with the batch's replies, only when slow). SLOWLOG asks every
router through the hub and merges: newest first, ``slowlog-max-len`` entries at most
server-wide. A router command that answers later (DEBUG SLEEP, WAIT) counts the time
its handler took, not the wait.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shardis import configtable, errors, slowlog
from shardis.commands import CommandTable
from shardis.resp import OK, ReplyError, Simple
from shardis.router.connection import Container, ask_routers, help_reply, text
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


def register(table: CommandTable) -> None:
    """SLOWLOG and its subcommands, declared as Redis 7.0's COMMAND INFO shows them."""
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
