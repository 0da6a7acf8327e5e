"""A Hypothesis state machine (after fakeredis' test_hypothesis.py): random sequences of
string, key, hash, list, set, sorted set and stream commands go to shardis and to redis-server
7.0, every reply compared byte for byte (RESP2 and RESP3), but for those whose order
Redis leaves unspecified (HGETALL, SMEMBERS ...: compared as multisets) and the random
ones (HRANDFIELD ...: compared by shape). SPOP and the blocking commands are left out.
SORT and SORT_RO draw BY/GET patterns whose keys lie on the source's shard or anywhere
(the coordinator runs those), with the options whose order Redis fully specifies.
Scripts (EVAL) call string, collection and geo commands, half of them under
redis.setresp(3). A rule of its own DUMPs a key on either server and RESTOREs that
payload into both under another key, which is then read back (payloads need not be the
same bytes on both servers: a hash table's order, a stream's nodes; strings, intsets and
sorted sets must be).

Keys come from a small set spread over the 3 shards (with hash tags keeping some
together), values from a small set of integers, floats, empty and binary strings,
so that commands meet each other's keys and types. Each collection type also has
two keys of its own, filled at the start of a run, so that its commands find
something; multi-key collection commands draw their keys from one shard. Relative TTLs are large and
all different (each one drawn is further from its neighbours than a test run is
long), so that EXPIRE's GT/LT and TTL give the same answers on both servers however
long a command takes; TTL itself is compared to within a second.

Commands that shardis does not have yet ("unknown command") are left out at the
start, and printed: the test gets stronger as the families land.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, precondition, rule,
                                 run_state_machine_as_test)

from shardis.slots import key_slot, slot_table
from tests.helpers import Pair, RawClient, _reply_len, parse_reply

SHARD_OF = slot_table(3)
KEYS = [b"a", b"b", b"c", b"k2", b"\xff", b"{t}1", b"{t}2", b""]
VALUES = [b"0", b"1", b"-1", b"42", b"9223372036854775807", b"-9223372036854775808",
          b"3.5", b"-0.25", b"1e3", b"0x10", b"", b"abc", b"\x00\xff\r\n", b" 1", b"01",
          b"inf", b"12345678901234567890"]


class Ttl:
    """A relative TTL placeholder, made a number when sent (see the module docstring)."""

    def __init__(self, unit: str, rising: bool) -> None:
        self.unit = unit      # "s" or "ms"
        self.rising = rising

    def __repr__(self) -> str:
        return f"Ttl({self.unit!r}, {self.rising})"


class At:
    """An absolute expiry time placeholder (EXAT/PXAT), far in the future."""

    def __init__(self, unit: str) -> None:
        self.unit = unit

    def __repr__(self) -> str:
        return f"At({self.unit!r})"


keys = st.sampled_from(KEYS)
values = st.sampled_from(VALUES)
some_keys = st.lists(keys, min_size=1, max_size=4)


def mostly(good: list, bad: list, n: int = 8):
    """One of good, rarely one of bad (so that most commands get to run)."""
    return st.sampled_from(good * n + bad)


# Each collection type has two keys of its own (on one shard): most keys of its
# commands are those, so that collections grow and get read back instead of being
# overwritten at once (a string written over a collection stays until deleted);
# the others come from every key, so that every key still meets every type. The
# key commands (DEL, RENAME, EXPIRE ...) draw from every key.
FAVOURITE = {"hash": [b"{h}1", b"{h}2"], "list": [b"{l}1", b"{l}2"],
             "set": [b"{s}1", b"{s}2"], "zset": [b"{z}1", b"{z}2"]}
ALL_KEYS = KEYS + [k for pair in FAVOURITE.values() for k in pair]
any_keys = st.sampled_from(ALL_KEYS)
some_any_keys = st.lists(any_keys, min_size=1, max_size=4)
hkeys, lkeys, skeys, zkeys = (mostly(FAVOURITE[t], ALL_KEYS, 8)
                              for t in ("hash", "list", "set", "zset"))

# The keys grouped by the shard that owns them: multi-key collection commands draw
# their keys mostly from one group (so that they find collections to combine), and
# sometimes from all keys, over shards (the coordinator runs those).
SHARD_GROUPS = [[k for k in ALL_KEYS if SHARD_OF[key_slot(k)] == s] for s in range(3)]

ints = st.one_of(st.sampled_from([0, 1, -1, 5, 2**63 - 1, -(2**63), 2**63]),
                 st.integers(-100, 100)).map(lambda i: str(i).encode())
floats = st.sampled_from([b"1", b"-1.5", b"0.1", b"1e3", b"5.0e3", b"-0", b"abc", b"inf",
                          b"1e400", b" 1", b"0x10", b"1.7976931348623157e308"])
offsets = st.one_of(st.integers(-30, 30), st.sampled_from([2**63 - 1, -(2**63)])).map(
    lambda i: str(i).encode())
# Past or now (EXPIRE deletes), or a large TTL, rising or falling; sometimes not a number.
seconds = st.one_of(st.builds(Ttl, st.just("s"), st.booleans()),
                    st.sampled_from([b"-1", b"0", b"abc", b"9223372036854775807"]))
millis = st.one_of(st.builds(Ttl, st.just("ms"), st.booleans()), st.sampled_from([b"-5", b"0"]))


def flat(parts) -> list:
    return [x for p in parts for x in p]


def set_options():
    opt = st.sampled_from([[b"NX"], [b"XX"], [b"GET"], [b"KEEPTTL"], [b"nx"]])
    timed = st.one_of(st.tuples(st.just(b"EX"), seconds), st.tuples(st.just(b"PX"), millis),
                      st.tuples(st.just(b"EXAT"), st.builds(At, st.just("s"))),
                      st.tuples(st.just(b"PXAT"), st.builds(At, st.just("ms")))).map(list)
    return st.lists(st.one_of(opt, timed), max_size=3).map(flat)


def kv_pairs():
    return st.lists(st.tuples(keys, values), min_size=1, max_size=3).map(
        lambda ps: [x for p in ps for x in p])


def cmd(name: bytes, *parts):
    """A strategy for one command: its name, then each part (a strategy for a list or a value)."""
    def build(drawn):
        out = [name]
        for d in drawn:
            out.extend(d if isinstance(d, list) else [d])
        return out
    return st.tuples(*parts).map(build)


def expire_flag():
    return st.lists(st.sampled_from([b"NX", b"XX", b"GT", b"LT"]), max_size=2)


COMMANDS = {
    b"GET": cmd(b"GET", keys),
    b"SET": cmd(b"SET", keys, values, set_options()),
    b"SETNX": cmd(b"SETNX", keys, values),
    b"GETSET": cmd(b"GETSET", keys, values),
    b"GETDEL": cmd(b"GETDEL", keys),
    b"GETEX": cmd(b"GETEX", keys, st.one_of(
        st.just([]), st.just([b"PERSIST"]), st.tuples(st.just(b"EX"), seconds).map(list),
        st.tuples(st.just(b"PX"), millis).map(list),
        st.tuples(st.just(b"EXAT"), st.builds(At, st.just("s"))).map(list))),
    b"MGET": cmd(b"MGET", some_any_keys),
    b"MSET": cmd(b"MSET", kv_pairs()),
    b"MSETNX": cmd(b"MSETNX", kv_pairs()),
    b"APPEND": cmd(b"APPEND", keys, values),
    b"STRLEN": cmd(b"STRLEN", keys),
    b"INCR": cmd(b"INCR", keys),
    b"DECR": cmd(b"DECR", keys),
    b"INCRBY": cmd(b"INCRBY", keys, ints),
    b"DECRBY": cmd(b"DECRBY", keys, ints),
    b"INCRBYFLOAT": cmd(b"INCRBYFLOAT", keys, floats),
    b"GETRANGE": cmd(b"GETRANGE", keys, offsets, offsets),
    b"SETRANGE": cmd(b"SETRANGE", keys, st.integers(-1, 20).map(lambda i: str(i).encode()),
                     values),
    b"DEL": cmd(b"DEL", some_any_keys),
    b"EXISTS": cmd(b"EXISTS", some_any_keys),
    b"TYPE": cmd(b"TYPE", any_keys),
    b"EXPIRE": cmd(b"EXPIRE", any_keys, seconds, expire_flag()),
    b"PEXPIRE": cmd(b"PEXPIRE", any_keys, millis, expire_flag()),
    b"PERSIST": cmd(b"PERSIST", any_keys),
    b"TTL": cmd(b"TTL", any_keys),
    b"RENAME": cmd(b"RENAME", any_keys, any_keys),
    b"RENAMENX": cmd(b"RENAMENX", any_keys, any_keys),
    b"COPY": cmd(b"COPY", any_keys, any_keys, st.lists(st.sampled_from(
        [[b"REPLACE"], [b"DB", b"0"], [b"DB", b"1"], [b"DB", b"2"]]), max_size=2).map(flat)),
    b"DBSIZE": cmd(b"DBSIZE"),
    b"FLUSHDB": cmd(b"FLUSHDB", st.sampled_from([[], [b"ASYNC"], [b"SYNC"]])),
    b"SELECT": cmd(b"SELECT", st.sampled_from([b"0", b"1", b"2", b"16", b"-1", b"x"])),
}

# ------------------------------------------------------------------ the collections
# Members, fields and list elements: integers (so that sets stay intsets for a
# while), strings that look like integers but are not, empty and binary ones.
MEMBERS = [b"0", b"1", b"-1", b"7", b"42", b"9223372036854775807", b"-9223372036854775808",
           b"a", b"b", b"abc", b"", b"\x00\xff", b"01", b"1.5", b"x y"]
# Scores: decimals, infinities, signed zero; rarely ones that are not floats at all.
SCORES = [b"0", b"1", b"-1", b"2", b"3", b"1.5", b"-2.5", b"0.1", b"1e3", b"inf", b"-inf",
          b"+inf", b"-0"]
BAD_SCORES = [b"nan", b"abc", b"", b"1e400", b"0x10"]

members = st.sampled_from(MEMBERS)
some_members = st.lists(members, min_size=1, max_size=4)
scores = mostly(SCORES, BAD_SCORES, 6)
# List indexes and ranks: negative and out of range ones too, rarely huge or not numbers.
indexes = mostly(list(range(-6, 7)), [2**63 - 1, -(2**63), 2**63, "x"], 4).map(
    lambda i: str(i).encode())
# Optional COUNTs: small, zero, negative; rarely huge or not a number.
counts = mostly(list(range(-1, 6)), [2**63 - 1, -(2**63), "x"], 4).map(
    lambda i: str(i).encode())
score_bounds = st.one_of(scores, scores.map(lambda s: b"(" + s))
lex_bounds = st.one_of(st.sampled_from([b"-", b"+", b"a", b"", b"("]),
                       members.map(lambda m: b"[" + m), members.map(lambda m: b"(" + m))
sides = mostly([b"LEFT", b"RIGHT", b"left"], [b"UP"])
ends = mostly([b"MIN", b"MAX", b"min"], [b"MID"])


def group_keys(kind: str, min_size: int, max_size: int):
    """Keys that mostly live on one shard (repeats allowed): mostly kind's favourites."""
    return mostly([FAVOURITE[kind]], SHARD_GROUPS + [ALL_KEYS], 4).flatmap(
        lambda g: st.lists(st.sampled_from(g), min_size=min_size, max_size=max_size))


def numkeys_and(keys_list: list[bytes]):
    """'numkeys key ...', numkeys mostly right, sometimes 0, negative or too large."""
    n = len(keys_list)
    return mostly([n], [0, -1, n + 1, n - 1], 20).map(
        lambda k: [str(k).encode(), *keys_list])


def movable(kind: str, min_size: int, max_size: int, dest: bool):
    """'[destination] numkeys key ...' over keys of one shard."""
    if dest:
        return group_keys(kind, min_size + 1, max_size + 1).flatmap(
            lambda ks: numkeys_and(ks[1:]).map(lambda rest: [ks[0], *rest]))
    return group_keys(kind, min_size, max_size).flatmap(numkeys_and)


def opt(*parts):
    """An optional group of arguments: [] or the drawn parts flattened."""
    return st.one_of(st.just([]), st.tuples(*parts).map(lambda t: flat(
        [p if isinstance(p, list) else [p] for p in t])))


def limit():
    return opt(st.just(b"LIMIT"), indexes, counts)


def field_values():
    return st.lists(st.tuples(members, values), min_size=1, max_size=3).map(flat)


def zadd_args():
    """ZADD's flags (rarely an incompatible set), then score member pairs (one with INCR,
    mostly)."""
    flags = mostly([[], [], [b"CH"], [b"NX"], [b"XX"], [b"GT"], [b"LT"], [b"ch", b"XX"],
                    [b"GT", b"CH"], [b"INCR"], [b"LT", b"XX", b"INCR"], [b"INCR", b"NX"]],
                   [[b"NX", b"XX"], [b"GT", b"LT"], [b"NX", b"GT"]], 6)

    def pairs(f: list[bytes]):
        most = 1 if b"INCR" in f else 3
        return mostly([most], [2], 10).flatmap(lambda n: st.lists(
            st.tuples(scores, members), min_size=1, max_size=n)).map(lambda ps: f + flat(ps))
    return flags.flatmap(pairs)


def zrange_args(store: bool = False):
    """min max and options of ZRANGE/ZRANGESTORE: by rank, BYSCORE or BYLEX, then the
    options that go with it in any order, rarely one that does not (LIMIT by rank,
    WITHSCORES with BYLEX; ZRANGESTORE has no WITHSCORES)."""
    rev, withscores = [b"REV"], [b"WITHSCORES"]
    by_limit = st.tuples(st.just(b"LIMIT"), indexes, counts).map(list)
    modes = [(st.tuples(indexes, indexes).map(list), [rev] + [withscores] * (not store),
              by_limit),
             (st.tuples(score_bounds, score_bounds, st.just(b"BYSCORE")).map(list),
              [rev] + [withscores] * (not store), None),
             (st.tuples(lex_bounds, lex_bounds, st.just(b"BYLEX")).map(list), [rev],
              st.just(withscores))]

    def mode(bounds, fitting: list, unfitting):
        fit = [st.just(x) for x in fitting] + ([by_limit] if unfitting is not by_limit else [])
        extra = st.one_of(*fit) if unfitting is None else st.one_of(*fit * 6, unfitting)
        return st.tuples(bounds, st.lists(extra, max_size=2).map(flat)).map(
            lambda t: t[0] + t[1])
    return st.one_of(*[mode(*m) for m in modes[:1] * 2 + modes])


def weights_aggregate(n: int):
    """ZUNIONSTORE/ZINTERSTORE's options after their n keys: WEIGHTS mostly one per key."""
    weight = mostly([b"1", b"2", b"-1", b"0", b"0.5", b"inf", b"-inf"], [b"x"])
    weights = mostly([n], [n - 1, n + 1], 6).flatmap(lambda k: st.lists(
        weight, min_size=k, max_size=k)).map(lambda w: [b"WEIGHTS", *w])
    agg = st.tuples(st.just(b"AGGREGATE"), mostly([b"SUM", b"MIN", b"MAX", b"max"], [b"avg"]))
    return st.lists(st.one_of(weights, agg.map(list)), max_size=2).map(flat)


def zcombine(name: bytes, dest: bool, withscores: bool):
    """ZUNION/ZINTER/ZDIFF[STORE] [dest] numkeys key ... [options]."""
    def options(head: list[bytes]):
        n = len(head) - 1 - dest  # the keys given (numkeys may lie)
        opts = [weights_aggregate(n)] if name not in (b"ZDIFF", b"ZDIFFSTORE") else []
        if withscores:
            opts.append(opt(st.just(b"WITHSCORES")))
        return st.tuples(*opts).map(lambda t: [*head, *flat(t)])
    return movable("zset", 1, 3, dest).flatmap(options).map(lambda rest: [name, *rest])


COLLECTION_COMMANDS = {
    # hashes
    b"HSET": cmd(b"HSET", hkeys, field_values()),
    b"HSETNX": cmd(b"HSETNX", hkeys, members, values),
    b"HGET": cmd(b"HGET", hkeys, members),
    b"HMGET": cmd(b"HMGET", hkeys, some_members),
    b"HDEL": cmd(b"HDEL", hkeys, some_members),
    b"HLEN": cmd(b"HLEN", hkeys),
    b"HEXISTS": cmd(b"HEXISTS", hkeys, members),
    b"HSTRLEN": cmd(b"HSTRLEN", hkeys, members),
    b"HINCRBY": cmd(b"HINCRBY", hkeys, members, ints),
    b"HINCRBYFLOAT": cmd(b"HINCRBYFLOAT", hkeys, members, floats),
    b"HGETALL": cmd(b"HGETALL", hkeys),
    b"HKEYS": cmd(b"HKEYS", hkeys),
    b"HVALS": cmd(b"HVALS", hkeys),
    b"HRANDFIELD": cmd(b"HRANDFIELD", hkeys, opt(st.integers(-4, 4).map(
        lambda i: str(i).encode()), st.sampled_from([[], [b"WITHVALUES"]]))),
    # lists
    b"LPUSH": cmd(b"LPUSH", lkeys, some_members),
    b"RPUSH": cmd(b"RPUSH", lkeys, some_members),
    b"LPUSHX": cmd(b"LPUSHX", lkeys, some_members),
    b"RPUSHX": cmd(b"RPUSHX", lkeys, some_members),
    b"LPOP": cmd(b"LPOP", lkeys, opt(counts)),
    b"RPOP": cmd(b"RPOP", lkeys, opt(counts)),
    b"LLEN": cmd(b"LLEN", lkeys),
    b"LRANGE": cmd(b"LRANGE", lkeys, indexes, indexes),
    b"LINDEX": cmd(b"LINDEX", lkeys, indexes),
    b"LSET": cmd(b"LSET", lkeys, indexes, members),
    b"LINSERT": cmd(b"LINSERT", lkeys, mostly([b"BEFORE", b"AFTER", b"after"], [b"IN"]),
                    members, members),
    b"LREM": cmd(b"LREM", lkeys, st.integers(-3, 3).map(lambda i: str(i).encode()), members),
    b"LTRIM": cmd(b"LTRIM", lkeys, indexes, indexes),
    b"LPOS": cmd(b"LPOS", lkeys, members, st.lists(st.one_of(
        st.tuples(st.just(b"RANK"), st.one_of(indexes, st.just(b"-9223372036854775808"))),
        st.tuples(st.just(b"COUNT"), counts), st.tuples(st.just(b"MAXLEN"), counts)).map(list),
        max_size=3).map(flat)),
    b"LMOVE": cmd(b"LMOVE", group_keys("list", 2, 2), sides, sides),
    b"RPOPLPUSH": cmd(b"RPOPLPUSH", group_keys("list", 2, 2)),
    b"LMPOP": cmd(b"LMPOP", movable("list", 1, 3, False), sides, opt(st.just(b"COUNT"), counts)),
    # sets
    b"SADD": cmd(b"SADD", skeys, some_members),
    b"SREM": cmd(b"SREM", skeys, some_members),
    b"SISMEMBER": cmd(b"SISMEMBER", skeys, members),
    b"SMISMEMBER": cmd(b"SMISMEMBER", skeys, some_members),
    b"SCARD": cmd(b"SCARD", skeys),
    b"SMEMBERS": cmd(b"SMEMBERS", skeys),
    b"SINTER": cmd(b"SINTER", group_keys("set", 1, 3)),
    b"SUNION": cmd(b"SUNION", group_keys("set", 1, 3)),
    b"SDIFF": cmd(b"SDIFF", group_keys("set", 1, 3)),
    b"SINTERSTORE": cmd(b"SINTERSTORE", group_keys("set", 2, 4)),
    b"SUNIONSTORE": cmd(b"SUNIONSTORE", group_keys("set", 2, 4)),
    b"SDIFFSTORE": cmd(b"SDIFFSTORE", group_keys("set", 2, 4)),
    b"SINTERCARD": cmd(b"SINTERCARD", movable("set", 1, 3, False), opt(st.just(b"LIMIT"), counts)),
    b"SMOVE": cmd(b"SMOVE", group_keys("set", 2, 2), members),
    b"SRANDMEMBER": cmd(b"SRANDMEMBER", skeys, opt(st.integers(-4, 4).map(
        lambda i: str(i).encode()))),
    # sorted sets
    b"ZADD": cmd(b"ZADD", zkeys, zadd_args()),
    b"ZINCRBY": cmd(b"ZINCRBY", zkeys, scores, members),
    b"ZREM": cmd(b"ZREM", zkeys, some_members),
    b"ZCARD": cmd(b"ZCARD", zkeys),
    b"ZSCORE": cmd(b"ZSCORE", zkeys, members),
    b"ZMSCORE": cmd(b"ZMSCORE", zkeys, some_members),
    b"ZRANK": cmd(b"ZRANK", zkeys, members),
    b"ZREVRANK": cmd(b"ZREVRANK", zkeys, members),
    b"ZCOUNT": cmd(b"ZCOUNT", zkeys, score_bounds, score_bounds),
    b"ZLEXCOUNT": cmd(b"ZLEXCOUNT", zkeys, lex_bounds, lex_bounds),
    b"ZRANGE": cmd(b"ZRANGE", zkeys, zrange_args()),
    b"ZREVRANGE": cmd(b"ZREVRANGE", zkeys, indexes, indexes, opt(st.just(b"WITHSCORES"))),
    b"ZRANGEBYSCORE": cmd(b"ZRANGEBYSCORE", zkeys, score_bounds, score_bounds,
                          opt(st.just(b"WITHSCORES")), limit()),
    b"ZREVRANGEBYSCORE": cmd(b"ZREVRANGEBYSCORE", zkeys, score_bounds, score_bounds, limit(),
                             opt(st.just(b"WITHSCORES"))),
    b"ZRANGEBYLEX": cmd(b"ZRANGEBYLEX", zkeys, lex_bounds, lex_bounds, limit()),
    b"ZREVRANGEBYLEX": cmd(b"ZREVRANGEBYLEX", zkeys, lex_bounds, lex_bounds, limit()),
    b"ZREMRANGEBYRANK": cmd(b"ZREMRANGEBYRANK", zkeys, indexes, indexes),
    b"ZREMRANGEBYSCORE": cmd(b"ZREMRANGEBYSCORE", zkeys, score_bounds, score_bounds),
    b"ZREMRANGEBYLEX": cmd(b"ZREMRANGEBYLEX", zkeys, lex_bounds, lex_bounds),
    b"ZPOPMIN": cmd(b"ZPOPMIN", zkeys, opt(counts)),
    b"ZPOPMAX": cmd(b"ZPOPMAX", zkeys, opt(counts)),
    b"ZMPOP": cmd(b"ZMPOP", movable("zset", 1, 3, False), ends, opt(st.just(b"COUNT"), counts)),
    b"ZUNIONSTORE": zcombine(b"ZUNIONSTORE", True, False),
    b"ZINTERSTORE": zcombine(b"ZINTERSTORE", True, False),
    b"ZDIFFSTORE": zcombine(b"ZDIFFSTORE", True, False),
    b"ZUNION": zcombine(b"ZUNION", False, True),
    b"ZINTER": zcombine(b"ZINTER", False, True),
    b"ZDIFF": zcombine(b"ZDIFF", False, True),
    b"ZINTERCARD": cmd(b"ZINTERCARD", movable("zset", 1, 3, False), opt(st.just(b"LIMIT"), counts)),
    b"ZRANGESTORE": cmd(b"ZRANGESTORE", group_keys("zset", 2, 2), zrange_args(True)),
    b"ZRANDMEMBER": cmd(b"ZRANDMEMBER", zkeys, opt(st.integers(-4, 4).map(
        lambda i: str(i).encode()), st.sampled_from([[], [b"WITHSCORES"]]))),
    # every type
    b"OBJECT": cmd(b"OBJECT", st.just(b"ENCODING"), any_keys),
}
COMMANDS.update(COLLECTION_COMMANDS)

# Streams: two keys of their own (on one shard), explicit IDs only ("*" reads the clock,
# which differs between the servers; "ms-*" does not), no BLOCK, and none of the replies
# that carry times (XPENDING's extended form, XINFO CONSUMERS, XCLAIM with a min-idle-time
# other than 0 or huge).
STREAM_KEYS = [b"{x}1", b"{x}2"]
xkeys = mostly(STREAM_KEYS, ALL_KEYS, 8)
_ms = st.integers(0, 12)
stream_ids = st.one_of(st.builds(lambda m, q: b"%d-%d" % (m, q), _ms, st.integers(0, 3)),
                       _ms.map(lambda m: b"%d" % m), _ms.map(lambda m: b"%d-*" % m),
                       st.sampled_from([b"0-0", b"x", b"-1", b"18446744073709551615-18446744073709551615"]))
range_ids = st.one_of(stream_ids, st.sampled_from([b"-", b"+", b"(3", b"(5-1", b"(-"]))
groups = mostly([b"g1", b"g2"], [b"nog"], 6)
consumers = st.sampled_from([b"c1", b"c2", b"c3"])
trim_args = st.one_of(st.just([]), st.tuples(
    mostly([b"MAXLEN", b"MINID"], [b"maxlen"]), st.sampled_from([[], [b"="], [b"~"]]),
    st.one_of(st.integers(0, 6).map(lambda i: b"%d" % i), stream_ids),
    st.sampled_from([[], [], [b"LIMIT", b"0"], [b"LIMIT", b"10"]])).map(
        lambda t: [t[0], *t[1], t[2], *t[3]]))
xadd_id = mostly([[b"%d-*" % i] for i in range(1, 12)] + [[b"%d" % i] for i in range(1, 12)],
                 [[b"1-1"], [b"0-0"], [b"x"]], 3)
STREAM_COMMANDS = {
    b"XADD": cmd(b"XADD", xkeys, st.sampled_from([[], [], [b"NOMKSTREAM"]]), trim_args, xadd_id,
                 field_values()),
    b"XRANGE": cmd(b"XRANGE", xkeys, range_ids, range_ids, opt(st.just(b"COUNT"), counts)),
    b"XREVRANGE": cmd(b"XREVRANGE", xkeys, range_ids, range_ids, opt(st.just(b"COUNT"), counts)),
    b"XLEN": cmd(b"XLEN", xkeys),
    b"XDEL": cmd(b"XDEL", xkeys, st.lists(stream_ids, min_size=1, max_size=3)),
    b"XTRIM": cmd(b"XTRIM", xkeys, trim_args),
    b"XSETID": cmd(b"XSETID", xkeys, stream_ids, st.sampled_from(
        [[], [], [b"ENTRIESADDED", b"20"], [b"MAXDELETEDID", b"2-0"], [b"ENTRIESADDED", b"0"]])),
    b"XGROUP": st.one_of(
        cmd(b"XGROUP", st.just(b"CREATE"), xkeys, groups, mostly([b"$", b"0"], [b"3-0", b"x"], 3),
            st.sampled_from([[], [b"MKSTREAM"], [b"ENTRIESREAD", b"2"]])),
        cmd(b"XGROUP", st.just(b"SETID"), xkeys, groups, mostly([b"$", b"0"], [b"3-0", b"x"], 3),
            st.sampled_from([[], [b"ENTRIESREAD", b"1"]])),
        cmd(b"XGROUP", st.just(b"DESTROY"), xkeys, groups),
        cmd(b"XGROUP", st.just(b"CREATECONSUMER"), xkeys, groups, consumers),
        cmd(b"XGROUP", st.just(b"DELCONSUMER"), xkeys, groups, consumers)),
    b"XREADGROUP": cmd(b"XREADGROUP", st.just(b"GROUP"), groups, consumers,
                       opt(st.just(b"COUNT"), counts), opt(st.just(b"NOACK")), st.just(b"STREAMS"),
                       xkeys, mostly([b">"], [b"0", b"3-0", b"$"], 4)),
    b"XREAD": cmd(b"XREAD", opt(st.just(b"COUNT"), counts), st.just(b"STREAMS"),
                  st.sampled_from([[STREAM_KEYS[0]], [STREAM_KEYS[1]], STREAM_KEYS]).flatmap(
                      lambda ks: st.tuples(*[range_ids for _ in ks]).map(lambda ids: [*ks, *ids]))),
    b"XACK": cmd(b"XACK", xkeys, groups, st.lists(stream_ids, min_size=1, max_size=3)),
    b"XPENDING": cmd(b"XPENDING", xkeys, groups),
    b"XCLAIM": cmd(b"XCLAIM", xkeys, groups, consumers, st.sampled_from([b"0", b"100000000"]),
                   st.lists(stream_ids, min_size=1, max_size=3),
                   st.sampled_from([[b"JUSTID"], [b"JUSTID", b"FORCE"], [b"RETRYCOUNT", b"5", b"JUSTID"]])),
    b"XAUTOCLAIM": cmd(b"XAUTOCLAIM", xkeys, groups, consumers, st.sampled_from([b"0", b"100000000"]),
                       range_ids, opt(st.just(b"COUNT"), st.sampled_from([b"1", b"2", b"0"])),
                       opt(st.just(b"JUSTID"))),
    b"XINFO": cmd(b"XINFO", st.sampled_from([b"GROUPS", b"STREAM"]), xkeys),
}
COMMANDS.update(STREAM_COMMANDS)

# SORT's BY and GET patterns: the element itself as a key ("*", on any shard: the
# coordinator runs those), keys of the list favourites' shard ({t}, {h}, {l}: the
# shard runs them), of other shards ({s}, {z}), hash fields, and patterns without '*'.
SORT_BY = [b"*", b"*", b"{t}*", b"{h}*->a", b"*->1", b"{s}*", b"{l}*", b"k*"]
SORT_GET = [b"#", b"*", b"*", b"{t}*", b"{h}*->a", b"*->b", b"{z}*", b"x"]


def sort_args(readonly: bool):
    """SORT's (or SORT_RO's) source and options, in any order. Only the options whose
    reply Redis fully specifies: numeric sorts (ties in byte order), and BY nosort or
    ALPHA only with STORE and no BY pattern (Redis answers a set's order, and ALPHA ties
    under a BY pattern, in its memory layout's order; STORE sorts those)."""
    common = [st.tuples(st.just(b"GET"), mostly(SORT_GET, [b"##"])).map(list),
              st.tuples(st.just(b"LIMIT"), indexes, counts).map(list),
              st.sampled_from([[b"ASC"], [b"DESC"], [b"desc"]])]
    store = st.tuples(st.just(b"STORE"), any_keys).map(list)
    numeric = st.lists(st.one_of(
        st.tuples(st.just(b"BY"), st.sampled_from(SORT_BY)).map(list), *common,
        *([] if readonly else [store])), max_size=4).map(flat)
    source = st.one_of(lkeys, lkeys, skeys, zkeys)
    if readonly:  # (rarely a STORE: a syntax error)
        options = mostly([numeric], [st.tuples(numeric, store).map(flat)], 10).flatmap(lambda o: o)
    else:
        unordered = st.tuples(st.sampled_from([[b"BY", b"nosort"], [b"ALPHA"], [b"alpha", b"DESC"]]),
                              store, st.lists(st.one_of(*common), max_size=2).map(flat)).flatmap(
            lambda t: st.permutations([t[0], t[1], t[2]])).map(flat)
        options = mostly([numeric], [unordered], 3).flatmap(lambda o: o)
    return st.tuples(source, options).map(lambda t: [t[0], *t[1]])


# EVAL of small generated scripts: a few redis.call / redis.pcall of string and
# collection commands, on declared keys (KEYS[i]) and on undeclared ones (which may lie
# on another shard: the script then moves to the coordinator), every result returned.
SCRIPT_CALLS = [(b"SET", 2), (b"GET", 1), (b"INCR", 1), (b"DEL", 1), (b"LPUSH", 2), (b"HSET", 3),
                (b"SADD", 2), (b"ZADD", 3), (b"EXISTS", 1), (b"TYPE", 1), (b"APPEND", 2), (b"STRLEN", 1),
                (b"LRANGE", 3), (b"HGET", 2), (b"ZRANGE", 3), (b"EXPIRE", 2)]
# (Not HGETALL: a script's reply is compared exactly, and a hash's field order is Redis'
# insertion order where shardis answers byte order, see COMPATIBILITY.md.)
# Geo calls on the sorted set keys: coordinates come to a script as strings, or as
# {double=...} after redis.setresp(3) (drawn for half the scripts), and go back to the
# client as such; a missing member's position is false, or nil (which ends a Lua array).
script_members = st.sampled_from([b"'a'", b"'b'", b"'1'", b"'p'"])
GEO_SCRIPT_CALLS = {
    b"geoadd": st.tuples(mostly([b"'13.361389', '38.115556'", b"'15.087269', '37.502669'", b"'0', '0'",
                                 b"'-179.99', '85'"], [b"'200', '0'"], 4), script_members).map(list),
    b"geopos": st.lists(script_members, min_size=1, max_size=3),
    b"geodist": st.tuples(script_members, script_members, st.sampled_from([[], [b"'km'"], [b"'ft'"]])).map(
        lambda t: [t[0], t[1], *t[2]]),
    b"geosearch": st.tuples(st.sampled_from([b"'FROMLONLAT', '15', '37'", b"'FROMMEMBER', 'a'"]),
                            st.sampled_from([b"'BYRADIUS', '300', 'km'", b"'BYBOX', '4000', '400', 'km'"]),
                            st.sampled_from([b"'WITHCOORD'", b"'WITHDIST', 'WITHCOORD', 'ASC'",
                                             b"'WITHHASH', 'WITHCOORD', 'DESC'", b"'ASC'"])).map(list),
}


def lua_literal(b: bytes) -> bytes:
    return b"'" + b"".join(b"\\%d" % c for c in b) + b"'"


@st.composite
def eval_args(draw):
    declared = draw(st.lists(any_keys, max_size=3))
    lines = [b"local r = {}"]
    if draw(st.booleans()):
        lines.append(b"redis.setresp(3)")
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 4)) == 0:
            geo = draw(st.sampled_from(sorted(GEO_SCRIPT_CALLS)))
            if declared and draw(st.booleans()):
                key = b"KEYS[%d]" % draw(st.integers(1, len(declared)))
            else:
                key = lua_literal(draw(zkeys))
            call = b"redis.pcall" if draw(st.booleans()) else b"redis.call"
            args = b", ".join([key, *draw(GEO_SCRIPT_CALLS[geo])])
            lines.append(b"r[#r+1] = %s('%s', %s)" % (call, geo, args))
            continue
        name, n = draw(st.sampled_from(SCRIPT_CALLS))
        if declared and draw(st.booleans()):
            key = b"KEYS[%d]" % draw(st.integers(1, len(declared)))
        else:
            key = lua_literal(draw(any_keys))
        args = [key]
        for _ in range(n - 1):
            if name in (b"ZADD", b"LRANGE", b"ZRANGE", b"EXPIRE") and len(args) == 1:
                args.append(draw(st.sampled_from([b"0", b"1", b"-1", b"100", b"'x'"])))
            elif name in (b"LRANGE", b"ZRANGE"):
                args.append(draw(st.sampled_from([b"0", b"-1", b"2"])))
            else:
                args.append(lua_literal(draw(values)))
        call = b"redis.pcall" if draw(st.booleans()) else b"redis.call"
        lines.append(b"r[#r+1] = %s('%s', %s)" % (call, name.lower(), b", ".join(args)))
    lines.append(b"return r")
    return [b"\n".join(lines), b"%d" % len(declared), *declared]


COMMANDS[b"EVAL"] = cmd(b"EVAL", eval_args())
COMMANDS[b"SORT"] = cmd(b"SORT", sort_args(False))
COMMANDS[b"SORT_RO"] = cmd(b"SORT_RO", sort_args(True))
# Redis reads SORT's weights with strtod without clearing errno, so an out-of-range float
# parsed by an earlier command (ZADD 1e400 ...) can fail a later SORT; shardis does not
# copy that. Before each SORT both servers parse a float with errno cleared (ZADD XX on
# a key nobody uses: no change).
ERRNO_RESET = [b"ZADD", b"{e}unused", b"XX", b"0", b"m"]
SORTS = (b"SORT", b"SORT_RO")

# ------------------------------------------------------------------ bitmaps and HyperLogLog
# Bit offsets stay small (a large one would make both servers allocate up to 512 MB);
# the bad ones are refused before anything is allocated.
bit_offsets = mostly(list(range(40)), [-1, "x", 4294967296, "#1"], 4).map(lambda i: str(i).encode())
bit_units = st.sampled_from([[], [b"BIT"], [b"BYTE"], [b"bit"], [b"BITS"]])
bf_types = mostly([f"{s}{n}".encode() for s in "iu" for n in (1, 2, 7, 8, 13, 32, 63)] + [b"i64"],
                  [b"u64", b"i0", b"x8"], 4)
bf_offsets = st.one_of(st.integers(0, 70).map(lambda i: str(i).encode()),
                       st.integers(0, 5).map(lambda i: b"#%d" % i), st.sampled_from([b"-1", b"#"]))
bf_values = st.one_of(ints, st.integers(-300, 300).map(lambda i: str(i).encode()))
bf_overflow = st.tuples(st.just(b"OVERFLOW"), mostly([b"WRAP", b"SAT", b"FAIL", b"sat"], [b"NONE"])).map(list)
bf_get = st.tuples(st.just(b"GET"), bf_types, bf_offsets).map(list)
bf_write = st.tuples(st.sampled_from([b"SET", b"INCRBY", b"incrby"]), bf_types, bf_offsets,
                     bf_values).map(list)
COMMANDS.update({
    b"SETBIT": cmd(b"SETBIT", keys, bit_offsets, mostly([b"0", b"1"], [b"2", b"x"], 6)),
    b"GETBIT": cmd(b"GETBIT", keys, bit_offsets),
    b"BITCOUNT": cmd(b"BITCOUNT", keys, opt(indexes, indexes, bit_units)),
    b"BITPOS": cmd(b"BITPOS", keys, mostly([b"0", b"1"], [b"2"]), opt(indexes, opt(indexes, bit_units))),
    b"BITOP": cmd(b"BITOP", mostly([b"AND", b"OR", b"XOR", b"NOT", b"or"], [b"FOO"]), keys,
                  st.lists(keys, min_size=1, max_size=3)),
    b"BITFIELD": cmd(b"BITFIELD", keys,
                     st.lists(st.one_of(bf_get, bf_write, bf_overflow), max_size=4).map(flat)),
    b"BITFIELD_RO": cmd(b"BITFIELD_RO", keys, st.lists(mostly([bf_get], [bf_write], 6).flatmap(lambda s: s),
                                                       max_size=3).map(flat)),
    b"PFADD": cmd(b"PFADD", keys, st.lists(members, max_size=4)),
    b"PFCOUNT": cmd(b"PFCOUNT", some_keys),
    b"PFMERGE": cmd(b"PFMERGE", some_keys),
})

# ------------------------------------------------------------------ geo (on the sorted set keys)
lonlats = mostly([[b"0", b"0"], [b"1.5", b"2"], [b"-179.99", b"85"], [b"180", b"-85.05112878"],
                  [b"13.361389", b"38.115556"], [b"-0.5", b"-1"], [b"179.5", b"0.5"]],
                 [[b"200", b"0"], [b"x", b"1"], [b"0", b"86"]], 6)
geo_radius = mostly([b"0", b"1", b"100", b"5000", b"20000", b"300.5"], [b"-1", b"x"], 6)
geo_unit = mostly([b"km", b"m", b"mi", b"ft", b"KM"], [b"yd"], 8)
geo_count = st.tuples(st.just(b"COUNT"), counts, mostly([[], [b"ANY"]], [], 1)).map(
    lambda t: [t[0], t[1], *t[2]])
geo_extras = st.lists(st.one_of(st.sampled_from([[b"WITHDIST"], [b"WITHCOORD"], [b"WITHHASH"],
                                                 [b"ASC"], [b"DESC"]]), geo_count), max_size=3).map(flat)
geo_from = st.one_of(st.tuples(st.just(b"FROMMEMBER"), members).map(list),
                     lonlats.map(lambda ll: [b"FROMLONLAT", *ll]))
geo_by = st.one_of(st.tuples(st.just(b"BYRADIUS"), geo_radius, geo_unit).map(list),
                   st.tuples(st.just(b"BYBOX"), geo_radius, geo_radius, geo_unit).map(list))
geo_store = st.one_of(st.just([]), st.just([]), st.just([]),
                      st.tuples(st.sampled_from([b"STORE", b"STOREDIST"]), zkeys).map(list))
COMMANDS.update({
    b"GEOADD": cmd(b"GEOADD", zkeys,
                   st.lists(st.sampled_from([[b"NX"], [b"XX"], [b"CH"]]), max_size=2).map(flat),
                   st.lists(st.tuples(lonlats, members).map(lambda t: [*t[0], t[1]]), min_size=1,
                            max_size=3).map(flat)),
    b"GEODIST": cmd(b"GEODIST", zkeys, members, members, opt(geo_unit)),
    b"GEOHASH": cmd(b"GEOHASH", zkeys, some_members),
    b"GEOPOS": cmd(b"GEOPOS", zkeys, some_members),
    b"GEOSEARCH": cmd(b"GEOSEARCH", zkeys, geo_from, geo_by, geo_extras),
    b"GEOSEARCHSTORE": cmd(b"GEOSEARCHSTORE", group_keys("zset", 2, 2), geo_from, geo_by,
                           st.lists(st.one_of(st.sampled_from([[b"ASC"], [b"DESC"], [b"STOREDIST"]]),
                                              geo_count), max_size=2).map(flat)),
    b"GEORADIUS": cmd(b"GEORADIUS", zkeys, lonlats, geo_radius, geo_unit, geo_extras,
                      geo_store),
    b"GEORADIUS_RO": cmd(b"GEORADIUS_RO", zkeys, lonlats, geo_radius, geo_unit, geo_extras),
    b"GEORADIUSBYMEMBER": cmd(b"GEORADIUSBYMEMBER", zkeys, members, geo_radius, geo_unit, geo_extras),
    b"GEORADIUSBYMEMBER_RO": cmd(b"GEORADIUSBYMEMBER_RO", zkeys, members, geo_radius, geo_unit, geo_extras),
})



def fill_command(kind: str, key: bytes):
    """A command that makes key a collection of kind with one to six members."""
    valid = st.sampled_from(SCORES)
    item = {"hash": st.tuples(members, values), "list": members.map(lambda m: (m,)),
            "set": members.map(lambda m: (m,)), "zset": st.tuples(valid, members)}[kind]
    name = {"hash": b"HSET", "list": b"RPUSH", "set": b"SADD", "zset": b"ZADD"}[kind]
    return st.lists(item, min_size=1, max_size=6).map(lambda items: [name, key, *flat(items)])


# Every run starts with most favourite keys holding a collection, so that reads
# find something from the first step on.
FILLS = st.tuples(*[st.one_of(fill_command(kind, k).map(lambda c: [c]), st.just([]))
                    for kind, pair in FAVOURITE.items() for k in pair]).map(flat)

# Replies whose order Redis leaves unspecified (hash order; a non-intset set's
# order): compared as multisets of their elements' exact bytes (HGETALL's as pairs).
UNORDERED = {b"HKEYS", b"HVALS", b"SMEMBERS", b"SINTER", b"SUNION", b"SDIFF"}
PAIRED = {b"HGETALL"}
# Random replies: only their shape (type, length, nil or not) is compared.
RANDOM = {b"HRANDFIELD", b"SRANDMEMBER", b"ZRANDMEMBER"}
# Redis' string encodings depend on a value's history (APPEND makes it raw),
# shardis' on its content alone (see shardd/objectinfo.py): any string encoding
# matches any other; collections' encodings are compared exactly.
STRING_ENCODINGS = {b"$3\r\nint\r\n", b"$6\r\nembstr\r\n", b"$3\r\nraw\r\n",
                    b"+int\r\n", b"+embstr\r\n", b"+raw\r\n"}

# How often each is drawn: the common ones more, the emptying ones less; the
# commands that fill collections often enough for the others to find something.
WEIGHTS = {b"SET": 6, b"GET": 3, b"MSET": 2, b"FLUSHDB": 1, b"SELECT": 1,
           b"HSET": 8, b"RPUSH": 6, b"LPUSH": 4, b"SADD": 8, b"ZADD": 10, b"OBJECT": 3, b"SORT": 4,
           b"SORT_RO": 3}


WEIGHTS.update({b"XADD": 8, b"XGROUP": 3, b"XREADGROUP": 3})


def weight(name: bytes) -> int:
    return WEIGHTS.get(name, 1 if name in COLLECTION_COMMANDS or name in STREAM_COMMANDS else 2)

# Far enough in the future not to matter, and unlike any relative TTL.
AT_SECONDS = 4_000_000_000


def available_commands(port: int) -> tuple[list[bytes], list[bytes]]:
    """The commands shardis answers with anything but 'unknown command'."""
    c = RawClient(port)
    have, missing = [], []
    try:
        for name in COMMANDS:
            reply = c.call(name)  # no arguments: an arity error at worst (DBSIZE/FLUSHDB run)
            (missing if reply.startswith(b"-ERR unknown command") else have).append(name)
        c.call("FLUSHALL")
    finally:
        c.close()
    return have, missing


def elements(reply: bytes) -> tuple[bytes, list[bytes]]:
    """An aggregate reply's header line and its elements' exact bytes (else the reply, [])."""
    nl = reply.index(b"\r\n") + 2
    if reply[:1] not in (b"*", b"~", b"%") or reply[1:2] == b"-":
        return reply, []
    out, p = [], nl
    while p < len(reply):
        e = _reply_len(reply, p)
        out.append(reply[p:e])
        p = e
    return reply[:nl], out


def as_multiset(reply: bytes, paired: bool):
    """An unordered reply, comparable: header as sent, elements (or pairs) sorted."""
    head, items = elements(reply)
    if paired:
        items = [tuple(items[i:i + 2]) for i in range(0, len(items), 2)]
    return head, sorted(items)


def shape(reply: bytes) -> bytes:
    """What a random reply must share with Redis': errors and nils whole, an
    aggregate's header (type and length), a bulk string's type."""
    if reply[:1] in (b"*", b"~", b"%", b"-", b"_") or reply[:3] == b"$-1":
        return reply.split(b"\r\n", 1)[0]
    return reply[:1]


def same(name: bytes, got: bytes, want: bytes) -> bool:
    """Whether shardis' reply to a command is Redis' (see UNORDERED, RANDOM, STRING_ENCODINGS)."""
    if name in UNORDERED or name in PAIRED:
        return as_multiset(got, name in PAIRED) == as_multiset(want, name in PAIRED)
    if name in RANDOM:
        return shape(got) == shape(want)
    if name == b"OBJECT":
        return got == want or (got in STRING_ENCODINGS and want in STRING_ENCODINGS)
    return got == want


# DUMP/RESTORE: a payload DUMPed on one server is RESTOREd into both, and the key read
# back. Payloads need not be alike (a hash table's order, a stream's node cuts, an edited
# list's), but these are the same bytes on both servers (tests/test_dump.py, SAME_PAYLOAD):
# strings (HyperLogLogs too), intsets, sorted sets.
EXACT_PAYLOADS = {0, 11, 5, 17}  # RDB_TYPE_STRING, _SET_INTSET, _ZSET_2, _ZSET_LISTPACK
# Any key, often a collection or a stream (most keys hold strings); a restored copy lives
# on under the collection and stream keys (a stream's groups and IDs meet XADD, XREADGROUP ...).
dump_keys = st.one_of(any_keys, st.sampled_from([k for pair in FAVOURITE.values() for k in pair]),
                      st.sampled_from(STREAM_KEYS))
restore_ttls = st.one_of(st.just(b"0"), st.just(b"0"), st.just(b"0"),
                        st.builds(Ttl, st.just("ms"), st.booleans()))
restore_options = mostly([[b"REPLACE"], [b"replace"]], [[], [b"REPLACE", b"ABSTTL"]], 6)
# How a restored key is read back, by its TYPE (replies compared as ``same`` does).
KEY = object()  # where the key goes
READ_BACK = {b"string": [[b"GET", KEY]], b"list": [[b"LRANGE", KEY, b"0", b"-1"]],
             b"set": [[b"SMEMBERS", KEY]], b"zset": [[b"ZRANGE", KEY, b"0", b"-1", b"WITHSCORES"]],
             b"hash": [[b"HGETALL", KEY]],
             # (XINFO STREAM FULL's times are the payload's: the same on both servers)
             b"stream": [[b"XRANGE", KEY, b"-", b"+"], [b"XINFO", b"STREAM", KEY, b"FULL"]]}


def test_key_set_spans_the_shards():
    assert {SHARD_OF[key_slot(k)] for k in KEYS} == {0, 1, 2}
    assert SHARD_OF[key_slot(b"{t}1")] == SHARD_OF[key_slot(b"{t}2")]
    for a, b in FAVOURITE.values():  # the multi-key commands' favourite pairs
        assert SHARD_OF[key_slot(a)] == SHARD_OF[key_slot(b)]
    assert all(len(g) >= 2 for g in SHARD_GROUPS)


@pytest.mark.filterwarnings("ignore:Generating overly large repr")  # (the transaction rule's)
@pytest.mark.parametrize("protocol", [2, 3], ids=["RESP2", "RESP3"])
def test_random_command_sequences(shardis_server, redis_server, protocol):
    have, missing = available_commands(shardis_server.port)
    print(f"\nhypothesis state machine: {len(have)} commands; skipped (unknown to shardis): "
          + (", ".join(m.decode() for m in missing) or "none"))
    assert have, "shardis answers none of the commands"
    names = [n for n in have for _ in range(weight(n))]
    command = st.sampled_from(names).flatmap(COMMANDS.__getitem__)
    sent: dict[bytes, int] = {}

    class Machine(RuleBasedStateMachine):
        """One pair of connections per run, both servers emptied first."""

        def __init__(self) -> None:
            super().__init__()
            self.pair = Pair(shardis_server.port, redis_server.port)
            if protocol == 3:
                self.pair.both("HELLO", "3")  # ids differ; every reply after it is compared
            self.pair.check("FLUSHALL")
            self.other = Pair(shardis_server.port, redis_server.port)  # WATCH's other client
            self.step = 0

        def resolve(self, arg) -> bytes:
            if isinstance(arg, Ttl):
                # 100 s (or 100 s in ms) between any two TTLs of a run; rising ones
                # start at 1e5 s, falling ones at 1e6 s, and never meet.
                base = 10**5 + 100 * self.step if arg.rising else 10**6 - 100 * self.step
                return str(base * (1000 if arg.unit == "ms" else 1)).encode()
            if isinstance(arg, At):
                t = AT_SECONDS + 100 * self.step
                return str(t * (1000 if arg.unit == "ms" else 1)).encode()
            return arg

        @initialize(fills=FILLS)
        def fill(self, fills) -> None:
            """Most favourite keys start as a collection of a few members (compared too)."""
            for argv in fills:
                self.pair.check(*argv)

        @rule(args=command)
        def run_command(self, args) -> None:
            self.step += 1
            argv = [self.resolve(a) for a in args]
            sent[argv[0]] = sent.get(argv[0], 0) + 1
            if argv[0] in SORTS:
                self.pair.check(*ERRNO_RESET)
            if argv[0] == b"TTL":
                got, want = (parse_reply(r) for r in self.pair.both(*argv))
                assert got == want or (got >= 0 and want >= 0 and abs(got - want) <= 1), \
                    f"{argv!r}: shardis {got!r}, redis {want!r}"
            else:
                got, want = self.pair.both(*argv)
                assert same(argv[0], got, want), f"{argv!r}:\n  shardis: {got!r}\n  redis:   {want!r}"

        @rule(cmds=st.lists(command, max_size=5), watch=st.lists(any_keys, max_size=3),
              touch=st.one_of(st.none(), any_keys), end=mostly([b"EXEC"], [b"DISCARD"], 6))
        def transaction(self, cmds, watch, touch, end) -> None:
            """[WATCH keys; another client writes one;] MULTI; commands; EXEC or DISCARD:
            every reply compared, EXEC's element by element."""
            self.step += 1
            argvs = [[self.resolve(a) for a in c] for c in cmds]
            argvs = [a for a in argvs if a[0] != b"TTL"]
            argvs = [x for a in argvs for x in ([ERRNO_RESET, a] if a[0] in SORTS else [a])]
            if watch:
                self.pair.check(b"WATCH", *watch)
            if touch is not None:
                self.other.check(b"SET", touch, b"touched")
            self.pair.check(b"MULTI")
            for argv in argvs:
                sent[argv[0]] = sent.get(argv[0], 0) + 1
                self.pair.check(*argv)
            got, want = self.pair.both(end)
            if end != b"EXEC" or want[:1] != b"*" or want[:2] == b"*-":
                assert got == want, f"{end!r} after {argvs!r}:\n  shardis: {got!r}\n  redis:   {want!r}"
                return
            (ghead, gitems), (whead, witems) = elements(got), elements(want)
            assert ghead == whead and len(gitems) == len(witems), (argvs, got, want)
            for argv, g, w in zip(argvs, gitems, witems):
                assert same(argv[0], g, w), f"EXEC: {argv!r}:\n  shardis: {g!r}\n  redis:   {w!r}"

        # One step in five may be a DUMP/RESTORE (then one rule of three): about as often
        # as the most drawn commands (ZADD, GET, XADD), so the run keeps its mix and length.
        @precondition(lambda self: self.step % 5 == 0)
        @rule(src=dump_keys, dst=dump_keys, from_shardis=st.booleans(), ttl=restore_ttls,
              options=restore_options)
        def dump_restore(self, src, dst, from_shardis, ttl, options) -> None:
            """DUMP src on one server; RESTORE that payload as dst into both; dst read
            back on both (every reply compared)."""
            self.step += 1
            got, want = self.pair.both(b"DUMP", src)
            assert shape(got) == shape(want), f"DUMP {src!r}:\n  shardis: {got!r}\n  redis:   {want!r}"
            payload = parse_reply(got if from_shardis else want) or b""
            if payload[:1] and payload[0] in EXACT_PAYLOADS:
                assert got == want, f"DUMP {src!r}:\n  shardis: {got!r}\n  redis:   {want!r}"
            sent[b"DUMP"] = sent.get(b"DUMP", 0) + 1
            sent[b"RESTORE"] = sent.get(b"RESTORE", 0) + 1
            self.pair.check(b"RESTORE", dst, self.resolve(ttl), payload, *options)
            kind = self.pair.check(b"TYPE", dst)[1:-2]
            for read in READ_BACK.get(kind, []):
                argv = [dst if a is KEY else a for a in read]
                got, want = self.pair.both(*argv)
                assert same(argv[0], got, want), f"{argv!r}:\n  shardis: {got!r}\n  redis:   {want!r}"

        def teardown(self) -> None:
            self.pair.close()
            self.other.close()

    run_state_machine_as_test(Machine, settings=settings(
        max_examples=150 if protocol == 2 else 75, stateful_step_count=100, deadline=None, derandomize=True,
        database=None, print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]))
    print(f"hypothesis state machine: {sum(sent.values())} commands sent, "
          + ", ".join(f"{n.decode()} {c}" for n, c in sorted(sent.items())))
