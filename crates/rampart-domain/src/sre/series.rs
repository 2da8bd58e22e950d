//! Prometheus series selectors — `http_requests_total{job="api",code!~"5.."}` — as an SLO's
//! indicator names its series, and how a series (a set of labels, as Prometheus' remote
//! write sends it) is matched by one. The grammar is PromQL's vector selector without
//! offsets or ranges: a metric name, then optional `{label op "value", …}` with the ops
//! `=`, `!=`, `=~` and `!~`; values in double or single quotes (Go escapes) or backticks
//! (raw). The rules are Prometheus' own:
//!
//! - a regular expression is anchored at both ends (`=~"5.."` is `^(?:5..)$`) and uses
//!   RE2 syntax, which the `regex` crate shares;
//! - a label the series lacks has the empty value (`{env=""}` matches series without
//!   `env`, `{env!=""}` only those with one);
//! - the metric name is the label `__name__`.
//!
//! Unlike PromQL, a selector here must name its metric exactly (the bare name or
//! `__name__="…"`): the receiver finds candidate selectors by the metric name of each
//! series, so a series no SLO asks for costs one hash lookup.

use std::collections::HashMap;

use regex::bytes::{Regex, RegexBuilder};

use crate::ValidationError;

/// The longest selector accepted, in bytes.
pub const SELECTOR_BYTES_MAX: usize = 4096;

/// How large a compiled regular expression may grow (a hostile pattern such as
/// `(a{1000}){1000}` is refused rather than compiled).
const REGEX_SIZE_MAX: usize = 1 << 20;

/// The label holding a series' metric name.
pub const METRIC_NAME_LABEL: &str = "__name__";

#[derive(Clone, Debug)]
enum Test {
    Equal(String),
    NotEqual(String),
    Matches(Regex),
    NotMatches(Regex),
}

/// One `label op value` of a selector.
#[derive(Clone, Debug)]
struct Matcher {
    label: String,
    test: Test,
}

impl Matcher {
    fn accepts(&self, value: &[u8]) -> bool {
        match &self.test {
            Test::Equal(expected) => value == expected.as_bytes(),
            Test::NotEqual(expected) => value != expected.as_bytes(),
            Test::Matches(regex) => regex.is_match(value),
            Test::NotMatches(regex) => !regex.is_match(value),
        }
    }
}

/// A parsed selector: the metric it names and the other matchers.
#[derive(Clone, Debug)]
pub struct Selector {
    metric: String,
    matchers: Vec<Matcher>,
    text: String,
}

impl PartialEq for Selector {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Selector {
    /// The selector `text` means, or what is wrong with it (reported on `field`).
    pub fn parse(field: &'static str, text: &str) -> Result<Self, ValidationError> {
        let error = |message: String| ValidationError::new(field, message);
        if text.len() > SELECTOR_BYTES_MAX {
            return Err(error(format!(
                "a selector is at most {SELECTOR_BYTES_MAX} bytes"
            )));
        }
        let mut lexer = Lexer {
            rest: text.trim(),
            field,
        };
        let mut metric = lexer.name(true);
        let mut matchers = Vec::new();
        if lexer.eat('{') {
            loop {
                if lexer.eat('}') {
                    break;
                }
                let label = lexer.name(false).ok_or_else(|| {
                    error(format!(
                        "expected a label name at {:?} in selector {text:?}",
                        lexer.rest
                    ))
                })?;
                let op = lexer.op().ok_or_else(|| {
                    error(format!(
                        "expected =, !=, =~ or !~ after {label:?} in selector {text:?}"
                    ))
                })?;
                let value = lexer.string()?;
                let regex = |value: &str| {
                    RegexBuilder::new(&format!("^(?:{value})$"))
                        .size_limit(REGEX_SIZE_MAX)
                        .build()
                        .map_err(|cause| {
                            error(format!(
                                "{label}: {value:?} is not a valid regular expression ({})",
                                cause.to_string().lines().last().unwrap_or_default()
                            ))
                        })
                };
                let test = match op {
                    "=" => Test::Equal(value),
                    "!=" => Test::NotEqual(value),
                    "=~" => Test::Matches(regex(&value)?),
                    _ => Test::NotMatches(regex(&value)?),
                };
                match test {
                    Test::Equal(name) if label == METRIC_NAME_LABEL => {
                        if metric.as_ref().is_some_and(|metric| *metric != name) {
                            return Err(error(format!("selector {text:?} names two metrics")));
                        }
                        metric = Some(name);
                    }
                    test => matchers.push(Matcher { label, test }),
                }
                if !lexer.eat(',') {
                    if lexer.eat('}') {
                        break;
                    }
                    return Err(error(format!(
                        "expected , or }} at {:?} in selector {text:?}",
                        lexer.rest
                    )));
                }
            }
        }
        if !lexer.rest.is_empty() {
            return Err(error(format!(
                "selector {text:?} goes on after its end ({:?}): a series selector such as \
                 http_requests_total{{code!~\"5..\"}} is expected, not a PromQL expression",
                lexer.rest
            )));
        }
        let metric = metric.filter(|metric| !metric.is_empty()).ok_or_else(|| {
            error(format!(
                "selector {text:?} must name its metric (http_requests_total{{…}} or \
                 {{__name__=\"http_requests_total\"}})"
            ))
        })?;
        Ok(Self {
            metric,
            matchers,
            text: text.to_owned(),
        })
    }

    /// The selector as written (a series selector and nothing more, so it is PromQL).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The metric this selector asks for.
    pub fn metric(&self) -> &str {
        &self.metric
    }

    /// The selector as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a series with these labels (`__name__` among them, in any order) is
    /// selected.
    pub fn matches(&self, labels: &[(&[u8], &[u8])]) -> bool {
        let value_of = |name: &str| {
            labels
                .iter()
                .find(|(label, _)| *label == name.as_bytes())
                .map_or(&b""[..], |(_, value)| *value)
        };
        value_of(METRIC_NAME_LABEL) == self.metric.as_bytes()
            && self
                .matchers
                .iter()
                .all(|matcher| matcher.accepts(value_of(&matcher.label)))
    }
}

/// Selectors found by a series' metric name and, for a selector that tests a label for
/// equality with a value, by that label's value too: a series is tested only against the
/// selectors it could match — with a hundred SLOs on one metric, each naming its `job`,
/// a series is tested against one or two, not two hundred. Each selector carries a
/// value (`T`: whose selector it is), given back in the order selectors were added.
#[derive(Debug)]
pub struct SelectorIndex<T> {
    entries: Vec<(Selector, T)>,
    by_metric: HashMap<Vec<u8>, MetricSelectors>,
}

/// The selectors of one metric: by (label, value) of their first non-empty equality
/// matcher, and those without one.
#[derive(Debug, Default)]
struct MetricSelectors {
    keyed: HashMap<Vec<u8>, HashMap<Vec<u8>, Vec<usize>>>,
    unkeyed: Vec<usize>,
}

impl<T> Default for SelectorIndex<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            by_metric: HashMap::new(),
        }
    }
}

impl<T> SelectorIndex<T> {
    pub fn add(&mut self, selector: &Selector, value: T) {
        let position = self.entries.len();
        let selectors = self
            .by_metric
            .entry(selector.metric.as_bytes().to_vec())
            .or_default();
        // `label=""` also matches series without the label, which have no value to
        // be found by: such a selector is tested against every series of its metric.
        let key = selector
            .matchers
            .iter()
            .find_map(|matcher| match &matcher.test {
                Test::Equal(value) if !value.is_empty() => Some((&matcher.label, value)),
                _ => None,
            });
        match key {
            Some((label, value)) => selectors
                .keyed
                .entry(label.as_bytes().to_vec())
                .or_default()
                .entry(value.as_bytes().to_vec())
                .or_default()
                .push(position),
            None => selectors.unkeyed.push(position),
        }
        self.entries.push((selector.clone(), value));
    }

    /// Whether any selector asks for the metric `name` (a series of another metric
    /// costs this one lookup).
    pub fn has_metric(&self, name: &[u8]) -> bool {
        self.by_metric.contains_key(name)
    }

    /// The values of the selectors that select a series with these labels
    /// (`__name__` among them), in the order they were added.
    pub fn select(&self, labels: &[(&[u8], &[u8])]) -> Vec<&T> {
        let name = labels
            .iter()
            .find(|(label, _)| *label == METRIC_NAME_LABEL.as_bytes())
            .map_or(&b""[..], |(_, value)| *value);
        let Some(selectors) = self.by_metric.get(name) else {
            return Vec::new();
        };
        let mut candidates = selectors.unkeyed.clone();
        for (label, value) in labels {
            if let Some(positions) = selectors
                .keyed
                .get(*label)
                .and_then(|values| values.get(*value))
            {
                candidates.extend_from_slice(positions);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .filter_map(|position| self.entries.get(position))
            .filter(|(selector, _)| selector.matches(labels))
            .map(|(_, value)| value)
            .collect()
    }
}

struct Lexer<'a> {
    rest: &'a str,
    field: &'static str,
}

impl Lexer<'_> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, token: char) -> bool {
        self.skip_space();
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// A metric name (with colons) or a label name.
    fn name(&mut self, metric: bool) -> Option<String> {
        self.skip_space();
        let first_ok = |c: char| c.is_ascii_alphabetic() || c == '_' || (metric && c == ':');
        if !self.rest.starts_with(first_ok) {
            return None;
        }
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':')))
            .unwrap_or(self.rest.len());
        let (name, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(name.to_owned())
    }

    fn op(&mut self) -> Option<&'static str> {
        self.skip_space();
        let op = ["=~", "!~", "!=", "="]
            .into_iter()
            .find(|op| self.rest.starts_with(op))?;
        self.rest = self.rest.get(op.len()..).unwrap_or_default();
        Some(op)
    }

    /// A quoted value with its escapes undone.
    fn string(&mut self) -> Result<String, ValidationError> {
        self.skip_space();
        let error = |message: &str| ValidationError::new(self.field, message.to_owned());
        let mut chars = self.rest.char_indices();
        let quote = match chars.next() {
            Some((_, quote @ ('"' | '\'' | '`'))) => quote,
            _ => return Err(error("a label value is quoted (\"…\", '…' or `…`)")),
        };
        let mut value = String::new();
        while let Some((index, c)) = chars.next() {
            if c == quote {
                self.rest = self.rest.get(index + 1..).unwrap_or_default();
                return Ok(value);
            }
            if c != '\\' || quote == '`' {
                value.push(c);
                continue;
            }
            let escaped = match chars.next().map(|(_, c)| c) {
                Some('n') => '\n',
                Some('t') => '\t',
                Some('r') => '\r',
                Some('a') => '\u{7}',
                Some('b') => '\u{8}',
                Some('f') => '\u{c}',
                Some('v') => '\u{b}',
                Some(c @ ('\\' | '"' | '\'')) => c,
                Some(kind @ ('x' | 'u' | 'U')) => {
                    let digits = match kind {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex: String = chars.by_ref().take(digits).map(|(_, c)| c).collect();
                    u32::from_str_radix(&hex, 16)
                        .ok()
                        .filter(|_| hex.len() == digits)
                        .and_then(char::from_u32)
                        .ok_or_else(|| error("a \\x, \\u or \\U escape is not a character"))?
                }
                _ => return Err(error("unknown escape in a label value")),
            };
            value.push(escaped);
        }
        Err(error("a label value's quote is not closed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels<'a>(pairs: &'a [(&'a str, &'a str)]) -> Vec<(&'a [u8], &'a [u8])> {
        pairs
            .iter()
            .map(|(name, value)| (name.as_bytes(), value.as_bytes()))
            .collect()
    }

    #[test]
    fn the_index_selects_what_testing_every_selector_selects() {
        let texts = [
            r#"http_requests_total{job="api"}"#,
            r#"http_requests_total{job="api",code=~"5.."}"#,
            r#"http_requests_total{code="200",job="web"}"#,
            r#"http_requests_total{job=~"api|web"}"#,
            r#"http_requests_total{env=""}"#,
            r#"http_requests_total{env="",job="api"}"#,
            r#"http_requests_total{job!="api"}"#,
            r#"http_requests_total"#,
            r#"{__name__="http_requests_total",job="db"}"#,
            r#"latency_seconds_bucket{le="0.5",job="api"}"#,
            r#"latency_seconds_bucket{job="api"}"#,
        ];
        let mut index = SelectorIndex::default();
        let selectors: Vec<Selector> = texts
            .iter()
            .map(|text| Selector::parse("selector", text).unwrap())
            .collect();
        for (position, selector) in selectors.iter().enumerate() {
            index.add(selector, position);
        }
        let metrics = ["http_requests_total", "latency_seconds_bucket", "other"];
        let values = ["", "api", "web", "db", "200", "503", "0.5"];
        let mut cases = 0;
        for metric in metrics {
            for job in values {
                for code in values {
                    for env in ["", "prod"] {
                        let mut pairs = vec![("__name__", metric)];
                        for (label, value) in
                            [("job", job), ("code", code), ("le", code), ("env", env)]
                        {
                            // A label with the empty value is a label the series lacks.
                            if !value.is_empty() {
                                pairs.push((label, value));
                            }
                        }
                        let series = labels(&pairs);
                        let expected: Vec<usize> = (0..selectors.len())
                            .filter(|&position| selectors[position].matches(&series))
                            .collect();
                        let selected: Vec<usize> =
                            index.select(&series).into_iter().copied().collect();
                        assert_eq!(selected, expected, "{pairs:?}");
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 3 * 7 * 7 * 2);
        assert!(index.has_metric(b"latency_seconds_bucket"));
        assert!(!index.has_metric(b"other"));
    }

    #[test]
    fn selectors_match_as_prometheus_does() {
        let series = [
            ("__name__", "http_requests_total"),
            ("job", "api"),
            ("code", "503"),
        ];
        let cases: &[(&str, bool)] = &[
            ("http_requests_total", true),
            ("http_requests_total{}", true),
            ("  http_requests_total { job = \"api\" , } ", true),
            ("{__name__=\"http_requests_total\"}", true),
            ("http_requests_total{job='api'}", true),
            ("http_requests_total{job=`api`}", true),
            ("http_requests_total{code=~\"5..\"}", true),
            // Anchored: "5" alone does not match "503".
            ("http_requests_total{code=~\"5\"}", false),
            ("http_requests_total{code!~\"5..\"}", false),
            ("http_requests_total{code!=\"503\"}", false),
            // A missing label is the empty value.
            ("http_requests_total{env=\"\"}", true),
            ("http_requests_total{env!=\"\"}", false),
            ("http_requests_total{env=~\"prod|\"}", true),
            ("http_requests_total{env=~\".+\"}", false),
            ("http_requests_total{job=\"api\",code=~\"2..|5..\"}", true),
            ("http_requests{job=\"api\"}", false),
            ("http_requests_total{job=\"ap\\x69\"}", true),
            ("http_requests_total{job=\"\\u0061pi\"}", true),
        ];
        let series = labels(&series);
        for (text, expected) in cases {
            let selector = Selector::parse("query", text).unwrap();
            assert_eq!(selector.matches(&series), *expected, "{text}");
        }
        let named = Selector::parse("query", "{__name__=\"up\", job=\"a\"}").unwrap();
        assert_eq!(named.metric(), "up");
    }

    #[test]
    fn bad_selectors_say_what_is_wrong() {
        let cases: &[(&str, &str)] = &[
            ("", "must name its metric"),
            ("{job=\"api\"}", "must name its metric"),
            ("{__name__=~\"http_.*\"}", "must name its metric"),
            (
                "sum(rate(http_requests_total[5m]))",
                "goes on after its end",
            ),
            ("http_requests_total[5m]", "goes on after its end"),
            ("http_requests_total{job}", "expected =, !=, =~ or !~"),
            ("http_requests_total{job=api}", "quoted"),
            ("http_requests_total{job=\"api}", "not closed"),
            ("http_requests_total{job=\"a\\qb\"}", "unknown escape"),
            (
                "http_requests_total{code=~\"(\"}",
                "not a valid regular expression",
            ),
            (
                "http_requests_total{code=~\"(a{1000}){1000}\"}",
                "not a valid regular expression",
            ),
            ("a{__name__=\"b\"}", "two metrics"),
            (
                "http_requests_total{job=\"a\" code=\"b\"}",
                "expected , or }",
            ),
            ("http_requests_total{1a=\"b\"}", "expected a label name"),
        ];
        for (text, expected) in cases {
            let error = Selector::parse("query", text).unwrap_err();
            assert_eq!(error.field, "query");
            assert!(error.reason.contains(expected), "{text}: {}", error.reason);
        }
        let long = format!("m{{job=\"{}\"}}", "a".repeat(SELECTOR_BYTES_MAX));
        assert!(
            Selector::parse("query", &long)
                .unwrap_err()
                .reason
                .contains("at most")
        );
    }
}
