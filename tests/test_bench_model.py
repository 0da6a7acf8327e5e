"""bench/model.py's arithmetic (issue 16's cost model) on synthetic numbers: the fits give
back the constants that made the points, and the projection takes the least of its bounds.
Pure functions: no servers."""

from __future__ import annotations

import math
import os
import sys

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.source  # bench/ is in the checkout only (scripts/build-check skips it)

sys.path.insert(0, os.path.join(ROOT, "bench"))

# (scripts/build-check runs a copy of tests/ without bench/: there the module is skipped
# at collection, before ``-m "not source"`` could deselect its tests)
model = pytest.importorskip("model", reason="bench/model.py is in the checkout only")
from model import Cost, CpmModel, best_layout, fit_cost, fit_cpm, layouts_for, project  # noqa: E402


def test_least_squares_line_and_degenerate_cases():
    assert model.least_squares([0, 1, 2, 3], [1, 3, 5, 7]) == pytest.approx((1.0, 2.0))
    assert model.least_squares([2, 2], [1, 3]) == (2.0, 0.0)  # one distinct x: the mean, flat
    with pytest.raises(ValueError):
        model.least_squares([], [])


def test_fit_cost_recovers_per_command_and_per_message_cost():
    truth = Cost(2.5, 400.0)
    pts = [(cpm, 16.0, truth.us(cpm)) for cpm in (1, 4, 9.5, 30, 120, 250)]
    fitted = fit_cost(pts, per_round_trip=False)
    assert fitted == pytest.approx((2.5, 400.0, 0.0))
    # with a per-client-round-trip cost too (two pipeline depths)
    truth = Cost(2.0, 80.0, 12.0)
    pts = [(cpm, p, truth.us(cpm, p)) for cpm, p in ((300, 16), (20, 1), (150, 16), (10, 1), (60, 16),
                                                     (3, 1))]
    assert fit_cost(pts, per_round_trip=True) == pytest.approx(truth)
    # the weights are relative: 10% off at every point moves the fit by 10%
    off = [(cpm, p, y * 1.1) for cpm, p, y in pts]
    assert fit_cost(off, per_round_trip=True) == pytest.approx((2.2, 88.0, 13.2))


def test_fit_costs_shares_the_per_message_and_round_trip_costs_between_tests():
    truth = {"set": Cost(4.0, 100.0, 10.0), "get": Cost(2.5, 100.0, 10.0)}
    pts = [(t, cpm, p, truth[t].us(cpm, p)) for t in truth
           for cpm, p in ((300, 16), (20, 1), (150, 16), (10, 1), (40, 16), (3, 1))]
    fitted = model.fit_costs(pts, per_round_trip=True)
    assert fitted["set"] == pytest.approx(truth["set"])
    assert fitted["get"] == pytest.approx(truth["get"])
    # without the c / P term: c is 0, a and b absorb what they can
    plain = model.fit_costs(pts, per_round_trip=False)
    assert plain["set"].c == 0.0 and plain["set"].b == plain["get"].b


def test_weighted_least_squares_solves_and_refuses_degenerate_points():
    rows = [[1.0, x, x * x] for x in (0.0, 1.0, 2.0, 3.0)]
    assert model.weighted_least_squares(rows, [1 + 2 * x + 3 * x * x for x in (0, 1, 2, 3)],
                                        [1.0] * 4) == pytest.approx([1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        model.weighted_least_squares([[1.0, 1.0], [1.0, 1.0]], [1.0, 2.0], [1.0, 1.0])
    # a column equal to another times a constant that rounding leaves a hair off zero
    with pytest.raises(ValueError):
        model.weighted_least_squares([[1.0, math.log(800)], [1.0, math.log(800)], [1.0, math.log(800)]],
                                     [1.0, 2.0, 3.0], [1.0, 1.0, 1.0])


def test_fit_cpm_power_law_and_clamp():
    truth = CpmModel(0.5, 0.9, -0.8, -0.6)
    pts = []
    for s, r in ((1, 1), (2, 1), (1, 2), (2, 2), (4, 2)):
        for p in (1, 16):
            pts.append((s, r, 50, p, truth.predict(s, r, 50, p)))
    fitted = fit_cpm(pts)
    assert fitted == pytest.approx(truth)
    # 800 commands in flight, 2 shards, 1 router
    assert fitted.predict(2, 1, 50, 16) == pytest.approx(0.5 * 800 ** 0.9 * 2 ** -0.8)
    # never below one command per message, never above what the clients have in flight
    # (u = 50 * P / (routers * shards))
    assert CpmModel(0.01, 1.0, 0.0, 0.0).predict(8, 4, 50, 1) == 1.0
    assert CpmModel(10.0, 1.0, 0.0, 0.0).predict(2, 1, 50, 1) == 25.0


def test_project_takes_the_least_bound():
    costs = {"router": Cost(3.0, 0.0), "shard": Cost(2.0, 0.0)}
    # 1+1 on 8 cores: the router's own core binds (1e6 / 3 us)
    p = project(costs, 100.0, 16, 1, 1, 8.0)
    assert p.bounds["router"] == pytest.approx(1e6 / 3)
    assert p.bounds["shard"] == pytest.approx(1e6 / 2)
    assert p.bounds["cores"] == pytest.approx(8e6 / 5)
    assert (p.rps, p.bound) == (pytest.approx(1e6 / 3), "router")
    # 4+4 on 2 cores less 0.5 of background, load generator on the same cores (1 us, one thread)
    p = project(costs, 100.0, 16, 4, 4, 2.0, background=0.5, bench_us=1.0, bench_threads=1)
    assert p.bound == "cores"
    assert p.rps == pytest.approx(1.5e6 / 6)
    assert p.bounds["load generator"] == pytest.approx(1e6)
    # the per-message cost scales with 1 / cpm, the per-round-trip one with 1 / P
    q = project({"router": Cost(1.0, 100.0, 8.0)}, 10.0, 4, 1, 1, 4.0)
    assert q.us["router"] == pytest.approx(13.0)


def test_layouts_and_best_layout():
    assert layouts_for(2) == [(1, 1)]
    assert (3, 1) in layouts_for(4) and (3, 2) not in layouts_for(4)
    # per-message cost zero: more processes only help, up to the cores
    costs = {"router": Cost(2.0, 0.0), "shard": Cost(2.0, 0.0)}
    b = best_layout(costs, CpmModel(1.0, 1.0, -1.0, -1.0), 8.0, 50, 16)
    assert b.shards + b.routers == 8
    assert b.rps == pytest.approx(8e6 / 4)
    # a large per-message cost: spreading over more processes lowers cpm and costs more
    costs = {"router": Cost(1.0, 2000.0), "shard": Cost(1.0, 2000.0)}
    big = best_layout(costs, CpmModel(1.0, 1.0, -1.0, -1.0), 16.0, 50, 1)
    assert big.shards + big.routers < 16
    assert math.isfinite(big.rps) and big.rps > 0
    # a what-if cpm is held for every layout, but never above the commands in flight per
    # router and shard (50 * 16 / (s * r))
    held = best_layout(costs, CpmModel(1.0, 1.0, -1.0, -1.0), 16.0, 50, 16, cpm=300.0)
    assert held.cpm == min(300.0, 800 / (held.shards * held.routers))


def test_bench_cores():
    assert model.bench_cores_for(16, "auto") == 4.0
    assert model.bench_cores_for(16, "2") == 2.0
