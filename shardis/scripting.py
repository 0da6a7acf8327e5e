"""Lua scripting as Redis 7.0 embeds it: one Lua 5.1 state per process (lupa's), Redis'
sandbox, the ``redis`` library, and the conversions between replies and Lua values.

The engine knows nothing of where commands run. A host (a shard, the coordinator)
gives each run a ``call(args, pcall) -> (ok, value)`` function: ``args`` are the
command's arguments as bytes, ``value`` the command's reply value (as the command
handlers return them: int, bytes, None, list, Simple, Pairs ...) or, when not ``ok``,
the error text. The engine turns values into Lua and back, and errors into Redis'
texts (``... script: <sha>, on @user_script:<line>.``).

The sandbox: scripts see a read-only global table (reading a global that does not
exist, or writing one, is an error, as in Redis), no os/io/debug/require/print, the
libraries cjson, cmsgpack, bit and struct (shardis/lualibs.py), and math.random
drawing from Redis' own generator (rand.c's rand48: math.randomseed(n) then gives the
numbers redis-server gives). Unseeded, a shard's script starts from a state fixed by its
batch, so that a replay of the write-ahead log draws the same numbers. Functions (FUNCTION LOAD) are compiled here
too: a library's code runs once with ``redis.register_function`` to collect them.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from lupa import lua51

from shardis import errors, lualibs
from shardis.resp import NilArray, ReplyError, string2ll
from shardis.values import BigNumber, HumanDouble, KeyedArrays, Pairs, Raw, Simple, Verbatim

log = logging.getLogger("scripting")

REDIS_VERSION = b"7.0.15"
REDIS_VERSION_NUM = 0x07000F
INT64_MIN = -(2 ** 63)

# Shebang flags (``#!lua flags=...``) and FUNCTION's register_function flags.
FLAGS = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")

# Errors as Redis words them.
NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
NOT_ALLOWED = "This Redis command is not allowed from script"
WRITE_IN_RO = "Write commands are not allowed from read-only scripts."
UNKNOWN_CMD = "Unknown Redis command called from script"
WRONG_ARGS = "Wrong number of args calling Redis command from script"
BAD_ARG = "Lua redis lib command arguments must be strings or integers"
NO_ARGS = "Please specify at least one argument for this redis lib call"

BUSY_SCRIPT = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
BUSY_FUNCTION = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
UNKILLABLE = ("UNKILLABLE Sorry the script already executed write commands against the dataset. You can "
              "either wait the script termination or kill the server in a hard way using the SHUTDOWN "
              "NOSAVE command.")

Call = Callable[[list, bool], tuple]


def numkeys(args: list[bytes]) -> int:
    """EVAL's and FCALL's key count, checked as Redis checks it."""
    n = string2ll(args[2])
    if n is None:
        raise ReplyError("ERR Bad number of keys provided" if args[0][:1] in (b"f", b"F") else errors.NOT_INTEGER)
    if n < 0:
        raise ReplyError("ERR Number of keys can't be negative")
    if n > len(args) - 3:
        raise ReplyError("ERR Number of keys can't be greater than number of args")
    return n


def sha1hex(body: bytes) -> bytes:
    return hashlib.sha1(body).hexdigest().encode()


class Rand48:
    """Redis' rand48 (src/rand.c), which its math.random draws from."""

    __slots__ = ("x",)

    def __init__(self) -> None:
        self.x = 0x1234ABCD330E  # (rand.c's state before any seed)

    def seed(self, s: int) -> None:
        s &= 0xFFFFFFFF
        self.x = (s << 16) | 0x330E

    def seed_state(self, n: int) -> None:
        """Set the whole 48-bit state (a shard's scripts: from their batch, see
        shardd/scripting.py)."""
        self.x = n & 0xFFFFFFFFFFFF

    def lrand48(self) -> int:
        self.x = (self.x * 0x5DEECE66D + 0xB) & 0xFFFFFFFFFFFF
        return self.x >> 17


# The sandbox, in Lua: run once per state with the real globals' values as arguments.
# ``sandbox`` holds what scripts may see; ``env`` is the read-only face they get as _G.
_PRELUDE = r"""
local G, pyredis, pyerrtext, pyrandom, pyseed, pyreg, pyhook = ...
local rawget, rawset, setmetatable, getmetatable, error, type, tostring, select, next, pairs,
      ipairs, xpcall, setfenv, loadstring, fmt, unpack, debug_getinfo =
      G.rawget, G.rawset, G.setmetatable, G.getmetatable, G.error, G.type, G.tostring, G.select,
      G.next, G.pairs, G.ipairs, G.xpcall, G.setfenv, G.loadstring, G.string.format, G.unpack,
      G.debug.getinfo
local floor = G.math.floor

local real_of = setmetatable({}, {__mode = "k"})   -- read-only proxy -> its table
local function readonly_error() error("Attempt to modify a readonly table", 2) end
local function readonly(t)
  local p = setmetatable({}, {__index = t, __newindex = readonly_error, __metatable = false})
  real_of[p] = t
  return p
end

local sandbox = {}
local env = setmetatable({}, {__index = sandbox, __newindex = readonly_error, __metatable = false})
real_of[env] = sandbox
setmetatable(sandbox, {__index = function(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end})

local function see(t) return real_of[t] or t end
local function r_next(t, k) return next(see(t), k) end
sandbox.next = r_next
sandbox.pairs = function(t) return r_next, t, nil end
sandbox.ipairs = function(t) return ipairs(see(t)) end
sandbox.rawget = function(t, k) return rawget(see(t), k) end
sandbox.rawset = function(t, k, v)
  if real_of[t] then error("Attempt to modify a readonly table", 0) end
  return rawset(t, k, v)
end
sandbox.rawequal = G.rawequal
sandbox.getmetatable = getmetatable
sandbox.setmetatable = function(t, m)
  if real_of[t] then error("Attempt to modify a readonly table", 0) end
  return setmetatable(t, m)
end
for _, n in ipairs({"assert", "collectgarbage", "error", "gcinfo", "select", "tonumber",
                    "tostring", "type", "unpack", "_VERSION"}) do
  sandbox[n] = G[n]
end
local function sandboxed_load(s, name)
  if name ~= nil then return nil end
  if type(s) == "string" and s:byte(1) == 27 then return nil, "binary chunks are not allowed" end
  local f, e = loadstring(s, s)
  if f then setfenv(f, env) end
  return f, e
end
sandbox.loadstring = sandboxed_load
sandbox.load = function(f, name)
  if type(f) == "string" then return sandboxed_load(f, name) end
  local parts = {}
  while true do
    local piece = f()
    if piece == nil or piece == "" then break end
    parts[#parts + 1] = piece
  end
  return sandboxed_load(G.table.concat(parts), name)
end
sandbox.coroutine = readonly(G.coroutine)
sandbox.table = readonly(G.table)
sandbox.string = readonly(G.string)
getmetatable("").__metatable = readonly({__index = sandbox.string})
local math = {}
for k, v in pairs(G.math) do math[k] = v end
math.random = function(m, n)
  local r = pyrandom()
  if m == nil then return r end
  if n == nil then
    if m < 1 then error("bad argument #1 to 'random' (interval is empty)", 2) end
    return floor(r * m) + 1
  end
  if m > n then error("bad argument #2 to 'random' (interval is empty)", 2) end
  return floor(r * (n - m + 1)) + m
end
math.randomseed = function(s) pyseed(G.tonumber(s) or 0) end
sandbox.math = readonly(math)
for _, n in ipairs({"cjson", "cmsgpack", "bit", "struct"}) do
  if G[n] ~= nil then sandbox[n] = readonly(G[n]) end
end
sandbox._G = env
-- Every 100000 instructions: BUSY replies and SCRIPT KILL (Engine._hook).
G.debug.sethook(function() pyhook() end, "", 100000)

-- Where an error happened: the innermost frame of the script's own code (Redis' handler
-- looks one level up, two past a C function; here the sandbox's and libraries' Lua
-- frames, source "<python>", are skipped as C frames are).
local function where()
  local level = 3
  while true do
    local i = debug_getinfo(level, "Sl")
    if i == nil then return nil end
    if i.what ~= "C" and i.what ~= "tail" and i.source ~= "<python>" and i.source ~= "=<python>" then
      return i
    end
    level = level + 1
  end
end
local function handler(err)
  if type(err) == "userdata" then
    local kind, text = pyerrtext(err)
    if kind == 1 then return {err = text} end
    err = {err = text}
  end
  if type(err) ~= "table" then err = {err = "ERR " .. tostring(err)} end
  local i = where()
  if i then
    err.source = i.source
    err.line = i.currentline
  end
  return err
end
sandbox.__redis__err__handler = handler

-- The redis library's functions are Python's (C functions to Lua, so that a failing
-- "return redis.call(...)" keeps the script's frame for the error's line); their errors
-- arrive as Python exceptions, turned into Redis' texts here and in pcall/xpcall.
local function fix(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == "userdata" then
    local kind, text = pyerrtext(e)
    if kind >= 2 then error(e, 0) end  -- (not for the script to catch: see Engine.run)
    e = text
  end
  return false, e
end
sandbox.pcall = function(f, ...) return fix(G.pcall(f, ...)) end
sandbox.xpcall = function(f, h)
  return xpcall(f, function(e)
    if type(e) == "userdata" then
      local kind, text = pyerrtext(e)
      if kind >= 2 then return e end
      e = text
    end
    return h(e)
  end)
end
local redis = {}
for k, v in pairs(pyredis) do redis[k] = v end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REDIS_VERSION = "7.0.15"
redis.REDIS_VERSION_NUM = 458767
sandbox.redis = readonly(redis)

-- FUNCTION LOAD: the library's code runs with register_function and little else.
-- FUNCTION LOAD: the library's code runs in an environment of its own holding only
-- redis.register_function, redis.log and the constants; its functions then run in the
-- scripts' environment.
local function no_global(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local lib_redis = setmetatable({}, {__index = no_global})
for _, k in ipairs({"log", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION",
                    "REDIS_VERSION_NUM"}) do
  rawset(lib_redis, k, redis[k])
end
local function reg_error(msg) error({err = "ERR " .. msg}, 0) end
rawset(lib_redis, "register_function", function(...)
  local n = select("#", ...)
  local a, b = ...
  local name, fn, flags, desc
  if n == 1 and type(a) == "table" then
    for k in pairs(a) do
      if k ~= "function_name" and k ~= "callback" and k ~= "flags" and k ~= "description" then
        reg_error("unknown argument given to redis.register_function")
      end
    end
    name, fn, flags, desc = a.function_name, a.callback, a.flags, a.description
    if name == nil then reg_error("redis.register_function must get a function name argument") end
    if fn == nil then reg_error("redis.register_function must get a callback argument") end
    if type(name) ~= "string" and type(name) ~= "number" then
      reg_error("function_name argument given to redis.register_function must be a string")
    end
    if type(fn) ~= "function" then
      reg_error("callback argument given to redis.register_function must be a function")
    end
    if desc ~= nil and type(desc) ~= "string" then
      reg_error("description argument given to redis.register_function must be a string")
    end
  elseif n == 2 then
    name, fn = a, b
    if type(name) ~= "string" and type(name) ~= "number" then
      reg_error("first argument to redis.register_function must be a string")
    end
    if type(fn) ~= "function" then reg_error("second argument to redis.register_function must be a function") end
  else
    reg_error("wrong number of arguments to redis.register_function")
  end
  local fl = {}
  if flags ~= nil then
    if type(flags) ~= "table" then
      reg_error("flags argument to redis.register_function must be a table representing function flags")
    end
    for _, f in ipairs(flags) do
      if type(f) ~= "string" then reg_error("unknown flag given") end
      fl[#fl + 1] = f
    end
  end
  setfenv(fn, env)
  pyreg(tostring(name), fn, fl, desc)
end)
local lib_env = setmetatable({}, {__index = function(_, k)
  if k == "redis" then return lib_redis end
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end, __newindex = readonly_error, __metatable = false})

local api = {}
function api.compile(body, chunk)
  local f, e = loadstring(body, chunk)
  if not f then return nil, e end
  setfenv(f, env)
  return f, nil
end
function api.load_library(body)
  local f, e = loadstring(body, "@user_function")
  if not f then return false, "ERR Error compiling function: " .. tostring(e) end
  setfenv(f, lib_env)
  local ok, err = xpcall(f, handler)
  if not ok then
    if type(err) == "table" then err = err.err end
    return false, "ERR Error registering functions: " .. tostring(err)
  end
  return true, nil
end
-- Run a compiled script or function: (true, result) or (false, error table).
-- (the keys, then the arguments: the tables are made here, cheaper than from Python)
local function split(nk, ...)
  if nk < 0 then return ... end
  local keys, argv = {...}, {}
  for i = nk + 1, #keys do
    argv[i - nk] = keys[i]
    keys[i] = nil
  end
  return keys, argv
end
function api.run(f, nk, ...)
  sandbox.KEYS, sandbox.ARGV = split(nk, ...)
  local ok, v = xpcall(f, handler)
  return ok, v
end
function api.run_function(f, nk, ...)
  local keys, argv = split(nk, ...)
  local ok, v = xpcall(function() return f(keys, argv) end, handler)
  return ok, v
end
function api.table(...) return {...} end
return api
"""


@dataclass(slots=True)
class Script:
    """A compiled EVAL script or a library's function."""

    sha: bytes                     # the script's SHA1 (a function: its name)
    fn: Any                        # the Lua function
    flags: frozenset[str]          # shebang / register_function flags
    shebang: bool                  # a ``#!lua`` script (flags apply; none: may write)
    body: bytes = b""
    function: bool = False         # FCALL's (called with KEYS, ARGV as arguments)
    order: tuple[str, ...] = ()    # a function's flags as registered (FUNCTION LIST)
    description: bytes | None = None


@dataclass(slots=True)
class Library:
    name: bytes
    code: bytes
    functions: dict[bytes, Script] = field(default_factory=dict)


class CallError(Exception):
    """An error a redis.* function raises in a script: args[0] is Redis' text for it."""


class KillError(CallError):
    """SCRIPT KILL stopped the script: a script's pcall cannot catch it."""


class BareError(CallError):
    """A CallError Redis reports without the script's name and line."""


def _deny(obj: object, name: object, setting: bool) -> None:
    raise AttributeError("not allowed")  # (scripts reach no Python attribute)


class Engine:
    """One process' Lua state and the scripts compiled in it."""

    def __init__(self, acl_check: Callable[[list], bool] | None = None) -> None:
        lua = self.lua = lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True, register_eval=False,
                                          register_builtins=False, attribute_filter=_deny)
        lualibs.install(lua)  # cjson, cmsgpack, bit, struct
        self.rand = Rand48()
        self.resp = 2
        self.call: Call | None = None
        self.acl_check = acl_check
        self.registering: dict[bytes, Script] | None = None
        self.fatal: BaseException | None = None  # see _errtext
        # Called every 100000 instructions while a script runs (BUSY, SCRIPT KILL); it
        # may raise KillError.
        self.watch: Callable[[], None] | None = None
        self.scripts: dict[bytes, Script] = {}  # by body (the EVAL cache of compiled scripts)
        self._table = lua.table_from
        pyredis = lua.table_from({
            b"call": self._redis_call, b"pcall": self._redis_pcall,
            b"error_reply": self._error_reply, b"status_reply": self._status_reply,
            b"sha1hex": self._sha1hex, b"log": self._log, b"setresp": self._setresp,
            b"set_repl": self._set_repl, b"replicate_commands": lambda *a: True,
            b"breakpoint": lambda *a: False, b"debug": lambda *a: None,
            b"acl_check_cmd": self._acl_check_cmd})
        api = lua.execute(_PRELUDE, lua.globals(), pyredis, self._errtext, self._random, self._seed,
                          self._register, self._hook)
        self._compile = api.compile
        self._load_library = api.load_library
        self._run = api.run
        self._run_function = api.run_function

    # ------------------------------------------------------------ the redis library

    def _args(self, args: tuple) -> list[bytes]:
        if not args:
            raise CallError("ERR " + NO_ARGS)
        out = []
        for a in args:
            t = a.__class__
            if t is bytes:
                out.append(a)
            elif t is int:
                out.append(b"%d" % a)
            elif t is float:
                out.append(b"%.17g" % a)
            else:
                raise CallError("ERR " + BAD_ARG)
        return out

    def _redis_call(self, *args: Any) -> Any:
        call = self.call
        if call is None:
            raise CallError("ERR redis.call can only be called inside a script invocation")
        ok, v = call(self._args(args), False)
        if not ok:
            raise CallError(_text(v))
        return self.to_lua(v)

    def _redis_pcall(self, *args: Any) -> Any:
        call = self.call
        if call is None:
            raise CallError("ERR redis.pcall can only be called inside a script invocation")
        try:
            argv = self._args(args)
        except CallError as e:
            return self._table({b"err": e.args[0].encode()})
        ok, v = call(argv, True)
        if not ok:
            return self._table({b"err": v if isinstance(v, bytes) else str(v).encode()})
        return self.to_lua(v)

    def _errtext(self, e: Any) -> tuple[int, bytes]:
        """A Python exception that reached Lua: (0, its text) for a redis.* function's
        error, (1, text) for one reported without the script's line, (2, text) for any
        other: it stops the script and is raised again when the script ends (a script
        that reached another shard's key, a shard gone, a full map ...)."""
        if isinstance(e, CallError):
            kind = 1 if isinstance(e, BareError) else 3 if isinstance(e, KillError) else 0
            return kind, e.args[0].encode("utf-8", "replace")
        if self.fatal is None:
            self.fatal = e
        return 2, str(e).encode("utf-8", "replace")

    def _error_reply(self, *args: Any) -> Any:
        if len(args) != 1 or args[0].__class__ is not bytes:
            raise BareError("ERR wrong number or type of arguments")
        s = args[0]
        s = s[1:] if s[:1] == b"-" else b"ERR " + s
        return self._table({b"err": s})

    def _status_reply(self, *args: Any) -> Any:
        if len(args) != 1 or args[0].__class__ not in (bytes, int, float):
            raise BareError("ERR wrong number or type of arguments")
        s = args[0] if isinstance(args[0], bytes) else _text(args[0]).encode()
        return self._table({b"ok": s})

    def _sha1hex(self, *args: Any) -> bytes:
        if len(args) != 1:
            raise CallError("ERR wrong number of arguments")
        a = args[0]
        if isinstance(a, (int, float)):
            a = _text(a).encode()
        return sha1hex(a if isinstance(a, bytes) else b"")

    def _log(self, *args: Any) -> None:
        if len(args) < 2:
            raise CallError("ERR redis.log() requires two arguments or more.")
        level = args[0]
        if not isinstance(level, (int, float)) or isinstance(level, bool):
            raise CallError("ERR First argument must be a number (log level).")
        if not 0 <= level <= 3:
            raise CallError("ERR Invalid debug level.")
        msg = b" ".join(a if isinstance(a, bytes) else _text(a).encode()
                        for a in args[1:] if isinstance(a, (bytes, int, float)) and not isinstance(a, bool))
        log.log((logging.DEBUG, logging.INFO, logging.INFO, logging.WARNING)[int(level)],
                "script: %s", msg.decode("utf-8", "replace"))

    def _setresp(self, *args: Any) -> None:
        if len(args) != 1:
            raise CallError("ERR redis.setresp() requires one argument.")
        if args[0] not in (2, 3) or isinstance(args[0], bool):
            raise CallError("ERR RESP version must be 2 or 3.")
        self.resp = int(args[0])

    def _set_repl(self, *args: Any) -> None:
        if len(args) != 1:
            raise CallError("ERR redis.set_repl() requires two arguments.")
        v = args[0]
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v not in (0, 1, 2, 3):
            raise CallError("ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")

    def _acl_check_cmd(self, *args: Any) -> bool:
        argv = self._args(args)
        check = self.acl_check
        if check is None:
            return True
        return check(argv)

    # ------------------------------------------------------------ callbacks from Lua

    def _hook(self, *args: Any) -> None:
        watch = self.watch
        if watch is not None:
            watch()

    def _random(self) -> float:
        return (self.rand.lrand48() % 0x7FFFFFFF) / 0x7FFFFFFF

    def _seed(self, s: float) -> None:
        self.rand.seed(int(s) if -2**31 <= s < 2**31 else 0)

    def _register(self, name: bytes, fn: Any, flags: Any, description: bytes | None) -> None:
        reg = self.registering
        if reg is None:
            raise CallError("ERR redis.register_function can only be called on FUNCTION LOAD command")
        if not valid_name(name):
            raise CallError("ERR Library names can only contain letters, numbers, or underscores(_) "
                            "and must be at least one character long")
        if name in reg:
            raise CallError("ERR Function already exists in the library")
        got: list[str] = []
        for i in range(1, len(flags) + 1):
            f = flags[i].decode("latin-1")
            if f not in FLAGS:
                raise CallError("ERR unknown flag given")
            if f not in got:
                got.append(f)
        reg[name] = Script(name, fn, frozenset(got), True, function=True, order=tuple(got),
                           description=description)

    # ------------------------------------------------------------ compiling

    def compile(self, body: bytes) -> Script:
        """An EVAL script, compiled once per body (ReplyError: Redis' compile errors)."""
        s = self.scripts.get(body)
        if s is not None:
            return s
        flags, shebang, code = parse_shebang(body)
        fn, err = self._compile(code, b"@user_script")
        if fn is None:
            raise ReplyError("ERR Error compiling script (new function): "
                             + err.decode("utf-8", "replace"))
        s = Script(sha1hex(body), fn, flags, shebang, body)
        if len(self.scripts) >= 10000:
            self.scripts.clear()  # (only the compiled forms: the cache of record is elsewhere)
        self.scripts[body] = s
        return s

    def load_library(self, code: bytes) -> Library:
        """FUNCTION LOAD's code: the library's name and its functions."""
        name, rest = library_header(code)
        self.registering = {}
        try:
            ok, err = self._load_library(rest)
            reg = self.registering
        finally:
            self.registering = None
        if not ok:
            raise ReplyError(err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err))
        if not reg:
            raise ReplyError("ERR No functions registered")
        return Library(name, code, reg)

    # ------------------------------------------------------------ running

    def run(self, script: Script, keys: list[bytes], argv: list[bytes], call: Call) -> Any:
        """Run a script: its reply value, or ReplyError with Redis' text."""
        self.resp = 2
        outer, self.call = self.call, call
        self.fatal = None
        try:
            run = self._run_function if script.function else self._run
            if len(keys) + len(argv) <= 64:
                ok, v = run(script.fn, len(keys), *keys, *argv)
            else:  # (Lua's C stack takes a few thousand values at most: tables instead)
                ok, v = run(script.fn, -1, self._table(keys), self._table(argv))
        finally:
            self.call = outer
        fatal, self.fatal = self.fatal, None
        if fatal is not None:
            raise fatal
        if ok:
            return self.from_lua(v)
        raise ReplyError(self.error_text(v, script))

    def error_text(self, err: Any, script: Script) -> str:
        if not _is_table(err):
            return "ERR " + _text(err)
        msg = err[b"err"]
        text = _text(msg) if msg is not None else "ERR unknown error"
        source, line = err[b"source"], err[b"line"]
        name = script.sha.decode("latin-1")
        if source is not None:
            where = f"{_text(source)}:{line}"
            if script.function:
                return f"{text} script: {name}, on {where}."
            return f"{text} script: {name}, on {where}."
        return text

    # ------------------------------------------------------------ conversions

    def to_lua(self, v: Any) -> Any:
        """A command's reply value as redis.call gives it to the script (RESP2 or RESP3
        conversions, as redis.setresp chose)."""
        t = v.__class__
        if t is bytes or t is int:
            return v
        resp3 = self.resp == 3
        if v is None or t is NilArray:  # (a null array too: GEOPOS of a missing member)
            return None if resp3 else False
        if t is Simple or t is str:
            return self._table({b"ok": v.encode("latin-1") if isinstance(v, str) else v})
        if t is list or t is tuple:
            return self._table([self.to_lua(x) for x in v])
        if t is Raw:
            return self.to_lua(parse_resp(bytes(v)))
        if t is Pairs:
            if resp3:
                return self._table([self._table([self.to_lua(m), self.to_lua(x)]) for m, x in v])
            return self._table([self.to_lua(x) for p in v for x in p])
        if t is dict:
            if resp3:
                return self._table({b"map": self._table({_key(k): self.to_lua(x) for k, x in v.items()})})
            return self._table([self.to_lua(x) for p in v.items() for x in p])
        if t is KeyedArrays:  # (XREAD's streams: a map in RESP3, [key, value] arrays in RESP2)
            if resp3:
                return self._table({b"map": self._table({_key(k): self.to_lua(x) for k, x in v})})
            return self._table([self._table([self.to_lua(k), self.to_lua(x)]) for k, x in v])
        if isinstance(v, (set, frozenset, list)):  # (OrderedSet)
            if resp3:
                return self._table({b"set": self._table({_key(k): True for k in v})})
            return self._table([self.to_lua(x) for x in v])
        if t is float:
            if resp3:
                return self._table({b"double": v})
            return format_double_bytes(v)
        if t is bool:
            return v if resp3 else (1 if v else None)
        if t is BigNumber:
            return self._table({b"big_number": bytes(v)}) if resp3 else bytes(v)
        if t is HumanDouble:  # (GEOPOS, WITHCOORD: a double in RESP3, as Redis' fake client reads it)
            return self._table({b"double": float(v)}) if resp3 else bytes(v)
        if t is Verbatim:
            if resp3:
                return self._table({b"verbatim_string": self._table({b"format": b"txt", b"string": bytes(v)})})
            return bytes(v)
        if isinstance(v, ReplyError):
            return self._table({b"err": v.args[0].encode("latin-1") if isinstance(v.args[0], str) else v.args[0]})
        if isinstance(v, bytes):
            return bytes(v)
        if isinstance(v, int):
            return int(v)
        return v

    def from_lua(self, v: Any) -> Any:
        """A script's return value as a reply value (Redis' Lua-to-RESP rules)."""
        if v is None:
            return None
        t = v.__class__
        if t is bytes:
            return v
        if t is int:
            return v
        if t is float:
            if not math.isfinite(v) or not -2.0**63 <= v < 2.0**63:
                return INT64_MIN
            return int(v)
        if t is bool:
            if self.resp == 3:
                return v
            return 1 if v else None
        if not _is_table(v):
            return None
        err = v[b"err"]
        if err is not None:
            return ReplyError(_text(err)) if isinstance(err, bytes) else ReplyError(_text(err))
        ok = v[b"ok"]
        if isinstance(ok, bytes):
            return Simple(ok.decode("latin-1"))
        d = v[b"double"]
        if isinstance(d, (int, float)):
            return float(d)
        big = v[b"big_number"]
        if isinstance(big, bytes):
            return BigNumber(big)
        m = v[b"map"]
        if _is_table(m):
            return {self._map_key(k): self.from_lua(x) for k, x in m.items()}
        s = v[b"set"]
        if _is_table(s):
            return {self._map_key(k) for k in s.keys()}
        vs = v[b"verbatim_string"]
        if _is_table(vs):
            return Verbatim(vs[b"string"] or b"")
        out = []
        i = 1
        while True:
            x = v[i]
            if x is None:
                break
            out.append(self.from_lua(x))
            i += 1
        return out

    def _map_key(self, k: Any) -> Any:
        v = self.from_lua(k)
        return v if not isinstance(v, list) else tuple(v)


def _is_table(v: Any) -> bool:
    return lua51.lua_type(v) == "table"


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, float) and v == int(v):
        return str(int(v))
    return str(v)


def _key(k: Any) -> Any:
    return k.encode("latin-1") if isinstance(k, str) else k


def format_double_bytes(v: float) -> bytes:
    return (b"%.17g" % v)


def valid_name(name: bytes) -> bool:
    return bool(name) and all(c == 95 or 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 for c in name)


def parse_shebang(body: bytes) -> tuple[frozenset[str], bool, bytes]:
    """``#!lua flags=a,b`` on the first line: the flags; the code keeps the line's place
    (blanked) so that line numbers stay those of the script."""
    if not body.startswith(b"#!"):
        return frozenset(), False, body
    nl = body.find(b"\n")
    line = body[2:] if nl < 0 else body[2:nl]
    parts = line.split(b" ")
    engine = parts[0]
    if engine != b"lua":
        raise ReplyError(f"ERR Unexpected engine in script shebang: #!{engine.decode('utf-8', 'replace')}")
    flags: set[str] = set()
    for p in parts[1:]:
        if not p:
            continue
        if not p.startswith(b"flags="):
            raise ReplyError(f"ERR Unknown lua shebang option: {p.decode('utf-8', 'replace')}")
        for f in p[6:].split(b","):
            if not f:
                continue
            name = f.decode("utf-8", "replace")
            if name not in FLAGS:
                raise ReplyError(f"ERR Unexpected flag in script shebang: {name}")
            flags.add(name)
    code = b"" if nl < 0 else b"\n" + body[nl + 1:]
    return frozenset(flags), True, code


def library_header(code: bytes) -> tuple[bytes, bytes]:
    """FUNCTION LOAD's first line, ``#!lua name=<library>``: the name, and the code."""
    if not code.startswith(b"#!"):
        raise ReplyError("ERR Missing library metadata")
    nl = code.find(b"\n")
    line = code[2:] if nl < 0 else code[2:nl]
    parts = line.split(b" ")
    if parts[0] != b"lua":
        raise ReplyError(f"ERR Engine '{parts[0].decode('utf-8', 'replace')}' not found")
    name = None
    for p in parts[1:]:
        if not p:
            continue
        if p.startswith(b"name="):
            name = p[5:]
        else:
            raise ReplyError(f"ERR Invalid metadata value given: {p.decode('utf-8', 'replace')}")
    if name is None:
        raise ReplyError("ERR Library name was not given")
    if not valid_name(name):
        raise ReplyError("ERR Library names can only contain letters, numbers, or underscores(_) "
                         "and must be at least one character long")
    return name, (b"" if nl < 0 else b"\n" + code[nl + 1:])


def parse_resp(data: bytes) -> Any:
    """One encoded reply (RESP2 or RESP3) back to a value, its types kept."""
    v, _ = _parse(data, 0)
    return v


def _parse(data: bytes, pos: int) -> tuple[Any, int]:
    end = data.index(b"\r\n", pos)
    kind, line = data[pos:pos + 1], data[pos + 1:end]
    pos = end + 2
    if kind == b"+":
        return Simple(line.decode("latin-1")), pos
    if kind == b"-":
        return ReplyError(line.decode("utf-8", "replace")), pos
    if kind == b":":
        return int(line), pos
    if kind == b"$" or kind == b"=":
        n = int(line)
        if n < 0:
            return None, pos
        body = data[pos:pos + n]
        return (body if kind == b"$" else Verbatim(body[4:])), pos + n + 2
    if kind == b"*" or kind == b"~" or kind == b">":
        n = int(line)
        if n < 0:
            return None, pos
        out = []
        for _ in range(n):
            x, pos = _parse(data, pos)
            out.append(x)
        if kind == b"~":
            return {(tuple(x) if isinstance(x, list) else x) for x in out}, pos
        return out, pos
    if kind == b"%":
        m = {}
        for _ in range(int(line)):
            k, pos = _parse(data, pos)
            x, pos = _parse(data, pos)
            m[tuple(k) if isinstance(k, list) else k] = x
        return m, pos
    if kind == b"_":
        return None, pos
    if kind == b",":
        return float(line.replace(b"inf", b"inf")), pos
    if kind == b"#":
        return line == b"t", pos
    if kind == b"(":
        return BigNumber(line), pos
    raise ValueError(f"unexpected RESP type {kind!r}")
