"""Server commands answered by the router: COMMAND, CONFIG, INFO, TIME ..."""

from __future__ import annotations

from shardis.commands import CommandTable


def register(table: CommandTable) -> None:
    """Server commands; filled in by the server-commands work."""
