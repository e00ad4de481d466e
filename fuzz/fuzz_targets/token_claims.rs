//! The claims reader against serde_json: it accepts only JSON that serde_json accepts, and
//! reads the same values from it. (It may refuse more: duplicate names, wrong claim types.)
#![no_main]

use irsa::token::{Claims, Header};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let reference = serde_json::from_slice::<Value>(data);
    let _ = Header::from_json(data);
    let Ok(claims) = Claims::from_json(data) else {
        return;
    };
    let value = reference.expect("the claims reader accepted JSON that serde_json refuses");
    let text = |name: &str| value.get(name).and_then(Value::as_str);
    assert_eq!(claims.iss.as_deref(), text("iss"));
    assert_eq!(claims.sub.as_deref(), text("sub"));
    assert_eq!(claims.jti.as_deref(), text("jti"));
    if let Some(exp) = value.get("exp").and_then(Value::as_i64) {
        assert_eq!(claims.exp, Some(exp));
    }
    let namespace = value
        .get("kubernetes.io")
        .and_then(|k| k.get("namespace"))
        .and_then(Value::as_str);
    assert_eq!(
        claims
            .kubernetes
            .as_ref()
            .and_then(|k| k.namespace.as_deref()),
        namespace
    );
});
