"""Redis 7.0's configuration table: every CONFIG parameter with its type, range, flags,
default and alias (src/config.c, ``static_configs``), what shardis does with it, and
Redis' rules for reading a value and showing it.

A parameter's value is kept as a plain Python value (bool, int, str), so that it
travels as JSON (to the child processes) and msgpack (through the pub/sub hub):
bool parameters as bool, enums as their canonical name, numbers as int, strings as
str (latin-1, byte for byte), the special ones as the string CONFIG GET shows.

Parameters that are shardis settings too (``port``, ``maxclients``, ``appendfsync``
= ``durability`` ...) keep their value in that ``Config`` field (``Param.field``);
every other one in ``Config.params`` under its name, absent while at its default.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
from dataclasses import dataclass
from typing import Callable

from shardis import errors, notify, tls
from shardis.args import compile_glob, cstr
from shardis.resp import string2ll

log = logging.getLogger("config")

# Redis' config flags (those that change what CONFIG does).
IMMUTABLE = 1     # CONFIG SET refuses it
PROTECTED = 2     # CONFIG SET refuses it unless enable-protected-configs allows
HIDDEN = 4        # CONFIG GET shows it for its exact name only, never for a pattern
MULTI_ARG = 8     # the value is split at single spaces into several arguments

# Numeric flags: how a number may be written.
MEMORY = 1        # 64mb, 1gb ... (memtoull)
PERCENT = 2       # 50% (kept negative, as Redis does)
OCTAL = 4         # 0777

# The C types of numeric parameters: which bounds check Redis applies.
INT, UINT, LONG, ULONG, LONG_LONG, ULONG_LONG, SIZE_T, SSIZE_T, OFF_T, TIME_T = range(10)
_UNSIGNED_CHECK = (ULONG_LONG, UINT, SIZE_T)  # numericBoundaryCheck compares these unsigned

INT_MIN, INT_MAX, UINT_MAX = -(2**31), 2**31 - 1, 2**32 - 1
LONG_MAX = LLONG_MAX = SSIZE_MAX = 2**63 - 1
ULLONG_MAX = 2**64 - 1

# What shardis does with a parameter.
STORED = "stored"  # validated, kept and shown; nothing in shardis uses it (yet)
ROUTER = "router"  # every router applies it (CONFIG SET reaches all of them first)
SHARD = "shard"    # every router and every shard, which gets it inside its batches
START = "start"    # read at start only: CONFIG SET answers Redis' immutable error


# A shared "setting" that is no parameter (CONFIG RESETSTAT): every router resets its stats.
RESETSTAT = "__resetstat"


class ConfigValueError(Exception):
    """A value a parameter refuses; the text is Redis' reason (or shardis' own)."""


@dataclass(frozen=True)
class Param:
    """One row of the table; see the module docstring for the value kept."""

    name: str
    kind: str                      # bool enum numeric string sds, or a special kind
    default: object
    alias: str | None = None
    flags: int = 0
    act: str = STORED
    field: str = ""                # the shardis Config field that holds the value
    ctype: int = INT               # numeric: the C type
    numflags: int = 0              # numeric: MEMORY, PERCENT, OCTAL
    lo: int = 0
    hi: int = 0
    choices: tuple[str, ...] = ()          # enum: every accepted name, in Redis' order
    same: tuple[tuple[str, str], ...] = ()  # enum: (name, the name CONFIG GET shows for it)
    extra: tuple[str, ...] = ()    # enum: shardis' own names, accepted, not in Redis' error text
    check: Callable[[object], None] | None = None  # Redis' validity check of a new value
    adjust: Callable[[int], int] | None = None     # numeric: what Redis' apply makes of it
    # Redis' apply function, where it can refuse: given the values after every pair of
    # the CONFIG SET was set, an error text or None.
    applycheck: Callable[[Callable[[str], object]], str | None] | None = None
    unsupported: str = ""          # shardis refuses any value but the default, saying why

    @property
    def settable(self) -> bool:
        """Whether CONFIG SET may change it in shardis (not immutable, not read at start only)."""
        return not self.flags & IMMUTABLE and self.act != START


# ---------------------------------------------------------------- C-like number parsing

_STRTOLL = re.compile(rb"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_STRTOLL8 = re.compile(rb"[ \t\n\v\f\r]*([+-]?[0-7]+)")


def strtoll(v: bytes, base: int = 10) -> int | None:
    """``strtoll(v, &end, base)`` where all of the C string ``v`` must be read: its value
    (saturated as strtoll saturates), 0 for an empty string, None where it stops early."""
    v = cstr(v)
    if not v:
        return 0
    m = (_STRTOLL if base == 10 else _STRTOLL8).fullmatch(v)
    if m is None:
        return None
    return max(-(2**63), min(int(m.group(1), base), 2**63 - 1))


def strtoll_strict(v: bytes, base: int) -> int | None:
    """strtoll with errno checked as numericParseString checks it: no overflow allowed."""
    v = cstr(v)
    m = (_STRTOLL if base == 10 else _STRTOLL8).fullmatch(v) if v else None
    if m is None:
        return None if v else 0
    n = int(m.group(1), base)
    return n if -(2**63) <= n <= 2**63 - 1 else None


def wrap32(n: int) -> int:
    """A C ``(int)`` cast."""
    return (n + 2**31) % 2**32 - 2**31


_MEM_UNITS = {b"": 1, b"b": 1, b"k": 1000, b"kb": 1024, b"m": 1000**2, b"mb": 1024**2,
              b"g": 1000**3, b"gb": 1024**3}


def memtoull(v: bytes) -> int | None:
    """Redis' memtoull: digits and an optional unit (b, k, kb, m, mb, g, gb, any case),
    read as a C string; the product wraps around as an unsigned long long does."""
    v = cstr(v)
    digits = len(v) - len(v.lstrip(b"0123456789"))
    mul = _MEM_UNITS.get(v[digits:].lower())
    if v[:1] == b"-" or mul is None or digits >= 128:
        return None
    n = min(int(v[:digits]), ULLONG_MAX) if digits else 0  # strtoull saturates
    return n * mul % 2**64


_STRTOD = re.compile(
    rb"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    rb"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    rb"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])")


def string2d(v: bytes) -> float | None:
    """Redis' string2d: all of ``v`` is one strtod number, not NaN, no leading space."""
    if not v or _STRTOD.fullmatch(v) is None:
        return None
    s = v.decode()
    if "x" in s.lower():
        sign = -1.0 if s[0] == "-" else 1.0
        d = sign * float.fromhex(s.lstrip("+-"))
    else:
        d = float(s)
    if math.isnan(d):
        return None
    return d


def trim_double(d: float) -> str:
    """``sprintf("%f")`` then trimDoubleString: trailing zeros and a bare dot removed."""
    s = "%f" % d
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


# ---------------------------------------------------------------- types: parse and show

def _text(v: bytes) -> str:
    return v.decode("latin-1")


def parse_bool(p: Param, v: bytes, cur) -> bool:
    """yesnotoi."""
    s = cstr(v).lower()
    if s == b"yes":
        return True
    if s == b"no":
        return False
    raise ConfigValueError(errors.CONFIG_YES_NO)


def show_bool(p: Param, v) -> str:
    return "yes" if v else "no"


def parse_enum(p: Param, v: bytes, cur) -> str:
    """configEnumGetValue: a name in any case; kept as the name CONFIG GET shows."""
    s = _text(cstr(v)).lower()
    if s not in p.choices and s not in p.extra:
        # Redis builds the list in a 256-byte buffer: a longer one is cut.
        raise ConfigValueError((errors.CONFIG_ENUM % ", ".join(p.choices))[:255])
    return dict(p.same).get(s, s)


def show_plain(p: Param, v) -> str:
    return str(v)


def parse_numeric(p: Param, v: bytes, cur) -> int:
    """numericParseString, numericBoundaryCheck and the C type's cast."""
    n = None
    if p.numflags & MEMORY:
        u = memtoull(v)
        if u is not None:
            n = u - 2**64 if u >= 2**63 else u
    if n is None and p.numflags & PERCENT and len(v) > 1 and v[-1:] == b"%":
        pct = string2ll(v[:-1])
        if pct is not None and pct >= 0:
            n = -pct
    if n is None and p.numflags & OCTAL:
        n = strtoll_strict(v, 8)
    if n is None and not p.numflags:
        n = string2ll(v)
    if n is None:
        if p.numflags & MEMORY and p.numflags & PERCENT:
            raise ConfigValueError(errors.CONFIG_NOT_MEMORY_PERCENT)
        if p.numflags & MEMORY:
            raise ConfigValueError(errors.CONFIG_NOT_MEMORY)
        if p.numflags & OCTAL:
            raise ConfigValueError(errors.CONFIG_NOT_OCTAL)
        raise ConfigValueError(errors.CONFIG_NOT_INTEGER)
    if p.ctype in _UNSIGNED_CHECK:
        u, lo, hi = n % 2**64, p.lo % 2**64, p.hi % 2**64
        if not lo <= u <= hi:
            if p.numflags & OCTAL:
                raise ConfigValueError(errors.CONFIG_RANGE_OCTAL % ("%o" % lo, "%o" % hi))
            raise ConfigValueError(errors.CONFIG_RANGE % (lo, hi))
        n = u
    elif p.numflags & PERCENT and n < 0:
        if n < p.lo:
            raise ConfigValueError(errors.CONFIG_PERCENT_RANGE % -p.lo)
    elif not p.lo <= n <= p.hi:
        raise ConfigValueError(errors.CONFIG_RANGE % (p.lo, p.hi))
    return n


def show_numeric(p: Param, v) -> str:
    """numericConfigGet."""
    if p.numflags & PERCENT and v < 0:
        return "%d%%" % -v
    if p.numflags & OCTAL:
        return oct(v)[2:]
    return str(v)


def parse_string(p: Param, v: bytes, cur) -> str:
    """A C string parameter: everything up to a NUL, then Redis' validity check."""
    return _text(cstr(v))


def parse_sds(p: Param, v: bytes, cur) -> str:
    """An sds parameter: every byte."""
    return _text(v)


def _args(v: bytes) -> list[bytes]:
    """performInterfaceSet's split for multi-argument parameters: at single spaces, and
    an empty value is no argument at all."""
    return v.split(b" ") if v else []


def parse_save(p: Param, v: bytes, cur) -> str:
    """setConfigSaveOption: pairs of <seconds> <changes>, seconds >= 1, changes >= 0."""
    args = _args(v)
    if len(args) == 1 and args[0] == b"":
        args = []
    if len(args) % 2:
        raise ConfigValueError(errors.CONFIG_SAVE)
    nums = []
    for j, a in enumerate(args):
        n = strtoll(a)
        if n is None or (j % 2 == 0 and n < 1) or (j % 2 == 1 and n < 0):
            raise ConfigValueError(errors.CONFIG_SAVE)
        nums.append(n if j % 2 == 0 else wrap32(n))  # (changes is an int)
    return " ".join(str(n) for n in nums)


# client-output-buffer-limit: Redis' client classes, in its order, and their defaults.
OBUF_CLASSES = ("normal", "slave", "pubsub")
OBUF_NAMES = {b"normal": "normal", b"slave": "slave", b"replica": "slave", b"pubsub": "pubsub"}
OBUF_DEFAULT = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"


def obuf_classes(value: str) -> dict[str, tuple[int, int, int]]:
    """A client-output-buffer-limit value as {class: (hard, soft, seconds)}."""
    parts = value.split()
    return {parts[i]: (int(parts[i + 1]), int(parts[i + 2]), int(parts[i + 3]))
            for i in range(0, len(parts), 4)}


def parse_obuf(p: Param, v: bytes, cur) -> str:
    """updateClientOutputBufferLimit: <class> <hard> <soft> <seconds> repeated; every
    class is checked before any changes, and the classes not named keep their limits."""
    args = _args(v)
    if len(args) % 4:
        raise ConfigValueError(errors.OBUF_ARGS)
    classes = obuf_classes(cur if isinstance(cur, str) else OBUF_DEFAULT)
    for i in range(0, len(args), 4):
        cls = OBUF_NAMES.get(cstr(args[i]).lower())
        if cls is None:
            raise ConfigValueError(errors.OBUF_CLASS)
        hard, soft, seconds = memtoull(args[i + 1]), memtoull(args[i + 2]), strtoll(args[i + 3])
        if seconds is not None:
            seconds = wrap32(seconds)  # (soft_seconds is an int)
        if hard is None or soft is None or seconds is None or seconds < 0:
            raise ConfigValueError(errors.OBUF_VALUES)
        classes[cls] = (hard, soft, seconds)
    return " ".join("%s %d %d %d" % (c, *classes[c]) for c in OBUF_CLASSES)


def parse_oom_values(p: Param, v: bytes, cur) -> str:
    """setConfigOOMScoreAdjValuesOption: three integers in -2000..2000."""
    args = _args(v)
    if len(args) != 3:
        raise ConfigValueError(errors.CONFIG_WRONG_ARGS)
    nums = []
    for a in args:
        n = strtoll(a)
        if n is None or not -2000 <= n <= 2000:
            raise ConfigValueError(errors.CONFIG_OOM_VALUES)
        nums.append(n)
    return " ".join(map(str, nums))


def parse_notify(p: Param, v: bytes, cur) -> str:
    """keyspaceEventsStringToFlags over the C string; kept as given (shown normalised)."""
    letters = _text(cstr(v))
    if notify.parse_flags(letters) is None:
        raise ConfigValueError(errors.KEYSPACE_EVENTS_LETTERS)
    return letters


def show_notify(p: Param, v) -> str:
    return notify.flags_string(notify.parse_flags(v) or 0)


def parse_bind(p: Param, v: bytes, cur) -> str:
    """setConfigBindOption: at most 16 addresses."""
    args = _args(v)
    if len(args) > 16:
        raise ConfigValueError(errors.CONFIG_BIND_TOO_MANY)
    return " ".join(_text(cstr(a)) for a in args)


def parse_dir(p: Param, v: bytes, cur) -> str:
    """setConfigDirOption: the directory must exist (Redis changes into it)."""
    path = _text(cstr(v))
    if not os.path.isdir(path):
        raise ConfigValueError(os.strerror(2 if not os.path.exists(path) else 20))
    return path


def show_dir(p: Param, v) -> str:
    return os.path.abspath(v)


def parse_replicaof(p: Param, v: bytes, cur) -> str:
    """setConfigReplicaOfOption: <host> <port>, or "no one" (or nothing: no master)."""
    args = _args(v)
    if not args:
        return ""
    if len(args) != 2:
        raise ConfigValueError(errors.CONFIG_WRONG_ARGS)
    if args[0].lower() == b"no" and args[1].lower() == b"one":
        return ""
    port = strtoll(args[1])
    if not args[1] or port is None or not 0 <= port <= 65535:
        raise ConfigValueError(errors.CONFIG_MASTER_PORT)
    return "%s %d" % (_text(args[0]), port)


def parse_percentiles(p: Param, v: bytes, cur) -> str:
    """setConfigLatencyTrackingInfoPercentilesOutputOption: numbers in [0, 100]."""
    args = _args(v)
    if len(args) == 1 and args[0] == b"":
        args = []
    out = []
    for a in args:
        d = string2d(a)
        if d is None:
            raise ConfigValueError(errors.CONFIG_PERCENTILES)
        if not 0.0 <= d <= 100.0:
            raise ConfigValueError(errors.CONFIG_PERCENTILES_RANGE)
        out.append(trim_double(d))
    return " ".join(out)


# shutdown-on-sigint/-sigterm: flags, each a bit (configEnumGetValue with bitflags).
_SHUTDOWN_FLAGS = (("default", 0), ("save", 1), ("nosave", 2), ("now", 4), ("force", 8))


def parse_shutdown(p: Param, v: bytes, cur) -> str:
    """A multi-argument enum of flags: any of them, or'ed; SAVE and NOSAVE exclude each
    other. Kept as CONFIG GET shows it: the flags in Redis' order."""
    args = _args(v)
    bits = 0
    for a in args:
        found = [bit for name, bit in _SHUTDOWN_FLAGS if name == _text(cstr(a)).lower()]
        if not found:
            args = []
            break
        bits |= found[0]
    if not args:
        raise ConfigValueError(errors.CONFIG_ENUM % ", ".join(n for n, _ in _SHUTDOWN_FLAGS))
    if bits & 1 and bits & 2:
        raise ConfigValueError(errors.CONFIG_SHUTDOWN_SAVE_NOSAVE)
    exact = [name for name, bit in _SHUTDOWN_FLAGS if bit == bits]
    if exact:
        return exact[0]
    return " ".join(name for name, bit in _SHUTDOWN_FLAGS if bit and bits & bit)


# kind -> (parse, show)
KINDS: dict[str, tuple[Callable, Callable]] = {
    "bool": (parse_bool, show_bool),
    "enum": (parse_enum, show_plain),
    "numeric": (parse_numeric, show_numeric),
    "string": (parse_string, show_plain),
    "sds": (parse_sds, show_plain),
    "save": (parse_save, show_plain),
    "obuf": (parse_obuf, show_plain),
    "oom": (parse_oom_values, show_plain),
    "notify": (parse_notify, show_notify),
    "bind": (parse_bind, show_plain),
    "dir": (parse_dir, show_dir),
    "replicaof": (parse_replicaof, show_plain),
    "percentiles": (parse_percentiles, show_plain),
    "shutdown": (parse_shutdown, show_plain),
}


# ---------------------------------------------------------------- string checks

def _base_name(what: str, empty: str | None = None) -> Callable[[str], None]:
    """isValidDBfilename / isValidAOFfilename / isValidAOFdirname."""

    def check(s: str) -> None:
        if empty is not None and s == "":
            raise ConfigValueError(empty)
        if "/" in s or "\\" in s:
            raise ConfigValueError(what)

    return check


def _hostname(s: str) -> None:
    """isValidAnnouncedHostname."""
    if len(s) >= 256:
        raise ConfigValueError(errors.CONFIG_HOSTNAME_LONG)
    if any(not (c.isascii() and (c.isalnum() or c in "-.")) for c in s):
        raise ConfigValueError(errors.CONFIG_HOSTNAME_CHARS)


def _no_defrag(on: object) -> None:
    """isValidActiveDefrag, as a Redis built without jemalloc's defrag answers (shardis
    has no allocator to defragment)."""
    if on:
        raise ConfigValueError(errors.CONFIG_NO_DEFRAG)


def _tls(get: Callable[[str], object]) -> str | None:
    """applyTlsCfg: with TLS on (tls-port, tls-replication or tls-cluster), the settings must
    make a context (shardis/tls.py), as Redis' tlsConfigure must succeed; the reason goes
    to the log, the reply is Redis' own."""
    if not (get("tls-port") or get("tls-replication") or get("tls-cluster")):
        return None
    try:
        tls.server_context(get)
    except tls.TLSConfigError as e:
        log.warning("TLS configuration refused: %s", e)
        return errors.CONFIG_TLS
    return None


def _tls_port(get: Callable[[str], object]) -> str | None:
    """applyTLSPort: the TLS settings work, and a new port can be listened on (every router
    then opens it, or closes the old one: router/tls.py)."""
    err = _tls(get)
    if err is not None or not get("tls-port"):
        return err
    bind, port = str(get("bind")), get("tls-port")
    assert isinstance(port, int), "a number parameter"
    s = socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((bind, port))
    except OSError as e:
        log.warning("Could not create server TCP listening socket %s:%d: %s", bind, port, e.strerror)
        return errors.CONFIG_LISTEN
    finally:
        s.close()
    return None


_TITLE_VARS = {"title": "", "listen-addr": "*:0", "server-mode": "", "port": "0",
               "tls-port": "0", "unixsocket": "", "config-file": ""}


def _proc_title(s: str) -> None:
    """validateProcTitleTemplate: sdstemplate's syntax, known variables only, and not
    empty once expanded (with an empty title) and trimmed."""
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "{":
            if s[i + 1:i + 2] == "{":
                out.append("{")
                i += 2
                continue
            end = s.find("}", i + 1)
            if end < 0 or s[i + 1:end] not in _TITLE_VARS:
                raise ConfigValueError(errors.CONFIG_PROC_TITLE)
            out.append(_TITLE_VARS[s[i + 1:end]])
            i = end + 1
        elif c == "}":
            if s[i + 1:i + 2] != "}":
                raise ConfigValueError(errors.CONFIG_PROC_TITLE)
            out.append("}")
            i += 2
        else:
            out.append(c)
            i += 1
    if not "".join(out).strip(" "):
        raise ConfigValueError(errors.CONFIG_PROC_TITLE)


# ---------------------------------------------------------------- row makers

def yesno(name: str, default: bool, flags: int = 0, alias: str | None = None, **kw) -> Param:
    """A bool parameter (createBoolConfig)."""
    return Param(name, "bool", default, alias, flags, **kw)


def string(name: str, default: str = "", flags: int = 0, alias: str | None = None, **kw) -> Param:
    """A C string parameter (createStringConfig); NULL and "" both show as ""."""
    return Param(name, "string", default, alias, flags, **kw)


def enum(name: str, choices: str, default: str, flags: int = 0,
         same: tuple[tuple[str, str], ...] = (), **kw) -> Param:
    """An enum parameter (createEnumConfig): ``choices`` in Redis' order, space-separated."""
    return Param(name, "enum", default, None, flags, choices=tuple(choices.split()), same=same,
                 **kw)


def number(name: str, ctype: int, lo: int, hi: int, default: int, flags: int = 0,
           alias: str | None = None, numflags: int = 0, **kw) -> Param:
    """A numeric parameter (createIntConfig, createSizeTConfig ...) of C type ``ctype``."""
    return Param(name, "numeric", default, alias, flags, ctype=ctype, lo=lo, hi=hi,
                 numflags=numflags, **kw)


def special(name: str, kind: str, default: str, flags: int = 0, alias: str | None = None,
            **kw) -> Param:
    """A parameter with its own parse and show (createSpecialConfig): ``kind`` in KINDS."""
    return Param(name, kind, default, alias, flags, **kw)


_PROTECTED_ACTIONS = "no yes local"

# Redis 7.0.15's static_configs, in its order; ``act``/``field`` say what shardis does.
# Defaults are Redis' own but where shardis differs by design: appendonly (shardis
# always persists), save (no snapshots), and the shardis settings (port, bind, dir ...).
PARAMS: tuple[Param, ...] = (
    # -------- bool
    yesno("rdbchecksum", True, IMMUTABLE),
    yesno("daemonize", False, IMMUTABLE),
    yesno("io-threads-do-reads", False, IMMUTABLE),
    yesno("always-show-logo", False, IMMUTABLE),
    yesno("protected-mode", True, act=ROUTER),
    yesno("rdbcompression", True),
    yesno("rdb-del-sync-files", False),
    yesno("activerehashing", True),
    yesno("stop-writes-on-bgsave-error", True),
    yesno("set-proc-title", True, IMMUTABLE),
    yesno("dynamic-hz", True),
    yesno("lazyfree-lazy-eviction", False),
    yesno("lazyfree-lazy-expire", False),
    yesno("lazyfree-lazy-server-del", False),
    yesno("lazyfree-lazy-user-del", False),
    yesno("lazyfree-lazy-user-flush", False),
    yesno("repl-disable-tcp-nodelay", False),
    yesno("repl-diskless-sync", True),
    yesno("aof-rewrite-incremental-fsync", True),
    yesno("no-appendfsync-on-rewrite", False),
    yesno("cluster-require-full-coverage", True),
    yesno("rdb-save-incremental-fsync", True),
    yesno("aof-load-truncated", True),
    yesno("aof-use-rdb-preamble", True),
    yesno("aof-timestamp-enabled", False),
    yesno("cluster-replica-no-failover", False, alias="cluster-slave-no-failover"),
    yesno("replica-lazy-flush", False, alias="slave-lazy-flush"),
    yesno("replica-serve-stale-data", True, alias="slave-serve-stale-data"),
    yesno("replica-read-only", True, alias="slave-read-only"),
    yesno("replica-ignore-maxmemory", True, alias="slave-ignore-maxmemory"),
    yesno("jemalloc-bg-thread", True),
    yesno("activedefrag", False, check=_no_defrag),
    yesno("syslog-enabled", False, IMMUTABLE),
    yesno("cluster-enabled", False, IMMUTABLE,
          unsupported=errors.CONFIG_UNSUPPORTED_CLUSTER),
    yesno("appendonly", True),
    yesno("cluster-allow-reads-when-down", False),
    yesno("cluster-allow-pubsubshard-when-down", True),
    yesno("crash-log-enabled", True),
    yesno("crash-memcheck-enabled", True),
    yesno("use-exit-on-panic", False, HIDDEN),
    yesno("disable-thp", True, IMMUTABLE),
    yesno("cluster-allow-replica-migration", True),
    yesno("replica-announced", True),
    yesno("latency-tracking", True),
    yesno("aof-disable-auto-gc", False),
    yesno("replica-ignore-disk-write-errors", False),
    # -------- string
    string("aclfile", "", IMMUTABLE),
    string("unixsocket", "", IMMUTABLE),
    string("pidfile", "", IMMUTABLE),
    string("replica-announce-ip", "", alias="slave-announce-ip"),
    string("masteruser", ""),
    string("cluster-announce-ip", ""),
    string("cluster-config-file", "nodes.conf", IMMUTABLE),
    string("cluster-announce-hostname", "", check=_hostname),
    string("syslog-ident", "redis", IMMUTABLE),
    string("dbfilename", "dump.rdb", PROTECTED,
           check=_base_name(errors.CONFIG_DBFILENAME_PATH)),
    string("appendfilename", "appendonly.aof", IMMUTABLE,
           check=_base_name(errors.CONFIG_AOFFILENAME_PATH, errors.CONFIG_AOFFILENAME_EMPTY)),
    string("appenddirname", "appendonlydir", IMMUTABLE,
           check=_base_name(errors.CONFIG_AOFDIRNAME_PATH, errors.CONFIG_AOFDIRNAME_EMPTY)),
    string("server_cpulist", "", IMMUTABLE),
    string("bio_cpulist", "", IMMUTABLE),
    string("aof_rewrite_cpulist", "", IMMUTABLE),
    string("bgsave_cpulist", "", IMMUTABLE),
    string("ignore-warnings", ""),
    string("proc-title-template", "{title} {listen-addr} {server-mode}", check=_proc_title),
    string("bind-source-addr", ""),
    string("logfile", "", IMMUTABLE),
    # -------- sds
    Param("masterauth", "sds", ""),
    Param("requirepass", "sds", "", act=ROUTER),
    # -------- enum
    enum("supervised", "upstart systemd auto no", "no", IMMUTABLE),
    enum("syslog-facility", "user local0 local1 local2 local3 local4 local5 local6 local7",
         "local0", IMMUTABLE),
    enum("repl-diskless-load", "disabled on-empty-db swapdb", "disabled"),
    enum("loglevel", "debug verbose notice warning", "notice", act=ROUTER, field="loglevel"),
    enum("maxmemory-policy", "volatile-lru volatile-lfu volatile-random volatile-ttl "
         "allkeys-lru allkeys-lfu allkeys-random noeviction", "noeviction", act=SHARD,
         extra=("allkeys-s3fifo", "volatile-s3fifo")),
    enum("appendfsync", "everysec always no", "everysec", act=SHARD, field="durability"),
    enum("oom-score-adj", "no yes relative absolute", "no", same=(("relative", "yes"),)),
    enum("acl-pubsub-default", "allchannels resetchannels", "resetchannels"),
    enum("sanitize-dump-payload", "no yes clients", "no"),
    enum("enable-protected-configs", _PROTECTED_ACTIONS, "no", IMMUTABLE),
    enum("enable-debug-command", _PROTECTED_ACTIONS, "no", IMMUTABLE),
    enum("enable-module-command", _PROTECTED_ACTIONS, "no", IMMUTABLE),
    enum("cluster-preferred-endpoint-type", "ip hostname unknown-endpoint", "ip"),
    enum("propagation-error-behavior", "ignore panic panic-on-replicas", "ignore"),
    special("shutdown-on-sigint", "shutdown", "default", MULTI_ARG),
    special("shutdown-on-sigterm", "shutdown", "default", MULTI_ARG),
    # -------- int
    number("databases", INT, 1, INT_MAX, 16, IMMUTABLE, act=START, field="databases"),
    number("port", INT, 0, 65535, 6380, act=START, field="port"),
    number("io-threads", INT, 1, 128, 1, IMMUTABLE),
    number("auto-aof-rewrite-percentage", INT, 0, INT_MAX, 100),
    number("cluster-replica-validity-factor", INT, 0, INT_MAX, 10,
           alias="cluster-slave-validity-factor"),
    number("list-max-listpack-size", INT, INT_MIN, INT_MAX, -2, alias="list-max-ziplist-size"),
    number("tcp-keepalive", INT, 0, INT_MAX, 300),
    number("cluster-migration-barrier", INT, 0, INT_MAX, 1),
    number("active-defrag-cycle-min", INT, 1, 99, 1),
    number("active-defrag-cycle-max", INT, 1, 99, 25),
    number("active-defrag-threshold-lower", INT, 0, 1000, 10),
    number("active-defrag-threshold-upper", INT, 0, 1000, 100),
    number("lfu-log-factor", INT, 0, INT_MAX, 10, act=SHARD),
    number("lfu-decay-time", INT, 0, INT_MAX, 1, act=SHARD),
    number("replica-priority", INT, 0, INT_MAX, 100, alias="slave-priority"),
    number("repl-diskless-sync-delay", INT, 0, INT_MAX, 5),
    number("maxmemory-samples", INT, 1, INT_MAX, 5, act=SHARD),
    number("maxmemory-eviction-tenacity", INT, 0, 100, 10),
    number("timeout", INT, 0, INT_MAX, 0, act=ROUTER),
    number("replica-announce-port", INT, 0, 65535, 0, alias="slave-announce-port"),
    number("tcp-backlog", INT, 0, INT_MAX, 511, IMMUTABLE),
    number("cluster-port", INT, 0, 65535, 0, IMMUTABLE),
    number("cluster-announce-bus-port", INT, 0, 65535, 0),
    number("cluster-announce-port", INT, 0, 65535, 0),
    number("cluster-announce-tls-port", INT, 0, 65535, 0),
    number("repl-timeout", INT, 1, INT_MAX, 60),
    number("repl-ping-replica-period", INT, 1, INT_MAX, 10, alias="repl-ping-slave-period"),
    number("list-compress-depth", INT, 0, INT_MAX, 0),
    number("rdb-key-save-delay", INT, INT_MIN, INT_MAX, 0, HIDDEN),
    number("key-load-delay", INT, INT_MIN, INT_MAX, 0, HIDDEN),
    number("active-expire-effort", INT, 1, 10, 1),
    number("hz", INT, 0, INT_MAX, 10, adjust=lambda n: max(1, min(n, 500))),
    number("min-replicas-to-write", INT, 0, INT_MAX, 0, alias="min-slaves-to-write"),
    number("min-replicas-max-lag", INT, 0, INT_MAX, 10, alias="min-slaves-max-lag"),
    # (applyWatchdogPeriod raises a period to two ticks: 200 ms at hz 10)
    number("watchdog-period", INT, 0, INT_MAX, 0, HIDDEN, adjust=lambda n: max(n, 200) if n else 0),
    number("shutdown-timeout", INT, 0, INT_MAX, 10),
    number("repl-diskless-sync-max-replicas", INT, 0, INT_MAX, 0),
    # -------- unsigned int
    number("maxclients", UINT, 1, UINT_MAX, 10000, act=ROUTER, field="maxclients"),
    number("unixsocketperm", UINT, 0, 0o777, 0, IMMUTABLE, numflags=OCTAL),
    number("socket-mark-id", UINT, 0, UINT_MAX, 0, IMMUTABLE),
    # -------- unsigned long
    number("active-defrag-max-scan-fields", ULONG, 1, LONG_MAX, 1000),
    number("slowlog-max-len", ULONG, 0, LONG_MAX, 128, act=ROUTER),
    number("acllog-max-len", ULONG, 0, LONG_MAX, 128),
    # -------- long long
    number("busy-reply-threshold", LONG_LONG, 0, LONG_MAX, 5000, alias="lua-time-limit", act=SHARD),
    number("cluster-node-timeout", LONG_LONG, 0, LLONG_MAX, 15000),
    number("slowlog-log-slower-than", LONG_LONG, -1, LLONG_MAX, 10000, act=SHARD),
    number("latency-monitor-threshold", LONG_LONG, 0, LLONG_MAX, 0, act=SHARD),
    number("proto-max-bulk-len", LONG_LONG, 1 << 20, LONG_MAX, 512 << 20, numflags=MEMORY,
           act=SHARD, field="proto_max_bulk_len"),
    number("stream-node-max-entries", LONG_LONG, 0, LLONG_MAX, 100, act=SHARD),
    number("repl-backlog-size", LONG_LONG, 1, LLONG_MAX, 1 << 20, numflags=MEMORY,
           adjust=lambda n: max(n, 16384)),  # (resizeReplicationBacklog's minimum)
    # -------- unsigned long long
    number("maxmemory", ULONG_LONG, 0, ULLONG_MAX, 0, numflags=MEMORY, act=SHARD),
    number("cluster-link-sendbuf-limit", ULONG_LONG, 0, ULLONG_MAX, 0, numflags=MEMORY),
    # -------- size_t
    number("hash-max-listpack-entries", SIZE_T, 0, LONG_MAX, 512,
           alias="hash-max-ziplist-entries", act=SHARD),
    number("set-max-intset-entries", SIZE_T, 0, LONG_MAX, 512, act=SHARD),
    number("zset-max-listpack-entries", SIZE_T, 0, LONG_MAX, 128,
           alias="zset-max-ziplist-entries", act=SHARD),
    number("active-defrag-ignore-bytes", SIZE_T, 1, LLONG_MAX, 100 << 20, numflags=MEMORY),
    number("hash-max-listpack-value", SIZE_T, 0, LONG_MAX, 64, numflags=MEMORY,
           alias="hash-max-ziplist-value", act=SHARD),
    number("stream-node-max-bytes", SIZE_T, 0, LONG_MAX, 4096, numflags=MEMORY, act=SHARD),
    number("zset-max-listpack-value", SIZE_T, 0, LONG_MAX, 64, numflags=MEMORY,
           alias="zset-max-ziplist-value", act=SHARD),
    number("hll-sparse-max-bytes", SIZE_T, 0, LONG_MAX, 3000, numflags=MEMORY, act=SHARD),
    number("tracking-table-max-keys", SIZE_T, 0, LONG_MAX, 1000000),
    number("client-query-buffer-limit", SIZE_T, 1 << 20, LONG_MAX, 1 << 30, numflags=MEMORY,
           act=ROUTER, field="client_query_buffer_limit"),
    number("maxmemory-clients", SSIZE_T, -100, SSIZE_MAX, 0, numflags=MEMORY | PERCENT),
    # -------- other numbers
    number("repl-backlog-ttl", TIME_T, 0, LONG_MAX, 3600),
    number("auto-aof-rewrite-min-size", OFF_T, 0, LLONG_MAX, 64 << 20, numflags=MEMORY),
    number("loading-process-events-interval-bytes", OFF_T, 1024, INT_MAX, 2 << 20, HIDDEN),
    # -------- TLS (shardis/tls.py reads them; every router serves tls-port: router/tls.py)
    number("tls-port", INT, 0, 65535, 0, applycheck=_tls_port, act=ROUTER),
    number("tls-session-cache-size", INT, 0, INT_MAX, 20 * 1024, applycheck=_tls),
    number("tls-session-cache-timeout", INT, 0, INT_MAX, 300, applycheck=_tls),
    yesno("tls-cluster", False, applycheck=_tls),
    yesno("tls-replication", False, applycheck=_tls),
    enum("tls-auth-clients", "no yes optional", "yes", act=ROUTER),
    yesno("tls-prefer-server-ciphers", False, applycheck=_tls, act=ROUTER),
    yesno("tls-session-caching", True, applycheck=_tls, act=ROUTER),
    string("tls-cert-file", applycheck=_tls, act=ROUTER),
    string("tls-key-file", applycheck=_tls, act=ROUTER),
    string("tls-key-file-pass", applycheck=_tls, act=ROUTER),
    string("tls-client-cert-file", applycheck=_tls),
    string("tls-client-key-file", applycheck=_tls),
    string("tls-client-key-file-pass", applycheck=_tls),
    string("tls-dh-params-file", applycheck=_tls, act=ROUTER),
    string("tls-ca-cert-file", applycheck=_tls, act=ROUTER),
    string("tls-ca-cert-dir", applycheck=_tls, act=ROUTER),
    string("tls-protocols", applycheck=_tls, act=ROUTER),
    string("tls-ciphers", applycheck=_tls, act=ROUTER),
    string("tls-ciphersuites", applycheck=_tls, act=ROUTER),
    # -------- special
    special("dir", "dir", "./shardis-data", PROTECTED, act=START, field="dir"),
    special("save", "save", "", MULTI_ARG),
    special("client-output-buffer-limit", "obuf", OBUF_DEFAULT, MULTI_ARG, act=ROUTER),
    special("oom-score-adj-values", "oom", "0 200 800", MULTI_ARG),
    special("notify-keyspace-events", "notify", "", act=SHARD, field="notify_keyspace_events"),
    special("bind", "bind", "127.0.0.1", MULTI_ARG, act=START, field="bind"),
    special("replicaof", "replicaof", "", IMMUTABLE | MULTI_ARG, alias="slaveof",
            unsupported=errors.CONFIG_UNSUPPORTED_REPLICAOF),
    special("latency-tracking-info-percentiles", "percentiles", "50 99 99.9", MULTI_ARG),
)


def _index() -> dict[str, tuple[Param, str]]:
    """Every name and alias -> (its row, the name as Redis registers it)."""
    out: dict[str, tuple[Param, str]] = {}
    for p in PARAMS:
        out[p.name] = (p, p.name)
        if p.alias:
            out[p.alias] = (p, p.alias)
    return out


NAMES = _index()
SHARD_PARAMS = tuple(p for p in PARAMS if p.act == SHARD)


def lookup(name: str | bytes) -> tuple[Param, str] | None:
    """A parameter by name or alias in any case: (its row, the name it was found by)."""
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    return NAMES.get(name.lower())


def param(name: str) -> Param:
    """A parameter the code names, which exists (by name or alias in any case)."""
    return NAMES[name.lower()][0]


def lookup_key(key: str) -> tuple[Param, str] | None:
    """A cluster.toml key or command-line name: '-' and '_' are the same."""
    low = key.lower()
    return NAMES.get(low) or NAMES.get(low.replace("_", "-")) or NAMES.get(low.replace("-", "_"))


def parse(p: Param, raw: bytes, current=None):
    """Read a CONFIG SET value as Redis does; raises ConfigValueError with its reason."""
    value = KINDS[p.kind][0](p, raw, current)
    if p.check is not None:
        p.check(value)
    if p.adjust is not None:
        value = p.adjust(value)
    if p.unsupported and value != p.default:
        raise ConfigValueError(p.unsupported)
    return value


def show(p: Param, value) -> str:
    """What CONFIG GET shows for a value."""
    return KINDS[p.kind][1](p, value)


# ---------------------------------------------------------------- values held in a Config

def get_value(cfg, p: Param):
    """A parameter's current value in ``cfg`` (a shardis Config)."""
    if p.field:
        return getattr(cfg, p.field)
    return cfg.params.get(p.name, p.default)


def set_value(cfg, p: Param, value) -> None:
    """Keep a parameter's new value in ``cfg``."""
    if p.field:
        setattr(cfg, p.field, value)
    elif value == p.default:
        cfg.params.pop(p.name, None)
    else:
        cfg.params[p.name] = value


def get_matches(cfg, patterns: list[bytes]) -> dict[bytes, bytes]:
    """CONFIG GET: every parameter a pattern matches (hidden ones by exact name only),
    each name once whatever its case; an exact name is answered as it was asked."""
    seen: set[str] = set()
    out: dict[bytes, bytes] = {}
    for pat in patterns:
        if not any(c in pat for c in b"[*?"):
            found = lookup(pat)
            low = pat.decode("latin-1").lower()
            if found is not None and low not in seen:
                seen.add(low)
                out[pat] = show(found[0], get_value(cfg, found[0])).encode("latin-1")
            continue
        match = compile_glob(pat, nocase=True)
        for name, (p, _) in NAMES.items():
            if p.flags & HIDDEN or name in seen or not match(name.encode()):
                continue
            seen.add(name)
            out[name.encode()] = show(p, get_value(cfg, p)).encode("latin-1")
    return out
