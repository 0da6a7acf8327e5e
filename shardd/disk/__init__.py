"""The on-disk layout of a shard: every byte of it is laid out in this package.

One LMDB environment per shard, with named sub-databases:

``meta``     mkey -> header + payload. mkey = db (1 byte) + slot (2, big-endian)
             + key, so one database's keys are one range and SCAN can walk slots.
             header = type (1: STRING 0, LIST 1, SET 2, ZSET 3, HASH 4, STREAM 5,
             CHUNKED 6) + expire-at ms (8, big-endian, 0 = none) + version (8, big-endian).
             For strings the payload is the value itself (one read per GET); for a
             string longer than ``chunks.INLINE_MAX`` (type CHUNKED, still a "string"
             to every command) it is a head: id, length, chunk size; for a collection
             it is its head, ``COLL``.                         (``keys``, ``chunks``)
``expires``  expire-at ms (8, big-endian) + mkey -> b"": the active sweep walks it
             in time order.                                              (``keys``)
``sys``      b"slotmap" -> json {"shards": n, "index": i}: the slot table this
             data was written under;
             b"count" + db (1) -> number of keys, number of keys with a TTL (8 + 8);
             b"next_id" -> the next collection id (8);
             b"limits" -> msgpack [version, {parameter: value}]: the CONFIG
             settings the data was written under (see ``Store.limits``);
             b"applied" -> the write-ahead log sequence number (8) up to which
             the log's batches are in LMDB (shardd/daemon.py, shardd/wal.py);
             b"txmark" -> the id (8) of the last cross-shard transaction
             committed on this shard (shardd/txn.py).                 (``sysdb``)
``members``  collection id (8) + suffix -> value: every member of every hash,
             set, list and sorted set, one entry each. The suffix is the hash
             field (value: its value), the set member (value: b""), the list
             position (``pos_bytes``; value: the element) or the sorted-set
             member (value: its score, ``score_bytes``); a chunked string's chunks:
             its id + chunk index (8) -> up to the chunk size of its bytes (bytes no
             chunk holds read as zeros).              (``coll``, ``zset``, ``chunks``)
``index``    collection id (8) + suffix -> value: secondary orders.
             Sorted sets: b"s" + score_bytes(score) + member -> b"" (the score
             order) and b"k" + level (1) + sort key -> span (8): the skip list
             that answers ranks.                                         (``zset``)
             Hashes in hashtable encoding: 8-byte blake2b of the field + field
             -> b"" (the order HSCAN and HRANDFIELD walk).               (``hash``)
             Streams: entries in ``members`` under ms + seq (ID order is key
             order); nodes, consumer groups, pending entries by ID and by
             consumer, consumers in ``index`` under a tag byte.        (``stream``)

All integers are big-endian, so LMDB's byte order is their numeric order; scores
and list positions are encoded so that it is too (``score_bytes``, ``pos_bytes``).

A collection's record payload is its head, ``COLL`` (33 bytes): id, member
count, two integers the type uses as it needs (a list's head and tail
positions; a sorted set's top level and its skip list's rule version and head
offset), and an encoding byte (OBJECT ENCODING: 0 while Redis would still use
its compact encoding, 1 once it would have converted; Redis never converts
back). Members live under the id, not the key, so a key's members go with its
head (RENAME, MOVE, SWAPDB move one record), and deleting a collection deletes
every entry under its id.

LMDB keys hold at most 511 bytes: hash fields and set/sorted-set members longer
than ``coll.MAX_MEMBER`` are refused before anything is written.

A string is one value up to ``chunks.INLINE_MAX`` bytes (16 KiB less 16: SET and GET
of it touch one entry); past that it is kept in chunks of that size under an id, as a
collection's members are, so SETBIT, SETRANGE, APPEND and GETRANGE on 64 MB touch one
chunk or two, and deleting or replacing it deletes every entry under its id.

Modules: ``keys`` (meta keys, record headers, the expires index), ``chunks`` (long
strings' heads and chunk keys), ``coll`` (collection heads, member keys, list
positions), ``zset`` (score encoding and the skip list), ``hash`` (the hash index),
``stream`` (stream heads, entries, groups), ``sysdb`` (the ``sys`` entries).
``shardd.storage`` runs the environment and the batches over this layout; the
command families call it and this package, never building or slicing stored
bytes themselves.
"""
