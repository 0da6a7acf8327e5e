"""Connection commands, answered by the router itself: PING, ECHO, QUIT, SELECT, HELLO,
RESET and CLIENT.

``Container`` is how a command with subcommands (CLIENT here, COMMAND in
``router.commandinfo``, CONFIG in ``router.configcmd``) is declared: each subcommand is
a spec of its own, named ``parent|sub`` as Redis names it, with its own arity, flags
and handler; COMMAND INFO and DOCS show them.

HELLO 2 and HELLO 3 switch the connection's protocol: its encoder here, and the
RESP3 bit its commands carry to the shards, which encode their replies.

CLIENT answers as Redis 7.0.15 does, over every router of the server: a client is
listed, killed or unblocked wherever it is connected. Client ids say which router
holds a client (``1 + index * ID_SPAN + n``, see ``owner``); CLIENT LIST, and CLIENT
KILL without ID, ask every router through the hub (``PubSub.poll``: each answers with
``answer_poll``), CLIENT KILL ID and CLIENT UNBLOCK only the router holding that id.
With one router nothing leaves the process. The caller itself is judged by its own
router when the command runs (its line in CLIENT LIST shows that command, as Redis'
does), and the others skip it. CLIENT PAUSE and REPLY are router/clients.py's.
CLIENT TRACKING and CACHING are not implemented: they answer Redis' unknown-subcommand
error (as does SETINFO, which Redis 7.0 does not have).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable

from shardis import REDIS_VERSION, errors, wire
from shardis.commands import INTERNAL, LOCAL, CommandSpec, CommandTable
from shardis.args import int_arg
from shardis.router import clients, transactions
from shardis.router.later import answer_later
from shardis.router.replies import NOBODY, Slot
from shardis.resp import ENCODERS, OK, PONG, ReplyError, Simple, Verbatim, encode_error, string2ll

if TYPE_CHECKING:
    from shardis.router.app import Client, Router

log = logging.getLogger("router")

RESET = Simple("RESET")
SUPPORTED_PROTOCOLS = (2, 3)
CLIENT_TYPES = (b"normal", b"slave", b"replica", b"pubsub", b"master")
ID_SPAN = 1_000_000_000  # client ids per router (Router.client_ids)
NO_REPLY = b""  # what CLIENT REPLY OFF and SKIP answer: nothing

CLIENT_HELP = (
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
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
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
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
        # Client.dispatch names the command it runs (the container) first; inside EXEC
        # (transactions.run_local) nothing does, and Redis shows EXEC as the command.
        conn.in_exec = conn.last_cmd != self.spec.name
        conn.last_cmd = "exec" if conn.in_exec else spec.name
        handler = spec.handler
        assert handler is not None  # (every subcommand has one)
        return handler(conn, args)


# ---------------------------------------------------------------- client state


def valid_client_attr(v: bytes) -> bool:
    """A client name: printable ASCII without spaces ('!' .. '~')."""
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


def command_name(conn: Client) -> str:
    """The name of the last command a client ran, as Redis' CLIENT LIST says it
    (``client|list``; NULL before any, and for an unknown command or subcommand)."""
    argv = conn.last_argv
    if not argv:
        return "NULL"
    spec = conn.router.table.lookup(argv[0])
    if spec is None or spec.route == INTERNAL:
        return "NULL"
    if spec.subcommands and len(argv) > 1:
        sub = spec.subcommands.get(argv[1].decode("latin-1").lower())
        return "NULL" if sub is None else sub.name
    return spec.name


def blocked(conn: Client) -> bool:
    """Waiting for a blocking command (in a shard or the coordinator) or held by a pause."""
    if conn.blocked_on is not None or conn.coord_rid is not None:
        return True
    p = conn.router.pause
    return p is not None and conn in p.waiting


def client_flags(conn: Client) -> bytes:
    """CLIENT LIST's flags, in Redis' order: O (monitor), P (pub/sub), x (in MULTI),
    b (blocked), c (closing after its reply), e (no-evict); N for none."""
    flags = b"O" if conn.monitoring else b""
    if any(subscriptions(conn)):
        flags += b"P"
    if conn.multi is not None:
        flags += b"x"
    if blocked(conn):
        flags += b"b"
    if conn.closing:
        flags += b"c"
    if conn.no_evict:
        flags += b"e"
    return flags or b"N"


def client_line(conn: Client, now: float, running: list[bytes] | None = None) -> bytes:
    """One client as CLIENT LIST shows it, Redis 7.0's fields in its order. ``running``:
    the command the client runs now (its own CLIENT LIST or INFO), whose name and size
    its line shows.

    What shardis does not have (a read buffer of its own, Redis' reply blocks) reads 0;
    qbuf is the partial request the parser holds, omem what the transport still holds.
    """
    loop = conn.router.loop
    assert loop is not None, "runs on the loop"
    t = conn.transport
    qbuf = conn.reader.buffered()
    omem = t.get_write_buffer_size() if t is not None and not t.is_closing() else 0
    events = ("" if conn.paused else "r") + ("w" if omem else "")
    if running is None:
        cmd = command_name(conn)
        argv_mem = 0
    else:
        cmd = conn.last_cmd if isinstance(conn.last_cmd, str) else "NULL"
        argv_mem = sum(len(a) for a in running)
    queued = conn.multi
    multi_mem = sum(len(a) for q in queued for a in q) if queued is not None else 0
    subs = subscriptions(conn)
    return b"".join((
        b"id=%d addr=%s laddr=%s fd=%d name=%s" % (conn.id, conn.addr.encode(), conn.laddr.encode(),
                                                   _fd(conn), conn.name),
        b" age=%d idle=%d flags=%s db=%d sub=%d psub=%d ssub=%d multi=%d"
        % (int(now - conn.created), int(loop.time() - conn.last_active), client_flags(conn), conn.db,
           *subs, len(queued) if queued is not None else -1),
        b" qbuf=%d qbuf-free=0 argv-mem=%d multi-mem=%d rbs=0 rbp=0 obl=0 oll=0 omem=%d tot-mem=%d"
        % (qbuf, argv_mem, multi_mem, omem, qbuf + argv_mem + multi_mem + omem),
        b" events=%s cmd=%s user=%s redir=-1 resp=%d"
        % (events.encode(), cmd.encode(), conn.username, conn.resp),
    ))


def owner(cid: int) -> int:
    """The index of the router that gives out client id ``cid`` (-1: none does)."""
    return (cid - 1) // ID_SPAN if cid > 0 else -1


def user_exists(router: Router, name: bytes) -> bool:
    """Whether an ACL user of that name exists (CLIENT KILL USER)."""
    return router.users.get(name) is not None


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
    """CLIENT KILL's filters: the old ``ip:port`` form or option/value pairs, parsed and
    checked in order as Redis does (the first bad one answers)."""

    def __init__(self, router: Router, args: list[bytes]) -> None:
        self.addr: str | None = None
        self.laddr: str | None = None
        self.type: bytes | None = None
        self.id = 0
        self.user: bytes | None = None
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
            self._option(router, args[i].lower(), args[i + 1])
            i += 2

    def _option(self, router: Router, opt: bytes, value: bytes) -> None:
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
            if not user_exists(router, value):
                raise ReplyError(errors.NO_SUCH_USER % text(value))
            self.user = value
        elif opt == b"skipme":
            flag = value.lower()
            if flag not in (b"yes", b"no"):
                raise ReplyError(errors.SYNTAX)
            self.skipme = flag == b"yes"
        else:
            raise ReplyError(errors.SYNTAX)

    def wire(self) -> list:
        """What the other routers match their clients with (``matches``)."""
        return [self.addr, self.laddr, self.type, self.id, self.user]


def matches(c: Client, addr: str | None, laddr: str | None, type_: bytes | None, cid: int,
            user: bytes | None) -> bool:
    """Whether CLIENT KILL's filters (``KillFilter.wire``) take this client."""
    return ((addr is None or c.addr == addr) and (laddr is None or c.laddr == laddr)
            and (type_ is None or client_type(c) == type_) and (not cid or c.id == cid)
            and (user is None or c.username == user))


# ---------------------------------------------------------------- over every router


def local_lines(router: Router, type_: bytes | None, ids: list[int] | None, skip: int,
                now: float) -> list[list]:
    """CLIENT LIST's [[id, line], ...] for this router's clients (but ``skip``)."""
    wanted = None if ids is None else set(ids)
    return [[c.id, client_line(c, now)] for c in list(router.clients.values())
            if c.id != skip and (wanted is None or c.id in wanted)
            and (type_ is None or client_type(c) == type_)]


def kill_local(router: Router, filt: list, skip: int) -> int:
    """CLIENT KILL on this router's clients (but ``skip``): how many it closed."""
    addr, laddr, type_, cid, user = filt
    n = 0
    for c in list(router.clients.values()):
        if c.id == skip or c.closing or not matches(c, addr, laddr, type_, cid, user):
            continue
        c.closing = True
        if c.transport is not None:  # (a client is listed once connected)
            c.transport.close()
        n += 1
    return n


def unblock_local(router: Router, cid: int, error: bool) -> int:
    """CLIENT UNBLOCK of a client of this router: 1 if it was blocked (its shard, or the
    coordinator, answers it as by its timeout or with the UNBLOCKED error), else 0."""
    c = router.clients.get(cid)
    if c is None or c.closing:
        return 0
    reason = b"ERROR" if error else b"TIMEOUT"
    b = c.blocked_on
    if b is not None:
        wid = b.wid
        if wid is None or c.unblocked is b or router.blocked.get((b.shard, wid)) is not b:
            return 0  # not parked yet (its shard has not answered), or freed already
        c.unblocked = b
        router.submit(b.shard, router.unblock_id, 0, [b"__unblock", b"%d" % wid, reason],
                      Slot((None, NOBODY)))
        return 1
    rid = c.coord_rid
    if rid is not None and c.unblocked != rid:
        c.unblocked = rid
        router.coord_call(router.by_name[b"__cancel"].id, 0, [b"__cancel", b"%d" % rid, reason],
                          _ignore)
        return 1
    return 0


def _ignore(value: object) -> None:
    pass


def answer_poll(router: Router, request: Any) -> object:
    """This router's answer to another router's question about its clients (the hub's
    ``Ask``): ["list", type, ids, skip] -> [[id, line], ...]; ["kill", filters, skip] ->
    how many it closed; ["unblock", id, error] -> 1 or 0; ["metrics"] -> its counters;
    ["slowlog-get" | "slowlog-len" | "slowlog-reset"] -> its slow log's entries, length, 1;
    ["latency", event names or None, reset?] -> its LATENCY events (after the reset)."""
    try:
        what = request[0]
        if what == "list":
            return local_lines(router, request[1], request[2], request[3], time.time())
        if what == "kill":
            return kill_local(router, request[1], request[2])
        if what == "unblock":
            return unblock_local(router, request[1], request[2])
        if what == "metrics":  # (router/metrics.py: /metrics covers every router)
            return router.metrics_figures()
        if what == "monitors":  # (router/monitor.py: heard of the hub's MONITORING)
            return router.monitor.count()
        if what in ("slowlog-get", "slowlog-len", "slowlog-reset"):  # (router/observe.py)
            return router.slowlog_answer(what)
        if what == "latency":  # (router/observe.py)
            return router.latency_answer(request[1], request[2])
        log.error("router %d: an unknown poll from another router: %r", router.index, request)
    except Exception:  # a bad request must not stop the hub link
        log.exception("router %d: answering a poll %r failed", router.index, request)
    return None


def ask_routers(conn: Client, routers: list[int] | None, request: list,
                done: Callable[[list], object]) -> Slot:
    """Ask the routers named (None: all) through the hub; ``done`` turns what they said
    ([[index, value], ...]) into the client's reply value, in a slot filled then."""
    slot, fill = answer_later(conn)
    encoder = conn.encode

    def answered(value: object) -> None:
        if isinstance(value, ReplyError):
            fill(encode_error(value.args[0]))
            return
        assert isinstance(value, list), "the hub answers a poll with a list"
        try:
            fill(encoder(done([v for _, v in value if v is not None])))
        except ReplyError as e:
            fill(encode_error(e.args[0]))

    conn.router.pubsub.poll(routers, request, answered)
    return slot


def listing(found: list[list], ids: list[int] | None) -> Verbatim:
    """CLIENT LIST's reply from [[id, line], ...]: in id order (Redis lists its clients
    in the order they connected), or in the order of ``ids``, repeats included."""
    if ids is None:
        lines = [line for _, line in sorted(found, key=lambda x: x[0])]
    else:
        by_id = {cid: line for cid, line in found}
        lines = [by_id[i] for i in ids if i in by_id]
    return Verbatim(b"".join(line + b"\n" for line in lines))


def share_pause(conn: Client, value: list[int]) -> Simple | Slot:
    """CLIENT PAUSE / UNPAUSE: this router at once, then every router through the hub
    (OK once all have it, so the next command on any router sees it)."""
    router = conn.router
    clients.apply(router, value)
    if value[1] != clients.OFF:
        clients.regate(conn)
    if router.cfg.nrouters == 1:
        return OK
    slot, fill = answer_later(conn)
    encoder = conn.encode

    def shared(version: object) -> None:
        fill(encode_error(version.args[0]) if isinstance(version, ReplyError) else encoder(OK))

    router.pubsub.share({clients.PAUSE: value}, shared)
    return slot


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
    clients.replies_reset(conn)
    return RESET


# CLIENT's subcommands


def client_id(conn: Client, args: list[bytes]) -> int:
    return conn.id


def client_getname(conn: Client, args: list[bytes]) -> bytes | None:
    return conn.name or None


def client_setname(conn: Client, args: list[bytes]) -> Simple:
    set_name(conn, args[2])
    return OK


def client_list(conn: Client, args: list[bytes]) -> Verbatim | Slot:
    type_, ids = parse_list_filter(args)
    router = conn.router
    now = time.time()
    mine: list[list] = []
    if (conn.id in ids) if ids is not None else (type_ is None or client_type(conn) == type_):
        mine = [[conn.id, client_line(conn, now, args)]]
    routers = None if ids is None else sorted({owner(i) for i in ids if 0 <= owner(i) < router.cfg.nrouters})
    if router.cfg.nrouters == 1 or routers is not None and set(routers) <= {router.index}:
        return listing(mine + local_lines(router, type_, ids, conn.id, now), ids)

    def done(values: list) -> Verbatim:
        return listing(mine + [line for lines in values for line in lines], ids)

    return ask_routers(conn, routers, ["list", type_, ids, conn.id], done)


def client_info(conn: Client, args: list[bytes]) -> Verbatim:
    return Verbatim(client_line(conn, time.time(), args) + b"\n")


def client_kill(conn: Client, args: list[bytes]) -> Simple | int | Slot:
    router = conn.router
    f = KillFilter(router, args)
    filt = f.wire()
    killed = 0
    if not f.skipme and matches(conn, *filt):
        conn.closing = True  # closed once this reply is written (Redis' CLOSE_AFTER_REPLY)
        killed = 1

    def reply(n: int) -> Simple | int:
        if not f.old_style:
            return n
        if not n:
            raise ReplyError(errors.CLIENT_NO_SUCH)
        return OK

    target = owner(f.id) if f.id else -1
    if router.cfg.nrouters == 1 or target == router.index:
        return reply(killed + kill_local(router, filt, conn.id))
    if f.id and not 0 <= target < router.cfg.nrouters:
        return reply(killed)
    return ask_routers(conn, [target] if f.id else None, ["kill", filt, conn.id],
                       lambda values: reply(killed + sum(values)))


def client_unblock(conn: Client, args: list[bytes]) -> int | Slot:
    if len(args) > 4:
        raise ReplyError(errors.SUBCOMMAND_SYNTAX % (text(args[1]), "CLIENT"))
    error = False
    if len(args) == 4:
        reason = args[3].lower()
        if reason == b"error":
            error = True
        elif reason != b"timeout":
            raise ReplyError(errors.CLIENT_UNBLOCK_REASON)
    cid = string2ll(args[2])
    if cid is None:
        raise ReplyError(errors.NOT_INTEGER)
    router = conn.router
    target = owner(cid)
    if target == router.index:
        return unblock_local(router, cid, error)
    if not 0 <= target < router.cfg.nrouters:
        return 0
    return ask_routers(conn, [target], ["unblock", cid, error], lambda values: sum(values))


def client_pause(conn: Client, args: list[bytes]) -> Simple | Slot:
    if len(args) > 4:
        raise ReplyError(errors.SUBCOMMAND_SYNTAX % (text(args[1]), "CLIENT"))
    mode = clients.ALL
    if len(args) == 4:
        m = args[3].lower()
        if m == b"write":
            mode = clients.WRITE
        elif m != b"all":
            raise ReplyError(errors.CLIENT_PAUSE_MODE)
    timeout = string2ll(args[2])
    if timeout is None:
        raise ReplyError(errors.CLIENT_TIMEOUT_NOT_INT)
    if timeout < 0:
        raise ReplyError(errors.TIMEOUT_NEGATIVE)
    return share_pause(conn, clients.merged(conn.router, clients.pause_end(timeout), mode))


def client_unpause(conn: Client, args: list[bytes]) -> Simple | Slot:
    return share_pause(conn, [0, clients.OFF])


def client_reply(conn: Client, args: list[bytes]) -> Simple | Slot:
    mode = args[2].lower()
    if mode == b"on":
        clients.replies_on(conn)
        return OK
    if mode == b"off":
        clients.reply_ctl(conn).off = True
    elif mode == b"skip":
        ctl = conn.reply_ctl
        if ctl is None or not ctl.off:
            clients.reply_ctl(conn).skip_next = True
    else:
        raise ReplyError(errors.SYNTAX)
    clients.regate(conn)
    return Slot((NO_REPLY, conn))


def client_no_evict(conn: Client, args: list[bytes]) -> Simple:
    # shardis never evicts clients; the mode is kept, and shown by CLIENT LIST (e).
    mode = args[2].lower()
    if mode not in (b"on", b"off"):
        raise ReplyError(errors.SYNTAX)
    conn.no_evict = mode == b"on"
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
    sub("list", -2, admin, since="2.4.0", acl=admin_acl,
        complexity="O(N) where N is the number of client connections",
        summary="Get the list of client connections")(client_list)
    sub("info", 2, "noscript loading stale", since="6.2.0", acl="@slow @connection",
        summary="Returns information about the current client connection.")(client_info)
    sub("kill", -3, admin, since="2.4.0", acl=admin_acl,
        complexity="O(N) where N is the number of client connections",
        summary="Kill the connection of a client")(client_kill)
    sub("pause", -3, admin, since="2.9.50", acl=admin_acl,
        summary="Stop processing commands from clients for some time")(client_pause)
    sub("unpause", 2, admin, since="6.2.0", acl=admin_acl,
        complexity="O(N) Where N is the number of paused clients",
        summary="Resume processing of clients that were paused")(client_unpause)
    sub("reply", 3, "noscript loading stale", since="3.2.0", acl="@slow @connection",
        summary="Instruct the server whether to reply to commands")(client_reply)
    sub("unblock", -3, admin, since="5.0.0", acl=admin_acl,
        complexity="O(log N) where N is the number of client connections",
        summary="Unblock a client blocked in a blocking command from a different connection")(client_unblock)
    sub("no-evict", 3, admin, since="7.0.0", acl=admin_acl,
        summary="Set client eviction mode for the current connection")(client_no_evict)
    sub("getredir", 2, "noscript loading stale", since="6.0.0", acl="@slow @connection",
        summary="Get tracking notifications redirection client ID if any")(client_getredir)
    sub("trackinginfo", 2, "noscript loading stale", since="6.2.0", acl="@slow @connection",
        summary="Return information about server assisted client side caching for the "
                "current connection")(client_trackinginfo)
    sub("help", 2, "loading stale", since="5.0.0", acl="@slow @connection",
        summary="Show helpful text about the different subcommands")(client_help)
