//! The trust policy parser, evaluator and linter never panic; the parser accepts only JSON
//! serde_json accepts; `decide` agrees with `evaluate`; the deciding statements fit the
//! decision; a refused document lints as exactly one error finding.
#![no_main]

use irsa::policy::{
    ContextValue, Decision, Effect, LintOptions, Request, Severity, TrustPolicy, lint,
    lint_document,
};
use libfuzzer_sys::fuzz_target;

const PROVIDER: &str = "arn:aws:iam::111122223333:oidc-provider/oidc.example.com";

fn requests() -> [Request; 3] {
    let action = "sts:AssumeRoleWithWebIdentity";
    [
        Request::new(PROVIDER, action)
            .with_value("oidc.example.com:sub", "system:serviceaccount:ns:app")
            .with_value("oidc.example.com:aud", "sts.amazonaws.com")
            .with_value("aws:FederatedProvider", PROVIDER),
        Request::new(PROVIDER, action)
            .with_value(
                "oidc.example.com:amr",
                vec!["pwd".to_owned(), "mfa".to_owned()],
            )
            .with_value("aws:SourceIp", "203.0.113.7")
            .with_value("aws:CurrentTime", "2020-01-01T00:00:00Z")
            .with_value("test:n", "10.5")
            .with_value("aws:username", "a*b?"),
        Request::new("accounts.google.com", "STS:AssumeRole")
            .with_value("oidc.example.com:amr", ContextValue::Multi(Vec::new())),
    ]
}

fuzz_target!(|data: &[u8]| {
    let options = LintOptions::default();
    let policy = match TrustPolicy::parse(data) {
        Ok(policy) => policy,
        Err(e) => {
            let _ = (e.to_string(), e.iam_message());
            let findings = lint_document(data, &options);
            assert_eq!(findings.len(), 1);
            assert_eq!(findings[0].severity, Severity::Error);
            return;
        }
    };
    serde_json::from_slice::<serde_json::Value>(data)
        .expect("the policy parser accepted JSON that serde_json refuses");
    assert!(policy.size() <= data.len());
    for request in requests() {
        let evaluation = policy.evaluate(&request);
        assert_eq!(policy.decide(&request), evaluation.decision);
        let deciding: Vec<_> = evaluation.deciding().collect();
        match evaluation.decision {
            Decision::ImplicitDeny => assert!(deciding.is_empty()),
            Decision::Allow => assert!(deciding.iter().all(|s| s.effect == Effect::Allow)),
            Decision::ExplicitDeny => assert!(deciding.iter().all(|s| s.effect == Effect::Deny)),
            _ => {}
        }
        assert!(
            !matches!(
                evaluation.decision,
                Decision::Allow | Decision::ExplicitDeny
            ) || !deciding.is_empty()
        );
    }
    assert_eq!(lint(&policy, &options), lint_document(data, &options));
});
