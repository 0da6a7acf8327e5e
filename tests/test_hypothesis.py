"""A Hypothesis state machine (after fakeredis' test_hypothesis.py): random sequences of
string and key commands go to shardis and to redis-server 7.0, every reply compared
byte for byte.

Keys come from a small set spread over the 3 shards (with hash tags keeping some
together), values from a small set of integers, floats, empty and binary strings,
so that commands meet each other's keys and types. Relative TTLs are large and
all different (each one drawn is further from its neighbours than a test run is
long), so that EXPIRE's GT/LT and TTL give the same answers on both servers however
long a command takes; TTL itself is compared to within a second.

Commands that shardis does not have yet ("unknown command") are left out at the
start, and printed: the test gets stronger as the families land.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from shardis.slots import key_slot, slot_table
from tests.helpers import Pair, RawClient, parse_reply

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
    b"MGET": cmd(b"MGET", some_keys),
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
    b"DEL": cmd(b"DEL", some_keys),
    b"EXISTS": cmd(b"EXISTS", some_keys),
    b"TYPE": cmd(b"TYPE", keys),
    b"EXPIRE": cmd(b"EXPIRE", keys, seconds, expire_flag()),
    b"PEXPIRE": cmd(b"PEXPIRE", keys, millis, expire_flag()),
    b"PERSIST": cmd(b"PERSIST", keys),
    b"TTL": cmd(b"TTL", keys),
    b"RENAME": cmd(b"RENAME", keys, keys),
    b"RENAMENX": cmd(b"RENAMENX", keys, keys),
    b"COPY": cmd(b"COPY", keys, keys, st.lists(st.sampled_from(
        [[b"REPLACE"], [b"DB", b"0"], [b"DB", b"1"], [b"DB", b"2"]]), max_size=2).map(flat)),
    b"DBSIZE": cmd(b"DBSIZE"),
    b"FLUSHDB": cmd(b"FLUSHDB", st.sampled_from([[], [b"ASYNC"], [b"SYNC"]])),
    b"SELECT": cmd(b"SELECT", st.sampled_from([b"0", b"1", b"2", b"16", b"-1", b"x"])),
}
# How often each is drawn: the common ones more, the emptying ones less.
WEIGHTS = {b"SET": 6, b"GET": 3, b"MSET": 2, b"FLUSHDB": 1, b"SELECT": 1}

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


def test_key_set_spans_the_shards():
    assert {SHARD_OF[key_slot(k)] for k in KEYS} == {0, 1, 2}
    assert SHARD_OF[key_slot(b"{t}1")] == SHARD_OF[key_slot(b"{t}2")]


@pytest.mark.parametrize("protocol", [2, 3], ids=["RESP2", "RESP3"])
def test_random_command_sequences(shardis_server, redis_server, protocol):
    have, missing = available_commands(shardis_server.port)
    print(f"\nhypothesis state machine: {len(have)} commands; skipped (unknown to shardis): "
          + (", ".join(m.decode() for m in missing) or "none"))
    assert have, "shardis answers none of the commands"
    names = [n for n in have for _ in range(WEIGHTS.get(n, 2))]
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

        @rule(args=command)
        def run_command(self, args) -> None:
            self.step += 1
            argv = [self.resolve(a) for a in args]
            sent[argv[0]] = sent.get(argv[0], 0) + 1
            if argv[0] == b"TTL":
                got, want = (parse_reply(r) for r in self.pair.both(*argv))
                assert got == want or (got >= 0 and want >= 0 and abs(got - want) <= 1), \
                    f"{argv!r}: shardis {got!r}, redis {want!r}"
            else:
                self.pair.check(*argv)

        def teardown(self) -> None:
            self.pair.close()

    run_state_machine_as_test(Machine, settings=settings(
        max_examples=300 if protocol == 2 else 150, stateful_step_count=50, deadline=None, derandomize=True,
        database=None, print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]))
    print(f"hypothesis state machine: {sum(sent.values())} commands sent, "
          + ", ".join(f"{n.decode()} {c}" for n, c in sorted(sent.items())))
