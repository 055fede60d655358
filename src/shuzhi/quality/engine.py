"""Running a rule set on a version file in DuckDB: the compiled statements and their exact counts.

Every row rule becomes two flags of each row (`applies`, `fails`, computed once in an inner
projection, combined once in a middle one; values several of them read, such as a resident ID's
facts, computed once per row in a projection below them: `kinds.Context.derive`; the compiled
checks among them in one call per vector: `fuse`) and two
aggregates of ONE statement over the version's Parquet file, so all of them are counted in a
single scan: `count_if(applies)` (rows checked) and
`count_if(applies AND fails)` (rows failed, exact). For the samples one more aggregate keeps the
first SAMPLE_WINDOW rows that fail any rule, each packed as its position and the bits of the rules
it fails (a top-n heap of integers, bounded whatever the failure count); each rule's sample is
its first n among them, and a rule whose first failures lie beyond the window gets them from a
scan of its own conditions. A referential rule adds a LEFT JOIN to the distinct keys of the
referenced version to that same statement. When some rule failed, one more read fetches the sampled rows' fields by
position (a filter on the row number: bounded, and far cheaper than carrying rows in the scan).

A large version whose rules call compiled functions runs in two lanes at once (`Runner._two_lanes`):
DuckDB calls into Python once per vector, holding the GIL, and two of its threads making those calls
take turns at it, which cost twice the CPU of the same calls on one thread. So the rules that call
them are scanned on a DuckDB of one thread, while the other rules' scan, cut into spans of row
groups, and the uniqueness rules are tasks either lane takes, the first free one the next. The
patterns of some rules are run, span by span, by byte automata in the side lane's call into Python
where it reaches a span first (`Runner._riders`, `Claims`, `classify.patterns`). A pattern over a
field stored with a small dictionary is judged once per distinct value (`small_dictionaries`).

A uniqueness rule needs the rows that share a key: the scan counts the rows it checks (key present),
then `duplicates` sorts the keys' hashes in memory and reads again only the rows of repeated hashes
(a version above `duplicates.MAX_ROWS` rows is grouped by DuckDB instead: one grouped pass keeps the
duplicated keys and their counts, one more reads the first rows holding one of them for the sample).
In one lane the uniqueness rules run first: meanwhile a thread loads the compiled loops the scan's
rules call (`classify.vectorised.load`). A version rule (timeliness) reads no rows at all.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from shuzhi.classify import sqlfuncs, vectorised
from shuzhi.engine.parquet import FOLDING, float_statistics
from shuzhi.quality import duplicates
from shuzhi.quality.kinds import (
    Context,
    Derived,
    KeyKind,
    RowCheck,
    RowKind,
    RuleError,
    VersionFacts,
    VersionKind,
    ident,
    lit,
)
from shuzhi.quality.ruleset import Rule, RuleSet

log = logging.getLogger(__name__)

SQL_TYPES = {
    "text": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
    "other": "VARCHAR",
}


PERFECT_HASH_BITS = 24
"""Integer keys spanning at most 2**this many values are grouped by value (see `connect`)."""


def connect(config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the validator macros of grading (check digits, dates) and the
    GB/T 2260 codes with their years (`sz_regions`: code, first, last); `config`: DuckDB settings
    it opens with (threads, memory_limit…)."""
    from shuzhi.quality import regions

    con = duckdb.connect(config=config or {})
    # An integer key whose values span up to 2**24 (a row id of a version of up to 16 million rows)
    # is grouped in an array indexed by value rather than a hash table (DuckDB's default: 2**12).
    # A uniqueness rule on such a key, at 10,000,000 rows: 0.32 s against 0.53 s, and less memory.
    con.execute(f"SET perfect_ht_threshold = {PERFECT_HASH_BITS}")
    sqlfuncs.install(con)
    con.register("sz_regions", regions.table())
    return con


def untrusting(con: duckdb.DuckDBPyConnection, path) -> duckdb.DuckDBPyConnection:
    """`con`, told not to fold expressions from the file's statistics when it has floating-point ones
    (`engine.parquet`: they leave NaN out, and `isnan(x)` or `x > 100` were answered from them). The
    run's statements filter only on row positions and keys, so row groups may still be skipped."""
    if float_statistics(path):
        con.execute(f"SET disabled_optimizers = '{FOLDING}'")
    return con


def parquet(path) -> str:
    return f"read_parquet({lit(str(path))}, file_row_number = true)"


@dataclass(frozen=True)
class Fusion:
    """Derived values that are calls of compiled functions, computed by one function (`fuse`)."""

    column: str
    """The STRUCT column of its answers in the row `t`, field `d{i}` for `parts[i]`."""
    parts: tuple[Derived, ...]

    @property
    def functions(self) -> tuple[str, ...]:
        return tuple(d.call[0] for d in self.parts)

    @property
    def _typed(self) -> tuple[tuple[tuple[str, str], ...], ...]:
        """Each part's arguments as (SQL, the type its function takes)."""
        return tuple(tuple(zip(d.call[1], vectorised.spec(d.call[0])[1], strict=True)) for d in self.parts)

    @property
    def _slots(self) -> dict[tuple[str, str], int]:
        """Each distinct typed argument → its position in the fused call: a column two compiled
        checks read as the same type is handed over once."""
        return {t: i for i, t in enumerate(dict.fromkeys(t for part in self._typed for t in part))}

    @property
    def arguments(self) -> tuple[str, ...]:
        """The fused call's arguments (SQL), each once."""
        return tuple(sql for sql, _type in self._slots)

    @property
    def layout(self) -> vectorised.Layout:
        """For each part, the positions of its arguments among `arguments`."""
        slots = self._slots
        return tuple(tuple(slots[t] for t in part) for part in self._typed)

    @property
    def function(self) -> str:
        """Its DuckDB name (`classify.vectorised.install_fused`)."""
        return vectorised.fused_name(self.functions, self.layout)

    @property
    def sql(self) -> str:
        return f"{self.function}({', '.join(self.arguments)})"


def fuse(derived: list[Derived], column: str) -> tuple[list[Derived], Fusion | None]:
    """The derived values left as they are, and those that are calls of compiled functions made one
    call (None unless there are two or more): DuckDB calls into Python once per vector and function,
    which costs more than the compiled loop itself. `column` names the fused answers in the row."""
    derived = distinct(derived)
    calls = [d for d in derived if d.call is not None and vectorised.spec(d.call[0]) is not None]
    if len(calls) < 2:
        return derived, None
    return [d for d in derived if d not in calls], Fusion(column, tuple(calls))


def distinct(derived) -> list[Derived]:
    """The derived values once each (several rules list the same one), in their first order."""
    return list({d.name: d for d in derived}.values())


def with_derived(source: str, derived, fusion: Fusion | None = None) -> str:
    """SQL of the row source `t`: `source` with the derived values as columns after its own, each
    computed once per row however many conditions read it; those of `fusion` taken from the one
    call's answers in a projection above."""
    derived = distinct(derived)
    values = [f"{d.sql} AS {ident(d.name)}" for d in derived]
    if fusion is not None:
        values.append(f"{fusion.sql} AS {ident(fusion.column)}")
    if not values:
        return f"{source} AS t"
    rows = f"(SELECT *, {', '.join(values)} FROM {source} AS t)"
    if fusion is None:
        return f"{rows} AS t"
    column = ident(fusion.column)
    parts = ", ".join(
        f"struct_extract(t.{column}, 'd{i}') AS {ident(d.name)}" for i, d in enumerate(fusion.parts)
    )
    return f"(SELECT * EXCLUDE ({column}), {parts} FROM {rows} AS t) AS t"


def _load_ahead() -> None:
    """`vectorised.load`, its failure left to the scan (which calls the same functions, and reports)."""
    try:
        vectorised.load()
    except Exception:  # noqa: BLE001
        log.debug("loading the compiled loops ahead failed", exc_info=True)


def _calls_compiled(check: RowCheck) -> bool:
    """Whether a rule's expressions call a compiled function (`classify.vectorised`)."""
    sql = [check.applies, check.fails, *(d.sql for d in check.derived), *(j.sql for j in check.joins)]
    return sqlfuncs.calls_compiled(" ".join(sql))


LANES_FROM_ROWS = 10_000
"""Rows from which a version whose rules call compiled functions is run in two lanes
(`Runner._two_lanes`). Below, a second DuckDB and thread cost more than they save: with the compiled
loops loaded, 2,000 rows took 75 ms in two lanes against 72 ms in one, 20,000 rows 97 ms against
105 ms, 1,000,000 rows 0.59 s against 0.70 s."""
RIDE_ALONG_FROM_ROWS = 2_000_000
"""Rows from which patterns ride along in the side lane (`Runner._riders`) in a process that has
not loaded the compiled loops yet: the side lane loads them first (0.5 s), and on a smaller version
that alone makes it the longer lane. At 1,000,000 rows, riding along made a run 1.01-1.07 s against
0.89-0.95 s; at 10,000,000, 5.16-5.55 s against 5.62-5.89 s."""
PARTS = 8
"""The spans of rows the other lane's scan is cut into (`Runner._two_lanes`): tasks either lane
takes, so that the lane done first with its own work takes over the other's."""
LANE_MEMORY = "40%"
"""Each lane's DuckDB memory limit, of the machine's: together what one DuckDB takes by default."""

Lane = tuple[duckdb.DuckDBPyConnection, list[Callable]]


def in_lanes(lanes: list[Lane], shared: list[Callable]) -> None:
    """Run each lane's own tasks (each called with the lane's connection) in order, then the shared
    tasks, each by the first lane free for it; the first lane on this thread, the others on threads
    of their own. When a task fails, the other lanes start no more tasks and their running statement
    is interrupted; the first failure is raised once every lane has stopped."""
    left, failures = deque(shared), []

    def work(con: duckdb.DuckDBPyConnection, own: list[Callable]) -> None:
        tasks = deque(own)
        try:
            while not failures:
                if not tasks:
                    try:
                        tasks.append(left.popleft())  # another lane may have taken the last one
                    except IndexError:
                        return
                tasks.popleft()(con)
        except BaseException as e:  # noqa: BLE001 (raised by the caller, after the other lanes stop)
            failures.append(e)
            for other, _own in lanes:
                if other is not con:
                    other.interrupt()

    threads = [threading.Thread(target=work, args=lane, name="sz-lane", daemon=True) for lane in lanes[1:]]
    for thread in threads:
        thread.start()
    work(*lanes[0])
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def spans(sizes: list[int], parts: int) -> list[tuple[int, int]]:
    """Consecutive row groups of `sizes` rows each, in at most `parts` spans of about equal rows:
    (first position, position after the last), in file order; none for no rows."""
    total, found, start, at = sum(sizes), [], 0, 0
    for size in sizes:
        at += size
        if at > start and at * parts >= total * (len(found) + 1):
            found.append((start, at))
            start = at
    return found


SMALL_DICTIONARY_BYTES = 64 * 1024
"""A column chunk's dictionary page, compressed, at most this: a dictionary DuckDB evaluates a
function over entry by entry (it does up to 20,000 entries; an e-mail-like value takes 6-7 bytes
of a compressed dictionary page, a short code 3 or more)."""
DICTIONARY_PAGES = ("RLE_DICTIONARY", "PLAIN_DICTIONARY")


def small_dictionaries(con: duckdb.DuckDBPyConnection, path, fields) -> frozenset[str]:
    """Those of `fields` whose every row group stores them with a dictionary page of at most
    SMALL_DICTIONARY_BYTES and every data page by that dictionary (none fell back to plain values),
    from the Parquet footer (no row is read)."""
    try:
        chunks = con.execute(
            "SELECT path_in_schema, dictionary_page_offset, data_page_offset, encoding_stats"
            " FROM parquet_metadata(?)",
            [str(path)],
        ).fetchall()
    except duckdb.BinderException:  # a DuckDB that does not read the pages' encodings
        return frozenset()
    small: dict[str, bool] = {}
    for name, dictionary, data, pages in chunks:
        ok = dictionary is not None and data is not None and 0 < data - dictionary <= SMALL_DICTIONARY_BYTES
        ok = (
            ok
            and bool(pages)
            and all(
                p["encoding"] in DICTIONARY_PAGES for p in pages if p["page_type"].startswith("DATA_PAGE")
            )
        )
        small[name] = small.get(name, True) and ok
    return frozenset(f for f in fields if small.get(f))


def describe(con: duckdb.DuckDBPyConnection, path) -> dict[str, str]:
    """Column name → type name of a version file."""
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(str(path))})").fetchall()
    return {r[0]: r[1] for r in rows}


class Planner:
    """Lets DuckDB plan rules' expressions over an empty table of a version's columns, on one
    connection for a whole rule set (opened at the first rule that needs it)."""

    def __init__(self, columns: dict[str, str]) -> None:
        self.columns = columns
        self._con: duckdb.DuckDBPyConnection | None = None

    def explain(self, check: RowCheck) -> str | None:
        """Why DuckDB cannot run a rule's expressions on these columns (None when it can)."""
        if self._con is None:
            self._con = connect()
            cols = ", ".join(
                f"NULL::{SQL_TYPES.get(f, 'VARCHAR')} AS {ident(n)}" for n, f in self.columns.items()
            )
            self._con.execute(f"CREATE TEMP TABLE sz_columns AS SELECT {cols or '1 AS x'} LIMIT 0")
        joins = " ".join(j.sql for j in check.joins)
        rows = with_derived("sz_columns", check.derived)
        try:
            self._con.execute(
                f"SELECT count_if(({check.applies}) AND ({check.fails})) FROM {rows} {joins}"
            ).fetchall()
        except duckdb.Error as e:
            return str(e).splitlines()[0][:300]
        return None

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Planner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


MASK_BITS = 62
"""Rules per packed aggregate at most: a failing row is one BIGINT, its position above the bits of
the rules it fails, so fewer when the position needs more than 63 - MASK_BITS bits (`_chunks`).
A BIGINT rather than a HUGEINT with room for 64 rules whatever the size: the top-n heap of the
narrower integer took 0.12 s less of the 3.4 s scan at 10,000,000 rows."""
SAMPLE_WINDOW = 10_000
"""Failing rows (of any rule) the scan keeps, the first in the file: every rule's sample comes from them
unless some rule failed so often that another's first failures lie beyond them (then one more scan)."""


def _chunks(rules: Sequence[int], rows: int) -> list[Sequence[int]]:
    """The rules (indices) of each packed aggregate: as many as leave room in 63 bits for the
    position of every one of `rows` rows, and at most MASK_BITS."""
    width = max(1, min(MASK_BITS, 63 - max(rows - 1, 1).bit_length()))
    return [rules[k : k + width] for k in range(0, len(rules), width)]


def _first_failing(rules: Sequence[int], window: int) -> str:
    """The aggregate keeping the first `window` rows that fail any of `rules` (rule `rules[k]` in bit k)."""
    any_failed = " OR ".join(f"f{i}" for i in rules)
    bits = " | ".join(f"(f{i}::BIGINT << {k})" for k, i in enumerate(rules))
    # CASE: the packing is computed for failing rows only; the top-n heap is of integers.
    return f"min(CASE WHEN {any_failed} THEN (_row << {len(rules)}) | {bits} END, {window})"


def _unpack(rules: Sequence[int], packed: list[int], n: int, positions: dict[int, list[int]]) -> None:
    """The first n positions of each rule from the packed failing rows (in file order)."""
    width = len(rules)
    for value in packed:
        row, mask = value >> width, value & ((1 << width) - 1)
        while mask:
            bit = mask & -mask
            i = rules[bit.bit_length() - 1]
            if len(positions.setdefault(i, [])) < n:
                positions[i].append(row)
            mask ^= bit


@dataclass
class Outcome:
    """What one rule found: exact counts, the sample's raw rows (masked later), details."""

    rule: Rule
    checked: int = 0
    failed: int = 0
    sample: list[dict] = field(default_factory=list)
    detail: dict = field(default_factory=dict)
    error: str | None = None


@dataclass
class Counted:
    """What one scan statement counted over a span of rows (`Runner._count`)."""

    start: int
    """The span's first row position (0 for the whole file)."""
    rows: int
    rules: dict[int, tuple[int, int]]
    """Rule index → (rows checked, rows failed)."""
    keys: dict[int, int]
    """A uniqueness rule's position → rows whose key is present."""
    found: dict[int, list[int]]
    """Rule index → its first failing rows (at most n) among the statement's window."""


class Claims:
    """Which of a span's two scans, the first to start, computes the patterns that may ride along."""

    def __init__(self) -> None:
        self._lock, self._by = threading.Lock(), {}

    def claim(self, span: int, lane: str) -> bool:
        with self._lock:
            return self._by.setdefault(span, lane) == lane


@dataclass
class Execution:
    rows: int
    outcomes: list[Outcome]
    statements: list[str]
    """Every statement sent to DuckDB, in order (a test counts the scans)."""


class Runner:
    """One run of a rule set on one version file."""

    def __init__(
        self,
        ruleset: RuleSet,
        path,
        ctx: Context,
        facts: VersionFacts,
        con: duckdb.DuckDBPyConnection | None = None,
        spill: Path | None = None,
    ) -> None:
        """`con`: a connection from `connect()` to run on (the run closes it), or a new one; `spill`:
        the run's private directory, where a second DuckDB spills (the system's temporary directory
        when None)."""
        self.ruleset, self.path, self.ctx, self.facts, self.spill = ruleset, path, ctx, facts, spill
        self.statements: list[str] = []
        self._fused: set[tuple[int, str]] = set()  # (connection, fused function or matcher) registered
        self._row_count: int | None = None
        self.con = untrusting(con or connect(), path)

    def sql(self, statement: str, con: duckdb.DuckDBPyConnection | None = None) -> list[tuple]:
        """Run a statement on `con` (the run's own connection unless given) and keep it in `statements`."""
        self.statements.append(statement)
        return (con or self.con).execute(statement).fetchall()

    def run(self) -> Execution:
        try:
            outcomes = {r.position: Outcome(r) for r in self.ruleset.rules}
            text = [f for f, family in self.ctx.columns.items() if family == "text"]
            self.ctx = replace(self.ctx, dictionary=small_dictionaries(self.con, self.path, text))
            compiled = self._compile_rows(outcomes)
            keyed = [
                r
                for r in self.ruleset.rules
                if isinstance(r.kind, KeyKind) and outcomes[r.position].error is None
            ]
            calling = [i for i, (_rule, check) in enumerate(compiled) if _calls_compiled(check)]
            rest = [i for i in range(len(compiled)) if i not in calling]
            if calling and (rest or keyed) and self._rows() >= LANES_FROM_ROWS:
                riders = {}
                if self._rows() >= RIDE_ALONG_FROM_ROWS or vectorised.loaded():
                    riders = self._riders(compiled, rest)
                rows, positions = self._two_lanes(compiled, calling, rest, keyed, outcomes, riders)
            else:
                rows, positions = self._one_lane(compiled, keyed, outcomes, bool(calling))
            if positions:
                self._fetch_samples(compiled, outcomes, positions)
            for rule in self.ruleset.rules:
                if isinstance(rule.kind, VersionKind):
                    o = outcomes[rule.position]
                    o.checked, o.failed, o.detail = rule.kind.evaluate(rule.params, self.facts)
            return Execution(rows, list(outcomes.values()), self.statements)
        finally:
            self.con.close()

    def _one_lane(
        self, compiled: list[tuple[Rule, RowCheck]], keyed: list[Rule], outcomes: dict, calling: bool
    ) -> tuple[int, dict[int, list[int]]]:
        """Every statement on the run's connection, one after the other: the groupings first, so that
        the compiled loops some row rules call load meanwhile (on two cores the grouping leaves room;
        loaded mid-scan, the scan's threads waited for them)."""
        loading = None
        if keyed and calling:
            loading = threading.Thread(target=_load_ahead, name="sz-load-compiled", daemon=True)
            loading.start()
        for rule in keyed:
            self._unique(rule, outcomes[rule.position], self.con)
        if loading is not None:
            loading.join()
        return self._scan(self.con, compiled, range(len(compiled)), keyed, outcomes)

    def _two_lanes(
        self,
        compiled: list[tuple[Rule, RowCheck]],
        calling: list[int],
        rest: list[int],
        keyed: list[Rule],
        outcomes: dict,
        riders: dict[int, RowCheck],
    ) -> tuple[int, dict[int, list[int]]]:
        """The rules that call compiled functions scanned on a DuckDB of one thread (the "side"
        lane: its calls into Python never wait on each other for the GIL), the other rules on the
        run's own DuckDB with the remaining threads, at the same time: the side lane loads the
        compiled loops and scans its rules; the other takes the uniqueness rules (those on text
        keys, the dearer, first), then the other rules' scan, cut into spans of rows (`spans`),
        from the last span. A key's rows are counted in the side scan when its rules read the key's
        fields, else in the other. The patterns of `riders` (their checks by automaton, cheaper
        than RE2) are computed in a span by the side lane when it comes to that span, from the
        first, before the other lane does: so the lanes meet where their work balances, whatever
        this machine's costs of calling into Python and of RE2, and the spans left are work either
        lane takes. Each DuckDB gets half of the memory one run may use."""
        threads = self.con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        spill = tempfile.mkdtemp(prefix="side-", dir=self.spill)  # the side DuckDB's own spill files
        side = untrusting(
            connect({"threads": 1, "memory_limit": LANE_MEMORY, "temp_directory": spill}), self.path
        )
        self.con.execute(f"SET threads = {max(1, int(threads) - 1)}")
        self.con.execute(f"SET memory_limit = '{LANE_MEMORY}'")
        # Counted where its fields are read anyway: at 10,000,000 credit codes, the other lane's
        # scan 4.58 s instead of 4.75-4.83 s, the side scan 2.78 s instead of 2.60-2.72 s.
        read = {f for i in calling for f in compiled[i][0].fields}
        beside = [r for r in keyed if set(r.fields) <= read]
        keys = [r for r in keyed if r not in beside]
        groupings = sorted(keyed, key=lambda r: not any(self.ctx.family(f) == "text" for f in r.fields))
        ridden = [(rule, riders.get(i, check)) for i, (rule, check) in enumerate(compiled)]
        first, counted, whole = Claims(), [], []  # list.append: one at a time under the GIL
        plain = [i for i in rest if i not in riders]

        def calls(con: duckdb.DuckDBPyConnection) -> None:
            whole.append(self._count(con, compiled, calling, beside))

        def riding(k: int, span: tuple[int, int]) -> Callable:
            def scan(con: duckdb.DuckDBPyConnection) -> None:
                if first.claim(k, "side"):
                    counted.append(self._count(con, ridden, sorted(riders), [], span))

            return scan

        def others(k: int, span: tuple[int, int]) -> Callable:
            def scan(con: duckdb.DuckDBPyConnection) -> None:
                if (which := rest if first.claim(k, "rest") else plain) or keys:
                    counted.append(self._count(con, compiled, which, keys, span))

            return scan

        spans = self._spans() if rest or keys else []
        own = [lambda con: _load_ahead(), calls, *(riding(k, s) for k, s in enumerate(spans) if riders)]
        try:
            in_lanes(
                [(self.con, []), (side, own)],
                [
                    *(lambda con, r=r: self._unique(r, outcomes[r.position], con) for r in groupings),
                    *(others(k, s) for k, s in reversed(list(enumerate(spans)))),
                ],
            )
        finally:
            side.close()
            shutil.rmtree(spill, ignore_errors=True)
        return whole[0].rows, self._tally(compiled, outcomes, [*whole, *counted])

    def _spans(self) -> list[tuple[int, int]]:
        """The version's rows in about PARTS spans (positions from, to) of whole row groups."""
        sizes = self.con.execute(
            "SELECT any_value(row_group_num_rows) FROM parquet_metadata(?)"
            " GROUP BY row_group_id ORDER BY row_group_id",
            [str(self.path)],
        ).fetchall()
        return spans([s[0] for s in sizes], PARTS)

    def _riders(self, compiled: list[tuple[Rule, RowCheck]], rest: list[int]) -> dict[int, RowCheck]:
        """The rules of `rest` whose patterns run by automata (recompiled with `Context.automata`):
        their checks so, which join the side lane's one call into Python per vector when they ride
        along (`_two_lanes`). At 10,000,000 rows an e-mail pattern cost the side lane 0.6 s where
        RE2 cost the other 1.0 s."""
        ctx = replace(self.ctx, automata=True)  # the same derived values, by reference
        riders = {}
        for i in rest:
            rule = compiled[i][0]
            ctx.position = rule.position
            check = rule.kind.compile(rule.params, ctx)
            if _calls_compiled(check):
                riders[i] = check
        return riders

    def _missing(self, rule: Rule) -> list[str]:
        return [f for f in rule.fields if f not in self.ctx.columns]

    def _compile_rows(self, outcomes: dict[int, Outcome]) -> list[tuple[Rule, RowCheck]]:
        """Each row rule's expressions; a rule the version cannot run (a field gone, a type changed)
        is reported on its own and the others still run."""
        compiled = []
        for rule in self.ruleset.rules:
            missing = self._missing(rule)
            if missing:
                outcomes[rule.position].error = "missing field: " + ", ".join(missing)
                continue
            if not isinstance(rule.kind, RowKind):
                continue
            self.ctx.position = rule.position
            try:
                compiled.append((rule, rule.kind.compile(rule.params, self.ctx)))
            except RuleError as e:
                outcomes[rule.position].error = str(e.message)
        return compiled

    def _scan(
        self,
        con: duckdb.DuckDBPyConnection,
        compiled: list[tuple[Rule, RowCheck]],
        which,
        keyed: list[Rule],
        outcomes: dict[int, Outcome],
    ) -> tuple[int, dict[int, list[int]]]:
        """The counts of the row rules `which` (indices into `compiled`), the rows each uniqueness
        rule of `keyed` checks, in one statement on `con`; the version's row count, and the first
        failing rows of each rule that failed (by its index)."""
        counted = self._count(con, compiled, which, keyed)
        return counted.rows, self._tally(compiled, outcomes, [counted], con)

    def _count(
        self,
        con: duckdb.DuckDBPyConnection,
        compiled: list[tuple[Rule, RowCheck]],
        which,
        keyed: list[Rule],
        span: tuple[int, int] | None = None,
    ) -> Counted:
        """The aggregates of one statement over the rows of `span` (positions from, to; all when None)."""
        # Each rule's two conditions are computed once per row (an inner projection) and combined
        # once (`f`: checked and failed) in a middle one, then counted: written into the aggregates,
        # DuckDB evaluated them once per aggregate. A NULL condition counts as false in count_if.
        # A condition may be NULL (a NULL value): `f` is then false, or the row's packed failures
        # (below) would be NULL, and the row missing from the samples of every rule it fails.
        # count_if rather than FILTER clauses: DuckDB slices its input for every filtered aggregate,
        # which made the counting several times dearer than the conditions themselves.
        which = list(which)
        both, parts = ["_row"], ["count(*)"]
        for i in which:
            both += [f"a{i}", f"coalesce(a{i} AND b{i}, false) AS f{i}"]
            parts += [f"count_if(a{i})", f"count_if(f{i})"]
        keys = [" AND ".join(self.ctx.present(f) for f in rule.fields) for rule in keyed]
        both += [f"k{j}" for j in range(len(keyed))]
        parts += [f"count_if(k{j})" for j in range(len(keyed))]
        chunks = _chunks(which, self._rows()) if self.ruleset.sample_size else []
        parts += [_first_failing(chunk, SAMPLE_WINDOW) for chunk in chunks]
        rows = self._flags(con, compiled, which, [f"({k}) AS k{j}" for j, k in enumerate(keys)], span)
        statement = f"SELECT {', '.join(parts)} FROM (SELECT {', '.join(both)} FROM ({rows}) AS x) AS y"
        values = self.sql(statement, con)[0]
        ends = 1 + 2 * len(which) + len(keyed)
        counts = [v or 0 for v in values[:ends]]  # count_if of no rows: NULL
        n, found = self.ruleset.sample_size, {}
        for chunk, packed in zip(chunks, values[ends:], strict=True):
            _unpack(chunk, packed or [], n, found)
        return Counted(
            span[0] if span else 0,
            counts[0],
            {i: (counts[1 + 2 * at], counts[2 + 2 * at]) for at, i in enumerate(which)},
            {rule.position: counts[1 + 2 * len(which) + j] for j, rule in enumerate(keyed)},
            found,
        )

    def _tally(
        self,
        compiled: list[tuple[Rule, RowCheck]],
        outcomes: dict[int, Outcome],
        counted: list[Counted],
        con: duckdb.DuckDBPyConnection | None = None,
    ) -> dict[int, list[int]]:
        """The statements' counts (each rule counted by one statement per span of rows) summed into
        the outcomes; the first n failing rows of each rule that failed (by its index)."""
        n, positions, short = self.ruleset.sample_size, {}, []
        for c in counted:
            for i, (checked, failed) in c.rules.items():
                o = outcomes[compiled[i][0].position]
                o.checked, o.failed = o.checked + checked, o.failed + failed
            for position, checked in c.keys.items():
                outcomes[position].checked += checked
        for c in sorted(counted, key=lambda c: c.start):
            for i, (_checked, failed) in c.rules.items():
                have, found = positions.setdefault(i, []), c.found.get(i, [])
                wanted = min(n - len(have), failed)
                if wanted > 0 and i not in short:
                    have += found[:wanted]
                    # Fewer than wanted: other rules' failures filled the statement's window first.
                    if len(found) < wanted:
                        short.append(i)
        positions = {i: rows for i, rows in positions.items() if rows and i not in short}
        # A rule whose first failures lie beyond a window gets them from a scan of its own conditions.
        if short:
            positions.update(self._first_failures(con or self.con, compiled, short, n))
        return positions

    def _rows(self) -> int:
        """The version's row count, from the Parquet footer (no scan, so not one of `statements`)."""
        if self._row_count is None:
            rows = self.con.execute(f"SELECT count(*) FROM read_parquet({lit(str(self.path))})").fetchall()
            self._row_count = rows[0][0]
        return self._row_count

    def _flags(
        self,
        con,
        compiled: list[tuple[Rule, RowCheck]],
        which,
        extra: list[str] = (),
        span: tuple[int, int] | None = None,
    ) -> str:
        """SQL: each row's position, the two conditions (`a`, `b`) of the rules `which`, and `extra`
        (compiled checks fused into one call, registered on `con`), of the rows of `span` (all
        when None: positions from, to; DuckDB reads only the row groups holding them)."""
        source = parquet(self.path)
        if span is not None:
            source = f"(SELECT * FROM {source} AS t WHERE t.file_row_number >= {span[0]:d}"
            source += f" AND t.file_row_number < {span[1]:d})"
        flags, joins, derived = ["t.file_row_number AS _row", *extra], [], []
        for i in which:
            check = compiled[i][1]
            flags += [f"({check.applies}) AS a{i}", f"({check.fails}) AS b{i}"]
            joins += [j.sql for j in check.joins]
            derived += check.derived
        rows = with_derived(source, *self._fuse(con, derived))
        return f"SELECT {', '.join(flags)} FROM {rows} {' '.join(joins)}"

    def _fuse(self, con, derived: list[Derived]) -> tuple[list[Derived], Fusion | None]:
        """`fuse` over the rules' derived values, its function (or a lone matcher) registered on `con`."""
        rest, fusion = fuse(derived, self.ctx.fresh())
        if fusion is not None and (id(con), fusion.function) not in self._fused:
            vectorised.install_fused(con, fusion.functions, fusion.layout)
            self._fused.add((id(con), fusion.function))
        vectorised.install_calls(con, [d.call[0] for d in rest if d.call], self._fused)
        return rest, fusion

    def _first_failures(self, con, compiled: list[tuple[Rule, RowCheck]], which: list[int], n: int) -> dict:
        parts = [f"min(CASE WHEN a{i} AND b{i} THEN _row END, {n})" for i in which]
        found = self.sql(f"SELECT {', '.join(parts)} FROM ({self._flags(con, compiled, which)}) AS x", con)[0]
        return {i: sorted(r or []) for i, r in zip(which, found, strict=True)}

    def _fetch_samples(
        self,
        compiled: list[tuple[Rule, RowCheck]],
        outcomes: dict[int, Outcome],
        positions: dict[int, list[int]],
    ) -> None:
        """The sampled rows' fields, read by position in one bounded pass over the needed columns."""
        fields = list(dict.fromkeys(f for i in positions for f in compiled[i][1].fields))
        wanted = sorted({r for rows in positions.values() for r in rows})
        cols = ", ".join(self.ctx.col(f) for f in fields)
        found = self.sql(
            f"SELECT t.file_row_number, {cols} FROM {parquet(self.path)} AS t"
            f" WHERE t.file_row_number IN ({', '.join(str(r) for r in wanted)})"
        )
        by_row = {r[0]: dict(zip(fields, r[1:], strict=True)) for r in found}
        for i, rows in positions.items():
            check = compiled[i][1]
            outcomes[compiled[i][0].position].sample = [
                {"row": r, "values": {f: by_row[r][f] for f in check.fields}} for r in rows
            ]

    def _unique(self, rule: Rule, o: Outcome, con: duckdb.DuckDBPyConnection) -> None:
        """Failures of a uniqueness rule (its rows checked were counted in the scan): by sorting its
        keys' hashes (`duplicates`) up to `duplicates.MAX_ROWS` rows, by DuckDB's grouping above."""
        if self._rows() > duplicates.MAX_ROWS:
            return self._unique_grouped(rule, o, con)
        keys = rule.fields
        found = duplicates.by_sorting(
            duplicates.Session(con, self.statements.append),
            parquet(self.path),
            [self.ctx.col(f) for f in keys],
            " AND ".join(self.ctx.present(f) for f in keys),
            self.ruleset.sample_size,
            f"sz_unique_{rule.position}",
        )
        o.failed, o.detail = found.failed, {"duplicate_keys": found.keys}
        o.sample = [{"row": r[0], "values": dict(zip(keys, r[1:], strict=True))} for r in found.sample]

    def _unique_grouped(self, rule: Rule, o: Outcome, con: duckdb.DuckDBPyConnection) -> None:
        """Failures of a uniqueness rule by DuckDB's grouping (which spills to disk): one grouped
        pass over its key columns keeps the duplicated keys only, with their counts (as a rule few;
        no row number carried through the grouping, which cost a third as much again); when there
        are some, one more pass reads the first n rows holding one of them, in file order."""
        keys = rule.fields
        present = " AND ".join(self.ctx.present(f) for f in keys)
        cols = ", ".join(f"{self.ctx.col(f)} AS k{i}" for i, f in enumerate(keys))
        table = f"sz_duplicates_{rule.position}"
        self.sql(
            f"CREATE TEMP TABLE {table} AS SELECT {cols}, count(*) AS n FROM {parquet(self.path)} AS t"
            f" WHERE {present} GROUP BY ALL HAVING count(*) > 1",
            con,
        )
        failed, dup = self.sql(f"SELECT coalesce(sum(n), 0), count(*) FROM {table}", con)[0]
        o.failed, o.detail = int(failed), {"duplicate_keys": int(dup)}
        n = self.ruleset.sample_size
        if failed and n:
            found = self._first_duplicates(rule, table, int(failed), n, con)
            o.sample = [{"row": r[0], "values": dict(zip(keys, r[1:], strict=True))} for r in found]

    def _first_duplicates(self, rule: Rule, table: str, failed: int, n: int, con) -> list[tuple]:
        """The first n rows holding a duplicated key (of `table`), in file order: first among the
        rows before where 4n of the `failed` rows would lie were they spread evenly (DuckDB skips the
        row groups after a bound on the row number: at 10,000,000 rows 0.05 s against 0.24 s for
        the whole file), then, when those hold fewer than n, in the whole file."""
        on = " AND ".join(f"{self.ctx.col(f)} = d.k{i}" for i, f in enumerate(rule.fields))
        cells = ", ".join(self.ctx.col(f) for f in rule.fields)
        bound = 4 * n * self._rows() // failed + 1
        for limit in [bound, None] if bound < self._rows() else [None]:
            where = "" if limit is None else f" WHERE t.file_row_number < {limit}"
            found = self.sql(
                f"SELECT t.file_row_number, {cells} FROM {parquet(self.path)} AS t"
                f" SEMI JOIN {table} AS d ON {on}{where} ORDER BY t.file_row_number LIMIT {n}",
                con,
            )
            if len(found) == n:
                break
        return found


def reference_source(path, ref_field: str) -> str:
    """The distinct keys of a referenced version, as text (a referential rule's join)."""
    return f"(SELECT DISTINCT CAST({ident(ref_field)} AS VARCHAR) AS k FROM read_parquet({lit(str(path))}))"
