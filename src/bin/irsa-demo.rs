//! `irsa-demo`: the whole IRSA flow on one machine, step by step, for real — a fresh cluster
//! signing key, the issuer's discovery documents served from a local endpoint, a local STS
//! that fetches them and judges as AWS does, a role trusting one service account by a
//! least-privilege policy from our generator, a token minted as kube-apiserver would, our
//! provider getting credentials, `GetCallerIdentity` answering with the assumed role, and a
//! token of another service account refused with the condition that failed.
//!
//! ```text
//! cargo run --features sts --bin irsa-demo
//! ```

// A demonstration talks to its terminal, and its tokens are minted at the wall-clock time
// the SDK signs with.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_methods)]

use std::collections::HashMap;
use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::ProvideErrorMetadata;
use irsa::__private::uuid_v4;
use irsa::arn::OidcProviderArn;
use irsa::http::StaticSite;
use irsa::oidc::{DEFAULT_AUDIENCE, IssuerUrl, JwkSet, OpenIdConfiguration};
use irsa::policy::{
    ClusterGrant, RegisteredProvider, RequestFacts, TrustPolicy, generate, predict,
};
use irsa::provider::WebIdentityProvider;
use irsa::sts::{Discovery, OidcProvider, Registry, Role, Sts};
use irsa::token::{BoundToken, SigningKey, Subject};

const ACCOUNT: &str = "111122223333";
const ISSUER: &str = "https://oidc.irsa-demo.test/cluster";
const REGION: &str = "us-east-1";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let dir = std::env::temp_dir().join(format!("irsa-demo-{}", std::process::id()));
    let result = run(&dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("irsa-demo: {}", irsa::ErrorChain(&*e));
            ExitCode::FAILURE
        }
    }
}

fn now() -> SystemTime {
    SystemTime::now()
}

fn step(n: u8, title: &str) {
    println!("\n{n}. {title}");
}

fn mint(
    key: &SigningKey,
    issuer: &IssuerUrl,
    namespace: &str,
    name: &str,
) -> Result<String, Box<dyn Error>> {
    let mut jti = [0u8; 16];
    aws_lc_rs::rand::fill(&mut jti).map_err(|_| "the system random source failed")?;
    let request = BoundToken::new(issuer.clone(), Subject::new(namespace, name)?, uuid_v4(jti))
        .audience(DEFAULT_AUDIENCE)
        .expiration_seconds(3600);
    Ok(key.sign(&request, now())?.expose_secret().to_owned())
}

async fn run(dir: &PathBuf) -> Result<(), Box<dyn Error>> {
    std::fs::create_dir_all(dir)?;
    println!("IRSA on one machine: every step below is the real protocol over loopback.");

    step(
        1,
        "A fresh cluster signing key (kube-apiserver's --service-account-signing-key-file)",
    );
    let (key, pem) = SigningKey::generate_es256()?;
    // The private key: readable by its owner only, and never half-written.
    irsa::env::write_atomic(&dir.join("sa.key"), pem.as_bytes(), 0o600)?;
    println!(
        "   {} key, kid {}",
        key.algorithm().as_str(),
        key.public_key().key_id()
    );

    step(
        2,
        "The issuer's discovery documents, as kube-apiserver serves them",
    );
    let issuer: IssuerUrl = ISSUER.parse()?;
    let keys = JwkSet::from_public_keys([key.public_key()])?;
    let discovery = OpenIdConfiguration::new(&issuer, &keys)?;
    let base = issuer.as_str().trim_end_matches('/');
    let jwks_path = discovery
        .jwks_uri()
        .strip_prefix("https://oidc.irsa-demo.test")
        .unwrap_or("/cluster/openid/v1/jwks")
        .to_owned();
    let site = StaticSite::new()
        .document(
            "/cluster/.well-known/openid-configuration",
            "application/json",
            discovery.to_json().into_bytes(),
        )
        .document(
            &jwks_path,
            "application/jwk-set+json",
            keys.to_json().into_bytes(),
        )
        .serve("127.0.0.1:0".parse()?)
        .await?;
    println!("   {base}/.well-known/openid-configuration");
    println!("   {}", discovery.jwks_uri());
    println!(
        "   served at {} (standing in for the public bucket)",
        site.endpoint_url()
    );

    step(
        3,
        "A local STS: the issuer registered as an IAM OIDC provider, a role trusting one service account",
    );
    let provider_url = issuer.aws_provider_url()?;
    let provider_arn: OidcProviderArn =
        provider_url.arn(irsa::arn::Partition::Aws, ACCOUNT.parse()?);
    let grant = ClusterGrant::service_accounts(
        provider_arn.clone(),
        vec![Subject::new("default", "read-s3-hello")?],
    )?;
    let generated = generate(&[grant], irsa::policy::MAX_POLICY_BYTES)?;
    let policy: TrustPolicy = generated.json().parse()?;
    let endpoint = format!("{}/cluster", site.endpoint_url()).parse()?;
    let registry = Registry::new(ACCOUNT.parse()?)
        .provider(OidcProvider::with_discovery(
            issuer.clone(),
            Discovery::new().endpoint(endpoint),
        )?)
        .role(Role::new("read-s3", policy.clone())?);
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/read-s3");
    let sts = Sts::builder(registry)
        .build()?
        .serve("127.0.0.1:0".parse()?)
        .await?;
    println!("   provider {provider_arn}");
    println!("   role {role_arn}, trust policy from irsa's generator:");
    for line in serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(
        generated.json(),
    )?)?
    .lines()
    {
        println!("     {line}");
    }
    println!(
        "   STS at {} (it fetches the keys from the issuer endpoint above)",
        sts.endpoint_url()
    );

    step(
        4,
        "A token for default:read-s3-hello, minted as kube-apiserver would, in a token file",
    );
    let token_file = dir.join("token");
    let token = mint(&key, &issuer, "default", "read-s3-hello")?;
    irsa::env::write_atomic(&token_file, token.as_bytes(), 0o600)?;
    println!("   {}", token_file.display());

    step(
        5,
        "WebIdentityProvider as the SDK's credentials provider, then GetCallerIdentity",
    );
    let provider = WebIdentityProvider::builder()
        .role_arn(role_arn.clone())
        .token_file(&token_file)
        .endpoint_url(sts.endpoint_url())
        .region(REGION)
        .env(HashMap::<String, String>::new())
        .build();
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(sts.endpoint_url())
        .credentials_provider(provider)
        .build();
    let identity = aws_sdk_sts::Client::from_conf(config)
        .get_caller_identity()
        .send()
        .await?;
    println!("   arn     {}", identity.arn().unwrap_or("?"));
    println!("   user id {}", identity.user_id().unwrap_or("?"));

    step(
        6,
        "A token of another service account, default:other-app, is refused",
    );
    let other = mint(&key, &issuer, "default", "other-app")?;
    let anonymous = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(sts.endpoint_url())
        .build();
    let refused = aws_sdk_sts::Client::from_conf(anonymous)
        .assume_role_with_web_identity()
        .role_arn(&role_arn)
        .role_session_name("other-app")
        .web_identity_token(&other)
        .send()
        .await;
    match refused {
        Ok(_) => {
            return Err("the other service account was let in: the trust policy is wrong".into());
        }
        Err(e) => {
            let e = e.into_service_error();
            println!(
                "   STS: {}: {}",
                e.code().unwrap_or("?"),
                e.message().unwrap_or("")
            );
        }
    }
    let registered = RegisteredProvider::new(provider_arn, [DEFAULT_AUDIENCE])?;
    let facts = RequestFacts::at(now())
        .session_name("other-app")
        .secure_transport(false);
    let diagnosis = predict(&other, &keys, &registered, &policy, facts)?;
    if let Some(error) = diagnosis.sts_error {
        println!("   why: {}", error.reason);
    }
    println!(
        "\nDone: the same trust boundary AWS enforces, judged locally. Next: irsa sts serve --config FILE"
    );
    sts.shutdown().await;
    site.shutdown().await;
    Ok(())
}
