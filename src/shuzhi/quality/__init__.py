"""Data quality: rule sets declared per dataset, compiled to SQL and run in one DuckDB scan of a version; results and scores."""
