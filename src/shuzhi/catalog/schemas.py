"""Validated shapes of catalog input and output (pydantic), shared by the API and the CLI."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from shuzhi import textlimits as limits
from shuzhi.catalog import vocab
from shuzhi.i18n import M_
from shuzhi.textlimits import Code, Day, Description, Email, Label, Name, Phone, Reason, Title

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=limits.NAME)]
Keywords = Annotated[list[Annotated[str, StringConstraints(max_length=limits.LABEL)]], Field(max_length=100)]


def _in_vocab(name: str, value: str | None) -> str | None:
    if value is not None and value not in vocab.codes(name):
        allowed = ", ".join(f"{c} ({vocab.label(name, c)})" for c in vocab.codes(name))
        raise ValueError(M_("must be one of %(allowed)s", allowed=allowed))
    return value


class FieldIn(BaseModel):
    name: Text200
    type: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = "VARCHAR"
    description: Description | None = None
    standard_element: Label | None = None


def _vocab_code(name: str):
    # The codes are listed in the schema too, so that a client knows which values are taken.
    return Annotated[Code, Field(json_schema_extra={"enum": vocab.codes(name)})]


Theme = _vocab_code("theme")
Frequency = _vocab_code("update_frequency")
ShareType = _vocab_code("share_type")
OpenType = _vocab_code("open_type")


class _VocabChecked(BaseModel):
    """Checks every attribute that takes a code from a controlled vocabulary."""

    @field_validator("theme", "update_frequency", "share_type", "open_type", check_fields=False)
    @classmethod
    def _vocab(cls, v, info):
        return _in_vocab(info.field_name, v)


class DatasetIn(_VocabChecked):
    """What a steward fills in to register a data resource."""

    model_config = ConfigDict(extra="forbid")

    identifier: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,99}$")]
    title_zh: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=limits.TITLE)]
    title_en: Title | None = None
    description: Description = ""
    department: Code = Field(description="提供部门代码 (provider department code)")
    theme: Theme
    keywords: Keywords = Field(default_factory=list)
    update_frequency: Frequency = "irregular"
    share_type: ShareType = "conditional"
    share_basis: Reason | None = None
    open_type: OpenType = "none"
    open_basis: Reason | None = None
    licence: Label | None = None
    contact_name: Label | None = None
    contact_email: Email | None = None
    contact_phone: Phone | None = None
    temporal_start: Day | None = None
    temporal_end: Day | None = None
    spatial: Name | None = None
    fields: list[FieldIn] = Field(default_factory=list, max_length=limits.ITEMS)

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, v):
        return [k.strip() for k in v if k and k.strip()]

    @field_validator("fields")
    @classmethod
    def _unique_fields(cls, v):
        seen = set()
        for f in v:
            if f.name.lower() in seen:
                raise ValueError(M_("duplicate field name %(name)r", name=f.name))
            seen.add(f.name.lower())
        return v

    @model_validator(mode="after")
    def _rules(self):
        if self.share_type == "none" and not (self.share_basis or "").strip():
            raise ValueError(M_("share_basis is required when share_type is 'none'"))
        if self.temporal_start and self.temporal_end and self.temporal_start > self.temporal_end:
            raise ValueError(M_("temporal_start is after temporal_end"))
        return self


class DatasetPatch(_VocabChecked):
    """A partial update; unspecified attributes stay as they are."""

    model_config = ConfigDict(extra="forbid")

    title_zh: Title | None = None
    title_en: Title | None = None
    description: Description | None = None
    theme: Theme | None = None
    keywords: Keywords | None = None
    update_frequency: Frequency | None = None
    share_type: ShareType | None = None
    share_basis: Reason | None = None
    open_type: OpenType | None = None
    open_basis: Reason | None = None
    licence: Label | None = None
    contact_name: Label | None = None
    contact_email: Email | None = None
    contact_phone: Phone | None = None
    temporal_start: Day | None = None
    temporal_end: Day | None = None
    spatial: Name | None = None
    fields: list[FieldIn] | None = Field(default=None, max_length=limits.ITEMS)


class FieldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    type: str
    description: str | None
    standard_element: str | None
    position: int


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: int
    source: str
    source_format: str
    encoding: str | None
    row_count: int
    byte_size: int
    sha256: str
    schema_: list[dict] = Field(alias="schema", serialization_alias="schema")
    profile: dict
    drift: dict | None
    created_at: datetime


class DatasetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    identifier: str
    title_zh: str
    title_en: str | None
    description: str
    department: str
    department_name: str
    theme: str
    keywords: list[str]
    update_frequency: str
    share_type: str
    share_basis: str | None
    open_type: str
    open_basis: str | None
    security_grade: str | None
    data_class: str | None
    licence: str | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    temporal_start: date | None
    temporal_end: date | None
    spatial: str | None
    fields: list[FieldOut]
    latest_version: int | None
    created_at: datetime
    updated_at: datetime
