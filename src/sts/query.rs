//! The awsQuery request: `Action=…&Version=…&Name=value…`, from a form body or a query string.

use std::borrow::Cow;

/// The largest request STS's parameters can make: a 20,000-character token, a 2,048-character
/// policy, ten 2,048-character policy ARNs and the rest, percent-encoded at worst three bytes a
/// character, with room to spare.
pub const MAX_QUERY_BYTES: usize = 256 * 1024;

/// The parameters of an awsQuery request, decoded, in order.
///
/// ```
/// use irsa::__private::AwsQuery;
///
/// let query = AwsQuery::parse(b"Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=a%2Bb+c")?;
/// assert_eq!(query.action(), Some("AssumeRoleWithWebIdentity"));
/// assert_eq!(query.get("RoleSessionName"), Some("a+b c"));
/// assert_eq!(query.get("rolesessionname"), None); // names are case-sensitive
/// # Ok::<(), irsa::__private::QueryError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AwsQuery {
    pairs: Vec<(String, String)>,
}

/// Why a request's parameters cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The parameters exceed [`MAX_QUERY_BYTES`].
    #[error("the request's parameters are {size} bytes, more than the {limit} accepted")]
    TooLarge {
        /// The size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A parameter is not valid UTF-8 once percent-decoded.
    #[error("parameter {name:?} is not UTF-8 once percent-decoded")]
    NotUtf8 {
        /// The parameter's name, as far as it decodes.
        name: String,
    },
}

impl AwsQuery {
    /// Reads `application/x-www-form-urlencoded` parameters (a POST body or a URL's query).
    /// `+` is a space; a name given twice keeps its first value, as later lookups see it.
    pub fn parse(input: &[u8]) -> Result<AwsQuery, QueryError> {
        if input.len() > MAX_QUERY_BYTES {
            return Err(QueryError::TooLarge {
                size: input.len(),
                limit: MAX_QUERY_BYTES,
            });
        }
        let mut pairs = Vec::new();
        for part in input.split(|&b| b == b'&') {
            if part.is_empty() {
                continue;
            }
            let mut halves = part.splitn(2, |&b| b == b'=');
            let name = halves.next().unwrap_or_default();
            let value = halves.next().unwrap_or_default();
            let name = decode(name).ok_or_else(|| QueryError::NotUtf8 {
                name: String::from_utf8_lossy(name).into_owned(),
            })?;
            let value = decode(value).ok_or_else(|| QueryError::NotUtf8 { name: name.clone() })?;
            pairs.push((name, value));
        }
        Ok(AwsQuery { pairs })
    }

    /// The first value of the parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `Action` parameter.
    pub fn action(&self) -> Option<&str> {
        self.get("Action")
    }

    /// The members of the list parameter `name` (`name.member.1`, `name.member.2`, … with an
    /// optional `.suffix`, such as `PolicyArns.member.1.arn`), in index order, stopping at the
    /// first missing index as awsQuery servers do.
    /// One pass over the parameters, so a body full of members costs its length, not its
    /// square.
    pub fn list(&self, name: &str, suffix: Option<&str>) -> Vec<&str> {
        let mut found: std::collections::BTreeMap<u32, &str> = std::collections::BTreeMap::new();
        for (key, value) in &self.pairs {
            let Some(rest) = key
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix(".member."))
            else {
                continue;
            };
            let index = match suffix {
                Some(suffix) => rest.strip_suffix(suffix).and_then(|r| r.strip_suffix('.')),
                None => Some(rest),
            };
            // Exactly a decimal number: `+1` or `01` name no member, as an exact lookup of
            // `name.member.1` would not find them.
            let Some(index) = index else { continue };
            if let Ok(number) = index.parse::<u32>()
                && number.to_string() == index
            {
                found.entry(number).or_insert(value.as_str());
            }
        }
        let mut members = Vec::new();
        for (expected, (index, value)) in (1..).zip(found) {
            if index != expected {
                break;
            }
            members.push(value);
        }
        members
    }

    /// Every parameter, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// Percent-decodes one form component (`+` is a space); `None` when it is not UTF-8.
fn decode(raw: &[u8]) -> Option<String> {
    let spaced: Cow<'_, [u8]> = if raw.contains(&b'+') {
        Cow::Owned(
            raw.iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(raw)
    };
    let bytes: Vec<u8> = percent_decode(&spaced);
    String::from_utf8(bytes).ok()
}

/// `%XY` to its byte; a `%` not followed by two hex digits stays as it is (as browsers and
/// `form_urlencoded` read it).
fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'%'
            && let (Some(h), Some(l)) = (
                raw.get(i + 1).and_then(|c| hex(*c)),
                raw.get(i + 2).and_then(|c| hex(*c)),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_form_urlencoded_does() {
        let inputs: [&[u8]; 6] = [
            b"a=1&b=%41%4a+x&&c&d=%zz%4",
            b"=empty-name&x==y",
            b"RoleArn=arn%3Aaws%3Aiam%3A%3A123456789123%3Arole%2Ftest-role",
            b"t=%E2%9C%93",
            b"",
            b"a=%2",
        ];
        for input in inputs {
            let ours: Vec<(String, String)> = AwsQuery::parse(input)
                .unwrap()
                .pairs()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect();
            let reference: Vec<(String, String)> = form_urlencoded::parse(input)
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(ours, reference, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn lists_stop_at_the_first_gap_and_bad_input_is_named() {
        let q = AwsQuery::parse(
            b"PolicyArns.member.1.arn=a&PolicyArns.member.2.arn=b&PolicyArns.member.4.arn=d",
        )
        .unwrap();
        assert_eq!(q.list("PolicyArns", Some("arn")), ["a", "b"]);
        assert_eq!(
            AwsQuery::parse(b"Token=%FF").unwrap_err(),
            QueryError::NotUtf8 {
                name: "Token".into()
            }
        );
        let big = vec![b'a'; MAX_QUERY_BYTES + 1];
        assert!(matches!(
            AwsQuery::parse(&big),
            Err(QueryError::TooLarge { .. })
        ));
    }
}
