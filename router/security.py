"""Authentication and ACLs in the router: AUTH, HELLO's AUTH, the ACL command, and the
check every client command passes before it runs (shardis/acl.py is the model: users,
their rules, what a rule allows).

Every router holds the whole user table (``Router.users``). A change (ACL SETUSER,
DELUSER, LOAD, CONFIG SET requirepass) is made at once on the router that received it,
then shared through the hub as the setting ``ACL_SETTING``: the table as ACL SAVE
writes it. Every router loads it and binds its clients to the new users before the
client that asked gets its reply, as CONFIG SET's shared settings do; a router that
starts later gets the hub's table at HELLO. Binding a client closes it when its user was
deleted, or when it subscribes to a channel its user may no longer use (Redis 7.0 does
both; a user turned ``off`` keeps its open connections, as in Redis).

The hot path pays nothing: a client authenticated as a user that may run anything
(``User.unrestricted``: the default user of a server without ACL rules) has ``gated``
False, and ``Client.run`` goes straight to dispatch. Any other client goes through
``run_checked``, command by command, in Redis' order: unknown command and arity errors
first, then NOAUTH, then the ACL check (NOPERM, recorded in ACL LOG). A refusal inside
MULTI makes EXEC answer EXECABORT; EXEC checks its commands again (``exec_denial``).

ACL LOG is the hub's (one log for the whole server): each router sends it its
denials, and ACL LOG reads it there.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Callable

from shardis import acl, configtable, errors
from shardis.commands import INTERNAL, LOCAL, CommandSpec, CommandTable
from shardis.hubproto import ACL_SETTING, Q_ACLLOG_ADD, Q_ACLLOG_GET, Q_ACLLOG_RESET
from shardis.resp import OK, ReplyError, Simple, encode_error
from shardis.router import connection, transactions
from shardis.router.later import answer_later

if TYPE_CHECKING:
    from shardis.router.app import Client, Router
    from shardis.router.replies import Slot

DEFAULT = b"default"
_ACLFILE = configtable.param("aclfile")

# ACL LOG's contexts
TOPLEVEL, MULTI, LUA = b"toplevel", b"multi", b"lua"

ACL_HELP = (
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
)


# ---------------------------------------------------------------- the user table


def no_password(router: Router) -> bool:
    """Whether the default user needs no password (protected mode applies then)."""
    u = router.users.get(DEFAULT)
    return u is not None and u.nopass and u.enabled


# ---------------------------------------------------------------- binding clients


def bind_default(conn: Client) -> None:
    """A new connection (and RESET): the default user, authenticated when it needs no
    password (Redis' clientSetDefaultAuth)."""
    u = conn.router.users.get(DEFAULT)
    assert u is not None, "the default user always exists"
    conn.user = u
    conn.username = DEFAULT
    conn.authenticated = u.nopass and u.enabled
    conn.gated = not (conn.authenticated and u.unrestricted)


def _bind(conn: Client, u: acl.User) -> None:
    conn.user = u
    conn.username = u.name
    conn.gated = not (conn.authenticated and u.unrestricted)


def rebind_all(router: Router) -> None:
    """The user table changed: each client takes its user's new rules; a client whose
    user is gone, or that subscribes where its user may no longer, is closed."""
    users = router.users
    for c in list(router.clients.values()):
        u = users.get(c.username)
        if u is None or not _subscriptions_allowed(c, u):
            kill(c)
            continue
        _bind(c, u)


def _subscriptions_allowed(conn: Client, u: acl.User) -> bool:
    subs = conn.pubsub
    if subs is None or u.unrestricted:
        return True
    channels, patterns, shard_channels = subs.names
    return (all(u.check_channel(ch, False) for ch in channels)
            and all(u.check_channel(ch, False) for ch in shard_channels)
            and all(u.check_channel(p, True) for p in patterns))


def kill(conn: Client) -> None:
    """Close a client: at once, or after its reply when it is the one asking (Redis'
    CLIENT_CLOSE_AFTER_COMMAND)."""
    conn.closing = True
    conn.gated = True
    t = conn.transport
    if t is not None and not any(p[0] is None for p in conn.pending) and not conn.pending:
        t.close()


def reload(router: Router) -> None:
    """The hub's ``ACL_SETTING`` (a change on some router, or the table at HELLO)."""
    value = router.pending_acl
    if value is None:
        return
    router.pending_acl = None
    users = acl.Users()
    users.load(value)
    router.users = users
    rebind_all(router)


# ---------------------------------------------------------------- the checks


def run_checked(conn: Client, cmds: list[list[bytes]]) -> None:
    """``Client.run`` for a client that must pass checks: each command is checked, then
    dispatched on its own (a command before it may have changed the user: AUTH)."""
    router = conn.router
    table = router.table
    pending = conn.pending
    for n, args in enumerate(cmds):
        if conn.closing:
            return
        if conn.held:
            conn.backlog.extend(cmds[n:])
            return
        if not conn.gated:
            conn.run(cmds[n:])
            return
        spec = table.lookup(args[0])
        denial = None if spec is None else _denial(conn, spec, args)
        if denial is None:
            hook = conn.dispatch_hook
            if hook is None:
                conn.dispatch([args])
            else:
                hook(conn, [args])
            continue
        if spec is not None and spec.name == "exec":
            # A refused EXEC ends the transaction (Redis' execCommandAbort).
            denial = errors.EXECABORT_BECAUSE % denial
            if conn.multi is not None:
                transactions.discard(conn)
        elif conn.multi is not None:
            conn.multi_error = True
        pending.append([encode_error(denial), conn])
        router.count_error(denial)
        if spec is not None:
            router.command_rejected(spec.name)
    if pending and pending[0][0] is not None and not conn.dirty:
        conn.dirty = True
        conn.flush()


def _denial(conn: Client, spec: CommandSpec, args: list[bytes]) -> str | None:
    """The error refusing ``args`` to this client, or None to let it run (errors that
    come first in Redis, unknown command or arity, are the dispatcher's to give)."""
    if spec.route == INTERNAL or not spec.arity_ok(len(args)):
        return None
    if spec.subcommands and len(args) > 1:
        sub = spec.subcommands.get(args[1].decode("latin-1").lower())
        if sub is None or not sub.arity_ok(len(args)):
            return None
    return _checked(conn, spec, args, conn.multi is not None)


def exec_denial(conn: Client, spec: CommandSpec, args: list[bytes]) -> str | None:
    """EXEC checks each queued command again: the rules may have changed since."""
    return _checked(conn, spec, args, True, at_exec=True) if conn.gated else None


def _checked(conn: Client, spec: CommandSpec, args: list[bytes], in_multi: bool,
             at_exec: bool = False) -> str | None:
    """NOAUTH, or the user's rules (the refusal logged to ACL LOG): the error, or None."""
    if not conn.authenticated:
        return None if "no_auth" in spec.flags else errors.NOAUTH
    d = conn.user.check(spec, args)
    if d is None:
        return None
    log_denial(conn, d, MULTI if in_multi else TOPLEVEL)
    return errors.NOPERM_EXEC % _EXEC_REASONS[d.reason] if at_exec else d.message


_EXEC_REASONS = {"command": "no permission to execute the command or subcommand",
                 "key": "no permission to touch the specified keys",
                 "channel": "no permission to access one of the channels used as arguments"}


def log_denial(conn: Client, d: acl.Denial, context: bytes) -> None:
    _log(conn, d.reason.encode(), context, d.object, conn.username)


def _log(conn: Client, reason: bytes, context: bytes, obj: bytes, username: bytes) -> None:
    """An ACL LOG entry, to the hub (which groups repeats as Redis does)."""
    router = conn.router
    entry = [reason, context, obj, username, time.time(), connection.client_line(conn, time.time())]
    router.pubsub.send_query(Q_ACLLOG_ADD, entry)


# ---------------------------------------------------------------- AUTH


def authenticate(conn: Client, username: bytes, password: bytes, cmd: bytes) -> bool:
    """Redis' ACLAuthenticateUser: on success the client acts as ``username``; a failure
    is recorded in ACL LOG (reason auth, the command as its object)."""
    u = conn.router.users.get(username)
    if u is not None and u.enabled and u.check_password(password):
        conn.authenticated = True
        _bind(conn, u)
        return True
    _log(conn, b"auth", TOPLEVEL, cmd, username)
    return False


def auth(conn: Client, args: list[bytes]) -> Simple:
    if len(args) > 3:
        raise ReplyError(errors.SYNTAX)
    if len(args) == 2:
        default = conn.router.users.get(DEFAULT)
        if default is not None and default.nopass:
            raise ReplyError(errors.AUTH_NO_PASSWORD)
        username, password = DEFAULT, args[1]
    else:
        username, password = args[1], args[2]
    if not authenticate(conn, username, password, b"AUTH"):
        raise ReplyError(errors.WRONGPASS)
    return OK


# ---------------------------------------------------------------- ACL


def _shared(conn: Client, reply: object) -> Slot:
    """After a change on this router: every router takes the table (through the hub, as
    CONFIG SET's shared settings), then ``reply``."""
    router = conn.router
    rebind_all(router)
    slot, fill = answer_later(conn)
    encoder = conn.encode

    def done(version: object) -> None:
        fill(encode_error(version.args[0]) if isinstance(version, ReplyError) else encoder(reply))

    router.pubsub.share({ACL_SETTING: router.users.dump()}, done)
    return slot


def acl_setuser(conn: Client, args: list[bytes]) -> Slot:
    conn.router.users.setuser(args[2], args[3:])
    return _shared(conn, OK)


def acl_deluser(conn: Client, args: list[bytes]) -> Slot:
    n = conn.router.users.deluser(args[2:])
    return _shared(conn, n)


def acl_getuser(conn: Client, args: list[bytes]) -> dict | None:
    u = conn.router.users.get(args[2])
    return None if u is None else u.getuser()


def acl_list(conn: Client, args: list[bytes]) -> list[bytes]:
    return conn.router.users.lines()


def acl_users(conn: Client, args: list[bytes]) -> list[bytes]:
    return conn.router.users.names()


def acl_whoami(conn: Client, args: list[bytes]) -> bytes:
    return conn.username


def acl_cat(conn: Client, args: list[bytes]) -> list[bytes]:
    if len(args) == 2:
        return acl.categories()
    if len(args) > 3:
        raise ReplyError(errors.SUBCOMMAND_SYNTAX % (text(args[1]), "ACL"))
    return acl.category_commands(conn.router.table, args[2])


def acl_genpass(conn: Client, args: list[bytes]) -> bytes:
    if len(args) > 3:
        raise ReplyError(errors.SUBCOMMAND_SYNTAX % (text(args[1]), "ACL"))
    if len(args) == 2:
        return acl.genpass()
    try:
        bits = int(args[2])
    except ValueError:
        raise ReplyError(errors.NOT_INTEGER) from None
    return acl.genpass(bits)


def acl_dryrun(conn: Client, args: list[bytes]) -> Simple | bytes:
    router = conn.router
    u = router.users.get(args[2])
    if u is None:
        raise ReplyError(errors.ACL_DRYRUN_NO_USER % text(args[2]))
    argv = args[3:]
    spec = router.table.lookup(argv[0])
    if spec is None or spec.route == INTERNAL:
        raise ReplyError(errors.ACL_DRYRUN_NO_COMMAND % text(argv[0]))
    if not spec.arity_ok(len(argv)):
        raise ReplyError(errors.ACL_DRYRUN_ARITY % spec.name)
    d = u.check(spec, argv)
    return OK if d is None else d.dryrun.encode("utf-8", "surrogateescape")


def acl_log(conn: Client, args: list[bytes]) -> Slot | Simple:
    router = conn.router
    if len(args) > 3:
        raise ReplyError(errors.SUBCOMMAND_SYNTAX % (text(args[1]), "ACL"))
    count = 10
    if len(args) == 3:
        if args[2].lower() == b"reset":
            router.pubsub.send_query(Q_ACLLOG_RESET, None)
            return OK
        try:
            count = int(args[2])
        except ValueError:
            raise ReplyError(errors.NOT_INTEGER) from None
    return router.pubsub.query(conn, Q_ACLLOG_GET, count)


def acl_save(conn: Client, args: list[bytes]) -> Simple:
    router = conn.router
    path = configtable.get_value(router.cfg, _ACLFILE)
    if not path:
        raise ReplyError(errors.ACL_NO_FILE)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(router.users.dump())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, str(path))
    except OSError:
        raise ReplyError(errors.ACL_SAVE_FAILED) from None
    return OK


def acl_load(conn: Client, args: list[bytes]) -> Slot:
    router = conn.router
    path = configtable.get_value(router.cfg, _ACLFILE)
    if not path:
        raise ReplyError(errors.ACL_NO_FILE)
    users = acl.Users()
    users.load(acl.read_aclfile(str(path)))
    router.users = users
    return _shared(conn, OK)


def acl_help(conn: Client, args: list[bytes]) -> list[Simple]:
    return connection.help_reply(ACL_HELP)


def text(v: bytes) -> str:
    return v.decode(errors="replace")


def register(table: CommandTable) -> None:
    cmd = table.command
    cmd("auth", -2, "noscript loading stale fast no_auth allow_busy", route=LOCAL,
        group="connection", summary="Authenticate to the server", since="1.0.0",
        complexity="O(N) where N is the number of passwords defined for the user",
        acl="@fast @connection")(auth)
    c = connection.Container(table, "acl", -2, group="server",
                             summary="A container for Access List Control commands ",
                             since="6.0.0")
    admin = "admin noscript loading stale"
    dangerous = "@admin @slow @dangerous"
    subs: list[tuple[str, int, str, str, str, str, Callable]] = [
        ("users", 2, admin, dangerous, "O(N). Where N is the number of configured users.",
         "List the username of all the configured ACL rules", acl_users),
        ("getuser", 3, admin, dangerous,
         "O(N). Where N is the number of password, command and pattern rules that the user has.",
         "Get the rules for a specific ACL user", acl_getuser),
        ("deluser", -3, admin, dangerous, "O(1) amortized time considering the typical user.",
         "Remove the specified ACL users and the associated rules", acl_deluser),
        ("help", 2, "loading stale", "@slow", "O(1)",
         "Show helpful text about the different subcommands", acl_help),
        ("save", 2, admin, dangerous, "O(N). Where N is the number of configured users.",
         "Save the current ACL rules in the configured ACL file", acl_save),
        ("load", 2, admin, dangerous, "O(N). Where N is the number of configured users.",
         "Reload the ACLs from the configured ACL file", acl_load),
        ("log", -2, admin, dangerous, "O(N) with N being the number of entries shown.",
         "List latest events denied because of ACLs in place", acl_log),
        ("setuser", -3, admin, dangerous, "O(N). Where N is the number of rules provided.",
         "Modify or create the rules for a specific ACL user", acl_setuser),
        ("whoami", 2, "noscript loading stale", "@slow", "O(1)",
         "Return the name of the user associated to the current connection", acl_whoami),
        ("dryrun", -4, admin, dangerous, "O(1).",
         "Returns whether the user can execute the given command without executing the command.",
         acl_dryrun),
        ("list", 2, admin, dangerous, "O(N). Where N is the number of configured users.",
         "List the current ACL rules in ACL config file format", acl_list),
        ("cat", -2, "noscript loading stale", "@slow",
         "O(1) since the categories and commands are a fixed set.",
         "List the ACL categories or the commands inside a category", acl_cat),
        ("genpass", -2, "noscript loading stale", "@slow", "O(1)",
         "Generate a pseudorandom secure password to use for ACL users", acl_genpass),
    ]
    for name, arity, flags, cats, complexity, summary, fn in subs:
        since = "7.0.0" if name == "dryrun" else "6.0.0"
        c.sub(name, arity, flags, summary=summary, since=since, complexity=complexity, acl=cats)(fn)
