"""Open data: releasing datasets to the public, and keeping people in them from being re-identified."""
