"""The column scanner: runs every detector over whole Arrow columns in DuckDB and decides each column's category."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shuzhi.classify import lexicon as lx
from shuzhi.classify.detectors import Detector, resolve_group_check
from shuzhi.classify.hints import NameHints
from shuzhi.classify.sqlfuncs import connect
from shuzhi.i18n import M_

NONE = "none"
UNKNOWN = "unknown"
MAX_CELL = 1024
"""Characters of a cell the detectors look at; longer cells are cut (a huge cell cannot stall a scan)."""
LONG_TEXT = 1000
GROUP_CAP = 5000
"""Distinct keys a Python validator sees at most; beyond that its pass rate is extrapolated."""
HINT_BONUS = 0.25
MIN_VALUES = 5
"""Valid values of a check-digit detector that make a finding in a column decided otherwise (see
`Scanner._found`); settings.classify.min_sensitive_values in a deployment."""
_FACILITY_CONTEXT = re.compile(
    r"设施|场所|场馆|地名|景点|企业|公司|机构|学校|医院|facilit|place|venue|compan|school|hospital", re.I
)
_MOJIBAKE = r"\x{FFFD}|ï¿½|Ã[\x{80}-\x{BF}]|â€"


@dataclass
class ColumnResult:
    """One column's decision and why."""

    name: str
    type: str
    category: str
    confidence: float
    detector: str | None = None
    evidence: dict = field(default_factory=dict)

    @property
    def sensitive(self) -> bool:
        return self.category not in (NONE, UNKNOWN)


@dataclass
class _Stats:
    detector: Detector
    matched: int = 0
    valid: int = 0
    minors: int = 0


def mask(value: str) -> str:
    """A masked example for evidence: enough shape to recognise the kind, never the value."""
    value = value[:40]
    if "@" in value:
        local, _, domain = value.partition("@")
        return (local[:1] + "***@" + domain) if local else "***@" + domain
    n = len(value)
    if n <= 2:
        return value[:1] + "*" * (n - 1)
    if n <= 6:
        return value[0] + "*" * (n - 1)
    keep = max(1, min(4, n // 5))
    return value[:keep] + "*" * (n - 2 * keep) + value[-keep:]


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sample_indices(rows: int, sample_rows: int | None) -> np.ndarray | None:
    """Evenly spaced rows over the whole column (deterministic); None when the whole column is read."""
    if not sample_rows or rows <= sample_rows:
        return None
    return np.unique(np.linspace(0, rows - 1, sample_rows).astype(np.int64))


ROW_NUMBER = "file_row_number"


def read_sample(path: Path, sample_rows: int | None) -> tuple[pa.Table, int]:
    """The rows `Scanner.scan` would sample from the whole file, read without loading the file; and its rows.

    DuckDB selects the evenly spaced row numbers straight from the Parquet file (a semi-join on its
    row number), and the result is cast back to the types pyarrow reads, so the sample, and every
    decision made on it, is the same as `read_table(path).take(indices)`.
    """
    pf = pq.ParquetFile(path, page_checksum_verification=True)
    rows = pf.metadata.num_rows
    idx = sample_indices(rows, sample_rows)
    if idx is None:
        return pf.read(), rows
    if ROW_NUMBER not in pf.schema_arrow.names:
        try:
            return _select_rows(path, idx).cast(pf.schema_arrow), rows
        except (duckdb.Error, pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            pass  # a type DuckDB reads differently: fall back to pyarrow, one row group at a time
    return _take_by_row_group(pf, idx), rows


def _select_rows(path: Path, idx: np.ndarray) -> pa.Table:
    con = duckdb.connect()
    try:
        con.register("wanted", pa.table({"i": idx}))
        source = "'" + str(path).replace("'", "''") + "'"
        return con.sql(
            f"SELECT * EXCLUDE ({ROW_NUMBER}) FROM read_parquet({source}, {ROW_NUMBER} = true)"
            f" WHERE {ROW_NUMBER} IN (SELECT i FROM wanted) ORDER BY {ROW_NUMBER}"
        ).to_arrow_table()
    finally:
        con.close()


def _take_by_row_group(pf: pq.ParquetFile, idx: np.ndarray) -> pa.Table:
    parts, start = [], 0
    for g in range(pf.num_row_groups):
        size = pf.metadata.row_group(g).num_rows
        local = idx[(idx >= start) & (idx < start + size)] - start
        if len(local):
            parts.append(pf.read_row_group(g).take(pa.array(local)))
        start += size
    return pa.concat_tables(parts)


class ParquetColumn:
    """One column of a Parquet file, read whole only when a full scan needs it."""

    def __init__(self, path: Path, name: str, type_: pa.DataType) -> None:
        self.path, self.name, self.type = path, name, type_

    def read(self) -> pa.ChunkedArray:
        return pq.ParquetFile(self.path, page_checksum_verification=True).read(columns=[self.name]).column(0)


def _whole(column: pa.ChunkedArray | ParquetColumn) -> pa.ChunkedArray:
    return column.read() if isinstance(column, ParquetColumn) else column


def as_text(column: pa.ChunkedArray | pa.Array) -> tuple[pa.ChunkedArray | None, str | None]:
    """The column as UTF-8 text for the detectors, or None and the reason it cannot be judged."""
    col = column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])
    t = col.type
    if pa.types.is_dictionary(t):
        col, t = pc.cast(col, t.value_type), t.value_type
    if pa.types.is_null(t) or col.null_count == len(col):
        return None, M_("all values are null")
    if pa.types.is_boolean(t):
        return None, M_("boolean values")
    if pa.types.is_nested(t) or pa.types.is_union(t):
        return None, M_("nested type %(t)s", t=t)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        try:
            return pc.cast(col, pa.string()), None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None, M_("binary data, not UTF-8 text")
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pc.cast(col, pa.string()), None
    try:
        return pc.cast(col, pa.string()), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None, M_("type %(t)s cannot be read as text", t=t)


def column_from_values(values: list) -> tuple[pa.Array, str | None]:
    """Arrow array from Python values; mixed types become text and are reported."""
    kinds = sorted({type(v).__name__ for v in values if v is not None})
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        arr = pa.array([None if v is None else repr(v) if isinstance(v, bytes) else str(v) for v in values])
        return arr, M_("mixed types: %(names)s", names=", ".join(kinds))
    return arr, None


@dataclass
class _Features:
    non_null: int
    distinct: int
    top_share: float
    lengths: np.ndarray
    numeric_share: float
    mojibake_share: float
    long_share: float
    values: pa.Array


def _features(text: pa.ChunkedArray) -> _Features:
    arr = text.combine_chunks().drop_null()
    trimmed = pc.utf8_trim_whitespace(arr)
    keep = pc.invert(pc.is_in(pc.utf8_lower(trimmed), value_set=pa.array(lx.PLACEHOLDERS)))
    vals = trimmed.filter(keep)
    n = len(vals)
    if n == 0:
        return _Features(0, 0, 0.0, np.zeros(0), 0.0, 0.0, 0.0, vals)
    counts = pc.value_counts(vals).field("counts").to_numpy()
    lengths = pc.utf8_length(vals).to_numpy(zero_copy_only=False)

    def share(mask) -> float:
        return float(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0) / n

    return _Features(
        non_null=n,
        distinct=len(counts),
        top_share=float(counts.max()) / n,
        lengths=lengths,
        numeric_share=share(pc.match_substring_regex(vals, r"^[-+]?\d+(\.\d+)?$")),
        mojibake_share=share(pc.match_substring_regex(vals, _MOJIBAKE)),
        long_share=float((lengths > LONG_TEXT).mean()),
        values=vals,
    )


class Scanner:
    """Scans Arrow tables column by column with one detector set and one set of name hints."""

    def __init__(
        self,
        detectors: list[Detector],
        hints: NameHints | None = None,
        *,
        sample_rows: int | None = 10_000,
        full: bool = False,
        min_values: int = MIN_VALUES,
    ) -> None:
        self.detectors = detectors
        self.hints = hints or NameHints()
        self.sample_rows = sample_rows
        self.full = full
        self.min_values = max(1, min_values)
        self.con = connect()
        self._checks = {d.group_check: resolve_group_check(d.group_check) for d in detectors if d.group_check}

    # -- public -------------------------------------------------------------------------------------
    def scan(self, table: pa.Table, context: str = "") -> list[ColumnResult]:
        idx = sample_indices(table.num_rows, self.sample_rows)
        sample = table if idx is None else table.take(pa.array(idx))
        return [
            self.scan_column(name, table.column(name), sample.column(name), table.num_rows, context)
            for name in table.column_names
        ]

    def scan_parquet(self, path: Path, context: str = "") -> list[ColumnResult]:
        """Like `scan` over the whole file, but reads only the sample, and a column whole only for a full scan."""
        sample, rows = read_sample(path, self.sample_rows)
        return [
            self.scan_column(name, ParquetColumn(path, name, fld.type), sample.column(name), rows, context)
            for name, fld in zip(sample.column_names, sample.schema, strict=True)
        ]

    def scan_column(
        self,
        name: str,
        column: pa.ChunkedArray | ParquetColumn,
        sample: pa.ChunkedArray,
        rows: int,
        context: str = "",
    ) -> ColumnResult:
        ctype = str(column.type)
        text, reason = as_text(sample)
        if text is None:
            return self._unreadable(name, ctype, rows, reason)
        feats = _features(text)
        base = {
            "rows": rows,
            "sampled_rows": len(sample),
            "non_null": feats.non_null,
            "distinct_in_sample": feats.distinct,
            "top_share": round(feats.top_share, 4),
        }
        if feats.non_null == 0:
            return ColumnResult(
                name,
                ctype,
                UNKNOWN,
                0.0,
                evidence={**base, "reason": M_("only nulls or placeholders")},
            )
        if feats.mojibake_share >= 0.3:
            return ColumnResult(
                name,
                ctype,
                UNKNOWN,
                0.0,
                evidence={**base, "reason": M_("non-UTF-8 leftovers (mojibake)")},
            )
        if feats.long_share >= 0.5:
            return ColumnResult(
                name,
                ctype,
                UNKNOWN,
                0.0,
                evidence={**base, "reason": M_("long free text, not judged column-wise")},
            )

        hints = {d.name: self._hint(name, d, context) for d in self.detectors}
        cands = [d for d in self.detectors if self._applicable(d, feats, hints[d.name])]
        # Check-digit detectors look at every column: a few ID numbers among other values still count.
        cands += [
            d
            for d in self.detectors
            if d.check_digit
            and d not in cands
            and (hints[d.name] or not d.requires_hint)
            and self._could_find(d, feats)
        ]
        stats, scanned, non_null = self._count(feats.values, cands), len(sample), feats.non_null
        skipped = None
        if self.full and rows > len(sample):
            # Full scan: recount every value with the detectors the sample left in the race — only those
            # whose sample pass rate could reach their threshold, and per category only the best of them
            # (two address patterns over the same column decide the same category: one pass is enough).
            keep = _full_scan_candidates(stats.values(), feats.non_null)
            keep += [s.detector for s in stats.values() if _plausible_finding(s) and s.detector not in keep]
            if keep:
                stats, non_null = self._count_full(column, keep)
                scanned = rows
            else:
                # Nothing the sample left in the race can reach a threshold: a full pass would count nothing.
                stats, skipped = {}, M_("no detector candidate survived the sample")
        result = self._decide(name, ctype, feats, stats, non_null, hints)
        if scanned < rows:
            self._find_in_whole_column(result, column, feats)
        result.evidence = {**base, "scanned_values": scanned, "full_scan": scanned == rows, **result.evidence}
        if skipped:
            result.evidence["full_scan_skipped"] = skipped
        if result.detector and result.sensitive:
            result.evidence["examples"] = self._examples(feats.values, stats[result.detector].detector)
        elif not result.sensitive and 0.2 <= feats.numeric_share <= 0.8:
            result.category, result.confidence = UNKNOWN, 0.0
            result.evidence["reason"] = M_("mixed types (numbers and text)")
        return result

    # -- internals ----------------------------------------------------------------------------------
    def _hint(self, column: str, det: Detector, context: str) -> str | None:
        hint = self.hints.hint_for(column, det.category, det.hints)
        if hint == "name" and det.category == "person_name" and _FACILITY_CONTEXT.search(context or ""):
            return None  # "name" in a dataset of facilities or firms names things, not people
        return hint

    @staticmethod
    def _applicable(det: Detector, feats: _Features, hint: str | None) -> bool:
        if det.requires_hint and not hint:
            return False
        lengths = feats.lengths
        fits = ((lengths >= det.min_len) & (lengths <= min(det.max_len, MAX_CELL))).mean()
        return bool(fits >= min(det.min_share_hinted, det.min_share) * 0.9)

    def _find_in_whole_column(self, result: ColumnResult, column, feats: _Features) -> None:
        """Check-digit values of another category are counted over the whole column, not the sample:
        the rule is an absolute count (a hundred ID numbers in a million rows is a sample's one or two).
        Only detectors whose length some sampled value has, in one pass over the column."""
        dets = [
            d
            for d in self.detectors
            if d.check_digit and d.category != result.category and self._fits_any(d, feats)
        ]
        if not dets:
            return
        found = self._found(self._count_full(column, dets)[0], result.category)
        if found:
            result.evidence["values_found"] = found
        else:
            result.evidence.pop("values_found", None)

    @staticmethod
    def _fits_any(det: Detector, feats: _Features) -> bool:
        lengths = feats.lengths
        return bool(((lengths >= det.min_len) & (lengths <= min(det.max_len, MAX_CELL))).any())

    def _could_find(self, det: Detector, feats: _Features) -> bool:
        """Enough values of the detector's length to make a finding (cheap, before any pattern runs)."""
        lengths = feats.lengths
        fits = int(((lengths >= det.min_len) & (lengths <= min(det.max_len, MAX_CELL))).sum())
        return fits >= self.min_values

    def _count(self, values: pa.Array | pa.ChunkedArray, dets: list[Detector]) -> dict[str, _Stats]:
        """Counts over values already trimmed and without placeholders (the sample)."""
        if not dets:
            return {}
        return self._run_count(values, dets)[0]

    def _count_full(
        self, column: pa.ChunkedArray | ParquetColumn, dets: list[Detector]
    ) -> tuple[dict[str, _Stats], int]:
        """Counts over a whole column; Arrow's kernels trim and drop placeholders first, one pass each."""
        values = _prepared(as_text(_whole(column))[0])
        if not dets:
            return {}, len(values)
        return self._run_count(values, dets)

    def _run_count(self, values, dets: list[Detector]) -> tuple[dict[str, _Stats], int]:
        self.con.register("vals", pa.table({"v": values}))
        try:
            row = self.con.execute(_count_sql(dets)).fetchall()[0]
            stats = {}
            for i, det in enumerate(dets):
                s = _Stats(det, matched=row[3 * i + 1], valid=row[3 * i + 2], minors=row[3 * i + 3])
                if det.group_check and s.valid:
                    s.valid, s.minors = self._group_valid(det, s)
                stats[det.name] = s
            return stats, row[0]
        finally:
            self.con.unregister("vals")

    def _group_valid(self, det: Detector, s: _Stats) -> tuple[int, int]:
        check = self._checks[det.group_check]
        # Keys of pattern matches (not re-running the SQL check): the pass rate scales the checked count.
        sql = (
            f"SELECT {det.group_key} AS k, count(*) AS c FROM vals WHERE {_match(det)}"
            f" GROUP BY 1 ORDER BY c DESC LIMIT {GROUP_CAP}"
        )
        seen = ok = 0
        for key, count in self.con.execute(sql).fetchall():
            seen += count
            if key is not None and _safe(check, key):
                ok += count
        ratio = ok / seen if seen else 0.0
        return round(s.valid * ratio), round(s.minors * ratio)

    def _examples(self, values: pa.Array, det: Detector) -> list[str]:
        self.con.register("vals", pa.table({"v": values}))
        try:
            sql = f"SELECT DISTINCT v FROM vals WHERE {_match(det)} AND {det.check or 'true'} LIMIT 3"
            return [mask(r[0]) for r in self.con.execute(sql).fetchall()]
        finally:
            self.con.unregister("vals")

    def _decide(
        self,
        name,
        ctype,
        feats: _Features,
        stats: dict[str, _Stats],
        non_null: int,
        hints: dict[str, str | None],
    ) -> ColumnResult:
        scored = []
        negated = {d.category: self.hints.negated(name, d.category) for d in self.detectors}
        for s in stats.values():
            det, hint = s.detector, hints[s.detector.name]
            share = s.valid / non_null if non_null else 0.0
            need = det.min_share_hinted if hint else det.min_share
            # Without a name hint, a lexicon detector also needs the variety of real values.
            variety = (
                det.min_distinct_ratio
                if hint or not det.min_distinct_ratio
                else max(0.5, det.min_distinct_ratio)
            )
            ok = (
                share >= need
                and (hint or not det.requires_hint)
                and not negated.get(det.category)
                and feats.distinct / feats.non_null >= variety
                and feats.top_share <= det.max_top_share
                and not (det.min_distinct_ratio > 0 and feats.distinct < 3)
                # a checksum passed by a handful of distinct values may be chance (1 in 10 for Luhn)
                and not (det.check and not hint and feats.distinct < 5)
            )
            score = share + (HINT_BONUS if hint else 0) + det.priority / 200
            scored.append((ok, score, share, s, hint))
        scored.sort(key=lambda x: (x[0], x[1]), reverse=True)
        near = [
            {
                "detector": s.detector.name,
                "category": s.detector.category,
                "share_valid": round(sh, 4),
                "name_hint": h,
            }
            for _ok, _sc, sh, s, h in scored[:3]
        ]
        if scored and scored[0][0]:
            _ok, _score, share, s, hint = scored[0]
            conf = 0.6 + 0.39 * share if hint else 0.5 + 0.45 * share
            ev = {
                "detector": s.detector.name,
                "matched": s.matched,
                "valid": s.valid,
                "non_null_scanned": non_null,
                "share_matched": round(s.matched / non_null, 4),
                "share_valid": round(share, 4),
                "name_hint": hint,
                "candidates": near,
            }
            if s.detector.birth:
                ev["minors"] = s.minors
            if found := self._found(stats, s.detector.category):
                ev["values_found"] = found
            return ColumnResult(
                name, ctype, s.detector.category, round(min(conf, 0.99), 3), s.detector.name, ev
            )
        suggested = next((d for d, h in hints.items() if h), None)
        best = scored[0][2] if scored else 0.0
        ev = {"candidates": near, "reason": M_("no detector reached its threshold")}
        if suggested:
            ev["name_suggests"] = suggested
        if found := self._found(stats, NONE):
            ev["values_found"] = found
        return ColumnResult(name, ctype, NONE, round(max(0.5, 1 - best), 3), None, ev)

    def _found(self, stats: dict[str, _Stats], decided: str) -> list[dict]:
        """Values of another category that check-digit detectors validated in this column, whatever
        their share: at least `min_values` of them, most of their look-alikes valid (a check digit
        passes about one random value in ten). Grading decides what the column is then graded."""
        out = [
            {
                "detector": s.detector.name,
                "category": s.detector.category,
                "valid": s.valid,
                "matched": s.matched,
            }
            for s in stats.values()
            if s.detector.category != decided and s.valid >= self.min_values and _plausible_finding(s)
        ]
        return sorted(out, key=lambda f: -f["valid"])

    @staticmethod
    def _unreadable(name: str, ctype: str, rows: int, reason: str) -> ColumnResult:
        return ColumnResult(name, ctype, UNKNOWN, 0.0, evidence={"rows": rows, "reason": reason})


def _full_scan_candidates(stats, non_null: int) -> list[Detector]:
    best: dict[str, _Stats] = {}
    for s in stats:
        det = s.detector
        if s.valid / non_null < 0.5 * min(det.min_share, det.min_share_hinted):
            continue
        held = best.get(det.category)
        if held is None or (s.valid, det.priority) > (held.valid, held.detector.priority):
            best[det.category] = s
    return [s.detector for s in best.values()]


def _plausible_finding(s: _Stats) -> bool:
    return s.detector.check_digit and s.valid > 0 and 2 * s.valid >= s.matched


def _safe(check, key) -> bool:
    try:
        return bool(check(str(key)))
    except Exception:  # a library validator may raise (stdnum.cn.ric raises KeyError on some regions)
        return False


def _match(det: Detector) -> str:
    return f"regexp_full_match(v, {_sql_str(det.pattern)})"


def _prepared(text: pa.ChunkedArray) -> pa.ChunkedArray:
    # Arrow's own kernels trim and drop placeholders; DuckDB then sees a lean column.
    trimmed = pc.utf8_trim_whitespace(text)
    keep = pc.and_(pc.is_valid(trimmed), pc.invert(pc.is_in(trimmed, value_set=_PLACEHOLDER_SPELLINGS)))
    return trimmed.filter(keep)


# Placeholders as they are written (null, NULL, Null…): matching spellings spares lower-casing every value.
_PLACEHOLDER_SPELLINGS = pa.array(
    sorted({f(p) for p in lx.PLACEHOLDERS for f in (str, str.upper, str.title, str.capitalize)})
)


def _count_sql(dets: list[Detector]) -> str:
    """One aggregate row: values read, then per detector pattern matches, validated values and minors."""
    matches = ", ".join(f"{_match(d)} AS m{i}" for i, d in enumerate(dets))
    checks = ", ".join(
        f"m{i}, CASE WHEN m{i} THEN coalesce({d.check or 'true'}, false) ELSE false END AS k{i}"
        for i, d in enumerate(dets)
    )
    aggs = ["count(*)"]
    for i, d in enumerate(dets):
        minor = (
            f"count_if(k{i} AND coalesce(({d.birth}) > current_date - INTERVAL 14 YEAR, false))"
            if d.birth
            else "0"
        )
        aggs.append(f"count_if(m{i}), count_if(k{i}), {minor}")
    return f"SELECT {', '.join(aggs)} FROM (SELECT v, {checks} FROM (SELECT v, {matches} FROM (SELECT left(v, {MAX_CELL}) AS v FROM vals)))"
