"""Geo: GEOADD, GEODIST, GEOHASH, GEOPOS, GEORADIUS[BYMEMBER][_RO], GEOSEARCH[STORE].

A geo key is a sorted set (ZRANGE and the rest see it as one) whose scores are
Redis' 52-bit geohashes: latitude bits in the even positions, longitude bits in the
odd ones, 26 steps over [-180, 180] x [-85.05112878, 85.05112878]. Everything here
is Redis 7.0's geo.c and geohash*.c in doubles, which Python's floats are: the same
search boxes (the estimated step, the eight neighbours, the ones dropped), walked in
the same order, the same haversine distances, printed as Redis prints them
(distances "%.4f", coordinates "%.17Lf" with trailing zeros cut).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from shardis import errors
from shardis.args import cstr, int_arg
from shardis.commands import CommandTable
from shardis.notify import NOTIFY_GENERIC, NOTIFY_KEY_MISS
from shardis.resp import NIL_ARRAY, ReplyError
from shardis.shardd.disk.zset import ZSet, score_bytes
from shardis.shardd.storage import ZSET, Keyspace
from shardis.shardd.strings import format_long_double
from shardis.shardd.zsets import parse_score, store, zadd
from shardis.values import HumanDouble

GEO_STEP_MAX = 26
GEO_LAT_MIN, GEO_LAT_MAX = -85.05112878, 85.05112878
GEO_LONG_MIN, GEO_LONG_MAX = -180.0, 180.0
D_R_PI = math.pi / 180.0
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37
_U64 = (1 << 64) - 1
_EVEN = 0x5555555555555555
_ODD = 0xAAAAAAAAAAAAAAAA

UNIT_ERROR = "ERR unsupported unit provided. please use M, KM, FT, MI"
MEMBER_ERROR = "ERR could not decode requested zset member"


# ---------------------------------------------------------------- geohash


def _spread(v: int) -> int:
    """interleave64's half: the 32 bits of ``v`` into the even bit positions."""
    v &= 0xFFFFFFFF
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    v = (v | (v << 1)) & 0x5555555555555555
    return v


def _squash(v: int) -> int:
    """deinterleave64's half: the even bit positions of ``v`` as a 32-bit number."""
    v &= 0x5555555555555555
    v = (v | (v >> 1)) & 0x3333333333333333
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FF
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFF
    v = (v | (v >> 16)) & 0x00000000FFFFFFFF
    return v


def encode(lon: float, lat: float, step: int = GEO_STEP_MAX,
           lat_min: float = GEO_LAT_MIN, lat_max: float = GEO_LAT_MAX) -> int | None:
    """geohashEncode: the hash bits, None where Redis refuses the point."""
    if lon > GEO_LONG_MAX or lon < GEO_LONG_MIN or lat > GEO_LAT_MAX or lat < GEO_LAT_MIN:
        return None
    if lat < lat_min or lat > lat_max or lon < GEO_LONG_MIN or lon > GEO_LONG_MAX:
        return None
    lat_offset = (lat - lat_min) / (lat_max - lat_min)
    long_offset = (lon - GEO_LONG_MIN) / (GEO_LONG_MAX - GEO_LONG_MIN)
    lat_offset *= float(1 << step)
    long_offset *= float(1 << step)
    return _spread(int(lat_offset)) | (_spread(int(long_offset)) << 1)


def decode_area(bits: int, step: int) -> tuple[float, float, float, float]:
    """geohashDecode over the WGS84 ranges: (lon_min, lon_max, lat_min, lat_max)."""
    ilato = _squash(bits)
    ilono = _squash(bits >> 1)
    lat_scale = GEO_LAT_MAX - GEO_LAT_MIN
    long_scale = GEO_LONG_MAX - GEO_LONG_MIN
    div = float(1 << step)
    return (GEO_LONG_MIN + (ilono * 1.0 / div) * long_scale,
            GEO_LONG_MIN + ((ilono + 1) * 1.0 / div) * long_scale,
            GEO_LAT_MIN + (ilato * 1.0 / div) * lat_scale,
            GEO_LAT_MIN + ((ilato + 1) * 1.0 / div) * lat_scale)


def _u64_of_double(x: float) -> int:
    """C's (uint64_t) of a double, as x86-64 code computes it: below 2**63 a signed
    conversion (0x8000000000000000 when out of range), else one of x - 2**63 with the
    top bit flipped (so +inf and NaN give 0)."""
    if x < 2.0**63:
        return int(x) & _U64 if x >= -(2.0**63) else 1 << 63
    y = x - 2.0**63
    v = int(y) if y == y and y < 2.0**63 else 1 << 63
    return (v ^ (1 << 63)) & _U64


def decode_score(score: float) -> tuple[float, float]:
    """decodeGeohash: a score's (longitude, latitude), the centre of its cell."""
    lon_min, lon_max, lat_min, lat_max = decode_area(_u64_of_double(score), GEO_STEP_MAX)
    lon = (lon_min + lon_max) / 2
    lon = min(max(lon, GEO_LONG_MIN), GEO_LONG_MAX)
    lat = (lat_min + lat_max) / 2
    lat = min(max(lat, GEO_LAT_MIN), GEO_LAT_MAX)
    return lon, lat


def _deg_rad(a: float) -> float:
    return a * D_R_PI


def _rad_deg(a: float) -> float:
    return a / D_R_PI


def lat_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS_IN_METERS * abs(_deg_rad(lat2) - _deg_rad(lat1))


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """geohashGetDistance: haversine, in meters."""
    lon1r = _deg_rad(lon1)
    lon2r = _deg_rad(lon2)
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r = _deg_rad(lat1)
    lat2r = _deg_rad(lat2)
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS_IN_METERS * math.asin(math.sqrt(a))


def _move_x(bits: int, step: int, d: int) -> int:
    x = bits & _ODD
    y = bits & _EVEN
    zz = _EVEN >> (64 - step * 2)
    if d > 0:
        x = (x + (zz + 1)) & _U64
    else:
        x = x | zz
        x = (x - (zz + 1)) & _U64
    x &= _ODD >> (64 - step * 2)
    return x | y


def _move_y(bits: int, step: int, d: int) -> int:
    x = bits & _ODD
    y = bits & _EVEN
    zz = _ODD >> (64 - step * 2)
    if d > 0:
        y = (y + (zz + 1)) & _U64
    else:
        y = y | zz
        y = (y - (zz + 1)) & _U64
    y &= _EVEN >> (64 - step * 2)
    return x | y


def neighbors(bits: int, step: int) -> dict[str, int]:
    """geohashNeighbors."""
    def mv(dx: int, dy: int) -> int:
        b = bits
        if dx:
            b = _move_x(b, step, dx)
        if dy:
            b = _move_y(b, step, dy)
        return b
    return {"east": mv(1, 0), "west": mv(-1, 0), "south": mv(0, -1), "north": mv(0, 1),
            "north_west": mv(-1, 1), "south_west": mv(-1, -1), "north_east": mv(1, 1),
            "south_east": mv(1, -1)}


def estimate_steps(range_meters: float, lat: float) -> int:
    """geohashEstimateStepsByRadius."""
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return max(1, min(step, 26))


class Shape:
    """GeoShape: a centre, a circle (radius) or a box (width, height), a unit."""

    __slots__ = ("lon", "lat", "box", "radius", "width", "height", "conversion")

    def __init__(self) -> None:
        self.lon = self.lat = 0.0
        self.box = False
        self.radius = self.width = self.height = 0.0
        self.conversion = 1.0

    def bounding_box(self) -> tuple[float, float, float, float]:
        """geohashBoundingBox: (min_lon, min_lat, max_lon, max_lat)."""
        height = self.conversion * (self.height / 2 if self.box else self.radius)
        width = self.conversion * (self.width / 2 if self.box else self.radius)
        lat_delta = _rad_deg(height / EARTH_RADIUS_IN_METERS)
        w = width / EARTH_RADIUS_IN_METERS
        long_delta_top = _rad_deg(w / math.cos(_deg_rad(self.lat + lat_delta)))
        long_delta_bottom = _rad_deg(w / math.cos(_deg_rad(self.lat - lat_delta)))
        south = self.lat < 0
        delta = long_delta_bottom if south else long_delta_top
        return self.lon - delta, self.lat - lat_delta, self.lon + delta, self.lat + lat_delta

    def within(self, lon: float, lat: float) -> float | None:
        """geoWithinShape: the distance (meters) of a point inside the shape, else None."""
        if not self.box:
            d = distance(self.lon, self.lat, lon, lat)
            return None if d > self.radius * self.conversion else d
        width_m, height_m = self.width * self.conversion, self.height * self.conversion
        if lat_distance(lat, self.lat) > height_m / 2:
            return None
        if distance(lon, lat, self.lon, lat) > width_m / 2:
            return None
        return distance(self.lon, self.lat, lon, lat)

    def search_boxes(self) -> list[tuple[int, int] | None]:
        """geohashCalculateAreasByShapeWGS84 in membersOfAllNeighbors' order: the centre,
        N, S, E, W, NE, NW, SE, SW as (bits, step), None for a box left out."""
        min_lon, min_lat, max_lon, max_lat = self.bounding_box()
        if self.box:
            radius_m = math.sqrt((self.width / 2) * (self.width / 2) + (self.height / 2) * (self.height / 2))
        else:
            radius_m = self.radius
        radius_m *= self.conversion
        steps = estimate_steps(radius_m, self.lat)

        def at(step: int) -> tuple[int, dict[str, int], tuple[float, float, float, float]]:
            h = encode(self.lon, self.lat, step)
            assert h is not None  # (the centre was checked)
            return h, neighbors(h, step), decode_area(h, step)

        h, nb, area = at(steps)
        north, south = decode_area(nb["north"], steps), decode_area(nb["south"], steps)
        east, west = decode_area(nb["east"], steps), decode_area(nb["west"], steps)
        decrease = (north[3] < max_lat or south[2] > min_lat or east[1] < max_lon or west[0] > min_lon)
        if steps > 1 and decrease:
            steps -= 1
            h, nb, area = at(steps)
        live = dict.fromkeys(nb, True)
        if steps >= 2:
            if area[2] < min_lat:
                live["south"] = live["south_west"] = live["south_east"] = False
            if area[3] > max_lat:
                live["north"] = live["north_east"] = live["north_west"] = False
            if area[0] < min_lon:
                live["west"] = live["south_west"] = live["north_west"] = False
            if area[1] > max_lon:
                live["east"] = live["south_east"] = live["north_east"] = False
        out: list[tuple[int, int] | None] = [(h, steps)]
        for name in ("north", "south", "east", "west", "north_east", "north_west", "south_east",
                     "south_west"):
            out.append((nb[name], steps) if live[name] else None)
        return out


# A point found: (distance in meters, score, member, longitude, latitude).
Point = tuple[float, float, bytes, float, float]


def _points(z: ZSet, shape: Shape, limit: int) -> list[Point]:
    """membersOfAllNeighbors: the members inside the shape, in the order Redis finds them
    (box by box, each in score order), stopping at ``limit`` (0: none)."""
    found: list[Point] = []
    boxes = shape.search_boxes()
    last = 0
    for i, box in enumerate(boxes):
        if box is None or (box[0] == 0 and box[1] == 0):
            continue
        if last and boxes[last] == box:
            continue  # a huge radius: the same box twice in a row
        if found and limit and len(found) >= limit:
            break
        bits, step = box
        lo = bits << (52 - step * 2)
        hi = (bits + 1) << (52 - step * 2)
        for member, score in z.between(score_bytes(float(lo)), score_bytes(float(hi)), False, 0, -1):
            lon, lat = decode_score(score)
            d = shape.within(lon, lat)
            if d is not None:
                found.append((d, score, member, lon, lat))
            if found and limit and len(found) >= limit:
                break
        last = i
    return found


def pqsort(v: list, cmp: Any, lrange: int, rrange: int) -> None:
    """Redis' pqsort.c (Bentley-McIlroy quicksort that only sorts the partitions
    overlapping [lrange, rrange]), in place, so that ties come out in Redis' order."""

    def med3(a: int, b: int, c: int) -> int:
        if cmp(v[a], v[b]) < 0:
            return b if cmp(v[b], v[c]) < 0 else (c if cmp(v[a], v[c]) < 0 else a)
        return b if cmp(v[b], v[c]) > 0 else (a if cmp(v[a], v[c]) < 0 else c)

    def swap(i: int, j: int) -> None:
        v[i], v[j] = v[j], v[i]

    def vecswap(i: int, j: int, n: int) -> None:
        for k in range(n):
            swap(i + k, j + k)

    def run(a: int, n: int) -> None:
        while True:
            if n < 7:
                for pm in range(a + 1, a + n):
                    pl = pm
                    while pl > a and cmp(v[pl - 1], v[pl]) > 0:
                        swap(pl, pl - 1)
                        pl -= 1
                return
            pm = a + n // 2
            if n > 7:
                pl, pn = a, a + n - 1
                if n > 40:
                    d = n // 8
                    pl = med3(pl, pl + d, pl + 2 * d)
                    pm = med3(pm - d, pm, pm + d)
                    pn = med3(pn - 2 * d, pn - d, pn)
                pm = med3(pl, pm, pn)
            swap(a, pm)
            pa = pb = a + 1
            pc = pd = a + n - 1
            while True:
                while pb <= pc:
                    c = cmp(v[pb], v[a])
                    if c > 0:
                        break
                    if c == 0:
                        swap(pa, pb)
                        pa += 1
                    pb += 1
                while pb <= pc:
                    c = cmp(v[pc], v[a])
                    if c < 0:
                        break
                    if c == 0:
                        swap(pc, pd)
                        pd -= 1
                    pc -= 1
                if pb > pc:
                    break
                swap(pb, pc)
                pb += 1
                pc -= 1
            pn = a + n
            r = min(pa - a, pb - pa)
            vecswap(a, pb - r, r)
            r = min(pd - pc, pn - pd - 1)
            vecswap(pb, pn - r, r)
            r = pb - pa
            if r > 1 and not ((lrange < a and rrange < a) or (lrange > a + r - 1 and rrange > a + r - 1)):
                run(a, r)
            r = pd - pc
            if r > 1:
                a, n = pn - r, r
                if not ((lrange < a and rrange < a) or (lrange > a + r - 1 and rrange > a + r - 1)):
                    continue
            return

    run(0, len(v))


def _cmp_asc(x: Point, y: Point) -> int:
    return 1 if x[0] > y[0] else (0 if x[0] == y[0] else -1)


def _cmp_desc(x: Point, y: Point) -> int:
    return -_cmp_asc(x, y)


# ---------------------------------------------------------------- argument parsing


def _coord(arg: bytes) -> float:
    return parse_score(arg)


def lonlat(args: list[bytes], at: int) -> tuple[float, float]:
    """extractLongLatOrReply."""
    lon, lat = _coord(args[at]), _coord(args[at + 1])
    if lon < GEO_LONG_MIN or lon > GEO_LONG_MAX or lat < GEO_LAT_MIN or lat > GEO_LAT_MAX:
        raise ReplyError("ERR invalid longitude,latitude pair %f,%f" % (lon, lat))
    return lon, lat


def unit(arg: bytes) -> float:
    """extractUnitOrReply: meters per unit."""
    u = cstr(arg).lower()
    conv = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}.get(u)
    if conv is None:
        raise ReplyError(UNIT_ERROR)
    return conv


def _distance_arg(args: list[bytes], at: int, shape: Shape) -> None:
    """extractDistanceOrReply."""
    r = parse_score(args[at], "ERR need numeric radius")
    if r < 0:
        raise ReplyError("ERR radius cannot be negative")
    shape.radius = r
    shape.conversion = unit(args[at + 1])


def _box_arg(args: list[bytes], at: int, shape: Shape) -> None:
    """extractBoxOrReply."""
    w = parse_score(args[at], "ERR need numeric width")
    h = parse_score(args[at + 1], "ERR need numeric height")
    if h < 0 or w < 0:
        raise ReplyError("ERR height or width cannot be negative")
    shape.width, shape.height = w, h
    shape.conversion = unit(args[at + 2])


def _member_lonlat(z: ZSet | None, member: bytes) -> tuple[float, float]:
    score = None if z is None else z.score(member)
    if score is None:
        raise ReplyError(MEMBER_ERROR)
    return decode_score(score)


def _zset(ks: Keyspace, db: int, key: bytes, reading: bool) -> ZSet | None:
    c = ks.coll(db, key, ZSET)
    if c is None:
        if reading:
            ks.notify(NOTIFY_KEY_MISS, b"keymiss", db, key)  # lookupKeyRead of a write command
        return None
    return ZSet(ks, c)


def _human(x: float) -> HumanDouble:
    """addReplyHumanLongDouble: "%.17Lf", trailing zeros cut."""
    return HumanDouble(format_long_double(Fraction(x)))


def _dist(d: float) -> bytes:
    return b"%.4f" % d


# ---------------------------------------------------------------- the commands


def geoadd(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    longidx = 2
    n = len(args)
    nx = xx = False
    while longidx < n:
        o = cstr(args[longidx]).lower()
        if o == b"nx":
            nx = True
        elif o == b"xx":
            xx = True
        elif o != b"ch":
            break
        longidx += 1
    if (n - longidx) % 3 or (xx and nx):
        raise ReplyError(errors.SYNTAX)
    argv = [b"zadd", *args[1:longidx]]
    for j in range(longidx, n, 3):
        lon, lat = lonlat(args, j)
        h = encode(lon, lat)
        assert h is not None  # (lonlat checked the range)
        argv += [b"%d" % (h << (52 - GEO_STEP_MAX * 2)), args[j + 2]]
    return zadd(ks, db, argv)


def geodist(ks: Keyspace, db: int, args: list[bytes]) -> bytes | None:
    to_meter = 1.0
    if len(args) == 5:
        to_meter = unit(args[4])
    elif len(args) > 5:
        raise ReplyError(errors.SYNTAX)
    c = ks.coll(db, args[1], ZSET)
    if c is None:
        return None
    z = ZSet(ks, c)
    s1, s2 = z.score(args[2]), z.score(args[3])
    if s1 is None or s2 is None:
        return None
    a, b = decode_score(s1), decode_score(s2)
    return _dist(distance(a[0], a[1], b[0], b[1]) / to_meter)


_ALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"


def geohash(ks: Keyspace, db: int, args: list[bytes]) -> list[bytes | None]:
    c = ks.coll(db, args[1], ZSET)
    z = None if c is None else ZSet(ks, c)
    out: list[bytes | None] = []
    for member in args[2:]:
        score = None if z is None else z.score(member)
        if score is None:
            out.append(None)
            continue
        lon, lat = decode_score(score)
        h = encode(lon, lat, 26, -90.0, 90.0)
        if h is None:
            h = 0
        chars = bytearray()
        for i in range(11):
            idx = 0 if i == 10 else (h >> (52 - (i + 1) * 5)) & 0x1F
            chars.append(_ALPHABET[idx])
        out.append(bytes(chars))
    return out


def geopos(ks: Keyspace, db: int, args: list[bytes]) -> list[Any]:
    c = ks.coll(db, args[1], ZSET)
    z = None if c is None else ZSet(ks, c)
    out: list[Any] = []
    for member in args[2:]:
        score = None if z is None else z.score(member)
        if score is None:
            out.append(NIL_ARRAY)  # addReplyNullArray
            continue
        lon, lat = decode_score(score)
        out.append([_human(lon), _human(lat)])
    return out


RADIUS_COORDS, RADIUS_MEMBER, GEOSEARCH, GEOSEARCHSTORE, RADIUS_NOSTORE = 1, 2, 4, 8, 16


def _generic(ks: Keyspace, db: int, args: list[bytes], src_index: int, flags: int) -> Any:
    """georadiusGeneric."""
    store_key: bytes | None = None
    storedist = False
    write = not flags & RADIUS_NOSTORE and not (flags & GEOSEARCH and not flags & GEOSEARCHSTORE)
    z = _zset(ks, db, args[src_index], write)
    shape = Shape()
    n = len(args)
    if flags & RADIUS_COORDS:
        base = 6
        shape.lon, shape.lat = lonlat(args, 2)
        _distance_arg(args, base - 2, shape)
    elif flags & RADIUS_MEMBER and z is None:
        base = 5
    elif flags & RADIUS_MEMBER:
        base = 5
        shape.lon, shape.lat = _member_lonlat(z, args[2])
        _distance_arg(args, base - 2, shape)
    else:
        base = 2
        if flags & GEOSEARCHSTORE:
            base = 3
            store_key = args[1]
    withdist = withhash = withcoord = False
    frommember = fromloc = byradius = bybox = False
    sort = 0  # 1 ASC, -1 DESC
    any_ = False
    count = 0
    remaining = n - base
    i = 0
    while i < remaining:
        at = base + i
        word = cstr(args[at]).lower()
        if word == b"withdist":
            withdist = True
        elif word == b"withhash":
            withhash = True
        elif word == b"withcoord":
            withcoord = True
        elif word == b"any":
            any_ = True
        elif word == b"asc":
            sort = 1
        elif word == b"desc":
            sort = -1
        elif word == b"count" and i + 1 < remaining:
            count = int_arg(args[at + 1])
            if count <= 0:
                raise ReplyError("ERR COUNT must be > 0")
            i += 1
        elif (word in (b"store", b"storedist") and i + 1 < remaining
              and not flags & (RADIUS_NOSTORE | GEOSEARCH)):
            store_key = args[at + 1]
            storedist = word == b"storedist"
            i += 1
        elif word == b"storedist" and flags & GEOSEARCH and flags & GEOSEARCHSTORE:
            storedist = True
        elif word == b"frommember" and i + 1 < remaining and flags & GEOSEARCH and not fromloc:
            if z is not None:
                shape.lon, shape.lat = _member_lonlat(z, args[at + 1])
            frommember = True
            i += 1
        elif word == b"fromlonlat" and i + 2 < remaining and flags & GEOSEARCH and not frommember:
            shape.lon, shape.lat = lonlat(args, at + 1)
            fromloc = True
            i += 2
        elif word == b"byradius" and i + 2 < remaining and flags & GEOSEARCH and not bybox:
            _distance_arg(args, at + 1, shape)
            shape.box = False
            byradius = True
            i += 2
        elif word == b"bybox" and i + 3 < remaining and flags & GEOSEARCH and not byradius:
            _box_arg(args, at + 1, shape)
            shape.box = True
            bybox = True
            i += 3
        else:
            raise ReplyError(errors.SYNTAX)
        i += 1
    name = cstr(args[0]).decode("latin-1")
    if store_key is not None and (withdist or withhash or withcoord):
        raise ReplyError("ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
                         % ("GEOSEARCHSTORE" if flags & GEOSEARCHSTORE else "STORE option in GEORADIUS"))
    if flags & GEOSEARCH and not (frommember or fromloc):
        raise ReplyError("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %s" % name)
    if flags & GEOSEARCH and not (byradius or bybox):
        raise ReplyError("ERR exactly one of BYRADIUS and BYBOX can be specified for %s" % name)
    if any_ and not count:
        raise ReplyError("ERR the ANY argument requires COUNT argument")
    if z is None:
        if store_key is not None:
            if ks.delete(db, store_key):
                ks.notify(NOTIFY_GENERIC, b"del", db, store_key)
            return 0
        return []
    if count and not sort and not any_:
        sort = 1
    found = _points(z, shape, count if any_ else 0)
    if not found and store_key is None:
        return []
    returned = len(found) if count == 0 or len(found) < count else count
    if sort:
        if returned == len(found):  # qsort: glibc's merge sort, stable
            found.sort(key=lambda p: p[0], reverse=sort < 0)
        else:
            pqsort(found, _cmp_asc if sort > 0 else _cmp_desc, 0, returned - 1)
    found = found[:returned]
    if store_key is None:
        out: list[Any] = []
        for d, score, member, lon, lat in found:
            if not (withdist or withhash or withcoord):
                out.append(member)
                continue
            item: list[Any] = [member]
            if withdist:
                item.append(_dist(d / shape.conversion))
            if withhash:
                item.append(int(score))
            if withcoord:
                item.append([_human(lon), _human(lat)])
            out.append(item)
        return out
    scores = {member: (d / shape.conversion if storedist else score) for d, score, member, _, _ in found}
    event = b"geosearchstore" if flags & GEOSEARCH else b"georadiusstore"
    store(ks, db, store_key, scores, event)
    return returned


def georadius(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    return _generic(ks, db, args, 1, RADIUS_COORDS)


def georadius_ro(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    return _generic(ks, db, args, 1, RADIUS_COORDS | RADIUS_NOSTORE)


def georadiusbymember(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    return _generic(ks, db, args, 1, RADIUS_MEMBER)


def georadiusbymember_ro(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    return _generic(ks, db, args, 1, RADIUS_MEMBER | RADIUS_NOSTORE)


def geosearch(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    return _generic(ks, db, args, 1, GEOSEARCH)


def geosearchstore(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    return _generic(ks, db, args, 2, GEOSEARCH | GEOSEARCHSTORE)


def georadius_keys(args: list[bytes]) -> list[bytes]:
    """georadiusGetKeys: the source, and the last STORE/STOREDIST key."""
    keys = [args[1]]
    stored = None
    i = 5
    while i < len(args):
        if cstr(args[i]).lower() in (b"store", b"storedist") and i + 1 < len(args):
            stored = args[i + 1]
            i += 1
        i += 1
    if stored is not None:
        keys.append(stored)
    return keys


# ---------------------------------------------------------------- the command table

_RADIUS = ("O(N+log(M)) where N is the number of elements inside the bounding box of the "
           "circular area delimited by center and radius and M is the number of items inside "
           "the index.")
_SEARCH = ("O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area "
           "around the shape provided as the filter and M is the number of items inside the shape")


def register(table: CommandTable) -> None:
    """The geo commands, as Redis 7.0's COMMAND INFO and COMMAND DOCS describe them."""
    cmd = table.command
    cmd("geoadd", -5, "write denyoom", 1, 1, 1, group="geo", since="3.2.0",
        complexity="O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        summary="Add one or more geospatial items in the geospatial index represented using a sorted set",
        acl="@write @geo @slow")(geoadd)
    cmd("geodist", -4, "readonly", 1, 1, 1, group="geo", since="3.2.0", complexity="O(log(N))",
        summary="Returns the distance between two members of a geospatial index",
        acl="@read @geo @slow")(geodist)
    cmd("geohash", -2, "readonly", 1, 1, 1, group="geo", since="3.2.0",
        complexity="O(log(N)) for each member requested, where N is the number of elements in the "
                   "sorted set.",
        summary="Returns members of a geospatial index as standard geohash strings",
        acl="@read @geo @slow")(geohash)
    cmd("geopos", -2, "readonly", 1, 1, 1, group="geo", since="3.2.0",
        complexity="O(N) where N is the number of members requested.",
        summary="Returns longitude and latitude of members of a geospatial index",
        acl="@read @geo @slow")(geopos)
    cmd("georadius", -6, "write denyoom movablekeys", 1, 1, 1, group="geo", since="3.2.0",
        complexity=_RADIUS,
        summary="Query a sorted set representing a geospatial index to fetch members matching a "
                "given maximum distance from a point",
        acl="@write @geo @slow", keys=georadius_keys)(georadius)
    cmd("georadius_ro", -6, "readonly", 1, 1, 1, group="geo", since="3.2.10", complexity=_RADIUS,
        summary="A read-only variant for GEORADIUS", acl="@read @geo @slow")(georadius_ro)
    cmd("georadiusbymember", -5, "write denyoom movablekeys", 1, 1, 1, group="geo", since="3.2.0",
        complexity=_RADIUS,
        summary="Query a sorted set representing a geospatial index to fetch members matching a "
                "given maximum distance from a member",
        acl="@write @geo @slow", keys=georadius_keys)(georadiusbymember)
    cmd("georadiusbymember_ro", -5, "readonly", 1, 1, 1, group="geo", since="3.2.10",
        complexity=_RADIUS, summary="A read-only variant for GEORADIUSBYMEMBER",
        acl="@read @geo @slow")(georadiusbymember_ro)
    cmd("geosearch", -7, "readonly", 1, 1, 1, group="geo", since="6.2.0", complexity=_SEARCH,
        summary="Query a sorted set representing a geospatial index to fetch members inside an "
                "area of a box or a circle.", acl="@read @geo @slow")(geosearch)
    cmd("geosearchstore", -8, "write denyoom", 1, 2, 1, group="geo", since="6.2.0",
        complexity=_SEARCH,
        summary="Query a sorted set representing a geospatial index to fetch members inside an "
                "area of a box or a circle, and store the result in another key.",
        acl="@write @geo @slow")(geosearchstore)
