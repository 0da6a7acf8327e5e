"""The spine end to end: a real cluster answers like redis-server."""


def test_ping_set_get(pair):
    pair.check("PING")
    pair.check("SET", "a", "1")
    pair.check("GET", "a")
    pair.check("GET", "missing")
    pair.check("NOSUCHCOMMAND", "x", "y")
    pair.check("GET")


def test_redis_py(r):
    assert r.ping()
    r.set("k", "v")
    assert r.get("k") == b"v"
