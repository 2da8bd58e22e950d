//! SLO calendar windows proved against an independent oracle:
//! `scripts/slo_window_oracle.py` (Python's standard `zoneinfo`), written from the
//! README's "How SLO budgets are computed" and not from the Rust code. Thousands of
//! generated instants — every hour around each daylight-saving change of zones with
//! 1-hour, 30-minute and midnight changes in both hemispheres, 45-minute offsets and no
//! changes, at the edges of weeks, months, quarters and years, and spread over fifteen
//! years — must give the same period from `Window::period_at` as from the oracle.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rampart_domain::sre::slos::{CalendarUnit, Window};
use serde_json::json;

use super::schedules_oracle::run_python_oracle;

const ZONES: [&str; 9] = [
    "Europe/Berlin",
    "America/New_York",
    // Changes at midnight.
    "America/Santiago",
    "America/Havana",
    // A 30-minute change, southern hemisphere.
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "America/St_Johns",
    "UTC",
];

const UNITS: [(CalendarUnit, &str); 4] = [
    (CalendarUnit::Week, "week"),
    (CalendarUnit::Month, "month"),
    (CalendarUnit::Quarter, "quarter"),
    (CalendarUnit::Year, "year"),
];

/// The instants of the zone's offset changes from 2018 to 2033.
fn transitions(zone: &TimeZone) -> Vec<Timestamp> {
    let from: Timestamp = "2018-01-01T00:00:00Z".parse().unwrap();
    let to: Timestamp = "2033-01-01T00:00:00Z".parse().unwrap();
    zone.following(from)
        .take_while(|transition| transition.timestamp() < to)
        .map(|transition| transition.timestamp())
        .collect()
}

#[test]
fn calendar_windows_match_zoneinfo() {
    let mut cases = Vec::new();
    let mut instants: Vec<(&str, Timestamp)> = Vec::new();
    for name in ZONES {
        let zone = TimeZone::get(name).unwrap();
        // Around every change: each half hour from 3 hours before to 3 hours after,
        // and a second either side of it.
        for change in transitions(&zone) {
            for step in -6..=6 {
                instants.push((name, change + SignedDuration::from_mins(30 * step)));
            }
            instants.push((name, change - SignedDuration::from_secs(1)));
            instants.push((name, change + SignedDuration::from_secs(1)));
        }
        // Around each local midnight of the first days of months (and so of quarters
        // and years) and of Mondays, over a few years.
        let mut day = jiff::civil::date(2024, 1, 1);
        while day < jiff::civil::date(2029, 1, 1) {
            if day.day() == 1 || day.weekday() == jiff::civil::Weekday::Monday {
                let midnight = rampart_domain::sre::slos::start_of_day(&zone, day);
                for seconds in [-3601, -1, 0, 1, 3600] {
                    instants.push((name, midnight + SignedDuration::from_secs(seconds)));
                }
            }
            day = day.tomorrow().unwrap();
        }
        // Spread: every 1 000 003 seconds (about 11.6 days) over fifteen years.
        let mut at: Timestamp = "2018-01-01T00:00:00Z".parse().unwrap();
        let end: Timestamp = "2033-01-01T00:00:00Z".parse().unwrap();
        while at < end {
            instants.push((name, at));
            at += SignedDuration::from_secs(1_000_003);
        }
    }
    let mut expected = Vec::new();
    for (name, at) in &instants {
        let zone = TimeZone::get(name).unwrap();
        for (unit, unit_name) in UNITS {
            let window = Window::Calendar {
                unit,
                time_zone: zone.clone(),
            };
            expected.push(window.period_at(*at));
            cases.push(json!({"zone": name, "unit": unit_name, "at": at.as_second()}));
        }
    }
    assert!(cases.len() > 10_000, "{} cases", cases.len());
    let answers = run_python_oracle("slo_window_oracle.py", cases.clone());
    let mut differences = Vec::new();
    for ((case, answer), (start, end)) in cases.iter().zip(&answers).zip(&expected) {
        let oracle = (
            answer["start"].as_i64().unwrap(),
            answer["end"].as_i64().unwrap(),
        );
        if oracle != (start.as_second(), end.as_second()) {
            differences.push(format!(
                "{case}: rampart {start}..{end}, zoneinfo {}..{}",
                Timestamp::from_second(oracle.0).unwrap(),
                Timestamp::from_second(oracle.1).unwrap()
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} differ, first: {:#?}",
        differences.len(),
        cases.len(),
        &differences[..differences.len().min(10)]
    );
}
