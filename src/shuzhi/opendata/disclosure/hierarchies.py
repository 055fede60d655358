"""Generalisation hierarchies: each value's labels level by level, from the value itself up to "*"."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_

TOP = "*"


class HierarchySpec(Protocol):
    """What a quasi-identifier is generalised by: given a column's distinct (non-null) values, their labels
    level by level — a list of arrays aligned with the values, level 0 the values as text, the last "*"."""

    def labels(self, values: pa.Array, column: str) -> list[np.ndarray]: ...


def _text(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.cast(values, pa.string()).to_numpy(zero_copy_only=False), dtype=object)


def _with_top(levels: list[np.ndarray]) -> list[np.ndarray]:
    top = np.full(len(levels[0]), TOP, dtype=object)
    return [*levels, top]


def _check_tree(levels: list[np.ndarray], where: str) -> None:
    """Each label at a level has one parent at the next: else two values sharing a label would part again."""
    for j in range(len(levels) - 1):
        child, parent = levels[j].astype(str), levels[j + 1].astype(str)
        pairs = np.unique(np.stack([child, parent], axis=1), axis=0)
        labels, first, counts = np.unique(pairs[:, 0], return_index=True, return_counts=True)
        if (counts > 1).any():
            bad = labels[counts > 1][0]
            two = pairs[pairs[:, 0] == bad][:2, 1]
            raise InvalidInput(
                M_(
                    "The hierarchy is not a tree: %(label)s at level %(level)s has two parents, %(a)s and %(b)s",
                    label=str(bad),
                    level=j,
                    a=str(two[0]),
                    b=str(two[1]),
                ),
                where=where,
            )


@dataclass(frozen=True)
class Hierarchy:
    """A hierarchy given value by value (ARX's CSV format: one row per value, one column per level)."""

    rows: tuple[tuple[str, ...], ...]

    @classmethod
    def from_rows(cls, rows: list[list[str]] | list[tuple[str, ...]], where: str = "hierarchy") -> Hierarchy:
        rows = [tuple(cell.strip() for cell in r) for r in rows if any(cell.strip() for cell in r)]
        if not rows:
            raise InvalidInput(M_("The hierarchy has no rows"), where=where)
        width = len(rows[0])
        for i, r in enumerate(rows, start=1):
            if len(r) != width:
                raise InvalidInput(
                    M_(
                        "Row %(row)s of the hierarchy has %(n)s levels where the first row has %(width)s",
                        row=i,
                        n=len(r),
                        width=width,
                    ),
                    where=where,
                )
            if not r[0]:
                raise InvalidInput(M_("Row %(row)s of the hierarchy has no value", row=i), where=where)
        levels = [np.array([r[j] for r in rows], dtype=object) for j in range(width)]
        values, first, counts = np.unique(levels[0].astype(str), return_index=True, return_counts=True)
        if (counts > 1).any():
            bad = values[counts > 1][0]
            again = [i + 1 for i, r in enumerate(rows) if r[0] == bad][:2]
            raise InvalidInput(
                M_(
                    "Value %(value)s appears twice in the hierarchy, rows %(a)s and %(b)s",
                    value=str(bad),
                    a=again[0],
                    b=again[1],
                ),
                where=where,
            )
        _check_tree(levels, where)
        return cls(tuple(rows))

    @classmethod
    def from_csv(cls, source: str | Path | io.TextIOBase, *, delimiter: str = ";") -> Hierarchy:
        """Read ARX's format: `;`-separated, one row per value, its generalisations left to right."""
        if isinstance(source, str | Path):
            where = str(Path(source).name)
            with open(source, encoding="utf-8-sig", newline="") as f:
                rows = list(csv.reader(f, delimiter=delimiter))
        else:
            where = "hierarchy"
            rows = list(csv.reader(source, delimiter=delimiter))
        return cls.from_rows(rows, where)

    def labels(self, values: pa.Array, column: str) -> list[np.ndarray]:
        known = pa.array([r[0] for r in self.rows], pa.string())
        text = pc.cast(values, pa.string())
        at = pc.index_in(text, value_set=known)
        if at.null_count:
            missing = text.filter(pc.is_null(at))
            raise InvalidInput(
                M_(
                    "Value %(value)s of column %(column)s is not in its hierarchy (%(n)s values missing)",
                    value=str(missing[0]),
                    column=column,
                    n=len(missing),
                ),
                where=column,
            )
        idx = at.to_numpy(zero_copy_only=False)
        width = len(self.rows[0])
        levels = [np.array([r[j] for r in self.rows], dtype=object)[idx] for j in range(width)]
        levels[0] = _text(values)
        if len(set(self.rows[i][-1] for i in range(len(self.rows)))) > 1 or width == 1:
            levels = _with_top(levels)
        else:
            levels[-1] = np.full(len(idx), TOP, dtype=object)
        return levels


@dataclass(frozen=True)
class Dates:
    """Dates: day → month → quarter → year → "*"."""

    def labels(self, values: pa.Array, column: str) -> list[np.ndarray]:
        try:
            days = pc.cast(values, pa.date32()) if not pa.types.is_date32(values.type) else values
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise InvalidInput(
                M_("Column %(column)s does not hold dates: %(problem)s", column=column, problem=str(e)),
                where=column,
            ) from None
        d = days.to_numpy(zero_copy_only=False).astype("datetime64[D]")
        months = d.astype("datetime64[M]")
        years = d.astype("datetime64[Y]")
        quarter = (months.astype(np.int64) % 12) // 3 + 1
        year_text = np.datetime_as_string(years).astype(object)
        return _with_top(
            [
                _text(values),
                np.datetime_as_string(months).astype(object),
                year_text + "-Q" + quarter.astype(str).astype(object),
                year_text,
            ]
        )


def _numbers(values: pa.Array, column: str) -> np.ndarray:
    try:
        return pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InvalidInput(
            M_("Column %(column)s does not hold numbers", column=column), where=column
        ) from None


@dataclass(frozen=True)
class NumericRanges:
    """Numbers into bands of the given widths, each a multiple of the one before (so the bands nest)."""

    widths: tuple[float, ...]

    def __post_init__(self) -> None:
        ws = self.widths
        if not ws or any(not math.isfinite(w) or w <= 0 for w in ws):  # NaN is no width, and not <= 0
            raise InvalidInput(M_("Band widths must be positive"), where="widths")
        for a, b in zip(ws, ws[1:], strict=False):
            ratio = b / a
            if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 2:
                raise InvalidInput(
                    M_("Band width %(b)s is not a multiple of %(a)s: the bands would not nest", a=a, b=b),
                    where="widths",
                )

    def labels(self, values: pa.Array, column: str) -> list[np.ndarray]:
        x = _numbers(values, column)
        infinite = np.isinf(x)  # no band holds one: labelled "inf" and "-inf" at every level
        whole = bool(np.all(x[~infinite] == np.floor(x[~infinite]))) and all(
            float(w).is_integer() for w in self.widths
        )
        levels = [_text(values)]
        for w in self.widths:
            lo = np.floor(x / w) * w
            if whole:
                lo_i = np.where(infinite, 0, lo).astype(np.int64)
                text = lo_i.astype(str).astype(object) + "-" + (lo_i + int(w) - 1).astype(str).astype(object)
            else:
                text = "[" + _num_text(lo) + ", " + _num_text(lo + w) + ")"
            levels.append(np.where(infinite, _num_text(x), text) if infinite.any() else text)
        return _with_top(levels)


def _num_text(x: np.ndarray) -> np.ndarray:
    return np.array([f"{v:g}" for v in x], dtype=object)


def ages(bands: tuple[int, ...] = (5, 10, 20)) -> NumericRanges:
    """Ages in 5-, 10- and 20-year bands, then "*"."""
    return NumericRanges(tuple(bands))


def _digits(values: pa.Array, column: str, length: int, wrong) -> np.ndarray:
    """The values as text of `length` digits; `wrong(value)` is the message for one that is not."""
    text = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    ok = pc.and_(pc.equal(pc.utf8_length(text), length), pc.match_substring_regex(text, r"^[0-9]+$"))
    if not pc.all(ok).as_py():
        raise InvalidInput(wrong(str(text.filter(pc.invert(ok))[0])), where=column)
    return np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)


@dataclass(frozen=True)
class Regions:
    """GB/T 2260 administrative division codes: district (6 digits) → city (xxxx00) → province (xx0000) → "*"."""

    def labels(self, values: pa.Array, column: str) -> list[np.ndarray]:
        code = _digits(
            values,
            column,
            6,
            lambda v: M_(
                "Value %(value)s of column %(column)s is not a 6-digit region code", value=v, column=column
            ),
        ).astype(str)
        city = np.char.ljust(code.astype("U4"), 6, "0")
        province = np.char.ljust(code.astype("U2"), 6, "0")
        return _with_top([code.astype(object), city.astype(object), province.astype(object)])


@dataclass(frozen=True)
class Postcodes:
    """Postcodes with trailing digits masked: `keep` gives how many leading digits each level keeps."""

    length: int = 6
    keep: tuple[int, ...] = (4, 2)

    def labels(self, values: pa.Array, column: str) -> list[np.ndarray]:
        code = _digits(
            values,
            column,
            self.length,
            lambda v: M_(
                "Value %(value)s of column %(column)s is not a %(length)s-digit postcode",
                value=v,
                column=column,
                length=self.length,
            ),
        ).astype(str)
        levels = [code.astype(object)]
        for n in sorted(self.keep, reverse=True):
            levels.append(np.char.ljust(code.astype(f"U{n}"), self.length, "*").astype(object))
        return _with_top(levels)
