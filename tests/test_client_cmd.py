"""CLIENT as Redis 7.0.15 answers it, over a server of two routers: every reply and error
compared with redis-server; LIST, KILL and UNBLOCK reaching the clients of the other
router; PAUSE holding writes (or everything) on every router; REPLY OFF|SKIP with
pipelines whose replies come from several shards.

Clients land on the routers at random (SO_REUSEPORT): ``on_both`` connects until each
router holds some, and a client's id says which (id // 1e9).
"""

from __future__ import annotations

import hashlib
import select
import time

import pytest

from tests.helpers import Pair, RawClient, RedisServer, Shardis, encode_command, parse_reply

ROUTER = 1_000_000_000  # client ids per router


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    c = Shardis(str(tmp_path_factory.mktemp("clientcmd") / "data"), routers=2, shards=2).start()
    yield c
    code = c.stop()
    assert code == 0, "shardis-server did not stop cleanly:\n" + c.log()[-3000:]


@pytest.fixture(scope="module")
def ref():
    """A redis-server of this module's own: CLIENT KILL here must not reach other tests'."""
    s = RedisServer().start()
    yield s
    s.stop()


@pytest.fixture
def pair(server, ref):
    p = Pair(server.port, ref.port)
    p.check("FLUSHALL")
    yield p
    p.close()


class Conn(RawClient):
    """A raw client that knows its id (and so its router)."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.id = parse_reply(self.call("CLIENT", "ID"))
        self.router = self.id // ROUTER

    def send(self, *args) -> None:
        self.send_raw(encode_command(args))

    def quiet(self, seconds: float) -> bool:
        """Nothing arrives for ``seconds``: its command waits."""
        if self.buf:
            return False
        ready, _, _ = select.select([self.sock], [], [], seconds)
        return not ready

    def gone(self) -> bool:
        """The server closed the connection."""
        try:
            self.sock.settimeout(5)
            return self.sock.recv(1) == b""
        except OSError:
            return True


def on_both(port: int, each: int = 2) -> tuple[list[Conn], list[Conn]]:
    """Clients of router 0 and of router 1, ``each`` at least on both."""
    by = ([], [])
    for _ in range(200):
        c = Conn(port)
        if len(by[c.router]) < each:
            by[c.router].append(c)
        else:
            c.close()
        if all(len(b) >= each for b in by):
            return by
    raise AssertionError("the kernel gave every connection to one router")


def close(*conns) -> None:
    for c in conns:
        c.close()


def fields(line: bytes) -> dict[str, str]:
    return dict(part.split("=", 1) for part in line.decode().split(" "))


def lines(reply: bytes) -> list[dict[str, str]]:
    text = parse_reply(reply)
    assert isinstance(text, bytes) and (text == b"" or text.endswith(b"\n")), reply
    return [fields(x) for x in text.split(b"\n")[:-1]]


def info(c: RawClient, cid: int) -> dict[str, str]:
    """Client ``cid`` as CLIENT LIST ID shows it to ``c``."""
    got = lines(c.call("CLIENT", "LIST", "ID", cid))
    assert len(got) == 1, got
    return got[0]


# ---------------------------------------------------------------- replies and errors


CASES = [
    ("CLIENT",), ("CLIENT", "foo"), ("CLIENT", "HELP"), ("CLIENT", "HELP", "x"),
    ("CLIENT", "ID", "x"), ("CLIENT", "INFO", "x"), ("CLIENT", "GETNAME"), ("CLIENT", "GETNAME", "x"),
    ("CLIENT", "SETNAME"), ("CLIENT", "SETNAME", "a", "b"), ("CLIENT", "SETNAME", "a b"),
    ("CLIENT", "SETNAME", "x\ny"), ("CLIENT", "SETNAME", "n"), ("CLIENT", "GETNAME"),
    ("CLIENT", "SETNAME", ""), ("CLIENT", "GETNAME"),
    # LIST
    ("CLIENT", "LIST", "TYPE", "x"), ("CLIENT", "LIST", "TYPE"), ("CLIENT", "LIST", "ID"),
    ("CLIENT", "LIST", "ID", "abc"), ("CLIENT", "LIST", "ID", "0"), ("CLIENT", "LIST", "ID", "-1"),
    ("CLIENT", "LIST", "ID", "1", "abc"), ("CLIENT", "LIST", "foo"), ("CLIENT", "LIST", "foo", "bar"),
    ("CLIENT", "LIST", "TYPE", "normal", "x"), ("CLIENT", "LIST", "TYPE", "master"),
    ("CLIENT", "LIST", "type", "REPLICA"), ("CLIENT", "LIST", "TYPE", "slave"),
    ("CLIENT", "LIST", "TYPE", "pubsub"), ("CLIENT", "LIST", "ID", "999", "1000000999"),
    # KILL (7.0.15 has no MAXAGE: a syntax error)
    ("CLIENT", "KILL"), ("CLIENT", "KILL", "1.2.3.4:5"), ("CLIENT", "KILL", "ID"),
    ("CLIENT", "KILL", "ID", "999"), ("CLIENT", "KILL", "ID", "1000000999"), ("CLIENT", "KILL", "ID", "0"),
    ("CLIENT", "KILL", "ID", "-5"), ("CLIENT", "KILL", "ID", "abc"),
    ("CLIENT", "KILL", "ID", "99999999999999999999"), ("CLIENT", "KILL", "TYPE", "x"),
    ("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "x"), ("CLIENT", "KILL", "USER", "nosuch"),
    ("CLIENT", "KILL", "foo", "bar"), ("CLIENT", "KILL", "ID", "1", "foo"),
    ("CLIENT", "KILL", "ADDR", "1.2.3.4:5"), ("CLIENT", "KILL", "LADDR", "1.2.3.4:5"),
    ("CLIENT", "KILL", "TYPE", "master"), ("CLIENT", "KILL", "TYPE", "replica"),
    ("CLIENT", "KILL", "TYPE", "x", "ID", "0"), ("CLIENT", "KILL", "ID", "0", "TYPE", "x"),
    ("CLIENT", "KILL", "MAXAGE", "5"), ("CLIENT", "KILL", "ID", "5", "MAXAGE", "5"),
    ("CLIENT", "KILL", "SKIPME", "no", "ADDR", "1.1.1.1:1"),
    # PAUSE / UNPAUSE (the mode is read before the timeout; a timeout past 2**63 - now
    # wraps into the past in 7.0.15: no pause)
    ("CLIENT", "PAUSE"), ("CLIENT", "PAUSE", "abc"), ("CLIENT", "PAUSE", "-1"), ("CLIENT", "PAUSE", "1.5"),
    ("CLIENT", "PAUSE", "99999999999999999999"), ("CLIENT", "PAUSE", "10", "foo"),
    ("CLIENT", "PAUSE", "abc", "foo"), ("CLIENT", "PAUSE", "-1", "all"),
    ("CLIENT", "PAUSE", "10", "write", "extra"), ("CLIENT", "pause", "10", "all", "x", "y"),
    ("CLIENT", "PAUSE", "0"), ("CLIENT", "PAUSE", "0", "WRITE"), ("CLIENT", "PAUSE", "9223372036854775807"),
    ("SET", "k", "v"), ("CLIENT", "UNPAUSE"), ("CLIENT", "UNPAUSE", "x"),
    # REPLY
    ("CLIENT", "REPLY"), ("CLIENT", "REPLY", "foo"), ("CLIENT", "REPLY", "on", "x"),
    ("CLIENT", "REPLY", "ON"),
    # UNBLOCK (the reason is read before the id)
    ("CLIENT", "UNBLOCK"), ("CLIENT", "UNBLOCK", "abc"), ("CLIENT", "UNBLOCK", "999"),
    ("CLIENT", "UNBLOCK", "1000000999"), ("CLIENT", "UNBLOCK", "999", "foo"),
    ("CLIENT", "UNBLOCK", "abc", "foo"), ("CLIENT", "UNBLOCK", "999", "timeout"),
    ("CLIENT", "UNBLOCK", "999", "ERROR"), ("CLIENT", "UNBLOCK", "999", "error", "x"),
    ("CLIENT", "UNBLOCK", "-1"), ("CLIENT", "UNBLOCK", "0"),
    # the rest
    ("CLIENT", "NO-EVICT"), ("CLIENT", "NO-EVICT", "foo"), ("CLIENT", "NO-EVICT", "on"),
    ("CLIENT", "NO-EVICT", "OFF"), ("CLIENT", "GETREDIR"), ("CLIENT", "GETREDIR", "x"),
    ("CLIENT", "TRACKINGINFO"), ("CLIENT", "TRACKINGINFO", "x"),
    ("CLIENT", "SETINFO", "lib-name", "x"), ("CLIENT", "setinfo", "LIB-VER", "1"),
]


def test_replies_and_errors_match_redis(pair):
    for args in CASES:
        pair.check(*args)
    pair.both("HELLO", "3")
    for args in [("CLIENT", "TRACKINGINFO"), ("CLIENT", "GETREDIR"), ("CLIENT", "REPLY", "ON"),
                 ("CLIENT", "UNBLOCK", "999"), ("CLIENT", "LIST", "ID", "0"), ("CLIENT", "HELP")]:
        pair.check(*args)


def test_tracking_and_caching_are_not_implemented(server):
    c = RawClient(server.port)
    for sub in ("TRACKING", "tracking", "CACHING"):
        want = b"-ERR unknown subcommand '%s'. Try CLIENT HELP.\r\n" % sub.encode()
        assert c.call("CLIENT", sub, "on") == want
    c.close()


def test_list_fields_flags_and_cmd_follow_redis(server, ref):
    """The same commands on both servers: the subject's line (as another client lists it)
    agrees on every field that does not measure the machine."""
    watchers = [Conn(server.port), Conn(ref.port)]
    subjects = [Conn(server.port), Conn(ref.port)]
    ids = [s.id for s in subjects]
    steps = [
        [("SELECT", "3"), ("SET", "k", "v")], [("CLIENT", "SETNAME", "bob")], [("NOSUCH",)],
        [("CLIENT", "FOO")], [("CLIENT",)], [("GET",)],
        [("MULTI",), ("SET", "a", "1"), ("GET", "a")], [("EXEC",)], [("CLIENT", "NO-EVICT", "on")],
        [("HELLO", "3")], [("SUBSCRIBE", "a", "b")], [("PSUBSCRIBE", "p*")], [("SSUBSCRIBE", "s")],
        [("UNSUBSCRIBE", "b", "a")], [("PUNSUBSCRIBE", "p*"), ("SUNSUBSCRIBE", "s")],
        [("CLIENT", "NO-EVICT", "off")],
    ]
    same = ["name", "flags", "db", "sub", "psub", "ssub", "multi", "cmd", "user", "redir", "resp"]
    try:
        for step in steps:
            for subject in subjects:
                for args in step:
                    subject.send(*args)
            for args in step:
                n = len(args) - 1 if args[0].endswith("SUBSCRIBE") else 1
                got = [[s.read_reply() for _ in range(n)] for s in subjects]
                if args[0] != "HELLO":
                    assert got[0] == got[1], args
            mine, theirs = (info(w, i) for w, i in zip(watchers, ids))
            assert list(mine) == list(theirs)
            assert {k: mine[k] for k in same} == {k: theirs[k] for k in same}, step
        # Its own line: the command it runs, and that command's size.
        for s in subjects:
            s.call("HELLO", "2")
        mine, theirs = (lines(s.call("CLIENT", "INFO"))[0] for s in subjects)
        assert {k: mine[k] for k in same + ["argv-mem"]} == {k: theirs[k] for k in same + ["argv-mem"]}
        # Blocked: flag b, on whichever router
        for s in subjects:
            s.send("BLPOP", "nolist", "0")
        time.sleep(0.2)
        mine, theirs = (info(w, i) for w, i in zip(watchers, ids))
        assert mine["flags"] == theirs["flags"] == "b" and mine["cmd"] == theirs["cmd"] == "blpop"
        for w in watchers:
            w.call("SELECT", "3")  # (the subject's)
            w.call("LPUSH", "nolist", "x")
        assert subjects[0].read_reply() == subjects[1].read_reply()
    finally:
        close(*watchers, *subjects)


# ---------------------------------------------------------------- over both routers


def test_list_shows_every_router_s_clients(server):
    r0, r1 = on_both(server.port)
    try:
        r1[0].call("CLIENT", "SETNAME", "far")
        r1[1].call("SUBSCRIBE", "news")
        for asker in (r0[0], r1[0]):
            listed = lines(asker.call("CLIENT", "LIST"))
            got = [int(f["id"]) for f in listed]
            assert got == sorted(got) and {c.id for c in r0 + r1} <= set(got)
            by_id = {int(f["id"]): f for f in listed}
            assert by_id[asker.id]["cmd"] == "client|list"
            assert by_id[r1[0].id]["name"] == "far"
            assert by_id[r0[1].id]["cmd"] == "client|id"
            assert by_id[r1[1].id]["flags"] == "P" and by_id[r1[1].id]["sub"] == "1"
            pubsub = lines(asker.call("CLIENT", "LIST", "TYPE", "pubsub"))
            assert [int(f["id"]) for f in pubsub] == [r1[1].id]
            # ID: in the order asked, repeats included, unknown ids left out
            order = [r1[0].id, r0[1].id, 424242, r1[0].id, asker.id]
            got = [int(f["id"]) for f in lines(asker.call("CLIENT", "LIST", "ID", *order))]
            assert got == [r1[0].id, r0[1].id, r1[0].id, asker.id]
    finally:
        close(*r0, *r1)


def test_kill_reaches_every_router(server):
    r0, r1 = on_both(server.port, 3)
    me = r0[0]
    try:
        assert me.call("CLIENT", "KILL", "ID", r1[0].id) == b":1\r\n"
        assert r1[0].gone()
        assert me.call("CLIENT", "KILL", "ID", r1[0].id) == b":0\r\n"
        addr = "%s:%d" % r1[1].sock.getsockname()
        assert me.call("CLIENT", "KILL", addr) == b"+OK\r\n"
        assert r1[1].gone()
        assert me.call("CLIENT", "KILL", addr) == b"-ERR No such client\r\n"
        r1[2].call("SUBSCRIBE", "x")
        r0[1].call("SUBSCRIBE", "y")
        assert me.call("CLIENT", "KILL", "TYPE", "pubsub") == b":2\r\n"
        assert r1[2].gone() and r0[1].gone()
        addr = "%s:%d" % r0[2].sock.getsockname()
        assert me.call("CLIENT", "KILL", "ADDR", addr, "TYPE", "pubsub") == b":0\r\n"
        # USER default: everyone else; SKIPME no: the caller too, after its reply
        more = [Conn(server.port) for _ in range(3)]
        assert me.call("CLIENT", "KILL", "USER", "default") == b":%d\r\n" % (len(more) + 1)
        assert all(c.gone() for c in more + [r0[2]])
        other = Conn(server.port)
        me.send("CLIENT", "KILL", "USER", "default", "SKIPME", "no")
        me.send("PING")
        assert me.read_reply() == b":2\r\n"
        assert me.gone() and other.gone()
    finally:
        close(*r0, *r1)


def test_kill_old_form_kills_the_caller_too(server):
    c = Conn(server.port)
    c.send("CLIENT", "KILL", "%s:%d" % c.sock.getsockname())
    c.send("PING")
    assert c.read_reply() == b"+OK\r\n" and c.gone()
    c.close()


# ---------------------------------------------------------------- PAUSE


def pause_scenario(ports: list[int], pause_with: list) -> dict:
    """Under ``pause_with`` (sent on the first port), which commands wait (those before
    them are answered); then what each gets once UNPAUSE comes. (Against shardis the
    probes land on both routers.)"""
    admin = Conn(ports[0])
    admin.call("FLUSHALL")
    ro = b"#!lua flags=no-writes\nreturn 7"
    probes = [
        [("GET", "x")], [("EVAL_RO", "return 1", "0")], [("EVAL", "#!lua flags=no-writes\nreturn 2", "0")],
        [("EVALSHA", hashlib.sha1(ro).hexdigest(), "0")], [("PUBSUB", "NUMPAT")],
        [("SET", "x", "1"), ("GET", "x")], [("EVAL", "return 3", "0")], [("EVAL", "#!lua\nreturn 4", "0")],
        [("PUBLISH", "ch", "m")], [("PFCOUNT", "h")], [("INCR", "n")], [("NOSUCH",)], [("SET", "x")],
        [("MULTI",), ("GET", "x"), ("SET", "y", "2")], [("MULTI",), ("GET", "x"), ("EXEC",)],
        [("CLIENT", "UNPAUSE", "x")], [("FLUSHDB",)], [("DBSIZE",)],
    ]
    conns = [Conn(ports[i % len(ports)]) for i in range(len(probes))]
    out: dict = {}
    try:
        for c in conns:  # (a shardis router knows the scripts it has seen: EVALSHA of
            c.call("SCRIPT", "LOAD", ro)  # another waits, as one Redis does not know)
        assert admin.call(*pause_with) == b"+OK\r\n"
        for c, cmds in zip(conns, probes):
            for args in cmds:
                c.send(*args)
        time.sleep(0.4)
        for c, cmds in zip(conns, probes):
            early = []
            while not c.quiet(0):
                early.append(c.read_reply())
            out[str(cmds)] = [early]
        assert admin.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
        for c, cmds in zip(conns, probes):
            out[str(cmds)].append([c.read_reply() for _ in range(len(cmds) - len(out[str(cmds)][0]))])
    finally:
        close(admin, *conns)
    return out


def test_pause_write_holds_what_redis_holds_on_every_router(server, ref):
    want = pause_scenario([ref.port], ["CLIENT", "PAUSE", "5000", "WRITE"])
    got = pause_scenario([server.port], ["CLIENT", "PAUSE", "5000", "WRITE"])
    assert got == want
    assert want[str([("SET", "x", "1"), ("GET", "x")])][0] == []  # (a write and what follows wait)
    assert want[str([("GET", "x")])][0] == [b"$-1\r\n"]


def test_pause_reaches_the_other_router(server):
    r0, r1 = on_both(server.port, 1)
    a, b = r0[0], r1[0]
    try:
        for admin, client in ((a, b), (b, a)):
            assert admin.call("CLIENT", "PAUSE", "5000", "WRITE") == b"+OK\r\n"
            assert client.call("GET", "k") == b"$-1\r\n"
            client.send("SET", "k", "v")
            client.send("GET", "k")
            assert client.quiet(0.3)
            assert admin.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
            assert client.read_reply() == b"+OK\r\n" and client.read_reply() == b"$1\r\nv\r\n"
            client.call("DEL", "k")
        # ALL: reads wait too, everywhere, until the pause ends by itself
        t0 = time.monotonic()
        assert a.call("CLIENT", "PAUSE", "700", "ALL") == b"+OK\r\n"
        # a WRITE pause during ALL does not weaken it
        a.send("CLIENT", "PAUSE", "100", "WRITE")
        b.send("GET", "k")
        assert a.quiet(0.3) and b.quiet(0)
        assert b.read_reply() == b"$-1\r\n" and a.read_reply() == b"+OK\r\n"
        assert time.monotonic() - t0 >= 0.6
        # PAUSE 0 ALL during a WRITE pause makes it ALL until its end
        t0 = time.monotonic()
        assert a.call("CLIENT", "PAUSE", "600", "WRITE") == b"+OK\r\n"
        assert a.call("CLIENT", "PAUSE", "0", "ALL") == b"+OK\r\n"
        assert b.call("GET", "k") == b"$-1\r\n"
        assert time.monotonic() - t0 >= 0.5
    finally:
        close(a, b)


def test_a_pipeline_behind_the_pause_and_the_idle_timeout(server, ref):
    """The caller's own next commands wait behind its PAUSE; a client held longer than
    ``timeout`` is not closed for being idle (Redis does not close blocked clients)."""
    for port in (server.port, ref.port):
        c, d = Conn(port), Conn(port)
        try:
            c.call("CONFIG", "SET", "timeout", "1")
            t0 = time.monotonic()
            c.send("CLIENT", "PAUSE", "2200", "WRITE")
            c.send("SET", "p", "1")
            c.send("GET", "p")
            assert c.read_reply() == b"+OK\r\n"
            assert c.quiet(0.3)
            d.send("SET", "q", "1")
            assert c.read_reply() == b"+OK\r\n" and c.read_reply() == b"$1\r\n1\r\n"
            assert d.read_reply() == b"+OK\r\n"
            assert time.monotonic() - t0 >= 2.0
        finally:
            c.call("CONFIG", "SET", "timeout", "0")
            close(c, d)


# ---------------------------------------------------------------- REPLY


def run_pipeline(port: int, cmds: list[tuple]) -> bytes:
    """Send every command at once, then an ECHO that ends them; all that came back."""
    c = RawClient(port)
    end = b"$5\r\n@end@\r\n"
    cmds = cmds + [("CLIENT", "REPLY", "ON"), ("ECHO", "@end@")]
    c.send_raw(b"".join(encode_command(args) for args in cmds))
    data = b""
    while not data.endswith(end):
        chunk = c.sock.recv(65536)
        assert chunk, data
        data += chunk
    c.close()
    return data


REPLY_CASES = [
    [("CLIENT", "REPLY", "OFF"), ("SET", "a", "1"), ("GETX",), ("CLIENT", "REPLY", "ON"), ("GET", "a")],
    [("CLIENT", "REPLY", "SKIP"), ("SET", "a", "2"), ("GET", "a")],
    [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "SKIP"), ("GET", "a"), ("GET", "a")],
    [("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "SKIP"), ("GET", "a"), ("CLIENT", "REPLY", "ON"),
     ("GET", "a")],
    [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"), ("GET", "a")],
    [("CLIENT", "REPLY", "SKIP"), ("FOO",), ("GET",), ("GET", "a")],
    [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "FOO"), ("GET", "a")],
    [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "OFF"), ("GET", "a"), ("CLIENT", "REPLY", "ON")],
    [("CLIENT", "REPLY", "OFF"), ("RESET",), ("GET", "a"), ("CLIENT", "REPLY", "SKIP"), ("RESET",),
     ("PING",)],
    # runs of commands for one shard share a queue entry; a SKIP lands inside one
    [("SET", "{s}1", "a"), ("SET", "{s}2", "b"), ("CLIENT", "REPLY", "SKIP"), ("GET", "{s}1"),
     ("GET", "{s}2"), ("GET", "{t}1"), ("MGET", "{s}1", "{s}2"), ("MSET", "{s}1", "x", "{t}1", "y"),
     ("CLIENT", "REPLY", "OFF"), ("INCR", "{s}n"), ("INCR", "{t}n"), ("MGET", "{s}1", "{t}1"),
     ("CLIENT", "REPLY", "ON"), ("MGET", "{s}n", "{t}n", "{s}1", "{t}1")],
    [("CLIENT", "REPLY", "SKIP"), ("BLPOP", "nolist", "0.05"), ("GET", "a")],
    [("CLIENT", "REPLY", "SKIP"), ("BLPOP", "{s}l", "{t}l", "0.05"), ("GET", "a")],
    # inside MULTI: SKIP drops the reply of the command after EXEC (and EXEC's array
    # lacks one element: Redis' own reply)
    [("MULTI",), ("CLIENT", "REPLY", "SKIP"), ("GET", "a"), ("EXEC",), ("GET", "a"), ("GET", "a")],
    [("CLIENT", "REPLY", "SKIP"), ("MULTI",), ("GET", "a"), ("EXEC",), ("GET", "a")],
    [("MULTI",), ("CLIENT", "REPLY", "SKIP"), ("EXEC",), ("GET", "a"), ("GET", "a")],
    # pub/sub confirmations and messages are pushes: never dropped
    [("CLIENT", "REPLY", "OFF"), ("SUBSCRIBE", "ch"), ("PING",), ("UNSUBSCRIBE",), ("PING",)],
    [("HELLO", "3"), ("CLIENT", "REPLY", "OFF"), ("SUBSCRIBE", "ch"), ("PUBLISH", "ch", "m"),
     ("CLIENT", "REPLY", "ON"), ("PUBLISH", "ch", "m2"), ("CLIENT", "REPLY", "SKIP"),
     ("PUBLISH", "ch", "m3"), ("PUBLISH", "ch", "m4")],
]


@pytest.mark.parametrize("cmds", REPLY_CASES, ids=[str(i) for i in range(len(REPLY_CASES))])
def test_reply_off_and_skip_as_redis(server, ref, cmds):
    for port in (ref.port, server.port):
        c = RawClient(port)
        c.call("FLUSHALL")
        c.close()
    want = run_pipeline(ref.port, cmds)
    got = run_pipeline(server.port, cmds)
    if cmds[0] == ("HELLO", "3"):  # (the client ids differ)
        want, got = (x[x.index(b"*0\r\n") + 4:] for x in (want, got))
    assert got == want


def test_reply_off_with_a_long_pipeline(server):
    c = RawClient(server.port)
    cmds = [("CLIENT", "REPLY", "OFF")] + [("INCR", "{%d}c" % (i % 7)) for i in range(500)]
    cmds += [("CLIENT", "REPLY", "ON"), ("GET", "{3}c")]
    c.send_raw(b"".join(encode_command(args) for args in cmds))
    assert c.read_reply() == b"+OK\r\n" and c.read_reply() == b"$2\r\n71\r\n"
    assert c.call("PING") == b"+PONG\r\n"
    c.close()


# ---------------------------------------------------------------- UNBLOCK


BLOCKING = [
    ("BLPOP", "{s}l", "0"), ("BRPOP", "{s}l", "{s}m", "0"), ("BLMOVE", "{s}l", "{s}d", "LEFT", "RIGHT", "0"),
    ("BRPOPLPUSH", "{s}l", "{s}d", "0"), ("BLMPOP", "0", "1", "{s}l", "LEFT"), ("BZPOPMIN", "{s}z", "0"),
    ("BZMPOP", "0", "1", "{s}z", "MAX"), ("XREAD", "BLOCK", "0", "STREAMS", "{s}x", "$"),
    ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "{s}x", ">"),
    # keys on both shards: blocked in the coordinator
    ("BLPOP", "{s}l", "{t}l", "0"), ("BLMOVE", "{s}l", "{t}d", "LEFT", "RIGHT", "0"),
    ("BZPOPMAX", "{s}z", "{t}z", "0"),
]


def unblocked(admin: Conn, blocked: Conn, args: tuple, how: tuple, resp3: bool) -> tuple:
    """A client blocked in ``args``, freed by another's CLIENT UNBLOCK: (what UNBLOCK
    answers, what the blocked client gets, what a second UNBLOCK answers)."""
    try:
        admin.call("FLUSHALL")
        admin.call("XGROUP", "CREATE", "{s}x", "g", "$", "MKSTREAM")
        if resp3:
            blocked.call("HELLO", "3")
        blocked.send(*args)
        deadline = time.monotonic() + 5
        while True:  # (0 until its shard has parked it)
            first = admin.call("CLIENT", "UNBLOCK", blocked.id, *how)
            if first == b":1\r\n" or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        reply = blocked.read_reply()
        again = admin.call("CLIENT", "UNBLOCK", blocked.id, *how)
        assert blocked.call("PING") == b"+PONG\r\n"
        return first, reply, again
    finally:
        close(admin, blocked)


@pytest.mark.parametrize("args", BLOCKING, ids=[" ".join(a[:3]) for a in BLOCKING])
def test_unblock_as_redis_from_the_other_router(server, ref, args):
    for how, resp3 in (((), False), (("TIMEOUT",), True), (("ERROR",), False)):
        want = unblocked(Conn(ref.port), Conn(ref.port), args, how, resp3)
        r0, r1 = on_both(server.port, 1)
        got = unblocked(r0[0], r1[0], args, how, resp3)
        assert got == want, (how, resp3)
        assert want[0] == b":1\r\n" and want[2] == b":0\r\n"


def test_unblock_answers_0_for_a_client_not_blocked(server):
    r0, r1 = on_both(server.port, 1)
    a, b = r0[0], r1[0]
    try:
        for target in (a, b):
            assert a.call("CLIENT", "UNBLOCK", target.id) == b":0\r\n"
        # held by a pause: not unblockable (Redis 7.0.15 crashes on this one)
        assert a.call("CLIENT", "PAUSE", "5000", "WRITE") == b"+OK\r\n"
        b.send("SET", "k", "v")
        assert b.quiet(0.2)
        assert a.call("CLIENT", "UNBLOCK", b.id, "ERROR") == b":0\r\n"
        assert info(a, b.id)["flags"] == "b"
        assert a.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
        assert b.read_reply() == b"+OK\r\n"
    finally:
        close(a, b)
