"""Connection and server commands: PING ... HELLO, CLIENT, COMMAND, CONFIG, INFO, DBSIZE ...

Everything deterministic is compared byte for byte with redis-server 7.0; replies
that legitimately differ (ids, addresses, INFO figures) are parsed and their
structure and the fields clients read are checked.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import redis

from shardis import errors
from tests.helpers import Pair, RawClient, RedisServer, parse_reply

# Fields of a CLIENT LIST line, in order: Redis 7.0's.
CLIENT_FIELDS = ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub",
                 "ssub", "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl",
                 "oll", "omem", "tot-mem", "events", "cmd", "user", "redir", "resp"]


def fields(line: bytes) -> dict[str, str]:
    """A CLIENT LIST line as an ordered field -> value mapping."""
    return dict(part.split("=", 1) for part in line.decode().split(" "))


def info_sections(text: bytes) -> dict[str, dict[str, str]]:
    """INFO text -> {section title: {field: value}}; also checks the line format."""
    out: dict[str, dict[str, str]] = {}
    assert text.endswith(b"\r\n") or text == b""
    current = None
    for line in text.decode().split("\r\n")[:-1]:
        if line.startswith("# "):
            current = out[line[2:]] = {}
        elif line:
            k, v = line.split(":", 1)
            current[k] = v
    return out


def bulk(reply: bytes) -> bytes:
    v = parse_reply(reply)
    assert isinstance(v, bytes), reply
    return v


# ---------------------------------------------------------------- connection


def test_ping_echo_select(pair):
    for args in [("PING",), ("PING", "hi"), ("PING", ""), ("PING", "a", "b"), ("ECHO", "x"),
                 ("ECHO",), ("ECHO", "a", "b"), ("SELECT", "1"), ("SELECT", "15"),
                 ("SELECT", "16"), ("SELECT", "-1"), ("SELECT", "x"), ("SELECT", "01"),
                 ("SELECT", "+1"), ("SELECT", " 1"), ("SELECT", "1.0"), ("SELECT", "4294967296"),
                 ("SELECT", "99999999999999999999"), ("SELECT",), ("SELECT", "0")]:
        pair.check(*args)


def test_select_isolates_databases(pair):
    pair.check("SELECT", "3")
    pair.check("SET", "k", "three")
    pair.check("SELECT", "0")
    pair.check("GET", "k")
    pair.check("SELECT", "3")
    pair.check("GET", "k")
    pair.check("FLUSHDB")


def test_quit(shardis_server, redis_server):
    for port in (shardis_server.port, redis_server.port):
        c = RawClient(port)
        c.send_raw(b"*2\r\n$4\r\nQUIT\r\n$1\r\nx\r\n*1\r\n$4\r\nPING\r\n")
        assert c.read_reply() == b"+OK\r\n"
        with pytest.raises(ConnectionError):
            c.read_reply()
        c.close()


def test_hello_errors(pair):
    for args in [("HELLO", "x"), ("HELLO", "02"), ("HELLO", "4"), ("HELLO", "1"), ("HELLO", "-1"),
                 ("HELLO", "2", "foo"), ("HELLO", "2", "SETNAME"), ("HELLO", "2", "AUTH", "a"),
                 ("HELLO", "2", "AUTH", "nobody", "pw"), ("HELLO", "2", "SETNAME", "a b"),
                 ("HELLO", "3", "foo")]:
        pair.check(*args)


def _hello_masked(reply: bytes):
    """HELLO's reply with the connection id zeroed (ids differ between servers)."""
    v = parse_reply(reply)
    if isinstance(v, dict):
        assert isinstance(v[b"id"], int)
        return {**v, b"id": 0}
    assert v[6] == b"id" and isinstance(v[7], int)
    v[7] = 0
    return v


def test_hello(pair):
    for args in [("HELLO",), ("HELLO", "2"), ("HELLO", "2", "SETNAME", "me"),
                 ("HELLO", "2", "AUTH", "default", "anything", "SETNAME", "me2")]:
        got, want = pair.both(*args)
        assert _hello_masked(got) == _hello_masked(want), args
    pair.check("CLIENT", "GETNAME")
    got = parse_reply(pair.s.call("HELLO"))
    assert got[7] == parse_reply(pair.s.call("CLIENT", "ID"))


def test_hello_3(pair):
    got, want = pair.both("HELLO", "3")
    assert got.startswith(b"%7\r\n") and _hello_masked(got) == _hello_masked(want)
    for args in [("CONFIG", "GET", "save"), ("CLIENT", "TRACKINGINFO"), ("PING",), ("GET", "nokey"),
                 ("HELLO", "3", "foo"), ("COMMAND", "DOCS", "nosuch"), ("DBSIZE",)]:
        pair.check(*args)
    pair.check("INFO", "cluster")
    line = pair.s.call("CLIENT", "INFO")
    assert line.startswith(b"=") and b"txt:id=" in line and b" resp=3\n" in line
    got, want = pair.both("HELLO", "2")
    assert got.startswith(b"*14\r\n") and _hello_masked(got) == _hello_masked(want)
    pair.check("CONFIG", "GET", "save")
    pair.check("HELLO", "3", "SETNAME", "x y")
    pair.s.call("HELLO", "3")
    pair.r.call("HELLO", "3")
    pair.check("RESET")
    pair.check("CONFIG", "GET", "save")


def test_reset(pair):
    pair.check("SELECT", "2")
    pair.check("CLIENT", "SETNAME", "someone")
    pair.check("SET", "k", "in2")
    pair.check("RESET")
    pair.check("CLIENT", "GETNAME")
    pair.check("GET", "k")
    pair.check("RESET", "x")


# ---------------------------------------------------------------- CLIENT


def test_client_errors_and_simple_subcommands(pair):
    for args in [("CLIENT",), ("CLIENT", "foo"), ("CLIENT", "ID", "x"), ("CLIENT", "GETNAME", "x"),
                 ("CLIENT", "SETNAME"), ("CLIENT", "SETNAME", "a b"), ("CLIENT", "SETNAME", "a\nb"),
                 ("CLIENT", "GETNAME"), ("CLIENT", "SETNAME", "abc"), ("CLIENT", "GETNAME"),
                 ("CLIENT", "setname", ""), ("CLIENT", "GETNAME"), ("CLIENT", "INFO", "x"),
                 ("CLIENT", "LIST", "TYPE", "foo"), ("CLIENT", "LIST", "ID", "x"),
                 ("CLIENT", "LIST", "ID", "1", "x"), ("CLIENT", "LIST", "ID"),
                 ("CLIENT", "LIST", "TYPE"), ("CLIENT", "LIST", "foo"),
                 ("CLIENT", "LIST", "TYPE", "normal", "ID", "1"),
                 ("CLIENT", "LIST", "TYPE", "pubsub"), ("CLIENT", "LIST", "TYPE", "master"),
                 ("CLIENT", "LIST", "TYPE", "replica"), ("CLIENT", "LIST", "type", "SLAVE"),
                 ("CLIENT", "LIST", "ID", "0"), ("CLIENT", "LIST", "ID", "-1"),
                 ("CLIENT", "KILL"), ("CLIENT", "KILL", "1.2.3.4:5"),
                 ("CLIENT", "KILL", "ID", "99999999"), ("CLIENT", "KILL", "ID", "x"),
                 ("CLIENT", "KILL", "ID", "0"), ("CLIENT", "KILL", "foo", "bar"),
                 ("CLIENT", "KILL", "ID", "1", "foo"), ("CLIENT", "KILL", "SKIPME", "x"),
                 ("CLIENT", "KILL", "TYPE", "foo"), ("CLIENT", "KILL", "USER", "nobody"),
                 ("CLIENT", "KILL", "ADDR", "1:1", "LADDR", "2:2"),
                 ("CLIENT", "KILL", "TYPE", "master"),
                 ("CLIENT", "NO-EVICT"), ("CLIENT", "NO-EVICT", "on"), ("CLIENT", "NO-EVICT", "OFF"),
                 ("CLIENT", "NO-EVICT", "x"), ("CLIENT", "GETREDIR"), ("CLIENT", "TRACKINGINFO")]:
        pair.check(*args)


def test_client_id_list_info(pair):
    s = pair.s
    cid = parse_reply(s.call("CLIENT", "ID"))
    assert isinstance(cid, int) and cid > 0
    s.call("CLIENT", "SETNAME", "lister")
    s.call("SELECT", "4")
    for reply in (s.call("CLIENT", "INFO"), s.call("CLIENT", "LIST", "ID", str(cid))):
        line = bulk(reply)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        f = fields(line[:-1])
        assert list(f) == CLIENT_FIELDS
        assert f["id"] == str(cid) and f["name"] == "lister" and f["db"] == "4"
        assert f["flags"] == "N" and f["user"] == "default" and f["resp"] == "2"
        assert f["laddr"].endswith(":%d" % pair.s.sock.getpeername()[1])
        assert f["addr"] == "%s:%d" % pair.s.sock.getsockname()
        assert f["cmd"] in ("client|info", "client|list")
    lines = bulk(s.call("CLIENT", "LIST")).split(b"\n")
    assert lines[-1] == b"" and str(cid) in [fields(x)["id"] for x in lines[:-1]]
    assert bulk(s.call("CLIENT", "LIST", "TYPE", "normal")).count(b"\n") == len(lines) - 1
    # Repeated ids repeat the line, as in Redis.
    assert bulk(s.call("CLIENT", "LIST", "ID", str(cid), str(cid))).count(b"\n") == 2


def test_client_setinfo(pair):
    # CLIENT SETINFO is Redis 7.2's (redis-py sends it on connect, and ignores the error).
    for args in [("CLIENT", "SETINFO", "LIB-NAME", "mylib"), ("CLIENT", "setinfo", "lib-ver", "1"),
                 ("CLIENT", "SETINFO", "lib-name")]:
        pair.check(*args)


def test_client_kill(shardis_server):
    me, other, third = (RawClient(shardis_server.port) for _ in range(3))
    other_id = parse_reply(other.call("CLIENT", "ID"))
    third_addr = "%s:%d" % third.sock.getsockname()
    assert me.call("CLIENT", "KILL", "ID", str(other_id)) == b":1\r\n"
    with pytest.raises((ConnectionError, OSError)):
        other.call("PING")
    assert me.call("CLIENT", "KILL", third_addr) == b"+OK\r\n"
    with pytest.raises((ConnectionError, OSError)):
        third.call("PING")
    # SKIPME defaults to yes with the option form: the caller survives.
    my_id = parse_reply(me.call("CLIENT", "ID"))
    assert me.call("CLIENT", "KILL", "ID", str(my_id)) == b":0\r\n"
    assert me.call("CLIENT", "KILL", "ID", str(my_id), "SKIPME", "no") == b":1\r\n"
    with pytest.raises((ConnectionError, OSError)):
        me.call("PING")
    for c in (me, other, third):
        c.close()


def test_client_help_lists_each_subcommand(pair):
    lines = parse_reply(pair.check("CLIENT", "HELP"))
    names = {ln.split()[0].lower().decode() for ln in lines[1:] if not ln.startswith(b" ")}
    subs = {n.decode().split("|")[1] for n in
            parse_reply(pair.s.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "client|*"))}
    # (client-side caching is not implemented: TRACKING and CACHING answer the
    # unknown-subcommand error)
    assert names - {"tracking", "caching"} == subs


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_connects(shardis_server, protocol):
    c = redis.Redis(port=shardis_server.port, protocol=protocol, client_name="pyclient",
                    decode_responses=True)
    assert c.ping()
    info = c.client_info()
    assert info["name"] == "pyclient" and "lib-name" not in info  # (as Redis 7.0)
    assert int(info["resp"]) == protocol
    assert c.info()["redis_version"] == "7.0.15"
    assert c.config_get("save") == {"save": ""}
    assert c.config_get("maxmemory*") == {"maxmemory": "0", "maxmemory-policy": "noeviction",
                                          "maxmemory-clients": "0", "maxmemory-samples": "5",
                                          "maxmemory-eviction-tenacity": "10"}
    c.close()


# ---------------------------------------------------------------- COMMAND


def _info_tuple(v):
    return v[0], v[1], v[3], v[4], v[5]


def test_command_info_matches_redis_for_every_command(pair):
    """Name, arity and key positions of every shardis command, as Redis 7.0 declares them."""
    names = [n for n in parse_reply(pair.s.call("COMMAND", "LIST"))]
    mismatches = []
    for name in names:
        got = parse_reply(pair.s.call("COMMAND", "INFO", name))[0]
        want = parse_reply(pair.r.call("COMMAND", "INFO", name))[0]
        if want is None or _info_tuple(got) != _info_tuple(want):
            mismatches.append((name, _info_tuple(got), want and _info_tuple(want)))
    assert not mismatches, "\n".join(map(repr, mismatches))


def test_command_info_flags_of_server_commands(pair):
    """Flags and ACL categories, compared for the commands this family declares."""
    for name in ["ping", "echo", "quit", "select", "hello", "reset", "client", "command", "config",
                 "info", "time", "lastsave", "save", "bgsave", "dbsize", "flushdb", "flushall",
                 "client|id", "client|list", "client|kill", "client|no-evict", "client|help",
                 "command|getkeys", "command|docs", "config|get", "config|set", "config|help"]:
        got = parse_reply(pair.s.call("COMMAND", "INFO", name))[0]
        want = parse_reply(pair.r.call("COMMAND", "INFO", name))[0]
        assert got[:7] == want[:7], name
        got_subs = {s[0]: s[:7] for s in got[9]}
        want_subs = {s[0]: s[:7] for s in want[9]}
        for sub, v in got_subs.items():
            assert v == want_subs[sub], sub


def test_command_info_shape(pair):
    pair.check("COMMAND", "INFO", "nosuchcommand")
    pair.check("COMMAND", "INFO", "client|nosuch")
    pair.check("COMMAND", "INFO", "echo", "nosuch", "select")
    v = parse_reply(pair.s.call("COMMAND", "INFO", "get"))[0]
    assert len(v) == 10 and v[7] == [] and v[9] == []
    assert v[8] == [[b"flags", [b"RO"], b"begin_search", [b"type", b"index", b"spec", [b"index", 1]],
                     b"find_keys", [b"type", b"range", b"spec",
                                    [b"lastkey", 0, b"keystep", 1, b"limit", 0]]]]
    every = parse_reply(pair.s.call("COMMAND"))
    assert len(every) == parse_reply(pair.s.call("COMMAND", "COUNT"))
    assert parse_reply(pair.s.call("COMMAND", "INFO")) == every


def test_command_subcommand_errors(pair):
    for args in [("COMMAND", "foo"), ("COMMAND", "COUNT", "x"), ("COMMAND", "HELP", "x"),
                 ("COMMAND", "LIST", "foo"), ("COMMAND", "LIST", "FILTERBY"),
                 ("COMMAND", "LIST", "FILTERBY", "foo", "x"),
                 ("COMMAND", "LIST", "FILTERBY", "PATTERN"),
                 ("COMMAND", "LIST", "FILTERBY", "MODULE", "x"),
                 ("COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuchcat"),
                 ("COMMAND", "LIST", "FILTERBY", "PATTERN", "zzz*"),
                 ("COMMAND", "DOCS", "nosuch")]:
        pair.check(*args)


def test_command_getkeys(pair):
    for args in [("get", "a"), ("get", "a", "b"), ("get",), ("nosuch", "a"), ("ping",),
                 ("mset", "a", "1", "b", "2"), ("mset", "a", "1", "b"), ("del", "a", "b", "c"),
                 ("client", "list"), ("client", "nosuch"), ("config", "get", "x"),
                 ("select", "1"), ("set", "a"), ("set", "k", "v", "EX", "10"),
                 ("rename", "a", "b"), ("mget", "x", "y")]:
        pair.check("COMMAND", "GETKEYS", *args)


def test_command_list_and_docs(pair):
    ours = set(parse_reply(pair.s.call("COMMAND", "LIST")))
    theirs = set(parse_reply(pair.r.call("COMMAND", "LIST")))
    assert ours <= theirs
    for cat in ("connection", "keyspace", "String"):
        got = set(parse_reply(pair.s.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", cat)))
        want = set(parse_reply(pair.r.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", cat)))
        assert got <= want and got, cat
    got = set(parse_reply(pair.s.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "C[LO]*")))
    assert got == {n for n in ours if n[:2] in (b"cl", b"co")}
    docs = parse_reply(pair.s.call("COMMAND", "DOCS", "get", "nosuch", "CLIENT"))
    ref = parse_reply(pair.r.call("COMMAND", "DOCS", "get", "nosuch", "CLIENT"))
    assert docs[0] == b"get" and docs[2] == b"client" and len(docs) == 4
    for ours_doc, ref_doc in ((docs[1], ref[1]), (docs[3], ref[3])):
        d, r = dict(zip(ours_doc[::2], ours_doc[1::2])), dict(zip(ref_doc[::2], ref_doc[1::2]))
        for k in (b"summary", b"since", b"group", b"complexity"):
            assert d[k] == r[k], (k, d[k], r[k])
    assert len(parse_reply(pair.s.call("COMMAND", "DOCS"))) == 2 * len(
        parse_reply(pair.s.call("COMMAND")))


def test_command_help(pair):
    lines = parse_reply(pair.s.call("COMMAND", "HELP"))
    ref = parse_reply(pair.r.call("COMMAND", "HELP"))
    assert lines == ref


# ---------------------------------------------------------------- CONFIG


def _pairs(reply: bytes) -> dict:
    v = parse_reply(reply)
    assert isinstance(v, list) and len(v) % 2 == 0, reply
    return dict(zip(v[::2], v[1::2]))


def test_config_get(pair):
    for name in ["save", "SAVE", "databases", "maxmemory", "maxmemory-policy", "timeout",
                 "notify-keyspace-events", "requirepass", "proto-max-bulk-len", "maxclients",
                 "client-query-buffer-limit", "loglevel", "nosuch", "nosuch*"]:
        pair.check("CONFIG", "GET", name)
    for args in [("save", "databases"), ("save", "save"), ("save", "SAVE"), ("maxmemory*",)]:
        got, want = _pairs(pair.s.call("CONFIG", "GET", *args)), _pairs(pair.r.call("CONFIG", "GET", *args))
        assert set(got) <= set(want) and all(got[k] == want[k] for k in got if k != b"appendonly"), args
    got = _pairs(pair.s.call("CONFIG", "GET", "*"))
    assert got[b"appendonly"] == b"yes" and got[b"appendfsync"] == b"everysec"
    assert got[b"save"] == b"" and int(got[b"port"]) == pair.s.sock.getpeername()[1]
    assert got[b"maxmemory-policy"] == b"noeviction" and got[b"maxmemory"] == b"0"
    pair.check("CONFIG", "GET")


def test_config_set(pair):
    for args in [("nosuch", "1"), ("databases", "4"), ("maxclients", "x"),
                 ("maxclients", "0"), ("maxclients", "-1"), ("maxclients", "01"),
                 ("maxclients", "99999999999"), ("maxclients",), ("maxclients", "5", "x"),
                 ("maxclients", "10", "maxclients", "20"), ("maxclients", "x", "maxclients", "1"),
                 ("nosuch", "1", "databases", "2"), ("databases", "2", "nosuch", "1"),
                 ("maxclients", "10000", "nosuch", "1"), ("client-query-buffer-limit", "x"),
                 ("client-query-buffer-limit", "1"), ("client-query-buffer-limit", "-1"),
                 ("client-query-buffer-limit", "1.5mb"),
                 ("MAXCLIENTS", "5000"), ("client-query-buffer-limit", "2mb")]:
        pair.check("CONFIG", "SET", *args)
    pair.check("CONFIG", "GET", "maxclients")
    pair.check("CONFIG", "GET", "client-query-buffer-limit")
    pair.check("CONFIG", "SET", "maxclients", "10000", "client-query-buffer-limit", "1gb")
    pair.check("CONFIG", "GET", "client-query-buffer-limit")


def test_config_other_subcommands(pair):
    pair.check("CONFIG", "foo")
    pair.check("CONFIG")
    pair.check("CONFIG", "HELP")
    pair.check("CONFIG", "RESETSTAT")
    pair.check("CONFIG", "RESETSTAT", "x")
    # (REWRITE: tests/test_config.py; the reference runs without a config file)
    assert pair.r.call("CONFIG", "REWRITE") == b"-%s\r\n" % errors.CONFIG_NO_FILE.encode()


def test_redis_benchmark_fetches_config(shardis_server):
    exe = shutil.which("redis-benchmark")
    if exe is None:
        pytest.skip("redis-benchmark is not installed")
    out = subprocess.run([exe, "-p", str(shardis_server.port), "-n", "1000", "-c", "4", "-t", "ping",
                          "-q"], capture_output=True, timeout=120, text=True)
    assert out.returncode == 0
    assert "Could not fetch server CONFIG" not in out.stdout + out.stderr
    assert "requests per second" in out.stdout


# ---------------------------------------------------------------- INFO

DEFAULT_SECTIONS = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                    "Modules", "Errorstats", "Cluster", "Keyspace"]
ALL_SECTIONS = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                "Modules", "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"]
# Sections whose fields are per command run so far (Redis counts INFO itself there too).
PER_COMMAND = {"Commandstats", "Latencystats"}


def test_info_sections(pair):
    """Which sections each argument list shows, in which order, as Redis 7.0.15 picks them."""
    for args in [(), ("default",), ("DEFAULT",), ("all",), ("ALL",), ("everything",), ("Everything",),
                 ("server",), ("SERVER", "clients"), ("clients", "server"), ("cpu", "nosuch"),
                 ("nosuch",), ("nosuch", "other"), ("modules",), ("module_list",), ("MODULES",),
                 ("commandstats",), ("errorstats",), ("latencystats",), ("keyspace",),
                 ("Keyspace", "keyspace"), ("default", "commandstats"), ("default", "latencystats"),
                 ("all", "default"), ("everything", "nosuch"), ("default", "all"),
                 ("cluster", "nosuch", "CPU"), ("persistence", "replication", "stats", "memory"),
                 ("all\x00junk",), ("server\x00",), ("",), ("shardis", "nosuch")]:
        got, want = (list(info_sections(bulk(x))) for x in pair.both("INFO", *args))
        if args == ("shardis", "nosuch"):
            assert got == ["Shardis"] and want == []  # shardis' own section, asked by name
        else:
            assert got == want, args
    assert list(info_sections(bulk(pair.s.call("INFO")))) == DEFAULT_SECTIONS
    assert list(info_sections(bulk(pair.s.call("INFO", "everything")))) == ALL_SECTIONS
    pair.check("INFO", "nosuch")  # an empty text
    pair.check("INFO", "modules")
    pair.check("INFO", "cluster")
    pair.check("INFO", "modules", "cluster", "nosuch")


def test_info_sections_resp3(pair3):
    pair3.check("INFO", "nosuch")
    pair3.check("INFO", "cluster")


def test_info_field_names_as_redis(shardis_server):
    """Every section's field names, in Redis' order (values differ), against a Redis that,
    like shardis, logs every write (appendonly yes)."""
    ref = RedisServer(None, "--appendonly", "yes").start()
    try:
        p = Pair(shardis_server.port, ref.port)
        p.check("FLUSHALL")
        p.check("CONFIG", "RESETSTAT")
        p.check("SET", "k", "v")
        p.check("GET", "k")
        got, want = (info_sections(bulk(x)) for x in p.both("INFO", "everything"))
        assert list(got) == list(want)
        for title in want:
            if title not in PER_COMMAND:
                assert list(got[title]) == list(want[title]), title
        p.close()
    finally:
        ref.stop()


def test_info_errorstats(pair):
    """Error replies counted by code, wherever shardis makes them (a router: unknown
    command, arity; a shard: WRONGTYPE, syntax), reset by CONFIG RESETSTAT."""
    pair.check("CONFIG", "RESETSTAT")
    pair.check("INFO", "errorstats")
    for args in [("NOSUCH",), ("GET",), ("SET", "s", "x"), ("LPUSH", "s", "x"), ("SET", "k", "v", "NX", "XX"),
                 ("HSET", "s", "f", "v"), ("INCR", "s"), ("MULTI",), ("MULTI",), ("EXEC",),
                 ("ZADD", "z", "NX", "XX", "1", "m"), ("SWAPDB", "0", "x"),
                 ("MULTI",), ("NOSUCH",), ("INCR", "s"), ("EXEC",), ("MULTI",), ("INCR", "s"),
                 ("LPUSH", "s", "x"), ("EXEC",), ("MSET", "a", "1", "b"), ("RENAME", "nokey", "other"),
                 ("EXEC",), ("WATCH",), ("SELECT", "x"), ("PING", "a", "b")]:
        pair.check(*args)
    pair.check("INFO", "errorstats")
    got, want = (info_sections(bulk(x))["Stats"]["total_error_replies"]
                 for x in pair.both("INFO", "stats"))
    assert got == want
    pair.check("CONFIG", "RESETSTAT")
    pair.check("INFO", "errorstats")


def test_info_fields_clients_read(pair, shardis_server):
    info = info_sections(bulk(pair.s.call("INFO")))
    srv = info["Server"]
    assert srv["redis_version"] == "7.0.15" and srv["redis_mode"] == "standalone"
    assert srv["tcp_port"] == str(shardis_server.port) and srv["arch_bits"] == "64"
    assert int(srv["process_id"]) > 0 and int(srv["uptime_in_seconds"]) >= 0
    assert srv["os"].startswith("Linux") and len(srv["run_id"]) == 40
    assert int(info["Clients"]["connected_clients"]) >= 1
    mem = info["Memory"]
    # Every shardis process: supervisor, 3 shards, coordinator, router.
    assert int(mem["used_memory"]) > 6 * 1_000_000
    assert mem["used_memory_human"][-1] in "KMG" and mem["maxmemory"] == "0"
    assert int(mem["used_memory_peak"]) >= int(mem["used_memory"])
    assert info["Persistence"]["aof_enabled"] == "1"
    assert int(info["Persistence"]["rdb_last_save_time"]) > 1_600_000_000
    stats = info["Stats"]
    assert int(stats["total_commands_processed"]) >= 0
    assert int(stats["total_connections_received"]) >= 1
    assert int(stats["total_net_input_bytes"]) > 0 and int(stats["total_net_output_bytes"]) > 0
    assert int(stats["total_reads_processed"]) > 0 and int(stats["total_writes_processed"]) > 0
    assert info["Replication"] == {**info["Replication"], "role": "master", "connected_slaves": "0"}
    assert float(info["CPU"]["used_cpu_user"]) > 0
    sh = info_sections(bulk(pair.s.call("INFO", "shardis")))["Shardis"]
    assert sh["shards"] == "3" and sorted(k for k in sh if k.startswith("shard") and k[5:].isdigit()) \
        == ["shard0", "shard1", "shard2"]
    assert sh["shardis_version"]


def test_info_keyspace(pair):
    pair.check("INFO", "keyspace")
    for i in range(20):
        pair.check("SET", f"k{i}", "v")
    pair.check("SELECT", "3")
    pair.check("SET", "other", "v")
    pair.check("INFO", "keyspace")
    pair.check("SET", "vol", "v", "EX", "100")
    got = info_sections(bulk(pair.s.call("INFO", "keyspace")))["Keyspace"]
    assert got == {"db0": "keys=20,expires=0,avg_ttl=0", "db3": "keys=2,expires=1,avg_ttl=0"}
    shards = info_sections(bulk(pair.s.call("INFO", "shardis")))["Shardis"]
    assert sum(int(dict(kv.split("=") for kv in shards[f"shard{i}"].split(","))["keys"])
               for i in range(3)) == 22
    pair.check("FLUSHALL")
    pair.check("INFO", "keyspace")


# ---------------------------------------------------------------- DBSIZE, FLUSH*, TIME, SAVE


def test_dbsize_and_flush(pair):
    for args in [("DBSIZE",), ("MSET", "a", "1", "b", "2", "c", "3"), ("DBSIZE",), ("DBSIZE", "x"),
                 ("SELECT", "1"), ("SET", "d", "4"), ("DBSIZE",), ("FLUSHDB", "x"),
                 ("FLUSHDB", "ASYNC", "SYNC"), ("FLUSHDB", "sync"), ("DBSIZE",), ("SELECT", "0"),
                 ("DBSIZE",), ("FLUSHDB", "ASYNC"), ("DBSIZE",), ("SET", "e", "5"),
                 ("FLUSHALL", "x"), ("FLUSHALL", "async", "x"), ("FLUSHALL", "SYNC"), ("DBSIZE",),
                 ("SET", "f", "6"), ("FLUSHALL", "ASYNC"), ("DBSIZE",)]:
        pair.check(*args)


def test_time_and_lastsave(pair):
    sec, usec = parse_reply(pair.s.call("TIME"))
    assert isinstance(sec, bytes) and abs(int(sec) - time.time()) < 5 and 0 <= int(usec) < 1_000_000
    pair.check("TIME", "x")
    pair.check("LASTSAVE", "x")
    pair.check("SAVE", "x")
    pair.check("BGSAVE", "x")
    pair.check("BGSAVE", "SCHEDULE", "x")
    before = parse_reply(pair.s.call("LASTSAVE"))
    assert isinstance(before, int) and before <= time.time() + 1
    pair.s.call("SET", "saved", "1")
    started = int(time.time())
    assert pair.s.call("SAVE") == b"+OK\r\n"
    assert started <= parse_reply(pair.s.call("LASTSAVE")) <= time.time() + 1
    assert pair.s.call("BGSAVE") == b"+Background saving started\r\n"
    while b"rdb_bgsave_in_progress:1" in pair.s.call("INFO", "persistence"):
        time.sleep(0.02)  # (a BGSAVE while one runs: "Background save already in progress")
    assert pair.s.call("BGSAVE", "schedule") == b"+Background saving started\r\n"
    while b"rdb_bgsave_in_progress:1" in pair.s.call("INFO", "persistence"):
        time.sleep(0.02)
    assert pair.s.call("GET", "saved") == b"$1\r\n1\r\n"


def test_save_pipelined_after_writes(shardis_server):
    """SAVE answers after the writes sent before it, in order, on every shard."""
    c = RawClient(shardis_server.port)
    n = 200
    cmds = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nk%d\r\n$1\r\nv\r\n" % (len(b"k%d" % i), i) for i in range(n))
    c.send_raw(cmds + b"*1\r\n$4\r\nSAVE\r\n*1\r\n$6\r\nDBSIZE\r\n")
    replies = [c.read_reply() for _ in range(n + 2)]
    assert replies[:n] == [b"+OK\r\n"] * n
    assert replies[n] == b"+OK\r\n"
    assert int(replies[n + 1][1:-2]) >= n
    c.call("FLUSHALL")
    c.close()
