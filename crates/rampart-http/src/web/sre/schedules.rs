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
use rampart_domain::sre::documents::{LayerDoc, OverrideDoc, ScheduleDoc};
use rampart_domain::sre::schedules::{Segment, Source};
use serde::Deserialize;

use crate::AppState;
use crate::extract::ApiForm;
use crate::web::ApiGuards;
use crate::web::gate::{
    ApiRoute, Browser, Viewer, WebError, WebPath, form_lines, form_rows, invalid, see_other,
};
use crate::web::page::{csrf_field, project_base, viewer_page};
use crate::web::platform::identity::People;

pub const LIST: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/schedules",
);
const TIMELINE: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/schedules/{schedule}/timeline",
);

const CREATE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/schedules",
);
const REPLACE: ApiRoute = (
    Method::PUT,
    "/api/v1/orgs/{org}/projects/{project}/schedules/{schedule}",
);
const ADD_OVERRIDE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/schedules/{schedule}/overrides",
);
const TAKE_SHIFT: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/schedules/{schedule}/overrides/take",
);
const REMOVE_OVERRIDE: ApiRoute = (
    Method::DELETE,
    "/api/v1/orgs/{org}/projects/{project}/schedules/{schedule}/overrides/{override_id}",
);

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 7] = [
    LIST,
    TIMELINE,
    CREATE,
    REPLACE,
    ADD_OVERRIDE,
    TAKE_SHIFT,
    REMOVE_OVERRIDE,
];

/// The rotation units a layer may have: (value, label).
const UNITS: [(&str, &str); 4] = [
    ("hour", "hours"),
    ("day", "days"),
    ("week", "weeks"),
    ("month", "months"),
];

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
        @if viewer.may(&CREATE) {
            details.edit {
                summary { "New schedule" }
                form.card method="post" action=(base) {
                    (csrf_field(&viewer))
                    label for="s-identifier" { "Identifier" }
                    input #s-identifier type="text" name="identifier" required pattern="[a-z0-9][a-z0-9\\-]{0,62}" placeholder="primary";
                    label for="s-name" { "Name" }
                    input #s-name type="text" name="name" required maxlength="100";
                    (definition_fields("UTC", &[], &People::read(&state, &viewer, &[]).await?))
                    div { button type="submit" { "Create schedule" } }
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
    let here = format!("{}/schedules/{identifier}", project_base(&viewer));
    let mut ids: Vec<&str> = schedule
        .document
        .layers
        .iter()
        .flat_map(|layer| layer.participants.iter().map(String::as_str))
        .collect();
    ids.extend(schedule.document.overrides.iter().map(|o| o.user.as_str()));
    let people = People::read(&state, &viewer, &ids).await?;
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
        (overrides_section(&viewer, &schedule.document, &people, &tz, now, &here))
        @if viewer.may(&REPLACE) {
            details.edit {
                summary { "Edit the schedule" }
                form.card method="post" action=(format!("{here}/edit")) {
                    (csrf_field(&viewer))
                    label for="s-name" { "Name" }
                    input #s-name type="text" name="name" required maxlength="100" value=(schedule.record.name.as_str());
                    (definition_fields(&schedule.document.time_zone, &schedule.document.layers, &people))
                    div { button type="submit" { "Save the schedule" } }
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

/// The overrides that are not over yet, with removing one, adding one for someone, and
/// taking a shift yourself.
fn overrides_section(
    viewer: &Viewer,
    schedule: &ScheduleDoc,
    people: &People,
    tz: &TimeZone,
    now: Timestamp,
    here: &str,
) -> Markup {
    let mut current: Vec<&OverrideDoc> = schedule
        .overrides
        .iter()
        .filter(|o| o.ends_at.parse::<Timestamp>().is_ok_and(|end| end > now))
        .collect();
    current.sort_by_key(|o| o.starts_at.parse::<Timestamp>().ok());
    let shown = |at: &str| {
        at.parse::<Timestamp>()
            .map_or_else(|_| at.to_owned(), |at| local(at, tz))
    };
    let may_remove = viewer.may(&REMOVE_OVERRIDE);
    html! {
        h2 #h-overrides { "Overrides" }
        @if current.is_empty() { p.muted { "No override now or ahead." } }
        @else {
            table.responsive aria-labelledby="h-overrides" {
                thead { tr {
                    th scope="col" { "Who" } th scope="col" { "From" } th scope="col" { "Until" }
                    @if may_remove { th scope="col" { span.visually-hidden { "Actions" } } }
                } }
                tbody {
                    @for o in &current {
                        tr {
                            td data-label="Who" { (people.label(&o.user)) }
                            td data-label="From" { (shown(&o.starts_at)) }
                            td data-label="Until" { (shown(&o.ends_at)) }
                            @if may_remove {
                                td data-label="" {
                                    // The id goes in the body: an override's id came from whoever
                                    // wrote the schedule, and is never part of an address.
                                    form method="post" action=(format!("{here}/overrides/remove")) {
                                        (csrf_field(viewer))
                                        input type="hidden" name="override_id" value=(o.id_or_derived());
                                        button.secondary type="submit" aria-label=(format!("Remove the override of {}", people.label(&o.user))) { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if viewer.may(&TAKE_SHIFT) {
            form.card method="post" action=(format!("{here}/overrides/take")) aria-labelledby="h-take" {
                h3 #h-take { "Take a shift (you, instead of the rotation)" }
                (csrf_field(viewer))
                (window_fields("take"))
                div { button type="submit" { "Take the shift" } }
            }
        }
        @if viewer.may(&ADD_OVERRIDE) {
            form.card method="post" action=(format!("{here}/overrides")) aria-labelledby="h-override-new" {
                h3 #h-override-new { "Put someone on call" }
                (csrf_field(viewer))
                label for="o-user" { "Who (email)" }
                input #o-user type="email" name="user" required;
                (window_fields("o"))
                div { button type="submit" { "Add the override" } }
            }
        }
    }
}

/// From and until, as wall times in the schedule's zone.
fn window_fields(prefix: &str) -> Markup {
    html! {
        label for=(format!("{prefix}-from")) { "From (the schedule's local time)" }
        input id=(format!("{prefix}-from")) type="datetime-local" name="from" required;
        label for=(format!("{prefix}-until")) { "Until" }
        input id=(format!("{prefix}-until")) type="datetime-local" name="until" required;
    }
}

/// The time zone and the layers (each existing one, then a blank one to add; a layer
/// whose name is emptied is removed).
fn definition_fields(time_zone: &str, layers: &[LayerDoc], people: &People) -> Markup {
    let blank = LayerDoc {
        name: String::new(),
        priority: 0,
        unit: "week".to_owned(),
        every: 1,
        first_handoff: String::new(),
        participants: Vec::new(),
        restrictions: Vec::new(),
        starts_at: None,
        ends_at: None,
    };
    html! {
        label for="s-zone" { "Time zone (IANA, such as Europe/Berlin)" }
        input #s-zone type="text" name="time_zone" required value=(time_zone);
        @for (index, layer) in layers.iter().chain(std::iter::once(&blank)).enumerate() {
            @let field = |name: &str| format!("layer{index}.{name}");
            @let id = |name: &str| format!("l{index}-{name}");
            fieldset {
                legend { @if index < layers.len() { "Layer " (index + 1) " (empty its name to remove it)" } @else { "A new layer (optional)" } }
                label for=(id("name")) { "Name" }
                input id=(id("name")) type="text" name=(field("name")) maxlength="100" value=(layer.name) required[index == 0 && layers.is_empty()];
                label for=(id("every")) { "Each turn lasts" }
                div.actions {
                    input id=(id("every")) type="number" min="1" max="1000" name=(field("every")) value=(layer.every) aria-label="How many";
                    select id=(id("unit")) name=(field("unit")) aria-label="Unit" {
                        @for (unit, label) in UNITS { option value=(unit) selected[layer.unit == unit] { (label) } }
                    }
                }
                label for=(id("handoff")) { "First hand-off (local time)" }
                input id=(id("handoff")) type="datetime-local" name=(field("first_handoff")) value=(layer.first_handoff);
                label for=(id("people")) { "Participants in order (emails, one per line)" }
                textarea id=(id("people")) name=(field("participants")) spellcheck="false" {
                    (layer.participants.iter().map(|p| people.field(p)).collect::<Vec<_>>().join("\n"))
                }
            }
        }
    }
}

/// The layer fields of a schedule form (`layer<i>.<field>`); anything else is refused.
#[derive(Debug, Deserialize)]
pub struct DefinitionForm {
    csrf: String,
    #[serde(default)]
    identifier: Option<String>,
    name: String,
    time_zone: String,
    #[serde(flatten)]
    layers: BTreeMap<String, String>,
}

crate::signed_forms!(DefinitionForm, WindowForm, RemoveOverrideForm);

/// The layers a form describes, people named by email turned into user ids; what a
/// form cannot show (restrictions, priority, start and end) is kept from the layer at
/// the same place before.
async fn layers_of(
    state: &AppState,
    form: &DefinitionForm,
    before: &[LayerDoc],
) -> Result<Vec<LayerDoc>, WebError> {
    const FIELDS: [&str; 5] = ["name", "every", "unit", "first_handoff", "participants"];
    let rows = form_rows(&form.layers, "layer", &FIELDS, "layers")?;
    let mut layers = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let get = |field: &str| row.get(field).copied().unwrap_or_default();
        let name = get("name").trim();
        if name.is_empty() {
            continue;
        }
        let mut layer = before.get(index).cloned().unwrap_or(LayerDoc {
            name: String::new(),
            priority: 0,
            unit: String::new(),
            every: 1,
            first_handoff: String::new(),
            participants: Vec::new(),
            restrictions: Vec::new(),
            starts_at: None,
            ends_at: None,
        });
        layer.name = name.to_owned();
        layer.unit = get("unit").to_owned();
        layer.every = match get("every").trim() {
            "" => 1,
            every => every.parse::<u32>().map_err(|_| {
                invalid(
                    "layers",
                    format!(
                        "layer {}: each turn lasts a whole number of units",
                        index + 1
                    ),
                )
            })?,
        };
        layer.first_handoff = get("first_handoff").to_owned();
        layer.participants = Vec::new();
        for person in form_lines(get("participants"), "layers")? {
            layer.participants.push(state.app.user_named(person).await?);
        }
        layers.push(layer);
    }
    Ok(layers)
}

/// `POST /o/{org}/p/{project}/schedules`
pub async fn create(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<DefinitionForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &CREATE, &path, form)
        .await?;
    let layers = layers_of(&state, &form, &[]).await?;
    let identifier = form.identifier.clone().unwrap_or_default();
    let created = state
        .app
        .create_schedule(
            &viewer.ctx,
            viewer.scope.scope(),
            &identifier,
            &form.name,
            ScheduleDoc {
                time_zone: form.time_zone.trim().to_owned(),
                layers,
                overrides: Vec::new(),
            },
        )
        .await?;
    Ok(see_other(&format!(
        "{}/schedules/{}",
        project_base(&viewer),
        created.record.identifier
    )))
}

/// `POST /o/{org}/p/{project}/schedules/{schedule}/edit`: the name, time zone and
/// layers; the overrides stay as they are.
pub async fn edit(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<DefinitionForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &REPLACE, &path, form)
        .await?;
    if form.identifier.is_some() {
        return Err(invalid(
            "identifier",
            "a schedule's identifier does not change",
        ));
    }
    let identifier = path.param("schedule");
    let before = state.app.schedule(viewer.scope.scope(), identifier).await?;
    let layers = layers_of(&state, &form, &before.document.layers).await?;
    state
        .app
        .replace_schedule(
            &viewer.ctx,
            viewer.scope.scope(),
            identifier,
            &form.name,
            ScheduleDoc {
                time_zone: form.time_zone.trim().to_owned(),
                layers,
                overrides: before.document.overrides,
            },
        )
        .await?;
    Ok(see_other(&format!(
        "{}/schedules/{identifier}",
        project_base(&viewer)
    )))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowForm {
    csrf: String,
    #[serde(default)]
    user: Option<String>,
    from: String,
    until: String,
}

/// A wall time of the form (`2026-12-05T09:00`) in the schedule's zone, as RFC 3339.
fn instant(text: &str, tz: &TimeZone, field: &'static str) -> Result<String, WebError> {
    text.trim()
        .parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|wall| wall.to_zoned(tz.clone()).ok())
        .map(|zoned| zoned.timestamp().to_string())
        .ok_or_else(|| invalid(field, "must be a date and time, such as 2026-12-05T09:00"))
}

/// `POST …/schedules/{schedule}/overrides`: someone (by email) on call instead.
pub async fn add_override(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<WindowForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    override_window(state, guards, browser, path, form, false).await
}

/// `POST …/schedules/{schedule}/overrides/take`: you, instead of the rotation.
pub async fn take_shift(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<WindowForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    override_window(state, guards, browser, path, form, true).await
}

async fn override_window(
    state: AppState,
    guards: ApiGuards,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<WindowForm>, crate::error::ApiError>,
    taking: bool,
) -> Result<Response, WebError> {
    let route = if taking { &TAKE_SHIFT } else { &ADD_OVERRIDE };
    let (viewer, form) = browser
        .admit_form(&state, &guards, route, &path, form)
        .await?;
    let identifier = path.param("schedule");
    let scope = viewer.scope.scope();
    let schedule = state.app.schedule(scope, identifier).await?;
    let tz = TimeZone::get(&schedule.document.time_zone).unwrap_or(TimeZone::UTC);
    let from = instant(&form.from, &tz, "from")?;
    let until = instant(&form.until, &tz, "until")?;
    match (taking, form.user.as_deref()) {
        (true, None) => {
            state
                .app
                .take_schedule_shift(&viewer.ctx, scope, identifier, &from, &until)
                .await?;
        }
        (false, Some(person)) => {
            let user = state.app.user_named(person).await?;
            state
                .app
                .create_schedule_override(&viewer.ctx, scope, identifier, &user, &from, &until)
                .await?;
        }
        _ => {
            return Err(invalid(
                "user",
                "name who is on call, or take the shift yourself",
            ));
        }
    }
    Ok(see_other(&format!(
        "{}/schedules/{identifier}#h-overrides",
        project_base(&viewer)
    )))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveOverrideForm {
    csrf: String,
    override_id: String,
}

/// `POST …/schedules/{schedule}/overrides/remove` (the override's id in the body)
pub async fn remove_override(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<RemoveOverrideForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &REMOVE_OVERRIDE, &path, form)
        .await?;
    let identifier = path.param("schedule");
    state
        .app
        .delete_schedule_override(
            &viewer.ctx,
            viewer.scope.scope(),
            identifier,
            &form.override_id,
        )
        .await?;
    Ok(see_other(&format!(
        "{}/schedules/{identifier}#h-overrides",
        project_base(&viewer)
    )))
}
