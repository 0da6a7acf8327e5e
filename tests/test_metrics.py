"""metrics_port: /health and /metrics over HTTP (router/metrics.py), on a real server."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import time

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from shardis.router import metrics
from tests.helpers import Shardis, free_port


def get(port: int, path: str, auth: tuple[str, str] | None = None,
        method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    try:
        conn.request(method, path, headers=headers)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def families(body: bytes) -> dict:
    """Parsed families by name (counters without their _total)."""
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def value(fam, name: str, **labels) -> float:
    found = [s.value for s in fam.samples if s.name == name
             and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, fam.samples)
    return found[0]


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def shard_pid(supervisor: int, index: int) -> int:
    for pid in children(supervisor):
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        if b"shardis.shardd" in argv and argv[argv.index(b"--index") + 1] == str(index).encode():
            return pid
    raise AssertionError(f"no shard {index} under {supervisor}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    mport = free_port()
    s = Shardis(str(tmp_path_factory.mktemp("metrics") / "data"), shards=2, routers=2,
                metrics_port=mport).start()
    s.mport = mport  # type: ignore[attr-defined]
    # (the client port answers once one router listens: wait for both to join the hub)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, _, body = get(mport, "/metrics")
        if status == 200 and len(families(body)["shardis_commands_processed"].samples) == 2:
            break
        time.sleep(0.2)
    yield s
    assert s.stop() == 0, s.log()[-3000:]


def test_metrics(server):
    c = redis.Redis(port=server.port)
    c.flushall()
    for i in range(20):
        c.set(f"k{i}", "v")
    c.set("e", "v", ex=100)
    c.select(3)
    c.set("x", "y")
    with pytest.raises(redis.ResponseError):
        c.execute_command("NOSUCHCOMMAND")
    with pytest.raises(redis.ResponseError):
        c.incr("x")
    status, headers, body = get(server.mport, "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    fams = families(body)
    # keys per database, over both shards
    assert value(fams["shardis_keys"], "shardis_keys", db="0") == 21
    assert value(fams["shardis_keys"], "shardis_keys", db="3") == 1
    assert value(fams["shardis_keys_with_expiry"], "shardis_keys_with_expiry", db="0") == 1
    # every router answers for the whole server: both routers' counters are there
    cmds = fams["shardis_commands_processed"]
    assert {s.labels["router"] for s in cmds.samples} == {"0", "1"}
    assert sum(s.value for s in cmds.samples) >= 25
    assert sum(s.value for s in fams["shardis_connected_clients"].samples) >= 1
    assert sum(s.value for s in fams["shardis_net_input_bytes"].samples) > 0
    assert "shardis_rejected_connections" in fams
    # error replies by code: the router's (unknown command) and the shard's (INCR)
    errs = fams["shardis_errors"]
    assert value(errs, "shardis_errors_total", code="ERR") >= 2
    # LMDB per shard
    for i in ("0", "1"):
        assert value(fams["shardis_shard_up"], "shardis_shard_up", shard=i) == 1
        assert value(fams["shardis_lmdb_map_size_bytes"], "shardis_lmdb_map_size_bytes", shard=i) >= 1 << 20
        assert value(fams["shardis_lmdb_used_bytes"], "shardis_lmdb_used_bytes", shard=i) > 0
    # every process' CPU and memory
    procs = {s.labels["process"] for s in fams["shardis_process_resident_memory_bytes"].samples}
    assert {"supervisor", "coordinator", "router-0", "router-1", "shard-0", "shard-1"} <= procs
    assert all(s.value > 0 for s in fams["shardis_process_resident_memory_bytes"].samples)
    assert any(s.value > 0 for s in fams["shardis_process_cpu_seconds"].samples)
    # the batch round trip: a histogram per shard, its +Inf bucket its count
    hist = fams["shardis_batch_duration_seconds"]
    assert hist.type == "histogram"
    total = sum(value(hist, "shardis_batch_duration_seconds_count", shard=i) for i in ("0", "1"))
    assert total >= 20
    assert value(hist, "shardis_batch_duration_seconds_bucket", shard="0", le="+Inf") == \
        value(hist, "shardis_batch_duration_seconds_count", shard="0")
    c.close()


def test_command_metrics(server):
    """Per command figures, merged over both routers and both shards, as INFO commandstats."""
    c = redis.Redis(port=server.port)
    c.config_resetstat()
    for i in range(10):
        c.set(f"k{i}", "v")
    c.mget("k1", "k2", "k3", "k4")  # (over both shards: the coordinator)
    with pytest.raises(redis.ResponseError):
        c.lpush("k1", "x")
    with pytest.raises(redis.ResponseError):
        c.execute_command("GET")
    fams = families(get(server.mport, "/metrics")[2])
    assert value(fams["shardis_command_calls"], "shardis_command_calls_total", command="set") == 10
    assert value(fams["shardis_command_calls"], "shardis_command_calls_total", command="mget") == 1
    assert value(fams["shardis_command_failed_calls"], "shardis_command_failed_calls_total",
                 command="lpush") == 1
    assert value(fams["shardis_command_rejected_calls"], "shardis_command_rejected_calls_total",
                 command="get") == 1
    assert value(fams["shardis_command_seconds"], "shardis_command_seconds_total", command="set") > 0
    hist = fams["shardis_command_duration_seconds"]
    assert hist.type == "histogram"
    assert value(hist, "shardis_command_duration_seconds_count", command="set") == 10
    assert value(hist, "shardis_command_duration_seconds_bucket", command="set", le="+Inf") == 10
    buckets = [s.value for s in hist.samples if s.name.endswith("_bucket") and s.labels["command"] == "set"]
    assert buckets == sorted(buckets)
    assert sum(value(fams["shardis_lmdb_commits"], "shardis_lmdb_commits_total", shard=i)
               for i in ("0", "1")) >= 10
    assert sum(s.value for s in fams["shardis_coordinator_requests"].samples
               if s.name.endswith("_total")) >= 1
    # everysec's LMDB fsync runs in the background within a second of the writes
    deadline = time.monotonic() + 10
    while True:
        fams = families(get(server.mport, "/metrics")[2])
        synced = sum(value(fams["shardis_fsyncs"], "shardis_fsyncs_total", shard=i) for i in ("0", "1"))
        if synced >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert synced >= 1
    assert sum(value(fams["shardis_fsync_seconds"], "shardis_fsync_seconds_total", shard=i)
               for i in ("0", "1")) > 0
    c.close()


def test_health_and_paths(server):
    status, _, body = get(server.mport, "/health/live")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, _, body = get(server.mport, "/health/ready")
    assert (status, json.loads(body)) == (200, {"status": "ready"})
    status, _, body = get(server.mport, "/health")
    assert (status, json.loads(body)) == (200, {"live": True, "ready": True, "status": "ready"})
    assert get(server.mport, "/nothing")[0] == 404
    assert get(server.mport, "/metrics", method="POST")[0] == 405
    status, headers, body = get(server.mport, "/health", method="HEAD")
    assert status == 200 and body == b""


def test_not_ready_while_a_shard_is_stopped(server):
    pid = shard_pid(server.proc.pid, 1)
    os.kill(pid, signal.SIGSTOP)
    try:
        status, _, body = get(server.mport, "/health/ready")
        assert status == 503
        assert json.loads(body) == {"status": "not ready",
                                    "reason": f"shard 1 did not answer within {metrics.READY_DEADLINE}s"}
        assert get(server.mport, "/health/live")[0] == 200
        status, _, body = get(server.mport, "/metrics")
        assert status == 200
        up = families(body)["shardis_shard_up"]
        assert value(up, "shardis_shard_up", shard="1") == 0
        assert value(up, "shardis_shard_up", shard="0") == 1
    finally:
        os.kill(pid, signal.SIGCONT)
    assert get(server.mport, "/health/ready")[0] == 200


def test_behind_the_password(tmp_path):
    mport = free_port()
    s = Shardis(str(tmp_path / "data"), shards=1, routers=1, metrics_port=mport,
                requirepass="secret", users=["alice on >pw ~* +@all"]).start(wait=False)
    try:
        deadline = time.monotonic() + 30
        while True:  # (PING, which start() waits for, wants the password)
            try:
                get(mport, "/health/live")
                break
            except OSError:
                assert time.monotonic() < deadline, s.log()[-3000:]
                time.sleep(0.1)
        status, headers, _ = get(mport, "/metrics")
        assert status == 401
        assert headers["WWW-Authenticate"] == 'Basic realm="shardis"'
        assert get(mport, "/health", auth=("default", "wrong"))[0] == 401
        assert get(mport, "/health", auth=("", "secret"))[0] == 200
        assert get(mport, "/health/live", auth=("default", "secret"))[0] == 200
        assert get(mport, "/metrics", auth=("alice", "pw"))[0] == 200
        assert get(mport, "/nothing", auth=("alice", "pw"))[0] == 404
    finally:
        assert s.stop() == 0, s.log()[-3000:]


@pytest.mark.parametrize("data, expected", [
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", metrics.Request("GET", "/metrics", {"host": "x"})),
    (b"GET /health?x=1 HTTP/1.0\r\n\r\n", metrics.Request("GET", "/health", {})),
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\n", metrics.NEED_DATA),
])
def test_read_request(data, expected):
    assert metrics.read_request(data) == expected
    if expected is not metrics.NEED_DATA:  # byte by byte: nothing until the head is whole
        assert all(metrics.read_request(data[:n]) is metrics.NEED_DATA for n in range(len(data)))


@pytest.mark.parametrize("data, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nX: " + b"a" * metrics.MAX_HEAD, 431),
])
def test_read_request_errors(data, status):
    with pytest.raises(metrics.HttpError) as e:
        metrics.read_request(data)
    assert e.value.status == status


def test_credentials():
    b64 = lambda s: "Basic " + base64.b64encode(s).decode()  # noqa: E731
    assert metrics.credentials(b64(b"u:p:q")) == (b"u", b"p:q")
    assert metrics.credentials(b64(b":p")) == (b"default", b"p")
    assert metrics.credentials(b64(b"nocolon")) is None
    assert metrics.credentials("Bearer x") is None
    assert metrics.credentials("Basic !!!") is None
    assert metrics.credentials(None) is None
