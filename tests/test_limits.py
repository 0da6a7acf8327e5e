"""Connection and buffer limits: client-output-buffer-limit's normal and pubsub classes
(a client whose unread output passes hard, or stays past soft, is closed; with the
normal class at 0 a client that does not read is only paused), protected mode, and
shardis' connection rate per address; redis-server 7.0 beside shardis where Redis
has the behaviour."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from shardis import errors
from tests.helpers import Pair, RawClient, RedisServer, Shardis, encode_command

RATE = 20  # the shardis server's max_connections_per_second_per_ip
MB = 1 << 20


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """shardis and redis-server, both listening on every address (protected mode's case)."""
    s = Shardis(str(tmp_path_factory.mktemp("limits") / "data"), shards=1, routers=1,
                bind="0.0.0.0", max_connections_per_second_per_ip=RATE).start()
    r = RedisServer(None, "--bind", "0.0.0.0").start()
    try:
        yield s, r
    finally:
        code = s.stop()
        r.stop()
    assert code == 0, "shardis-server did not stop cleanly:\n" + s.log()[-3000:]


@pytest.fixture
def pair(servers):
    s, r = servers
    p = Pair(s.port, r.port)
    yield p
    p.close()


def read_until_closed(sock: socket.socket, timeout: float = 30) -> tuple[int, bool]:
    """Read what comes until the server closes the connection: (bytes read, closed), where
    closed is False when it still stands after ``timeout`` of silence."""
    sock.settimeout(timeout)
    n = 0
    try:
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                return n, True
            n += len(chunk)
    except ConnectionResetError:
        return n, True
    except socket.timeout:
        return n, False


def flood_without_reading(port: int, n: int) -> socket.socket:
    """A client that asks for ``n`` copies of a 100 kB value and reads nothing yet."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    sock.sendall(encode_command(["GET", "limits:big"]) * n)
    return sock


def test_config_set_client_output_buffer_limit_round_trip(pair):
    try:
        for value in ["normal 1mb 512kb 10", "NORMAL 0 0 0 PubSub 1gb 1gb 0",
                      "replica 1 2 3 slave 4 5 6", "normal 1 2", "normal x 1 1", "other 1 2 3",
                      "normal 1 1 -1", "pubsub 64KB 32kb 5 normal 2mb 1mb 2"]:
            pair.check("CONFIG", "SET", "client-output-buffer-limit", value)
            pair.check("CONFIG", "GET", "client-output-buffer-limit")
    finally:
        pair.check("CONFIG", "SET", "client-output-buffer-limit",
                   "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60")


def test_normal_client_past_hard_limit_is_closed(servers, pair):
    """30 MB of replies nobody reads: past "normal 1mb 0 0" the client is cut off."""
    pair.check("SET", "limits:big", "x" * 100_000)
    pair.check("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0")
    try:
        outcomes = []
        for port in (servers[0].port, servers[1].port):
            sock = flood_without_reading(port, 300)
            time.sleep(1)
            outcomes.append(read_until_closed(sock))
            sock.close()
        for got, closed in outcomes:
            assert closed and got < 20 * MB, outcomes
        pair.check("PING")  # the others go on
        assert "closed for overcoming of output buffer limits" in servers[0].log()
    finally:
        pair.check("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0")


def test_normal_client_past_soft_limit_for_its_seconds_is_closed(servers, pair):
    """Over "normal 0 256kb 1" while output keeps coming: closed once a second has passed."""
    pair.check("SET", "limits:big", "x" * 100_000)
    pair.check("CONFIG", "SET", "client-output-buffer-limit", "normal 0 256kb 1")
    try:
        for port in (servers[0].port, servers[1].port):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
            t0 = time.monotonic()
            closed_after = None
            try:
                while time.monotonic() - t0 < 10:
                    sock.sendall(encode_command(["GET", "limits:big"]) * 20)
                    time.sleep(0.2)
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - t0
            if closed_after is None:
                got, closed = read_until_closed(sock, 2)
                assert closed, "still open after 10 s past the soft limit"
            else:
                assert closed_after > 1, "closed before soft limit's seconds"
            sock.close()
        pair.check("PING")
    finally:
        pair.check("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0")


def test_normal_class_at_zero_only_pauses_a_client_that_does_not_read(servers, pair):
    """The default "normal 0 0 0": nothing is cut off; replies wait, all of them come."""
    pair.check("SET", "limits:big", "x" * 100_000)
    for port in (servers[0].port, servers[1].port):
        sock = flood_without_reading(port, 300)
        time.sleep(1)
        sock.settimeout(30)
        want = 300 * len(b"$100000\r\n" + b"x" * 100_000 + b"\r\n")
        got = 0
        while got < want:
            chunk = sock.recv(1 << 20)
            assert chunk, f"closed after {got} bytes"
            got += len(chunk)
        assert got == want
        sock.close()


def test_subscriber_that_does_not_read_is_cut_off_at_the_pubsub_hard_limit(servers, pair):
    pair.check("CONFIG", "SET", "client-output-buffer-limit", "pubsub 256kb 0 0")
    try:
        for port in (servers[0].port, servers[1].port):
            slow = socket.create_connection(("127.0.0.1", port))
            slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
            slow.sendall(encode_command(["SUBSCRIBE", "limits:flood"]))
            pub = RawClient(port)
            deadline = time.monotonic() + 30
            while pub.call("PUBSUB", "NUMSUB", "limits:flood") != b"*2\r\n$12\r\nlimits:flood\r\n:1\r\n":
                assert time.monotonic() < deadline
                time.sleep(0.01)
            sent = 0
            while pub.call("PUBLISH", "limits:flood", "x" * 16384) == b":1\r\n":
                sent += 16384
                assert sent < 64 * MB, "the subscriber was never cut off"
            assert read_until_closed(slow, 5)[1]
            slow.close()
            pub.close()
    finally:
        pair.check("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")


def outside_address() -> str | None:
    """An address of this machine other than loopback (protected mode's test), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.254.254.254", 9))  # (UDP: nothing is sent; only a route is chosen)
            ip = s.getsockname()[0]
        except OSError:
            ip = ""
    if ip and not ip.startswith("127."):
        return ip
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    ips = [a for a in out.split() if "." in a and not a.startswith("127.")]
    return ips[0] if ips else None


def first_words(host: str, port: int) -> bytes:
    """What a new connection from ``host`` reads: the server's refusal up to the close, or,
    when it says nothing, its answer to PING."""
    with socket.create_connection((host, port), timeout=10) as s:
        s.settimeout(0.5)
        try:
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return data
                data += chunk
        except socket.timeout:
            if data:
                return data
        s.settimeout(10)
        s.sendall(b"PING\r\n")
        return s.recv(100)


def rejected(port: int) -> int:
    c = RawClient(port)
    info = c.call("INFO", "stats").decode()
    c.close()
    return int(info.split("rejected_connections:")[1].split("\r\n")[0])


def test_protected_mode_refuses_clients_from_outside(servers, pair):
    host = outside_address()
    if host is None:
        pytest.skip("this machine has no address but loopback")
    s, r = servers
    before = [rejected(s.port), rejected(r.port)]
    got, want = first_words(host, s.port), first_words(host, r.port)
    assert got == want == b"-" + errors.PROTECTED_MODE.encode() + b"\r\n"
    assert [rejected(s.port), rejected(r.port)] == [before[0] + 1, before[1] + 1]
    assert first_words("127.0.0.1", s.port) == first_words("127.0.0.1", r.port) == b"+PONG\r\n"
    pair.check("INFO", "errorstats")  # (not an error reply)
    try:
        pair.check("CONFIG", "SET", "protected-mode", "no")
        assert first_words(host, s.port) == first_words(host, r.port) == b"+PONG\r\n"
    finally:
        pair.check("CONFIG", "SET", "protected-mode", "yes")


def test_connection_rate_per_address(servers):
    """Past max_connections_per_second_per_ip new connections in a second, a router answers
    an error and closes; the next second it takes them again. Counted as rejected."""
    s, _ = servers
    time.sleep(1.1)  # (a second of its own)
    before = rejected(s.port)
    socks = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(3 * RATE)]
    time.sleep(0.5)
    refusal = b"-" + errors.CONN_RATE.encode() + b"\r\n"
    refused = 0
    for sock in socks:
        sock.setblocking(False)
        try:
            said = sock.recv(1000)
        except BlockingIOError:  # taken: nothing said
            said = b""
        if said:
            assert said == refusal
            refused += 1
        else:
            sock.setblocking(True)
            sock.settimeout(10)
            sock.sendall(b"PING\r\n")
            assert sock.recv(100) == b"+PONG\r\n"
        sock.close()
    # (the connections took at most two seconds' windows: at most 2 * RATE taken)
    assert refused >= RATE, refused
    time.sleep(1.1)
    assert rejected(s.port) == before + refused
    time.sleep(1.1)  # (the next test's connections start in a fresh second)
