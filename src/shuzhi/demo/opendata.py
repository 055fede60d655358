"""The demo city's open data: releases of its open datasets made through the same path as anyone's (a
plan, the checks on the written file, a second person's approval) and one differentially private
statistics release, so that the portal's feeds, the CKAN-compatible API and the DCAT exports have
something to show at first start; and one member of the public's application for the conditional
dataset, awaiting its department."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select

from shuzhi.catalog.service import get_dataset, get_version
from shuzhi.classify.readmodel import sensitive_columns
from shuzhi.config import Settings
from shuzhi.errors import ShuzhiError
from shuzhi.i18n import M_, Message
from shuzhi.opendata import applications, releases, stats
from shuzhi.opendata.application_models import PortalUser
from shuzhi.opendata.budget_models import StatisticsRelease
from shuzhi.opendata.models import Release
from shuzhi.orgs import service as orgs
from shuzhi.storage import version_store
from shuzhi.store.base import utcnow
from shuzhi.store.db import Database

APPROVER = "admin"
"""The second person: the platform admin approves what each department's steward prepared."""

VALUES = "values"
"""A quasi-identifier whose hierarchy is its own values under one top ("*"), read from the version."""


@dataclass(frozen=True)
class DemoRelease:
    dataset: str
    steward: str
    qis: dict[str, dict | str] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    """Fields dropped besides what grading found sensitive or identifying (the plan's own judgement)."""
    k: int = 5


RELEASES = (
    # Registers of firms and statistics: one coarse field as the quasi-identifier (a release always
    # names one), generalised only if a class of it would be smaller than k.
    DemoRelease("hz-stats-population", "stats.steward", qis={"统计年度": VALUES}),
    DemoRelease("hz-sci-hightech", "sci.steward", qis={"认定年份": VALUES}),
    DemoRelease("hz-trans-road-transport", "trans.steward", qis={"经营范围": VALUES}),
    DemoRelease("hz-nr-land-supply", "nr.steward", qis={"土地用途": VALUES}),
    # Person-level, 有条件开放: an individual business is its keeper, so its code, its trade name and
    # its registration date go; what stays is generalised until every class holds k businesses.
    DemoRelease(
        "hz-xh-samr-individual",
        "xh-samr.steward",
        qis={"资金数额（万元）": {"kind": "ranges", "widths": [10, 50, 100, 500]}, "组成形式": VALUES},
        drop=("统一社会信用代码", "字号名称", "注册日期"),
    ),
)

STATISTICS = {
    "dataset": "hz-xh-samr-individual",
    "steward": "xh-samr.steward",
    "spec": {
        "epsilon": 1.0,
        "mechanism": "laplace",
        "confidence": 0.95,
        "figures": [
            {"name": "businesses", "kind": "count", "by": "组成形式", "groups": ["个人经营", "家庭经营"]},
            {"name": "capital", "kind": "mean", "field": "资金数额（万元）", "bounds": [0, 1000]},
        ],
    },
}


APPLICANT = {
    "email": "applicant@example.org",
    "password": "Demo!applicant-2026",
    "display_name": "陈研究",
    "organisation": "浙江某大学公共管理学院",
}
"""A member of the public registered on the portal, whose application awaits the department at first
start (a demo account: never use it outside a demo)."""
APPLICATION = {
    "dataset": "hz-xh-samr-individual",
    "purpose": "研究个体工商户资金规模与组成形式的分布，论文只发表汇总结果。",
    "days": 90,
}


@dataclass
class OpenDataReport:
    published: int = 0
    already: int = 0
    statistics: int = 0
    applications: int = 0
    refused: list[Message] = field(default_factory=list)


def publish(settings: Settings, db: Database) -> OpenDataReport:
    """Publish each demo release not yet published for its dataset's newest version; idempotent."""
    report = OpenDataReport()
    for spec in RELEASES:
        try:
            _publish_one(settings, db, spec, report)
        except ShuzhiError as e:  # a demo city built at another scale may lack a value: say so, go on
            report.refused.append(M_("%(dataset)s: %(problem)s", dataset=spec.dataset, problem=e.message))
    try:
        _release_statistics(settings, db, report)
    except ShuzhiError as e:
        report.refused.append(
            M_("%(dataset)s: %(problem)s", dataset=STATISTICS["dataset"], problem=e.message)
        )
    try:
        _seed_application(db, report)
    except ShuzhiError as e:
        report.refused.append(
            M_("%(dataset)s: %(problem)s", dataset=APPLICATION["dataset"], problem=e.message)
        )
    return report


def _seed_application(db: Database, report: OpenDataReport) -> None:
    """The demo applicant and their one application, awaiting the department; once only."""
    with db.write() as s:
        if s.scalar(select(PortalUser.id).where(PortalUser.email == APPLICANT["email"])) is not None:
            return
        user = applications.register(s, **APPLICANT)
        start = utcnow().date()
        applications.apply(
            s,
            user,
            APPLICATION["dataset"],
            purpose=APPLICATION["purpose"],
            organisation=APPLICANT["organisation"],
            start=start,
            end=start + timedelta(days=APPLICATION["days"] - 1),
            accepted_terms=applications.terms_sha256(),
        )
    report.applications += 1


def _publish_one(settings: Settings, db: Database, spec: DemoRelease, report: OpenDataReport) -> None:
    with db.write() as s:
        ds = get_dataset(s, spec.dataset)
        version = get_version(s, ds, None)
        taken = s.scalar(
            select(Release.id).where(Release.version_id == version.id, Release.state == "published")
        )
        if taken is not None:
            report.already += 1
            return
        steward = orgs.Principal.of(orgs.get_user(s, spec.steward), face="demo")
        release = releases.prepare_release(
            s, settings, steward, ds.identifier, plan=_plan(s, settings, ds, spec)
        )
        release_id = release.id
    with db.write() as s:
        admin = orgs.Principal.of(orgs.get_user(s, APPROVER), face="demo")
        releases.approve_release(s, settings, admin, s.get(Release, release_id))
    report.published += 1


def _plan(session, settings: Settings, ds, spec: DemoRelease) -> dict:
    """Drop what grading found identifying or sensitive (and the demo's own list), generalise the
    quasi-identifiers, keep the rest in clear."""
    version = get_version(session, ds, None)
    table = pq.read_table(version_store(settings).path(version.path))
    hidden = releases.direct_identifiers(session, settings, ds) | set(
        sensitive_columns(session, settings, ds)
    )
    fields: dict[str, dict] = {}
    for name in table.schema.names:
        if name in hidden or name in spec.drop:
            fields[name] = {"action": "drop"}
        elif name in spec.qis:
            fields[name] = {"action": "qi", "hierarchy": _hierarchy(table, name, spec.qis[name])}
        else:
            fields[name] = {"action": "keep"}
    return {"fields": fields, "k": spec.k, "suppression": 0.05, "algorithm": "full-domain"}


def _hierarchy(table, name: str, given: dict | str) -> dict:
    if given != VALUES:
        return given
    values = sorted(str(v) for v in pc.unique(table.column(name).drop_null()).to_pylist())
    return {"kind": "table", "rows": [[v, "*"] for v in values]}


def _release_statistics(settings: Settings, db: Database, report: OpenDataReport) -> None:
    with db.write() as s:
        ds = get_dataset(s, STATISTICS["dataset"])
        version = get_version(s, ds, None)
        done = s.scalar(
            select(StatisticsRelease.id).where(
                StatisticsRelease.dataset_id == ds.id, StatisticsRelease.version_number == version.number
            )
        )
        if done is not None:
            return
        steward = orgs.Principal.of(orgs.get_user(s, STATISTICS["steward"]), face="demo")
        stats.release_statistics(s, settings, steward, ds.identifier, None, STATISTICS["spec"])
    report.statistics += 1
