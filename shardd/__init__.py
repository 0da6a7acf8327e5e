"""The shard daemon: one LMDB environment, one thread, batches of commands."""
