"""HTTP on ``metrics_port``: /health for orchestrators, /metrics for Prometheus.

Every router serves the port (SO_REUSEPORT, as the client port), and any router's
answer covers the whole server: the routers' counters come through the hub (a POLL
every router answers with ``router_figures``), the shards' through ``__info`` (as INFO
asks them), the processes' CPU and memory from /proc (``router/procstats.py``).

Paths (GET; ``Connection: close`` after each answer):

- ``/health/live``: 200 ``{"status": "ok"}`` while this router runs;
- ``/health/ready``: 200 ``{"status": "ready"}`` when every shard and the coordinator
  answer within READY_DEADLINE seconds, else 503 ``{"status": "not ready", "reason":
  "shard 2 did not answer within 1.0s"}``;
- ``/health``: both at once, ``{"live": true, "ready": ..., "status": ...}``, 200 or 503
  as ``/health/ready``;
- ``/metrics``: Prometheus' text format (``prometheus_client`` renders it).

With a password on the default user every path wants HTTP Basic credentials of an ACL
user (an empty user name is the default user); 401 otherwise. Per command: calls,
failed and rejected calls, time and a run-time histogram (INFO commandstats' figures,
shardis/cmdstats.py); besides, the batch round trip's histogram (router to shard and
back), LMDB commits and their time per shard, and coordinator requests per router.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import json
import logging
import os
from typing import TYPE_CHECKING, Any, Callable, Iterable, NamedTuple

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily,
                                    Metric)
from prometheus_client.registry import Collector

from shardis import REDIS_VERSION, __version__, cmdstats, wire
from shardis.router import security
from shardis.router.procstats import cpu_seconds, rss_bytes, shardis_pids
from shardis.router.replies import Slot

if TYPE_CHECKING:
    from shardis.router.app import Router

log = logging.getLogger("metrics")

READY_DEADLINE = 1.0    # seconds a shard or the coordinator has to answer /health/ready
GATHER_DEADLINE = 2.0   # seconds /metrics waits for the shards' figures (the hub polls for 2 s too)
REQUEST_TIMEOUT = 10.0  # seconds a connection has to send its request
MAX_HEAD = 8192         # bytes of request line and headers
# The batch round trip's buckets (seconds): Router._on_shard counts each batch in one.
BATCH_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # prometheus_client's CONTENT_TYPE_LATEST
JSON = "application/json"
PATHS = ("/health", "/health/live", "/health/ready", "/metrics")


def batch_bucket(seconds: float) -> int:
    """The index of the bucket a batch's round trip falls in (len(BATCH_BUCKETS): +Inf)."""
    return bisect.bisect_left(BATCH_BUCKETS, seconds)


# ---------------------------------------------------------------- HTTP, no I/O


class Request(NamedTuple):
    method: str
    path: str                # without the query string
    headers: dict[str, str]  # names in lower case


class HttpError(Exception):
    """A request that gets an error status without being looked at further."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _NeedData:
    """``read_request``'s answer while the head is incomplete."""


NEED_DATA = _NeedData()

REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed", 408: "Request Timeout",
           431: "Request Header Fields Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}


def read_request(buf: bytes) -> Request | _NeedData:
    """The request whose head ``buf`` starts with (a body is ignored: GET has none)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > MAX_HEAD:
            raise HttpError(431)
        return NEED_DATA
    if end > MAX_HEAD:
        raise HttpError(431)
    lines = buf[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(400)
        headers[name.lower()] = value.strip()
    return Request(parts[0], parts[1].split("?", 1)[0], headers)


def response(status: int, body: bytes, content_type: str, head: bool = False,
             extra: Iterable[tuple[str, str]] = ()) -> bytes:
    """A whole HTTP/1.1 response; the connection closes after it."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", f"Content-Type: {content_type}",
             f"Content-Length: {len(body)}", "Connection: close", *(f"{k}: {v}" for k, v in extra)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else body)


def json_body(value: dict) -> bytes:
    return json.dumps(value).encode() + b"\n"


def credentials(header: str | None) -> tuple[bytes, bytes] | None:
    """(user, password) from an ``Authorization: Basic`` header; an empty user name is
    the default user (a password alone, as AUTH takes it)."""
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = raw.partition(b":")
    if not sep:
        return None
    return user or b"default", password


def authorized(router: Router, header: str | None) -> bool:
    """Whether a request may be answered: always while the default user needs no password,
    else with the credentials of an enabled ACL user."""
    if security.no_password(router):
        return True
    found = credentials(header)
    if found is None:
        return False
    u = router.users.get(found[0])
    return u is not None and u.enabled and u.check_password(found[1])


# ---------------------------------------------------------------- asking the other processes


class _Answer:
    """Owner of one internal request's slot: hands the reply to ``then`` once it is in."""

    __slots__ = ("dirty", "then", "slot")

    def __init__(self, then: Callable[[Any], None]) -> None:
        self.dirty = False
        self.then = then
        self.slot = Slot((None, self))

    def flush(self) -> None:
        self.dirty = False
        self.then(self.slot[0])


class _Missing:
    """A process that did not answer by the deadline."""


MISSING = _Missing()


def failure(value: Any) -> str | None:
    """The error an internal reply carries (RAW, or RESP when the shard went away)."""
    err = wire.raw_error(value)
    if err is not None:
        return str(err.args[0])
    if isinstance(value, bytes) and value[:1] == b"-":
        return value[1:].split(b"\r\n", 1)[0].decode("latin-1")
    return None


class Gather:
    """Every shard's (and, when asked, the coordinator's) answer, or MISSING for those not
    in by the deadline; ``done(self)`` runs once, when all are in or the time is up."""

    def __init__(self, router: Router, args: list[bytes], deadline: float, coordinator: bool,
                 done: Callable[[Gather], None]) -> None:
        self.shards: list[Any] = [MISSING] * router.nshards
        self.coord: Any = MISSING
        self.done = done
        self.finished = False
        self.waiting = router.nshards + (1 if coordinator else 0)
        spec = router.table.by_name[args[0]]
        for i in range(router.nshards):
            router.submit_raw(i, spec, 0, args, _Answer(self._shard(i)).slot)
        if coordinator:
            # (__scriptexists with no SHA: a request the coordinator serves in a round of
            # its own, touching no shard; its reply is an empty array)
            cid = router.by_name[b"__scriptexists"].id
            router.coord_call(cid, 0, [b"__scriptexists"], self._coordinator)
        assert router.loop is not None, "runs on the loop"
        self.timer = router.loop.call_later(deadline, self._finish)

    def _shard(self, i: int) -> Callable[[Any], None]:
        def answered(value: Any) -> None:
            if not self.finished:
                self.shards[i] = value
                self._count()
        return answered

    def _coordinator(self, value: Any) -> None:
        if not self.finished:
            self.coord = value
            self._count()

    def _count(self) -> None:
        self.waiting -= 1
        if self.waiting <= 0:
            self._finish()

    def _finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        self.timer.cancel()
        self.done(self)


def readiness(router: Router, then: Callable[[str | None], None]) -> None:
    """Ask every shard and the coordinator something cheap; ``then`` gets None when all
    answered in time, else why not."""
    def judged(g: Gather) -> None:
        reasons = []
        for i, v in enumerate(g.shards):
            if v is MISSING:
                reasons.append(f"shard {i} did not answer within {READY_DEADLINE}s")
            elif failure(v) is not None:
                reasons.append(f"shard {i}: {failure(v)}")
        if g.coord is MISSING:
            reasons.append(f"coordinator did not answer within {READY_DEADLINE}s")
        elif failure(g.coord) is not None:
            reasons.append(f"coordinator: {failure(g.coord)}")
        then("; ".join(reasons) or None)

    Gather(router, [b"__info", b"0"], READY_DEADLINE, True, judged)


def router_figures(router: Router) -> dict[str, Any]:
    """This router's counters, as it answers another router's poll ("metrics")."""
    stats = router.stats
    return {"index": router.index, "pid": os.getpid(), "commands": router.ncommands,
            "connections": stats["connections"], "rejected": stats["rejected_connections"],
            "clients": len(router.clients),
            "blocked": sum(1 for c in router.clients.values() if c.blocked_on),
            "net_input": router.net_input, "net_output": router.net_output,
            "reads": router.reads, "writes": router.writes,
            "errors": [[k[len("errorstat_"):], n] for k, n in stats.items()
                       if k.startswith("errorstat_") and n],
            "batch_counts": router.batch_counts, "batch_seconds": router.batch_seconds,
            "started": router.started, "cmdstats": cmdstats.compact(router.cmdstats),
            "coord_rounds": router.coord_rounds, "coord_seconds": router.coord_ns / 1e9}


class Figures(NamedTuple):
    """What one /metrics answer shows."""

    routers: list[dict[str, Any]]  # router_figures of every router that answered
    shards: list[Any]              # per shard: __info's answer, MISSING, or an error reply
    databases: int


def gather(router: Router, then: Callable[[Figures], None]) -> None:
    """The routers' figures (through the hub) and the shards' (``__info``), then ``then``."""
    got: dict[str, Any] = {}

    def complete() -> None:
        if "routers" in got and "shards" in got:
            then(Figures(got["routers"], got["shards"], router.cfg.databases))

    def polled(value: object) -> None:
        if isinstance(value, list):
            got["routers"] = sorted((v for _, v in value if isinstance(v, dict)),
                                    key=lambda f: f["index"])
        else:  # (the hub is away: this router's own)
            got["routers"] = [router_figures(router)]
        complete()

    def shards(g: Gather) -> None:
        got["shards"] = g.shards
        complete()

    router.pubsub.poll(None, ["metrics"], polled)
    Gather(router, [b"__info", str(router.cfg.databases).encode()], GATHER_DEADLINE, False, shards)


# ---------------------------------------------------------------- Prometheus


def command_buckets(hist: list[int]) -> list[tuple[str, float]]:
    """A power-of-two nanosecond histogram (shardis/cmdstats.py) as Prometheus' cumulative
    buckets: le = 2**b ns for b in 10..34, then +Inf."""
    out: list[tuple[str, float]] = []
    seen = sum(hist[:11])
    for b in range(10, 35):
        if b > 10:
            seen += hist[b] if b < len(hist) else 0
        out.append((repr((1 << b) / 1e9), seen))
    out.append(("+Inf", sum(hist)))
    return out


def process_name(pid: int) -> str:
    """A shardis process' role and index from its command line: router-0, shard-2,
    coordinator, supervisor."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().decode("latin-1").split("\0")
    except OSError:
        return str(pid)
    module = argv[argv.index("-m") + 1] if "-m" in argv[:-1] else ""
    index = argv[argv.index("--index") + 1] if "--index" in argv[:-1] else ""
    role = {"shardis.router": "router", "shardis.shardd": "shard",
            "shardis.coord": "coordinator"}.get(module, "supervisor")
    return f"{role}-{index}" if index else role


class ShardisCollector(Collector):
    """One scrape's metric families, from the figures gathered for it."""

    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    def collect(self) -> Iterable[Metric]:
        f = self.figures
        yield from self._routers(f.routers)
        yield from self._shards(f.shards, f.databases)
        yield from self._errors(f)
        yield from self._commands(f)
        yield from self._processes()
        info = GaugeMetricFamily("shardis_build_info", "shardis' version and the Redis version it speaks",
                                 labels=["version", "redis_version"])
        info.add_metric([__version__, REDIS_VERSION], 1)
        yield info

    def _routers(self, routers: list[dict[str, Any]]) -> Iterable[Metric]:
        def counter(name: str, doc: str, key: str) -> CounterMetricFamily:
            m = CounterMetricFamily(name, doc, labels=["router"])
            for r in routers:
                m.add_metric([str(r["index"])], r[key])
            return m

        def gauge(name: str, doc: str, key: str) -> GaugeMetricFamily:
            m = GaugeMetricFamily(name, doc, labels=["router"])
            for r in routers:
                m.add_metric([str(r["index"])], r[key])
            return m

        yield counter("shardis_commands_processed", "Commands read from clients (INFO "
                      "total_commands_processed)", "commands")
        yield counter("shardis_connections_received", "Connections accepted", "connections")
        yield counter("shardis_rejected_connections", "Connections turned away (maxclients, "
                      "protected mode, connection rate)", "rejected")
        yield counter("shardis_net_input_bytes", "Bytes read from clients", "net_input")
        yield counter("shardis_net_output_bytes", "Bytes written to clients", "net_output")
        yield gauge("shardis_connected_clients", "Client connections open", "clients")
        yield gauge("shardis_blocked_clients", "Clients waiting in a blocking command", "blocked")
        yield gauge("shardis_router_start_time_seconds", "When the router started (Unix time)",
                    "started")
        hist = HistogramMetricFamily("shardis_batch_duration_seconds",
                                     "A batch's round trip from a router to a shard and back",
                                     labels=["shard"])
        nshards = max((len(r["batch_counts"]) for r in routers), default=0)
        for i in range(nshards):
            counts = [0] * (len(BATCH_BUCKETS) + 1)
            total = 0.0
            for r in routers:
                if i < len(r["batch_counts"]):
                    counts = [a + b for a, b in zip(counts, r["batch_counts"][i])]
                    total += r["batch_seconds"][i]
            buckets: list[tuple[str, float]] = []
            running = 0
            for le, n in zip([*map(str, BATCH_BUCKETS), "+Inf"], counts):
                running += n
                buckets.append((le, running))
            hist.add_metric([str(i)], buckets, total)
        yield hist

    def _shards(self, shards: list[Any], databases: int) -> Iterable[Metric]:
        up = GaugeMetricFamily("shardis_shard_up", "Whether the shard answered this scrape in time",
                               labels=["shard"])
        map_size = GaugeMetricFamily("shardis_lmdb_map_size_bytes", "The shard's LMDB map size",
                                     labels=["shard"])
        used = GaugeMetricFamily("shardis_lmdb_used_bytes", "Bytes of the shard's LMDB map in use "
                                 "(its last page)", labels=["shard"])
        keys = GaugeMetricFamily("shardis_keys", "Keys per database (INFO keyspace)", labels=["db"])
        expires = GaugeMetricFamily("shardis_keys_with_expiry", "Keys with a time to live, per "
                                    "database", labels=["db"])
        per_db = [[0, 0] for _ in range(databases)]
        for i, s in enumerate(shards):
            ok = isinstance(s, list) and failure(s) is None
            up.add_metric([str(i)], 1 if ok else 0)
            if not ok:
                continue
            _, size, in_use, counts, *_ = s
            map_size.add_metric([str(i)], size)
            used.add_metric([str(i)], in_use)
            for db, (k, e) in enumerate(counts[:databases]):
                per_db[db][0] += k
                per_db[db][1] += e
        for db, (k, e) in enumerate(per_db):
            if k:  # (as INFO keyspace: the databases that hold keys)
                keys.add_metric([str(db)], k)
                expires.add_metric([str(db)], e)
        yield from (up, map_size, used, keys, expires)

    def _errors(self, f: Figures) -> Iterable[Metric]:
        """Error replies by code (INFO errorstats): the routers' and the shards'."""
        counts: dict[str, int] = {}
        for r in f.routers:
            for code, n in r["errors"]:
                counts[code] = counts.get(code, 0) + n
        for s in f.shards:
            if isinstance(s, list) and failure(s) is None:
                for code, n in s[4]:
                    c = code.decode("latin-1") if isinstance(code, bytes) else str(code)
                    counts[c] = counts.get(c, 0) + n
        m = CounterMetricFamily("shardis_errors", "Error replies by their first word (INFO "
                                "errorstats)", labels=["code"])
        for code, n in sorted(counts.items()):
            m.add_metric([code], n)
        yield m

    def _commands(self, f: Figures) -> Iterable[Metric]:
        """Per command (INFO commandstats, merged over every router and shard): calls,
        failed and rejected calls, time, and the latency histogram (power-of-two buckets
        from 1.024 us to about 17 s); LMDB commits per shard; coordinator rounds."""
        merged: dict[str, list] = {}
        for r in f.routers:
            cmdstats.merge(merged, r.get("cmdstats"))
        shards_ok = [s for s in f.shards if isinstance(s, list) and failure(s) is None]
        for s in shards_ok:
            if len(s) > 7:
                cmdstats.merge(merged, s[7])
        calls = CounterMetricFamily("shardis_command_calls", "Calls per command (INFO "
                                    "commandstats calls)", labels=["command"])
        failed = CounterMetricFamily("shardis_command_failed_calls", "Calls that ran and "
                                     "answered an error", labels=["command"])
        rejected = CounterMetricFamily("shardis_command_rejected_calls", "Calls refused before "
                                       "running (arity, ACL, queue-time errors)", labels=["command"])
        seconds = CounterMetricFamily("shardis_command_seconds", "Time spent running each "
                                      "command, where it ran", labels=["command"])
        hist = HistogramMetricFamily("shardis_command_duration_seconds", "Each command's run time "
                                     "(power-of-two buckets)", labels=["command"])
        for name in sorted(merged):
            n, ns, rej, fail, h = merged[name]
            calls.add_metric([name], n)
            failed.add_metric([name], fail)
            rejected.add_metric([name], rej)
            seconds.add_metric([name], ns / 1e9)
            if n:
                hist.add_metric([name], command_buckets(h), ns / 1e9)
        yield from (calls, failed, rejected, seconds, hist)
        commits = CounterMetricFamily("shardis_lmdb_commits", "LMDB write transactions committed "
                                      "(one per batch that ran)", labels=["shard"])
        commit_s = CounterMetricFamily("shardis_lmdb_commit_seconds", "Time the LMDB commits "
                                       "took", labels=["shard"])
        fsyncs = CounterMetricFamily("shardis_fsyncs", "fsyncs of the write-ahead log (durability "
                                     "always) and of LMDB (everysec, checkpoints)", labels=["shard"])
        fsync_s = CounterMetricFamily("shardis_fsync_seconds", "Time the fsyncs took",
                                      labels=["shard"])
        for i, s in enumerate(f.shards):
            if isinstance(s, list) and failure(s) is None and len(s) > 10:
                commits.add_metric([str(i)], s[10][0])
                commit_s.add_metric([str(i)], s[10][1] / 1e9)
                fsyncs.add_metric([str(i)], s[10][2])
                fsync_s.add_metric([str(i)], s[10][3] / 1e9)
        yield from (commits, commit_s, fsyncs, fsync_s)
        rounds = CounterMetricFamily("shardis_coordinator_requests", "Clients' commands run by "
                                     "the coordinator", labels=["router"])
        round_s = CounterMetricFamily("shardis_coordinator_request_seconds", "Their time, from "
                                      "the router's sending to the answer", labels=["router"])
        for r in f.routers:
            rounds.add_metric([str(r["index"])], r.get("coord_rounds", 0))
            round_s.add_metric([str(r["index"])], r.get("coord_seconds", 0.0))
        yield from (rounds, round_s)

    def _processes(self) -> Iterable[Metric]:
        cpu = CounterMetricFamily("shardis_process_cpu_seconds", "CPU time of each shardis process",
                                  labels=["process", "mode"])
        rss = GaugeMetricFamily("shardis_process_resident_memory_bytes", "Resident memory of each "
                                "shardis process", labels=["process"])
        for pid in shardis_pids():
            name = process_name(pid)
            sys_t, user_t = cpu_seconds([pid])
            cpu.add_metric([name, "system"], sys_t)
            cpu.add_metric([name, "user"], user_t)
            rss.add_metric([name], rss_bytes([pid]))
        yield cpu
        yield rss


def exposition(figures: Figures) -> bytes:
    """The /metrics body in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ShardisCollector(figures))
    return generate_latest(registry)


# ---------------------------------------------------------------- serving


def answer(router: Router, req: Request, respond: Callable[[bytes], None]) -> None:
    """Answer one request, now or once the other processes have."""
    head = req.method == "HEAD"
    if req.method not in ("GET", "HEAD"):
        respond(response(405, b"", "text/plain", extra=[("Allow", "GET, HEAD")]))
        return
    if not authorized(router, req.headers.get("authorization")):
        respond(response(401, b"authentication required\n", "text/plain", head,
                         [("WWW-Authenticate", 'Basic realm="shardis"')]))
        return
    path = req.path.rstrip("/") or "/"
    if path not in PATHS:
        respond(response(404, b"not found\n", "text/plain", head))
        return
    if path == "/health/live":
        respond(response(200, json_body({"status": "ok"}), JSON, head))
        return
    if path == "/metrics":
        gather(router, lambda figures: respond(response(200, exposition(figures), CONTENT_TYPE, head)))
        return

    def judged(reason: str | None) -> None:
        body: dict[str, Any] = {"status": "ready"} if reason is None else \
            {"status": "not ready", "reason": reason}
        if path == "/health":
            body = {"live": True, "ready": reason is None, **body}
        respond(response(200 if reason is None else 503, json_body(body), JSON, head))

    readiness(router, judged)


class MetricsConnection(asyncio.Protocol):
    """One HTTP connection: a request, its answer, closed."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.answered = False
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.transport = transport
        loop = self.router.loop
        assert loop is not None, "runs on the loop"
        self.timer = loop.call_later(REQUEST_TIMEOUT, self._timeout)

    def data_received(self, data: bytes) -> None:
        if self.answered:
            return
        self.buf += data
        try:
            req = read_request(self.buf)
        except HttpError as e:
            self.respond(response(e.status, b"", "text/plain"))
            return
        if isinstance(req, _NeedData):
            return
        self.answered = True
        try:
            answer(self.router, req, self.respond)
        except Exception:  # a failure here must not stop the router
            log.exception("router %d: answering %s %s failed", self.router.index, req.method, req.path)
            self.respond(response(500, b"", "text/plain"))

    def respond(self, data: bytes) -> None:
        self.answered = True
        if self.timer is not None:
            self.timer.cancel()
        t = self.transport
        if t is not None and not t.is_closing():
            t.write(data)
            t.close()

    def _timeout(self) -> None:
        self.respond(response(408, b"", "text/plain"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.timer is not None:
            self.timer.cancel()


async def serve(router: Router) -> asyncio.AbstractServer:
    """Listen on metrics_port (shared with the other routers, as the client port)."""
    loop = router.loop
    assert loop is not None, "runs on the loop"
    sock = router.listen_socket(router.cfg.metrics_port)
    server = await loop.create_server(lambda: MetricsConnection(router), sock=sock, backlog=128)
    log.info("router %d: metrics and health on %s:%d", router.index, router.cfg.bind,
             router.cfg.metrics_port)
    return server

