"""Test helpers: free ports, real processes (shardis, redis-server), a raw RESP client."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import hiredis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(100).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"nothing answered PING on port {port} within {timeout}s")


class Shardis:
    """A shardis cluster run as a new user runs it: ``shardis-server`` in a subprocess."""

    def __init__(self, data_dir: str, port: int | None = None, **cfg) -> None:
        self.dir = data_dir
        self.port = port or free_port()
        self.cfg = {"shards": 3, "durability": "everysec", **cfg}
        self.proc: subprocess.Popen | None = None
        self.log_path = os.path.join(os.path.dirname(os.path.abspath(data_dir)),
                                     os.path.basename(data_dir) + ".log")

    def argv(self) -> list[str]:
        args = [sys.executable, "-m", "shardis.supervisor", "--port", str(self.port), "--dir", self.dir]
        for k, v in self.cfg.items():
            if k in ("shards", "routers", "durability", "bind", "loglevel"):
                args += [f"--{k}", str(v)]
        config = {k: v for k, v in self.cfg.items()
                  if k not in ("shards", "routers", "durability", "bind", "loglevel")}
        # Always an explicit config file, so a cluster.toml in the cwd never leaks in.
        path = self.dir.rstrip("/") + ".toml"
        with open(path, "w") as f:
            for k, v in config.items():
                f.write(f"{k} = {v!r}\n" if not isinstance(v, str) else f'{k} = "{v}"\n')
        args.insert(3, path)
        return args

    def start(self, wait: bool = True) -> "Shardis":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv(), cwd=ROOT, stdout=log, stderr=log,
                                     start_new_session=True)
        if wait:
            wait_for_port(self.port, proc=self.proc)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            code = self.proc.wait()
        self.proc = None
        return code

    def kill(self) -> None:
        """SIGKILL the supervisor and every child at once (a crash of the whole server)."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def log(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class RedisServer:
    """A real redis-server 7.0 on a free port: the reference."""

    def __init__(self, port: int | None = None, *extra: str) -> None:
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="redis-ref-")
        self.extra = list(extra)
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def encode_command(args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RawClient:
    """Sends commands and returns each reply's exact bytes."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_reply(self) -> bytes:
        """Read exactly one reply (any nesting) and return its bytes."""
        while True:
            n = _reply_len(self.buf)
            if n is not None:
                out, self.buf = self.buf[:n], self.buf[n:]
                return out
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError(f"connection closed; unparsed: {self.buf!r}")
            self.buf += chunk

    def call(self, *args) -> bytes:
        self.send_raw(encode_command(args))
        return self.read_reply()

    def close(self) -> None:
        self.sock.close()


def _reply_len(buf: bytes, pos: int = 0) -> int | None:
    """Length in bytes of the reply starting at ``pos`` (relative end), None if incomplete."""
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        return None
    t = buf[pos:pos + 1]
    if t in (b"+", b"-", b":", b"_", b",", b"#", b"("):
        return nl + 2
    n = int(buf[pos + 1:nl])
    if t in (b"$", b"=", b"!"):
        if n < 0:
            return nl + 2
        end = nl + 2 + n + 2
        return end if len(buf) >= end else None
    if t in (b"*", b"~", b">", b"%", b"|"):
        if n < 0:
            return nl + 2
        if t in (b"%", b"|"):
            n *= 2
        p = nl + 2
        for _ in range(n):
            e = _reply_len(buf, p)
            if e is None:
                return None
            p = e
        return p
    raise ValueError(f"bad reply byte {t!r} in {buf[pos:pos + 40]!r}")


def parse_reply(data: bytes):
    """Decode one reply's bytes (hiredis) for assertions on unordered replies."""
    r = hiredis.Reader()
    r.feed(data)
    return r.gets()


class Pair:
    """One raw connection to shardis and one to redis-server; every reply compared byte for byte."""

    def __init__(self, shardis_port: int, redis_port: int) -> None:
        self.s = RawClient(shardis_port)
        self.r = RawClient(redis_port)

    def check(self, *args) -> bytes:
        got = self.s.call(*args)
        want = self.r.call(*args)
        assert got == want, f"{args!r}:\n  shardis: {got!r}\n  redis:   {want!r}"
        return got

    def check_pipeline(self, cmds: list[tuple]) -> None:
        """Send every command at once (one pipeline) to both, then compare each reply."""
        data = b"".join(encode_command(c) for c in cmds)
        self.s.send_raw(data)
        self.r.send_raw(data)
        for c in cmds:
            got, want = self.s.read_reply(), self.r.read_reply()
            assert got == want, f"{c!r}:\n  shardis: {got!r}\n  redis:   {want!r}"

    def check_unordered(self, *args):
        """For replies whose order Redis leaves unspecified (KEYS, SCAN): compare as sorted."""
        got = parse_reply(self.s.call(*args))
        want = parse_reply(self.r.call(*args))
        norm = lambda v: sorted(v, key=repr) if isinstance(v, list) else v  # noqa: E731
        assert norm(got) == norm(want), f"{args!r}:\n  shardis: {got!r}\n  redis:   {want!r}"
        return got

    def both(self, *args) -> tuple[bytes, bytes]:
        """Send to both, compare nothing (for commands whose replies legitimately differ)."""
        return self.s.call(*args), self.r.call(*args)

    def close(self) -> None:
        self.s.close()
        self.r.close()


def compare_keyspace_events(pair: "Pair", shardis_port: int, redis_port: int,
                            cmds: list[tuple]) -> list[bytes]:
    """Run ``cmds`` on both servers (replies compared) with every keyspace event on, and
    compare the events each published, up to a SET of ``{e}done`` that ends them; the
    events seen (shardis')."""
    subs = [RawClient(shardis_port), RawClient(redis_port)]
    try:
        pair.check("CONFIG", "SET", "notify-keyspace-events", "KEA")
        for c in subs:
            c.call("PSUBSCRIBE", "__key*__:*")
        for args in [*cmds, ("SET", "{e}done", "1")]:
            pair.check(*args)
        got = []
        for c in subs:
            msgs = []
            while True:
                m = c.read_reply()
                msgs.append(m)
                if b"{e}done" in m and b"__keyevent" in m:
                    break
            got.append(msgs)
        assert got[0] == got[1]
        return got[0]
    finally:
        pair.check("CONFIG", "SET", "notify-keyspace-events", "")
        for c in subs:
            c.close()


@contextlib.contextmanager
def cluster(tmp_path, **cfg):
    """A shardis cluster for one test, stopped (SIGTERM) at the end."""
    c = Shardis(str(tmp_path / "data"), **cfg).start()
    try:
        yield c
    finally:
        c.stop()


def run_in_process(table, ks, args) -> bytes:
    """One command's RESP2 reply from its handler on a Keyspace, without a server."""
    from shardis.resp import ReplyError, encode, encode_error
    argv = [a.encode() if isinstance(a, str) else a for a in args]
    try:
        return encode(table.lookup(argv[0]).handler(ks, 0, argv))
    except ReplyError as e:
        return encode_error(e.args[0])
