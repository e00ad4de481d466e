//! The provider against moto, a real STS-compatible server (started here on loopback from the
//! virtualenv `scripts/check.sh` creates), and the credentials used by the real aws-sdk-s3
//! client to sign requests to moto's S3.

// The harness meets the real world: a real process, the real clock, one environment variable.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use irsa::provider::WebIdentityProvider;

use crate::helpers::moto;
use moto::moto;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_from_moto_sign_real_s3_requests() {
    let moto = moto();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(
        &token_file,
        "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlLmNvbSIsInN1YiI6InN5c3RlbTpzZXJ2aWNlYWNjb3VudDphcHBzOnJlYWRlciIsImF1ZCI6InN0cy5hbWF6b25hd3MuY29tIn0.c2ln\n",
    )
    .unwrap();
    let provider = WebIdentityProvider::builder()
        .role_arn("arn:aws:iam::123456789012:role/reader")
        .token_file(&token_file)
        .region("eu-west-1")
        .endpoint_url(&moto.url)
        .duration(Duration::from_secs(900))
        .env(std::collections::HashMap::<String, String>::new())
        .build();

    let credentials = provider.provide_credentials().await.unwrap();
    let lifetime = credentials
        .expiry()
        .unwrap()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .saturating_sub(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap(),
        );
    // DurationSeconds=900 reached moto.
    assert!(
        lifetime > Duration::from_secs(800) && lifetime <= Duration::from_secs(900),
        "{lifetime:?}"
    );
    assert!(credentials.session_token().is_some());

    // The SDK signs real requests with them; our cache refreshes ahead, so the SDK's is off.
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("eu-west-1"))
        .endpoint_url(&moto.url)
        .force_path_style(true)
        .credentials_provider(provider.clone())
        .identity_cache(aws_sdk_s3::config::IdentityCache::no_cache())
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(config);
    s3.create_bucket()
        .bucket("irsa-test")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket("irsa-test")
        .key("hello.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"hello from a pod",
        ))
        .send()
        .await
        .unwrap();
    let object = s3
        .get_object()
        .bucket("irsa-test")
        .key("hello.txt")
        .send()
        .await
        .unwrap();
    let body = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], b"hello from a pod");
    // Three signed S3 requests, one STS call: served from our cache.
    assert_eq!(provider.status().sts_calls, 1);

    // A refresh gets new credentials from moto.
    provider.invalidate();
    let fresh = provider.provide_credentials().await.unwrap();
    assert_ne!(fresh.access_key_id(), credentials.access_key_id());
    assert_eq!(provider.status().sts_calls, 2);
}
