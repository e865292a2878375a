"""Time limits counted on the 2025/2026 State Council holiday calendar (engine/deadlines/holidays.py).

Every expected date below was counted by hand on the notice table in DOMAIN.md; the day-by-day
count is written next to each case where it is not obvious. Notation: "=k" is the k-th working day.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from engine.clock import SHANGHAI
from engine.deadlines.holidays import (
    UNITS,
    Calendar,
    CalendarDay,
    load_seed_days,
    load_seed_time_limits,
    parse_start,
)
from engine.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[1]

# (name, first day off, last day off, make-up working days) — DOMAIN.md "Holiday calendar data".
NOTICE = [
    ("元旦", date(2025, 1, 1), date(2025, 1, 1), []),
    ("春节", date(2025, 1, 28), date(2025, 2, 4), [date(2025, 1, 26), date(2025, 2, 8)]),
    ("清明节", date(2025, 4, 4), date(2025, 4, 6), []),
    ("劳动节", date(2025, 5, 1), date(2025, 5, 5), [date(2025, 4, 27)]),
    ("端午节", date(2025, 5, 31), date(2025, 6, 2), []),
    ("国庆节、中秋节", date(2025, 10, 1), date(2025, 10, 8), [date(2025, 9, 28), date(2025, 10, 11)]),
    ("元旦", date(2026, 1, 1), date(2026, 1, 3), [date(2026, 1, 4)]),
    ("春节", date(2026, 2, 15), date(2026, 2, 23), [date(2026, 2, 14), date(2026, 2, 28)]),
    ("清明节", date(2026, 4, 4), date(2026, 4, 6), []),
    ("劳动节", date(2026, 5, 1), date(2026, 5, 5), [date(2026, 5, 9)]),
    ("端午节", date(2026, 6, 19), date(2026, 6, 21), []),
    ("中秋节", date(2026, 9, 25), date(2026, 9, 27), []),
    ("国庆节", date(2026, 10, 1), date(2026, 10, 7), [date(2026, 9, 20), date(2026, 10, 10)]),
]
MAKE_UP_DAYS = [d for *_, make_up in NOTICE for d in make_up]


@pytest.fixture(scope="module")
def cal() -> Calendar:
    return Calendar.from_seed()


def shanghai(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


# --- seed data -----------------------------------------------------------------------------------


def test_seed_calendar_covers_2025_and_2026(cal: Calendar) -> None:
    assert cal.years == {2025, 2026}
    days, years = load_seed_days()
    assert sorted(years) == [2025, 2026]
    # 2025: 1+8+3+5+3+8 = 28 days off, 5 make-up days; 2026: 3+9+3+5+3+3+7 = 33 days off, 6 make-up days.
    by_year = {y: [d for d in days if d.day.year == y] for y in years}
    assert sum(d.kind == "holiday" for d in by_year[2025]) == 28
    assert sum(d.kind == "workday" for d in by_year[2025]) == 5
    assert sum(d.kind == "holiday" for d in by_year[2026]) == 33
    assert sum(d.kind == "workday" for d in by_year[2026]) == 6


def test_seed_holidays_match_the_state_council_notice(cal: Calendar) -> None:
    expected_off: set[date] = set()
    for name, first, last, make_up in NOTICE:
        day = first
        while day <= last:
            expected_off.add(day)
            assert not cal.is_working_day(day), day
            entry = cal.entry(day)
            assert entry is not None and entry.kind == "holiday" and name in entry.name
            day += timedelta(days=1)
        for d in make_up:
            entry = cal.entry(d)
            assert entry is not None and entry.kind == "workday" and entry.name.endswith("调休上班")
    days, _ = load_seed_days()
    assert {d.day for d in days if d.kind == "holiday"} == expected_off
    assert {d.day for d in days if d.kind == "workday"} == set(MAKE_UP_DAYS)


@pytest.mark.parametrize("day", MAKE_UP_DAYS, ids=lambda d: d.isoformat())
def test_make_up_weekend_day_is_a_working_day(cal: Calendar, day: date) -> None:
    assert day.weekday() >= 5
    assert cal.is_working_day(day)


def test_ordinary_weekend_is_a_rest_day_and_weekday_works(cal: Calendar) -> None:
    assert not cal.is_working_day(date(2025, 3, 8))  # Saturday
    assert not cal.is_working_day(date(2025, 3, 9))  # Sunday
    assert cal.is_working_day(date(2025, 3, 10))  # Monday


def test_holiday_json_has_one_entry_per_day_in_the_documented_format() -> None:
    raw = json.loads((ROOT / "engine" / "data" / "holidays.json").read_text(encoding="utf-8"))
    assert set(raw) == {"years"}
    assert set(raw["years"]) == {"2025", "2026"}
    for year, entries in raw["years"].items():
        dates = [e["date"] for e in entries]
        assert len(dates) == len(set(dates))
        for e in entries:
            assert set(e) == {"date", "kind", "name"}
            assert e["date"].startswith(year)
            assert e["kind"] in ("holiday", "workday")


REQUIRED_LIMIT_KEYS = {
    "simplified_decision",
    "simplified_payment",
    "simplified_fine_handover",
    "simplified_filing_record",
    "lead_verification",
    "lead_verification_extension",
    "case_decision",
    "case_decision_extension",
    "evidence_preservation",
    "statement_period",
    "hearing_request",
    "hearing_notice",
    "hearing_report",
    "legal_review",
    "service",
    "payment",
    "publication",
    "publication_withdrawal",
    "case_closing",
    "commitment_rectification",
    "commitment_verification",
    "reconsideration_period",
    "internal_approval",
    "investigation",
}


def test_time_limit_seed_loads_with_every_key_the_processes_use() -> None:
    limits = load_seed_time_limits()
    keys = [t["key"] for t in limits]
    assert len(keys) == len(set(keys))
    assert REQUIRED_LIMIT_KEYS <= set(keys)
    for t in limits:
        assert set(t) - {"units"} == {
            "key",
            "name",
            "amount",
            "unit",
            "legal_basis",
            "min",
            "max",
            "warn_before",
            "description",
        }, t["key"]
        assert t["unit"] in UNITS
        # Alternative units are offered only for agency settings, always alongside the default one.
        assert t["unit"] in t.get("units", [t["unit"]]) and set(t.get("units", [])) <= set(UNITS)
        assert t["name"] and t["legal_basis"] and t["description"]


@pytest.mark.parametrize("limit", load_seed_time_limits(), ids=lambda t: t["key"])
def test_time_limit_default_lies_within_its_bounds(limit: dict) -> None:
    for field in ("amount", "min", "max", "warn_before"):
        assert isinstance(limit[field], int) and not isinstance(limit[field], bool)
    assert 1 <= limit["min"] <= limit["amount"] <= limit["max"]
    # A lead of the whole period (e.g. 1 of 1 working day) means 临期 from the start of the last day.
    assert 0 <= limit["warn_before"] <= limit["amount"]


def test_statutory_time_limits_are_their_own_bounds() -> None:
    limits = {t["key"]: t for t in load_seed_time_limits()}

    def spec(key: str) -> tuple[int, str, int, int]:
        t = limits[key]
        return t["amount"], t["unit"], t["min"], t["max"]

    assert spec("case_decision")[:2] == (90, "natural_days") and spec("case_decision")[3] == 90
    assert spec("case_decision_extension")[3] == 30
    assert spec("payment") == (15, "natural_days", 15, 15)
    assert spec("simplified_payment") == (15, "natural_days", 15, 15)
    assert spec("hearing_request") == (5, "working_days", 5, 5)
    assert spec("statement_period") == (5, "working_days", 5, 5)
    # 法 Art. 64(2) fixes a minimum notice: at least 7 working days.
    assert spec("hearing_notice")[:3] == (7, "working_days", 7)
    assert spec("simplified_fine_handover") == (2, "working_days", 1, 2)
    assert spec("simplified_filing_record") == (3, "working_days", 1, 3)
    assert spec("evidence_preservation")[3] == 7
    assert spec("service")[3] == 7
    assert spec("publication")[:2] == (7, "working_days") and spec("publication")[3] == 20
    assert spec("publication_withdrawal")[3] == 3
    assert spec("legal_review") == (10, "working_days", 5, 10)
    assert spec("lead_verification")[:2] == (15, "working_days")
    assert spec("internal_approval") == (3, "working_days", 1, 10)
    assert spec("investigation") == (30, "natural_days", 1, 90)
    assert spec("reconsideration_period")[:2] == (60, "natural_days")


# --- working days around holidays and make-up days ------------------------------------------------


def test_statement_period_skips_spring_festival_2026(cal: Calendar) -> None:
    # Notice served Fri 2026-02-13. Sat 02-14 (make-up)=1, 02-15..02-23 春节 off,
    # Tue 02-24=2, Wed 02-25=3, Thu 02-26=4, Fri 02-27=5.
    assert cal.period_end(date(2026, 2, 13), 5, "working_days") == date(2026, 2, 27)


def test_five_working_days_from_the_day_before_spring_festival_2025(cal: Calendar) -> None:
    # Start Mon 2025-01-27. 01-28..02-04 春节 off; Wed 02-05=1, Thu 02-06=2, Fri 02-07=3,
    # Sat 02-08 (make-up)=4, Sun 02-09 rest, Mon 02-10=5.
    assert cal.add_working_days(date(2025, 1, 27), 5) == date(2025, 2, 10)


def test_period_counts_make_up_sunday_jan_26_2025(cal: Calendar) -> None:
    # Start Fri 2025-01-24. Sat 01-25 rest, Sun 01-26 (make-up)=1, Mon 01-27=2.
    assert cal.add_working_days(date(2025, 1, 24), 1) == date(2025, 1, 26)
    assert cal.period_end(date(2025, 1, 24), 2, "working_days") == date(2025, 1, 27)


def test_period_counts_make_up_sunday_apr_27_2025(cal: Calendar) -> None:
    # Start Fri 2025-04-25. Sat 04-26 rest, Sun 04-27 (make-up)=1, Mon 04-28=2, Tue 04-29=3,
    # Wed 04-30=4, 05-01..05-05 劳动节 off, Tue 05-06=5.
    assert cal.add_working_days(date(2025, 4, 25), 1) == date(2025, 4, 27)
    assert cal.add_working_days(date(2025, 4, 25), 5) == date(2025, 5, 6)


def test_service_period_counts_both_national_day_make_up_days_2025(cal: Calendar) -> None:
    # 送达 7 working days from Fri 2025-09-26. Sun 09-28 (make-up)=1, Mon 09-29=2, Tue 09-30=3,
    # 10-01..10-08 off, Thu 10-09=4, Fri 10-10=5, Sat 10-11 (make-up)=6, Sun 10-12 rest, Mon 10-13=7.
    assert cal.period_end(date(2025, 9, 26), 7, "working_days") == date(2025, 10, 13)


def test_period_can_end_on_make_up_saturday_oct_11_2025(cal: Calendar) -> None:
    # Start Tue 2025-09-30. 10-01..10-08 off; Thu 10-09=1, Fri 10-10=2, Sat 10-11 (make-up)=3.
    assert cal.period_end(date(2025, 9, 30), 3, "working_days") == date(2025, 10, 11)


def test_period_across_new_year_2026_counts_make_up_sunday_jan_4(cal: Calendar) -> None:
    # Start Wed 2025-12-31. 2026-01-01..01-03 元旦 off; Sun 01-04 (make-up)=1, Mon 01-05=2,
    # Tue 01-06=3, Wed 01-07=4, Thu 01-08=5.
    assert cal.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 4)
    assert cal.period_end(date(2025, 12, 31), 5, "working_days") == date(2026, 1, 8)


def test_period_counts_make_up_saturday_feb_28_2026(cal: Calendar) -> None:
    # Start Wed 2026-02-25. Thu 02-26=1, Fri 02-27=2, Sat 02-28 (make-up)=3, Sun 03-01 rest,
    # Mon 03-02=4, Tue 03-03=5.
    assert cal.add_working_days(date(2026, 2, 25), 3) == date(2026, 2, 28)
    assert cal.add_working_days(date(2026, 2, 25), 5) == date(2026, 3, 3)


def test_hearing_request_after_labour_day_2026_counts_make_up_saturday_may_9(cal: Calendar) -> None:
    # Start Thu 2026-04-30. 05-01..05-05 off; Wed 05-06=1, Thu 05-07=2, Fri 05-08=3,
    # Sat 05-09 (make-up)=4, Sun 05-10 rest, Mon 05-11=5.
    assert cal.period_end(date(2026, 4, 30), 5, "working_days") == date(2026, 5, 11)


def test_period_counts_make_up_sunday_sep_20_2026_and_skips_mid_autumn(cal: Calendar) -> None:
    # Start Fri 2026-09-18. Sat 09-19 rest, Sun 09-20 (make-up)=1, Mon..Thu 09-21..09-24=2..5,
    # 09-25..09-27 中秋 off, Mon 09-28=6, Tue 09-29=7.
    assert cal.add_working_days(date(2026, 9, 18), 2) == date(2026, 9, 21)
    assert cal.period_end(date(2026, 9, 18), 7, "working_days") == date(2026, 9, 29)


def test_period_ends_on_make_up_saturday_oct_10_2026(cal: Calendar) -> None:
    # Start Wed 2026-09-30. 10-01..10-07 off; Thu 10-08=1, Fri 10-09=2, Sat 10-10 (make-up)=3.
    assert cal.period_end(date(2026, 9, 30), 3, "working_days") == date(2026, 10, 10)


# --- natural days ---------------------------------------------------------------------------------


def test_payment_period_ending_on_a_saturday_moves_to_monday(cal: Calendar) -> None:
    # Fri 2025-03-07 + 15 = Sat 03-22 → next working day Mon 03-24.
    assert cal.period_end(date(2025, 3, 7), 15, "natural_days") == date(2025, 3, 24)


def test_natural_period_ending_in_national_day_moves_past_the_holiday(cal: Calendar) -> None:
    # Sun 2025-09-21 + 15 = Mon 10-06 (国庆 off until 10-08) → Thu 10-09.
    assert cal.add_natural_days(date(2025, 9, 21), 15) == date(2025, 10, 9)


def test_natural_period_ending_on_a_make_up_saturday_stays_there(cal: Calendar) -> None:
    # Fri 2025-09-26 + 15 = Sat 10-11, a make-up working day: the period ends that day.
    assert cal.add_natural_days(date(2025, 9, 26), 15) == date(2025, 10, 11)


def test_natural_period_ending_on_new_year_2026_moves_to_make_up_sunday(cal: Calendar) -> None:
    # Wed 2025-12-17 + 15 = Thu 2026-01-01 (元旦 off until 01-03) → Sun 01-04, a make-up working day.
    assert cal.period_end(date(2025, 12, 17), 15, "natural_days") == date(2026, 1, 4)
    # Fri 2025-12-19 + 15 = Sat 2026-01-03 (元旦) → Sun 01-04.
    assert cal.period_end(date(2025, 12, 19), 15, "natural_days") == date(2026, 1, 4)


def test_case_clock_of_90_days_ending_in_spring_festival_2026_moves_past_it(cal: Calendar) -> None:
    # 立案 Tue 2025-11-18 + 90 = Mon 2026-02-16 (春节 off 02-15..02-23) → Tue 02-24.
    assert cal.period_end(date(2025, 11, 18), 90, "natural_days") == date(2026, 2, 24)
    assert cal.deadline(date(2025, 11, 18), 90, "natural_days") == shanghai(2026, 2, 25)


def test_case_clock_of_90_days_ending_on_dragon_boat_2025(cal: Calendar) -> None:
    # Mon 2025-03-03 + 90 = Sun 06-01 (端午 off 05-31..06-02) → Tue 06-03.
    assert cal.period_end(date(2025, 3, 3), 90, "natural_days") == date(2025, 6, 3)


def test_case_clock_of_90_days_ending_on_a_working_day_is_unchanged(cal: Calendar) -> None:
    # Tue 2025-07-01 + 90 = Mon 09-29, a working day.
    assert cal.period_end(date(2025, 7, 1), 90, "natural_days") == date(2025, 9, 29)


# --- deadlines are 24:00 Shanghai -----------------------------------------------------------------


def test_deadline_is_midnight_shanghai_after_the_last_day(cal: Calendar) -> None:
    end = cal.deadline(date(2026, 2, 13), 5, "working_days")
    assert end == shanghai(2026, 2, 28)
    assert end == datetime(2026, 2, 27, 16, 0, tzinfo=UTC)
    assert end.utcoffset() == timedelta(hours=8)
    assert end.tzinfo == SHANGHAI


def test_datetime_start_at_2330_shanghai_counts_from_that_shanghai_date(cal: Calendar) -> None:
    start = datetime(2026, 2, 12, 15, 30, tzinfo=UTC)  # 23:30 Shanghai, Thu 02-12
    # Fri 02-13=1, Sat 02-14 (make-up)=2, 02-15..02-23 off, Tue 02-24=3, Wed 02-25=4, Thu 02-26=5.
    assert cal.period_end(start, 5, "working_days") == date(2026, 2, 26)
    assert cal.deadline(start, 5, "working_days") == shanghai(2026, 2, 27)


def test_datetime_start_just_after_midnight_shanghai_uses_shanghai_date_not_utc_date(cal: Calendar) -> None:
    start = datetime(2026, 2, 12, 16, 30, tzinfo=UTC)  # 00:30 Shanghai on Fri 02-13; UTC date is 02-12
    assert cal.period_end(start, 5, "working_days") == date(2026, 2, 27)
    assert cal.period_end(parse_start("2026-02-13T00:30:00"), 5, "working_days") == date(2026, 2, 27)


def test_naive_datetime_start_is_rejected(cal: Calendar) -> None:
    with pytest.raises(InvalidInput):
        cal.deadline(datetime(2026, 2, 13, 9, 0), 5, "working_days")
    with pytest.raises(InvalidInput):
        parse_start(datetime(2026, 2, 13, 9, 0))


def test_zero_amount_ends_at_the_end_of_the_start_day_without_moving(cal: Calendar) -> None:
    # 2026-02-15 is a 春节 holiday; a 0-day period is the start day itself.
    assert cal.period_end(date(2026, 2, 15), 0, "natural_days") == date(2026, 2, 15)
    assert cal.period_end(date(2026, 2, 15), 0, "working_days") == date(2026, 2, 15)
    assert cal.deadline(date(2026, 2, 15), 0, "natural_days") == shanghai(2026, 2, 16)


def test_period_ending_on_dec_31_2026_has_its_deadline_in_2027(cal: Calendar) -> None:
    # Thu 2026-12-24 + 7 = Thu 12-31, a working day; 24:00 that night is 2027-01-01 00:00+08:00.
    assert cal.deadline(date(2026, 12, 24), 7, "natural_days") == shanghai(2027, 1, 1)


# --- hours ----------------------------------------------------------------------------------------


def test_hours_unit_adds_exact_hours_through_holidays(cal: Calendar) -> None:
    start = datetime(2026, 2, 15, 2, 0, tzinfo=UTC)  # 10:00 Shanghai, first day of 春节
    end = cal.deadline(start, 24, "hours")
    assert end == shanghai(2026, 2, 16, 10, 0)
    assert end.tzinfo == SHANGHAI


def test_hours_unit_has_no_last_day_and_needs_an_instant(cal: Calendar) -> None:
    with pytest.raises(InvalidInput):
        cal.period_end(shanghai(2026, 3, 2, 9), 24, "hours")
    with pytest.raises(InvalidInput):
        cal.deadline(date(2026, 3, 2), 24, "hours")


# --- warn_at (临期) -------------------------------------------------------------------------------


def test_warn_at_one_working_day_before_is_the_start_of_the_last_day(cal: Calendar) -> None:
    # Statement period from Fri 2026-02-13 ends Fri 02-27.
    assert cal.warn_at(date(2026, 2, 13), 5, "working_days", 1) == shanghai(2026, 2, 27)
    assert cal.warn_at(date(2026, 2, 13), 5, "working_days", 4) == shanghai(2026, 2, 24)


def test_warn_at_counts_back_over_spring_festival_to_make_up_day(cal: Calendar) -> None:
    # Period from Mon 2025-01-27 ends Mon 02-10. Back: Mon 02-10 (1), Sun 02-09 rest,
    # Sat 02-08 make-up (2) → 临期 from 2025-02-08 00:00 Shanghai.
    assert cal.warn_at(date(2025, 1, 27), 5, "working_days", 2) == shanghai(2025, 2, 8)
    # From Fri 2026-02-13 (ends 02-27): back 02-27..02-24 are 1..4, 02-23..02-15 off, Sat 02-14 is 5.
    assert cal.warn_at(date(2026, 2, 13), 5, "working_days", 5) == shanghai(2026, 2, 14)


def test_warn_at_natural_days_subtracts_days_from_the_deadline(cal: Calendar) -> None:
    # Payment from Fri 2025-03-07 ends Mon 03-24 (deadline 03-25 00:00); 3 days before → 03-22 00:00.
    assert cal.warn_at(date(2025, 3, 7), 15, "natural_days", 3) == shanghai(2025, 3, 22)


def test_warn_at_hours_subtracts_hours(cal: Calendar) -> None:
    start = shanghai(2026, 3, 2, 9, 0)
    assert cal.warn_at(start, 24, "hours", 4) == shanghai(2026, 3, 3, 5, 0)


def test_warn_at_is_none_without_a_lead(cal: Calendar) -> None:
    assert cal.warn_at(date(2026, 3, 2), 5, "working_days", 0) is None
    assert cal.warn_at(date(2026, 3, 2), 5, "working_days", -1) is None


def test_warn_at_never_precedes_the_start(cal: Calendar) -> None:
    # A 5-working-day period with a 6-day lead is 临期 from the outset.
    assert cal.warn_at(date(2026, 2, 13), 5, "working_days", 6) == shanghai(2026, 2, 13)
    start = shanghai(2026, 3, 2, 9, 30)
    assert cal.warn_at(start, 1, "natural_days", 3) == start
    assert cal.warn_at(start, 2, "hours", 5) == start


# --- working_days_between -------------------------------------------------------------------------


def test_working_days_between_counts_the_half_open_interval(cal: Calendar) -> None:
    assert cal.working_days_between(date(2025, 1, 27), date(2025, 2, 10)) == 5
    assert cal.working_days_between(date(2026, 2, 13), date(2026, 2, 27)) == 5
    assert cal.working_days_between(date(2026, 2, 14), date(2026, 2, 23)) == 0
    assert cal.working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert cal.working_days_between(date(2026, 3, 3), date(2026, 3, 2)) == 0


# --- missing calendar years -----------------------------------------------------------------------


def test_2027_without_a_calendar_is_counted_on_weekends_provisionally(cal: Calendar) -> None:
    assert not cal.covers(2027)
    assert cal.is_working_day(date(2027, 1, 4))  # Monday
    assert not cal.is_working_day(date(2027, 1, 2))  # Saturday
    assert cal.is_working_day(date(2027, 1, 1))  # 元旦 is not known yet: only weekends rest


def test_working_day_period_running_into_2027_is_provisional(cal: Calendar) -> None:
    # Sun 2026-12-20 + 15 working days: 12-21..25 (5), 12-28..31 (4), Fri 01-01 (10), 01-04..08 (15).
    end = cal.deadline(date(2026, 12, 20), 15, "working_days")
    assert end == datetime(2027, 1, 9, tzinfo=SHANGHAI)
    assert cal.is_provisional(date(2026, 12, 20), end)
    assert not cal.is_provisional(date(2026, 12, 1), cal.deadline(date(2026, 12, 1), 5, "working_days"))


def test_natural_day_period_ending_in_2027_rolls_over_weekends_provisionally(cal: Calendar) -> None:
    # Fri 2026-12-25 + 15 = Sat 2027-01-09 -> Mon 01-11 (weekends only until 2027 is entered).
    assert cal.period_end(date(2026, 12, 25), 15, "natural_days") == date(2027, 1, 11)
    assert cal.is_provisional(date(2026, 12, 25), date(2027, 1, 11))


def test_a_period_ending_at_24_00_on_new_years_eve_is_not_provisional(cal: Calendar) -> None:
    # The exclusive end 2027-01-01 00:00 is the end of 2026-12-31: only 2026 was counted.
    assert not cal.is_provisional(date(2026, 12, 30), datetime(2027, 1, 1, tzinfo=SHANGHAI))


def test_start_day_in_a_year_without_calendar_is_not_counted(cal: Calendar) -> None:
    # Start Tue 2024-12-31 is not counted; 2025-01-01 元旦 off, Thu 01-02=1.
    assert cal.add_working_days(date(2024, 12, 31), 1) == date(2025, 1, 2)
    assert cal.add_working_days(date(2024, 12, 30), 1) == date(2024, 12, 31)
    assert cal.is_provisional(date(2024, 12, 30), date(2024, 12, 31))


# --- invalid input --------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [-1, 3661, 1.5, True, "5"])
def test_invalid_amount_is_rejected(cal: Calendar, amount: object) -> None:
    with pytest.raises(InvalidInput):
        cal.deadline(date(2026, 3, 2), amount, "working_days")  # type: ignore[arg-type]


@pytest.mark.parametrize("unit", ["months", "days", "", "WORKING_DAYS"])
def test_unknown_unit_is_rejected(cal: Calendar, unit: str) -> None:
    with pytest.raises(InvalidInput):
        cal.deadline(date(2026, 3, 2), 5, unit)
    with pytest.raises(InvalidInput):
        cal.warn_at(date(2026, 3, 2), 5, unit, 1)


def test_huge_hour_amount_is_rejected(cal: Calendar) -> None:
    with pytest.raises(InvalidInput):
        cal.deadline(shanghai(2026, 3, 2), 3660 * 24 + 1, "hours")


def test_calendar_rejects_a_day_entered_as_both_holiday_and_workday() -> None:
    days = [
        CalendarDay(date(2026, 2, 14), "workday", "春节调休上班"),
        CalendarDay(date(2026, 2, 14), "holiday", "x"),
    ]
    with pytest.raises(InvalidInput):
        Calendar(days, [2026])
    with pytest.raises(InvalidInput):
        CalendarDay(date(2026, 2, 14), "rest", "x")  # type: ignore[arg-type]


def test_parse_start_reads_dates_offsets_and_shanghai_local_times() -> None:
    assert parse_start("2026-02-13") == date(2026, 2, 13)
    assert not isinstance(parse_start("2026-02-13"), datetime)
    assert parse_start("2026-02-13T23:30:00+08:00") == datetime(2026, 2, 13, 15, 30, tzinfo=UTC)
    assert parse_start("2026-02-12T15:30:00Z") == shanghai(2026, 2, 12, 23, 30)
    local = parse_start("2026-02-13T23:30:00")
    assert isinstance(local, datetime) and local.tzinfo == SHANGHAI
    assert local == datetime(2026, 2, 13, 15, 30, tzinfo=UTC)
    assert parse_start(date(2026, 2, 13)) == date(2026, 2, 13)
    for bad in ("13/02/2026", "2026-02-30", "", "tomorrow"):
        with pytest.raises(InvalidInput):
            parse_start(bad)


# --- the server's time zone never matters ---------------------------------------------------------

_TZ_SCRIPT = """
import json, os, time
from datetime import date, datetime, timezone
time.tzset()
from engine.deadlines.holidays import Calendar, parse_start
cal = Calendar.from_seed()
starts = [
    date(2026, 2, 13),
    datetime(2026, 2, 12, 15, 30, tzinfo=timezone.utc),
    datetime(2026, 2, 12, 16, 30, tzinfo=timezone.utc),
    parse_start("2026-02-13T00:30:00"),
    parse_start("2025-12-31T23:59:00"),
]
out = []
for s in starts:
    for amount, unit in ((5, "working_days"), (15, "natural_days"), (90, "natural_days")):
        out.append([cal.deadline(s, amount, unit).isoformat(), cal.warn_at(s, amount, unit, 2).isoformat()])
out.append(cal.deadline(starts[1], 24, "hours").isoformat())
print(json.dumps({"tz": time.tzname[0], "results": out}))
"""


def _run_in_zone(zone: str) -> dict:
    env = {**os.environ, "TZ": zone, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", _TZ_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout)


def test_results_are_identical_whatever_the_server_time_zone(cal: Calendar) -> None:
    runs = {zone: _run_in_zone(zone) for zone in ("UTC", "America/New_York", "Asia/Shanghai")}
    assert runs["America/New_York"]["tz"] in ("EST", "EDT")  # the zone really changed
    results = [run["results"] for run in runs.values()]
    assert results[0] == results[1] == results[2]
    # And they match the in-process computation: 5 working days from 2026-02-13 end 02-27.
    assert results[0][0][0] == "2026-02-28T00:00:00+08:00"
    assert results[0][0][0] == cal.deadline(date(2026, 2, 13), 5, "working_days").isoformat()
