//! The Kubernetes (and azure-workload-identity) vectors, reproduced byte for byte.
//!
//! Data: `tests/data/k8s-vectors/` (see its README.txt for origins and licences).

use crate::helpers;

use helpers::{P256_KID, RSA_KID, data, text};
use irsa::oidc::{DiscoveryError, JwkSet, JwsAlgorithm, KeyError, OpenIdConfiguration, PublicKey};

fn key(path: &str) -> PublicKey {
    let bytes = data(path);
    let mut keys = if path.ends_with(".der") {
        vec![PublicKey::from_der(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"))]
    } else {
        PublicKey::from_pem(&text(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    assert_eq!(keys.len(), 1, "{path}");
    keys.remove(0)
}

const P521_KID: &str = "892oXS8SSgNldETvo92mBIZWLBmYJP4dJ3ILGpO-UcM";

#[test]
fn kids_and_algorithms_of_every_key_form() {
    let cases: &[(&str, &str, JwsAlgorithm)] = &[
        ("k8s-vectors/rsa-public.pem", RSA_KID, JwsAlgorithm::RS256),
        ("k8s-vectors/rsa-private.pem", RSA_KID, JwsAlgorithm::RS256),
        ("keys/rsa-private.pkcs8.pem", RSA_KID, JwsAlgorithm::RS256),
        ("keys/rsa-public.pkcs1.pem", RSA_KID, JwsAlgorithm::RS256),
        ("keys/rsa-public.spki.der", RSA_KID, JwsAlgorithm::RS256),
        (
            "k8s-vectors/ecdsa-p256-public.pem",
            P256_KID,
            JwsAlgorithm::ES256,
        ),
        (
            "k8s-vectors/ecdsa-p256-private.pem",
            P256_KID,
            JwsAlgorithm::ES256,
        ),
        (
            "keys/ecdsa-p256-private.pkcs8.pem",
            P256_KID,
            JwsAlgorithm::ES256,
        ),
        (
            "keys/ecdsa-p256-private.no-public.sec1.pem",
            P256_KID,
            JwsAlgorithm::ES256,
        ),
        (
            "keys/ecdsa-p256-private.no-public.pkcs8.pem",
            P256_KID,
            JwsAlgorithm::ES256,
        ),
        (
            "k8s-vectors/ecdsa-p521-private.pem",
            P521_KID,
            JwsAlgorithm::ES512,
        ),
        (
            "k8s-vectors/ecdsa-p521-public.pem",
            P521_KID,
            JwsAlgorithm::ES512,
        ),
        (
            "keys/ecdsa-p521-private.pkcs8.der",
            P521_KID,
            JwsAlgorithm::ES512,
        ),
        (
            "k8s-vectors/azwi-rsa-public.pem",
            "2A3FPpix2keOV1SGPQiM0_wVemz4XOIgQyJJnpu5sPE",
            JwsAlgorithm::RS256,
        ),
        (
            "k8s-vectors/rsa-other-public.pem",
            "yEooMTEt7THsoVd-yf2m_0tmtgtZWGhAPFm296R5q18",
            JwsAlgorithm::RS256,
        ),
    ];
    for (path, kid, alg) in cases {
        let key = key(path);
        assert_eq!((key.key_id(), key.algorithm()), (*kid, *alg), "{path}");
    }
    let p384_kid = text("keys/ecdsa-p384.kid.txt");
    for path in [
        "keys/ecdsa-p384-private.with-params.pem",
        "keys/ecdsa-p384-public.pem",
    ] {
        let key = key(path);
        assert_eq!(
            (key.key_id(), key.algorithm()),
            (p384_kid.trim(), JwsAlgorithm::ES384),
            "{path}"
        );
    }
}

#[test]
fn public_keys_round_trip_through_pem() {
    for path in [
        "k8s-vectors/rsa-public.pem",
        "k8s-vectors/ecdsa-p256-public.pem",
    ] {
        assert_eq!(key(path).to_pem(), text(path), "{path}");
    }
}

#[test]
fn unusable_keys_are_refused_with_their_reason() {
    let refuse = |path: &str| PublicKey::from_pem(&text(path)).unwrap_err();
    assert_eq!(
        refuse("keys/rsa-1024-public.pem"),
        KeyError::RsaSize { bits: 1024 }
    );
    assert_eq!(
        refuse("keys/ecdsa-p256-public.compressed.pem"),
        KeyError::CompressedPoint
    );
    assert_eq!(
        refuse("keys/ed25519-private.pem"),
        KeyError::UnsupportedKeyType {
            oid: "1.3.101.112".into()
        }
    );
    assert_eq!(
        refuse("keys/secp256k1-private.pem"),
        KeyError::UnsupportedCurve {
            oid: "1.3.132.0.10".into()
        }
    );
}

#[test]
fn a_pem_file_with_several_keys_yields_all_of_them() {
    let both = text("k8s-vectors/rsa-public.pem") + &text("k8s-vectors/ecdsa-p256-private.pem");
    let kids: Vec<String> = PublicKey::from_pem(&both)
        .unwrap()
        .iter()
        .map(|k| k.key_id().to_owned())
        .collect();
    assert_eq!(kids, [RSA_KID, P256_KID]);
}

fn rsa_ecdsa_set(private: bool) -> JwkSet {
    let (rsa, ec) = if private {
        (
            "k8s-vectors/rsa-private.pem",
            "k8s-vectors/ecdsa-p256-private.pem",
        )
    } else {
        (
            "k8s-vectors/rsa-public.pem",
            "k8s-vectors/ecdsa-p256-public.pem",
        )
    };
    JwkSet::from_public_keys(&[key(rsa), key(ec)]).unwrap()
}

#[test]
fn jwks_byte_identical_to_kube_apiserver() {
    let want = text("k8s-vectors/jwks.rsa-ecdsa.json");
    // kube-apiserver publishes the same set whether it was given public or private keys.
    assert_eq!(rsa_ecdsa_set(false).to_json(), want);
    assert_eq!(rsa_ecdsa_set(true).to_json(), want);

    let p521 = JwkSet::from_public_keys(&[key("k8s-vectors/ecdsa-p521-public.pem")]).unwrap();
    assert_eq!(p521.to_json(), text("k8s-vectors/jwks.p521.computed.json"));

    let azwi = JwkSet::from_public_keys(&[key("k8s-vectors/azwi-rsa-public.pem")]).unwrap();
    assert_eq!(azwi.to_json(), text("k8s-vectors/azwi-jwks.rsa.json"));
}

#[test]
fn parsed_key_sets_reserialise_byte_for_byte() {
    for path in [
        "k8s-vectors/jwks.rsa-ecdsa.json",
        "k8s-vectors/jwks.p521.computed.json",
        "k8s-vectors/azwi-jwks.rsa.json",
    ] {
        let set = JwkSet::parse(&data(path)).unwrap();
        assert_eq!(set.to_json(), text(path), "{path}");
        let kids: Vec<_> = set
            .keys()
            .iter()
            .map(|k| k.public_key().unwrap().key_id())
            .collect();
        let declared: Vec<_> = set.keys().iter().map(|k| k.kid().unwrap()).collect();
        assert_eq!(
            kids, declared,
            "{path}: published kids are the derived ones"
        );
    }
}

#[test]
fn discovery_documents_byte_identical_to_kube_apiserver() {
    let keys = rsa_ecdsa_set(false);
    let cases = [
        (
            "https://issuer.example.com",
            "https://issuer.example.com/openid/v1/jwks",
            "",
            "issuer-example",
        ),
        (
            "https://issuer.example.com",
            "",
            "192.0.2.1:80",
            "external-address",
        ),
        (
            "https://192.0.2.1:80",
            "https://192.0.2.1:80/openid/v1/jwks",
            "",
            "ip-issuer",
        ),
    ];
    for (issuer, jwks_uri, external, name) in cases {
        let path = format!("k8s-vectors/openid-configuration.{name}.json");
        let doc = OpenIdConfiguration::for_apiserver(issuer, jwks_uri, external, &keys).unwrap();
        assert_eq!(doc.to_json(), text(&path), "{name}");
        assert_eq!(
            OpenIdConfiguration::parse(&data(&path)).unwrap(),
            doc,
            "{name}"
        );
    }
    // The statically hosted form of the first case is the same document.
    let issuer = "https://issuer.example.com".parse().unwrap();
    assert_eq!(
        OpenIdConfiguration::new(&issuer, &keys).unwrap().to_json(),
        text("k8s-vectors/openid-configuration.issuer-example.json")
    );
}

#[test]
fn kubernetes_negative_discovery_cases() {
    // TestNewOpenIDMetadata's error cases for jwksURI and externalAddress.
    let keys = rsa_ecdsa_set(false);
    let build = |jwks_uri: &str, external: &str| {
        OpenIdConfiguration::for_apiserver("https://issuer.example.com", jwks_uri, external, &keys)
    };
    for jwks_uri in [
        "http://issuer.example.com/openid/v1/jwks",
        "issuer.example.com/openid/v1/jwks",
        "issuer/openid/v1/jwks",
    ] {
        assert!(
            matches!(build(jwks_uri, ""), Err(DiscoveryError::JwksUri { ref uri, .. }) if uri == jwks_uri),
            "{jwks_uri}"
        );
    }
    for external in ["https://192.0.2.1:80", ""] {
        assert_eq!(
            build("", external),
            Err(DiscoveryError::ExternalAddress {
                address: external.into()
            })
        );
    }
    for issuer in [
        "http://issuer.example.com",
        "issuer.example.com",
        "https://issuer.example.com?foo=bar",
        "https://issuer.example.com#baz",
        "https://issuer.example.com?foo=bar#baz",
        "issuer",
    ] {
        let result = OpenIdConfiguration::for_apiserver(
            issuer,
            "https://issuer.example.com/openid/v1/jwks",
            "",
            &keys,
        );
        assert!(matches!(result, Err(DiscoveryError::Issuer(_))), "{issuer}");
    }
}

#[test]
fn key_rotation_merges_sets_by_kid() {
    let old = JwkSet::parse(&data("k8s-vectors/jwks.rsa-ecdsa.json")).unwrap();
    let new = JwkSet::from_public_keys(&[
        key("k8s-vectors/ecdsa-p256-private.pem"),
        key("k8s-vectors/ecdsa-p521-public.pem"),
    ])
    .unwrap();
    let merged = old.merge(&new).unwrap();
    let kids: Vec<_> = merged.keys().iter().map(|k| k.kid().unwrap()).collect();
    assert_eq!(kids, [RSA_KID, P256_KID, P521_KID]);
    assert_eq!(
        merged.algorithms(),
        [
            JwsAlgorithm::ES256,
            JwsAlgorithm::ES512,
            JwsAlgorithm::RS256
        ]
    );
}
