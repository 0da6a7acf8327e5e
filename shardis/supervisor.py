"""``shardis-server``: read cluster.toml, start shards, coordinator and routers, keep
them running, and stop them in order (routers, coordinator, shards) on SIGTERM/SIGINT."""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time


from shardis import REDIS_VERSION, __version__, acl, autolayout, configtable
from shardis.assembly import build_table
from shardis.config import Config, ConfigError, load
from shardis.resp import ReplyError
from shardis.router import servercmd
from shardis.shardd import reshard, restore

log = logging.getLogger("shardis")

PR_SET_PDEATHSIG = 1
SUPERVISOR_PID = servercmd.SUPERVISOR_PID_ENV
RESTART_WINDOW = 30.0
RESTART_LIMIT = 5


def _die_with_parent() -> None:
    """Children get SIGKILL when the supervisor dies, so no orphan keeps the port."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


class Child:
    """A process the supervisor runs and restarts."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.argv = argv
        self.proc: subprocess.Popen | None = None
        self.restarts: list[float] = []

    def start(self) -> None:
        # SUPERVISOR_PID: whom a router signals for SHUTDOWN (router/servercmd.py)
        env = dict(os.environ, **{SUPERVISOR_PID: str(os.getpid())})
        self.proc = subprocess.Popen(self.argv, preexec_fn=_die_with_parent, env=env)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:  # (alive)
            self.proc.send_signal(sig)

    def status(self) -> int | None:
        """The exit status once it exited (None before it started or while it runs)."""
        return None if self.proc is None else self.proc.returncode

    def wait(self, timeout: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0fs; killing it", self.name, timeout)
            self.proc.kill()
            self.proc.wait()


def check_port(cfg: Config) -> None:
    """Refuse early, naming the key, when the routers could not listen (the plain port;
    tls-port was checked with the TLS settings, as CONFIG SET checks it)."""
    if not cfg.port:
        return  # TLS only
    fam = socket.AF_INET6 if ":" in cfg.bind else socket.AF_INET
    s = socket.socket(fam)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((cfg.bind, cfg.port))
    except socket.gaierror as e:
        raise ConfigError(f"bind: cannot use address {cfg.bind!r}: {e.strerror}") from None
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise ConfigError(f"port: cannot listen on {cfg.bind}:{cfg.port}: {e.strerror}"
                              " (is another server running there?)") from None
        if e.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(f"bind: {cfg.bind} is not an address of this host") from None
        raise ConfigError(f"port: cannot listen on {cfg.bind}:{cfg.port}: {e.strerror}") from None
    finally:
        s.close()


def check_users(cfg: Config) -> None:
    """ACL users (aclfile, users, requirepass): refused at start, as Redis does."""
    try:
        acl.initial_users(cfg)
    except ReplyError as e:
        key = "aclfile" if configtable.get_value(cfg, configtable.param("aclfile")) else "users"
        raise ConfigError(f"{key}: {e.args[0]}") from None


def check_dir(cfg: Config) -> None:
    """The data directory must be a writable directory (created when missing)."""
    try:
        os.makedirs(cfg.run_dir(), exist_ok=True)
    except OSError as e:
        raise ConfigError(f"dir: cannot use {cfg.dir!r} for data: {e.strerror}") from None
    if not os.access(cfg.dir, os.W_OK | os.X_OK):
        raise ConfigError(f"dir: {cfg.dir!r} is not writable")


def resolve_layout(cfg: Config) -> list[str]:
    """Numbers for ``shards`` and ``routers`` set to "auto" (shardis/autolayout.py); the
    lines that say what was chosen and why, for the log."""
    cores = autolayout.usable_cores()
    why = []
    if cfg.shards == autolayout.AUTO:
        cfg.auto.append("shards")
        recorded = reshard.recorded_shards(cfg)
        if recorded is not None:
            cfg.shards = recorded
            why.append(f"shards = auto: {recorded}, the count the data in {os.path.abspath(cfg.dir)} "
                       f"was written with (auto never reshards; set a number to change it)")
        else:
            cfg.shards = autolayout.auto_shards(cores)
            why.append(f"shards = auto: {cfg.shards} for {cores} usable core(s) (half the cores; "
                       f"bench/RESULTS.md, layouts)")
    if cfg.routers == autolayout.AUTO:
        cfg.auto.append("routers")
        cfg.routers = autolayout.auto_routers(cores)
        why.append(f"routers = auto: {cfg.routers} for {cores} usable core(s) (a quarter of the "
                   f"cores)")
    return why


def reshard_if_needed(cfg: Config) -> None:
    """Data written under another shard count is moved to its new shards first."""
    if not reshard.needs_reshard(cfg):
        return
    found = reshard.shard_dirs(cfg)
    log.info("the data in %s is laid out for %d shard(s); resharding to %d", cfg.dir,
             len(found), cfg.shards)
    t = time.monotonic()
    moved = reshard.reshard(cfg, build_table())
    log.info("resharding done: %d keys moved in %.1fs", moved, time.monotonic() - t)


class Supervisor:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        js = json.dumps(cfg.to_dict())
        py = sys.executable
        run = [py, "-m"]  # each package's __main__ (shardis/assembly.py gives it the table)
        self.shards = [Child(f"shard-{i}", run + ["shardis.shardd", "--config-json", js, "--index", str(i)])
                       for i in range(cfg.nshards)]
        self.coordinator = Child("coordinator", run + ["shardis.coord", "--config-json", js])
        self.routers = [Child(f"router-{i}", run + ["shardis.router", "--config-json", js, "--index", str(i)])
                        for i in range(cfg.nrouters)]
        self.stopping = False

    def children(self) -> list[Child]:
        return self.shards + [self.coordinator] + self.routers

    def run(self) -> int:
        cfg = self.cfg
        os.makedirs(cfg.run_dir(), exist_ok=True)
        for name in os.listdir(cfg.run_dir()):
            if name.endswith(".sock"):
                os.unlink(os.path.join(cfg.run_dir(), name))
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        log.info("shardis %s (Redis %s compatible) starting: %d shards, %d routers, "
                 "durability=%s, dir=%s, config=%s", __version__, REDIS_VERSION, cfg.shards,
                 cfg.routers, cfg.durability, os.path.abspath(cfg.dir), cfg.source)
        for c in self.shards:
            c.start()
        self.coordinator.start()
        if not self._wait_for_sockets():
            self.shutdown()
            return 1
        for c in self.routers:
            c.start()
        if self._wait_for_port():
            log.info("Ready to accept connections on %s:%d", cfg.bind, self._a_port())
        code = self._watch()
        self.shutdown()
        return code

    def _wait_for_sockets(self) -> bool:
        paths = [self.cfg.shard_endpoint(i)[6:] for i in range(self.cfg.nshards)]
        paths.append(self.cfg.coordinator_endpoint()[6:])
        paths.append(self.cfg.pubsub_endpoint()[6:])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.stopping:
            if all(os.path.exists(p) for p in paths):
                return True
            for c in self.shards + [self.coordinator]:
                if not c.alive():
                    log.error("%s exited with status %s during start-up", c.name, c.status())
                    return False
            time.sleep(0.02)
        return not self.stopping and all(os.path.exists(p) for p in paths)

    def _a_port(self) -> int:
        """The port the routers listen on: the plain one, or tls-port when it is 0."""
        tls_port = configtable.get_value(self.cfg, configtable.param("tls-port"))
        return self.cfg.port or tls_port

    def _wait_for_port(self) -> bool:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self.stopping:
            try:
                socket.create_connection((self.cfg.bind, self._a_port()), timeout=0.5).close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def _watch(self) -> int:
        while not self.stopping:
            time.sleep(0.1)
            for c in self.children():
                if c.alive() or self.stopping:
                    continue
                now = time.monotonic()
                c.restarts = [t for t in c.restarts if now - t < RESTART_WINDOW] + [now]
                if len(c.restarts) > RESTART_LIMIT:
                    log.error("%s keeps dying (%d times in %.0fs); shutting down",
                              c.name, len(c.restarts), RESTART_WINDOW)
                    return 1
                log.warning("%s exited with status %s; restarting it", c.name, c.status())
                c.start()
        return 0

    def _on_signal(self, signum, frame) -> None:
        if not self.stopping:
            log.info("received %s, shutting down", signal.Signals(signum).name)
        self.stopping = True

    def shutdown(self) -> None:
        """Stop accepting (routers), then the coordinator, then shards (which commit and sync)."""
        self.stopping = True
        for group, timeout in ((self.routers, 10), ([self.coordinator], 10), (self.shards, 60)):
            for c in group:
                c.signal(signal.SIGTERM)
            for c in group:
                c.wait(timeout)
        log.info("shardis stopped")


USAGE = """usage: shardis-server [CONFIG] [--NAME VALUE ...]

Start a shardis cluster: shards, coordinator and routers.

  CONFIG         cluster.toml (default: ./cluster.toml if there is one)
  --NAME VALUE   any cluster.toml key or Redis configuration parameter, overriding
                 the file, as redis-server takes them: --port 7000 --shards 4
                 --durability always --maxmemory 1gb --save "60 1000" --bind 127.0.0.1
                 (a parameter of several words takes them all: --save 60 1000)
  --version      print the version
  --restore PATH load the RDB file PATH (a shardis SAVE/BGSAVE, or Redis' dump.rdb) into
                 the configured shards before serving; refused when the data directory
                 holds keys already, unless --restore-flush is given too (it empties them)
"""


def parse_argv(argv: list[str]) -> tuple[str | None, dict[str, str]]:
    """redis-server's command line: the config file, and ``--name value`` pairs, where
    a parameter of several words (``--save 60 1000``, ``--bind a b``) takes every word
    up to the next ``--name`` and any other takes one (as in redis.conf, where they must
    have one argument); the file may also come after the options."""
    path = None
    overrides: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("--") or len(arg) == 2:
            if path is not None:
                raise ConfigError(f"command line: expected --name value, got {arg!r}")
            path = arg
            continue
        found = configtable.lookup_key(arg[2:])
        several = found is not None and found[0].flags & configtable.MULTI_ARG
        values: list[str] = []
        while i < len(argv) and not argv[i].startswith("--") and (several or not values):
            values.append(argv[i])
            i += 1
        overrides[arg[2:]] = " ".join(values)
    return path, overrides


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        sys.exit(0)
    if argv and argv[0] in ("-v", "--version"):
        print(f"shardis {__version__}")
        sys.exit(0)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s supervisor %(levelname)s %(message)s")
    try:
        argv, restore_from, restore_flush = restore_args(argv)
        path, overrides = parse_argv(argv)
        cfg = load(path, overrides)
        check_users(cfg)
        check_port(cfg)
        check_dir(cfg)
    except ConfigError as e:
        print(f"shardis-server: {e}", file=sys.stderr)
        sys.exit(1)
    for line in resolve_layout(cfg):
        log.info("%s", line)
    reshard_if_needed(cfg)
    if restore_from is not None:
        t = time.monotonic()
        try:
            loaded, expired = restore.restore(cfg, restore_from, build_table(), restore_flush)
        except restore.RestoreError as e:
            print(f"shardis-server: --restore: {e}", file=sys.stderr)
            sys.exit(1)
        log.info("restored %d key(s) from %s in %.1fs (%d already expired, skipped)", loaded,
                 restore_from, time.monotonic() - t, expired)
    sys.exit(Supervisor(cfg).run())


def restore_args(argv: list[str]) -> tuple[list[str], str | None, bool]:
    """``--restore PATH`` and ``--restore-flush`` taken out of the command line."""
    rest: list[str] = []
    path = None
    flush = False
    i = 0
    while i < len(argv):
        if argv[i] == "--restore":
            if i + 1 >= len(argv):
                raise ConfigError("--restore: the RDB file to load is missing")
            path = argv[i + 1]
            i += 2
            continue
        if argv[i] == "--restore-flush":
            flush = True
        else:
            rest.append(argv[i])
        i += 1
    if flush and path is None:
        raise ConfigError("--restore-flush: only with --restore PATH")
    return rest, path, flush


if __name__ == "__main__":
    main()
