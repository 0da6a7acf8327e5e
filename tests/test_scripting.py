"""Scripting against a real redis-server 7.0: EVAL, EVALSHA, the _RO forms, SCRIPT,
FUNCTION and FCALL, the sandbox, the conversions both ways in RESP2 and RESP3, and
Redis' error texts, every reply compared byte for byte. Keys are spread over the
3 shards, so scripts run on one shard, through the coordinator (keys on several
shards), and after reaching an undeclared key of another shard."""

from __future__ import annotations

import pytest

E = "EVAL"
SHA_42 = "1fa00e76656cc152ad327c13fe365858fd7be306"  # return 42

CASES = {
    "numkeys": [
        (E, "return 1", "-1"), (E, "return 1", "5", "a"), (E, "return 1", "abc"), (E, "return 1", "1"),
        (E, "return KEYS[1]..ARGV[1]", "1", "a", "b"), (E, "return #ARGV", "0", "a", "b"),
        (E, "return KEYS", "0"), (E, "KEYS[1] = 'x'; return KEYS[1]", "0"), ("EVAL",), ("EVAL", "x"),
    ],
    "returns": [
        (E, "return 3.99", "0"), (E, "return -3.99", "0"), (E, "return true", "0"), (E, "return false", "0"),
        (E, "return nil", "0"), (E, "return {true,false,1}", "0"), (E, "return {double=3.5}", "0"),
        (E, "return {1,2,3.7,'x',nil,5}", "0"), (E, "return {1,2,{3,'x',{}}}", "0"), (E, "return 1e100", "0"),
        (E, "return 9007199254740993", "0"), (E, "return -0.5", "0"), (E, "return {1,{err='inner'},3}", "0"),
        (E, "return {ok='x', err='y'}", "0"), (E, "return {err='My err'}", "0"), (E, "return {err='-My err'}", "0"),
        (E, "return {ok='FINE'}", "0"), (E, "return {a=1}", "0"), (E, "return 'str'", "0"),
        (E, "return function() end", "0"), (E, "return {map={a=1}}", "0"), (E, "return {set={a=true}}", "0"),
        (E, "return {big_number='123456789012345678901234567890'}", "0"), (E, "return {double=1e300}", "0"),
        (E, "return {double='3.5'}", "0"), (E, "local t = {}; t[1]=1; t[3]=3; return t", "0"),
        (E, "return {'a', {ok='x'}}", "0"), (E, "return tostring(3.0)", "0"),
    ],
    "redis_lib": [
        (E, "return redis.error_reply('bad')", "0"), (E, "return redis.error_reply('-ERR bad')", "0"),
        (E, "return redis.status_reply('FINE')", "0"), (E, "return redis.status_reply()", "0"),
        (E, "return redis.error_reply()", "0"), (E, "return redis.error_reply(5)", "0"),
        (E, "return redis.sha1hex('')", "0"), (E, "return redis.sha1hex(1)", "0"), (E, "return redis.sha1hex()", "0"),
        (E, "return redis.REDIS_VERSION_NUM", "0"),
        (E, "return {redis.REPL_ALL, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_NONE,"
            " redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}", "0"),
        (E, "return redis.setresp(3)", "0"), (E, "redis.setresp(4)", "0"), (E, "return redis.setresp()", "0"),
        (E, "return redis.set_repl(9)", "0"), (E, "return redis.set_repl()", "0"),
        (E, "return redis.set_repl(redis.REPL_ALL)", "0"), (E, "return redis.log(1,'x')", "0"),
        (E, "return redis.log(99,'x')", "0"), (E, "return redis.log()", "0"),
        (E, "return redis.log(redis.LOG_WARNING, 'a', 'b', 3)", "0"), (E, "return redis.breakpoint", "0"),
        (E, "return redis.acl_check_cmd('get','x')", "0"), (E, "return redis.replicate_commands()", "0"),
        (E, "return redis.register_function('f', function() end)", "0"),
    ],
    "errors": [
        (E, "return x", "0"), (E, "x=1", "0"), (E, "error('boom')", "0"), (E, "error({err='X y'})", "0"),
        (E, "syntax error here", "0"), (E, "\nlocal a = 1\nerror('deep')", "0"),
        (E, "local function f() error('in f') end\nf()", "0"), (E, "error('boom', 0)", "0"), (E, "error(42)", "0"),
        (E, "error(nil)", "0"), (E, "error({err='ERR custom'})", "0"), (E, "error({err='custom no code'})", "0"),
        (E, "return _G.x", "0"), (E, "_G.x = 1", "0"), (E, "rawset(_G, 'x', 1) return 1", "0"),
        (E, "function f() return 1 end; return f()", "0"), (E, "string.x = 1", "0"),
        (E, "local s = 'abc'; getmetatable(s).__index = nil", "0"), (E, "math.random = nil", "0"),
        (E, "return type(os)", "0"), (E, "return print", "0"), (E, "return type(require)", "0"),
        (E, "return type(debug)", "0"), (E, "return pcall(error)", "0"), (E, "return {pcall(redis.call)}", "0"),
        (E, "return select('#', pcall(redis.call))", "0"),
    ],
    "calls": [
        ("SET", "k", "v"), (E, "return redis.call('get','k')", "0"), (E, "return redis.call('get',KEYS[1])", "1", "k"),
        (E, "return redis.call('nosuch')", "0"), (E, "return redis.call('get')", "0"),
        (E, "return redis.pcall('get')", "0"), (E, "return redis.call('incr','k','b')", "0"),
        (E, "return redis.call('lpush','k','x')", "0"), (E, "return redis.pcall('lpush','k','x')", "0"),
        (E, "local t = redis.pcall('nosuchcmd'); return t", "0"),
        (E, "local t = redis.pcall('nosuchcmd'); return type(t)..tostring(t.err)", "0"),
        (E, "local ok, e = pcall(redis.call, 'incr', 'k'); return e", "0"),
        (E, "local ok, e = pcall(redis.call, 'incr', 'k'); return type(e)", "0"),
        (E, "return redis.call(1)", "0"), (E, "return redis.call('set','a',1.5)", "0"),
        (E, "return redis.call('get','a')", "0"), (E, "return redis.call('set','a',1e20)", "0"),
        (E, "return redis.call('get','a')", "0"), (E, "return redis.call('set','a',0.1)", "0"),
        (E, "return redis.call('get','a')", "0"), (E, "return redis.call('set','a',123456789012)", "0"),
        (E, "return redis.call('set','a',true)", "0"), (E, "return redis.call('set', {})", "0"),
        (E, "return redis.call()", "0"), (E, "return redis.call('ping')", "0"),
        (E, "return redis.call('hgetall','nokey')", "0"), (E, "return redis.call('get', 1.5)", "0"),
    ],
    "not_allowed": [
        (E, "return redis.call('blpop','l',0)", "1", "l"), (E, "return redis.call('multi')", "0"),
        (E, "return redis.call('eval','return 1',0)", "0"), (E, "return redis.call('script','load','return 1')", "0"),
        (E, "return redis.call('subscribe','x')", "0"), (E, "return redis.call('hello','2')", "0"),
        (E, "return redis.call('client','list')", "0"), (E, "return redis.call('config','get','maxmemory')", "0"),
        (E, "return redis.call('object')", "0"), (E, "return redis.call('object','bad','k')", "0"),
    ],
    "object": [
        ("SET", "k1", "v"), ("RPUSH", "k2", "a"), (E, "return redis.call('object','encoding','k1')", "0"),
        (E, "return redis.call('object','ENCODING',KEYS[1])", "1", "k2"),
        (E, "return redis.call('object','refcount','k1')", "0"), (E, "return redis.call('object','freq','k1')", "0"),
        (E, "return redis.call('object','encoding','nokey')", "0"),
        (E, "return redis.call('object','encoding','k1','x')", "0"),
    ],
    "readonly": [
        ("EVAL_RO", "return redis.call('set','k','v')", "1", "k"), ("EVAL_RO", "return redis.call('get','k')", "1", "k"),
        (E, "#!lua flags=no-writes\nreturn redis.call('set','k','v')", "1", "k"),
        (E, "#!lua flags=no-writes\nreturn redis.call('get','k')", "1", "k"),
        ("EVAL_RO", "#!lua\nreturn 1", "0"), ("EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"),
        (E, "#!lua flags=bad\nreturn 1", "0"), (E, "#!lua\nerror('l2')", "0"), (E, "#!luax\nreturn 1", "0"),
        (E, "#!lua foo=bar\nreturn 1", "0"), (E, "#!lua flags=no-writes,allow-oom\nreturn 1", "0"),
    ],
    "libraries": [
        (E, "local t = {} for k in pairs(_G) do t[#t+1]=k end table.sort(t) return table.concat(t,' ')", "0"),
        (E, "local t = {} for k in pairs(redis) do t[#t+1]=k end table.sort(t) return table.concat(t,' ')", "0"),
        (E, "local t = {} for k in pairs(math) do t[#t+1]=k end table.sort(t) return table.concat(t,' ')", "0"),
        (E, "local t = {} for k in pairs(string) do t[#t+1]=k end table.sort(t) return table.concat(t,' ')", "0"),
        (E, "return cjson.encode({1,2,{a=3}})", "0"), (E, "return cmsgpack.unpack(cmsgpack.pack({1,2,3}))", "0"),
        (E, "return bit.band(5,3)", "0"), (E, "return struct.pack('>I',1)", "0"),
        (E, "return cjson.decode('[1,2,null]')", "0"), (E, "cjson.encode = nil", "0"),
        (E, "return type(cjson.null)", "0"), (E, "return cjson.null", "0"),
        (E, "math.randomseed(7); return {math.random(100), math.random(1, 6), tostring(math.random())}", "0"),
        (E, "return loadstring('return 1')()", "0"), (E, "return loadstring('return x')()", "0"),
        (E, "return type(python)", "0"), (E, "return string.format('%d', 3)", "0"), (E, "return tostring(0/0)", "0"),
        (E, "local x = 0 for i=1,1e6 do x = x + i end return x", "0"),
    ],
    "select": [
        (E, "return redis.call('select','2')", "0"), (E, "redis.call('select','2'); return redis.call('set','q','1')", "0"),
        ("GET", "q"), ("SELECT", "2"), ("GET", "q"), ("SELECT", "0"), (E, "return redis.call('select','99')", "0"),
    ],
    "evalsha": [
        ("SCRIPT", "LOAD", "return 42"), ("EVALSHA", SHA_42, "0"), ("EVALSHA", SHA_42.upper(), "0"),
        ("EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"), ("EVALSHA", "short", "0"),
        ("EVALSHA_RO", SHA_42, "0"), ("SCRIPT", "EXISTS", SHA_42, "ffff", SHA_42.upper()),
        ("SCRIPT", "LOAD", "syntax error"), ("SCRIPT", "FLUSH"), ("EVALSHA", SHA_42, "0"),
        ("SCRIPT", "EXISTS", SHA_42), (E, "return 42", "0"), ("SCRIPT", "EXISTS", SHA_42), ("EVALSHA", SHA_42, "0"),
        ("SCRIPT", "FLUSH", "ASYNC"), ("SCRIPT", "FLUSH", "SYNC"), ("SCRIPT", "FLUSH", "BAD"),
        ("SCRIPT", "KILL"), ("SCRIPT", "HELP"), ("SCRIPT", "NOSUCH"), ("SCRIPT", "EXISTS"), ("SCRIPT", "LOAD"),
    ],
    "across_shards": [
        # k1..k9 lie on every shard: declared keys over shards run in the coordinator,
        # undeclared keys on another shard move the script there.
        (E, "return redis.call('mset','k1','1','k2','2','k3','3','k4','4','k5','5')", "0"),
        (E, "return redis.call('mget','k1','k2','k3','k4','k5')", "0"),
        (E, "return {redis.call('incr',KEYS[1]), redis.call('incr',KEYS[2]), redis.call('incr',KEYS[3])}",
         "3", "k1", "k2", "k3"),
        (E, "return {redis.call('get','k1'), redis.call('get','k6'), redis.call('set','k7','x')}", "1", "k1"),
        (E, "return redis.call('get','k7')", "1", "k8"), (E, "return redis.call('dbsize')", "0"),
        (E, "return redis.call('exists','k1','k2','k3','k9')", "0"), (E, "return redis.call('del','k1','k2')", "0"),
        (E, "return redis.call('rename','k3','k9')", "0"), (E, "return redis.call('get','k9')", "0"),
        (E, "redis.call('set','k4','a'); return redis.call('incr','k5') .. redis.call('incr', 'k4')", "0"),
        ("MGET", "k3", "k4", "k5", "k9"),
        (E, "return redis.pcall('incr','k4')", "2", "k4", "k5"),
        ("EVAL_RO", "return redis.call('get','k6')", "1", "k5"),
        ("EVAL_RO", "return redis.call('set','k6', 1)", "1", "k5"),
    ],
}

RESP3_CASES = {
    "conversions": [
        ("HSET", "h", "a", "1"), ("SADD", "s", "x"), ("ZADD", "z", "1.5", "m"),
        (E, "return redis.call('hgetall','h')", "0"), (E, "redis.setresp(3); return redis.call('hgetall','h')", "0"),
        (E, "redis.setresp(3); return redis.call('smembers','s')", "0"),
        (E, "redis.setresp(3); return redis.call('smembers','nos')", "0"),
        (E, "redis.setresp(3); local r = redis.call('smembers','s'); return tostring(r.set.x)", "0"),
        (E, "redis.setresp(3); return redis.call('get','nokey')", "0"),
        (E, "redis.setresp(3); return type(redis.call('get','nokey'))", "0"),
        (E, "redis.setresp(3); return redis.call('zscore','z','m')", "0"),
        (E, "redis.setresp(3); local r = redis.call('zscore','z','m'); return type(r)..tostring(r.double)", "0"),
        (E, "return redis.call('zscore','z','m')", "0"),
        (E, "redis.setresp(3); return redis.call('exists','z') == 1", "0"),
        (E, "return {double=3.5}", "0"), (E, "return {map={a=1}}", "0"), (E, "return {set={a=true}}", "0"),
        (E, "return {big_number='123456789012345678901234567890'}", "0"),
        (E, "return true", "0"), (E, "return false", "0"), (E, "return nil", "0"), (E, "return {1,nil,3}", "0"),
        (E, "redis.setresp(3); return true", "0"), (E, "redis.setresp(3); return false", "0"),
        (E, "redis.setresp(3); return redis.call('zrange','z',0,-1,'withscores')", "0"),
        (E, "return redis.call('zrange','z',0,-1,'withscores')", "0"),
    ],
}

FUNCTION_CASES = {
    "load_and_call": [
        ("FUNCTION", "FLUSH"),
        ("FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('myf', function(keys, args) "
                             "return redis.call('get', keys[1]) end)"),
        ("SET", "a", "1"), ("FCALL", "myf", "1", "a"), ("FCALL", "myf", "1", "b"), ("FCALL_RO", "myf", "1", "a"),
        ("FCALL", "nosuch", "0"), ("FCALL", "myf", "x"), ("FCALL", "myf", "2", "a"),
        ("FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('myf2', function() return 1 end)"),
        ("FUNCTION", "LOAD", "REPLACE", "#!lua name=mylib\nredis.register_function('myf2', function() return 2 end)"),
        ("FCALL", "myf2", "0"), ("FCALL", "myf", "0"),
        ("FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('myf2', function() return 3 end)"),
        ("FUNCTION", "LOAD", "#!lua name=ro\nredis.register_function{function_name='rof', callback=function(k) "
                             "return redis.call('set', k[1], 'x') end, flags={'no-writes'}}"),
        ("FCALL_RO", "rof", "1", "a"), ("FCALL", "rof", "1", "a"),
        ("FUNCTION", "LIST"), ("FUNCTION", "LIST", "WITHCODE"), ("FUNCTION", "LIST", "LIBRARYNAME", "my*"),
        ("FUNCTION", "LIST", "LIBRARYNAME"), ("FUNCTION", "LIST", "BAD"),
        ("FUNCTION", "DELETE", "mylib"), ("FUNCTION", "DELETE", "mylib"), ("FCALL", "myf2", "0"),
        ("FUNCTION", "STATS"), ("FUNCTION", "FLUSH", "BAD"), ("FUNCTION", "FLUSH", "ASYNC"), ("FUNCTION", "LIST"),
        ("FUNCTION", "KILL"), ("FUNCTION", "HELP"),
    ],
    "load_errors": [
        ("FUNCTION", "LOAD", "return 1"), ("FUNCTION", "LOAD", "#!lua\nreturn 1"),
        ("FUNCTION", "LOAD", "#!lua name=bad-name\nreturn 1"), ("FUNCTION", "LOAD", "#!nolua name=a\nreturn 1"),
        ("FUNCTION", "LOAD", "#!lua name=a foo=bar\nreturn 1"), ("FUNCTION", "LOAD", "#!lua name=a\nreturn 1"),
        ("FUNCTION", "LOAD", "#!lua name=a\nsyntax error"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('f', 1)"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('f', function() end, 3)"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function{function_name='f', callback=function() end, flags={'bad'}}"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('f', function() end)\n"
                             "redis.register_function('f', function() end)"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.call('ping')"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('b-ad', function() end)"),
        ("FUNCTION", "LIST"),
    ],
}


def run_case(p, cmds):
    for args in cmds:
        if args in (("FUNCTION", "LIST"), ("FUNCTION", "LIST", "WITHCODE")):
            p.check_unordered(*args)  # (Redis lists libraries in its hash table's order)
        else:
            p.check(*args)


@pytest.mark.parametrize("name", sorted(CASES))
def test_eval(pair, name):
    pair.check("SCRIPT", "FLUSH")
    run_case(pair, CASES[name])


@pytest.mark.parametrize("name", sorted(CASES))
def test_eval_resp3(pair3, name):
    pair3.check("SCRIPT", "FLUSH")
    run_case(pair3, CASES[name])


@pytest.mark.parametrize("name", sorted(RESP3_CASES))
def test_conversions_both_protocols(pair, pair3, name):
    run_case(pair, RESP3_CASES[name])
    run_case(pair3, RESP3_CASES[name])


@pytest.mark.parametrize("name", sorted(FUNCTION_CASES))
def test_functions(pair, name):
    pair.check("FUNCTION", "FLUSH")
    run_case(pair, FUNCTION_CASES[name])
    pair.check("FUNCTION", "FLUSH")


def test_evalsha_pipelined_after_eval(pair):
    """EVAL puts the script in the cache: an EVALSHA right behind it (same pipeline) runs it."""
    pair.check("SCRIPT", "FLUSH")
    pair.check_pipeline([(E, "return 7", "0"), ("EVALSHA", "b2b3b2d1b4ef4e2bb6b4b2c1a4bb5e1d8c9b66f1", "0"),
                         ("SET", "k1", "1"), (E, "return redis.call('incr','k1')", "0"), ("GET", "k1"),
                         (E, "return redis.call('incr','k2')", "1", "k1"), ("GET", "k2"), ("GET", "k1")])


def test_getkeys(pair):
    pair.check("COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "c")
    pair.check("COMMAND", "GETKEYS", "FCALL", "f", "1", "a", "b")
    pair.check("COMMAND", "GETKEYS", "EVAL", "return 1", "0")
    pair.check("COMMAND", "GETKEYS", "EVAL", "return 1", "5", "a")


def test_scripts_in_multi(pair):
    pair.check("SCRIPT", "FLUSH")
    pair.check("SCRIPT", "LOAD", "return 42")
    for cmds in (
        [("MULTI",), (E, "return redis.call('set','k1','a')", "1", "k1"), ("EVALSHA", SHA_42, "0"),
         (E, "return redis.call('get','k2')", "0"), (E, "return {redis.call('incr','k3'), redis.call('incr','k4')}",
                                                   "2", "k3", "k4"), ("EXEC",)],
        [("MULTI",), ("EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"), ("SET", "k1", "b"), ("EXEC",),
         ("GET", "k1")],
        [("MULTI",), (E, "return 1", "x"), (E, "return 1", "0"), ("EXEC",)],
        [("MULTI",), (E, "error('x')", "0"), ("EXEC",)],
    ):
        for args in cmds:
            pair.check(*args)


def test_watch_sees_script_writes(pair):
    for key in ("k1", "k5"):
        pair.check("SET", key, "0")
        pair.check("WATCH", key)
        pair.check(E, "return redis.call('incr', KEYS[1])", "1", key)
        pair.check("MULTI")
        pair.check("GET", key)
        pair.check("EXEC")
        pair.check("WATCH", key)
        pair.check(E, "return redis.call('incr', 'k9')", "0")  # (another key, maybe another shard)
        pair.check("MULTI")
        pair.check("GET", key)
        pair.check("EXEC")


def test_keyspace_events_from_scripts(shardis_server, redis_server):
    import redis as redis_py
    got = {}
    for name, port in (("shardis", shardis_server.port), ("redis", redis_server.port)):
        c = redis_py.Redis(port=port)
        c.config_set("notify-keyspace-events", "KEA")
        p = c.pubsub()
        p.psubscribe("__keyevent@0__:*")
        p.get_message(timeout=1)
        c.eval("redis.call('set', KEYS[1], '1'); redis.call('incr', KEYS[1]); redis.call('del', KEYS[1])",
               1, "evk")
        c.eval("redis.call('lpush', 'evl', 'a'); redis.call('expire', 'evl', 100)", 0)
        events = []
        deadline = __import__("time").monotonic() + 3
        while len(events) < 5 and __import__("time").monotonic() < deadline:
            m = p.get_message(timeout=0.5)
            if m and m["type"] == "pmessage":
                events.append((m["channel"], m["data"]))
        got[name] = events
        c.config_set("notify-keyspace-events", "")
        p.close()
        c.close()
    assert got["shardis"] == got["redis"]


def test_busy_and_script_kill(shardis_server, redis_server):
    """A script past busy-reply-threshold: other clients of its shard get BUSY, SCRIPT KILL
    stops it unless it wrote (UNKILLABLE), FUNCTION KILL refuses a script and SCRIPT KILL
    a function; each reply as Redis gives it. (Clients of other shards are served.)"""
    import time
    from tests.helpers import RawClient, encode_command
    out = {}
    for name, port in (("shardis", shardis_server.port), ("redis", redis_server.port)):
        a, b = RawClient(port), RawClient(port)
        got = [b.call("CONFIG", "SET", "busy-reply-threshold", "200"), b.call("SET", "busyk", "1")]
        got.append(b.call("FUNCTION", "LOAD", "REPLACE",
                          "#!lua name=spinlib\nredis.register_function('spin', function() while true do end end)"))
        for start, kills in (
            ([E, "local i = 0 while true do i = i + 1 end", "1", "busyk"], [("FUNCTION", "KILL"), ("SCRIPT", "KILL")]),
            (["FCALL", "spin", "1", "busyk"], [("SCRIPT", "KILL"), ("FUNCTION", "KILL")]),
        ):
            a.send_raw(encode_command(start))
            time.sleep(0.6)
            got.append(b.call("GET", "busyk"))
            for k in kills:
                got.append(b.call(*k))
            got.append(a.read_reply())
        got.append(b.call("SCRIPT", "KILL"))
        a.send_raw(encode_command([E, "redis.call('set', KEYS[1], '2') local t = redis.call('time')[1] + 0 "
                                      "while redis.call('time')[1] - t < 2 do end return 1", "1", "busyk"]))
        time.sleep(0.6)
        got.append(b.call("SCRIPT", "KILL"))
        got.append(a.read_reply())
        got.append(b.call("GET", "busyk"))
        got.append(b.call("CONFIG", "SET", "busy-reply-threshold", "5000"))
        got.append(b.call("FUNCTION", "DELETE", "spinlib"))
        out[name] = got
        a.close()
        b.close()
    assert out["shardis"] == out["redis"]


def test_script_kill_reaches_the_coordinator(shardis_server):
    """A script over several shards runs in the coordinator; past busy-reply-threshold
    SCRIPT KILL stops it there, and the shards it held serve again."""
    import time
    from tests.helpers import RawClient, encode_command
    port = shardis_server.port
    a, b = RawClient(port), RawClient(port)
    assert b.call("CONFIG", "SET", "busy-reply-threshold", "200") == b"+OK\r\n"
    a.send_raw(encode_command([E, "redis.call('get', KEYS[1]) redis.call('get', KEYS[2]) while true do end",
                               "2", "k1", "k2"]))
    time.sleep(0.6)
    busy = b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    assert b.call("FUNCTION", "KILL") == busy
    assert b.call("MSET", "k1", "x", "k2", "y") == busy  # (the coordinator's other clients)
    assert b.call("SCRIPT", "KILL") == b"+OK\r\n"
    assert a.read_reply().startswith(b"-ERR Script killed by user with SCRIPT KILL... script: ")
    assert b.call("SET", "k1", "after") == b"+OK\r\n"
    assert b.call("SCRIPT", "KILL") == b"-NOTBUSY No scripts in execution right now.\r\n"
    assert b.call("CONFIG", "SET", "busy-reply-threshold", "5000") == b"+OK\r\n"


def test_function_dump_restore_with_redis(pair):
    """FUNCTION DUMP's payload goes both ways: shardis' into redis-server, Redis' (LZF
    compressed) into shardis; RESTORE's policies and errors as Redis gives them."""
    libs = ["#!lua name=lib_a\nredis.register_function('fa', function() return 'a' end)",
            "#!lua name=lib_b\nredis.register_function{function_name='fb', callback=function(k) "
            "return redis.call('get', k[1]) end, flags={'no-writes'}, description='reads ' .. 'a key'}"]
    pair.check("FUNCTION", "FLUSH")
    for code in libs:
        pair.check("FUNCTION", "LOAD", code)
    mine = parse_dump(pair.s.call("FUNCTION", "DUMP"))
    theirs = parse_dump(pair.r.call("FUNCTION", "DUMP"))
    for payload in (mine, theirs):
        pair.check("FUNCTION", "FLUSH")
        pair.check("FUNCTION", "RESTORE", payload)
        pair.check_unordered("FUNCTION", "LIST", "WITHCODE")
        pair.check("FCALL", "fa", "0")
        for policy in ((), ("APPEND",)):
            # (both libraries collide: Redis names the one its hash table gives last)
            got, want = pair.both("FUNCTION", "RESTORE", payload, *policy)
            assert got.startswith(b"-ERR Library lib_") and got.endswith(b" already exists\r\n"), got
            assert want.startswith(b"-ERR Library lib_") and want.endswith(b" already exists\r\n"), want
        pair.check("FUNCTION", "RESTORE", payload, "REPLACE")
        pair.check("FUNCTION", "RESTORE", payload, "FLUSH")
        pair.check("FUNCTION", "RESTORE", payload, "BAD")
        pair.check("FUNCTION", "RESTORE", payload[:-1] + bytes((payload[-1] ^ 1,)))
        pair.check("FUNCTION", "RESTORE", b"x")
        pair.check("FUNCTION", "DELETE", "lib_a")
        pair.check("FUNCTION", "RESTORE", payload)
    pair.check("FUNCTION", "FLUSH")
    pair.check("FUNCTION", "DUMP")


def parse_dump(reply: bytes) -> bytes:
    head = reply.index(b"\r\n")
    return reply[head + 2:head + 2 + int(reply[1:head])]


def test_stray_script_in_a_batch_with_watch(pair):
    """A script that reaches another shard's key rolls its batch back and runs it again;
    a WATCH in the same batch still counts once (an EXEC after it sees the write)."""
    pair.check("SET", "k1", "0")
    pair.check_pipeline([("WATCH", "k1"), (E, "redis.call('incr', 'k1') return redis.call('incr', 'k2')", "1", "k1"),
                         ("MULTI",), ("GET", "k1"), ("EXEC",), ("WATCH", "k1"), ("MULTI",), ("GET", "k1"),
                         ("EXEC",), ("UNWATCH",)])


def test_scan_and_randomkey_in_scripts(pair):
    """A script's SCAN walks every shard (the script moves to the coordinator), its keys
    as the router's SCAN gives them; RANDOMKEY returns a key."""
    keys = [f"sk{i}" for i in range(30)]
    pair.check("MSET", *[x for k in keys for x in (k, "v")])
    script = ("local cursor, out = '0', {} repeat local r = redis.call('scan', cursor, 'COUNT', 7) "
              "cursor = r[1] for _, k in ipairs(r[2]) do out[#out+1] = k end until cursor == '0' "
              "table.sort(out) return out")
    pair.check(E, script, "0")
    pair.check(E, "return redis.call('scan', '0', 'MATCH', 'nomatch*', 'COUNT', '100000')[2]", "0")
    pair.check(E, "return redis.call('scan', 'x')", "0")
    pair.check(E, "return type(redis.call('randomkey'))", "0")
    pair.check("FLUSHALL")
    pair.check(E, "return redis.call('randomkey')", "0")


def test_publish_from_scripts(shardis_server, redis_server):
    """PUBLISH and SPUBLISH from a script (on one shard, and in the coordinator): the
    receivers counted as Redis counts them, the messages delivered."""
    import redis as redis_py
    out = {}
    for name, port in (("shardis", shardis_server.port), ("redis", redis_server.port)):
        c = redis_py.Redis(port=port)
        p = c.pubsub()
        p.subscribe("chan")
        p.psubscribe("ch*")
        for _ in range(2):
            p.get_message(timeout=1)
        got = [c.eval("return redis.call('publish', 'chan', 'one')", 0),
               c.eval("return redis.call('publish', ARGV[1], 'two')", 2, "k1", "k2", "chan"),
               c.eval("return redis.call('publish', 'nobody', 'x')", 0),
               c.eval("return redis.call('spublish', 'chan', 'three')", 1, "k1")]
        msgs = []
        deadline = __import__("time").monotonic() + 3
        while len(msgs) < 4 and __import__("time").monotonic() < deadline:
            m = p.get_message(timeout=0.5)
            if m and m["type"] in ("message", "pmessage"):
                msgs.append((m["type"], m["channel"], m["data"]))
        out[name] = (got, sorted(msgs))
        p.close()
        c.close()
    assert out["shardis"] == out["redis"]
