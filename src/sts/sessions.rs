//! The sessions this server issues: credentials shaped as AWS's, sealed in their session token
//! under a key of the server's, so that nothing is kept per session.

use std::fmt;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// The alphabet of AWS key and role IDs (upper-case base32).
const ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The credentials of one session. The secret and the session token are never formatted.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Issued {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: String,
    /// Seconds since the Unix epoch.
    pub(crate) expires_at: i64,
    /// `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`.
    pub(crate) arn: String,
    /// `AROA…:SESSION`.
    pub(crate) user_id: String,
    pub(crate) account: String,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &"** redacted **")
            .field("expires_at", &self.expires_at)
            .field("arn", &self.arn)
            .finish_non_exhaustive()
    }
}

/// Fresh random credentials: `ASIA` + 16 ID characters, a 40-character secret in the base64
/// alphabet, an opaque session token of at least `min_token_len` characters.
pub(crate) fn role_id(account: &str, name: &str) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{account}\0{name}").as_bytes(),
    );
    let chars: String = id_chars(digest.as_ref()).chars().take(17).collect();
    format!("AROA{chars}")
}

fn id_chars(bytes: &[u8]) -> String {
    bytes
        .iter()
        .filter_map(|b| {
            ID_ALPHABET
                .get(usize::from(b & 31))
                .copied()
                .map(char::from)
        })
        .collect()
}

/// The server's key for its session tokens. A session token carries its session (access key
/// ID, expiry, ARN, user ID, account) and a MAC under this key, and the secret access key is
/// derived from the access key ID under it: nothing is stored per session, so no caller can
/// fill memory or push another caller's session out, and an expired session is recognised as
/// such forever.
pub(crate) struct SessionKey(hmac::Key);

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(** redacted **)")
    }
}

/// The token layout's version byte.
const TOKEN_VERSION: u8 = 0x02;
/// The MAC's length (HMAC-SHA-256).
const MAC_LEN: usize = 32;

#[derive(Serialize, Deserialize)]
struct Sealed {
    #[serde(rename = "k")]
    access_key_id: String,
    #[serde(rename = "e")]
    expires_at: i64,
    #[serde(rename = "a")]
    arn: String,
    #[serde(rename = "u")]
    user_id: String,
    #[serde(rename = "c")]
    account: String,
}

impl SessionKey {
    /// A fresh key from the system's CSPRNG.
    pub(crate) fn generate() -> Option<SessionKey> {
        let mut bytes = [0u8; 32];
        SystemRandom::new().fill(&mut bytes).ok()?;
        Some(SessionKey(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
    }

    /// The secret access key of `access_key_id`: 40 characters of AWS's alphabet.
    fn secret(&self, access_key_id: &str) -> String {
        let tag = hmac::sign(&self.0, format!("secret\0{access_key_id}").as_bytes());
        let mut secret = crate::base64::encode(tag.as_ref());
        secret.truncate(40);
        secret
    }

    /// New credentials for a session, the token at least `min_token_len` characters long.
    pub(crate) fn issue(
        &self,
        expires_at: i64,
        arn: String,
        user_id: String,
        account: String,
        min_token_len: usize,
    ) -> Option<Issued> {
        let rng = SystemRandom::new();
        let mut id = [0u8; 16];
        rng.fill(&mut id).ok()?;
        let access_key_id = format!("ASIA{}", id_chars(&id));
        let sealed = Sealed {
            access_key_id: access_key_id.clone(),
            expires_at,
            arn,
            user_id,
            account,
        };
        let payload = serde_json::to_vec(&sealed).ok()?;
        let length = u16::try_from(payload.len()).ok()?;
        let mut bytes = Vec::with_capacity(payload.len() + 64);
        bytes.push(TOKEN_VERSION);
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend_from_slice(&payload);
        // Opaque, as STS's are ("make no assumptions"), and as long as the caller asked.
        let wanted = min_token_len.clamp(64, 4096).div_ceil(4) * 3;
        let padding = wanted.saturating_sub(bytes.len() + MAC_LEN);
        let mut random = vec![0u8; padding];
        rng.fill(&mut random).ok()?;
        bytes.extend_from_slice(&random);
        let mac = hmac::sign(&self.0, &bytes);
        bytes.extend_from_slice(mac.as_ref());
        Some(Issued {
            secret_access_key: self.secret(&access_key_id),
            session_token: crate::base64::encode(&bytes),
            access_key_id,
            expires_at: sealed.expires_at,
            arn: sealed.arn,
            user_id: sealed.user_id,
            account: sealed.account,
        })
    }

    /// The session `session_token` carries, when this key sealed it for `access_key_id`.
    pub(crate) fn open(&self, access_key_id: &str, session_token: &str) -> Option<Issued> {
        let bytes = crate::base64::decode_standard(session_token)?;
        let split = bytes.len().checked_sub(MAC_LEN)?;
        let (body, mac) = bytes.split_at(split);
        hmac::verify(&self.0, body, mac).ok()?;
        let (&version, rest) = body.split_first()?;
        if version != TOKEN_VERSION {
            return None;
        }
        let length = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
        let payload = rest.get(2..2 + length)?;
        let sealed: Sealed = serde_json::from_slice(payload).ok()?;
        if sealed.access_key_id != access_key_id {
            return None;
        }
        Some(Issued {
            secret_access_key: self.secret(access_key_id),
            session_token: session_token.to_owned(),
            access_key_id: sealed.access_key_id,
            expires_at: sealed.expires_at,
            arn: sealed.arn,
            user_id: sealed.user_id,
            account: sealed.account,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_sealed_shaped_as_aws_and_never_formatted() {
        let key = SessionKey::generate().unwrap();
        let arn = "arn:aws:sts::111122223333:assumed-role/read-s3/s".to_owned();
        let issued = key
            .issue(
                1_800_000_000,
                arn.clone(),
                "AROAX:s".into(),
                "111122223333".into(),
                0,
            )
            .unwrap();
        assert_eq!(issued.access_key_id.len(), 20);
        assert!(
            issued.access_key_id.starts_with("ASIA")
                && issued
                    .access_key_id
                    .bytes()
                    .all(|b| ID_ALPHABET.contains(&b))
        );
        assert_eq!(issued.secret_access_key.len(), 40);
        assert!(issued.session_token.len() >= 64);
        let long = key
            .issue(1, arn.clone(), "u".into(), "1".into(), 1000)
            .unwrap();
        assert!(long.session_token.len() >= 1000);

        // Opened by its key for its access key ID, with the same secret.
        let opened = key
            .open(&issued.access_key_id, &issued.session_token)
            .unwrap();
        assert_eq!(opened, issued);
        // Not for another ID, not under another key, not altered.
        assert!(
            key.open(&long.access_key_id, &issued.session_token)
                .is_none()
        );
        let other = SessionKey::generate().unwrap();
        assert!(
            other
                .open(&issued.access_key_id, &issued.session_token)
                .is_none()
        );
        let mut bytes = crate::base64::decode_standard(&issued.session_token).unwrap();
        bytes[5] ^= 1;
        let altered = crate::base64::encode(&bytes);
        assert!(key.open(&issued.access_key_id, &altered).is_none());
        assert!(key.open(&issued.access_key_id, "not base64 !").is_none());
        assert!(key.open(&issued.access_key_id, "").is_none());

        let id = role_id("111122223333", "read-s3");
        assert_eq!(id.len(), 21);
        assert_eq!(id, role_id("111122223333", "read-s3"));
        let debug = format!("{issued:?} {key:?}");
        assert!(
            !debug.contains(&issued.secret_access_key) && !debug.contains(&issued.session_token)
        );
    }
}
