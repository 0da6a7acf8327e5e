"""Connection commands, answered by the router itself: PING, ECHO, QUIT, SELECT, HELLO,
RESET and CLIENT.

``Container`` is how a command with subcommands (CLIENT here, COMMAND in
``router.commandinfo``, CONFIG in ``router.configcmd``) is declared: each subcommand is
a spec of its own, named ``parent|sub`` as Redis names it, with its own arity, flags
and handler; COMMAND INFO and DOCS show them.

HELLO 2 and HELLO 3 switch the connection's protocol: its encoder here, and the
RESP3 bit its commands carry to the shards, which encode their replies.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

from shardis import REDIS_VERSION, errors, wire
from shardis.commands import LOCAL, CommandSpec, CommandTable
from shardis.args import int_arg
from shardis.router import transactions
from shardis.resp import ENCODERS, OK, PONG, ReplyError, Simple, Verbatim, string2ll

if TYPE_CHECKING:
    from shardis.router.app import Client

RESET = Simple("RESET")
SUPPORTED_PROTOCOLS = (2, 3)
CLIENT_TYPES = (b"normal", b"slave", b"replica", b"pubsub", b"master")

CLIENT_HELP = (
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME",
    "    Return the name of the current connection.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
)


def text(v: bytes) -> str:
    """An argument as it appears inside an error message."""
    return v.decode(errors="replace")


def help_reply(lines: tuple[str, ...]) -> list[Simple]:
    """Redis' addReplyHelp: the lines given, then HELP itself, as status replies."""
    return [Simple(line) for line in lines + ("HELP", "    Prints this help.")]


class Container:
    """A command with subcommands: routes on args[1] and checks the subcommand's arity."""

    def __init__(self, table: CommandTable, name: str, arity: int, *, group: str,
                 summary: str, since: str, complexity: str = "Depends on subcommand.",
                 flags: str = "", acl: str = "@slow", bare: Callable | None = None) -> None:
        table.command(name, arity, flags, route=LOCAL, group=group, summary=summary,
                      since=since, complexity=complexity, acl=acl)(self.dispatch)
        self.spec = table.by_name[name.encode()]
        self.upper = name.upper()
        self.bare = bare  # what the command does without a subcommand (COMMAND alone)

    def sub(self, name: str, arity: int, flags: str, *, summary: str, since: str,
            complexity: str = "O(1)", acl: str = "",
            keys: tuple[int, int, int] = (0, 0, 0)) -> Callable[[Callable], Callable]:
        """Declare the subcommand ``parent|name`` (``keys``: first, last, step)."""
        parent = self.spec

        def deco(fn: Callable) -> Callable:
            parent.subcommands[name] = CommandSpec(
                f"{parent.name}|{name}", arity, tuple(flags.split()), *keys, fn,
                route=LOCAL, group=parent.group, summary=summary, since=since,
                complexity=complexity, acl=tuple(acl.split()))
            return fn

        return deco

    def dispatch(self, conn: Client, args: list[bytes]) -> object:
        """Run the subcommand named by args[1], as Redis' processCommand checks it."""
        if len(args) == 1:
            assert self.bare is not None, "arity lets it come alone only with a bare function"
            return self.bare(conn, args)
        spec = self.spec.subcommands.get(args[1].decode("latin-1").lower())
        if spec is None:
            raise ReplyError(errors.UNKNOWN_SUBCOMMAND % (text(args[1][:128]), self.upper))
        if not spec.arity_ok(len(args)):
            raise ReplyError(errors.WRONG_ARITY % spec.name)
        conn.last_cmd = spec.name
        handler = spec.handler
        assert handler is not None  # (every subcommand has one)
        return handler(conn, args)


# ---------------------------------------------------------------- client state


def valid_client_attr(v: bytes) -> bool:
    """Names and lib attributes: printable ASCII without spaces ('!' .. '~')."""
    return all(33 <= c <= 126 for c in v)


def set_name(conn: Client, name: bytes) -> None:
    """CLIENT SETNAME's rules; an empty name clears it."""
    if not valid_client_attr(name):
        raise ReplyError(errors.CLIENT_NAME_CHARS)
    conn.name = name


def set_protocol(conn: Client, version: int) -> None:
    """Speak RESP ``version`` from the next reply on (HELLO's own reply included)."""
    conn.resp = version
    conn.encode = ENCODERS[version]
    conn.proto_bit = wire.RESP3 if version == 3 else 0


def client_type(conn: Client) -> bytes:
    """The type CLIENT LIST/KILL filter on: pubsub while subscribed, else normal."""
    return b"pubsub" if subscriptions(conn) != (0, 0, 0) else b"normal"


def subscriptions(conn: Client) -> tuple[int, int, int]:
    """(channels, patterns, shard channels) the connection subscribes to."""
    subs = conn.pubsub
    if subs is None:
        return (0, 0, 0)
    channels, patterns, shard_channels = subs.names
    return len(channels), len(patterns), len(shard_channels)


def parse_client_type(v: bytes) -> bytes:
    """A TYPE argument, with replica and slave as one type."""
    t = v.lower()
    if t not in CLIENT_TYPES:
        raise ReplyError(errors.CLIENT_UNKNOWN_TYPE % text(v))
    return b"slave" if t == b"replica" else t


def _fd(conn: Client) -> int:
    sock = conn.transport.get_extra_info("socket") if conn.transport is not None else None
    try:
        return sock.fileno() if sock is not None else -1
    except (OSError, ValueError):
        return -1


def client_line(conn: Client, now: float) -> bytes:
    """One client as CLIENT LIST shows it (Redis 7.0's fields, then 7.2's lib-name/lib-ver).

    What shardis does not track (read buffer sizes, argv memory) reads 0; the output
    memory is what the transport still holds.
    """
    loop = conn.router.loop
    assert loop is not None, "runs on the loop"
    t = conn.transport
    qbuf = conn.reader.buffered()
    omem = t.get_write_buffer_size() if t is not None and not t.is_closing() else 0
    events = ("" if conn.paused else "r") + ("w" if omem else "")
    cmd = conn.last_cmd.decode() if isinstance(conn.last_cmd, bytes) else conn.last_cmd
    subs = subscriptions(conn)
    return b"".join((
        b"id=%d addr=%s laddr=%s fd=%d name=%s" % (conn.id, conn.addr.encode(), conn.laddr.encode(),
                                                   _fd(conn), conn.name),
        b" age=%d idle=%d flags=%s db=%d sub=%d psub=%d ssub=%d multi=-1"
        % (int(now - conn.created), int(loop.time() - conn.last_active),
           b"P" if any(subs) else b"N", conn.db, *subs),
        b" qbuf=%d qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=%d omem=%d tot-mem=%d"
        % (qbuf, len(conn.pending), omem, qbuf + omem),
        b" events=%s cmd=%s user=%s redir=-1 resp=%d lib-name=%s lib-ver=%s"
        % (events.encode(), cmd.encode(), conn.username, conn.resp, conn.lib_name, conn.lib_ver),
    ))


# ---------------------------------------------------------------- CLIENT options


def parse_list_filter(args: list[bytes]) -> tuple[bytes | None, list[int] | None]:
    """CLIENT LIST [TYPE t | ID id ...] -> (type, ids)."""
    if len(args) == 2:
        return None, None
    opt = args[2].lower()
    if len(args) == 4 and opt == b"type":
        return parse_client_type(args[3]), None
    if len(args) > 3 and opt == b"id":
        ids = []
        for v in args[3:]:
            n = string2ll(v)
            if n is None:
                raise ReplyError(errors.CLIENT_INVALID_ID)
            ids.append(n)
        return None, ids
    raise ReplyError(errors.SYNTAX)


class KillFilter:
    """CLIENT KILL's filters: the old ``ip:port`` form or option/value pairs."""

    def __init__(self, args: list[bytes]) -> None:
        self.addr: str | None = None
        self.laddr: str | None = None
        self.type: bytes | None = None
        self.id = 0
        self.skipme = True
        self.old_style = len(args) == 3
        if self.old_style:
            self.addr = text(args[2])
            self.skipme = False  # the old form may kill the caller itself
            return
        i = 2
        while i < len(args):
            if i + 1 >= len(args):
                raise ReplyError(errors.SYNTAX)
            self._option(args[i].lower(), args[i + 1])
            i += 2

    def _option(self, opt: bytes, value: bytes) -> None:
        if opt == b"id":
            n = string2ll(value)
            if n is None or n < 1:
                raise ReplyError(errors.CLIENT_ID_POSITIVE)
            self.id = n
        elif opt == b"type":
            self.type = parse_client_type(value)
        elif opt == b"addr":
            self.addr = text(value)
        elif opt == b"laddr":
            self.laddr = text(value)
        elif opt == b"user":
            # Every connection is the default user (shardis has no ACL users).
            if value != b"default":
                raise ReplyError(errors.NO_SUCH_USER % text(value))
        elif opt == b"skipme":
            flag = value.lower()
            if flag not in (b"yes", b"no"):
                raise ReplyError(errors.SYNTAX)
            self.skipme = flag == b"yes"
        else:
            raise ReplyError(errors.SYNTAX)

    def matches(self, me: Client, other: Client) -> bool:
        if self.addr is not None and other.addr != self.addr:
            return False
        if self.laddr is not None and other.laddr != self.laddr:
            return False
        if self.type is not None and client_type(other) != self.type:
            return False
        if self.id and other.id != self.id:
            return False
        return not (other is me and self.skipme)


# ---------------------------------------------------------------- HELLO


class HelloArgs:
    """HELLO [protover [AUTH username password] [SETNAME clientname]], parsed."""

    def __init__(self, args: list[bytes]) -> None:
        self.version = 0
        self.user: bytes | None = None
        self.password = b""
        self.name: bytes | None = None
        i = 1
        if len(args) >= 2:
            v = string2ll(args[1])
            if v is None:
                raise ReplyError(errors.HELLO_PROTO_NOT_INT)
            if v not in SUPPORTED_PROTOCOLS:
                raise ReplyError(errors.PROTO_NOT_SUPPORTED)
            self.version = v
            i = 2
        while i < len(args):
            more = len(args) - 1 - i
            opt = args[i].lower()
            if opt == b"auth" and more >= 2:
                self.user = args[i + 1]
                self.password = args[i + 2]
                i += 3
            elif opt == b"setname" and more >= 1:
                self.name = args[i + 1]
                i += 2
            else:
                raise ReplyError(errors.HELLO_SYNTAX % text(args[i]))


# ---------------------------------------------------------------- the handlers


def ping(conn: Client, args: list[bytes]) -> Simple | bytes:
    if len(args) == 1:
        return PONG
    if len(args) == 2:
        return args[1]
    raise ReplyError(errors.WRONG_ARITY % "ping")


def echo(conn: Client, args: list[bytes]) -> bytes:
    return args[1]


def quit_(conn: Client, args: list[bytes]) -> Simple:
    conn.closing = True
    return OK


def select(conn: Client, args: list[bytes]) -> Simple:
    db = int_arg(args[1])
    if not -(2**31) <= db < 2**31:  # Redis reads the index as a C int
        raise ReplyError(errors.INT_OUT_OF_RANGE % (-(2**31), 2**31 - 1))
    if not 0 <= db < conn.router.cfg.databases:
        raise ReplyError(errors.DB_INDEX)
    conn.set_db(db)
    return OK


def hello(conn: Client, args: list[bytes]) -> dict[bytes, object]:
    h = HelloArgs(args)
    if h.name is not None and not valid_client_attr(h.name):
        raise ReplyError(errors.CLIENT_NAME_CHARS)
    if h.user is not None and not conn.login(h.user, h.password, b"HELLO"):
        raise ReplyError(errors.WRONGPASS)
    if not conn.authenticated:
        raise ReplyError(errors.NOAUTH_HELLO)
    if h.name is not None:
        set_name(conn, h.name)
    if h.version:
        set_protocol(conn, h.version)
    return {b"server": b"redis", b"version": REDIS_VERSION.encode(), b"proto": conn.resp,
            b"id": conn.id, b"mode": b"standalone", b"role": b"master", b"modules": []}


def reset(conn: Client, args: list[bytes]) -> Simple:
    transactions.discard(conn)
    if conn.pubsub is not None:
        conn.router.pubsub.leave(conn)
    conn.set_db(0)
    conn.name = b""
    set_protocol(conn, 2)
    conn.login_default()
    return RESET


# CLIENT's subcommands


def client_id(conn: Client, args: list[bytes]) -> int:
    return conn.id


def client_getname(conn: Client, args: list[bytes]) -> bytes | None:
    return conn.name or None


def client_setname(conn: Client, args: list[bytes]) -> Simple:
    set_name(conn, args[2])
    return OK


def client_setinfo(conn: Client, args: list[bytes]) -> Simple:
    attr = args[2].lower()
    if attr not in (b"lib-name", b"lib-ver"):
        raise ReplyError(errors.CLIENT_SETINFO_OPTION % text(args[2]))
    if not valid_client_attr(args[3]):
        raise ReplyError(errors.CLIENT_ATTR_CHARS % text(args[2]))
    if attr == b"lib-name":
        conn.lib_name = args[3]
    else:
        conn.lib_ver = args[3]
    return OK


def client_list(conn: Client, args: list[bytes]) -> Verbatim:
    type_, ids = parse_list_filter(args)
    clients = conn.router.clients
    if ids is not None:
        chosen = [clients[i] for i in ids if i in clients]
    else:
        chosen = [c for c in clients.values() if type_ is None or client_type(c) == type_]
    now = time.time()
    return Verbatim(b"".join(client_line(c, now) + b"\n" for c in chosen))


def client_info(conn: Client, args: list[bytes]) -> Verbatim:
    return Verbatim(client_line(conn, time.time()) + b"\n")


def client_kill(conn: Client, args: list[bytes]) -> Simple | int:
    f = KillFilter(args)
    victims = [c for c in conn.router.clients.values() if f.matches(conn, c)]
    for c in victims:
        if c is conn:
            conn.closing = True  # after this reply, as Redis' CLOSE_AFTER_REPLY
        else:
            c.closing = True
            transport = c.transport
            assert transport is not None, "a client in router.clients is connected"
            transport.close()
    if f.old_style:
        if not victims:
            raise ReplyError(errors.CLIENT_NO_SUCH)
        return OK
    return len(victims)


def client_no_evict(conn: Client, args: list[bytes]) -> Simple:
    # shardis never evicts clients, so both modes hold already.
    if args[2].lower() not in (b"on", b"off"):
        raise ReplyError(errors.SYNTAX)
    return OK


def client_getredir(conn: Client, args: list[bytes]) -> int:
    return -1  # tracking is never on in shardis


def client_trackinginfo(conn: Client, args: list[bytes]) -> dict[bytes, object]:
    return {b"flags": {b"off"}, b"redirect": -1, b"prefixes": []}


def client_help(conn: Client, args: list[bytes]) -> list[Simple]:
    return help_reply(CLIENT_HELP)


# ---------------------------------------------------------------- the command table


def register(table: CommandTable) -> None:
    cmd = table.command
    cmd("ping", -1, "fast", route=LOCAL, group="connection", since="1.0.0",
        summary="Ping the server", complexity="O(1)", acl="@fast @connection")(ping)
    cmd("echo", 2, "loading stale fast", route=LOCAL, group="connection", since="1.0.0",
        summary="Echo the given string", complexity="O(1)", acl="@fast @connection")(echo)
    cmd("quit", -1, "noscript loading stale fast no_auth allow_busy", route=LOCAL,
        group="connection", since="1.0.0", summary="Close the connection",
        complexity="O(1)", acl="@fast @connection")(quit_)
    cmd("select", 2, "loading stale fast", route=LOCAL, group="connection", since="1.0.0",
        summary="Change the selected database for the current connection",
        complexity="O(1)", acl="@fast @connection")(select)
    cmd("hello", -1, "noscript loading stale fast no_auth allow_busy", route=LOCAL,
        group="connection", since="6.0.0", summary="Handshake with Redis",
        complexity="O(1)", acl="@fast @connection")(hello)
    cmd("reset", 1, "noscript loading stale fast no_auth allow_busy", route=LOCAL,
        group="connection", since="6.2.0", summary="Reset the connection",
        complexity="O(1)", acl="@fast @connection")(reset)

    client = Container(table, "client", -2, group="connection", since="2.4.0",
                       summary="A container for client connection commands")
    sub = client.sub
    admin = "admin noscript loading stale"
    admin_acl = "@admin @slow @dangerous @connection"
    sub("id", 2, "noscript loading stale", since="5.0.0", acl="@slow @connection",
        summary="Returns the client ID for the current connection")(client_id)
    sub("getname", 2, "noscript loading stale", since="2.6.9", acl="@slow @connection",
        summary="Get the current connection name")(client_getname)
    sub("setname", 3, "noscript loading stale", since="2.6.9", acl="@slow @connection",
        summary="Set the current connection name")(client_setname)
    sub("setinfo", 4, "noscript loading stale", since="7.2.0", acl="@slow @connection",
        summary="Set client or connection specific info")(client_setinfo)
    sub("list", -2, admin, since="2.4.0", acl=admin_acl,
        complexity="O(N) where N is the number of client connections",
        summary="Get the list of client connections")(client_list)
    sub("info", 2, "noscript loading stale", since="6.2.0", acl="@slow @connection",
        summary="Returns information about the current client connection.")(client_info)
    sub("kill", -3, admin, since="2.4.0", acl=admin_acl,
        complexity="O(N) where N is the number of client connections",
        summary="Kill the connection of a client")(client_kill)
    sub("no-evict", 3, admin, since="7.0.0", acl=admin_acl,
        summary="Set client eviction mode for the current connection")(client_no_evict)
    sub("getredir", 2, "noscript loading stale", since="6.0.0", acl="@slow @connection",
        summary="Get tracking notifications redirection client ID if any")(client_getredir)
    sub("trackinginfo", 2, "noscript loading stale", since="6.2.0", acl="@slow @connection",
        summary="Return information about server assisted client side caching for the "
                "current connection")(client_trackinginfo)
    sub("help", 2, "loading stale", since="5.0.0", acl="@slow @connection",
        summary="Show helpful text about the different subcommands")(client_help)
