//! `sprintf` as Rampart evaluates it: OPA's, which hands the arguments to Go's
//! `fmt.Sprintf`, with every piece of the result checked against the evaluation's memory
//! before it is written.
//!
//! regorus 0.14.1 (the newest release) formats with its own rules, which are not Go's
//! for many formats (a negative integer's sign printed twice, flags not understood, halves
//! rounded away from zero, `%s` of a number printing it), and pads a verb to the width its
//! format string asks for in one allocation, with no memory check inside the call: a few
//! huge widths exhaust the memory, and a failed allocation aborts the process. As for the
//! ranges ([`crate::range`]), [`install`] registers `sprintf` as an engine extension, which
//! regorus' interpreter calls instead of its builtin.
//!
//! Semantics: OPA 1.x's (checked by a test against the real OPA's results for a fixed
//! sample of formats, `tests/fixtures/sprintf_opa.json`). OPA gives Go an `int64` for a
//! number that is a whole number within 64 bits (`3.0` included), a `*big.Int` for a
//! larger whole number, a `float64` for any other, the text for a string and the Rego
//! rendering of anything else (`["a", 1]`, `{"k": true}`, `set()`, `null`) as a string;
//! Go then formats verb by verb, flags (`-+# 0`), widths, precisions, `*` and argument
//! indexes (`%[2]d`) included, and writes its complaints into the result (`%!d(string=a)`,
//! `%!s(MISSING)`, `%!(EXTRA int64=1)`, `%!(NOVERB)`). What this module cannot do as OPA
//! does, because regorus does not keep a number's text: a number written with an exponent
//! and no point (`1e3`), which OPA formats as the text `1e3`, is formatted here as the
//! number, and a whole number beyond 64 bits written with an exponent (`1.5e300`), which
//! OPA formats as a float, as the integer regorus holds; a number inside a collection is
//! printed as Go's JSON encoder prints it (`3` for `3.0`) where OPA repeats its source
//! text. `%p` and `%w` of a number beyond 64 bits (a pointer, or Go's dump of the big
//! integer's structure) leave the call undefined. A call OPA refuses (a format that is not
//! a string, values that are not an array) is undefined, as builtin errors are in
//! non-strict mode. `%q` quotes non-ASCII text through regorus'
//! builtin (a private engine that evaluates only `sprintf("%q", [input])`), whose table of
//! Go's printable characters is private.
//!
//! Memory: the result is written into one buffer. Before anything is written — literal
//! text, padding, a rendered value — the result's new length is checked against what the
//! evaluation had left under its memory ceiling when the call started; the result counts
//! twice ([`RESULT_COPIES`]). A result that would not fit is refused before the write: the
//! call fails, and the refusal is recorded on the evaluating thread
//! ([`crate::range::take_refusal`]), so the evaluation stops with `policy_memory_exceeded`
//! whatever regorus makes of the call's error. Go reads a width or precision of at most
//! about 10⁷ (a longer number is `%!(NOVERB)`), but a format may ask for it many times.

use regorus::value::Array;
use regorus::{Engine, Value as RegoValue};

use crate::range::Refusal;

/// How many times the result is held at once: the buffer it is written into, then the
/// string value regorus keeps (a copy).
const RESULT_COPIES: u128 = 2;

/// The rule of the private engine that quotes for `%q`.
const QUOTE_RULE: &str = "data.rampart.quote.quoted";

/// Go's bound on a width or precision (`fmt`'s `tooLarge`): a number read past it is no
/// number, and a `*` argument beyond it is a bad width.
const WIDTH_MAX: i64 = 1_000_000;

/// At most the bytes a float takes before its precision's digits: a sign, 309 integer
/// digits, a point, an exponent, `0x` (`%f` of 1.5e308 is the longest).
const FLOAT_BYTES_BEYOND_PRECISION_MAX: u64 = 400;

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
    /// OPA refuses this call (or this module cannot give its answer): undefined, as
    /// builtin errors are in non-strict mode.
    Undefined,
    /// The result would not fit in the memory the evaluation has left.
    Refused(Refusal),
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Failure {
        Failure::Refused(refusal)
    }
}

/// `sprintf(format, values)`: the formatted string; undefined where OPA fails; an error
/// (recorded for [`crate::range::take_refusal`]) when the result would not fit in the
/// memory left.
fn sprintf(
    format: &RegoValue,
    values: &RegoValue,
    quoter: &Engine,
    budget_bytes: u64,
) -> anyhow::Result<RegoValue> {
    let (RegoValue::String(format), RegoValue::Array(values)) = (format, values) else {
        return Ok(RegoValue::Undefined);
    };
    let mut printer = Printer {
        output: Output::new(crate::range::bytes_available(budget_bytes)),
        quoter,
        flags: Flags::default(),
    };
    match printer.print(format, values) {
        Ok(()) => Ok(RegoValue::String(printer.output.text.into())),
        Err(Failure::Undefined) => Ok(RegoValue::Undefined),
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

/// One value of the arguments' array as OPA hands it to Go.
#[derive(Debug, Clone, Copy)]
enum Argument<'a> {
    /// Go's `int64`.
    Int(i64),
    /// Go's `*big.Int`: a whole number beyond 64 bits (the value is a number).
    Big(&'a RegoValue),
    /// Go's `float64`.
    Float(f64),
    /// Go's `string`: a Rego string.
    Text(&'a str),
    /// Go's `string`: any other value, rendered as Rego prints it.
    Term(&'a RegoValue),
}

impl<'a> Argument<'a> {
    fn from_value(value: &'a RegoValue) -> Result<Argument<'a>, Failure> {
        Ok(match value {
            RegoValue::String(text) => Argument::Text(text),
            RegoValue::Number(number) => {
                if let Some(integer) = number.as_i64() {
                    Argument::Int(integer)
                } else if let Some(float) = number.as_f64() {
                    Argument::Float(float)
                } else if number.as_big().is_some() {
                    Argument::Big(value)
                } else {
                    return Err(Failure::Undefined);
                }
            }
            RegoValue::Undefined => return Err(Failure::Undefined),
            _ => Argument::Term(value),
        })
    }

    /// Go's name for the type (`%T`, and the complaints).
    fn type_name(self) -> &'static str {
        match self {
            Argument::Int(_) => "int64",
            Argument::Big(_) => "*big.Int",
            Argument::Float(_) => "float64",
            Argument::Text(_) | Argument::Term(_) => "string",
        }
    }
}

/// The flags, width and precision of one verb (Go's `fmtFlags`, `wid` and `prec`).
#[derive(Debug, Default, Clone, Copy)]
struct Flags {
    sharp: bool,
    zero: bool,
    plus: bool,
    minus: bool,
    space: bool,
    /// `%#v`: `sharp` moved here by the verb `v`.
    sharp_v: bool,
    /// `%+v`: `plus` moved here by the verb `v`.
    plus_v: bool,
    width: Option<u64>,
    precision: Option<u64>,
}

/// A piece of a padded field.
enum Piece<'a> {
    Text(&'a str),
    /// `count` times an ASCII character.
    Fill(char, u64),
}

/// Go's `fmt` printer, writing into a checked [`Output`].
struct Printer<'q> {
    output: Output,
    quoter: &'q Engine,
    flags: Flags,
}

impl Printer<'_> {
    /// Go's `doPrintf`.
    fn print(&mut self, format: &str, values: &Array) -> Result<(), Failure> {
        let arguments = values
            .iter()
            .map(Argument::from_value)
            .collect::<Result<Vec<_>, _>>()?;
        let bytes = format.as_bytes();
        let end = bytes.len();
        let at = |index: usize| bytes.get(index).copied();
        let mut argument_index = 0_usize;
        let mut reordered = false;
        let mut index = 0_usize;
        while index < end {
            let literal_start = index;
            while index < end && at(index) != Some(b'%') {
                index += 1;
            }
            if index > literal_start {
                self.output
                    .push_str(format.get(literal_start..index).unwrap_or_default())?;
            }
            if index >= end {
                break;
            }
            index += 1;
            self.flags = Flags::default();
            let mut good_argument_index = true;
            while let Some(flag) = at(index) {
                match flag {
                    b'#' => self.flags.sharp = true,
                    b'0' => self.flags.zero = true,
                    b'+' => self.flags.plus = true,
                    b'-' => self.flags.minus = true,
                    b' ' => self.flags.space = true,
                    _ => break,
                }
                index += 1;
            }
            let mut after_index = false;
            self.argument_number(
                format,
                &mut index,
                &mut argument_index,
                &mut after_index,
                &mut good_argument_index,
                &mut reordered,
                arguments.len(),
            );
            if at(index) == Some(b'*') {
                index += 1;
                let (width, is_int) = int_argument(&arguments, &mut argument_index);
                if is_int {
                    if width < 0 {
                        self.flags.minus = true;
                        self.flags.zero = false;
                    }
                    self.flags.width = Some(width.unsigned_abs());
                } else {
                    self.output.push_str("%!(BADWIDTH)")?;
                }
                after_index = false;
            } else {
                let (width, present, next) = parse_number(bytes, index, end);
                index = next;
                if present {
                    self.flags.width = Some(width);
                    if after_index {
                        good_argument_index = false;
                    }
                }
            }
            if index + 1 < end && at(index) == Some(b'.') {
                index += 1;
                if after_index {
                    good_argument_index = false;
                }
                self.argument_number(
                    format,
                    &mut index,
                    &mut argument_index,
                    &mut after_index,
                    &mut good_argument_index,
                    &mut reordered,
                    arguments.len(),
                );
                if at(index) == Some(b'*') {
                    index += 1;
                    let (precision, is_int) = int_argument(&arguments, &mut argument_index);
                    if is_int && precision >= 0 {
                        self.flags.precision = Some(precision.unsigned_abs());
                    } else {
                        self.output.push_str("%!(BADPREC)")?;
                    }
                    after_index = false;
                } else {
                    let (precision, _, next) = parse_number(bytes, index, end);
                    index = next;
                    self.flags.precision = Some(precision);
                }
            }
            if !after_index {
                self.argument_number(
                    format,
                    &mut index,
                    &mut argument_index,
                    &mut after_index,
                    &mut good_argument_index,
                    &mut reordered,
                    arguments.len(),
                );
            }
            let Some(verb) = format.get(index..).and_then(|rest| rest.chars().next()) else {
                self.output.push_str("%!(NOVERB)")?;
                break;
            };
            index += verb.len_utf8();
            match (verb, arguments.get(argument_index)) {
                ('%', _) => self.output.push_char('%')?,
                (_, _) if !good_argument_index => self.complain(verb, "BADINDEX")?,
                (_, None) => self.complain(verb, "MISSING")?,
                (_, Some(&argument)) => {
                    if verb == 'v' || verb == 'w' {
                        self.flags.sharp_v = self.flags.sharp;
                        self.flags.sharp = false;
                        self.flags.plus_v = self.flags.plus;
                        self.flags.plus = false;
                    }
                    self.print_argument(argument, verb)?;
                    argument_index += 1;
                }
            }
        }
        if !reordered && argument_index < arguments.len() {
            self.flags = Flags::default();
            self.output.push_str("%!(EXTRA ")?;
            for (position, &argument) in arguments.iter().skip(argument_index).enumerate() {
                if position > 0 {
                    self.output.push_str(", ")?;
                }
                self.output.push_str(argument.type_name())?;
                self.output.push_char('=')?;
                self.print_argument(argument, 'v')?;
            }
            self.output.push_char(')')?;
        }
        Ok(())
    }

    /// Go's `argNumber`: an explicit argument index (`[n]`) at `index`, if any.
    #[allow(clippy::too_many_arguments)]
    fn argument_number(
        &self,
        format: &str,
        index: &mut usize,
        argument_index: &mut usize,
        after_index: &mut bool,
        good_argument_index: &mut bool,
        reordered: &mut bool,
        argument_count: usize,
    ) {
        let bytes = format.as_bytes();
        if bytes.get(*index) != Some(&b'[') {
            *after_index = false;
            return;
        }
        *reordered = true;
        let rest = bytes.get(*index..).unwrap_or_default();
        // Go's parseArgNumber: at least `[n]`, up to the first `]`.
        let (number, consumed, ok) = match rest.iter().position(|&byte| byte == b']') {
            Some(close) if rest.len() >= 3 => match parse_number(rest, 1, close) {
                (number, true, next) if next == close => (Some(number), close + 1, true),
                _ => (None, close + 1, false),
            },
            _ => (None, 1, false),
        };
        *index += consumed;
        match number.and_then(|number| number.checked_sub(1)) {
            Some(position) if ok && (position as usize) < argument_count => {
                *argument_index = position as usize;
                *after_index = true;
            }
            _ => {
                *good_argument_index = false;
                *after_index = ok;
            }
        }
    }

    /// `%!verb(what)`: a missing argument or a bad index.
    fn complain(&mut self, verb: char, what: &str) -> Result<(), Failure> {
        self.output.push_str("%!")?;
        self.output.push_char(verb)?;
        self.output.push_char('(')?;
        self.output.push_str(what)?;
        self.output.push_char(')')?;
        Ok(())
    }

    /// Go's `printArg`.
    fn print_argument(&mut self, argument: Argument<'_>, verb: char) -> Result<(), Failure> {
        match (verb, argument) {
            ('T', _) => self.format_text(argument.type_name()),
            // A big integer's address: nothing OPA gives twice.
            ('p', Argument::Big(_)) => Err(Failure::Undefined),
            ('p', _) => self.bad_verb(argument, verb),
            (_, Argument::Int(integer)) => self.format_integer(integer, argument, verb),
            (_, Argument::Float(float)) => self.format_float_verb(float, argument, verb),
            (_, Argument::Text(text)) => self.format_string(text, argument, verb),
            (_, Argument::Term(value)) => {
                let quoter = self.quoter;
                let rendered = self
                    .output
                    .render(|output| write_term(output, value, quoter))?;
                let result = self.format_string(&rendered, argument, verb);
                self.output.release(rendered.len());
                result
            }
            (_, Argument::Big(value)) => self.format_big(value, verb),
        }
    }

    /// Go's `badVerb`: `%!verb(type=value)`, the value as `%v` with the verb's flags.
    fn bad_verb(&mut self, argument: Argument<'_>, verb: char) -> Result<(), Failure> {
        if matches!(argument, Argument::Big(_)) {
            // Go prints the big integer's structure by reflection here.
            return Err(Failure::Undefined);
        }
        self.output.push_str("%!")?;
        self.output.push_char(verb)?;
        self.output.push_char('(')?;
        self.output.push_str(argument.type_name())?;
        self.output.push_char('=')?;
        self.print_argument(argument, 'v')?;
        self.output.push_char(')')?;
        Ok(())
    }

    /// Go's `pad`: `pieces` padded to the width, with zeros when `zero_padding` allows
    /// the `0` flag; counted in characters.
    fn padded(&mut self, pieces: &[Piece<'_>], zero_padding: bool) -> Result<(), Failure> {
        let length: u64 = pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.chars().count() as u64,
                Piece::Fill(_, count) => *count,
            })
            .sum();
        let padding = self.flags.width.unwrap_or(0).saturating_sub(length);
        let fill = if zero_padding && self.flags.zero && !self.flags.minus {
            '0'
        } else {
            ' '
        };
        if !self.flags.minus {
            self.output.push_fill(fill, padding)?;
        }
        for piece in pieces {
            match piece {
                Piece::Text(text) => self.output.push_str(text)?,
                Piece::Fill(fill, count) => self.output.push_fill(*fill, *count)?,
            }
        }
        if self.flags.minus {
            self.output.push_fill(' ', padding)?;
        }
        Ok(())
    }

    /// Go's `fmtS`: the text cut to the precision (in characters), padded.
    fn format_text(&mut self, text: &str) -> Result<(), Failure> {
        let text = truncated(text, self.flags.precision);
        self.padded(&[Piece::Text(text)], true)
    }

    /// Go's `fmtString`.
    fn format_string(
        &mut self,
        text: &str,
        argument: Argument<'_>,
        verb: char,
    ) -> Result<(), Failure> {
        match verb {
            'v' if self.flags.sharp_v => self.format_quoted(text),
            'v' | 's' => self.format_text(text),
            'x' | 'X' => self.format_hex_bytes(text, verb == 'X'),
            'q' => self.format_quoted(text),
            _ => self.bad_verb(argument, verb),
        }
    }

    /// Go's `fmtSx`: the bytes in hexadecimal (`% x` spaced, `%#x` with `0x`).
    fn format_hex_bytes(&mut self, text: &str, upper: bool) -> Result<(), Failure> {
        let bytes = text.as_bytes();
        let length = match self.flags.precision {
            Some(precision) if precision < bytes.len() as u64 => precision as usize,
            _ => bytes.len(),
        };
        if length == 0 {
            return self.padded(&[], true);
        }
        let mut encoded_bytes = 2 * length as u64;
        if self.flags.space {
            if self.flags.sharp {
                encoded_bytes *= 2;
            }
            encoded_bytes += length as u64 - 1;
        } else if self.flags.sharp {
            encoded_bytes += 2;
        }
        self.output.reserve(encoded_bytes)?;
        let prefix = if upper { "0X" } else { "0x" };
        let mut encoded = String::with_capacity(encoded_bytes as usize);
        if self.flags.sharp {
            encoded.push_str(prefix);
        }
        for (position, byte) in bytes.iter().take(length).enumerate() {
            if self.flags.space && position > 0 {
                encoded.push(' ');
                if self.flags.sharp {
                    encoded.push_str(prefix);
                }
            }
            if upper {
                encoded.push_str(&format!("{byte:02X}"));
            } else {
                encoded.push_str(&format!("{byte:02x}"));
            }
        }
        self.padded(&[Piece::Text(&encoded)], true)
    }

    /// Go's `fmtQ`: a quoted string (`%+q` in ASCII, `%#q` in backquotes when it can).
    fn format_quoted(&mut self, text: &str) -> Result<(), Failure> {
        let text = truncated(text, self.flags.precision);
        if self.flags.sharp && can_backquote(text) {
            return self.padded(
                &[Piece::Text("`"), Piece::Text(text), Piece::Text("`")],
                true,
            );
        }
        let quoted = if self.flags.plus {
            quote_ascii(text, '"')
        } else {
            self.go_quoted(text)?
        };
        self.padded(&[Piece::Text(&quoted)], true)
    }

    /// `text` quoted as Go's `strconv.Quote` does.
    fn go_quoted(&self, text: &str) -> Result<String, Failure> {
        if text.is_ascii() {
            return Ok(quote_ascii(text, '"'));
        }
        // The quoted text is at most ten times as long as `text`, which is already held.
        go_quoted_by_regorus(text, self.quoter)
            .ok_or_else(|| self.output.refusal(10 * text.len() as u128 + 2).into())
    }

    /// Go's `fmtInteger` and its siblings for an `int64`.
    fn format_integer(
        &mut self,
        integer: i64,
        argument: Argument<'_>,
        verb: char,
    ) -> Result<(), Failure> {
        // Go converts the int64 to its 64 bits, unsigned, for %c, %q and %U.
        let bits = integer.cast_unsigned();
        match verb {
            'v' | 'd' => self.format_digits(integer, 10, verb),
            'b' => self.format_digits(integer, 2, verb),
            'o' | 'O' => self.format_digits(integer, 8, verb),
            'x' | 'X' => self.format_digits(integer, 16, verb),
            'c' => {
                let character = go_rune(bits).to_string();
                self.padded(&[Piece::Text(&character)], true)
            }
            'q' => {
                let character = go_rune(bits);
                let quoted = if self.flags.plus || character.is_ascii() {
                    quote_ascii(&character.to_string(), '\'')
                } else {
                    // Non-ASCII characters never need the quote characters' escapes.
                    let quoted = self.go_quoted(&character.to_string())?;
                    format!("'{}'", quoted.trim_matches('"'))
                };
                self.padded(&[Piece::Text(&quoted)], true)
            }
            'U' => self.format_unicode(bits),
            _ => self.bad_verb(argument, verb),
        }
    }

    /// Go's `fmt.fmtInteger`: digits in `base`, with the precision's or the `0` flag's
    /// leading zeros, `#` prefixes, the sign; padded with spaces.
    fn format_digits(&mut self, integer: i64, base: u32, verb: char) -> Result<(), Failure> {
        let negative = integer < 0;
        let magnitude = integer.unsigned_abs();
        let flags = self.flags;
        let mut precision = 0_u64;
        if let Some(wanted) = flags.precision {
            precision = wanted;
            if wanted == 0 && magnitude == 0 {
                return self.padded(&[], false);
            }
        } else if flags.zero && !flags.minus && flags.width.is_some() {
            precision = flags.width.unwrap_or(0);
            if negative || flags.plus || flags.space {
                precision = precision.saturating_sub(1);
            }
        }
        let digits = match (base, verb) {
            (2, _) => format!("{magnitude:b}"),
            (8, _) => format!("{magnitude:o}"),
            (16, 'X') => format!("{magnitude:X}"),
            (16, _) => format!("{magnitude:x}"),
            _ => magnitude.to_string(),
        };
        let zeros = precision.saturating_sub(digits.len() as u64);
        let mut prefix = String::new();
        if negative {
            prefix.push('-');
        } else if flags.plus {
            prefix.push('+');
        } else if flags.space {
            prefix.push(' ');
        }
        if verb == 'O' {
            prefix.push_str("0o");
        }
        if flags.sharp {
            match base {
                2 => prefix.push_str("0b"),
                8 if zeros == 0 && !digits.starts_with('0') => prefix.push('0'),
                16 if verb == 'X' => prefix.push_str("0X"),
                16 => prefix.push_str("0x"),
                _ => {}
            }
        }
        self.padded(
            &[
                Piece::Text(&prefix),
                Piece::Fill('0', zeros),
                Piece::Text(&digits),
            ],
            false,
        )
    }

    /// Go's `fmtUnicode`: `U+0041`, and with `#` the character if it is printable.
    fn format_unicode(&mut self, bits: u64) -> Result<(), Failure> {
        let digits = format!("{bits:X}");
        let zeros = self
            .flags
            .precision
            .filter(|&precision| precision > 4)
            .unwrap_or(4)
            .saturating_sub(digits.len() as u64);
        let mut suffix = String::new();
        if self.flags.sharp
            && let Some(character) = u32::try_from(bits).ok().and_then(char::from_u32)
        {
            let text = character.to_string();
            let printable = match character {
                '"' | '\\' => true,
                _ => self.go_quoted(&text)? == format!("\"{text}\""),
            };
            if printable {
                suffix = format!(" '{text}'");
            }
        }
        self.padded(
            &[
                Piece::Text("U+"),
                Piece::Fill('0', zeros),
                Piece::Text(&digits),
                Piece::Text(&suffix),
            ],
            false,
        )
    }

    /// `math/big`'s `Int.Format`, for a whole number beyond 64 bits.
    fn format_big(&mut self, value: &RegoValue, verb: char) -> Result<(), Failure> {
        let RegoValue::Number(number) = value else {
            return Err(Failure::Undefined);
        };
        let signed_digits = match verb {
            'b' => number.format_bin(),
            'o' | 'O' => number.format_octal(),
            'd' | 's' | 'v' => number.format_decimal(),
            'x' => number.format_hex(),
            'X' => number.format_big_hex(),
            _ => {
                // Go's own complaint, without the flags.
                let decimal = number.format_decimal();
                self.output.push_str("%!")?;
                self.output.push_char(verb)?;
                self.output.push_str("(big.Int=")?;
                self.output.push_str(&decimal)?;
                self.output.push_char(')')?;
                return Ok(());
            }
        };
        let (negative, digits) = match signed_digits.strip_prefix('-') {
            Some(digits) => (true, digits),
            None => (false, signed_digits.as_str()),
        };
        let flags = self.flags;
        let sign = if negative {
            "-"
        } else if flags.plus || flags.plus_v {
            "+"
        } else if flags.space {
            " "
        } else {
            ""
        };
        let mut prefix = "";
        if flags.sharp || flags.sharp_v {
            prefix = match verb {
                'b' => "0b",
                'o' => "0",
                'x' => "0x",
                'X' => "0X",
                _ => "",
            };
        }
        if verb == 'O' {
            prefix = "0o";
        }
        let digit_count = digits.len() as u64;
        let mut zeros = flags
            .precision
            .map_or(0, |precision| precision.saturating_sub(digit_count));
        let length = (sign.len() + prefix.len()) as u64 + zeros + digit_count;
        let (mut left, mut right) = (0, 0);
        if let Some(width) = flags.width.filter(|&width| length < width) {
            let extra = width - length;
            if flags.minus {
                right = extra;
            } else if flags.zero && flags.precision.is_none() {
                zeros = extra;
            } else {
                left = extra;
            }
        }
        self.output.push_fill(' ', left)?;
        self.output.push_str(sign)?;
        self.output.push_str(prefix)?;
        self.output.push_fill('0', zeros)?;
        self.output.push_str(digits)?;
        self.output.push_fill(' ', right)?;
        Ok(())
    }

    /// Go's `printArg` for a `float64`: the verb's format and default precision.
    fn format_float_verb(
        &mut self,
        float: f64,
        argument: Argument<'_>,
        verb: char,
    ) -> Result<(), Failure> {
        match verb {
            'v' => self.format_float(float, 'g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => self.format_float(float, verb, -1),
            'f' | 'F' | 'e' | 'E' => self.format_float(float, verb, 6),
            _ => self.bad_verb(argument, verb),
        }
    }

    /// Go's `fmt.fmtFloat`: `strconv.FormatFloat`, then the sign, `#` and padding.
    fn format_float(
        &mut self,
        float: f64,
        verb: char,
        default_precision: i64,
    ) -> Result<(), Failure> {
        let flags = self.flags;
        let precision = flags
            .precision
            .map_or(default_precision, |precision| precision as i64);
        // The rendering is held before it is written: checked first.
        self.output
            .reserve(precision.max(0).unsigned_abs() + FLOAT_BYTES_BEYOND_PRECISION_MAX)?;
        let negative = float.is_sign_negative();
        let mut number = vec![if negative { b'-' } else { b'+' }];
        number.extend_from_slice(format_float_go(float.abs(), verb, precision).as_bytes());
        if flags.space
            && !negative
            && !flags.plus
            && let Some(sign) = number.first_mut()
        {
            *sign = b' ';
        }
        if flags.sharp && verb != 'b' {
            sharpen(&mut number, verb, precision);
        }
        let text = String::from_utf8(number).map_err(|_| Failure::Undefined)?;
        let (sign, unsigned) = text.split_at(1);
        if flags.plus || sign != "+" {
            let width = flags.width.unwrap_or(0);
            if flags.zero && !flags.minus && width > text.len() as u64 {
                self.output.push_str(sign)?;
                self.output.push_fill('0', width - text.len() as u64)?;
                self.output.push_str(unsigned)?;
                return Ok(());
            }
            return self.padded(&[Piece::Text(&text)], true);
        }
        self.padded(&[Piece::Text(unsigned)], true)
    }
}

/// Go's `parsenum`: the decimal number at `start` (before `end`), whether there was one,
/// and where it ends; a number growing past [`WIDTH_MAX`] is none, and takes the rest.
fn parse_number(bytes: &[u8], start: usize, end: usize) -> (u64, bool, usize) {
    if start >= end {
        return (0, false, end);
    }
    let mut number = 0_i64;
    let mut present = false;
    let mut index = start;
    while let Some(digit) = bytes
        .get(index)
        .filter(|byte| index < end && byte.is_ascii_digit())
    {
        if number > WIDTH_MAX {
            return (0, false, end);
        }
        number = number * 10 + i64::from(digit - b'0');
        present = true;
        index += 1;
    }
    (number.unsigned_abs(), present, index)
}

/// Go's `intFromArg`: the argument for a `*` width or precision, if it is an integer
/// within [`WIDTH_MAX`]; the argument is used either way.
fn int_argument(arguments: &[Argument<'_>], argument_index: &mut usize) -> (i64, bool) {
    let Some(argument) = arguments.get(*argument_index) else {
        return (0, false);
    };
    *argument_index += 1;
    match argument {
        Argument::Int(integer) if (-WIDTH_MAX..=WIDTH_MAX).contains(integer) => (*integer, true),
        _ => (0, false),
    }
}

/// `text` cut to `precision` characters.
fn truncated(text: &str, precision: Option<u64>) -> &str {
    let Some(precision) = precision else {
        return text;
    };
    match text
        .char_indices()
        .nth(usize::try_from(precision).unwrap_or(usize::MAX))
    {
        Some((end, _)) => text.get(..end).unwrap_or(text),
        None => text,
    }
}

/// Go's rune for an integer's 64 bits: U+FFFD for anything that is no character.
fn go_rune(bits: u64) -> char {
    u32::try_from(bits)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Go's `strconv.CanBackquote`.
fn can_backquote(text: &str) -> bool {
    text.chars().all(|character| {
        character != '\u{feff}'
            && character != '`'
            && character != '\u{7f}'
            && (character >= ' ' || character == '\t')
    })
}

/// `text` between `quote`s as Go's `strconv.QuoteToASCII` (and `QuoteRuneToASCII`) quote
/// it: printable ASCII as it is, the rest escaped. For ASCII text, the same as
/// `strconv.Quote`.
fn quote_ascii(text: &str, quote: char) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push(quote);
    for character in text.chars() {
        match character {
            '\\' => quoted.push_str("\\\\"),
            _ if character == quote => {
                quoted.push('\\');
                quoted.push(quote);
            }
            '\u{7}' => quoted.push_str("\\a"),
            '\u{8}' => quoted.push_str("\\b"),
            '\u{c}' => quoted.push_str("\\f"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '\u{b}' => quoted.push_str("\\v"),
            ' '..='~' => quoted.push(character),
            '\0'..='\u{7f}' => quoted.push_str(&format!("\\x{:02x}", u32::from(character))),
            '\u{80}'..='\u{ffff}' => quoted.push_str(&format!("\\u{:04x}", u32::from(character))),
            _ => quoted.push_str(&format!("\\U{:08x}", u32::from(character))),
        }
    }
    quoted.push(quote);
    quoted
}

/// `text` quoted as Go's `strconv.Quote` does, by regorus' builtin (which holds Go's table
/// of printable characters); `None` when regorus stopped at the memory ceiling.
fn go_quoted_by_regorus(text: &str, quoter: &Engine) -> Option<String> {
    let mut engine = quoter.clone();
    engine.set_input(RegoValue::from(text));
    match engine.eval_rule(QUOTE_RULE.to_owned()) {
        Ok(RegoValue::String(quoted)) => Some(quoted.as_ref().to_owned()),
        _ => None,
    }
}

/// A float's decimal digits: `0.d₁d₂… × 10^point`, without trailing zeros (Go's
/// `decimalSlice`); no digits for zero.
struct Decimal {
    digits: Vec<u8>,
    point: i64,
}

impl Decimal {
    /// From Rust's scientific rendering (`1.2345e-7`), which is exact: the shortest that
    /// reads back (`{:e}`) or correctly rounded, ties to even (`{:.N$e}`), as Go's.
    fn from_scientific(rendered: &str) -> Decimal {
        let (mantissa, exponent) = rendered.split_once('e').unwrap_or((rendered, "0"));
        let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        if digits.is_empty() {
            return Decimal { digits, point: 0 };
        }
        Decimal {
            digits,
            point: exponent.parse::<i64>().unwrap_or(0) + 1,
        }
    }

    fn count(&self) -> i64 {
        self.digits.len() as i64
    }

    fn digit(&self, position: i64) -> u8 {
        usize::try_from(position)
            .ok()
            .and_then(|position| self.digits.get(position).copied())
            .unwrap_or(b'0')
    }

    /// Go's `fmtE`: `d.ddde±dd` with `precision` decimals.
    fn scientific(&self, precision: i64, exponent_char: char) -> String {
        let mut text = String::new();
        text.push(char::from(self.digit(0)));
        if precision > 0 {
            text.push('.');
            for position in 1..=precision {
                text.push(char::from(self.digit(position)));
            }
        }
        let exponent = if self.digits.is_empty() {
            0
        } else {
            self.point - 1
        };
        text.push(exponent_char);
        text.push(if exponent < 0 { '-' } else { '+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            text.push('0');
        }
        text.push_str(&magnitude.to_string());
        text
    }

    /// Go's `fmtF`: `ddd.ddd` with `precision` decimals.
    fn fixed(&self, precision: i64) -> String {
        let mut text = String::new();
        if self.point > 0 {
            for position in 0..self.point {
                text.push(char::from(self.digit(position)));
            }
        } else {
            text.push('0');
        }
        if precision > 0 {
            text.push('.');
            for position in 1..=precision {
                text.push(char::from(self.digit(self.point + position - 1)));
            }
        }
        text
    }
}

/// Go's `strconv.FormatFloat(value, verb, precision, 64)` of a non-negative finite
/// `value` (`precision` −1: the shortest that reads back).
fn format_float_go(value: f64, verb: char, precision: i64) -> String {
    let bits = value.to_bits();
    let biased_exponent = ((bits >> 52) & 0x7ff) as i64;
    let mut mantissa = bits & ((1 << 52) - 1);
    let mut exponent = biased_exponent;
    if biased_exponent == 0 {
        exponent += 1;
    } else {
        mantissa |= 1 << 52;
    }
    exponent -= 1023;
    let digits = |significant: i64| {
        Decimal::from_scientific(&format!("{:.*e}", (significant - 1).max(0) as usize, value))
    };
    match verb {
        'b' => {
            let exponent = exponent - 52;
            let sign = if exponent >= 0 { "+" } else { "" };
            format!("{mantissa}p{sign}{exponent}")
        }
        'x' | 'X' => format_hex_float(mantissa, exponent, precision, verb),
        'e' | 'E' => {
            if precision < 0 {
                let decimal = Decimal::from_scientific(&format!("{value:e}"));
                decimal.scientific((decimal.count() - 1).max(0), verb)
            } else {
                digits(precision + 1).scientific(precision, verb)
            }
        }
        'f' | 'F' => {
            if precision < 0 {
                let decimal = Decimal::from_scientific(&format!("{value:e}"));
                decimal.fixed((decimal.count() - decimal.point).max(0))
            } else {
                format!("{value:.*}", precision as usize)
            }
        }
        _ => {
            // 'g' and 'G'.
            let exponent_char = if verb == 'G' { 'E' } else { 'e' };
            let shortest = precision < 0;
            let (decimal, mut precision) = if shortest {
                let decimal = Decimal::from_scientific(&format!("{value:e}"));
                let count = decimal.count();
                (decimal, count)
            } else {
                let precision = precision.max(1);
                (digits(precision), precision)
            };
            let mut exponent_precision = precision;
            if exponent_precision > decimal.count() && decimal.count() >= decimal.point {
                exponent_precision = decimal.count();
            }
            if shortest {
                exponent_precision = 6;
            }
            let exponent = decimal.point - 1;
            if exponent < -4 || exponent >= exponent_precision {
                precision = precision.min(decimal.count());
                return decimal.scientific(precision - 1, exponent_char);
            }
            if precision > decimal.point {
                precision = decimal.count();
            }
            decimal.fixed((precision - decimal.point).max(0))
        }
    }
}

/// Go's `fmtX`: `0x1.8p+01`, rounded to `precision` hexadecimal digits (ties to even).
fn format_hex_float(mut mantissa: u64, mut exponent: i64, precision: i64, verb: char) -> String {
    if mantissa == 0 {
        exponent = 0;
    }
    mantissa <<= 60 - 52;
    while mantissa != 0 && mantissa & (1 << 60) == 0 {
        mantissa <<= 1;
        exponent -= 1;
    }
    if (0..15).contains(&precision) {
        let shift = (precision * 4) as u32;
        let extra = (mantissa << shift) & ((1 << 60) - 1);
        mantissa >>= 60 - shift;
        if extra | (mantissa & 1) > 1 << 59 {
            mantissa += 1;
        }
        mantissa <<= 60 - shift;
        if mantissa & (1 << 61) != 0 {
            mantissa >>= 1;
            exponent += 1;
        }
    }
    let hex: &[u8; 16] = if verb == 'X' {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let digit = |mantissa: u64| {
        char::from(
            hex.get(((mantissa >> 60) & 15) as usize)
                .copied()
                .unwrap_or(b'0'),
        )
    };
    let mut text = String::from(if verb == 'X' { "0X" } else { "0x" });
    text.push(if (mantissa >> 60) & 1 == 1 { '1' } else { '0' });
    mantissa <<= 4;
    if precision < 0 && mantissa != 0 {
        text.push('.');
        while mantissa != 0 {
            text.push(digit(mantissa));
            mantissa <<= 4;
        }
    } else if precision > 0 {
        text.push('.');
        for _ in 0..precision {
            text.push(digit(mantissa));
            mantissa <<= 4;
        }
    }
    text.push(if verb == 'X' { 'P' } else { 'p' });
    text.push(if exponent < 0 { '-' } else { '+' });
    let magnitude = exponent.unsigned_abs();
    if magnitude < 10 {
        text.push('0');
    }
    text.push_str(&magnitude.to_string());
    text
}

/// Go's `#` flag on a float (`number` starts with its sign): a point always, and for
/// `%g`/`%v`/`%x` the trailing zeros up to the precision (6 by default).
fn sharpen(number: &mut Vec<u8>, verb: char, precision: i64) {
    let mut digits = match verb {
        'v' | 'g' | 'G' | 'x' => {
            if precision == -1 {
                6
            } else {
                precision
            }
        }
        _ => 0,
    };
    let mut tail = Vec::new();
    let mut has_point = false;
    let mut saw_nonzero = false;
    let mut index = 1;
    while let Some(&byte) = number.get(index) {
        match byte {
            b'.' => has_point = true,
            b'p' | b'P' => {
                tail = number.split_off(index);
                break;
            }
            b'e' | b'E' if verb != 'x' && verb != 'X' => {
                tail = number.split_off(index);
                break;
            }
            _ => {
                if byte != b'0' {
                    saw_nonzero = true;
                }
                if saw_nonzero {
                    digits -= 1;
                }
            }
        }
        index += 1;
    }
    if !has_point {
        if number.len() == 2 && number.get(1) == Some(&b'0') {
            digits -= 1;
        }
        number.push(b'.');
    }
    while digits > 0 {
        number.push(b'0');
        digits -= 1;
    }
    number.extend_from_slice(&tail);
}

/// `value` as OPA's `Term.String()` renders it: strings quoted as Go quotes them, numbers
/// as Go's JSON encoder writes them, arrays `[a, b]`, objects `{"k": v}` and sets `{a, b}`
/// in order, the empty set `set()`.
fn write_term(output: &mut Output, value: &RegoValue, quoter: &Engine) -> Result<(), Failure> {
    match value {
        RegoValue::Null => output.push_str("null")?,
        RegoValue::Bool(true) => output.push_str("true")?,
        RegoValue::Bool(false) => output.push_str("false")?,
        RegoValue::String(text) => {
            let quoted = if text.is_ascii() {
                quote_ascii(text, '"')
            } else {
                go_quoted_by_regorus(text, quoter)
                    .ok_or_else(|| output.refusal(10 * text.len() as u128 + 2))?
            };
            output.push_str(&quoted)?;
        }
        RegoValue::Number(number) => {
            let text = if let Some(integer) = number.as_i64() {
                integer.to_string()
            } else if let Some(float) = number.as_f64() {
                json_float(float)
            } else {
                number.format_decimal()
            };
            output.push_str(&text)?;
        }
        RegoValue::Array(elements) => {
            write_sequence(output, ('[', ']'), elements.iter(), |output, element| {
                write_term(output, element, quoter)
            })?;
        }
        RegoValue::Set(elements) if elements.is_empty() => output.push_str("set()")?,
        RegoValue::Set(elements) => {
            write_sequence(output, ('{', '}'), elements.iter(), |output, element| {
                write_term(output, element, quoter)
            })?;
        }
        RegoValue::Object(fields) => {
            write_sequence(
                output,
                ('{', '}'),
                fields.iter_sorted(),
                |output, (key, value)| {
                    write_term(output, key, quoter)?;
                    output.push_str(": ")?;
                    write_term(output, value, quoter)
                },
            )?;
        }
        RegoValue::Undefined => return Err(Failure::Undefined),
    }
    Ok(())
}

/// A float as Go's `encoding/json` writes it (`0.1`, `1e-7`, `1.5e+300`).
fn json_float(float: f64) -> String {
    let magnitude = float.abs();
    let sign = if float.is_sign_negative() { "-" } else { "" };
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        let text = format_float_go(magnitude, 'e', -1);
        // Go's encoder writes `e-07` as `e-7`.
        let text = text.replace("e-0", "e-");
        return format!("{sign}{text}");
    }
    format!("{sign}{}", format_float_go(magnitude, 'f', -1))
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
    /// A value rendered aside to be formatted (`%5v` of an array), held meanwhile.
    held_bytes: u64,
}

impl Output {
    fn new(available_bytes: u64) -> Output {
        Output {
            text: String::new(),
            available_bytes,
            held_bytes: 0,
        }
    }

    /// The refusal of a result `additional_bytes` longer than now.
    fn refusal(&self, additional_bytes: u128) -> Refusal {
        Refusal {
            needed_bytes: (self.text.len() as u128)
                .saturating_add(additional_bytes)
                .saturating_mul(RESULT_COPIES)
                .saturating_add(u128::from(self.held_bytes)),
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

    /// What `write` writes, checked as it is written, taken out of the result and held
    /// (counted) until [`Output::release`].
    fn render(
        &mut self,
        write: impl FnOnce(&mut Output) -> Result<(), Failure>,
    ) -> Result<String, Failure> {
        let start = self.text.len();
        let written = write(self);
        let rendered = self.text.split_off(start);
        written?;
        self.held_bytes += rendered.len() as u64;
        Ok(rendered)
    }

    fn release(&mut self, bytes: usize) {
        self.held_bytes = self.held_bytes.saturating_sub(bytes as u64);
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

    /// What the real OPA gave, written by `scripts/sprintf_opa_fixture.py`: the input
    /// document and `[format, arguments (a Rego array expression), OPA's string or null]`.
    const OPA_FIXTURE: &str = include_str!("../tests/fixtures/sprintf_opa.json");

    /// What `sprintf` gives for each `(format, arguments)` with this module's extension:
    /// the string, `undefined`, or `error: …`. One module, one rule per case, as `prepare`
    /// configures the engine (non-strict builtin errors).
    fn results(input: &serde_json::Value, cases: &[(String, String)]) -> Vec<String> {
        let mut source = String::from("package t\n\n");
        for (index, (format, arguments)) in cases.iter().enumerate() {
            let format = serde_json::to_string(format).unwrap();
            source.push_str(&format!("r{index} := sprintf({format}, {arguments})\n"));
        }
        // Evaluations take turns under the process-wide memory ceiling, lifted here.
        let _turn = crate::engine::take_turn();
        let mut engine = Engine::new();
        engine.set_strict_builtin_errors(false);
        super::install(&mut engine, EVALUATION_MEMORY_BYTES_MAX_DEFAULT).unwrap();
        engine.add_policy("t.rego".to_owned(), source).unwrap();
        engine.set_input(RegoValue::from(input.clone()));
        (0..cases.len())
            .map(|index| match engine.eval_rule(format!("data.t.r{index}")) {
                Ok(RegoValue::String(text)) => text.as_ref().to_owned(),
                Ok(RegoValue::Undefined) => "undefined".to_owned(),
                Ok(other) => panic!("{:?}: not a string: {other:?}", cases[index]),
                Err(error) => format!("error: {error:#}"),
            })
            .collect()
    }

    #[test]
    fn formats_give_what_opa_gives() {
        // Hundreds of formats (verbs, flags, widths, precisions, `*`, argument indexes)
        // over numbers, strings and collections, with what the real OPA gave for each.
        let fixture: serde_json::Value = serde_json::from_str(OPA_FIXTURE).unwrap();
        let cases: Vec<(String, String, Option<String>)> =
            serde_json::from_value(fixture["cases"].clone()).unwrap();
        assert!(cases.len() > 500, "{} cases", cases.len());
        let pairs: Vec<(String, String)> = cases
            .iter()
            .map(|(format, arguments, _)| (format.clone(), arguments.clone()))
            .collect();
        let got = results(&fixture["input"], &pairs);
        let differences: Vec<String> = cases
            .iter()
            .zip(&got)
            .filter(|((_, _, opa), got)| opa.as_deref().unwrap_or("undefined") != got.as_str())
            .map(|((format, arguments, opa), got)| {
                format!("sprintf({format:?}, {arguments}): OPA {opa:?}, Rampart {got:?}")
            })
            .collect();
        assert!(
            differences.is_empty(),
            "{} of {} differ:\n{}",
            differences.len(),
            cases.len(),
            differences.join("\n")
        );
    }

    #[test]
    fn the_fixture_policies_formats_read_as_in_opa() {
        // The formats policies write most, with OPA's answers spelt out.
        let cases: &[(&str, &str, &str)] = &[
            (
                "%s keeps backups %d day(s)",
                r#"["db", 7]"#,
                "db keeps backups 7 day(s)",
            ),
            ("rises by %.2f USD", "[0.125]", "rises by 0.12 USD"),
            ("rises by %.2f USD", "[3]", "rises by %!f(int64=03) USD"),
            ("%d|%x", "[-5, -255]", "-5|-ff"),
            (
                "[%-5s] [%+d] [%5.2f] [%08.3f]",
                r#"["ab", 5, 3.14159, -3.14159]"#,
                "[ab   ] [+5] [ 3.14] [-003.142]",
            ),
            (
                "%s and %v",
                r#"[5, ["a", {"k": null}]]"#,
                r#"%!s(int64=5) and ["a", {"k": null}]"#,
            ),
            ("%s %s", r#"["a"]"#, "a %!s(MISSING)"),
            ("%q", r#"["é\n"]"#, r#""é\n""#),
        ];
        let pairs: Vec<(String, String)> = cases
            .iter()
            .map(|(format, arguments, _)| ((*format).to_owned(), (*arguments).to_owned()))
            .collect();
        for ((format, arguments, expected), got) in cases.iter().zip(results(&json!({}), &pairs)) {
            assert_eq!(got, *expected, "sprintf({format:?}, {arguments})");
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
        // Go reads widths and precisions up to about 10⁷; thirty of them ask for 300 MB,
        // more than the 256 MiB an evaluation may hold. Every one is refused before the
        // padding is written, and this test process lives on.
        let big = "a".repeat(1024 * 1024);
        let thirty = |verb: &str| {
            format!(
                r#"count(sprintf(concat("", [f | some _ in numbers.range(1, 30); f := "{verb}"]), [n | some n in numbers.range(1, 30)])) > 0"#
            )
        };
        let refused: Vec<(String, serde_json::Value)> = vec![
            (thirty("%09999999d"), json!({})),
            (thirty("%-9999999x"), json!({})),
            (thirty("%.9999999f"), json!({})),
            (thirty("%.9999999e"), json!({})),
            (thirty("%.9999999d"), json!({})),
            (thirty("%9999999v"), json!({})),
            (thirty("%.9999999x"), json!({})),
            (
                "count(sprintf(input.format, input.values)) > 0".to_owned(),
                json!({"format": "%09999999d".repeat(30), "values": vec![1; 30]}),
            ),
            // `not` cannot turn the refusal into a success.
            (
                format!("not startswith(sprintf({:?}, [n | some n in numbers.range(1, 30)]), \"0\")", "%09999999d".repeat(30)),
                json!({}),
            ),
            // 300 copies of a 1 MiB string: no width at all.
            (
                r#"count(sprintf(concat("", [f | some _ in numbers.range(1, 300); f := "%s"]), [s | some _ in numbers.range(1, 300); s := input.big])) > 0"#.to_owned(),
                json!({"big": big}),
            ),
            // The same string inside an array, padded: rendered aside, and counted.
            (
                r#"count(sprintf(concat("", [f | some _ in numbers.range(1, 300); f := "%5v"]), [s | some _ in numbers.range(1, 300); s := [input.big]])) > 0"#.to_owned(),
                json!({"big": "b".repeat(1024 * 1024)}),
            ),
            // A function whose other body answers: regorus swallows the first body's
            // error, and the evaluation is stopped all the same.
            ("f(input.format) == 1".to_owned(), json!({"format": "%09999999d".repeat(30)})),
        ];
        for (condition, input) in &refused {
            let source = format!(
                "package t\n\nf(format) := c if {{ c := count(sprintf(format, [n | some n in numbers.range(1, 30)])) }}\nf(format) := 1 if {{ format != \"\" }}\n\ndeny contains \"x\" if {{\n  {condition}\n}}\n"
            );
            // On a thread of its own, whose peak of live bytes tells what the evaluation
            // held at most.
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
    fn a_width_too_long_for_go_is_no_width() {
        // Go stops reading a width past 10⁶ and takes the rest of the format: no verb,
        // and nothing padded.
        let source = "package t\ndeny contains sprintf(\"%0999999999d\", [1]) if true\n";
        assert_eq!(
            evaluate(source, json!({}), PolicyLimits::default()).unwrap(),
            vec!["%!(NOVERB)%!(EXTRA int64=1)"]
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
