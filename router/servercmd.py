"""Server commands answered by the router: SHUTDOWN, WAIT, ROLE, LOLWUT and DEBUG.

- SHUTDOWN stops the whole server as SIGTERM does: the router signals the supervisor
  (its pid is in the environment the supervisor gives its children), which stops the
  routers, then the coordinator, then the shards, which commit; it exits with status 0.
  The client gets no reply: its connection closes as the router stops, as Redis' does
  when it exits. As in Redis 7.0 it saves first (an RDB snapshot: router/persistence.py)
  with SAVE, or when a ``save`` schedule is set and NOSAVE is not given; a save running
  then is waited for and a new one taken. A failed save keeps the server up and answers
  "Errors trying to SHUTDOWN. Check logs.", unless FORCE. NOW changes nothing (there are
  no replicas to wait for). ABORT answers "No shutdown in progress." (a shutdown here
  never waits for anything but its save, which is not cancelled).
- WAIT: shardis has no replicas, so it answers 0: at once when fewer than one replica is
  asked for (or inside EXEC, as Redis answers a client that may not block), else after
  the timeout, the client held meanwhile (timeout 0: until it disconnects).
- DEBUG, refused unless ``enable-debug-command`` allows it (as Redis): SLEEP makes every
  shard and the caller's router sleep (Redis stops its one process; the other routers
  still answer what they answer themselves, PING, INFO ...), OBJECT asks the key's
  shard, SET-ACTIVE-EXPIRE switches every shard's expiry sweep, POPULATE has every
  shard create the keys it owns, ERROR, LOG and PROTOCOL answer as Redis', RELOAD fsyncs every
  shard as SAVE does (nothing to load: what is served is on disk; with NOSAVE it does
  nothing), CHANGE-REPL-ID is a no-op (no replication ids matter), DIGEST and
  DIGEST-VALUE give Redis' digests, whatever the shard count (every shard computes its
  part: shardd/digest.py, shardis/digest.py). The subcommands that cannot apply (JMAP
  ...) answer Redis' unknown-subcommand error.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import random
import signal
import struct
import time
from typing import TYPE_CHECKING

from shardis import REDIS_VERSION, configtable, digest, errors
from shardis.args import int_arg
from shardis.commands import LOCAL, CommandTable
from shardis.resp import OK, ReplyError, Simple, Verbatim, encode_error, string2ll
from shardis.router.connection import help_reply, text
from shardis.router.later import all_ok, answer_later, answer_timed
from shardis.router import persistence
from shardis.router.objectcmd import ask
from shardis.router.replies import Slot

if TYPE_CHECKING:
    from shardis.router.app import Client

# The supervisor's pid, which it puts in its children's environment (shardis/supervisor.py).
SUPERVISOR_PID_ENV = "SHARDIS_SUPERVISOR_PID"

log = logging.getLogger("router")
_SAVE = configtable.param("save")


# ---------------------------------------------------------------- SHUTDOWN


def shutdown(conn: Client, args: list[bytes]) -> Slot:
    """SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], checked as Redis' shutdownCommand."""
    flags: set[bytes] = set()
    abort = False
    for a in args[1:]:
        word = a.lower()
        if word in (b"nosave", b"save", b"now", b"force"):
            flags.add(word)
        elif word == b"abort":
            abort = True
        else:
            raise ReplyError(errors.SYNTAX)
    if (abort and flags) or {b"nosave", b"save"} <= flags:
        raise ReplyError(errors.SYNTAX)
    if abort:
        raise ReplyError(errors.NO_SHUTDOWN)  # (a shutdown never waits here: none to abort)
    log.warning("User requested shutdown (client %d)...", conn.id)
    # No reply: the client is held (and no longer read) until the router stops and closes it.
    slot = Slot((None, conn))
    conn.held = True
    router = conn.router
    schedule = str(configtable.get_value(router.cfg, _SAVE)).strip()
    if b"save" in flags or (schedule and b"nosave" not in flags):
        force = b"force" in flags

        def saved(error: bytes | None) -> None:
            if error is None or force:
                if error is not None:
                    log.warning("Error trying to save the DB: FORCE given, exiting anyway")
                stopping(conn)
                return
            log.warning("Error trying to save the DB, can't exit.")
            log.warning("Errors trying to shut down the server. Check the logs for more information.")
            if conn.closing:
                return
            slot[0] = encode_error(errors.SHUTDOWN_FAILED)
            conn.release()

        log.warning("Saving the final RDB snapshot before exiting.")
        persistence.save_now(router, saved, retry=True)
        return slot
    stopping(conn)
    return slot


def stopping(conn: Client) -> None:
    """Stop the server; the client that asked is no longer read."""
    if conn.transport is not None:
        conn.transport.pause_reading()
    stop_server()


def stop_server() -> None:
    """Ask the supervisor to stop everything (as a SIGTERM to it does); a router run on its
    own stops itself."""
    pid = string2ll(os.environ.get(SUPERVISOR_PID_ENV, "").encode())
    os.kill(pid if pid is not None and pid > 0 else os.getpid(), signal.SIGTERM)


# ---------------------------------------------------------------- WAIT and ROLE


def wait(conn: Client, args: list[bytes]) -> int | Slot:
    """WAIT numreplicas timeout: no replica ever acknowledges, so 0."""
    numreplicas = int_arg(args[1])
    timeout = string2ll(args[2])
    if timeout is None:
        raise ReplyError(errors.TIMEOUT_NOT_INTEGER)
    if timeout < 0:
        raise ReplyError(errors.TIMEOUT_NEGATIVE)
    # Inside EXEC (the command the client sent was EXEC) a client may not block: at once.
    if numreplicas <= 0 or conn.last_cmd != "wait":
        return 0
    return hold(conn, timeout / 1000, 0)


def hold(conn: Client, seconds: float, value: object) -> Slot:
    """Hold ``conn`` for ``seconds`` (0: until it disconnects), then answer ``value``."""
    slot = Slot((None, conn))
    conn.held = True
    if seconds <= 0:
        return slot
    loop = conn.router.loop
    assert loop is not None, "runs on the loop"

    def done() -> None:
        if conn.closing:
            return
        slot[0] = conn.encode(value)
        conn.release()

    loop.call_later(seconds, done)
    return slot


def role(conn: Client, args: list[bytes]) -> list:
    return [b"master", 0, []]


# ---------------------------------------------------------------- LOLWUT


def lolwut(conn: Client, args: list[bytes]) -> Verbatim:
    """LOLWUT [VERSION v] [args]: Redis 7.0's own output is its version line; VERSION 5 and 6
    draw the art of those versions (random, as Redis draws it)."""
    version = REDIS_VERSION
    if len(args) >= 3 and args[1].lower() == b"version":
        version = "%d.0.0" % (int_arg(args[2]) & 0xFFFFFFFF)  # (C's "%u" of the long)
        args = args[:1] + args[3:]
    if version[:2] == "5." and version[2:3] != "9" or version[:3] == "4.9":
        return lolwut5(args)
    if version[:2] == "6." and version[2:3] != "9" or version[:3] == "5.9":
        return lolwut6(args)
    return Verbatim(b"Redis ver. %s\n" % REDIS_VERSION.encode())


def _long_args(args: list[bytes], defaults: tuple[int, ...]) -> list[int]:
    return [int_arg(args[i + 1]) if len(args) > i + 1 else d for i, d in enumerate(defaults)]


def _clamp(v: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, v))


def _f32(v: float) -> float:
    """``v`` as a C float holds it (the art's sizes are computed in floats)."""
    return float(struct.unpack("f", struct.pack("f", v))[0])


def _c_round(v: float) -> int:
    """C's round(): halves away from zero."""
    return int(math.floor(v + 0.5)) if v >= 0 else -int(math.floor(-v + 0.5))


class Canvas:
    """A grid of pixels, each a color number (Redis' lwCanvas)."""

    def __init__(self, width: int, height: int, color: int) -> None:
        self.width = width
        self.height = height
        self.pixels = [color] * (width * height)

    def put(self, x: int, y: int, color: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[x + y * self.width] = color

    def get(self, x: int, y: int) -> int:
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.pixels[x + y * self.width]
        return 0

    def line(self, x1: int, y1: int, x2: int, y2: int, color: int) -> None:
        """Bresenham's line."""
        dx, dy = abs(x2 - x1), abs(y2 - y1)
        sx = 1 if x1 < x2 else -1
        sy = 1 if y1 < y2 else -1
        err = dx - dy
        while True:
            self.put(x1, y1, color)
            if x1 == x2 and y1 == y2:
                return
            e2 = err * 2
            if e2 > -dy:
                err -= dy
                x1 += sx
            if e2 < dx:
                err += dx
                y1 += sy

    def square(self, x: int, y: int, size: float, angle: float, color: int) -> None:
        """A square centred at x, y, its diagonal ``size``, turned by ``angle``."""
        size = _f32(float(_c_round(_f32(size / 1.4142135623))))
        k = _f32(math.pi / 4 + angle)
        px, py = [], []
        for _ in range(4):
            px.append(_c_round(math.sin(k) * size + x))
            py.append(_c_round(math.cos(k) * size + y))
            k = _f32(k + math.pi / 2)
        for j in range(4):
            self.line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color)

    def braille(self) -> bytes:
        """Eight pixels (2 x 4) per braille character, a line per four rows."""
        out = []
        for y in range(0, self.height, 4):
            row = []
            for x in range(0, self.width, 2):
                bits = 0
                for bit, (dx, dy) in enumerate(((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2),
                                                (0, 3), (1, 3))):
                    if self.get(x + dx, y + dy):
                        bits |= 1 << bit
                row.append(chr(0x2800 + bits))
            out.append("".join(row) + ("\n" if y != self.height - 1 else ""))
        return "".join(out).encode()

    def grays(self) -> bytes:
        """A character cell per pixel, its colors set by ANSI escapes."""
        codes = {0: b"0;30;40m", 1: b"0;90;100m", 2: b"0;37;47m", 3: b"0;97;107m"}
        out = []
        for y in range(self.height):
            row = b"".join(b"\033[%s \033[0m" % codes.get(c, codes[0])
                           for c in self.pixels[y * self.width:(y + 1) * self.width])
            out.append(row + (b"\n" if y != self.height - 1 else b""))
        return b"".join(out)


def lolwut5(args: list[bytes]) -> Verbatim:
    """Georg Nees' "Schotter": [columns [squares per row [squares per column]]]."""
    cols, per_row, per_col = _long_args(args, (66, 8, 12))
    cols, per_row, per_col = _clamp(cols, 1, 1000), _clamp(per_row, 1, 200), _clamp(per_col, 1, 200)
    width = cols * 2
    padding = 2 if width > 4 else 0
    side = _f32(_f32(float(width - padding * 2)) / per_row)
    height = int(_f32(_f32(side * per_col) + padding * 2))
    canvas = Canvas(width, height, 0)
    half = _f32(side / 2)
    for y in range(per_col):
        for x in range(per_row):
            sx = int(_f32(_f32(_f32(x * side) + half) + padding))
            sy = int(_f32(_f32(_f32(y * side) + half) + padding))
            angle = 0.0
            if y > 1:  # lower rows are turned and moved, more and more
                r1, r2, r3 = (random.random() / per_col * y * random.choice((-1, 1)) for _ in range(3))
                angle = r1
                sx = int(sx + r2 * side / 3)
                sy = int(sy + r3 * side / 3)
            canvas.square(sx, sy, side, angle, 1)
    return Verbatim(canvas.braille() + b"\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. "
                    + REDIS_VERSION.encode() + b"\n")


def _skyscraper(canvas: Canvas, xoff: int, width: int, height: int, windows: bool, color: int) -> None:
    starty = canvas.height - 1
    endy = starty - height + 1
    for y in range(starty, endy - 1, -1):
        for x in range(xoff, xoff + width):
            if y == endy and (x <= xoff + 1 or x >= xoff + width - 2):
                continue  # the roof is four pixels narrower
            c = color
            if windows and xoff + 1 < x < xoff + width - 2 and endy + 1 < y < starty - 1:
                relx, rely = x - (xoff + 1), y - (endy + 1)
                if relx // 2 % 2 and rely % 2:  # windows two pixels wide, one high
                    c = 1 + random.randrange(2)
                    while c == color:
                        c = 1 + random.randrange(2)
                    if relx % 2:
                        c = canvas.get(x - 1, y)
            canvas.put(x, y, c)


def lolwut6(args: list[bytes]) -> Verbatim:
    """A skyline after Plaguemon by hikikomori: [columns [rows]]."""
    cols, rows = _long_args(args, (80, 20))
    canvas = Canvas(_clamp(cols, 1, 1000), _clamp(rows, 1, 1000), 3)
    h = canvas.height
    for color in (2, 1):  # two grays behind, without windows
        offset = -10
        while offset < canvas.width:
            offset += random.randrange(8)
            width = 10 + random.randrange(9)
            height = h // 2 + random.randrange(h) // (2 if color == 2 else 3)
            _skyscraper(canvas, offset, width, height, False, color)
            offset += width // 2 if color == 2 else width + 1
    offset = -10
    while offset < canvas.width:  # black in front, with windows
        offset += random.randrange(8)
        width = 5 + random.randrange(14)
        if width % 4:
            width += width % 3
        height = h // 3 + random.randrange(h) // 2
        _skyscraper(canvas, offset, width, height, True, 0)
        offset += width + 5
    return Verbatim(canvas.grays() + b"\nDedicated to the 8 bit game developers of past and present.\n"
                    b"Original 8 bit image from Plaguemon by hikikomori. Redis ver. "
                    + REDIS_VERSION.encode() + b"\n")


# ---------------------------------------------------------------- DEBUG

# Redis' DEBUG HELP lines for the subcommands shardis answers, in Redis' order and words.
DEBUG_HELP = (
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
)

_ENABLE_DEBUG = configtable.param("enable-debug-command")
_LIST_FILL = configtable.param("list-max-listpack-size")
_LIST_COMPRESS = configtable.param("list-compress-depth")


def debug_allowed(conn: Client) -> bool:
    """Redis' allowProtectedAction for enable-debug-command: yes, or local and the client
    comes from this host."""
    mode = configtable.get_value(conn.router.cfg, _ENABLE_DEBUG)
    if mode == "yes":
        return True
    if mode != "local":
        return False
    host = conn.addr.rsplit(":", 1)[0].strip("[]")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def c_atof(arg: bytes) -> float:
    """C's strtod on an argument: the longest number at its start, 0 when there is none."""
    s = arg.split(b"\0", 1)[0].lstrip(b" \t\n\v\f\r")
    for end in range(len(s), 0, -1):
        try:
            return float(s[:end])
        except ValueError:
            continue
    return 0.0


def c_atoi(arg: bytes) -> int:
    """C's atoi: the digits at the start (after spaces and a sign), 0 when none."""
    s = arg.split(b"\0", 1)[0].lstrip(b" \t\n\v\f\r")
    sign = -1 if s[:1] == b"-" else 1
    if s[:1] in (b"-", b"+"):
        s = s[1:]
    n = 0
    while n < len(s) and 48 <= s[n] <= 57:
        n += 1
    return sign * int(s[:n]) if n else 0


def busy(conn: Client, seconds: float) -> Slot:
    """DEBUG SLEEP: Redis' whole process sleeps. Here every shard sleeps (their clients'
    commands, through any router, wait) and so does this router's loop (its clients wait,
    PING too); the reply comes once the shards are awake."""
    router = conn.router
    slot = router.fanout(conn, router.by_name[b"__debugsleep"], 0, [b"__debugsleep", b"%r" % seconds],
                         all_ok)
    router.flush()  # (the shards start now, beside this router)
    time.sleep(seconds)
    return slot


def _positive(arg: bytes) -> int:
    """Redis' getPositiveLongFromObjectOrReply, its message for anything else."""
    v = string2ll(arg)
    if v is None or v < 0:
        raise ReplyError(errors.DEBUG_POSITIVE)
    return v


_ATTRIB_REPLY = b"$39\r\nSome real reply following the attribute\r\n"
_PUSH_REPLY = b"$40\r\nSome real reply following the push reply\r\n"
# DEBUG PROTOCOL's test values: name -> (RESP2 bytes, RESP3 bytes)
_PROTOCOL = {
    b"string": (b"$11\r\nHello World\r\n",) * 2,
    b"integer": (b":12345\r\n",) * 2,
    b"double": (b"$5\r\n3.141\r\n", b",3.141\r\n"),
    b"bignum": (b"$37\r\n1234567999999999999999999999999999999\r\n",
                b"(1234567999999999999999999999999999999\r\n"),
    b"null": (b"$-1\r\n", b"_\r\n"),
    b"array": (b"*3\r\n:0\r\n:1\r\n:2\r\n",) * 2,
    b"set": (b"*3\r\n:0\r\n:1\r\n:2\r\n", b"~3\r\n:0\r\n:1\r\n:2\r\n"),
    b"map": (b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n", b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"),
    b"attrib": (_ATTRIB_REPLY,
                b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n" + _ATTRIB_REPLY),
    b"push": (b"", b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n" + _PUSH_REPLY),
    b"verbatim": (b"$25\r\nThis is a verbatim\nstring\r\n", b"=29\r\ntxt:This is a verbatim\nstring\r\n"),
    b"true": (b":1\r\n", b"#t\r\n"),
    b"false": (b":0\r\n", b"#f\r\n"),
}


def debug_protocol(conn: Client, name: bytes) -> bytes:
    """DEBUG PROTOCOL <type>: Redis' test value of that type, in the client's protocol."""
    pair = _PROTOCOL.get(name.lower())
    if pair is None:
        raise ReplyError(errors.DEBUG_PROTOCOL_NAME)
    if conn.resp == 2 and name.lower() == b"push":
        raise ReplyError(errors.DEBUG_PROTOCOL_RESP2_PUSH)
    return pair[1] if conn.resp == 3 else pair[0]


def _status(values: list) -> Simple:
    """The shard's line (bytes) as the status reply Redis gives."""
    return Simple(values[0].decode())


def debug(conn: Client, args: list[bytes]) -> object:
    if not debug_allowed(conn):
        raise ReplyError(errors.DEBUG_NOT_ALLOWED)
    sub = args[1].lower()
    n = len(args)
    if sub == b"help" and n == 2:
        return help_reply(DEBUG_HELP)
    if sub == b"sleep" and n == 3:
        seconds = c_atof(args[2])
        # (whole microseconds, as Redis sleeps; no sleep for a negative or absurd time)
        seconds = int(seconds * 1_000_000) / 1_000_000 if 0 < seconds < 1e9 else 0.0
        if seconds <= 0:
            return OK
        return busy(conn, seconds)
    if sub == b"object" and n == 3:
        cfg = conn.router.cfg
        packing = str(configtable.get_value(cfg, _LIST_FILL)).encode()
        depth = str(configtable.get_value(cfg, _LIST_COMPRESS)).encode()
        return ask(conn, b"__debugobject", [b"__debugobject", args[2], packing, depth], args[2],
                   _status)
    if sub == b"set-active-expire" and n == 3:
        router = conn.router
        flag = b"1" if c_atoi(args[2]) else b"0"
        return router.fanout(conn, router.by_name[b"__activeexpire"], conn.db,
                             [b"__activeexpire", flag], all_ok)
    if sub == b"reload":
        opts = {opt.lower() for opt in args[2:]}
        if not opts <= {b"merge", b"noflush", b"nosave"}:
            raise ReplyError(errors.DEBUG_RELOAD_OPTIONS)
        if b"nosave" in opts:
            return OK  # the dataset on disk is the one served: nothing to load
        # "Save, then load": the snapshot is written as SAVE writes it (dir/dbfilename);
        # what is served is what is on disk already, so nothing is loaded back.
        slot, fill = answer_timed(conn, args)  # (its time is the whole save's, as Redis')
        persistence.save_now(conn.router, lambda error: fill(error if error is not None else b"+OK\r\n"))
        return slot
    if sub == b"change-repl-id" and n == 2:
        return OK  # no replicas, no replication ids that matter
    if sub == b"populate" and 3 <= n <= 5:
        count = _positive(args[2])
        prefix = args[3].split(b"\0", 1)[0] if n >= 4 else b"key"  # (Redis reads a C string)
        size = _positive(args[4]) if n == 5 else 0
        router = conn.router
        return router.fanout(conn, router.by_name[b"__populate"], conn.db,
                             [b"__populate", b"%d" % count, prefix, b"%d" % size], all_ok)
    if sub == b"error" and n == 3:
        msg = args[2].replace(b"\r", b" ").replace(b"\n", b" ")
        conn.router.count_error(msg.decode("latin-1"))
        return Slot((b"-" + msg + b"\r\n", conn))
    if sub == b"log" and n == 3:
        log.warning("DEBUG LOG: %s", args[2].split(b"\0", 1)[0].decode(errors="replace"))
        return OK
    if sub == b"protocol" and n == 3:
        return Slot((debug_protocol(conn, args[2]), conn))
    if sub == b"digest" and n == 2:
        # Every shard's part of the dataset's digest (shardd/digest.py), put together here.
        router = conn.router
        return router.fanout(conn, router.by_name[b"__digest"], 0, [b"__digest"],
                             lambda parts: Simple(digest.combine(parts)))
    if sub == b"digest-value":
        router = conn.router
        return router.fanout(conn, router.by_name[b"__digestvalue"], conn.db, [b"__digestvalue", *args[2:]],
                             lambda parts: [Simple(d) for d in digest.combine_values(parts)])
    raise ReplyError(errors.SUBCOMMAND_SYNTAX % (text(args[1][:128]), "DEBUG"))


# ---------------------------------------------------------------- the command table


def register(table: CommandTable) -> None:
    cmd = table.command
    cmd("shutdown", -1, "admin noscript loading stale no_multi allow_busy", route=LOCAL,
        group="server", since="1.0.0",
        complexity="O(N) when saving, where N is the total number of keys in all databases "
                   "when saving data, otherwise O(1)",
        summary="Synchronously save the dataset to disk and then shut down the server",
        acl="@admin @slow @dangerous")(shutdown)
    cmd("wait", 3, "noscript", route=LOCAL, group="generic", since="3.0.0", complexity="O(1)",
        summary="Wait for the synchronous replication of all the write commands sent in the "
                "context of the current connection", acl="@slow @connection")(wait)
    cmd("role", 1, "noscript loading stale fast", route=LOCAL, group="server", since="2.8.12",
        complexity="O(1)", summary="Return the role of the instance in the context of replication",
        acl="@admin @fast @dangerous")(role)
    cmd("lolwut", -1, "readonly fast", route=LOCAL, group="server", since="5.0.0",
        summary="Display some computer art and the Redis version", acl="@read @fast")(lolwut)
    cmd("debug", -2, "admin noscript loading stale", route=LOCAL, group="server", since="1.0.0",
        complexity="Depends on subcommand.", summary="A container for debugging commands",
        acl="@admin @slow @dangerous")(debug)
