"""Shared fixtures: one shardis cluster (3 shards) and one redis-server per test session."""

from __future__ import annotations

import pytest
import redis

from tests.helpers import Pair, RedisServer, Shardis


@pytest.fixture(scope="session")
def shardis_server(tmp_path_factory):
    c = Shardis(str(tmp_path_factory.mktemp("shardis") / "data"), shards=3).start()
    yield c
    code = c.stop()
    assert code == 0, "shardis-server did not stop cleanly:\n" + c.log()[-3000:]


@pytest.fixture(scope="session")
def redis_server():
    s = RedisServer().start()
    yield s
    s.stop()


@pytest.fixture
def r(shardis_server):
    """A redis-py client on shardis, database 0 flushed."""
    c = redis.Redis(port=shardis_server.port)
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def ref(redis_server):
    """A redis-py client on the reference redis-server, flushed."""
    c = redis.Redis(port=redis_server.port)
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def pair(shardis_server, redis_server):
    """Raw connections to both servers, both flushed; ``pair.check(*args)`` compares replies."""
    p = Pair(shardis_server.port, redis_server.port)
    p.check("FLUSHALL")
    yield p
    p.close()


@pytest.fixture
def pair3(shardis_server, redis_server):
    """``pair`` after ``HELLO 3`` on both connections: replies compared in RESP3."""
    p = Pair(shardis_server.port, redis_server.port)
    p.both("HELLO", "3")  # (the client ids differ)
    p.check("FLUSHALL")
    yield p
    p.close()


def pytest_configure(config: pytest.Config) -> None:
    # (here rather than in pyproject.toml: scripts/build-check runs a copy of tests/ alone)
    config.addinivalue_line("markers", "source: reads the checkout's source files, not the installed package")
