//! Tokens minted as kube-apiserver mints them: the Kubernetes vector token reproduced byte for
//! byte, and every key form's tokens accepted by our verifier and by jsonwebtoken.

use crate::helpers;

use helpers::text;
use irsa::oidc::{JwkSet, JwsAlgorithm, PublicKey};
use irsa::token::{BoundToken, MintError, SigningKey, Subject, Verifier};

/// The vector tokens' `iat`: 2018-01-01T00:00:00Z.
const IAT: i64 = 1_514_764_800;

/// The inputs behind `claims.bound.json` (see the vectors' README).
fn vector_request() -> BoundToken {
    BoundToken::new(
        "https://issuer.example.com".parse().unwrap(),
        Subject::new("myns", "mysvcacct").unwrap(),
        "d5b3f0a1-7c2e-4b8a-9e61-0f3c2a9b7d41",
    )
    .audience("sts.amazonaws.com")
    .service_account_uid("mysvcacct-uid")
    .pod("mypod", Some("mypod-uid".to_owned()))
    .node("mynode", Some("mynode-uid".to_owned()))
}

#[test]
fn the_vector_token_is_reproduced_byte_for_byte() {
    let request = vector_request();
    let claims = request.claims(crate::helpers::at(IAT));
    let expected: serde_json::Value =
        serde_json::from_str(&text("k8s-vectors/claims.bound.json")).unwrap();
    // Member order is part of the comparison: both are written in order, compactly.
    assert_eq!(
        serde_json::to_string(&claims).unwrap(),
        serde_json::to_string(&expected).unwrap()
    );
    // RS256 is deterministic: the same header and claims give the vector's token exactly.
    let key = SigningKey::from_pem(&text("k8s-vectors/rsa-private.pem")).unwrap();
    let token = key
        .sign(&vector_request(), crate::helpers::at(IAT))
        .unwrap();
    assert_eq!(
        token.expose_secret(),
        text("k8s-vectors/token.bound.rs256.jwt")
    );
}

#[test]
fn every_key_form_mints_tokens_both_verifiers_accept() {
    let keys = [
        ("k8s-vectors/rsa-private.pem", JwsAlgorithm::RS256),
        ("keys/rsa-private.pkcs8.pem", JwsAlgorithm::RS256),
        ("k8s-vectors/ecdsa-p256-private.pem", JwsAlgorithm::ES256),
        ("keys/ecdsa-p256-private.pkcs8.pem", JwsAlgorithm::ES256),
        (
            "keys/ecdsa-p256-private.no-public.sec1.pem",
            JwsAlgorithm::ES256,
        ),
        (
            "keys/ecdsa-p384-private.with-params.pem",
            JwsAlgorithm::ES384,
        ),
        ("k8s-vectors/ecdsa-p521-private.pem", JwsAlgorithm::ES512),
    ];
    let now = IAT + 60;
    for (path, alg) in keys {
        let key = SigningKey::from_pem(&text(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(key.algorithm(), alg, "{path}");
        let public = PublicKey::from_pem(&text(path)).unwrap().remove(0);
        assert_eq!(key.public_key().key_id(), public.key_id(), "{path}");
        let request = vector_request().audience("vault").expiration_seconds(3600);
        let token = key.sign(&request, crate::helpers::at(IAT)).unwrap();

        let set = JwkSet::from_public_keys(std::slice::from_ref(key.public_key())).unwrap();
        let verifier = Verifier::builder(&set)
            .issuer("https://issuer.example.com".parse().unwrap())
            .audience("vault")
            .build()
            .unwrap();
        let verified = verifier
            .verify(token.expose_secret(), crate::helpers::at(now))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(verified.algorithm(), alg);
        assert_eq!(verified.kid(), Some(public.key_id()));
        assert_eq!(verified.claims().exp, Some(IAT + 3600));

        // jsonwebtoken, from the published JWK, with its own clock turned off.
        let published: serde_json::Value = serde_json::from_str(&set.to_json()).unwrap();
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(published["keys"][0].clone()).unwrap();
        let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(match alg {
            JwsAlgorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            JwsAlgorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            JwsAlgorithm::ES384 => jsonwebtoken::Algorithm::ES384,
            // jsonwebtoken has no ES512: its signature is checked by our verifier above.
            _ => continue,
        });
        validation.validate_exp = false;
        validation.set_audience(&["vault"]);
        validation.set_issuer(&["https://issuer.example.com"]);
        jsonwebtoken::decode::<serde_json::Value>(token.expose_secret(), &decoding, &validation)
            .unwrap_or_else(|e| panic!("{path}: jsonwebtoken: {e}"));
    }
}

#[test]
fn what_cannot_sign_is_refused_and_the_key_never_shows() {
    assert_eq!(
        SigningKey::from_pem(&text("k8s-vectors/rsa-public.pem")).unwrap_err(),
        MintError::PublicKeyOnly
    );
    let key = SigningKey::from_pem(&text("k8s-vectors/rsa-private.pem")).unwrap();
    assert_eq!(
        key.sign(
            &vector_request().expiration_seconds(599),
            crate::helpers::at(IAT)
        ),
        Err(MintError::ExpirationTooShort { seconds: 599 })
    );
    let debug = format!("{key:?}");
    assert_eq!(
        debug,
        "SigningKey { algorithm: RS256, kid: \"JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU\", .. }"
    );
    let token = key
        .sign(&vector_request(), crate::helpers::at(IAT))
        .unwrap();
    assert!(!format!("{token:?}").contains(&token.expose_secret()[..20]));
}
