"""Geo commands against a real redis-server 7.0: every reply compared byte for byte."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from shardis.shardd import geo
from tests.helpers import compare_keyspace_events

SICILY = [("GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")]

CASES = {
    "geoadd": [
        ("GEOADD", "g", "13.361389", "38.115556", "Palermo"),
        ("GEOADD", "g", "13.361389", "38.115556", "Palermo"),
        ("GEOADD", "g", "CH", "13.4", "38.1", "Palermo", "15", "37", "C"),
        ("GEOADD", "g", "NX", "1", "1", "C"),
        ("GEOADD", "g", "XX", "1", "1", "C", "2", "2", "D"), ("GEOADD", "g", "NX", "XX", "1", "1", "C"),
        ("GEOADD", "g", "xx", "ch", "nx", "1", "1", "C"), ("GEOADD", "g", "1", "1"),
        ("GEOADD", "g", "NX", "1", "1"),
        ("GEOADD", "g", "181", "0", "x"), ("GEOADD", "g", "0", "86", "x"),
        ("GEOADD", "g", "-180", "-85.05112878", "x"),
        ("GEOADD", "g", "180", "85.05112878", "y"), ("GEOADD", "g", "a", "0", "x"),
        ("GEOADD", "g", "0", "b", "x"),
        ("GEOADD", "g", "inf", "0", "x"), ("GEOADD", "g", "1", "1", "ok", "200", "1", "bad"),
        ("GEOADD", "g", "GT", "1", "1", "x"), ("GEOADD", "g", " 1", "1", "x"),
        ("GEOADD", "g", "1e1", "0x1", "x"),
        ("ZRANGE", "g", "0", "-1", "WITHSCORES"), ("GEOADD", "g"), ("GEOADD", "g", "1", "2"),
        ("SET", "s", "x"), ("GEOADD", "s", "1", "1", "m"), ("GEOADD", "s", "1", "1000", "m"),
    ],
    "geodist_hash_pos": SICILY + [
        ("GEODIST", "Sicily", "Palermo", "Catania"), ("GEODIST", "Sicily", "Palermo", "Catania", "km"),
        ("GEODIST", "Sicily", "Palermo", "Catania", "MI"), ("GEODIST", "Sicily", "Palermo", "Catania", "ft"),
        ("GEODIST", "Sicily", "Palermo", "Catania", "m"), ("GEODIST", "Sicily", "Palermo", "Catania", "yd"),
        ("GEODIST", "Sicily", "Palermo", "Catania", "km", "x"), ("GEODIST", "Sicily", "Palermo", "nope"),
        ("GEODIST", "nokey", "a", "b"), ("GEODIST", "nokey", "a", "b", "yd"),
        ("GEODIST", "Sicily", "Palermo", "Palermo"),
        ("GEOHASH", "Sicily", "Palermo", "Catania", "nope"), ("GEOHASH", "nokey", "a"), ("GEOHASH", "Sicily"),
        ("GEOPOS", "Sicily", "Palermo", "Catania", "nope"), ("GEOPOS", "nokey", "a", "b"),
        ("GEOPOS", "Sicily"),
        ("ZADD", "z", "0", "zero", "-1", "neg", "4503599627370496", "big", "1.5", "half", "inf", "inf"),
        ("GEOPOS", "z", "zero", "neg", "big", "half", "inf"),
        ("GEOHASH", "z", "zero", "neg", "big", "half", "inf"),
        ("GEODIST", "z", "zero", "big"), ("SET", "s", "x"), ("GEOPOS", "s", "a"), ("GEOHASH", "s", "a"),
        ("GEODIST", "s", "a", "b"), ("GEODIST", "s", "a", "b", "yd"),
    ],
    "georadius": SICILY + [
        ("GEOADD", "Sicily", "13.583333", "37.316667", "Agrigento"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "ASC"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "DESC", "WITHCOORD"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "2", "DESC"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "ANY"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "ANY"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "0"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "-1"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "x"),
        ("GEORADIUS", "Sicily", "15", "37", "-1", "km"),
        ("GEORADIUS", "Sicily", "15", "37", "x", "km"), ("GEORADIUS", "Sicily", "15", "37", "1", "yd"),
        ("GEORADIUS", "Sicily", "200", "37", "1", "km"), ("GEORADIUS", "Sicily", "15", "37", "1", "km"),
        ("GEORADIUS", "Sicily", "15", "37", "0", "km"),
        ("GEORADIUS", "Sicily", "15", "37", "100", "mi", "FOO"),
        ("GEORADIUS", "Sicily", "15", "37", "100", "mi", "STORE", "{Sicily}d"),
        ("ZRANGE", "{Sicily}d", "0", "-1", "WITHSCORES"),
        ("GEORADIUS", "Sicily", "15", "37", "100", "mi", "STOREDIST", "{Sicily}d"),
        ("ZRANGE", "{Sicily}d", "0", "-1", "WITHSCORES"),
        ("GEORADIUS", "Sicily", "15", "37", "100", "mi", "STORE", "{Sicily}d", "WITHDIST"),
        ("GEORADIUS", "Sicily", "15", "37", "1", "m", "STORE", "{Sicily}d"), ("EXISTS", "{Sicily}d"),
        ("GEORADIUS", "nokey", "15", "37", "1", "m", "STORE", "{nokey}d"),
        ("GEORADIUS", "nokey", "15", "37", "1", "m"),
        ("GEORADIUS", "Sicily", "15", "37", "300", "km", "STORE", "dest1"),
        ("ZRANGE", "dest1", "0", "-1", "WITHSCORES"),
        ("GEORADIUS", "Sicily", "15", "37", "300", "km", "STOREDIST", "dest2", "COUNT", "2"),
        ("ZRANGE", "dest2", "0", "-1", "WITHSCORES"),
        ("GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "WITHDIST"),
        ("GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "x"),
        ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHDIST", "WITHCOORD"),
        ("GEORADIUSBYMEMBER", "Sicily", "nope", "200", "km"),
        ("GEORADIUSBYMEMBER", "nokey", "nope", "x", "yd"),
        ("GEORADIUSBYMEMBER", "nokey", "nope", "x", "yd", "STORE", "{nokey}x"),
        ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "x", "km"),
        ("GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "200", "km", "DESC", "WITHHASH"),
        ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "STOREDIST", "{Sicily}e"),
        ("ZRANGE", "{Sicily}e", "0", "-1", "WITHSCORES"), ("SET", "s", "x"),
        ("GEORADIUS", "s", "1", "1", "1", "m"),
        ("GEORADIUSBYMEMBER", "s", "a", "1", "m"),
    ],
    "geosearch": SICILY + [
        ("GEOADD", "Sicily", "12.758489", "38.788135", "edge1", "17.241510", "38.788135", "edge2"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "WITHCOORD",
         "WITHDIST"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "400", "400", "km", "DESC", "WITHHASH"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "nope", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"),
        ("GEOSEARCH", "Sicily", "BYRADIUS", "1", "km"), ("GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYBOX", "-1", "1", "km"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYBOX", "1", "x", "km"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYBOX", "x", "1", "km"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYBOX", "1", "1", "yd"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "STORE", "x"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "STOREDIST"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "COUNT", "1", "ANY"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ANY"),
        ("GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "nokey", "FROMMEMBER", "x"),
        ("GEOSEARCHSTORE", "{Sicily}d", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km"),
        ("ZRANGE", "{Sicily}d", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "{Sicily}d", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km",
         "STOREDIST"),
        ("ZRANGE", "{Sicily}d", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "{Sicily}d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m"),
        ("EXISTS", "{Sicily}d"),
        ("GEOSEARCHSTORE", "{Sicily}d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m", "WITHDIST"),
        ("GEOSEARCHSTORE", "{Sicily}d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m", "STORE",
         "x"),
        ("GEOSEARCHSTORE", "far", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "500", "km", "STOREDIST",
         "COUNT", "3", "DESC"), ("ZRANGE", "far", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "far", "nokey", "FROMMEMBER", "Palermo", "BYRADIUS", "500", "km"),
        ("EXISTS", "far"),
    ],
    # Replies read by a script, under redis.setresp(2) and (3): coordinates are doubles in
    # RESP3 ({double=...}), distances bulk strings, a missing member's null array false or
    # nil (which ends a Lua array); on one shard and through the coordinator (key "a").
    "scripts": SICILY + [
        ("EVAL", f"{resp}local r = redis.call({call}){across}; return r", "2", "Sicily", "a")
        for resp in ("", "redis.setresp(3); ")
        for across in ("", "; redis.call('set', KEYS[2], 'x')")
        for call in (
            "'geopos', KEYS[1], 'Palermo', 'nope', 'Catania'",
            "'geopos', KEYS[1], 'nope', 'Palermo'", "'geopos', 'nokey', 'Palermo'",
            "'geodist', KEYS[1], 'Palermo', 'Catania', 'km'", "'geodist', KEYS[1], 'Palermo', 'x'",
            "'geohash', KEYS[1], 'Palermo', 'nope'",
            "'geosearch', KEYS[1], 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km', 'ASC', "
            "'WITHCOORD', 'WITHDIST', 'WITHHASH'",
            "'geosearch', KEYS[1], 'FROMMEMBER', 'Palermo', 'BYBOX', '400', '400', 'km', 'WITHCOORD'",
            "'georadius', KEYS[1], '15', '37', '200', 'km', 'WITHCOORD', 'COUNT', '1'",
            "'georadiusbymember_ro', KEYS[1], 'Palermo', '200', 'km', 'WITHDIST', 'WITHCOORD'",
        )
    ] + [
        ("EVAL", "redis.setresp(3); local r = redis.call('geopos', KEYS[1], 'Palermo', 'nope'); "
                 "return {type(r[1][1]), tostring(r[1][1].double), #r, type(r[2])}", "1", "Sicily"),
        ("EVAL", "local r = redis.call('geopos', KEYS[1], 'nope', 'Palermo'); "
                 "return {type(r[1]), type(r[2][1]), r[2][2]}", "1", "Sicily"),
        ("EVAL", "redis.setresp(3); local r = redis.call('geosearch', KEYS[1], 'FROMMEMBER', 'Palermo', "
                 "'BYRADIUS', '1', 'km', 'WITHCOORD', 'WITHDIST'); "
                 "return {type(r[1][2]), type(r[1][3][2]), r[1][3][2].double * 2}", "1", "Sicily"),
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_table(pair, name):
    for args in CASES[name]:
        pair.check(*args)


@pytest.mark.parametrize("name", sorted(CASES))
def test_table_resp3(pair3, name):
    for args in CASES[name]:
        pair3.check(*args)


def _fill_random(pair, key, rng, n, lon_range=(-180, 180), lat_range=(-85, 85)):
    args = []
    for i in range(n):
        args += ["%.6f" % rng.uniform(*lon_range), "%.6f" % rng.uniform(*lat_range), f"m{i}"]
    pair.check("GEOADD", key, *args)


def test_searches_everywhere(pair):
    """Random points and searches: the poles, the antimeridian, huge and tiny radii."""
    rng = random.Random(21)
    _fill_random(pair, "w", rng, 400)
    _fill_random(pair, "n", rng, 200, lat_range=(75, 85.05))
    _fill_random(pair, "s", rng, 200, lat_range=(-85.05, -75))
    _fill_random(pair, "am", rng, 200, lon_range=(170, 180))
    _fill_random(pair, "am", rng, 200, lon_range=(-180, -170))
    centres = [(0, 0), (179.9, 0), (-179.9, 10), (180, 85), (0, 85.05), (-45, -85.05), (10, 80), (-170, -70)]
    for key in ("w", "n", "s", "am"):
        for lon, lat in centres + [(rng.uniform(-180, 180), rng.uniform(-85, 85)) for _ in range(4)]:
            for radius, u in (("10", "km"), ("500", "km"), ("3000", "km"), ("20000", "km"), ("100", "mi")):
                pair.check("GEOSEARCH", key, "FROMLONLAT", str(lon), str(lat), "BYRADIUS", radius, u,
                           "WITHDIST", "WITHCOORD", "WITHHASH")
                pair.check("GEORADIUS", key, str(lon), str(lat), radius, u, "ASC", "WITHDIST")
                pair.check("GEOSEARCH", key, "FROMLONLAT", str(lon), str(lat), "BYBOX", radius, radius, u,
                           "DESC", "WITHDIST")
                pair.check("GEOSEARCH", key, "FROMLONLAT", str(lon), str(lat), "BYRADIUS", radius, u,
                           "COUNT", "3", "ANY")
        pair.check("GEOSEARCH", key, "FROMMEMBER", "m1", "BYRADIUS", "1000", "km", "COUNT", "5")
        pair.check("GEOPOS", key, *[f"m{i}" for i in range(20)])
        pair.check("GEOHASH", key, *[f"m{i}" for i in range(20)])
        pair.check("GEODIST", key, "m1", "m2", "km")


def test_store_across_shards(pair):
    rng = random.Random(5)
    _fill_random(pair, "src", rng, 100, lon_range=(0, 20), lat_range=(30, 50))
    for dest in ("d1", "d2", "d3"):  # on other shards than src, some of them
        pair.check("GEORADIUS", "src", "10", "40", "800", "km", "STORE", dest)
        pair.check("ZRANGE", dest, "0", "-1", "WITHSCORES")
        pair.check("GEOSEARCHSTORE", dest, "src", "FROMLONLAT", "10", "40", "BYBOX", "900", "700", "km",
                   "STOREDIST", "COUNT", "10")
        pair.check("ZRANGE", dest, "0", "-1", "WITHSCORES")
        pair.check("GEORADIUSBYMEMBER", "src", "m3", "300", "km", "STOREDIST", dest)
        pair.check("ZRANGE", dest, "0", "-1", "WITHSCORES")


def test_unit_geohash():
    h = geo.encode(13.361389, 38.115556)
    assert h is not None
    lon, lat = geo.decode_score(float(h))
    assert abs(lon - 13.361389) < 1e-5 and abs(lat - 38.115556) < 1e-5


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.floats(-180, 180), st.floats(-85.05112878, 85.05112878), st.floats(0, 25000),
       st.sampled_from(["m", "km", "mi", "ft"]), st.booleans())
def test_random_searches(pair, lon, lat, radius, unit, box):
    """Searches drawn at random over a fixed world of points (poles and the antimeridian
    included), byte for byte."""
    if pair.check("EXISTS", "world") == b":0\r\n":
        rng = random.Random(8)
        _fill_random(pair, "world", rng, 300)
        _fill_random(pair, "world", rng, 50, lat_range=(84, 85.05))
    r = "%.3f" % (radius if unit in ("km", "mi") else radius * 1000)
    by = ["BYBOX", r, r, unit] if box else ["BYRADIUS", r, unit]
    pair.check("GEOSEARCH", "world", "FROMLONLAT", repr(lon), repr(lat), *by, "WITHDIST", "WITHCOORD")


def test_events(pair, shardis_server, redis_server):
    cmds = [("GEOADD", "{e}g", "1", "1", "a", "2", "2", "b"), ("GEOADD", "{e}g", "1", "1", "a"),
            ("GEORADIUS", "{e}g", "1", "1", "500", "km", "STORE", "{e}d"),
            ("GEOSEARCHSTORE", "{e}d2", "{e}g", "FROMMEMBER", "a", "BYRADIUS", "1", "km"),
            ("GEOSEARCHSTORE", "{e}d2", "{e}g", "FROMMEMBER", "a", "BYRADIUS", "0", "km", "COUNT",
             "1"),
            ("GEORADIUS", "{e}none", "1", "1", "5", "km", "STORE", "{e}d"),
            ("GEOSEARCH", "{e}none", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km")]
    events = compare_keyspace_events(pair, shardis_server.port, redis_server.port, cmds)
    assert len(events) > 8, events


def test_ties_in_count_order(pair):
    """Many members at a few points: COUNT's partial sort (Redis' pqsort) orders the ties
    as Redis does."""
    rng = random.Random(9)
    for _ in range(30):
        pair.check("DEL", "t")
        spots = [(rng.uniform(0.9, 1.1), rng.uniform(0.9, 1.1)) for _ in range(rng.randint(1, 5))]
        args: list[str] = []
        n = rng.randint(1, 120)
        for i in range(n):
            lon, lat = rng.choice(spots)
            args += ["%.6f" % lon, "%.6f" % lat, "m%03d" % i]
        pair.check("GEOADD", "t", *args)
        for order in ("ASC", "DESC"):
            pair.check("GEOSEARCH", "t", "FROMLONLAT", "1", "1", "BYRADIUS", "100", "km",
                       "COUNT", str(rng.randint(1, n)), order, "WITHDIST")
            pair.check("GEORADIUS", "t", "1", "1", "100", "km", order)


def test_exec_across_shards_resp3(pair3):
    """Coordinates keep their RESP3 double type when a transaction runs over shards."""
    pair3.check("GEOADD", "g", "13.361389", "38.115556", "Palermo")
    for args in [("MULTI",), ("GEOPOS", "g", "Palermo", "nope"), ("SET", "k1", "x"), ("SET", "a", "x"),
                 ("GEOSEARCH", "g", "FROMLONLAT", "13", "38", "BYRADIUS", "100", "km", "WITHCOORD"),
                 ("EXEC",)]:
        pair3.check(*args)
