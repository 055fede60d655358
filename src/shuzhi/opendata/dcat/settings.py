"""Settings of the DCAT exports (section `dcat`): the catalog's own description, page size, caching."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shuzhi.opendata.published import MAX_PER_PAGE


class DcatSettings(BaseModel):
    site_url: str | None = None
    """The public address of the site (`https://data.example.gov.cn`): every URI and link of the
    exports starts with it; unset, with the address the request came to."""
    title_zh: str = "公共数据开放目录"
    title_en: str = "Public data open catalogue"
    description_zh: str = "经脱敏、审核后发布的公共数据。"
    description_en: str = "Public data released after de-identification and review."
    publisher_zh: str = "数据资源管理局"
    """Who publishes the catalog itself (each dataset's publisher is its department)."""
    publisher_en: str = "Data Resource Administration"
    contact_email: str = "opendata@example.gov.cn"
    """Where to write about a dataset whose record names no contact e-mail (DCAT-US requires one)."""
    bureau_code: str = Field("000:00", pattern=r"^[0-9]{3}:[0-9]{2}$")
    """DCAT-US `bureauCode`: a US federal budget code; 000:00 says the publisher is not a US agency."""
    program_code: str = Field("000:000", pattern=r"^[0-9]{3}:[0-9]{3}$")
    """DCAT-US `programCode`; 000:000 likewise."""
    per_page: int = Field(100, ge=1, le=MAX_PER_PAGE)
    """Datasets on one page of an export (`?page=N`)."""
    max_age_s: int = Field(300, ge=0)
    """How long caches may keep an export (Cache-Control max-age): a withdrawn release may stay
    listed by a cache this long."""


SECTIONS = {"dcat": DcatSettings}
