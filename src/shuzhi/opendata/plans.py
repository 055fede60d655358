"""De-identification plans as written by a steward: what happens to each field, and the k, l and budget asked.

A plan names every field of the version it was written for, each with one action:
- `drop`: left out of the release;
- `keep`: released as it is (refused for a field graded L3/L4 or a direct identifier);
- `mask`: one of `MASKS` (redact, null, keep_first:N, keep_last:N, hash);
- `generalise`: cut at one `level` of a hierarchy for the whole column, before the anonymisation;
- `qi`: a quasi-identifier, generalised by the algorithm (full-domain or Mondrian) until every
  combination is shared by at least k rows.
A field may be marked `identifier` (a direct identifier the grading may have missed): then it must not
be kept. The mask kinds carry the exchange's names; a release has no grant, so `hash` is keyed per
dataset version from the open-data key (see `mask_key`).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shuzhi import textlimits as limits
from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_
from shuzhi.opendata.disclosure import Dates, Hierarchy, NumericRanges, Plan, Postcodes, Regions
from shuzhi.opendata.disclosure.hierarchies import HierarchySpec

ACTIONS = ("drop", "keep", "mask", "generalise", "qi")
MASKS = ("redact", "null", "keep_first", "keep_last", "hash")
REDACTED = "***"
ALGORITHMS = ("full-domain", "mondrian")


class HierarchyIn(BaseModel):
    """A hierarchy by kind: dates, ages (bands), ranges (widths), regions, postcodes (length, keep),
    table (ARX rows: the value, then its generalisations), or cut (numbers cut by Mondrian itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["dates", "ages", "ranges", "regions", "postcodes", "table", "cut"]
    bands: list[int] | None = Field(default=None, max_length=16)
    widths: list[float] | None = Field(default=None, max_length=16)
    length: int | None = Field(default=None, ge=1, le=32)
    keep: list[int] | None = Field(default=None, max_length=16)
    rows: list[list[limits.Name]] | None = Field(default=None, max_length=100_000)


class FieldPlan(BaseModel):
    """What happens to one field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["drop", "keep", "mask", "generalise", "qi"]
    mask: limits.Name | None = None
    """For `mask`: redact, null, hash, keep_first:N or keep_last:N."""
    hierarchy: HierarchyIn | None = None
    """For `generalise` and `qi`."""
    level: int | None = Field(default=None, ge=1, le=64)
    """For `generalise`: the hierarchy level every value is cut at (1: one above the value)."""
    identifier: bool = False
    """The steward marks the field a direct identifier: it may not be kept in clear."""


class PlanIn(BaseModel):
    """A whole plan: one model for the API's body, the CLI's plan file and the stored plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[limits.Name, FieldPlan] = Field(max_length=limits.ITEMS)
    k: int = Field(default=5, ge=2, le=1_000_000)
    sensitive: list[limits.Name] = Field(default_factory=list, max_length=limits.ITEMS)
    """Fields whose values each class must hold at least `l` of (distinct l-diversity)."""
    l: Annotated[int, Field(ge=1, le=1_000_000)] = 1  # noqa: E741 - the l of l-diversity
    suppression: float = Field(default=0.0, ge=0.0, le=1.0)
    """The share of rows that may be left out (full-domain only)."""
    algorithm: Literal["full-domain", "mondrian"] = "full-domain"
    loss: Literal["discernibility", "ncp"] = "discernibility"

    @classmethod
    def of(cls, raw: dict[str, Any] | PlanIn) -> PlanIn:
        """The plan from its JSON form; bad input is InvalidInput naming where (`plan.fields.x.action`)."""
        if isinstance(raw, PlanIn):
            return raw
        try:
            plan = cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in ("plan", *first["loc"]))
            raise InvalidInput(
                M_("%(where)s: %(problem)s", where=where, problem=first["msg"]), where=where
            ) from None
        plan.validate_parts()
        return plan

    def validate_parts(self) -> None:
        """Each field's action has what it needs (a mask, a hierarchy, a level)."""
        for name, f in self.fields.items():
            where = f"plan.fields.{name}"
            if f.action == "mask":
                parse_mask(f.mask, where)
            if f.action in ("generalise", "qi") and f.hierarchy is None:
                raise InvalidInput(
                    M_("Field %(field)s needs a hierarchy to be generalised", field=name), where=where
                )
            if f.action == "generalise" and (f.level is None or f.hierarchy.kind == "cut"):
                raise InvalidInput(
                    M_(
                        "Field %(field)s is generalised at a level of its hierarchy: give the level",
                        field=name,
                    ),
                    where=where,
                )
            if f.action == "qi" and f.hierarchy.kind == "cut" and self.algorithm != "mondrian":
                raise InvalidInput(
                    M_(
                        "Field %(field)s is cut into ranges by Mondrian only: give it a hierarchy", field=name
                    ),
                    where=where,
                )
        for name in self.sensitive:
            if name not in self.fields or self.fields[name].action in ("drop", "qi"):
                raise InvalidInput(
                    M_(
                        "Sensitive field %(field)s must be released and not be a quasi-identifier", field=name
                    ),
                    where=f"plan.sensitive.{name}",
                )
        if not self.quasi_identifiers:
            raise InvalidInput(M_("Name at least one quasi-identifier"), where="plan.fields")

    @property
    def quasi_identifiers(self) -> list[str]:
        return [n for n, f in self.fields.items() if f.action == "qi"]

    def clear_fields(self) -> list[str]:
        """Fields released exactly as they are."""
        return [n for n, f in self.fields.items() if f.action == "keep"]

    def disclosure_plan(self) -> Plan:
        return Plan(
            {n: hierarchy(self.fields[n].hierarchy, f"plan.fields.{n}") for n in self.quasi_identifiers},
            k=self.k,
            sensitive=tuple(self.sensitive),
            diversity=self.l,
            suppression=self.suppression,
            loss=self.loss,
        )


def hierarchy(spec: HierarchyIn, where: str) -> HierarchySpec | None:
    """The disclosure hierarchy a plan's entry names (None: numbers cut by Mondrian)."""
    if spec.kind == "dates":
        return Dates()
    if spec.kind == "ages":
        return NumericRanges(tuple(spec.bands or (5, 10, 20)))
    if spec.kind == "ranges":
        if not spec.widths:
            raise InvalidInput(M_("A ranges hierarchy needs its band widths"), where=where)
        return NumericRanges(tuple(spec.widths))
    if spec.kind == "regions":
        return Regions()
    if spec.kind == "postcodes":
        return Postcodes(length=spec.length or 6, keep=tuple(spec.keep or (4, 2)))
    if spec.kind == "table":
        return Hierarchy.from_rows(spec.rows or [], where)
    return None


# -- applying the per-field actions -----------------------------------------------------------


def parse_mask(mask: str | None, where: str) -> tuple[str, int | None]:
    """('keep_first', 3) from 'keep_first:3'; refused when the kind is unknown or N is missing."""
    kind, _, arg = (mask or "").partition(":")
    kind = kind.strip()
    if kind not in MASKS:
        raise InvalidInput(
            M_("Unknown mask %(mask)s: use one of %(kinds)s", mask=mask or "", kinds=", ".join(MASKS)),
            where=where,
        )
    if kind in ("keep_first", "keep_last"):
        if not arg.strip().isdigit():
            raise InvalidInput(
                M_("Mask %(kind)s needs a number of characters, e.g. %(kind)s:3", kind=kind), where=where
            )
        return kind, int(arg)
    return kind, None


def mask_key(master: bytes, dataset_id: int, version_id: int) -> bytes:
    """The hash key of one dataset version's releases: hashed values join within a version's
    releases and never with another version's, nor with the exchange's grants."""
    return hmac.new(master, f"opendata:{dataset_id}:{version_id}".encode(), hashlib.sha256).digest()


def mask_column(column: pa.ChunkedArray, mask: str, key: bytes, where: str) -> pa.Array:
    """The column under the mask; nulls stay null."""
    kind, n = parse_mask(mask, where)
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if kind == "null":
        return pa.nulls(len(column), column.type)
    text = pc.cast(column, pa.string())
    if kind == "redact":
        return pc.if_else(pc.is_null(text), pa.scalar(None, pa.string()), REDACTED)
    if kind == "hash":
        values, codes = _distinct(text)
        digests = [
            None if v is None else hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in values
        ]
        return pc.take(pa.array(digests, pa.string()), codes)
    length = pc.utf8_length(text)
    if kind == "keep_first":
        return _pad(pc.utf8_slice_codeunits(text, 0, n), length, left=False)
    kept = pc.utf8_slice_codeunits(text, start=-n) if n else pc.utf8_slice_codeunits(text, 0, 0)
    return _pad(kept, length, left=True)


def _pad(kept: pa.Array, length: pa.Array, *, left: bool) -> pa.Array:
    """Stars in place of the characters not kept, so the length still shows (as the exchange masks)."""
    missing = pc.max_element_wise(pc.subtract(length, pc.utf8_length(kept)), 0)
    stars = pc.binary_repeat("*", missing)
    parts = (stars, kept) if left else (kept, stars)
    return pc.binary_join_element_wise(*parts, "")


def _distinct(text: pa.Array) -> tuple[list, pa.Array]:
    encoded = pc.dictionary_encode(text)
    return encoded.dictionary.to_pylist(), encoded.indices


def generalise_column(column: pa.ChunkedArray, spec: HierarchySpec, level: int, name: str) -> pa.Array:
    """Every value cut at `level` of its hierarchy (as text); nulls stay null."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = pc.dictionary_encode(column)
    values = encoded.dictionary
    if len(values) == 0:
        return pa.nulls(len(column), pa.string())
    levels = spec.labels(values, name)
    if level >= len(levels):
        raise InvalidInput(
            M_(
                "Field %(field)s: its hierarchy has levels 0 to %(top)s, not %(level)s",
                field=name,
                top=len(levels) - 1,
                level=level,
            ),
            where=f"plan.fields.{name}.level",
        )
    labels = pa.array(np.asarray(levels[level], dtype=object), pa.string())
    return pc.take(labels, encoded.indices)
