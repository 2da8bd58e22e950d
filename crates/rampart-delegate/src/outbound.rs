//! What a delegate's outbound tasks do once their envelope passed the checks:
//! `webhook` (a JSON POST, signed with HMAC-SHA256 when the task carries a secret),
//! `notification` (a page delivered to one contact method: an email through the
//! delegate's SMTP relay, a Slack-compatible incoming webhook, or a generic webhook
//! signed with the contact method's secret) and `http_request` (a runbook's HTTP step:
//! any method, headers and body, its answer reported with secrets masked) and
//! `prometheus_query` (a PromQL query against a Prometheus inside the network, its
//! result reported as Prometheus gave it).
//!
//! The delegate's operator decides where it may connect: HTTP requests go only to URLs
//! under an allowed prefix (`--allow-url`; Slack's incoming-webhook address by
//! default), redirects are not followed (a redirect could leave the allowed places),
//! and email goes only through the relay named by `--smtp-url`. A user who can add a
//! contact method therefore cannot make the delegate reach into its network.

use std::time::Duration;

use crate::{Failure, failure, transient};
use anyhow::{Context, Result, bail};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rampart_api::platform::{
    HttpRequestTask, HttpRequestTaskOutput, PrometheusQueryTask, PrometheusQueryTaskOutput,
};
use reqwest::Url;
use serde::Deserialize;

/// How long one outbound request or email may take.
const OUTBOUND_TIMEOUT: Duration = Duration::from_secs(30);
/// The most of a receiver's answer kept in the task's result.
const ANSWER_BYTES_KEPT: usize = 4096;
/// The most of an HTTP step's answer kept in the task's result.
const HTTP_STEP_BODY_KEPT: usize = 16 * 1024;
/// The longest an HTTP step may wait for its answer.
const HTTP_STEP_TIMEOUT_MAX: Duration = Duration::from_secs(60);
/// The most of Prometheus's answer read (a larger one is refused, not parsed).
const PROMETHEUS_ANSWER_BYTES_MAX: usize = 8 * 1024 * 1024;
/// The most bytes of series kept in a query's result, so that it fits in a task result
/// (the server's limit is 64 KiB) with room for the rest of the output.
const PROMETHEUS_RESULT_BYTES_KEPT: usize = 48 * 1024;

/// What the agent was allowed and given for outbound work (`rampart delegate run`).
pub struct Outbound {
    http: reqwest::Client,
    allowed: Vec<Url>,
    smtp: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
}

impl Outbound {
    /// `tls`: how to trust the receivers (the system's roots); `allow_urls`: URL
    /// prefixes requests may go to; `smtp_url` (`smtp://host:port`, `smtps://…`,
    /// `?tls=required`, credentials in the user part) and `smtp_from`: the relay and
    /// sender of emails (both or neither).
    pub fn new(
        tls: rustls::ClientConfig,
        allow_urls: &[String],
        smtp_url: Option<&str>,
        smtp_from: Option<&str>,
    ) -> Result<Self> {
        let allowed = allow_urls
            .iter()
            .map(|prefix| {
                let url = Url::parse(prefix)
                    .with_context(|| format!("--allow-url {prefix} is not a URL"))?;
                if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
                    bail!("--allow-url {prefix} must be an https:// or http:// URL with a host");
                }
                Ok(url)
            })
            .collect::<Result<Vec<_>>>()?;
        let smtp = match (smtp_url, smtp_from) {
            (Some(url), Some(from)) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("--smtp-url is not an SMTP URL (smtp://host:port, smtps://host)")?
                    .timeout(Some(OUTBOUND_TIMEOUT))
                    .build();
                let from: Mailbox = from
                    .parse()
                    .with_context(|| format!("--smtp-from {from} is not an email address"))?;
                Some((transport, from))
            }
            (None, None) => None,
            _ => bail!("--smtp-url and --smtp-from go together"),
        };
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(OUTBOUND_TIMEOUT)
            .build()
            .context("building the outbound HTTP client")?;
        Ok(Self {
            http,
            allowed,
            smtp,
        })
    }

    /// Whether requests may go to `url`: same scheme, host and port as an allowed
    /// prefix, and a path at or under its path (whole segments only).
    fn allows(&self, url: &Url) -> bool {
        self.allowed.iter().any(|prefix| {
            let path = prefix.path();
            let under = url.path() == path
                || url
                    .path()
                    .strip_prefix(path)
                    .is_some_and(|rest| path.ends_with('/') || rest.starts_with('/'));
            prefix.scheme() == url.scheme()
                && prefix.host_str() == url.host_str()
                && prefix.port_or_known_default() == url.port_or_known_default()
                && under
        })
    }

    /// Runs a `webhook` task; the result's output on success.
    pub async fn webhook(&self, arguments: &str) -> Result<String, Failure> {
        let arguments: WebhookArguments = serde_json::from_str(arguments)
            .map_err(|error| failure("task_arguments_invalid", error.to_string()))?;
        self.post(&arguments.url, arguments.body, arguments.secret.as_deref())
            .await
    }

    /// Runs a `notification` task: delivers it on its channel.
    pub async fn notification(&self, arguments: &str) -> Result<String, Failure> {
        let arguments: NotificationArguments = serde_json::from_str(arguments)
            .map_err(|error| failure("task_arguments_invalid", error.to_string()))?;
        let masked = |text: &str| crate::masking::mask(text, arguments.mask.iter(), false);
        self.deliver(&arguments)
            .await
            .map(|output| masked(&output))
            .map_err(|mut failed| {
                failed.explanation = masked(&failed.explanation);
                failed
            })
    }

    async fn deliver(&self, arguments: &NotificationArguments) -> Result<String, Failure> {
        match arguments.channel.as_str() {
            "webhook" => {
                self.post(
                    &arguments.to,
                    arguments.event.to_string(),
                    arguments.secret.as_deref(),
                )
                .await
            }
            "slack" => {
                let body = serde_json::json!({ "text": arguments.text }).to_string();
                self.post(&arguments.to, body, None).await
            }
            "email" => self.email(arguments).await,
            other => Err(failure(
                "channel_unsupported",
                format!("this delegate cannot deliver on channel {other}"),
            )),
        }
    }

    async fn email(&self, arguments: &NotificationArguments) -> Result<String, Failure> {
        let Some((transport, from)) = &self.smtp else {
            return Err(failure(
                "email_not_configured",
                "this delegate has no SMTP relay: run it with --smtp-url and --smtp-from",
            ));
        };
        let to: Mailbox = arguments
            .to
            .parse()
            .map_err(|error| failure("address_invalid", format!("{}: {error}", arguments.to)))?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(arguments.subject.clone())
            .body(arguments.text.clone())
            .map_err(|error| failure("email_invalid", error.to_string()))?;
        let response = transport.send(message).await.map_err(|error| {
            // A 5xx answer is the relay's refusal; anything else (no connection, a
            // 4xx "try later") may pass next time.
            if error.is_permanent() {
                failure("smtp_refused", format!("{error:#}"))
            } else {
                transient("smtp_failed", format!("{error:#}"))
            }
        })?;
        Ok(serde_json::json!({
            "smtp_code": response.code().to_string(),
            "smtp_message": response.message().collect::<Vec<_>>().join(" "),
        })
        .to_string())
    }

    /// Runs an `http_request` task (a runbook's HTTP step): a 2xx answer is success;
    /// the answer's status and the start of its body are reported, secrets masked.
    pub async fn http_request(&self, arguments: &str) -> Result<String, Failure> {
        let arguments: HttpRequestTask = serde_json::from_str(arguments)
            .map_err(|error| failure("task_arguments_invalid", error.to_string()))?;
        let masked = |text: &str| crate::masking::mask(text, arguments.mask.iter(), false);
        let method = match arguments.method.as_str() {
            "GET" => reqwest::Method::GET,
            "HEAD" => reqwest::Method::HEAD,
            "POST" => reqwest::Method::POST,
            "PUT" => reqwest::Method::PUT,
            "PATCH" => reqwest::Method::PATCH,
            "DELETE" => reqwest::Method::DELETE,
            other => {
                return Err(failure(
                    "task_arguments_invalid",
                    format!("method {other} is not one of GET, HEAD, POST, PUT, PATCH, DELETE"),
                ));
            }
        };
        check_step_timeout(arguments.timeout_seconds)?;
        let url = self.allowed_url(&arguments.url).map_err(|mut refused| {
            refused.explanation = masked(&refused.explanation);
            refused
        })?;
        let mut request = self
            .http
            .request(method, url)
            .timeout(Duration::from_secs(arguments.timeout_seconds));
        for (name, value) in &arguments.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(body) = arguments.body {
            request = request.body(body);
        }
        #[allow(
            clippy::disallowed_methods,
            reason = "the step's duration is measured by the delegate in real time"
        )]
        let started = std::time::Instant::now();
        let response = request
            .send()
            .await
            .map_err(|error| failure("http_unreachable", masked(&format!("{error:#}"))))?;
        let status = response.status();
        let bytes = response.bytes().await.unwrap_or_default();
        let body_truncated = bytes.len() > HTTP_STEP_BODY_KEPT;
        let text = String::from_utf8_lossy(bytes.get(..HTTP_STEP_BODY_KEPT).unwrap_or(&bytes));
        let output = serde_json::to_string(&HttpRequestTaskOutput {
            status: status.as_u16(),
            body: crate::masking::mask(&text, arguments.mask.iter(), body_truncated),
            body_truncated,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
        .map_err(|error| failure("result_unencodable", error.to_string()))?;
        if status.is_success() {
            Ok(output)
        } else {
            // A step is tried once whatever the answer: its error is final.
            Err(failure(&format!("http_status_{}", status.as_u16()), output))
        }
    }

    /// Runs a `prometheus_query` task: POSTs the query to Prometheus's HTTP API
    /// (`api/v1/query` or `api/v1/query_range` under the task's base URL, which must be
    /// allowed) and reports its `data`. Prometheus refusing the query (bad PromQL, 4xx)
    /// is final; its timeouts and 5xx answers may pass on another attempt.
    pub async fn prometheus_query(&self, arguments: &str) -> Result<String, Failure> {
        let arguments: PrometheusQueryTask = serde_json::from_str(arguments)
            .map_err(|error| failure("task_arguments_invalid", error.to_string()))?;
        let masked = |text: &str| crate::masking::mask(text, arguments.mask.iter(), false);
        check_step_timeout(arguments.timeout_seconds)?;
        #[allow(
            clippy::disallowed_methods,
            reason = "a query without a time is evaluated when the delegate runs it"
        )]
        let now = jiff::Timestamp::now();
        // "Now" goes to Prometheus to the millisecond: cut to the second it could fall
        // before the newest sample.
        let now_text = format!("{}.{:03}", now.as_second(), now.subsec_millisecond());
        let now = now.as_second();
        let (endpoint, form, start, end) = match arguments.range {
            None => {
                let time = arguments.time.unwrap_or(now);
                let text = arguments.time.map_or(now_text, |time| time.to_string());
                ("api/v1/query", vec![("time", text)], time, time)
            }
            Some(range) => {
                let seconds = i64::try_from(range.seconds).unwrap_or(i64::MAX);
                let (end, end_text, start_text) = match range.end {
                    Some(end) => (
                        end,
                        end.to_string(),
                        end.saturating_sub(seconds).to_string(),
                    ),
                    None => {
                        let millis = now_text.split_once('.').map_or("000", |(_, ms)| ms);
                        let start = now.saturating_sub(seconds);
                        (now, now_text.clone(), format!("{start}.{millis}"))
                    }
                };
                let start = end.saturating_sub(seconds);
                if range.step_seconds == 0 {
                    return Err(failure(
                        "task_arguments_invalid",
                        "step_seconds must be at least 1",
                    ));
                }
                let form = vec![
                    ("start", start_text),
                    ("end", end_text),
                    ("step", range.step_seconds.to_string()),
                ];
                ("api/v1/query_range", form, start, end)
            }
        };
        let mut base = Url::parse(&arguments.url)
            .map_err(|error| failure("url_invalid", format!("{}: {error}", arguments.url)))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        base.set_query(None);
        let url = base
            .join(endpoint)
            .map_err(|error| failure("url_invalid", error.to_string()))?;
        let url = self.allowed_url(url.as_str())?;
        let mut form = form;
        form.push(("query", arguments.query.clone()));
        // Prometheus ends the evaluation itself a little before the delegate gives up.
        form.push(("timeout", format!("{}s", arguments.timeout_seconds)));
        let mut request = self
            .http
            .post(url)
            .timeout(Duration::from_secs(arguments.timeout_seconds + 1))
            .form(&form);
        for (name, value) in &arguments.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        #[allow(
            clippy::disallowed_methods,
            reason = "the query's duration is measured by the delegate in real time"
        )]
        let started = std::time::Instant::now();
        let mut response = request
            .send()
            .await
            .map_err(|error| transient("http_unreachable", masked(&format!("{error:#}"))))?;
        let status = response.status();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() <= PROMETHEUS_ANSWER_BYTES_MAX => {
                    body.extend_from_slice(&chunk);
                }
                Ok(Some(_)) => {
                    return Err(failure(
                        "prometheus_answer_too_large",
                        format!(
                            "Prometheus answered more than {} MiB: aggregate the query \
                             (sum by, topk) so that it returns fewer series",
                            PROMETHEUS_ANSWER_BYTES_MAX / (1024 * 1024)
                        ),
                    ));
                }
                Ok(None) => break,
                Err(error) => {
                    return Err(transient("http_unreachable", masked(&format!("{error:#}"))));
                }
            }
        }
        let retryable = status.is_server_error() || matches!(status.as_u16(), 408 | 429);
        let answer: PrometheusAnswer = match serde_json::from_slice(&body) {
            Ok(answer) => answer,
            Err(_) => {
                let text = String::from_utf8_lossy(body.get(..512).unwrap_or(&body));
                let explanation = format!(
                    "{} did not answer like Prometheus's HTTP API (status {}): {}",
                    arguments.url,
                    status.as_u16(),
                    masked(&text)
                );
                return Err(if retryable {
                    transient("prometheus_answer_invalid", explanation)
                } else {
                    failure("prometheus_answer_invalid", explanation)
                });
            }
        };
        if answer.status != "success" || !status.is_success() {
            let kind = answer.error_type.unwrap_or_else(|| "error".to_owned());
            let code = format!(
                "prometheus_{}",
                kind.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(32)
                    .collect::<String>()
            );
            let explanation = masked(&answer.error.unwrap_or_default());
            // Prometheus's own timeouts and cancellations (503) may pass next time;
            // a query it cannot parse or run (400, 422) never will.
            return Err(if retryable {
                transient(&code, explanation)
            } else {
                failure(&code, explanation)
            });
        }
        let Some(data) = answer.data else {
            return Err(failure(
                "prometheus_answer_invalid",
                "Prometheus answered success without data",
            ));
        };
        let (mut result, series, truncated) = keep_whole_series(&data.result_type, data.result);
        mask_strings(&mut result, &masked);
        let output = PrometheusQueryTaskOutput {
            result_type: data.result_type,
            result,
            series,
            truncated,
            warnings: answer.warnings.iter().map(|text| masked(text)).collect(),
            start,
            end,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        serde_json::to_string(&output)
            .map_err(|error| failure("result_unencodable", error.to_string()))
    }

    /// `url` parsed, when it is under an allowed prefix.
    fn allowed_url(&self, url: &str) -> Result<Url, Failure> {
        let parsed =
            Url::parse(url).map_err(|error| failure("url_invalid", format!("{url}: {error}")))?;
        if !self.allows(&parsed) {
            return Err(failure(
                "destination_not_allowed",
                format!(
                    "{}://{}{} is not under a URL this delegate may reach (its operator \
                     allows more with --allow-url)",
                    parsed.scheme(),
                    parsed.host_str().unwrap_or_default(),
                    parsed.path()
                ),
            ));
        }
        Ok(parsed)
    }

    /// POSTs JSON `body` to `url` (signed with `secret` when given); a 2xx is success.
    async fn post(&self, url: &str, body: String, secret: Option<&str>) -> Result<String, Failure> {
        let parsed = self.allowed_url(url)?;
        let mut request = self
            .http
            .post(parsed)
            .header("content-type", "application/json");
        if let Some(secret) = secret {
            #[allow(clippy::disallowed_methods)] // the signature's timestamp is the send time
            let sent_at = jiff::Timestamp::now().as_second();
            let header = rampart_crypto::webhook_signature::sign(
                secret.as_bytes(),
                sent_at,
                body.as_bytes(),
            );
            request = request.header(rampart_crypto::webhook_signature::SIGNATURE_HEADER, header);
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|error| transient("http_unreachable", format!("{error:#}")))?;
        let status = response.status();
        let mut answer = response.text().await.unwrap_or_default();
        answer.truncate(answer.floor_char_boundary(ANSWER_BYTES_KEPT));
        let output = serde_json::json!({ "status": status.as_u16(), "body": answer }).to_string();
        let code = format!("http_status_{}", status.as_u16());
        if status.is_success() {
            Ok(output)
        } else if status.is_client_error() && !matches!(status.as_u16(), 408 | 425 | 429) {
            // The receiver refused this request: sent again, it is refused again.
            Err(failure(&code, output))
        } else {
            Err(transient(&code, output))
        }
    }
}

/// Refuses a step's timeout outside 1 to [`HTTP_STEP_TIMEOUT_MAX`] seconds.
fn check_step_timeout(seconds: u64) -> Result<(), Failure> {
    if (1..=HTTP_STEP_TIMEOUT_MAX.as_secs()).contains(&seconds) {
        Ok(())
    } else {
        Err(failure(
            "task_arguments_invalid",
            "timeout_seconds must be between 1 and 60",
        ))
    }
}

/// The answer of Prometheus's query API.
#[derive(Deserialize)]
struct PrometheusAnswer {
    status: String,
    #[serde(default)]
    data: Option<PrometheusData>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct PrometheusData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

/// A query's result with as many whole series as fit in
/// [`PROMETHEUS_RESULT_BYTES_KEPT`], the number of series, and whether some were left
/// out. A scalar or string result is one value and kept whole.
fn keep_whole_series(
    result_type: &str,
    result: serde_json::Value,
) -> (serde_json::Value, usize, bool) {
    let serde_json::Value::Array(series) = result else {
        return (result, 1, false);
    };
    if !matches!(result_type, "vector" | "matrix") {
        return (serde_json::Value::Array(series), 1, false);
    }
    let total = series.len();
    let mut kept = Vec::new();
    let mut bytes = 0;
    for one in series {
        let size = serde_json::to_string(&one).map_or(usize::MAX, |text| text.len() + 1);
        if bytes + size > PROMETHEUS_RESULT_BYTES_KEPT {
            break;
        }
        bytes += size;
        kept.push(one);
    }
    let truncated = kept.len() < total;
    (serde_json::Value::Array(kept), total, truncated)
}

/// Masks every string in `value` (label values and sample values alike), keeping the
/// JSON's shape.
fn mask_strings(value: &mut serde_json::Value, masked: &impl Fn(&str) -> String) {
    match value {
        serde_json::Value::String(text) => *text = masked(text),
        serde_json::Value::Array(items) => {
            for item in items {
                mask_strings(item, masked);
            }
        }
        serde_json::Value::Object(fields) => {
            for item in fields.values_mut() {
                mask_strings(item, masked);
            }
        }
        serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {}
    }
}

/// A `webhook` task's arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookArguments {
    url: String,
    /// The JSON text to POST.
    body: String,
    /// The HMAC-SHA256 key of `X-Rampart-Signature` (none: unsigned).
    #[serde(default)]
    secret: Option<String>,
}

/// A `notification` task's arguments (see the server's dispatcher).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotificationArguments {
    /// email, slack or webhook.
    channel: String,
    /// The email address or URL.
    to: String,
    subject: String,
    text: String,
    /// What a generic webhook receives.
    event: serde_json::Value,
    /// A generic webhook's signing key.
    #[serde(default)]
    secret: Option<String>,
    /// Values masked in what is reported (a runbook's Slack URL from a secret).
    #[serde(default)]
    mask: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_result_keeps_whole_series_and_says_how_many_there_were() {
        let series: Vec<serde_json::Value> = (0..2000)
            .map(|i| {
                serde_json::json!({"metric": {"__name__": "up", "instance": format!("host-{i}:9100")},
                                   "value": [1_700_000_000, "1"]})
            })
            .collect();
        let (kept, total, truncated) =
            keep_whole_series("vector", serde_json::Value::Array(series.clone()));
        assert_eq!(total, 2000);
        assert!(truncated);
        let kept = kept.as_array().unwrap();
        assert!(!kept.is_empty() && kept.len() < 2000);
        assert_eq!(kept.as_slice(), series.get(..kept.len()).unwrap());
        assert!(serde_json::to_string(kept).unwrap().len() <= PROMETHEUS_RESULT_BYTES_KEPT);
        let few = serde_json::Value::Array(series.get(..3).unwrap().to_vec());
        assert_eq!(keep_whole_series("matrix", few.clone()), (few, 3, false));
        let scalar = serde_json::json!([1_700_000_000, "0.5"]);
        // A scalar result is an array of two, not series: kept as it is.
        assert_eq!(
            keep_whole_series("scalar", scalar.clone()),
            (scalar, 1, false)
        );
    }

    #[test]
    fn masking_keeps_the_result_json() {
        let mut result = serde_json::json!([{"metric": {"token": "s3cret", "result": "x"}, "value": [1, "s3cret"]}]);
        mask_strings(&mut result, &|text: &str| {
            crate::masking::mask(text, ["s3cret".to_owned()].iter(), false)
        });
        assert_eq!(
            result,
            serde_json::json!([{"metric": {"token": "***", "result": "x"}, "value": [1, "***"]}])
        );
    }

    #[test]
    fn only_allowed_destinations() {
        let tls = || {
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth()
        };
        let outbound = Outbound::new(
            tls(),
            &[
                "https://hooks.slack.com/services/".into(),
                "http://127.0.0.1:8080/hooks".into(),
            ],
            None,
            None,
        )
        .unwrap();
        let allows = |url: &str| outbound.allows(&Url::parse(url).unwrap());
        assert!(allows("https://hooks.slack.com/services/T0/B0/x"));
        assert!(allows("https://HOOKS.slack.com:443/services/T0"));
        assert!(allows("http://127.0.0.1:8080/hooks"));
        assert!(allows("http://127.0.0.1:8080/hooks/a?b=c"));
        for refused in [
            "http://hooks.slack.com/services/T0",
            "https://hooks.slack.com.evil.example/services/T0",
            "https://hooks.slack.com/servicesX",
            "https://hooks.slack.com/services/../admin",
            "https://hooks.slack.com/services/%2e%2e/admin",
            "http://127.0.0.1:8081/hooks",
            "http://127.0.0.1:8080/hooksevil",
            "http://localhost:8080/hooks",
            "https://user@hooks.slack.com.evil.example/services/",
        ] {
            assert!(!allows(refused), "{refused}");
        }
        assert!(Outbound::new(tls(), &["ftp://x/".into()], None, None).is_err());
        assert!(Outbound::new(tls(), &[], Some("smtp://127.0.0.1:25"), None).is_err());
    }
}
