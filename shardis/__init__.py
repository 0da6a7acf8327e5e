"""shardis: a Redis-compatible, durable key-value server on LMDB."""

__version__ = "0.1.0"
REDIS_VERSION = "7.0.15"
