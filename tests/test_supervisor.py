"""``shardis-server`` as a new user runs it: config sources, refusals, signals, restarts."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import tomllib

import pytest
import redis

from shardis.config import Config, ConfigError, apply, validate
from shardis.autolayout import auto_routers, auto_shards, usable_cores
from shardis.slots import key_slot, slot_table
from tests.helpers import RawClient, encode_command, free_port, wait_for_port

SERVER = shutil.which("shardis-server") or ""
START_TIMEOUT = 30


# ---------------------------------------------------------------- processes via /proc


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux: /proc/<pid>/task/<tid>/children)."""
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(p) for p in f.read().split())
    except FileNotFoundError:
        pass
    return out


def argv_of(pid: int) -> list[str]:
    """A process' argv, [] if it is gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except (FileNotFoundError, ProcessLookupError):
        return []


def role_pids(supervisor: int, module: str) -> list[int]:
    """Children of the supervisor running ``python -m <module>`` (shardis.shardd, .router, .coord)."""
    return [p for p in child_pids(supervisor) if argv_of(p)[1:3] == ["-m", module]]


def wait_role(supervisor: int, module: str, n: int, exclude: set[int] = frozenset(),
              timeout: float = 30) -> list[int]:
    """Wait until ``n`` children run ``module``, none of them in ``exclude``; return their pids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = role_pids(supervisor, module)
        if len(pids) == n and not set(pids) & exclude:
            return pids
        time.sleep(0.05)
    raise TimeoutError(f"{n} fresh '{module}' children did not appear: {role_pids(supervisor, module)}")


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc/<pid>/status."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def gone(pid: int, timeout: float = 10) -> bool:
    """True once ``pid`` no longer exists (or is a zombie nobody reaped yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.05)
    return False


def tcp_inodes(port: int, state: str = "01") -> set[int]:
    """Socket inodes of TCP sockets on local ``port`` in ``state`` (01 established, 0A listening)."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[3] == state:
                        out.add(int(parts[9]))
        except FileNotFoundError:
            pass
    return out


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets a process holds open."""
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(int(target[8:-1]))
    return out


# ---------------------------------------------------------------- running shardis-server


class Server:
    """``shardis-server ARGS`` started in ``cwd``, its stderr kept in a file."""

    def __init__(self, cwd, *args: str) -> None:
        self.cwd = str(cwd)
        self.args = [SERVER, *args]
        self.err_path = os.path.join(self.cwd, f"server-{time.monotonic_ns()}.err")
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Server":
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(self.args, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err, start_new_session=True)
        return self

    def wait_ready(self, port: int) -> "Server":
        try:
            wait_for_port(port, START_TIMEOUT, proc=self.proc)
        except Exception:
            raise AssertionError(f"server did not start:\n{self.stderr()}") from None
        return self

    def stop(self, sig: int = signal.SIGTERM, group: bool = False, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            if group:
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError(f"server did not stop within {timeout}s:\n{self.stderr()}") from None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def stderr(self) -> str:
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")


@pytest.fixture
def servers():
    """Start servers with ``servers(cwd, *args)``; whatever is still running is killed at the end."""
    started: list[Server] = []

    def start(cwd, *args: str) -> Server:
        s = Server(cwd, *args).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.kill()


def refused(cwd, *args: str) -> subprocess.CompletedProcess:
    """Run ``shardis-server`` expecting it to refuse to start; return what it printed."""
    try:
        return subprocess.run([SERVER, *args], cwd=str(cwd), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=START_TIMEOUT,
                              start_new_session=True)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"shardis-server {' '.join(args)} did not refuse to start: "
                             f"{e.stderr!r}") from None


def answers(port: int, nkeys: int = 30, prefix: str = "k") -> None:
    """The cluster serves reads and writes on keys spread over every shard."""
    c = RawClient(port)
    try:
        assert c.call("PING") == b"+PONG\r\n"
        for i in range(nkeys):
            assert c.call("SET", f"{prefix}{i}", f"v{i}") == b"+OK\r\n"
        for i in range(nkeys):
            assert c.call("GET", f"{prefix}{i}") == b"$%d\r\nv%d\r\n" % (len(f"v{i}"), i)
    finally:
        c.close()


def call_until_ok(port: int, *args, timeout: float = 30) -> bytes:
    """Send a command on fresh connections until it is not an error (a child restarting)."""
    deadline = time.monotonic() + timeout
    last = b""
    while time.monotonic() < deadline:
        try:
            c = RawClient(port)
            try:
                last = c.call(*args)
            finally:
                c.close()
            if not last.startswith(b"-"):
                return last
        except OSError as e:
            last = repr(e).encode()
        time.sleep(0.1)
    raise AssertionError(f"{args!r} kept failing: {last!r}")


pytestmark = pytest.mark.skipif(not SERVER, reason="shardis-server is not installed (pip install -e .)")


# ---------------------------------------------------------------- configuration sources


def test_starts_with_built_in_defaults_in_empty_cwd(tmp_path, servers):
    port = 6380  # the built-in default port
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            pytest.skip("the default port 6380 is in use on this machine")
    s = servers(tmp_path)
    s.wait_ready(port)
    answers(port)
    assert "config=(built-in defaults)" in s.stderr()
    # Defaults: ./shardis-data in the working directory, the layout "auto" picks here.
    shards, routers = auto_shards(usable_cores()), auto_routers(usable_cores())
    data = tmp_path / "shardis-data"
    assert sorted(p.name for p in data.iterdir() if p.name.startswith("shard-")) == \
        [f"shard-{i}" for i in range(shards)]
    assert len(role_pids(s.proc.pid, "shardis.shardd")) == shards
    assert len(role_pids(s.proc.pid, "shardis.router")) == routers
    assert s.stop() == 0


@pytest.mark.parametrize("cores,shards,routers", [(1, 1, 1), (2, 1, 1), (3, 1, 1), (4, 2, 1),
                                                  (8, 4, 2), (16, 8, 4), (64, 32, 16)])
def test_auto_layout_rule(cores, shards, routers):
    """shards = "auto" and routers = "auto" (shardis/autolayout.py, its table)."""
    assert (auto_shards(cores), auto_routers(cores)) == (shards, routers)


def test_auto_layout_follows_the_cores_then_keeps_the_data(tmp_path, servers):
    """auto on an empty directory: the cores decide, and the log says so; an explicit
    number reshards; auto afterwards keeps the count the data was written with (the
    machine changing never reshards); CONFIG REWRITE keeps "auto" in the file."""
    port = free_port()
    conf = tmp_path / "cluster.toml"
    conf.write_text(f'port = {port}\ndir = "data"\nshards = "auto"   # chosen here\n')
    s = servers(tmp_path)
    s.wait_ready(port)
    err = s.stderr()
    cores = usable_cores()
    assert f"shards = auto: {auto_shards(cores)} for {cores} usable core(s)" in err, err
    assert f"routers = auto: {auto_routers(cores)} for {cores} usable core(s)" in err, err
    c = redis.Redis(port=port)
    c.mset({f"k{i}": i for i in range(200)})
    c.config_set("maxmemory-policy", "allkeys-lru")
    assert c.execute_command("CONFIG", "REWRITE")
    c.close()
    text = conf.read_text()
    assert 'shards = "auto"   # chosen here' in text and "routers" not in text, text
    assert s.stop() == 0
    s = servers(tmp_path, "--shards", "3")
    s.wait_ready(port)
    assert len(role_pids(s.proc.pid, "shardis.shardd")) == 3
    assert s.stop() == 0
    s = servers(tmp_path)  # auto again: 3, as the data was written
    s.wait_ready(port)
    err = s.stderr()
    assert "shards = auto: 3, the count the data in" in err, err
    assert "resharding" not in err
    assert len(role_pids(s.proc.pid, "shardis.shardd")) == 3
    c = redis.Redis(port=port)
    assert c.dbsize() == 200 and c.get("k7") == b"7"
    c.close()
    assert s.stop() == 0


def test_layout_keys_refuse_other_words(tmp_path):
    """A layout key is a number or "auto"."""
    for text in ('shards = "many"\n', "routers = 0\n", 'routers = "Auto "\n'):
        with pytest.raises(ConfigError):
            validate(apply(Config(), tomllib.loads(text), "cluster.toml"))
    cfg = validate(apply(Config(), {"shards": "4", "routers": "auto"}, "command line"))
    assert (cfg.shards, cfg.routers) == (4, "auto")


def test_reads_cluster_toml_from_cwd(tmp_path, servers):
    port = free_port()
    (tmp_path / "cluster.toml").write_text(f'port = {port}\ndir = "mydata"\nshards = 3\n')
    s = servers(tmp_path)
    s.wait_ready(port)
    answers(port)
    assert str(tmp_path / "cluster.toml") in s.stderr()
    assert sorted(p.name for p in (tmp_path / "mydata").iterdir() if p.name.startswith("shard-")) \
        == ["shard-0", "shard-1", "shard-2"]
    assert s.stop() == 0


def test_config_path_argument(tmp_path, servers):
    port = free_port()
    conf = tmp_path / "elsewhere" / "my.toml"
    conf.parent.mkdir()
    data = tmp_path / "data"
    conf.write_text(f'port = {port}\ndir = "{data}"\nshards = 1\ndurability = "always"\n')
    # A cluster.toml in the working directory is ignored when a path is given.
    (tmp_path / "cluster.toml").write_text("port = 1\nnonsense = true\n")
    s = servers(tmp_path, str(conf))
    s.wait_ready(port)
    answers(port)
    err = s.stderr()
    assert str(conf) in err and "1 shards" in err and "durability=always" in err
    assert [p.name for p in data.iterdir() if p.name.startswith("shard-")] == ["shard-0"]
    assert s.stop() == 0


def test_command_line_overrides_the_file(tmp_path, servers):
    file_port, port = free_port(), free_port()
    (tmp_path / "cluster.toml").write_text(
        f'port = {file_port}\ndir = "filedata"\nshards = 1\nrouters = 1\ndurability = "no"\n')
    data = tmp_path / "clidata"
    s = servers(tmp_path, "--port", str(port), "--dir", str(data), "--shards", "3",
                "--routers", "2", "--durability", "always")
    s.wait_ready(port)
    answers(port)
    err = s.stderr()
    assert "3 shards, 2 routers, durability=always" in err
    assert len(role_pids(s.proc.pid, "shardis.shardd")) == 3
    assert len(role_pids(s.proc.pid, "shardis.router")) == 2
    assert not (tmp_path / "filedata").exists()
    assert sorted(p.name for p in data.iterdir() if p.name.startswith("shard-")) \
        == ["shard-0", "shard-1", "shard-2"]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", file_port), timeout=1).close()
    assert s.stop() == 0


# ---------------------------------------------------------------- refusing to start

BAD_FILES = [
    ('colour = "red"\n', "colour"),
    ('durability = "sometimes"\n', "durability"),
    ("shards = 0\n", "shards"),
    ("port = 70000\n", "port"),
    ('shards = "three"\n', "shards"),
    ("routers = 0\n", "routers"),
    ('client_output_buffer_limit = "lots"\n', "client_output_buffer_limit"),
    ("max_pending_commands = 0\n", "max_pending_commands"),
    ('proto_max_bulk_len = "10kb"\n', "proto_max_bulk_len"),
    ('bind = "256.1.1.1"\n', "bind"),
    ("port = \n", "cluster.toml"),  # not TOML at all: the message names the file
]


@pytest.mark.parametrize("text,key", BAD_FILES, ids=[k for _, k in BAD_FILES])
def test_refuses_bad_cluster_toml(tmp_path, text, key):
    (tmp_path / "cluster.toml").write_text(f'dir = "data"\n{text}')
    p = refused(tmp_path)
    assert p.returncode != 0
    assert key in p.stderr, p.stderr
    assert p.stderr.startswith("shardis-server: "), p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "data").exists(), "it refused, but only after touching the data dir"


BAD_ARGS = [
    (["--durability", "sometimes"], "durability"),
    (["--shards", "0"], "shards"),
    (["--port", "70000"], "port"),
    (["--port", "x"], "port"),
    (["--routers", "-1"], "routers"),
    (["/nonexistent/cluster.toml"], "/nonexistent/cluster.toml"),
]


@pytest.mark.parametrize("args,key", BAD_ARGS, ids=[" ".join(a) for a, _ in BAD_ARGS])
def test_refuses_bad_command_line(tmp_path, args, key):
    p = refused(tmp_path, "--dir", str(tmp_path / "data"), *args)
    assert p.returncode != 0
    assert key in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "data").exists()


def test_refuses_data_dir_that_is_a_file(tmp_path):
    (tmp_path / "data").write_text("not a directory")
    p = refused(tmp_path, "--dir", str(tmp_path / "data"), "--port", str(free_port()))
    assert p.returncode != 0
    assert "dir" in p.stderr and "Not a directory" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr


def test_refuses_port_already_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        p = refused(tmp_path, "--port", str(port), "--dir", str(tmp_path / "data"))
    assert p.returncode != 0
    assert "port" in p.stderr and str(port) in p.stderr, p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.parametrize("counts", [(2, 3), (3, 1), (1, 2)], ids=["2-to-3", "3-to-1", "1-to-2"])
def test_new_shard_count_reshards_keeping_every_key(tmp_path, servers, counts):
    """Restarting with another shard count moves each key to its new shard: values,
    TTLs and other databases kept, nothing left in shards that no longer exist."""
    before, after = counts
    port = free_port()
    data = str(tmp_path / "data")
    s = servers(tmp_path, "--port", str(port), "--dir", data, "--shards", str(before))
    s.wait_ready(port)
    c = RawClient(port)
    for i in range(300):
        assert c.call("SET", f"keep{i}", f"v{i}") == b"+OK\r\n"
    assert c.call("SET", "ttl", "v", "EX", "1000") == b"+OK\r\n"
    # Collections move with every member (a key for each type, some on each shard).
    for i in range(6):
        assert c.call("HSET", f"h{i}", "f1", "a", "f2", "b") == b":2\r\n"
        assert c.call("RPUSH", f"l{i}", "x", "y", "z") == b":3\r\n"
        assert c.call("SADD", f"s{i}", "1", "2", "m") == b":3\r\n"
        assert c.call("ZADD", f"z{i}", "1", "a", "2", "b", "3", "c") == b":3\r\n"
    assert c.call("SELECT", "3") == b"+OK\r\n"
    assert c.call("SET", "in-db3", "x") == b"+OK\r\n"
    c.close()
    assert s.stop() == 0

    s = servers(tmp_path, "--port", str(port), "--dir", data, "--shards", str(after))
    s.wait_ready(port)
    c = RawClient(port)
    for i in range(300):
        assert c.call("GET", f"keep{i}") == b"$%d\r\nv%d\r\n" % (len(f"v{i}"), i)
    assert c.call("DBSIZE") == b":325\r\n"
    for i in range(6):
        assert c.call("HGETALL", f"h{i}") == b"*4\r\n$2\r\nf1\r\n$1\r\na\r\n$2\r\nf2\r\n$1\r\nb\r\n"
        assert c.call("LRANGE", f"l{i}", "0", "-1") == b"*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n"
        assert c.call("SCARD", f"s{i}") == b":3\r\n" and c.call("SISMEMBER", f"s{i}", "m") == b":1\r\n"
        assert c.call("ZRANK", f"z{i}", "c") == b":2\r\n" and c.call("ZSCORE", f"z{i}", "b") == b"$1\r\n2\r\n"
    ttl = int(c.call("TTL", "ttl")[1:-2])
    assert 900 < ttl <= 1000  # (seconds pass on a loaded machine)
    assert c.call("SELECT", "3") == b"+OK\r\n"
    assert c.call("GET", "in-db3") == b"$1\r\nx\r\n"
    c.close()
    assert s.stop() == 0
    shards = sorted(n for n in os.listdir(data) if n.startswith("shard-"))
    assert shards == [f"shard-{i}" for i in range(after)]


def test_reshard_after_a_crash_under_always_loses_no_acknowledged_write(tmp_path, servers):
    """A server killed under durability "always" may leave batches only in the
    write-ahead log: resharding replays them before it moves keys."""
    port = free_port()
    data = str(tmp_path / "data")
    s = servers(tmp_path, "--port", str(port), "--dir", data, "--shards", "2",
                "--durability", "always")
    s.wait_ready(port)
    c = RawClient(port)
    for i in range(200):
        assert c.call("SET", f"acked{i}", str(i)) == b"+OK\r\n"
    c.close()
    os.killpg(s.proc.pid, signal.SIGKILL)
    s.proc.wait()

    s = servers(tmp_path, "--port", str(port), "--dir", data, "--shards", "3")
    s.wait_ready(port)
    c = RawClient(port)
    for i in range(200):
        assert c.call("GET", f"acked{i}") == b"$%d\r\n%d\r\n" % (len(str(i)), i)
    assert c.call("DBSIZE") == b":200\r\n"
    c.close()
    assert s.stop() == 0


# ---------------------------------------------------------------- stopping


@pytest.mark.parametrize("sig,group", [(signal.SIGTERM, False), (signal.SIGINT, False),
                                       (signal.SIGINT, True)],
                         ids=["SIGTERM", "SIGINT", "ctrl-c-to-group"])
def test_signal_stops_in_order(tmp_path, servers, sig, group):
    port = free_port()
    s = servers(tmp_path, "--port", str(port), "--dir", str(tmp_path / "data"), "--shards", "2")
    s.wait_ready(port)
    answers(port)
    kids = child_pids(s.proc.pid)
    assert len(kids) == 4  # 2 shards, the coordinator, 1 router
    assert s.stop(sig, group=group) == 0
    err = s.stderr()
    assert "Traceback" not in err, err
    lines = err.splitlines()

    def at(text: str) -> int:
        found = [n for n, line in enumerate(lines) if text in line]
        assert found, f"no {text!r} in the log:\n{err}"
        return found[0]

    # Routers stop accepting before the shards close their data.
    assert at("router 0 stopped") < at("shard 0 stopped")
    assert at("router 0 stopped") < at("shard 1 stopped")
    assert at("shard 0 stopped") < at("shardis stopped")
    assert "restarting" not in err, err
    for pid in kids:
        assert gone(pid), f"child {argv_of(pid)[:3]} outlived the supervisor"
    # Stopped cleanly: the data is there on the next start.
    s = servers(tmp_path, "--port", str(port), "--dir", str(tmp_path / "data"), "--shards", "2")
    s.wait_ready(port)
    c = RawClient(port)
    assert c.call("DBSIZE") == b":30\r\n"
    c.close()
    assert s.stop() == 0


# ---------------------------------------------------------------- supervision


@pytest.mark.parametrize("module", ["shardis.router", "shardis.shardd", "shardis.coord"])
def test_killed_child_is_restarted(tmp_path, servers, module):
    port = free_port()
    s = servers(tmp_path, "--port", str(port), "--dir", str(tmp_path / "data"), "--shards", "3")
    s.wait_ready(port)
    answers(port, 30, "before")
    victims = role_pids(s.proc.pid, module)
    assert victims
    os.kill(victims[0], signal.SIGKILL)
    want = len(victims)
    wait_role(s.proc.pid, module, want, exclude={victims[0]})
    for i in range(30):
        got = call_until_ok(port, "GET", f"before{i}")
        assert got == b"$%d\r\nv%d\r\n" % (len(f"v{i}"), i)
    answers(port, 30, "after")
    assert "restarting it" in s.stderr()
    assert s.stop() == 0


def test_clients_blocked_on_a_killed_router_take_nothing(tmp_path, servers):
    """A router killed while its clients wait in BLPOP (on one shard, and over shards
    in the coordinator): the shards must not hand those dead clients what is pushed
    next; the elements stay for the clients of the restarted router."""
    port = free_port()
    s = servers(tmp_path, "--port", str(port), "--dir", str(tmp_path / "data"), "--shards", "3")
    s.wait_ready(port)
    a, b = keys_on_shards(3)[:2]
    blocked = []
    for cmd in (["BLPOP", "{q}l", "0"], ["BLPOP", a.decode(), b.decode(), "0"]):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(encode_command(cmd))
        blocked.append(c)
    time.sleep(0.5)
    routers = role_pids(s.proc.pid, "shardis.router")
    os.kill(routers[0], signal.SIGKILL)
    wait_role(s.proc.pid, "shardis.router", len(routers), exclude={routers[0]})
    assert call_until_ok(port, "RPUSH", "{q}l", "kept") == b":1\r\n"
    assert call_until_ok(port, "RPUSH", a.decode(), "also") == b":1\r\n"
    time.sleep(0.5)
    assert call_until_ok(port, "LRANGE", "{q}l", "0", "-1") == b"*1\r\n$4\r\nkept\r\n"
    assert call_until_ok(port, "LRANGE", a.decode(), "0", "-1") == b"*1\r\n$4\r\nalso\r\n"
    for c in blocked:
        c.close()
    assert s.stop() == 0


def keys_on_shards(nshards: int) -> list[bytes]:
    """One key per shard, in shard order."""
    table = slot_table(nshards)
    found: dict[int, bytes] = {}
    n = 0
    while len(found) < nshards:
        k = b"on%d" % n
        found.setdefault(table[key_slot(k)], k)
        n += 1
    return [found[i] for i in range(nshards)]


@pytest.mark.parametrize("module", ["shardis.shardd", "shardis.coord"])
def test_request_in_flight_when_child_dies_is_answered(tmp_path, servers, module):
    """A command the dead child had taken is answered (an error will do), never left hanging."""
    port = free_port()
    s = servers(tmp_path, "--port", str(port), "--dir", str(tmp_path / "data"), "--shards", "3")
    s.wait_ready(port)
    keys = keys_on_shards(3)
    victim = role_pids(s.proc.pid, module)[0]
    if module == "shardis.shardd":
        index = int(argv_of(victim)[argv_of(victim).index("--index") + 1])
        request = ["SET", keys[index], "x"]           # runs on that shard alone
    else:
        request = ["MSETNX", keys[0], "x", keys[1], "x"]  # spans shards: the coordinator
    c = RawClient(port)
    c.sock.settimeout(15)
    assert c.call("PING") == b"+PONG\r\n"
    os.kill(victim, signal.SIGSTOP)  # it takes the request, then dies before answering
    try:
        c.send_raw(encode_command(request))
        time.sleep(0.5)
    finally:
        os.kill(victim, signal.SIGKILL)
    try:
        reply = c.read_reply()
    except TimeoutError:
        raise AssertionError(f"{request[0]} in flight when the {module} died never got a reply") from None
    assert reply[:1] in (b"-", b"+", b":"), reply
    wait_role(s.proc.pid, module, 1 if module != "shardis.shardd" else 3, exclude={victim})
    # The same connection goes on working once the child is back.
    deadline = time.monotonic() + 30
    while c.call(*request)[:1] == b"-":
        assert time.monotonic() < deadline, "the connection never worked again"
        time.sleep(0.1)
    assert c.call("PING") == b"+PONG\r\n"
    c.close()
    assert s.stop() == 0


def test_two_routers_share_the_port(tmp_path, servers):
    port = free_port()
    s = servers(tmp_path, "--port", str(port), "--dir", str(tmp_path / "data"), "--routers", "2")
    s.wait_ready(port)
    routers = wait_role(s.proc.pid, "shardis.router", 2)
    deadline = time.monotonic() + START_TIMEOUT
    while not all(socket_inodes(pid) & tcp_inodes(port, "0A") for pid in routers):
        assert time.monotonic() < deadline, "both routers should listen on the port"
        time.sleep(0.05)
    clients = [RawClient(port) for _ in range(24)]
    try:
        for n, c in enumerate(clients):
            assert c.call("SET", f"r{n}", str(n)) == b"+OK\r\n"
        for n, c in enumerate(clients):
            assert c.call("GET", f"r{(n + 7) % len(clients)}") == b"$%d\r\n%d\r\n" % (
                len(str((n + 7) % len(clients))), (n + 7) % len(clients))
        # The kernel spreads connections over both routers (SO_REUSEPORT).
        conns = tcp_inodes(port)
        served = [len(socket_inodes(pid) & conns) for pid in routers]
        assert sum(served) == len(clients) and all(served), served
        # One router gone: the other keeps serving while it is restarted.
        os.kill(routers[0], signal.SIGKILL)
        for _ in range(10):
            assert call_until_ok(port, "GET", "r3") == b"$1\r\n3\r\n"
        wait_role(s.proc.pid, "shardis.router", 2, exclude={routers[0]})
    finally:
        for c in clients:
            c.close()
    assert s.stop() == 0

