"""The CKAN-compatible Action API: public, read-only, over published open data."""
