"""Generalisation hierarchies: the built-in kinds and ARX-format CSVs, good and bad."""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
import pytest

from shuzhi.errors import InvalidInput
from shuzhi.opendata.disclosure import Dates, Hierarchy, NumericRanges, Postcodes, Regions, ages


def levels_of(spec, values, column="c"):
    return [list(level) for level in spec.labels(pa.array(values), column)]


def test_dates_day_month_quarter_year_top():
    got = levels_of(Dates(), [dt.date(2024, 5, 17), dt.date(2023, 12, 31)])
    assert got == [
        ["2024-05-17", "2023-12-31"],
        ["2024-05", "2023-12"],
        ["2024-Q2", "2023-Q4"],
        ["2024", "2023"],
        ["*", "*"],
    ]


def test_dates_read_from_text_and_refuse_other_text():
    assert levels_of(Dates(), ["2020-02-29"])[2] == ["2020-Q1"]
    with pytest.raises(InvalidInput, match="birth"):
        Dates().labels(pa.array(["not a date"]), "birth")


def test_ages_in_nested_bands():
    assert levels_of(ages(), [0, 37, 99]) == [
        ["0", "37", "99"],
        ["0-4", "35-39", "95-99"],
        ["0-9", "30-39", "90-99"],
        ["0-19", "20-39", "80-99"],
        ["*", "*", "*"],
    ]


def test_numeric_ranges_with_fractions_and_bands_that_do_not_nest():
    assert levels_of(NumericRanges((0.5, 1.0)), [1.25])[1:] == [["[1, 1.5)"], ["[1, 2)"], ["*"]]
    with pytest.raises(InvalidInput, match="not a multiple"):
        NumericRanges((5, 7))
    # Infinities fall in no band: said as they are, never as a band made of an integer's overflow.
    assert levels_of(NumericRanges((10, 50)), [12.0, float("inf"), float("-inf")]) == [
        ["12", "inf", "-inf"],
        ["10-19", "inf", "-inf"],
        ["0-49", "inf", "-inf"],
        ["*", "*", "*"],
    ]
    for width in (float("nan"), float("inf")):  # NaN is neither a width nor <= 0
        with pytest.raises(InvalidInput, match="positive"):
            NumericRanges((width,))
    with pytest.raises(InvalidInput, match="numbers"):
        ages().labels(pa.array(["old"]), "age")


def test_regions_district_city_province():
    assert levels_of(Regions(), ["110105", "440305"]) == [
        ["110105", "440305"],
        ["110100", "440300"],
        ["110000", "440000"],
        ["*", "*"],
    ]
    with pytest.raises(InvalidInput, match="11010X"):
        Regions().labels(pa.array(["11010X"]), "district")


def test_postcodes_drop_trailing_digits():
    assert levels_of(Postcodes(), ["100080"]) == [["100080"], ["1000**"], ["10****"], ["*"]]
    with pytest.raises(InvalidInput, match="1000"):
        Postcodes().labels(pa.array(["1000"]), "zip")


CSV = """Bachelors;Undergraduate;Higher education;*
Masters;Graduate;Higher education;*
11th;High School;Secondary education;*
"""


def test_csv_in_arx_format():
    h = Hierarchy.from_csv(io.StringIO(CSV))
    assert levels_of(h, ["Masters", "11th"]) == [
        ["Masters", "11th"],
        ["Graduate", "High School"],
        ["Higher education", "Secondary education"],
        ["*", "*"],
    ]


def test_csv_without_a_single_top_gets_one():
    h = Hierarchy.from_csv(io.StringIO("a;x\nb;y\n"))
    assert levels_of(h, ["a", "b"])[-1] == ["*", "*"]


def test_csv_matches_numbers_by_their_text():
    h = Hierarchy.from_csv(io.StringIO("1;0-4;*\n2;0-4;*\n"))
    assert levels_of(h, [2, 1])[1] == ["0-4", "0-4"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a;x;*\nb;y\n", "Row 2"),
        ("a;x;*\na;y;*\n", "appears twice"),
        ("a;x;p\nb;x;q\n", "not a tree"),
        ("", "no rows"),
        (";x;*\n", "no value"),
    ],
)
def test_bad_csv_says_where(text, says):
    with pytest.raises(InvalidInput, match=says):
        Hierarchy.from_csv(io.StringIO(text))


def test_value_missing_from_the_hierarchy_is_named():
    h = Hierarchy.from_csv(io.StringIO(CSV))
    with pytest.raises(InvalidInput, match="Doctorate") as e:
        h.labels(pa.array(["Masters", "Doctorate"]), "education")
    assert e.value.where == "education"
