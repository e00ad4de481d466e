//! A strict, allocation-light JSON reader for token headers and claims.
//!
//! Tokens are verified on hot paths (admission webhooks, proxies), and decoding the claims was
//! most of the cost above the signature check itself. This reader walks the bytes once,
//! borrows every string that has no escape, refuses duplicate member names at every depth, and
//! accepts exactly RFC 8259 JSON (the `token_claims` fuzz target checks it against serde_json).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use super::simd::string_stop;

/// Nesting deeper than this is refused (serde_json's limit too).
pub(crate) const MAX_DEPTH: u32 = 128;

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
/// members a token normally has), a list or set for the others, made on the first of them.
#[derive(Default)]
pub(crate) struct Seen<'a> {
    bits: u64,
    others: Option<Box<Others<'a>>>,
}

/// Names the caller does not know: a short list, then a set.
enum Others<'a> {
    Few(Vec<Cow<'a, str>>),
    Many(HashSet<Cow<'a, str>>),
}

impl<'a> Seen<'a> {
    #[inline(always)]
    fn insert_known(&mut self, bit: u32) -> bool {
        let bit = 1u64 << (bit % 64);
        let fresh = self.bits & bit == 0;
        self.bits |= bit;
        fresh
    }

    // The `Cow` is kept: a borrowed name is remembered without copying it.
    #[allow(clippy::ptr_arg)]
    fn insert_other(&mut self, key: &Cow<'a, str>) -> bool {
        let others = self
            .others
            .get_or_insert_with(|| Box::new(Others::Few(Vec::new())));
        match others.as_mut() {
            Others::Many(set) => set.insert(key.clone()),
            Others::Few(list) if list.contains(key) => false,
            Others::Few(list) if list.len() < 16 => {
                list.push(key.clone());
                true
            }
            Others::Few(list) => {
                let mut set: HashSet<_> = list.drain(..).collect();
                let fresh = set.insert(key.clone());
                **others = Others::Many(set);
                fresh
            }
        }
    }
}

/// The first position at or after `pos` that is not JSON white space.
#[inline(always)]
fn skip_ws_from(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(pos) {
        pos += 1;
    }
    pos
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Scanner {
            text,
            pos: 0,
            depth: 0,
        }
    }

    #[inline(always)]
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

    #[inline(always)]
    fn skip_ws(&mut self) {
        self.pos = skip_ws_from(self.bytes(), self.pos);
    }

    #[inline(always)]
    fn eat(&mut self, byte: u8) -> bool {
        if self.bytes().get(self.pos) == Some(&byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// The kind of the next value (after white space), without consuming it.
    #[inline(always)]
    pub(crate) fn peek_kind(&mut self) -> Result<Kind, ScanError> {
        self.skip_ws();
        self.kind()
    }

    /// Whether a value of `kind` starts right here: one comparison of the next byte.
    #[inline(always)]
    pub(crate) fn at(&self, kind: Kind) -> bool {
        let next = self.bytes().get(self.pos).copied();
        match kind {
            Kind::String => next == Some(b'"'),
            Kind::Object => next == Some(b'{'),
            Kind::Array => next == Some(b'['),
            Kind::Number => matches!(next, Some(b'-' | b'0'..=b'9')),
            Kind::Bool => matches!(next, Some(b't' | b'f')),
            Kind::Null => next == Some(b'n'),
        }
    }

    /// The kind of the value that starts right here, without consuming it. Inside
    /// [`object`](Self::object) and [`array`](Self::array), members and items start here.
    #[inline(always)]
    pub(crate) fn kind(&self) -> Result<Kind, ScanError> {
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

    /// Reads an object, calling `member` for each name with the scanner positioned at the
    /// first byte of its value (white space skipped), which `member` must consume. `member`
    /// returns a distinct bit number (below 64) for each member name it knows, or `None` for
    /// others; duplicate names are refused.
    ///
    /// Between values the position is kept in a local rather than in `self`, so that the
    /// steps from one member to the next do not wait on each other through memory.
    pub(crate) fn object<E: From<ScanError>>(
        &mut self,
        mut member: impl FnMut(&mut Self, &str) -> Result<Option<u32>, E>,
    ) -> Result<(), E> {
        let bytes = self.bytes();
        let mut pos = skip_ws_from(bytes, self.pos);
        if bytes.get(pos) != Some(&b'{') {
            self.pos = pos;
            return Err(self.syntax("an object").into());
        }
        self.enter()?;
        let mut seen = Seen::default();
        pos = skip_ws_from(bytes, pos + 1);
        if bytes.get(pos) != Some(&b'}') {
            loop {
                if bytes.get(pos) != Some(&b'"') {
                    self.pos = pos;
                    return Err(self.syntax("a member name").into());
                }
                let (key, after) = self.string_from(pos + 1)?;
                pos = skip_ws_from(bytes, after);
                if bytes.get(pos) != Some(&b':') {
                    self.pos = pos;
                    return Err(self.syntax("':'").into());
                }
                self.pos = skip_ws_from(bytes, pos + 1);
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
                match self.after_value(b'}', "',' or '}'")? {
                    Some(next) => pos = next,
                    None => break,
                }
            }
        } else {
            self.pos = pos + 1;
        }
        self.depth -= 1;
        Ok(())
    }

    /// Reads an array, calling `item` with the scanner positioned at the first byte of each
    /// element (white space skipped).
    pub(crate) fn array<E: From<ScanError>>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<(), E>,
    ) -> Result<(), E> {
        let bytes = self.bytes();
        let mut pos = skip_ws_from(bytes, self.pos);
        if bytes.get(pos) != Some(&b'[') {
            self.pos = pos;
            return Err(self.syntax("an array").into());
        }
        self.enter()?;
        pos = skip_ws_from(bytes, pos + 1);
        if bytes.get(pos) != Some(&b']') {
            loop {
                self.pos = pos;
                item(self)?;
                match self.after_value(b']', "',' or ']'")? {
                    Some(next) => pos = next,
                    None => break,
                }
            }
        } else {
            self.pos = pos + 1;
        }
        self.depth -= 1;
        Ok(())
    }

    /// After a member or an item: the position of the next one after a `,`, or `None` past
    /// the `close`ing bracket.
    #[inline(always)]
    fn after_value(
        &mut self,
        close: u8,
        expected: &'static str,
    ) -> Result<Option<usize>, ScanError> {
        let bytes = self.bytes();
        let pos = skip_ws_from(bytes, self.pos);
        match bytes.get(pos) {
            Some(b',') => Ok(Some(skip_ws_from(bytes, pos + 1))),
            Some(&b) if b == close => {
                self.pos = pos + 1;
                Ok(None)
            }
            _ => {
                self.pos = pos;
                Err(self.syntax(expected))
            }
        }
    }

    /// Reads the string that starts here, borrowed when it has no escape.
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>, ScanError> {
        if self.bytes().get(self.pos) != Some(&b'"') {
            return Err(self.syntax("a string"));
        }
        let (string, after) = self.string_from(self.pos + 1)?;
        self.pos = after;
        Ok(string)
    }

    /// Reads the string whose content starts at `start` (just after its opening quote),
    /// returning it and the position after its closing quote.
    #[inline(always)]
    fn string_from(&mut self, start: usize) -> Result<(Cow<'a, str>, usize), ScanError> {
        let end = string_stop(self.bytes(), start);
        // The common case: no escape, so the string is borrowed as it stands. Both ends sit
        // next to an ASCII quote, so they are character boundaries.
        if self.bytes().get(end) == Some(&b'"')
            && let Some(plain) = self.text.get(start..end)
        {
            return Ok((Cow::Borrowed(plain), end + 1));
        }
        self.pos = end;
        let string = self.string_slow(start)?;
        Ok((string, self.pos))
    }

    /// The rest of a string whose plain run from `start` stopped at `self.pos` on something
    /// other than its closing quote: an escape, a control character or the end of the text.
    #[cold]
    #[inline(never)]
    fn string_slow(&mut self, start: usize) -> Result<Cow<'a, str>, ScanError> {
        let bytes = self.bytes();
        let mut out = String::with_capacity(self.pos - start + 16);
        let mut run_start = start;
        loop {
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
                Some(_) => {
                    return Err(self.syntax("a closing '\"' (control characters must be escaped)"));
                }
                None => return Err(self.syntax("a closing '\"'")),
            }
            run_start = self.pos;
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

    /// Reads the number that starts here, with JSON's grammar.
    #[inline(always)]
    pub(crate) fn number(&mut self) -> Result<Number, ScanError> {
        let bytes = self.bytes();
        let start = self.pos;
        let negative = bytes.get(start) == Some(&b'-');
        let int_start = start + usize::from(negative);
        let mut pos = int_start;
        // The integer part, read and accumulated in one pass (wrapping: only up to 18 digits,
        // which cannot overflow, are used from it).
        let mut value = 0u64;
        while let Some(digit) = bytes.get(pos).map(|b| b.wrapping_sub(b'0'))
            && digit < 10
        {
            value = value.wrapping_mul(10).wrapping_add(u64::from(digit));
            pos += 1;
        }
        match pos - int_start {
            0 => {
                self.pos = pos;
                return Err(self.syntax("a number"));
            }
            // JSON allows no leading zero: the number is the `0`, and what follows it is
            // for the caller to refuse.
            1 => {}
            _ if bytes.get(int_start) == Some(&b'0') => {
                pos = int_start + 1;
                value = 0;
            }
            _ => {}
        }
        self.pos = pos;
        let fraction_or_exponent = matches!(bytes.get(pos), Some(b'.' | b'e' | b'E'));
        if !fraction_or_exponent
            && pos - int_start <= 18
            && let Ok(value) = i64::try_from(value)
        {
            return Ok(Number::Int(if negative { -value } else { value }));
        }
        self.number_rest(start)
    }

    /// The rest of a number that is not a short integer: its fraction and exponent, then its
    /// value from the whole literal.
    #[cold]
    #[inline(never)]
    fn number_rest(&mut self, start: usize) -> Result<Number, ScanError> {
        let bytes = self.bytes();
        let digits = |s: &mut Self| {
            let from = s.pos;
            while bytes.get(s.pos).is_some_and(u8::is_ascii_digit) {
                s.pos += 1;
            }
            s.pos > from
        };
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
        if integral && let Ok(int) = literal.parse::<i64>() {
            return Ok(Number::Int(int));
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
        // Both read the value that starts right here: white space is the caller's to skip.
        let string = |s: &mut Scanner<'static>| s.peek_kind().and_then(|_| s.string());
        assert!(matches!(string(&mut s), Ok(Cow::Borrowed("plain"))));
        assert_eq!(string(&mut s), Ok(Cow::Owned("escA".to_owned())));
        let number = |s: &mut Scanner<'static>| s.peek_kind().and_then(|_| s.number());
        assert_eq!(number(&mut s), Ok(Number::Int(12)));
        assert_eq!(number(&mut s), Ok(Number::Int(-3)));
        assert_eq!(number(&mut s), Ok(Number::Float(1.5)));
        assert_eq!(number(&mut s), Ok(Number::Float(100.0)));
        assert_eq!(number(&mut s), Ok(Number::Float(1e20)));
        assert_eq!(s.end(), Ok(()));
        assert_eq!(
            Scanner::new(" 1").number(),
            Err(ScanError::Syntax {
                expected: "a number",
                offset: 0
            })
        );
    }
}
