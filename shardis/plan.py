"""How a command whose keys span shards splits into one part per shard, and how the
parts' replies merge back into one (the router for ALL commands, the coordinator
for multi-key ones)."""

from __future__ import annotations

import random
from typing import Callable, Sequence

from shardis import errors
from shardis.commands import SPLIT_CONCAT, SPLIT_OK, SPLIT_POSITIONAL, SPLIT_RANDOM, SPLIT_SUM, \
    CommandSpec
from shardis.resp import OK, ReplyError


Merge = Callable[[list], object]  # the parts' reply values, in part order -> the reply


def _merge_sum(values: list) -> object:
    return sum(values)


def _merge_ok(values: list) -> object:
    return OK


def _merge_concat(values: list) -> object:
    return [x for v in values for x in v]


def _merge_random(values: list) -> object:
    live = [v for v in values if v is not None]
    return random.choice(live) if live else None


MERGES: dict[str, Merge] = {SPLIT_SUM: _merge_sum, SPLIT_OK: _merge_ok, SPLIT_CONCAT: _merge_concat,
                            SPLIT_RANDOM: _merge_random}


def merge_of(spec: CommandSpec) -> Merge:
    """How the parts' replies of a command that declares a non-positional ``split`` merge."""
    if spec.split is None:
        raise KeyError(f"command {spec.name} declares no split")
    return MERGES[spec.split]


def split(spec: CommandSpec, args: list[bytes], shards: Sequence[int]
          ) -> tuple[list[tuple[int, list[bytes]]], Merge]:
    """([(shard, part args)], merge) for a multi-key command whose n-th key is on
    ``shards[n]``; merge(list of the parts' reply values, in that order) -> the reply.
    Keys/value pairs with one missing (MSET) are refused before any part runs."""
    step = spec.step
    first = spec.first_key
    if spec.last_key < 0 and (len(args) - first) % step:
        raise ReplyError(errors.WRONG_ARITY % spec.name)
    groups: dict[int, list[int]] = {}
    for n, shard in enumerate(shards):
        groups.setdefault(shard, []).append(n)
    order = list(groups.items())
    total = len(shards)
    merge: Merge
    if spec.split == SPLIT_POSITIONAL:
        def merge(values: list) -> object:
            res: list = [None] * total
            for (_, idxs), v in zip(order, values):
                for j, n in enumerate(idxs):
                    res[n] = v[j]
            return res
    else:
        merge = merge_of(spec)
    name = args[0]
    tail = args[first + (len(shards) - 1) * step + step:] if spec.last_key >= 0 else []
    parts: list[tuple[int, list[bytes]]] = []
    for shard, idxs in order:
        sub = [name]
        for n in idxs:
            p = first + n * step
            sub.extend(args[p:p + step])
        sub.extend(tail)
        parts.append((shard, sub))
    return parts, merge
