//! Quickstart: everything a self-managed cluster needs to host its service-account issuer in S3.
//!
//! Generates a fresh RSA-2048 service-account signing key, then prints the two discovery
//! documents to upload (byte-identical to what kube-apiserver would serve), the bucket policy,
//! the IAM OIDC provider to register, the condition keys for trust policies, and the
//! kube-apiserver flags.
//!
//! ```text
//! cargo run --example quickstart [BUCKET] [REGION] [PREFIX]
//! ```
//!
//! For an existing cluster, use its key instead (e.g. `/etc/kubernetes/pki/sa.pub`):
//! `irsa discovery --s3-bucket B --s3-region R --public-key sa.pub` (feature `cli`).

#![allow(clippy::print_stdout)] // printing is what this example is for

use std::error::Error;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use irsa::oidc::{JwkSet, PublicKey, PublishingPlan, S3Issuer};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let bucket = args.next().unwrap_or_else(|| "my-cluster-irsa".to_owned());
    let region = args.next().unwrap_or_else(|| "us-east-1".to_owned());
    let prefix = args.next();

    // A new signing key, as `openssl genrsa 2048` would make. Only its public half is published.
    let signing_key = KeyPair::generate(KeySize::Rsa2048)?;
    let public_key = PublicKey::from_pkcs8_der(signing_key.as_der()?.as_ref())?;
    let keys = JwkSet::from_public_keys([&public_key])?;

    let mut s3 = S3Issuer::new(&bucket, &region)?;
    if let Some(prefix) = prefix {
        s3 = s3.with_prefix(&prefix)?;
    }
    let plan = PublishingPlan::builder(s3.issuer(), keys).build()?;

    println!("# issuer: {}", plan.issuer());
    println!("# signing key id (kid): {}", public_key.key_id());
    for object in plan.objects() {
        println!(
            "\n# s3://{}/{} (Content-Type: {})",
            bucket, object.key, object.content_type
        );
        println!("{}", object.body);
    }
    if let Some(policy) = plan.bucket_policy() {
        println!("\n# bucket policy");
        println!("{}", serde_json::to_string_pretty(policy)?);
    }
    println!("\n# IAM OIDC provider (aws iam create-open-id-connect-provider --cli-input-json)");
    println!("{}", serde_json::to_string_pretty(plan.oidc_provider())?);
    println!("\n# trust-policy condition keys");
    println!("{}", plan.provider_url().condition_key("sub"));
    println!("{}", plan.provider_url().condition_key("aud"));
    println!("\n# kube-apiserver flags");
    for flag in plan.apiserver_flags() {
        println!("{flag}");
    }
    println!("\n# public key for --service-account-key-file (this demo discards the private key;");
    println!(
        "# for a real cluster run: irsa discovery --public-key /etc/kubernetes/pki/sa.pub ...)"
    );
    print!("{}", public_key.to_pem());
    Ok(())
}
