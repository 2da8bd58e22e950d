//! On-call schedules: who is on call at an instant, and the final on-call timeline over
//! a range with its gaps.
//!
//! A schedule has a time zone, layers and overrides. A layer rotates its participants in
//! turns of N hours, days, weeks or months from a first hand-off given as a local wall
//! time; it may be restricted to daily or weekly windows (which may cross midnight or the
//! week's end) and bounded in time. Precedence: an override (the one added last, where
//! several overlap) over the layer of highest priority that is active, over lower
//! layers; nobody at all is a gap.
//!
//! Time math is done with `jiff` in the schedule's zone, by the rules the README states
//! ("How on-call times are computed"; `scripts/oncall_oracle.py` implements them a
//! second time, independently, and a test holds the two together). Every wall time a
//! schedule names — turn boundaries, restriction edges — becomes an instant by one rule,
//! [`instant_of`]: a wall time skipped by a spring-forward gap, the gap's first minute
//! included, happens at the jump (02:00 or 02:30 → 03:00); one that exists twice happens
//! the first time. Day, week and month turns keep their hand-off at local wall time
//! across changes (a day turn lasts 23 or 25 hours on those days), and since turn starts
//! only ever increase, no turn is skipped. Hour turns are absolute hours, so they never
//! gap or overlap. Month turns count from the first hand-off (31 January, then the last
//! day of February, then 31 March), never from the previous turn, so they do not drift.
//! A restriction window is open from the instant of its opening wall time to the instant
//! of its closing one, so in a fold the repeated stretch counts only when it lies
//! between the two.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Span, Timestamp};

use crate::ValidationError;

/// The longest range a timeline is computed for.
pub const TIMELINE_RANGE_DAYS_MAX: i64 = 366;
/// The most participants of one layer.
pub const LAYER_PARTICIPANTS_MAX: usize = 100;
/// The longest an override added through the overrides API may last, in days.
pub const OVERRIDE_DAYS_MAX: i64 = 90;
/// The most overrides a schedule may hold when one is added through the overrides API.
pub const OVERRIDES_MAX: usize = 200;

/// Checks an override about to be added to a schedule that holds `existing` overrides:
/// it ends after it starts, lasts at most [`OVERRIDE_DAYS_MAX`] days, and the schedule
/// has room for it ([`OVERRIDES_MAX`]).
pub fn check_new_override(
    existing: usize,
    starts_at: Timestamp,
    ends_at: Timestamp,
) -> Result<(), crate::Refusal> {
    use crate::ErrorCode;
    if ends_at <= starts_at
        || ends_at.duration_since(starts_at) > SignedDuration::from_hours(OVERRIDE_DAYS_MAX * 24)
    {
        return Err(crate::Refusal::new(
            ErrorCode::InvalidOverrideRange,
            format!("an override ends after it starts and lasts at most {OVERRIDE_DAYS_MAX} days"),
        ));
    }
    if existing >= OVERRIDES_MAX {
        return Err(crate::Refusal::new(
            ErrorCode::TooManyOverrides,
            format!("a schedule holds at most {OVERRIDES_MAX} overrides; delete old ones first"),
        ));
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationUnit {
    Hour,
    Day,
    Week,
    Month,
}

impl RotationUnit {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "hour" | "hourly" => Ok(Self::Hour),
            "day" | "daily" => Ok(Self::Day),
            "week" | "weekly" => Ok(Self::Week),
            "month" | "monthly" => Ok(Self::Month),
            _ => Err(ValidationError::new(
                "unit",
                "must be hour, day, week or month",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    /// A rough length, only to guess a turn number before correcting it exactly.
    fn approximate_seconds(self) -> i64 {
        match self {
            Self::Hour => 3_600,
            Self::Day => 86_400,
            Self::Week => 604_800,
            Self::Month => 2_629_746,
        }
    }
}

/// Participants in order, taking turns of `every` units from `first_handoff`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rotation {
    pub unit: RotationUnit,
    pub every: u32,
    /// The first hand-off, as a wall time in the schedule's zone.
    pub first_handoff: DateTime,
    pub participants: Vec<String>,
}

/// When a layer is active. A window whose end is not after its start crosses midnight
/// (daily) or the week's end (weekly); equal ends mean all day / all week.
#[derive(Clone, Debug, PartialEq)]
pub enum Restriction {
    Daily {
        start: Time,
        end: Time,
    },
    Weekly {
        start_day: Weekday,
        start: Time,
        end_day: Weekday,
        end: Time,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub name: String,
    /// Higher wins; on a tie, the layer listed later.
    pub priority: i32,
    pub rotation: Rotation,
    /// Empty: always active (within its bounds).
    pub restrictions: Vec<Restriction>,
    pub starts_at: Timestamp,
    pub ends_at: Option<Timestamp>,
}

/// Someone on call instead of whoever the layers say, for a while.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub user: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub time_zone: TimeZone,
    pub layers: Vec<Layer>,
    pub overrides: Vec<Override>,
}

/// What put someone on call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The override at this index.
    Override(usize),
    /// The layer at this index.
    Layer(usize),
}

/// A stretch of the final timeline: one person (or nobody: a gap) from `start` to `end`.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub start: Timestamp,
    pub end: Timestamp,
    pub user: Option<String>,
    pub source: Option<Source>,
}

/// The final on-call timeline of a range.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    pub segments: Vec<Segment>,
}

impl Timeline {
    /// The stretches where nobody is on call.
    pub fn gaps(&self) -> impl Iterator<Item = &Segment> {
        self.segments
            .iter()
            .filter(|segment| segment.user.is_none())
    }
}

/// The instant of a wall time in `tz`, by the one rule every wall time of a schedule
/// follows (hand-offs and restriction windows alike): a time skipped by a forward jump —
/// anywhere in the gap, its first minute included — happens at the jump, the first
/// instant after the gap (02:00 or 02:30 → 03:00); a repeated one happens the first time.
pub fn instant_of(tz: &TimeZone, wall: DateTime) -> Timestamp {
    let ambiguous = tz.to_ambiguous_timestamp(wall);
    match ambiguous.offset() {
        AmbiguousOffset::Gap { after, .. } => {
            // Read with the offset after the jump, a skipped wall time is an instant
            // strictly before the jump (by as much as the wall time lies before the gap's
            // end), so the jump is the first transition after that reading. The bound is
            // strict on that side for every wall time of the gap, the gap's first one
            // included; reading it with the offset before the jump instead lands exactly
            // on the transition for that one, which a search for the transition strictly
            // before it then misses.
            let early = wall
                .to_zoned(TimeZone::fixed(after))
                .map(|zoned| zoned.timestamp())
                .unwrap_or(Timestamp::MIN);
            tz.following(early)
                .next()
                .map_or(early, |transition| transition.timestamp())
        }
        _ => ambiguous.compatible().unwrap_or(Timestamp::MAX),
    }
}

impl Rotation {
    fn anchor(&self, tz: &TimeZone) -> Timestamp {
        instant_of(tz, self.first_handoff)
    }

    /// When turn `k` begins (turn 0 at the first hand-off; negative turns before it).
    pub fn turn_start(&self, tz: &TimeZone, k: i64) -> Timestamp {
        let units = k.saturating_mul(i64::from(self.every));
        match self.unit {
            RotationUnit::Hour => self
                .anchor(tz)
                .checked_add(SignedDuration::from_hours(units))
                .unwrap_or(Timestamp::MAX),
            unit => {
                let span = match unit {
                    RotationUnit::Day => Span::new().try_days(units),
                    RotationUnit::Week => Span::new().try_weeks(units),
                    _ => Span::new().try_months(units),
                };
                span.and_then(|span| self.first_handoff.checked_add(span))
                    .map_or(Timestamp::MAX, |wall| instant_of(tz, wall))
            }
        }
    }

    /// The turn running at `t`.
    pub fn turn_at(&self, tz: &TimeZone, t: Timestamp) -> i64 {
        let length = self.unit.approximate_seconds() * i64::from(self.every.max(1));
        let since = t.duration_since(self.anchor(tz)).as_secs();
        let mut k = since.div_euclid(length);
        if self.unit == RotationUnit::Hour {
            // Hour turns are absolute: the guess is exact.
            return k;
        }
        while self.turn_start(tz, k + 1) <= t {
            k += 1;
        }
        while self.turn_start(tz, k) > t {
            k -= 1;
        }
        k
    }

    /// Who holds turn `k`.
    pub fn participant(&self, k: i64) -> Option<&String> {
        let count = i64::try_from(self.participants.len())
            .ok()
            .filter(|n| *n > 0)?;
        usize::try_from(k.rem_euclid(count))
            .ok()
            .and_then(|index| self.participants.get(index))
    }
}

impl Restriction {
    /// Whether the window is open all the time: equal ends (the same time, and for a
    /// weekly window the same day).
    fn always_open(&self) -> bool {
        match self {
            Restriction::Daily { start, end } => start == end,
            Restriction::Weekly {
                start_day,
                start,
                end_day,
                end,
            } => start_day == end_day && start == end,
        }
    }

    /// The window that opens on `date`, as the wall times where it opens and closes: a
    /// daily one every day, closing the same day or, when its end is not after its
    /// start, the next; a weekly one on its start day, closing at the first end day and
    /// end time after it (up to a week later). `None` when none opens that day or the
    /// window is always open.
    fn opening_on(&self, date: Date) -> Option<(DateTime, DateTime)> {
        if self.always_open() {
            return None;
        }
        let (start, end, days) = match self {
            Restriction::Daily { start, end } => (*start, *end, i64::from(end <= start)),
            Restriction::Weekly {
                start_day,
                start,
                end_day,
                end,
            } => {
                if date.weekday() != *start_day {
                    return None;
                }
                let mut days = i64::from(start_day.until(*end_day));
                if days == 0 && end < start {
                    days = 7;
                }
                (*start, *end, days)
            }
        };
        let closes = date.checked_add(Span::new().days(days)).ok()?;
        Some((date.to_datetime(start), closes.to_datetime(end)))
    }

    /// How many days before `t`'s date a window still open at `t` may have opened: a
    /// daily one the day before at the earliest, a weekly one a week before.
    fn reach_days(&self) -> i64 {
        match self {
            Restriction::Daily { .. } => 1,
            Restriction::Weekly { .. } => 7,
        }
    }

    /// Whether the window is open at `t`: from the instant of a wall time where it opens
    /// to the instant of the wall time where that opening closes, both by
    /// [`instant_of`] — so a window edge in a spring-forward gap moves to the jump, and
    /// one in a fall-back fold is its first occurrence (the repeated stretch counts
    /// only when it lies between an opening and its closing).
    fn open_at(&self, tz: &TimeZone, t: Timestamp) -> bool {
        if self.always_open() {
            return true;
        }
        // A window opening after `t`'s date opens after `t`: that date's first instant
        // comes after every instant showing an earlier date.
        let today = t.to_zoned(tz.clone()).date();
        (-self.reach_days()..=0).any(|offset| {
            today
                .checked_add(Span::new().days(offset))
                .ok()
                .and_then(|date| self.opening_on(date))
                .is_some_and(|(opens, closes)| {
                    instant_of(tz, opens) <= t && t < instant_of(tz, closes)
                })
        })
    }
}

impl Layer {
    fn active_at(&self, tz: &TimeZone, t: Timestamp) -> bool {
        if t < self.starts_at || self.ends_at.is_some_and(|end| t >= end) {
            return false;
        }
        self.restrictions.is_empty()
            || self
                .restrictions
                .iter()
                .any(|restriction| restriction.open_at(tz, t))
    }
}

impl Schedule {
    /// Checks what the rules need: participants, a turn length, overrides that end after
    /// they start.
    pub fn validate(&self) -> Result<(), ValidationError> {
        for layer in &self.layers {
            if layer.rotation.participants.is_empty()
                || layer.rotation.participants.len() > LAYER_PARTICIPANTS_MAX
            {
                return Err(ValidationError::new(
                    "participants",
                    format!("a layer has 1 to {LAYER_PARTICIPANTS_MAX} participants"),
                ));
            }
            if layer.rotation.every == 0 || layer.rotation.every > 1000 {
                return Err(ValidationError::new(
                    "every",
                    "a turn is 1 to 1000 units long",
                ));
            }
            if layer.ends_at.is_some_and(|end| end <= layer.starts_at) {
                return Err(ValidationError::new(
                    "ends_at",
                    "a layer ends after it starts",
                ));
            }
        }
        if self
            .overrides
            .iter()
            .any(|o| o.ends_at <= o.starts_at || o.user.is_empty())
        {
            return Err(ValidationError::new(
                "overrides",
                "an override names someone and ends after it starts",
            ));
        }
        Ok(())
    }

    /// Who is on call at `t`, and why.
    pub fn on_call_at(&self, t: Timestamp) -> Option<(&str, Source)> {
        if let Some((index, found)) = self
            .overrides
            .iter()
            .enumerate()
            .rev()
            .find(|(_, o)| o.starts_at <= t && t < o.ends_at)
        {
            return Some((found.user.as_str(), Source::Override(index)));
        }
        let mut order: Vec<usize> = (0..self.layers.len()).collect();
        order.sort_by_key(|&index| {
            (
                std::cmp::Reverse(self.layers.get(index).map_or(0, |l| l.priority)),
                std::cmp::Reverse(index),
            )
        });
        order.into_iter().find_map(|index| {
            let layer = self.layers.get(index)?;
            if !layer.active_at(&self.time_zone, t) {
                return None;
            }
            let turn = layer.rotation.turn_at(&self.time_zone, t);
            layer
                .rotation
                .participant(turn)
                .map(|user| (user.as_str(), Source::Layer(index)))
        })
    }

    /// The final timeline over `[from, to)`: contiguous segments, adjacent ones with
    /// the same person and source merged, gaps included as segments with nobody.
    pub fn timeline(&self, from: Timestamp, to: Timestamp) -> Result<Timeline, ValidationError> {
        let days = to.duration_since(from).as_hours() / 24;
        if to <= from || days > TIMELINE_RANGE_DAYS_MAX {
            return Err(ValidationError::new(
                "range",
                format!(
                    "a timeline covers more than nothing and at most {TIMELINE_RANGE_DAYS_MAX} days"
                ),
            ));
        }
        let tz = &self.time_zone;
        let mut edges = vec![from, to];
        for o in &self.overrides {
            edges.extend([o.starts_at, o.ends_at]);
        }
        for layer in &self.layers {
            edges.push(layer.starts_at);
            edges.extend(layer.ends_at);
            let rotation = &layer.rotation;
            let first = rotation.turn_at(tz, from);
            let last = rotation.turn_at(tz, to);
            for k in first..=last + 1 {
                edges.push(rotation.turn_start(tz, k));
            }
            for restriction in &layer.restrictions {
                let zoned_date = |t: Timestamp| t.to_zoned(tz.clone()).date();
                let mut day = zoned_date(from)
                    .checked_sub(Span::new().days(restriction.reach_days()))
                    .ok();
                let last = zoned_date(to).tomorrow().ok();
                while let (Some(current), Some(last)) = (day, last) {
                    if current > last {
                        break;
                    }
                    if let Some((opens, closes)) = restriction.opening_on(current) {
                        edges.extend([instant_of(tz, opens), instant_of(tz, closes)]);
                    }
                    day = current.tomorrow().ok();
                }
            }
        }
        edges.retain(|edge| *edge >= from && *edge <= to);
        edges.sort();
        edges.dedup();
        let mut segments: Vec<Segment> = Vec::new();
        for pair in edges.windows(2) {
            let [start, end] = pair else { continue };
            let found = self.on_call_at(*start);
            let user = found.map(|(user, _)| user.to_owned());
            let source = found.map(|(_, source)| source);
            if let Some(previous) = segments.last_mut()
                && previous.user == user
                && previous.source == source
            {
                previous.end = *end;
                continue;
            }
            segments.push(Segment {
                start: *start,
                end: *end,
                user,
                source,
            });
        }
        Ok(Timeline { segments })
    }
}

/// An iCalendar (RFC 5545) document of a timeline: one event per stretch on call, each
/// named after the person (`names` maps user ids to how people are named; an id it
/// lacks is shown as it is).
pub fn to_ical(
    schedule_name: &str,
    schedule_id: &str,
    timeline: &Timeline,
    names: &std::collections::BTreeMap<String, String>,
) -> String {
    fn stamp(t: Timestamp) -> String {
        t.strftime("%Y%m%dT%H%M%SZ").to_string()
    }
    fn escape(text: &str) -> String {
        text.replace('\\', "\\\\")
            .replace(';', "\\;")
            .replace(',', "\\,")
            .replace(['\r', '\n'], " ")
    }
    let mut out = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Rampart//On-call schedule//EN\r\nCALSCALE:GREGORIAN\r\n",
    );
    out.push_str(&format!("X-WR-CALNAME:{}\r\n", escape(schedule_name)));
    for segment in &timeline.segments {
        let Some(user) = &segment.user else { continue };
        out.push_str("BEGIN:VEVENT\r\n");
        out.push_str(&format!(
            "UID:{}-{}@rampart\r\n",
            escape(schedule_id),
            segment.start.as_second()
        ));
        out.push_str(&format!("DTSTAMP:{}\r\n", stamp(segment.start)));
        out.push_str(&format!("DTSTART:{}\r\n", stamp(segment.start)));
        out.push_str(&format!("DTEND:{}\r\n", stamp(segment.end)));
        out.push_str(&format!(
            "SUMMARY:On call: {} ({})\r\n",
            escape(names.get(user).unwrap_or(user)),
            escape(schedule_name)
        ));
        out.push_str("END:VEVENT\r\n");
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

#[cfg(test)]
mod tests {
    use jiff::civil::{date, time};

    use super::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn at(tz: &TimeZone, wall: DateTime) -> Timestamp {
        wall.to_zoned(tz.clone()).unwrap().timestamp()
    }

    fn wall(tz: &TimeZone, t: Timestamp) -> DateTime {
        t.to_zoned(tz.clone()).datetime()
    }

    fn layer(unit: RotationUnit, every: u32, handoff: DateTime, people: &[&str]) -> Layer {
        Layer {
            name: "primary".into(),
            priority: 0,
            rotation: Rotation {
                unit,
                every,
                first_handoff: handoff,
                participants: people.iter().map(|p| p.to_string()).collect(),
            },
            restrictions: Vec::new(),
            starts_at: Timestamp::from_second(0).unwrap(),
            ends_at: None,
        }
    }

    fn schedule(zone: &str, layers: Vec<Layer>) -> Schedule {
        Schedule {
            time_zone: tz(zone),
            layers,
            overrides: Vec::new(),
        }
    }

    /// Segments cover the range exactly: each starts where the last ended.
    fn assert_contiguous(timeline: &Timeline, from: Timestamp, to: Timestamp) {
        assert_eq!(timeline.segments.first().unwrap().start, from);
        assert_eq!(timeline.segments.last().unwrap().end, to);
        for pair in timeline.segments.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "no gap, no overlap");
            assert!(pair[0].start < pair[0].end);
        }
    }

    #[test]
    fn daily_handoffs_stay_at_wall_time_across_spring_forward_and_a_missing_time_goes_to_the_jump()
    {
        // New York springs forward on 8 March 2026 at 02:00 → 03:00.
        let ny = tz("America/New_York");
        let s = schedule(
            "America/New_York",
            vec![layer(
                RotationUnit::Day,
                1,
                date(2026, 3, 1).at(2, 30, 0, 0),
                &["ann", "bob"],
            )],
        );
        let from = at(&ny, date(2026, 3, 6).at(0, 0, 0, 0));
        let to = at(&ny, date(2026, 3, 11).at(0, 0, 0, 0));
        let timeline = s.timeline(from, to).unwrap();
        assert_contiguous(&timeline, from, to);
        let handoffs: Vec<DateTime> = timeline.segments[1..]
            .iter()
            .map(|segment| wall(&ny, segment.start))
            .collect();
        assert_eq!(
            handoffs,
            vec![
                date(2026, 3, 6).at(2, 30, 0, 0),
                date(2026, 3, 7).at(2, 30, 0, 0),
                // 02:30 does not exist on the 8th: the hand-off is at the jump.
                date(2026, 3, 8).at(3, 0, 0, 0),
                date(2026, 3, 9).at(2, 30, 0, 0),
                date(2026, 3, 10).at(2, 30, 0, 0),
            ]
        );
        // The turn that contains the jump is 23.5 hours long, and the next 23.5.
        let turn = &timeline.segments[2];
        assert_eq!(turn.end.duration_since(turn.start).as_mins(), 24 * 60 - 30);
        // Alternation holds.
        let people: Vec<&str> = timeline.segments[1..]
            .iter()
            .map(|segment| segment.user.as_deref().unwrap())
            .collect();
        assert_eq!(people, vec!["bob", "ann", "bob", "ann", "bob"]);
    }

    #[test]
    fn a_handoff_at_the_very_start_of_a_spring_forward_gap_is_at_the_jump_and_skips_no_turn() {
        // Berlin springs forward on 28 March 2027 at 02:00 → 03:00: 02:00 itself does not
        // exist that night. Every turn still happens, each in order.
        let berlin = tz("Europe/Berlin");
        let s = schedule(
            "Europe/Berlin",
            vec![layer(
                RotationUnit::Day,
                1,
                date(2027, 3, 20).at(2, 0, 0, 0),
                &["alice", "bob"],
            )],
        );
        let from = at(&berlin, date(2027, 3, 25).at(0, 0, 0, 0));
        let to = at(&berlin, date(2027, 3, 30).at(0, 0, 0, 0));
        let timeline = s.timeline(from, to).unwrap();
        assert_contiguous(&timeline, from, to);
        let turns: Vec<(String, String)> = timeline
            .segments
            .iter()
            .map(|segment| {
                (
                    segment.start.to_string(),
                    segment.user.clone().unwrap_or_default(),
                )
            })
            .collect();
        let expected = [
            ("2027-03-24T23:00:00Z", "alice"),
            ("2027-03-25T01:00:00Z", "bob"),
            ("2027-03-26T01:00:00Z", "alice"),
            ("2027-03-27T01:00:00Z", "bob"),
            // 02:00 CET does not exist on the 28th: the hand-off is at the jump, 03:00 CEST.
            ("2027-03-28T01:00:00Z", "alice"),
            ("2027-03-29T00:00:00Z", "bob"),
        ];
        assert_eq!(
            turns,
            expected
                .iter()
                .map(|(start, user)| (start.to_string(), user.to_string()))
                .collect::<Vec<_>>()
        );
        // The same class in New York, whose clocks skip 02:00 on 8 March 2026.
        let ny = tz("America/New_York");
        let s = schedule(
            "America/New_York",
            vec![layer(
                RotationUnit::Day,
                1,
                date(2026, 3, 1).at(2, 0, 0, 0),
                &["alice", "bob"],
            )],
        );
        let from = at(&ny, date(2026, 3, 6).at(12, 0, 0, 0));
        let to = at(&ny, date(2026, 3, 10).at(12, 0, 0, 0));
        let timeline = s.timeline(from, to).unwrap();
        assert_contiguous(&timeline, from, to);
        let handoffs: Vec<DateTime> = timeline.segments[1..]
            .iter()
            .map(|segment| wall(&ny, segment.start))
            .collect();
        assert_eq!(
            handoffs,
            vec![
                date(2026, 3, 7).at(2, 0, 0, 0),
                date(2026, 3, 8).at(3, 0, 0, 0),
                date(2026, 3, 9).at(2, 0, 0, 0),
                date(2026, 3, 10).at(2, 0, 0, 0),
            ]
        );
        assert_eq!(
            instant_of(&ny, date(2026, 3, 8).at(2, 0, 0, 0)).to_string(),
            "2026-03-08T07:00:00Z"
        );
    }

    #[test]
    fn daily_handoffs_across_fall_back_happen_the_first_time_and_the_day_is_25_hours() {
        // New York falls back on 1 November 2026 at 02:00 → 01:00.
        let ny = tz("America/New_York");
        let s = schedule(
            "America/New_York",
            vec![layer(
                RotationUnit::Day,
                1,
                date(2026, 10, 1).at(1, 30, 0, 0),
                &["ann", "bob", "cid"],
            )],
        );
        let from = at(&ny, date(2026, 10, 30).at(12, 0, 0, 0));
        let to = at(&ny, date(2026, 11, 3).at(12, 0, 0, 0));
        let timeline = s.timeline(from, to).unwrap();
        assert_contiguous(&timeline, from, to);
        let lengths: Vec<i64> = timeline.segments[1..timeline.segments.len() - 1]
            .iter()
            .map(|segment| segment.end.duration_since(segment.start).as_hours())
            .collect();
        // 31 Oct 01:30 → 1 Nov 01:30 (first, EDT) is 24 h; 1 Nov 01:30 EDT → 2 Nov
        // 01:30 EST is 25 h.
        assert_eq!(lengths, vec![24, 25, 24]);
        let handoff = wall(&ny, timeline.segments[2].start);
        assert_eq!(handoff, date(2026, 11, 1).at(1, 30, 0, 0));
        assert_eq!(
            timeline.segments[2]
                .start
                .to_zoned(ny.clone())
                .offset()
                .seconds(),
            -4 * 3600,
            "the first 01:30 (EDT)"
        );
    }

    #[test]
    fn weekly_handoffs_keep_their_wall_time_across_dst() {
        let berlin = tz("Europe/Berlin");
        // Berlin springs forward on 29 March 2026.
        let s = schedule(
            "Europe/Berlin",
            vec![layer(
                RotationUnit::Week,
                1,
                date(2026, 3, 2).at(9, 0, 0, 0),
                &["ann", "bob"],
            )],
        );
        let from = at(&berlin, date(2026, 3, 20).at(0, 0, 0, 0));
        let to = at(&berlin, date(2026, 4, 15).at(0, 0, 0, 0));
        let timeline = s.timeline(from, to).unwrap();
        assert_contiguous(&timeline, from, to);
        for segment in &timeline.segments[1..] {
            assert_eq!(wall(&berlin, segment.start).time(), time(9, 0, 0, 0));
            assert_eq!(wall(&berlin, segment.start).weekday(), Weekday::Monday);
        }
        // The week containing the change is an hour short.
        let short = timeline
            .segments
            .iter()
            .find(|segment| wall(&berlin, segment.start).date() == date(2026, 3, 23))
            .unwrap();
        assert_eq!(short.end.duration_since(short.start).as_hours(), 7 * 24 - 1);
    }

    #[test]
    fn hourly_turns_are_absolute_hours_without_gap_or_overlap_across_both_changes() {
        let ny = tz("America/New_York");
        let s = schedule(
            "America/New_York",
            vec![layer(
                RotationUnit::Hour,
                1,
                date(2026, 1, 1).at(0, 0, 0, 0),
                &["ann", "bob", "cid"],
            )],
        );
        for (day, month) in [(8, 3), (1, 11)] {
            let from = at(&ny, date(2026, month, day).at(0, 0, 0, 0));
            let to = from.checked_add(SignedDuration::from_hours(6)).unwrap();
            let timeline = s.timeline(from, to).unwrap();
            assert_contiguous(&timeline, from, to);
            assert_eq!(timeline.segments.len(), 6);
            for segment in &timeline.segments {
                assert_eq!(segment.end.duration_since(segment.start).as_hours(), 1);
            }
        }
    }

    #[test]
    fn monthly_turns_anchored_on_the_31st_clamp_without_drifting() {
        let utc = tz("UTC");
        let s = schedule(
            "UTC",
            vec![layer(
                RotationUnit::Month,
                1,
                date(2026, 1, 31).at(10, 0, 0, 0),
                &["ann", "bob"],
            )],
        );
        let from = at(&utc, date(2026, 1, 1).at(0, 0, 0, 0));
        let to = at(&utc, date(2026, 6, 1).at(0, 0, 0, 0));
        let timeline = s.timeline(from, to).unwrap();
        let starts: Vec<_> = timeline.segments[1..]
            .iter()
            .map(|segment| wall(&utc, segment.start).date())
            .collect();
        assert_eq!(
            starts,
            vec![
                date(2026, 1, 31),
                date(2026, 2, 28),
                date(2026, 3, 31),
                date(2026, 4, 30),
                date(2026, 5, 31),
            ]
        );
    }

    #[test]
    fn restrictions_cross_midnight_and_the_weeks_end() {
        let utc = tz("UTC");
        let mut nights = layer(
            RotationUnit::Week,
            1,
            date(2026, 1, 5).at(0, 0, 0, 0),
            &["night"],
        );
        nights.priority = 2;
        nights.restrictions = vec![Restriction::Daily {
            start: time(22, 0, 0, 0),
            end: time(6, 0, 0, 0),
        }];
        let mut weekend = layer(
            RotationUnit::Week,
            1,
            date(2026, 1, 5).at(0, 0, 0, 0),
            &["weekend"],
        );
        weekend.priority = 1;
        weekend.restrictions = vec![Restriction::Weekly {
            start_day: Weekday::Friday,
            start: time(18, 0, 0, 0),
            end_day: Weekday::Monday,
            end: time(8, 0, 0, 0),
        }];
        let s = schedule("UTC", vec![weekend, nights]);
        let who = |wall: DateTime| s.on_call_at(at(&utc, wall)).map(|(user, _)| user);
        assert_eq!(who(date(2026, 1, 7).at(23, 0, 0, 0)), Some("night"));
        assert_eq!(who(date(2026, 1, 8).at(5, 59, 0, 0)), Some("night"));
        assert_eq!(who(date(2026, 1, 8).at(6, 0, 0, 0)), None);
        assert_eq!(who(date(2026, 1, 9).at(19, 0, 0, 0)), Some("weekend"));
        assert_eq!(who(date(2026, 1, 10).at(23, 0, 0, 0)), Some("night"));
        assert_eq!(who(date(2026, 1, 11).at(12, 0, 0, 0)), Some("weekend"));
        assert_eq!(who(date(2026, 1, 12).at(7, 59, 0, 0)), Some("weekend"));
        assert_eq!(who(date(2026, 1, 12).at(8, 0, 0, 0)), None);

        // The timeline reports the weekday gaps.
        let from = at(&utc, date(2026, 1, 7).at(0, 0, 0, 0));
        let to = at(&utc, date(2026, 1, 8).at(0, 0, 0, 0));
        let timeline = s.timeline(from, to).unwrap();
        assert_contiguous(&timeline, from, to);
        let gaps: Vec<(DateTime, DateTime)> = timeline
            .gaps()
            .map(|gap| (wall(&utc, gap.start), wall(&utc, gap.end)))
            .collect();
        assert_eq!(
            gaps,
            vec![(
                date(2026, 1, 7).at(6, 0, 0, 0),
                date(2026, 1, 7).at(22, 0, 0, 0)
            )]
        );
    }

    #[test]
    fn restriction_edges_in_a_gap_move_to_the_jump_and_in_a_fold_are_their_first_occurrence() {
        let restricted = |start: Time, end: Time| {
            let mut night = layer(
                RotationUnit::Week,
                1,
                date(2026, 1, 5).at(0, 0, 0, 0),
                &["window"],
            );
            night.priority = 1;
            night.restrictions = vec![Restriction::Daily { start, end }];
            let always = layer(
                RotationUnit::Week,
                1,
                date(2026, 1, 5).at(0, 0, 0, 0),
                &["rest"],
            );
            schedule("America/New_York", vec![always, night])
        };
        let utc = |text: &str| text.parse::<Timestamp>().unwrap();
        let who = |s: &Schedule, t: &str| s.on_call_at(utc(t)).map(|(user, _)| user.to_owned());
        let window = Some("window".to_owned());
        let rest = Some("rest".to_owned());

        // 1 November 2026: 01:00–01:59 happens twice, EDT (05:00Z–05:59Z) then EST
        // (06:00Z–06:59Z). A window closing at 01:30 closes the first time; the
        // repeated 01:15 is outside it.
        let s = restricted(time(22, 0, 0, 0), time(1, 30, 0, 0));
        assert_eq!(who(&s, "2026-11-01T05:15:00Z"), window, "01:15 EDT");
        assert_eq!(who(&s, "2026-11-01T05:30:00Z"), rest, "01:30 EDT");
        assert_eq!(who(&s, "2026-11-01T06:15:00Z"), rest, "01:15 EST");
        // A window opening at 01:45 opens the first time and holds the repeated hour.
        let s = restricted(time(1, 45, 0, 0), time(9, 0, 0, 0));
        assert_eq!(who(&s, "2026-11-01T05:40:00Z"), rest, "01:40 EDT");
        assert_eq!(who(&s, "2026-11-01T05:45:00Z"), window, "01:45 EDT");
        assert_eq!(who(&s, "2026-11-01T06:10:00Z"), window, "01:10 EST");
        let timeline = s
            .timeline(utc("2026-11-01T04:00:00Z"), utc("2026-11-01T15:00:00Z"))
            .unwrap();
        assert_eq!(
            timeline
                .segments
                .iter()
                .map(|segment| (segment.start.to_string(), segment.user.clone()))
                .collect::<Vec<_>>(),
            vec![
                ("2026-11-01T04:00:00Z".to_owned(), rest.clone()),
                ("2026-11-01T05:45:00Z".to_owned(), window.clone()),
                ("2026-11-01T14:00:00Z".to_owned(), rest.clone()),
            ]
        );

        // 8 March 2026: 02:00–02:59 does not exist. A window closing at 02:30 closes at
        // the jump (03:00 EDT, 07:00Z); one inside the gap does not open that day.
        let s = restricted(time(22, 0, 0, 0), time(2, 30, 0, 0));
        assert_eq!(who(&s, "2026-03-08T06:59:00Z"), window, "01:59 EST");
        assert_eq!(who(&s, "2026-03-08T07:00:00Z"), rest, "03:00 EDT");
        let s = restricted(time(2, 10, 0, 0), time(2, 40, 0, 0));
        let timeline = s
            .timeline(utc("2026-03-08T05:00:00Z"), utc("2026-03-08T09:00:00Z"))
            .unwrap();
        assert_eq!(timeline.segments.len(), 1);
        assert_eq!(timeline.segments[0].user, rest);
        assert_eq!(
            who(&s, "2026-03-09T06:15:00Z"),
            window,
            "02:15 EDT the next day"
        );
    }

    #[test]
    fn overrides_win_overlap_fill_gaps_and_outlast_layers() {
        let utc = tz("UTC");
        let mut low = layer(
            RotationUnit::Day,
            1,
            date(2026, 1, 1).at(9, 0, 0, 0),
            &["low"],
        );
        low.ends_at = Some(at(&utc, date(2026, 1, 10).at(0, 0, 0, 0)));
        let mut high = layer(
            RotationUnit::Day,
            1,
            date(2026, 1, 1).at(9, 0, 0, 0),
            &["high"],
        );
        high.priority = 5;
        high.restrictions = vec![Restriction::Daily {
            start: time(9, 0, 0, 0),
            end: time(17, 0, 0, 0),
        }];
        let mut s = schedule("UTC", vec![low, high]);
        let t = |d: i8, h: i8| at(&utc, date(2026, 1, d).at(h, 0, 0, 0));
        s.overrides = vec![
            Override {
                starts_at: t(3, 10),
                ends_at: t(3, 14),
                user: "first".into(),
            },
            // Overlaps the first; added later, so it wins where both hold.
            Override {
                starts_at: t(3, 12),
                ends_at: t(3, 16),
                user: "second".into(),
            },
            // Past the low layer's end, where nobody would be on call.
            Override {
                starts_at: t(10, 0),
                ends_at: t(10, 6),
                user: "late".into(),
            },
        ];
        let who = |d, h| s.on_call_at(t(d, h)).map(|(user, _)| user);
        assert_eq!(
            who(3, 8),
            Some("low"),
            "lower layer outside the high one's window"
        );
        assert_eq!(who(3, 9), Some("high"), "higher layer over lower");
        assert_eq!(who(3, 11), Some("first"), "override over layers");
        assert_eq!(
            who(3, 13),
            Some("second"),
            "the later override where they overlap"
        );
        assert_eq!(who(3, 15), Some("second"));
        assert_eq!(who(3, 16), Some("high"));
        assert_eq!(who(10, 3), Some("late"), "an override where no layer runs");
        assert_eq!(who(10, 7), None, "then a gap");

        let timeline = s.timeline(t(9, 12), t(10, 12)).unwrap();
        assert_contiguous(&timeline, t(9, 12), t(10, 12));
        let sources: Vec<(Option<&str>, Option<Source>)> = timeline
            .segments
            .iter()
            .map(|segment| (segment.user.as_deref(), segment.source))
            .collect();
        assert_eq!(
            sources,
            vec![
                (Some("high"), Some(Source::Layer(1))),
                (Some("low"), Some(Source::Layer(0))),
                (Some("late"), Some(Source::Override(2))),
                (None, None),
                // The high layer has no end: its window opens again at 09:00.
                (Some("high"), Some(Source::Layer(1))),
            ]
        );
    }

    #[test]
    fn schedules_validate_and_export_ical() {
        let mut s = schedule(
            "UTC",
            vec![layer(
                RotationUnit::Day,
                1,
                date(2026, 1, 1).at(9, 0, 0, 0),
                &["ann;x", "bob"],
            )],
        );
        s.validate().unwrap();
        let timeline = s
            .timeline(
                Timestamp::from_second(1_767_225_600).unwrap(),
                Timestamp::from_second(1_767_225_600 + 2 * 86_400).unwrap(),
            )
            .unwrap();
        let names = [("bob".to_owned(), "Bob, the Builder".to_owned())].into();
        let ical = to_ical("Primary, EU", "sched-1", &timeline, &names);
        assert!(ical.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(ical.ends_with("END:VCALENDAR\r\n"));
        assert_eq!(
            ical.matches("BEGIN:VEVENT").count(),
            timeline.segments.len()
        );
        // Named people by their name, others by what the schedule holds.
        assert!(ical.contains("SUMMARY:On call: ann\\;x (Primary\\, EU)"));
        assert!(ical.contains("SUMMARY:On call: Bob\\, the Builder (Primary\\, EU)"));
        assert!(ical.contains("DTSTART:20260101T090000Z"));
        s.layers[0].rotation.participants.clear();
        assert!(s.validate().is_err());
        assert!(
            schedule("UTC", vec![])
                .timeline(Timestamp::MIN, Timestamp::MAX)
                .is_err()
        );
    }

    #[test]
    fn a_new_override_is_bounded_and_a_schedule_holds_a_limited_number() {
        let at = |text: &str| text.parse::<Timestamp>().unwrap();
        let start = at("2026-11-10T00:00:00Z");
        assert!(check_new_override(0, start, at("2026-11-11T00:00:00Z")).is_ok());
        let longest = start + SignedDuration::from_hours(OVERRIDE_DAYS_MAX * 24);
        assert!(check_new_override(OVERRIDES_MAX - 1, start, longest).is_ok());
        for (existing, end, code) in [
            (0, start, crate::ErrorCode::InvalidOverrideRange),
            (
                0,
                at("2026-11-09T00:00:00Z"),
                crate::ErrorCode::InvalidOverrideRange,
            ),
            (
                0,
                longest + SignedDuration::from_secs(1),
                crate::ErrorCode::InvalidOverrideRange,
            ),
            (OVERRIDES_MAX, longest, crate::ErrorCode::TooManyOverrides),
        ] {
            assert_eq!(
                check_new_override(existing, start, end).map_err(|r| r.code),
                Err(code)
            );
        }
    }

    #[test]
    fn an_override_without_an_id_gets_one_derived_from_its_content() {
        use crate::sre::documents::OverrideDoc;
        let doc = |user: &str| OverrideDoc {
            id: None,
            user: user.to_owned(),
            starts_at: "2026-11-10T00:00:00Z".to_owned(),
            ends_at: "2026-11-11T00:00:00Z".to_owned(),
        };
        let id = doc("ann").id_or_derived();
        assert!(id.starts_with("legacy-") && id.len() == "legacy-".len() + 16);
        assert_eq!(doc("ann").id_or_derived(), id);
        assert_ne!(doc("bob").id_or_derived(), id);
        let stored = OverrideDoc {
            id: Some("0190".to_owned()),
            ..doc("ann")
        };
        assert_eq!(stored.id_or_derived(), "0190");
    }
}
