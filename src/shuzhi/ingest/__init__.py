"""Ingestion: read a source (file, URL, SQL database) into an immutable, profiled Parquet dataset version."""

from shuzhi.ingest.service import IngestReport, Staged, commit_staged, commit_to, ingest_source, stage_source

__all__ = ["IngestReport", "Staged", "commit_staged", "commit_to", "ingest_source", "stage_source"]
