//! Kubernetes resource quantities (`500m`, `1Gi`, `1e3`, `0.5`), parsed exactly.
//!
//! Written here rather than taken from a crate on purpose: the usual crate
//! (`kube_quantity` 0.9) parses through `f64` (so `9e24E` comes back as
//! `9000000000000000385875968E`) and its `Ord` multiplies `rust_decimal`
//! values, which panics on overflow (`1n` against `9e24E`). A panic is a wasm
//! trap, and a trap in an admission webhook fails the API request. This parser
//! follows the API server's grammar and compares values as exact decimals
//! without ever multiplying them out, so no input can overflow it.
//!
//! ```text
//! quantity  ::= signed-number suffix
//! suffix    ::= "" | n | u | m | k | M | G | T | P | E      (decimal SI)
//!             | Ki | Mi | Gi | Ti | Pi | Ei                  (binary SI)
//!             | (e | E) signed-integer                      (decimal exponent)
//! number    ::= digits | digits "." digits | digits "." | "." digits
//! ```

use std::cmp::Ordering;
use std::fmt;

use crate::json::{self, Json};

/// A quantity as written, plus its exact value: `±digits × 10^exponent`.
#[derive(Debug, Clone)]
pub(crate) struct Quantity {
    text: String,
    negative: bool,
    /// Decimal digits, most significant first, with no leading or trailing
    /// zeros; empty means zero.
    digits: Vec<u8>,
    exponent: i64,
}

impl Quantity {
    /// Parses a quantity as the API server does (`resource.ParseQuantity`,
    /// `apimachinery/pkg/api/resource`), keeping the text as written.
    ///
    /// Errors: no digits, an unknown suffix, or an exponent out of range,
    /// each named with the text.
    pub(crate) fn parse(text: &str) -> Result<Quantity, String> {
        let bytes = text.as_bytes();
        let mut at = 0;
        let negative = match bytes.first() {
            Some(b'-') => {
                at += 1;
                true
            }
            Some(b'+') => {
                at += 1;
                false
            }
            _ => false,
        };
        let whole = take_digits(bytes, &mut at);
        let mut fraction: &[u8] = &[];
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            fraction = take_digits(bytes, &mut at);
        }
        if whole.is_empty() && fraction.is_empty() {
            return Err(format!("`{text}` is not a quantity: it has no digits"));
        }
        let (exponent10, exponent2) = suffix_exponents(&text[at..])
            .ok_or_else(|| format!("`{text}` is not a quantity: unknown suffix `{}`", &text[at..]))?;

        let mut digits: Vec<u8> = whole.iter().chain(fraction).map(|d| d - b'0').collect();
        for _ in 0..exponent2 / 10 {
            multiply_by(&mut digits, 1024);
        }
        let exponent = i64::try_from(fraction.len())
            .ok()
            .and_then(|len| exponent10.checked_sub(len))
            .ok_or_else(|| format!("`{text}` is not a quantity: its exponent is out of range"))?;
        Ok(Quantity::normalised(text, negative, digits, exponent))
    }

    /// Reads a quantity from JSON: the API server accepts both `"500m"` and
    /// `0.5`, and spaces around the text (`Quantity.UnmarshalJSON` trims them).
    pub(crate) fn from_json(value: &Json) -> Result<Quantity, String> {
        match value {
            Json::Str(text) => Quantity::parse(text.trim()),
            // Written as serde_json writes it, so `1e21` stays `1e21`.
            Json::Number(number) => Quantity::parse(&json::number_text(*number)),
            _ => Err("must be a quantity such as \"500m\" or \"128Mi\"".to_string()),
        }
    }

    /// The quantity as written (`128Mi`), which is what a default writes.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether it is below zero (`-0` is not).
    pub(crate) fn is_negative(&self) -> bool {
        self.negative && !self.digits.is_empty()
    }

    /// The value in billionths of the unit (nanocores, nanobytes), the
    /// API server's finest scale, a finer fraction rounded away from zero
    /// as it rounds one up; beyond ±10^36 it saturates, far past anything
    /// a node holds. Exact for every quantity the API server stores, so
    /// sums of these are exact, as LimitRanger's are (`addResourceList`,
    /// `plugin/pkg/admission/limitranger`).
    pub(crate) fn nano_value(&self) -> i128 {
        self.scaled_up(9)
    }

    /// Whether the value is a whole number of 10^-`places` of the unit:
    /// `places` 0 for whole bytes, 3 for whole millicores. Finer values are
    /// rounded up by the kubelet (a `1m` memory request is one byte), and
    /// the API server warns of a fractional byte value
    /// (`pkg/api/pod/warnings.go`).
    pub(crate) fn is_whole_in(&self, places: u32) -> bool {
        // The digits carry no trailing zero, so the last is worth 10^exponent.
        self.digits.is_empty() || self.exponent >= -i64::from(places)
    }

    /// The value in thousandths of the unit, a finer fraction rounded away
    /// from zero: `MilliValue`, which LimitRanger compares
    /// (`requestLimitEnforcedValues`); saturating as [`Quantity::nano_value`].
    pub(crate) fn milli_value(&self) -> i128 {
        self.scaled_up(3)
    }

    /// The value in units of 10^-`places`, rounded away from zero.
    fn scaled_up(&self, places: i128) -> i128 {
        const LARGEST_PLACE: i128 = 36;
        if self.digits.is_empty() {
            return 0;
        }
        // The place, in those units, just above the most significant digit.
        let top = self.magnitude() + places;
        if top > LARGEST_PLACE {
            let saturated = 10i128.pow(LARGEST_PLACE as u32);
            return if self.is_negative() { -saturated } else { saturated };
        }
        let whole_digits = top.clamp(0, self.digits.len() as i128) as usize;
        let mut value = self.digits[..whole_digits]
            .iter()
            .fold(0i128, |value, &digit| value * 10 + i128::from(digit));
        // Trailing zeros stripped: what remains below is a nonzero fraction.
        if whole_digits < self.digits.len() {
            value += 1;
        } else {
            value *= 10i128.pow((top - whole_digits as i128) as u32);
        }
        if self.is_negative() { -value } else { value }
    }

    fn normalised(text: &str, negative: bool, mut digits: Vec<u8>, mut exponent: i64) -> Quantity {
        let leading = digits.iter().take_while(|&&d| d == 0).count();
        digits.drain(..leading);
        while digits.last() == Some(&0) {
            digits.pop();
            exponent = exponent.saturating_add(1);
        }
        Quantity {
            text: text.to_string(),
            negative,
            digits,
            exponent,
        }
    }

    /// Position of the most significant digit: comparing it first orders any
    /// two magnitudes without expanding their exponents.
    fn magnitude(&self) -> i128 {
        self.digits.len() as i128 + i128::from(self.exponent)
    }

    fn sign(&self) -> i8 {
        match (self.digits.is_empty(), self.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        }
    }
}

fn take_digits<'a>(bytes: &'a [u8], at: &mut usize) -> &'a [u8] {
    let start = *at;
    while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
        *at += 1;
    }
    &bytes[start..*at]
}

/// The power of ten and the power of two a suffix multiplies by.
fn suffix_exponents(suffix: &str) -> Option<(i64, u32)> {
    let decimal = |power| Some((power, 0));
    let binary = |power| Some((0, power));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            let unsigned = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            exponent.parse().ok().map(|power| (power, 0))
        }
    }
}

/// Multiplies a big-endian decimal digit string by a small factor, in place.
fn multiply_by(digits: &mut Vec<u8>, factor: u32) {
    let mut carry = 0u32;
    for digit in digits.iter_mut().rev() {
        let product = u32::from(*digit) * factor + carry;
        *digit = (product % 10) as u8;
        carry = product / 10;
    }
    while carry > 0 {
        digits.insert(0, (carry % 10) as u8);
        carry /= 10;
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        let by_sign = self.sign().cmp(&other.sign());
        if by_sign != Ordering::Equal || self.sign() == 0 {
            return by_sign;
        }
        // Same magnitude position: the digit strings line up place by place,
        // and with trailing zeros stripped the shorter one is the smaller.
        let by_size = self
            .magnitude()
            .cmp(&other.magnitude())
            .then_with(|| self.digits.cmp(&other.digits));
        if self.negative { by_size.reverse() } else { by_size }
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Quantity {}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = <Json as serde::Deserialize>::deserialize(deserializer)?;
        Quantity::from_json(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn q(text: &str) -> Quantity {
        Quantity::parse(text).unwrap()
    }

    #[rstest]
    #[case("500m", "0.5")]
    #[case("1Gi", "1073741824")]
    #[case("1e3", "1k")]
    #[case("1E3", "1000")]
    #[case("0.5", ".5")]
    #[case("128Mi", "134217728")]
    #[case("1.5Gi", "1536Mi")]
    #[case("100m", "0.1")]
    #[case("0", "0n")]
    #[case("-0", "0")]
    #[case("1", "1000000000n")]
    #[case("1Ei", "1152921504606846976")]
    #[case("2.", "2")]
    #[case("+3", "3")]
    fn equal_values_in_different_notations(#[case] left: &str, #[case] right: &str) {
        assert_eq!(q(left), q(right), "{left} should equal {right}");
    }

    #[rstest]
    #[case("100m", 100_000_000)]
    #[case("1", 1_000_000_000)]
    #[case("128Mi", 134_217_728_000_000_000)]
    #[case("0.5n", 1)]
    #[case("1n", 1)]
    #[case("1.0000000001", 1_000_000_001)]
    #[case("-2", -2_000_000_000)]
    #[case("1e27", 10i128.pow(36))]
    #[case("9e40", 10i128.pow(36))]
    #[case("1e-20", 1)]
    // Zero in any notation is zero, however large or small its exponent.
    #[case("0", 0)]
    #[case("0n", 0)]
    #[case("0.0000", 0)]
    #[case("0e40", 0)]
    fn nano_values_round_a_finer_fraction_up_and_saturate(#[case] text: &str, #[case] nano: i128) {
        assert_eq!(q(text).nano_value(), nano, "{text}");
    }

    #[rstest]
    #[case("100m", 100)]
    #[case("0.5m", 1)]
    #[case("399.5m", 400)]
    #[case("2", 2000)]
    #[case("0n", 0)]
    fn milli_values_round_a_finer_fraction_up(#[case] text: &str, #[case] milli: i128) {
        assert_eq!(q(text).milli_value(), milli, "{text}");
    }

    #[test]
    fn spaces_around_a_json_quantity_are_trimmed_as_the_api_server_trims_them() {
        assert_eq!(Quantity::from_json(&Json::Str(" 100m ".into())).unwrap(), q("100m"));
        assert!(Quantity::from_json(&Json::Str("10 0m".into())).is_err());
    }

    #[rstest]
    #[case("100m", "1")]
    #[case("999Mi", "1Gi")]
    #[case("1G", "1Gi")]
    #[case("0.000000001m", "1n")]
    #[case("1n", "9e24")]
    #[case("1n", "7E")]
    #[case("1e307", "1e308")]
    #[case("-1", "0")]
    #[case("-2", "-1")]
    #[case("12345678901234567890", "12345678901234567891")]
    #[case("1E", "1e19")]
    fn strictly_ordered(#[case] smaller: &str, #[case] larger: &str) {
        assert!(q(smaller) < q(larger), "{smaller} < {larger}");
        assert!(q(larger) > q(smaller), "{larger} > {smaller}");
    }

    #[rstest]
    #[case("")]
    #[case("abc")]
    #[case("1Zi")]
    #[case("1.2.3")]
    #[case("1e")]
    #[case("1e+")]
    #[case("1e1.5")]
    #[case("Mi")]
    #[case(".")]
    #[case("inf")]
    #[case("NaN")]
    #[case("1 Gi")]
    #[case("1ki")]
    #[case("9e24E")]
    #[case("1e99999999999999999999")]
    fn rejects_what_the_api_server_rejects(#[case] text: &str) {
        assert!(Quantity::parse(text).is_err(), "{text:?} should not parse");
    }

    #[test]
    fn keeps_the_text_as_written() {
        assert_eq!(q("1.50Gi").to_string(), "1.50Gi");
    }

    #[test]
    fn json_numbers_are_quantities_too() {
        let half = Quantity::from_json(&Json::from(0.5)).unwrap();
        assert_eq!(half, q("500m"));
        assert!(Quantity::from_json(&Json::Bool(true)).is_err());
    }

    #[test]
    fn negative_detection_ignores_negative_zero() {
        assert!(q("-1m").is_negative());
        assert!(!q("-0").is_negative());
    }

    #[rstest::rstest]
    #[case("128Mi", 0, true)]
    #[case("1", 0, true)]
    #[case("1.5k", 0, true)]
    #[case("128m", 0, false)]
    #[case("1n", 0, false)]
    #[case("100m", 3, true)]
    #[case("0.5m", 3, false)]
    #[case("2", 3, true)]
    fn whole_numbers_of_a_unit(#[case] text: &str, #[case] places: u32, #[case] whole: bool) {
        assert_eq!(Quantity::parse(text).unwrap().is_whole_in(places), whole);
    }
}
