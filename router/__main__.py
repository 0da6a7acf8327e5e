from shardis.assembly import run_router

run_router()
