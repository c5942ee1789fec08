"""Working days in Asia/Shanghai: weekends and configured public holidays are skipped.

A deadline of N working days from a moment ends at the end (24:00 local) of the N-th working
day after the day the report arrived; a report that arrives on a non-working day starts
counting from the next working day, as offices do. Make-up working days (调休, a Saturday
that is worked) are configured too, so the calendar follows the State Council's yearly notice.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: Collection[date] = field(default_factory=frozenset)
    workdays: Collection[date] = field(default_factory=frozenset)  # weekend days that are worked

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The end of the ``days``-th working day after ``start``'s local day, in UTC."""
        day = start.astimezone(SHANGHAI).date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=SHANGHAI)
        return end.astimezone(UTC)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Whole working days after ``start``'s local day up to and including ``end``'s."""
        a = start.astimezone(SHANGHAI).date()
        b = end.astimezone(SHANGHAI).date()
        count = 0
        while a < b:
            a += timedelta(days=1)
            if self.is_working_day(a):
                count += 1
        return count


def parse_days(raw: str | None) -> frozenset[date]:
    """``2026-10-01,2026-10-02`` → dates; blanks ignored, a bad date raises ValueError."""
    if not raw:
        return frozenset()
    return frozenset(date.fromisoformat(part.strip()) for part in raw.split(",") if part.strip())
