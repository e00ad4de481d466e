//! A strict, allocation-light JSON reader for token headers and claims.
//!
//! Tokens are verified on hot paths (admission webhooks, proxies), and decoding the claims was
//! most of the cost above the signature check itself. This reader walks the bytes once,
//! borrows every string that has no escape, refuses duplicate member names at every depth, and
//! accepts exactly RFC 8259 JSON (the `token_claims` fuzz target checks it against serde_json).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// Nesting deeper than this is refused (serde_json's limit too).
const MAX_DEPTH: u32 = 128;

/// Why the bytes are not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScanError {
    /// Not JSON: what was expected, at which byte offset.
    Syntax {
        expected: &'static str,
        offset: usize,
    },
    /// A member name appears twice in one object.
    Duplicate { member: String },
    /// More than [`MAX_DEPTH`] nested arrays and objects.
    TooDeep,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::Syntax { expected, offset } => {
                write!(f, "expected {expected} at byte {offset}")
            }
            ScanError::Duplicate { member } => write!(f, "member {member:?} appears twice"),
            ScanError::TooDeep => write!(f, "nested more than {MAX_DEPTH} levels deep"),
        }
    }
}

/// The kind of the next value, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Number,
    Object,
    Array,
    Bool,
    Null,
}

/// A JSON number: an integer when it has no fraction or exponent and fits `i64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Int(i64),
    Float(f64),
}

pub(crate) struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
}

/// Member names seen in one object: a bit per name the caller knows (no allocation for the
/// members a token normally has), a list or set for the others.
#[derive(Default)]
pub(crate) struct Seen<'a> {
    bits: u64,
    others: Vec<Cow<'a, str>>,
    many: Option<HashSet<Cow<'a, str>>>,
}

impl<'a> Seen<'a> {
    fn insert_known(&mut self, bit: u32) -> bool {
        let bit = 1u64 << (bit % 64);
        let fresh = self.bits & bit == 0;
        self.bits |= bit;
        fresh
    }

    // The `Cow` is kept: a borrowed name is remembered without copying it.
    #[allow(clippy::ptr_arg)]
    fn insert_other(&mut self, key: &Cow<'a, str>) -> bool {
        match &mut self.many {
            Some(set) => set.insert(key.clone()),
            None if self.others.contains(key) => false,
            None if self.others.len() < 16 => {
                self.others.push(key.clone());
                true
            }
            None => {
                let mut set: HashSet<_> = self.others.drain(..).collect();
                let fresh = set.insert(key.clone());
                self.many = Some(set);
                fresh
            }
        }
    }
}

/// The index of the first byte in `bytes` that ends a string's plain run — `"`, `\\` or a
/// control character — or `bytes.len()`. Eight bytes at a time (SWAR): tokens are mostly
/// string bytes, and this is the reader's inner loop.
#[inline]
fn string_stop(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_le_bytes(word);
        let quote = has_zero(v ^ (ONES * u64::from(b'"')));
        let backslash = has_zero(v ^ (ONES * u64::from(b'\\')));
        let control = v.wrapping_sub(ONES * 0x20) & !v & HIGHS;
        let hits = quote | backslash | control;
        if hits != 0 {
            // The lowest flagged byte is exact (false positives only follow a true hit).
            return offset + (hits.trailing_zeros() / 8) as usize;
        }
        offset += 8;
    }
    let tail = chunks.remainder();
    offset
        + tail
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .unwrap_or(tail.len())
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Scanner {
            text,
            pos: 0,
            depth: 0,
        }
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    #[cold]
    fn syntax(&self, expected: &'static str) -> ScanError {
        ScanError::Syntax {
            expected,
            offset: self.pos,
        }
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.pos) {
            self.pos += 1;
        }
    }

    #[inline]
    fn eat(&mut self, byte: u8) -> bool {
        if self.bytes().get(self.pos) == Some(&byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// The kind of the next value (after white space), without consuming it.
    #[inline]
    pub(crate) fn peek_kind(&mut self) -> Result<Kind, ScanError> {
        self.skip_ws();
        match self.bytes().get(self.pos) {
            Some(b'"') => Ok(Kind::String),
            Some(b'{') => Ok(Kind::Object),
            Some(b'[') => Ok(Kind::Array),
            Some(b't' | b'f') => Ok(Kind::Bool),
            Some(b'n') => Ok(Kind::Null),
            Some(b'-' | b'0'..=b'9') => Ok(Kind::Number),
            _ => Err(self.syntax("a value")),
        }
    }

    /// Checks that only white space follows.
    pub(crate) fn end(&mut self) -> Result<(), ScanError> {
        self.skip_ws();
        if self.pos == self.text.len() {
            Ok(())
        } else {
            Err(self.syntax("the end of the document"))
        }
    }

    fn enter(&mut self) -> Result<(), ScanError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(ScanError::TooDeep)
        } else {
            Ok(())
        }
    }

    /// Reads an object, calling `member` for each name with the scanner positioned at its
    /// value, which `member` must consume. `member` returns a distinct bit number (below 64)
    /// for each member name it knows, or `None` for others; duplicate names are refused.
    pub(crate) fn object<E: From<ScanError>>(
        &mut self,
        mut member: impl FnMut(&mut Self, &str) -> Result<Option<u32>, E>,
    ) -> Result<(), E> {
        self.skip_ws();
        if !self.eat(b'{') {
            return Err(self.syntax("an object").into());
        }
        self.enter()?;
        let mut seen = Seen::default();
        self.skip_ws();
        if !self.eat(b'}') {
            loop {
                self.skip_ws();
                if self.bytes().get(self.pos) != Some(&b'"') {
                    return Err(self.syntax("a member name").into());
                }
                let key = self.string()?;
                self.skip_ws();
                if !self.eat(b':') {
                    return Err(self.syntax("':'").into());
                }
                let fresh = match member(self, &key)? {
                    Some(bit) => seen.insert_known(bit),
                    None => seen.insert_other(&key),
                };
                if !fresh {
                    return Err(ScanError::Duplicate {
                        member: key.into_owned(),
                    }
                    .into());
                }
                self.skip_ws();
                if self.eat(b'}') {
                    break;
                }
                if !self.eat(b',') {
                    return Err(self.syntax("',' or '}'").into());
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Reads an array, calling `item` with the scanner positioned at each element.
    pub(crate) fn array<E: From<ScanError>>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<(), E>,
    ) -> Result<(), E> {
        self.skip_ws();
        if !self.eat(b'[') {
            return Err(self.syntax("an array").into());
        }
        self.enter()?;
        self.skip_ws();
        if !self.eat(b']') {
            loop {
                item(self)?;
                self.skip_ws();
                if self.eat(b']') {
                    break;
                }
                if !self.eat(b',') {
                    return Err(self.syntax("',' or ']'").into());
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Reads a string, borrowed when it has no escape.
    #[inline]
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>, ScanError> {
        self.skip_ws();
        if !self.eat(b'"') {
            return Err(self.syntax("a string"));
        }
        let start = self.pos;
        let bytes = self.bytes();
        let rest = bytes.get(start..).unwrap_or_default();
        let stop = string_stop(rest);
        if rest.get(stop).is_some_and(|b| *b < 0x20) {
            self.pos = start + stop;
            return Err(self.syntax("a closing '\"' (control characters must be escaped)"));
        }
        let i = start + stop;
        match bytes.get(i) {
            Some(b'"') => {
                self.pos = i + 1;
                return Ok(Cow::Borrowed(self.text.get(start..i).unwrap_or_default()));
            }
            Some(_) => {}
            None => {
                self.pos = i;
                return Err(self.syntax("a closing '\"'"));
            }
        }
        // Slow path: copy what was scanned, then decode escapes.
        let mut out = String::with_capacity(i - start + 16);
        out.push_str(self.text.get(start..i).unwrap_or_default());
        self.pos = i;
        loop {
            let run_start = self.pos;
            while let Some(&b) = bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(self.text.get(run_start..self.pos).unwrap_or_default());
            match bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                _ => return Err(self.syntax("a closing '\"' (control characters must be escaped)")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), ScanError> {
        let c = match self.bytes().get(self.pos) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let first = self.hex4()?;
                let code = match first {
                    0xd800..=0xdbff => {
                        if !(self.eat(b'\\') && self.eat(b'u')) {
                            return Err(
                                self.syntax("a low surrogate escape after a high surrogate")
                            );
                        }
                        let second = self.hex4()?;
                        if !(0xdc00..=0xdfff).contains(&second) {
                            return Err(
                                self.syntax("a low surrogate escape after a high surrogate")
                            );
                        }
                        0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
                    }
                    0xdc00..=0xdfff => return Err(self.syntax("a high surrogate before a low one")),
                    other => other,
                };
                out.push(char::from_u32(code).ok_or_else(|| self.syntax("a valid code point"))?);
                return Ok(());
            }
            _ => return Err(self.syntax("a valid escape")),
        };
        self.pos += 1;
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, ScanError> {
        let digits = self
            .bytes()
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.syntax("4 hex digits"))?;
        let mut value = 0u32;
        for d in digits {
            let nibble = (*d as char)
                .to_digit(16)
                .ok_or_else(|| self.syntax("4 hex digits"))?;
            value = value << 4 | nibble;
        }
        self.pos += 4;
        Ok(value)
    }

    /// Reads a number with JSON's grammar.
    pub(crate) fn number(&mut self) -> Result<Number, ScanError> {
        self.skip_ws();
        let bytes = self.bytes();
        let start = self.pos;
        let digits = |s: &mut Self| {
            let from = s.pos;
            while bytes.get(s.pos).is_some_and(u8::is_ascii_digit) {
                s.pos += 1;
            }
            s.pos > from
        };
        self.eat(b'-');
        if !self.eat(b'0') && !digits(self) {
            return Err(self.syntax("a number"));
        }
        let mut integral = true;
        if self.eat(b'.') {
            integral = false;
            if !digits(self) {
                return Err(self.syntax("digits after '.'"));
            }
        }
        if self.eat(b'e') || self.eat(b'E') {
            integral = false;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if !digits(self) {
                return Err(self.syntax("exponent digits"));
            }
        }
        let literal = self.text.get(start..self.pos).unwrap_or_default();
        if integral {
            let (negative, digits) = match literal.strip_prefix('-') {
                Some(digits) => (true, digits),
                None => (false, literal),
            };
            // Up to 18 digits cannot overflow an i64: the common case, without `parse`.
            if digits.len() <= 18 {
                let value = digits
                    .bytes()
                    .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
                return Ok(Number::Int(if negative { -value } else { value }));
            }
            if let Ok(int) = literal.parse::<i64>() {
                return Ok(Number::Int(int));
            }
        }
        // Like serde_json, refuse numbers beyond f64's range rather than read them as infinity
        // (found by the token_claims fuzz target: `1E14764800`).
        match literal.parse::<f64>() {
            Ok(float) if float.is_finite() => Ok(Number::Float(float)),
            _ => Err(ScanError::Syntax {
                expected: "a number within f64's range",
                offset: start,
            }),
        }
    }

    fn literal(&mut self, word: &'static str) -> Result<(), ScanError> {
        if self
            .text
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(word))
        {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.syntax(word))
        }
    }

    /// Skips any value, still refusing bad syntax and duplicate names.
    pub(crate) fn skip(&mut self) -> Result<(), ScanError> {
        match self.peek_kind()? {
            Kind::String => self.string().map(drop),
            Kind::Number => self.number().map(drop),
            Kind::Object => self.object(|s, _| s.skip().map(|()| None)),
            Kind::Array => self.array(Self::skip),
            Kind::Bool => self.literal(if self.bytes().get(self.pos) == Some(&b't') {
                "true"
            } else {
                "false"
            }),
            Kind::Null => self.literal("null"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip_all(text: &str) -> Result<(), ScanError> {
        let mut s = Scanner::new(text);
        s.skip()?;
        s.end()
    }

    #[test]
    fn string_stop_finds_the_first_special_byte() {
        let plain = "abcdefghijklmnopqrstuvwxyz0123456789";
        for at in 0..plain.len() {
            for special in [b'"', b'\\', b'\n', 0x00, 0x1f] {
                let mut bytes = plain.as_bytes().to_vec();
                bytes[at] = special;
                if at + 3 < bytes.len() {
                    bytes[at + 3] = b'"';
                }
                assert_eq!(string_stop(&bytes), at, "{special} at {at}");
            }
        }
        assert_eq!(string_stop(plain.as_bytes()), plain.len());
        assert_eq!(string_stop("é€ 😀 ~\x7f\"".as_bytes()), "é€ 😀 ~\x7f".len());
    }

    #[test]
    fn accepts_json() {
        for ok in [
            r#"{}"#,
            r#" { "a" : [1, -0.5e+3, 0, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"] } "#,
            r#"{"a":{"b":{"a":1}},"b":[{"a":1},{"a":2}]}"#,
            "[]",
            "-0",
            "1E5",
        ] {
            assert_eq!(skip_all(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_what_json_does_not_allow() {
        for bad in [
            "",
            "{",
            "{,}",
            r#"{"a":1,}"#,
            "[1,]",
            "01",
            "1.",
            ".5",
            "+1",
            "1e",
            "-",
            "tru",
            "nul",
            r#""\x""#,
            r#""\u12""#,
            r#""\ud800""#,
            r#""\udc00""#,
            "\"a\nb\"",
            "{} x",
            "[1 2]",
            r#"{"a" 1}"#,
            r#"{1:2}"#,
            "NaN",
            "Infinity",
            "1E400",
            "-1e999",
        ] {
            assert!(
                matches!(skip_all(bad), Err(ScanError::Syntax { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(
            skip_all(r#"{"a":1,"a":2}"#),
            Err(ScanError::Duplicate { member: "a".into() })
        );
        assert_eq!(
            skip_all(r#"{"a":1,"\u0061":2}"#),
            Err(ScanError::Duplicate { member: "a".into() })
        );
        let deep = "[".repeat(129) + &"]".repeat(129);
        assert_eq!(skip_all(&deep), Err(ScanError::TooDeep));
        let ok = "[".repeat(128) + &"]".repeat(128);
        assert_eq!(skip_all(&ok), Ok(()));
    }

    #[test]
    fn strings_borrow_unless_escaped_and_numbers_keep_their_kind() {
        let mut s = Scanner::new(r#""plain" "esc\u0041" 12 -3 1.5 1e2 99999999999999999999"#);
        assert!(matches!(s.string(), Ok(Cow::Borrowed("plain"))));
        assert_eq!(s.string(), Ok(Cow::Owned("escA".to_owned())));
        assert_eq!(s.number(), Ok(Number::Int(12)));
        assert_eq!(s.number(), Ok(Number::Int(-3)));
        assert_eq!(s.number(), Ok(Number::Float(1.5)));
        assert_eq!(s.number(), Ok(Number::Float(100.0)));
        assert_eq!(s.number(), Ok(Number::Float(1e20)));
        assert_eq!(s.end(), Ok(()));
    }
}
