#!/usr/bin/env python3
"""An independent oracle for SLO calendar windows: the period holding an instant.

Written from README.md ("How SLO budgets are computed": a calendar window is the week
from Monday, the month, the quarter or the year holding the instant, from local midnight
of its first day in the SLO's time zone to the same of the next, that wall time made an
instant by rule 1 of "How on-call times are computed"), not from the Rust code, so that
a test can hold the two against each other (crates/rampart-cli/tests/integration/sre/
slo_windows_oracle.rs). Standard library only: `zoneinfo` and `datetime`; rule 1 is the
on-call oracle's `instant_of`.

    scripts/slo_window_oracle.py < cases.jsonl
        reads one case a line, {"id": …, "zone": "Europe/Berlin", "unit": "month",
        "at": <Unix seconds>}, and writes one line each, {"id": …, "start": <Unix
        seconds>, "end": <Unix seconds>} or {"id": …, "error": "…"}.
"""

import datetime
import json
import os
import sys
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oncall_oracle import instant_of  # noqa: E402  (rule 1, shared with on-call times)


def first_day(unit, day):
    if unit == "week":
        return day - datetime.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return datetime.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    if unit == "year":
        return datetime.date(day.year, 1, 1)
    raise ValueError(f"unknown unit {unit}")


def next_first_day(unit, first):
    if unit == "week":
        return first + datetime.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    index = first.year * 12 + (first.month - 1) + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def local_midnight(zone, day):
    return int(instant_of(zone, datetime.datetime(day.year, day.month, day.day)).timestamp())


def period(zone_name, unit, at):
    zone = zoneinfo.ZoneInfo(zone_name)
    local = datetime.datetime.fromtimestamp(at, tz=datetime.timezone.utc).astimezone(zone)
    first = first_day(unit, local.date())
    return local_midnight(zone, first), local_midnight(zone, next_first_day(unit, first))


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        try:
            start, end = period(case["zone"], case["unit"], case["at"])
            answer = {"id": case.get("id"), "start": start, "end": end}
        except Exception as error:  # reported to the test, which fails on it
            answer = {"id": case.get("id"), "error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
