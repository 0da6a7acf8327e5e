"""The router: speaks RESP to clients, batches their commands per shard."""
