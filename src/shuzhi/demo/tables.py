"""A department's table under construction: written columns, the true entities behind each row, its flaws."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from shuzhi.demo.flaws import corrupt_rics, corrupt_usccs, stale_addresses, vary_firm_names, vary_person_names
from shuzhi.demo.geography import City
from shuzhi.demo.population import Enterprises, Residents


@dataclass
class Context:
    """What every dataset builder may read: the true city and a random stream of its own."""

    city: City
    residents: Residents
    enterprises: Enterprises
    as_of: dt.date
    rng: np.random.Generator

    @property
    def today(self) -> np.datetime64:
        return np.datetime64(self.as_of, "D")

    def sample(self, pool: np.ndarray, share: float, minimum: int = 1) -> np.ndarray:
        """About `share` of `pool`, at least `minimum` rows, drawn without replacement, in pool order."""
        k = min(len(pool), max(minimum, round(len(pool) * share)))
        return np.sort(self.rng.choice(pool, size=k, replace=False)) if k else pool[:0]

    def pick(self, pool: np.ndarray, n: int) -> np.ndarray:
        """`n` draws from `pool` with replacement (a firm employs many people)."""
        return pool[self.rng.integers(0, len(pool), n)]

    def days_between(self, start: np.ndarray, end: np.datetime64 | np.ndarray) -> np.ndarray:
        """A random date in [start, end] per row."""
        span = (end - start).astype(np.int64).clip(0, None)
        return start + (self.rng.random(len(start)) * (span + 1)).astype(np.int64)

    def persons_alive(self, min_age: int = 0, max_age: int = 200) -> np.ndarray:
        r = self.residents
        age = r.age(self.as_of)
        return np.flatnonzero((r.status == "正常") & (age >= min_age) & (age <= max_age))

    def persons_dead(self, min_age: int = 0) -> np.ndarray:
        r = self.residents
        return np.flatnonzero((r.status == "死亡") & (r.age(self.as_of) >= min_age))

    def firms(self, kinds=("91",), sections: str | None = None, active: bool = True) -> np.ndarray:
        from shuzhi.demo.population import INDUSTRIES

        e = self.enterprises
        mask = np.isin(e.kind, list(kinds))
        if sections:
            mask &= np.isin(np.array([INDUSTRIES[i][0] for i in e.industry]), list(sections))
        if active:
            mask &= e.status == "存续"
        return np.flatnonzero(mask)


@dataclass
class Built:
    """Columns as written (None for an empty cell), entity references per role, and flaws per row."""

    n: int
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    refs: list[tuple[str, str, np.ndarray]] = field(default_factory=list)
    flaws: dict[str, np.ndarray] = field(default_factory=dict)

    def col(self, name: str, values) -> None:
        values = np.asarray(values) if not isinstance(values, np.ndarray) else values
        if len(values) != self.n:
            raise ValueError(f"column {name} has {len(values)} values for {self.n} rows")
        self.columns[name] = values

    def flag(self, name: str, mask: np.ndarray) -> None:
        self.flaws[name] = np.where(mask, name, "").astype(object)

    def person(
        self,
        ctx: Context,
        role: str,
        idx: np.ndarray,
        *,
        name: str | None = None,
        ric: str | None = None,
        name_rate: float = 0.0,
        id_bad: float = 0.0,
        id_missing: float = 0.0,
    ) -> None:
        """Write a resident's name and ID number as this department has them."""
        self.refs.append((role, "person", idx))
        r = ctx.residents
        if name:
            values, kind = vary_person_names(r.name[idx], name_rate, ctx.rng)
            self.col(name, values)
            self.flaws[f"{role}.name"] = kind
        if ric:
            values, status = corrupt_rics(r.ric[idx], id_bad, id_missing, ctx.rng)
            self.col(ric, values)
            self.flaws[f"{role}.id"] = status

    def firm(
        self,
        ctx: Context,
        role: str,
        idx: np.ndarray,
        *,
        name: str | None = None,
        code: str | None = None,
        name_rate: float = 0.0,
        code_bad: float = 0.0,
        code_missing: float = 0.0,
    ) -> None:
        """Write an enterprise's name and credit code as this department has them."""
        self.refs.append((role, "enterprise", idx))
        e = ctx.enterprises
        if name:
            values, kind = vary_firm_names(e.name[idx], e.trade_name[idx], ctx.city, name_rate, ctx.rng)
            self.col(name, values)
            self.flaws[f"{role}.name"] = kind
        if code:
            values, status = corrupt_usccs(e.uscc[idx], code_bad, code_missing, ctx.rng)
            self.col(code, values)
            self.flaws[f"{role}.code"] = status

    def address(self, ctx: Context, role: str, col: str, idx: np.ndarray, stale: float = 0.0) -> None:
        """A resident's current address, or an old one for about `stale` of rows."""
        r = ctx.residents
        values, mask = stale_addresses(
            r.address[idx], r.previous_address[idx], r.district[idx], ctx.city, stale, ctx.rng
        )
        self.col(col, values)
        self.flaws[f"{role}.address"] = np.where(mask, "stale", "").astype(object)

    def with_duplicates(self, rate: float, rng: np.random.Generator) -> Built:
        """Copy about `rate` of rows once more, right after the original (a double submission)."""
        if rate <= 0 or self.n == 0:
            return self
        picks = np.flatnonzero(rng.random(self.n) < rate)
        order = np.sort(np.concatenate([np.arange(self.n), picks]), kind="stable")
        dup = np.zeros(len(order), dtype=bool)
        dup[1:] = order[1:] == order[:-1]
        out = Built(len(order))
        out.columns = {k: v[order] for k, v in self.columns.items()}
        out.refs = [(role, kind, idx[order]) for role, kind, idx in self.refs]
        out.flaws = {k: v[order] for k, v in self.flaws.items()}
        out.flag("duplicate", dup)
        return out

    def row_flaws(self) -> np.ndarray:
        """One string per row, e.g. ``holder.name:typo;holder.id:checksum``; empty when the row is clean."""
        out = np.full(self.n, "", dtype=object)
        if not self.flaws:
            return out
        keys = sorted(self.flaws)
        flawed = np.zeros(self.n, dtype=bool)
        for key in keys:
            flawed |= self.flaws[key] != ""
        for i in np.flatnonzero(flawed).tolist():
            tags = []
            for key in keys:
                value = self.flaws[key][i]
                if value:
                    tags.append(key if value == key else f"{key}:{value}")
            out[i] = ";".join(tags)
        return out


def fmt_dates(values: np.ndarray, style: str) -> np.ndarray:
    """Dates as a department's system writes them: 'slash' 2024/01/02, 'compact' 20240102, 'cn' 2024年1月2日."""
    text = np.datetime_as_string(values.astype("datetime64[D]"), unit="D")
    out = np.asarray(text, dtype=object)
    nat = np.isnat(values)
    if style == "slash":
        out = np.char.replace(text, "-", "/").astype(object)
    elif style == "compact":
        out = np.char.replace(text, "-", "").astype(object)
    elif style == "cn":
        out = np.array(
            [f"{t[:4]}年{int(t[5:7])}月{int(t[8:10])}日" if t != "NaT" else "" for t in text], dtype=object
        )
    out[nat] = None
    return out


def serials(prefix: str, n: int, rng: np.random.Generator, width: int = 8) -> np.ndarray:
    """Unique business numbers in a shuffled order (a registry's own key, unrelated to entity ids)."""
    numbers = rng.permutation(n) + rng.integers(10 ** (width - 2), 10 ** (width - 1))
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), width)).astype(object)
