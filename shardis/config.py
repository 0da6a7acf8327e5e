"""cluster.toml: the one place that says how shardis runs; defaults, validation, overrides.

Its keys are shardis' own (``shards``, ``routers``, ``durability``, ``map_size`` ...) and
every parameter of Redis 7.0's configuration (``shardis/configtable.py``), spelt with
``_`` or ``-`` alike (``hash_max_listpack_entries = 4``, ``maxmemory = "1gb"``), values
as TOML strings or numbers. Where a Redis parameter is a shardis setting, they are one
key: ``appendfsync`` is ``durability``, ``port``, ``bind``, ``dir``, ``databases``,
``maxclients``, ``loglevel``, ``proto_max_bulk_len``, ``client_query_buffer_limit`` and
``notify_keyspace_events`` are the same names. ``client_output_buffer_limit`` takes
either shardis' back-pressure size (``"64mb"``) or Redis' classes
(``"pubsub 32mb 8mb 60"``); ``client_output_buffer_limit_pubsub = "32mb 8mb 60"`` is
the older spelling of Redis' pubsub class.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tomllib
from dataclasses import dataclass, field

from shardis import configtable
from shardis.autolayout import AUTO
from shardis.notify import LETTERS, parse_flags

DURABILITY = ("always", "everysec", "no")


def log_level(loglevel: str) -> int:
    """Redis' loglevel as a logging level (verbose and notice both log INFO)."""
    return {"debug": logging.DEBUG, "warning": logging.WARNING}.get(loglevel, logging.INFO)


class ConfigError(Exception):
    """A bad configuration; the message names the key."""


def parse_size(v: object, key: str) -> int:
    """Redis-style memory sizes: 100, "512mb", "1gb", "64kb"."""
    if isinstance(v, bool):
        raise ConfigError(f"{key}: expected a size, got {v!r}")
    if isinstance(v, int):
        if v < 0:
            raise ConfigError(f"{key}: must not be negative")
        return v
    if not isinstance(v, str):
        raise ConfigError(f"{key}: expected a size, got {v!r}")
    s = v.strip().lower()
    units = {"gb": 1 << 30, "mb": 1 << 20, "kb": 1 << 10, "g": 10**9, "m": 10**6, "k": 10**3, "b": 1}
    for u, mul in units.items():
        if s.endswith(u) and s[: -len(u)].isdigit():
            return int(s[: -len(u)]) * mul
    if s.isdigit():
        return int(s)
    raise ConfigError(f"{key}: expected a size like 512mb, got {v!r}")


def parse_obuf_limit(v: str, key: str) -> tuple[int, int, int]:
    """"hard soft seconds", sizes in Redis' units: "32mb 8mb 60" -> (33554432, 8388608, 60)."""
    parts = v.split() if isinstance(v, str) else []
    if len(parts) != 3 or not parts[2].isdigit():
        raise ConfigError(f"{key}: expected \"<hard> <soft> <seconds>\" like \"32mb 8mb 60\", "
                          f"got {v!r}")
    return parse_size(parts[0], key), parse_size(parts[1], key), int(parts[2])


@dataclass
class Config:
    """Every setting of a shardis cluster; field names are cluster.toml's keys."""

    port: int = 6380
    bind: str = "127.0.0.1"
    dir: str = "./shardis-data"
    # "auto": from the cores and the data directory (shardis/autolayout.py), resolved by the
    # supervisor before anything starts; a number is taken as it is.
    shards: int | str = AUTO
    routers: int | str = AUTO
    durability: str = "everysec"
    databases: int = 16
    maxclients: int = 10000
    # Per-connection buffers: past client_output_buffer_limit a router stops reading
    # from a client until its replies drain (back-pressure; Redis' classes of
    # client-output-buffer-limit, in ``params``, close a client instead), and it closes a
    # client whose unparsed query grows past client_query_buffer_limit.
    client_output_buffer_limit: int = 64 << 20
    client_query_buffer_limit: int = 1 << 30
    max_pending_commands: int = 100000
    # New connections a router takes from one IP address per second (0: no limit); past
    # it a connection is answered an error and closed (INFO rejected_connections). Each
    # router counts its own accepts.
    max_connections_per_second_per_ip: int = 0
    # HTTP on this port (0: off), served by every router (router/metrics.py): /health for
    # liveness and readiness, /metrics in Prometheus' text format. Read at start only.
    metrics_port: int = 0
    proto_max_bulk_len: int = 512 << 20
    map_size: int = 1 << 30
    expiry_sweep_ms: int = 100
    # Redis' notify-keyspace-events letters ("" = off); CONFIG SET changes it everywhere.
    notify_keyspace_events: str = ""
    loglevel: str = "notice"
    # ACL users besides the default one, each as Redis' ``user`` directive without the word
    # "user": ["alice on >secret ~app:* +@read"] (or an ``aclfile``, not both).
    users: list = field(default_factory=list)
    # Redis' CONFIG parameters that are not fields above, by name, where not at their
    # default (shardis/configtable.py). Among them client-output-buffer-limit, whose
    # normal and pubsub classes the routers apply: a client whose unsent output passes
    # hard, or stays past soft for seconds, is disconnected.
    params: dict = field(default_factory=dict)
    # Where this config came from (not a key).
    source: str = field(default="(built-in defaults)", metadata={"internal": True})
    # The keys that said "auto" before the supervisor chose their numbers (not a key): a
    # CONFIG REWRITE keeps "auto".
    auto: list = field(default_factory=list, metadata={"internal": True})

    @property
    def nshards(self) -> int:
        """``shards`` as every process sees it: a number (the supervisor resolved "auto")."""
        assert isinstance(self.shards, int), "shards: \"auto\" is resolved before anything starts"
        return self.shards

    @property
    def nrouters(self) -> int:
        """``routers`` as every process sees it: a number (the supervisor resolved "auto")."""
        assert isinstance(self.routers, int), "routers: \"auto\" is resolved before anything starts"
        return self.routers

    def setting(self, key: str) -> object:
        """A key's value as configured: "auto" for a layout key the supervisor resolved."""
        return AUTO if key in self.auto else getattr(self, key)

    def run_dir(self) -> str:
        return os.path.join(self.dir, "run")

    def shard_dir(self, i: int) -> str:
        return os.path.join(self.dir, f"shard-{i}")

    def shard_endpoint(self, i: int) -> str:
        return "ipc://" + os.path.abspath(os.path.join(self.run_dir(), f"shard-{i}.sock"))

    def coordinator_endpoint(self) -> str:
        return "ipc://" + os.path.abspath(os.path.join(self.run_dir(), "coordinator.sock"))

    def pubsub_endpoint(self) -> str:
        return "ipc://" + os.path.abspath(os.path.join(self.run_dir(), "pubsub.sock"))

    def pubsub_limits(self) -> tuple[int, int, int]:
        """client-output-buffer-limit's pubsub class: (hard bytes, soft bytes, soft seconds)."""
        return self.obuf_limits("pubsub")

    def obuf_limits(self, cls: str) -> tuple[int, int, int]:
        """A class of client-output-buffer-limit (normal, slave, pubsub): (hard bytes, soft
        bytes, soft seconds); 0 is no limit."""
        p = configtable.param("client-output-buffer-limit")
        return configtable.obuf_classes(configtable.get_value(self, p))[cls]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_SIZE_KEYS = {"client_output_buffer_limit", "client_query_buffer_limit", "proto_max_bulk_len", "map_size"}
_LAYOUT_KEYS = {"shards", "routers"}
_KEYS = {f.name: f for f in dataclasses.fields(Config)
         if not f.metadata.get("internal") and f.name != "params"}


def validate(cfg: Config) -> Config:
    """Check every value; raise ConfigError naming the first bad key."""
    if not (0 <= cfg.port < 65536):
        raise ConfigError(f"port: must be 0..65535, got {cfg.port}")
    if not cfg.port and not configtable.get_value(cfg, configtable.param("tls-port")):
        raise ConfigError("port: 0 closes the plain port, and tls-port is 0 too: shardis would "
                          "not listen anywhere")
    if not (0 <= cfg.metrics_port < 65536):
        raise ConfigError(f"metrics_port: must be 0..65535, got {cfg.metrics_port}")
    if cfg.metrics_port and cfg.metrics_port == cfg.port:
        raise ConfigError(f"metrics_port: {cfg.metrics_port} is the client port too")
    if cfg.shards != AUTO and not (isinstance(cfg.shards, int) and 1 <= cfg.shards <= 256):
        raise ConfigError(f"shards: must be 1..256 or \"auto\", got {cfg.shards!r}")
    if cfg.routers != AUTO and not (isinstance(cfg.routers, int) and 1 <= cfg.routers <= 64):
        raise ConfigError(f"routers: must be 1..64 or \"auto\", got {cfg.routers!r}")
    if cfg.durability not in DURABILITY:
        raise ConfigError(f"durability: must be one of {', '.join(DURABILITY)}, got {cfg.durability!r}")
    if not (1 <= cfg.databases <= 256):
        raise ConfigError(f"databases: must be 1..256, got {cfg.databases}")
    if cfg.loglevel not in ("debug", "verbose", "notice", "warning"):
        raise ConfigError(f"loglevel: must be debug, verbose, notice or warning, got {cfg.loglevel!r}")
    if cfg.maxclients < 1:
        raise ConfigError("maxclients: must be at least 1")
    if cfg.max_pending_commands < 1:
        raise ConfigError("max_pending_commands: must be at least 1")
    if cfg.max_connections_per_second_per_ip < 0:
        raise ConfigError("max_connections_per_second_per_ip: must be 0 (no limit) or more")
    if not cfg.dir:
        raise ConfigError("dir: must not be empty")
    # Redis refuses these below 1mb too (CONFIG SET's bounds); a smaller map is no use either.
    for key in ("client_query_buffer_limit", "proto_max_bulk_len", "map_size"):
        if getattr(cfg, key) < 1 << 20:
            raise ConfigError(f"{key}: must be at least 1mb, got {getattr(cfg, key)}")
    if len(cfg.bind.split()) != 1:
        raise ConfigError(f"bind: shardis listens on one address, got {cfg.bind!r}")
    if cfg.expiry_sweep_ms < 1:
        raise ConfigError("expiry_sweep_ms: must be at least 1")
    if parse_flags(cfg.notify_keyspace_events) is None:
        raise ConfigError(f"notify_keyspace_events: letters must be among "
                          f"{''.join(LETTERS)}, got {cfg.notify_keyspace_events!r}")
    # What Redis' apply functions would refuse at start (TLS without its files ...).
    for p in configtable.PARAMS:
        if p.applycheck is not None and configtable.get_value(cfg, p) != p.default:
            err = p.applycheck(lambda name: configtable.get_value(cfg, configtable.param(name)))
            if err is not None:
                raise ConfigError(f"{p.name}: {err}")
    return cfg


def _raw(v: object) -> bytes:
    """A TOML or command-line value as the bytes Redis would read."""
    if isinstance(v, bool):
        return b"yes" if v else b"no"
    if isinstance(v, list):
        return b" ".join(_raw(x) for x in v)
    return str(v).encode()


def _is_size(v: object) -> bool:
    try:
        parse_size(v, "")
    except ConfigError:
        return False
    return True


def apply_param(cfg: Config, key: str, v: object, where: str = "") -> None:
    """Set a Redis parameter from a TOML or command-line value (from ``where``), read by
    Redis' rules."""
    found = configtable.lookup_key(key)
    if found is None:
        raise ConfigError(f"{where}: unknown key {key!r}")
    p = found[0]
    raw = _raw(v)
    if p.flags & configtable.MULTI_ARG:
        raw = b" ".join(raw.split())  # (a file's words, however spaced)
    try:
        value = configtable.parse(p, raw, configtable.get_value(cfg, p))
    except configtable.ConfigValueError as e:
        raise ConfigError(f"{key}: {e.args[0]}") from None
    configtable.set_value(cfg, p, value)


def apply(cfg: Config, values: dict, where: str) -> Config:
    """Set keys from a mapping (a TOML file or the command line), type-checked."""
    for key, v in values.items():
        k = key.replace("-", "_")
        f = _KEYS.get(k)
        if k == "client_output_buffer_limit" and not _is_size(v):
            f = None  # Redis' classes, not shardis' size
        elif k == "client_output_buffer_limit_pubsub":
            hard, soft, seconds = parse_obuf_limit(v, key)
            apply_param(cfg, "client-output-buffer-limit", f"pubsub {hard} {soft} {seconds}")
            continue
        if f is None:
            apply_param(cfg, key, v, where)
            continue
        if k in _SIZE_KEYS:
            v = parse_size(v, key)
        elif k in _LAYOUT_KEYS:
            if isinstance(v, str) and v.strip().isdigit():
                v = int(v)
            if v != AUTO and (not isinstance(v, int) or isinstance(v, bool)):
                raise ConfigError(f"{key}: expected a number or \"auto\", got {v!r}")
        elif f.type in ("int", int):
            if isinstance(v, str) and v.lstrip("-").isdigit():
                v = int(v)
            if not isinstance(v, int) or isinstance(v, bool):
                raise ConfigError(f"{key}: expected an integer, got {v!r}")
        elif k == "users":
            if isinstance(v, str):
                v = [v]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ConfigError(f"{key}: expected a list of strings, got {v!r}")
        elif not isinstance(v, str):
            raise ConfigError(f"{key}: expected a string, got {v!r}")
        setattr(cfg, k, v)
    return cfg


def load(path: str | None, overrides: dict | None = None) -> Config:
    """Read ``path`` (or ./cluster.toml when present) and apply command-line overrides."""
    cfg = Config()
    if path is None and os.path.exists("cluster.toml"):
        path = "cluster.toml"
    if path is not None:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"config file {path!r} not found") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
        apply(cfg, data, path)
        cfg.source = os.path.abspath(path)
    if overrides:
        apply(cfg, {k: v for k, v in overrides.items() if v is not None}, "command line")
    return validate(cfg)
