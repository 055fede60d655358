"""De-identification of tables before release: hierarchies, k-anonymity and l-diversity, their checks."""

from shuzhi.opendata.disclosure.check import Check, check
from shuzhi.opendata.disclosure.fulldomain import generalise
from shuzhi.opendata.disclosure.hierarchies import (
    Dates,
    Hierarchy,
    NumericRanges,
    Postcodes,
    Regions,
    ages,
)
from shuzhi.opendata.disclosure.mondrian import mondrian
from shuzhi.opendata.disclosure.plan import Plan, Release, Report

__all__ = [
    "Check",
    "Dates",
    "Hierarchy",
    "NumericRanges",
    "Plan",
    "Postcodes",
    "Regions",
    "Release",
    "Report",
    "ages",
    "check",
    "generalise",
    "mondrian",
]
