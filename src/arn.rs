//! Amazon Resource Names that IRSA deals in: IAM roles and IAM OIDC providers, in the partitions
//! `aws`, `aws-cn` and `aws-us-gov`.
//!
//! ```
//! use irsa::arn::{Partition, RoleArn};
//!
//! let role: RoleArn = "arn:aws:iam::111122223333:role/irsa/s3-reader".parse()?;
//! assert_eq!(role.partition(), Partition::Aws);
//! assert_eq!(role.account().as_str(), "111122223333");
//! assert_eq!(role.path(), "/irsa/");
//! assert_eq!(role.name(), "s3-reader");
//! assert_eq!(role.to_string(), "arn:aws:iam::111122223333:role/irsa/s3-reader");
//! # Ok::<(), irsa::arn::ArnError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An AWS partition: a group of regions with its own ARN prefix and DNS suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Partition {
    /// The commercial partition, `aws`.
    Aws,
    /// The China partition, `aws-cn`.
    AwsCn,
    /// AWS GovCloud (US), `aws-us-gov`.
    AwsUsGov,
}

impl Partition {
    /// Every supported partition.
    pub const ALL: [Partition; 3] = [Partition::Aws, Partition::AwsCn, Partition::AwsUsGov];

    /// The partition as it appears in an ARN.
    pub const fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }

    /// The DNS suffix of the partition's service endpoints.
    ///
    /// ```
    /// use irsa::arn::Partition;
    /// assert_eq!(Partition::AwsCn.dns_suffix(), "amazonaws.com.cn");
    /// ```
    pub const fn dns_suffix(self) -> &'static str {
        match self {
            Partition::AwsCn => "amazonaws.com.cn",
            Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
        }
    }

    /// The partition a region belongs to: `cn-*` is `aws-cn`, `us-gov-*` is `aws-us-gov`, other
    /// region names are `aws`. The region's own syntax is not checked here.
    pub fn of_region(region: &str) -> Partition {
        if region.starts_with("cn-") {
            Partition::AwsCn
        } else if region.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else {
            Partition::Aws
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Partition {
    type Err = ArnError;

    fn from_str(s: &str) -> Result<Self, ArnError> {
        Partition::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ArnError::UnknownPartition {
                partition: s.to_owned(),
            })
    }
}

/// A 12-digit AWS account ID.
///
/// ```
/// use irsa::arn::AccountId;
/// assert!("111122223333".parse::<AccountId>().is_ok());
/// assert!("1111-2222-3333".parse::<AccountId>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    #[cfg(feature = "sts")]
    /// An account ID the caller knows to be 12 digits.
    pub(crate) fn from_validated(digits: &str) -> AccountId {
        AccountId(digits.to_owned())
    }

    /// The account ID as 12 ASCII digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountId {
    type Err = ArnError;

    fn from_str(s: &str) -> Result<Self, ArnError> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(s.to_owned()))
        } else {
            Err(ArnError::InvalidAccount {
                account: s.to_owned(),
            })
        }
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The ARN of an IAM role, `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleArn {
    partition: Partition,
    account: AccountId,
    /// `/` or `/segments/`, as IAM stores it.
    path: String,
    name: String,
}

impl RoleArn {
    /// Builds a role ARN from its parts; `path` is `/` or starts and ends with `/`.
    ///
    /// ```
    /// use irsa::arn::{Partition, RoleArn};
    /// let role = RoleArn::new(Partition::AwsCn, "111122223333".parse()?, "/", "reader")?;
    /// assert_eq!(role.to_string(), "arn:aws-cn:iam::111122223333:role/reader");
    /// # Ok::<(), irsa::arn::ArnError>(())
    /// ```
    pub fn new(
        partition: Partition,
        account: AccountId,
        path: &str,
        name: &str,
    ) -> Result<Self, ArnError> {
        validate_role_path(path)?;
        validate_role_name(name)?;
        Ok(RoleArn {
            partition,
            account,
            path: path.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The partition.
    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// The account that owns the role.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// The role's path: `/`, or `/a/b/` for a role created under a path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The role's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same role (path and name) in another partition and account.
    #[must_use]
    pub fn in_account(&self, partition: Partition, account: AccountId) -> RoleArn {
        RoleArn {
            partition,
            account,
            path: self.path.clone(),
            name: self.name.clone(),
        }
    }
}

impl FromStr for RoleArn {
    type Err = ArnError;

    fn from_str(s: &str) -> Result<Self, ArnError> {
        let parts = split_iam_arn(s)?;
        let Some(resource) = parts.resource.strip_prefix("role/") else {
            return Err(ArnError::WrongResourceType {
                arn: s.to_owned(),
                expected: "role/NAME",
            });
        };
        let (path, name) = match resource.rfind('/') {
            Some(at) => (format!("/{}/", &resource[..at]), &resource[at + 1..]),
            None => ("/".to_owned(), resource),
        };
        RoleArn::new(parts.partition, parts.account, &path, name)
    }
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:iam::{}:role{}{}",
            self.partition, self.account, self.path, self.name
        )
    }
}

/// The ARN of an IAM OIDC identity provider,
/// `arn:PARTITION:iam::ACCOUNT:oidc-provider/PROVIDER-URL`.
///
/// The provider URL is the issuer without `https://`, exactly as registered: IAM compares it
/// case-sensitively and a trailing `/` is part of it.
///
/// ```
/// use irsa::arn::OidcProviderArn;
/// let arn: OidcProviderArn =
///     "arn:aws:iam::111122223333:oidc-provider/oidc.example.com/id/ABC".parse()?;
/// assert_eq!(arn.provider_url(), "oidc.example.com/id/ABC");
/// # Ok::<(), irsa::arn::ArnError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OidcProviderArn {
    partition: Partition,
    account: AccountId,
    provider_url: String,
}

impl OidcProviderArn {
    /// Builds the ARN IAM gives a provider registered with `https://` + `provider_url`.
    pub fn new(
        partition: Partition,
        account: AccountId,
        provider_url: &str,
    ) -> Result<Self, ArnError> {
        validate_provider_url(provider_url)?;
        Ok(OidcProviderArn {
            partition,
            account,
            provider_url: provider_url.to_owned(),
        })
    }

    /// Builds the ARN from a provider URL that the caller has already validated.
    pub(crate) fn from_validated(
        partition: Partition,
        account: AccountId,
        provider_url: String,
    ) -> Self {
        OidcProviderArn {
            partition,
            account,
            provider_url,
        }
    }

    /// The partition.
    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// The account the provider is registered in (the role must be in the same account).
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// The provider URL: the issuer without `https://`.
    pub fn provider_url(&self) -> &str {
        &self.provider_url
    }
}

impl FromStr for OidcProviderArn {
    type Err = ArnError;

    fn from_str(s: &str) -> Result<Self, ArnError> {
        let parts = split_iam_arn(s)?;
        let Some(url) = parts.resource.strip_prefix("oidc-provider/") else {
            return Err(ArnError::WrongResourceType {
                arn: s.to_owned(),
                expected: "oidc-provider/PROVIDER-URL",
            });
        };
        OidcProviderArn::new(parts.partition, parts.account, url)
    }
}

impl fmt::Display for OidcProviderArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:iam::{}:oidc-provider/{}",
            self.partition, self.account, self.provider_url
        )
    }
}

macro_rules! string_serde {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
string_serde!(Partition, AccountId, RoleArn, OidcProviderArn);

/// Why an ARN, account ID or partition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArnError {
    /// The text does not have the `arn:PARTITION:iam::ACCOUNT:RESOURCE` shape.
    #[error("{arn:?} is not an IAM ARN: expected arn:PARTITION:iam::ACCOUNT:RESOURCE")]
    NotAnIamArn {
        /// The text that was given.
        arn: String,
    },
    /// The partition is not one IRSA supports.
    #[error("unknown partition {partition:?}: expected aws, aws-cn or aws-us-gov")]
    UnknownPartition {
        /// The partition that was given.
        partition: String,
    },
    /// The account is not 12 digits.
    #[error("invalid account ID {account:?}: an AWS account ID is exactly 12 digits")]
    InvalidAccount {
        /// The account that was given.
        account: String,
    },
    /// The ARN names another kind of IAM resource.
    #[error("{arn:?} names the wrong kind of resource: expected {expected}")]
    WrongResourceType {
        /// The ARN that was given.
        arn: String,
        /// The resource form that was expected.
        expected: &'static str,
    },
    /// The role name breaks IAM's rules.
    #[error(
        "invalid role name {name:?}: IAM role names are 1 to 64 characters of letters, digits and +=,.@_-"
    )]
    InvalidRoleName {
        /// The name that was given.
        name: String,
    },
    /// The role path breaks IAM's rules.
    #[error(
        "invalid role path {path:?}: a path is \"/\" or starts and ends with \"/\", has no empty segment, \
         uses printable ASCII and is at most 512 characters"
    )]
    InvalidRolePath {
        /// The path that was given.
        path: String,
    },
    /// The provider URL part of an OIDC provider ARN is malformed.
    #[error(
        "invalid OIDC provider URL {provider_url:?}: {reason}; it is the issuer URL without https://, e.g. oidc.example.com/cluster"
    )]
    InvalidProviderUrl {
        /// The provider URL that was given.
        provider_url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

struct IamArnParts<'a> {
    partition: Partition,
    account: AccountId,
    resource: &'a str,
}

fn split_iam_arn(s: &str) -> Result<IamArnParts<'_>, ArnError> {
    let not_arn = || ArnError::NotAnIamArn { arn: s.to_owned() };
    let mut it = s.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
    ) else {
        return Err(not_arn());
    };
    Ok(IamArnParts {
        partition: partition.parse()?,
        account: account.parse()?,
        resource,
    })
}

pub(crate) fn validate_role_name(name: &str) -> Result<(), ArnError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ArnError::InvalidRoleName {
            name: name.to_owned(),
        })
    }
}

pub(crate) fn validate_role_path(path: &str) -> Result<(), ArnError> {
    let ok = path.len() <= 512
        && path.starts_with('/')
        && path.ends_with('/')
        && (path == "/" || !path.contains("//"))
        && path.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ArnError::InvalidRolePath {
            path: path.to_owned(),
        })
    }
}

fn validate_provider_url(url: &str) -> Result<(), ArnError> {
    let reason = if url.is_empty() {
        Some("it is empty")
    } else if url.contains("://") {
        Some("it must not carry a scheme")
    } else if url.len() > 255 - "https://".len() {
        Some("IAM allows at most 255 characters for the https:// URL")
    } else if url.starts_with('/') {
        Some("it must start with a host name")
    } else if !url.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        Some("it must be printable ASCII without spaces")
    } else if url.contains(['?', '#']) {
        Some("it must not have a query or fragment")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(ArnError::InvalidProviderUrl {
            provider_url: url.to_owned(),
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_round_trip_with_paths() {
        for s in [
            "arn:aws:iam::111122223333:role/r",
            "arn:aws-cn:iam::111122223333:role/a/b/role+name=x,y.z@w_v-1",
            "arn:aws-us-gov:iam::000000000000:role/service-role/x",
        ] {
            let arn: RoleArn = s.parse().unwrap();
            assert_eq!(arn.to_string(), s);
        }
        let arn: RoleArn = "arn:aws:iam::111122223333:role/a/b/c".parse().unwrap();
        assert_eq!((arn.path(), arn.name()), ("/a/b/", "c"));
    }

    #[test]
    fn role_arn_errors_name_the_problem() {
        let cases: [(&str, ArnError); 7] = [
            (
                "arn:aws:s3:::bucket",
                ArnError::NotAnIamArn {
                    arn: "arn:aws:s3:::bucket".into(),
                },
            ),
            (
                "arn:aws-iso:iam::111122223333:role/r",
                ArnError::UnknownPartition {
                    partition: "aws-iso".into(),
                },
            ),
            (
                "arn:aws:iam::11112222333:role/r",
                ArnError::InvalidAccount {
                    account: "11112222333".into(),
                },
            ),
            (
                "arn:aws:iam::111122223333:user/r",
                ArnError::WrongResourceType {
                    arn: "arn:aws:iam::111122223333:user/r".into(),
                    expected: "role/NAME",
                },
            ),
            (
                "arn:aws:iam::111122223333:role/",
                ArnError::InvalidRoleName {
                    name: String::new(),
                },
            ),
            (
                "arn:aws:iam::111122223333:role/a:b",
                ArnError::InvalidRoleName { name: "a:b".into() },
            ),
            (
                "arn:aws:iam::111122223333:role//r",
                ArnError::InvalidRolePath { path: "//".into() },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<RoleArn>().unwrap_err(), want, "{input}");
        }
        let long = format!("arn:aws:iam::111122223333:role/{}", "n".repeat(65));
        assert!(matches!(
            long.parse::<RoleArn>(),
            Err(ArnError::InvalidRoleName { .. })
        ));
    }

    #[test]
    fn provider_arns() {
        let s = "arn:aws:iam::111122223333:oidc-provider/b.s3.eu-west-1.amazonaws.com/p/";
        let arn: OidcProviderArn = s.parse().unwrap();
        assert_eq!(arn.provider_url(), "b.s3.eu-west-1.amazonaws.com/p/");
        assert_eq!(arn.to_string(), s);
        let bad = "arn:aws:iam::111122223333:oidc-provider/https://x";
        assert!(matches!(
            bad.parse::<OidcProviderArn>(),
            Err(ArnError::InvalidProviderUrl {
                reason: "it must not carry a scheme",
                ..
            })
        ));
    }

    #[test]
    fn serde_uses_the_arn_string() {
        let arn: RoleArn = "arn:aws:iam::111122223333:role/r".parse().unwrap();
        let json = serde_json::to_string(&arn).unwrap();
        assert_eq!(json, "\"arn:aws:iam::111122223333:role/r\"");
        assert_eq!(serde_json::from_str::<RoleArn>(&json).unwrap(), arn);
        assert!(serde_json::from_str::<RoleArn>("\"arn:aws:iam::1:role/r\"").is_err());
    }

    #[test]
    fn partitions_of_regions() {
        assert_eq!(Partition::of_region("cn-northwest-1"), Partition::AwsCn);
        assert_eq!(Partition::of_region("us-gov-west-1"), Partition::AwsUsGov);
        assert_eq!(Partition::of_region("eu-central-2"), Partition::Aws);
    }
}
