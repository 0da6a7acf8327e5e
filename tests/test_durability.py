"""Acknowledged writes survive crashes: SIGKILL of the whole server or of one shard;
a clean restart keeps every key, value and TTL."""

from __future__ import annotations

import collections
import os
import random
import signal
import socket
import threading
import time

import hiredis

from shardis.slots import key_slot, slot_table
from tests.helpers import RawClient, Shardis, encode_command
from tests.test_supervisor import wait_role

WRITERS = 3
WINDOW = 32            # commands a writer has in flight at once
COUNTERS = 5           # INCR targets per writer
SHARD_DOWN = b"ERR shard "  # errors.SHARD_DOWN: the only error a writer may see


def value_of(key: bytes) -> bytes:
    """The value written under ``key``: derived from it, so a mixed-up key is caught."""
    return b"v=" + key + b"." * (len(key) * 7 % 50)


class Writer(threading.Thread):
    """Pipelines SET / INCR / MSET / overwrite on one connection; records what was acknowledged.

    Only a reply read back counts as an acknowledgement; a write whose reply never
    came (the server died first) may or may not have happened.
    """

    def __init__(self, port: int, prefix: str) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.prefix = prefix.encode()
        self.stop = threading.Event()
        self.sets: dict[bytes, bytes] = {}               # SET and MSET keys -> value
        self.incr_acked: dict[bytes, int] = {}           # counter -> highest acknowledged value
        self.incr_sent: collections.Counter = collections.Counter()
        self.last_acked = -1                             # highest acknowledged overwrite
        self.last_key = self.prefix + b":last"
        self.errors: list[bytes] = []
        self.acked = 0
        self.failure: BaseException | None = None

    def op(self, i: int) -> tuple[list[bytes], tuple]:
        """The i-th command and what its acknowledgement means."""
        p = self.prefix
        kind = i % 4
        if kind == 0:
            k = p + b":s:%d" % i
            return [b"SET", k, value_of(k)], ("set", [k])
        if kind == 1:
            k = p + b":c:%d" % (i % COUNTERS)
            return [b"INCR", k], ("incr", k)
        if kind == 2:
            keys = [p + b":m:%d:%s" % (i, t) for t in (b"a", b"b", b"c", b"d")]
            args = [b"MSET"]
            for k in keys:
                args += [k, value_of(k)]
            return args, ("set", keys)
        return [b"SET", self.last_key, b"%d" % i], ("last", i)

    def run(self) -> None:
        try:
            self._run()
        except TimeoutError as e:
            self.failure = e  # a live server that stops answering is a bug, not a crash
        except OSError:
            pass  # the server died under us: what was acknowledged is recorded
        except BaseException as e:  # noqa: B036 - reported by the test thread
            self.failure = e

    def _run(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = hiredis.Reader()
        waiting: collections.deque = collections.deque()
        i = 0
        try:
            while not self.stop.is_set():
                out = []
                while len(waiting) < WINDOW:
                    args, meaning = self.op(i)
                    if meaning[0] == "incr":
                        self.incr_sent[meaning[1]] += 1
                    out.append(encode_command(args))
                    waiting.append(meaning)
                    i += 1
                sock.sendall(b"".join(out))
                # Read half the window back, so that writes keep flowing both ways.
                while len(waiting) > WINDOW // 2:
                    reply = reader.gets()
                    if reply is False:
                        data = sock.recv(1 << 16)
                        if not data:
                            return
                        reader.feed(data)
                        continue
                    self.acknowledge(waiting.popleft(), reply)
        finally:
            sock.close()

    def acknowledge(self, meaning: tuple, reply) -> None:
        if isinstance(reply, hiredis.ReplyError):
            self.errors.append(str(reply).encode())
            return
        kind = meaning[0]
        if kind == "set":
            assert reply == b"OK", reply
            for k in meaning[1]:
                self.sets[k] = value_of(k)
        elif kind == "incr":
            assert isinstance(reply, int), reply
            self.incr_acked[meaning[1]] = max(reply, self.incr_acked.get(meaning[1], 0))
        else:
            assert reply == b"OK", reply
            self.last_acked = max(self.last_acked, meaning[1])
        self.acked += 1


def fetch(port: int, cmds: list[list[bytes]], chunk: int = 500) -> list:
    """Run commands pipelined, ``chunk`` at a time; return the decoded replies."""
    c = RawClient(port)
    reader = hiredis.Reader()
    out: list = []
    try:
        for n in range(0, len(cmds), chunk):
            part = cmds[n:n + chunk]
            c.send_raw(b"".join(encode_command(a) for a in part))
            want = len(out) + len(part)
            while len(out) < want:
                r = reader.gets()
                if r is False:
                    data = c.sock.recv(1 << 20)
                    assert data, "connection closed while verifying"
                    reader.feed(data)
                else:
                    out.append(r)
    finally:
        c.close()
    return out


def verify(port: int, writers: list[Writer]) -> None:
    """Every acknowledged write is there, with its value."""
    checks: list[tuple[list[bytes], object]] = []
    for w in writers:
        for k, v in w.sets.items():
            checks.append(([b"GET", k], ("eq", v)))
        for k, n in w.incr_acked.items():
            checks.append(([b"GET", k], ("between", n, w.incr_sent[k])))
        if w.last_acked >= 0:
            checks.append(([b"GET", w.last_key], ("between", w.last_acked, 10**12)))
    replies = fetch(port, [c for c, _ in checks])
    lost = []
    for (cmd, want), got in zip(checks, replies):
        if want[0] == "eq":
            ok = got == want[1]
        else:
            ok = got is not None and not isinstance(got, hiredis.ReplyError) \
                and want[1] <= int(got) <= want[2]
        if not ok:
            lost.append((cmd[1], want, got))
    assert not lost, f"{len(lost)} of {len(checks)} acknowledged writes lost, e.g. {lost[:5]}"


def check_writers(writers: list[Writer], allow_shard_down: bool) -> None:
    for w in writers:
        assert w.failure is None, repr(w.failure)
        bad = [e for e in w.errors if not (allow_shard_down and e.startswith(SHARD_DOWN))]
        assert not bad, f"writer {w.prefix!r} got error replies: {bad[:5]}"


def test_sigkill_loses_no_acknowledged_write(tmp_path):
    """durability = always: SIGKILL of everything at a random moment, a few rounds."""
    rng = random.Random()
    server = Shardis(str(tmp_path / "data"), shards=3, durability="always")
    everyone: list[Writer] = []
    try:
        for rnd in range(3):
            server.start()
            if everyone:
                verify(server.port, everyone)  # earlier rounds survived this restart too
            writers = [Writer(server.port, f"r{rnd}w{t}") for t in range(WRITERS)]
            for w in writers:
                w.start()
            time.sleep(rng.uniform(1.0, 3.0))
            server.kill()
            for w in writers:
                w.join(30)
                assert not w.is_alive(), "a writer hung after the server died"
            # A kill can race a shard's disconnect notice in the router, nothing else.
            check_writers(writers, allow_shard_down=True)
            acked = sum(w.acked for w in writers)
            assert acked > 100, f"only {acked} writes acknowledged in a round: test is vacuous"
            everyone += writers
        server.start()
        verify(server.port, everyone)
        code = server.stop()
        assert code == 0, server.log()[-3000:]
    finally:
        server.kill()


def test_shard_crash_loses_no_acknowledged_write(tmp_path):
    """durability = everysec: a shard process killed (its page cache survives it) loses nothing."""
    server = Shardis(str(tmp_path / "data"), shards=3, durability="everysec").start()
    try:
        shards = wait_role(server.proc.pid, "shardis.shardd", 3)
        writers = [Writer(server.port, f"w{t}") for t in range(WRITERS)]
        for w in writers:
            w.start()
        time.sleep(random.uniform(1.0, 2.0))
        victim = shards[1]
        index = int(_arg(victim, "--index"))
        before = sum(w.acked for w in writers)
        os.kill(victim, signal.SIGKILL)
        wait_role(server.proc.pid, "shardis.shardd", 3, exclude={victim})
        # The restarted shard answers again, on a key it owns.
        key = _key_on_shard(index, 3)
        deadline = time.monotonic() + 30
        while True:
            try:
                got = fetch(server.port, [[b"SET", key, b"back"]])[0]
            except OSError as e:  # timed out: the router never sends to the new shard
                got = e
            if got == b"OK":
                break
            assert time.monotonic() < deadline, f"shard {index} never came back: {got!r}"
            time.sleep(0.1)
        time.sleep(1.0)
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(30)
            assert not w.is_alive(), "a writer hung"
        check_writers(writers, allow_shard_down=True)
        assert sum(w.acked for w in writers) > before + 50, "writes did not resume after the restart"
        verify(server.port, writers)
        assert fetch(server.port, [[b"GET", key]]) == [b"back"]
    finally:
        code = server.stop()
    assert code == 0, server.log()[-3000:]


def _arg(pid: int, name: str) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = f.read().decode().split("\0")
    return argv[argv.index(name) + 1]


def _key_on_shard(index: int, nshards: int) -> bytes:
    table = slot_table(nshards)
    for n in range(100000):
        k = b"probe:%d" % n
        if table[key_slot(k)] == index:
            return k
    raise AssertionError("no key found for the shard")


def test_clean_restart_keeps_keys_values_and_ttls(tmp_path):
    server = Shardis(str(tmp_path / "data"), shards=3, durability="no").start()
    values = {b"plain:%d" % i: bytes(random.getrandbits(8) for _ in range(i % 40)) for i in range(300)}
    values[b"empty"] = b""
    values[b"big"] = os.urandom(300_000)
    values[b"binary\x00key\xff"] = b"\r\n\x00$-1\r\n"
    longlived = {b"ttl:%d" % i: b"%d" % i for i in range(100)}
    shortlived = {b"short:%d" % i: b"gone" for i in range(50)}
    cmds = [[b"SET", k, v] for k, v in values.items()]
    cmds += [[b"SET", k, v, b"EX", b"1000"] for k, v in longlived.items()]
    cmds += [[b"SET", k, v, b"PX", b"1500"] for k, v in shortlived.items()]
    try:
        assert fetch(server.port, cmds) == [b"OK"] * len(cmds)
        short_deadline = time.monotonic() + 1.5
    finally:
        code = server.stop()
    assert code == 0, server.log()[-3000:]
    # The short TTLs pass while the server is down.
    time.sleep(max(0.0, short_deadline - time.monotonic()) + 0.2)
    server.start()
    try:
        keys = list(values) + list(longlived)
        # Active expiry removes the short-lived keys without anyone touching them.
        deadline = time.monotonic() + 5
        while fetch(server.port, [[b"DBSIZE"]])[0] != len(keys):
            assert time.monotonic() < deadline, fetch(server.port, [[b"DBSIZE"]])
            time.sleep(0.1)
        got = fetch(server.port, [[b"GET", k] for k in keys])
        assert got == [values.get(k, longlived.get(k)) for k in keys]
        ttls = fetch(server.port, [[b"TTL", k] for k in keys])
        assert ttls[:len(values)] == [-1] * len(values)
        assert all(990 < t <= 1000 for t in ttls[len(values):]), ttls[len(values):]
        assert fetch(server.port, [[b"GET", k] for k in shortlived]) == [None] * len(shortlived)
        assert fetch(server.port, [[b"EXISTS", *shortlived]]) == [0]
    finally:
        code = server.stop()
    assert code == 0
