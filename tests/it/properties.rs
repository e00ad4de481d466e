//! Properties that hold for every input of a kind, not just the vectors: round trips are exact,
//! and a key's kid does not depend on how the key was encoded.

use irsa::arn::{OidcProviderArn, RoleArn};
use irsa::oidc::{IssuerUrl, JwkSet, OpenIdConfiguration, PublicKey, S3Issuer};
use proptest::prelude::*;

fn host() -> impl Strategy<Value = String> {
    // A numeric last label would make the host an (invalid) IPv4 address in URL parsers.
    (
        prop::collection::vec("[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", 0..3),
        "[a-z]{2,6}",
    )
        .prop_map(|(labels, tld)| {
            labels
                .into_iter()
                .chain([tld])
                .collect::<Vec<_>>()
                .join(".")
        })
}

fn path_segment() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,7}"
}

fn issuer() -> impl Strategy<Value = String> {
    (
        host(),
        prop::collection::vec(path_segment(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(host, segments, slash)| {
            let mut s = format!("https://{host}");
            for segment in segments {
                s.push('/');
                s.push_str(&segment);
            }
            if slash {
                s.push('/');
            }
            s
        })
}

/// A P-256/P-384/P-521 private key as SEC1 DER *without* its public point, from a random scalar,
/// so the public key has to be computed.
fn sec1_private_key() -> impl Strategy<Value = Vec<u8>> {
    let curves: [(usize, &'static [u8]); 3] = [
        (
            32,
            &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
        ),
        (48, &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
        (66, &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]),
    ];
    (0..3usize, prop::collection::vec(any::<u8>(), 66)).prop_map(move |(curve, bytes)| {
        let (len, oid) = curves[curve];
        let mut scalar = bytes[..len].to_vec();
        // Keep the scalar below the group order: a small top byte does it for every curve.
        scalar[0] = if len == 66 {
            scalar[0] & 1
        } else {
            scalar[0] & 0x7f
        };
        scalar[len - 1] |= 1;
        let mut inner = vec![0x02, 0x01, 0x01, 0x04, len as u8];
        inner.extend_from_slice(&scalar);
        inner.extend_from_slice(&[0xa0, oid.len() as u8]);
        inner.extend_from_slice(oid);
        let mut der = if inner.len() < 0x80 {
            vec![0x30]
        } else {
            vec![0x30, 0x81]
        };
        der.push(inner.len() as u8);
        der.extend_from_slice(&inner);
        der
    })
}

proptest! {
    #[test]
    fn issuers_are_kept_exactly(input in issuer()) {
        let issuer = IssuerUrl::parse(&input).unwrap();
        prop_assert_eq!(issuer.as_str(), input.as_str());
        prop_assert_eq!(issuer.jwks_uri(), format!("{}/openid/v1/jwks", input.trim_end_matches('/')));
        let provider = issuer.aws_provider_url().unwrap();
        prop_assert_eq!(provider.issuer(), input.clone());
        let arn = provider.arn(irsa::arn::Partition::Aws, "111122223333".parse().unwrap());
        prop_assert_eq!(arn.to_string().parse::<OidcProviderArn>().unwrap(), arn);
        let doc = OpenIdConfiguration::parse(
            format!(r#"{{"issuer":"{input}","jwks_uri":"{}","x-extra":[1]}}"#, issuer.jwks_uri()).as_bytes(),
        )
        .unwrap();
        prop_assert_eq!(OpenIdConfiguration::parse(doc.to_json().as_bytes()).unwrap(), doc);
    }

    #[test]
    fn s3_issuers_are_recognised_from_their_url(
        bucket in "[a-z0-9][a-z0-9-]{1,30}[a-z0-9]",
        region in prop::sample::select(vec!["us-east-1", "eu-central-2", "cn-northwest-1", "us-gov-east-1"]),
        prefix in prop::option::of(prop::collection::vec("[a-z0-9_-]{1,6}", 1..3)),
        slash in any::<bool>(),
    ) {
        prop_assume!(!["xn--", "sthree-", "amzn-s3-demo-"].iter().any(|p| bucket.starts_with(p)));
        prop_assume!(!["-s3alias", "--ol-s3", "--x-s3", "--table-s3"].iter().any(|s| bucket.ends_with(s)));
        let mut s3 = S3Issuer::new(&bucket, region).unwrap().with_trailing_slash(slash);
        if let Some(prefix) = prefix {
            s3 = s3.with_prefix(&prefix.join("/")).unwrap();
        }
        let issuer = s3.issuer();
        prop_assert_eq!(S3Issuer::from_issuer(&issuer).unwrap(), Some(s3.clone()));
        let reparsed = IssuerUrl::parse(issuer.as_str()).unwrap();
        prop_assert_eq!(reparsed, issuer);
    }

    #[test]
    fn role_arns_round_trip(
        segments in prop::collection::vec("[A-Za-z0-9_+=,.@-]{1,10}", 0..4),
        name in "[A-Za-z0-9_+=,.@-]{1,64}",
    ) {
        let path = if segments.is_empty() { String::new() } else { format!("{}/", segments.join("/")) };
        let text = format!("arn:aws:iam::111122223333:role/{path}{name}");
        let arn: RoleArn = text.parse().unwrap();
        prop_assert_eq!(arn.name(), name.as_str());
        prop_assert_eq!(arn.to_string(), text);
    }

    #[test]
    fn kid_does_not_depend_on_the_encoding(der in sec1_private_key()) {
        let key = PublicKey::from_der(&der).unwrap();
        // Public PEM, JWKS and back: the same key and kid every way.
        let from_pem = PublicKey::from_pem(&key.to_pem()).unwrap();
        prop_assert_eq!(&from_pem, &vec![key.clone()]);
        let set = JwkSet::from_public_keys([&key]).unwrap();
        let json = set.to_json();
        let parsed = JwkSet::parse(json.as_bytes()).unwrap();
        prop_assert_eq!(parsed.to_json(), json);
        let jwk = &parsed.keys()[0];
        prop_assert_eq!(jwk.kid(), Some(key.key_id()));
        prop_assert_eq!(jwk.public_key().unwrap(), &key);
        prop_assert_eq!(PublicKey::from_spki_der(key.spki_der()).unwrap(), key);
    }
}

mod tokens {
    use irsa::oidc::JwkSet;
    use irsa::token::Verifier;
    use proptest::prelude::*;
    use serde_json::json;

    use crate::helpers::{ISSUER, NOW, P256_KID, RSA_KID, Signer, data};

    fn verifier() -> Verifier {
        let keys = JwkSet::parse(&data("k8s-vectors/jwks.rsa-ecdsa.json")).unwrap();
        Verifier::builder(&keys)
            .issuer(ISSUER.parse().unwrap())
            .build()
            .unwrap()
    }

    fn claims() -> impl Strategy<Value = serde_json::Value> {
        (
            "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?",
            "[a-z0-9]([a-z0-9.-]{0,40}[a-z0-9])?",
            prop::collection::vec("[ -~]{1,30}", 0..3),
            1..86_400i64,
            0..300i64,
            prop::option::of("[0-9a-f-]{36}"),
        )
            .prop_map(|(ns, name, extra_aud, lifetime, age, jti)| {
                let mut aud = extra_aud;
                aud.push("sts.amazonaws.com".to_owned());
                let mut claims = json!({
                    "aud": aud,
                    "exp": NOW - age + lifetime,
                    "iat": NOW - age,
                    "iss": ISSUER,
                    "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": "u"}},
                    "nbf": NOW - age,
                    "sub": format!("system:serviceaccount:{ns}:{name}"),
                });
                if let Some(jti) = jti {
                    claims["jti"] = json!(jti);
                }
                claims
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn signed_claims_verify_and_any_flipped_byte_is_rejected(
            claims in claims(),
            ec in any::<bool>(),
            flip_at in any::<prop::sample::Index>(),
            flip_bits in 1u8..=255,
        ) {
            let (signer, header) = if ec {
                (Signer::p256(), format!(r#"{{"alg":"ES256","kid":"{P256_KID}"}}"#))
            } else {
                (Signer::rsa(), format!(r#"{{"alg":"RS256","kid":"{RSA_KID}"}}"#))
            };
            let token = signer.sign(&header, &claims.to_string());
            let verifier = verifier();
            let verified = verifier.verify(&token, crate::helpers::at(NOW)).unwrap();
            prop_assert_eq!(serde_json::to_value(verified.claims()).unwrap(), claims);

            let mut bytes = token.into_bytes();
            let at = flip_at.index(bytes.len());
            bytes[at] ^= flip_bits;
            // A flip may leave invalid UTF-8: such a token is not even a string.
            if let Ok(mutated) = String::from_utf8(bytes) {
                prop_assert!(verifier.verify(&mutated, crate::helpers::at(NOW)).is_err(), "accepted a token flipped at {}", at);
            }
        }
    }
}
