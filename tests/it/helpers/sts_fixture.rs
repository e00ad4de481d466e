//! One account, one provider, one role and a token it trusts, with the request body asking for
//! it: shared by `tests/it/sts_load.rs` and the STS harnesses in `benches/` (`#[path]`-included),
//! with those harnesses' `name=value` arguments.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::disallowed_methods
)]

use std::time::SystemTime;

use bytes::Bytes;
use irsa::oidc::JwkSet;
use irsa::sts::{OidcProvider, Registry, Role};
use irsa::token::{BoundToken, SigningKey, Subject};

/// The provider's issuer.
pub const ISSUER: &str = "https://oidc.example.test/load";

/// What a load needs.
pub struct Fixture {
    /// The provider's key set.
    pub keys: JwkSet,
    /// A token for `default:app`, minted now.
    pub token: String,
    /// When it was minted, in seconds since the Unix epoch.
    pub now: SystemTime,
    /// The account with the provider and the role `app`, trusting `default:app` with
    /// audience `sts.amazonaws.com`.
    pub registry: Registry,
    /// The form body of an `AssumeRoleWithWebIdentity` request for the role with the token.
    pub body: Bytes,
}

/// The fixture for tokens signed by the private key in `pem`.
pub fn fixture(pem: &str) -> Fixture {
    let key = SigningKey::from_pem(pem).unwrap();
    let keys = JwkSet::from_public_keys([key.public_key()]).unwrap();
    let now = SystemTime::now();
    let request = BoundToken::new(
        ISSUER.parse().unwrap(),
        Subject::new("default", "app").unwrap(),
        "j",
    )
    .audience("sts.amazonaws.com");
    let token = key.sign(&request, now).unwrap().expose_secret().to_owned();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.example.test/load"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.example.test/load:sub":"system:serviceaccount:default:app","oidc.example.test/load:aud":"sts.amazonaws.com"}}}]}"#;
    let registry = Registry::new("111122223333".parse().unwrap())
        .provider(OidcProvider::with_keys(ISSUER.parse().unwrap(), keys.clone()).unwrap())
        .role(Role::new("app", policy.parse().unwrap()).unwrap());
    let body = Bytes::from(format!(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp&RoleSessionName=load&WebIdentityToken={token}"
    ));
    Fixture {
        keys,
        token,
        now,
        registry,
        body,
    }
}

/// The harness argument `name=value` (after `cargo bench … --`), or `default`.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::args()
        .skip(1)
        .find_map(|a| {
            a.strip_prefix(&format!("{name}="))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(default)
}
