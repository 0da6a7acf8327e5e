#!/bin/bash
# A/B of single-shard SET/GET: shardis at an older commit against this tree, 2 shards,
# alternating which runs first, 3 repeats; redis-benchmark -r 1000000 -c 50.
#   bash bench/ab.sh <old commit> [port]
# Prints "repeat version test P rps" lines; compare medians (see bench/RESULTS.md).
set -e
old=${1:?usage: bench/ab.sh <old commit> [port]}
port=${2:-7501}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
git -C "$here" archive "$old" | tar -x -C "$work"
trap 'redis-cli -p $port shutdown >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
start() {  # code dir, data dir
  rm -rf "$2"
  (cd /tmp && PYTHONPATH=$1 python -m shardis.supervisor --port "$port" --dir "$2" --shards 2 \
     > "$2.log" 2>&1 &)
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return; sleep 0.2; done
  echo "shardis ($1) did not start" >&2; exit 1
}
stop() { redis-cli -p "$port" shutdown >/dev/null 2>&1 || true; sleep 1; }
for rep in 1 2 3; do
  order="new old"; [ $((rep % 2)) = 0 ] && order="old new"
  for v in $order; do
    code=$work; [ "$v" = new ] && code=$here
    start "$code" "$work/data-$v"
    for t in set get; do for P in 16 1; do
      n=200000; [ "$P" = 1 ] && n=60000
      r=$(redis-benchmark -p "$port" -t $t -r 1000000 -n $n -c 50 -P $P --csv | tail -1 | cut -d, -f2 | tr -d '"')
      echo "$rep $v $t P$P $r"
    done; done
    stop
  done
done
