"""SORT and SORT_RO (issue 3): not written yet; neither is registered, so each
answers Redis' unknown-command error until it is."""

from __future__ import annotations

from shardis.commands import CommandTable


def register(table: CommandTable) -> None:
    """SORT and SORT_RO, declared as Redis 7.0's COMMAND INFO describes them."""
