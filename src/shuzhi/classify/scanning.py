"""Scanning a dataset version: the deployment's scanner, a version's column results, its people count."""

from __future__ import annotations

import logging

import duckdb
import pyarrow as pa

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.classify.detectors import detector_set
from shuzhi.classify.engine import ColumnResult, Scanner
from shuzhi.classify.hints import NameHints
from shuzhi.classify.rules import Rules
from shuzhi.errors import ServerFailure
from shuzhi.i18n import M_
from shuzhi.storage import version_store

log = logging.getLogger(__name__)

IDENTIFIER_ORDER = (
    "resident_id",
    "social_security",
    "passport",
    "hk_macao_permit",
    "mobile",
    "email",
    "person_name",
)
"""Which column counts the individuals of a dataset (for volume rules), best first."""


def build_scanner(settings, *, full: bool = False) -> Scanner:
    """The detector set of this deployment (built-in + declared + plugins) with its name hints."""
    detectors, config = detector_set(settings)
    hints = NameHints()
    for cat, words in config.hints_add.items():
        hints.extend(cat, words)
    for cat, words in config.hints_negative.items():
        hints.extend(cat, words, negative=True)
    for cat, words in config.hints_remove.items():
        hints.remove(cat, words)
    return Scanner(
        detectors,
        hints,
        sample_rows=settings.classify.sample_rows,
        full=full,
        min_values=settings.classify.min_sensitive_values,
    )


def scan_version(
    settings, version: DatasetVersion, dataset: Dataset, *, full: bool = False
) -> list[ColumnResult]:
    """Column decisions of a version, reading only its sample (and, for a full scan, the candidate columns)."""
    context = " ".join(filter(None, [dataset.title_zh, dataset.title_en, dataset.theme]))
    try:
        return build_scanner(settings, full=full).scan_parquet(
            version_store(settings).path(version.path), context=context
        )
    except (OSError, pa.ArrowInvalid) as exc:
        if "CRC checksum verification failed" in str(exc):
            from shuzhi.ingest.integrity import refused

            raise refused(version.dataset_id, version.number) from None
        # The stored file is the server's, not the caller's: its path and the reader's text stay in the log.
        log.error("cannot read version file %s", version.path, exc_info=exc)
        raise ServerFailure(
            M_("a stored version file could not be read; the failure is logged for the operators"),
            where=f"{dataset.identifier} v{version.number}",
        ) from None


def count_persons(settings, rules: Rules, version: DatasetVersion, columns: dict[str, str]) -> int:
    """Distinct individuals, counted on the best identifier column of the whole version."""
    # A deployment's own direct identifiers (e.g. a patient number) count people too, after the built-in ones.
    declared = sorted({c for c in columns.values() if rules.kind_of(c) == "direct_identifier"})
    for cat in dict.fromkeys([*IDENTIFIER_ORDER, *declared]):
        name = next((n for n, c in columns.items() if c == cat), None)
        if name is None:
            continue
        path = str(version_store(settings).path(version.path)).replace("'", "''")
        quoted = '"' + name.replace('"', '""') + '"'
        con = duckdb.connect()
        try:
            return int(
                con.execute(f"SELECT approx_count_distinct({quoted}) FROM read_parquet('{path}')").fetchall()[
                    0
                ][0]
            )
        except duckdb.Error:
            return version.row_count
        finally:
            con.close()
    return 0


def require_intact(settings, version: DatasetVersion) -> None:
    """Grade only the ingested bytes (a damaged file is refused; `verify-data` or a read marks it)."""
    from shuzhi.ingest.integrity import damage_of, refused

    if version.damaged_at is not None or damage_of(
        version_store(settings).path(version.path), version.sha256, version.byte_size
    ):
        raise refused(version.dataset_id, version.number)
