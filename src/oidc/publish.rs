//! Everything needed to stand up an issuer for IRSA: the two documents to host, the S3 bucket
//! policy, the IAM OIDC provider to register, and the kube-apiserver flags.

use serde::Serialize;

use super::discovery::{DiscoveryError, OpenIdConfiguration};
use super::issuer::{IssuerError, IssuerUrl, JWKS_PATH, OPENID_CONFIGURATION_PATH, ProviderUrl};
use super::jwk::JwkSet;
use super::s3::S3Issuer;
use crate::arn::{AccountId, OidcProviderArn, Partition};

/// The audience EKS and the pod identity webhook use for IRSA tokens.
pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";
/// `Content-Type` of the discovery document, as kube-apiserver serves it.
pub const DISCOVERY_CONTENT_TYPE: &str = "application/json";
/// `Content-Type` of the key set, as kube-apiserver serves it (RFC 7517 §8.5.1).
pub const JWKS_CONTENT_TYPE: &str = "application/jwk-set+json";
/// `Cache-Control` kube-apiserver sends with both documents.
pub const CACHE_CONTROL: &str = "public, max-age=3600";
/// IAM's limit on client IDs per OIDC provider.
const MAX_AUDIENCES: usize = 100;
/// IAM's limit on the length of one client ID.
const MAX_AUDIENCE_LEN: usize = 255;

/// One document to host below the issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PublishedObject {
    /// The object key (path below the hosting root), e.g. `prod/.well-known/openid-configuration`.
    pub key: String,
    /// The URL clients fetch it from.
    pub url: String,
    /// The `Content-Type` to serve it with.
    pub content_type: &'static str,
    /// The `Cache-Control` to serve it with.
    pub cache_control: &'static str,
    /// The exact bytes to serve.
    pub body: String,
}

/// The `Sid` of the statement irsa writes into an issuer bucket's policy.
pub const BUCKET_POLICY_SID: &str = "IrsaOidcDiscovery";

/// An S3 issuer's bucket policy: anyone may `s3:GetObject` exactly the two documents and
/// nothing else. Serialises as the policy document (`serde_json::to_string`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketPolicy {
    version: &'static str,
    statement: [PublicReadStatement; 1],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PublicReadStatement {
    sid: &'static str,
    effect: &'static str,
    principal: &'static str,
    action: &'static str,
    resource: Vec<String>,
}

impl BucketPolicy {
    /// The statement's `Sid`: [`BUCKET_POLICY_SID`].
    pub fn sid(&self) -> &'static str {
        self.statement[0].sid
    }

    /// The object ARNs anyone may read.
    pub fn resources(&self) -> &[String] {
        &self.statement[0].resource
    }
}

/// The input of IAM `CreateOpenIDConnectProvider`, in the AWS CLI's `--cli-input-json` shape.
/// No thumbprint: IAM validates S3 and other publicly trusted hosts against its own CA store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CreateOidcProviderInput {
    /// `Url`: `https://` + the provider URL.
    #[serde(rename = "Url")]
    pub url: String,
    /// `ClientIDList`: the audiences STS accepts in tokens.
    #[serde(rename = "ClientIDList")]
    pub client_ids: Vec<String>,
}

/// The whole plan for publishing an issuer. Build it with [`PublishingPlan::builder`].
///
/// ```
/// use irsa::oidc::{JwkSet, PublicKey, PublishingPlan, S3Issuer};
///
/// # let pem = "-----BEGIN PUBLIC KEY-----
/// # MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEH6cuzP8XuD5wal6wf9M6xDljTOPL
/// # X2i8uIp/C/ASqiIGUeeKQtX0/IR3qCXyThP/dbCiHrF3v1cuhBOHY8CLVg==
/// # -----END PUBLIC KEY-----";
/// let keys = JwkSet::from_public_keys(&PublicKey::from_pem(pem)?)?;
/// let issuer = S3Issuer::new("acme-irsa", "eu-west-1")?.with_prefix("prod")?.issuer();
/// let plan = PublishingPlan::builder(issuer, keys)
///     .account("111122223333".parse()?)
///     .build()?;
/// assert_eq!(plan.objects()[1].key, "prod/openid/v1/jwks");
/// assert_eq!(
///     plan.provider_arn().unwrap().to_string(),
///     "arn:aws:iam::111122223333:oidc-provider/acme-irsa.s3.eu-west-1.amazonaws.com/prod"
/// );
/// assert_eq!(plan.apiserver_flags()[0], "--service-account-issuer=https://acme-irsa.s3.eu-west-1.amazonaws.com/prod");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PublishingPlan {
    issuer: IssuerUrl,
    provider_url: ProviderUrl,
    s3: Option<S3Issuer>,
    configuration: OpenIdConfiguration,
    keys: JwkSet,
    objects: [PublishedObject; 2],
    bucket_policy: Option<BucketPolicy>,
    oidc_provider: CreateOidcProviderInput,
    provider_arn: Option<OidcProviderArn>,
    apiserver_flags: Vec<String>,
}

impl PublishingPlan {
    /// Starts a plan for `issuer` publishing `keys`.
    pub fn builder(issuer: IssuerUrl, keys: JwkSet) -> PublishingPlanBuilder {
        PublishingPlanBuilder {
            issuer,
            keys,
            configuration: None,
            audiences: Vec::new(),
            account: None,
            partition: None,
            existing_issuers: Vec::new(),
        }
    }

    /// The issuer.
    pub fn issuer(&self) -> &IssuerUrl {
        &self.issuer
    }

    /// The provider URL IAM registers.
    pub fn provider_url(&self) -> &ProviderUrl {
        &self.provider_url
    }

    /// The S3 location, when the issuer is an S3 URL.
    pub fn s3(&self) -> Option<&S3Issuer> {
        self.s3.as_ref()
    }

    /// The discovery document.
    pub fn configuration(&self) -> &OpenIdConfiguration {
        &self.configuration
    }

    /// The key set.
    pub fn keys(&self) -> &JwkSet {
        &self.keys
    }

    /// The discovery document and the key set, as hosted objects (in that order).
    pub fn objects(&self) -> &[PublishedObject; 2] {
        &self.objects
    }

    /// For S3 issuers, the bucket policy that lets anyone `s3:GetObject` exactly the two
    /// documents and nothing else.
    pub fn bucket_policy(&self) -> Option<&BucketPolicy> {
        self.bucket_policy.as_ref()
    }

    /// The IAM `CreateOpenIDConnectProvider` input.
    pub fn oidc_provider(&self) -> &CreateOidcProviderInput {
        &self.oidc_provider
    }

    /// The provider's ARN, when the account is known.
    pub fn provider_arn(&self) -> Option<&OidcProviderArn> {
        self.provider_arn.as_ref()
    }

    /// The kube-apiserver flags, one `--flag=value` per entry.
    ///
    /// The new issuer comes first: kube-apiserver signs new tokens with the first
    /// `--service-account-issuer` and accepts tokens of all of them, so existing issuers follow
    /// it during a migration. `--api-audiences` lists every issuer so that tokens already
    /// mounted in running pods (whose audience is the old issuer) stay valid; the IRSA audiences
    /// are deliberately absent from it.
    pub fn apiserver_flags(&self) -> &[String] {
        &self.apiserver_flags
    }

    /// The plan as files, as `irsa discovery --out DIR` writes them: each path relative to one
    /// directory, with its bytes. The two documents sit at their paths below the issuer, so the
    /// directory can be served as the issuer's root as it is; beside them
    /// `bucket-policy.json` (for an S3 issuer), `iam-oidc-provider.json` (the
    /// `CreateOpenIDConnectProvider` input, for `--cli-input-json`) and
    /// `kube-apiserver-flags.txt` (one flag per line).
    ///
    /// ```
    /// use irsa::oidc::{JwkSet, PublicKey, PublishingPlan, S3Issuer};
    /// # let pem = include_str!("../../tests/data/k8s-vectors/rsa-public.pem");
    /// let keys = JwkSet::from_public_keys(&PublicKey::from_pem(pem)?)?;
    /// let issuer = S3Issuer::new("acme-irsa", "eu-west-1")?.issuer();
    /// let plan = PublishingPlan::builder(issuer, keys).build()?;
    /// let names: Vec<&str> = plan.files().iter().map(|(name, _)| *name).collect();
    /// assert_eq!(names, [".well-known/openid-configuration", "openid/v1/jwks", "bucket-policy.json", "iam-oidc-provider.json", "kube-apiserver-flags.txt"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn files(&self) -> Vec<(&'static str, Vec<u8>)> {
        let [discovery, jwks] = &self.objects;
        let mut files = vec![
            (
                OPENID_CONFIGURATION_PATH,
                discovery.body.clone().into_bytes(),
            ),
            (JWKS_PATH, jwks.body.clone().into_bytes()),
        ];
        if let Some(policy) = &self.bucket_policy {
            files.push((BUCKET_POLICY_FILE, pretty(policy)));
        }
        files.push((OIDC_PROVIDER_FILE, pretty(&self.oidc_provider)));
        let flags = self.apiserver_flags.join("\n") + "\n";
        files.push((APISERVER_FLAGS_FILE, flags.into_bytes()));
        files
    }

    /// Steps a person still has to take, in plain words, with the AWS CLI commands that take
    /// them; each file is a placeholder named as [`files`](Self::files) names it, e.g.
    /// `<bucket-policy.json>`. [`next_steps_for_files`](Self::next_steps_for_files)
    /// names the files [`files`](Self::files) wrote.
    pub fn next_steps(&self) -> Vec<String> {
        self.steps(None)
    }

    /// [`next_steps`](Self::next_steps) for the [`files`](Self::files) written under `dir`:
    /// each command names its file there.
    ///
    /// ```
    /// use irsa::oidc::{JwkSet, PublicKey, PublishingPlan, S3Issuer};
    /// # let pem = include_str!("../../tests/data/k8s-vectors/rsa-public.pem");
    /// # let keys = JwkSet::from_public_keys(&PublicKey::from_pem(pem)?)?;
    /// let issuer = S3Issuer::new("acme-irsa", "eu-west-1")?.issuer();
    /// let plan = PublishingPlan::builder(issuer, keys).build()?;
    /// let steps = plan.next_steps_for_files(std::path::Path::new("issuer"));
    /// assert!(steps.iter().any(|step| step.ends_with("--policy file://issuer/bucket-policy.json")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_steps_for_files(&self, dir: &std::path::Path) -> Vec<String> {
        self.steps(Some(dir))
    }

    fn steps(&self, dir: Option<&std::path::Path>) -> Vec<String> {
        let file = |name: &str| match dir {
            Some(dir) => shell_word(&dir.join(name).display().to_string()),
            None => format!("<{name}>"),
        };
        let [discovery, jwks] = &self.objects;
        let mut steps = Vec::new();
        match &self.s3 {
            Some(s3) => {
                let location = if s3.region() == "us-east-1" {
                    String::new()
                } else {
                    format!(
                        " --create-bucket-configuration LocationConstraint={}",
                        s3.region()
                    )
                };
                steps.push(format!(
                    "unless the bucket exists (one of its own for the issuer is safest): aws s3api create-bucket --bucket {} --region {}{location}",
                    s3.bucket(),
                    s3.region()
                ));
                for (object, name) in [(discovery, OPENID_CONFIGURATION_PATH), (jwks, JWKS_PATH)] {
                    steps.push(format!(
                        "upload with: aws s3api put-object --region {} --bucket {} --key {} --content-type {} --cache-control '{}' --body {}",
                        s3.region(),
                        s3.bucket(),
                        shell_word(&object.key),
                        object.content_type,
                        object.cache_control,
                        file(name)
                    ));
                }
                steps.push(format!(
                    "allow public bucket policies, ACLs staying blocked: aws s3api put-public-access-block --region {} --bucket {} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=false",
                    s3.region(),
                    s3.bucket()
                ));
                steps.push(format!(
                    "apply the bucket policy: aws s3api put-bucket-policy --region {} --bucket {} --policy file://{}",
                    s3.region(),
                    s3.bucket(),
                    file(BUCKET_POLICY_FILE)
                ));
            }
            None => steps.push(format!(
                "serve {} and {} over https with a publicly trusted certificate",
                discovery.url, jwks.url
            )),
        }
        // The AWS CLI wants a region even for IAM: the bucket's, when there is one.
        let region = self
            .s3
            .as_ref()
            .map(|s3| format!(" --region {}", s3.region()))
            .unwrap_or_default();
        steps.push(format!(
            "register the provider: aws iam create-open-id-connect-provider{region} --cli-input-json file://{}",
            file(OIDC_PROVIDER_FILE)
        ));
        let flags = match dir {
            Some(_) => format!(" ({})", file(APISERVER_FLAGS_FILE)),
            None => String::new(),
        };
        steps.push(format!("add the kube-apiserver flags{flags}, keeping any --api-audiences your cluster already lists, and keep the signing key in --service-account-signing-key-file and every published key in --service-account-key-file"));
        steps
    }
}

/// The bucket policy's file among [`PublishingPlan::files`].
const BUCKET_POLICY_FILE: &str = "bucket-policy.json";
/// The `CreateOpenIDConnectProvider` input's file among [`PublishingPlan::files`].
const OIDC_PROVIDER_FILE: &str = "iam-oidc-provider.json";
/// The kube-apiserver flags' file among [`PublishingPlan::files`].
const APISERVER_FLAGS_FILE: &str = "kube-apiserver-flags.txt";

/// `text` as one shell word: as it is when it holds nothing a shell reads, else single-quoted.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:@%+=,-".contains(&b));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Pretty JSON and a newline, as the plan's files hold it.
fn pretty(value: &impl Serialize) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text.into_bytes()
}

/// Builds a [`PublishingPlan`].
#[derive(Debug, Clone)]
#[must_use]
pub struct PublishingPlanBuilder {
    issuer: IssuerUrl,
    keys: JwkSet,
    configuration: Option<OpenIdConfiguration>,
    audiences: Vec<String>,
    account: Option<AccountId>,
    partition: Option<Partition>,
    existing_issuers: Vec<String>,
}

impl PublishingPlanBuilder {
    /// Starts from an existing discovery document (e.g. the apiserver's), rehosted at the
    /// issuer; members it has beyond Kubernetes' are kept.
    pub fn configuration(mut self, configuration: OpenIdConfiguration) -> Self {
        self.configuration = Some(configuration);
        self
    }

    /// Adds an audience (IAM client ID). Without any, [`DEFAULT_AUDIENCE`] is used.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Sets the AWS account, so the provider ARN can be given.
    pub fn account(mut self, account: AccountId) -> Self {
        self.account = Some(account);
        self
    }

    /// Sets the partition of the provider ARN. Defaults to the S3 bucket's partition, or `aws`.
    pub fn partition(mut self, partition: Partition) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Adds an issuer the cluster uses today, to keep accepting its tokens during a migration.
    pub fn existing_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.existing_issuers.push(issuer.into());
        self
    }

    /// Checks everything and builds the plan.
    pub fn build(self) -> Result<PublishingPlan, PublishError> {
        let provider_url = self
            .issuer
            .aws_provider_url()
            .map_err(PublishError::Issuer)?;
        let s3 = S3Issuer::from_issuer(&self.issuer).map_err(PublishError::Issuer)?;
        let audiences = if self.audiences.is_empty() {
            vec![DEFAULT_AUDIENCE.to_owned()]
        } else {
            self.audiences
        };
        check_audiences(&audiences, &self.issuer, &self.existing_issuers)?;
        check_existing_issuers(&self.issuer, &self.existing_issuers)?;

        let mut configuration = match self.configuration {
            Some(doc) => doc.rehosted(&self.issuer),
            None => OpenIdConfiguration::new(&self.issuer, &self.keys)
                .map_err(PublishError::Discovery)?,
        };
        configuration
            .set_signing_algorithms(&self.keys)
            .map_err(PublishError::Discovery)?;

        let object = |path: &str, content_type, body| PublishedObject {
            key: self.issuer.object_key(path),
            url: format!("{}/{path}", self.issuer.base()),
            content_type,
            cache_control: CACHE_CONTROL,
            body,
        };
        let objects = [
            object(
                OPENID_CONFIGURATION_PATH,
                DISCOVERY_CONTENT_TYPE,
                configuration.to_json(),
            ),
            object(JWKS_PATH, JWKS_CONTENT_TYPE, self.keys.to_json()),
        ];
        let bucket_policy = s3.as_ref().map(|s3| {
            let resources: Vec<String> = objects.iter().map(|o| s3.object_arn(&o.key)).collect();
            BucketPolicy {
                version: "2012-10-17",
                statement: [PublicReadStatement {
                    sid: BUCKET_POLICY_SID,
                    effect: "Allow",
                    principal: "*",
                    action: "s3:GetObject",
                    resource: resources,
                }],
            }
        });
        let partition = self
            .partition
            .or_else(|| s3.as_ref().map(S3Issuer::partition))
            .unwrap_or(Partition::Aws);
        let provider_arn = self
            .account
            .map(|account| provider_url.arn(partition, account));

        let mut apiserver_flags = vec![format!("--service-account-issuer={}", self.issuer)];
        apiserver_flags.extend(
            self.existing_issuers
                .iter()
                .map(|i| format!("--service-account-issuer={i}")),
        );
        apiserver_flags.push(format!(
            "--service-account-jwks-uri={}",
            configuration.jwks_uri()
        ));
        let api_audiences: Vec<&str> = std::iter::once(self.issuer.as_str())
            .chain(self.existing_issuers.iter().map(String::as_str))
            .collect();
        apiserver_flags.push(format!("--api-audiences={}", api_audiences.join(",")));

        Ok(PublishingPlan {
            oidc_provider: CreateOidcProviderInput {
                url: provider_url.issuer(),
                client_ids: audiences,
            },
            issuer: self.issuer,
            provider_url,
            s3,
            configuration,
            keys: self.keys,
            objects,
            bucket_policy,
            provider_arn,
            apiserver_flags,
        })
    }
}

fn check_audiences(
    audiences: &[String],
    issuer: &IssuerUrl,
    existing: &[String],
) -> Result<(), PublishError> {
    if audiences.len() > MAX_AUDIENCES {
        return Err(PublishError::TooManyAudiences {
            count: audiences.len(),
        });
    }
    for (i, audience) in audiences.iter().enumerate() {
        if audience.is_empty() || audience.len() > MAX_AUDIENCE_LEN {
            return Err(PublishError::AudienceLength {
                audience: audience.clone(),
            });
        }
        if audiences
            .get(..i)
            .is_some_and(|before| before.contains(audience))
        {
            return Err(PublishError::DuplicateAudience {
                audience: audience.clone(),
            });
        }
        if audience == issuer.as_str() || existing.contains(audience) {
            return Err(PublishError::AudienceIsApiAudience {
                audience: audience.clone(),
            });
        }
    }
    Ok(())
}

fn check_existing_issuers(issuer: &IssuerUrl, existing: &[String]) -> Result<(), PublishError> {
    for (i, old) in existing.iter().enumerate() {
        let seen =
            old == issuer.as_str() || existing.get(..i).is_some_and(|before| before.contains(old));
        if old.is_empty() {
            return Err(PublishError::ExistingIssuer {
                issuer: old.clone(),
                reason: "service-account-issuer should not be an empty string".to_owned(),
            });
        }
        if seen {
            return Err(PublishError::ExistingIssuer {
                issuer: old.clone(),
                reason: "it is already specified".to_owned(),
            });
        }
        if old.contains(':')
            && let Err(e) = url::Url::parse(old)
        {
            return Err(PublishError::ExistingIssuer {
                issuer: old.clone(),
                reason: format!("a value with ':' must be a URL ({e})"),
            });
        }
        if old.contains(',') {
            return Err(PublishError::ExistingIssuer {
                issuer: old.clone(),
                reason: "a ',' would split the --api-audiences list".to_owned(),
            });
        }
    }
    Ok(())
}

/// Why a publishing plan could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The issuer cannot be registered with IAM or hosted where it points.
    #[error("the issuer cannot be published")]
    Issuer(#[source] IssuerError),
    /// The discovery document could not be built.
    #[error("the discovery document cannot be built")]
    Discovery(#[source] DiscoveryError),
    /// More audiences than IAM allows.
    #[error("{count} audiences given; IAM allows at most 100 client IDs per provider")]
    TooManyAudiences {
        /// How many were given.
        count: usize,
    },
    /// An audience is empty or too long.
    #[error("audience {audience:?} must have 1 to 255 characters, IAM's client ID limit")]
    AudienceLength {
        /// The audience.
        audience: String,
    },
    /// An audience was given twice.
    #[error("audience {audience:?} is given twice")]
    DuplicateAudience {
        /// The audience.
        audience: String,
    },
    /// An audience equals an issuer, which is a default kube-apiserver audience.
    #[error(
        "audience {audience:?} is also a kube-apiserver audience: every pod's default token would be accepted by STS, and IRSA tokens by the apiserver; use a dedicated audience such as sts.amazonaws.com"
    )]
    AudienceIsApiAudience {
        /// The audience.
        audience: String,
    },
    /// An existing issuer is unusable as a `--service-account-issuer` value.
    #[error("existing issuer {issuer:?} cannot be kept: {reason}")]
    ExistingIssuer {
        /// The issuer that was given.
        issuer: String,
        /// What is wrong with it.
        reason: String,
    },
}
