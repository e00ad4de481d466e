//! Where the provider's settings come from: the builder, the environment, or the shared config
//! profile — read through injected sources so tests never touch the process environment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_runtime::env_config::section::EnvConfigSections;
use aws_types::os_shim_internal::{Env, Fs};

use super::error::{ConfigError, ProfileLoadError};
use crate::arn::RoleArn;
use crate::env::Environment;

/// The largest shared config or credentials file read, in bytes.
pub(super) const MAX_PROFILE_BYTES: u64 = 1024 * 1024;

/// The web-identity settings, from whichever source gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Settings {
    pub(super) role_arn: RoleArn,
    pub(super) token_file: PathBuf,
    pub(super) session_name: String,
    pub(super) duration: Option<Duration>,
    pub(super) region: Option<String>,
    pub(super) endpoint_url: Option<String>,
    pub(super) regional: bool,
    pub(super) source: &'static str,
}

/// Builder-given values, each overriding the environment and the profile.
#[derive(Debug, Clone, Default)]
pub(super) struct Overrides {
    pub(super) role_arn: Option<String>,
    pub(super) token_file: Option<PathBuf>,
    pub(super) session_name: Option<String>,
    pub(super) duration: Option<Duration>,
    pub(super) region: Option<String>,
    pub(super) endpoint_url: Option<String>,
    pub(super) profile: Option<String>,
    pub(super) config_file: Option<PathBuf>,
}

/// Resolves the settings: the builder's role and token file if given; else the environment's
/// `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`; else the profile's `role_arn` +
/// `web_identity_token_file`. `Ok(None)` means web identity is not configured (a chain moves
/// on). A source is taken whole: an environment role never completes a profile's token file.
pub(super) fn resolve(
    env: &dyn Environment,
    overrides: &Overrides,
    read_file: &dyn Fn(&Path) -> Option<String>,
) -> Result<Option<Settings>, ConfigError> {
    let var = |name: &str| {
        env.var(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let profile_name = overrides
        .profile
        .clone()
        .or_else(|| var("AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_owned());
    let home = var("HOME");
    let in_home = |name: &str| home.as_ref().map(|h| Path::new(h).join(".aws").join(name));
    let config_file = overrides
        .config_file
        .clone()
        .or_else(|| var("AWS_CONFIG_FILE").map(PathBuf::from))
        .or_else(|| in_home("config"));
    let credentials_file = var("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| in_home("credentials"));
    let read = |path: &Option<PathBuf>| path.as_deref().and_then(read_file);
    let sections = load_profiles(read(&config_file), read(&credentials_file), &profile_name)
        .map_err(ConfigError::Profile)?;
    let profile = sections.get_profile(&profile_name);
    let profile_path = config_file.clone().unwrap_or_default();
    let profile_get = |key: &str| {
        profile
            .and_then(|p| p.get(key))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };

    let (role_arn, token_file, session_name, duration, source) =
        match (&overrides.role_arn, &overrides.token_file) {
            (Some(role), Some(file)) => (role.clone(), file.clone(), None, None, "builder"),
            (role, file) => {
                let env_pair = (
                    role.clone().or_else(|| var("AWS_ROLE_ARN")),
                    file.clone()
                        .or_else(|| var("AWS_WEB_IDENTITY_TOKEN_FILE").map(PathBuf::from)),
                );
                match env_pair {
                    (Some(role), Some(file)) => (
                        role,
                        file,
                        var("AWS_ROLE_SESSION_NAME"),
                        None,
                        "environment",
                    ),
                    _ => match profile_get("web_identity_token_file") {
                        None => return Ok(None),
                        Some(file) => {
                            let Some(role) = profile_get("role_arn") else {
                                return Err(ConfigError::ProfileWithoutRole {
                                    profile: profile_name,
                                    path: profile_path,
                                });
                            };
                            let duration = match profile_get("duration_seconds") {
                                None => None,
                                Some(text) => Some(parse_duration(&text, &profile_name)?),
                            };
                            (
                                role,
                                PathBuf::from(file),
                                profile_get("role_session_name"),
                                duration,
                                "profile",
                            )
                        }
                    },
                }
            }
        };
    let role_arn = role_arn
        .parse::<RoleArn>()
        .map_err(|source| ConfigError::InvalidRoleArn {
            input: role_arn.clone(),
            source,
        })?;
    let session_name = match overrides.session_name.clone().or(session_name) {
        Some(name) => {
            if !valid_session_name(&name) {
                return Err(ConfigError::InvalidSessionName { input: name });
            }
            name
        }
        None => default_session_name(var("HOSTNAME").as_deref()),
    };
    let duration = overrides.duration.or(duration);
    if let Some(d) = duration
        && !(900..=43_200).contains(&d.as_secs())
    {
        return Err(ConfigError::InvalidDuration {
            input: d.as_secs().to_string(),
        });
    }
    let region = overrides
        .region
        .clone()
        .or_else(|| var("AWS_REGION"))
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .or_else(|| profile_get("region"));
    let endpoint_url = overrides
        .endpoint_url
        .clone()
        .or_else(|| var("AWS_ENDPOINT_URL_STS"))
        .or_else(|| var("AWS_ENDPOINT_URL"));
    // Regional endpoints are the default, as in current SDKs; `legacy` asks for the global one.
    let regional = var("AWS_STS_REGIONAL_ENDPOINTS").as_deref() != Some("legacy");
    Ok(Some(Settings {
        role_arn,
        token_file,
        session_name,
        duration,
        region,
        endpoint_url,
        regional,
        source,
    }))
}

fn parse_duration(text: &str, profile: &str) -> Result<Duration, ConfigError> {
    text.parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| ConfigError::InvalidProfileValue {
            profile: profile.to_owned(),
            key: "duration_seconds",
            input: text.to_owned(),
        })
}

/// The shared config and credentials files' profiles, parsed by the SDK's own parser
/// (`aws-runtime`, which aws-config uses), so a profile means here what it means to every SDK.
fn load_profiles(
    config: Option<String>,
    credentials: Option<String>,
    profile: &str,
) -> Result<EnvConfigSections, ProfileLoadError> {
    // A set without files is refused by the SDK: an absent config file reads as an empty one.
    let mut files = EnvConfigFiles::builder()
        .include_default_config_file(false)
        .include_default_credentials_file(false)
        .with_contents(EnvConfigFileKind::Config, config.unwrap_or_default());
    if let Some(text) = credentials {
        files = files.with_contents(EnvConfigFileKind::Credentials, text);
    }
    let files = files.build();
    let env = Env::from_slice(&[("AWS_PROFILE", profile)]);
    let fs = Fs::from_slice(&[]);
    let load = aws_runtime::env_config::source::load(&env, &fs, &files);
    // With the contents given, loading reads no file and so completes at its first poll.
    let mut load = std::pin::pin!(load);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    let source = match load.as_mut().poll(&mut context) {
        std::task::Poll::Ready(result) => result.map_err(ProfileLoadError::load)?,
        std::task::Poll::Pending => return Err(ProfileLoadError::pending()),
    };
    EnvConfigSections::parse(source).map_err(ProfileLoadError::parse)
}

/// STS's rule for `RoleSessionName`: 2 to 64 characters of `[\w+=,.@-]`.
pub(super) fn valid_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// An informative default session name: `irsa-` and the host (in Kubernetes, the pod) name,
/// with characters STS refuses replaced and cut to 64, so CloudTrail tells pods apart.
pub(super) fn default_session_name(hostname: Option<&str>) -> String {
    let host: String = hostname
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut name = if host.is_empty() {
        "irsa-web-identity".to_owned()
    } else {
        format!("irsa-{host}")
    };
    name.truncate(64);
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    fn no_files(_: &Path) -> Option<String> {
        None
    }

    #[test]
    fn environment_source() {
        let e = env(&[
            ("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/r"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/token"),
            ("AWS_REGION", "eu-west-1"),
            ("HOSTNAME", "orders-api-7d9f8b6c5-x2kq"),
            ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:5000"),
        ]);
        let s = resolve(&e, &Overrides::default(), &no_files)
            .unwrap()
            .unwrap();
        assert_eq!(s.source, "environment");
        assert_eq!(s.session_name, "irsa-orders-api-7d9f8b6c5-x2kq");
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
        assert!(s.regional);
    }

    #[test]
    fn not_configured_is_none_and_a_half_pair_too() {
        let e = env(&[("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/r")]);
        assert_eq!(resolve(&e, &Overrides::default(), &no_files).unwrap(), None);
    }

    #[test]
    fn profile_source_and_env_role_never_completes_it() {
        let config = "[default]\nregion = us-east-1\n\n[profile pods]\nweb_identity_token_file = /t\n\
                      role_arn = arn:aws:iam::111122223333:role/p\nduration_seconds = 1800 # half an hour\n\
                      role_session_name = batch\n[profile broken]\nweb_identity_token_file = /t\n";
        let read = |_: &Path| Some(config.to_owned());
        let e = env(&[("AWS_PROFILE", "pods"), ("AWS_CONFIG_FILE", "/cfg")]);
        let s = resolve(&e, &Overrides::default(), &read).unwrap().unwrap();
        assert_eq!(
            (s.source, s.role_arn.to_string(), s.session_name.as_str()),
            (
                "profile",
                "arn:aws:iam::111122223333:role/p".to_owned(),
                "batch"
            )
        );
        assert_eq!(s.duration, Some(Duration::from_secs(1800)));
        let e = env(&[
            ("AWS_PROFILE", "broken"),
            ("AWS_CONFIG_FILE", "/cfg"),
            ("AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/env"),
        ]);
        let err = resolve(&e, &Overrides::default(), &read).unwrap_err();
        assert_eq!(
            err.to_string(),
            "profile broken in /cfg has web_identity_token_file but no role_arn: add role_arn = arn:aws:iam::ACCOUNT:role/NAME to it"
        );
    }

    #[test]
    fn session_names() {
        assert_eq!(default_session_name(None), "irsa-web-identity");
        assert_eq!(default_session_name(Some("a b/c")), "irsa-a-b-c");
        assert_eq!(default_session_name(Some(&"x".repeat(100))).len(), 64);
        assert!(valid_session_name("ab") && !valid_session_name("a") && !valid_session_name("a b"));
    }
}
