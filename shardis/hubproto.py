"""The pub/sub hub's protocol: the frames routers and shards exchange with the hub
(``shardis/coord/hub.py``), and the identities they use there.

Frames are msgpack lists of operations, handled in order; the hub answers every
operation that carries a token, in the order received (but SET, whose answer
waits for the routers), so an answer means everything the peer sent before it
has been done.

peer -> hub::

    [HELLO, {setting: value}]                forget my registrations; answer CONFIG
    [COUNT, kind, name, n]                   I have n subscribers of name (0: none)
    [SYNC, token]                            answer None
    [PUBLISH, token, kind, channel, message] answer the number of receivers
    [QUERY, token, what, arg]                answer PUBSUB CHANNELS/NUMSUB/... (see ``query``)
    [SET, token, {setting: value}]           CONFIG to every peer (the sender too);
                                             answer the version once every router
                                             has said CONFIGURED (or said HELLO
                                             again, or SET_WAIT seconds passed)
    [CONFIGURED, version]                    a router applied the settings of version
    [NOTIFY, [[channel, message], ...]]      publish each (keyspace events); no answer

hub -> peer::

    [MESSAGE, channel, message]     [PMESSAGE, pattern, channel, message]
    [SMESSAGE, channel, message]    [ANSWER, token, value]
    [CONFIG, {setting: value}, version]
"""

from __future__ import annotations

# Subscription kinds.
CHANNEL, PATTERN, SHARD = 0, 1, 2
KINDS = (CHANNEL, PATTERN, SHARD)

# Operations, peer -> hub.
HELLO, COUNT, SYNC, PUBLISH, QUERY, SET, NOTIFY, CONFIGURED = range(8)
# Operations, hub -> peer.
MESSAGE, PMESSAGE, SMESSAGE, ANSWER, CONFIG = range(10, 15)
# QUERY's questions.
Q_CHANNELS, Q_NUMSUB, Q_NUMPAT, Q_STATS = range(4)


def router_identity(index: int) -> bytes:
    """The ZeroMQ identity of router ``index``: fixed, so a restarted router replaces
    its former self at the hub (its HELLO drops the old registrations)."""
    return b"router-%d" % index


def shard_identity(index: int) -> bytes:
    """The ZeroMQ identity of shard ``index`` at the hub."""
    return b"shard-%d" % index
