"""AUTH, requirepass and ACL users as a client meets them, against redis-server: every
reply compared byte for byte (the same commands on both, each on its own connection),
through redis-py as applications use it, and across routers (a change through one
router holds on every router before its reply)."""

from __future__ import annotations

import time

import pytest
import redis
from redis.credentials import UsernamePasswordCredentialProvider

from tests.helpers import Pair, RawClient, RedisServer, Shardis, parse_reply


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Shardis with two routers and two shards, and a redis-server: ACL changes here stay
    out of the suite's shared servers."""
    s = Shardis(str(tmp_path_factory.mktemp("acl") / "data"), shards=2, routers=2).start()
    r = RedisServer().start()
    yield s, r
    r.stop()
    assert s.stop() == 0, s.log()[-3000:]


@pytest.fixture
def pair(servers):
    s, r = servers
    p = Pair(s.port, r.port)
    yield p
    # Back to a server without users or password, whatever the test did.
    for c in (p.s, p.r):
        c.close()
    for port in (s.port, r.port):
        admin = RawClient(port)
        for password in ("s3cret", "pw"):  # (if a test failed with a password set)
            admin.call("AUTH", password)
        for u in parse_reply(admin.call("ACL", "USERS")):
            if u not in (b"default", b"admin"):
                admin.call("ACL", "DELUSER", u)
        admin.call("CONFIG", "SET", "requirepass", "")
        admin.call("ACL", "SETUSER", "default", "on", "nopass", "~*", "&*", "+@all")
        admin.call("ACL", "DELUSER", "admin")
        admin.call("ACL", "LOG", "RESET")
        admin.call("FLUSHALL")
        admin.close()


def both(pair: Pair, *args) -> None:
    """An admin change on both servers (replies compared)."""
    pair.check(*args)


def fresh(pair: Pair, servers) -> Pair:
    s, r = servers
    return Pair(s.port, r.port)


def test_auth_without_password_errors(pair):
    pair.check("AUTH", "x")
    pair.check("AUTH", "a", "b", "c")
    pair.check("AUTH", "nobody", "x")
    pair.check("AUTH", "default", "anything")  # nopass: any password
    pair.check("ACL", "WHOAMI")


def test_requirepass(pair, servers):
    both(pair, "CONFIG", "SET", "requirepass", "s3cret")
    pair.check("CONFIG", "GET", "requirepass")
    p = fresh(pair, servers)
    try:
        for args in (("GET", "k"), ("HELLO", "3"), ("AUTH", "wrong"), ("AUTH", "default", "wrong"),
                     ("NOSUCHCOMMAND",), ("GET",), ("PING",), ("MULTI",), ("EXEC",),
                     ("ACL", "WHOAMI"), ("AUTH", "s3cret"), ("GET", "k"), ("ACL", "WHOAMI")):
            p.check(*args)
        # RESET: back to the default user, which needs its password again
        p.check("RESET")
        p.check("GET", "k")
        got, want = p.both("HELLO", "2", "AUTH", "default", "s3cret", "SETNAME", "app")
        assert got.startswith(b"*14\r\n") and want.startswith(b"*14\r\n")
        p.check("CLIENT", "GETNAME")
        # a pipeline that authenticates first
        p.check("RESET")
        p.check_pipeline([("GET", "k"), ("AUTH", "s3cret"), ("SET", "k", "v"), ("GET", "k")])
    finally:
        p.close()
    # a connection made before the password was set stays authenticated, as in Redis
    pair.check("SET", "k2", "v")
    both(pair, "CONFIG", "SET", "requirepass", "")


def test_multi_without_auth_aborts(pair, servers):
    both(pair, "CONFIG", "SET", "requirepass", "pw")
    p = fresh(pair, servers)
    try:
        p.check_pipeline([("MULTI",), ("GET", "a"), ("EXEC",), ("AUTH", "pw"), ("MULTI",),
                          ("SET", "a", "1"), ("EXEC",)])
    finally:
        p.close()
    pair.check("CONFIG", "SET", "requirepass", "")


ALICE = ("ACL", "SETUSER", "alice", "on", ">alicepw", "~app:*", "%R~ro:*", "&news.*", "+@all",
         "-@dangerous", "-flushall", "+config|get")


def test_user_rules_enforced(pair, servers):
    both(pair, *ALICE)
    pair.check("ACL", "GETUSER", "alice")
    pair.check("ACL", "LIST")
    pair.check("ACL", "USERS")
    pair.check("SET", "ro:1", "x")
    p = fresh(pair, servers)
    try:
        p.check("AUTH", "alice", "alicepw")
        p.check("ACL", "WHOAMI")
        for args in (("SET", "app:1", "v"), ("GET", "app:1"), ("GET", "other"), ("GET", "ro:1"),
                     ("SET", "ro:1", "y"), ("MSET", "app:2", "a", "other", "b"),
                     ("MGET", "app:1", "app:2"), ("MGET", "app:1", "other"), ("RENAME", "app:1", "ro:2"),
                     ("COPY", "ro:1", "app:3"), ("FLUSHALL",), ("CONFIG", "GET", "maxclients"),
                     ("CONFIG", "SET", "maxclients", "100"), ("CONFIG", "RESETSTAT"),
                     ("PUBLISH", "news.1", "m"), ("PUBLISH", "sports", "m"), ("EXISTS", "secret"),
                     ("LPUSH", "app:l", "a"), ("BLPOP", "app:l", "other", "1"),
                     ("EVAL", "return 1", "1", "other"), ("SORT", "app:l", "BY", "nosort"),
                     ("ACL", "WHOAMI"), ("ACL", "LIST"), ("KEYS", "*"), ("SCAN", "0", "MATCH", "x")):
            p.check(*args)
        # pub/sub: a channel it may not use, and one it may
        p.check("SUBSCRIBE", "sports")
        p.check("SUBSCRIBE", "news.1")
        p.check("PSUBSCRIBE", "news.*")
        p.check("PSUBSCRIBE", "*")
    finally:
        p.close()


def test_denied_inside_multi_and_pipeline(pair, servers):
    both(pair, *ALICE)
    p = fresh(pair, servers)
    try:
        p.check("AUTH", "alice", "alicepw")
        # refused at queue time: EXECABORT
        p.check_pipeline([("MULTI",), ("SET", "app:1", "1"), ("GET", "other"), ("EXEC",)])
        # a pipeline: the refused command answers its error, the others run
        p.check_pipeline([("SET", "app:1", "1"), ("FLUSHALL",), ("GET", "app:1"), ("GET", "x")])
        # rules changed between queueing and EXEC: that command is refused at EXEC
        p.check("MULTI")
        p.check("SET", "app:1", "2")
        p.check("GET", "app:1")
        both(pair, "ACL", "SETUSER", "alice", "-get")
        p.check("EXEC")
        p.check("GET", "app:1")
    finally:
        p.close()


def test_acl_log(pair, servers):
    both(pair, "ACL", "LOG", "RESET")
    both(pair, *ALICE)
    p = fresh(pair, servers)
    try:
        p.check("AUTH", "alice", "wrong")
        p.check("AUTH", "alice", "alicepw")
        p.check("GET", "other")
        p.check("GET", "other")
        p.check("FLUSHALL")
        p.check("MULTI")
        p.check("GET", "nope")
        p.check("DISCARD")
        p.check("PUBLISH", "sports", "x")
    finally:
        p.close()

    def entries(raw: bytes) -> list:
        out = []
        for e in parse_reply(raw):
            d = dict(zip(e[::2], e[1::2]))
            assert set(d) == {b"count", b"reason", b"context", b"object", b"username",
                              b"age-seconds", b"client-info"}
            assert b"user=alice" in d[b"client-info"] or d[b"reason"] == b"auth"
            out.append([d[k] for k in (b"count", b"reason", b"context", b"object", b"username")])
        return out

    # (an entry made on another router reaches the hub in its own message: seldom, under
    # load, after the ACL LOG asked next through this one)
    deadline = time.monotonic() + 5
    while True:
        got, want = pair.both("ACL", "LOG")
        if len(parse_reply(got)) >= len(parse_reply(want)) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert entries(got) == entries(want)
    got, want = pair.both("ACL", "LOG", "2")
    assert entries(got) == entries(want)
    pair.check("ACL", "LOG", "x")
    pair.check("ACL", "LOG", "RESET")
    pair.check("ACL", "LOG")


def test_acl_errors(pair):
    for args in (("ACL", "SETUSER", "bob", "badrule"), ("ACL", "SETUSER", "bob", "+nosuchcmd"),
                 ("ACL", "SETUSER", "bob", "+@nosuchcat"), ("ACL", "DELUSER", "default"),
                 ("ACL", "DELUSER", "nobody"), ("ACL", "GETUSER", "nobody"),
                 ("ACL", "DRYRUN", "nobody", "get", "x"), ("ACL", "DRYRUN", "default", "nocmd"),
                 ("ACL", "DRYRUN", "default", "get"), ("ACL", "DRYRUN", "default", "get", "x"),
                 ("ACL", "CAT", "nosuch"), ("ACL", "CAT", "a", "b"), ("ACL", "GENPASS", "0"),
                 ("ACL", "GENPASS", "x"), ("ACL", "LOG", "1", "2"), ("ACL", "SAVE"), ("ACL", "LOAD"),
                 ("ACL", "NOSUCH"), ("ACL",), ("ACL", "HELP")):
        pair.check(*args)
    both(pair, *ALICE)
    for args in (("ACL", "DRYRUN", "alice", "get", "app:1"), ("ACL", "DRYRUN", "alice", "get", "x"),
                 ("ACL", "DRYRUN", "alice", "flushall"), ("ACL", "DRYRUN", "alice", "publish", "x", "m"),
                 ("ACL", "DRYRUN", "alice", "set", "ro:1", "v")):
        pair.check(*args)
    got, want = pair.both("ACL", "GENPASS")
    assert len(got) == len(want)
    got, want = pair.both("ACL", "GENPASS", "10")
    assert len(got) == len(want)
    pair.check("ACL", "CAT")
    got, want = pair.both("ACL", "CAT", "string")
    shardis_cmds = set(parse_reply(got))
    assert shardis_cmds <= set(parse_reply(want))


def _client_on(port: int, router: int, **kw) -> redis.Redis:
    """A redis-py client whose connection landed on router ``router`` (SO_REUSEPORT spreads
    connections over the routers; the client id says which took it)."""
    for _ in range(200):
        c = redis.Redis(port=port, single_connection_client=True, **kw)
        if c.client_id() // 1_000_000_000 == router:
            return c
        c.close()
    raise AssertionError(f"no connection landed on router {router}")


def _raw_on(port: int, router: int) -> RawClient:
    for _ in range(200):
        c = RawClient(port)
        if int(c.call("CLIENT", "ID")[1:]) // 1_000_000_000 == router:
            return c
        c.close()
    raise AssertionError(f"no connection landed on router {router}")


def test_change_holds_on_every_router_before_the_reply(servers, pair):
    s, _ = servers
    admin0 = _client_on(s.port, 0)
    admin1 = _client_on(s.port, 1)
    try:
        admin0.execute_command(*ALICE)
        # the user exists on router 1 the moment router 0 answered
        a1 = _client_on(s.port, 1, username="alice", password="alicepw")
        assert a1.set("app:x", "1")
        admin0.execute_command("ACL", "SETUSER", "alice", "-set")
        with pytest.raises(redis.exceptions.NoPermissionError):
            a1.set("app:x", "2")
        # changing users on a live connection
        admin1.execute_command("ACL", "SETUSER", "bob", "on", ">bobpw", "~*", "+@read", "+acl|whoami",
                               "+client|id")
        a1.execute_command("AUTH", "bob", "bobpw")
        assert a1.execute_command("ACL", "WHOAMI") == b"bob"
        assert a1.get("app:x") == b"1"
        # a deleted user's connections are closed, on every router
        bobs = [_raw_on(s.port, i) for i in (0, 1)]
        for b in bobs:
            assert b.call("AUTH", "bob", "bobpw") == b"+OK\r\n"
        assert admin1.execute_command("ACL", "DELUSER", "bob") == 1
        for b in bobs:
            b.sock.settimeout(5)
            assert b.sock.recv(100) == b""
            b.close()
        # the password through one router is asked on the other
        admin1.config_set("requirepass", "pw")
        with pytest.raises(redis.exceptions.AuthenticationError):
            _client_on(s.port, 0).ping()
        assert _client_on(s.port, 0, password="pw").ping()
        admin0.config_set("requirepass", "")
    finally:
        admin0.close()
        admin1.close()


def test_redis_py_credentials(servers, pair):
    s, _ = servers
    both(pair, *ALICE)
    provider = UsernamePasswordCredentialProvider("alice", "alicepw")
    c = redis.Redis(port=s.port, credential_provider=provider, protocol=3)
    try:
        assert c.set("app:1", "v")
        assert c.get("app:1") == b"v"
        with pytest.raises(redis.exceptions.NoPermissionError):
            c.get("other")
        with pytest.raises(redis.exceptions.NoPermissionError):
            c.flushall()
    finally:
        c.close()
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=s.port, username="alice", password="nope").ping()


def test_subscriber_closed_when_its_channel_is_taken_away(servers, pair):
    s, _ = servers
    both(pair, *ALICE)
    sub = RawClient(s.port)
    try:
        sub.call("AUTH", "alice", "alicepw")
        sub.call("SUBSCRIBE", "news.1")
        pair.check("ACL", "SETUSER", "alice", "resetchannels", "&other")
        sub.sock.settimeout(5)
        assert sub.sock.recv(100) == b""  # closed by the server
    finally:
        sub.close()


def test_aclfile_and_users_at_start(tmp_path):
    aclfile = tmp_path / "users.acl"
    aclfile.write_text("user default on nopass ~* &* +@all\nuser carol on >carolpw ~c:* +@all\n")
    s = Shardis(str(tmp_path / "d1"), shards=1, aclfile=str(aclfile)).start()
    try:
        c = redis.Redis(port=s.port, username="carol", password="carolpw")
        assert c.set("c:1", "x")
        admin = redis.Redis(port=s.port)
        admin.execute_command("ACL", "SETUSER", "dave", "on", ">d", "~*", "+get")
        assert admin.execute_command("ACL", "SAVE") == b"OK"
        text = aclfile.read_text()
        assert "user dave on #" in text and "user carol on #" in text
        aclfile.write_text("user default on nopass ~* &* +@all\nuser erin on >e ~* +@all\n")
        assert admin.execute_command("ACL", "LOAD") == b"OK"
        assert sorted(admin.execute_command("ACL", "USERS")) == [b"default", b"erin"]
        aclfile.write_text("user default on nopass ~* &* +@all\nuser frank badrule\n")
        with pytest.raises(redis.exceptions.ResponseError):
            admin.execute_command("ACL", "LOAD")
        assert sorted(admin.execute_command("ACL", "USERS")) == [b"default", b"erin"]
        admin.close()
        c.close()
    finally:
        s.stop()
    s = Shardis(str(tmp_path / "d2"), shards=1, users=["gina on >g ~g:* +@all"],
                requirepass="top").start(wait=False)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                c = redis.Redis(port=s.port, username="gina", password="g")
                assert c.set("g:1", "x")
                break
            except redis.exceptions.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis(port=s.port).ping()
        assert redis.Redis(port=s.port, password="top").ping()
        c.close()
    finally:
        s.stop()


def test_scripts_run_with_their_users_rules(pair, servers):
    both(pair, *ALICE)
    both(pair, "ACL", "SETUSER", "alice", "resetchannels", "&news.*")
    p = fresh(pair, servers)
    try:
        p.check("AUTH", "alice", "alicepw")
        for args in (("EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "app:1"),
                     ("EVAL", "return redis.call('get', KEYS[1])", "1", "other"),
                     ("EVAL", "return redis.call('flushall')", "0"),
                     ("EVAL", "return redis.pcall('get', 'secret')", "0"),
                     ("EVAL", "return redis.call('publish', 'sports', 'x')", "0"),
                     ("EVAL", "return redis.call('publish', 'news.1', 'x')", "0"),
                     ("EVAL", "return redis.acl_check_cmd('get', 'app:1')", "0"),
                     ("EVAL", "return redis.acl_check_cmd('get', 'other')", "0"),
                     ("EVAL", "return redis.acl_check_cmd('flushall')", "0"),
                     ("EVAL", "return redis.acl_check_cmd('nosuch')", "0"),
                     # keys on two shards: through the coordinator
                     ("EVAL", "redis.call('set', KEYS[1], 'a'); return redis.call('set', KEYS[2], 'b')",
                      "2", "app:{a}", "app:{b}"),
                     ("EVAL", "redis.call('set', KEYS[1], 'a'); return redis.call('get', KEYS[2])",
                      "2", "app:{a}", "x{b}"),
                     ("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "ro:1"),
                     ("EVALSHA", "0000000000000000000000000000000000000000", "0")):
            p.check(*args)
        p.check_pipeline([("MULTI",), ("EVAL", "return redis.call('get', 'other')", "0"),
                          ("EVAL", "return redis.call('set', 'app:m', '1')", "0"), ("EXEC",)])
        # a user without EVAL
        both(pair, "ACL", "SETUSER", "alice", "-eval")
        p.check("EVAL", "return 1", "0")
    finally:
        p.close()


def test_client_kill_user_and_list(pair, servers):
    both(pair, *ALICE)
    p = fresh(pair, servers)
    try:
        p.check("AUTH", "alice", "alicepw")
        for c in (p.s, p.r):
            assert b" user=alice " in c.call("CLIENT", "INFO")
        pair.check("CLIENT", "KILL", "USER", "nobody")
        pair.check("CLIENT", "KILL", "USER", "alice")
        for c in (p.s, p.r):
            c.sock.settimeout(5)
            assert c.sock.recv(100) == b""
    finally:
        p.close()
