"""Working days for review deadlines: weekends, China's public holidays and a deployment's own list."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_


class WorkCalendar:
    """Decides whether a day is a working day; the holidays file overrides the national calendar."""

    def __init__(
        self,
        *,
        national: str = "cn",
        extra_holidays: set[date] | None = None,
        extra_workdays: set[date] | None = None,
    ):
        self.national = national
        self.extra_holidays = extra_holidays or set()
        self.extra_workdays = extra_workdays or set()

    def is_workday(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        if self.national == "cn":
            national = _cn_workday(day)
            if national is not None:
                return national
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (start itself not counted)."""
        day = start
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (negative when end is earlier)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for i in range(1, (end - start).days + 1) if self.is_workday(start + timedelta(days=i)))


def _cn_workday(day: date) -> bool | None:
    """chinese-calendar's answer, or None for years it does not cover (weekends apply then)."""
    import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def parse_holidays(text: str) -> tuple[set[date], set[date]]:
    holidays: set[date] = set()
    workdays: set[date] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        day_text, _, kind = line.partition(" ")
        try:
            day = date.fromisoformat(day_text.strip())
        except ValueError:
            raise InvalidInput(M_("bad date on line %(number)s: %(raw)r", number=number, raw=raw)) from None
        (workdays if kind.strip().lower() in ("workday", "工作日", "班") else holidays).add(day)
    return holidays, workdays


@lru_cache(maxsize=8)
def _load(national: str, path: str | None, mtime: float) -> WorkCalendar:
    holidays, workdays = parse_holidays(Path(path).read_text(encoding="utf-8")) if path else (set(), set())
    return WorkCalendar(national=national, extra_holidays=holidays, extra_workdays=workdays)


def calendar_for(settings) -> WorkCalendar:
    """The calendar configured in settings.exchange (reloaded when the holidays file changes)."""
    cfg = settings.exchange
    path = cfg.holidays_file
    if path is not None and not Path(path).exists():
        raise InvalidInput(M_("holidays file not found: %(path)s", path=path))
    mtime = Path(path).stat().st_mtime if path else 0.0
    return _load(cfg.holiday_calendar, str(path) if path else None, mtime)
