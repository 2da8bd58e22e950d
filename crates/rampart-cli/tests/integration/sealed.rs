//! At rest, nothing a person or a sender wrote is in clear, on either engine.
//!
//! The registry decides what is covered: every sealed place the app is built with
//! (`rampart_app::sealed_places()`) and every blind-indexed column
//! (`rampart_app::blind_indexes()`) needs a writer here that puts a distinctive marker
//! into it through the API (and reads it back where the API shows it), so a sealed
//! field or blind index added without one fails this test. Then neither the SQLite file
//! (with its write-ahead log) nor a PostgreSQL `pg_dump` holds any marker.
//!
//! And the upgrade: rows as migration 15 finds them (alert keys, incident custom fields,
//! open groups and action items in clear) are sealed and blind-indexed at the next
//! start, read back through the API, keep deduplicating and grouping, and are gone from
//! the bytes; a project crypto-shredded before the upgrade stays shredded.

use std::collections::{BTreeMap, BTreeSet};

use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

use crate::sre::{PROJECT, generic, incident, integration_in, send, service_in};

/// Every byte the database keeps of `server`'s data: SQLite's file, write-ahead log and
/// shared memory, or the data of the server's PostgreSQL schema as `pg_dump` writes it.
pub(crate) fn database_bytes(server: &TestServer) -> Vec<u8> {
    let Some(schema) = server.postgres_schema() else {
        let mut bytes = Vec::new();
        for name in ["rampart.db", "rampart.db-wal", "rampart.db-shm"] {
            if let Ok(content) = std::fs::read(server.config.server.data_dir.join(name)) {
                bytes.extend(content);
            }
        }
        return bytes;
    };
    let dump = std::process::Command::new("pg_dump")
        .args([
            "--dbname",
            schema.server_url(),
            "--schema",
            schema.name(),
            "--data-only",
        ])
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    dump.stdout
}

pub(crate) fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// The markers written, by the column (`table.column`) they went into.
#[derive(Default)]
struct Markers(BTreeMap<String, BTreeSet<String>>);

impl Markers {
    /// A distinctive marker for `column`, recorded as written into it (and into `also`).
    fn make(&mut self, column: &str, also: &[&str]) -> String {
        let marker = format!("mk7q-{}", column.replace(['.', '_'], "-"));
        self.written(&marker, column, also);
        marker
    }

    /// Records `marker` (e.g. a secret the server made) as written into the columns.
    fn written(&mut self, marker: &str, column: &str, also: &[&str]) {
        rampart_testkit::remember_secret(marker);
        for column in std::iter::once(&column).chain(also) {
            self.0
                .entry((*column).to_owned())
                .or_default()
                .insert(marker.to_owned());
        }
    }
}

/// Every registered column, as `table.column`: sealed places and blind indexes.
fn registered_columns() -> BTreeSet<String> {
    let sealed = rampart_app::sealed_places()
        .into_iter()
        .map(|place| format!("{}.{}", place.column.table, place.column.sealed_column));
    let indexed = rampart_app::blind_indexes()
        .into_iter()
        .flat_map(|index| index.columns.iter())
        .map(|column| format!("{}.{}", column.table, column.column));
    sealed.chain(indexed).collect()
}

async fn created(reply: rampart_testkit::Reply) -> Value {
    assert!(reply.status.is_success(), "{}", reply.text);
    reply.body
}

fn alertmanager_body(group_key: &str, fingerprint: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "version": "4", "groupKey": group_key, "truncatedAlerts": 0, "status": "firing",
        "receiver": "rampart", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{"status": "firing", "labels": {"alertname": "DiskFull"},
                    "annotations": {"summary": "disk full"}, "fingerprint": fingerprint,
                    "startsAt": "2026-11-23T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}]
    }))
    .unwrap()
}

/// Writes a marker into every sealed place and blind index through the API, reading each
/// back where the API shows it.
async fn write_every_sealed_field(server: &TestServer) -> Markers {
    let admin = server.admin_token.clone();
    let mut markers = Markers::default();

    // A project secret's value (write-only: read through the use case).
    let value = markers.make("secret_versions.value_sealed", &[]);
    created(
        server
            .post(
                &format!("{PROJECT}/secrets"),
                &admin,
                json!({"identifier": "canary", "name": "canary", "value": value}),
            )
            .await,
    )
    .await;
    let ctx = server.ctx_for(&admin).await;
    let scope = server
        .app()
        .resolve_scope(Some("default"), Some("default"))
        .await
        .unwrap()
        .scope();
    let read = server
        .app()
        .read_secret(&ctx, scope, "canary", None)
        .await
        .unwrap();
    assert_eq!(read.as_str(), value);

    // A Terraform state body.
    let attribute = markers.make("state_versions.body_sealed", &[]);
    let state = serde_json::to_vec(&json!({
        "version": 4, "terraform_version": "1.15.5", "serial": 1, "lineage": "sealed",
        "outputs": {}, "check_results": null,
        "resources": [{"mode": "managed", "type": "terraform_data", "name": "r",
            "provider": "provider[\"terraform.io/builtin/terraform\"]",
            "instances": [{"schema_version": 0, "attributes": {"id": attribute}}]}],
    }))
    .unwrap();
    let tf = |method: reqwest::Method, body: Vec<u8>| {
        server
            .client
            .request(
                method,
                format!("{}/tf/v1/default/default/sealed", server.url),
            )
            .basic_auth("terraform", Some(&admin))
            .body(body)
            .send()
    };
    let written = tf(reqwest::Method::POST, state.clone()).await.unwrap();
    assert_eq!(written.status(), StatusCode::OK);
    let read = tf(reqwest::Method::GET, Vec::new()).await.unwrap();
    assert_eq!(read.bytes().await.unwrap().as_ref(), state.as_slice());

    // Variables: a workspace's (sealed with its key; the key is named in the audit
    // log, like an identifier), a project set's, and a run's log (sealed with the
    // workspace's project key).
    let put = async |path: String, body: Value| {
        created(
            server
                .request(reqwest::Method::PUT, &path, Some(&admin), Some(&body))
                .await,
        )
        .await
    };
    let in_variable = markers.make("workspace_variables.variables_sealed", &[]);
    put(
        format!("{PROJECT}/workspaces/sealed/variables/terraform/db_password"),
        json!({"value": in_variable, "sensitive": true}),
    )
    .await;
    created(
        server
            .post(
                &format!("{PROJECT}/variable-sets"),
                &admin,
                json!({"identifier": "sealed-vars", "name": "Sealed variables"}),
            )
            .await,
    )
    .await;
    let in_set = markers.make("variable_sets.variables_sealed", &[]);
    put(
        format!("{PROJECT}/variable-sets/sealed-vars/variables/env/APP_SETTING"),
        json!({"value": in_set}),
    )
    .await;
    let run = created(
        server
            .post(
                &format!("{PROJECT}/workspaces/sealed/runs"),
                &admin,
                json!({}),
            )
            .await,
    )
    .await;
    let run = run["run"]["id"].as_str().unwrap().to_owned();
    let in_log = markers.make("run_logs.log_sealed", &[]);
    let logged = server
        .client
        .put(format!(
            "{}{PROJECT}/workspaces/sealed/runs/{run}/logs/plan",
            server.url
        ))
        .bearer_auth(&admin)
        .body(in_log.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(logged.status(), StatusCode::CREATED);

    // A soft-mandatory policy set of the project: its Rego (sealed with the set), and
    // the message it gives about the plan below (sealed with the plan's result).
    let in_rego = markers.make("policy_sets.modules_sealed", &[]);
    let in_message = markers.make(
        "plan_policy_results.modules_sealed",
        &["policy_sets.modules_sealed"],
    );
    created(
        server
            .post(
                &format!("{PROJECT}/policy-sets"),
                &admin,
                json!({"identifier": "sealed-set", "name": "Sealed set", "entity": "plan",
                       "enforcement": "soft_mandatory",
                       "modules": [{"name": "marker.rego", "source": format!(
                           "package marker\n# {in_rego}\ndeny contains \"{in_message}\" if true\n")}]}),
            )
            .await,
    )
    .await;

    // A plan of that workspace: a value in its JSON, a resource name in its summary
    // (beside the JSON's digest), a binary plan file and the file's digest.
    let in_json = markers.make("plans.json_sealed", &[]);
    let name = markers.make("plans.summary_sealed", &["plans.json_sealed"]);
    let plan = serde_json::to_vec(&json!({
        "format_version": "1.2", "terraform_version": "1.15.5",
        "planned_values": {"root_module": {}},
        "resource_changes": [{"address": format!("terraform_data.{name}"), "mode": "managed",
            "type": "terraform_data", "name": name, "provider_name": "terraform.io/builtin/terraform",
            "change": {"actions": ["create"], "before": null, "after": {"input": in_json}}}],
    }))
    .unwrap();
    markers.written(
        &rampart_crypto::digest::hex(&rampart_crypto::digest::sha256(&plan)),
        "plans.summary_sealed",
        &[],
    );
    let plans = format!("{PROJECT}/workspaces/sealed/plans");
    let uploaded = server
        .client
        .post(format!("{}{plans}", server.url))
        .bearer_auth(&admin)
        .body(plan)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let plan_id = uploaded.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let in_file = markers.make("plans.file_sealed", &[]);
    markers.written(
        &rampart_crypto::digest::hex(&rampart_crypto::digest::sha256(in_file.as_bytes())),
        "plans.file_sha256_sealed",
        &[],
    );
    let file = server
        .client
        .put(format!("{}{plans}/{plan_id}/file", server.url))
        .bearer_auth(&admin)
        .body(in_file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    let shown = server.get(&format!("{plans}/{plan_id}"), &admin).await;
    assert!(shown.text.contains(&name), "{}", shown.text);
    let reason = markers.make("plan_policy_results.override_reason_sealed", &[]);
    let overridden = created(
        server
            .post(
                &format!("{plans}/{plan_id}/policy-overrides"),
                &admin,
                json!({"policy_set": "sealed-set", "reason": reason}),
            )
            .await,
    )
    .await;
    assert!(overridden.to_string().contains(&in_message), "{overridden}");
    assert!(overridden.to_string().contains(&reason), "{overridden}");
    let set = server
        .get(&format!("{PROJECT}/policy-sets/sealed-set"), &admin)
        .await;
    assert!(set.text.contains(&in_rego), "{}", set.text);
    let downloaded = server
        .client
        .get(format!("{}{plans}/{plan_id}/file", server.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(
        downloaded.bytes().await.unwrap().as_ref(),
        in_file.as_bytes()
    );

    // Integration credentials: the Basic password (a delivery below proves it is
    // stored) and an HMAC signing secret.
    service_in(server, PROJECT, "sealed-svc").await;
    let basic = integration_in(
        server,
        PROJECT,
        "sealed-svc",
        json!({"name": "Generic", "format": "generic", "auth_mode": "basic"}),
    )
    .await;
    let (_, password) = basic.basic.clone().unwrap();
    markers.written(&password, "integrations.credentials_sealed", &[]);
    let hmac = integration_in(
        server,
        PROJECT,
        "sealed-svc",
        json!({"name": "Signed", "format": "generic", "auth_mode": "hmac"}),
    )
    .await;
    markers.written(
        hmac.secret.as_deref().unwrap(),
        "integrations.credentials_sealed",
        &[],
    );

    // An alert: its payload (summary and a label), its dedup key, sealed and
    // blind-indexed (the alert stays open, so its open key holds the index too).
    let dedup_key = markers.make(
        "alerts.dedup_key_sealed",
        &["alerts.dedup_index", "alerts.open_key"],
    );
    let summary = markers.make("alerts.payload_sealed", &[]);
    let body = serde_json::to_vec(&json!({
        "dedup_key": dedup_key, "action": "trigger", "summary": summary,
        "severity": "critical", "labels": {"host": summary}
    }))
    .unwrap();
    let delivered = send(server, &basic, &body, &[]).await;
    assert_eq!(delivered.status, StatusCode::ACCEPTED, "{}", delivered.body);
    let alert_id = delivered.body["alerts"][0]["alert_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = server
        .get(&format!("{PROJECT}/alerts/{alert_id}"), &admin)
        .await;
    assert_eq!(
        shown.body["dedup_key"],
        dedup_key.as_str(),
        "{}",
        shown.text
    );
    assert_eq!(shown.body["payload"]["summary"], summary.as_str());
    let listed = server.get(&format!("{PROJECT}/alerts"), &admin).await;
    assert_eq!(listed.body["items"][0]["dedup_key"], dedup_key.as_str());

    // An Alertmanager group key, blind-indexed on its alerts and on the incident the
    // group opened: a second alert of the group joins that incident.
    let am = integration_in(
        server,
        PROJECT,
        "sealed-svc",
        json!({"name": "AM", "format": "alertmanager", "auth_mode": "bearer"}),
    )
    .await;
    let group_key = markers.make("alerts.group_index", &["incidents.open_group"]);
    let mut numbers = Vec::new();
    for fingerprint in ["f1", "f2"] {
        let reply = send(
            server,
            &am,
            &alertmanager_body(&group_key, fingerprint),
            &[],
        )
        .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        numbers.push(reply.body["alerts"][0]["incident"].as_u64().unwrap());
    }
    assert_eq!(numbers[0], numbers[1], "one incident for the group");

    // An incident opened by hand: title, description, custom fields, action item, note.
    let title = markers.make("incidents.title_sealed", &[]);
    let opened = created(
        server
            .post(
                &format!("{PROJECT}/incidents"),
                &admin,
                json!({"title": title, "severity": "SEV2"}),
            )
            .await,
    )
    .await;
    let number = opened["number"].as_u64().unwrap();
    let path = format!("{PROJECT}/incidents/{number}");
    let description = markers.make("incidents.description_sealed", &[]);
    let field = markers.make("incidents.custom_fields_sealed", &[]);
    let field_name = format!("{field}-name");
    markers.written(&field_name, "incidents.custom_fields_sealed", &[]);
    let patched = server
        .patch(
            &path,
            &admin,
            json!({"description": description, "custom_fields": {field_name.clone(): field}}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::NO_CONTENT, "{}", patched.text);
    let item = markers.make("incident_action_items.text_sealed", &[]);
    created(
        server
            .post(
                &format!("{path}/action-items"),
                &admin,
                json!({"text": item}),
            )
            .await,
    )
    .await;
    let note = markers.make("incident_events.body_sealed", &[]);
    let noted = server
        .post(&format!("{path}/notes"), &admin, json!({"text": note}))
        .await;
    assert_eq!(noted.status, StatusCode::NO_CONTENT, "{}", noted.text);
    let shown = incident(server, number).await;
    assert_eq!(shown["title"], title.as_str());
    assert_eq!(shown["description"], description.as_str());
    assert_eq!(shown["custom_fields"][&field_name], field.as_str());
    assert_eq!(shown["action_items"][0]["text"], item.as_str());
    let last = shown["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["body"]["text"], note.as_str());
    write_delegate_task(server, &mut markers).await;
    write_contact_method(server, &mut markers).await;
    write_runbook(server, &mut markers).await;
    write_slo(server, &mut markers).await;
    markers
}

/// An SLO's definition: its description is what its author wrote. Its indicator's
/// series, sent by remote write: their label values (a host name here) name the series
/// only through a blind index.
async fn write_slo(server: &TestServer, markers: &mut Markers) {
    use rampart_app::sre::remote_write::{Label, Sample, TimeSeries, WriteRequest, encode};
    service_in(server, PROJECT, "slo-service").await;
    let description = markers.make("slos.definition_sealed", &[]);
    let query = |code: &str| {
        json!({"metric_source": {"type": "Prometheus",
                                    "spec": {"query": format!("sealed_requests_total{code}")}}})
    };
    let created = created(
        server
            .post(
                &format!("{PROJECT}/slos"),
                &server.admin_token,
                json!({"identifier": "sealed", "name": "Sealed", "definition": {
                    "description": description, "service": "slo-service", "target": 0.99,
                    "time_window": {"duration": "7d"}, "budgeting_method": "occurrences",
                    "indicator": {"ratio_metric": {"counter": true,
                        "good": query("{code=\"200\"}"), "total": query("")}}}}),
            )
            .await,
    )
    .await;
    assert_eq!(created["definition"]["description"], description.as_str());
    let host = markers.make("slo_series.series_index", &[]);
    let label = |name: &str, value: &str| Label {
        name: name.as_bytes().to_vec().into(),
        value: value.as_bytes().to_vec().into(),
    };
    let body = encode(&WriteRequest {
        timeseries: vec![TimeSeries {
            labels: vec![
                label("__name__", "sealed_requests_total"),
                label("code", "200"),
                label("host", &host),
            ],
            samples: vec![Sample {
                value: 1.0,
                timestamp: server.app().now().as_millisecond(),
            }],
        }],
    });
    let written = server
        .client
        .post(format!(
            "{}/api/v1/orgs/default/projects/default/prometheus/write",
            server.url
        ))
        .bearer_auth(&server.admin_token)
        .body(body)
        .send()
        .await
        .unwrap();
    let written = rampart_testkit::read(written).await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.text);
    assert_eq!(written.body["taken"], 2, "{}", written.text);
}

/// A runbook's definition: a script an author wrote (two versions); an execution's
/// inputs, chosen by who starts it.
async fn write_runbook(server: &TestServer, markers: &mut Markers) {
    let script = markers.make("runbook_versions.definition_sealed", &[]);
    let definition = |version: u32| {
        json!({
            "inputs": [{"name": "NOTE", "default": "none"}],
            "steps": [{"kind": "script", "name": "run", "script": format!("echo {script} {version}")}]
        })
    };
    created(
        server
            .post(
                &format!("{PROJECT}/runbooks"),
                &server.admin_token,
                json!({"identifier": "sealed", "name": "Sealed", "definition": definition(1)}),
            )
            .await,
    )
    .await;
    let updated = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/runbooks/sealed"),
            Some(&server.admin_token),
            Some(&json!({"definition": definition(2)})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    let shown = server
        .get(
            &format!("{PROJECT}/runbooks/sealed?version=1"),
            &server.admin_token,
        )
        .await;
    assert!(shown.text.contains(&script), "{}", shown.text);
    let note = markers.make("runbook_executions.inputs_sealed", &[]);
    let started = created(
        server
            .post(
                &format!("{PROJECT}/runbooks/sealed/executions"),
                &server.admin_token,
                json!({"inputs": {"NOTE": note}}),
            )
            .await,
    )
    .await;
    assert_eq!(started["inputs"]["NOTE"], note.as_str());
}

/// A contact method's address and its signing secret (made by the server).
async fn write_contact_method(server: &TestServer, markers: &mut Markers) {
    let address = markers.make("contact_methods.address_sealed", &[]);
    let added = created(
        server
            .post(
                "/api/v1/orgs/default/contact-methods",
                &server.admin_token,
                json!({"kind": "webhook", "label": "sealed hook",
                       "address": format!("https://hooks.example.com/{address}")}),
            )
            .await,
    )
    .await;
    let secret = added["signing_secret"].as_str().unwrap();
    markers.written(secret, "contact_methods.secret_sealed", &[]);
    let listed = server
        .get("/api/v1/orgs/default/contact-methods", &server.admin_token)
        .await;
    assert!(listed.text.contains(&address), "{}", listed.text);
}

/// A delegate task's arguments (a ping's echo) and its result (the answer echoing it).
async fn write_delegate_task(server: &TestServer, markers: &mut Markers) {
    let admin = &server.admin_token;
    let delegate = created(
        server
            .post(
                &format!("{PROJECT}/delegates"),
                admin,
                json!({"name": "sealer"}),
            )
            .await,
    )
    .await;
    let registered = created(
        server
            .post(
                "/api/v1/delegate/register",
                "",
                json!({"registration_token": delegate["registration_token"], "version": "1"}),
            )
            .await,
    )
    .await;
    let credential = registered["credential"].as_str().unwrap();
    let echo = markers.make(
        "delegate_tasks.arguments_sealed",
        &["delegate_tasks.result_sealed"],
    );
    let ping = created(
        server
            .post(
                &format!("{PROJECT}/delegates/sealer/ping"),
                admin,
                json!({"echo": echo}),
            )
            .await,
    )
    .await;
    let work = server
        .get("/api/v1/delegate/tasks/next?wait=5", credential)
        .await;
    assert_eq!(
        work.body["envelope"]["task_id"], ping["id"],
        "{}",
        work.text
    );
    assert!(work.body["arguments"].as_str().unwrap().contains(&echo));
    created(
        server
            .post(
                &format!(
                    "/api/v1/delegate/tasks/{}/result",
                    ping["id"].as_str().unwrap()
                ),
                credential,
                json!({"attempt": 1, "outcome": "succeeded", "output": echo}),
            )
            .await,
    )
    .await;
    let shown = server
        .get(
            &format!("{PROJECT}/delegate-tasks/{}", ping["id"].as_str().unwrap()),
            admin,
        )
        .await;
    assert_eq!(shown.body["result"], echo.as_str(), "{}", shown.text);
}

async fn no_plaintext_at_rest(server: &TestServer) {
    let markers = write_every_sealed_field(server).await;
    let written: BTreeSet<String> = markers.0.keys().cloned().collect();
    let registered = registered_columns();
    let uncovered: Vec<_> = registered.difference(&written).collect();
    assert!(
        uncovered.is_empty(),
        "sealed or blind-indexed columns this test writes no marker into: {uncovered:?} \
         (add a writer to write_every_sealed_field)"
    );
    let unregistered: Vec<_> = written.difference(&registered).collect();
    assert!(
        unregistered.is_empty(),
        "columns this test covers that no SEALED_PLACES or BLIND_INDEXES declares: \
         {unregistered:?}"
    );
    let bytes = database_bytes(server);
    assert!(
        contains(&bytes, "sealed-svc"),
        "the bytes searched are the database's (the service identifier is in clear)"
    );
    for (column, markers) in &markers.0 {
        for marker in markers {
            assert!(
                !contains(&bytes, marker),
                "{column}: {marker:?} is in the database in clear"
            );
        }
    }
}

#[tokio::test]
async fn no_sealed_or_blind_indexed_field_is_stored_in_clear_on_sqlite() {
    no_plaintext_at_rest(&TestServer::start().await).await;
}

#[tokio::test]
async fn no_sealed_or_blind_indexed_field_is_stored_in_clear_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        eprintln!("RAMPART_TEST_DATABASE_URL is not set: skipped");
        return;
    };
    no_plaintext_at_rest(&server).await;
}

/// Runs `sql` against `server`'s database, as a migration or an attacker would.
async fn raw(server: &TestServer, sql: &str) {
    server
        .app()
        .store()
        .execute_raw_for_tests(sql)
        .await
        .unwrap();
}

/// `sql` text literal.
fn text(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Puts one alert back as migration 15 finds a row written before it: dedup and group
/// keys in clear where their blind indexes go (the open key too, while open), no sealed
/// dedup key.
async fn unseal_alert(server: &TestServer, alert: &str, dedup_key: &str, group_key: &str) {
    let (dedup, group) = (text(dedup_key), text(group_key));
    raw(
        server,
        &format!(
            "UPDATE alerts SET dedup_key_sealed = NULL, dedup_index = {dedup}, \
             group_index = {group}, \
             open_key = CASE WHEN open_key IS NULL THEN NULL ELSE {dedup} END \
             WHERE id = '{alert}'"
        ),
    )
    .await;
}

/// Puts an incident's custom fields, open group and action items back in clear, as
/// migration 15 leaves them in its `legacy_*` columns.
async fn unseal_incident(
    server: &TestServer,
    id: &str,
    custom_fields: &Value,
    open_group: &str,
    action_item: &str,
) {
    raw(
        server,
        &format!(
            "UPDATE incidents SET legacy_custom_fields = {fields}, custom_fields_sealed = NULL, \
             legacy_open_group = {group}, open_group = NULL WHERE id = '{id}'; \
             UPDATE incident_action_items SET legacy_text = {item}, text_sealed = NULL \
             WHERE incident_id = '{id}'",
            fields = text(&custom_fields.to_string()),
            group = text(open_group),
            item = text(action_item),
        ),
    )
    .await;
}

/// The first alert of `reply` (a webhook's answer): (id, incident number).
fn first_alert(reply: &crate::sre::HookReply) -> (String, u64) {
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let alert = &reply.body["alerts"][0];
    (
        alert["alert_id"].as_str().unwrap().to_owned(),
        alert["incident"].as_u64().unwrap(),
    )
}

async fn incident_id(server: &TestServer, project: &str, number: u64) -> String {
    let shown = server
        .get(
            &format!("{project}/incidents/{number}"),
            &server.admin_token,
        )
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    shown.body["id"].as_str().unwrap().to_owned()
}

async fn patch_and_add_item(server: &TestServer, project: &str, number: u64) {
    let path = format!("{project}/incidents/{number}");
    let patched = server
        .patch(
            &path,
            &server.admin_token,
            json!({"custom_fields": {"customer": "placeholder"}}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::NO_CONTENT, "{}", patched.text);
    created(
        server
            .post(
                &format!("{path}/action-items"),
                &server.admin_token,
                json!({"text": "placeholder"}),
            )
            .await,
    )
    .await;
}

/// Rows from before migration 15, in clear, in two projects — one of them
/// crypto-shredded before the upgrade — then a restart.
async fn legacy_rows_are_sealed_at_start(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(mut server) = start().await else {
        eprintln!("RAMPART_TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let admin = server.admin_token.clone();
    let secrets = [
        "legacy-fp-open-3d9a",
        "legacy-fp-short-3d9a",
        "legacy-short-group-3d9a",
        "legacy-customer-3d9a",
        "legacy-action-item-3d9a",
        "legacy-doomed-key-3d9a",
        "legacy-doomed-customer-3d9a",
        "legacy-doomed-item-3d9a",
        "legacy-long-group-3d9a",
    ];
    for secret in secrets {
        rampart_testkit::remember_secret(secret);
    }
    service_in(&server, PROJECT, "legacy").await;
    let am = integration_in(
        &server,
        PROJECT,
        "legacy",
        json!({"name": "AM", "format": "alertmanager", "auth_mode": "bearer"}),
    )
    .await;
    // A group key longer than 255 bytes: Rampart kept it as `sha256:` and its digest.
    let long_group = format!(
        "{{}}:{{pods=\"legacy-long-group-3d9a{}\"}}",
        "p".repeat(300)
    );
    let (long_alert, long_number) = first_alert(
        &send(
            &server,
            &am,
            &alertmanager_body(&long_group, "legacy-fp-open-3d9a"),
            &[],
        )
        .await,
    );
    let (short_alert, short_number) = first_alert(
        &send(
            &server,
            &am,
            &alertmanager_body("legacy-short-group-3d9a", "legacy-fp-short-3d9a"),
            &[],
        )
        .await,
    );
    patch_and_add_item(&server, PROJECT, long_number).await;
    let long_incident = incident_id(&server, PROJECT, long_number).await;
    let short_incident = incident_id(&server, PROJECT, short_number).await;

    // Another project, shredded after its rows were written.
    created(
        server
            .post(
                "/api/v1/orgs/default/projects",
                &admin,
                json!({"identifier": "doomed", "name": "Doomed"}),
            )
            .await,
    )
    .await;
    let doomed = "/api/v1/orgs/default/projects/doomed";
    service_in(&server, doomed, "old").await;
    let doomed_hook = integration_in(
        &server,
        doomed,
        "old",
        json!({"name": "Generic", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let (doomed_alert, doomed_number) = first_alert(
        &send(
            &server,
            &doomed_hook,
            &generic("legacy-doomed-key-3d9a", "trigger", "Old outage"),
            &[],
        )
        .await,
    );
    patch_and_add_item(&server, doomed, doomed_number).await;
    let doomed_incident = incident_id(&server, doomed, doomed_number).await;
    let destroyed = server
        .post(
            "/api/v1/keys/destroy",
            &admin,
            json!({"scope": "default/doomed", "confirm": "default/doomed"}),
        )
        .await;
    assert_eq!(destroyed.status, StatusCode::OK, "{}", destroyed.text);

    // The rows as migration 15 finds what Rampart wrote before it.
    let digest = format!(
        "sha256:{}",
        rampart_crypto::digest::hex(&rampart_crypto::digest::sha256(long_group.as_bytes()))
    );
    unseal_alert(&server, &long_alert, "legacy-fp-open-3d9a", &long_group).await;
    unseal_alert(
        &server,
        &short_alert,
        "legacy-fp-short-3d9a",
        "legacy-short-group-3d9a",
    )
    .await;
    unseal_alert(
        &server,
        &doomed_alert,
        "legacy-doomed-key-3d9a",
        "legacy-doomed-key-3d9a",
    )
    .await;
    unseal_incident(
        &server,
        &long_incident,
        &json!({"customer": "legacy-customer-3d9a"}),
        &digest,
        "legacy-action-item-3d9a",
    )
    .await;
    raw(
        &server,
        &format!(
            "UPDATE incidents SET legacy_open_group = 'legacy-short-group-3d9a', \
             open_group = NULL WHERE id = '{short_incident}'"
        ),
    )
    .await;
    unseal_incident(
        &server,
        &doomed_incident,
        &json!({"customer": "legacy-doomed-customer-3d9a"}),
        "legacy-doomed-key-3d9a",
        "legacy-doomed-item-3d9a",
    )
    .await;
    server.restart().await;

    // Sealed and indexed: the API reads them back...
    let long = incident(&server, long_number).await;
    assert_eq!(long["custom_fields"]["customer"], "legacy-customer-3d9a");
    assert_eq!(long["action_items"][0]["text"], "legacy-action-item-3d9a");
    assert_eq!(long["alerts"][0]["dedup_key"], "legacy-fp-open-3d9a");
    let listed = server.get(&format!("{PROJECT}/alerts"), &admin).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let keys: BTreeSet<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alert| alert["dedup_key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["legacy-fp-open-3d9a", "legacy-fp-short-3d9a"])
    );
    // ...a repeat is the same open alert (its open key is the index)...
    let repeat = send(
        &server,
        &am,
        &alertmanager_body(&long_group, "legacy-fp-open-3d9a"),
        &[],
    )
    .await;
    assert_eq!(repeat.body["alerts"][0]["outcome"], "deduplicated");
    assert_eq!(repeat.body["alerts"][0]["alert_id"], long_alert.as_str());
    // ...and each group's next alert joins its open incident, the long group's
    // recovered from its alerts.
    for (group, fingerprint, number) in [
        (long_group.as_str(), "new-fp-1", long_number),
        ("legacy-short-group-3d9a", "new-fp-2", short_number),
    ] {
        let joined = send(&server, &am, &alertmanager_body(group, fingerprint), &[]).await;
        assert_eq!(joined.body["alerts"][0]["outcome"], "created");
        assert_eq!(
            joined.body["alerts"][0]["incident"], number,
            "{}",
            joined.body
        );
    }
    // The shredded project's rows stay shredded; its old key, sent again, opens a new
    // alert (the old one's index matches nothing).
    let gone = server
        .get(&format!("{doomed}/alerts/{doomed_alert}"), &admin)
        .await;
    assert_eq!(gone.status, StatusCode::GONE, "{}", gone.text);
    assert_eq!(gone.code(), "data_shredded");
    let gone = server
        .get(&format!("{doomed}/incidents/{doomed_number}"), &admin)
        .await;
    assert_eq!(gone.status, StatusCode::GONE, "{}", gone.text);
    let again = send(
        &server,
        &doomed_hook,
        &generic("legacy-doomed-key-3d9a", "trigger", "New outage"),
        &[],
    )
    .await;
    assert_eq!(
        again.body["alerts"][0]["outcome"], "created",
        "{}",
        again.body
    );
    assert_ne!(again.body["alerts"][0]["alert_id"], doomed_alert.as_str());

    // One conversion, audited; the next start has nothing left to convert.
    let audited = async |server: &TestServer| {
        server
            .get("/api/v1/audit-events?action=sre.seal_legacy", &admin)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .clone()
    };
    let events = audited(&server).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let details = &events[0]["details"];
    assert_eq!(
        (
            &details["alerts"],
            &details["incidents"],
            &details["action_items"]
        ),
        (&json!(3), &json!(3), &json!(2)),
        "{details}"
    );
    server.restart().await;
    assert_eq!(audited(&server).await.len(), 1);

    // Nothing of the values kept in clear is left in the database.
    let bytes = database_bytes(&server);
    assert!(
        contains(&bytes, "legacy"),
        "the service identifier is in clear"
    );
    for secret in secrets {
        assert!(
            !contains(&bytes, secret),
            "{secret} is in the database in clear"
        );
    }
}

#[tokio::test]
async fn rows_from_before_migration_15_are_sealed_at_start_on_sqlite() {
    legacy_rows_are_sealed_at_start(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn rows_from_before_migration_15_are_sealed_at_start_on_postgres() {
    legacy_rows_are_sealed_at_start(TestServer::start_postgres).await;
}
