//! The verifier against the Kubernetes token vectors, and one rejecting case per rule.

use crate::helpers;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use helpers::{ISSUER, NOW, P256_KID, RSA_KID, Signer, claims, data, text};
use irsa::oidc::{JwkSet, JwsAlgorithm, PublicKey};
use irsa::token::{
    ClaimsError, MalformedToken, Rejection, StsErrorCode, TokenKind, UnverifiedToken, Verifier,
};
use serde_json::{Value, json};

fn jwks(path: &str) -> JwkSet {
    JwkSet::parse(&data(path)).unwrap()
}

fn verifier(keys: &JwkSet) -> Verifier {
    Verifier::builder(keys)
        .issuer(ISSUER.parse().unwrap())
        .build()
        .unwrap()
}

fn rsa_ec() -> Verifier {
    verifier(&jwks("k8s-vectors/jwks.rsa-ecdsa.json"))
}

fn reject(verifier: &Verifier, token: &str) -> Rejection {
    verifier.verify(token, crate::helpers::at(NOW)).unwrap_err()
}

fn rsa_token(header: &str, claims: &str) -> String {
    Signer::rsa().sign(header, claims)
}

const RS256: &str = r#"{"alg":"RS256","kid":"JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU"}"#;

#[test]
fn kubernetes_vector_tokens_verify_with_their_keys() {
    let want: Value = serde_json::from_slice(&data("k8s-vectors/claims.bound.json")).unwrap();
    let cases = [
        (
            "token.bound.rs256.jwt",
            "jwks.rsa-ecdsa.json",
            JwsAlgorithm::RS256,
            RSA_KID,
        ),
        (
            "token.bound.es256.jwt",
            "jwks.rsa-ecdsa.json",
            JwsAlgorithm::ES256,
            P256_KID,
        ),
        (
            "token.bound.es512-p521.jwt",
            "jwks.p521.computed.json",
            JwsAlgorithm::ES512,
            "892oXS8SSgNldETvo92mBIZWLBmYJP4dJ3ILGpO-UcM",
        ),
    ];
    for (token, keys, alg, kid) in cases {
        let token = text(&format!("k8s-vectors/{token}"));
        let verified = verifier(&jwks(&format!("k8s-vectors/{keys}")))
            .verify(&token, crate::helpers::at(NOW))
            .unwrap();
        assert_eq!((verified.algorithm(), verified.kid()), (alg, Some(kid)));
        assert_eq!(
            serde_json::to_value(verified.claims()).unwrap(),
            want,
            "{token}"
        );
        assert_eq!(verified.claims().kind(), TokenKind::Bound);
        let subject = verified.subject().unwrap();
        assert_eq!((subject.namespace(), subject.name()), ("myns", "mysvcacct"));
    }
}

#[test]
fn extended_api_audience_token_needs_its_audience() {
    let token = text("k8s-vectors/token.kube-audience-extended.rs256.jwt");
    let keys = jwks("k8s-vectors/jwks.rsa-ecdsa.json");
    let rejection = reject(&verifier(&keys), &token);
    assert_eq!(
        rejection,
        Rejection::WrongAudience {
            aud: vec![ISSUER.into()],
            expected: vec!["sts.amazonaws.com".into()]
        }
    );
    assert_eq!(
        rejection.sts_message().as_deref(),
        Some("Incorrect token audience")
    );
    let api = Verifier::builder(&keys)
        .issuer(ISSUER.parse().unwrap())
        .audience(ISSUER)
        .build()
        .unwrap();
    let verified = api.verify(&token, crate::helpers::at(NOW)).unwrap();
    let want: Value =
        serde_json::from_slice(&data("k8s-vectors/claims.kube-audience-extended.json")).unwrap();
    assert_eq!(serde_json::to_value(verified.claims()).unwrap(), want);
}

#[test]
fn tampered_payload_and_other_key_fail_the_signature() {
    let tampered = text("k8s-vectors/token.bound.rs256.tampered-payload.jwt");
    assert_eq!(
        reject(&rsa_ec(), &tampered),
        Rejection::BadSignature {
            kid: Some(RSA_KID.into())
        }
    );
    // The other key published under the real key's kid: the signature must not verify.
    let other = PublicKey::from_pem(&text("k8s-vectors/rsa-other-public.pem"))
        .unwrap()
        .remove(0);
    let mut jwk = serde_json::to_value(JwkSet::from_public_keys([&other]).unwrap()).unwrap();
    jwk["keys"][0]["kid"] = json!(RSA_KID);
    let impostor = JwkSet::parse(jwk.to_string().as_bytes()).unwrap();
    let token = text("k8s-vectors/token.bound.rs256.jwt");
    assert_eq!(
        reject(&verifier(&impostor), &token),
        Rejection::BadSignature {
            kid: Some(RSA_KID.into())
        }
    );
}

#[test]
fn legacy_token_is_refused_with_its_reason() {
    let token = text("k8s-vectors/token.legacy.rs256.jwt");
    let rejection = reject(&rsa_ec(), &token);
    assert_eq!(
        rejection,
        Rejection::LegacyToken {
            iss: "kubernetes/serviceaccount".into()
        }
    );
    assert_eq!(rejection.sts_code(), StsErrorCode::InvalidIdentityToken);
    assert_eq!(
        rejection.sts_message().as_deref(),
        Some("No OpenIDConnect provider found in your account for kubernetes/serviceaccount")
    );
    let unverified = UnverifiedToken::inspect(&token).unwrap();
    let legacy = unverified.claims_unverified().legacy.as_ref().unwrap();
    assert_eq!(legacy.secret_name.as_deref(), Some("my-rsa-secret"));
    assert_eq!(unverified.claims_unverified().kind(), TokenKind::Legacy);
}

#[test]
fn structural_rules() {
    let v = rsa_ec();
    let good = rsa_token(RS256, &claims(&[]));
    let malformed = |token: &str| match reject(&v, token) {
        Rejection::Malformed(m) => m,
        other => panic!("{token}: {other:?}"),
    };
    assert_eq!(malformed("a.b"), MalformedToken::Length { len: 3 });
    assert_eq!(
        malformed(&"a".repeat(20_001)),
        MalformedToken::Length { len: 20_001 }
    );
    assert_eq!(
        malformed("abcd.efgh"),
        MalformedToken::Segments { segments: 2 }
    );
    assert_eq!(
        malformed(&format!("{good}.x")),
        MalformedToken::Segments { segments: 4 }
    );
    assert_eq!(
        malformed(&format!("{good}=")),
        MalformedToken::Base64 {
            segment: "signature"
        }
    );
    assert_eq!(
        malformed(&format!("{good}\n")),
        MalformedToken::Base64 {
            segment: "signature"
        }
    );
    assert_eq!(
        malformed(&good.replacen('e', "+", 1)),
        MalformedToken::Base64 { segment: "header" }
    );
    let (header, rest) = good.split_once('.').unwrap();
    assert_eq!(
        malformed(&format!("{header}..{}", rest.split_once('.').unwrap().1)),
        MalformedToken::Base64 { segment: "payload" }
    );
    let dup = rsa_token(RS256, r#"{"sub":"a","sub":"b"}"#);
    assert_eq!(
        malformed(&dup),
        MalformedToken::Json {
            segment: "payload",
            source: ClaimsError::Duplicate {
                member: "sub".into()
            }
        }
    );
    let typed = rsa_token(RS256, &claims(&[("exp", json!("1514851200"))]));
    assert_eq!(
        malformed(&typed),
        MalformedToken::Json {
            segment: "payload",
            source: ClaimsError::WrongType {
                claim: "exp".into(),
                expected: "a number"
            }
        }
    );
    let header_dup = rsa_token(r#"{"alg":"RS256","alg":"RS256"}"#, &claims(&[]));
    assert!(matches!(
        malformed(&header_dup),
        MalformedToken::Json {
            segment: "header",
            ..
        }
    ));
    assert!(v.verify(&good, crate::helpers::at(NOW)).is_ok());
}

#[test]
fn header_rules() {
    let v = rsa_ec();
    for alg in ["none", "HS256", "PS256", "RS256 ", "rs256", "EdDSA"] {
        let token = rsa_token(
            &format!(r#"{{"alg":"{alg}","kid":"{RSA_KID}"}}"#),
            &claims(&[]),
        );
        assert_eq!(
            reject(&v, &token),
            Rejection::Algorithm { alg: alg.into() },
            "{alg}"
        );
    }
    let crit = rsa_token(
        &format!(r#"{{"alg":"RS256","kid":"{RSA_KID}","crit":["exp"]}}"#),
        &claims(&[]),
    );
    assert_eq!(reject(&v, &crit), Rejection::Critical);
}

#[test]
fn key_selection_rules() {
    let v = rsa_ec();
    let unknown = rsa_token(r#"{"alg":"RS256","kid":"nope"}"#, &claims(&[]));
    assert_eq!(
        reject(&v, &unknown),
        Rejection::UnknownKid { kid: "nope".into() }
    );
    // An ES256 header naming the RSA key.
    let mismatch = Signer::p256().sign(
        &format!(r#"{{"alg":"ES256","kid":"{RSA_KID}"}}"#),
        &claims(&[]),
    );
    assert!(matches!(
        reject(&v, &mismatch),
        Rejection::KeyMismatch {
            alg: JwsAlgorithm::ES256,
            ..
        }
    ));
    // The JWK declares RS256; an RS384 signature by the same key is refused.
    let rs384 = rsa_token(
        &format!(r#"{{"alg":"RS384","kid":"{RSA_KID}"}}"#),
        &claims(&[]),
    );
    assert!(matches!(
        reject(&v, &rs384),
        Rejection::KeyMismatch {
            alg: JwsAlgorithm::RS384,
            ..
        }
    ));
    // Without a declared alg, the same key verifies RS384 and RS512.
    let mut set = serde_json::to_value(jwks("k8s-vectors/jwks.rsa-ecdsa.json")).unwrap();
    set["keys"][0].as_object_mut().unwrap().remove("alg");
    let undeclared = verifier(&JwkSet::parse(set.to_string().as_bytes()).unwrap());
    for alg in ["RS384", "RS512"] {
        let token = rsa_token(
            &format!(r#"{{"alg":"{alg}","kid":"{RSA_KID}"}}"#),
            &claims(&[]),
        );
        assert_eq!(
            undeclared
                .verify(&token, crate::helpers::at(NOW))
                .unwrap()
                .algorithm()
                .as_str(),
            alg
        );
    }
    // No kid: the one key fitting the algorithm is used.
    let no_kid = rsa_token(r#"{"alg":"RS256"}"#, &claims(&[]));
    assert_eq!(
        v.verify(&no_kid, crate::helpers::at(NOW)).unwrap().kid(),
        Some(RSA_KID)
    );
    let es_no_kid = Signer::p256().sign(r#"{"alg":"ES256"}"#, &claims(&[]));
    assert_eq!(
        v.verify(&es_no_kid, crate::helpers::at(NOW)).unwrap().kid(),
        Some(P256_KID)
    );
    // No kid and two RSA keys: ambiguous.
    let two = jwks("k8s-vectors/jwks.rsa-ecdsa.json")
        .merge(
            &JwkSet::from_public_keys(
                &PublicKey::from_pem(&text("k8s-vectors/rsa-other-public.pem")).unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!(
        reject(&verifier(&two), &no_kid),
        Rejection::AmbiguousKey {
            alg: JwsAlgorithm::RS256,
            candidates: 2
        }
    );
}

#[test]
fn ecdsa_signatures_must_be_jose_r_s() {
    let signer = Signer::p256();
    let header = format!(r#"{{"alg":"ES256","kid":"{P256_KID}"}}"#);
    let token = signer.sign(&header, &claims(&[]));
    let (input, signature) = token.rsplit_once('.').unwrap();
    let rs = URL_SAFE_NO_PAD.decode(signature).unwrap();
    // The same signature DER-encoded, as some libraries emit it.
    let int = |b: &[u8]| {
        let b: Vec<u8> = b.iter().copied().skip_while(|x| *x == 0).collect();
        let mut v = if b[0] & 0x80 != 0 { vec![0] } else { vec![] };
        v.extend(b);
        [vec![0x02, v.len() as u8], v].concat()
    };
    let body = [int(&rs[..32]), int(&rs[32..])].concat();
    let der = [vec![0x30, body.len() as u8], body].concat();
    let der_token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&der));
    assert_eq!(
        reject(&rsa_ec(), &der_token),
        Rejection::SignatureLength {
            alg: JwsAlgorithm::ES256,
            len: der.len(),
            expected: 64
        }
    );
    assert!(rsa_ec().verify(&token, crate::helpers::at(NOW)).is_ok());
}

#[test]
fn issuer_rules_compare_exactly() {
    let v = rsa_ec();
    for iss in [
        "https://issuer.example.com/",
        "https://Issuer.example.com",
        "http://issuer.example.com",
    ] {
        let token = rsa_token(RS256, &claims(&[("iss", json!(iss))]));
        let rejection = reject(&v, &token);
        assert_eq!(
            rejection,
            Rejection::UnknownIssuer {
                iss: iss.into(),
                expected: vec![ISSUER.into()]
            }
        );
        assert_eq!(
            rejection.sts_message(),
            Some(format!(
                "No OpenIDConnect provider found in your account for {iss}"
            ))
        );
    }
    let token = rsa_token(RS256, &claims(&[("iss", Value::Null)]));
    assert_eq!(reject(&v, &token), Rejection::MissingIssuer);
}

#[test]
fn audience_and_subject_rules() {
    let v = rsa_ec();
    let no_aud = rsa_token(RS256, &claims(&[("aud", Value::Null)]));
    let rejection = reject(&v, &no_aud);
    assert_eq!(rejection, Rejection::MissingAudience);
    assert_eq!(
        rejection.sts_message().as_deref(),
        Some("Missing a required claim: aud")
    );
    let string_aud = rsa_token(RS256, &claims(&[("aud", json!("sts.amazonaws.com"))]));
    assert!(v.verify(&string_aud, crate::helpers::at(NOW)).is_ok());
    let many = rsa_token(
        RS256,
        &claims(&[("aud", json!(["x", "sts.amazonaws.com"]))]),
    );
    assert!(v.verify(&many, crate::helpers::at(NOW)).is_ok());
    let empty = rsa_token(RS256, &claims(&[("aud", json!([]))]));
    assert!(matches!(
        reject(&v, &empty),
        Rejection::WrongAudience { .. }
    ));
    let no_sub = rsa_token(RS256, &claims(&[("sub", Value::Null)]));
    let rejection = reject(&v, &no_sub);
    assert_eq!(rejection, Rejection::MissingSubject);
    assert_eq!(
        rejection.sts_message().as_deref(),
        Some("Missing a required claim: sub")
    );
}

#[test]
fn time_rules_with_skew() {
    let v = rsa_ec();
    let exp = 1_514_851_200;
    let token = rsa_token(RS256, &claims(&[]));
    assert!(v.verify(&token, crate::helpers::at(exp + 300)).is_ok());
    let rejection = v.verify(&token, crate::helpers::at(exp + 301)).unwrap_err();
    assert_eq!(
        rejection,
        Rejection::Expired {
            exp,
            now: exp + 301,
            skew: 300
        }
    );
    assert_eq!(rejection.sts_code(), StsErrorCode::ExpiredTokenException);
    assert_eq!(
        rejection.sts_message().as_deref(),
        Some(
            "Token expired: current date/time 1514851501 must be before the expiration date/time1514851200"
        )
    );
    let no_exp = rsa_token(RS256, &claims(&[("exp", Value::Null)]));
    assert_eq!(reject(&v, &no_exp), Rejection::MissingExpiry);

    let nbf = rsa_token(RS256, &claims(&[("nbf", json!(NOW + 301))]));
    assert_eq!(
        reject(&v, &nbf),
        Rejection::NotYetValid {
            nbf: NOW + 301,
            now: NOW
        }
    );
    let nbf_ok = rsa_token(RS256, &claims(&[("nbf", json!(NOW + 300))]));
    assert!(v.verify(&nbf_ok, crate::helpers::at(NOW)).is_ok());
    let iat = rsa_token(
        RS256,
        &claims(&[("iat", json!(NOW + 301)), ("nbf", Value::Null)]),
    );
    assert_eq!(
        reject(&v, &iat),
        Rejection::IssuedInFuture {
            iat: NOW + 301,
            now: NOW
        }
    );

    let strict = Verifier::builder(&jwks("k8s-vectors/jwks.rsa-ecdsa.json"))
        .issuer(ISSUER.parse().unwrap())
        .clock_skew(Duration::ZERO)
        .build()
        .unwrap();
    assert!(strict.verify(&token, crate::helpers::at(exp)).is_ok());
    assert!(matches!(
        strict.verify(&token, crate::helpers::at(exp + 1)),
        Err(Rejection::Expired { skew: 0, .. })
    ));
}

#[test]
fn cache_serves_only_the_same_token_until_it_expires() {
    let keys = jwks("k8s-vectors/jwks.rsa-ecdsa.json");
    let v = Verifier::builder(&keys)
        .issuer(ISSUER.parse().unwrap())
        .cache(2, Duration::from_secs(60))
        .build()
        .unwrap();
    let token = text("k8s-vectors/token.bound.rs256.jwt");
    let first = v.verify(&token, crate::helpers::at(NOW)).unwrap();
    assert_eq!(
        v.verify(&token, crate::helpers::at(NOW + 59)).unwrap(),
        first
    );
    // The tampered token is not served from the cache.
    let tampered = text("k8s-vectors/token.bound.rs256.tampered-payload.jwt");
    assert!(matches!(
        v.verify(&tampered, crate::helpers::at(NOW)),
        Err(Rejection::BadSignature { .. })
    ));
    // Past the cache TTL the token is verified again, and still past exp it is refused.
    assert!(v.verify(&token, crate::helpers::at(NOW + 61)).is_ok());
    assert!(matches!(
        v.verify(&token, crate::helpers::at(1_514_851_200 + 301)),
        Err(Rejection::Expired { .. })
    ));
    // Replacing the keys drops cached verdicts.
    assert!(v.verify(&token, crate::helpers::at(NOW)).is_ok());
    let other = JwkSet::from_public_keys(
        &PublicKey::from_pem(&text("k8s-vectors/ecdsa-p256-public.pem")).unwrap(),
    )
    .unwrap();
    v.replace_keys(&other).unwrap();
    assert_eq!(
        v.verify(&token, crate::helpers::at(NOW)).unwrap_err(),
        Rejection::UnknownKid {
            kid: RSA_KID.into()
        }
    );
}

#[test]
fn no_token_reaches_debug_output() {
    let token_text = text("k8s-vectors/token.bound.rs256.jwt");
    let signature = token_text.rsplit_once('.').unwrap().1;
    let keys = jwks("k8s-vectors/jwks.rsa-ecdsa.json");
    let v = Verifier::builder(&keys)
        .issuer(ISSUER.parse().unwrap())
        .cache(4, Duration::from_secs(60))
        .build()
        .unwrap();
    let verified = v.verify(&token_text, crate::helpers::at(NOW)).unwrap();
    let token = irsa::token::WebIdentityToken::new(token_text.clone());
    let tampered = text("k8s-vectors/token.bound.rs256.tampered-payload.jwt");
    let rejection = v.verify(&tampered, crate::helpers::at(NOW)).unwrap_err();
    let shown = format!(
        "{token:?} {v:?} {verified:?} {rejection:?} {rejection} {:?}",
        UnverifiedToken::inspect(&token_text).unwrap()
    );
    assert!(!shown.contains(signature), "a signature leaked: {shown}");
    assert!(
        !shown.contains(&token_text[..40]),
        "a token prefix leaked: {shown}"
    );
}

#[test]
fn extreme_times_neither_overflow_nor_pass() {
    let v = Verifier::builder(&jwks("k8s-vectors/jwks.rsa-ecdsa.json"))
        .issuer(ISSUER.parse().unwrap())
        .cache(4, Duration::from_secs(60))
        .build()
        .unwrap();
    let ancient = rsa_token(
        RS256,
        &claims(&[("exp", json!(i64::MIN)), ("nbf", json!(i64::MIN))]),
    );
    let rejection = v
        .verify(&ancient, crate::helpers::at(i64::MAX))
        .unwrap_err();
    assert!(matches!(
        rejection,
        Rejection::Expired { exp: i64::MIN, .. }
    ));
    assert!(
        rejection
            .to_string()
            .contains("9223372036854775807 s before now")
    );
    let far = rsa_token(
        RS256,
        &claims(&[("nbf", json!(i64::MAX)), ("exp", json!(i64::MAX))]),
    );
    let rejection = v.verify(&far, crate::helpers::at(i64::MIN)).unwrap_err();
    assert!(
        matches!(rejection, Rejection::NotYetValid { .. }),
        "{rejection:?}"
    );
    let _ = rejection.to_string();
    let valid_forever = rsa_token(
        RS256,
        &claims(&[
            ("exp", json!(i64::MAX)),
            ("nbf", json!(i64::MIN)),
            ("iat", json!(i64::MIN)),
        ]),
    );
    assert!(v.verify(&valid_forever, crate::helpers::at(NOW)).is_ok());
    assert!(
        v.verify(&valid_forever, crate::helpers::at(NOW)).is_ok(),
        "served from the cache"
    );
}
