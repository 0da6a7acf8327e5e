"""Redis 7.0's Lua libraries for EVAL: ``cjson``, ``cmsgpack``, ``bit``, ``struct``.

Redis links four C libraries into its Lua 5.1 (lua-cjson 2.1.0, lua-cmsgpack
0.4.0, LuaBitOp 1.0.2 and Roberto Ierusalimschy's struct with Redis' fixes);
lupa's Lua 5.1 has none of them. This module rebuilds them in plain Lua, run
inside the script's own runtime, so a script sees the same functions, results
and error texts as under Redis:

- Everything a script can reach is a Lua function or table: no Python object
  is ever handed to the runtime (a Python callable there could be climbed to
  the interpreter), and the code needs no Python round trip per call.
- Numbers go through the same C routines Redis' libraries use: ``string.format``
  is C's sprintf (cjson's ``%.14g``), ``tonumber`` of a prefix that C's strtod
  would take is strtod itself (cjson's number parsing). Float and integer
  bytes are built with exact double arithmetic (frexp/ldexp, powers of two),
  conversions that C leaves to the hardware follow x86-64 (truncation; an
  out-of-range double becomes INT64_MIN).
- Errors read as the C functions' do: ``luaL_error`` texts carry the calling
  line ("user_script:1: ...") or nothing when called straight from pcall;
  argument errors name the function as the caller wrote it
  ("bad argument #1 to 'pack' (...)"). Lua stack limits that the C code
  checks (LUAI_MAXCSTACK) are counted the same way, so the same inputs fail.

``cjson.null`` is a userdata (Redis' is a NULL light userdata): it compares
equal only to itself, ``type()`` says "userdata", ``tostring()`` gives
"userdata: (nil)" as Redis prints it, ``getmetatable()`` gives false (Redis:
nil; the real one stays out of reach). Redis replies nil for any userdata a
script returns; ``lupa.lua51.lua_type(value) == "userdata"`` finds it (two
lupa wrappers of it do not compare equal in Python).

Known differences from Redis, all outside ordinary use:

- An error raised by a library function that a script calls in tail position
  (``return cjson.decode(s)``) lacks the "user_script:N: " position, and an
  argument error there names the function by its field name: Lua drops the
  caller's frame for a tail call to a Lua function, not to a C one.
- ``getmetatable(cjson.null)`` is false, not nil; ``string.dump`` works on
  these functions (Redis: "unable to dump given function").
- A NaN keeps its sign but not its payload bits through cmsgpack and struct.
- Where the C code's behaviour is undefined (``bit.tohex(x, -2^31)`` negates
  INT_MIN) this code gives a plain answer (8 upper-case digits).
"""

from __future__ import annotations

from typing import Any

__all__ = ["install", "LUA_SOURCE"]


LUA_SOURCE = r"""
local type, tostring, tonumber, select, next, rawget, rawset, pcall, error =
      type, tostring, tonumber, select, next, rawget, rawset, pcall, error
local setmetatable, getmetatable, unpack, newproxy, loadstring, _G =
      setmetatable, getmetatable, unpack, newproxy, loadstring, _G
local floor, frexp, ldexp, huge = math.floor, math.frexp, math.ldexp, math.huge
local byte, char, sub, find, format, gsub, rep, lower =
      string.byte, string.char, string.sub, string.find, string.format, string.gsub,
      string.rep, string.lower
local reverse = string.reverse
local concat = table.concat
local getinfo = debug.getinfo

local MAXCSTACK = 8000          -- LUAI_MAXCSTACK: what lua_checkstack allows a C frame
local P32 = 4294967296
local P31 = 2147483648

------------------------------------------------------------------------------
-- Errors. Library code throws one of these tables; the public wrapper turns it
-- into what the C function would have raised, at the caller's level.
------------------------------------------------------------------------------
local ARG, MSG, RAW = {}, {}, {}

local function argerror(narg, msg) error({ARG, narg, msg}, 0) end
local function lerror(msg) error({MSG, msg}, 0) end          -- luaL_error
local function rawerror(msg) error({RAW, msg}, 0) end        -- luaG_runerror from C

local function tname(v, present)
  if not present then return "no value" end
  return type(v)
end
local function typeerror(narg, expected, v, present)
  argerror(narg, expected .. " expected, got " .. tname(v, present))
end

-- raise(e, fname): called (not tail-called) from a public function: level 2
-- is that function, level 3 its caller, as luaL_where(L, 1) sees a C caller.
local function raise(e, fname)
  local kind = type(e) == "table" and e[1]
  if kind == RAW then error(e[2], 0) end
  if kind == MSG then error(e[2], 3) end
  if kind ~= ARG then error(e, 0) end     -- not ours (a hook's, say): as it came
  local narg, msg = e[2], e[3]
  local ar = getinfo(2, "n")
  local name, namewhat = ar and ar.name, ar and ar.namewhat
  if name == nil then
    -- A tail call ("return lib.f(...)") loses the caller's frame; a C function
    -- keeps it and reads its own field name there.
    local t = getinfo(3, "S")
    if t and t.what == "tail" then name = fname end
  end
  if namewhat == "method" then
    narg = narg - 1
    if narg == 0 then
      error(format("calling '%s' on bad self (%s)", name or "?", msg), 3)
    end
  end
  error(format("bad argument #%d to '%s' (%s)", narg, name or "?", msg), 3)
end

-- unpackn(t, n): return t[1..n] even past what unpack() may push at once.
local unpackn
do
  local src = {"local unpack = ... local f f = function(t, i, n) ",
               "if n - i < 200 then return unpack(t, i, n) end return "}
  for k = 0, 99 do src[#src + 1] = "t[i+" .. k .. "]," end
  src[#src + 1] = "f(t, i + 100, n) end return f"
  local f = loadstring(concat(src))(unpack)
  unpackn = function(t, n) if n == 0 then return end return f(t, 1, n) end
end

-- A public function returning one value / several values (impl returns a
-- table with field n).
local function wrap1(fname, impl)
  return function(...)
    local ok, r = pcall(impl, select("#", ...), ...)
    if not ok then raise(r, fname) end
    return r
  end
end
local function wrapn(fname, impl)
  return function(...)
    local ok, r = pcall(impl, select("#", ...), ...)
    if not ok then raise(r, fname) end
    return unpackn(r, r.n)
  end
end

------------------------------------------------------------------------------
-- Argument checks, as lauxlib does them.
------------------------------------------------------------------------------
local function tonum(v)           -- lua_tonumber, nil when not a number
  local t = type(v)
  if t == "number" then return v end
  if t == "string" then return tonumber(v) end
  return nil
end

local function checknumber(narg, v, present)
  local n = tonum(v)
  if n == nil then typeerror(narg, "number", v, present) end
  return n
end

-- (lua_Integer)d on x86-64: truncation; NaN and out of range give INT64_MIN.
local function trunc64(d)
  if d ~= d or d >= 9223372036854775808 or d < -9223372036854775808 then
    return -9223372036854775808
  end
  if d >= 0 then return floor(d) end
  return -floor(-d)
end

local function checkinteger(narg, v, present)
  local n = tonum(v)
  if n == nil then typeerror(narg, "number", v, present) end
  return trunc64(n)
end

local function optinteger(narg, v, present, default)
  if v == nil then return default end
  return checkinteger(narg, v, present)
end

-- (int) of a lua_Integer: keep the low 32 bits, signed.
local function toint32(i)
  local u = i % P32
  if u >= P31 then u = u - P32 end
  return u
end

local function checklstring(narg, v, present)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return tostring(v) end
  typeerror(narg, "string", v, present)
end

------------------------------------------------------------------------------
-- Numbers <-> IEEE 754 bytes.
------------------------------------------------------------------------------
local NAN_NEG, NAN_POS
do
  local z = 0
  local a = z / z
  if format("%.14g", a):sub(1, 1) == "-" then NAN_NEG, NAN_POS = a, -a
  else NAN_NEG, NAN_POS = -a, a end
end
local function nan_negative(d) return byte(format("%f", d), 1) == 45 end

local function round_even(x)
  local r = floor(x)
  local f = x - r
  if f > 0.5 or (f == 0.5 and r % 2 == 1) then r = r + 1 end
  return r
end

-- bits of (float)d, as an unsigned 32-bit number (round to nearest even)
local function f32_bits(d)
  if d ~= d then return nan_negative(d) and 0xFFC00000 or 0x7FC00000 end
  local sign = 0
  if d < 0 or (d == 0 and 1 / d < 0) then sign = P31; d = -d end
  if d == huge then return sign + 0x7F800000 end
  if d == 0 then return sign end
  local m, e = frexp(d)
  if e >= -125 then
    local M = round_even(ldexp(m, 24))
    if M == 16777216 then M = 8388608; e = e + 1 end
    if e > 128 then return sign + 0x7F800000 end
    return sign + (e + 126) * 8388608 + (M - 8388608)
  end
  return sign + round_even(ldexp(d, 149))
end

local function f32_from_bits(b)
  local sign = b >= P31
  if sign then b = b - P31 end
  local ex = floor(b / 8388608)
  local fr = b % 8388608
  local v
  if ex == 255 then
    if fr ~= 0 then return sign and NAN_NEG or NAN_POS end
    v = huge
  elseif ex == 0 then v = ldexp(fr, -149)
  else v = ldexp(fr + 8388608, ex - 150) end
  if sign then v = -v end
  return v
end

-- (double)(float)d == d ?
local function float_exact(d)
  if d ~= d then return false end
  if d == huge or d == -huge or d == 0 then return true end
  local m, e = frexp(d)
  if e > 128 then return false end
  local x
  if e >= -125 then x = ldexp(m, 24) else x = ldexp(d, 149) end
  return x == floor(x)
end

-- bits of d as two unsigned 32-bit words (hi, lo)
local function f64_words(d)
  if d ~= d then return (nan_negative(d) and 0xFFF80000 or 0x7FF80000), 0 end
  local sign = 0
  if d < 0 or (d == 0 and 1 / d < 0) then sign = P31; d = -d end
  if d == huge then return sign + 0x7FF00000, 0 end
  if d == 0 then return sign, 0 end
  local m, e = frexp(d)
  local ex, fr
  if e >= -1021 then ex = e + 1022; fr = ldexp(m, 53) - 4503599627370496
  else ex = 0; fr = ldexp(d, 1074) end
  local fh = floor(fr / P32)
  return sign + ex * 1048576 + fh, fr - fh * P32
end

local function f64_from_words(hi, lo)
  local sign = hi >= P31
  if sign then hi = hi - P31 end
  local ex = floor(hi / 1048576)
  local fr = (hi % 1048576) * P32 + lo
  local v
  if ex == 2047 then
    if fr ~= 0 then return sign and NAN_NEG or NAN_POS end
    v = huge
  elseif ex == 0 then v = ldexp(fr, -1074)
  else v = ldexp(fr + 4503599627370496, ex - 1075) end
  if sign then v = -v end
  return v
end

-- big-endian bytes of an unsigned 32-bit word
local function be32(w)
  local b4 = w % 256; w = (w - b4) / 256
  local b3 = w % 256; w = (w - b3) / 256
  local b2 = w % 256
  return char((w - b2) / 256, b2, b3, b4)
end
local function word32(s, i)      -- big-endian word at s[i..i+3]
  local a, b, c, d = byte(s, i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

-- int64 (exact integer double in [-2^63, 2^63)) as (hi, lo) two's complement
local function i64_words(n)
  if n >= 0 then
    local h = floor(n / P32)
    return h, n - h * P32
  end
  local m = -n
  local h = floor(m / P32)
  local l = m - h * P32
  if l == 0 then return (P32 - h) % P32, 0 end
  return P32 - 1 - h, P32 - l
end
-- (lua_Number)(int64_t)(hi:lo)
local function i64_value(hi, lo)
  if hi >= P31 then return (hi - P32) * P32 + lo end
  return hi * P32 + lo
end

------------------------------------------------------------------------------
-- bit (LuaBitOp 1.0.2)
------------------------------------------------------------------------------
local MAGIC = 6755399441055744.0   -- 2^52 + 2^51

-- barg: the low 32 bits of (n + 2^52 + 2^51) as a double, unsigned
local function tobits(n)
  local s = n + MAGIC
  if s ~= s or s == huge or s == -huge or s == 0 then return 0 end
  local m = frexp(s)
  if m < 0 then m = -m end
  return ldexp(m, 53) % P32
end

local function barg(narg, v, present)
  local n = tonum(v)
  if n == nil then typeerror(narg, "number", v, present) end
  return tobits(n)
end

local function sbits(b) if b >= P31 then return b - P32 end return b end

local AND, OR, XOR = {}, {}, {}
for x = 0, 15 do
  for y = 0, 15 do
    local a, o, r = 0, 0, 0
    local xx, yy, p = x, y, 1
    for _ = 1, 4 do
      local bx, by = xx % 2, yy % 2
      if bx == 1 and by == 1 then a = a + p end
      if bx == 1 or by == 1 then o = o + p end
      if bx ~= by then r = r + p end
      xx = (xx - bx) / 2; yy = (yy - by) / 2; p = p * 2
    end
    AND[x * 16 + y] = a; OR[x * 16 + y] = o; XOR[x * 16 + y] = r
  end
end

local function bitop(tbl, a, b)
  local r, p = 0, 1
  for _ = 1, 8 do
    local x, y = a % 16, b % 16
    r = r + tbl[x * 16 + y] * p
    a = (a - x) / 16; b = (b - y) / 16; p = p * 16
  end
  return r
end

local function band_u(a, b) return bitop(AND, a, b) end

local function bit_fold(fname, tbl)
  return wrap1(fname, function(n, ...)
    local b = barg(1, (...), n >= 1)
    for i = n, 2, -1 do
      b = bitop(tbl, b, barg(i, (select(i, ...)), true))
    end
    return sbits(b)
  end)
end

local function bit_shift(fname, f)
  return wrap1(fname, function(n, v, s)
    local b = barg(1, v, n >= 1)
    local k = barg(2, s, n >= 2) % 32
    return sbits(f(b, k))
  end)
end

local POW2 = {}
for i = 0, 32 do POW2[i] = 2 ^ i end

local bit = {
  tobit = wrap1("tobit", function(n, v) return sbits(barg(1, v, n >= 1)) end),
  bnot = wrap1("bnot", function(n, v) return sbits(P32 - 1 - barg(1, v, n >= 1)) end),
  band = bit_fold("band", AND),
  bor = bit_fold("bor", OR),
  bxor = bit_fold("bxor", XOR),
  lshift = bit_shift("lshift", function(b, k) return (b * POW2[k]) % P32 end),
  rshift = bit_shift("rshift", function(b, k) return floor(b / POW2[k]) end),
  arshift = bit_shift("arshift", function(b, k)
    if b >= P31 then return floor((b - P32) / POW2[k]) % P32 end
    return floor(b / POW2[k])
  end),
  rol = bit_shift("rol", function(b, k)
    if k == 0 then return b end
    return (b * POW2[k]) % P32 + floor(b / POW2[32 - k])
  end),
  ror = bit_shift("ror", function(b, k)
    if k == 0 then return b end
    return (b * POW2[32 - k]) % P32 + floor(b / POW2[k])
  end),
  bswap = wrap1("bswap", function(n, v)
    local b = barg(1, v, n >= 1)
    local b1 = b % 256; b = (b - b1) / 256
    local b2 = b % 256; b = (b - b2) / 256
    local b3 = b % 256
    local b4 = (b - b3) / 256
    return sbits(((b1 * 256 + b2) * 256 + b3) * 256 + b4)
  end),
  tohex = wrap1("tohex", function(n, v, w)
    local b = barg(1, v, n >= 1)
    local k = 8
    if n >= 2 then k = sbits(barg(2, w, true)) end
    local digits = "%08x"
    if k < 0 then k = -k; digits = "%08X" end
    if k > 8 then k = 8 end
    if k <= 0 then return "" end
    return sub(format(digits, b), 9 - k)
  end),
}

------------------------------------------------------------------------------
-- struct (struct 1.4 with Redis' fixes)
------------------------------------------------------------------------------
local BIG, LITTLE = 0, 1
local NATIVE = LITTLE
local MAXINTSIZE = 32
local MAXALIGN = 8
local INT_MAX = 2147483647

local function isdigit(c) return c and c >= 48 and c <= 57 end

-- getnum: returns value, next index
local function getnum(fmt, i, df)
  local c = byte(fmt, i)
  if not isdigit(c) then return df, i end
  local a = 0
  repeat
    local d = c - 48
    if a > floor(INT_MAX / 10) or a * 10 > INT_MAX - d then
      lerror("integral size overflow")
    end
    a = a * 10 + d
    i = i + 1
    c = byte(fmt, i)
  until not isdigit(c)
  return a, i
end

local SIZES = {B = 1, b = 1, H = 2, h = 2, L = 8, l = 8, T = 8, f = 4, d = 8, x = 1}

local function optsize(opt, fmt, i)
  local s = SIZES[opt]
  if s then return s, i end
  if opt == "c" then return getnum(fmt, i, 1) end
  if opt == "i" or opt == "I" then
    local sz
    sz, i = getnum(fmt, i, 4)
    if sz > MAXINTSIZE then
      lerror(format("integral size %d is larger than limit of %d", sz, MAXINTSIZE))
    end
    return sz, i
  end
  return 0, i
end

local IS_P2 = {[2] = true, [4] = true, [8] = true, [16] = true, [32] = true}

local function gettoalign(len, align, opt, size)
  if size == 0 or opt == "c" then return 0 end
  if size > align then size = align end
  if size == 1 then return 0 end
  if IS_P2[size] then return (size - len % size) % size end
  -- (size - (len & (size - 1))) & (size - 1), in unsigned arithmetic
  local m = size - 1
  local a = band_u(len % P32, m)
  return band_u((size - a) % P32, m)
end

local function isp2(x) return x > 0 and band_u(x % P32, (x - 1) % P32) == 0 end

-- controloptions: returns endian, align, next index
local function controloptions(opt, fmt, i, endian, align)
  if opt == " " then return endian, align, i end
  if opt == ">" then return BIG, align, i end
  if opt == "<" then return LITTLE, align, i end
  if opt == "!" then
    local a
    a, i = getnum(fmt, i, MAXALIGN)
    if not isp2(a) then lerror(format("alignment %d is not a power of 2", a)) end
    return endian, a, i
  end
  argerror(1, format("invalid format option '%s'", opt))
end

local function cfmt(fmt)       -- C sees the format up to its first NUL
  local z = find(fmt, "\0", 1, true)
  if z then return sub(fmt, 1, z - 1) end
  return fmt
end

-- (unsigned long) value of a lua_Number as putinteger computes it: (hi, lo)
local function pack_u64(n)
  if n < 0 then
    return i64_words(trunc64(n))
  end
  if n ~= n then return P31, 0 end
  if n >= 18446744073709551616 then return 0, 0 end
  local t = floor(n)
  local h = floor(t / P32)
  return h, t - h * P32
end

local function int_bytes(n, size, endian)
  local hi, lo = pack_u64(n)
  local t = {}
  for k = 0, size - 1 do      -- k: significance of the byte
    local b
    if k < 4 then b = floor(lo / POW2[8 * k]) % 256
    elseif k < 8 then b = floor(hi / POW2[8 * (k - 4)]) % 256
    else b = 0 end
    if endian == LITTLE then t[k + 1] = b else t[size - k] = b end
  end
  return char(unpack(t, 1, size))
end

local function word_bytes(w, endian)           -- 4 bytes of an unsigned word
  local s = be32(w)
  if endian == LITTLE then s = reverse(s) end
  return s
end

local function struct_pack(nargs, ...)
  local fmt = cfmt(checklstring(1, (...), nargs >= 1))
  local args = {...}
  -- b_pack pushes a nil above its arguments: a missing one reads as nil first
  nargs = nargs + 1
  local endian, align = NATIVE, 1
  local arg = 2
  local out = {}
  local total = 0
  local i, flen = 1, #fmt
  while i <= flen do
    local opt = sub(fmt, i, i)
    i = i + 1
    local size
    size, i = optsize(opt, fmt, i)
    local toalign = gettoalign(total, align, opt, size)
    total = total + toalign
    if toalign > 0 then out[#out + 1] = rep("\0", toalign) end
    if opt == "b" or opt == "B" or opt == "h" or opt == "H" or opt == "l" or opt == "L"
        or opt == "T" or opt == "i" or opt == "I" then
      local n = checknumber(arg, args[arg], nargs >= arg)
      arg = arg + 1
      out[#out + 1] = int_bytes(n, size, endian)
    elseif opt == "x" then
      out[#out + 1] = "\0"
    elseif opt == "f" then
      local n = checknumber(arg, args[arg], nargs >= arg)
      arg = arg + 1
      out[#out + 1] = word_bytes(f32_bits(n), endian)
    elseif opt == "d" then
      local n = checknumber(arg, args[arg], nargs >= arg)
      arg = arg + 1
      local hi, lo = f64_words(n)
      local s = be32(hi) .. be32(lo)
      if endian == LITTLE then s = reverse(s) end
      out[#out + 1] = s
    elseif opt == "c" or opt == "s" then
      local s = checklstring(arg, args[arg], nargs >= arg)
      arg = arg + 1
      local l = #s
      if size == 0 then size = l end
      if l < size then argerror(arg, "string too short") end
      out[#out + 1] = sub(s, 1, size)
      if opt == "s" then
        out[#out + 1] = "\0"
        size = size + 1
      end
    else
      endian, align, i = controloptions(opt, fmt, i, endian, align)
    end
    total = total + size
  end
  return concat(out)
end

local function getinteger(data, pos, endian, signed, size)
  -- the last 8 bytes in significance order survive the C shifts
  local hi, lo = 0, 0
  for k = 0, (size < 8 and size or 8) - 1 do
    local b
    if endian == BIG then b = byte(data, pos + size - k) else b = byte(data, pos + 1 + k) end
    if k < 4 then lo = lo + b * POW2[8 * k] else hi = hi + b * POW2[8 * (k - 4)] end
  end
  if not signed then return hi * P32 + lo end
  local s = (size * 8 - 1) % 64      -- x86 masks the shift count
  local neg
  if s >= 32 then neg = hi >= POW2[s - 32] else neg = hi > 0 or lo >= POW2[s] end
  if neg then
    if s >= 32 then
      hi = hi % POW2[s - 32] + (P32 - POW2[s - 32])
    else
      hi = P32 - 1
      lo = lo % POW2[s] + (P32 - POW2[s])
    end
  end
  return i64_value(hi, lo)
end

local function struct_unpack(nargs, f, d, p)
  local fmt = cfmt(checklstring(1, f, nargs >= 1))
  local data = checklstring(2, d, nargs >= 2)
  local ld = #data
  local pos = optinteger(3, p, nargs >= 3, 1)
  -- (size_t) pos > 0: only 0 fails; a negative one wraps to a huge offset
  if pos == 0 then argerror(3, "offset must be 1 or greater") end
  pos = pos - 1
  local endian, align = NATIVE, 1
  local res = {}
  local n = 0
  local i, flen = 1, #fmt
  while i <= flen do
    local opt = sub(fmt, i, i)
    i = i + 1
    local size
    size, i = optsize(opt, fmt, i)
    if pos >= 0 then pos = pos + gettoalign(pos, align, opt, size) end
    if not (size <= ld and pos >= 0 and pos <= ld - size) then
      argerror(2, "data string too short")
    end
    -- luaL_checkstack(L, 2): the arguments and the results so far are on the stack
    if nargs + n + 2 > MAXCSTACK then lerror("stack overflow (too many results)") end
    if opt == "b" or opt == "B" or opt == "h" or opt == "H" or opt == "l" or opt == "L"
        or opt == "T" or opt == "i" or opt == "I" then
      n = n + 1
      res[n] = getinteger(data, pos, endian, opt == lower(opt), size)
    elseif opt == "x" then
      -- nothing
    elseif opt == "f" then
      local w
      if endian == BIG then w = word32(data, pos + 1)
      else w = word32(reverse(sub(data, pos + 1, pos + 4)), 1) end
      n = n + 1
      res[n] = f32_from_bits(w)
    elseif opt == "d" then
      local s = sub(data, pos + 1, pos + 8)
      if endian == LITTLE then s = reverse(s) end
      n = n + 1
      res[n] = f64_from_words(word32(s, 1), word32(s, 5))
    elseif opt == "c" then
      if size == 0 then
        local prev = res[n]
        if n == 0 or tonum(prev) == nil then
          lerror("format 'c0' needs a previous size")
        end
        size = tonum(prev)
        res[n] = nil
        n = n - 1
        -- (size_t) of the double
        if size < 0 then size = huge
        else size = floor(size) end
        if not (size <= ld and pos <= ld - size) then
          argerror(2, "data string too short")
        end
      end
      n = n + 1
      res[n] = sub(data, pos + 1, pos + size)
    elseif opt == "s" then
      local e = find(data, "\0", pos + 1, true)
      if not e then lerror("unfinished string in data") end
      size = e - pos
      n = n + 1
      res[n] = sub(data, pos + 1, e - 1)
    else
      endian, align, i = controloptions(opt, fmt, i, endian, align)
    end
    pos = pos + size
  end
  n = n + 1
  res[n] = pos + 1
  res.n = n
  return res
end

local function isalnum(c)
  return (c >= 48 and c <= 57) or (c >= 65 and c <= 90) or (c >= 97 and c <= 122)
end

local function struct_size(nargs, f)
  local fmt = cfmt(checklstring(1, f, nargs >= 1))
  local endian, align = NATIVE, 1
  local pos = 0
  local i, flen = 1, #fmt
  while i <= flen do
    local opt = sub(fmt, i, i)
    i = i + 1
    local size
    size, i = optsize(opt, fmt, i)
    pos = pos + gettoalign(pos, align, opt, size)
    if opt == "s" then argerror(1, "option 's' has no fixed size")
    elseif opt == "c" and size == 0 then argerror(1, "option 'c0' has no fixed size") end
    if not isalnum(byte(opt)) then
      endian, align, i = controloptions(opt, fmt, i, endian, align)
    end
    pos = pos + size
  end
  return pos
end

local struct = {
  pack = wrap1("pack", struct_pack),
  unpack = wrapn("unpack", struct_unpack),
  size = wrap1("size", struct_size),
}

------------------------------------------------------------------------------
-- cmsgpack (lua-cmsgpack 0.4.0)
------------------------------------------------------------------------------
local MP_MAX_NESTING = 16

-- The output of the encoders (cjson.encode, cmsgpack.pack): pieces and count.
-- Neither runs script code while encoding, so one buffer serves both.
local OUT, ON = nil, 0

local function mp_int(n)      -- n: exact integer in [-2^63, 2^63)
  if n >= 0 then
    if n <= 127 then return char(n) end
    if n <= 0xff then return char(0xcc, n) end
    if n <= 0xffff then return char(0xcd, floor(n / 256), n % 256) end
    if n <= 0xffffffff then return "\206" .. be32(n) end
    local hi, lo = i64_words(n)
    return "\207" .. be32(hi) .. be32(lo)
  end
  if n >= -32 then return char(n + 256) end
  if n >= -128 then return char(0xd0, n + 256) end
  if n >= -32768 then
    local u = n + 65536
    return char(0xd1, floor(u / 256), u % 256)
  end
  if n >= -2147483648 then return "\210" .. be32(n + P32) end
  local hi, lo = i64_words(n)
  return "\211" .. be32(hi) .. be32(lo)
end

local function mp_number(n)
  if n == n and n ~= huge and n ~= -huge and floor(n) == n
      and n >= -9223372036854775808 and n < 9223372036854775808 then
    return mp_int(n)
  end
  if float_exact(n) then return "\202" .. be32(f32_bits(n)) end
  local hi, lo = f64_words(n)
  return "\203" .. be32(hi) .. be32(lo)
end

local function mp_len_header(n, fix, h16, h32)
  if n <= 15 then return char(fix + n) end
  if n <= 65535 then return char(h16, floor(n / 256), n % 256) end
  return char(h32) .. be32(n % P32)
end

local mp_encode

local function mp_is_array(t)
  local count, max = 0, 0
  for k in next, t do
    if type(k) ~= "number" or k <= 0 or k ~= floor(k) or k >= P31 then return false end
    if k > max then max = k end
    count = count + 1
  end
  return max == count
end

mp_encode = function(v, level)
  local t = type(v)
  if t == "table" and level == MP_MAX_NESTING then t = "nil" end
  if t == "string" then
    local len = #v
    if len < 32 then ON = ON + 1 OUT[ON] = char(0xa0 + len)
    elseif len <= 0xff then ON = ON + 1 OUT[ON] = char(0xd9, len)
    elseif len <= 0xffff then ON = ON + 1 OUT[ON] = char(0xda, floor(len / 256), len % 256)
    else ON = ON + 1 OUT[ON] = "\219" .. be32(len % P32) end
    ON = ON + 1 OUT[ON] = v
  elseif t == "boolean" then
    ON = ON + 1 OUT[ON] = v and "\195" or "\194"
  elseif t == "number" then
    ON = ON + 1 OUT[ON] = mp_number(v)
  elseif t == "table" then
    if mp_is_array(v) then
      local len = #v
      ON = ON + 1 OUT[ON] = mp_len_header(len, 0x90, 0xdc, 0xdd)
      for j = 1, len do mp_encode(v[j], level + 1) end
    else
      local len = 0
      for _ in next, v do len = len + 1 end
      ON = ON + 1 OUT[ON] = mp_len_header(len, 0x80, 0xde, 0xdf)
      for k, val in next, v do
        mp_encode(k, level + 1)
        mp_encode(val, level + 1)
      end
    end
  else
    ON = ON + 1 OUT[ON] = "\192"
  end
end

local function mp_pack(nargs, ...)
  if nargs == 0 then argerror(0, "MessagePack pack needs input.") end
  OUT, ON = {}, 0
  for i = 1, nargs do
    mp_encode((select(i, ...)), 0)
  end
  local r = concat(OUT, "", 1, ON)
  OUT = nil
  return r
end

-- Decoding. State: the input, the cursor (0-based), its end, the stack use.
local D, DP, DL
local EOF = {}
local BADFMT = {}
local STACK_MSG = "stack overflow (too many return values at once; "
  .. "use unpack_one or unpack_limit instead.)"

local mp_decode

local function need(n) if DL - DP < n then error(EOF, 0) end end

local function settable(t, k, v)
  if k == nil then rawerror("table index is nil") end
  if k ~= k then rawerror("table index is NaN") end
  t[k] = v
end

mp_decode = function(used)
  need(1)
  if used + 1 > MAXCSTACK then lerror(STACK_MSG) end
  local c = byte(D, DP + 1)
  if c < 0x80 then DP = DP + 1; return c end
  if c >= 0xe0 then DP = DP + 1; return c - 256 end
  if c >= 0xa0 and c < 0xc0 then
    local l = c - 0xa0
    need(1 + l)
    local s = sub(D, DP + 2, DP + 1 + l)
    DP = DP + 1 + l
    return s
  end
  local alen, mlen
  if c < 0x90 then mlen = c - 0x80; DP = DP + 1
  elseif c < 0xa0 then alen = c - 0x90; DP = DP + 1
  elseif c == 0xcc then need(2); DP = DP + 2; return byte(D, DP)
  elseif c == 0xd0 then
    need(2); DP = DP + 2
    local b = byte(D, DP)
    if b >= 128 then b = b - 256 end
    return b
  elseif c == 0xcd or c == 0xd1 then
    need(3)
    local a, b = byte(D, DP + 2, DP + 3)
    DP = DP + 3
    local v = a * 256 + b
    if c == 0xd1 and v >= 32768 then v = v - 65536 end
    return v
  elseif c == 0xce or c == 0xd2 then
    need(5)
    local v = word32(D, DP + 2)
    DP = DP + 5
    if c == 0xd2 and v >= P31 then v = v - P32 end
    return v
  elseif c == 0xcf or c == 0xd3 then
    need(9)
    local hi, lo = word32(D, DP + 2), word32(D, DP + 6)
    DP = DP + 9
    return i64_value(hi, lo)
  elseif c == 0xc0 then DP = DP + 1; return nil
  elseif c == 0xc3 then DP = DP + 1; return true
  elseif c == 0xc2 then DP = DP + 1; return false
  elseif c == 0xca then
    need(5)
    local w = word32(D, DP + 2)
    DP = DP + 5
    return f32_from_bits(w)
  elseif c == 0xcb then
    need(9)
    local hi, lo = word32(D, DP + 2), word32(D, DP + 6)
    DP = DP + 9
    return f64_from_words(hi, lo)
  elseif c == 0xd9 then
    need(2)
    local l = byte(D, DP + 2)
    need(2 + l)
    local s = sub(D, DP + 3, DP + 2 + l)
    DP = DP + 2 + l
    return s
  elseif c == 0xda then
    need(3)
    local a, b = byte(D, DP + 2, DP + 3)
    local l = a * 256 + b
    need(3 + l)
    local s = sub(D, DP + 4, DP + 3 + l)
    DP = DP + 3 + l
    return s
  elseif c == 0xdb then
    need(5)
    local l = word32(D, DP + 2)
    DP = DP + 5
    need(l)
    local s = sub(D, DP + 1, DP + l)
    DP = DP + l
    return s
  elseif c == 0xdc or c == 0xde then
    need(3)
    local a, b = byte(D, DP + 2, DP + 3)
    DP = DP + 3
    if c == 0xdc then alen = a * 256 + b else mlen = a * 256 + b end
  elseif c == 0xdd or c == 0xdf then
    need(5)
    local l = word32(D, DP + 2)
    DP = DP + 5
    if c == 0xdd then alen = l else mlen = l end
  else
    error(BADFMT, 0)
  end
  local t = {}
  if alen then
    if used + 2 > MAXCSTACK then lerror("stack overflow (in function mp_decode_to_lua_array)") end
    for i = 1, alen do
      local v = mp_decode(used + 2)
      t[i] = v
    end
  else
    for _ = 1, mlen do
      local k = mp_decode(used + 1)
      local v = mp_decode(used + 2)
      settable(t, k, v)
    end
  end
  return t
end

-- base: the C frame's stack use before the first value (the arguments left on it)
local function mp_unpack_full(s, limit, offset, base)
  local len = #s
  local decode_all = (limit == 0 and offset == 0)
  if offset < 0 or limit < 0 then
    lerror(format("Invalid request to unpack with offset of %d and limit of %d.",
                  toint32(offset), toint32(len)))
  elseif offset > len then
    lerror(format("Start offset %d greater than input length %d.", toint32(offset), toint32(len)))
  end
  if decode_all then limit = INT_MAX end
  D, DP, DL = s, offset, len
  local res = {}
  local cnt = 0
  local first = decode_all and 1 or 2     -- the offset goes first, not on the stack yet
  while DL - DP > 0 and cnt < limit do
    local ok, v = pcall(mp_decode, base + cnt)
    if not ok then
      D = nil
      if v == EOF then lerror("Missing bytes in input.") end
      if v == BADFMT then lerror("Bad data format in input.") end
      error(v, 0)
    end
    cnt = cnt + 1
    res[first + cnt - 1] = v
  end
  local left = DL - DP
  D = nil
  if not decode_all then
    if base + cnt + 1 > MAXCSTACK then lerror("stack overflow (in function mp_unpack_full)") end
    res[1] = (left == 0) and -1 or (len - left)
    cnt = cnt + 1
  end
  res.n = cnt
  return res
end

local cmsgpack = {
  pack = wrap1("pack", mp_pack),
  unpack = wrapn("unpack", function(nargs, s)
    s = checklstring(1, s, nargs >= 1)
    return mp_unpack_full(s, 0, 0, nargs)
  end),
  unpack_one = wrapn("unpack_one", function(nargs, s, off)
    local offset = optinteger(2, off, nargs >= 2, 0)
    s = checklstring(1, s, nargs >= 1)
    return mp_unpack_full(s, 1, offset, 1)
  end),
  unpack_limit = wrapn("unpack_limit", function(nargs, s, lim, off)
    local limit = checkinteger(2, lim, nargs >= 2)
    local offset = optinteger(3, off, nargs >= 3, 0)
    s = checklstring(1, s, nargs >= 1)
    return mp_unpack_full(s, limit, offset, 1)
  end),
  _NAME = "cmsgpack",
  _VERSION = "lua-cmsgpack 0.4.0",
  _COPYRIGHT = "Copyright (C) 2012, Salvatore Sanfilippo",
  _DESCRIPTION = "MessagePack C implementation for Lua",
}

------------------------------------------------------------------------------
-- cjson (lua-cjson 2.1.0)
------------------------------------------------------------------------------
local NULL = newproxy(true)
do
  local mt = getmetatable(NULL)
  mt.__tostring = function() return "userdata: (nil)" end
  -- hidden: a script must not reach (and change, for the next scripts) it
  mt.__metatable = false
end

local ESCAPES = {}
for i = 0, 31 do ESCAPES[char(i)] = format("\\u%04x", i) end
ESCAPES["\b"] = "\\b"; ESCAPES["\t"] = "\\t"; ESCAPES["\n"] = "\\n"
ESCAPES["\f"] = "\\f"; ESCAPES["\r"] = "\\r"
ESCAPES['"'] = '\\"'; ESCAPES["\\"] = "\\\\"; ESCAPES["/"] = "\\/"
ESCAPES["\127"] = "\\u007f"
local ESC_PAT = '[%z\1-\31"\\/\127]'

local function json_string(s)
  if find(s, ESC_PAT) then s = gsub(s, ESC_PAT, ESCAPES) end
  return '"' .. s .. '"'
end

local function json_number(cfg, num)
  if num ~= num or num == huge or num == -huge then
    local inv = cfg.encode_invalid_numbers
    if inv == 0 then lerror("Cannot serialise number: must not be NaN or Inf") end
    if inv == 1 then
      if num ~= num then return "nan" end
    else
      return "null"
    end
  end
  return format(cfg.number_fmt, num)
end

local json_append

-- slots: the C frame's stack use when this value is on top (lua_checkstack)
json_append = function(cfg, v, depth, slots)
  local t = type(v)
  if t == "string" then
    ON = ON + 1 OUT[ON] = json_string(v)
  elseif t == "number" then
    ON = ON + 1 OUT[ON] = json_number(cfg, v)
  elseif t == "boolean" then
    ON = ON + 1 OUT[ON] = v and "true" or "false"
  elseif t == "table" then
    depth = depth + 1
    if depth > cfg.encode_max_depth or slots + 3 > MAXCSTACK then
      lerror(format("Cannot serialise, excessive nesting (%d)", depth))
    end
    -- lua_array_length
    local max, items, isarray = 0, 0, true
    for k in next, v do
      if type(k) == "number" and k ~= 0 and floor(k) == k and k >= 1 then
        if k > max then
          if k < P31 then max = k else max = -P31 end
        end
        items = items + 1
      else
        isarray = false
        break
      end
    end
    if isarray and cfg.encode_sparse_ratio > 0 and max > items * cfg.encode_sparse_ratio
        and max > cfg.encode_sparse_safe then
      if cfg.encode_sparse_convert == 0 then
        lerror("Cannot serialise table: excessively sparse array")
      end
      isarray = false
    end
    if isarray and max > 0 then
      ON = ON + 1 OUT[ON] = "["
      for i = 1, max do
        if i > 1 then ON = ON + 1 OUT[ON] = "," end
        json_append(cfg, rawget(v, i), depth, slots + 1)
      end
      ON = ON + 1 OUT[ON] = "]"
    else
      ON = ON + 1 OUT[ON] = "{"
      local comma = false
      for k, val in next, v do
        if comma then ON = ON + 1 OUT[ON] = "," else comma = true end
        local kt = type(k)
        if kt == "number" then
          ON = ON + 1 OUT[ON] = '"' .. json_number(cfg, k) .. '":'
        elseif kt == "string" then
          ON = ON + 1 OUT[ON] = json_string(k) .. ":"
        else
          lerror("Cannot serialise " .. kt .. ": table key must be a number or string")
        end
        json_append(cfg, val, depth, slots + 2)
      end
      ON = ON + 1 OUT[ON] = "}"
    end
  elseif t == "nil" or v == NULL then
    ON = ON + 1 OUT[ON] = "null"
  else
    lerror("Cannot serialise " .. t .. ": type not supported")
  end
end

-- Decoding: the text (cut at its first NUL, as C reads it), the cursor
-- (1-based), the config, the depth.
local S, P, CFG, DEPTH

local T_NAMES = {
  obj_begin = "T_OBJ_BEGIN", obj_end = "T_OBJ_END", arr_begin = "T_ARR_BEGIN",
  arr_end = "T_ARR_END", string = "T_STRING", number = "T_NUMBER",
  boolean = "T_BOOLEAN", null = "T_NULL", colon = "T_COLON", comma = "T_COMMA",
  ["end"] = "T_END",
}
local SINGLE = {
  [123] = "obj_begin", [125] = "obj_end", [91] = "arr_begin", [93] = "arr_end",
  [44] = "comma", [58] = "colon",
}
local ESC_DECODE = {
  [34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [116] = "\t", [110] = "\n",
  [102] = "\f", [114] = "\r",
}

-- token: type, value, index (0-based, where the token or its error is)
local function parse_error(expected, ttype, tvalue, tindex)
  local found
  if ttype == "error" then found = tvalue else found = T_NAMES[ttype] end
  lerror(format("Expected %s but found %s at character %d", expected, found, tindex + 1))
end

local function hex4(i)
  local h = sub(S, i, i + 3)
  if #h < 4 or find(h, "[^%x]") then return nil end
  return tonumber(h, 16)
end

local function utf8(cp)
  if cp <= 0x7f then return char(cp) end
  if cp <= 0x7ff then return char(floor(cp / 64) + 0xc0, cp % 64 + 0x80) end
  if cp <= 0xffff then
    return char(floor(cp / 4096) + 0xe0, floor(cp / 64) % 64 + 0x80, cp % 64 + 0x80)
  end
  return char(floor(cp / 262144) + 0xf0, floor(cp / 4096) % 64 + 0x80,
              floor(cp / 64) % 64 + 0x80, cp % 64 + 0x80)
end

local function string_token()
  -- S[P] is the opening quote
  local i = P + 1
  local parts = {}
  while true do
    local q = find(S, '["\\]', i)
    if not q then
      return "error", "unexpected end of string", #S
    end
    if q > i then parts[#parts + 1] = sub(S, i, q - 1) end
    if byte(S, q) == 34 then
      P = q + 1
      return "string", concat(parts)
    end
    local e = byte(S, q + 1)
    if e == 117 then            -- \u
      local cp = hex4(q + 2)
      local len = 6
      if cp and cp >= 0xd800 and cp <= 0xdfff then
        if cp >= 0xdc00 then cp = nil
        elseif sub(S, q + 6, q + 7) ~= "\\u" then cp = nil
        else
          local lo = hex4(q + 8)
          if not lo or lo < 0xdc00 or lo > 0xdfff then cp = nil
          else
            cp = (cp - 0xd800) * 1024 + (lo - 0xdc00) + 0x10000
            len = 12
          end
        end
      end
      if not cp then return "error", "invalid unicode escape code", q - 1 end
      parts[#parts + 1] = utf8(cp)
      i = q + len
    else
      local r = e and ESC_DECODE[e]
      if not r then return "error", "invalid escape code", q - 1 end
      parts[#parts + 1] = r
      i = q + 2
    end
  end
end

local function is_invalid_number(p)
  local c = byte(S, p)
  if c == 43 then return true end
  if c == 45 then p = p + 1; c = byte(S, p) end
  if c == 48 then
    local c2 = byte(S, p + 1)
    if c2 == 120 or c2 == 88 or isdigit(c2) then return true end
    return false
  elseif c == nil or c <= 57 then
    return false
  end
  local w = lower(sub(S, p, p + 2))
  return w == "inf" or w == "nan"
end

-- where glibc's strtod would stop reading a number that starts at p
local function strtod_end(p)
  local i = p
  local c = byte(S, i)
  if c == 43 or c == 45 then i = i + 1 end
  local w = lower(sub(S, i, i + 2))
  if w == "inf" then
    if lower(sub(S, i, i + 7)) == "infinity" then return i + 8 end
    return i + 3
  elseif w == "nan" then
    local j = i + 3
    if byte(S, j) == 40 then
      local _, e = find(S, "^[%w_]*%)", j + 1)
      if e then return e + 1 end
    end
    return j
  end
  local c1, c2 = byte(S, i, i + 1)
  if c1 == 48 and (c2 == 120 or c2 == 88) then
    local _, e1 = find(S, "^%x*", i + 2)
    local j = e1 + 1
    local nd = e1 - (i + 2) + 1
    if byte(S, j) == 46 then
      local _, e2 = find(S, "^%x*", j + 1)
      nd = nd + (e2 - j)
      j = e2 + 1
    end
    if nd > 0 then
      local _, e3 = find(S, "^[pP][+-]?%d+", j)
      if e3 then j = e3 + 1 end
      return j
    end
    return i + 1
  end
  local _, e1 = find(S, "^%d*", i)
  local j = e1 + 1
  local nd = e1 - i + 1
  if byte(S, j) == 46 then
    local _, e2 = find(S, "^%d*", j + 1)
    nd = nd + (e2 - j)
    j = e2 + 1
  end
  if nd == 0 then return p end
  local _, e3 = find(S, "^[eE][+-]?%d+", j)
  if e3 then j = e3 + 1 end
  return j
end

local function number_token()
  local e = strtod_end(P)
  if e == P then return "error", "invalid number", P - 1 end
  local v = tonumber(sub(S, P, e - 1))
  P = e
  return "number", v
end

local WHITESPACE = {[32] = true, [9] = true, [10] = true, [13] = true}

local function next_token()
  local p = P
  local c = byte(S, p)
  if WHITESPACE[c] then
    p = find(S, "[^ \t\n\r]", p)
    if not p then P = #S + 1; return "end", nil, #S end
    P = p
    c = byte(S, p)
  end
  if c == nil then return "end", nil, p - 1 end
  local idx = p - 1
  local single = SINGLE[c]
  if single then P = p + 1; return single, nil, idx end
  if c == 34 then
    -- fast path: no escape before the closing quote
    local q = find(S, '["\\]', p + 1)
    if q and byte(S, q) == 34 then
      P = q + 1
      return "string", sub(S, p + 1, q - 1), idx
    end
    local tt, tv, ti = string_token()
    return tt, tv, ti or idx
  end
  if c == 45 or isdigit(c) then
    if CFG.decode_invalid_numbers == 0 and is_invalid_number(p) then
      return "error", "invalid number", idx
    end
    -- fast path: digits that strtod would end after ("0x", ".", "e" go the long way)
    local _, e = find(S, "^-?%d+", p)
    if e then
      local n = byte(S, e + 1)
      if not (n == 46 or n == 101 or n == 69 or n == 120 or n == 88) then
        P = e + 1
        return "number", tonumber(sub(S, p, e)), idx
      end
    end
    local tt, tv, ti = number_token()
    return tt, tv, ti or idx
  end
  if c == 116 or c == 102 or c == 110 or c == 105 or c == 73 or c == 78 or c == 43 then
    if sub(S, p, p + 3) == "true" then P = p + 4; return "boolean", true, idx end
    if sub(S, p, p + 4) == "false" then P = p + 5; return "boolean", false, idx end
    if sub(S, p, p + 3) == "null" then P = p + 4; return "null", nil, idx end
    if CFG.decode_invalid_numbers ~= 0 and is_invalid_number(p) then
      local tt, tv, ti = number_token()
      return tt, tv, ti or idx
    end
  end
  return "error", "invalid token", idx
end

local json_value

local function descend(used, slots)
  DEPTH = DEPTH + 1
  if DEPTH > CFG.decode_max_depth or used + slots > MAXCSTACK then
    lerror(format("Found too many nested data structures (%d) at character %d", DEPTH, P - 1))
  end
end

-- used: the C frame's stack use before this value is pushed
json_value = function(used, tt, tv, ti)
  if tt == "string" or tt == "number" or tt == "boolean" then return tv end
  if tt == "null" then return NULL end
  if tt == "obj_begin" then
    descend(used, 3)
    local t = {}
    tt, tv, ti = next_token()
    if tt == "obj_end" then DEPTH = DEPTH - 1; return t end
    while true do
      if tt ~= "string" then parse_error("object key string", tt, tv, ti) end
      local key = tv
      tt, tv, ti = next_token()
      if tt ~= "colon" then parse_error("colon", tt, tv, ti) end
      local v = json_value(used + 2, next_token())
      rawset(t, key, v)
      tt, tv, ti = next_token()
      if tt == "obj_end" then DEPTH = DEPTH - 1; return t end
      if tt ~= "comma" then parse_error("comma or object end", tt, tv, ti) end
      tt, tv, ti = next_token()
    end
  end
  if tt == "arr_begin" then
    descend(used, 2)
    local t = {}
    tt, tv, ti = next_token()
    if tt == "arr_end" then DEPTH = DEPTH - 1; return t end
    local i = 1
    while true do
      local v = json_value(used + 1, tt, tv, ti)
      rawset(t, i, v)
      i = i + 1
      tt, tv, ti = next_token()
      if tt == "arr_end" then DEPTH = DEPTH - 1; return t end
      if tt ~= "comma" then parse_error("comma or array end", tt, tv, ti) end
      tt, tv, ti = next_token()
    end
  end
  parse_error("value", tt, tv, ti)
end

local function json_decode(cfg, nargs, s)
  if nargs ~= 1 then argerror(1, "expected 1 argument") end
  s = checklstring(1, s, true)
  if #s >= 2 and (byte(s, 1) == 0 or byte(s, 2) == 0) then
    lerror("JSON parser does not support UTF-16 or UTF-32")
  end
  local z = find(s, "\0", 1, true)
  if z then s = sub(s, 1, z - 1) end
  -- no script code runs while decoding, so the state needs no saving
  S, P, CFG, DEPTH = s, 1, cfg, 0
  local r = json_value(1, next_token())
  local tt, tv, ti = next_token()
  if tt ~= "end" then parse_error("the end", tt, tv, ti) end
  S = nil
  return r
end

-- configuration
local function arg_init(nargs, max)
  if nargs > max then argerror(max + 1, "found too many arguments") end
end

local function integer_option(cfg, field, narg, v, present, min, max)
  if v ~= nil then
    local value = toint32(checkinteger(narg, v, present))
    if not (min <= value and value <= max) then
      argerror(1, format("expected integer between %d and %d", min, max))
    end
    cfg[field] = value
  end
  return cfg[field]
end

local function checkoption(narg, v, present, options)
  local s = checklstring(narg, v, present)
  for i = 1, #options do
    if options[i] == s then return i - 1 end
  end
  argerror(narg, format("invalid option '%s'", s))
end

local BOOL_OPTIONS = {"off", "on"}
local function enum_option(cfg, field, narg, v, present, options, bool_true)
  if not options then options = BOOL_OPTIONS; bool_true = 1 end
  if v ~= nil then
    if bool_true ~= 0 and type(v) == "boolean" then
      cfg[field] = v and bool_true or 0
    else
      cfg[field] = checkoption(narg, v, present, options)
    end
  end
  local setting = cfg[field]
  if bool_true ~= 0 and (setting == 0 or setting == bool_true) then return setting ~= 0 end
  return options[setting + 1]
end

local new_cjson
new_cjson = function()
  local cfg = {
    encode_sparse_convert = 0, encode_sparse_ratio = 2, encode_sparse_safe = 10,
    encode_max_depth = 1000, decode_max_depth = 1000,
    encode_invalid_numbers = 0, decode_invalid_numbers = 1,
    encode_keep_buffer = 1, encode_number_precision = 14, number_fmt = "%.14g",
  }
  local m = {}
  m.encode = wrap1("encode", function(nargs, v)
    if nargs ~= 1 then argerror(1, "expected 1 argument") end
    OUT, ON = {}, 0
    json_append(cfg, v, 0, 1)
    local r = concat(OUT, "", 1, ON)
    OUT = nil
    return r
  end)
  m.decode = wrap1("decode", function(nargs, s) return json_decode(cfg, nargs, s) end)
  m.encode_sparse_array = wrapn("encode_sparse_array", function(nargs, a, b, c)
    arg_init(nargs, 3)
    local r1 = enum_option(cfg, "encode_sparse_convert", 1, a, nargs >= 1, nil, 1)
    local r2 = integer_option(cfg, "encode_sparse_ratio", 2, b, nargs >= 2, 0, INT_MAX)
    local r3 = integer_option(cfg, "encode_sparse_safe", 3, c, nargs >= 3, 0, INT_MAX)
    return {r1, r2, r3, n = 3}
  end)
  m.encode_max_depth = wrap1("encode_max_depth", function(nargs, v)
    arg_init(nargs, 1)
    return integer_option(cfg, "encode_max_depth", 1, v, nargs >= 1, 1, INT_MAX)
  end)
  m.decode_max_depth = wrap1("decode_max_depth", function(nargs, v)
    arg_init(nargs, 1)
    return integer_option(cfg, "decode_max_depth", 1, v, nargs >= 1, 1, INT_MAX)
  end)
  m.encode_number_precision = wrap1("encode_number_precision", function(nargs, v)
    arg_init(nargs, 1)
    local r = integer_option(cfg, "encode_number_precision", 1, v, nargs >= 1, 1, 14)
    cfg.number_fmt = "%." .. r .. "g"
    return r
  end)
  m.encode_keep_buffer = wrap1("encode_keep_buffer", function(nargs, v)
    arg_init(nargs, 1)
    return enum_option(cfg, "encode_keep_buffer", 1, v, nargs >= 1, nil, 1)
  end)
  m.encode_invalid_numbers = wrap1("encode_invalid_numbers", function(nargs, v)
    arg_init(nargs, 1)
    return enum_option(cfg, "encode_invalid_numbers", 1, v, nargs >= 1, {"off", "on", "null"}, 1)
  end)
  m.decode_invalid_numbers = wrap1("decode_invalid_numbers", function(nargs, v)
    arg_init(nargs, 1)
    return enum_option(cfg, "decode_invalid_numbers", 1, v, nargs >= 1, nil, 1)
  end)
  m.new = function() return new_cjson() end
  m.null = NULL
  m._NAME = "cjson"
  m._VERSION = "2.1.0"
  return m
end

rawset(_G, "cjson", new_cjson())
rawset(_G, "cmsgpack", cmsgpack)
rawset(_G, "bit", bit)
rawset(_G, "struct", struct)
"""


def install(lua: Any) -> None:
    """Define the globals ``cjson``, ``cmsgpack``, ``bit`` and ``struct`` in ``lua``.

    ``lua`` is a ``lupa.lua51.LuaRuntime`` (any encoding; the code touches no
    Python value). Call it before the sandbox locks the globals: it sets them
    and reads ``debug.getinfo``, ``newproxy`` and ``loadstring`` once, so they
    may be removed afterwards.
    """
    lua.execute(LUA_SOURCE)
