"""DCAT exports of the published open-data catalog: DCAT-AP 3.0.1 (Turtle, JSON-LD) and DCAT-US 1.1 (data.json)."""
