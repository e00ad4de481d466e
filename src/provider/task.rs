//! The background task that refreshes the credentials.

use std::sync::Arc;
use std::time::Duration;

use aws_smithy_async::rt::sleep::AsyncSleep;
use tokio::sync::watch;

use super::ProviderError;
use super::refresh::ERROR_CACHE;
use super::state::Shared;

/// The background task: refresh when due, when a waiting caller may, or when the token file
/// changes after a token error; end when the last provider is dropped.
pub(super) async fn refresh_task(shared: Arc<Shared>, mut alive: watch::Receiver<()>) {
    let Ok(Some(setup)) = &shared.setup else {
        return;
    };
    let watcher = {
        let signals = Arc::downgrade(&shared);
        setup.token.watch(move || {
            if let Some(shared) = signals.upgrade() {
                shared.token_changed.notify_one();
            }
        })
    };
    if watcher.is_none() {
        tracing::debug!(path = %setup.token.path().display(), "token directory not watched; the file is re-read at every attempt");
    }
    loop {
        let snapshot = shared.state.load_full();
        let now = shared.time.now();
        let due = shared.next_due(&snapshot);
        if due.is_some_and(|due| due <= now) {
            shared.attempt(setup).await;
            continue;
        }
        // The deadline is absolute: read the clock right before arming the timer.
        let wait = due.map(|due| due.duration_since(shared.time.now()).unwrap_or_default());
        let sleep = shared
            .sleep
            .sleep(wait.unwrap_or(Duration::from_secs(3600)));
        tokio::select! {
            () = sleep => {}
            () = shared.demand.notified() => {
                // A waiting caller may cut a non-retryable error's cache short, not a backoff.
                let now = shared.time.now();
                if snapshot.error.as_ref().is_some_and(|e| !e.is_retryable())
                    && now >= snapshot.error_at + ERROR_CACHE
                {
                    shared.attempt(setup).await;
                }
            }
            () = shared.token_changed.notified() => {
                // The kubelet's swap takes several steps; act once the content differs.
                if snapshot.error.as_ref().is_some_and(ProviderError::is_token_problem)
                    && setup.token.changed()
                {
                    tracing::debug!("token file changed after a token error: trying again");
                    shared.attempt(setup).await;
                }
            }
            result = alive.changed() => {
                if result.is_err() {
                    return;
                }
            }
        }
    }
}
