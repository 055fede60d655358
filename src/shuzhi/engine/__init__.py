"""Query engines of the data plane: the DuckDB sandbox (default); Spark takes the same governed SQL."""
