//! Matching primitives: string patterns with `*`/`?` wildcards and policy variables, ARN
//! matching per component, and the typed values of the numeric, date, Boolean, binary and IP
//! operators.
//!
//! Decisions where IAM's documentation is silent, applied here:
//! - `*` and `?` never match a line feed (as the evaluators the reference consulted do);
//! - `?` matches exactly one Unicode scalar value;
//! - case folding (`…IgnoreCase`, key names, actions) is Unicode simple lower-casing without
//!   normalisation, so `ß` and `SS` differ.

use std::borrow::Cow;

use super::context::{ContextValue, Request};

/// One element of a resolved pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    Char(char),
    /// `*`: any run of characters but a line feed.
    Star,
    /// `?`: one character but a line feed.
    Quest,
}

/// One element of a compiled pattern, before variables are substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Tok(Tok),
    /// `${key}` or `${key, 'default'}`; `key` lower-cased.
    Var {
        key: String,
        default: Option<String>,
    },
}

/// A policy value compiled for string, ARN and `Bool` operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    pieces: Vec<Piece>,
    /// The tokens, when the pattern has no variable.
    toks: Option<Vec<Tok>>,
    /// The text, when the pattern has neither variable nor wildcard.
    literal: Option<String>,
    fold_case: bool,
}

impl Pattern {
    /// Compiles `raw`. `wildcards`: `*` and `?` are wildcards; `variables`: `${…}` is
    /// substituted; `fold_case`: literal text is lower-cased (for `…IgnoreCase` and `Bool`).
    pub(crate) fn compile(raw: &str, wildcards: bool, variables: bool, fold_case: bool) -> Self {
        if !(variables && raw.contains("${")) {
            return Pattern::plain(raw, wildcards, fold_case);
        }
        let mut pieces = Vec::with_capacity(raw.len());
        let push_text = |pieces: &mut Vec<Piece>, text: &str| {
            for c in text.chars() {
                if fold_case {
                    pieces.extend(c.to_lowercase().map(|c| Piece::Tok(Tok::Char(c))));
                } else {
                    pieces.push(Piece::Tok(Tok::Char(c)));
                }
            }
        };
        let mut pos = 0;
        // The offset of the next `}` at or after `pos`: searched for again only once `pos` has
        // passed it, so the text is scanned once however many `${` it has.
        let mut next_close = raw.find('}');
        while let Some(rest) = raw.get(pos..)
            && let Some(c) = rest.chars().next()
        {
            if rest.starts_with("${") {
                let start = pos + 2;
                if next_close.is_some_and(|close| close < start) {
                    next_close = raw
                        .get(start..)
                        .and_then(|r| r.find('}'))
                        .map(|close| start + close);
                }
                if let Some(end) = next_close {
                    let inner = raw.get(start..end).unwrap_or_default();
                    match inner {
                        // The documented escapes for a literal `*`, `?` and `$`.
                        "*" | "?" | "$" => push_text(&mut pieces, inner),
                        _ => {
                            let (key, default) = match inner.split_once(", '") {
                                Some((key, d)) if d.ends_with('\'') => (
                                    key,
                                    Some(d.get(..d.len() - 1).unwrap_or_default().to_owned()),
                                ),
                                _ => (inner, None),
                            };
                            pieces.push(Piece::Var {
                                key: key.trim().to_lowercase(),
                                default,
                            });
                        }
                    }
                    pos = end + 1;
                    continue;
                }
            }
            match c {
                '*' if wildcards => pieces.push(Piece::Tok(Tok::Star)),
                '?' if wildcards => pieces.push(Piece::Tok(Tok::Quest)),
                _ => push_text(&mut pieces, rest.get(..c.len_utf8()).unwrap_or_default()),
            }
            pos += c.len_utf8();
        }
        let toks: Option<Vec<Tok>> = pieces
            .iter()
            .map(|p| match p {
                Piece::Tok(t) => Some(*t),
                Piece::Var { .. } => None,
            })
            .collect();
        let literal = toks.as_ref().and_then(|toks| {
            toks.iter()
                .map(|t| match t {
                    Tok::Char(c) => Some(*c),
                    Tok::Star | Tok::Quest => None,
                })
                .collect()
        });
        Pattern {
            pieces,
            toks,
            literal,
            fold_case,
        }
    }

    /// A pattern without variables: tokens (and the text when there is no wildcard) only.
    fn plain(raw: &str, wildcards: bool, fold_case: bool) -> Self {
        let text: String = if fold_case {
            raw.to_lowercase()
        } else {
            raw.to_owned()
        };
        let toks: Vec<Tok> = text
            .chars()
            .map(|c| match c {
                '*' if wildcards => Tok::Star,
                '?' if wildcards => Tok::Quest,
                c => Tok::Char(c),
            })
            .collect();
        let literal = (!wildcards || !text.contains(['*', '?'])).then_some(text);
        Pattern {
            pieces: Vec::new(),
            toks: Some(toks),
            literal,
            fold_case,
        }
    }

    /// The tokens with variables substituted from `request`; `None` when a variable has no
    /// value (a missing key, or a multivalued one) and no default: such a value matches
    /// nothing. Substituted text is literal: its `*` and `?` are not wildcards.
    pub(crate) fn resolve(&self, request: &Request) -> Option<Cow<'_, [Tok]>> {
        if let Some(toks) = &self.toks {
            return Some(Cow::Borrowed(toks));
        }
        let mut out = Vec::with_capacity(self.pieces.len() + 16);
        for piece in &self.pieces {
            match piece {
                Piece::Tok(t) => out.push(*t),
                Piece::Var { key, default } => {
                    let value = match request.get(key) {
                        Some(ContextValue::Single(v)) => v.as_str(),
                        _ => default.as_deref()?,
                    };
                    for c in value.chars() {
                        if self.fold_case {
                            out.extend(c.to_lowercase().map(Tok::Char));
                        } else {
                            out.push(Tok::Char(c));
                        }
                    }
                }
            }
        }
        Some(Cow::Owned(out))
    }

    /// The text with variables substituted, for operators without wildcards.
    pub(crate) fn resolve_text(&self, request: &Request) -> Option<Cow<'_, str>> {
        if let Some(text) = &self.literal {
            return Some(Cow::Borrowed(text));
        }
        let toks = self.resolve(request)?;
        Some(Cow::Owned(
            toks.iter()
                .map(|t| match t {
                    Tok::Char(c) => *c,
                    Tok::Star => '*',
                    Tok::Quest => '?',
                })
                .collect(),
        ))
    }
}

/// Whether `value` matches `pattern` as IAM's `StringLike` does: `*` matches any run of
/// characters (also none), `?` exactly one character, everything else itself, case-sensitively.
/// Neither wildcard matches a line feed. Policy variables are not substituted here.
///
#[cfg(test)]
fn string_like(pattern: &str, value: &str) -> bool {
    glob(&wildcard_tokens(pattern), value)
}

/// A pattern where `*` and `?` are always wildcards (no variables, no escapes), as tokens.
pub(crate) fn wildcard_tokens(pattern: &str) -> Vec<Tok> {
    pattern
        .chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::Quest,
            c => Tok::Char(c),
        })
        .collect()
}

/// Glob matching: the classic single-backtrack algorithm where it is exact (no line feed
/// anywhere), a state-set simulation otherwise.
pub(crate) fn glob(toks: &[Tok], text: &str) -> bool {
    if !text.contains('\n') && !toks.contains(&Tok::Char('\n')) {
        greedy(toks, text)
    } else {
        simulate(toks, text)
    }
}

/// Wildcards match anything here, so remembering the last `*` suffices.
fn greedy(toks: &[Tok], text: &str) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    let next_char = |t: usize| text.get(t..).and_then(|s| s.chars().next());
    while let Some(c) = next_char(t) {
        match toks.get(p) {
            Some(Tok::Quest) => {
                p += 1;
                t += c.len_utf8();
            }
            Some(Tok::Char(x)) if *x == c => {
                p += 1;
                t += c.len_utf8();
            }
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    let skipped = next_char(st).map_or(1, char::len_utf8);
                    star = Some((sp, st + skipped));
                    p = sp + 1;
                    t = st + skipped;
                }
                None => return false,
            },
        }
    }
    toks.get(p..)
        .is_some_and(|rest| rest.iter().all(|t| *t == Tok::Star))
}

/// A state-set simulation: state `i` means the first `i` tokens have matched.
fn simulate(toks: &[Tok], text: &str) -> bool {
    let words = (toks.len() + 1).div_ceil(64);
    if words <= 4 {
        let (mut a, mut b) = ([0u64; 4], [0u64; 4]);
        run_states(
            toks,
            text,
            a.get_mut(..words).unwrap_or_default(),
            b.get_mut(..words).unwrap_or_default(),
        )
    } else {
        run_states(toks, text, &mut vec![0; words], &mut vec![0; words])
    }
}

fn bit(set: &[u64], i: usize) -> bool {
    set.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
}

fn set_bit(set: &mut [u64], i: usize) {
    if let Some(w) = set.get_mut(i / 64) {
        *w |= 1 << (i % 64);
    }
}

/// Adds the states reachable by letting a `*` match nothing.
fn close(toks: &[Tok], set: &mut [u64]) {
    for (i, t) in toks.iter().enumerate() {
        if *t == Tok::Star && bit(set, i) {
            set_bit(set, i + 1);
        }
    }
}

fn run_states<'a>(
    toks: &[Tok],
    text: &str,
    mut cur: &'a mut [u64],
    mut next: &'a mut [u64],
) -> bool {
    set_bit(cur, 0);
    close(toks, cur);
    for c in text.chars() {
        next.fill(0);
        for (i, t) in toks.iter().enumerate() {
            if !bit(cur, i) {
                continue;
            }
            match t {
                Tok::Star if c != '\n' => set_bit(next, i),
                Tok::Quest if c != '\n' => set_bit(next, i + 1),
                Tok::Char(x) if *x == c => set_bit(next, i + 1),
                _ => {}
            }
        }
        close(toks, next);
        if next.iter().all(|w| *w == 0) {
            return false;
        }
        std::mem::swap(&mut cur, &mut next);
    }
    bit(cur, toks.len())
}

/// `ArnLike`: both sides have six `:`-separated components (the last takes the rest), and each
/// component of the value matches the pattern's, so a `*` never crosses a `:` before the
/// resource.
pub(crate) fn arn_like(toks: &[Tok], value: &str) -> bool {
    let mut pattern_parts = toks.splitn(6, |t| *t == Tok::Char(':'));
    let mut value_parts = value.splitn(6, ':');
    for _ in 0..6 {
        match (pattern_parts.next(), value_parts.next()) {
            (Some(p), Some(v)) if glob(p, v) => {}
            _ => return false,
        }
    }
    true
}

/// Simple lower-case equality, without allocating.
pub(crate) fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn string_like_examples() {
        assert!(string_like(
            "system:serviceaccount:payments:*",
            "system:serviceaccount:payments:api"
        ));
        assert!(string_like("a?c", "abc"));
        assert!(!string_like("a+b", "aab"));
        assert!(!string_like("*", "two\nlines"));
        assert!(!string_like("ABC", "abc"));
    }

    fn toks(s: &str) -> Vec<Tok> {
        Pattern::compile(s, true, false, false).toks.unwrap()
    }

    #[test]
    fn glob_paths_agree_on_the_classics() {
        let cases = [
            ("", "", true),
            ("*", "", true),
            ("?", "", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("*a", "bbba", true),
            ("*ab*", "xaxb", false),
            ("??", "é!", true),
            ("a*", "a\nb", false),
            ("a\n*", "a\nb", true),
            ("*\n*", "x\ny", true),
            ("*a\n*", "a\nba\nc", false),
            ("*a\n*", "xa\nb", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(simulate(&toks(p), t), want, "simulate {p:?} {t:?}");
            assert_eq!(glob(&toks(p), t), want, "glob {p:?} {t:?}");
            if !p.contains('\n') && !t.contains('\n') {
                assert_eq!(greedy(&toks(p), t), want, "greedy {p:?} {t:?}");
            }
        }
        // More than four words of states.
        let long = "a".repeat(300);
        assert!(simulate(
            &toks(&format!("{long}*\n")),
            &format!("{long}xyz\n")
        ));
    }

    #[test]
    fn variables_and_escapes() {
        let p = Pattern::compile("a${*}b${?}${$}", true, true, false);
        assert_eq!(p.literal.as_deref(), Some("a*b?$"));
        let p = Pattern::compile("${aws:username, 'nobody'}-*", true, true, false);
        assert!(p.toks.is_none());
        let request = Request::new("x", "sts:AssumeRoleWithWebIdentity");
        let toks = p.resolve(&request).unwrap();
        assert!(glob(&toks, "nobody-1"));
        let request = request.with_value("AWS:UserName", "a*");
        let toks = p.resolve(&request).unwrap();
        assert!(glob(&toks, "a*-1"));
        assert!(!glob(&toks, "ab-1"), "substituted text is literal");
        let without_default = Pattern::compile("${aws:username}", true, true, false);
        assert!(without_default.resolve(&Request::new("x", "y")).is_none());
        // Without variables (Version 2008-10-17 or none), `${…}` is literal text.
        let literal = Pattern::compile("${aws:username}", false, false, false);
        assert_eq!(literal.literal.as_deref(), Some("${aws:username}"));
        // An unclosed `${` is literal too.
        assert_eq!(
            Pattern::compile("${x", false, true, false)
                .literal
                .as_deref(),
            Some("${x")
        );
        // The text is scanned for `}` once: every `${` without one after it is literal.
        let open = "${".repeat(10_000);
        assert_eq!(
            Pattern::compile(&open, false, true, false)
                .literal
                .as_deref(),
            Some(open.as_str())
        );
        let p = Pattern::compile("}${*}x${${?}${a}${", true, true, false);
        assert_eq!(
            p.pieces,
            [
                Piece::Tok(Tok::Char('}')),
                Piece::Tok(Tok::Char('*')),
                Piece::Tok(Tok::Char('x')),
                Piece::Var {
                    key: "${?".to_owned(),
                    default: None
                },
                Piece::Var {
                    key: "a".to_owned(),
                    default: None
                },
                Piece::Tok(Tok::Char('$')),
                Piece::Tok(Tok::Char('{')),
            ]
        );
    }

    #[test]
    fn arn_components_are_matched_separately() {
        let p = toks("arn:aws:iam::*:role/*");
        assert!(arn_like(&p, "arn:aws:iam::111122223333:role/a:b"));
        assert!(!arn_like(&p, "arn:aws:iam::111122223333:user/a"));
        assert!(!arn_like(&toks("arn:*:role/x"), "arn:aws:iam::1:role/x"));
        assert!(!arn_like(&toks("arn:aws:iam::1"), "arn:aws:iam::1"));
        assert!(arn_like(
            &toks("arn:aws:s3:::b/*"),
            "arn:aws:s3:::b/k:with:colons"
        ));
    }

    fn reference_like(pattern: &[char], value: &[char]) -> bool {
        match pattern.split_first() {
            None => value.is_empty(),
            Some(('*', rest)) => {
                reference_like(rest, value)
                    || matches!(value.split_first(), Some((c, tail)) if *c != '\n' && reference_like(pattern, tail))
            }
            Some(('?', rest)) => {
                matches!(value.split_first(), Some((c, tail)) if *c != '\n' && reference_like(rest, tail))
            }
            Some((p, rest)) => {
                matches!(value.split_first(), Some((c, tail)) if c == p && reference_like(rest, tail))
            }
        }
    }

    fn chars(alphabet: &'static [char], max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(alphabet), 0..max)
            .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn string_like_agrees_with_the_reference(
            pattern in chars(&['a', 'b', ':', '\n', 'é', '*', '?'], 10),
            value in chars(&['a', 'b', ':', '\n', 'é'], 12),
        ) {
            let p: Vec<char> = pattern.chars().collect();
            let v: Vec<char> = value.chars().collect();
            prop_assert_eq!(string_like(&pattern, &value), reference_like(&p, &v));
        }

        #[test]
        fn a_pattern_without_wildcards_matches_only_itself(value in chars(&['a', 'B', ':', '\n', 'ß'], 12)) {
            prop_assert!(string_like(&value, &value));
            let other = format!("{value}x");
            prop_assert!(!string_like(&value, &other));
        }
    }
}
