//! `sprintf` as Rampart evaluates it: regorus' formatting, with every piece of the result
//! checked against the evaluation's memory before it is written.
//!
//! regorus 0.14.1 (the newest release) pads a verb to the width its format string asks
//! for (`%0999999999d`: up to 4 × 10⁹ characters) in one allocation, with no memory check
//! inside the call, and writes any number of rendered values (`%v` of a large document,
//! as many times as the format says) the same way. A few huge widths exhaust the memory,
//! and a failed allocation aborts the process — one hostile module would end the server.
//! As for the ranges ([`crate::range`]), [`install`] registers `sprintf` as an engine
//! extension, which regorus' interpreter calls instead of its builtin.
//!
//! Semantics: regorus 0.14.1's, verb for verb, so that no policy's messages change (tests
//! compare this extension with the builtin over a table and thousands of generated
//! formats). They are OPA's (Go's `fmt`) for the usual formats but not for all: a negative
//! integer's sign is printed twice (`--5`), flags are not understood (`%-5s` takes its
//! argument and prints `5s`; `%+d` of a number and `%5.2f` are undefined), `%s` and `%v`
//! ignore width and precision; the README ("Compatibility with OPA") lists the rest. A
//! format regorus refuses (a verb missing at the end, too few or too many arguments, a
//! number for a verb that takes none) leaves the call undefined, as its builtin errors do
//! in non-strict mode. Numbers are rendered by regorus' own `Number` methods, and `%q`
//! quotes through regorus' builtin itself (a private engine that evaluates only
//! `sprintf("%q", [input])`), because its table of Go's printable characters is private.
//!
//! Memory: the result is written into one buffer. Before anything is written — literal
//! text, padding, a rendered value — the result's new length is checked against what the
//! evaluation had left under its memory ceiling when the call started; the result counts
//! twice ([`RESULT_COPIES`]). A result that would not fit is refused before the write: the
//! call fails, and the refusal is recorded on the evaluating thread
//! ([`crate::range::take_refusal`]), so the evaluation stops with `policy_memory_exceeded`
//! whatever regorus makes of the call's error. A width or precision beyond 2³² − 1, which
//! regorus cannot hold (its arithmetic overflows), is refused the same way.

use regorus::value::Array;
use regorus::{Engine, Value as RegoValue};

use crate::range::Refusal;

/// How many times the result is held at once: the buffer it is written into, then the
/// string value regorus keeps (a copy).
const RESULT_COPIES: u128 = 2;

/// The rule of the private engine that quotes for `%q`.
const QUOTE_RULE: &str = "data.rampart.quote.quoted";

/// Registers the checked `sprintf` on `engine`, before any module is compiled (a compiled
/// policy keeps the extensions it was compiled with). `budget_bytes`, the evaluation's
/// memory budget, bounds a result on top of the ceiling (see [`crate::range::install`]).
pub(crate) fn install(engine: &mut Engine, budget_bytes: u64) -> anyhow::Result<()> {
    let mut quoter = Engine::new();
    quoter.add_policy(
        "rampart_quote.rego".to_owned(),
        "package rampart.quote\n\nquoted := sprintf(\"%q\", [input])\n".to_owned(),
    )?;
    // Analysed once: the clone each `%q` evaluates on shares the analysis.
    quoter.compile_with_entrypoint(&regorus::Rc::from(QUOTE_RULE))?;
    engine.add_extension(
        "sprintf".to_owned(),
        2,
        Box::new(
            move |arguments: Vec<RegoValue>| match arguments.as_slice() {
                [format, values] => sprintf(format, values, &quoter, budget_bytes),
                _ => Ok(RegoValue::Undefined),
            },
        ),
    )?;
    Ok(())
}

/// Why a call produced no string.
#[derive(Debug)]
enum Failure {
    /// regorus' builtin fails on this call: undefined, as its errors are in non-strict mode.
    Undefined,
    /// regorus' builtin would panic (a width written with non-ASCII digits): an error.
    Invalid(String),
    /// The result would not fit in the memory the evaluation has left.
    Refused(Refusal),
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Failure {
        Failure::Refused(refusal)
    }
}

/// `sprintf(format, values)`: the formatted string; undefined where regorus' builtin
/// fails; an error (recorded for [`crate::range::take_refusal`]) when the result would not
/// fit in the memory left.
fn sprintf(
    format: &RegoValue,
    values: &RegoValue,
    quoter: &Engine,
    budget_bytes: u64,
) -> anyhow::Result<RegoValue> {
    let (RegoValue::String(format), RegoValue::Array(values)) = (format, values) else {
        return Ok(RegoValue::Undefined);
    };
    let mut output = Output::new(crate::range::bytes_available(budget_bytes));
    match write_formatted(&mut output, format, values, quoter) {
        Ok(()) => Ok(RegoValue::String(output.text.into())),
        Err(Failure::Undefined) => Ok(RegoValue::Undefined),
        Err(Failure::Invalid(message)) => Err(anyhow::anyhow!(message)),
        Err(Failure::Refused(refusal)) => {
            crate::range::record_refusal(refusal);
            Err(anyhow::anyhow!(
                "the formatted string needs {} bytes, more than the {} bytes the evaluation has left",
                refusal.needed_bytes,
                refusal.available_bytes
            ))
        }
    }
}

/// How a verb's number (between `%` and the verb) reads in regorus: a width when it starts
/// with a digit other than 0 (padded with spaces), with 0 (padded with zeros), or a
/// precision when it starts with a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    None,
    LeadingZeros(u32),
    Cell(u32),
    Decimals(u32),
}

/// Writes `format` with `values` into `output`, verb by verb.
fn write_formatted(
    output: &mut Output,
    format: &str,
    values: &Array,
    quoter: &Engine,
) -> Result<(), Failure> {
    let zero = RegoValue::from(0.0_f64);
    let mut chars = format.chars().peekable();
    let mut next_value = 0_usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            output.push_char(c)?;
            continue;
        }
        let (verb, width) = match chars.next() {
            None => return Err(Failure::Undefined),
            Some('%') => {
                output.push_char('%')?;
                continue;
            }
            Some(first) if first == '.' || first.is_numeric() => {
                // regorus reads every following numeric character (Unicode's, not only
                // 0-9) as a digit of the number.
                let mut number = if first == '.' { 0 } else { digit(first)? };
                while let Some(&c) = chars.peek().filter(|c| c.is_numeric()) {
                    chars.next();
                    let digit = digit(c)?;
                    number = number
                        .checked_mul(10)
                        .and_then(|number| number.checked_add(digit))
                        .ok_or_else(|| output.refusal(u128::from(u32::MAX) + 1))?;
                }
                let width = match first {
                    '0' => Width::LeadingZeros(number),
                    '.' => Width::Decimals(number),
                    _ => Width::Cell(number),
                };
                (chars.next().ok_or(Failure::Undefined)?, width)
            }
            Some(verb) => (verb, Width::None),
        };
        let value = values.get(next_value).ok_or(Failure::Undefined)?;
        next_value += 1;
        // A negative number's sign, which regorus prints before the number's own rendering
        // (itself signed) for the integer verbs and %g.
        let sign = if value < &zero { "-" } else { "" };
        match (verb, value) {
            ('s', RegoValue::String(text)) => output.push_str(text)?,
            ('s' | 'v', value) => write_value(output, value, false)?,
            ('b', RegoValue::Number(number)) if number.is_integer() => {
                output.push_str(sign)?;
                output.push_str(&number.format_bin())?;
            }
            ('c', RegoValue::Number(number)) if number.is_integer() => {
                // regorus keeps the low 32 bits of the code point.
                let character = number
                    .as_u64()
                    .and_then(|code| u32::try_from(code & u64::from(u32::MAX)).ok())
                    .and_then(char::from_u32)
                    .ok_or(Failure::Undefined)?;
                output.push_char(character)?;
            }
            ('d' | 'o' | 'O' | 'x' | 'X', RegoValue::Number(number)) if number.is_integer() => {
                let digits = match verb {
                    'd' => number.format_decimal(),
                    'o' => format!("0O{}", number.format_octal()),
                    'O' => format!("0o{}", number.format_octal()),
                    'x' => number.format_hex(),
                    _ => number.format_big_hex(),
                };
                output.push_str(sign)?;
                output.push_padded(width, &digits)?;
            }
            ('e', RegoValue::Number(number)) => output.push_str(&number.format_scientific())?,
            ('E', RegoValue::Number(number)) => {
                output.push_str(&number.format_scientific().replace('e', "E"))?;
            }
            ('f' | 'F', RegoValue::Number(number)) => match width {
                Width::Decimals(precision) => {
                    output.reserve(fixed_length_max(value, precision))?;
                    output.push_str(&number.format_decimal_with_width(precision))?;
                }
                _ => output.push_padded(width, &number.format_decimal())?,
            },
            ('g' | 'G', RegoValue::Number(number)) => {
                let float = number.as_f64().ok_or(Failure::Undefined)?;
                // regorus prints the shortest form, in scientific notation unless the
                // number is subnormal (its biased exponent at most 32).
                let exponent = (float.to_bits() >> 52) & 0x7ff;
                let rendered = match (exponent > 32, verb) {
                    (false, _) => format!("{float}"),
                    (true, 'g') => format!("{float:e}"),
                    (true, _) => format!("{float:E}"),
                };
                output.push_str(sign)?;
                output.push_str(&rendered)?;
            }
            (_, RegoValue::Number(_)) => return Err(Failure::Undefined),
            ('q', RegoValue::String(text)) => write_quoted(output, text, width, quoter)?,
            // regorus reads the character after `%+` to reject `%+v`, and drops it (the
            // guard consumes it).
            ('+', _) if chars.next() == Some('v') => return Err(Failure::Undefined),
            ('T' | '#' | 'q' | 'p', _) => return Err(Failure::Undefined),
            // Any other verb, flag included, takes its value and prints nothing.
            _ => {}
        }
    }
    if next_value < values.iter().len() {
        return Err(Failure::Undefined);
    }
    Ok(())
}

/// The value of one digit of a verb's number; a numeric character other than 0-9 makes
/// regorus' builtin panic, and the call an error here.
fn digit(c: char) -> Result<u32, Failure> {
    c.to_digit(10).ok_or_else(|| {
        Failure::Invalid(format!(
            "sprintf: the format's width or precision holds `{c}`, not a digit 0-9"
        ))
    })
}

/// At least the bytes `%.{precision}f` renders the number `value` in (regorus'
/// `format_decimal_with_width`), known before regorus renders it: a float rounded to
/// `precision` decimals takes the precision, a point and at most 310 characters before it
/// (a sign and 309 digits); an integer (the precision is ignored) or a rounding that
/// overflows (printed `NaN`, `inf` or `-inf`) takes about its plain rendering.
fn fixed_length_max(value: &RegoValue, precision: u32) -> u64 {
    const INTEGER_PART_BYTES_MAX: u64 = 311;
    let RegoValue::Number(number) = value else {
        return 0;
    };
    // A float's rendering with one decimal has a point (or reads NaN or inf); an
    // integer's has none: regorus does not otherwise say how it holds a number.
    let one_decimal = number.format_decimal_with_width(1);
    let is_float = !one_decimal
        .bytes()
        .all(|byte| byte.is_ascii_digit() || byte == b'-');
    let rounding_is_finite = number.as_f64().is_some_and(|float| {
        // regorus' rounding: the precision as a signed exponent (a precision beyond
        // 2³¹ − 1 wraps to a negative one, as it does in regorus).
        let factor = 10_f64.powi(precision.cast_signed());
        ((float * factor).round() / factor).is_finite()
    });
    if is_float && rounding_is_finite {
        u64::from(precision) + INTEGER_PART_BYTES_MAX
    } else {
        one_decimal.len() as u64
    }
}

/// `%q` of `text` (regorus': a precision cuts `text` to as many characters before quoting;
/// a width pads the quoted text, counted in characters, with spaces or zeros).
fn write_quoted(
    output: &mut Output,
    text: &str,
    width: Width,
    quoter: &Engine,
) -> Result<(), Failure> {
    let text = match width {
        Width::Decimals(precision) => text
            .char_indices()
            .nth(precision as usize)
            .and_then(|(end, _)| text.get(..end))
            .unwrap_or(text),
        _ => text,
    };
    // The quoted text is at most ten times as long as `text`, which is already held.
    let Some(quoted) = go_quoted(text, quoter) else {
        // regorus stops quoting at the memory ceiling.
        return Err(output.refusal(10 * text.len() as u128 + 2).into());
    };
    let quoted_chars = quoted.chars().count() as u64;
    match width {
        Width::Cell(width) => {
            output.push_fill(' ', u64::from(width).saturating_sub(quoted_chars))?;
        }
        Width::LeadingZeros(width) => {
            output.push_fill('0', u64::from(width).saturating_sub(quoted_chars))?;
        }
        Width::None | Width::Decimals(_) => {}
    }
    output.push_str(&quoted)?;
    Ok(())
}

/// `text` quoted as Go's `strconv.Quote` does (and so regorus' `%q`); `None` when regorus
/// stopped at the memory ceiling. ASCII text, by far the most common, is quoted here: Go's
/// rules for it are fixed (the printable characters are 0x20 to 0x7e; the others become
/// `\a`, `\b`, `\f`, `\n`, `\r`, `\t`, `\v` or `\xNN`). Other text goes through the private
/// engine, whose builtin holds Go's table of printable characters.
fn go_quoted(text: &str, quoter: &Engine) -> Option<String> {
    if text.is_ascii() {
        let mut quoted = String::with_capacity(text.len() + 2);
        quoted.push('"');
        for byte in text.bytes() {
            match byte {
                b'"' => quoted.push_str("\\\""),
                b'\\' => quoted.push_str("\\\\"),
                0x07 => quoted.push_str("\\a"),
                0x08 => quoted.push_str("\\b"),
                0x0c => quoted.push_str("\\f"),
                b'\n' => quoted.push_str("\\n"),
                b'\r' => quoted.push_str("\\r"),
                b'\t' => quoted.push_str("\\t"),
                0x0b => quoted.push_str("\\v"),
                0x20..=0x7e => quoted.push(char::from(byte)),
                _ => quoted.push_str(&format!("\\x{byte:02x}")),
            }
        }
        quoted.push('"');
        return Some(quoted);
    }
    let mut engine = quoter.clone();
    engine.set_input(RegoValue::from(text));
    match engine.eval_rule(QUOTE_RULE.to_owned()) {
        Ok(RegoValue::String(quoted)) => Some(quoted.as_ref().to_owned()),
        _ => None,
    }
}

/// `value` as regorus' `%v` renders it: strings as they are at the top (`quoted` false)
/// and as JSON strings inside collections, numbers in decimal, arrays `[a, b]`, sets
/// `{a, b}`, objects `{"k": v}` in key order.
fn write_value(output: &mut Output, value: &RegoValue, quoted: bool) -> Result<(), Failure> {
    match value {
        RegoValue::Null => output.push_str("null")?,
        RegoValue::Bool(true) => output.push_str("true")?,
        RegoValue::Bool(false) => output.push_str("false")?,
        RegoValue::String(text) if quoted => output.push_json_string(text)?,
        RegoValue::String(text) => output.push_str(text)?,
        RegoValue::Number(number) => output.push_str(&number.format_decimal())?,
        RegoValue::Array(elements) => {
            write_sequence(output, ('[', ']'), elements.iter(), |output, element| {
                write_value(output, element, true)
            })?;
        }
        RegoValue::Set(elements) => {
            write_sequence(output, ('{', '}'), elements.iter(), |output, element| {
                write_value(output, element, true)
            })?;
        }
        RegoValue::Object(fields) => {
            write_sequence(
                output,
                ('{', '}'),
                fields.iter_sorted(),
                |output, (key, value)| {
                    write_value(output, key, true)?;
                    output.push_str(": ")?;
                    write_value(output, value, true)
                },
            )?;
        }
        RegoValue::Undefined => output.push_str("#undefined")?,
    }
    Ok(())
}

/// `items` between `brackets`, separated by `, `.
fn write_sequence<T>(
    output: &mut Output,
    brackets: (char, char),
    items: impl Iterator<Item = T>,
    mut write_item: impl FnMut(&mut Output, T) -> Result<(), Failure>,
) -> Result<(), Failure> {
    output.push_char(brackets.0)?;
    for (index, item) in items.enumerate() {
        if index > 0 {
            output.push_str(", ")?;
        }
        write_item(output, item)?;
    }
    output.push_char(brackets.1)?;
    Ok(())
}

/// The result being written, and the memory it may take.
struct Output {
    text: String,
    /// What the evaluation had left when the call started.
    available_bytes: u64,
    /// A refusal met while serde_json wrote through [`std::io::Write`].
    refused: Option<Refusal>,
}

impl Output {
    fn new(available_bytes: u64) -> Output {
        Output {
            text: String::new(),
            available_bytes,
            refused: None,
        }
    }

    /// The refusal of a result `additional_bytes` longer than now.
    fn refusal(&self, additional_bytes: u128) -> Refusal {
        Refusal {
            needed_bytes: (self.text.len() as u128)
                .saturating_add(additional_bytes)
                .saturating_mul(RESULT_COPIES),
            available_bytes: self.available_bytes,
        }
    }

    /// Makes room for `additional_bytes` more, or refuses them: before anything is written.
    fn reserve(&mut self, additional_bytes: u64) -> Result<(), Refusal> {
        let refusal = self.refusal(u128::from(additional_bytes));
        if refusal.needed_bytes > u128::from(self.available_bytes) {
            return Err(refusal);
        }
        // Within the budget, the allocation can still fail on a machine short of memory:
        // a refusal then too, where growing the string would abort.
        let additional = usize::try_from(additional_bytes).map_err(|_| refusal)?;
        self.text.try_reserve(additional).map_err(|_| refusal)
    }

    fn push_str(&mut self, text: &str) -> Result<(), Refusal> {
        self.reserve(text.len() as u64)?;
        self.text.push_str(text);
        Ok(())
    }

    fn push_char(&mut self, c: char) -> Result<(), Refusal> {
        self.reserve(c.len_utf8() as u64)?;
        self.text.push(c);
        Ok(())
    }

    /// `count` times the ASCII `fill`.
    fn push_fill(&mut self, fill: char, count: u64) -> Result<(), Refusal> {
        self.reserve(count)?;
        self.text.extend(std::iter::repeat_n(fill, count as usize));
        Ok(())
    }

    /// `digits` right-aligned to `width` (regorus' padding, counted in bytes): with zeros
    /// or spaces; a precision or no width leaves `digits` as they are.
    fn push_padded(&mut self, width: Width, digits: &str) -> Result<(), Refusal> {
        let length = digits.len() as u64;
        match width {
            Width::LeadingZeros(width) => {
                self.push_fill('0', u64::from(width).saturating_sub(length))?;
            }
            Width::Cell(width) => self.push_fill(' ', u64::from(width).saturating_sub(length))?,
            Width::None | Width::Decimals(_) => {}
        }
        self.push_str(digits)
    }

    /// `text` as a JSON string, escaped by serde_json as regorus' rendering does.
    fn push_json_string(&mut self, text: &str) -> Result<(), Failure> {
        self.refused = None;
        match serde_json::to_writer(&mut *self, text) {
            Ok(()) => Ok(()),
            Err(error) => Err(match self.refused.take() {
                Some(refusal) => Failure::Refused(refusal),
                None => Failure::Invalid(format!("sprintf: {error}")),
            }),
        }
    }
}

/// serde_json writes a JSON string in fragments cut at ASCII characters, each valid UTF-8.
impl std::io::Write for Output {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = std::str::from_utf8(bytes)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
        if let Err(refusal) = self.push_str(text) {
            self.refused = Some(refusal);
            return Err(std::io::Error::other(
                "the result would exceed the memory left",
            ));
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use regorus::{Engine, Value as RegoValue};
    use serde_json::json;

    use crate::engine::{
        EVALUATION_MEMORY_BYTES_MAX_DEFAULT, PolicyError, PolicyInput, PolicyLimits, PolicyModule,
        PreparedPolicySet, RegoSyntax,
    };

    /// The arguments' document: numbers as JSON holds them (floats, whole floats, integers
    /// beyond i64), strings with escapes, collections.
    fn input() -> serde_json::Value {
        json!({
            "float": 12.34567, "whole_float": 3.0, "negative_float": -2.5, "half": 0.5,
            "int": 42, "negative": -7, "zero": 0, "negative_zero": -0.0,
            "big": 18_000_000_000_000_000_000_u64, "huge": 1.5e300, "tiny": 5e-324,
            "text": "héllo \"wörld\"\n\t\u{1}\u{7f}\u{200b}😀",
            "tags": {"b": [1, "x\ny"], "a": null, "c": {"d": true}},
            "list": [1.5, "two", [3], {"four": 4}],
        })
    }

    /// What `sprintf` gives for each `(format, arguments)` (a Rego expression for the
    /// array), with regorus' builtin (`extension` false) or this module's extension: the
    /// string, `undefined`, or `error: …`. One module, one rule per case, as `prepare`
    /// configures the engine (non-strict builtin errors).
    fn results(extension: bool, cases: &[(String, String)]) -> Vec<String> {
        let mut source = String::from("package t\n\n");
        for (index, (format, arguments)) in cases.iter().enumerate() {
            let format = serde_json::to_string(format).unwrap();
            source.push_str(&format!("r{index} := sprintf({format}, {arguments})\n"));
        }
        // Evaluations take turns under the process-wide memory ceiling, lifted here.
        let _turn = crate::engine::take_turn();
        let mut engine = Engine::new();
        engine.set_strict_builtin_errors(false);
        if extension {
            super::install(&mut engine, EVALUATION_MEMORY_BYTES_MAX_DEFAULT).unwrap();
        }
        engine.add_policy("t.rego".to_owned(), source).unwrap();
        engine.set_input(RegoValue::from(input()));
        (0..cases.len())
            .map(|index| match engine.eval_rule(format!("data.t.r{index}")) {
                Ok(RegoValue::String(text)) => text.as_ref().to_owned(),
                Ok(RegoValue::Undefined) => "undefined".to_owned(),
                Ok(other) => panic!("{:?}: not a string: {other:?}", cases[index]),
                Err(error) => format!("error: {error:#}"),
            })
            .collect()
    }

    /// Asserts that the extension gives what regorus' builtin gives for every case.
    fn assert_same_as_builtin(cases: &[(String, String)]) {
        let builtin = results(false, cases);
        let extension = results(true, cases);
        for ((case, builtin), extension) in cases.iter().zip(&builtin).zip(&extension) {
            assert_eq!(extension, builtin, "sprintf({:?}, {})", case.0, case.1);
        }
    }

    #[test]
    fn ordinary_formats_give_what_regorus_gives() {
        // (format, the arguments' array), with the result both give where it is worth
        // reading. The formats of the fixture policies come first.
        let cases: &[(&str, &str, Option<&str>)] = &[
            (
                "%s would be replaced (%s)",
                r#"["aws_s3_bucket.b", "tags"]"#,
                Some("aws_s3_bucket.b would be replaced (tags)"),
            ),
            (
                "%s keeps backups %d day(s)",
                r#"["db", 7]"#,
                Some("db keeps backups 7 day(s)"),
            ),
            (
                "%d resource(s) deleted: %s",
                r#"[2, ["a", "b"]]"#,
                Some(r#"2 resource(s) deleted: ["a", "b"]"#),
            ),
            (
                "rises by %.2f USD",
                "[input.float]",
                Some("rises by 12.35 USD"),
            ),
            (
                "rises by %.2f USD",
                "[input.whole_float]",
                Some("rises by 3.00 USD"),
            ),
            (
                "rises by %.2f USD",
                "[12.5 * 3]",
                Some("rises by 37.50 USD"),
            ),
            ("%.1f TiB", "[input.int / 1024]", Some("0.0 TiB")),
            ("%.1f TiB", "[2048 / 1024]", None),
            ("(%02d:%02d UTC)", "[7, 5]", Some("(07:05 UTC)")),
            ("%d-%02d-%02d", "[2026, 12, 1]", Some("2026-12-01")),
            (
                "the name %q is not snake_case",
                r#"["My Bucket"]"#,
                Some(r#"the name "My Bucket" is not snake_case"#),
            ),
            ("(0x%x)", "[255]", Some("(0xff)")),
            (
                "%s: %d GiB = %s bytes (0x%x), %.1f TiB, about %d TiB",
                r#"["v", 2048, "2199023255552", 2199023255552, 2, 2]"#,
                None,
            ),
            (
                "%s opens port %d to %s",
                r#"["sg", 22, ["0.0.0.0/0"]]"#,
                Some(r#"sg opens port 22 to ["0.0.0.0/0"]"#),
            ),
            (
                "%v",
                "[input.tags]",
                Some(r#"{"a": null, "b": [1, "x\ny"], "c": {"d": true}}"#),
            ),
            (
                "%v",
                "[input.list]",
                Some(r#"[1.5, "two", [3], {"four": 4}]"#),
            ),
            ("%s", "[input.text]", None),
            ("%v", "[[input.text]]", None),
            ("%v %v %v", "[null, true, {1, \"b\", [2]}]", None),
            ("%s|%v", "[set(), {}]", Some("{}|{}")),
            ("%d %d %d", "[input.big, input.negative, 1e3]", None),
            (
                "%v %v %v %v",
                "[input.huge, input.tiny, input.negative_zero, 0.1 + 0.2]",
                None,
            ),
            ("%e %E", "[input.float, 100]", Some("1.234567e1 1.00E2")),
            ("%g %G", "[input.half, input.huge]", None),
            ("%g", "[input.big]", Some("undefined")),
            ("%f %F %10f %010f", "[input.float, 2, 1.5, -1.5]", None),
            (
                "%.0f %.3f %.20f %.400f",
                "[2.5, input.negative_float, 0.1, 1.5]",
                None,
            ),
            (
                "%.2f %.9f",
                "[3, input.big]",
                Some("3 18000000000000000000"),
            ),
            ("%c%c%c", "[72, 233, 128512]", Some("Hé😀")),
            ("%c", "[4294967361]", Some("A")),
            ("%c", "[55296]", Some("undefined")),
            ("%c", "[-1]", Some("undefined")),
            (
                "%b %o %O %x %X",
                "[5, 8, 8, 255, 255]",
                Some("101 0O10 0o10 ff FF"),
            ),
            (
                "%d|%x|%b|%g",
                "[-5, -255, -5, -0.5]",
                Some("--5|--ff|--101|--5e-1"),
            ),
            (
                "[%5d] [%05d] [%5x] [%08X] [%3d]",
                "[42, -42, 255, 48879, 12345]",
                None,
            ),
            (
                "[%5s] [%.2s] [%5v] [%3q] [%.2q] [%8q] [%08q]",
                r#"["ab", "abc", "ab", "a", "héllo", "é", "x"]"#,
                None,
            ),
            ("%q", "[input.text]", None),
            ("%q|%5q", r#"["\u0001\u001f\u007f~ ", "\u001b"]"#, None),
            (
                "%q %q",
                r#"["\u0000\u0007\b\f\n\r\t\u000b\\\"", "\u0085\u00a0\u00ad\ufeff😀"]"#,
                None,
            ),
            ("%-5s|%+d|% d|%#x|%t", r#"["a", 1, 2, 3, true]"#, None),
            ("%+v", "[\"a\"]", Some("undefined")),
            ("%T", "[\"a\"]", Some("undefined")),
            ("%p", "[\"a\"]", Some("undefined")),
            ("%#v", "[\"a\"]", Some("undefined")),
            ("%q", "[1]", Some("undefined")),
            ("%q", "[[\"a\"]]", Some("undefined")),
            ("%d", "[\"a\"]", Some("")),
            ("%d", "[1.5]", Some("undefined")),
            ("%z", "[1]", Some("undefined")),
            ("%z|", "[\"a\"]", Some("|")),
            ("%5.2f", "[3.14159]", Some("undefined")),
            ("100%% %s", "[\"sure\"]", Some("100% sure")),
            ("%", "[]", Some("undefined")),
            ("%5", "[]", Some("undefined")),
            ("%.", "[]", Some("undefined")),
            ("%s %s", "[\"a\"]", Some("undefined")),
            ("%s", "[\"a\", \"b\"]", Some("undefined")),
            ("no verbs", "[]", Some("no verbs")),
            ("", "[]", Some("")),
            ("%s", "\"not an array\"", Some("undefined")),
            ("%s", "{\"a\"}", Some("undefined")),
            ("%s", "[input.missing]", Some("undefined")),
        ];
        let expected: Vec<(String, String, &str)> = cases
            .iter()
            .filter_map(|(format, arguments, expected)| {
                expected.map(|expected| ((*format).to_owned(), (*arguments).to_owned(), expected))
            })
            .collect();
        let table: Vec<(String, String)> = cases
            .iter()
            .map(|(format, arguments, _)| ((*format).to_owned(), (*arguments).to_owned()))
            .collect();
        assert_same_as_builtin(&table);
        let pairs: Vec<(String, String)> = expected
            .iter()
            .map(|(format, arguments, _)| (format.clone(), arguments.clone()))
            .collect();
        let extension = results(true, &pairs);
        for ((format, arguments, expected), got) in expected.iter().zip(extension) {
            assert_eq!(&got, expected, "sprintf({format:?}, {arguments})");
        }
    }

    #[test]
    fn generated_formats_give_what_regorus_gives() {
        // Formats assembled from pieces (verbs, flags, widths, precisions, text, broken
        // verbs), each verb given an argument of the kind it formats most of the time and
        // any other at times, with one argument more or fewer now and then: a deterministic
        // sample of thousands of combinations. Kinds: `n` number, `s` string, `a` any
        // value, `-` no argument.
        const PIECES: &[(&str, char)] = &[
            ("%s", 's'),
            ("%v", 'a'),
            ("%d", 'n'),
            ("%5d", 'n'),
            ("%05d", 'n'),
            ("%-5d", 'n'),
            ("%+d", 'n'),
            ("% d", 'n'),
            ("%#x", 'n'),
            ("%x", 'n'),
            ("%X", 'n'),
            ("%o", 'n'),
            ("%O", 'n'),
            ("%b", 'n'),
            ("%c", 'n'),
            ("%e", 'n'),
            ("%E", 'n'),
            ("%f", 'n'),
            ("%F", 'n'),
            ("%.2f", 'n'),
            ("%.0f", 'n'),
            ("%8.3f", 'n'),
            ("%.3f", 'n'),
            ("%10f", 'n'),
            ("%010f", 'n'),
            ("%g", 'n'),
            ("%G", 'n'),
            ("%q", 's'),
            ("%.3q", 's'),
            ("%8q", 's'),
            ("%08q", 's'),
            ("%t", 'a'),
            ("%T", 'a'),
            ("%p", 'a'),
            ("%#v", 'a'),
            ("%+v", 'a'),
            ("%z", 'a'),
            ("%%", '-'),
            ("%.5s", 's'),
            ("%5s", 's'),
            ("%3v", 'a'),
            ("%12d", 'n'),
            ("%.1e", 'n'),
            ("%+", 'a'),
            ("lit ", '-'),
            ("é", '-'),
            ("\n", '-'),
            (" ", '-'),
            ("%", '-'),
            ("%0", '-'),
            ("%.", '-'),
            ("%7", '-'),
        ];
        const NUMBERS: &[&str] = &[
            "1",
            "-5",
            "0",
            "255",
            "3.14159",
            "input.float",
            "input.whole_float",
            "input.negative_float",
            "input.int",
            "input.negative",
            "input.zero",
            "input.big",
            "input.tiny",
            "input.huge",
            "input.half",
            "input.negative_zero",
            "65",
            "128512",
            "1e3",
            "2.5e-3",
            "10 / 4",
            "7 / 7",
        ];
        const STRINGS: &[&str] = &["\"str\"", "\"\"", "input.text", "\"a\\\"b\\\\c\""];
        const OTHERS: &[&str] = &[
            "true",
            "false",
            "null",
            "[1, \"a\", null]",
            "input.tags",
            "{1, \"b\"}",
            "{}",
            "[]",
            "input.list",
        ];
        // xorshift64*: the same sequence on every run.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |bound: usize| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % bound
        };
        let pick =
            |pool: &[&'static str], next: &mut dyn FnMut(usize) -> usize| pool[next(pool.len())];
        let mut cases = Vec::new();
        for _ in 0..6000 {
            let mut format = String::new();
            let mut arguments: Vec<&str> = Vec::new();
            for _ in 0..1 + next(4) {
                let (piece, kind) = PIECES[next(PIECES.len())];
                format.push_str(piece);
                let pool = match (kind, next(6)) {
                    ('-', _) => continue,
                    (_, 0) => [NUMBERS, STRINGS, OTHERS][next(3)],
                    ('n', _) => NUMBERS,
                    ('s', _) => STRINGS,
                    _ => [NUMBERS, STRINGS, OTHERS][next(3)],
                };
                arguments.push(pick(pool, &mut next));
            }
            match next(12) {
                0 => arguments.push(pick(NUMBERS, &mut next)),
                1 => {
                    arguments.pop();
                }
                _ => {}
            }
            cases.push((format, format!("[{}]", arguments.join(", "))));
        }
        // The sample must exercise the formatting, not only the refusals.
        let defined = results(false, &cases)
            .iter()
            .filter(|result| *result != "undefined")
            .count();
        assert!(defined > 1500, "{defined} defined results");
        for chunk in cases.chunks(1000) {
            assert_same_as_builtin(chunk);
        }
    }

    fn evaluate(
        source: &str,
        input: serde_json::Value,
        limits: PolicyLimits,
    ) -> Result<Vec<String>, PolicyError> {
        let module = PolicyModule {
            path: "p.rego".to_owned(),
            source: source.to_owned(),
        };
        let set = PreparedPolicySet::prepare(RegoSyntax::V1, &[module], limits)?;
        let mut outcomes = set.evaluate(&PolicyInput::from_json(input))?;
        Ok(outcomes.remove(0).deny)
    }

    #[test]
    fn widths_beyond_the_memory_left_stop_the_evaluation() {
        // regorus' builtin would pad each of these in one allocation, with no check: a few
        // gigabytes, and a failed allocation aborts the process. Every one is refused
        // before anything is written, and this test process lives on.
        let big = "a".repeat(1024 * 1024);
        let refused: &[(&str, serde_json::Value)] = &[
            (r#"count(sprintf("%0999999999d", [1])) > 0"#, json!({})),
            (
                r#"count(sprintf("%0100000000d|%100000000x|%0100000000X", [1, 2, 3])) > 0"#,
                json!({}),
            ),
            (
                r#"count(sprintf("%4294967295s|%4294967295d", ["a", 1])) > 0"#,
                json!({}),
            ),
            // Beyond what regorus' width can hold (its arithmetic would overflow).
            (r#"count(sprintf("%99999999999d", [1])) > 0"#, json!({})),
            // regorus wraps this precision to -1: four billion decimals.
            (r#"count(sprintf("%.4294967295f", [1.5])) > 0"#, json!({})),
            (r#"count(sprintf("%4000000000q", ["a"])) > 0"#, json!({})),
            (
                "count(sprintf(input.format, input.values)) > 0",
                json!({"format": "%0999999999d", "values": [1]}),
            ),
            // `not` cannot turn the refusal into a success.
            (
                r#"not startswith(sprintf("%0999999999d", [1]), "0")"#,
                json!({}),
            ),
            // 300 copies of a 1 MiB string: no width at all.
            (
                r#"count(sprintf(concat("", [f | some _ in numbers.range(1, 300); f := "%s"]), [s | some _ in numbers.range(1, 300); s := input.big])) > 0"#,
                json!({"big": big}),
            ),
            // A function whose other body answers: regorus swallows the first body's
            // error, and the evaluation is stopped all the same.
            ("f(input.format) == 1", json!({"format": "%0999999999d"})),
        ];
        for (condition, input) in refused {
            let source = format!(
                "package t\n\nf(format) := c if {{ c := count(sprintf(format, [1])) }}\nf(format) := 1 if {{ format != \"\" }}\n\ndeny contains \"x\" if {{\n  {condition}\n}}\n"
            );
            // On a thread of its own, whose peak of live bytes tells what the evaluation
            // held at most: the builtin would have held the padding (a gigabyte and more).
            let (error, peak_bytes) = std::thread::scope(|scope| {
                scope
                    .spawn(|| {
                        let error = evaluate(&source, input.clone(), PolicyLimits::default());
                        let peak = regorus_mimalloc::current_thread_allocation_stats().peak;
                        (error.unwrap_err(), peak)
                    })
                    .join()
                    .unwrap()
            });
            assert_eq!(
                error,
                PolicyError::MemoryExceeded {
                    limit_bytes: EVALUATION_MEMORY_BYTES_MAX_DEFAULT
                },
                "{condition}"
            );
            assert!(
                peak_bytes < EVALUATION_MEMORY_BYTES_MAX_DEFAULT as i64,
                "{condition}: {peak_bytes} bytes held"
            );
        }
        // The process is unharmed, and an ordinary format still works.
        let outcome = evaluate(
            "package t\ndeny contains sprintf(\"%s: %05d\", [input.name, input.n]) if true\n",
            json!({"name": "a", "n": 42}),
            PolicyLimits::default(),
        )
        .unwrap();
        assert_eq!(outcome, vec!["a: 00042"]);
    }

    #[test]
    fn a_width_within_the_budget_is_honoured_and_bounded_by_the_sets_own_budget() {
        // A million characters: 2 MB with its copy, within the default 256 MiB and beyond
        // a budget of 1 MiB.
        let source =
            "package t\ndeny contains \"wide\" if count(sprintf(\"%01000000d\", [7])) == 1000000\n";
        assert_eq!(
            evaluate(source, json!({}), PolicyLimits::default()).unwrap(),
            vec!["wide"]
        );
        let limits = PolicyLimits {
            evaluation_memory_bytes_max: 1024 * 1024,
            ..PolicyLimits::default()
        };
        assert_eq!(
            evaluate(source, json!({}), limits),
            Err(PolicyError::MemoryExceeded {
                limit_bytes: 1024 * 1024
            })
        );
    }

    #[test]
    fn another_number_of_arguments_is_an_error_naming_sprintf() {
        let error = evaluate(
            "package t\ndeny contains m if m := sprintf(\"x\")\n",
            json!({}),
            PolicyLimits::default(),
        )
        .unwrap_err();
        assert_eq!(error.code(), "policy_evaluation_failed");
        assert!(
            error.to_string().contains("sprintf take 2 arguments"),
            "{error}"
        );
    }
}
