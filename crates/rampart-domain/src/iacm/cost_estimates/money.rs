//! Exact money arithmetic for cost estimates: prices are decimal strings, quantities are
//! exact fractions, and a component's monthly cost is rounded once, to the micro-dollar.
//!
//! Nothing here is a float. A price such as `0.0052` (USD per hour) is read as 52/10⁴;
//! `0.0052 × 730 × 1` is computed as a fraction and only then rounded, half away from
//! zero, to a whole number of micro-dollars ([`Micros`]). Totals are sums of those
//! rounded component costs, so a total always equals the sum of the lines it is made of.

use std::fmt;

/// A non-negative decimal read from the catalogue or the plan (`"0.0052"`, `50`, `1.5`):
/// `digits / 10^scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal {
    digits: i128,
    scale: u32,
}

/// The most digits a decimal may carry (keeps every product inside `i128`).
const DECIMAL_DIGITS_MAX: usize = 18;

impl Decimal {
    /// Reads a plain non-negative decimal: digits, optionally one `.` and more digits.
    /// No sign, no exponent, at most [`DECIMAL_DIGITS_MAX`] digits.
    pub fn parse(text: &str) -> Option<Self> {
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (text, ""),
        };
        let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || (text.contains('.') && fraction.is_empty())
            || whole.len() + fraction.len() > DECIMAL_DIGITS_MAX
        {
            return None;
        }
        let digits: i128 = format!("{whole}{fraction}").parse().ok()?;
        Some(Self {
            digits,
            scale: u32::try_from(fraction.len()).ok()?,
        })
    }

    /// A whole number.
    pub fn whole(value: u64) -> Self {
        Self {
            digits: i128::from(value),
            scale: 0,
        }
    }

    /// The exact fraction this decimal is.
    pub fn ratio(self) -> Option<Ratio> {
        Ratio::new(self.digits, 10_i128.checked_pow(self.scale)?)
    }

    pub fn is_zero(self) -> bool {
        self.digits == 0
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.digits.to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return formatter.write_str(&text);
        }
        let padded = format!("{text:0>width$}", width = scale + 1);
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        write!(formatter, "{whole}.{fraction}")
    }
}

/// An exact non-negative fraction; every operation is checked (`None` on overflow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio {
    numerator: i128,
    denominator: i128,
}

fn greatest_common_divisor(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

impl Ratio {
    pub fn new(numerator: i128, denominator: i128) -> Option<Self> {
        if denominator <= 0 || numerator < 0 {
            return None;
        }
        let divisor = greatest_common_divisor(numerator, denominator).max(1);
        Some(Self {
            numerator: numerator / divisor,
            denominator: denominator / divisor,
        })
    }

    pub fn whole(value: u64) -> Self {
        Self {
            numerator: i128::from(value),
            denominator: 1,
        }
    }

    pub fn times(self, other: Self) -> Option<Self> {
        // Cross-reduce first so that products of many small factors stay small.
        let left = greatest_common_divisor(self.numerator, other.denominator).max(1);
        let right = greatest_common_divisor(other.numerator, self.denominator).max(1);
        Self::new(
            (self.numerator / left).checked_mul(other.numerator / right)?,
            (self.denominator / right).checked_mul(other.denominator / left)?,
        )
    }

    pub fn divided_by(self, other: Self) -> Option<Self> {
        if other.numerator == 0 {
            return None;
        }
        self.times(Self::new(other.denominator, other.numerator)?)
    }

    pub fn is_zero(self) -> bool {
        self.numerator == 0
    }

    /// `self ≤ bound`, exactly.
    pub fn is_at_most(self, bound: u64) -> bool {
        i128::from(bound)
            .checked_mul(self.denominator)
            .is_none_or(|scaled_bound| self.numerator <= scaled_bound)
    }

    /// Rounded to whole micro-units, half away from zero.
    pub fn to_micros(self) -> Option<Micros> {
        let scaled = self.numerator.checked_mul(1_000_000)?;
        let quotient = scaled / self.denominator;
        let remainder = scaled % self.denominator;
        let rounded = if remainder.checked_mul(2)? >= self.denominator {
            quotient.checked_add(1)?
        } else {
            quotient
        };
        Some(Micros(i64::try_from(rounded).ok()?))
    }
}

impl fmt::Display for Ratio {
    /// A whole number as such, otherwise up to six decimals (`0.5`, `4.882813`).
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.denominator == 1 {
            return write!(formatter, "{}", self.numerator);
        }
        match self.to_micros() {
            Some(micros) => formatter.write_str(&micros.to_decimal_string()),
            None => write!(formatter, "{}/{}", self.numerator, self.denominator),
        }
    }
}

/// An amount of money in micro-dollars (10⁻⁶ USD), signed (deltas go down too).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Micros(pub i64);

impl Micros {
    pub const ZERO: Self = Self(0);

    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }

    /// The exact amount as a decimal string with at least two decimals and no trailing
    /// zeros beyond them: `742.64`, `3.796`, `0.00`, `-12.985`.
    pub fn to_decimal_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let whole = magnitude / 1_000_000;
        let fraction = format!("{:06}", magnitude % 1_000_000);
        let trimmed = fraction.trim_end_matches('0');
        let shown = if trimmed.len() < 2 {
            fraction.get(..2).unwrap_or("00")
        } else {
            trimmed
        };
        format!("{sign}{whole}.{shown}")
    }

    /// The amount as a JSON number (`742.64`, `3.796`, `0.0`): what a policy compares
    /// (`input.cost.delta_monthly > 500`; a decimal string there would compare as a
    /// string, greater than every number). Exact to the micro-dollar below 9 billion
    /// dollars, where an `f64` still holds every micro-dollar; the `…_micros` fields
    /// beside it are exact everywhere.
    pub fn to_json_number(self) -> serde_json::Value {
        serde_json::Number::from_f64(self.0 as f64 / 1_000_000.0)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)
    }

    /// Rounded to cents, half away from zero, for people: `742.64`, `3.80`.
    pub fn to_cents_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let cents = (magnitude + 5_000) / 10_000;
        format!("{sign}{}.{:02}", cents / 100, cents % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly_and_refuse_what_is_not_a_plain_decimal() {
        assert_eq!(
            Decimal::parse("0.0052").map(|d| d.to_string()),
            Some("0.0052".into())
        );
        assert_eq!(
            Decimal::parse("50").map(|d| d.to_string()),
            Some("50".into())
        );
        for bad in [
            "",
            "-1",
            "1e3",
            ".5",
            "5.",
            "1.2.3",
            "0x10",
            " 1",
            "1234567890123456789",
        ] {
            assert_eq!(Decimal::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn hourly_prices_times_730_hours_do_not_drift() {
        // 0.0052 USD/h × 730 h = 3.796 USD exactly; a float gives 3.7960000000000003.
        let price = Decimal::parse("0.0052").and_then(Decimal::ratio).unwrap();
        let monthly = price.times(Ratio::whole(730)).unwrap().to_micros().unwrap();
        assert_eq!(monthly, Micros(3_796_000));
        assert_eq!(monthly.to_decimal_string(), "3.796");
        assert_eq!(monthly.to_cents_string(), "3.80");
        // 0.0000166667 USD × 1 is 16.6667 micro-dollars: rounded half away from zero once.
        let tiny = Decimal::parse("0.0000166667")
            .and_then(Decimal::ratio)
            .unwrap();
        assert_eq!(tiny.to_micros(), Some(Micros(17)));
        let half = Ratio::new(1, 2_000_000).unwrap();
        assert_eq!(half.to_micros(), Some(Micros(1)));
    }

    #[test]
    fn amounts_print_with_at_least_two_decimals() {
        assert_eq!(Micros(0).to_decimal_string(), "0.00");
        assert_eq!(Micros(800_000).to_decimal_string(), "0.80");
        assert_eq!(Micros(-12_985_000).to_decimal_string(), "-12.985");
        assert_eq!(Micros(742_640_000).to_decimal_string(), "742.64");
        assert_eq!(Micros(17).to_decimal_string(), "0.000017");
        assert_eq!(Micros(-4_995_000).to_cents_string(), "-5.00");
    }

    #[test]
    fn overflow_is_refused_not_wrapped() {
        let huge = Ratio::new(i128::MAX / 2, 1).unwrap();
        assert_eq!(huge.times(Ratio::whole(4)), None);
        assert_eq!(huge.to_micros(), None);
    }
}
