"""LATENCY's events (Redis 7.0's latency monitor, src/latency.c), as every process keeps
them and as LATENCY merges them.

An event is a name and a series of samples, at most one per second (the highest
latency of that second, in milliseconds), the last 160 kept, with the highest
latency ever seen. A process adds a sample when something took at least
``latency-monitor-threshold`` milliseconds (0: off). The events shardis records:

- ``command`` / ``fast-command``: a command (``fast``: flagged fast) timed where it
  ran: in a shard, in a router, or a coordinator round timed by the router;
- ``coordinator-round``: a command that went through the coordinator, from the
  router's sending it to the answer;
- ``lmdb-commit``: a shard's commit of one batch's LMDB write transaction;
- ``aof-fsync-always``: a shard's fdatasync of its write-ahead log under
  ``durability = always`` (Redis' name for the fsync of appendfsync always);
- ``lmdb-sync``: a shard's fsync of its LMDB environment (everysec's, in the
  background, and a checkpoint's).

The fsyncs run in threads of their own (the log writer, the LMDB syncer): they are
timed there (``SyncTimes``) and folded into the shard's events by its loop.

LATENCY merges the same event of several processes second by second (the highest).
"""

from __future__ import annotations

import collections
import time
from typing import Any, Iterable

SAMPLES = 160  # LATENCY_TS_LEN
MAX, SERIES = 0, 1


def threshold_ns(ms: int) -> int:
    """latency-monitor-threshold (ms; 0: off) as a bound in nanoseconds."""
    return ms * 1_000_000 if ms > 0 else 1 << 62


class SyncTimes:
    """A shard's fsyncs, timed in the threads that run them: how many, their
    nanoseconds (/metrics), and those that took at least ``threshold_ns`` as (event,
    ms, unix second), which the shard's loop folds into its events (``fold``)."""

    def __init__(self) -> None:
        self.count = 0
        self.ns = 0
        self.threshold_ns = 1 << 62
        self.slow: collections.deque = collections.deque()

    def timed(self, event: str, ns: int) -> None:
        self.count += 1
        self.ns += ns
        if ns >= self.threshold_ns:
            self.slow.append((event, ns // 1_000_000, int(time.time())))

    def fold(self, events: dict[str, list]) -> None:
        slow = self.slow
        while slow:
            name, ms, when = slow.popleft()
            add(events, name, ms, when)


def add(events: dict[str, list], name: str, ms: int, now: int) -> None:
    """One sample of ``ms`` milliseconds at unix second ``now``."""
    e = events.get(name)
    if e is None:
        e = events[name] = [0, []]
    if ms > e[MAX]:
        e[MAX] = ms
    series = e[SERIES]
    if series and series[-1][0] == now:
        if ms > series[-1][1]:
            series[-1][1] = ms
        return
    series.append([now, ms])
    if len(series) > SAMPLES:
        del series[0]


def reset(events: dict[str, list], names: list[str] | None) -> list[str]:
    """Forget the events named (case-insensitively; None: all); the names forgotten."""
    if names is None:
        gone = list(events)
    else:
        wanted = {n.lower() for n in names}
        gone = [n for n in events if n.lower() in wanted]
    for n in gone:
        del events[n]
    return gone


def _name(v: Any) -> str:
    return v.decode("latin-1") if isinstance(v, (bytes, bytearray)) else str(v)


def merge(parts: Iterable[Any]) -> dict[str, list]:
    """Several processes' events ({name: [max, [[t, ms], ...]]}) as one."""
    merged: dict[str, list] = {}
    for part in parts:
        if not isinstance(part, dict):
            continue
        for name, (high, series) in part.items():
            key = _name(name)
            e = merged.get(key)
            if e is None:
                e = merged[key] = [0, {}]
            e[MAX] = max(e[MAX], high)
            by_second = e[SERIES]
            for t, ms in series:
                by_second[t] = max(by_second.get(t, 0), ms)
    return {name: [high, [[t, s[t]] for t in sorted(s)][-SAMPLES:]]
            for name, (high, s) in merged.items()}


def latest(events: dict[str, list]) -> list[list]:
    """LATENCY LATEST: [event, time of the last sample, its ms, all-time high] each."""
    return [[name.encode(), e[SERIES][-1][0], e[SERIES][-1][1], e[MAX]]
            for name, e in sorted(events.items()) if e[SERIES]]


def history(events: dict[str, list], name: str) -> list[list[int]]:
    """LATENCY HISTORY: the event's [time, ms] samples, oldest first (none: [])."""
    e = events.get(name)
    return [list(s) for s in e[SERIES]] if e is not None else []


def doctor(events: dict[str, list], threshold_ms: int, slower_than_us: int, fsync_always: bool,
           now: int) -> str:
    """LATENCY DOCTOR's report, as createLatencyReport writes it for the events shardis
    has (no fork, no AOF rewrite; THP is not looked at)."""
    if not events and threshold_ms == 0:
        return ("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this "
                "Redis instance. You may use \"CONFIG SET latency-monitor-threshold "
                "<milliseconds>.\" in order to enable it. If we weren't in a deep space mission "
                "I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n")
    out = []
    advice: set[str] = set()
    for n, (name, (high, series)) in enumerate(sorted(events.items()), 1):
        if n == 1:
            out.append("Dave, I have observed latency spikes in this Redis instance. You don't "
                       "mind talking about it, do you Dave?\n\n")
        samples = len(series)
        avg = sum(ms for _, ms in series) // samples if samples else 0
        mad = sum(abs(avg - ms) for _, ms in series) // samples if samples else 0
        period = max(1, now - min(t for t, _ in series)) if samples else 0
        out.append("%d. %s: %d latency spikes (average %dms, mean deviation %dms, period %.2f "
                   "sec). Worst all time event %dms." % (n, name, samples, avg, mad,
                                                         period / samples if samples else 0.0,
                                                         high))
        lname = name.lower()
        if lname == "command":
            if slower_than_us < 0:
                advice.add("slowlog_enabled")
            elif slower_than_us // 1000 > threshold_ms:
                advice.add("slowlog_tuning")
            advice.update(("slowlog_inspect", "large_objects"))
        elif lname == "fast-command":
            advice.add("scheduler")
        elif lname == "aof-fsync-always" and fsync_always:
            advice.add("relax_fsync")
        out.append("\n")
    if not events:
        out.append("Dave, no latency spike was observed during the lifetime of this Redis "
                   "instance, not in the slightest bit. I honestly think you ought to sit down "
                   "calmly, take a stress pill, and think things over.\n")
        return "".join(out)
    if not advice:
        out.append("\nWhile there are latency events logged, I'm not able to suggest any easy "
                   "fix. Please use the Redis community to get some help, providing this report "
                   "in your help request.\n")
        return "".join(out)
    out.append("\nI have a few advices for you:\n\n")
    if "slowlog_enabled" in advice:
        out.append("- There are latency issues with potentially slow commands you are using. Try "
                   "to enable the Slow Log Redis feature using the command 'CONFIG SET "
                   "slowlog-log-slower-than %d'. If the Slow log is disabled Redis is not able to "
                   "log slow commands execution for you.\n" % (threshold_ms * 1000))
    if "slowlog_tuning" in advice:
        out.append("- Your current Slow Log configuration only logs events that are slower than "
                   "your configured latency monitor threshold. Please use 'CONFIG SET "
                   "slowlog-log-slower-than %d'.\n" % (threshold_ms * 1000))
    if "slowlog_inspect" in advice:
        out.append("- Check your Slow Log to understand what are the commands you are running "
                   "which are too slow to execute. Please check https://redis.io/commands/slowlog "
                   "for more information.\n")
    if "scheduler" in advice:
        out.append("- The system is slow to execute Redis code paths not containing system "
                   "calls. This usually means the system does not provide Redis CPU time to run "
                   "for long periods. You should try to:\n"
                   "  1) Lower the system load.\n"
                   "  2) Use a computer / VM just for Redis if you are running other software in "
                   "the same system.\n"
                   "  3) Check if you have a \"noisy neighbour\" problem.\n"
                   "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic "
                   "latency in your system.\n"
                   "  5) Check if the problem is allocator-related by recompiling Redis with "
                   "MALLOC=libc, if you are using Jemalloc. However this may create fragmentation "
                   "problems.\n")
    if "relax_fsync" in advice:
        out.append("- Your fsync policy is set to 'always'. It is very hard to get good "
                   "performances with such a setup, if possible try to relax the fsync policy to "
                   "'onesec'.\n")
    if "large_objects" in advice:
        out.append("- Deleting, expiring or evicting (because of maxmemory policy) large objects "
                   "is a blocking operation. If you have very large objects that are often "
                   "deleted, expired, or evicted, try to fragment those objects into multiple "
                   "smaller objects.\n")
    return "".join(out)


GRAPH_COLS = 80
GRAPH_ROWS = 4
_FILL = "_o#"  # (the characters of a sample's top, lowest to highest, in its column)


def _ago(seconds: int) -> str:
    if seconds < 60:
        return "%ds" % seconds
    if seconds < 3600:
        return "%dm" % (seconds // 60)
    if seconds < 86400:
        return "%dh" % (seconds // 3600)
    return "%dd" % (seconds // 86400)


def graph(name: str, e: list, now: int) -> str:
    """LATENCY GRAPH: a header, then the samples as a filled sparkline 4 rows high, one
    column per sample (80 a block), each labelled below, vertically, with how long ago
    it was (as Redis' latencyCommandGenSparkeline draws it)."""
    high, series = e[MAX], e[SERIES]
    values = [ms for _, ms in series]
    labels = [_ago(now - t) for t, _ in series]
    lo, hi = min(values), max(values)
    out = ["%s - high %d ms, low %d ms (all time high %d ms)\n" % (name, hi, lo, high),
           "-" * GRAPH_COLS + "\n"]
    span = (hi - lo) or 1
    steps = len(_FILL) * GRAPH_ROWS
    for start in range(0, len(values), GRAPH_COLS):
        if start:
            out.append("\n")
        block = range(start, min(start + GRAPH_COLS, len(values)))
        level = [min(steps - 1, max(0, int(int((values[j] - lo) * steps) / span))) for j in block]
        for row in range(GRAPH_ROWS):
            line = []
            for step in level:
                idx = step - (GRAPH_ROWS - row - 1) * len(_FILL)
                line.append(_FILL[idx] if 0 <= idx < len(_FILL) else "|" if idx >= len(_FILL) else " ")
            out.append("".join(line) + "\n")
        out.append(" " * len(level) + "\n")  # (the margin above the labels)
        longest = max(len(labels[j]) for j in block)
        for k in range(longest):
            out.append("".join(labels[j][k] if k < len(labels[j]) else " " for j in block) + "\n")
    return "".join(out)


def histogram_usec(hist: list[int]) -> dict[int, int]:
    """LATENCY HISTOGRAM's cumulative counts from a power-of-two nanosecond histogram
    (shardis/cmdstats.py), keyed as Redis keys them: the bucket's highest value in
    microseconds (1, 2, 4, 8, 16, 32, 65, 131 ...), the first bucket holding all up
    to 1024 ns; a bucket that adds nothing is left out."""
    out: dict[int, int] = {}
    seen = sum(hist[:11])
    if seen:
        out[1] = seen
    for b in range(11, len(hist)):
        if hist[b]:
            seen += hist[b]
            out[((1 << b) - 1) // 1000] = seen
    return out
