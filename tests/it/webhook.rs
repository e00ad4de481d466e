//! The pod patch generator against the EKS pod identity webhook's own fixtures, in both patch
//! styles, plus properties (patches apply, mutation is idempotent, styles agree) and
//! adversarial AdmissionReviews.

use crate::helpers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use irsa::webhook::{
    AdmissionErrorKind, AdmissionRequest, Identity, JsonPatch, PatchStyle, PodIdentityConfig,
    PodMutator, ServiceAccountAnnotations, WebhookConfig,
};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

/// One upstream fixture: the input pod (round-tripped through k8s-openapi, as the Go harness
/// decodes it into `corev1.Pod`), the configuration its annotations describe, and the
/// expected patch.
struct Fixture {
    name: String,
    pod: Value,
    identity: Identity,
    config: irsa::webhook::WebhookConfigBuilder,
    expected: Value,
}

fn fixture_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            fixture_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Maps the fixture's `testing.eks.amazonaws.com/*` annotations as the Go harness
/// (`handler_pod_test.go`) does; see tests/data/pod-identity-webhook and the conformance notes.
fn fixtures() -> Vec<Fixture> {
    let root = helpers::data_path("pod-identity-webhook");
    let mut files = Vec::new();
    fixture_files(&root, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let first_document = text.split("\n---").next().unwrap();
        let pod: Pod = serde_norway::from_str(first_document)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let annotations: BTreeMap<String, String> =
            pod.metadata.annotations.clone().unwrap_or_default();
        let get = |k: &str| annotations.get(&format!("testing.eks.amazonaws.com/{k}"));
        if get("skip").and_then(|s| go_bool(s)) == Some(true) {
            continue;
        }
        let mut sa = ServiceAccountAnnotations::default()
            .with_audience(get("serviceAccount/audience").map_or("sts.amazonaws.com", |s| s))
            .with_regional_sts(
                get("serviceAccount/sts-regional-endpoints")
                    .or(get("handler/injectSTS"))
                    .and_then(|s| go_bool(s))
                    .unwrap_or(false),
            )
            .with_token_expiration(
                get("serviceAccount/token-expiration")
                    .or(get("handler/expiration"))
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(86400),
            );
        if let Some(arn) = get("serviceAccount/roleArn") {
            sa = sa.with_role_arn(arn.as_str());
        }
        let mut config = WebhookConfig::builder();
        if let Some(region) = get("handler/region").filter(|r| !r.is_empty()) {
            config = config.region(region.as_str());
        }
        if let Some(path) = get("handler/mountPath") {
            config = config.mount_path(path.as_str());
        }
        let identity = match get("containercredentials/uri").filter(|u| !u.is_empty()) {
            Some(uri) => {
                let cc = |k: &str| get(&format!("containercredentials/{k}")).cloned();
                let mut pod_identity = PodIdentityConfig::default();
                pod_identity.audience = cc("audience").unwrap_or_default();
                pod_identity.mount_path = cc("mountPath").unwrap_or_default();
                pod_identity.volume_name = cc("volumeName").unwrap_or_default();
                pod_identity.token_path = cc("tokenPath").unwrap_or_default();
                pod_identity.full_uri = uri.clone();
                config = config.pod_identity(pod_identity);
                Identity::PodIdentity {
                    settings: sa,
                    expiration_jitter: 0,
                }
            }
            None => Identity::WebIdentity(sa),
        };
        let expected = serde_json::from_str(get("expectedPatch").unwrap()).unwrap();
        let name = file
            .strip_prefix(&root)
            .unwrap()
            .display()
            .to_string()
            .replace(".pod.yaml", "");
        out.push(Fixture {
            name,
            pod: serde_json::to_value(&pod).unwrap(),
            identity,
            config,
            expected,
        });
    }
    out
}

/// The conformance normalisation: Go emits `"resources":{}` on every container and `null`
/// members (`"service":null`) that k8s-openapi omits.
fn normalise(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, v| {
                !(v.is_null() || (k == "resources" && v.as_object().is_some_and(|m| m.is_empty())))
            });
            map.values_mut().for_each(normalise);
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

fn apply(pod: &Value, patch: &Value) -> Value {
    let mut pod = pod.clone();
    let ops: json_patch::Patch = serde_json::from_value(patch.clone()).unwrap();
    json_patch::patch(&mut pod, &ops)
        .unwrap_or_else(|e| panic!("patch {patch} does not apply: {e}"));
    pod
}

/// A pod as the apiserver would store it: decoded as a typed Pod and normalised.
fn stored(pod: &Value) -> Value {
    let typed: Pod = serde_json::from_value(pod.clone()).unwrap();
    let mut value = serde_json::to_value(typed).unwrap();
    normalise(&mut value);
    value
}

fn patch_value(patch: &JsonPatch) -> Value {
    serde_json::from_str(&patch.to_json()).unwrap()
}

#[test]
fn compatible_style_reproduces_every_upstream_patch() {
    let fixtures = fixtures();
    assert_eq!(fixtures.len(), 24);
    let mut passed = 0;
    for f in &fixtures {
        let config = f
            .config
            .clone()
            .style(PatchStyle::Compatible)
            .build()
            .unwrap();
        let patch = PodMutator::new(config)
            .patch_json(&f.pod, &f.identity)
            .unwrap();
        let mut actual = patch_value(&patch);
        let mut expected = f.expected.clone();
        normalise(&mut actual);
        normalise(&mut expected);
        assert_eq!(actual, expected, "fixture {}", f.name);
        passed += 1;
    }
    assert_eq!(passed, 24);
}

#[test]
fn granular_style_gives_the_same_pods_and_only_adds() {
    let mut passed = 0;
    for f in fixtures() {
        let config = f.config.clone().build().unwrap();
        let patch = PodMutator::new(config)
            .patch_json(&f.pod, &f.identity)
            .unwrap();
        let want = stored(&apply(&f.pod, &f.expected));
        let got = stored(&apply(&f.pod, &patch_value(&patch)));
        assert_eq!(got, want, "fixture {}", f.name);
        // Never a whole-array replacement of containers.
        for op in patch.operations() {
            assert!(
                !matches!(op.path(), "/spec/containers" | "/spec/initContainers"),
                "fixture {}: {}",
                f.name,
                op.path()
            );
        }
        passed += 1;
    }
    assert_eq!(passed, 24);
}

#[test]
fn granular_patch_of_the_base_case_is_exact() {
    let f = fixtures()
        .into_iter()
        .find(|f| f.name == "rawPodNeedsSTS")
        .unwrap();
    let patch = PodMutator::new(f.config.build().unwrap())
        .patch_json(&f.pod, &f.identity)
        .unwrap();
    let file = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
    assert_eq!(
        patch_value(&patch),
        json!([
            {"op": "add", "path": "/spec/volumes", "value": [{"name": "aws-iam-token",
                "projected": {"sources": [{"serviceAccountToken":
                    {"audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}}]}}]},
            {"op": "add", "path": "/spec/containers/0/env", "value": [
                {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
                {"name": "AWS_DEFAULT_REGION", "value": "cn-north-1"},
                {"name": "AWS_REGION", "value": "cn-north-1"},
                {"name": "AWS_ROLE_ARN", "value": "arn:aws-cn:iam::111122223333:role/s3-reader"},
                {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": file}]},
            {"op": "add", "path": "/spec/containers/0/volumeMounts", "value": [
                {"name": "aws-iam-token", "readOnly": true,
                 "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}
        ])
    );
}

/// `handler_test.go`'s inline case: SA `role-arn` and `token-expiration: 3600` read from real
/// annotations, compared with the Go test's expected patch.
#[test]
fn service_account_annotations_as_upstream_handler_test() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "balajilovesoreos", "uid": "be8695c4-4ad0-4038-8786-c508853aa255"},
        "spec": {"containers": [{"image": "amazonlinux", "name": "balajilovesoreos"}],
                 "serviceAccountName": "default"}});
    let sa = ServiceAccountAnnotations::from_annotations(
        [
            (
                "eks.amazonaws.com/role-arn",
                "arn:aws:iam::111122223333:role/s3-reader",
            ),
            ("eks.amazonaws.com/token-expiration", "3600"),
        ],
        "eks.amazonaws.com",
    );
    let config = WebhookConfig::builder()
        .style(PatchStyle::Compatible)
        .build()
        .unwrap();
    let mut actual = patch_value(
        &PodMutator::new(config)
            .patch_json(&pod, &Identity::WebIdentity(sa))
            .unwrap(),
    );
    let mut expected: Value = serde_json::from_str(r#"[{"op":"add","path":"/spec/volumes","value":[{"name":"aws-iam-token","projected":{"sources":[{"serviceAccountToken":{"audience":"sts.amazonaws.com","expirationSeconds":3600,"path":"token"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_ROLE_ARN","value":"arn:aws:iam::111122223333:role/s3-reader"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}],"resources":{},"volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}]}]"#).unwrap();
    normalise(&mut actual);
    normalise(&mut expected);
    assert_eq!(actual, expected);
}

#[test]
fn unknown_container_fields_survive_only_in_granular_style() {
    let pod = json!({"metadata": {"name": "app"}, "spec": {"containers": [
        {"name": "app", "image": "busybox", "futureField": {"x": 1},
         "env": [{"name": "A", "value": "1", "futureEnvField": true}]}]}});
    let sa = Identity::WebIdentity(
        ServiceAccountAnnotations::default().with_role_arn("arn:aws:iam::111122223333:role/r"),
    );
    let granular = PodMutator::new(WebhookConfig::default());
    let patched = apply(&pod, &patch_value(&granular.patch_json(&pod, &sa).unwrap()));
    assert_eq!(
        patched["spec"]["containers"][0]["futureField"],
        json!({"x": 1})
    );
    assert_eq!(
        patched["spec"]["containers"][0]["env"][0]["futureEnvField"],
        true
    );
    assert_eq!(
        patched["spec"]["containers"][0]["env"][2]["name"],
        "AWS_WEB_IDENTITY_TOKEN_FILE"
    );

    let compatible = PodMutator::new(
        WebhookConfig::builder()
            .style(PatchStyle::Compatible)
            .build()
            .unwrap(),
    );
    let patched = apply(
        &pod,
        &patch_value(&compatible.patch_json(&pod, &sa).unwrap()),
    );
    assert!(
        patched["spec"]["containers"][0]
            .get("futureField")
            .is_none()
    );
}

#[test]
fn pod_identity_label_goes_into_existing_labels_once() {
    let pod = json!({"metadata": {"name": "app", "labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "app"}]}});
    let identity = Identity::PodIdentity {
        settings: ServiceAccountAnnotations::default(),
        expiration_jitter: 7_300,
    };
    let mutator = PodMutator::new(WebhookConfig::default());
    let patch = patch_value(&mutator.patch_json(&pod, &identity).unwrap());
    assert_eq!(
        patch[0],
        json!({"op": "add", "path": "/metadata/labels/eks.amazonaws.com~1pod-identity", "value": "enabled"})
    );
    // 86400 is jittered: 79200 + 7300 % 7201.
    assert_eq!(
        patch[1]["value"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        79_299
    );
    let once = apply(&pod, &patch);
    assert_eq!(
        once["metadata"]["labels"],
        json!({"app": "web", "eks.amazonaws.com/pod-identity": "enabled"})
    );
    assert!(mutator.patch_json(&once, &identity).unwrap().is_empty());
}

#[test]
fn no_role_no_patch_and_skip_containers_is_read_as_csv() {
    let mutator = PodMutator::new(WebhookConfig::default());
    let pod = json!({"metadata": {"annotations": {"eks.amazonaws.com/skip-containers": "\"a,b\",c"}},
        "spec": {"containers": [{"name": "a,b"}, {"name": "c"}, {"name": "d"}]}});
    assert!(
        mutator
            .patch_json(
                &pod,
                &Identity::WebIdentity(ServiceAccountAnnotations::default())
            )
            .unwrap()
            .is_empty()
    );
    let sa = ServiceAccountAnnotations::default().with_role_arn("arn:aws:iam::111122223333:role/r");
    let patch = mutator
        .patch_json(&pod, &Identity::WebIdentity(sa))
        .unwrap();
    let paths: Vec<&str> = patch.operations().iter().map(|op| op.path()).collect();
    assert_eq!(
        paths,
        [
            "/spec/volumes",
            "/spec/containers/2/env",
            "/spec/containers/2/volumeMounts"
        ]
    );
}

#[test]
fn windows_pods_get_a_windows_token_path() {
    let sa = Identity::WebIdentity(
        ServiceAccountAnnotations::default().with_role_arn("arn:aws:iam::111122223333:role/r"),
    );
    let mutator = PodMutator::new(WebhookConfig::default());
    for spec_extra in [
        json!({"nodeSelector": {"kubernetes.io/os": "windows"}}),
        json!({"os": {"name": "windows"}}),
    ] {
        let mut pod = json!({"spec": {"containers": [{"name": "app"}]}});
        pod["spec"]
            .as_object_mut()
            .unwrap()
            .extend(spec_extra.as_object().unwrap().clone());
        let patched = apply(&pod, &patch_value(&mutator.patch_json(&pod, &sa).unwrap()));
        assert_eq!(
            patched["spec"]["containers"][0]["env"][1]["value"],
            r"C:\var\run\secrets\eks.amazonaws.com\serviceaccount\token"
        );
        // The mount path stays in unix form, as upstream.
        assert_eq!(
            patched["spec"]["containers"][0]["volumeMounts"][0]["mountPath"],
            "/var/run/secrets/eks.amazonaws.com/serviceaccount"
        );
    }
}

#[test]
fn malformed_pods_are_typed_errors() {
    let sa = Identity::WebIdentity(
        ServiceAccountAnnotations::default().with_role_arn("arn:aws:iam::111122223333:role/r"),
    );
    let mutator = PodMutator::new(WebhookConfig::default());
    for (pod, message) in [
        (
            json!("pod"),
            r#"at .: invalid type: string "pod", expected a Pod object"#,
        ),
        (
            json!({"spec": {"containers": {}}}),
            "at spec.containers: invalid type: map, expected a sequence",
        ),
        (
            json!({"spec": {"containers": [{"name": "a", "env": "x"}]}}),
            r#"at spec.containers[0].env: invalid type: string "x", expected a sequence"#,
        ),
        (
            json!({"spec": {"containers": [{"name": "a", "env": [1]}]}}),
            "at spec.containers[0].env[0]: invalid type: integer `1`, expected an object with a name",
        ),
        (
            json!({"spec": {"volumes": 3, "containers": []}}),
            "at spec.volumes: invalid type: integer `3`, expected a sequence",
        ),
        (
            json!({"metadata": {"annotations": {"a": 1}}}),
            "at metadata.annotations.a: invalid type: integer `1`, expected a string",
        ),
    ] {
        let err = mutator.patch_json(&pod, &sa).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("the pod does not decode as a Pod {message}")
        );
        // The same from bytes, where serde adds the position.
        let err = mutator
            .patch_slice(pod.to_string().as_bytes(), &sa)
            .unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "the pod does not decode as a Pod {message} at line 1"
            )),
            "{err}"
        );
    }
}

// ---------------------------------------------------------------- AdmissionReview

fn review_response(body: &[u8], identity: Option<&Identity>, fail_open: bool) -> Value {
    let mutator = PodMutator::new(WebhookConfig::default());
    let response = match AdmissionRequest::from_slice(body) {
        Ok(request) => request.respond(&mutator, identity, fail_open),
        Err(e) => e.response(fail_open),
    };
    serde_json::from_slice(&response.to_vec()).unwrap()
}

fn role() -> Identity {
    Identity::WebIdentity(
        ServiceAccountAnnotations::default()
            .with_role_arn("arn:aws:iam::111122223333:role/s3-reader"),
    )
}

#[test]
fn upstream_sample_request_is_answered_with_a_patch() {
    let body = helpers::data("pod-identity-webhook/hack/request.json");
    let request = AdmissionRequest::from_slice(&body).unwrap();
    assert_eq!(request.uid(), "918ef1dc-928f-4525-99ef-988389f263c3");
    assert_eq!(
        (request.namespace(), request.service_account()),
        ("default", "default")
    );
    let out = review_response(&body, Some(&role()), false);
    // The sample has no apiVersion: the answer is v1, which every apiserver accepts.
    assert_eq!(out["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(out["kind"], "AdmissionReview");
    assert_eq!(
        out["response"]["uid"],
        "918ef1dc-928f-4525-99ef-988389f263c3"
    );
    assert_eq!(out["response"]["allowed"], true);
    assert_eq!(out["response"]["patchType"], "JSONPatch");
    use base64::Engine as _;
    let patch = base64::engine::general_purpose::STANDARD
        .decode(out["response"]["patch"].as_str().unwrap())
        .unwrap();
    let patch: Value = serde_json::from_slice(&patch).unwrap();
    // The pod has a `scratch` volume: the token volume goes first, as upstream.
    assert_eq!(patch[0]["path"], "/spec/volumes/0");
    assert_eq!(patch[2]["path"], "/spec/containers/0/volumeMounts/-");
    let pod: Value = serde_json::from_str(request.pod_json()).unwrap();
    let patched = apply(&pod, &patch);
    assert_eq!(patched["spec"]["volumes"][1]["name"], "scratch");
}

#[test]
fn responses_echo_the_version_and_uid() {
    let body = br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview",
        "request":{"uid":"u-1","operation":"CREATE","object":{"spec":{"containers":[]}}}}"#;
    let out = review_response(body, Some(&role()), false);
    assert_eq!(out["apiVersion"], "admission.k8s.io/v1beta1");
    assert_eq!(out["response"]["uid"], "u-1");
    // Not CREATE, or no identity: admitted unchanged, no patch.
    let update = String::from_utf8_lossy(body).replace("CREATE", "UPDATE");
    let out = review_response(update.as_bytes(), Some(&role()), false);
    assert_eq!(out["response"], json!({"uid": "u-1", "allowed": true}));
    let out = review_response(body, None, false);
    assert_eq!(out["response"], json!({"uid": "u-1", "allowed": true}));
}

#[test]
fn adversarial_reviews_are_denied_with_a_reason_or_admitted_when_failing_open() {
    let cases: [(&[u8], &str); 8] = [
        (b"", "the AdmissionReview body is not valid JSON (EOF while parsing a value at line 1 column 0); send admission.k8s.io/v1 AdmissionReview JSON"),
        (b"{}", "the AdmissionReview has no request with a uid; only the kube-apiserver's requests can be answered"),
        (br#"{"request":{}}"#, "the AdmissionReview has no request with a uid; only the kube-apiserver's requests can be answered"),
        (br#"{"apiVersion":"admission.k8s.io/v2","request":{"uid":"u"}}"#, "AdmissionReview apiVersion \"admission.k8s.io/v2\" is not supported; list admission.k8s.io/v1 in the webhook's admissionReviewVersions"),
        (br#"{"request":{"uid":"u","object":"pod"}}"#, "the admitted object is a string, not a Pod; register the webhook for pods only"),
        (br#"{"request":{"uid":"u","kind":{"group":"apps","version":"v1","kind":"Deployment"},"object":{}}}"#, "the admitted object is a Deployment.apps, not a Pod; register the webhook for pods only"),
        (br#"{"request":{"uid":"u","object":{"kind":"Secret"}}}"#, "the admitted object is a Secret, not a Pod; register the webhook for pods only"),
        (br#"{"request":{"uid":"u","object":{"spec":{"containers":[{"name":"a","env":{}}]}}}}"#, "the pod does not decode as a Pod at spec.containers[0].env: invalid type: map, expected a sequence at line 1 column 41"),
    ];
    for (body, message) in cases {
        let out = review_response(body, Some(&role()), false);
        assert_eq!(out["response"]["allowed"], false, "{message}");
        assert_eq!(out["response"]["status"]["message"], message);
        assert_eq!(out["response"]["status"]["code"], 400);
        assert!(out["response"].get("patch").is_none());
        let expected_uid = if message.contains("no request") || message.contains("JSON") {
            ""
        } else {
            "u"
        };
        assert_eq!(out["response"]["uid"], expected_uid, "{message}");

        let open = review_response(body, Some(&role()), true);
        assert_eq!(open["response"]["allowed"], true);
        assert_eq!(
            open["response"]["warnings"][0],
            format!("irsa webhook: {message}")
        );
        assert!(open["response"].get("status").is_none());
    }
    // Oversized bodies are refused before parsing.
    let big = vec![b' '; irsa::webhook::MAX_REVIEW_LEN + 1];
    let err = AdmissionRequest::from_slice(&big).unwrap_err();
    assert!(matches!(err.kind(), AdmissionErrorKind::TooLarge { .. }));
}

// ---------------------------------------------------------------- properties

mod properties {
    use super::*;
    use proptest::prelude::*;

    const ENV_NAMES: [&str; 9] = [
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_STS_REGIONAL_ENDPOINTS",
        "LOG_LEVEL",
        "HOME",
    ];
    const VOLUMES: [&str; 3] = ["aws-iam-token", "eks-pod-identity-token", "scratch"];

    fn container(name: String) -> impl Strategy<Value = Value> {
        (
            proptest::option::of(proptest::sample::subsequence(ENV_NAMES.to_vec(), 0..5)),
            proptest::option::of(proptest::sample::subsequence(VOLUMES.to_vec(), 0..3)),
        )
            .prop_map(move |(env, mounts)| {
                let mut c = json!({"name": name, "image": "busybox"});
                if let Some(env) = env {
                    c["env"] = env
                        .iter()
                        .map(|n| json!({"name": n, "value": "x"}))
                        .collect();
                }
                if let Some(mounts) = mounts {
                    c["volumeMounts"] = mounts
                        .iter()
                        .map(|n| json!({"name": n, "mountPath": format!("/m/{n}")}))
                        .collect();
                }
                c
            })
    }

    fn pod() -> impl Strategy<Value = Value> {
        (
            proptest::collection::vec(container("c".into()), 1..4),
            proptest::collection::vec(container("i".into()), 0..3),
            proptest::option::of(proptest::sample::subsequence(VOLUMES.to_vec(), 0..3)),
            proptest::option::of(proptest::bool::ANY),
            proptest::option::of("[a-c0-9,\" ]{0,8}"),
            proptest::option::of(proptest::bool::ANY),
            proptest::option::of("-?[0-9]{1,6}"),
        )
            .prop_map(|(containers, inits, volumes, labels, skip, windows, exp)| {
                let name = |prefix: &str, i: usize| format!("{prefix}{i}");
                let containers: Vec<Value> = containers
                    .into_iter()
                    .enumerate()
                    .map(|(i, mut c)| {
                        c["name"] = json!(name("c", i));
                        c
                    })
                    .collect();
                let mut pod =
                    json!({"metadata": {"name": "p"}, "spec": {"containers": containers}});
                if !inits.is_empty() {
                    let inits: Vec<Value> = inits
                        .into_iter()
                        .enumerate()
                        .map(|(i, mut c)| {
                            c["name"] = json!(name("i", i));
                            c
                        })
                        .collect();
                    pod["spec"]["initContainers"] = json!(inits);
                }
                if let Some(volumes) = volumes {
                    pod["spec"]["volumes"] = volumes
                        .iter()
                        .map(|n| json!({"name": n, "emptyDir": {}}))
                        .collect();
                }
                if let Some(with_label) = labels {
                    pod["metadata"]["labels"] = if with_label {
                        json!({"eks.amazonaws.com/pod-identity": "enabled"})
                    } else {
                        json!({"app": "x"})
                    };
                }
                let mut annotations = serde_json::Map::new();
                if let Some(skip) = skip {
                    annotations.insert("eks.amazonaws.com/skip-containers".into(), json!(skip));
                }
                if let Some(exp) = exp {
                    annotations.insert("eks.amazonaws.com/token-expiration".into(), json!(exp));
                }
                pod["metadata"]["annotations"] = Value::Object(annotations);
                if windows == Some(true) {
                    pod["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "windows"});
                }
                pod
            })
    }

    fn identity() -> impl Strategy<Value = Identity> {
        (
            proptest::bool::ANY,
            proptest::option::of(proptest::bool::ANY),
            proptest::option::of(0i64..100_000),
            any::<u32>(),
        )
            .prop_map(|(pod_identity, sts, exp, jitter)| {
                let mut sa = ServiceAccountAnnotations::default()
                    .with_role_arn("arn:aws:iam::111122223333:role/r");
                if let Some(sts) = sts {
                    sa = sa.with_regional_sts(sts);
                }
                if let Some(exp) = exp {
                    sa = sa.with_token_expiration(exp);
                }
                if pod_identity {
                    Identity::PodIdentity {
                        settings: sa,
                        expiration_jitter: jitter,
                    }
                } else {
                    Identity::WebIdentity(sa)
                }
            })
    }

    fn mutators(region: bool, sts: bool) -> [PodMutator; 2] {
        [PatchStyle::Granular, PatchStyle::Compatible].map(|style| {
            let mut b = WebhookConfig::builder().regional_sts(sts).style(style);
            if region {
                b = b.region("eu-west-1");
            }
            PodMutator::new(b.build().unwrap())
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Every patch applies; both styles give the same pod; a second pass changes nothing
        /// (and in granular style emits nothing).
        #[test]
        fn patches_apply_agree_and_are_idempotent(
            pod in pod(), identity in identity(), region in any::<bool>(), sts in any::<bool>()
        ) {
            let [granular, compatible] = mutators(region, sts);
            let g = patch_value(&granular.patch_json(&pod, &identity).unwrap());
            let c = patch_value(&compatible.patch_json(&pod, &identity).unwrap());
            let by_granular = apply(&pod, &g);
            let by_compatible = apply(&pod, &c);
            prop_assert_eq!(stored(&by_granular), stored(&by_compatible));

            let again = granular.patch_json(&by_granular, &identity).unwrap();
            prop_assert!(again.is_empty(), "second granular pass: {}", again.to_json());
            let again = patch_value(&compatible.patch_json(&by_compatible, &identity).unwrap());
            prop_assert_eq!(stored(&apply(&by_compatible, &again)), stored(&by_compatible));
        }

        /// Nothing the pod had is lost or changed: the patched pod contains the original's
        /// variables and mounts, in place.
        #[test]
        fn existing_entries_are_kept_in_place(pod in pod(), identity in identity()) {
            let [granular, _] = mutators(true, true);
            let patched = apply(&pod, &patch_value(&granular.patch_json(&pod, &identity).unwrap()));
            for (i, c) in pod["spec"]["containers"].as_array().unwrap().iter().enumerate() {
                for member in ["env", "volumeMounts"] {
                    if let Some(items) = c.get(member).and_then(Value::as_array) {
                        let after = patched["spec"]["containers"][i][member].as_array().unwrap();
                        prop_assert_eq!(&after[..items.len()], &items[..]);
                    }
                }
            }
        }
    }
}
