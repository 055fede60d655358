"""Which columns of a delimited text file hold codes, kept as text (leading zeros and all), and which
hold dates written as YYYYMMDD integers, read as dates — decided from the header and the first rows."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from shuzhi.ingest.text import TextLayout

SAMPLE_BYTES = 4 * 2**20
"""How much of the file's start is read to decide (DuckDB guesses types from about as many rows)."""
SAMPLE_ROWS = 20_480

CODE_NAME = re.compile(
    r"电话|手机|号码|证件|身份证|编号|代码|编码|邮编|邮政编码|账号|帐号|卡号|工号|学号|识别号|信用代码|区划|门牌"
    r"|(?i:phone|mobile|tel(?:ephone)?\b|fax|zip|post(?:al)?_?code|code\b"
    r"|id_?(?:no|number|card)|sfzh|lxdh|yzbm)"
)
"""A column named like a phone number, an identity number, a code or a postcode: its values are
labels. A bare `id` or `…_id` is a row's own key, counted and compared as a number: not matched."""
DATE_NAME = re.compile(r"日期|生日|出生|时间|(?i:date|birth|(?:^|_)dt$|day$)")
LEADING_ZERO = re.compile(r"[+-]?0\d+")
MOBILE = re.compile(r"1\d{10}")
ID_NUMBER = re.compile(r"\d{17}[\dXx]|\d{15}")
YYYYMMDD = re.compile(r"(19|20)\d{6}")


@dataclass
class ColumnKinds:
    """Columns to read as text, and columns of YYYYMMDD integers to read as dates, with why."""

    text: dict[str, str] = field(default_factory=dict)
    dates: set[str] = field(default_factory=set)


def scan(path: Path, layout: TextLayout) -> ColumnKinds:
    """Decide from the header and the first rows of a UTF-8 delimited file."""
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        head = f.read(SAMPLE_BYTES)
    complete = len(head) < SAMPLE_BYTES
    rows = _rows(head, layout.delimiter, SAMPLE_ROWS + 1, complete)[1:]  # the header is known
    names = layout.header
    quoted_everywhere = bool(rows) and all(all(q for _, q in row if _) for row in rows)
    kinds = ColumnKinds()
    for i, name in enumerate(names):
        cells = [row[i] for row in rows if i < len(row)]
        values = [v for v, _ in cells if v != ""]
        why = _why_text(name, cells, values, quoted_everywhere)
        if why:
            kinds.text[name] = why
        elif values and DATE_NAME.search(name) and all(_is_yyyymmdd(v) for v in values):
            kinds.dates.add(name)
    return kinds


def _why_text(name: str, cells: list[tuple[str, bool]], values: list[str], quoted_everywhere: bool) -> str:
    if CODE_NAME.search(name):
        return "name"
    if not quoted_everywhere and any(q for v, q in cells if v != ""):
        return "quoted"  # the file quotes this column's values and not every value: it means text
    if any(LEADING_ZERO.fullmatch(v) for v in values):
        return "leading zero"
    if values and all(MOBILE.fullmatch(v) or ID_NUMBER.fullmatch(v) for v in values):
        return "phone or ID number"
    return ""


def _is_yyyymmdd(value: str) -> bool:
    if not YYYYMMDD.fullmatch(value):
        return False
    try:
        dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


def _rows(text: str, delimiter: str, limit: int, complete: bool) -> list[list[tuple[str, bool]]]:
    """Rows of the text, each field with whether it was quoted (RFC 4180 quoting: doubled quotes
    inside, line breaks allowed); a last row cut off by the sample's end is left out."""
    rows: list[list[tuple[str, bool]]] = []
    row: list[tuple[str, bool]] = []
    buf: list[str] = []
    in_quotes = quoted = False
    at_start = True
    i, n = 0, len(text)
    while i < n and len(rows) < limit:
        if at_start and not row and not buf:  # a line starts: without a quote it splits as it is
            end = text.find("\n", i)
            line = text[i:] if end == -1 else text[i:end]
            if '"' not in line:
                if end == -1 and not complete:
                    break  # cut off by the sample's end
                rows.append([(v.strip(), False) for v in line.rstrip("\r").split(delimiter)])
                i = n if end == -1 else end + 1
                continue
        c = text[i]
        if in_quotes:
            if c == '"' and i + 1 < n and text[i + 1] == '"':
                buf.append('"')
                i += 1
            elif c == '"':
                in_quotes = False
            else:
                buf.append(c)
        elif c == '"' and at_start:
            in_quotes = quoted = True
            at_start = False
        elif c == delimiter or c == "\n":
            row.append(("".join(buf).strip(), quoted))
            buf, quoted, at_start = [], False, True
            if c == "\n":
                rows.append(row)
                row = []
        elif c != "\r":
            buf.append(c)
            at_start = False
        i += 1
    if (buf or row) and complete and len(rows) < limit and not in_quotes:
        row.append(("".join(buf).strip(), quoted))
        rows.append(row)
    return rows
