"""The coordinator process: cross-shard rounds (coordinator), their scratch store, the pub/sub hub."""
