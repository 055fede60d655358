"""Linking a registry's records: deterministic on valid identifiers, then Fellegi-Sunter with Splink on DuckDB.

`link(settings, records)` takes the records table of the registry contract (one row per source row,
`record_key` unique, raw and derived columns) and returns a `Linkage`:

- `pairs`: record_key_l, record_key_r (l < r), match_weight, match_probability, matched_by
  ("identifier" | "probabilistic") and decision ("link" | "review"): every pair linked, plus the
  pairs in the review band below the link threshold when the settings name one;
- `clusters`: record_key → cluster_id for every record (singletons included), the connected
  components of the linked pairs;
- `model`: the trained Splink model (prior, m and u per comparison level), kept so that a pair can
  be explained (`shuzhi.registry.explain`).

Given a `model` trained before (`link(settings, subset, model=…, population=records)`), nothing is
trained: the subset's pairs are scored with that model, and term frequencies are counted over the
`population` (every current record), so a pair scores as it would in a full build of the same
records. An incremental build links its new records this way.

Records sharing a valid identifier are linked whatever else differs; an identifier whose `valid`
flag is not true is never a key (it may still be compared as evidence).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_
from shuzhi.ingest.readers import ident as quoted
from shuzhi.registry.settings import Blocking, Comparison, RegistrySettings, check_sql

PAIR_SCHEMA = pa.schema(
    [
        ("record_key_l", pa.string()),
        ("record_key_r", pa.string()),
        ("match_weight", pa.float64()),
        ("match_probability", pa.float64()),
        ("matched_by", pa.string()),
        ("decision", pa.string()),
    ]
)


@dataclass
class Linkage:
    pairs: pa.Table
    clusters: pa.Table
    model: dict[str, Any]
    """The trained Splink model (`Linker.misc.save_model_to_json()`): prior and m, u per level."""
    records: pa.Table = field(repr=False)
    """The columns the model reads, for explaining a pair."""


def link(
    settings: RegistrySettings,
    records: pa.Table,
    model: dict | None = None,
    population: pa.Table | None = None,
) -> Linkage:
    """Link the records of one registry (see the module's docstring)."""
    from splink import DuckDBAPI

    needed = model_columns(settings)
    _check_records(settings, records, needed)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    model_table = records.select(needed)
    identifier_pairs = _identifier_pairs(con, settings, records)
    db_api = DuckDBAPI(con)
    if model is None:
        linker = _train(settings, db_api, model_table)
    else:
        linker = _stored_linker(db_api, model_table, model, records if population is None else population)
    link_at, review_at = bands(settings)
    predictions = linker.inference.predict(threshold_match_weight=review_at, warning_mode="never")
    probabilistic = con.sql(
        f"""
        SELECT least(record_key_l, record_key_r) AS record_key_l,
               greatest(record_key_l, record_key_r) AS record_key_r,
               match_weight, match_probability, 'probabilistic' AS matched_by,
               CASE WHEN match_weight >= {link_at!r} THEN 'link' ELSE 'review' END AS decision
        FROM {predictions.physical_name}
        """
    ).to_arrow_table()
    pairs = _merge_pairs(con, identifier_pairs, probabilistic)
    clusters = _clusters(db_api, records.select(["record_key"]), pairs)
    return Linkage(
        pairs=pairs, clusters=clusters, model=linker.misc.save_model_to_json(), records=model_table
    )


def _check_records(settings: RegistrySettings, records: pa.Table, needed: list[str]) -> None:
    missing = [c for c in needed if c not in records.column_names]
    if missing:
        raise InvalidInput(
            M_("registry %(name)s: unknown column %(column)s", name=settings.name, column=", ".join(missing))
        )
    if records.num_rows < 2:
        raise InvalidInput(M_("registry %(name)s: fewer than two records to link", name=settings.name))
    keys = records.column("record_key")
    if keys.null_count or pc.count_distinct(keys).as_py() != records.num_rows:
        raise InvalidInput(M_("registry %(name)s: record keys are missing or repeated", name=settings.name))


def model_columns(settings: RegistrySettings) -> list[str]:
    """The columns the model reads: record columns, identifiers, comparison and blocking columns."""
    wanted = ["record_key", "source_dataset"]
    for ident in settings.identifiers:
        wanted += [ident.column, ident.valid]
    for comparison in settings.comparisons:
        wanted += comparison.columns()
    for rule in _all_rules(settings):
        wanted += rule.columns or _sql_columns(rule.sql)
    return list(dict.fromkeys(wanted))


def _all_rules(settings: RegistrySettings) -> list[Blocking]:
    prior = settings.training.prior.rules if settings.training.prior else []
    return [*settings.blocking, *settings.training.em_blocking, *prior]


def _sql_columns(sql: str) -> list[str]:
    import sqlglot
    from sqlglot import exp

    return [c.name for c in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Column)]


def _identifier_pairs(
    con: duckdb.DuckDBPyConnection, settings: RegistrySettings, records: pa.Table
) -> pa.Table:
    """Records sharing a valid identifier, each linked to the smallest record key of its group (a star
    per group: the same clusters as every pair, without a quadratic number of rows)."""
    if not settings.identifiers:
        return PAIR_SCHEMA.empty_table()
    con.register("__identifier_records", records.select(_identifier_columns(settings)))
    selects = [
        f"""SELECT record_key, CAST("{i.column}" AS VARCHAR) AS id, {n} AS rule
            FROM __identifier_records WHERE "{i.valid}" IS TRUE AND "{i.column}" IS NOT NULL"""
        for n, i in enumerate(settings.identifiers)
    ]
    table = con.sql(
        f"""
        WITH keyed AS ({" UNION ALL ".join(selects)}),
        stars AS (SELECT min(record_key) OVER (PARTITION BY rule, id) AS record_key_l,
                         record_key AS record_key_r FROM keyed)
        SELECT DISTINCT record_key_l, record_key_r, CAST(NULL AS DOUBLE) AS match_weight,
               1.0::DOUBLE AS match_probability, 'identifier' AS matched_by, 'link' AS decision
        FROM stars WHERE record_key_l <> record_key_r
        """
    ).to_arrow_table()
    con.unregister("__identifier_records")
    return table.cast(PAIR_SCHEMA)


def _identifier_columns(settings: RegistrySettings) -> list[str]:
    return list(
        dict.fromkeys(["record_key", *(c for i in settings.identifiers for c in (i.column, i.valid))])
    )


def _merge_pairs(con: duckdb.DuckDBPyConnection, identifier: pa.Table, probabilistic: pa.Table) -> pa.Table:
    """One row per pair: an identifier link wins over the model's score of the same pair."""
    con.register("__id_pairs", identifier)
    con.register("__prob_pairs", probabilistic)
    table = con.sql(
        """
        SELECT * FROM __id_pairs
        UNION ALL
        SELECT p.* FROM __prob_pairs p ANTI JOIN __id_pairs i
          ON p.record_key_l = i.record_key_l AND p.record_key_r = i.record_key_r
        """
    ).to_arrow_table()
    con.unregister("__id_pairs")
    con.unregister("__prob_pairs")
    return table.cast(PAIR_SCHEMA)


def _clusters(db_api, nodes: pa.Table, pairs: pa.Table) -> pa.Table:
    """Connected components of the linked pairs (Splink's clustering), every record present."""
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    edges = pairs.filter(pc.equal(pairs.column("decision"), "link")).select(["record_key_l", "record_key_r"])
    if edges.num_rows == 0:
        keys = nodes.column("record_key").cast(pa.string())
        return pa.table({"record_key": keys, "cluster_id": keys}).sort_by("record_key")
    clustered = cluster_pairwise_predictions_at_threshold(
        nodes, edges, db_api=db_api, node_id_column_name="record_key"
    )
    table = db_api.duckdb_con.sql(
        f"SELECT record_key, cluster_id FROM {clustered.physical_name} ORDER BY record_key"
    ).to_arrow_table()
    return table.cast(pa.schema([("record_key", pa.string()), ("cluster_id", pa.string())]))


def bands(settings: RegistrySettings) -> tuple[float, float]:
    """The link and review thresholds as match weights (the review band defaults to none)."""
    t = settings.thresholds
    as_weight = (lambda p: math.log2(p / (1 - p))) if t.scale == "probability" else float
    link_at = as_weight(t.link)
    return link_at, as_weight(t.review) if t.review is not None else link_at


def _trained_linker(settings: RegistrySettings, db_api, table: pa.Table):
    from splink import Linker, SettingsCreator

    creator = SettingsCreator(
        link_type="dedupe_only" if settings.dedupe_within_sources else "link_only",
        unique_id_column_name="record_key",
        source_dataset_column_name="source_dataset",
        comparisons=[splink_comparison(c, table.schema) for c in settings.comparisons],
        blocking_rules_to_generate_predictions=[splink_rule(r) for r in settings.blocking],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        max_iterations=settings.training.max_iterations,
    )
    frame = db_api.register(table, table_name="__registry_records")
    # Splink warns when one EM session sees no pair at some level (its m stays as the other sessions
    # left it): a note on the training sample, printed on every build's console; the stored model and
    # the explanations show every m that was used.
    linker = Linker(frame, creator, log_level=logging.ERROR)
    training = settings.training
    if training.prior:
        linker.training.estimate_probability_two_random_records_match(
            [splink_rule(r) for r in training.prior.rules], recall=training.prior.recall
        )
    linker.training.estimate_u_using_random_sampling(max_pairs=training.u.max_pairs, seed=training.u.seed)
    for rule in training.em_blocking:
        _em_session(linker, splink_rule(rule), training.em_max_pairs, training.max_iterations)
    return linker


def _train(settings: RegistrySettings, db_api, table: pa.Table):
    """`_trained_linker`, with a failure of training (no pair an EM rule selects, a level no pair
    reaches…) said as what it is: settings that do not fit these records."""
    from splink.internals.exceptions import SplinkException

    try:
        return _trained_linker(settings, db_api, table)
    except (SplinkException, ValueError, ZeroDivisionError) as exc:
        raise InvalidInput(
            M_(
                "registry %(name)s: the model could not be trained on %(n)s records (%(why)s): check the "
                "training and blocking rules of its settings",
                name=settings.name,
                n=table.num_rows,
                why=str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__,
            ),
            where="training",
        ) from exc


def _stored_linker(db_api, table: pa.Table, model: dict, population: pa.Table):
    """A linker scoring with a model trained before; term frequencies counted over `population`."""
    from splink import Linker

    linker = Linker(db_api.register(table, table_name="__registry_records"), model, log_level=logging.ERROR)
    for column in _tf_columns(model):
        counted = duckdb.connect()
        try:
            counted.register("p", population.select([column]))
            tf = counted.sql(
                f"""SELECT {quoted(column)}, count(*) / sum(count(*)) OVER () AS {quoted("tf_" + column)}
                    FROM p WHERE {quoted(column)} IS NOT NULL GROUP BY ALL"""
            ).to_arrow_table()
        finally:
            counted.close()
        linker.table_management.register_term_frequency_lookup(
            db_api.register(tf, table_name=f"__registry_tf_{column}"), column
        )
    return linker


def _tf_columns(model: dict) -> list[str]:
    """The columns a model adjusts for term frequency."""
    found = [
        level["tf_adjustment_column"]
        for comparison in model.get("comparisons", [])
        for level in comparison.get("comparison_levels", [])
        if level.get("tf_adjustment_column")
    ]
    return list(dict.fromkeys(found))


def _em_session(linker, rule, max_pairs: float | None, iterations: int) -> None:
    """One EM session over `rule`. A level that no true match reaches (a column every match agrees
    on) sees its m fall towards zero at each iteration until Splink refuses it as below 1e-300: the
    session then runs again stopping after half as many iterations, down to one."""
    import dataclasses

    owner = linker._settings_obj
    configured = owner.training_settings
    try:
        while True:
            owner.training_settings = dataclasses.replace(configured, max_iterations=iterations)
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=max_pairs)
                return
            except ValueError as e:
                if "m_probability" not in str(e) or iterations <= 1:
                    raise
                iterations //= 2
    finally:
        owner.training_settings = configured


def splink_rule(rule: Blocking):
    """A checked blocking rule as Splink takes it: `block_on` columns, or the regenerated SQL."""
    from splink import block_on

    if rule.columns is not None:
        return block_on(*rule.columns)
    # The settings were checked against the record columns on load; this regenerates the SQL from
    # the parsed tree so that only the checked form ever runs.
    return check_sql(rule.sql, set(_sql_columns(rule.sql)))


def splink_comparison(comparison: Comparison, schema: pa.Schema | None = None):
    """One comparison of the settings as a Splink comparison: a null level, an exact level (with
    term frequency adjustment when asked), the kind's levels, and an else level."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    column = comparison.column
    levels = [cll.NullLevel(column), cll.ExactMatchLevel(column, term_frequency_adjustments=comparison.tf)]
    levels += _kind_levels(comparison, schema)
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(levels, output_column_name=column, comparison_description=comparison.kind)


def _kind_levels(comparison: Comparison, schema: pa.Schema | None) -> list:
    import splink.comparison_level_library as cll
    from splink import ColumnExpression

    c, column = comparison, comparison.column
    match c.kind:
        case "exact":
            return []
        case "levenshtein" | "damerau_levenshtein":
            level = cll.LevenshteinLevel if c.kind == "levenshtein" else cll.DamerauLevenshteinLevel
            return [level(column, int(t)) for t in c.thresholds]
        case "jaro_winkler" | "jaro":
            level = cll.JaroWinklerLevel if c.kind == "jaro_winkler" else cll.JaroLevel
            return [level(column, t) for t in c.thresholds]
        case "date_difference":
            is_text = schema is None or pa.types.is_string(schema.field(column).type)
            typo = (
                [cll.DamerauLevenshteinLevel(column, c.typo_distance)] if c.typo_distance and is_text else []
            )
            return typo + [
                cll.AbsoluteDateDifferenceLevel(
                    column, input_is_string=is_text, threshold=t, metric=c.unit, datetime_format=c.date_format
                )
                for t in c.thresholds
            ]
        case "percentage_difference":
            return [cll.PercentageDifferenceLevel(column, t) for t in c.thresholds]
        case "pinyin_hanzi":
            # The exact level above is on the hanzi: reaching these means the hanzi differ.
            pinyin = c.pinyin_column
            same = cll.ExactMatchLevel(pinyin).configure(label_for_charts="pinyin equal, hanzi differ")
            return [same] + [cll.JaroWinklerLevel(pinyin, t) for t in c.thresholds]
        case "prefix":
            return [
                cll.ExactMatchLevel(ColumnExpression(column).substr(1, n)).configure(
                    label_for_charts=f"first {n} characters equal"
                )
                for n in c.lengths
            ]
    raise AssertionError(c.kind)  # the settings schema admits only the kinds above
