//! Backoff for the live path's outside dependencies (broker, object store):
//! wait 0.5 s, doubling to 30 s, logging each failure with what was being
//! done and when the next try comes; a success resets it.

use std::time::Duration;

const FIRST: Duration = Duration::from_millis(500);
const MAX: Duration = Duration::from_secs(30);

/// Retry pacing for one kind of dependency.
#[derive(Debug)]
pub struct Backoff {
    what: &'static str,
    next: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(what: &'static str) -> Self {
        Self {
            what,
            next: FIRST,
            failures: 0,
        }
    }

    /// Log `error` and sleep before the next try.
    pub async fn wait(&mut self, error: &str) {
        self.failures += 1;
        tracing::warn!(
            "{} unavailable (failure {}): {error}; retrying in {:.1}s",
            self.what,
            self.failures,
            self.next.as_secs_f64()
        );
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(MAX);
    }

    /// The dependency answered again.
    pub fn reset(&mut self) {
        if self.failures > 0 {
            tracing::info!(
                "{} is back after {} failed attempt(s)",
                self.what,
                self.failures
            );
        }
        self.next = FIRST;
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::new("test");
        for _ in 0..10 {
            b.wait("down").await;
        }
        assert_eq!(b.next, MAX);
        assert_eq!(b.failures, 10);
        b.reset();
        assert_eq!((b.next, b.failures), (FIRST, 0));
    }
}
