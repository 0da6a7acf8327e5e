"""Where the coordinator keeps the server's save state (shardis/coord/saver.py writes
it on each change; every router reads it for LASTSAVE and INFO persistence):
``dir/coordinator/rdb-state.json``, JSON {lastsave, status, last_time_sec, saves,
started (time.time() of the save running, 0: none)}."""

from __future__ import annotations

import json
import os
from typing import Any, cast

from shardis.config import Config

STATE_FILE = "rdb-state.json"


def state_path(cfg: Config) -> str:
    return os.path.join(cfg.dir, "coordinator", STATE_FILE)


def read_state(cfg: Config) -> dict[str, Any] | None:
    """The save state as the coordinator last wrote it (None: none yet)."""
    try:
        with open(state_path(cfg)) as f:
            return cast(dict, json.load(f))
    except (OSError, ValueError):
        return None
