//! Every error message of the library, pinned in one snapshot: each variant of each error type
//! renders as `Type::Variant: message`, and a variant with a source also as its whole chain, so
//! a review reads them side by side against the house rules (lower case, no trailing period,
//! names the input and the fix, never repeats its source, names no flag or subcommand).
//!
//! A new variant fails to compile here until it has an example: each list below also becomes a
//! `match` without a wildcard arm. The provider's and the webhook's errors need their features,
//! so the snapshot is taken with all of them (as `cargo test --all-features` does).
#![cfg(all(feature = "provider", feature = "webhook", feature = "sts"))]

use std::error::Error;
use std::fmt::Write as _;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::arn::{ArnError, RoleArn};
use crate::error_text::chain;
use crate::json::{JsonError, parse_strict};
use crate::oidc::{
    Curve, DiscoveryError, IssuerError, IssuerErrorKind, IssuerUrl, JwkMember, JwksError,
    JwsAlgorithm, KeyError, PublicKey, PublishError, S3Issuer, Unusable,
};
use crate::policy::{
    GenerateError, MalformedKind, MalformedPolicyDocument, PolicyLocation, PredictError,
    UnknownOperator,
};
use crate::provider::{
    ConfigError, ProfileLoadError, ProviderError, StsFailure, TokenFileError, TransportError,
};
use crate::token::{
    ClaimsError, MalformedToken, MintError, Rejection, SecretError, SubjectError, VerifierError,
};
use crate::webhook::{AdmissionErrorKind, AdmissionRequest, PodError, WebhookError};
use crate::{StsErrorCode, UnknownStsErrorCode};

/// Appends `name: message`, and `name (chain): message: cause…` when there is a cause.
fn line(out: &mut String, name: &str, error: &dyn Error) {
    writeln!(out, "{name}: {error}").unwrap();
    if error.source().is_some() {
        writeln!(out, "{name} (chain): {}", chain(error)).unwrap();
    }
}

fn itself<T>(value: &T) -> &T {
    value
}

/// One example per variant of `$ty`, checked to be that variant; `by` reads the variant off a
/// wrapping error (e.g. `IssuerError::kind`).
macro_rules! every_variant {
    ($out:ident, $ty:ident $(by $kind:expr)?, { $($variant:ident => $example:expr),+ $(,)? }) => {{
        // A variant without an example below makes this match non-exhaustive.
        let _exhaustive = |e: &$ty| match e {
            $($ty::$variant { .. } => ()),+
        };
        let kind_of: fn(&_) -> &$ty = every_variant!(@kind $($kind)?);
        $({
            let error = $example;
            let kind = kind_of(&error);
            assert!(
                matches!(kind, $ty::$variant { .. }),
                "{}::{}: {kind:?}",
                stringify!($ty),
                stringify!($variant)
            );
            line($out, concat!(stringify!($ty), "::", stringify!($variant)), &error);
        })+
    }};
    (@kind) => { itself };
    (@kind $kind:expr) => { $kind };
}

fn role() -> RoleArn {
    "arn:aws:iam::111122223333:role/app".parse().unwrap()
}

fn member(index: usize, member: &'static str) -> JwkMember {
    JwkMember { index, member }
}

fn json_syntax() -> JsonError {
    parse_strict(br#"{"keys": [}"#, 1000).unwrap_err()
}

fn pem(label: &str, body: &str) -> String {
    format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
}

fn key_error(pem: &str) -> KeyError {
    PublicKey::from_pem(pem).unwrap_err()
}

/// The SDK's own profile parser refusing a line that is not `key = value`.
fn profile_parse_error() -> ProfileLoadError {
    use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
    use aws_runtime::env_config::section::EnvConfigSections;
    use aws_types::os_shim_internal::{Env, Fs};

    let files = EnvConfigFiles::builder()
        .include_default_config_file(false)
        .include_default_credentials_file(false)
        .with_contents(EnvConfigFileKind::Config, "[profile app]\nrole_arn\n")
        .build();
    let (env, fs) = (Env::from_slice(&[]), Fs::from_slice(&[]));
    let load = aws_runtime::env_config::source::load(&env, &fs, &files);
    let mut load = std::pin::pin!(load);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    let std::task::Poll::Ready(source) = load.as_mut().poll(&mut context) else {
        panic!("loading given contents completes at once");
    };
    ProfileLoadError::parse(EnvConfigSections::parse(source.unwrap()).unwrap_err())
}

fn core(out: &mut String) {
    every_variant!(out, ArnError, {
        NotAnIamArn => "arn:aws:s3:::bucket".parse::<RoleArn>().unwrap_err(),
        UnknownPartition => "arn:aws-iso:iam::111122223333:role/app".parse::<RoleArn>().unwrap_err(),
        InvalidAccount => "arn:aws:iam::1:role/app".parse::<RoleArn>().unwrap_err(),
        WrongResourceType => "arn:aws:iam::111122223333:user/app".parse::<RoleArn>().unwrap_err(),
        InvalidRoleName => ArnError::InvalidRoleName { name: "a b".to_owned() },
        InvalidRolePath => ArnError::InvalidRolePath { path: "ops".to_owned() },
        InvalidProviderUrl => ArnError::InvalidProviderUrl {
            provider_url: "https://oidc.example.com".to_owned(),
            reason: "it has a scheme",
        },
    });
    let unknown_code: UnknownStsErrorCode = "Nope".parse::<StsErrorCode>().unwrap_err();
    line(out, "UnknownStsErrorCode", &unknown_code);
    every_variant!(out, JsonError, {
        TooLarge => parse_strict(b"{}", 1).unwrap_err(),
        NotUtf8 => parse_strict(b"{\"a\": \"\xff\"}", 1000).unwrap_err(),
        Syntax => json_syntax(),
        Duplicate => parse_strict(br#"{"a": 1, "a": 2}"#, 1000).unwrap_err(),
        NotAnObject => parse_strict(b"[]", 1000).unwrap_err(),
    });

    every_variant!(out, IssuerErrorKind by IssuerError::kind, {
        Empty => IssuerUrl::parse("").unwrap_err(),
        Whitespace => IssuerUrl::parse("https://oidc.example.com/a b").unwrap_err(),
        NonAscii => IssuerUrl::parse("https://oïdc.example.com").unwrap_err(),
        NoScheme => IssuerUrl::parse("oidc.example.com").unwrap_err(),
        NotHttps => IssuerUrl::parse("http://oidc.example.com").unwrap_err(),
        Query => IssuerUrl::parse("https://oidc.example.com/?a=b").unwrap_err(),
        Fragment => IssuerUrl::parse("https://oidc.example.com/#a").unwrap_err(),
        Character => IssuerUrl::parse("https://oidc.example.com/a\\b").unwrap_err(),
        UserInfo => IssuerUrl::parse("https://user@oidc.example.com").unwrap_err(),
        NotAUrl => IssuerUrl::parse("https:///cluster").unwrap_err(),
        Path => IssuerUrl::parse("https://oidc.example.com/a/../b").unwrap_err(),
        Port => IssuerError::new("https://oidc.example.com:8443", IssuerErrorKind::Port),
        TooLong => {
            let input = format!("https://oidc.example.com/{}", "a".repeat(240));
            IssuerError::new(&input, IssuerErrorKind::TooLong { len: input.len() })
        },
        Bucket => S3Issuer::new("Acme", "eu-west-1").unwrap_err(),
        DottedBucket => S3Issuer::new("acme.irsa", "eu-west-1").unwrap_err(),
        Region => S3Issuer::new("acme", "europe").unwrap_err(),
        Prefix => S3Issuer::new("acme", "eu-west-1").unwrap().with_prefix("/prod").unwrap_err(),
    });
    let issuer_error = || IssuerUrl::parse("http://oidc.example.com").unwrap_err();

    every_variant!(out, DiscoveryError, {
        Json => DiscoveryError::Json(json_syntax()),
        Missing => DiscoveryError::Missing { member: "jwks_uri" },
        WrongType => DiscoveryError::WrongType { member: "issuer", expected: "a string" },
        Issuer => DiscoveryError::Issuer(issuer_error()),
        JwksUri => DiscoveryError::JwksUri {
            uri: "http://oidc.example.com/keys".to_owned(),
            reason: "the scheme is http".to_owned(),
        },
        ExternalAddress => DiscoveryError::ExternalAddress {
            address: "https://oidc.example.com".to_owned(),
        },
        NoUsableKey => DiscoveryError::NoUsableKey,
    });
    every_variant!(out, Unusable, {
        KeyType => Unusable::KeyType("oct".to_owned()),
        Curve => Unusable::Curve("secp256k1".to_owned()),
        Algorithm => Unusable::Algorithm("HS256".to_owned()),
        AlgorithmMismatch => Unusable::AlgorithmMismatch(JwsAlgorithm::ES256),
        Use => Unusable::Use("enc".to_owned()),
    });
    every_variant!(out, JwksError, {
        Json => JwksError::Json(json_syntax()),
        NoKeysMember => JwksError::NoKeysMember,
        KeysNotAnArray => JwksError::KeysNotAnArray,
        KeyNotAnObject => JwksError::KeyNotAnObject { index: 1 },
        TooManyKeys => JwksError::TooManyKeys { count: 101 },
        NoKeys => JwksError::NoKeys,
        Missing => JwksError::Missing { at: member(0, "kty") },
        WrongType => JwksError::WrongType { at: member(0, "n"), expected: "a string" },
        Base64 => JwksError::Base64 { at: member(0, "e") },
        CoordinateLength => JwksError::CoordinateLength { at: member(0, "x"), expected: 32, found: 31 },
        PrivateMaterial => JwksError::PrivateMaterial { at: member(0, "d") },
        InvalidKey => JwksError::InvalidKey {
            index: 0,
            kid: Some("key-1".to_owned()),
            source: KeyError::RsaSize { bits: 1024 },
        },
        DuplicateKid => JwksError::DuplicateKid { kid: "key-1".to_owned() },
    });
    line(
        out,
        "JwksError::InvalidKey (no kid)",
        &JwksError::InvalidKey {
            index: 0,
            kid: None,
            source: KeyError::RsaSize { bits: 1024 },
        },
    );
    every_variant!(out, KeyError, {
        NoPemBlock => key_error("ssh-rsa AAAA"),
        PemUnterminated => key_error("-----BEGIN PUBLIC KEY-----\nAAAA\n"),
        Pem => key_error(&pem("PUBLIC KEY", "A!AA")),
        NoKey => KeyError::NoKey,
        Der => key_error(&pem("PUBLIC KEY", "AAAA")),
        UnknownDer => KeyError::UnknownDer,
        UnusedBits => KeyError::UnusedBits,
        Encrypted => KeyError::Encrypted,
        Certificate => KeyError::Certificate,
        UnsupportedPemLabel => key_error(&pem("DSA PRIVATE KEY", "AAAA")),
        UnsupportedKeyType => KeyError::UnsupportedKeyType { oid: "1.3.101.112".to_owned() },
        UnsupportedCurve => KeyError::UnsupportedCurve { oid: "1.3.132.0.10".to_owned() },
        MissingCurve => KeyError::MissingCurve,
        CompressedPoint => PublicKey::from_ec_point(Curve::P256, &[0x02; 33]).unwrap_err(),
        InvalidPoint => PublicKey::from_ec_point(Curve::P256, &[0x04; 65]).unwrap_err(),
        RsaSize => KeyError::RsaSize { bits: 1024 },
        RsaExponent => KeyError::RsaExponent,
        // An EC private key whose scalar is zero, which aws-lc refuses.
        Rejected => key_error(&pem(
            "EC PRIVATE KEY",
            "MDECAQEEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAoAoGCCqGSM49\nAwEH",
        )),
        UnsupportedAlgorithm => KeyError::UnsupportedAlgorithm { algorithm: "HS256".to_owned() },
    });
    every_variant!(out, PublishError, {
        Issuer => PublishError::Issuer(issuer_error()),
        Discovery => PublishError::Discovery(DiscoveryError::NoUsableKey),
        TooManyAudiences => PublishError::TooManyAudiences { count: 101 },
        AudienceLength => PublishError::AudienceLength { audience: String::new() },
        DuplicateAudience => PublishError::DuplicateAudience { audience: "sts.amazonaws.com".to_owned() },
        AudienceIsApiAudience => PublishError::AudienceIsApiAudience {
            audience: "https://kubernetes.default.svc".to_owned(),
        },
        ExistingIssuer => PublishError::ExistingIssuer {
            issuer: "https://oidc.example.com".to_owned(),
            reason: "it is not the plan's issuer".to_owned(),
        },
    });

    let claims_syntax = || ClaimsError::Syntax {
        expected: "'{'",
        offset: 0,
    };
    every_variant!(out, MalformedToken, {
        Length => MalformedToken::Length { len: 3 },
        Segments => MalformedToken::Segments { segments: 2 },
        Base64 => MalformedToken::Base64 { segment: "payload" },
        Json => MalformedToken::Json { segment: "header", source: claims_syntax() },
    });
    every_variant!(out, ClaimsError, {
        Syntax => claims_syntax(),
        TooDeep => ClaimsError::TooDeep,
        NotUtf8 => ClaimsError::NotUtf8,
        Duplicate => ClaimsError::Duplicate { member: "sub".to_owned() },
        WrongType => ClaimsError::WrongType { claim: "exp".to_owned(), expected: "a number" },
        Missing => ClaimsError::Missing { member: "alg" },
    });
    every_variant!(out, SecretError, {
        Empty => SecretError::Empty,
        NotUtf8 => SecretError::NotUtf8,
    });
    let invalid_namespace = || SubjectError::InvalidNamespace {
        namespace: "Prod".to_owned(),
    };
    every_variant!(out, SubjectError, {
        NotServiceAccount => SubjectError::NotServiceAccount { subject: "user:alice".to_owned() },
        InvalidNamespace => invalid_namespace(),
        InvalidName => SubjectError::InvalidName { name: "App".to_owned() },
    });
    every_variant!(out, MintError, {
        Key => MintError::Key(KeyError::NoKey),
        PublicKeyOnly => MintError::PublicKeyOnly,
        ExpirationTooShort => MintError::ExpirationTooShort { seconds: 300 },
        Signing => MintError::Signing,
        Generation => MintError::Generation,
    });
    let now = 1_700_000_000;
    every_variant!(out, Rejection, {
        Malformed => Rejection::Malformed(MalformedToken::Segments { segments: 2 }),
        Algorithm => Rejection::Algorithm { alg: "none".to_owned() },
        Critical => Rejection::Critical,
        LegacyToken => Rejection::LegacyToken { iss: "kubernetes/serviceaccount".to_owned() },
        MissingIssuer => Rejection::MissingIssuer,
        UnknownIssuer => Rejection::UnknownIssuer {
            iss: "https://oidc.example.com/".to_owned(),
            expected: vec!["https://oidc.example.com".to_owned()],
        },
        UnknownKid => Rejection::UnknownKid { kid: "key-2".to_owned() },
        KeyMismatch => Rejection::KeyMismatch {
            kid: "key-1".to_owned(),
            alg: JwsAlgorithm::RS256,
            why: "it is an EC key".to_owned(),
        },
        AmbiguousKey => Rejection::AmbiguousKey { alg: JwsAlgorithm::RS256, candidates: 2 },
        SignatureLength => Rejection::SignatureLength { alg: JwsAlgorithm::ES256, len: 70, expected: 64 },
        BadSignature => Rejection::BadSignature { kid: Some("key-1".to_owned()) },
        MissingAudience => Rejection::MissingAudience,
        WrongAudience => Rejection::WrongAudience {
            aud: vec!["kubernetes".to_owned()],
            expected: vec!["sts.amazonaws.com".to_owned()],
        },
        MissingSubject => Rejection::MissingSubject,
        MissingExpiry => Rejection::MissingExpiry,
        Expired => Rejection::Expired { exp: now - 3600, now, skew: 60 },
        NotYetValid => Rejection::NotYetValid { nbf: now + 600, now },
        IssuedInFuture => Rejection::IssuedInFuture { iat: now + 600, now },
    });
    line(
        out,
        "Rejection::BadSignature (no kid)",
        &Rejection::BadSignature { kid: None },
    );
    every_variant!(out, VerifierError, {
        NoIssuer => VerifierError::NoIssuer,
        NoUsableKey => VerifierError::NoUsableKey,
    });

    every_variant!(out, PredictError, {
        NoClientId => PredictError::NoClientId,
        ProviderUrl => PredictError::ProviderUrl(issuer_error()),
        Keys => PredictError::Keys(VerifierError::NoUsableKey),
    });
    every_variant!(out, GenerateError, {
        NoGrant => GenerateError::NoGrant,
        NoServiceAccount => GenerateError::NoServiceAccount,
        Namespace => GenerateError::Namespace(invalid_namespace()),
        Audience => GenerateError::Audience { audience: String::new() },
    });
    let operator = || UnknownOperator {
        name: "StringEqual".to_owned(),
    };
    line(out, "UnknownOperator", &operator());
    every_variant!(out, MalformedKind, {
        Json => MalformedKind::Json(json_syntax()),
        Character => MalformedKind::Character { ch: '\u{2019}' },
        UnknownElement => MalformedKind::UnknownElement { name: "Resource".to_owned() },
        ProhibitedElement => MalformedKind::ProhibitedElement { name: "Resource" },
        MissingElement => MalformedKind::MissingElement {
            name: "Statement",
            fix: "add at least one statement",
        },
        Conflicting => MalformedKind::Conflicting { first: "Action", second: "NotAction" },
        WrongType => MalformedKind::WrongType { expected: "a string or an array of strings" },
        Version => MalformedKind::Version { version: "2008-10-17".to_owned() },
        Sid => MalformedKind::Sid { sid: "a b".to_owned() },
        DuplicateSid => MalformedKind::DuplicateSid { sid: "Irsa".to_owned() },
        Effect => MalformedKind::Effect { effect: "allow".to_owned() },
        NoPrincipals => MalformedKind::NoPrincipals,
        PrincipalType => MalformedKind::PrincipalType { name: "Federate".to_owned() },
        FederatedPrincipal => MalformedKind::FederatedPrincipal { value: "https://oidc.example.com".to_owned() },
        AwsPrincipal => MalformedKind::AwsPrincipal { value: "root".to_owned() },
        EmptyPrincipal => MalformedKind::EmptyPrincipal,
        Action => MalformedKind::Action { action: "sts::AssumeRole".to_owned(), colons: 2 },
        Operator => MalformedKind::Operator(operator()),
        SchemeInConditionKey => MalformedKind::SchemeInConditionKey {
            key: "https://oidc.example.com:sub".to_owned(),
            suggestion: "oidc.example.com:sub".to_owned(),
        },
        ConditionKey => MalformedKind::ConditionKey { key: "sub".to_owned() },
        ConditionValue => MalformedKind::ConditionValue,
    });
    let condition = PolicyLocation::in_statement(0)
        .member("Condition")
        .member("StringEquals")
        .key("oidc.example.com:sub");
    let locations = [
        PolicyLocation::document(),
        PolicyLocation::top("Version"),
        condition,
    ];
    for location in locations {
        let kind = MalformedKind::WrongType {
            expected: "a string",
        };
        line(
            out,
            "MalformedPolicyDocument",
            &MalformedPolicyDocument::new(kind, location),
        );
    }
    let not_json = crate::policy::TrustPolicy::parse(b"{\"Statement\": [}").unwrap_err();
    line(out, "MalformedPolicyDocument (not JSON)", &not_json);
}

fn provider(out: &mut String) {
    every_variant!(out, ConfigError, {
        ProfileWithoutRole => ConfigError::ProfileWithoutRole {
            profile: "app".to_owned(),
            path: "/home/app/.aws/config".into(),
        },
        InvalidProfileValue => ConfigError::InvalidProfileValue {
            profile: "app".to_owned(),
            key: "duration_seconds",
            input: "soon".to_owned(),
        },
        Profile => ConfigError::Profile(profile_parse_error()),
        InvalidRoleArn => ConfigError::InvalidRoleArn {
            input: "arn:aws:iam::111122223333:user/app".to_owned(),
            source: "arn:aws:iam::111122223333:user/app".parse::<RoleArn>().unwrap_err(),
        },
        InvalidSessionName => ConfigError::InvalidSessionName { input: "a b".to_owned() },
        InvalidDuration => ConfigError::InvalidDuration { input: "60".to_owned() },
    });
    line(
        out,
        "ProfileLoadError (pending)",
        &ProfileLoadError::pending(),
    );
    let token_file_io = || TokenFileError::Io(Arc::new(io::Error::from(io::ErrorKind::NotFound)));
    every_variant!(out, TokenFileError, {
        Io => token_file_io(),
        TooLarge => TokenFileError::TooLarge { limit: 65536 },
        Content => TokenFileError::Content(SecretError::Empty),
    });
    let denied = || {
        StsFailure::new(
            role(),
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            403,
        )
    };
    every_variant!(out, ProviderError, {
        TokenUnavailable => ProviderError::TokenUnavailable {
            path: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token".into(),
            source: token_file_io(),
        },
        Sts => ProviderError::Sts(Box::new(denied())),
        Transport => ProviderError::Transport { role_arn: role(), source: TransportError::not_sts(502) },
        NoCredentials => ProviderError::NoCredentials { role_arn: role() },
        ExpiredOnArrival => ProviderError::ExpiredOnArrival { role_arn: "arn:aws:iam::111122223333:role/orders-api".parse().unwrap(), expires_in_s: -120, skew_s: 3720 },
        TimedOut => ProviderError::TimedOut {
            after: Duration::from_secs(20),
            last: Some(Box::new(ProviderError::Sts(Box::new(denied())))),
        },
    });
    let unknown = StsFailure::new(role(), "SomethingNew", "Try later", 400);
    line(
        out,
        "ProviderError::Sts (no hint)",
        &ProviderError::Sts(Box::new(unknown)),
    );
    let refused = TransportError::client(io::Error::from(io::ErrorKind::ConnectionRefused));
    let transport = ProviderError::Transport {
        role_arn: role(),
        source: refused,
    };
    line(out, "ProviderError::Transport (client)", &transport);
    let timed_out = ProviderError::TimedOut {
        after: Duration::from_secs(20),
        last: None,
    };
    line(
        out,
        "ProviderError::TimedOut (no attempt ended)",
        &timed_out,
    );
}

fn webhook(out: &mut String) {
    let pod = || PodError::Malformed {
        path: "spec.containers[0].env".to_owned(),
        reason: "invalid type: string \"x\", expected a sequence".to_owned(),
    };
    every_variant!(out, AdmissionErrorKind, {
        Malformed => AdmissionErrorKind::Malformed { reason: "EOF while parsing a value at line 1 column 0".to_owned() },
        TooLarge => AdmissionErrorKind::TooLarge { len: 10_000_000 },
        UnsupportedVersion => AdmissionErrorKind::UnsupportedVersion {
            api_version: "admission.k8s.io/v1beta1".to_owned(),
        },
        MissingRequest => AdmissionErrorKind::MissingRequest,
        NotAPod => AdmissionErrorKind::NotAPod { found: "/v1, Kind=Secret".to_owned() },
        Pod => AdmissionErrorKind::Pod(pod()),
    });
    line(
        out,
        "AdmissionError",
        &AdmissionRequest::from_slice(b"{").unwrap_err(),
    );
    every_variant!(out, WebhookError, {
        InvalidConfig => WebhookError::InvalidConfig {
            setting: "region",
            input: String::new(),
            fix: "name a region such as eu-west-1, or set none",
        },
        UnknownPatchStyle => WebhookError::UnknownPatchStyle { input: "merge".to_owned() },
    });
    every_variant!(out, PodError, {
        Malformed => pod(),
    });
    use crate::webhook::{ContainerCredentialsError, ContainerCredentialsIdentities};
    every_variant!(out, ContainerCredentialsError, {
        Malformed => ContainerCredentialsIdentities::from_slice(br#"{"identities":{}}"#).unwrap_err(),
        Incomplete => ContainerCredentialsError::Incomplete { index: 2 },
    });
}

fn sts(out: &mut String) {
    use crate::http::{CaError, FetchError, ServeError, TlsError};
    use crate::sts::query::QueryError;
    use crate::sts::sigv4::AuthorizationError;
    use crate::sts::{
        BuildError, ConfigFileError as StsConfigError, FaultsError, KeyFetchError, RegistryError,
    };
    let io = || {
        io::Error::new(
            io::ErrorKind::NotFound,
            "No such file or directory (os error 2)",
        )
    };
    let yaml = serde_norway::from_str::<u8>("[").unwrap_err();
    let bad_issuer = || "http://oidc.example.test".parse::<IssuerUrl>().unwrap_err();
    every_variant!(out, StsConfigError, {
        Read => StsConfigError::Read { field: "providers[0].jwks".into(), path: "jwks.json".into(), source: io() },
        Syntax => StsConfigError::Syntax { path: "sts.yaml".into(), reason: yaml.to_string() },
        Invalid => StsConfigError::Invalid { field: "account".into(), fix: "give the 12-digit account ID as a string, e.g. account: \"111122223333\"".into() },
        Rejected => StsConfigError::Rejected { field: "faults.throttling".into(), fix: "give a share between 0.0 and 1.0", source: Box::new(FaultsError { name: "throttling", value: 2.0 }) },
    });
    every_variant!(out, QueryError, {
        TooLarge => QueryError::TooLarge { size: 300_000, limit: 262_144 },
        NotUtf8 => QueryError::NotUtf8 { name: "WebIdentityToken".into() },
    });
    every_variant!(out, AuthorizationError, {
        NotSigV4 => AuthorizationError::NotSigV4,
        MissingEqualSign => AuthorizationError::MissingEqualSign { component: "Credential".into() },
        Missing => AuthorizationError::Missing("Signature"),
        Credential => AuthorizationError::Credential { credential: "AKID/2026/us-east-1/sts".into() },
        SignedHeaders => AuthorizationError::SignedHeaders { signed_headers: "Host;x-amz-date".into() },
        Signature => AuthorizationError::Signature,
    });
    every_variant!(out, RegistryError, {
        ProviderUrl => RegistryError::ProviderUrl { url: "http://oidc.example.test".into(), source: bad_issuer() },
        ClientId => RegistryError::ClientId { client_id: String::new() },
        Role => RegistryError::Role { name: "a/b".into(), source: RoleArn::new(crate::arn::Partition::Aws, "111122223333".parse().unwrap(), "/", "a b").unwrap_err() },
        MaxSessionDuration => RegistryError::MaxSessionDuration { seconds: 60 },
    });
    every_variant!(out, BuildError, {
        Random => BuildError::Random,
        Keys => BuildError::Keys { url: "https://oidc.example.test".into(), source: VerifierError::NoUsableKey },
        Ca => BuildError::Ca { url: "https://oidc.example.test".into(), source: ca_error() },
    });
    every_variant!(out, ServeError, {
        Bind => ServeError::Bind { addr: "127.0.0.1:8080".parse().unwrap(), source: io::Error::new(io::ErrorKind::AddrInUse, "Address in use (os error 98)") },
        NotLocal => ServeError::NotLocal { addr: "169.254.170.23:80".parse().unwrap(), source: io::Error::new(io::ErrorKind::AddrNotAvailable, "Cannot assign requested address (os error 99)") },
    });
    let url = || "http://127.0.0.1:8081/.well-known/openid-configuration".to_owned();
    every_variant!(out, FetchError, {
        Url => FetchError::Url { url: "::".into() },
        Request => FetchError::Request { url: url(), source: Box::new(io()) },
        TimedOut => FetchError::TimedOut { url: url(), limit: Duration::from_secs(5) },
        Status => FetchError::Status { url: url(), status: 404 },
        TooLarge => FetchError::TooLarge { url: url(), limit: 131_072 },
    });
    every_variant!(out, KeyFetchError, {
        Fetch => KeyFetchError::Fetch(FetchError::Status { url: url(), status: 404 }),
        Discovery => KeyFetchError::Discovery { url: url(), source: DiscoveryError::Missing { member: "jwks_uri" } },
        IssuerMismatch => KeyFetchError::IssuerMismatch { url: url(), found: "https://a".into(), expected: "https://b".into() },
        Jwks => KeyFetchError::Jwks { url: url(), source: JwksError::NoKeysMember },
        Recent => KeyFetchError::Recent { url: "https://oidc.example.test".into(), seconds: 2, reason: "GET https://oidc.example.test/.well-known/openid-configuration answered HTTP 503".into(), retry: 5 },
        Keys => KeyFetchError::Keys { url: url(), source: VerifierError::NoUsableKey },
    });
    every_variant!(out, TlsError, {
        Read => TlsError::Read { path: "/etc/webhook/tls.crt".into(), source: io() },
        NoCertificate => TlsError::NoCertificate { path: "/etc/webhook/tls.crt".into() },
        Key => TlsError::Key { path: "/etc/webhook/tls.key".into(), reason: "no keys found in PEM file".into() },
        Mismatch => TlsError::Mismatch { cert: "/etc/webhook/tls.crt".into(), key: "/etc/webhook/tls.key".into() },
    });
    line(
        out,
        "FaultsError",
        &FaultsError {
            name: "server_error",
            value: -1.0,
        },
    );
    line(out, "CaError", &ca_error());
    fn ca_error() -> CaError {
        crate::sts::Sts::builder(
            crate::sts::Registry::new("111122223333".parse().unwrap()).provider(
                crate::sts::OidcProvider::with_discovery(
                    "https://oidc.example.test".parse().unwrap(),
                    crate::sts::Discovery::new().ca_pem(b"not pem".to_vec()),
                )
                .unwrap(),
            ),
        )
        .build()
        .err()
        .and_then(|e| match e {
            BuildError::Ca { source, .. } => Some(source),
            _ => None,
        })
        .unwrap()
    }
}

#[cfg(feature = "setup")]
fn setup(out: &mut String) {
    use crate::setup::apiserver::{ManifestError, ManifestWriteError};
    use crate::setup::{PlanError, SetupError, SetupFileError};
    let io = || {
        io::Error::new(
            io::ErrorKind::NotFound,
            "No such file or directory (os error 2)",
        )
    };
    every_variant!(out, SetupFileError, {
        Read => SetupFileError::Read { field: "cluster.keys[0]".into(), path: "sa.pub".into(), source: io() },
        Syntax => SetupFileError::Syntax { field: "roles[0].servce_accounts".into(), message: "unknown field `servce_accounts`, expected one of `name`, `service_accounts`".into() },
        Invalid => SetupFileError::Invalid { field: "roles[0].max_session_duration".into(), fix: "IAM allows 3600 to 43200 seconds (1 to 12 hours)".into() },
    });
    every_variant!(out, PlanError, {
        Publish => PlanError::Publish(PublishError::DuplicateAudience { audience: "sts.amazonaws.com".into() }),
        Grant => PlanError::Grant { role: "read-s3".into(), source: GenerateError::NoServiceAccount },
        KeyRemoval => PlanError::KeyRemoval { kids: vec!["old-kid".into()] },
        IssuerChange => PlanError::IssuerChange { published: "https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod".into(), wanted: "https://my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod/".into() },
        BucketRegion => PlanError::BucketRegion { bucket: "my-irsa-bucket".into(), expected: "eu-west-1".into(), actual: "us-east-1".into() },
        Unreadable => PlanError::Unreadable { what: "the bucket policy of my-irsa-bucket".into() },
        Lint => PlanError::Lint { role: "read-s3".into(), findings: crate::policy::lint_document(b"{", &crate::policy::LintOptions::default()) },
        PublicStatement => PlanError::PublicStatement { bucket: "my-irsa-bucket".into(), statement: "0 (Legacy)".into(), text: r#"{"Sid":"Legacy","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-irsa-bucket/*"}"#.into() },
        ProviderNotOwned => PlanError::ProviderNotOwned { provider: "arn:aws:iam::111122223333:oidc-provider/my-irsa-bucket.s3.eu-west-1.amazonaws.com/prod".into(), client_ids: vec!["sts.amazonaws.com".into()], missing: vec!["vault".into()] },
        BucketNotOwned => PlanError::BucketNotOwned { bucket: "my-irsa-bucket".into(), ownership: Some("ObjectWriter".into()) },
        RoleNotOwned => PlanError::RoleNotOwned { role: "deploy".into(), attached: vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()], inline: vec!["ci".into()], boundary: None },
        ForeignInlinePolicy => PlanError::ForeignInlinePolicy { role: "deploy".into(), policy: "read-bucket".into() },
    });
    every_variant!(out, SetupError, {
        Aws => SetupError::Aws { call: "iam:GetRole", target: "read-s3".into(), code: "AccessDenied".into(), message: "User is not authorized to perform: iam:GetRole".into() },
        Plan => SetupError::Plan(PlanError::KeyRemoval { kids: vec!["old-kid".into()] }),
        Unexpected => SetupError::Unexpected { what: "bucket my-irsa-bucket".into(), fix: "it exists but these credentials may not read it".into() },
        NotPropagated => SetupError::NotPropagated { what: "role read-s3".into() },
        Https => SetupError::Https(crate::http::CaError::new("no CERTIFICATE block")),
    });
    every_variant!(out, ManifestError, {
        Yaml => ManifestError::Yaml("did not find expected node content at line 1 column 2".into()),
        TooLarge => ManifestError::TooLarge,
        NoApiserver => ManifestError::NoApiserver,
        Layout => ManifestError::Layout { line: 17 },
    });
    let manifest = || "/etc/kubernetes/manifests/kube-apiserver.yaml".into();
    every_variant!(out, ManifestWriteError, {
        Read => ManifestWriteError::Read { path: manifest(), source: io() },
        Changed => ManifestWriteError::Changed { path: manifest() },
        Backup => ManifestWriteError::Backup { path: "/etc/kubernetes/manifests/.kube-apiserver.yaml.irsa-backup".into(), source: io() },
        Write => ManifestWriteError::Write { path: manifest(), source: io() },
    });
}

#[cfg(feature = "webhook-server")]
fn webhook_server(out: &mut String) {
    use crate::http::ServeError;
    use crate::webhook_server::WebhookServerError;
    let bind = |port: u16| ServeError::Bind {
        addr: ([0, 0, 0, 0], port).into(),
        source: io::Error::new(io::ErrorKind::AddrInUse, "Address in use (os error 98)"),
    };
    every_variant!(out, WebhookServerError, {
        Serve => WebhookServerError::Serve(bind(8443)),
        Metrics => WebhookServerError::Metrics(bind(9999)),
        ContainerCredentialsRead => WebhookServerError::ContainerCredentialsRead { path: "/etc/webhook/config/identities.json".into(), source: io::Error::new(io::ErrorKind::NotFound, "No such file or directory (os error 2)") },
        ContainerCredentials => WebhookServerError::ContainerCredentials { path: "/etc/webhook/config/identities.json".into(), source: crate::webhook::ContainerCredentialsError::Incomplete { index: 0 } },
    });
}

#[cfg(feature = "agent")]
fn agent(out: &mut String) {
    use crate::agent::{AgentError, RoleFileError};
    use crate::http::ServeError;
    let bind = |addr: &str| ServeError::Bind {
        addr: addr.parse().unwrap(),
        source: io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "Cannot assign requested address (os error 99)",
        ),
    };
    let roles = || std::path::PathBuf::from("/etc/irsa-agent/roles.yaml");
    let jwks = || std::path::PathBuf::from("/etc/irsa-agent/jwks.json");
    every_variant!(out, AgentError, {
        Serve => AgentError::Serve(bind("169.254.170.23:80")),
        Metrics => AgentError::Metrics(bind("0.0.0.0:2705")),
        JwksRead => AgentError::JwksRead { path: jwks(), source: io::Error::new(io::ErrorKind::NotFound, "No such file or directory (os error 2)") },
        Jwks => AgentError::Jwks { path: jwks(), source: crate::oidc::JwksError::NoKeysMember },
        Keys => AgentError::Keys(crate::token::VerifierError::NoUsableKey),
        Roles => AgentError::Roles(RoleFileError::Key { path: roles(), key: "cart".into() }),
        Margin => AgentError::Margin { duration: 900, min_remaining: 900 },
        SessionDuration => AgentError::SessionDuration { seconds: 300 },
        NoListener => AgentError::NoListener,
    });
    every_variant!(out, RoleFileError, {
        Read => RoleFileError::Read { path: roles(), source: io::Error::new(io::ErrorKind::PermissionDenied, "Permission denied (os error 13)") },
        Syntax => RoleFileError::Syntax { path: roles(), message: "invalid type: sequence, expected a map".into() },
        Key => RoleFileError::Key { path: roles(), key: "cart".into() },
        Duplicate => RoleFileError::Duplicate { path: roles(), key: "shop:cart".into() },
        Arn => RoleFileError::Arn { path: roles(), key: "shop:cart".into(), source: "arn:aws:iam::111122223333:user/cart".parse::<crate::arn::RoleArn>().unwrap_err() },
    });
}

#[test]
fn every_error_message() {
    let mut out = String::new();
    core(&mut out);
    provider(&mut out);
    webhook(&mut out);
    sts(&mut out);
    #[cfg(feature = "setup")]
    setup(&mut out);
    #[cfg(feature = "webhook-server")]
    webhook_server(&mut out);
    #[cfg(feature = "agent")]
    agent(&mut out);
    insta::assert_snapshot!("every_error_message", out);
}
