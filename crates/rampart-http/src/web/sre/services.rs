//! A project's services and their integrations in the UI: the list and creating one; a
//! service's page with its integrations; adding an integration or rotating its
//! credential answers a page showing the webhook address and the credential once, with
//! a configuration to paste into Alertmanager, Grafana or a PagerDuty sender.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use rampart_app::platform::tenancy::ResolvedScope;
use rampart_app::sre::integrations::{IntegrationCredential, IntegrationInput};
use rampart_app::sre::services::ServiceInput;
use rampart_domain::sre::alert_rules::{AlertRule, Conditions, RuleAction};
use rampart_domain::sre::integrations::{AuthMode, Integration};
use serde::Deserialize;

use crate::AppState;
use crate::extract::ApiForm;
use crate::handlers::sre::alerts::PAGERDUTY_ENQUEUE_PATH;
use crate::web::ApiGuards;
use crate::web::gate::{
    ApiRoute, Browser, ButtonForm, Viewer, WebError, WebPath, form_rows, invalid, see_other,
};
use crate::web::page::{csrf_field, project_base, viewer_page, when};

pub const LIST: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/services",
);
const CREATE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/services",
);
const SHOW: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/services/{service}",
);
const ADD_INTEGRATION: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/services/{service}/integrations",
);
const ROTATE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/services/{service}/integrations/{integration}/rotate",
);
const REMOVE_INTEGRATION: ApiRoute = (
    Method::DELETE,
    "/api/v1/orgs/{org}/projects/{project}/services/{service}/integrations/{integration}",
);
const UPDATE: ApiRoute = (
    Method::PATCH,
    "/api/v1/orgs/{org}/projects/{project}/services/{service}",
);
const DELETE: ApiRoute = (
    Method::DELETE,
    "/api/v1/orgs/{org}/projects/{project}/services/{service}",
);
const SET_POLICY: ApiRoute = (
    Method::PUT,
    "/api/v1/orgs/{org}/projects/{project}/services/{service}/escalation-policy",
);
const POLICIES: ApiRoute = super::escalation_policies::LIST;
const RULES: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/services/{service}/alert-rules",
);
const SET_RULES: ApiRoute = (
    Method::PUT,
    "/api/v1/orgs/{org}/projects/{project}/services/{service}/alert-rules",
);
const SEVERITIES: ApiRoute = (Method::GET, "/api/v1/orgs/{org}/incident-severities");
const SEVERITIES_SET: ApiRoute = (Method::PUT, "/api/v1/orgs/{org}/incident-severities");

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 13] = [
    LIST,
    CREATE,
    SHOW,
    ADD_INTEGRATION,
    ROTATE,
    REMOVE_INTEGRATION,
    UPDATE,
    DELETE,
    SET_POLICY,
    RULES,
    SET_RULES,
    SEVERITIES,
    SEVERITIES_SET,
];

/// An alert's severities, lowest first (alert rules' bounds).
const ALERT_SEVERITIES: [&str; 4] = ["info", "warning", "error", "critical"];

/// The SEV levels an organisation may name.
const SEVERITY_LEVELS: [&str; 5] = ["SEV0", "SEV1", "SEV2", "SEV3", "SEV4"];

/// The formats and authentication modes offered when adding an integration:
/// (value, label).
const FORMATS: [(&str, &str); 4] = [
    ("alertmanager", "Prometheus Alertmanager"),
    ("grafana", "Grafana alerting"),
    (
        "pagerduty",
        "PagerDuty Events API v2 (any PagerDuty sender)",
    ),
    ("generic", "Generic JSON"),
];
const AUTH_MODES: [(&str, &str); 4] = [
    ("bearer", "Bearer token"),
    ("basic", "HTTP Basic"),
    ("hmac", "HMAC signature (X-Rampart-Signature)"),
    (
        "routing_key",
        "PagerDuty routing key (PagerDuty format only)",
    ),
];

/// Service identifiers by id, for a project's pages (empty without `service:view`, which
/// is then not shown).
pub async fn service_names(
    state: &AppState,
    viewer: &Viewer,
) -> Result<HashMap<String, String>, WebError> {
    if !viewer.may(&LIST) {
        return Ok(HashMap::new());
    }
    let page = state
        .app
        .list_services(viewer.scope.scope(), Some(500), None)
        .await?;
    Ok(page
        .items
        .into_iter()
        .map(|service| (service.id.to_string(), service.identifier.to_string()))
        .collect())
}

fn base(viewer: &Viewer) -> String {
    format!("{}/services", project_base(viewer))
}

/// `GET /o/{org}/p/{project}/services`
pub async fn list(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &LIST, &path, None).await?;
    let services = state
        .app
        .list_services(viewer.scope.scope(), Some(500), None)
        .await?;
    let base = base(&viewer);
    let main = html! {
        h1 { "Services" }
        @if services.items.is_empty() {
            p.muted { "No services yet. A service receives alerts through its integrations and opens incidents." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "Service" } th scope="col" { "Name" }
                    th scope="col" { "Resolves with its alerts" } th scope="col" { "Created" }
                } }
                tbody {
                    @for service in &services.items {
                        tr {
                            td data-label="Service" {
                                a href=(format!("{base}/{}", service.identifier)) { (service.identifier.as_str()) }
                            }
                            td data-label="Name" { (service.name.as_str()) }
                            td data-label="Resolves with its alerts" { @if service.auto_resolve { "yes" } @else { "no" } }
                            td data-label="Created" { (when(service.created_at)) }
                        }
                    }
                }
            }
        }
        @if viewer.may(&CREATE) {
            h2 { "Create a service" }
            form.card method="post" action=(base) {
                (csrf_field(&viewer))
                label for="service-identifier" { "Identifier (lowercase letters, digits, dashes)" }
                input #service-identifier type="text" name="identifier" required maxlength="63" pattern="[a-z0-9][a-z0-9-]*";
                label for="service-name" { "Name" }
                input #service-name type="text" name="name" required maxlength="255";
                div { button type="submit" { "Create service" } }
            }
        }
    };
    Ok(viewer_page(&viewer, "Services", StatusCode::OK, main))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateForm {
    csrf: String,
    identifier: String,
    name: String,
}

/// `POST /o/{org}/p/{project}/services`
pub async fn create(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<CreateForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &CREATE, &path, form)
        .await?;
    let service = state
        .app
        .create_service(
            &viewer.ctx,
            viewer.scope.scope(),
            ServiceInput {
                identifier: form.identifier,
                name: form.name,
                description: None,
                auto_resolve: None,
            },
        )
        .await?;
    Ok(see_other(&format!(
        "{}/{}",
        base(&viewer),
        service.identifier
    )))
}

/// The address a sender posts to.
fn hook_path(integration: &Integration) -> String {
    match integration.auth_mode {
        AuthMode::RoutingKey => PAGERDUTY_ENQUEUE_PATH.to_owned(),
        _ => format!("/hooks/v1/{}", integration.id),
    }
}

/// `GET /o/{org}/p/{project}/services/{service}`
pub async fn show(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &SHOW, &path, None).await?;
    let identifier = path.param("service");
    let service = state
        .app
        .service_at(viewer.scope.scope(), identifier)
        .await?;
    let integrations = state
        .app
        .list_integrations(viewer.scope.scope(), identifier)
        .await?;
    let here = format!("{}/{}", base(&viewer), service.identifier);
    let origin = browser.origin(&state);
    let scope = viewer.scope.scope();
    // Which policy a service pages with is shown to who may read policies.
    let policy = if viewer.may(&POLICIES) {
        state
            .app
            .service_escalation_policy(scope, identifier)
            .await?
    } else {
        None
    };
    let policies = if viewer.may(&POLICIES) {
        state
            .app
            .list_escalation_policies(scope, Some(500), None)
            .await?
            .items
    } else {
        Vec::new()
    };
    let rules = if viewer.may(&RULES) {
        Some(state.app.alert_rules(scope, identifier).await?)
    } else {
        None
    };
    let main = html! {
        p { a href=(base(&viewer)) { "← All services" } }
        h1 { (service.name.as_str()) " " span.muted { "(" (service.identifier.as_str()) ")" } }
        @if !service.description.as_str().is_empty() { p { (service.description.as_str()) } }
        p {
            a href=(format!("{}/incidents?status=open&service={}", project_base(&viewer), service.identifier)) { "Its open incidents" }
            " · "
            a href=(format!("{}/alerts?service={}", project_base(&viewer), service.identifier)) { "Its alerts" }
        }
        @if viewer.may(&POLICIES) {
        h2 #h-policy { "Who is paged" }
        p {
            @match &policy {
                Some(policy) => { "Incidents page through the escalation policy "
                    a href=(format!("{}/escalation-policies/{policy}", project_base(&viewer))) { (policy) } "." }
                None => { span.error { "No escalation policy: incidents of this service page nobody." } }
            }
        }
        @if viewer.may(&SET_POLICY) && viewer.may(&POLICIES) {
            form.filters method="post" action=(format!("{here}/escalation-policy")) aria-labelledby="h-policy" {
                (csrf_field(&viewer))
                div {
                    label for="service-policy" { "Escalation policy" }
                    select #service-policy name="policy" {
                        option value="" { "none" }
                        @for option in &policies {
                            @let id = option.record.identifier.as_str();
                            option value=(id) selected[policy.as_deref() == Some(id)] { (option.record.name.as_str()) }
                        }
                    }
                }
                div { button type="submit" { "Save" } }
            }
        }
        }
        @if let Some(rules) = &rules {
            (rules_section(&viewer, &here, rules))
        }
        h2 { "Integrations" }
        @if integrations.is_empty() {
            p.muted { "No integration yet: add one to receive alerts." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Format" } th scope="col" { "Authentication" }
                    th scope="col" { "Address" } th scope="col" { "Created" }
                    @if viewer.may(&ROTATE) || viewer.may(&REMOVE_INTEGRATION) { th scope="col" { "Actions" } }
                } }
                tbody {
                    @for integration in &integrations {
                        tr {
                            td data-label="Name" { (integration.name.as_str()) }
                            td data-label="Format" { (integration.format.as_str()) }
                            td data-label="Authentication" { (integration.auth_mode.as_str()) }
                            td data-label="Address" { code { (origin) (hook_path(integration)) } }
                            td data-label="Created" { (when(integration.created_at)) }
                            @if viewer.may(&ROTATE) || viewer.may(&REMOVE_INTEGRATION) {
                                td data-label="Actions" { div.actions {
                                    @if viewer.may(&ROTATE) {
                                        form method="post" action=(format!("{here}/integrations/{}/rotate", integration.id)) {
                                            (csrf_field(&viewer))
                                            button.secondary type="submit" aria-label=(format!("Rotate the credential of {}", integration.name.as_str())) { "Rotate" }
                                        }
                                    }
                                    @if viewer.may(&REMOVE_INTEGRATION) {
                                        form method="post" action=(format!("{here}/integrations/{}/remove", integration.id)) {
                                            (csrf_field(&viewer))
                                            button.secondary type="submit" aria-label=(format!("Remove {}: its address stops accepting alerts", integration.name.as_str())) { "Remove" }
                                        }
                                    }
                                } }
                            }
                        }
                    }
                }
            }
        }
        @if viewer.may(&ADD_INTEGRATION) {
            h2 { "Add an integration" }
            form.card method="post" action=(format!("{here}/integrations")) {
                (csrf_field(&viewer))
                label for="integration-name" { "Name" }
                input #integration-name type="text" name="name" required maxlength="255" placeholder="Production Alertmanager";
                label for="integration-format" { "Sender" }
                select #integration-format name="format" {
                    @for (value, label) in FORMATS { option value=(value) { (label) } }
                }
                label for="integration-auth" { "Authentication" }
                select #integration-auth name="auth_mode" {
                    @for (value, label) in AUTH_MODES { option value=(value) { (label) } }
                }
                div { button type="submit" { "Add integration" } }
            }
        }
        @if viewer.may(&UPDATE) {
            details.edit {
                summary { "Edit the service" }
                form.card method="post" action=(format!("{here}/edit")) {
                    (csrf_field(&viewer))
                    label for="service-name" { "Name" }
                    input #service-name type="text" name="name" required maxlength="100" value=(service.name.as_str());
                    label for="service-description" { "Description" }
                    textarea #service-description name="description" maxlength="2000" { (service.description.as_str()) }
                    label for="service-auto-resolve" { "When every alert of an incident resolves" }
                    select #service-auto-resolve name="auto_resolve" {
                        option value="true" selected[service.auto_resolve] { "resolve the incident" }
                        option value="false" selected[!service.auto_resolve] { "leave it open" }
                    }
                    div { button type="submit" { "Save the service" } }
                }
            }
        }
        @if viewer.may(&DELETE) {
            details.edit {
                summary { "Delete this service" }
                form.card method="post" action=(format!("{here}/delete")) {
                    (csrf_field(&viewer))
                    p { "Deleting the service removes its integrations (their addresses stop accepting alerts), alert rules and settings." }
                    div { button type="submit" { "Delete " (service.name.as_str()) } }
                }
            }
        }
    };
    Ok(viewer_page(
        &viewer,
        service.name.as_str(),
        StatusCode::OK,
        main,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationForm {
    csrf: String,
    name: String,
    format: String,
    auth_mode: String,
}

/// `POST …/services/{service}/integrations`: the new integration's address and
/// credential, shown once.
pub async fn add_integration(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<IntegrationForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &ADD_INTEGRATION, &path, form)
        .await?;
    let (integration, credential) = state
        .app
        .create_integration(
            &viewer.ctx,
            viewer.scope.scope(),
            path.param("service"),
            IntegrationInput {
                name: form.name,
                format: form.format,
                auth_mode: form.auth_mode,
                source_cidrs: Vec::new(),
                rate_limit_per_minute: None,
            },
        )
        .await?;
    Ok(credential_page(
        &viewer,
        &browser.origin(&state),
        path.param("service"),
        &integration,
        &credential,
        "Integration added",
    ))
}

/// `POST …/services/{service}/integrations/{integration}/rotate`: the new credential,
/// shown once (the old one stops working, an HMAC secret after the next rotation).
pub async fn rotate(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, _) = browser
        .admit_form(&state, &guards, &ROTATE, &path, form)
        .await?;
    let (integration, credential) = state
        .app
        .rotate_integration_credential(
            &viewer.ctx,
            viewer.scope.scope(),
            path.param("service"),
            path.param("integration"),
        )
        .await?;
    Ok(credential_page(
        &viewer,
        &browser.origin(&state),
        path.param("service"),
        &integration,
        &credential,
        "Credential rotated",
    ))
}

/// The page that shows an integration's credential once, with a sample configuration
/// for its sender.
fn credential_page(
    viewer: &Viewer,
    origin: &str,
    service: &str,
    integration: &Integration,
    credential: &IntegrationCredential,
    title: &str,
) -> Response {
    let url = format!("{origin}{}", hook_path(integration));
    let sample = sample_configuration(integration, credential, &url);
    let main = html! {
        h1 { (title) ": " (integration.name.as_str()) }
        p.notice role="status" { "Copy the credential now: it is shown only once." }
        dl.fields #credential {
            dt { "Address" } dd { code { (url) } }
            @match credential {
                IntegrationCredential::Bearer { token } => { dt { "Bearer token" } dd { code { (token) } } }
                IntegrationCredential::RoutingKey { routing_key } => { dt { "Routing key" } dd { code { (routing_key) } } }
                IntegrationCredential::Basic { username, password } => {
                    dt { "Username" } dd { code { (username) } }
                    dt { "Password" } dd { code { (password) } }
                }
                IntegrationCredential::Hmac { secret } => { dt { "HMAC secret" } dd { code { (secret) } } }
            }
        }
        h2 { "Sample configuration" }
        pre.sample { (sample) }
        p.muted { "The sender must trust this server's certificate (its CA file or a public one)." }
        p { a href=(format!("{}/{service}", base(viewer))) { "Back to the service" } }
    };
    viewer_page(viewer, title, StatusCode::OK, main)
}

/// What to paste into the sender, for its format and authentication.
fn sample_configuration(
    integration: &Integration,
    credential: &IntegrationCredential,
    url: &str,
) -> String {
    use rampart_domain::sre::payload::Format;
    let alertmanager_auth = match credential {
        IntegrationCredential::Bearer { token } => format!(
            "        http_config:\n          authorization:\n            type: Bearer\n            credentials: {token}\n"
        ),
        IntegrationCredential::Basic { username, password } => format!(
            "        http_config:\n          basic_auth:\n            username: {username}\n            password: {password}\n"
        ),
        _ => String::new(),
    };
    match (integration.format, credential) {
        (_, IntegrationCredential::RoutingKey { routing_key }) => format!(
            "# Any PagerDuty Events API v2 sender: point its events URL here\n\
             events_url: {url}\n\
             routing_key: {routing_key}\n"
        ),
        (_, IntegrationCredential::Hmac { secret }) => format!(
            "# Sign each delivery: X-Rampart-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">\n\
             url: {url}\n\
             secret: {secret}\n"
        ),
        (Format::Alertmanager, _) => format!(
            "# alertmanager.yml\n\
             receivers:\n  - name: rampart\n    webhook_configs:\n      - url: {url}\n        send_resolved: true\n\
             {alertmanager_auth}\
             route:\n  receiver: rampart\n"
        ),
        (Format::Grafana, IntegrationCredential::Bearer { token }) => format!(
            "# Grafana: Alerting → Contact points → New → Webhook\n\
             URL: {url}\n\
             HTTP method: POST\n\
             Authorization header scheme: Bearer\n\
             Authorization header credentials: {token}\n"
        ),
        (Format::Grafana, IntegrationCredential::Basic { username, password }) => format!(
            "# Grafana: Alerting → Contact points → New → Webhook\n\
             URL: {url}\n\
             HTTP method: POST\n\
             Basic auth user: {username}\n\
             Basic auth password: {password}\n"
        ),
        (_, IntegrationCredential::Bearer { token }) => format!(
            "curl -X POST {url} \\\n  -H 'authorization: Bearer {token}' -H 'content-type: application/json' \\\n  \
             -d '{{\"dedup_key\": \"db-down\", \"action\": \"trigger\", \"summary\": \"Database down\", \"severity\": \"critical\"}}'\n"
        ),
        (_, IntegrationCredential::Basic { username, password }) => format!(
            "curl -X POST {url} -u '{username}:{password}' -H 'content-type: application/json' \\\n  \
             -d '{{\"dedup_key\": \"db-down\", \"action\": \"trigger\", \"summary\": \"Database down\", \"severity\": \"critical\"}}'\n"
        ),
    }
}

/// The severity names part of an organisation's settings page (SEV1 → "Critical"), for
/// who may read them.
pub async fn severities_section(
    state: &AppState,
    viewer: &Viewer,
) -> Result<Option<Markup>, WebError> {
    let ResolvedScope::Org(org) = &viewer.scope else {
        return Ok(None);
    };
    if !viewer.may(&SEVERITIES) {
        return Ok(None);
    }
    let labels = state.app.severity_labels(org.id).await?;
    let may_set = viewer.may(&SEVERITIES_SET);
    Ok(Some(html! {
        h2 #h-severities { "Incident severity names" }
        form.card method="post" action=(format!("/o/{}/settings/severities", org.identifier)) aria-labelledby="h-severities" {
            @if may_set { (csrf_field(viewer)) }
            p.muted { "Shown beside each level on incidents; an empty name shows the level alone." }
            @for level in SEVERITY_LEVELS {
                label for=(format!("sev-{level}")) { (level) }
                input id=(format!("sev-{level}")) type="text" name=(level) maxlength="40"
                    value=(labels.get(level).cloned().unwrap_or_default()) disabled[!may_set];
            }
            @if may_set { div { button type="submit" { "Save names" } } }
        }
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeveritiesForm {
    csrf: String,
    #[serde(rename = "SEV0", default)]
    sev0: String,
    #[serde(rename = "SEV1", default)]
    sev1: String,
    #[serde(rename = "SEV2", default)]
    sev2: String,
    #[serde(rename = "SEV3", default)]
    sev3: String,
    #[serde(rename = "SEV4", default)]
    sev4: String,
}

/// `POST /o/{org}/settings/severities`
pub async fn set_severities(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<SeveritiesForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &SEVERITIES_SET, &path, form)
        .await?;
    let labels = SEVERITY_LEVELS
        .into_iter()
        .zip([form.sev0, form.sev1, form.sev2, form.sev3, form.sev4])
        .filter(|(_, label)| !label.trim().is_empty())
        .map(|(level, label)| (level.to_owned(), label.trim().to_owned()))
        .collect();
    state
        .app
        .set_severity_labels(&viewer.ctx, viewer.scope.scope(), labels)
        .await?;
    Ok(see_other(&format!(
        "/o/{}/settings#h-severities",
        crate::handlers::platform::access::scope_text(&viewer.scope)
    )))
}

/// A service's alert rules, in order, with a form to change them (a blank rule adds
/// one; emptying a rule's name removes it).
fn rules_section(viewer: &Viewer, here: &str, rules: &[AlertRule]) -> Markup {
    let describe = |rule: &AlertRule| {
        let c = &rule.conditions;
        let mut parts = Vec::new();
        if let Some(min) = &c.min_severity {
            parts.push(format!("severity at least {min}"));
        }
        if let Some(max) = &c.max_severity {
            parts.push(format!("severity at most {max}"));
        }
        if let Some(source) = &c.source {
            parts.push(format!("source is {source}"));
        }
        parts.extend(c.labels.iter().map(|(k, v)| format!("{k}={v}")));
        if parts.is_empty() {
            "every alert".to_owned()
        } else {
            parts.join(", ")
        }
    };
    let blank = AlertRule {
        name: String::new(),
        conditions: Conditions::default(),
        action: RuleAction::OpenIncident,
    };
    let severity_select = |id: String, name: String, chosen: Option<&str>, label: &str| {
        html! {
            select id=(id) name=(name) aria-label=(label) {
                option value="" { "any" }
                @for level in ALERT_SEVERITIES { option value=(level) selected[chosen == Some(level)] { (level) } }
            }
        }
    };
    html! {
        h2 #h-rules { "Alert rules" }
        p.muted { "The first rule whose conditions all hold decides; an alert no rule matches opens an incident." }
        @if rules.is_empty() { p.muted { "No rules: every alert opens an incident." } }
        @else {
            ol aria-labelledby="h-rules" {
                @for rule in rules {
                    li { strong { (rule.name) } ": " (describe(rule)) " → "
                        @match rule.action { RuleAction::OpenIncident => "open an incident", RuleAction::RecordOnly => "record only (page nobody)" } }
                }
            }
        }
        @if viewer.may(&SET_RULES) {
            details.edit {
                summary { "Edit the alert rules" }
                form.card method="post" action=(format!("{here}/alert-rules")) {
                    (csrf_field(viewer))
                    @for (index, rule) in rules.iter().chain(std::iter::once(&blank)).enumerate() {
                        @let field = |name: &str| format!("rule{index}.{name}");
                        @let id = |name: &str| format!("r{index}-{name}");
                        fieldset {
                            legend { @if index < rules.len() { "Rule " (index + 1) " (empty its name to remove it)" } @else { "A new rule (optional)" } }
                            label for=(id("name")) { "Name" }
                            input id=(id("name")) type="text" name=(field("name")) maxlength="100" value=(rule.name);
                            label for=(id("min")) { "Severity at least" }
                            (severity_select(id("min"), field("min_severity"), rule.conditions.min_severity.as_deref(), "Severity at least"))
                            label for=(id("max")) { "Severity at most" }
                            (severity_select(id("max"), field("max_severity"), rule.conditions.max_severity.as_deref(), "Severity at most"))
                            label for=(id("source")) { "Source is (optional)" }
                            input id=(id("source")) type="text" name=(field("source")) value=(rule.conditions.source.as_deref().unwrap_or_default());
                            label for=(id("labels")) { "Labels (one name=value per line; all must match)" }
                            textarea id=(id("labels")) name=(field("labels")) spellcheck="false" {
                                (rule.conditions.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n"))
                            }
                            label for=(id("action")) { "Then" }
                            select id=(id("action")) name=(field("action")) {
                                option value="open_incident" selected[rule.action == RuleAction::OpenIncident] { "open an incident" }
                                option value="record_only" selected[rule.action == RuleAction::RecordOnly] { "record only (page nobody)" }
                            }
                        }
                    }
                    div { button type="submit" { "Save the rules" } }
                }
            }
        }
    }
}

/// A rules form: `rule<i>.<field>`; anything else is refused.
#[derive(Debug, Deserialize)]
pub struct RulesForm {
    csrf: String,
    #[serde(flatten)]
    rules: std::collections::BTreeMap<String, String>,
}

/// The rules a form describes.
fn rules_of(form: &RulesForm) -> Result<Vec<AlertRule>, WebError> {
    const FIELDS: [&str; 6] = [
        "name",
        "min_severity",
        "max_severity",
        "source",
        "labels",
        "action",
    ];
    let mut rules = Vec::new();
    for (index, row) in form_rows(&form.rules, "rule", &FIELDS, "rules")?
        .iter()
        .enumerate()
    {
        let get = |field: &str| {
            row.get(field)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let Some(name) = get("name") else {
            continue;
        };
        let mut labels = std::collections::BTreeMap::new();
        for line in get("labels")
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let (key, value) = line.split_once('=').ok_or_else(|| {
                invalid(
                    "rules",
                    format!("rule {}: a label is name=value, not {line:?}", index + 1),
                )
            })?;
            labels.insert(key.trim().to_owned(), value.trim().to_owned());
        }
        let action = match get("action").as_deref() {
            Some("open_incident") => RuleAction::OpenIncident,
            Some("record_only") => RuleAction::RecordOnly,
            _ => {
                return Err(invalid(
                    "rules",
                    format!("rule {}: choose what the rule does", index + 1),
                ));
            }
        };
        rules.push(AlertRule {
            name,
            conditions: Conditions {
                min_severity: get("min_severity"),
                max_severity: get("max_severity"),
                labels,
                source: get("source"),
            },
            action,
        });
    }
    Ok(rules)
}

/// `POST /o/{org}/p/{project}/services/{service}/alert-rules`
pub async fn set_rules(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<RulesForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &SET_RULES, &path, form)
        .await?;
    let rules = rules_of(&form)?;
    let service = path.param("service");
    state
        .app
        .set_alert_rules(&viewer.ctx, viewer.scope.scope(), service, rules)
        .await?;
    Ok(see_other(&format!("{}/{service}#h-rules", base(&viewer))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyForm {
    csrf: String,
    policy: String,
}

/// `POST /o/{org}/p/{project}/services/{service}/escalation-policy`
pub async fn set_policy(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<PolicyForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &SET_POLICY, &path, form)
        .await?;
    let service = path.param("service");
    let policy = Some(form.policy.trim()).filter(|policy| !policy.is_empty());
    state
        .app
        .set_service_escalation_policy(&viewer.ctx, viewer.scope.scope(), service, policy)
        .await?;
    Ok(see_other(&format!("{}/{service}#h-policy", base(&viewer))))
}

crate::signed_forms!(
    RulesForm,
    PolicyForm,
    CreateForm,
    IntegrationForm,
    SeveritiesForm
);

/// A service's name, description and whether its incidents resolve with their alerts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditForm {
    csrf: String,
    name: String,
    #[serde(default)]
    description: String,
    auto_resolve: String,
}

crate::signed_forms!(EditForm);

/// `POST …/services/{service}/edit`
pub async fn edit(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<EditForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &UPDATE, &path, form)
        .await?;
    let auto_resolve = match form.auto_resolve.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(invalid("auto_resolve", "must be true or false")),
    };
    let identifier = path.param("service");
    state
        .app
        .update_service(
            &viewer.ctx,
            viewer.scope.scope(),
            identifier,
            Some(&form.name),
            Some(&form.description.replace("\r\n", "\n")),
            Some(auto_resolve),
        )
        .await?;
    Ok(see_other(&format!("{}/{identifier}", base(&viewer))))
}

/// `POST …/services/{service}/delete`
pub async fn delete(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, _) = browser
        .admit_form(&state, &guards, &DELETE, &path, form)
        .await?;
    state
        .app
        .delete_service(&viewer.ctx, viewer.scope.scope(), path.param("service"))
        .await?;
    Ok(see_other(&base(&viewer)))
}

/// `POST …/services/{service}/integrations/{integration}/remove`
pub async fn remove_integration(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, _) = browser
        .admit_form(&state, &guards, &REMOVE_INTEGRATION, &path, form)
        .await?;
    let service = path.param("service");
    state
        .app
        .delete_integration(
            &viewer.ctx,
            viewer.scope.scope(),
            service,
            path.param("integration"),
        )
        .await?;
    Ok(see_other(&format!("{}/{service}", base(&viewer))))
}
