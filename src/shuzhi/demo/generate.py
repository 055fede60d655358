"""`generate()`: the demo city from a seed — departments, their files, demo users and the ground truth.

Only files are written here; registering and ingesting them is build.py's work. The output directory:

    manifest.json                      what generate() returned, with paths relative to the directory
    departments/<DEPT>/<dataset>.<ext> one file per dataset, in the department's own format
    truth/ground_truth.parquet         (dataset, row, role, entity_type, entity_id, flaws) per reference
    truth/persons.parquet              the true residents (entity_id P…)
    truth/enterprises.parquet          the true enterprises (entity_id E…)
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shuzhi.demo.catalog import DEFINITIONS, DatasetSpec, Definition, FieldSpec
from shuzhi.demo.departments import DepartmentSpec, UserSpec, demo_users, departments
from shuzhi.demo.geography import DEFAULT_CITY, City, load_city
from shuzhi.demo.population import INDUSTRIES, Enterprises, Residents, make_enterprises, make_residents
from shuzhi.demo.tables import Built, Context
from shuzhi.demo.writers import EXTENSIONS, to_arrow, write_table
from shuzhi.i18n import M_

DEFAULT_SEED = 20261126
AS_OF = dt.date(2026, 10, 31)
"""The city's "today": fixed, so that a seed gives the same bytes on any day."""
BASE_RESIDENTS = 50_000
BASE_ENTERPRISES = 10_000

Progress = Callable[[str, int, int], None]
"""progress(step description, steps done, steps in all)."""


@dataclass
class CityManifest:
    seed: int
    scale: float
    as_of: dt.date
    city_code: str
    city_name: str
    province_name: str
    out_dir: Path
    residents: int
    enterprises: int
    departments: list[DepartmentSpec]
    datasets: list[DatasetSpec]
    users: list[UserSpec]
    ground_truth: Path
    persons_truth: Path
    enterprises_truth: Path
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        root = self.out_dir
        return {
            "seed": self.seed,
            "scale": self.scale,
            "as_of": self.as_of.isoformat(),
            "city": {"code": self.city_code, "name": self.city_name, "province": self.province_name},
            "residents": self.residents,
            "enterprises": self.enterprises,
            "departments": [d.to_dict() for d in self.departments],
            "datasets": [d.to_dict(root) for d in self.datasets],
            "users": [u.to_dict() for u in self.users],
            "ground_truth": self.ground_truth.relative_to(root).as_posix(),
            "persons_truth": self.persons_truth.relative_to(root).as_posix(),
            "enterprises_truth": self.enterprises_truth.relative_to(root).as_posix(),
        }

    @classmethod
    def load(cls, out_dir: Path) -> CityManifest:
        """Read manifest.json written by generate()."""
        out_dir = Path(out_dir)
        data = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
        datasets = []
        for d in data["datasets"]:
            d = dict(d)
            d["fields"] = [FieldSpec(**f) for f in d["fields"]]
            d["path"] = out_dir / d["path"]
            for key in ("temporal_start", "temporal_end"):
                d[key] = dt.date.fromisoformat(d[key]) if d[key] else None
            datasets.append(DatasetSpec(**d))
        return cls(
            seed=data["seed"],
            scale=data["scale"],
            as_of=dt.date.fromisoformat(data["as_of"]),
            city_code=data["city"]["code"],
            city_name=data["city"]["name"],
            province_name=data["city"]["province"],
            out_dir=out_dir,
            residents=data["residents"],
            enterprises=data["enterprises"],
            departments=[DepartmentSpec(**d) for d in data["departments"]],
            datasets=datasets,
            users=[UserSpec(**{**u, "roles": tuple(u["roles"])}) for u in data["users"]],
            ground_truth=out_dir / data["ground_truth"],
            persons_truth=out_dir / data["persons_truth"],
            enterprises_truth=out_dir / data["enterprises_truth"],
        )


def _rng(seed: int, stream: str) -> np.random.Generator:
    """An independent random stream per concern, so adding a dataset never changes the others."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(stream.encode())]))


def generate(
    out_dir: Path, seed: int = DEFAULT_SEED, scale: float = 1.0, progress: Progress | None = None
) -> CityManifest:
    """Generate the demo city into `out_dir` (created if missing) and return its manifest.

    About 50,000 residents and 10,000 enterprises times `scale`. The same seed and scale give the
    same files, byte for byte.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda step, done, total: None)
    total = len(DEFINITIONS) + 2
    city = load_city(DEFAULT_CITY)
    report(M_("residents"), 0, total)
    residents = make_residents(_rng(seed, "residents"), city, max(50, round(BASE_RESIDENTS * scale)), AS_OF)
    enterprises = make_enterprises(
        _rng(seed, "enterprises"), city, residents, max(20, round(BASE_ENTERPRISES * scale)), AS_OF
    )
    depts = departments(city)
    dept_codes = {d.code for d in depts}
    specs, truth = [], []
    for k, definition in enumerate(DEFINITIONS, start=1):
        report(definition.title_zh, k, total)
        if definition.department not in dept_codes:
            raise ValueError(f"{definition.identifier}: unknown department {definition.department}")
        ctx = Context(city, residents, enterprises, AS_OF, _rng(seed, definition.identifier))
        spec, rows = _dataset(definition, ctx, out_dir, {d.code: d for d in depts}[definition.department])
        specs.append(spec)
        truth.append(rows)
    report(M_("ground truth"), total - 1, total)
    truth_dir = out_dir / "truth"
    truth_dir.mkdir(exist_ok=True)
    ground_truth = truth_dir / "ground_truth.parquet"
    pq.write_table(pa.concat_tables(truth), ground_truth, compression="zstd")
    persons_path, firms_path = truth_dir / "persons.parquet", truth_dir / "enterprises.parquet"
    pq.write_table(_persons_table(city, residents), persons_path, compression="zstd")
    pq.write_table(_enterprises_table(city, enterprises), firms_path, compression="zstd")
    manifest = CityManifest(
        seed=seed,
        scale=scale,
        as_of=AS_OF,
        city_code=city.code,
        city_name=city.name,
        province_name=city.province_name,
        out_dir=out_dir,
        residents=len(residents),
        enterprises=len(enterprises),
        departments=depts,
        datasets=specs,
        users=demo_users(depts, {s.department for s in specs}),
        ground_truth=ground_truth,
        persons_truth=persons_path,
        enterprises_truth=firms_path,
    )
    text = json.dumps(manifest.to_dict(), ensure_ascii=False, indent=2, default=str)
    (out_dir / "manifest.json").write_text(text + "\n", encoding="utf-8")
    report(M_("done"), total, total)
    return manifest


def _dataset(
    definition: Definition, ctx: Context, out_dir: Path, dept: DepartmentSpec
) -> tuple[DatasetSpec, pa.Table]:
    built = definition.build(ctx).with_duplicates(definition.duplicate_rate, ctx.rng)
    names = [f[0] for f in definition.fields]
    if set(names) != set(built.columns):
        raise ValueError(
            f"{definition.identifier}: columns {sorted(built.columns)} differ from fields {sorted(names)}"
        )
    table = to_arrow(built.columns, [(f[0], f[1]) for f in definition.fields])
    path = (
        out_dir
        / "departments"
        / definition.department
        / f"{definition.identifier}.{EXTENSIONS[definition.format]}"
    )
    sha = write_table(table, path, definition.format, definition.encoding, sheet=definition.title_zh[:31])
    truth = _truth_rows(definition.identifier, built)
    start = None
    if definition.date_field:
        dates = table.column(definition.date_field).drop_null()
        start = min(dates.to_pylist()) if len(dates) else None
    spec = DatasetSpec(
        identifier=definition.identifier,
        department=definition.department,
        title_zh=definition.title_zh,
        title_en=definition.title_en,
        description=definition.description,
        theme=definition.theme,
        keywords=list(definition.keywords),
        update_frequency=definition.update_frequency,
        share_type=definition.share_type,
        share_basis=definition.share_basis,
        open_type=definition.open_type,
        open_basis=definition.open_basis if definition.open_type == "none" else None,
        licence="CC-BY-4.0"
        if definition.open_type != "none"
        else "政务数据共享使用协议 (government data-sharing agreement)",
        contact_name=f"{dept.name_zh}数据管理员",
        contact_email=dept.contact_email,
        contact_phone=f"0571-8{zlib.crc32(dept.code.encode()) % 10**7:07d}",
        temporal_start=start,
        temporal_end=ctx.as_of if start else None,
        spatial=dept.region_code if dept.level == "district" else ctx.city.code,
        format=definition.format,
        encoding=definition.encoding,
        fields=[FieldSpec(*f) for f in definition.fields],
        path=path,
        row_count=table.num_rows,
        sha256=sha,
        flaw_rates=_flaw_rates(built),
    )
    return spec, truth


_TRUTH_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("row", pa.int64()),
        ("role", pa.string()),
        ("entity_type", pa.string()),
        ("entity_id", pa.string()),
        ("flaws", pa.string()),
    ]
)


def _entity_ids(prefix: str, idx: np.ndarray) -> np.ndarray:
    """Entity ids as the truth files write them: P0000042 for resident 42, E0000042 for enterprise 42."""
    return np.char.add(prefix, np.char.zfill(idx.astype(str), 7))


def _truth_rows(identifier: str, built: Built) -> pa.Table:
    flaws = built.row_flaws()
    parts = []
    for role, kind, idx in built.refs:
        rows = np.flatnonzero(idx >= 0)
        ids = _entity_ids("P" if kind == "person" else "E", idx[rows])
        columns = [
            np.full(len(rows), identifier, dtype=object),
            rows,
            np.full(len(rows), role, dtype=object),
            np.full(len(rows), kind, dtype=object),
            ids.astype(object),
            flaws[rows].astype(object),
        ]
        parts.append(pa.Table.from_arrays(columns, schema=_TRUTH_SCHEMA))
    return pa.concat_tables(parts) if parts else _TRUTH_SCHEMA.empty_table()


def _flaw_rates(built: Built) -> dict[str, float]:
    if built.n == 0:
        return {}
    return {key: round(float(np.mean(values != "")), 4) for key, values in sorted(built.flaws.items())}


def _persons_table(city: City, r: Residents) -> pa.Table:
    n = len(r)
    return pa.table(
        {
            "entity_id": _entity_ids("P", np.arange(n)),
            "name": r.name.astype(str),
            "ric": r.ric.astype(str),
            "sex": np.where(r.male, "男", "女"),
            "birth_date": pa.array(r.birth),
            "ethnic": r.ethnic,
            "district_code": np.array([d.code for d in city.districts])[r.district],
            "address": r.address.astype(str),
            "hukou_address": r.hukou_address.astype(str),
            "previous_address": r.previous_address.astype(str),
            "phone": r.phone.astype(str),
            "status": r.status,
            "status_date": pa.array(r.status_date),
        }
    )


def _enterprises_table(city: City, e: Enterprises) -> pa.Table:
    n = len(e)
    return pa.table(
        {
            "entity_id": _entity_ids("E", np.arange(n)),
            "name": e.name.astype(str),
            "uscc": e.uscc.astype(str),
            "kind": e.kind,
            "industry": np.array([INDUSTRIES[i][0] for i in e.industry]),
            "registered_capital_10k_cny": e.capital,
            "founded": pa.array(e.founded),
            "district_code": np.array([d.code for d in city.districts])[e.district],
            "address": e.address.astype(str),
            "legal_rep_entity_id": _entity_ids("P", e.legal_rep),
            "status": e.status,
            "status_date": pa.array(e.status_date),
        }
    )
