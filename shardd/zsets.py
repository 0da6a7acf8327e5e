"""The sorted set commands (issue 3): not written yet; none is registered, so each
answers Redis' unknown-command error until it is."""

from __future__ import annotations

from shardis.commands import CommandTable


def register(table: CommandTable) -> None:
    """The sorted set commands, each declared as Redis 7.0's COMMAND INFO describes it."""
