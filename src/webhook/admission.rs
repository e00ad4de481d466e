//! `admission.k8s.io/v1` (and `v1beta1`) AdmissionReview in and out.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::mutate::{Identity, PodError, PodMutator};
use super::patch::JsonPatch;
use super::view::{CowStr, PodView};

/// The AdmissionReview API versions understood; responses echo the request's.
pub const ADMISSION_API_VERSIONS: [&str; 2] = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"];

/// The largest AdmissionReview body accepted (the apiserver's own request limit is 3 MiB).
pub const MAX_REVIEW_LEN: usize = 3 * 1024 * 1024;

/// Why an AdmissionReview cannot be answered with a mutation. The
/// [response](AdmissionError::response) still answers it: denied, or allowed unchanged when
/// the operator chose to fail open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct AdmissionError {
    kind: AdmissionErrorKind,
    echo: Echo,
}

/// What is wrong with an AdmissionReview.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdmissionErrorKind {
    /// The body is not a JSON AdmissionReview.
    #[error(
        "the AdmissionReview body is not valid JSON ({reason}); send admission.k8s.io/v1 AdmissionReview JSON"
    )]
    Malformed {
        /// The JSON parser's complaint.
        reason: String,
    },
    /// The body is larger than [`MAX_REVIEW_LEN`].
    #[error("the AdmissionReview body has {len} bytes, more than the {MAX_REVIEW_LEN} accepted")]
    TooLarge {
        /// The body's length.
        len: usize,
    },
    /// The review names an API version other than `admission.k8s.io/v1` or `v1beta1`.
    #[error(
        "AdmissionReview apiVersion {api_version:?} is not supported; list admission.k8s.io/v1 in the webhook's admissionReviewVersions"
    )]
    UnsupportedVersion {
        /// The version sent.
        api_version: String,
    },
    /// The review has no `request` (or no `request.uid`).
    #[error(
        "the AdmissionReview has no request with a uid; only the kube-apiserver's requests can be answered"
    )]
    MissingRequest,
    /// The admitted object is missing or not a Pod.
    #[error("the admitted object is {found}, not a Pod; register the webhook for pods only")]
    NotAPod {
        /// What was found instead.
        found: String,
    },
    /// The pod cannot be patched.
    #[error(transparent)]
    Pod(PodError),
}

impl AdmissionError {
    /// What is wrong.
    pub fn kind(&self) -> &AdmissionErrorKind {
        &self.kind
    }

    /// The answer to send: denied with this error's message, or, with `fail_open`, allowed
    /// unchanged with the message as a warning. Either way the review's `uid` and version are
    /// echoed when they could be read.
    pub fn response(&self, fail_open: bool) -> AdmissionResponse {
        let message = self.to_string();
        let mut response = AdmissionResponse::new(self.echo.clone(), fail_open);
        if fail_open {
            response.warnings.push(format!("irsa webhook: {message}"));
        } else {
            response.message = Some(message);
        }
        response
    }
}

/// The first of `names` present and not empty.
fn first_named<'a, const N: usize>(names: [Option<&'a CowStr<'_>>; N]) -> Option<&'a str> {
    names
        .into_iter()
        .flatten()
        .map(|name| name.0.as_ref())
        .find(|name| !name.is_empty())
}

/// What the response echoes of the request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Echo {
    api_version: Option<String>,
    uid: String,
}

#[derive(Deserialize)]
struct ReviewIn {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    request: Option<RequestIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestIn {
    uid: Option<String>,
    kind: Option<GroupVersionKind>,
    namespace: Option<String>,
    operation: Option<String>,
    object: Option<Box<RawValue>>,
    dry_run: Option<bool>,
}

#[derive(Deserialize)]
struct GroupVersionKind {
    #[serde(default)]
    group: String,
    #[serde(default)]
    kind: String,
}

/// An admitted pod, read from an AdmissionReview.
///
/// ```
/// use irsa::webhook::{AdmissionRequest, Identity, PodMutator, ServiceAccountAnnotations, WebhookConfig};
///
/// let body = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
///   "request":{"uid":"918ef1dc","namespace":"apps","operation":"CREATE",
///     "kind":{"group":"","version":"v1","kind":"Pod"},
///     "object":{"metadata":{"name":"app"},
///       "spec":{"serviceAccountName":"reader","containers":[{"name":"app","image":"busybox"}]}}}}"#;
/// let mutator = PodMutator::new(WebhookConfig::default());
/// let response = match AdmissionRequest::from_slice(body) {
///     Ok(request) => {
///         assert_eq!((request.namespace(), request.service_account()), ("apps", "reader"));
///         // Look the ServiceAccount up (kube-rs in a server); here, a fixed answer.
///         let sa = ServiceAccountAnnotations::default()
///             .with_role_arn("arn:aws:iam::111122223333:role/s3-reader");
///         request.respond(&mutator, Some(&Identity::WebIdentity(sa)), false)
///     }
///     Err(e) => e.response(false),
/// };
/// assert!(response.allowed());
/// assert_eq!(response.patch().map(|p| p.len()), Some(3));
/// let json: serde_json::Value = serde_json::from_slice(&response.to_vec())?;
/// assert_eq!(json["response"]["uid"], "918ef1dc");
/// assert_eq!(json["response"]["patchType"], "JSONPatch");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct AdmissionRequest {
    echo: Echo,
    namespace: String,
    pod_name: String,
    service_account: String,
    operation: Option<String>,
    dry_run: bool,
    pod: Box<RawValue>,
}

impl AdmissionRequest {
    /// Reads an AdmissionReview body. Unknown members are ignored; a missing `apiVersion` is
    /// taken as `admission.k8s.io/v1`.
    pub fn from_slice(body: &[u8]) -> Result<Self, AdmissionError> {
        let fail = |kind, echo: &Echo| AdmissionError {
            kind,
            echo: echo.clone(),
        };
        let mut echo = Echo::default();
        if body.len() > MAX_REVIEW_LEN {
            return Err(fail(
                AdmissionErrorKind::TooLarge { len: body.len() },
                &echo,
            ));
        }
        let review: ReviewIn = serde_json::from_slice(body).map_err(|e| {
            fail(
                AdmissionErrorKind::Malformed {
                    reason: e.to_string(),
                },
                &echo,
            )
        })?;
        if let Some(uid) = review.request.as_ref().and_then(|r| r.uid.as_deref()) {
            uid.clone_into(&mut echo.uid);
        }
        if let Some(version) = review.api_version {
            if !ADMISSION_API_VERSIONS.contains(&version.as_str()) {
                return Err(fail(
                    AdmissionErrorKind::UnsupportedVersion {
                        api_version: version,
                    },
                    &echo,
                ));
            }
            echo.api_version = Some(version);
        }
        let Some(request) = review.request.filter(|_| !echo.uid.is_empty()) else {
            return Err(fail(AdmissionErrorKind::MissingRequest, &echo));
        };
        if let Some(kind) = &request.kind
            && !(kind.group.is_empty() && kind.kind == "Pod")
        {
            let found = if kind.group.is_empty() {
                format!("a {}", kind.kind)
            } else {
                format!("a {}.{}", kind.kind, kind.group)
            };
            return Err(fail(AdmissionErrorKind::NotAPod { found }, &echo));
        }
        let pod = match request.object {
            Some(raw) if raw.get().starts_with('{') => raw,
            other => {
                let found = match other.as_ref().and_then(|raw| raw.get().bytes().next()) {
                    None | Some(b'n') => "missing",
                    Some(b'"') => "a string",
                    Some(b'[') => "an array",
                    Some(b't' | b'f') => "a boolean",
                    Some(_) => "a number",
                };
                return Err(fail(
                    AdmissionErrorKind::NotAPod {
                        found: found.to_owned(),
                    },
                    &echo,
                ));
            }
        };
        // The parts needed to look the ServiceAccount up; containers are read when answering.
        let head: PodView<'_, IgnoredAny> = serde_json::from_str(pod.get()).map_err(|e| {
            fail(
                AdmissionErrorKind::Pod(PodError::Malformed {
                    path: ".".to_owned(),
                    reason: e.to_string(),
                }),
                &echo,
            )
        })?;
        if let Some(kind) = &head.kind
            && kind.0 != "Pod"
        {
            let found = format!("a {}", kind.0);
            return Err(fail(AdmissionErrorKind::NotAPod { found }, &echo));
        }
        // On CREATE the pod often has no namespace yet; the request's is authoritative.
        let pod_namespace = head.metadata.as_ref().and_then(|m| m.namespace.as_ref());
        let namespace = request
            .namespace
            .filter(|ns| !ns.is_empty())
            .or_else(|| pod_namespace.map(|ns| ns.0.clone().into_owned()))
            .filter(|ns| !ns.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        let spec = head.spec.as_ref();
        let service_account = first_named([
            spec.and_then(|s| s.service_account_name.as_ref()),
            spec.and_then(|s| s.service_account.as_ref()),
        ])
        .unwrap_or("default")
        .to_owned();
        let meta = head.metadata.as_ref();
        let pod_name = first_named([
            meta.and_then(|m| m.name.as_ref()),
            meta.and_then(|m| m.generate_name.as_ref()),
        ])
        .unwrap_or_default()
        .to_owned();
        drop(head);
        Ok(Self {
            echo,
            namespace,
            pod_name,
            service_account,
            operation: request.operation,
            dry_run: request.dry_run.unwrap_or(false),
            pod,
        })
    }

    /// The review's `uid`, which the response must echo.
    pub fn uid(&self) -> &str {
        &self.echo.uid
    }

    /// The pod's namespace: the request's, else the pod's, else `default`.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The pod's name, or its `generateName` prefix when the apiserver has not named it yet
    /// (pods of a Deployment), or empty: for logs.
    pub fn pod_name(&self) -> &str {
        &self.pod_name
    }

    /// The pod admitted unchanged with a warning the client sees (`kubectl` prints it): for a
    /// server that cannot decide in time and fails open.
    pub fn allow_with_warning(&self, warning: impl Into<String>) -> AdmissionResponse {
        let mut response = AdmissionResponse::new(self.echo.clone(), true);
        response.warnings.push(warning.into());
        response
    }

    /// The pod refused with `message`, which the client sees: for a server that fails closed.
    pub fn deny(&self, message: impl Into<String>) -> AdmissionResponse {
        let mut response = AdmissionResponse::new(self.echo.clone(), false);
        response.message = Some(message.into());
        response
    }

    /// The pod's ServiceAccount: `spec.serviceAccountName`, else the deprecated
    /// `spec.serviceAccount`, else `default` (what the ServiceAccount admission plugin sets).
    pub fn service_account(&self) -> &str {
        &self.service_account
    }

    /// The operation (`CREATE`, `UPDATE`, …), when given.
    pub fn operation(&self) -> Option<&str> {
        self.operation.as_deref()
    }

    /// Whether the request is a dry run (the webhook has no side effects, so it answers alike).
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// The admitted pod, as the JSON text it was sent as.
    pub fn pod_json(&self) -> &str {
        self.pod.get()
    }

    /// Answers the review. Only `CREATE` (or an unnamed operation) is mutated; `identity` is
    /// what the caller found for [`Self::service_account`] in [`Self::namespace`] (`None`:
    /// nothing to inject). A pod that cannot be patched is denied, or with `fail_open`
    /// admitted unchanged with a warning.
    pub fn respond(
        &self,
        mutator: &PodMutator,
        identity: Option<&Identity>,
        fail_open: bool,
    ) -> AdmissionResponse {
        let mut response = AdmissionResponse::new(self.echo.clone(), true);
        let (Some(identity), None | Some("CREATE")) = (identity, self.operation()) else {
            return response;
        };
        match mutator.patch_slice(self.pod.get().as_bytes(), identity) {
            Ok(patch) if patch.is_empty() => response,
            Ok(patch) => {
                response.patch = Some(patch);
                response
            }
            Err(e) => AdmissionError {
                kind: AdmissionErrorKind::Pod(e),
                echo: self.echo.clone(),
            }
            .response(fail_open),
        }
    }
}

/// The AdmissionReview sent back.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmissionResponse {
    echo: Echo,
    allowed: bool,
    patch: Option<JsonPatch>,
    message: Option<String>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct ReviewOut<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'static str,
    response: ResponseOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResponseOut<'a> {
    uid: &'a str,
    allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<StatusOut<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

#[derive(Serialize)]
struct StatusOut<'a> {
    code: u16,
    message: &'a str,
}

impl AdmissionResponse {
    fn new(echo: Echo, allowed: bool) -> Self {
        Self {
            echo,
            allowed,
            patch: None,
            message: None,
            warnings: Vec::new(),
        }
    }

    /// Whether the pod is admitted.
    pub fn allowed(&self) -> bool {
        self.allowed
    }

    /// The patch, when the pod is mutated.
    pub fn patch(&self) -> Option<&JsonPatch> {
        self.patch.as_ref()
    }

    /// Why the pod is denied.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Warnings shown to the client (`kubectl` prints them).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The response body: an AdmissionReview of the request's version (`admission.k8s.io/v1`
    /// when it gave none) with the request's `uid` and, when mutating, `patchType: JSONPatch`
    /// and the base64 patch. Serve it with `Content-Type: application/json`.
    pub fn to_vec(&self) -> Vec<u8> {
        let patch = self.patch.as_ref().map(|p| {
            let mut json = Vec::with_capacity(512);
            p.write_json(&mut json);
            crate::base64::encode(&json)
        });
        let review = ReviewOut {
            api_version: self
                .echo
                .api_version
                .as_deref()
                .unwrap_or(ADMISSION_API_VERSIONS[0]),
            kind: "AdmissionReview",
            response: ResponseOut {
                uid: &self.echo.uid,
                allowed: self.allowed,
                patch_type: patch.as_ref().map(|_| "JSONPatch"),
                patch,
                status: self
                    .message
                    .as_deref()
                    .map(|message| StatusOut { code: 400, message }),
                warnings: &self.warnings,
            },
        };
        // Strings and booleans into memory: serialisation cannot fail.
        serde_json::to_vec(&review).unwrap_or_default()
    }
}
