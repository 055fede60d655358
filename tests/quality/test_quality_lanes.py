"""A large version's rules run in two lanes (the compiled checks on a DuckDB of one thread, the rest
beside it): the same counts and samples as one lane, the work split as documented, failures stopped."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import random
import re
import stat
import threading
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shuzhi.classify import patterns, vectorised
from shuzhi.classify.checksums import GB32100_ALPHABET, gb11643_check_char, gb32100_check_char
from shuzhi.quality import engine, ruleset
from shuzhi.quality.kinds import KINDS, Context, VersionFacts, family
from shuzhi.quality.regions import valid_codes

KIND_MAP = {k.name: k for k in KINDS}
FACTS = VersionFacts("irregular", dt.datetime(2025, 6, 1), None, None)
AS_OF = dt.date(2025, 6, 1)
RULES = [
    {"kind": "not_null", "field": "name"},
    {"kind": "resident_id", "field": "id"},
    {"kind": "regex", "field": "postcode", "pattern": "[0-9]{6}"},
    {"kind": "credit_code", "field": "code"},
    {"kind": "unique", "fields": ["code"]},
    {"kind": "enum", "field": "sex", "values": ["男", "女"]},
    {"kind": "id_matches", "id": "id", "sex": "sex"},
    {"kind": "unique", "fields": ["n"]},
    {"kind": "range", "field": "n", "min": 0},
]
CALLING = {1, 3, 6}
"""Positions of the rules above that call compiled functions (the side lane's)."""
SIDE = CALLING | {2}
"""The side lane's rules: those, and the postcode pattern, which runs by its automaton there."""


def _resident_id(rng: random.Random, regions: list[str]) -> str:
    born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(30000))
    body = f"{rng.choice(regions)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + gb11643_check_char(body)


def _credit_code(rng: random.Random) -> str:
    body = "91" + f"{rng.randrange(10**6):06d}" + "".join(rng.choice(GB32100_ALPHABET) for _ in range(9))
    return body + gb32100_check_char(body)


def _spoil(rng: random.Random, value: str) -> str | None:
    pick = rng.randrange(8)
    if pick == 0:
        return None
    if pick == 1:
        return value[:-1] + ("0" if value[-1] != "0" else "1")
    return value


@pytest.fixture(scope="module")
def version(tmp_path_factory) -> tuple:
    """5,000 rows in row groups of 700, failures of every rule spread through them."""
    rng, n = random.Random(20261207), 5000
    regions = sorted(valid_codes())[:50]
    codes = [_credit_code(rng) for _ in range(n)]
    for i in rng.sample(range(n), 40):  # duplicated keys
        codes[i] = codes[rng.randrange(n)]
    table = pa.table(
        {
            "name": [None if rng.random() < 0.05 else "张三" for _ in range(n)],
            "id": [_spoil(rng, _resident_id(rng, regions)) for _ in range(n)],
            # Full-width digits: bytes above 127, which the automaton leaves to RE2.
            "postcode": [
                rng.choice(["100010", "10001", "1000100", "A00010", "１０００１０"]) for _ in range(n)
            ],
            "code": [_spoil(rng, c) for c in codes],
            "sex": [rng.choice(["男", "女", "男", "女", "未知"]) for _ in range(n)],
            "n": [rng.randrange(-50, 4900) for _ in range(n)],
        }
    )
    path = tmp_path_factory.mktemp("lanes") / "v.parquet"
    # the postcodes without a dictionary: over a small one, patterns are judged per distinct value
    dictionary = [c for c in table.column_names if c != "postcode"]
    pq.write_table(table, path, row_group_size=700, use_dictionary=dictionary)
    ctx = Context(columns={f.name: family(str(f.type)) for f in table.schema}, as_of=AS_OF)
    return path, ctx


def _run(
    version, lanes_from: int, con=None, rules=RULES, sample_size: int = 4, ride_from: int = 0
) -> engine.Execution:
    path, ctx = version
    rs = ruleset.parse({"rules": rules, "sample_size": sample_size}, KIND_MAP, ctx)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine, "LANES_FROM_ROWS", lanes_from)
        mp.setattr(engine, "RIDE_ALONG_FROM_ROWS", ride_from)
        return engine.Runner(rs, path, ctx, FACTS, con).run()


def _found(done: engine.Execution) -> list[tuple]:
    return [(o.checked, o.failed, o.sample, o.detail, o.error) for o in done.outcomes]


def _span(statement: str) -> int | None:
    """The first row of the span a scan statement reads; None for the whole file."""
    found = re.search(r"t\.file_row_number >= (\d+)", statement)
    return int(found.group(1)) if found else None


@pytest.mark.parametrize(("window", "mask_bits"), [(engine.SAMPLE_WINDOW, engine.MASK_BITS), (3, 2)])
def test_two_lanes_count_and_sample_exactly_as_one(version, monkeypatch, window, mask_bits):
    # (3, 2): packed aggregates of two rules out of each statement's own (not consecutive) rules,
    # and a window so small that most rules take their sample from a scan of their own.
    monkeypatch.setattr(engine, "SAMPLE_WINDOW", window)
    monkeypatch.setattr(engine, "MASK_BITS", mask_bits)
    one, two = _run(version, 10**9), _run(version, 0)
    assert _found(two) == _found(one) and two.rows == one.rows == 5000
    assert all(o.failed and len(o.sample) == 4 for o in one.outcomes)  # every rule failed somewhere
    scans = [s for s in two.statements if "count_if(" in s]
    # The compiled checks: one statement over the whole file; the other rules: one per span of
    # whole row groups (eight of 700 rows, the last of 100), each the span's once.
    (calls,) = [s for s in scans if "gb11643" in s]
    assert _span(calls) is None and "count_if(a0)" not in calls
    others = sorted(_span(s) for s in scans if "count_if(a0)" in s)
    assert others == [700 * k for k in range(8)] and len(engine.spans([700] * 7 + [100], 8)) == 8
    assert len(two.statements) > len(one.statements) or window == engine.SAMPLE_WINDOW


def test_the_row_count_is_the_whole_files_whichever_lane_ends_first(version, monkeypatch):
    """The other lane's spans all done before the side lane's scan starts: the run still reports
    every row, and counts as one lane does."""
    real = engine._load_ahead
    spans_done = threading.Event()
    real_count = engine.Runner._count

    def count(self, con, compiled, which, keyed, span=None):
        got = real_count(self, con, compiled, which, keyed, span)
        if span is not None and span[0] == 0 and threading.current_thread() is threading.main_thread():
            spans_done.set()
        return got

    def late() -> None:
        assert spans_done.wait(30)
        real()

    one = _run(version, 10**9)
    monkeypatch.setattr(engine.Runner, "_count", count)
    monkeypatch.setattr(engine, "_load_ahead", late)
    two = _run(version, 0, ride_from=10**9)
    assert two.rows == one.rows == 5000 and _found(two) == _found(one)


def test_spans_are_whole_row_groups_of_about_equal_rows():
    assert engine.spans([500] * 20, 8) == [
        (0, 1500),
        (1500, 2500),
        (2500, 4000),
        (4000, 5000),
        (5000, 6500),
        (6500, 7500),
        (7500, 9000),
        (9000, 10000),
    ]
    assert engine.spans([10, 0, 10], 8) == [(0, 10), (10, 20)]
    assert engine.spans([100], 8) == [(0, 100)] and engine.spans([], 8) == engine.spans([0], 8) == []
    assert engine.spans([3] * 5, 2) == [(0, 9), (9, 15)]


def test_the_compiled_checks_run_on_one_thread_and_the_rest_on_the_others(version, monkeypatch):
    seen: list[tuple] = []
    settings: dict[str, tuple] = {}  # each lane's memory limit and spill directory
    real = engine.Runner._count

    def count(self, con, compiled, which, keyed, span=None):
        rules = frozenset(compiled[i][0].position for i in which)
        threads, memory, spill = con.execute(
            "SELECT current_setting('threads'), current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchall()[0]
        seen.append((threading.current_thread().name, rules, int(threads), len(keyed), span))
        settings[threading.current_thread().name] = (memory, spill)
        return real(self, con, compiled, which, keyed, span)

    monkeypatch.setattr(engine.Runner, "_count", count)
    con = engine.connect({"threads": 4})
    _run(version, 0, con)
    # The rows of the credit-code key are counted beside the credit-code rule, which reads them anyway.
    (calls,) = [s for s in seen if s[4] is None]
    assert calls == ("sz-lane", frozenset(CALLING), 1, 1, None)
    others = frozenset(range(len(RULES))) - CALLING - {4, 7}
    by_span: dict[tuple, set] = {}
    for lane, rules, threads, keyed, span in seen:
        if span is None:
            continue
        assert threads == (1 if lane == "sz-lane" else 3)
        if rules == SIDE - CALLING:  # the postcode pattern riding along, by its automaton
            assert (lane, keyed) == ("sz-lane", 0)
        else:
            assert rules in (others, others - SIDE) and keyed == 1
        assert not rules & by_span.setdefault(span, set())  # each rule once a span
        by_span[span] |= rules
    assert all(rules == others for rules in by_span.values()) and len(by_span) == 8
    # Each DuckDB at 40% of the machine's memory; the side one spills to a directory of its own.
    share = duckdb.connect(config={"memory_limit": engine.LANE_MEMORY})
    expected = share.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    (side_memory, side_spill), (main_memory, _) = settings["sz-lane"], settings[threading.main_thread().name]
    assert side_memory == main_memory == expected
    assert Path(side_spill).name.startswith("side-") and not Path(side_spill).exists()
    with pytest.raises(duckdb.ConnectionException):  # the run closed the connection it was given
        con.execute("SELECT 1")


def test_a_side_lane_alone_when_the_other_rules_read_only_its_columns(version):
    # Nothing for the main lane to scan: the key is counted beside the credit-code rule.
    rules = [{"kind": "credit_code", "field": "code"}, {"kind": "unique", "fields": ["code"]}]
    one, two = _run(version, 10**9, rules=rules), _run(version, 0, rules=rules)
    assert _found(two) == _found(one) and two.rows == one.rows == 5000
    assert len([s for s in two.statements if "count_if(" in s]) == 1


def test_patterns_ride_along_span_by_span_where_the_side_lane_comes_first(version, monkeypatch):
    small, large, re2_only = "[0-9]{6}", "[1-9][0-9]{5}|[A-Z][0-9]{5}|[0-9]{7}", "(?i)a?[0-9]{6}"
    assert patterns.automaton(re2_only) is None
    rules = [
        {"kind": "resident_id", "field": "id"},
        {"kind": "regex", "field": "postcode", "pattern": small},
        {"kind": "regex", "field": "postcode", "pattern": large},
        {"kind": "regex", "field": "postcode", "pattern": re2_only},
        {"kind": "not_null", "field": "name"},
    ]
    one = _run(version, 10**9, rules=rules)
    # One lane: RE2 alone (its threads scale; calls into Python on several threads wait on each other).
    assert not any(vectorised.MATCH_PREFIX in s for s in one.statements)
    # The other lane held back until the side lane has taken its first two spans' patterns.
    taken, real = threading.Event(), engine.Claims.claim

    def claim(self, span, lane):
        if lane == "rest" and span >= 2:
            assert taken.wait(30)
        got = real(self, span, lane)
        if lane == "side" and span == 1:
            taken.set()
        return got

    monkeypatch.setattr(engine.Claims, "claim", claim)
    two = _run(version, 0, rules=rules)
    assert _found(two) == _found(one) and all(o.failed for o in one.outcomes[:4])
    scans = [s for s in two.statements if "count_if(" in s]
    riding = [s for s in scans if vectorised.MATCH_PREFIX.removeprefix("sz_") in s and "gb11643" not in s]
    assert sorted(_span(s) for s in riding)[:2] == [0, 700]
    for s in riding:  # both automata, fused into one call; the pattern RE2 must run stays behind
        assert "count_if(a1)" in s and "count_if(a2)" in s and "count_if(a3)" not in s
        assert vectorised.matcher(large).removeprefix("sz_") in s and vectorised.FUSED_PREFIX in s
    others = {_span(s): s for s in scans if "count_if(a3)" in s}
    assert sorted(others) == [700 * k for k in range(8)]
    for span, s in others.items():  # the patterns by RE2 in the spans the side lane did not take
        ridden = span in {_span(r) for r in riding}
        assert ("count_if(a1)" in s) is not ridden and "match_" not in s
        assert (f"regexp_full_match(t.\"postcode\", '{small}')" in s) is not ridden


def test_patterns_ride_along_on_a_small_version_only_once_the_loops_are_loaded(version, monkeypatch):
    asked: list[bool] = []
    real = engine.Runner._riders
    monkeypatch.setattr(engine.Runner, "_riders", lambda self, *a: asked.append(True) or real(self, *a))

    def riding(done: engine.Execution) -> bool:
        return bool(asked and asked.pop())

    monkeypatch.setattr(vectorised, "_LOADED", [])
    assert not vectorised.loaded()
    assert not riding(_run(version, 0, ride_from=5001))  # the side lane loads the loops first
    assert vectorised.loaded()  # ... and has now
    assert riding(_run(version, 0, ride_from=5001))
    monkeypatch.setattr(vectorised, "_LOADED", [])
    assert riding(_run(version, 0, ride_from=5000))  # large enough: rides along whatever


def test_one_lane_below_the_threshold_or_without_compiled_checks(version):
    small = _run(version, 5001)
    assert len([s for s in small.statements if "count_if(" in s]) == 1
    native = [r for i, r in enumerate(RULES) if i not in CALLING]
    plain = _run(version, 0, rules=native)
    assert len([s for s in plain.statements if "count_if(" in s]) == 1


def test_a_failure_in_one_lane_is_raised_and_both_duckdbs_are_closed(version, monkeypatch):
    made: list[str] = []
    real_mkdtemp = engine.tempfile.mkdtemp
    monkeypatch.setattr(engine.tempfile, "mkdtemp", lambda **kw: made.append(real_mkdtemp(**kw)) or made[-1])
    opened: list[duckdb.DuckDBPyConnection] = []
    real_connect = engine.connect
    monkeypatch.setattr(
        engine, "connect", lambda config=None: opened.append(real_connect(config)) or opened[-1]
    )

    def broken(self, rule, o, con):
        raise duckdb.IOException("the disk went away")

    monkeypatch.setattr(engine.Runner, "_unique", broken)
    with pytest.raises(duckdb.IOException, match="disk went away"):
        _run(version, 0)
    assert len(opened) >= 2 and len(made) == 1  # the rules' planning opens one more, closed as well
    for con in opened:
        with pytest.raises(duckdb.ConnectionException):
            con.execute("SELECT 1")
    assert not Path(made[0]).exists()


def test_each_shared_task_runs_once_after_the_lanes_own_tasks():
    cons = [duckdb.connect(), duckdb.connect()]
    done: list[tuple[int, str]] = []
    lock = threading.Lock()

    def task(name: str):
        def run(con):
            with lock:  # as it starts
                done.append((cons.index(con), name))
            time.sleep(0.001)

        return run

    both = threading.Barrier(2, timeout=30)

    def meet(name: str):  # the first two shared tasks wait for each other: one lane could not run both
        def run(con):
            task(name)(con)
            both.wait()

        return run

    lanes = [(cons[0], [task("a1"), task("a2")]), (cons[1], [task("b1")])]
    engine.in_lanes(lanes, [meet("s0"), meet("s1"), *(task(f"s{i}") for i in range(2, 40))])
    names = [name for _lane, name in done]
    assert sorted(names) == sorted(["a1", "a2", "b1", *(f"s{i}" for i in range(40))])
    first = {lane: [name for k, name in done if k == lane] for lane in (0, 1)}
    assert first[0][:2] == ["a1", "a2"] and first[1][0] == "b1"
    assert {lane for lane, name in done if name in ("s0", "s1")} == {0, 1}


@pytest.mark.timeout(120)
def test_a_failed_task_interrupts_the_other_lane_and_starts_no_more():
    cons = [duckdb.connect(), duckdb.connect()]
    started, ran = threading.Event(), []

    def endless(con):
        started.set()
        con.execute("SELECT sum(a.range * b.range) FROM range(100000000) a, range(100000000) b").fetchall()

    def fails(con):
        started.wait(30)
        time.sleep(0.5)  # the other lane's statement is running by now
        raise ValueError("a rule's statement failed")

    with pytest.raises(ValueError, match="statement failed"):
        engine.in_lanes([(cons[0], [fails]), (cons[1], [endless])], [lambda con: ran.append(con)])
    assert ran == []


def test_a_run_spills_into_a_private_staging_area_removed_afterwards(version, tmp_path, monkeypatch):
    """Both lanes' DuckDBs spill under the run's staging area of the version store (mode 0700, locked
    while the run holds it), never DuckDB's default `.tmp` in the working directory; the area goes
    when the run ends, and one left by a process that died is swept with the store's other areas."""
    from shuzhi.quality import service
    from shuzhi.storage.staging import Workspace, try_lock

    root = tmp_path / "staging"
    spills: dict[str, str] = {}
    held: list[bool] = []  # whether the area's lock was taken while the run read
    real = engine.Runner._count

    def count(self, con, compiled, which, keyed, span=None):
        setting = con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
        spills[threading.current_thread().name] = setting
        for lock in root.glob("*.lock"):
            fd = os.open(lock, os.O_RDWR)
            try:
                held.append(not try_lock(fd))
            finally:
                os.close(fd)
        return real(self, con, compiled, which, keyed, span)

    monkeypatch.setattr(engine.Runner, "_count", count)
    monkeypatch.setattr(engine, "LANES_FROM_ROWS", 0)
    path, ctx = version
    plan = service.Plan(
        dataset_id=1,
        department_id=1,
        version_id=1,
        version_number=1,
        path=path,
        revision_id=1,
        revision=1,
        body=ruleset.parse({"rules": RULES}, KIND_MAP, ctx).as_dict(),
        facts=FACTS,
        as_of=AS_OF,
        references={},
        grades={},
        levels=[],
        staging=lambda: Workspace(root),
    )
    done = service.execute(plan)
    assert all(o.error is None for o in done.outcomes) and len(spills) == 2 and held and all(held)
    (main,) = [Path(p) for p in spills.values() if Path(p).name == "main"]
    (side,) = [Path(p) for p in spills.values() if Path(p).name != "main"]
    area = main.parent
    assert area.parent == root and side.parent == area and side.name.startswith("side-")
    assert list(root.iterdir()) == []  # the area and its lock file, gone

    # Without a store's area: a private temporary directory of the system's, removed afterwards.
    spills.clear()
    service.execute(dataclasses.replace(plan, staging=None))
    (main,) = [Path(p) for p in spills.values() if Path(p).name == "main"]
    assert main.parent.name.startswith("shuzhi-quality-") and not main.parent.exists()


def test_a_staging_area_is_private_and_swept_once_its_writer_has_died(tmp_path):
    from shuzhi.storage.staging import Workspace, sweep_staging

    area = Workspace(tmp_path)
    assert stat.S_IMODE(area.dir.stat().st_mode) == 0o700
    assert sweep_staging(tmp_path) == []  # held
    os.close(area._lock_fd)  # as when its process dies: the kernel drops the lock
    area._lock_fd = -1
    assert sweep_staging(tmp_path) == [area.token] and not area.dir.exists()
