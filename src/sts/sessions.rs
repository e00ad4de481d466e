//! The sessions this server issued: credentials shaped as AWS's, from the system's CSPRNG, kept
//! in memory, bounded, and forgotten at expiry.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

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
pub(crate) fn credentials(min_token_len: usize) -> Option<(String, String, String)> {
    let rng = SystemRandom::new();
    let mut id = [0u8; 16];
    rng.fill(&mut id).ok()?;
    let access_key_id = format!("ASIA{}", id_chars(&id));
    let mut secret = [0u8; 30];
    rng.fill(&mut secret).ok()?;
    let secret_access_key = crate::base64::encode(&secret);
    // Version byte, then randomness: opaque, as STS's are ("make no assumptions").
    let len = min_token_len.clamp(64, 4096);
    let mut token = vec![0u8; len.div_ceil(4) * 3];
    rng.fill(&mut token).ok()?;
    if let Some(first) = token.first_mut() {
        *first = 0x01;
    }
    let session_token = crate::base64::encode(&token);
    Some((access_key_id, secret_access_key, session_token))
}

/// A role's ID: `AROA` + 17 ID characters, derived from the account and the role's name so it
/// stays the same across restarts, as a real role's does for its lifetime.
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

/// The issued sessions, by access key ID.
#[derive(Debug)]
pub(crate) struct Sessions {
    by_key: HashMap<String, Issued>,
    order: VecDeque<String>,
    capacity: usize,
}

impl Sessions {
    pub(crate) fn new(capacity: usize) -> Sessions {
        Sessions {
            by_key: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Keeps `issued`; when full, forgets the expired sessions, then the oldest down to 90 %
    /// of the capacity, so that the scan runs once per tenth of the capacity, not per insert.
    pub(crate) fn insert(&mut self, issued: Issued, now: i64) {
        if self.by_key.len() >= self.capacity {
            self.purge(now);
            let keep = self.capacity - self.capacity / 10;
            while self.by_key.len() > keep {
                match self.order.pop_front() {
                    Some(key) => {
                        self.by_key.remove(&key);
                    }
                    None => break,
                }
            }
        }
        while self.by_key.len() >= self.capacity {
            match self.order.pop_front() {
                Some(key) => {
                    self.by_key.remove(&key);
                }
                None => break,
            }
        }
        self.order.push_back(issued.access_key_id.clone());
        self.by_key.insert(issued.access_key_id.clone(), issued);
    }

    /// Forgets every session expired at `now`.
    pub(crate) fn purge(&mut self, now: i64) {
        self.by_key.retain(|_, s| s.expires_at > now);
        let by_key = &self.by_key;
        self.order.retain(|k| by_key.contains_key(k));
    }

    pub(crate) fn get(&self, access_key_id: &str) -> Option<&Issued> {
        self.by_key.get(access_key_id)
    }

    pub(crate) fn len(&self) -> usize {
        self.by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issued(key: &str, expires_at: i64) -> Issued {
        Issued {
            access_key_id: key.into(),
            secret_access_key: "s".into(),
            session_token: "t".into(),
            expires_at,
            arn: "a".into(),
            user_id: "u".into(),
            account: "111122223333".into(),
        }
    }

    #[test]
    fn bounded_expired_first_then_oldest() {
        let mut sessions = Sessions::new(2);
        sessions.insert(issued("A", 100), 0);
        sessions.insert(issued("B", 10), 0);
        // Full at 20: B has expired and goes; A stays.
        sessions.insert(issued("C", 100), 20);
        assert!(sessions.get("A").is_some() && sessions.get("B").is_none());
        // Full with nothing expired: the oldest (A) goes.
        sessions.insert(issued("D", 100), 20);
        assert!(sessions.get("A").is_none() && sessions.get("C").is_some());
        assert_eq!(sessions.len(), 2);
        sessions.purge(100);
        assert_eq!(sessions.len(), 0);
    }

    #[test]
    fn credentials_are_shaped_as_aws_and_never_formatted() {
        let (key, secret, token) = credentials(0).unwrap();
        assert_eq!(key.len(), 20);
        assert!(key.starts_with("ASIA") && key.bytes().all(|b| ID_ALPHABET.contains(&b)));
        assert_eq!(secret.len(), 40);
        assert!(token.len() >= 64);
        assert!(credentials(1000).unwrap().2.len() >= 1000);
        let id = role_id("111122223333", "read-s3");
        assert_eq!(id.len(), 21);
        assert_eq!(id, role_id("111122223333", "read-s3"));
        let mut s = issued("K", 1);
        s.secret_access_key = secret.clone();
        s.session_token = token.clone();
        let debug = format!("{s:?}");
        assert!(!debug.contains(&secret) && !debug.contains(&token));
    }
}
