"""CONFIG GET, SET, RESETSTAT, REWRITE and HELP, answered by the router as Redis 7.0
answers them, over the parameter table (``shardis/configtable.py``).

Every router holds every parameter's value (``router.cfg``). CONFIG SET checks all
of its pairs first, in Redis' order (names, then values, then what Redis' apply
functions refuse), so that it changes all or nothing; then the new values go
through the pub/sub hub to every router, each of which applies them (the hooks in
``Router.reconfigure``), and those the shards use (``act == SHARD``: encoding
thresholds, proto-max-bulk-len, notify-keyspace-events) to every shard inside its
batches (``__config``, logged with them). OK comes once all have them, so the next
command on any router sees them. A router that starts later, or restarts, gets the
current values from the hub.

CONFIG RESETSTAT resets what INFO's stats section counts on every router, the same
way. CONFIG REWRITE writes the settings into the cluster.toml the server was started
with (``shardis/rewrite.py``).
"""

from __future__ import annotations

import ipaddress
import time
from typing import TYPE_CHECKING, Callable

from shardis.router.replies import NOBODY, Slot
from shardis.router.connection import Container, help_reply, text
from shardis.router.later import Then, all_ok, answer_later
from shardis import configtable, errors, rewrite
from shardis.commands import CommandTable
from shardis.hubproto import ACL_SETTING
from shardis.configtable import IMMUTABLE, PROTECTED, RESETSTAT, START, ConfigValueError, Param
from shardis.resp import OK, ReplyError, Simple, encode_error

if TYPE_CHECKING:
    from shardis.router.app import Client

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


def protected_allowed(conn: Client) -> bool:
    """allowProtectedAction: enable-protected-configs is yes, or local and the client
    comes from this host."""
    mode = configtable.get_value(conn.router.cfg, configtable.param("enable-protected-configs"))
    if mode == "yes":
        return True
    if mode != "local":
        return False
    host = conn.addr.rsplit(":", 1)[0].strip("[]")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config_set(conn: Client, args: list[bytes]) -> dict[str, object]:
    """CONFIG SET name value [name value ...] as configSetCommand checks it; the new
    values ({parameter: value}) of the parameters it changes, for ``set_everywhere``.

    The first bad name decides the error (unknown, immutable or protected, duplicate:
    the same name twice; a name and its alias are two parameters to Redis 7.0, set in
    order). Then each value is read in order, the first bad one answering; then
    Redis' apply checks, for the parameters whose value changes."""
    if len(args) % 2:
        raise ReplyError(errors.SYNTAX)
    cfg = conn.router.cfg
    pairs = [(args[i], args[i + 1]) for i in range(2, len(args), 2)]
    chosen: list[tuple[Param, str]] = []
    for name, _ in pairs:
        found = configtable.lookup(name)
        if found is None:
            raise ReplyError(errors.CONFIG_SET_UNKNOWN % text(name))
        p = found[0]
        if p.flags & PROTECTED and not protected_allowed(conn):
            raise ReplyError(errors.CONFIG_SET_FAILED % (text(name), errors.CONFIG_PROTECTED))
        if p.flags & IMMUTABLE or p.act == START:
            raise ReplyError(errors.CONFIG_SET_FAILED % (text(name), errors.CONFIG_IMMUTABLE))
        if found in chosen:
            raise ReplyError(errors.CONFIG_SET_FAILED % (text(name), errors.CONFIG_DUPLICATE))
        chosen.append(found)
    new: dict[str, object] = {}
    changed: list[tuple[Param, str]] = []
    for (p, registered), (_, raw) in zip(chosen, pairs):
        current = new.get(p.name, configtable.get_value(cfg, p))
        try:
            value = configtable.parse(p, raw, current)
        except ConfigValueError as e:
            raise ReplyError(errors.CONFIG_SET_FAILED % (registered, e.args[0])) from None
        if value != current:
            changed.append((p, registered))
        new[p.name] = value

    def value_of(name: str) -> object:
        p = configtable.param(name)
        return new.get(p.name, configtable.get_value(cfg, p))

    checked = []
    for p, registered in changed:
        if p.applycheck is None or p.applycheck in checked:
            continue
        checked.append(p.applycheck)
        err = p.applycheck(value_of)
        if err is not None:
            raise ReplyError(errors.CONFIG_SET_FAILED % (registered, err))
    return {p.name: new[p.name] for p, _ in changed}


def shard_args(version: int, shared: dict) -> list[bytes] | None:
    """``__config`` for the shards: the shared values they use, as CONFIG SET reads them."""
    args = [b"__config", b"%d" % version]
    for name, value in shared.items():
        found = configtable.lookup(name)
        if found is not None and found[0].act == configtable.SHARD:
            args += [name.encode(), str(value).encode("latin-1")]
    return args if len(args) > 2 else None


def set_everywhere(conn: Client, shared: dict, reply: object = OK) -> Slot:
    """Shared values: to every router through the hub, then, those the shards use, to
    every shard; the reply (OK) once all have them, so the next command sees them."""
    slot, fill = answer_later(conn)
    share_then(conn, shared, fill, reply)
    return slot


def share_then(conn: Client, shared: dict, fill: Callable[[bytes], None], reply: object = OK) -> None:
    """set_everywhere's work, for a caller that holds the reply's slot: ``fill`` gets
    the reply once every router and shard has ``shared``."""
    router = conn.router
    encoder = conn.encode

    def shared_by_routers(version: object) -> None:
        if isinstance(version, ReplyError):
            fill(encode_error(version.args[0]))
            return
        assert isinstance(version, int), "the hub answers a SET with its version"
        args = shard_args(version, shared)
        if args is None:
            fill(encoder(reply))
            return
        owner = Then(fill, encoder)
        owner.slot = router.fanout(owner, router.table.by_name[b"__config"], 0, args, all_ok)

    router.pubsub.share(shared, shared_by_routers)


# ---------------------------------------------------------------- the handlers


def config_get_(conn: Client, args: list[bytes]) -> dict:
    return configtable.get_matches(conn.router.cfg, args[2:])


def config_set_(conn: Client, args: list[bytes]) -> Simple | Slot:
    shared = config_set(conn, args)
    if not shared:
        return OK
    # This router at once (a CONFIG GET queued after it in MULTI sees it), then all.
    router = conn.router
    router.pubsub.apply(shared)
    if "requirepass" in shared:
        # The user table it changed goes along, so that the hub's copy (a router
        # starting later gets it) holds the new password too.
        shared[ACL_SETTING] = router.users.dump()
    return set_everywhere(conn, shared)


def config_resetstat(conn: Client, args: list[bytes]) -> Slot:
    # The shards' error counts (INFO errorstats) too: sent before the routers are
    # told, so they are reset when OK comes (a shard runs a router's messages in order).
    router = conn.router
    router.resetstats_asked += 1  # (counted again once this router has reset: Router._reset_stats)
    router.fanout(NOBODY, router.table.by_name[b"__info"], 0,
                  [b"__info", b"%d" % router.cfg.databases, b"RESETSTAT"], all_ok)
    # The coordinator's count of saves (INFO persistence's rdb_saves) before the routers'.
    slot, fill = answer_later(conn)
    router.coord_call(router.table.by_name[b"__bgsave"].id, 0, [b"__bgsave", b"RESETSTAT"],
                      lambda _: share_then(conn, {RESETSTAT: time.time_ns()}, fill))
    return slot


def config_rewrite(conn: Client, args: list[bytes]) -> Simple:
    cfg = conn.router.cfg
    if cfg.source.startswith("("):
        raise ReplyError(errors.CONFIG_NO_FILE)
    try:
        rewrite.rewrite_file(cfg, cfg.source)
    except OSError as e:
        raise ReplyError(errors.CONFIG_REWRITE_FAILED % e.strerror) from None
    except rewrite.RewriteError as e:
        raise ReplyError(errors.CONFIG_REWRITE_FAILED % e.args[0]) from None
    return OK


def config_help(conn: Client, args: list[bytes]) -> list[Simple]:
    return help_reply(CONFIG_HELP)


# ---------------------------------------------------------------- the command table


def register(table: CommandTable) -> None:
    """CONFIG and its subcommands over ``router.cfg``."""
    config = Container(table, "config", -2, group="server", since="2.0.0",
                       summary="A container for server configuration commands")
    sub = config.sub
    admin, acl = "admin noscript loading stale", "@admin @slow @dangerous"
    sub("get", -3, admin, since="2.0.0", acl=acl,
        complexity="O(N) when N is the number of configuration parameters provided",
        summary="Get the values of configuration parameters")(config_get_)
    sub("set", -4, admin, since="2.0.0", acl=acl,
        complexity="O(N) when N is the number of configuration parameters provided",
        summary="Set configuration parameters to the given values")(config_set_)
    sub("resetstat", 2, admin, since="2.0.0", acl=acl,
        summary="Reset the stats returned by INFO")(config_resetstat)
    sub("rewrite", 2, admin, since="2.8.0", acl=acl,
        summary="Rewrite the configuration file with the in memory configuration")(config_rewrite)
    sub("help", 2, "loading stale", since="5.0.0", acl="@slow",
        summary="Show helpful text about the different subcommands")(config_help)
