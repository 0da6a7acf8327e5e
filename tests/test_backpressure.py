"""A client cannot make the router grow without limit: a pipeliner that never reads is
paused (client_output_buffer_limit, max_pending_commands), and a client whose unparsed
request grows past client_query_buffer_limit is closed; other clients go on unaffected."""

from __future__ import annotations

import socket
import threading
import time

import hiredis
import pytest

from tests.helpers import RawClient, RedisServer, Shardis, encode_command
from tests.test_supervisor import role_pids, rss_bytes

TOTAL = 200 << 20          # bytes the pipeliner tries to send
VALUE = b"x" * 1016        # with an 8-digit sequence number in front: 1 KB values
KEYS = 8                   # keys the pipeliner cycles through, spread over the shards
MB = 1 << 20


class Pipeliner(threading.Thread):
    """Sends SET k v / GET k pairs as fast as the server takes them, never reading."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sent = 0          # bytes
        self.pairs = 0         # SET/GET pairs sent
        self.done = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            while self.sent < TOTAL:
                chunk = []
                for i in range(self.pairs, self.pairs + 256):
                    k = b"bp:%d" % (i % KEYS)
                    chunk.append(encode_command([b"SET", k, b"%08d" % i + VALUE]))
                    chunk.append(encode_command([b"GET", k]))
                data = b"".join(chunk)
                self.sock.sendall(data)
                self.sent += len(data)
                self.pairs += 256
        except BaseException as e:  # noqa: B036 - reported by the test thread
            self.failure = e
        finally:
            self.done.set()


class RssWatch(threading.Thread):
    """Samples a process' resident set size until stopped; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = rss_bytes(pid)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.peak = max(self.peak, rss_bytes(self.pid))


def read_all_replies(p: Pipeliner, deadline: float) -> int:
    """Read every reply, checking each against its request, in order; return the pairs read."""
    reader = hiredis.Reader()
    i = 0
    expect_set = True
    while not (p.done.is_set() and i == p.pairs):
        assert time.monotonic() < deadline, f"replies stalled at pair {i} of {p.pairs}"
        data = p.sock.recv(1 << 20)
        assert data, f"connection closed at pair {i} of {p.pairs}"
        reader.feed(data)
        while (r := reader.gets()) is not False:
            if expect_set:
                assert r == b"OK", (i, r)
            else:
                assert r == b"%08d" % i + VALUE, (i, r[:20] if isinstance(r, bytes) else r)
                i += 1
            expect_set = not expect_set
    assert p.failure is None, repr(p.failure)
    return i


@pytest.mark.parametrize("cfg,bound", [
    ({}, 300 * MB),
    ({"client_output_buffer_limit": "4mb", "max_pending_commands": 2000}, 40 * MB),
], ids=["defaults", "small-limits"])
def test_pipeliner_that_never_reads_is_paused(tmp_path, cfg, bound):
    server = Shardis(str(tmp_path / "data"), shards=3, **cfg).start()
    try:
        router = role_pids(server.proc.pid, "shardis.router")[0]
        base = rss_bytes(router)
        watch = RssWatch(router)
        watch.start()
        p = Pipeliner(server.port)
        p.start()
        # Wait until the router stops reading: nothing more leaves the client for 2 s.
        last, still_since = -1, time.monotonic()
        deadline = time.monotonic() + 30
        while time.monotonic() - still_since < 2.0:
            assert time.monotonic() < deadline, "the pipeliner was never paused"
            time.sleep(0.1)
            if p.sent != last:
                last, still_since = p.sent, time.monotonic()
        assert not p.done.is_set() and p.sent < TOTAL, "the router took everything in"
        # Paused, not stuck: other clients are served meanwhile.
        other = RawClient(server.port)
        t0 = time.monotonic()
        assert other.call("SET", "other", "1") == b"+OK\r\n"
        assert other.call("GET", "bp:1")[:1] == b"$"
        assert time.monotonic() - t0 < 2.0
        other.close()
        pairs = read_all_replies(p, time.monotonic() + 60)
        assert pairs * 2 * 1000 > TOTAL // 2
        watch.stop.set()
        watch.join()
        grown = watch.peak - base
        assert grown < bound, f"router grew by {grown // MB} MB (bound {bound // MB} MB)"
    finally:
        code = server.stop()
    assert code == 0, server.log()[-3000:]


def send_huge_bulk_slowly(port: int, size: int) -> tuple[int, bytes]:
    """Send one SET whose value is ``size`` bytes, 64 KB at a time; return (bytes sent, reply).

    The reply is b"" when the server closed the connection instead of answering."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    sent = 0
    try:
        s.sendall(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n" % size)
        while sent < size:
            n = min(65536, size - sent)
            s.sendall(b"x" * n)
            sent += n
            time.sleep(0.01)
        s.sendall(b"\r\n")
        return sent, s.recv(100)
    except (BrokenPipeError, ConnectionResetError):
        return sent, b""
    finally:
        s.close()


@pytest.mark.parametrize("backend", ["shardis", "redis"])
def test_huge_slow_request_closed_past_query_buffer_limit(tmp_path, backend):
    if backend == "redis":
        server = RedisServer(None, "--client-query-buffer-limit", "1mb").start()
    else:
        server = Shardis(str(tmp_path / "data"), shards=3, client_query_buffer_limit="1mb").start()
    try:
        other = RawClient(server.port)
        assert other.call("SET", "other", "before") == b"+OK\r\n"
        result: list = []
        t = threading.Thread(target=lambda: result.append(send_huge_bulk_slowly(server.port, 8 * MB)))
        t.start()
        n = 0
        while t.is_alive():
            n += 1
            assert other.call("SET", "other", n) == b"+OK\r\n"
            assert other.call("GET", "other") == b"$%d\r\n%d\r\n" % (len(str(n)), n)
            time.sleep(0.01)
        t.join()
        sent, reply = result[0]
        assert reply == b"", f"a request past client_query_buffer_limit must close the connection: {reply!r}"
        assert sent < 4 * MB, f"closed only after {sent} bytes"
        assert other.call("EXISTS", "big") == b":0\r\n"
        # Just under the limit is fine.
        assert send_huge_bulk_slowly(server.port, 800_000) == (800_000, b"+OK\r\n")
        assert other.call("STRLEN", "big") == b":800000\r\n"
        other.close()
    finally:
        if backend == "redis":
            server.stop()
        else:
            assert server.stop() == 0, server.log()[-3000:]
