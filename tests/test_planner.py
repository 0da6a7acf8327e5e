"""The coordinator's planner without sockets: a request and the slot -> shard map give
the per-shard parts; given those parts' replies, the merged reply."""

from __future__ import annotations

import pytest

from shardis import wire
from shardis.assembly import build_table
from shardis.commands import CROSS_CANCEL, CROSS_EXEC, CROSS_JOIN, CROSS_OP, CROSS_PARTS
from shardis.coord.planner import Planner, Request, answer
from shardis.resp import ReplyError
from shardis.slots import NSLOTS, key_slot

TABLE = build_table()
RAW = wire.RAW


def cid(name: str) -> int:
    return TABLE.by_name[name.encode()].id


def layout(**where: int) -> list[int]:
    """A slot -> shard map: each named key's slot on its shard, every other slot on 0."""
    table = [0] * NSLOTS
    for key, shard in where.items():
        table[key_slot(key.encode())] = shard
    return table


# a, c on shard 0, b on 1, d on 2 (3 shards)
SLOTS = layout(a=0, b=1, c=0, d=2)


def request(*args: str | bytes, resp3: bool = False, shards: bytes | None = None) -> Request:
    argv = [a if isinstance(a, bytes) else a.encode() for a in args]
    spec = TABLE.lookup(argv[0])
    assert spec is not None
    r = Request(b"router", 1, spec.id | (wire.RESP3 if resp3 else 0), 0, argv, spec)
    r.shards = shards
    return r


def run(reqs: list[Request], replies: dict[int, list], aborted: frozenset[int] = frozenset()):
    """The plan's parts, and the requests' replies once the shards answered ``replies``."""
    planner = Planner(TABLE, SLOTS, 3)
    parts, finish = planner.plan(reqs, aborted)
    seen = {}

    def shards(p):
        seen.update(p)
        return replies

    answer(parts, finish, shards)
    assert seen == parts
    return parts, [r.reply for r in reqs]


def b(*items: str) -> list[bytes]:
    return [x.encode() for x in items]


# (request args, shard -> the commands planned for it, shard -> its replies (RAW), the reply)
CASES = [
    pytest.param(
        ("MGET", "a", "b", "c", "d"),
        {0: [(cid("mget") | RAW, 0, b("MGET", "a", "c"))], 1: [(cid("mget") | RAW, 0, b("MGET", "b"))],
         2: [(cid("mget") | RAW, 0, b("MGET", "d"))]},
        {0: [[b"1", None]], 1: [[b"2"]], 2: [[b"4"]]},
        b"*4\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n4\r\n",
        id="mget-positional"),
    pytest.param(
        ("DEL", "a", "b", "c"),
        {0: [(cid("del") | RAW, 0, b("DEL", "a", "c"))], 1: [(cid("del") | RAW, 0, b("DEL", "b"))]},
        {0: [2], 1: [1]},
        b":3\r\n",
        id="del-sum"),
    pytest.param(
        ("EXISTS", "a", "c"),
        {0: [(cid("exists"), 0, b("EXISTS", "a", "c"))]},
        {0: [b":2\r\n"]},  # one shard: its reply as it encoded it
        b":2\r\n",
        id="one-shard-passes-through"),
    pytest.param(
        ("KEYS", "*"),
        {i: [(cid("keys") | RAW, 0, b("KEYS", "*"))] for i in range(3)},
        {0: [[b"a"]], 1: [[]], 2: [[b"d"]]},
        b"*2\r\n$1\r\na\r\n$1\r\nd\r\n",
        id="all-concat"),
    pytest.param(
        ("DBSIZE",),
        {i: [(cid("dbsize") | RAW, 0, b("DBSIZE"))] for i in range(3)},
        {0: [3], 1: [0], 2: [4]},
        b":7\r\n",
        id="all-sum"),
    pytest.param(
        ("FLUSHDB",),
        {i: [(cid("flushdb") | RAW, 0, b("FLUSHDB"))] for i in range(3)},
        {0: [wire.to_raw(ReplyError("ERR no"))], 1: [None], 2: [None]},
        b"-ERR no\r\n",
        id="a-part's-error"),
    pytest.param(
        ("MSET", "a", "1", "b", "2", "c", "3"),
        {0: [(cid("mset") | RAW, 0, b("MSET", "a", "1", "c", "3"))],
         1: [(cid("mset") | RAW, 0, b("MSET", "b", "2"))]},
        {0: [None], 1: [None]},
        b"+OK\r\n",
        id="mset"),
]


@pytest.mark.parametrize("args,parts,replies,reply", CASES)
def test_plan(args, parts, replies, reply):
    got_parts, [got] = run([request(*args)], replies)
    assert got_parts == parts
    assert got == reply


def test_resp3_reply():
    _, [got] = run([request("MGET", "a", "b", resp3=True)],
                   {0: [[None]], 1: [[b"x"]]})
    assert got == b"*2\r\n_\r\n$1\r\nx\r\n"


def test_router_given_shards_are_used():
    """The shards the router found for the keys (r.shards) are taken as they are."""
    parts, [got] = run([request("DEL", "a", "b", shards=bytes([2, 2]))], {2: [b":2\r\n"]})
    assert parts == {2: [(cid("del"), 0, b("DEL", "a", "b"))]}
    assert got == b":2\r\n"


def test_msets_of_a_step_join():
    """MSETs queued one after another on a shard run there as one MSET, in arrival order;
    something queued in between starts a new one."""
    reqs = [request("MSET", "a", "1", "b", "2"), request("MSET", "c", "3", "a", "4"),
            request("MGET", "a", "b"), request("MSET", "a", "5")]
    m, g = cid("mset") | RAW, cid("mget") | RAW
    parts, replies = run(reqs, {0: [None, [b"4"], None], 1: [None, [b"2"]]})
    assert parts == {0: [(m, 0, b("MSET", "a", "1", "c", "3", "a", "4")), (g, 0, b("MGET", "a")),
                         (m, 0, b("MSET", "a", "5"))],
                     1: [(m, 0, b("MSET", "b", "2")), (g, 0, b("MGET", "b"))]}
    assert replies == [b"+OK\r\n", b"+OK\r\n", b"*2\r\n$1\r\n4\r\n$1\r\n2\r\n", b"+OK\r\n"]


def test_joined_mset_error_reaches_every_joiner():
    reqs = [request("MSET", "a", "1"), request("MSET", "c", "2", "b", "3")]
    err = wire.to_raw(ReplyError("OOM full"))
    _, replies = run(reqs, {0: [err], 1: [None]})
    assert replies == [b"-OOM full\r\n", b"-OOM full\r\n"]


def test_wrong_arity_is_answered_without_parts():
    reqs = [request("MSET", "a", "1", "b"), request("DEL", "a", "b")]
    parts, replies = run(reqs, {0: [1], 1: [0]})
    assert parts == {0: [(cid("del") | RAW, 0, b("DEL", "a"))], 1: [(cid("del") | RAW, 0, b("DEL", "b"))]}
    assert replies == [b"-ERR wrong number of arguments for 'mset' command\r\n", b":1\r\n"]


def exec_request(watched: list, cmds: list) -> Request:
    return request("__multi", wire.pack([watched, cmds]))


def test_exec_across_shards():
    """EXEC: each command's parts, in order, then the watches dropped; the reply lists
    each command's encoded reply."""
    watched = [[1, 7, 0, b"b", 3]]
    cmds = [[cid("incr"), 0, b("INCR", "a")], [cid("mget"), 0, b("MGET", "a", "b")]]
    u = cid("__unwatch") | RAW
    parts, [got] = run([exec_request(watched, cmds)],
                       {0: [b":1\r\n", [b"1"]], 1: [[None], None]})
    assert parts == {0: [(cid("incr"), 0, b("INCR", "a")), (cid("mget") | RAW, 0, b("MGET", "a"))],
                     1: [(cid("mget") | RAW, 0, b("MGET", "b")),
                         (u, 0, [b"__unwatch", wire.pack([[0, b"b"]])])]}
    assert got == [b":1\r\n", b"*2\r\n$1\r\n1\r\n$-1\r\n"]


def test_aborted_exec_only_unwatches():
    watched = [[1, 7, 0, b"b", 3], [2, 9, 0, b"d", 1]]
    r = exec_request(watched, [[cid("incr"), 0, b("INCR", "a")]])
    u = cid("__unwatch") | RAW
    parts, [got] = run([r], {1: [None], 2: [None]}, aborted=frozenset({id(r)}))
    assert parts == {1: [(u, 0, [b"__unwatch", wire.pack([[0, b"b"]])])],
                     2: [(u, 0, [b"__unwatch", wire.pack([[0, b"d"]])])]}
    assert got is None


def test_check_watches():
    """One __watchok per shard per transaction; a transaction any of whose shards says
    no is aborted."""
    planner = Planner(TABLE, SLOTS, 3)
    r1 = exec_request([[0, 5, 0, b"a", 1], [1, 6, 0, b"b", 2]], [])
    r2 = exec_request([[1, 6, 0, b"b", 2]], [])
    w = cid("__watchok") | RAW
    sent = {}

    def shards(checks):
        sent.update(checks)
        return {0: [1], 1: [0, 1]}

    assert planner.check_watches([r1, r2], shards) == {id(r1)}
    assert sent == {0: [(w, 0, [b"__watchok", wire.pack([5, [[0, b"a", 1]]])])],
                    1: [(w, 0, [b"__watchok", wire.pack([6, [[0, b"b", 2]]])]),
                        (w, 0, [b"__watchok", wire.pack([6, [[0, b"b", 2]]])])]}


@pytest.mark.parametrize("args,together", [
    (("MGET", "a", "b"), True),
    (("MSET", "a", "1", "b", "2"), True),
    (("FLUSHALL",), True),
    (("RENAME", "a", "b"), False),                 # an operation of its own
    (("SUNIONSTORE", "a", "b", "d"), False),       # run in the scratch store
    (("__cancel", "1"), False),
])
def test_together(args, together):
    assert Planner(TABLE, SLOTS, 3).together(request(*args)) is together


def test_exec_together_unless_watched_or_composite():
    planner = Planner(TABLE, SLOTS, 3)
    incr = [cid("incr"), 0, b("INCR", "a")]
    assert planner.together(exec_request([], [incr]))
    assert not planner.together(exec_request([[0, 1, 0, b"a", 1]], [incr]))
    assert not planner.together(exec_request([], [incr, [cid("rename"), 0, b("RENAME", "a", "b")]]))
    # (RENAME within one shard is no composite)
    assert planner.together(exec_request([], [[cid("rename"), 0, b("RENAME", "a", "c")]]))


def test_cross_declarations():
    """What the coordinator does with each command comes from the table."""
    cross = {s.name: s.cross for s in TABLE.by_id}
    assert cross["mset"] == CROSS_JOIN
    assert cross["__multi"] == CROSS_EXEC
    assert cross["__cancel"] == CROSS_CANCEL
    assert {n for n, c in cross.items() if c == CROSS_PARTS} == {
        "mget", "del", "unlink", "exists", "touch", "keys", "dbsize", "flushdb", "flushall", "swapdb"}
    assert cross["rename"] == cross["msetnx"] == cross["sunionstore"] == CROSS_OP
