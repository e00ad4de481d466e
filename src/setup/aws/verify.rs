//! The published documents read back as an anonymous client (and so STS) reads them.

use serde::Serialize;

use super::{Aws, FETCH_MAX_BYTES, FETCH_TIMEOUT, SetupError};
use crate::http::client::fetch;
use crate::setup::plan::{Change, Desired, PlanOptions};

impl Aws {
    /// After an apply: reads everything again (the plan must now be empty), then fetches both
    /// documents anonymously, as STS will, and compares them with what was written.
    pub async fn verify(
        &self,
        desired: &Desired,
        options: PlanOptions,
    ) -> Result<Verification, SetupError> {
        let (_, remaining) = self.plan(desired, options).await?;
        let mut documents = Vec::new();
        for object in desired.publishing().objects() {
            let url = match (&self.public_base, desired.publishing().s3()) {
                (Some(base), Some(s3)) => format!("{base}/{}/{}", s3.bucket(), object.key),
                _ => object.url.clone(),
            };
            let problem = match fetch(&self.http, &url, FETCH_TIMEOUT, FETCH_MAX_BYTES).await {
                Err(e) => Some(e.to_string()),
                Ok(f) if f.status == 403 => Some(
                    "answered HTTP 403: anonymous reads are refused (Block Public Access, the bucket policy, or an account-level block)"
                        .to_owned(),
                ),
                Ok(f) if f.status == 404 => Some(
                    "answered HTTP 404: anonymous readers do not find it at this URL (check the issuer URL against the bucket, region and prefix it was written to)"
                        .to_owned(),
                ),
                Ok(f) if f.status != 200 => Some(format!(
                    "answered HTTP {}: STS needs 200 to an anonymous GET",
                    f.status
                )),
                Ok(f) if f.body != object.body.as_bytes() => {
                    Some("the bytes served differ from the bytes written".to_owned())
                }
                Ok(_) => None,
            };
            documents.push(DocumentCheck { url, problem });
        }
        Ok(Verification {
            remaining: remaining.changes,
            documents,
        })
    }
}

/// What [`Aws::verify`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Verification {
    /// Changes a fresh plan still finds (empty when the apply converged).
    pub remaining: Vec<Change>,
    /// The anonymous checks of both documents.
    pub documents: Vec<DocumentCheck>,
}

impl Verification {
    /// Whether the plan is now empty and both documents are served as written.
    pub fn passed(&self) -> bool {
        self.remaining.is_empty() && self.documents.iter().all(|d| d.problem.is_none())
    }
}

/// One anonymous fetch of a published document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DocumentCheck {
    /// The URL fetched.
    pub url: String,
    /// What is wrong, or `None` when the bytes served are the bytes written.
    pub problem: Option<String>,
}
