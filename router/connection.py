"""Connection commands, answered by the router itself: PING, ECHO, QUIT, SELECT ..."""

from __future__ import annotations

from shardis import errors
from shardis.commands import LOCAL, CommandTable
from shardis.resp import OK, PONG, ReplyError


def parse_int(v: bytes) -> int:
    """A Redis integer argument, or the error Redis gives."""
    try:
        if v.strip() != v or v[:1] == b"+":
            raise ValueError
        return int(v)
    except ValueError:
        raise ReplyError(errors.NOT_INTEGER) from None


def register(table: CommandTable) -> None:
    cmd = table.command

    @cmd("ping", -1, "fast sentinel", route=LOCAL, group="connection",
         summary="Ping the server", acl="@fast @connection")
    def ping(conn, args):
        if len(args) == 1:
            return PONG
        if len(args) == 2:
            return args[1]
        raise ReplyError(errors.WRONG_ARITY % "ping")

    @cmd("echo", 2, "fast", route=LOCAL, group="connection",
         summary="Echo the given string", acl="@fast @connection")
    def echo(conn, args):
        return args[1]

    @cmd("quit", -1, "allow_busy noscript loading stale fast no_auth", route=LOCAL,
         group="connection", summary="Close the connection", acl="@fast @connection")
    def quit_(conn, args):
        conn.closing = True
        return OK

    @cmd("select", 2, "loading stale fast", route=LOCAL, group="connection", since="1.0.0",
         summary="Change the selected database for the current connection",
         acl="@keyspace @fast @connection")
    def select(conn, args):
        db = parse_int(args[1])
        if not 0 <= db < conn.router.cfg.databases:
            raise ReplyError(errors.DB_INDEX)
        conn.db = db
        return OK
