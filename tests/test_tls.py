"""TLS: tls-port beside the plain port on every router, client certificates as
tls-auth-clients says, CONFIG SET of the TLS settings (a new context for new
connections, Redis' errors for bad files, tls-port opened and closed), port 0, and
redis-cli and redis-py as clients; redis-server 7.0 with the same certificates says
what each should do. The certificates are made here with the openssl command."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time

import pytest
import redis

from shardis import errors
from shardis.config import Config, ConfigError, apply, validate
from tests.helpers import RawClient, RedisServer, Shardis, encode_command, free_port, parse_reply

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def _openssl(*args: str, cwd: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _signed(d: str, name: str, ca: str, cn: str, ext: str | None = None) -> None:
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={cn}", cwd=d)
    more = ["-extfile", ext] if ext else []
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", *more, cwd=d)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> dict[str, str]:
    """Two CAs; a server certificate from each (for 127.0.0.1 and localhost); a client one."""
    d = str(tmp_path_factory.mktemp("certs"))
    with open(os.path.join(d, "san.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for ca in ("ca", "ca2"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out",
                 f"{ca}.crt", "-days", "2", "-subj", f"/CN=shardis test {ca}", cwd=d)
    _signed(d, "server", "ca", "localhost", "san.cnf")
    _signed(d, "server2", "ca2", "localhost", "san.cnf")
    _signed(d, "client", "ca", "client")
    return {n: os.path.join(d, n) for n in os.listdir(d)}


def tls_settings(certs: dict[str, str], port: int, **more) -> dict:
    return {"tls_port": port, "tls_cert_file": certs["server.crt"],
            "tls_key_file": certs["server.key"], "tls_ca_cert_file": certs["ca.crt"], **more}


def redis_tls_args(certs: dict[str, str], port: int) -> list[str]:
    return ["--tls-port", str(port), "--tls-cert-file", certs["server.crt"], "--tls-key-file",
            certs["server.key"], "--tls-ca-cert-file", certs["ca.crt"]]


def client_ctx(certs: dict[str, str], ca: str = "ca.crt", cert: bool = True,
               version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=certs[ca])
    if cert:
        ctx.load_cert_chain(certs["client.crt"], certs["client.key"])
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def tls_call(port: int, ctx: ssl.SSLContext, *args) -> bytes | None:
    """One command over a new TLS connection: its reply, or None when the server turned
    the connection (or its handshake) down."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(encode_command(args))
                data = s.recv(65536)
                return data or None
    except (ssl.SSLError, ConnectionError):
        return None


def wait_tls(port: int, ctx: ssl.SSLContext, proc=None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while tls_call(port, ctx, "PING") != b"+PONG\r\n":
        assert proc is None or proc.poll() is None, "the server exited"
        assert time.monotonic() < deadline, f"nothing answered PING over TLS on {port}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def servers(certs, tmp_path_factory):
    """shardis (2 routers sharing both ports) and redis-server, the same TLS settings."""
    tls_port = free_port()
    s = Shardis(str(tmp_path_factory.mktemp("tls") / "data"), shards=1, routers=2,
                **tls_settings(certs, tls_port)).start()
    s.tls_port = tls_port
    r = RedisServer(None, *redis_tls_args(certs, free_port())).start()
    r.tls_port = int(r.extra[1])
    try:
        wait_tls(tls_port, client_ctx(certs))
        yield s, r
    finally:
        code = s.stop()
        r.stop()
    assert code == 0, "shardis-server did not stop cleanly:\n" + s.log()[-3000:]


def both(servers, fn):
    """fn(port of a server's plain port, its TLS port) for shardis and for redis-server."""
    s, r = servers
    return fn(s.port, s.tls_port), fn(r.port, r.tls_port)


def config_set(servers, *args) -> tuple[bytes, bytes]:
    """CONFIG SET on both (through the plain ports); both replies."""
    return both(servers, lambda plain, _: RawClient(plain).call("CONFIG", "SET", *args))


def test_redis_cli_over_tls(servers, certs):
    def cli(_, port):
        run = lambda *a: subprocess.run(  # noqa: E731
            ["redis-cli", "-p", str(port), "--tls", "--cacert", certs["ca.crt"], "--cert",
             certs["client.crt"], "--key", certs["client.key"], *a],
            capture_output=True, text=True, timeout=30).stdout
        return run("SET", "cli:k", "v"), run("GET", "cli:k"), run("DEL", "cli:k")
    got, want = both(servers, cli)
    assert got == want == ("OK\n", "v\n", "1\n")


def test_redis_py_on_both_ports_at_once(servers, certs):
    s, _ = servers
    secure = redis.Redis(port=s.tls_port, ssl=True, ssl_ca_certs=certs["ca.crt"],
                         ssl_certfile=certs["client.crt"], ssl_keyfile=certs["client.key"])
    plain = redis.Redis(port=s.port)
    try:
        assert secure.set("py:k", "over tls")
        assert plain.get("py:k") == b"over tls"
        plain.rpush("py:l", *range(1000))
        assert secure.lrange("py:l", 0, -1) == [str(i).encode() for i in range(1000)]
        # a big reply, and pipelining, through the TLS transport
        secure.set("py:big", b"x" * (3 << 20))
        assert len(secure.get("py:big")) == 3 << 20
        with secure.pipeline(transaction=False) as p:
            for _ in range(500):
                p.incr("py:n")
            assert p.execute()[-1] == 500
        # CLIENT LIST shows a TLS connection as any other (Redis 7.0)
        line = secure.execute_command("CLIENT", "INFO").decode()
        assert f"laddr=127.0.0.1:{s.tls_port} " in line and " flags=N " in line
    finally:
        plain.delete("py:k", "py:l", "py:big", "py:n")
        secure.close()
        plain.close()


@pytest.mark.parametrize("mode,with_cert,without_cert", [
    ("yes", True, False), ("optional", True, True), ("no", True, True)])
def test_tls_auth_clients(servers, certs, mode, with_cert, without_cert):
    try:
        assert config_set(servers, "tls-auth-clients", mode) == (b"+OK\r\n", b"+OK\r\n")

        def outcome(_, port):
            return (tls_call(port, client_ctx(certs), "PING") == b"+PONG\r\n",
                    tls_call(port, client_ctx(certs, cert=False), "PING") == b"+PONG\r\n")
        got, want = both(servers, outcome)
        assert got == want == (with_cert, without_cert)
    finally:
        config_set(servers, "tls-auth-clients", "yes")


def test_config_set_of_bad_tls_settings_answers_redis_error(servers, certs):
    s, _ = servers
    for args in [("tls-cert-file", "/nonexistent"), ("tls-cert-file", certs["ca.key"]),
                 ("tls-key-file", certs["client.key"]), ("tls-protocols", "TLSv1.2 TLSv1.9"),
                 ("tls-ciphers", "bogus"), ("tls-ca-cert-file", "/nonexistent"),
                 ("tls-ca-cert-file", "", "tls-ca-cert-dir", ""),
                 ("tls-port", str(s.port))]:
        got, want = config_set(servers, *args)
        assert got == want and got.startswith(b"-ERR CONFIG SET failed"), (args, got, want)
        assert errors.CONFIG_TLS.encode() in got or errors.CONFIG_LISTEN.encode() in got
    # Nothing changed, and TLS goes on with the settings it had.
    got = parse_reply(RawClient(s.port).call("CONFIG", "GET", "tls-cert-file", "tls-protocols"))
    assert got == [b"tls-cert-file", certs["server.crt"].encode(), b"tls-protocols", b""]
    assert tls_call(s.tls_port, client_ctx(certs), "PING") == b"+PONG\r\n"
    assert "TLS configuration refused: Failed to load certificate" in s.log()


def test_new_certificate_serves_new_connections(servers, certs):
    """CONFIG SET of the certificate: connections made after it get the new one (on every
    router), one made before keeps its own."""
    s, _ = servers
    before = client_ctx(certs).wrap_socket(socket.create_connection(("127.0.0.1", s.tls_port)),
                                           server_hostname="localhost")
    try:
        got = config_set(servers, "tls-cert-file", certs["server2.crt"], "tls-key-file",
                         certs["server2.key"])
        assert got == (b"+OK\r\n", b"+OK\r\n")
        for _ in range(6):  # (new connections spread over both routers)
            got, want = both(servers, lambda _, port: (tls_call(port, client_ctx(certs, "ca2.crt"), "PING"),
                                                      tls_call(port, client_ctx(certs), "PING")))
            assert got == want == (b"+PONG\r\n", None)
        before.sendall(b"PING\r\n")
        assert before.recv(100) == b"+PONG\r\n"
    finally:
        before.close()
        config_set(servers, "tls-cert-file", certs["server.crt"], "tls-key-file", certs["server.key"])
    assert tls_call(s.tls_port, client_ctx(certs), "PING") == b"+PONG\r\n"


def test_config_set_tls_port_opens_and_closes_it(servers, certs):
    s, r = servers
    ctx = client_ctx(certs)
    moved, old = free_port(), s.tls_port
    try:
        assert RawClient(s.port).call("CONFIG", "SET", "tls-port", str(moved)) == b"+OK\r\n"
        for _ in range(6):  # every router listens there
            assert tls_call(moved, ctx, "PING") == b"+PONG\r\n"
        assert tls_call(old, ctx, "PING") is None
        assert RawClient(s.port).call("CONFIG", "GET", "tls-port") == (
            b"*2\r\n$8\r\ntls-port\r\n$%d\r\n%d\r\n" % (len(str(moved)), moved))
        # 0 closes it, as in Redis
        for port, plain in ((moved, s.port), (r.tls_port, r.port)):
            assert RawClient(plain).call("CONFIG", "SET", "tls-port", "0") == b"+OK\r\n"
            assert tls_call(port, ctx, "PING") is None
    finally:
        assert RawClient(s.port).call("CONFIG", "SET", "tls-port", str(old)) == b"+OK\r\n"
        assert RawClient(r.port).call("CONFIG", "SET", "tls-port", str(r.tls_port)) == b"+OK\r\n"
    assert tls_call(old, ctx, "PING") == b"+PONG\r\n"


def test_tls_protocols(servers, certs):
    try:
        assert config_set(servers, "tls-protocols", "TLSv1.2") == (b"+OK\r\n", b"+OK\r\n")
        got, want = both(servers, lambda _, port: [
            tls_call(port, client_ctx(certs, version=v), "PING")
            for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)])
        assert got == want == [b"+PONG\r\n", None]
    finally:
        config_set(servers, "tls-protocols", "")


def test_tls_ciphersuites_is_refused(servers):
    """Python's ssl module cannot choose TLS 1.3's suites: shardis refuses a value instead
    of ignoring it (redis-server takes it)."""
    s, _ = servers
    got = RawClient(s.port).call("CONFIG", "SET", "tls-ciphersuites", "TLS_AES_128_GCM_SHA256")
    assert got == b"-ERR CONFIG SET failed (possibly related to argument 'tls-ciphersuites') - %s\r\n" % (
        errors.CONFIG_TLS.encode())


def test_port_0_leaves_only_tls(certs, tmp_path):
    tls_port = free_port()
    s = Shardis(str(tmp_path / "data"), shards=1, **tls_settings(certs, tls_port))
    s.port = 0
    s.start(wait=False)
    try:
        ctx = client_ctx(certs)
        wait_tls(tls_port, ctx, s.proc)
        assert tls_call(tls_port, ctx, "CONFIG", "GET", "port") == b"*2\r\n$4\r\nport\r\n$1\r\n0\r\n"
        # (the supervisor says so once it has seen the router listen: a moment after)
        ready = "Ready to accept connections on 127.0.0.1:%d" % tls_port
        deadline = time.monotonic() + 10
        while ready not in s.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready in s.log()
    finally:
        assert s.stop() == 0


@pytest.mark.parametrize("values,message", [
    ({"tls_port": 6390, "tls_cert_file": "/nonexistent"}, "tls-port: " + errors.CONFIG_TLS),
    ({"tls_port": 6390, "tls_ciphers": "bogus"}, "tls-port: " + errors.CONFIG_TLS),
    ({"port": 0}, "port: 0 closes the plain port, and tls-port is 0 too"),
])
def test_start_refuses_tls_settings_that_do_not_work(certs, values, message):
    cfg = apply(Config(), {**tls_settings(certs, 0), **values}, "f.toml")
    with pytest.raises(ConfigError) as e:
        validate(cfg)
    assert str(e.value).startswith(message)


def test_start_refuses_a_tls_port_in_use(certs):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        cfg = apply(Config(), tls_settings(certs, taken.getsockname()[1]), "f.toml")
        with pytest.raises(ConfigError) as e:
            validate(cfg)
    assert str(e.value) == "tls-port: " + errors.CONFIG_LISTEN
