#!/usr/bin/env python3
"""An independent on-call oracle: the final timeline of a schedule over a range.

Written from README.md ("How on-call times are computed"), not from the Rust code, so
that a test can hold the two against each other (crates/rampart-cli/tests/integration/
sre/schedules_oracle.rs). Standard library only: `zoneinfo` and `datetime`.

Two ways to call it:

    scripts/oncall_oracle.py DEFINITION.json FROM TO
        prints the timeline of the schedule definition (the JSON users write: time_zone,
        layers, overrides) over [FROM, TO) (RFC 3339) as JSON.

    scripts/oncall_oracle.py < cases.jsonl
        reads one case a line, {"id": …, "definition": {…}, "from": …, "to": …}, and
        writes one line each, {"id": …, "segments": […]} or {"id": …, "error": "…"}:
        one process for a whole batch.

A segment is {"start", "end" (RFC 3339, UTC, whole seconds), "user" (null in a gap),
"source" ("override:<index>", "layer:<index>", or null in a gap)}.

How it works, deliberately unlike the server: each layer becomes a list of explicit
intervals of instants (its turns, clipped to its bounds and to the union of its window
intervals); overrides are intervals already; the range is cut at every interval end and
each piece takes the winner among the intervals covering it (rule 5).
"""

import calendar
import functools
import json
import sys
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def parse_instant(text):
    """An RFC 3339 instant, as an aware datetime in UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no offset")
    return value.astimezone(UTC)


def format_instant(value):
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def wall_of(zone, instant):
    """The wall time the zone's clocks show at an instant."""
    return instant.astimezone(zone).replace(tzinfo=None)


@functools.lru_cache(maxsize=65536)
def instant_of(zone, wall):
    """Rule 1: the instant of a wall time.

    The instants whose wall time is `wall` are found by reading it with each of the two
    offsets PEP 495 offers (fold 0 and 1) and keeping the readings that show `wall`
    again; the earliest is the answer (the first occurrence in a fold). When neither
    shows it the clocks skip it: the answer is the first instant after the gap, the
    earliest instant whose clock reads `wall` or later, found by bisection over whole
    seconds (gaps are more than a day apart, so the clock only moves forward there).
    """
    found = []
    for fold in (0, 1):
        candidate = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if wall_of(zone, candidate) == wall:
            found.append(candidate)
    if found:
        return min(found)
    # The jump lies within a day of the wall time read as UTC in every zone on Earth
    # (offsets are within ±14 hours); the clock reads less than `wall` at `low` and at
    # least `wall` at `high`.
    pretend_utc = wall.replace(tzinfo=UTC)
    low = pretend_utc - timedelta(hours=26)
    high = pretend_utc + timedelta(hours=26)
    assert wall_of(zone, low) < wall <= wall_of(zone, high)
    while high - low > timedelta(seconds=1):
        middle = low + timedelta(seconds=((high - low).total_seconds() // 2))
        if wall_of(zone, middle) >= wall:
            high = middle
        else:
            low = middle
    return high


def add_months(wall, months):
    """Calendar months later, on the same day of the month or the month's last day."""
    index = wall.year * 12 + (wall.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(wall.day, calendar.monthrange(year, month)[1])
    return wall.replace(year=year, month=month, day=day)


class Layer:
    def __init__(self, zone, doc):
        self.zone = zone
        self.priority = doc.get("priority", 0)
        self.unit = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month"}.get(
            doc["unit"], doc["unit"]
        )
        if self.unit not in ("hour", "day", "week", "month"):
            raise ValueError(f"unit {doc['unit']!r}")
        self.every = doc.get("every", 1)
        self.first_handoff = datetime.fromisoformat(doc["first_handoff"])
        self.participants = doc["participants"]
        self.restrictions = doc.get("restrictions", [])
        self.anchor = instant_of(zone, self.first_handoff)
        self.starts_at = parse_instant(doc["starts_at"]) if doc.get("starts_at") else self.anchor
        self.ends_at = parse_instant(doc["ends_at"]) if doc.get("ends_at") else None

    def turn_start(self, k):
        """Rule 2: the instant turn k begins."""
        n = k * self.every
        if self.unit == "hour":
            return self.anchor + timedelta(hours=n)
        if self.unit == "day":
            wall = self.first_handoff + timedelta(days=n)
        elif self.unit == "week":
            wall = self.first_handoff + timedelta(days=7 * n)
        else:
            wall = add_months(self.first_handoff, n)
        return instant_of(self.zone, wall)

    def turns(self, start, end):
        """(begin, end, participant) of every turn that overlaps [start, end)."""
        rough = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 28 * 86400}[self.unit]
        k = int((start - self.anchor).total_seconds() // (rough * self.every)) + 1
        while self.turn_start(k) > start:
            k -= 1
        out = []
        while True:
            begin, finish = self.turn_start(k), self.turn_start(k + 1)
            if begin >= end:
                return out
            if finish > start:
                out.append((begin, finish, self.participants[k % len(self.participants)]))
            k += 1

    def windows(self, start, end):
        """Rule 4: the intervals where one of the layer's windows is open, over
        [start, end); the whole range when it has no restriction."""
        if not self.restrictions:
            return [(start, end)]
        out = []
        first_day = wall_of(self.zone, start).date() - timedelta(days=9)
        last_day = wall_of(self.zone, end).date() + timedelta(days=1)
        for restriction in self.restrictions:
            opens_at = time.fromisoformat(restriction["start"])
            closes_at = time.fromisoformat(restriction["end"])
            if restriction["type"] == "daily":
                if opens_at == closes_at:
                    return [(start, end)]
                days_open = 1 if closes_at < opens_at else 0
                opening_days = None
            else:
                start_day = WEEKDAYS.index(restriction["start_day"].lower())
                end_day = WEEKDAYS.index(restriction["end_day"].lower())
                if start_day == end_day and opens_at == closes_at:
                    return [(start, end)]
                days_open = (end_day - start_day) % 7
                if days_open == 0 and closes_at < opens_at:
                    days_open = 7
                opening_days = start_day
            day = first_day
            while day <= last_day:
                if opening_days is None or day.weekday() == opening_days:
                    opens = instant_of(self.zone, datetime.combine(day, opens_at))
                    closes = instant_of(
                        self.zone, datetime.combine(day + timedelta(days=days_open), closes_at)
                    )
                    if opens < closes:
                        out.append((opens, closes))
                day += timedelta(days=1)
        return out

    def intervals(self, start, end):
        """(begin, end, participant): when this layer puts whom on call, within its
        bounds (rule 3) and windows (rule 4), over [start, end)."""
        low = max(start, self.starts_at)
        high = end if self.ends_at is None else min(end, self.ends_at)
        if low >= high:
            return []
        out = []
        windows = sorted(self.windows(low, high))
        for begin, finish, person in self.turns(low, high):
            for opens, closes in windows:
                if opens >= finish:
                    break
                a = max(begin, opens, low)
                b = min(finish, closes, high)
                if a < b:
                    out.append((a, b, person))
        return out


def timeline(definition, start, end):
    zone = ZoneInfo(definition["time_zone"])
    layers = [Layer(zone, doc) for doc in definition["layers"]]
    # Candidates: (rank, begin, end, person, source); a higher rank wins (rule 5).
    candidates = []
    overrides = definition.get("overrides", [])
    for index, doc in enumerate(overrides):
        begin, finish = parse_instant(doc["starts_at"]), parse_instant(doc["ends_at"])
        rank = (1, index, 0)
        clipped = (max(begin, start), min(finish, end))
        candidates.append((rank, *clipped, doc["user"], f"override:{index}"))
    for index, layer in enumerate(layers):
        rank = (0, layer.priority, index)
        for begin, finish, person in layer.intervals(start, end):
            candidates.append((rank, begin, finish, person, f"layer:{index}"))
    candidates = sorted((c for c in candidates if c[1] < c[2]), key=lambda c: c[1])
    cuts = sorted({start, end} | {c[1] for c in candidates} | {c[2] for c in candidates})
    # A sweep over the cuts: the candidates running over each piece between two cuts.
    segments = []
    running = []
    waiting = 0
    for begin, finish in zip(cuts, cuts[1:]):
        running = [c for c in running if c[2] > begin]
        while waiting < len(candidates) and candidates[waiting][1] <= begin:
            if candidates[waiting][2] > begin:
                running.append(candidates[waiting])
            waiting += 1
        if running:
            best = max(running, key=lambda c: c[0])
            person, source = best[3], best[4]
        else:
            person, source = None, None
        last = segments[-1] if segments else None
        if last and last["user"] == person and last["source"] == source and last["end"] == begin:
            last["end"] = finish
        else:
            segments.append({"start": begin, "end": finish, "user": person, "source": source})
    for segment in segments:
        segment["start"] = format_instant(segment["start"])
        segment["end"] = format_instant(segment["end"])
    return segments


def main():
    if len(sys.argv) == 4:
        with open(sys.argv[1], encoding="utf-8") as file:
            definition = json.load(file)
        result = timeline(definition, parse_instant(sys.argv[2]), parse_instant(sys.argv[3]))
        json.dump({"segments": result}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    if len(sys.argv) != 1:
        sys.exit("usage: oncall_oracle.py DEFINITION.json FROM TO | oncall_oracle.py < cases.jsonl")
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        try:
            start, end = parse_instant(case["from"]), parse_instant(case["to"])
            segments = timeline(case["definition"], start, end)
            answer = {"id": case.get("id"), "segments": segments}
        except Exception as error:  # noqa: BLE001 — one bad case must not end the batch
            answer = {"id": case.get("id"), "error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
