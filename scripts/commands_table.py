"""Print the supported commands as a Markdown table, from the command table itself.

    python scripts/commands_table.py > /tmp/t.md   # then paste into docs/COMPATIBILITY.md
"""

from __future__ import annotations

from collections import defaultdict

from shardis.assembly import build_table
from shardis.commands import ALL, COORD, KEYS, LOCAL, SCRIPT

WHERE = {LOCAL: "router", KEYS: "its key's shard", ALL: "every shard",
         COORD: "its keys' shard, or the coordinator",
         SCRIPT: "its declared keys' shard; the coordinator when they span shards or the script "
                 "reaches another shard's key"}
MULTI_KEY = "its keys' shard, or the coordinator when they span shards"


def main() -> None:
    table = build_table()
    groups: dict[str, list] = defaultdict(list)
    for spec in table.public():
        groups[spec.group].append(spec)
    print("| group | commands | where they run |")
    print("|---|---|---|")
    for group in sorted(groups):
        specs = sorted(groups[group], key=lambda s: s.name)
        by_where: dict[str, list[str]] = defaultdict(list)
        for s in specs:
            where = WHERE.get(s.route, s.route)
            if s.route in (KEYS, COORD) and (s.getkeys is not None or s.reach is not None
                                             or s.last_key != s.first_key):
                where = MULTI_KEY
            by_where[where].append(s.name.upper())
        for where, names in by_where.items():
            print(f"| {group} | {', '.join(names)} | {where} |")


if __name__ == "__main__":
    main()
