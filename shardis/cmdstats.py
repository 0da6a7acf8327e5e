"""Per-command figures (INFO commandstats and latencystats), as every process keeps them.

A command is counted by the process that runs it: a shard for the commands a router
sends it (inside a transaction's ``__exec`` or a coordinator round too), a router for
its own commands, for what it sends the coordinator (the whole round is the command's
time) and for what it refuses before running (arity, NOAUTH, NOPERM, queue-time
errors). INFO merges every process's figures by name.

One entry per command name, a list [calls, nanoseconds, rejected, failed, histogram],
the histogram counting calls per power-of-two bucket of nanoseconds: bucket b holds
durations d with d.bit_length() == b, i.e. 2**(b-1) <= d < 2**b ns. Percentiles are
read from it with a factor-of-two precision (Redis' HdrHistogram keeps 2 significant
digits); the value shown is the bucket's upper bound in microseconds.
"""

from __future__ import annotations

from typing import Any, Iterable

BUCKETS = 64  # (2**63 ns: every duration has its bucket, unchecked)
CALLS, NS, REJECTED, FAILED, HIST = range(5)



def new_entry() -> list:
    return [0, 0, 0, 0, [0] * BUCKETS]


def entry(stats: dict[str, list], name: str) -> list:
    e = stats.get(name)
    if e is None:
        e = stats[name] = new_entry()
    return e


def record(stats: dict[str, list], name: str, ns: int, failed: bool = False) -> None:
    """One call of ``name`` that took ``ns`` nanoseconds (and answered an error)."""
    e = stats.get(name)
    if e is None:
        e = stats[name] = new_entry()
    e[0] += 1
    e[1] += ns
    if failed:
        e[3] += 1
    e[4][min(ns.bit_length(), BUCKETS - 1)] += 1


def reject(stats: dict[str, list], name: str) -> None:
    """A call of ``name`` refused before it ran."""
    entry(stats, name)[2] += 1


def merge(into: dict[str, list], part: Any) -> None:
    """Add one process's figures ({name: entry}, names as str or bytes) to ``into``."""
    if not isinstance(part, dict):
        return
    for name, e in part.items():
        key = name.decode("latin-1") if isinstance(name, (bytes, bytearray)) else str(name)
        mine = entry(into, key)
        for i in range(4):
            mine[i] += e[i]
        hist = mine[4]
        for i, n in enumerate(e[4][:BUCKETS]):
            hist[i] += n


def compact(stats: dict[str, list]) -> dict[str, list]:
    """``stats`` to send elsewhere: the histograms without their trailing zeros."""
    out = {}
    for name, (calls, ns, rejected, failed, hist) in stats.items():
        end = len(hist)
        while end and not hist[end - 1]:
            end -= 1
        out[name] = [calls, ns, rejected, failed, hist[:end]]
    return out


def commandstats_lines(stats: dict[str, list]) -> list[tuple[str, str]]:
    """INFO commandstats: every command called or refused since the last RESETSTAT, by
    name (Redis shows them in its command table's hash order, which no client relies on)."""
    out = []
    for name in sorted(stats):
        calls, ns, rejected, failed, _ = stats[name]
        if not (calls or rejected or failed):
            continue
        usec = ns // 1000
        per = usec / calls if calls else 0.0
        out.append((f"cmdstat_{name}", f"calls={calls},usec={usec},usec_per_call={per:.2f},"
                                      f"rejected_calls={rejected},failed_calls={failed}"))
    return out


def percentile_usec(hist: list[int], p: float) -> float:
    """The p-th percentile of a histogram, as its bucket's upper bound in microseconds."""
    total = sum(hist)
    if not total:
        return 0.0
    want = max(1, -(-total * p // 100))  # the rank: ceil(total * p / 100)
    seen = 0
    for b, n in enumerate(hist):
        seen += n
        if seen >= want:
            return (1 << b) / 1000.0
    return (1 << (len(hist) - 1)) / 1000.0


def fmt_percentile(p: float) -> str:
    """Redis' percentile labels: p50, p99, p99.9 (%f with trailing zeros cut)."""
    s = ("%f" % p).rstrip("0").rstrip(".")
    return f"p{s}"


def latencystats_lines(stats: dict[str, list], percentiles: Iterable[float]) -> list[tuple[str, str]]:
    """INFO latencystats: the chosen percentiles of every command that was called."""
    ps = list(percentiles)
    out = []
    for name in sorted(stats):
        hist = stats[name][HIST]
        if not stats[name][CALLS] or not sum(hist):
            continue
        if ps:
            value = ",".join(f"{fmt_percentile(p)}={percentile_usec(hist, p):.3f}" for p in ps)
        else:
            value = ""
        out.append((f"latency_percentiles_usec_{name}", value))
    return out


def error_class(msg: str) -> str:
    """How a router-made error counts its command: "unknown" (an unknown subcommand: not
    counted, as Redis finds no command), "rejected" (refused before running), "failed"."""
    if msg.startswith("ERR unknown subcommand"):
        return "unknown"
    if msg.startswith(("ERR wrong number of arguments", "NOAUTH", "NOPERM")):
        return "rejected"
    return "failed"
