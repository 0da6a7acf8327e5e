"""The command table: every spec has a handler, and every declaration (arity, key
positions, flags, ACL categories) is the one `COMMAND INFO` gives on redis-server 7.0."""

from __future__ import annotations

import inspect

import pytest

from shardis.assembly import build_table
from shardis.commands import ALL, COORD, INTERNAL, SCRIPT, KEYS, LOCAL
from tests.helpers import RawClient, parse_reply

TABLE = build_table()
PUBLIC = [(s.name, s) for s in TABLE.public()] + [
    (f"{s.name}|{sub}", spec) for s in TABLE.public() for sub, spec in s.subcommands.items()]

# Declared on purpose beyond 7.0 (none: CLIENT SETINFO, which redis-py sends on connect,
# is 7.2's, and answers the unknown-subcommand error as 7.0 does).
NOT_IN_7_0: set[str] = set()


def ids(items):
    return [name for name, _ in items]


@pytest.fixture(scope="module")
def redis_info(redis_server):
    """COMMAND INFO of one command (or container|subcommand) on the reference server."""
    c = RawClient(redis_server.port)
    cache: dict[str, list | None] = {}

    def info(name: str):
        if name not in cache:
            cache[name] = parse_reply(c.call("COMMAND", "INFO", name))[0]
        return cache[name]

    yield info
    c.close()


def test_table_is_built_fresh():
    """No registry filled at import: two builds are two tables with the same content."""
    other = build_table()
    assert other is not TABLE and other.by_id is not TABLE.by_id
    assert [s.name for s in other.by_id] == [s.name for s in TABLE.by_id]


def test_every_spec_has_a_handler():
    for spec in TABLE.by_id:
        assert callable(spec.handler), spec.name
        for sub in spec.subcommands.values():
            assert sub.handler is None or callable(sub.handler), (spec.name, sub.name)


@pytest.mark.parametrize("name,spec", [(s.name, s) for s in TABLE.by_id],
                         ids=[s.name for s in TABLE.by_id])
def test_handler_signature_matches_route(name, spec):
    """LOCAL handlers take (conn, args); shard handlers take (ks, db, args)."""
    params = inspect.signature(spec.handler).parameters
    want = 2 if spec.route == LOCAL else 3
    assert len(params) == want, (name, spec.route, list(params))


def test_names_ids_and_lookup():
    names = [s.name for s in TABLE.by_id]
    assert len(names) == len(set(names))
    for i, spec in enumerate(TABLE.by_id):
        assert spec.id == i
        assert spec.name == spec.name.lower()
        assert TABLE.lookup(spec.name.encode()) is spec
        assert TABLE.lookup(spec.name.upper().encode()) is spec
        assert TABLE.lookup(spec.name.title().encode()) is spec
    assert TABLE.lookup(b"no-such-command") is None


def test_routes_and_splits_are_consistent():
    for spec in TABLE.by_id:
        assert spec.route in (LOCAL, KEYS, ALL, COORD, INTERNAL, SCRIPT), spec.name
        if spec.route == ALL:
            assert spec.split is not None, spec.name
        if spec.split is not None and spec.route == KEYS:
            assert spec.first_key > 0, spec.name
        if spec.route in (KEYS, COORD) and spec.name[:2] != "__":
            assert spec.first_key > 0 or spec.last_key == 0, spec.name
        assert spec.write == ("write" in spec.flags)


def test_internal_commands_are_not_public():
    for spec in TABLE.by_id:
        if spec.route == INTERNAL:
            assert spec.name.startswith("__"), spec.name
            assert spec not in TABLE.public()


@pytest.mark.parametrize("name,spec", PUBLIC, ids=ids(PUBLIC))
def test_arity_and_keys_match_redis(name, spec, redis_info):
    info = redis_info(name)
    if name in NOT_IN_7_0:
        assert info is None
        return
    assert info is not None, f"{name}: redis-server 7.0 has no such command"
    _, arity, _, first, last, step = info[:6]
    assert (spec.arity, spec.first_key, spec.last_key, spec.step) == (arity, first, last, step)


@pytest.mark.parametrize("name,spec", PUBLIC, ids=ids(PUBLIC))
def test_flags_and_acl_match_redis(name, spec, redis_info):
    info = redis_info(name)
    if info is None:
        pytest.skip(f"{name} is not in redis-server 7.0")
    flags = sorted(f.decode() for f in info[2])
    acl = sorted(a.decode() for a in info[6])
    assert sorted(spec.flags) == flags
    assert sorted(spec.acl) == acl


def test_spec_keys_follow_positions():
    mset = TABLE.lookup(b"mset")
    assert mset.keys([b"mset", b"a", b"1", b"b", b"2"]) == [b"a", b"b"]
    delete = TABLE.lookup(b"del")
    assert delete.keys([b"del", b"a", b"b", b"c"]) == [b"a", b"b", b"c"]
    assert TABLE.lookup(b"get").keys([b"get", b"k"]) == [b"k"]
    assert TABLE.lookup(b"ping").keys([b"ping"]) == []
    assert TABLE.lookup(b"get").arity_ok(2) and not TABLE.lookup(b"get").arity_ok(3)
    assert delete.arity_ok(2) and delete.arity_ok(9) and not delete.arity_ok(1)
