//! The key check before decoding: a body is decompressed and parsed only for a key the
//! database accepted. Keys it accepted in the last minute are remembered, so a steady
//! client costs no extra round trip; `capture_with_key` still checks the key when it
//! stores, so a key revoked within that minute still stores nothing.

use crate::error::Rejection;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const REMEMBER: Duration = Duration::from_secs(60);
/// Only keys the database accepted are kept, so only their owners fill it; still bounded.
const MAX_REMEMBERED: usize = 10_000;

#[derive(Default)]
pub struct Gate {
    accepted: Mutex<HashMap<String, Instant>>,
}

impl Gate {
    pub fn recently_accepted(&self, key: &str) -> bool {
        let Ok(accepted) = self.accepted.lock() else { return false };
        accepted.get(key).is_some_and(|at| at.elapsed() < REMEMBER)
    }

    pub fn remember(&self, key: &str) {
        let Ok(mut accepted) = self.accepted.lock() else { return };
        if accepted.len() >= MAX_REMEMBERED {
            accepted.retain(|_, at| at.elapsed() < REMEMBER);
            if accepted.len() >= MAX_REMEMBERED {
                accepted.clear();
            }
        }
        accepted.insert(key.to_string(), Instant::now());
    }

    /// Ok when the key is known good, else asks the database.
    pub async fn check(&self, store: &Store, key: &str) -> Result<(), Rejection> {
        if self.recently_accepted(key) {
            return Ok(());
        }
        store.check_key(key).await?;
        self.remember(key);
        Ok(())
    }
}
