"""The 20 rules of benchmarks/quality.py written in pandera and in Great Expectations (run in their venvs).

    <venv>/bin/python benchmarks/quality_baselines.py pandera|gx FOLDER AS_OF

Reads FOLDER/version.parquet and FOLDER/depts.parquet with pyarrow into pandas (dates as datetime64),
runs the rules, prints one JSON line: seconds (load + validation), load, and the failing-row count of
each rule in the order of `RULES` in quality.py. Native checks are used where the library has one;
the GB 11643 resident ID, the GB 32100 credit code and the ID/birth/sex agreement are custom
vectorised checks (numpy over the strings' bytes), written once below and registered in each library
as its own kind of custom check (a pandera `Check`, a GX map expectation with its metric).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

BLANK = r"^[ \t\n\r\f\v\u3000\u00a0]*$"
EMAIL = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"
PHONE = r"^(\+?86[ -]?)?1[3-9][0-9]{9}$"
CREDIT = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
MALE = ["男", "男性", "M", "m", "male", "Male", "1"]
FEMALE = ["女", "女性", "F", "f", "female", "Female", "2"]
W11643 = np.array([pow(2, 17 - i, 11) for i in range(17)])
W32100 = np.array([pow(3, i, 31) for i in range(17)])
ALPHABET = b"0123456789ABCDEFGHJKLMNPQRTUWXY"
INDEX = np.full(256, 0, np.int64)
INDEX[np.frombuffer(ALPHABET, np.uint8)] = np.arange(31)
REGIONS: set[str] = set()


def as_bytes(s: pd.Series, width: int) -> np.ndarray:
    """Strings of exactly `width` ASCII characters (others blanked first) as a (n, width) uint8 matrix."""
    fixed = s.where(s.str.len() == width, "0" * width).fillna("0" * width)
    return np.frombuffer(fixed.to_numpy(dtype=f"S{width}").tobytes(), np.uint8).reshape(-1, width)


def id_birth(u: pd.Series) -> pd.Series:
    ymd = u.str.slice(6, 14).where(u.str.len() == 18, "19" + u.str.slice(6, 12))
    return pd.to_datetime(ymd, format="%Y%m%d", errors="coerce")


def id_shape(u: pd.Series) -> pd.Series:
    return u.str.fullmatch(r"[0-9]{17}[0-9X]") | u.str.fullmatch(r"[0-9]{15}")


def resident_id_ok(s: pd.Series) -> pd.Series:
    """GB 11643 (as the engine's `resident_id` kind): shape, check character, birth date, region."""
    u = s.str.upper()
    m = as_bytes(u, 18)
    check = np.frombuffer(b"10X98765432", np.uint8)[((m[:, :17].astype(np.int64) - 48) * W11643).sum(1) % 11]
    long_ok = (u.str.len() == 18).to_numpy(dtype=bool, na_value=False) & (check == m[:, 17])
    short = (u.str.len() == 15).to_numpy(dtype=bool, na_value=False)
    birth = id_birth(u)
    birth_ok = (birth >= "1890-01-01") & (birth <= pd.Timestamp.today().normalize())
    region_ok = u.str.slice(0, 6).isin(REGIONS)
    ok = id_shape(u).fillna(False) & (long_ok | short) & birth_ok & region_ok
    return ok.astype(bool)


def credit_code_ok(s: pd.Series) -> pd.Series:
    """GB 32100 (as the engine's `credit_code` kind): the alphabet, six digits, the check character."""
    u = s.str.upper()
    m = as_bytes(u, 18)
    total = (INDEX[m[:, :17]] * W32100).sum(1)
    ok = (31 - total % 31) % 31 == INDEX[m[:, 17]]
    return (u.str.fullmatch(CREDIT[1:-1]).fillna(False) & ok).astype(bool)


def id_mismatch(df: pd.DataFrame) -> pd.Series:
    """Rows whose birth date or sex disagrees with their resident ID (the `id_matches` kind)."""
    u = df["resident_id"].str.upper()
    born = id_birth(u)
    checked = id_shape(u).fillna(False) & born.notna()
    birth = df["birth_date"]
    male, female = df["sex"].isin(MALE), df["sex"].isin(FEMALE)
    digit = u.str.slice(16, 17).where(u.str.len() == 18, u.str.slice(14, 15))
    odd = pd.to_numeric(digit, errors="coerce") % 2 == 1
    checked &= birth.notna() | male | female
    wrong = (birth.notna() & (birth != born)) | (male & ~odd) | (female & odd)
    return (checked & wrong).astype(bool)


LOADED = {}


def load(folder: str) -> tuple[pd.DataFrame, list[str]]:
    t0 = time.perf_counter()
    df = pq.read_table(f"{folder}/version.parquet").to_pandas(date_as_object=False)
    depts = pq.read_table(f"{folder}/depts.parquet").column("code").to_pylist()
    LOADED["seconds"] = time.perf_counter() - t0
    return df, depts


# -- pandera ----------------------------------------------------------------------------------------


def run_pandera(folder: str, as_of: dt.date) -> list[int]:
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

    df, depts = load(folder)
    day_after = pd.Timestamp(as_of) + pd.Timedelta(days=1)

    def c(rule: int, check, *args) -> object:
        """A check named after its rule (the name the failure cases carry)."""
        if isinstance(check, str):
            return getattr(pa.Check, check)(*args, name=f"r{rule}", error=f"r{rule}")
        return pa.Check(check, name=f"r{rule}", error=f"r{rule}")

    schema = pa.DataFrameSchema(
        {
            "name": pa.Column(nullable=False),
            "address": pa.Column(checks=c(2, (lambda s: ~s.str.fullmatch(BLANK[1:-1]))), nullable=False),
            "score_text": pa.Column(checks=c(3, "str_matches", r"^[+-]?[0-9]+$"), nullable=True),
            "age": pa.Column(checks=c(4, "in_range", 0, 120), nullable=True),
            "amount": pa.Column(checks=c(5, "ge", 0), nullable=True),
            "email": pa.Column(checks=c(6, "str_matches", EMAIL), nullable=True),
            "postcode": pa.Column(checks=c(7, "str_matches", r"^[0-9]{6}$"), nullable=True),
            "sex": pa.Column(checks=c(8, "isin", ["男", "女"]), nullable=True),
            "status": pa.Column(checks=c(9, "isin", [1, 2, 3]), nullable=True),
            "resident_id": pa.Column(checks=c(10, (resident_id_ok)), nullable=True),
            "credit_code": pa.Column(checks=c(11, (credit_code_ok)), nullable=True, unique=True),
            "region": pa.Column(checks=c(12, "isin", REGIONS), nullable=True),
            "issue_date": pa.Column(checks=c(13, "lt", day_after), nullable=True),
            "updated_at": pa.Column(checks=c(14, "lt", day_after), nullable=True),
            "phone": pa.Column(checks=c(15, "str_matches", PHONE), nullable=True),
            "id": pa.Column(unique=True),
            "dept_code": pa.Column(checks=c(20, "isin", depts), nullable=True),
        },
        checks=[
            c(18, (lambda d: ~id_mismatch(d))),
            c(19, (lambda d: ~(d["end_date"] < d["start_date"]))),
        ],
    )
    try:
        schema.validate(df, lazy=True)
        cases = pd.DataFrame(columns=["column", "check", "index"])
    except SchemaErrors as e:
        cases = e.failure_cases
    return count_cases(cases)


def count_cases(cases: pd.DataFrame) -> list[int]:
    """Failing rows per rule from pandera's failure cases (a row counted once per check)."""
    per = cases.groupby(["column", "check"], dropna=False)["index"].nunique()
    per.index = [f"{col}/{chk}" if isinstance(col, str) else f"-/{chk}" for col, chk in per.index]
    by_rule = {int(k.split("/r")[1]): int(v) for k, v in per.items() if "/r" in k}
    by_rule[1] = int(per.get("name/not_nullable", 0))
    by_rule[2] = by_rule.get(2, 0) + int(per.get("address/not_nullable", 0))
    by_rule[16] = int(per.get("id/field_uniqueness", 0))
    by_rule[17] = int(per.get("credit_code/field_uniqueness", 0))
    return [by_rule.get(i, 0) for i in range(1, 21)]


# -- pandera, polars backend -------------------------------------------------------------------------


def polars_checks():
    """The custom checks as polars expressions over a column name (vectorised in polars' engine)."""
    import polars as pl

    def upper(c: str):
        return pl.col(c).str.to_uppercase()

    def id_birth_expr(u):
        ymd = (
            pl.when(u.str.len_chars() == 18)
            .then(u.str.slice(6, 8))
            .otherwise(pl.lit("19") + u.str.slice(6, 6))
        )
        return ymd.str.to_date("%Y%m%d", strict=False)

    def id_shape_expr(u):
        return u.str.contains(r"^([0-9]{17}[0-9X]|[0-9]{15})$")

    def resident_id(c: str):
        u = upper(c)
        total = pl.sum_horizontal(
            [
                u.str.slice(i, 1).cast(pl.Int64, strict=False).fill_null(0) * int(w)
                for i, w in enumerate(W11643)
            ]
        )
        check = (total % 11).replace_strict(dict(enumerate("10X98765432")), return_dtype=pl.String)
        long_ok = (u.str.len_chars() == 18) & (u.str.slice(17, 1) == check)
        birth = id_birth_expr(u)
        birth_ok = birth.is_between(dt.date(1890, 1, 1), dt.date.today())
        region_ok = u.str.slice(0, 6).is_in(sorted(REGIONS))
        return id_shape_expr(u) & (long_ok | (u.str.len_chars() == 15)) & birth_ok & region_ok

    alphabet = {chr(b): i for i, b in enumerate(ALPHABET)}

    def credit_code(c: str):
        u = upper(c)
        idx = [
            u.str.slice(i, 1).replace_strict(alphabet, default=0, return_dtype=pl.Int64) for i in range(18)
        ]
        total = pl.sum_horizontal([x * int(w) for x, w in zip(idx[:17], W32100, strict=True)])
        return u.str.contains(CREDIT) & ((31 - total % 31) % 31 == idx[17])

    def id_mismatch_expr():
        u = upper("resident_id")
        born = id_birth_expr(u)
        birth = pl.col("birth_date").cast(pl.Date)
        male, female = pl.col("sex").is_in(MALE), pl.col("sex").is_in(FEMALE)
        digit = pl.when(u.str.len_chars() == 18).then(u.str.slice(16, 1)).otherwise(u.str.slice(14, 1))
        odd = digit.cast(pl.Int64, strict=False) % 2 == 1
        checked = id_shape_expr(u) & born.is_not_null() & (birth.is_not_null() | male | female)
        wrong = (birth.is_not_null() & (birth != born)) | (male & ~odd) | (female & odd)
        return (checked & wrong).fill_null(False)

    return resident_id, credit_code, id_mismatch_expr


def run_pandera_polars(folder: str, as_of: dt.date) -> list[int]:
    import pandera.polars as pa
    import polars as pl
    from pandera.errors import SchemaErrors

    t0 = time.perf_counter()
    df = pl.read_parquet(f"{folder}/version.parquet")
    depts = pl.read_parquet(f"{folder}/depts.parquet")["code"].to_list()
    LOADED["seconds"] = time.perf_counter() - t0
    resident_id, credit_code, id_mismatch_expr = polars_checks()
    day_after = as_of + dt.timedelta(days=1)

    def c(rule: int, check, *args) -> object:
        if isinstance(check, str):
            return getattr(pa.Check, check)(*args, name=f"r{rule}", error=f"r{rule}")
        return pa.Check(check, name=f"r{rule}", error=f"r{rule}")

    def on_column(expr_of):
        return lambda data: data.lazyframe.select(expr_of(data.key).fill_null(True))

    schema = pa.DataFrameSchema(
        {
            "name": pa.Column(nullable=False),
            "address": pa.Column(
                checks=c(2, lambda data: data.lazyframe.select(~pl.col(data.key).str.contains(BLANK))),
                nullable=False,
            ),
            "score_text": pa.Column(checks=c(3, "str_matches", r"^[+-]?[0-9]+$"), nullable=True),
            "age": pa.Column(checks=c(4, "in_range", 0, 120), nullable=True),
            "amount": pa.Column(checks=c(5, "ge", 0), nullable=True),
            "email": pa.Column(checks=c(6, "str_matches", EMAIL), nullable=True),
            "postcode": pa.Column(checks=c(7, "str_matches", r"^[0-9]{6}$"), nullable=True),
            "sex": pa.Column(checks=c(8, "isin", ["男", "女"]), nullable=True),
            "status": pa.Column(checks=c(9, "isin", [1, 2, 3]), nullable=True),
            "resident_id": pa.Column(checks=c(10, on_column(resident_id)), nullable=True),
            "credit_code": pa.Column(checks=c(11, on_column(credit_code)), nullable=True, unique=True),
            "region": pa.Column(checks=c(12, "isin", sorted(REGIONS)), nullable=True),
            "issue_date": pa.Column(checks=c(13, "lt", day_after), nullable=True),
            "updated_at": pa.Column(
                checks=c(14, "lt", dt.datetime.combine(day_after, dt.time())), nullable=True
            ),
            "phone": pa.Column(checks=c(15, "str_matches", PHONE), nullable=True),
            "id": pa.Column(unique=True),
            "dept_code": pa.Column(checks=c(20, "isin", depts), nullable=True),
        },
        checks=[
            c(18, lambda data: data.lazyframe.select(~id_mismatch_expr())),
            c(
                19,
                lambda data: data.lazyframe.select(
                    ~(pl.col("end_date") < pl.col("start_date")).fill_null(False)
                ),
            ),
        ],
    )
    try:
        schema.validate(df, lazy=True)
        return [0] * 20
    except SchemaErrors as e:
        cases = e.failure_cases.to_pandas()
    return count_cases(cases)


# -- Great Expectations -------------------------------------------------------------------------------


def gx_custom():
    """The three custom checks as GX expectations: a map metric per check, an expectation using it."""
    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.expectation import ColumnMapExpectation, MulticolumnMapExpectation
    from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial
    from great_expectations.expectations.metrics.map_metric_provider import (
        MulticolumnMapMetricProvider,
        multicolumn_condition_partial,
    )

    class ResidentIdValues(ColumnMapMetricProvider):
        condition_metric_name = "column_values.shuzhi_resident_id"

        @column_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column, **kwargs):
            return resident_id_ok(column)

    class CreditCodeValues(ColumnMapMetricProvider):
        condition_metric_name = "column_values.shuzhi_credit_code"

        @column_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column, **kwargs):
            return credit_code_ok(column)

    class IdMatchesValues(MulticolumnMapMetricProvider):
        condition_metric_name = "multicolumn_values.shuzhi_id_matches"
        condition_domain_keys = (
            "batch_id",
            "table",
            "column_list",
            "row_condition",
            "condition_parser",
            "ignore_row_if",
        )

        @multicolumn_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column_list, **kwargs):
            return ~id_mismatch(column_list)

    class ExpectColumnValuesToBeResidentId(ColumnMapExpectation):
        map_metric = "column_values.shuzhi_resident_id"

    class ExpectColumnValuesToBeCreditCode(ColumnMapExpectation):
        map_metric = "column_values.shuzhi_credit_code"

    class ExpectIdToMatchBirthAndSex(MulticolumnMapExpectation):
        map_metric = "multicolumn_values.shuzhi_id_matches"
        ignore_row_if: str = "never"  # a row with no ID is not checked: the check itself says so

    return ExpectColumnValuesToBeResidentId, ExpectColumnValuesToBeCreditCode, ExpectIdToMatchBirthAndSex


def run_gx(folder: str, as_of: dt.date) -> list[int]:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    resident_id, credit_code, id_matches = gx_custom()
    df, depts = load(folder)
    end_of_day = dt.datetime.combine(as_of, dt.time.max)
    rules: list[list] = [
        [gxe.ExpectColumnValuesToNotBeNull(column="name")],
        [
            gxe.ExpectColumnValuesToNotBeNull(column="address"),
            gxe.ExpectColumnValuesToNotMatchRegex(column="address", regex=BLANK),
        ],
        [gxe.ExpectColumnValuesToMatchRegex(column="score_text", regex=r"^[+-]?[0-9]+$")],
        [gxe.ExpectColumnValuesToBeBetween(column="age", min_value=0, max_value=120)],
        [gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0)],
        [gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL)],
        [gxe.ExpectColumnValuesToMatchRegex(column="postcode", regex=r"^[0-9]{6}$")],
        [gxe.ExpectColumnValuesToBeInSet(column="sex", value_set=["男", "女"])],
        [gxe.ExpectColumnValuesToBeInSet(column="status", value_set=[1, 2, 3])],
        [resident_id(column="resident_id")],
        [credit_code(column="credit_code")],
        [gxe.ExpectColumnValuesToBeInSet(column="region", value_set=sorted(REGIONS))],
        [gxe.ExpectColumnValuesToBeBetween(column="issue_date", max_value=end_of_day)],
        [gxe.ExpectColumnValuesToBeBetween(column="updated_at", max_value=end_of_day)],
        [gxe.ExpectColumnValuesToMatchRegex(column="phone", regex=PHONE)],
        [gxe.ExpectColumnValuesToBeUnique(column="id")],
        [gxe.ExpectColumnValuesToBeUnique(column="credit_code")],
        [id_matches(column_list=["resident_id", "birth_date", "sex"])],
        [
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="end_date",
                column_B="start_date",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        ],
        [gxe.ExpectColumnValuesToBeInSet(column="dept_code", value_set=depts)],
    ]
    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas("version").add_dataframe_asset("rows")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": df})
    suite = context.suites.add(gx.ExpectationSuite(name="rules"))
    owner = []
    for i, expectations in enumerate(rules):
        for e in expectations:
            suite.add_expectation(e)
            owner.append(i)
    result = batch.validate(suite, result_format="BASIC")
    counts = [0] * len(rules)
    by_id = {e.id: i for e, i in zip(suite.expectations, owner, strict=True)}
    for r in result.results:
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise SystemExit(f"{r.expectation_config.type}: {r.exception_info['exception_message']}")
        counts[by_id[r.expectation_config.id]] += int(r.result.get("unexpected_count") or 0)
    return counts


# -- Soda Core (DuckDB) --------------------------------------------------------------------------------


def soda_checks(as_of: dt.date, macros: dict) -> dict:
    """The rules in SodaCL: metric checks where Soda has one, `failed rows` checks with a SQL condition
    for the rest (the check digits through the same DuckDB macros Shuzhi uses), reference checks."""
    rid = "upper(resident_id)"
    digit = f"CAST(substr({rid}, 17, 1) AS INTEGER) % 2"
    dup = "{k} IN (SELECT {k} FROM version GROUP BY {k} HAVING count(*) > 1)"
    failed = {
        10: f"resident_id IS NOT NULL AND NOT coalesce(regexp_full_match({rid}, '[0-9]{{17}}[0-9X]')"
        f" AND sz_gb11643({rid}) AND left({rid}, 6) IN (SELECT code FROM regions), false)",
        11: f"NOT coalesce(regexp_full_match(credit_code, '{CREDIT[1:-1]}') AND sz_gb32100(credit_code), false)",
        13: f"issue_date > DATE '{as_of}'",
        14: f"CAST(updated_at AS DATE) > DATE '{as_of}'",
        16: dup.format(k="id"),
        17: dup.format(k="credit_code"),
        18: f"regexp_full_match({rid}, '[0-9]{{17}}[0-9X]') AND (birth_date <> sz_id_birth({rid})"
        f" OR (sex = '男' AND {digit} = 0) OR (sex = '女' AND {digit} = 1))",
        19: "end_date < start_date",
    }
    checks: list[dict] = [
        {"missing_count(name) = 0": {"name": "r1"}},
        {
            "missing_count(address) = 0": {
                "name": "r2",
                "missing regex": BLANK.encode().decode("unicode_escape"),
            }
        },
        {"invalid_count(score_text) = 0": {"name": "r3", "valid regex": r"^[+-]?[0-9]+$"}},
        {"invalid_count(age) = 0": {"name": "r4", "valid min": 0, "valid max": 120}},
        {"invalid_count(amount) = 0": {"name": "r5", "valid min": 0}},
        {"invalid_count(email) = 0": {"name": "r6", "valid regex": EMAIL}},
        {"invalid_count(postcode) = 0": {"name": "r7", "valid regex": r"^[0-9]{6}$"}},
        {"invalid_count(sex) = 0": {"name": "r8", "valid values": ["男", "女"]}},
        {"invalid_count(status) = 0": {"name": "r9", "valid values": [1, 2, 3]}},
        {"values in (region) must exist in regions (code)": {"name": "r12"}},
        {"invalid_count(phone) = 0": {"name": "r15", "valid regex": PHONE}},
        {"values in (dept_code) must exist in depts (code)": {"name": "r20"}},
    ]
    checks += [{"failed rows": {"name": f"r{i}", "fail condition": c}} for i, c in failed.items()]
    return {"checks for version": checks}


def run_soda(folder: str, as_of: dt.date) -> list[int]:
    import duckdb
    from soda.scan import Scan

    with open(f"{folder}/macros.json") as f:
        macros = json.load(f)
    con = duckdb.connect()
    for head, body in macros.items():  # the check-digit ones (the lenient date reader needs DuckDB ≥ 1.1)
        if head.split("(")[0] in ("sz_ymd", "sz_ymd_ok", "sz_gb11643", "sz_id_birth", "sz_gb32100"):
            body = re.sub(r"lambda (\w+): ", r"\1 -> ", body)  # DuckDB 1.0 knows only the arrow form
            con.execute(f"CREATE MACRO {head} AS ({body})")
    con.execute(f"CREATE VIEW version AS SELECT * FROM read_parquet('{folder}/version.parquet')")
    con.execute(f"CREATE VIEW depts AS SELECT * FROM read_parquet('{folder}/depts.parquet')")
    con.execute("CREATE TABLE regions (code VARCHAR)")
    con.executemany("INSERT INTO regions VALUES (?)", [[c] for c in sorted(REGIONS)])
    LOADED["seconds"] = 0.0  # Soda reads the Parquet file inside its own queries
    scan = Scan()
    scan.disable_telemetry()
    scan.set_scan_definition_name("rules")
    scan.set_data_source_name("duckdb")
    scan.add_duckdb_connection(con, "duckdb")
    scan.add_sodacl_yaml_str(json.dumps(soda_checks(as_of, macros), ensure_ascii=False))
    scan.execute()
    if scan.has_error_logs():
        raise SystemExit(scan.get_error_logs_text())
    counts = {}
    for c in scan.get_scan_results()["checks"]:
        counts[int(c["name"][1:])] = int(c["diagnostics"]["value"])
    return [counts[i] for i in range(1, 21)]


def main() -> None:
    tool, folder, as_of = sys.argv[1], sys.argv[2], dt.date.fromisoformat(sys.argv[3])
    with open(f"{folder}/regions.json") as f:
        REGIONS.update(json.load(f))
    t0 = time.perf_counter()
    runs = {"pandera": run_pandera, "pandera-polars": run_pandera_polars, "gx": run_gx, "soda": run_soda}
    failed = runs[tool](folder, as_of)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "load": LOADED["seconds"], "failed": failed}))


if __name__ == "__main__":
    main()
