from shardis.assembly import run_shard

run_shard()
