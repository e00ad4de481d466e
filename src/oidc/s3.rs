//! Issuers hosted in an S3 bucket: the bucket, region and prefix checked as S3 and IAM check
//! them, and the issuer URL they make.

use super::issuer::{IssuerError, IssuerErrorKind, IssuerUrl};
use crate::arn::Partition;

/// An issuer whose documents are hosted in an S3 bucket, addressed virtual-hosted style:
/// `https://BUCKET.s3.REGION.amazonaws.com[.cn]/PREFIX`.
///
/// ```
/// use irsa::oidc::S3Issuer;
///
/// let s3 = S3Issuer::new("irsa-oidc-prod", "cn-north-1")?.with_prefix("cluster-a")?;
/// assert_eq!(
///     s3.issuer().as_str(),
///     "https://irsa-oidc-prod.s3.cn-north-1.amazonaws.com.cn/cluster-a"
/// );
/// assert_eq!(
///     s3.with_trailing_slash(true).issuer().as_str(),
///     "https://irsa-oidc-prod.s3.cn-north-1.amazonaws.com.cn/cluster-a/"
/// );
///
/// let err = S3Issuer::new("my.bucket", "us-east-1").unwrap_err();
/// assert!(err.to_string().contains("dots"));
/// # Ok::<(), irsa::oidc::IssuerError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Issuer {
    bucket: String,
    region: String,
    prefix: String,
    trailing_slash: bool,
}

impl S3Issuer {
    /// An issuer at the root of `bucket` in `region`; both are validated.
    pub fn new(bucket: &str, region: &str) -> Result<Self, IssuerError> {
        validate_bucket(bucket)?;
        validate_region(region)?;
        Ok(S3Issuer {
            bucket: bucket.to_owned(),
            region: region.to_owned(),
            prefix: String::new(),
            trailing_slash: false,
        })
    }

    /// Places the documents under `prefix` (e.g. `clusters/prod`). A trailing `/` on the
    /// prefix selects the trailing-slash form of the issuer.
    pub fn with_prefix(mut self, prefix: &str) -> Result<Self, IssuerError> {
        let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
        validate_prefix(prefix, trimmed)?;
        self.prefix = trimmed.to_owned();
        self.trailing_slash |= prefix.ends_with('/') && !trimmed.is_empty();
        Ok(self)
    }

    /// Chooses whether the issuer ends with `/`. Either works if used consistently; this crate
    /// carries the chosen string everywhere it must match.
    #[must_use]
    pub fn with_trailing_slash(mut self, trailing_slash: bool) -> Self {
        self.trailing_slash = trailing_slash;
        self
    }

    /// Recognises an issuer hosted virtual-hosted style in S3. `Ok(None)` when the issuer is
    /// not an S3 URL; an error when it is one that cannot work (e.g. a bucket with dots).
    pub fn from_issuer(issuer: &IssuerUrl) -> Result<Option<Self>, IssuerError> {
        let authority = issuer.authority();
        let Some((bucket, endpoint)) = authority.split_once(".s3.") else {
            return Ok(None);
        };
        let Some(region) = endpoint
            .strip_suffix(".amazonaws.com.cn")
            .or_else(|| endpoint.strip_suffix(".amazonaws.com"))
        else {
            return Ok(None);
        };
        let s3 = S3Issuer::new(bucket, region)?;
        if !authority.ends_with(&format!(".{}", s3.partition().dns_suffix())) {
            return Err(IssuerError::new(
                region,
                IssuerErrorKind::Region {
                    reason: "its partition uses another DNS suffix",
                },
            ));
        }
        let s3 = match issuer.path_prefix() {
            "" => s3,
            prefix => s3.with_prefix(prefix)?,
        };
        Ok(Some(s3.with_trailing_slash(issuer.has_trailing_slash())))
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The bucket's region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The key prefix without slashes (`""` for the bucket root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The partition of the bucket's region.
    pub fn partition(&self) -> Partition {
        Partition::of_region(&self.region)
    }

    /// The issuer URL.
    pub fn issuer(&self) -> IssuerUrl {
        let mut raw = format!(
            "https://{}.s3.{}.{}",
            self.bucket,
            self.region,
            self.partition().dns_suffix()
        );
        let path_start = raw.len();
        if !self.prefix.is_empty() {
            raw.push('/');
            raw.push_str(&self.prefix);
        }
        if self.trailing_slash {
            raw.push('/');
        }
        IssuerUrl { raw, path_start }
    }

    /// The ARN of an object in the bucket, for bucket policies.
    pub fn object_arn(&self, key: &str) -> String {
        format!("arn:{}:s3:::{}/{key}", self.partition(), self.bucket)
    }
}

fn validate_bucket(bucket: &str) -> Result<(), IssuerError> {
    let reason = if !(3..=63).contains(&bucket.len()) {
        "a bucket name has 3 to 63 characters"
    } else if !bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        "a bucket name uses only lowercase letters, digits, dots and hyphens"
    } else if !bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !bucket.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        "a bucket name begins and ends with a letter or digit"
    } else if bucket.contains('.') {
        return Err(IssuerError::new(bucket, IssuerErrorKind::DottedBucket));
    } else if ["xn--", "sthree-", "amzn-s3-demo-"]
        .iter()
        .any(|p| bucket.starts_with(p))
    {
        "the prefixes xn--, sthree- and amzn-s3-demo- are reserved"
    } else if ["-s3alias", "--ol-s3", "--x-s3", "--table-s3"]
        .iter()
        .any(|s| bucket.ends_with(s))
    {
        "the suffixes -s3alias, --ol-s3, --x-s3 and --table-s3 are reserved"
    } else {
        return Ok(());
    };
    Err(IssuerError::new(bucket, IssuerErrorKind::Bucket { reason }))
}

fn validate_region(region: &str) -> Result<(), IssuerError> {
    let parts: Vec<&str> = region.split('-').collect();
    let letters = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    let reason = match parts.as_slice() {
        [geo, middle @ .., number]
            if geo.len() == 2
                && letters(geo)
                && !middle.is_empty()
                && middle.iter().all(|m| letters(m))
                && !number.is_empty()
                && number.len() <= 2
                && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            if middle.iter().any(|m| m.starts_with("iso")) {
                "isolated partitions are not supported"
            } else {
                return Ok(());
            }
        }
        _ => "expected a region code such as us-east-1, eu-west-2 or cn-north-1",
    };
    Err(IssuerError::new(region, IssuerErrorKind::Region { reason }))
}

fn validate_prefix(prefix: &str, trimmed: &str) -> Result<(), IssuerError> {
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"-_.!*'()".contains(&b);
    let reason = if prefix.starts_with('/') {
        "drop the leading \"/\": the prefix is an S3 key prefix"
    } else if trimmed.is_empty() && !prefix.is_empty() {
        "it has no segment; omit the prefix to host at the bucket root"
    } else if trimmed
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        "it has an empty, \".\" or \"..\" segment"
    } else if !trimmed.bytes().all(|b| b == b'/' || safe(b)) {
        "use letters, digits and -_.!*'() in its segments so the URL needs no escaping"
    } else {
        return Ok(());
    };
    Err(IssuerError::new(prefix, IssuerErrorKind::Prefix { reason }))
}
