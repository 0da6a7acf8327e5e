#!/bin/bash
# SET/GET of shardis (this tree, 2 shards) with and without a MONITOR client attached.
#   bash bench/monitor.sh [port]     prints "repeat mode test P rps" lines (bench/RESULTS.md)
port=${1:-7612}; here=$(cd "$(dirname "$0")/.." && pwd); d=$(mktemp -d)
(cd /tmp && PYTHONPATH=$here python -m shardis.supervisor --port $port --dir $d/data --shards 2 > $d/log 2>&1 &)
for _ in $(seq 100); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.2; done
for rep in 1 2; do
  for mode in none monitor; do
    if [ $mode = monitor ]; then redis-cli -p $port monitor > /dev/null & mpid=$!; sleep 0.5; fi
    for t in set get; do for P in 16 1; do
      n=100000; [ "$P" = 1 ] && n=40000
      r=$(redis-benchmark -p $port -t $t -r 1000000 -n $n -c 50 -P $P --csv | tail -1 | cut -d, -f2 | tr -d '"')
      echo "$rep $mode $t P$P $r"
    done; done
    if [ $mode = monitor ]; then kill $mpid; wait $mpid 2>/dev/null; fi
  done
done
redis-cli -p $port shutdown >/dev/null 2>&1; sleep 1; rm -rf $d
