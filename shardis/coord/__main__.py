from shardis.assembly import run_coordinator

run_coordinator()
