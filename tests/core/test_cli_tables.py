"""CLI listings never cut a value: identifiers stay whole on an 80-column terminal, and on one too
narrow even for that everything folds onto more lines instead of ending in an ellipsis."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from shuzhi.cli.common import ListTable

IDS = ["hz-housing-public-rental", "hz-health-family-doctor", "hz-xh-samr-individual"]
TITLE = "公共租赁住房保障对象信息（含历史记录与家庭成员）"


def _render(table: ListTable, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(table)
    return out.getvalue()


def _listing() -> ListTable:
    table = ListTable("identifier", "名称 title", "dept", "共享 share", "grade", whole=("dept",))
    for ident in IDS:
        table.add_row(ident, TITLE, "HZ-HOUSING", "有条件共享", "L4")
    return table


def test_identifiers_stay_whole_at_80_columns():
    text = _render(_listing(), 80)
    assert "…" not in text
    for ident in IDS:
        assert ident in text  # on one line, uncut
    assert "HZ-HOUSING" in text
    assert max(len(line) for line in text.splitlines()) <= 80


@settings(max_examples=40, deadline=None)
@given(
    width=st.integers(min_value=30, max_value=200),
    values=st.lists(st.text(alphabet="abcdefghij-_.0123456789信息数据", min_size=1, max_size=40), min_size=1),
)
def test_no_width_cuts_a_value(width, values):
    table = ListTable("identifier", "note", "code", whole=("code",))
    for v in values:
        table.add_row(v, v + " " + v, v)
    text = _render(table, width)
    assert "…" not in text
    printed = [ch for ch in text if ch not in "│┃┏┓┗┛┡┩└┘┳┻╇┴━─ \n"]
    # folded or not, every character of every value is printed, and nothing else is
    expected = len("identifiernotecode") + sum(4 * len(v) for v in values)
    assert len(printed) == expected
