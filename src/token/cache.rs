//! A bounded cache of verified tokens.
//!
//! Entries are found by a fast keyed hash of the token and confirmed by comparing the whole
//! token, so a hash collision can never return another token's verdict. Each entry lives until
//! its token expires (plus the skew) or for the configured time, whichever is sooner; the oldest
//! entry goes first when the cache is full.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use zeroize::Zeroizing;

use super::verify::VerifiedToken;

struct Entry {
    /// The token itself, a secret: wiped when the entry goes.
    token: Zeroizing<Box<str>>,
    verified: VerifiedToken,
    /// The entry answers for `not_before <= now < expires_at`.
    not_before: i64,
    expires_at: i64,
    /// The key-set generation the token was verified under.
    generation: u64,
}

#[derive(Default)]
struct Entries {
    by_hash: HashMap<u64, Entry>,
    /// Hashes in insertion order, oldest first (may name entries already removed).
    order: VecDeque<u64>,
}

pub(crate) struct TokenCache {
    capacity: usize,
    ttl: i64,
    hasher: foldhash::quality::RandomState,
    entries: Mutex<Entries>,
    /// Bumped whenever the keys change: entries of an older generation are never served, even
    /// one inserted by a verification that raced with the change.
    generation: AtomicU64,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        TokenCache {
            capacity,
            ttl: i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX),
            hasher: foldhash::quality::RandomState::default(),
            entries: Mutex::new(Entries::default()),
            generation: AtomicU64::new(0),
        }
    }

    pub(crate) fn get(&self, token: &str, now: i64) -> Option<VerifiedToken> {
        let hash = self.hasher.hash_one(token);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.by_hash.get(&hash)?;
        if **entry.token != *token || entry.generation != self.generation() {
            return None;
        }
        if now >= entry.expires_at {
            entries.by_hash.remove(&hash);
            return None;
        }
        (now >= entry.not_before).then(|| entry.verified.clone())
    }

    /// The current key-set generation; read it before verifying a token to insert.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert(
        &self,
        token: &str,
        verified: &VerifiedToken,
        now: i64,
        not_before: i64,
        expires: i64,
        generation: u64,
    ) {
        if self.capacity == 0 {
            return;
        }
        let expires_at = expires.min(now.saturating_add(self.ttl));
        let hash = self.hasher.hash_one(token);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Entries { by_hash, order } = &mut *entries;
        while by_hash.len() >= self.capacity && !by_hash.contains_key(&hash) {
            let Some(oldest) = order.pop_front() else {
                break;
            };
            by_hash.remove(&oldest);
        }
        let entry = Entry {
            token: Zeroizing::new(token.into()),
            verified: verified.clone(),
            not_before,
            expires_at,
            generation,
        };
        if by_hash.insert(hash, entry).is_none() {
            order.push_back(hash);
        }
        // Keep the order queue from growing without bound when entries expire in place.
        if order.len() > 2 * self.capacity {
            order.retain(|h| by_hash.contains_key(h));
        }
    }

    /// Forgets every entry; called after the keys were replaced.
    pub(crate) fn clear(&self) {
        // First the generation, so that an entry inserted from now on by a verification that
        // used the old keys is already stale.
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.by_hash.clear();
        entries.order.clear();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_hash
            .len()
    }
}
