"""Redis 7.0's ACL as a pure library: users, their rules and selectors, and the permission
checks, answering as redis-server 7.0.15 does (its acl.c is the specification).

No I/O here: the router calls ``User.check`` before running a command, and ACL SETUSER,
GETUSER, LIST, LOAD, SAVE, CAT, GENPASS and DRYRUN are answered from ``Users`` and the
functions below. Errors are ``ReplyError`` with Redis' exact text.

How it is modelled, after Redis:

- Redis 7.0's own command list (every command and subcommand, with its ACL categories,
  from shardis/keyspecs_data.py, generated from redis-server) is the set ACL rules speak
  of, so ``+cluster`` is accepted as Redis accepts it, and ACL LIST compacts the rules
  into categories exactly as Redis does (its greedy choice depends on every command Redis
  has). A selector's commands are a bitmap over that list, plus Redis' reserved bit that
  only ``+@all``/``allcommands`` set (it makes ACL LIST start with ``+@all``).
- A shardis command Redis 7.0 lacks is checked as its parent where it is a subcommand
  (CLIENT SETINFO as CLIENT); any other is allowed only by ``allcommands``/``+@all``
  (``allcommands`` is a flag: it covers commands added later too).
- Where Redis lists commands in its hash table's order (the single commands of ACL LIST,
  ACL CAT <category>), which changes from one redis-server process to the next, this
  model lists them in name order (subcommands after their parent).
- One ``User`` object stays the user across ACL SETUSER (Redis copies the new rules into
  the same user, so authenticated connections keep it); DELUSER and LOAD drop the objects
  of the users they remove or replace (the router disconnects their clients: compare with
  ``Users.get(name) is user``), except the default user, which LOAD updates in place.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, NamedTuple

from shardis import configtable, errors, keyspecs
from shardis.commands import CommandSpec, CommandTable
from shardis.glob import stringmatch
from shardis.keyspecs import casefold, cstr
from shardis.keyspecs_data import COMMANDS
from shardis.resp import ReplyError
from shardis.values import OrderedSet

# ---------------------------------------------------------------------------------------
# Texts, worded as Redis 7.0 words them

ERR_SETUSER_MODIFIER = "ERR Error in ACL SETUSER modifier '%s': %s"
ERR_USERNAME_SPACES = "ERR Usernames can't contain spaces or null characters"
ERR_UNMATCHED_PAREN = "ERR Unmatched parenthesis in acl selector starting at '%s'."
ERR_DELETE_DEFAULT = "ERR The 'default' user cannot be removed"
ERR_UNKNOWN_CATEGORY = "ERR Unknown category '%s'"
ERR_GENPASS_BITS = ("ERR ACL GENPASS argument must be the number of bits for the output password, "
                    "a positive number up to 4096")
ERR_LOAD_SUFFIX = "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
NOPERM_COMMAND = "NOPERM this user has no permissions to run the '%s' command"
NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = "NOPERM this user has no permissions to access one of the channels used as arguments"
DRYRUN_COMMAND = "This user has no permissions to run the '%s' command"
DRYRUN_KEY = "This user has no permissions to access the '%s' key"
DRYRUN_CHANNEL = "This user has no permissions to access the '%s' channel"
# For the ACL command itself (checked against redis-server 7.0.15; ACL GETUSER of an
# unknown user answers nil; DRYRUN checks the command's arity, with the usual error):
ERR_DRYRUN_USER = "ERR User '%s' not found"
ERR_DRYRUN_COMMAND = "ERR Command '%s' not found"   # also for an unknown subcommand: its parent
ERR_NO_ACLFILE = ("ERR This Redis instance is not configured to use an ACL file. You may want to "
                  "specify users via the ACL SETUSER command and then issue a CONFIG REWRITE "
                  "(assuming you have a Redis configuration file set) in order to store users in "
                  "the Redis configuration.")
ERR_SAVE = ("ERR There was an error trying to save the ACLs. Please check the server logs for "
            "more information")

# Why a rule failed (the errno values of Redis' ACLSetUser) and what Redis says for each.
ENOENT, EINVAL, EEXIST, EISDIR, ENODEV, EBADMSG, ECHILD = range(1, 8)
RULE_ERRORS = {
    ENOENT: "Unknown command or category name in ACL",
    EINVAL: "Syntax error",
    EEXIST: "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does "
            "not have any effect. Try 'resetkeys' to start with an empty list of patterns",
    EISDIR: "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and "
            "does not have any effect. Try 'resetchannels' to start with an empty list of channels",
    ENODEV: "The password you are trying to remove from the user does not exist",
    EBADMSG: "The password hash must be exactly 64 characters and contain only lowercase "
             "hexadecimal characters",
    ECHILD: "Allowing first-arg of a subcommand is not supported",
}


class RuleError(Exception):
    """A rule ACL SETUSER (or an ACL file) cannot apply; ``code`` is one of ENOENT ... ECHILD."""

    def __init__(self, code: int) -> None:
        super().__init__(RULE_ERRORS[code])
        self.code = code


def _text(b: bytes) -> str:
    """Bytes inside a reply text, as "%s" prints them (to the first NUL); byte values that
    are not UTF-8 come back as surrogates (``str.encode("utf-8", "surrogateescape")``)."""
    return cstr(b).decode("utf-8", "surrogateescape")


def _error_format(text: str) -> str:
    """What addReplyErrorFormat makes of a text: newlines trimmed at the ends, spaces within."""
    return text.strip("\r\n").replace("\r", " ").replace("\n", " ")


# ---------------------------------------------------------------------------------------
# The commands and categories

CATEGORIES: tuple[str, ...] = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
    "connection", "transaction", "scripting")
_CATEGORY_INDEX = {name.encode(): i for i, name in enumerate(CATEGORIES)}


class _Universe:
    """Redis 7.0's commands numbered for the bitmaps (in keyspecs_data's order: by name,
    subcommands after their parent), and each category as bitmaps over them."""

    def __init__(self) -> None:
        self.names: list[str] = list(COMMANDS)
        self.id: dict[str, int] = {n: i for i, n in enumerate(self.names)}
        self.parent: list[int] = []
        self.subs: list[list[int]] = [[] for _ in self.names]
        for i, n in enumerate(self.names):
            head, bar, _ = n.partition("|")
            p = self.id[head] if bar else -1
            self.parent.append(p)
            if p >= 0:
                self.subs[p].append(i)
        self.future = 1 << len(self.names)   # Redis' reserved bit: set by +@all only
        self.every = (1 << len(self.names)) - 1
        self.all_bits = self.every | self.future
        # direct: the commands in the category (what ACL LIST counts); apply: those and
        # their subcommands (what +@category sets)
        self.direct: list[int] = []
        self.apply: list[int] = []
        self.count: list[int] = []
        for cat in CATEGORIES:
            direct = apply = 0
            for i, n in enumerate(self.names):
                if cat in COMMANDS[n][0].split():
                    direct |= 1 << i
                    apply |= self.with_subs(i)
            self.direct.append(direct)
            self.apply.append(apply)
            self.count.append(bin(direct).count("1"))

    def with_subs(self, i: int) -> int:
        bits = 1 << i
        for s in self.subs[i]:
            bits |= 1 << s
        return bits

    def lookup(self, name: bytes) -> int:
        """Redis' ACLLookupCommand: ``cmd`` or ``cmd|sub``, any case; -1 when unknown."""
        parts = name.split(b"|")
        if not name or len(parts) > 2:
            return -1
        top = self.id.get(parts[0].lower().decode("latin-1"), -1)
        if len(parts) == 1:
            return top
        if top < 0 or not self.subs[top]:
            return -1  # "get|x": GET has no subcommands (that is a first-arg rule's business)
        return self.id.get(self.names[top] + "|" + parts[1].lower().decode("latin-1"), -1)


_U = _Universe()


def _category(name: bytes) -> int:
    """The index of a category named as strcasecmp compares; -1 when unknown."""
    return _CATEGORY_INDEX.get(casefold(name), -1)


def command_categories(spec: CommandSpec) -> frozenset[str]:
    """A command's ACL categories (without '@'): its spec's, plus those Redis adds from its
    flags (setImplicitACLCategories)."""
    cats = {c.lstrip("@") for c in spec.acl}
    flags = spec.flags
    if "write" in flags:
        cats.add("write")
    if "readonly" in flags and "scripting" not in cats:
        cats.add("read")
    if "admin" in flags:
        cats.update(("admin", "dangerous"))
    if "pubsub" in flags:
        cats.add("pubsub")
    if "fast" in flags:
        cats.add("fast")
    if "blocking" in flags:
        cats.add("blocking")
    if "fast" not in cats:
        cats.add("slow")
    return frozenset(cats)


def categories() -> list[bytes]:
    """ACL CAT: Redis' category names, in its order."""
    return [c.encode() for c in CATEGORIES]


def category_commands(table: CommandTable, category: bytes) -> list[bytes]:
    """ACL CAT <category>: shardis' commands (``parent|sub`` for subcommands) in it."""
    j = _category(category)
    if j < 0:
        raise ReplyError(_error_format(ERR_UNKNOWN_CATEGORY % _text(category[:128])))
    cat = CATEGORIES[j]
    out = []
    for spec in table.public():
        if cat in command_categories(spec):
            out.append(spec.name.encode())
        for sub in spec.subcommands.values():
            if cat in command_categories(sub):
                out.append(sub.name.encode())
    return out


def hash_password(password: bytes) -> bytes:
    """How Redis stores a password: its SHA-256, in lower-case hex."""
    return hashlib.sha256(password).hexdigest().encode()


def genpass(bits: int = 256) -> bytes:
    """ACL GENPASS [bits]: that many random bits, in hex (rounded up to whole hex digits)."""
    if bits <= 0 or bits > 4096:
        raise ReplyError(ERR_GENPASS_BITS)
    chars = (bits + 3) // 4
    return secrets.token_hex((chars + 1) // 2)[:chars].encode()


def _valid_hash(h: bytes) -> bool:
    return len(h) == 64 and all(48 <= c <= 57 or 97 <= c <= 102 for c in h)


_SPACES = frozenset(b" \t\n\v\f\r\0")


def _has_spaces(s: bytes) -> bool:
    """Redis' ACLStringHasSpaces: a space (isspace) or a NUL."""
    return any(c in _SPACES for c in s)


def split_args(line: bytes) -> list[bytes] | None:
    """Redis' sdssplitargs (quotes, escapes) on a C string; None for unbalanced quotes."""
    s = cstr(line)
    n = len(s)
    out: list[bytes] = []
    p = 0
    hexdigits = b"0123456789abcdefABCDEF"
    while True:
        while p < n and s[p] in b" \t\n\v\f\r":
            p += 1
        if p >= n:
            return out
        cur = bytearray()
        inq = insq = False
        while True:
            c = s[p] if p < n else 0
            nxt = s[p + 1] if p + 1 < n else 0
            if inq:
                if (c == 92 and nxt == 120 and p + 3 < n and s[p + 2] in hexdigits
                        and s[p + 3] in hexdigits):
                    cur.append(int(s[p + 2:p + 4], 16))
                    p += 3
                elif c == 92 and nxt:
                    p += 1
                    cur.append({110: 10, 114: 13, 116: 9, 98: 8, 97: 7}.get(nxt, nxt))
                elif c == 34:
                    if nxt and nxt not in b" \t\n\v\f\r":
                        return None
                    p += 1
                    break
                elif not c:
                    return None
                else:
                    cur.append(c)
            elif insq:
                if c == 92 and nxt == 39:
                    p += 1
                    cur.append(39)
                elif c == 39:
                    if nxt and nxt not in b" \t\n\v\f\r":
                        return None
                    p += 1
                    break
                elif not c:
                    return None
                else:
                    cur.append(c)
            elif c in (32, 10, 13, 9, 0):
                if c:
                    p += 1
                break
            elif c == 34:
                inq = True
            elif c == 39:
                insq = True
            else:
                cur.append(c)
            p += 1
        out.append(bytes(cur))


def merge_selectors(rules: list[bytes]) -> tuple[list[bytes], int]:
    """Redis' ACLMergeSelectorArguments: a selector "(...)" given over several arguments
    joined into one. Returns (the rules, -1), or ([], the index of the rule opening an
    unclosed selector)."""
    merged: list[bytes] = []
    opened = -1
    selector = b""
    for j, op in enumerate(rules):
        if op[:1] == b"(" and op[-1:] != b")":
            selector = op
            opened = j
            continue
        if opened != -1:
            selector += b" " + cstr(op)
            if op[-1:] == b")":
                opened = -1
                merged.append(selector)
            continue
        merged.append(op)
    if opened != -1:
        return [], opened
    return merged, -1


# ---------------------------------------------------------------------------------------
# Selectors

READ, WRITE = 1, 2  # a key pattern's permissions (ACL_READ_PERMISSION, ACL_WRITE_PERMISSION)
ALL_PERMS = READ | WRITE

DENIED_CMD, DENIED_KEY, DENIED_CHANNEL = 1, 2, 4  # Redis' ACL_DENIED_*: the highest is reported

# Commands whose arguments name channels: name -> (first channel, how many (-1: all the
# rest), matched literally (PSUBSCRIBE's patterns are compared as strings))
CHANNEL_COMMANDS: dict[str, tuple[int, int, bool]] = {
    "publish": (1, 1, False), "spublish": (1, 1, False),
    "subscribe": (1, -1, False), "ssubscribe": (1, -1, False),
    "psubscribe": (1, -1, True),
}


def _key_perms(flags: frozenset[str]) -> int:
    """The permissions a key with these key-spec flags needs."""
    need = 0
    if "access" in flags:
        need |= READ
    if "insert" in flags or "delete" in flags or "update" in flags:
        need |= WRITE
    return need


class Selector:
    """One set of permissions: the root selector, or one given in parentheses."""

    __slots__ = ("root", "allkeys", "allchannels", "allcommands", "bits", "firstargs",
                 "patterns", "channels")

    def __init__(self, root: bool, allchannels: bool = False) -> None:
        self.root = root
        self.allkeys = False
        self.allchannels = allchannels
        self.allcommands = False
        self.bits = 0                               # bit i: command i (_U), plus _U.future
        self.firstargs: dict[int, list[bytes]] = {}  # command -> the first arguments allowed
        self.patterns: list[tuple[bytes, int]] = []  # (key pattern, READ|WRITE)
        self.channels: list[bytes] = []

    def copy(self) -> "Selector":
        s = Selector(self.root, self.allchannels)
        s.allkeys = self.allkeys
        s.allcommands = self.allcommands
        s.bits = self.bits
        s.firstargs = {k: list(v) for k, v in self.firstargs.items()}
        s.patterns = list(self.patterns)
        s.channels = list(self.channels)
        return s

    # -- rules (Redis' ACLSetSelector) --

    def _change(self, i: int, allow: bool) -> None:
        """Allow or deny command i and its subcommands; drop its first-arg rules."""
        mask = _U.with_subs(i)
        if allow:
            self.bits |= mask
        else:
            self.bits &= ~mask
            self.allcommands = False
        self.firstargs.pop(i, None)

    def _set_category(self, j: int, allow: bool) -> None:
        if allow:
            self.bits |= _U.apply[j]
        else:
            self.bits &= ~_U.apply[j]
            self.allcommands = False
        direct = _U.direct[j]
        for i in list(self.firstargs):
            if direct >> i & 1:
                del self.firstargs[i]

    def apply(self, op: bytes) -> None:
        """One rule about keys, channels or commands; RuleError when it is not valid."""
        word = casefold(op)
        c0 = op[0] if op else 0
        c1 = op[1] if len(op) > 1 else 0
        if word in (b"allkeys", b"~*"):
            self.allkeys = True
            self.patterns = []
        elif word == b"resetkeys":
            self.allkeys = False
            self.patterns = []
        elif word in (b"allchannels", b"&*"):
            self.allchannels = True
            self.channels = []
        elif word == b"resetchannels":
            self.allchannels = False
            self.channels = []
        elif word in (b"allcommands", b"+@all"):
            self.bits = _U.all_bits
            self.allcommands = True
            self.firstargs = {}
        elif word in (b"nocommands", b"-@all"):
            self.bits = 0
            self.allcommands = False
            self.firstargs = {}
        elif c0 in (126, 37):  # '~', '%'
            self._add_pattern(op)
        elif c0 == 38:  # '&'
            if self.allchannels:
                raise RuleError(EISDIR)
            pattern = op[1:]
            if _has_spaces(pattern):
                raise RuleError(EINVAL)
            if pattern not in self.channels:
                self.channels.append(pattern)
            self.allchannels = False
        elif c0 == 43 and c1 != 64:  # '+' not '+@'
            self._allow_command(cstr(op[1:]))
        elif c0 == 45 and c1 != 64:  # '-' not '-@'
            i = _U.lookup(cstr(op[1:]))
            if i < 0:
                raise RuleError(ENOENT)
            self._change(i, False)
        elif c0 in (43, 45) and c1 == 64:
            j = _category(op[2:])
            if j < 0:
                raise RuleError(ENOENT)
            self._set_category(j, c0 == 43)
        else:
            raise RuleError(EINVAL)

    def _add_pattern(self, op: bytes) -> None:
        if self.allkeys:
            raise RuleError(EEXIST)
        perms = 0
        offset = 1
        if op[0] == 37:  # '%': R and/or W, then '~'
            while offset < len(op):
                c = op[offset]
                if c in (82, 114) and not perms & READ:
                    perms |= READ
                elif c in (87, 119) and not perms & WRITE:
                    perms |= WRITE
                elif c == 126:
                    offset += 1
                    break
                else:
                    raise RuleError(EINVAL)
                offset += 1
            if not perms:
                raise RuleError(EINVAL)
        else:
            perms = ALL_PERMS
        pattern = op[offset:]
        if _has_spaces(pattern):
            raise RuleError(EINVAL)
        for n, (p, f) in enumerate(self.patterns):
            if p == pattern:
                self.patterns[n] = (p, f | perms)
                break
        else:
            self.patterns.append((pattern, perms))
        self.allkeys = False

    def _allow_command(self, name: bytes) -> None:
        """``+cmd``, ``+cmd|sub``, or ``+cmd|first-arg`` for a command without subcommands."""
        bar = name.rfind(b"|")
        if bar < 0:
            i = _U.lookup(name)
            if i < 0:
                raise RuleError(ENOENT)
            self._change(i, True)
            return
        head, sub = name[:bar], name[bar + 1:]
        i = _U.lookup(head)
        if i < 0:
            raise RuleError(ENOENT)
        if _U.parent[i] >= 0:
            raise RuleError(ECHILD)
        if not sub:
            raise RuleError(EINVAL)
        if _U.subs[i]:
            s = _U.lookup(name)
            if s < 0:
                raise RuleError(ENOENT)
            self._change(s, True)
        else:
            allowed = self.firstargs.setdefault(i, [])
            if all(casefold(a) != casefold(sub) for a in allowed):
                allowed.append(sub)

    # -- checks (Redis' ACLSelectorCheckKey, ACLSelectorCheckCmd) --

    def key_ok(self, key: bytes, need: int) -> bool:
        if self.allkeys:
            return True
        for pattern, perms in self.patterns:
            if perms & need == need and stringmatch(pattern)(key):
                return True
        return False

    def channel_ok(self, channel: bytes, literal: bool) -> bool:
        if self.allchannels:
            return True
        if literal:
            return cstr(channel) in self.channels  # strcmp: to the first NUL
        return any(stringmatch(p)(channel) for p in self.channels)

    def command_ok(self, i: int, is_sub: bool, args: list[bytes]) -> bool:
        if self.allcommands or (i >= 0 and self.bits >> i & 1):
            return True
        allowed = self.firstargs.get(i) if i >= 0 else None
        idx = 2 if is_sub else 1
        if not allowed or len(args) <= idx:
            return False
        arg = casefold(args[idx])
        return any(casefold(a) == arg for a in allowed)

    def permissive(self) -> bool:
        """Every command on every key and channel."""
        return (self.allkeys and self.allchannels
                and (self.allcommands or self.bits & _U.every == _U.every))

    # -- descriptions --

    def describe_commands(self) -> bytes:
        """Redis' ACLDescribeSelectorCommandRules: +@all or -@all, the categories that fit
        best (Redis' greedy choice), then single commands and first-args."""
        additive = not self.bits & _U.future
        rules = [b"-@all" if additive else b"+@all"]
        fake = 0 if additive else _U.all_bits
        temp = self.bits
        applied = [False] * len(CATEGORIES)
        while True:
            best, mindiff, maxsame = -1, 1 << 62, 0
            for j in range(len(CATEGORIES)):
                if applied[j]:
                    continue
                on = bin(temp & _U.direct[j]).count("1")
                off = _U.count[j] - on
                diff, same = (off, on) if additive else (on, off)
                if same > diff and (diff < mindiff or (diff == mindiff and same > maxsame)):
                    best, mindiff, maxsame = j, diff, same
            if best < 0:
                break
            if additive:
                fake |= _U.apply[best]
                temp &= ~_U.apply[best]
            else:
                fake &= ~_U.apply[best]
                temp |= _U.apply[best]
            rules.append((b"+@" if additive else b"-@") + CATEGORIES[best].encode())
            applied[best] = True
        for i, name in enumerate(_U.names):
            userbit = self.bits >> i & 1
            if userbit != fake >> i & 1:
                rules.append((b"+" if userbit else b"-") + name.encode())
                mask = _U.with_subs(i)
                fake = fake | mask if userbit else fake & ~mask
            if not userbit:
                for arg in self.firstargs.get(i, ()):
                    rules.append(b"+" + name.encode() + b"|" + arg)
        return b" ".join(rules)

    def describe_keys(self) -> bytes:
        """The key patterns as ACL GETUSER shows them."""
        if self.allkeys:
            return b"~*"
        return b" ".join(_pattern_text(p, f) for p, f in self.patterns)

    def describe_channels(self) -> bytes:
        if self.allchannels:
            return b"&*"
        return b" ".join(b"&" + c for c in self.channels)

    def describe(self) -> bytes:
        """Redis' ACLDescribeSelector: keys, channels, then command rules."""
        out = []
        if self.allkeys:
            out.append(b"~*")
        else:
            out.extend(_pattern_text(p, f) for p, f in self.patterns)
        if self.allchannels:
            out.append(b"&*")
        else:
            out.append(b"resetchannels")
            out.extend(b"&" + c for c in self.channels)
        out.append(self.describe_commands())
        return b" ".join(out)

    def getuser(self) -> dict[bytes, object]:
        return {b"commands": self.describe_commands(), b"keys": self.describe_keys(),
                b"channels": self.describe_channels()}


def _pattern_text(pattern: bytes, perms: int) -> bytes:
    prefix = {ALL_PERMS: b"~", READ: b"%R~", WRITE: b"%W~"}[perms]
    return prefix + pattern


def selector_from(op: bytes, pubsub_all: bool) -> Selector:
    """A selector from its rule "(...)" (Redis' aclCreateSelectorFromOpSet): the words
    inside split as Redis splits a command line (unbalanced quotes: no words at all)."""
    s = Selector(False, pubsub_all)
    for word in split_args(op[1:-1]) or []:
        s.apply(word)
    return s


# ---------------------------------------------------------------------------------------
# Users

class Denial(NamedTuple):
    """Why a command is refused: Redis' ACL LOG reason and object, the NOPERM error a
    client gets (without the leading '-') and ACL DRYRUN's reply for it."""

    reason: str      # "command", "key", "channel"
    object: bytes    # the command's full name ("config|get"), the key, or the channel
    message: str     # "NOPERM ..."
    dryrun: str      # "This user has no permissions ..."


_FLAG_WORDS = (b"on", b"off", b"nopass", b"skip-sanitize-payload", b"sanitize-payload")
SANITIZE, SKIP_SANITIZE = b"sanitize-payload", b"skip-sanitize-payload"


class User:
    """One ACL user: flags, password hashes, the root selector and any others."""

    def __init__(self, name: bytes, pubsub_all: bool = False) -> None:
        self.name = name
        self.enabled = False
        self.nopass = False
        self.sanitize = b""          # b"", SANITIZE or SKIP_SANITIZE (Redis' payload flags)
        self.passwords: list[bytes] = []   # SHA-256 hex
        self.selectors: list[Selector] = [Selector(True, pubsub_all)]
        self.unrestricted = False
        self._update()

    @property
    def root(self) -> Selector:
        return self.selectors[0]

    def copy_from(self, other: "User") -> None:
        """Take another user's rules (Redis' ACLCopyUser), keeping this name and object."""
        self.enabled = other.enabled
        self.nopass = other.nopass
        self.sanitize = other.sanitize
        self.passwords = list(other.passwords)
        self.selectors = [s.copy() for s in other.selectors]
        self._update()

    def clone(self) -> "User":
        u = User(self.name)
        u.copy_from(self)
        return u

    def _update(self) -> None:
        self.unrestricted = any(s.permissive() for s in self.selectors)

    # -- rules (Redis' ACLSetUser) --

    def apply(self, op: bytes, pubsub_all: bool = False) -> None:
        """One ACL SETUSER rule; RuleError when it is not valid (the user may then be
        partly changed: callers apply rules to a copy)."""
        try:
            self._apply(op, pubsub_all)
        finally:
            self._update()

    def _apply(self, op: bytes, pubsub_all: bool) -> None:
        if not op:
            return
        word = casefold(op)
        c0 = op[0]
        if word == b"on":
            self.enabled = True
        elif word == b"off":
            self.enabled = False
        elif word == SKIP_SANITIZE:
            self.sanitize = SKIP_SANITIZE
        elif word == SANITIZE:
            self.sanitize = SANITIZE
        elif word == b"nopass":
            self.nopass = True
            self.passwords = []
        elif word == b"resetpass":
            self.nopass = False
            self.passwords = []
        elif c0 in (62, 35):  # '>', '#'
            if c0 == 62:
                h = hash_password(op[1:])
            else:
                h = op[1:]
                if not _valid_hash(h):
                    raise RuleError(EBADMSG)
            if h not in self.passwords:
                self.passwords.append(h)
            self.nopass = False
        elif c0 in (60, 33):  # '<', '!'
            if c0 == 60:
                h = hash_password(op[1:])
            else:
                h = op[1:]
                if not _valid_hash(h):
                    raise RuleError(EBADMSG)
            if h not in self.passwords:
                raise RuleError(ENODEV)
            self.passwords.remove(h)
        elif c0 == 40 and op[-1] == 41:  # "(...)"
            self.selectors.append(selector_from(op, pubsub_all))
        elif word == b"clearselectors":
            del self.selectors[1:]
        elif word == b"reset":
            self.nopass = False
            self.passwords = []
            root = self.root
            root.apply(b"resetkeys")
            root.apply(b"resetchannels")
            if pubsub_all:
                root.apply(b"allchannels")
            self.enabled = False
            self.sanitize = SANITIZE
            del self.selectors[1:]
            root.apply(b"-@all")
        else:
            self.root.apply(op)

    # -- checks --

    def check_password(self, password: bytes) -> bool:
        """Whether ``password`` is one of this user's (any is, for nopass); the caller
        refuses a disabled user first, as Redis does."""
        if self.nopass:
            return True
        h = hash_password(password)
        found = False
        for p in self.passwords:
            found |= hmac.compare_digest(p, h)
        return found

    def check_key(self, key: bytes, flags: frozenset[str]) -> bool:
        """Whether some selector allows this key, used as the key-spec flags say."""
        need = _key_perms(flags)
        return any(s.key_ok(key, need) for s in self.selectors)

    def check_channel(self, channel: bytes, literal: bool) -> bool:
        """Whether some selector allows this channel (``literal``: compared as a string,
        as PSUBSCRIBE's patterns are)."""
        return any(s.channel_ok(channel, literal) for s in self.selectors)

    def check(self, spec: CommandSpec, args: list[bytes]) -> Denial | None:
        """Whether this user may run ``args`` (whose command's spec is ``spec``): None, or
        the denial Redis' ACLCheckAllUserCommandPerm reports (no selector allows the
        command: the command; else the highest-placed key or channel that the selectors
        refused, a channel over a key)."""
        cmd = spec
        if spec.subcommands and len(args) >= 2:
            sub = spec.subcommands.get(args[1].lower().decode("latin-1"))
            if sub is not None:
                cmd = sub
        name = cmd.name
        is_sub = cmd is not spec
        i = _U.id.get(name, -1)
        if i < 0 and is_sub:
            i = _U.id.get(spec.name, -1)  # a subcommand Redis 7.0 lacks: as its parent
        no_auth = "no_auth" in cmd.flags
        if keyspecs.known(name):
            has_keys = keyspecs.has_keys(name)
        else:
            has_keys = cmd.first_key > 0
        channels = CHANNEL_COMMANDS.get(name)
        keys: keyspecs.Keys | None = None
        worst, worst_idx = DENIED_CMD, 0
        for s in self.selectors:
            verdict, idx = DENIED_CMD, 0
            if no_auth or s.command_ok(i, is_sub, args):
                verdict = 0
                if not s.allkeys and has_keys:
                    if keys is None:
                        keys = _keys_of(cmd, args)
                    for pos, flags in keys:
                        if not s.key_ok(args[pos], _key_perms(flags)):
                            verdict, idx = DENIED_KEY, pos
                            break
                if not verdict and not s.allchannels and channels is not None:
                    first, count, literal = channels
                    stop = len(args) if count < 0 else min(len(args), first + count)
                    for pos in range(first, stop):
                        if not s.channel_ok(args[pos], literal):
                            verdict, idx = DENIED_CHANNEL, pos
                            break
            if not verdict:
                return None
            if verdict > worst or (verdict == worst and idx > worst_idx):
                worst, worst_idx = verdict, idx
        if worst == DENIED_CMD:
            return Denial("command", name.encode(), NOPERM_COMMAND % name, DRYRUN_COMMAND % name)
        target = args[worst_idx]
        if worst == DENIED_KEY:
            return Denial("key", target, NOPERM_KEY, DRYRUN_KEY % _text(target))
        return Denial("channel", target, NOPERM_CHANNEL, DRYRUN_CHANNEL % _text(target))

    # -- descriptions --

    def describe(self) -> bytes:
        """This user's ACL LIST line (Redis' "user <name> " + ACLDescribeUser)."""
        out = [b"user", self.name]
        out.extend(self._flags())
        out.extend(b"#" + p for p in self.passwords)
        out.append(self.root.describe())
        line = b" ".join(out)
        for s in self.selectors[1:]:
            line += b" (" + s.describe() + b")"
        return line

    def _flags(self) -> list[bytes]:
        flags = [b"on" if self.enabled else b"off"]
        if self.nopass:
            flags.append(b"nopass")
        if self.sanitize:
            flags.append(self.sanitize)
        return flags

    def getuser(self) -> dict[bytes, object]:
        """ACL GETUSER's reply as a map (insertion order is Redis' field order): flags (a set
        in RESP3), passwords, the root selector's commands, keys and channels, then
        selectors (a list of maps of commands, keys, channels)."""
        out: dict[bytes, object] = {b"flags": OrderedSet(self._flags()), b"passwords": list(self.passwords)}
        out.update(self.root.getuser())
        out[b"selectors"] = [s.getuser() for s in self.selectors[1:]]
        return out


def _keys_of(cmd: CommandSpec, args: list[bytes]) -> keyspecs.Keys:
    """The keys ACL checks: by Redis' key specs; for a command Redis 7.0 lacks, by the
    spec's first, last and step (without flags, so any key pattern's permissions fit)."""
    if keyspecs.known(cmd.name):
        return keyspecs.keys_with_flags(cmd.name, args)
    if cmd.first_key <= 0:
        return []
    last = cmd.last_key if cmd.last_key >= 0 else len(args) + cmd.last_key
    last = min(last, len(args) - 1)
    return [(p, keyspecs.NO_FLAGS) for p in range(cmd.first_key, last + 1, max(cmd.step, 1))]


def _default_user(user: User | None = None) -> User:
    """Redis' default user: ``on nopass ~* &* +@all`` (into ``user`` when given)."""
    u = User(b"default")
    for op in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
        u.apply(op)
    if user is None:
        return u
    user.copy_from(u)
    return user


def _fgets_text(text: bytes) -> bytes:
    """The file as Redis reads it: fgets into a 1024-byte buffer, each piece cut at a NUL."""
    out = []
    pos = 0
    n = len(text)
    while pos < n:
        nl = text.find(b"\n", pos, pos + 1023)
        end = nl + 1 if nl >= 0 else min(pos + 1023, n)
        out.append(cstr(text[pos:end]))
        pos = end
    return b"".join(out)


class Users:
    """Every ACL user by name, as Redis' Users table."""

    def __init__(self) -> None:
        self._users: dict[bytes, User] = {b"default": _default_user()}
        self.version = 0                 # incremented on every change
        self.pubsub_default_all = False  # acl-pubsub-default allchannels (Redis 7.0: resetchannels)

    @property
    def default(self) -> User:
        return self._users[b"default"]

    def get(self, name: bytes) -> User | None:
        return self._users.get(name)

    def names(self) -> list[bytes]:
        """ACL USERS: the names in byte order (Redis' radix tree)."""
        return sorted(self._users)

    def lines(self) -> list[bytes]:
        """ACL LIST."""
        return [self._users[n].describe() for n in self.names()]

    def dump(self) -> bytes:
        """ACL SAVE: the aclfile Redis writes."""
        return b"".join(line + b"\n" for line in self.lines())

    def setuser(self, name: bytes, rules: list[bytes]) -> None:
        """ACL SETUSER: every rule or none (ReplyError with Redis' text); creates the user."""
        if _has_spaces(name):
            raise ReplyError(ERR_USERNAME_SPACES)
        merged, opened = merge_selectors(rules)
        if opened >= 0:
            raise ReplyError(_error_format(ERR_UNMATCHED_PAREN % _text(rules[opened])))
        existing = self._users.get(name)
        temp = existing.clone() if existing is not None else User(name, self.pubsub_default_all)
        for op in merged:
            try:
                temp.apply(op, self.pubsub_default_all)
            except RuleError as e:
                raise ReplyError(_error_format(ERR_SETUSER_MODIFIER % (_text(op), e)))
        if existing is None:
            self._users[name] = temp
        else:
            existing.copy_from(temp)
        self.version += 1

    def deluser(self, names: list[bytes]) -> int:
        """ACL DELUSER: how many of these users existed (all are removed)."""
        if any(cstr(n) == b"default" for n in names):
            raise ReplyError(ERR_DELETE_DEFAULT)
        deleted = 0
        for n in names:
            if self._users.pop(n, None) is not None:
                deleted += 1
        if deleted:
            self.version += 1
        return deleted

    def set_requirepass(self, password: bytes) -> None:
        """requirepass: the default user's passwords become this one ("" -> nopass)."""
        u = self.default
        u.apply(b"resetpass")
        u.apply(b">" + password if password else b"nopass")
        self.version += 1

    def load(self, text: bytes, *, filename: bytes = b"users.acl") -> None:
        """ACL LOAD (and loading at startup): the users of an aclfile replace all users, or
        none do (ReplyError with Redis' text, naming ``filename`` as the aclfile setting
        names it). The default user, if the file leaves it out, is Redis' initial one."""
        fn = _text(filename)
        new: dict[bytes, User] = {}
        errors: list[str] = []
        for n, line in enumerate(_fgets_text(text).split(b"\n"), 1):
            line = line.strip(b" \t\r\n")
            if not line:
                continue
            argv = line.split(b" ")
            if argv[0] != b"user" or len(argv) < 2:
                errors.append(f"{fn}:{n} should start with user keyword followed by the username. ")
                continue
            name = argv[1]
            if _has_spaces(name):
                errors.append(f"'{fn}:{n}: username '{_text(name)}' contains invalid characters. ")
                continue
            if name in new:
                errors.append(f"WARNING: Duplicate user '{_text(name)}' found on line {n}. ")
                continue
            u = new[name] = User(name, self.pubsub_default_all)
            merged, opened = merge_selectors(argv[2:])
            if opened >= 0:
                # (redis-server 7.0.15 crashes here when rules precede the selector)
                errors.append(f"{fn}:{n}: Unmatched parenthesis in selector definition.")
            syntax_error = False
            for op in merged:
                op = op.strip(b"\t\r\n")
                try:
                    u.apply(op, self.pubsub_default_all)
                except RuleError as e:
                    if e.code == ENOENT:
                        errors.append(f"{fn}:{n}: Error in applying operation '{_text(op)}': {e}. ")
                    elif not syntax_error:
                        errors.append(f"{fn}:{n}: {e}. ")
                        syntax_error = True
        if errors:
            raise ReplyError("ERR " + "".join(errors) + ERR_LOAD_SUFFIX)
        default = self.default
        loaded = new.pop(b"default", None)
        if loaded is None:
            _default_user(default)
        else:
            default.copy_from(loaded)
        new[b"default"] = default
        self._users = new
        self.version += 1


# ---------------------------------------------------------------- at start


def initial_users(cfg: Any) -> Users:
    """The users a server starts with (``cfg``: a shardis.config.Config): ``aclfile``'s,
    or the ``users`` key's (Redis' ``user`` directives), then ``requirepass`` for the
    default user. Raises ReplyError with Redis' text for a bad rule or file."""
    users = Users()
    path = configtable.get_value(cfg, configtable.param("aclfile"))
    if path and cfg.users:
        raise ReplyError(errors.ACL_FILE_AND_USERS)
    if path:
        users.load(read_aclfile(str(path)), filename=str(path).encode())
    for line in cfg.users:
        words = line.encode().split()
        if not words:
            raise ReplyError(f"ERR users: expected \"<name> <rule> ...\", got {line!r}")
        users.setuser(words[0], words[1:])
    password = configtable.get_value(cfg, configtable.param("requirepass"))
    if password:
        users.set_requirepass(str(password).encode())
    return users


def read_aclfile(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ReplyError(errors.ACL_FILE_OPEN % (path, e.strerror)) from None
