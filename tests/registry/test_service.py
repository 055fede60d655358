"""A base registry built from departments' datasets, rebuilt incrementally, corrected by stewards."""

from __future__ import annotations

import copy
import json

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from tests.quality.conftest import add_dataset, add_version, world  # noqa: F401 (the fixture)
from tests.registry.conftest import PERSON_SETTINGS, make_population

from shuzhi.errors import Conflict, Forbidden, InvalidInput, NotFound
from shuzhi.ledger.models import LedgerEntry
from shuzhi.registry import service
from shuzhi.registry.models import RegistryMember

COLUMNS = {
    "name": "姓名",
    "ric": "身份证号",
    "birth_date": "出生日期",
    "sex": "性别",
    "phone": "电话",
    "address": "住址",
}
DEPTS = {"psb": "GA", "health": "GA", "hrss": "SC"}


def tables(n: int = 60, seed: int = 3) -> tuple[dict[str, list[dict]], dict[str, int]]:
    """Rows per dataset (keyed by `row`) of a small population, and the person of each record key."""
    pop = make_population(n, seed)
    rows: dict[str, list[dict]] = {d: [] for d in DEPTS}
    for r in pop.rows:
        rows[r["source_dataset"]].append({"row": r["source_row"], **{c: r[a] for a, c in COLUMNS.items()}})
    return rows, pop.person_of


def as_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(
        rows, schema=pa.schema([("row", pa.string())] + [(c, pa.string()) for c in COLUMNS.values()])
    )


def load(w, rows: dict[str, list[dict]], *, create: bool = True) -> None:
    for dataset, part in rows.items():
        if create:
            add_dataset(w.db, w.admin, dataset, as_table(part), dept=DEPTS[dataset])
        add_version(w.db, w.settings, dataset, as_table(part), grades={})


def settings_named(name: str, build: str = "full") -> dict:
    raw = copy.deepcopy(PERSON_SETTINGS)
    raw["name"], raw["build"] = name, build
    return raw


def register(w, name: str = "people", build: str = "full"):
    with w.db.write() as s:
        return service.register(s, w.admin, settings_named(name, build)).id


def build(w, name: str = "people", mode: str | None = None) -> dict:
    return service.build(w.db, w.settings, w.admin, name, mode)


def members(w, name: str = "people") -> dict[str, str]:
    """record_key → entry id."""
    from shuzhi.registry.models import Registry, RegistryEntry

    with w.db.read() as s:
        rows = s.execute(
            select(RegistryMember.record_key, RegistryEntry.entry_key)
            .join(RegistryEntry, RegistryEntry.id == RegistryMember.entry_id)
            .join(Registry, Registry.id == RegistryMember.registry_id)
            .where(Registry.name == name)
        ).all()
    return dict(rows)


def partition(m: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for key, entry in m.items():
        groups.setdefault(entry, set()).add(key)
    return {frozenset(g) for g in groups.values()}


@pytest.fixture
def built(world):  # noqa: F811
    rows, person_of = tables()
    load(world, rows)
    register(world)
    run = build(world)
    return world, rows, person_of, run


def test_a_first_build_stores_entries_members_golden_records_and_reports_what_it_did(built):
    w, rows, person_of, run = built
    m = members(w)
    assert run["state"] == "succeeded" and run["mode"] == "full"
    assert set(m) == {f"{d}#{r['row']}" for d, part in rows.items() for r in part}
    assert run["counts"]["records_read"] == {d: len(part) for d, part in rows.items()}
    assert run["counts"]["created"] == len(set(m.values())) == run["counts"]["entries"]
    assert set(run["timings"]) == set(service.STEPS)
    # the population is easy: every entry is one person
    truth = {frozenset(k for k, p in person_of.items() if p == person) for person in set(person_of.values())}
    assert partition(m) == truth
    with w.db.read() as s:
        some = next(iter(m.values()))
        one = service.entry(s, "people", some)
        st = service.status(s, "people")
    names = {a["attribute"]: a for a in one["attributes"]}
    assert names["name"]["record_key"] in {x["record_key"] for x in one["members"]}
    assert names["name"]["dataset"] in DEPTS and names["name"]["version"] == 1
    assert st["entries"]["active"] == run["counts"]["entries"] and st["runs"][0]["id"] == run["id"]
    assert st["open_conflict_count"] == len(st["open_conflicts"]) == run["counts"]["conflicts"]


def test_a_rebuild_keeps_every_id_and_changes_nothing(built):
    w, _, _, _ = built
    before = members(w)
    again = build(w)
    assert members(w) == before
    assert again["counts"]["created"] == 0 and again["counts"]["kept"] == len(set(before.values()))
    assert again["counts"]["attributes_changed"] == 0


def _grow(rows: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """A new version of each source: a new person in psb and hrss, a changed phone, a record gone."""
    grown = copy.deepcopy(rows)
    grown["psb"].append({"row": "new-1", "姓名": "欧阳娜", "身份证号": "330102199001010012", "出生日期": "1990-01-01",
                         "性别": "女", "电话": "13312345678", "住址": "杭州市上城区"})  # fmt: skip
    grown["hrss"].append({"row": "new-2", "姓名": "欧阳娜", "身份证号": "330102199001010012", "出生日期": "1990-01-01",
                          "性别": "女", "电话": None, "住址": "杭州市上城区"})  # fmt: skip
    grown["health"][0]["电话"] = "13999999999"
    grown["health"].pop()
    return grown


def _psb_rows_of_shared_entries(m: dict[str, str], count: int) -> list[str]:
    """The psb row of each of the first `count` entries holding a psb record and records of another
    dataset (the psb record can change while the entry keeps a representative)."""
    out = []
    for group in sorted(partition(m), key=sorted):
        psb = [k for k in group if k.startswith("psb#")]
        if psb and len(group) > len(psb):
            out.append(psb[0].split("#", 1)[1])
    return out[:count]


def rescored(w, name: str) -> set[frozenset[str]]:
    """The entries of a full linkage of the current records scored with the registry's last model."""
    from shuzhi.registry.linkage import link
    from shuzhi.registry.models import RegistryRun
    from shuzhi.registry.pipeline import prepare
    from shuzhi.registry.sources import locate, read_records

    with w.db.read() as s:
        reg = service.get_registry(s, name)
        conf = service.settings_of(reg)
        located = [(src, locate(s, w.settings, src)) for src in conf.sources]
        model = s.scalar(
            select(RegistryRun.model).where(RegistryRun.registry_id == reg.id).order_by(RegistryRun.id.desc())
        )
    assert model["settings"] == service.settings_digest(reg.settings)
    records = [read_records(where, src) for src, where in located]
    records = prepare(conf, pa.concat_tables(records, promote_options="default"))
    clusters = link(conf, records, model=model["splink"]).clusters
    return partition(
        dict(
            zip(clusters["record_key"].to_pylist(), map(str, clusters["cluster_id"].to_pylist()), strict=True)
        )
    )


@pytest.mark.parametrize("reuse", [False, True], ids=["trained-again", "stored-model"])
def test_an_incremental_build_gives_the_entries_of_a_full_build(world, reuse):  # noqa: F811
    """Trained again, an incremental build gives the entries of a full build; with the stored model,
    those of every record scored with that model (a full build would train a new one)."""
    rows, _ = tables()
    load(world, rows)
    raw = settings_named("inc", "incremental")
    raw["training"]["reuse"] = reuse
    with world.db.write() as s:
        service.register(s, world.admin, raw)
    register(world, "full")
    build(world, "inc"), build(world, "full")
    assert members(world, "inc") == members(world, "full")
    assert rescored(world, "inc") == partition(members(world, "inc"))  # the stored model scores as trained
    grown = _grow(rows)
    a, b, c = _psb_rows_of_shared_entries(members(world, "full"), 3)
    for row in grown["psb"]:
        if row["row"] in (a, b):  # two people now carry one valid identifier: their entries merge
            row["身份证号"] = "330106198505050035"
        if row["row"] == c:  # a record rewritten as somebody else: it leaves its entry
            row.update(
                {
                    "姓名": "司马懿",
                    "身份证号": None,
                    "出生日期": "1931-07-07",
                    "电话": "18612344321",
                    "住址": "杭州市萧山区",
                }
            )
    load(world, grown, create=False)
    inc, full = build(world, "inc"), build(world, "full")
    assert inc["mode"] == "incremental" and full["mode"] == "full"
    assert inc["counts"]["records_linked"] < full["counts"]["records_linked"]
    # normalised: the new and changed records only (the others come from the last build's file)
    assert inc["counts"]["records_normalised"] == 6 and full["counts"]["records_normalised"] == sum(
        inc["counts"]["records_read"].values()
    )
    if reuse:
        assert partition(members(world, "inc")) == rescored(world, "inc")
        assert inc["counts"]["records_linked"] < 20  # the delta and its candidates, no representatives
    else:
        assert members(world, "inc") == members(world, "full")
        changes = ("created", "merged", "split", "retired", "kept", "records_joined", "records_left")
        assert {k: inc["counts"][k] for k in changes} == {k: full["counts"][k] for k in changes}
    # the v1 model no longer links health#2 once its phone changed (a model trained on v2 still does)
    left = 2 if reuse else 1
    assert inc["counts"]["merged"] == 1 and inc["counts"]["split"] == left
    assert inc["counts"]["created"] >= 2  # the new person, the rewritten record
    assert inc["counts"]["records_joined"] == 2 and inc["counts"]["records_left"] >= 1
    new = members(world, "inc")
    assert new["psb#new-1"] == new["hrss#new-2"] and new[f"psb#{a}"] == new[f"psb#{b}"]
    assert new[f"psb#{c}"] not in {e for k, e in new.items() if k != f"psb#{c}"}
    assert inc["counts"]["records_read"]["psb"] == len(rows["psb"]) + 1


def test_decisions_are_applied_on_the_next_build_and_survive_rebuilds(built):
    w, _, _, _ = built
    m = members(w)
    groups = sorted(partition(m), key=lambda g: (-len(g), sorted(g)))
    big = sorted(groups[0])
    entry_id = m[big[0]]
    a, b = sorted(groups[-1])[0], sorted(groups[-2])[0]
    ea, eb = m[a], m[b]
    with w.db.write() as s:
        service.split(s, w.admin, "people", entry_id, [big[-1]], "两个人 / two people")
        service.merge(s, w.admin, "people", [ea, eb], "同一人 / one person")
    with w.db.read() as s:
        chosen = service.entry(s, "people", entry_id)
    name = next(x for x in chosen["attributes"] if x["attribute"] == "sex")
    with w.db.write() as s:
        service.resolve(s, w.admin, "people", entry_id, "sex", name["value"], "核实 / checked")
    for _ in range(2):
        run = build(w)
        now = members(w)
        assert now[big[-1]] != now[big[0]] and now[big[0]] == entry_id
        assert now[a] == now[b]
        with w.db.read() as s:
            shown = service.entry(s, "people", entry_id)
        assert {x["attribute"]: x["rule"] for x in shown["attributes"]}["sex"] == "steward"
    assert run["counts"]["created"] == 0 and run["counts"]["merged"] == 0
    with w.db.read() as s:
        kinds = [
            json.loads(e.entry)["detail"]["kind"]
            for e in s.scalars(select(LedgerEntry).where(LedgerEntry.event == "registry.decided"))
        ]
        built_runs = s.scalars(select(LedgerEntry).where(LedgerEntry.event == "registry.built")).all()
        retired = service.entry(s, "people", max(ea, eb))
    assert sorted(kinds) == ["merge", "resolve", "split"]
    assert len(built_runs) == 3 and json.loads(built_runs[-1].entry)["detail"]["sources"] == {
        "psb": 1,
        "hrss": 1,
        "health": 1,
    }
    assert retired["state"] == "retired" and retired["merged_into"] == min(ea, eb)


def test_who_may_decide(built):
    w, _, _, _ = built
    m = members(w)
    ga_only = next(
        e for e in set(m.values()) if all(k.split("#")[0] != "hrss" for k, x in m.items() if x == e)
    )
    with w.db.write() as s:
        for who in (w.other_steward, w.analyst, w.outsider):  # SC's steward: no SC record in it; analysts
            with pytest.raises(Forbidden):
                service.resolve(s, who, "people", ga_only, "name", "王伟", "试 / try")
        service.resolve(s, w.steward, "people", ga_only, "name", "王伟", "核实 / checked")  # GA's steward
    with w.db.write() as s, pytest.raises(Forbidden):
        service.register(s, w.steward, settings_named("mine"))
    with pytest.raises(Forbidden):
        service.build(w.db, w.settings, w.steward, "people")
    with w.db.read() as s:
        assert [d["kind"] for d in service.entry(s, "people", ga_only)["decisions"]] == ["resolve"]


def test_bad_decisions_and_settings_are_refused_and_change_nothing(built):
    w, _, _, _ = built
    m = members(w)
    one = next(iter(m.values()))
    keys = [k for k, e in m.items() if e == one]
    cases = [
        (NotFound, lambda s: service.resolve(s, w.admin, "people", "P-99999999", "name", "x", "r")),
        (NotFound, lambda s: service.resolve(s, w.admin, "nobody", one, "name", "x", "r")),
        (InvalidInput, lambda s: service.resolve(s, w.admin, "people", one, "shoe_size", "x", "r")),
        (InvalidInput, lambda s: service.resolve(s, w.admin, "people", one, "name", "x", "  ")),
        (InvalidInput, lambda s: service.split(s, w.admin, "people", one, keys, "r")),
        (InvalidInput, lambda s: service.split(s, w.admin, "people", one, ["psb#nope"], "r")),
        (InvalidInput, lambda s: service.merge(s, w.admin, "people", [one], "r")),
        (InvalidInput, lambda s: service.register(s, w.admin, {**settings_named("x"), "kind": "robot"})),
        (Conflict, lambda s: service.register(s, w.admin, {**settings_named("people"), "kind": "generic", "identifiers": [],
                                                         "comparisons": [{"column": "name", "kind": "exact"}],
                                                         "blocking": [{"columns": ["name"]}],
                                                         "training": {"em_blocking": [{"columns": ["name"]}]}})),
    ]  # fmt: skip
    for error, call in cases:
        with pytest.raises(error), w.db.write() as s:
            call(s)
    with w.db.read() as s:
        assert service.entry(s, "people", one)["decisions"] == []
    with pytest.raises(InvalidInput):
        service.build(w.db, w.settings, w.admin, "people", "sideways")


class ByPinyin:
    """A linker that links records of equal `name_pinyin` (one of the settings' blocking columns)."""

    def __call__(self, conf, records: pa.Table, model=None, population=None):
        from types import SimpleNamespace

        keys, names = records["record_key"].to_pylist(), records["name_pinyin"].to_pylist()
        return SimpleNamespace(
            clusters=pa.table(
                {"record_key": keys, "cluster_id": [n if n else k for k, n in zip(keys, names, strict=True)]}
            ),
            model=model or {"trained on": records.num_rows},
        )


def _records(rows: list[tuple[str, str | None]]) -> pa.Table:
    from shuzhi.registry.service import digests

    t = pa.table(
        {
            "record_key": [k for k, _ in rows],
            "name_pinyin": [n for _, n in rows],
            "birth_date_norm": pa.nulls(len(rows), pa.string()),
            "phone_norm": pa.nulls(len(rows), pa.string()),
            "ric18": pa.nulls(len(rows), pa.string()),
            "ric_valid": [False] * len(rows),
        }
    )
    return t.append_column("digest", digests(t, ["name_pinyin"]))


NAMES = st.sampled_from(["wang wei", "li na", "zhang min", None])
ROWS = st.dictionaries(st.sampled_from([f"psb#{i}" for i in range(12)]), NAMES, min_size=1)


@given(before=ROWS, after=ROWS, stored=st.booleans())
@settings(max_examples=60, deadline=None)
def test_incremental_clusters_equal_full_clusters_for_a_linker_that_blocking_covers(before, after, stored):
    from shuzhi.registry.service import incremental_clusters
    from shuzhi.registry.settings import parse_settings

    conf = parse_settings(PERSON_SETTINGS)
    linker = ByPinyin()
    first = _records(sorted(before.items()))
    prev = linker(conf, first).clusters
    previous = pa.table(
        {
            "entry_id": [str(c) for c in prev["cluster_id"].to_pylist()],
            "record_key": prev["record_key"],
            "digest": first["digest"],
        }
    )
    now = _records(sorted(after.items()))
    model = {"stored": True} if stored else None  # a stored model: no representatives are linked
    got, _, used = incremental_clusters(conf, now, previous, linker, model)
    assert used is None or used == (model or used)
    full = linker(conf, now).clusters

    def parts(t):
        return partition(
            dict(zip(t["record_key"].to_pylist(), map(str, t["cluster_id"].to_pylist()), strict=True))
        )

    assert parts(got) == parts(full)


def test_a_build_that_fails_is_stored_as_a_failed_run_and_changes_no_entry(built):
    w, _, _, _ = built
    before = members(w)
    raw = settings_named("people")
    raw["sources"][0]["mapping"]["name"] = "XM"  # no such column in the psb dataset
    with w.db.write() as s:
        service.register(s, w.admin, raw)
    with pytest.raises(InvalidInput, match="XM"):
        build(w)
    with w.db.read() as s:
        runs = service.status(s, "people")["runs"]
    assert runs[0]["state"] == "failed" and "XM" in runs[0]["error"] and runs[1]["state"] == "succeeded"
    assert members(w) == before


def stored(w, name: str) -> tuple[set, set, set]:
    """A registry's members, golden values and conflicts as stored, entries named by their records."""
    from shuzhi.registry.models import GoldenAttribute, RegistryConflict, RegistryEntry

    with w.db.read() as s:
        reg = service.get_registry(s, name)
        mem = s.execute(
            select(
                RegistryEntry.entry_key,
                RegistryMember.record_key,
                RegistryMember.dataset,
                RegistryMember.version,
                RegistryMember.row,
                RegistryMember.digest,
            )
            .join(RegistryEntry, RegistryEntry.id == RegistryMember.entry_id)
            .where(RegistryMember.registry_id == reg.id)
        ).all()
        gold = s.execute(
            select(
                RegistryEntry.entry_key,
                GoldenAttribute.attribute,
                GoldenAttribute.value,
                GoldenAttribute.value_norm,
                GoldenAttribute.dataset,
                GoldenAttribute.version,
                GoldenAttribute.row,
                GoldenAttribute.record_key,
                GoldenAttribute.rule,
            )
            .join(RegistryEntry, RegistryEntry.id == GoldenAttribute.entry_id)
            .where(RegistryEntry.registry_id == reg.id)
        ).all()
        conflicts = s.execute(
            select(RegistryEntry.entry_key, RegistryConflict.attribute, RegistryConflict.state)
            .join(RegistryEntry, RegistryEntry.id == RegistryConflict.entry_id)
            .where(RegistryConflict.registry_id == reg.id)
        ).all()
    groups: dict[str, set[str]] = {}
    for entry, key, *_ in mem:
        groups.setdefault(entry, set()).add(key)
    named = {e: frozenset(keys) for e, keys in groups.items()}
    return (
        {(named[e], *rest) for e, *rest in mem},
        {(named[e], *rest) for e, *rest in gold},
        {(named[e], *rest) for e, *rest in conflicts},
    )


@pytest.mark.parametrize(
    "mode, kept",
    [("full", True), ("incremental", True), ("incremental", False)],
    ids=["full", "incremental", "state-from-store"],
)
def test_a_rebuild_stores_what_a_first_build_of_the_same_versions_stores(world, mode, kept):  # noqa: F811
    """Members and golden values are written as a difference from the last run: after it, the store
    holds exactly what a registry built once from the same versions holds, provenance included (the
    version of every kept row moved to the version read). The last run's state is read from the
    files the run kept, or (`kept` false: they are gone) from the store."""
    rows, _ = tables()
    load(world, rows)
    raw = settings_named("twice", mode)
    raw["training"]["reuse"] = False
    with world.db.write() as s:
        service.register(s, world.admin, raw)
    build(world, "twice")
    grown = _grow(rows)
    grown["hrss"][3]["姓名"] = grown["hrss"][3]["姓名"] + "某"  # a golden value may change
    load(world, grown, create=False)
    if not kept:
        from shuzhi.registry.prepared import read_state

        with world.db.read() as s:
            reg = service.get_registry(s, "twice")
            last = service.last_run(s, reg).id
        assert read_state(world.settings.data_dir, reg.id, last) is not None
        for f in (world.settings.data_dir / "registry" / str(reg.id)).glob("state-*"):
            f.unlink()
    second = build(world, "twice")
    assert second["mode"] == mode
    register(world, "once")
    build(world, "once")
    twice, once = stored(world, "twice"), stored(world, "once")
    assert twice[0] == once[0] and twice[1] == once[1] and twice[2] == once[2]
    assert {m[3] for m in twice[0]} == {2} and {g[5] for g in twice[1]} == {2}  # versions read


def test_a_build_that_another_finished_during_is_refused_and_stored_as_failed(built, monkeypatch):
    """Members and golden values are written as a difference from the state a build read: when
    another build of the registry committed in between, that state is gone, so the build is refused."""
    w, _, _, first = built
    before = members(w)
    compute = service._compute
    calls = []

    def with_another_build(*args, **kwargs):
        made = compute(*args, **kwargs)
        if not calls:
            calls.append(None)
            calls[0] = build(w)  # finishes first
        return made

    monkeypatch.setattr(service, "_compute", with_another_build)
    with pytest.raises(Conflict, match="build it again"):
        build(w)
    assert calls and calls[0]["state"] == "succeeded" and members(w) == before
    with w.db.read() as s:
        runs = service.status(s, "people")["runs"]
    assert [r["state"] for r in runs[:3]] == ["failed", "succeeded", "succeeded"]
    assert build(w)["state"] == "succeeded"  # and the next one goes through
