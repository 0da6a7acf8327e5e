"""WATCH's bookkeeping on a shard: which router's clients watch which keys.

The keys' versions and tombs are the store's (``Keyspace.watch``, shardd/txn.py's
``__watch``/``__unwatch``); the daemon runs those commands through ``Watches`` so it
also counts each registration per router: the watches of a router that dies are
dropped (``forget_dead_routers``), since nobody would UNWATCH them and the keys
would stay watched, and keep their tombs, for good.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Callable, Iterable

from shardis import wire
from shardis.commands import CommandTable
from shardis.shardd.storage import Keyspace

if TYPE_CHECKING:
    from shardis.shardd.daemon import Shard


class Watches:
    """router identity -> Counter of the (db, key) its clients watch on this shard."""

    def __init__(self, shard: Shard, table: CommandTable) -> None:
        self.shard = shard
        self.watchers: dict[bytes, collections.Counter] = {}
        # This batch's count changes, (router, (db, key), +1/-1): undone if it rolls back.
        self.journal: list[tuple[bytes, tuple, int]] = []
        # the commands' own handlers (shardd/txn.py), which these wrap
        family_watch = table.by_name[b"__watch"].handler
        family_unwatch = table.by_name[b"__unwatch"].handler
        assert family_watch is not None and family_unwatch is not None
        self.family_watch: Callable = family_watch
        self.family_unwatch: Callable = family_unwatch

    def watch(self, ks: Keyspace, db: int, args: list):
        """``__watch``, counted for the router of the message being run."""
        ident = self.shard.cur_ident
        c = self.watchers.get(ident)
        if c is None:
            c = self.watchers[ident] = collections.Counter()
        for key in args[1:]:
            c[(db, key)] += 1
            self.journal.append((ident, (db, key), 1))
        return self.family_watch(ks, db, args)

    def undo(self) -> None:
        """The batch's transaction was rolled back (it runs again): so are its counts."""
        journal, self.journal = self.journal, []
        for ident, item, delta in reversed(journal):
            c = self.watchers.get(ident)
            if c is None:
                c = self.watchers[ident] = collections.Counter()
            n = c[item] - delta
            if n > 0:
                c[item] = n
            else:
                c.pop(item, None)
            if not c:
                self.watchers.pop(ident, None)

    def unwatch(self, ks: Keyspace, db: int, args: list):
        """``__unwatch``: args[1] packs [[db, key], ...]."""
        self.uncount(wire.unpack(args[1]))
        return self.family_unwatch(ks, db, args)

    def uncount(self, items: Iterable) -> None:
        """The current router's clients unwatched these (db, key)."""
        ident = self.shard.cur_ident
        c = self.watchers.get(ident)
        if c is None:
            return
        for wdb, key in items:
            n = c[(wdb, key)] - 1
            if n >= 0:
                self.journal.append((ident, (wdb, key), -1))
            if n > 0:
                c[(wdb, key)] = n
            else:
                c.pop((wdb, key), None)
        if not c:
            del self.watchers[ident]

    def forget_dead_routers(self) -> None:
        """Drop the WATCHes of the clients of routers that died."""
        for ident in [i for i in self.watchers if not wire.router_alive(i)]:
            self.shard.store.unwatch(list(self.watchers.pop(ident).elements()))
