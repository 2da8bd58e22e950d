//! On-call schedules in the UI: who is on call now and next on each of a project's
//! schedules, and a schedule's page with the next two weeks drawn day by day in the
//! schedule's own time zone — layers, overrides and gaps — and the same shifts as a
//! table (what a screen reader reads). The drawing is SVG whose geometry is attributes,
//! so the Content-Security-Policy's ban on inline style holds.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp, Zoned};
use maud::{Markup, html};
use rampart_domain::sre::schedules::{Segment, Source};

use crate::AppState;
use crate::web::ApiGuards;
use crate::web::gate::{ApiRoute, Browser, WebError, WebPath};
use crate::web::page::{project_base, viewer_page};

pub const LIST: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/schedules",
);
const TIMELINE: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/schedules/{schedule}/timeline",
);

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 2] = [LIST, TIMELINE];

/// How many days a schedule's page draws.
const DAYS: i64 = 14;
/// How many participants get colours of their own before colours repeat.
const COLOURS: usize = 8;

/// Who is on call at `now` and who takes over next (and from when), from a timeline
/// that starts at `now`.
pub fn now_and_next(
    segments: &[Segment],
    now: Timestamp,
) -> (Option<String>, Option<(String, Timestamp)>) {
    let current = segments
        .first()
        .filter(|segment| segment.start <= now)
        .and_then(|segment| segment.user.clone());
    let next = segments
        .iter()
        .skip(1)
        .find(|segment| segment.user.is_some() && segment.user != current)
        .and_then(|segment| Some((segment.user.clone()?, segment.start)));
    (current, next)
}

/// An instant in the schedule's zone, as people there read it.
fn local(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned(tz.clone())
        .strftime("%a %d %b %H:%M %Z")
        .to_string()
}

fn name_of(names: &BTreeMap<String, String>, user: &str) -> String {
    names.get(user).cloned().unwrap_or_else(|| user.to_owned())
}

/// `GET /o/{org}/p/{project}/schedules`
pub async fn list(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &LIST, &path, None).await?;
    let scope = viewer.scope.scope();
    let now = state.app.now();
    let until = now
        .checked_add(SignedDuration::from_hours(24 * DAYS))
        .unwrap_or(now);
    let schedules = state.app.list_schedules(scope, Some(500), None).await?;
    let mut rows = Vec::new();
    for schedule in &schedules.items {
        let identifier = schedule.record.identifier.to_string();
        let segments = state
            .app
            .schedule_timeline(scope, &identifier, now, until)
            .await
            .map(|timeline| timeline.segments)
            .unwrap_or_default();
        let (current, next) = now_and_next(&segments, now);
        rows.push((schedule, current, next));
    }
    let people: Vec<&str> = rows
        .iter()
        .flat_map(|(_, current, next)| {
            [
                current.as_deref(),
                next.as_ref().map(|(user, _)| user.as_str()),
            ]
        })
        .flatten()
        .collect();
    let names = state.app.person_names(&people).await?;
    let base = format!("{}/schedules", project_base(&viewer));
    let main = html! {
        h1 { "On call" }
        @if rows.is_empty() {
            p.muted { "No schedules in this project." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "Schedule" } th scope="col" { "On call now" }
                    th scope="col" { "Next" } th scope="col" { "Time zone" }
                } }
                tbody {
                    @for (schedule, current, next) in &rows {
                        @let tz = TimeZone::get(&schedule.document.time_zone).unwrap_or(TimeZone::UTC);
                        tr {
                            td data-label="Schedule" {
                                a href=(format!("{base}/{}", schedule.record.identifier)) { (schedule.record.name.as_str()) }
                            }
                            td data-label="On call now" {
                                @match current {
                                    Some(user) => (name_of(&names, user)),
                                    None => span.error { "nobody (a gap)" },
                                }
                            }
                            td data-label="Next" {
                                @if let Some((user, at)) = next { (name_of(&names, user)) " from " (local(*at, &tz)) } @else { "—" }
                            }
                            td data-label="Time zone" { (schedule.document.time_zone) }
                        }
                    }
                }
            }
        }
    };
    Ok(viewer_page(&viewer, "On call", StatusCode::OK, main))
}

/// `GET /o/{org}/p/{project}/schedules/{schedule}`: the next two weeks.
pub async fn show(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser
        .admit(&state, &guards, &TIMELINE, &path, None)
        .await?;
    let scope = viewer.scope.scope();
    let identifier = path.param("schedule");
    let schedule = state.app.schedule(scope, identifier).await?;
    let tz = TimeZone::get(&schedule.document.time_zone).unwrap_or(TimeZone::UTC);
    let now = state.app.now();
    // Whole days in the schedule's zone, from the start of today there (23 or 25 hours
    // across a daylight-saving change).
    let today = now
        .to_zoned(tz.clone())
        .start_of_day()
        .map_err(|_| rampart_app::AppError::Internal("a day without a start".into()))?;
    let days: Vec<Zoned> = (0..=DAYS)
        .filter_map(|offset| today.checked_add(Span::new().days(offset)).ok())
        .collect();
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Err(rampart_app::AppError::Internal("no days to draw".into()).into());
    };
    let timeline = state
        .app
        .schedule_timeline(scope, identifier, first.timestamp(), last.timestamp())
        .await?;
    let people: Vec<&str> = timeline
        .segments
        .iter()
        .filter_map(|segment| segment.user.as_deref())
        .collect();
    let names = state.app.person_names(&people).await?;
    // One colour per participant, in the order they first appear.
    let mut colours: Vec<String> = Vec::new();
    for user in timeline.segments.iter().filter_map(|s| s.user.clone()) {
        if !colours.contains(&user) {
            colours.push(user);
        }
    }
    let layers: Vec<String> = schedule
        .document
        .layers
        .iter()
        .map(|layer| layer.name.clone())
        .collect();
    let source_text = |source: Option<Source>| match source {
        Some(Source::Override(_)) => "override".to_owned(),
        Some(Source::Layer(index)) => format!(
            "layer {}",
            layers.get(index).map(String::as_str).unwrap_or("?")
        ),
        None => "nobody".to_owned(),
    };
    let (current, next) = now_and_next(
        &state
            .app
            .schedule_timeline(scope, identifier, now, last.timestamp())
            .await?
            .segments,
        now,
    );
    let drawing = draw(
        &days,
        &timeline.segments,
        &colours,
        &names,
        &source_text,
        &tz,
        now,
    );
    let main = html! {
        p { a href=(format!("{}/schedules", project_base(&viewer))) { "← All schedules" } }
        h1 { (schedule.record.name.as_str()) }
        p {
            "On call now: "
            @match &current { Some(user) => strong { (name_of(&names, user)) }, None => span.error { "nobody (a gap)" } }
            @if let Some((user, at)) = &next { " · next: " (name_of(&names, user)) " from " (local(*at, &tz)) }
            " · times in " (schedule.document.time_zone)
        }
        h2 #h-timeline { "The next two weeks" }
        (drawing)
        ul.legend {
            @for (index, user) in colours.iter().enumerate() {
                li { svg.swatch width="14" height="14" aria-hidden="true" { rect class=(format!("u{}", index % COLOURS)) width="14" height="14" {} } " " (name_of(&names, user)) }
            }
            li { svg.swatch width="14" height="14" aria-hidden="true" { rect.gap width="14" height="14" {} } " nobody on call (a gap)" }
            li { svg.swatch width="14" height="14" aria-hidden="true" { rect.u0.override width="14" height="14" {} } " an override (outlined)" }
        }
        h2 { "Shifts" }
        table.responsive {
            thead { tr {
                th scope="col" { "From" } th scope="col" { "Until" } th scope="col" { "Who" } th scope="col" { "From where" }
            } }
            tbody {
                @for segment in &timeline.segments {
                    tr {
                        td data-label="From" { (local(segment.start, &tz)) }
                        td data-label="Until" { (local(segment.end, &tz)) }
                        td data-label="Who" {
                            @match &segment.user { Some(user) => (name_of(&names, user)), None => span.error { "nobody (a gap)" } }
                        }
                        td data-label="From where" { (source_text(segment.source)) }
                    }
                }
            }
        }
    };
    Ok(viewer_page(
        &viewer,
        schedule.record.name.as_str(),
        StatusCode::OK,
        main,
    ))
}

/// The two weeks as SVG: a row per day, the day's shifts as bars across 24 hours (of
/// the day's real length), coloured per person, gaps shaded, overrides outlined, and
/// today's line marked where it is now.
fn draw(
    days: &[Zoned],
    segments: &[Segment],
    colours: &[String],
    names: &BTreeMap<String, String>,
    source_text: &dyn Fn(Option<Source>) -> String,
    tz: &TimeZone,
    now: Timestamp,
) -> Markup {
    const LABEL: f64 = 110.0;
    const HOURS: f64 = 880.0;
    const ROW: f64 = 26.0;
    const TOP: f64 = 22.0;
    // Each day with its first and last instant.
    let ranges: Vec<(&Zoned, Timestamp, Timestamp)> = days
        .windows(2)
        .filter_map(|pair| match pair {
            [day, next] => Some((day, day.timestamp(), next.timestamp())),
            _ => None,
        })
        .collect();
    let rows = ranges.len();
    let height = TOP + ROW * rows as f64 + 4.0;
    let x_of = |fraction: f64| LABEL + HOURS * fraction.clamp(0.0, 1.0);
    html! {
        svg.timeline viewBox=(format!("0 0 1000 {height}")) role="img" aria-labelledby="h-timeline" {
            @for hour in [0, 6, 12, 18, 24] {
                @let x = x_of(f64::from(hour) / 24.0);
                line.tick x1=(x) x2=(x) y1=(TOP - 4.0) y2=(height) {}
                @let anchor = match hour { 0 => "start", 24 => "end", _ => "middle" };
                text.hour x=(x) y="14" text-anchor=(anchor) { (format!("{hour:02}:00")) }
            }
            @for (index, (day, start, end)) in ranges.iter().enumerate() {
                @let (start, end) = (*start, *end);
                @let length = (end.as_second() - start.as_second()).max(1) as f64;
                @let y = TOP + ROW * index as f64;
                text.day x="4" y=(y + 17.0) { (day.strftime("%a %d %b").to_string()) }
                @if index == 0 {
                    @let x = x_of((now.as_second() - start.as_second()) as f64 / length);
                    line.now x1=(x) x2=(x) y1=(y) y2=(y + ROW) { title { "now" } }
                }
                @for segment in segments.iter().filter(|s| s.start < end && s.end > start) {
                    @let from = (segment.start.max(start).as_second() - start.as_second()) as f64 / length;
                    @let to = (segment.end.min(end).as_second() - start.as_second()) as f64 / length;
                    @let class = match &segment.user {
                        Some(user) => {
                            let colour = colours.iter().position(|c| c == user).unwrap_or(0) % COLOURS;
                            let outlined = if matches!(segment.source, Some(Source::Override(_))) { " override" } else { "" };
                            format!("u{colour}{outlined}")
                        }
                        None => "gap".to_owned(),
                    };
                    rect class=(class) x=(x_of(from)) y=(y + 3.0) width=((x_of(to) - x_of(from)).max(0.5)) height=(ROW - 6.0) {
                        title {
                            (segment.user.as_deref().map_or_else(|| "nobody".to_owned(), |user| name_of(names, user)))
                            " · " (local(segment.start, tz)) " – " (local(segment.end, tz))
                            " · " (source_text(segment.source))
                        }
                    }
                }
            }
        }
    }
}
