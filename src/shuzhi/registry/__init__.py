"""Base registries by entity resolution: records of many datasets linked into one entry per person or firm."""
