"""Sensitive-data discovery and grading (数据分类分级): detectors, column decisions, grading rules, review."""

from shuzhi.classify.engine import ColumnResult, Scanner


def classify_version(session, settings, version, **kw):
    """Scan and grade one dataset version (called by ingest through the `version_ingested` hook)."""
    from shuzhi.classify.grading import classify_version as _classify

    return _classify(session, settings, version, **kw)


__all__ = ["ColumnResult", "Scanner", "classify_version"]
