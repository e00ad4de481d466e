//! Reading the webhook's annotations with the Go webhook's parsing rules.

/// The annotation by which a ServiceAccount asks for EKS Pod Identity's container-credentials
/// variables (a node-local agent, `irsa agent serve`) instead of the web-identity ones: with a
/// true value (Go's booleans), as if the container-credentials file named it. An extension of
/// this crate's, under its own domain; the Go webhook does not read it.
pub const CONTAINER_CREDENTIALS_ANNOTATION: &str = "irsa-rs.github.io/container-credentials";

/// What a ServiceAccount asks for through its annotations (`<prefix>/role-arn`,
/// `<prefix>/audience`, `<prefix>/sts-regional-endpoints`, `<prefix>/token-expiration`, and
/// [`CONTAINER_CREDENTIALS_ANNOTATION`]).
///
/// Values are taken as the Go webhook takes them: an unparsable boolean or number counts as
/// absent (so the operator's default applies), an empty `role-arn` means no role, and the role
/// ARN is passed through unvalidated (upstream only logs a warning; [`crate::arn::RoleArn`]
/// checks one when you want to).
///
/// ```
/// use irsa::webhook::ServiceAccountAnnotations;
///
/// let sa = ServiceAccountAnnotations::from_annotations(
///     [
///         ("eks.amazonaws.com/role-arn", "arn:aws:iam::111122223333:role/s3-reader"),
///         ("eks.amazonaws.com/token-expiration", "3600"),
///         ("eks.amazonaws.com/sts-regional-endpoints", "yes"), // not a Go bool: ignored
///     ],
///     "eks.amazonaws.com",
/// );
/// assert_eq!(sa.role_arn(), Some("arn:aws:iam::111122223333:role/s3-reader"));
/// assert_eq!(sa.token_expiration(), Some(3600));
/// assert_eq!(sa.regional_sts(), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceAccountAnnotations {
    role_arn: Option<String>,
    audience: Option<String>,
    regional_sts: Option<bool>,
    token_expiration: Option<i64>,
    container_credentials: bool,
}

impl ServiceAccountAnnotations {
    /// Reads the settings from a ServiceAccount's annotations under `prefix`.
    pub fn from_annotations<'a>(
        annotations: impl IntoIterator<Item = (&'a str, &'a str)>,
        prefix: &str,
    ) -> Self {
        let mut settings = Self::default();
        for (key, value) in annotations {
            if key == CONTAINER_CREDENTIALS_ANNOTATION {
                settings.container_credentials = parse_go_bool(value) == Some(true);
                continue;
            }
            let Some(suffix) = key
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('/'))
            else {
                continue;
            };
            match suffix {
                "role-arn" => settings.role_arn = Some(value.to_owned()).filter(|v| !v.is_empty()),
                "audience" => settings.audience = Some(value.to_owned()),
                "sts-regional-endpoints" => settings.regional_sts = parse_go_bool(value),
                "token-expiration" => settings.token_expiration = parse_go_int(value),
                _ => {}
            }
        }
        settings
    }

    /// Reads the settings from a k8s-openapi ServiceAccount.
    pub fn from_service_account(
        service_account: &k8s_openapi::api::core::v1::ServiceAccount,
        prefix: &str,
    ) -> Self {
        let annotations = service_account.metadata.annotations.iter().flatten();
        Self::from_annotations(annotations.map(|(k, v)| (k.as_str(), v.as_str())), prefix)
    }

    /// Sets the role ARN, as a ConfigMap or a test would (an empty one means no role).
    #[must_use]
    pub fn with_role_arn(mut self, role_arn: impl Into<String>) -> Self {
        self.role_arn = Some(role_arn.into()).filter(|v| !v.is_empty());
        self
    }

    /// Sets the audience (an empty one asks for the apiserver's default audience).
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Sets whether `AWS_STS_REGIONAL_ENDPOINTS=regional` is injected.
    #[must_use]
    pub fn with_regional_sts(mut self, regional: bool) -> Self {
        self.regional_sts = Some(regional);
        self
    }

    /// Sets the token lifetime in seconds (raised to 600 when lower).
    #[must_use]
    pub fn with_token_expiration(mut self, seconds: i64) -> Self {
        self.token_expiration = Some(seconds);
        self
    }

    /// The role ARN, when the ServiceAccount names one.
    pub fn role_arn(&self) -> Option<&str> {
        self.role_arn.as_deref()
    }

    /// The audience, when the ServiceAccount names one.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// The regional-STS choice, when the ServiceAccount makes one.
    pub fn regional_sts(&self) -> Option<bool> {
        self.regional_sts
    }

    /// The token lifetime, when the ServiceAccount sets one (before the 600 s minimum).
    pub fn token_expiration(&self) -> Option<i64> {
        self.token_expiration
    }

    /// Whether the ServiceAccount asks for container credentials
    /// ([`CONTAINER_CREDENTIALS_ANNOTATION`]).
    ///
    /// ```
    /// use irsa::webhook::{CONTAINER_CREDENTIALS_ANNOTATION, ServiceAccountAnnotations};
    ///
    /// let sa = ServiceAccountAnnotations::from_annotations([(CONTAINER_CREDENTIALS_ANNOTATION, "true")], "eks.amazonaws.com");
    /// assert!(sa.container_credentials());
    /// assert!(!ServiceAccountAnnotations::default().container_credentials());
    /// ```
    pub fn container_credentials(&self) -> bool {
        self.container_credentials
    }

    /// Sets whether the ServiceAccount asks for container credentials.
    #[must_use]
    pub fn with_container_credentials(mut self, container_credentials: bool) -> Self {
        self.container_credentials = container_credentials;
        self
    }
}

/// Go's `strconv.ParseBool`.
pub(super) fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 10, 64)`: an optional sign, then ASCII digits, no spaces.
pub(super) fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Rust's parser takes the same grammar, including a leading '+'.
    s.parse().ok()
}

/// The first record of Go's `encoding/csv` reader with default settings, as the webhook reads
/// `skip-containers`: fields split on ',', not trimmed, `"…"` quoting with `""` escapes. A
/// malformed record (a bare quote, an unterminated quote) or an empty value gives no names.
pub(super) fn parse_go_csv_record(s: &str) -> Vec<String> {
    // Go skips empty lines before the first record.
    let mut chars = s.trim_start_matches(['\n', '\r']).chars().peekable();
    if chars.peek().is_none() {
        return Vec::new();
    }
    let mut fields = Vec::new();
    loop {
        let mut field = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    // An unterminated quote is a parse error: skip nothing.
                    None => return Vec::new(),
                    Some('"') if chars.next_if_eq(&'"').is_some() => field.push('"'),
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
            match chars.next() {
                None | Some('\n') => return fields,
                Some('\r') if matches!(chars.peek(), None | Some('\n')) => return fields,
                Some(',') => {}
                // Text after a closing quote is a parse error.
                Some(_) => return Vec::new(),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return fields;
                    }
                    Some(',') => break,
                    Some('\n') => {
                        if field.ends_with('\r') {
                            field.pop();
                        }
                        fields.push(field);
                        return fields;
                    }
                    // A bare quote inside an unquoted field is a parse error.
                    Some('"') => return Vec::new(),
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_matches_go_encoding_csv() {
        let cases: &[(&str, &[&str])] = &[
            ("sidecar", &["sidecar"]),
            ("a,b", &["a", "b"]),
            ("a, b", &["a", " b"]),
            ("a,,b", &["a", "", "b"]),
            ("a,", &["a", ""]),
            ("\"a,b\",c", &["a,b", "c"]),
            ("\"say \"\"hi\"\"\",x", &["say \"hi\"", "x"]),
            ("a\nb", &["a"]),
            ("\n\na,b", &["a", "b"]),
            ("a\r\n", &["a"]),
            ("", &[]),
            ("a\"b", &[]),
            ("\"open", &[]),
            ("\"a\"b", &[]),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_go_csv_record(input), *expected, "input {input:?}");
        }
    }

    #[test]
    fn go_scalars() {
        assert_eq!(parse_go_bool("True"), Some(true));
        assert_eq!(parse_go_bool("yes"), None);
        assert_eq!(parse_go_int("+3600"), Some(3600));
        assert_eq!(parse_go_int("-5"), Some(-5));
        assert_eq!(parse_go_int(" 5"), None);
        assert_eq!(parse_go_int("1_000"), None);
        assert_eq!(parse_go_int("99999999999999999999"), None);
    }
}
